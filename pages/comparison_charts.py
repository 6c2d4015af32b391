"""Tables and figures of the territory comparison, without streamlit.

The KPIs a regional head can rank by, the weakest-first ranking, and the
Plotly figures of the page. Territory and rep codes such as 007 or 12.1 are
drawn on category axes in the order of the table beside the chart, so Plotly
never reads them as numbers or re-sorts them.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from metrics.comparison import UNASSIGNED
from metrics.rounding import half_up
from metrics.status import STATUSES
from pages.formatting import (
    chart_text,
    count,
    money,
    one_decimal,
    percent,
    signed_money,
)
from pages.outlet_map import STATUS_COLOURS, STATUS_LABELS

ROW_HEIGHT_PX = 28
MIN_CHART_HEIGHT_PX = 320
# Value axes reach this far past the longest bar, so its label fits outside it.
LABEL_ROOM = 1.15
# Room around 0 % and 100 % for the bubbles and their codes.
RATIO_AXIS_RANGE = [-0.08, 1.12]


@dataclass(frozen=True)
class Kpi:
    """A figure of the territories report that territories can be ranked by.

    kind: "ratio" (a fraction), "money", "count" or "decimal".
    better: "higher", "lower", or None when neither end is weak in itself.
    needs: "orders" or "beats" when the figure means nothing without them.
    """

    label: str
    kind: str
    better: str | None
    help: str = ""
    needs: str | None = None


KPIS: dict[str, Kpi] = {
    "coverage": Kpi(
        "Coverage",
        "ratio",
        "higher",
        "Active outlets visited by anyone / active outlets.",
    ),
    "strike_rate": Kpi(
        "Strike rate", "ratio", "higher", "Productive visits / visits.", "orders"
    ),
    "beat_compliance": Kpi(
        "Beat compliance",
        "ratio",
        "higher",
        "Planned calls visited on the planned day / planned calls.",
        "beats",
    ),
    "order_value": Kpi(
        "Order value",
        "money",
        "higher",
        "Orders of value > 0 taken by the reps.",
        "orders",
    ),
    "visits": Kpi("Visits", "count", "higher", "Visits by the reps."),
    "productive_visits": Kpi(
        "Productive visits",
        "count",
        "higher",
        "Visits with an order of value > 0.",
        "orders",
    ),
    "visited_outlets": Kpi(
        "Visited outlets", "count", "higher", "Active outlets visited by anyone."
    ),
    "active_outlets": Kpi("Active outlets", "count", None, "Active outlets."),
    "skipped_outlets": Kpi(
        "Skipped outlets", "count", "lower", "Outlets planned but not visited.", "beats"
    ),
    "unplanned_outlets": Kpi(
        "Unplanned outlets", "count", "lower", "Active outlets on no beat.", "beats"
    ),
    "neglected_outlets": Kpi(
        "Neglected outlets",
        "count",
        "lower",
        "Outlets not visited in the neglect window (not skipped or unplanned).",
        "beats",
    ),
    "not_due_outlets": Kpi(
        "Not-due outlets", "count", None, "On a beat, not due this period.", "beats"
    ),
    "overdue_outlets": Kpi(
        "Overdue outlets",
        "count",
        "lower",
        "Active outlets with no visit in the neglect window, whatever their status.",
    ),
    "planned_calls": Kpi(
        "Planned calls", "count", None, "Planned calls of the reps.", "beats"
    ),
    "calls_on_plan": Kpi(
        "Calls on plan", "count", "higher", "Planned calls visited on the day.", "beats"
    ),
    "reps": Kpi("Reps", "count", None, "Reps of the territory in the period."),
    "outlets_per_rep": Kpi(
        "Outlets per rep", "decimal", None, "Active outlets / reps: the team's load."
    ),
    "planned_calls_per_rep": Kpi(
        "Planned calls per rep", "decimal", None, "Planned calls / reps.", "beats"
    ),
}


def available_kpis(has: dict[str, bool]) -> dict[str, Kpi]:
    """Return the KPIs the database can support; has maps "orders" and "beats" to presence."""
    return {
        name: kpi
        for name, kpi in KPIS.items()
        if kpi.needs is None or has.get(kpi.needs, False)
    }


def format_value(kpi: Kpi, value: float | None, symbol: str = "") -> str:
    """Format one KPI value as a percentage, an amount, a count or a decimal."""
    if value is None or pd.isna(value):
        return "–"
    if kpi.kind == "ratio":
        return percent(value)
    if kpi.kind == "money":
        return money(value, symbol)
    if kpi.kind == "count":
        return count(value)
    return one_decimal(value)


def format_change(kpi: Kpi, change: float | None, symbol: str = "") -> str:
    """Format a change against the previous period: points for a ratio, an
    amount with the currency symbol for money, units otherwise."""
    if change is None or pd.isna(change):
        return "–"
    if kpi.kind == "ratio":
        return f"{half_up(change * 100):+.0f} pts"
    if kpi.kind == "decimal":
        return f"{half_up(change, 1):+,.1f}"
    if kpi.kind == "money":
        return signed_money(change, symbol)
    return f"{half_up(change):+,.0f}"


def group_labels(ids: pd.Series, names: pd.Series) -> pd.Series:
    """Axis labels of groups: "name (id)", the id alone when the name is missing
    or equals it, and Unassigned where the id is missing.

    A listed group whose label would read "Unassigned" gets "name (id)", so
    it never shares an axis category with the Unassigned group.
    """
    ids_text = ids.astype("string")
    names_text = names.astype("string").fillna(ids_text)
    named = names_text.notna() & ids_text.notna() & (names_text != ids_text)
    named = named | (ids_text == UNASSIGNED)
    labels = ids_text.where(~named.fillna(False), names_text + " (" + ids_text + ")")
    return labels.fillna(UNASSIGNED).astype(str)


def rank_weakest_first(
    groups: pd.DataFrame, column: str, better: str | None
) -> pd.DataFrame:
    """Sort groups so the weakest on column come first, and number them in a rank column.

    Higher-is-better figures sort ascending and lower-is-better ones
    descending; a figure where neither end is weak sorts largest first.
    Groups without a value (an undefined ratio) come last and get no rank.
    Ties keep the label order, so the ranking is stable.
    """
    ascending = better == "higher"
    ranked = groups.sort_values(
        [column, "label"],
        ascending=[ascending, True],
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)
    has_value = ranked[column].notna()
    ranked.insert(
        0, "rank", pd.Series(range(1, len(ranked) + 1), dtype="Int64").where(has_value)
    )
    return ranked


def _height(rows: int) -> int:
    return max(MIN_CHART_HEIGHT_PX, 120 + ROW_HEIGHT_PX * rows)


def _category_axis(figure: go.Figure, labels: Sequence[str], axis: str = "y") -> None:
    """Keep labels as categories in the given order, the first one at the top."""
    settings = {
        "type": "category",
        "categoryorder": "array",
        "categoryarray": list(labels),
    }
    if axis == "y":
        figure.update_yaxes(autorange="reversed", **settings)
    else:
        figure.update_xaxes(**settings)


def _room_for_labels(values: pd.Series) -> list[float] | None:
    """Return an axis range from 0 with room past the longest bar for its value label."""
    largest = values.max()
    if pd.isna(largest) or largest <= 0 or values.min() < 0:
        return None
    return [0, largest * LABEL_ROOM]


def _value_axis(figure: go.Figure, kpi: Kpi, values: pd.Series) -> None:
    tickformat = ".0%" if kpi.kind == "ratio" else ",~r"
    figure.update_xaxes(
        tickformat=tickformat, rangemode="tozero", range=_room_for_labels(values)
    )


def ranking_figure(
    ranked: pd.DataFrame, column: str, kpi: Kpi, symbol: str = ""
) -> go.Figure:
    """Horizontal bars of column per group, weakest at the top, with the previous
    period's value as a hollow marker on each bar.

    Each bar and marker carries its row's position in ranked as customdata,
    so a click can open that row's group.
    """
    has_value = ranked[column].notna().to_numpy()
    drawn = ranked[has_value]
    positions = np.flatnonzero(has_value)
    labels = [chart_text(label) for label in drawn["label"]]
    previous = f"previous_{column}"
    change = f"change_{column}"
    hover = [
        f"{label}<br>{kpi.label}: {format_value(kpi, value, symbol)}"
        f"<br>Previous period: {format_value(kpi, before, symbol)}"
        f" ({format_change(kpi, delta, symbol)})"
        for label, value, before, delta in zip(
            labels, drawn[column], drawn[previous], drawn[change]
        )
    ]
    figure = go.Figure()
    figure.add_bar(
        x=drawn[column],
        y=labels,
        orientation="h",
        name="This period",
        text=[format_value(kpi, value, symbol) for value in drawn[column]],
        textposition="outside",
        cliponaxis=False,
        hovertext=hover,
        hoverinfo="text",
        customdata=positions,
    )
    figure.add_scatter(
        x=drawn[previous],
        y=labels,
        mode="markers",
        name="Previous period",
        customdata=positions,
        marker={"symbol": "line-ns-open", "size": 18, "line": {"width": 3}},
        hoverinfo="skip",
    )
    _category_axis(figure, labels)
    _value_axis(figure, kpi, drawn[column])
    figure.update_layout(height=_height(len(drawn)), xaxis_title=kpi.label)
    return figure


def coverage_strike_figure(
    groups: pd.DataFrame, code_column: str, colour_column: str, symbol: str = ""
) -> go.Figure:
    """Coverage against strike rate per group, sized by order value.

    Top right reaches its outlets and converts visits into orders; top left
    converts well but leaves outlets unvisited; bottom right visits without
    selling. Each bubble is marked with its code (code_column) and named in
    full on hover. Groups without a coverage or strike rate are left out.
    """
    shown = groups.dropna(subset=["coverage", "strike_rate"]).copy()
    shown["code"] = shown[code_column].fillna(UNASSIGNED).map(chart_text)
    # The colour column may be the label itself, which is escaped once.
    for column in {"label", colour_column}:
        shown[column] = shown[column].map(chart_text)
    shown["order value"] = [money(value, symbol) for value in shown["order_value"]]
    shown["outlets per rep"] = shown["outlets_per_rep"].map(one_decimal)
    shown["planned calls per rep"] = shown["planned_calls_per_rep"].map(one_decimal)
    shown["bubble_size"] = shown["order_value"].clip(lower=0)
    figure = px.scatter(
        shown,
        x="coverage",
        y="strike_rate",
        size="bubble_size",
        size_max=40,
        color=colour_column,
        text="code",
        hover_name="label",
        hover_data={
            "coverage": ":.0%",
            "strike_rate": ":.0%",
            "order value": True,
            "reps": True,
            "outlets per rep": True,
            "planned calls per rep": True,
            colour_column: False,
            "code": False,
            "bubble_size": False,
        },
        labels={
            "coverage": "Coverage",
            "strike_rate": "Strike rate",
            colour_column: "Region",
        },
    )
    figure.update_traces(
        textposition="top center", cliponaxis=False, marker_opacity=0.75
    )
    # Both ratios lie in 0..1, so a fixed range keeps autorange from padding
    # the axis past 100 % around a large bubble.
    figure.update_xaxes(tickformat=".0%", range=RATIO_AXIS_RANGE)
    figure.update_yaxes(tickformat=".0%", range=RATIO_AXIS_RANGE)
    figure.update_layout(height=520)
    return figure


def team_load_figure(ranked: pd.DataFrame) -> go.Figure:
    """Outlets per rep and planned calls per rep side by side, in the table's order."""
    labels = [chart_text(label) for label in ranked["label"]]
    figure = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=("Outlets per rep", "Planned calls per rep"),
    )
    for position, column in enumerate(
        ["outlets_per_rep", "planned_calls_per_rep"], start=1
    ):
        values = ranked[column]
        figure.add_bar(
            # Plotly draws no label on a missing bar, so a team without reps
            # gets a zero-length bar that carries its "no reps" label.
            x=values.fillna(0.0),
            y=labels,
            orientation="h",
            showlegend=False,
            text=[
                "no reps" if pd.isna(value) else one_decimal(value) for value in values
            ],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{text}<extra></extra>",
            row=1,
            col=position,
        )
        figure.update_xaxes(range=_room_for_labels(values), row=1, col=position)
    _category_axis(figure, labels)
    figure.update_layout(height=_height(len(ranked)))
    return figure


def status_mix_figure(ranked: pd.DataFrame) -> go.Figure:
    """Each group's active outlets split by status, stacked in the status order."""
    labels = [chart_text(label) for label in ranked["label"]]
    figure = go.Figure()
    for status in STATUSES:
        values = ranked[f"{status}_outlets"]
        figure.add_bar(
            x=values,
            y=labels,
            orientation="h",
            name=STATUS_LABELS[status],
            marker_color=STATUS_COLOURS[status],
            hovertemplate=f"%{{y}}<br>{STATUS_LABELS[status]}: %{{x:,}}<extra></extra>",
        )
    _category_axis(figure, labels)
    figure.update_layout(
        barmode="stack",
        height=_height(len(ranked)),
        legend={"traceorder": "normal"},
        xaxis_title="Active outlets",
    )
    return figure


def coverage_heatmap(shares: pd.DataFrame, labels: Sequence[str]) -> go.Figure:
    """Territory-by-week coverage: one row per territory in the given order,
    one column per week (its first day), cells from 0 % to 100 %."""
    rows = [chart_text(label) for label in labels]
    weeks = [f"{week:%d %b}" for week in shares.columns]
    cells = [[percent(value) for value in row] for row in shares.to_numpy()]
    values = [
        [None if math.isnan(value) else value for value in row]
        for row in shares.to_numpy(dtype=float)
    ]
    figure = go.Figure(
        go.Heatmap(
            z=values,
            x=weeks,
            y=rows,
            zmin=0,
            zmax=1,
            text=cells,
            texttemplate="%{text}",
            hovertemplate="%{y}<br>Week of %{x}: %{text}<extra></extra>",
            colorbar={"title": "Coverage", "tickformat": ".0%"},
            xgap=1,
            ygap=1,
        )
    )
    _category_axis(figure, rows)
    _category_axis(figure, weeks, axis="x")
    figure.update_layout(height=_height(len(rows)), xaxis_title="Week starting")
    return figure


def rep_plan_figure(reps: pd.DataFrame) -> go.Figure:
    """Planned calls, calls on plan, visits and productive visits per rep, in table order."""
    labels = [chart_text(label) for label in reps["label"]]
    series = {
        "planned_calls": "Planned calls",
        "calls_on_plan": "Calls on plan",
        "visits": "Visits",
        "productive_visits": "Productive visits",
    }
    figure = go.Figure()
    for column, name in series.items():
        figure.add_bar(
            x=reps[column],
            y=labels,
            orientation="h",
            name=name,
            hovertemplate=f"%{{y}}<br>{name}: %{{x:,}}<extra></extra>",
        )
    _category_axis(figure, labels)
    figure.update_layout(barmode="group", height=_height(len(reps) * 2))
    return figure
