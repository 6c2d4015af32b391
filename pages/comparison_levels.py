"""The drill-down of the territory comparison: its state in the sidebar
filters, the buttons back up, the drawing shared by every level, and the
levels below the ranking (one territory's reps, one rep's outlets).

Clicking a row moves the sidebar filters (region, territory, rep), so each
level of the drill-down is in the URL and the other pages show the same
selection. The buttons above the page go back up by clearing the narrower
filters.
"""

from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from pages import comparison_charts as charts
from pages import comparison_tables as tables
from pages import review_export
from pages.comparison_tables import REGION, REP, TERRITORY
from pages.formatting import markdown_text
from pages.shared import (
    View,
    kept_figure,
    load_outlets_report,
    load_reps_report,
    load_skipped_outlets,
    load_territories,
    load_territory_groups,
)
from pages.theme import chart_config

NOTICE_KEY = "comparison_notice"
UNASSIGNED_NOTICE = (
    "The Unassigned group has no territory or region to open. Its reps are "
    "listed under the table; click one there to see their figures."
)


# Drill-down state


def chosen(key: str) -> str | None:
    """Return the value of a sidebar filter, or None when it shows everything."""
    return st.session_state.get(key)


def set_filters(**values: str | None) -> None:
    """Set sidebar filters; runs as a callback, before the sidebar is drawn."""
    for key, value in values.items():
        st.session_state[key] = value


def open_clicked_row(
    table_key: str, targets: list[dict[str, str | None] | None]
) -> None:
    """Apply the filters of a clicked table row; targets follow the table's rows."""
    rows = st.session_state[table_key].selection.rows
    if rows:
        _open_target(targets[rows[0]])


def open_clicked_bar(
    chart_key: str, targets: list[dict[str, str | None] | None]
) -> None:
    """Apply the filters of a clicked bar of the ranking chart, whose
    customdata is the bar's row in targets (see charts.ranking_figure)."""
    points = st.session_state[chart_key].selection.points
    if not points:
        return
    position = points[0].get("customdata")
    if isinstance(position, list):
        position = position[0] if position else None
    if position is not None:
        _open_target(targets[int(position)])


def _open_target(target: dict[str, str | None] | None) -> None:
    """Set the filters of a clicked group. A group without a target (an
    Unassigned group) leaves the filters as they are and explains why."""
    if target is None:
        st.session_state[NOTICE_KEY] = UNASSIGNED_NOTICE
        return
    set_filters(**target)


def draw_path(view: View) -> None:
    """Show the current drill-down level and a button for each level above it."""
    region, territory, rep = chosen(REGION), chosen(TERRITORY), chosen(REP)
    if region is None and territory is None and rep is None:
        return
    names = tables.filter_names(load_territories(view), load_reps_report(view))
    steps: list[tuple[str, dict[str, None]]] = [
        ("All territories", {REGION: None, TERRITORY: None, REP: None})
    ]
    if region is not None:
        steps.append(
            (names.get(("region", region), region), {TERRITORY: None, REP: None})
        )
    if territory is not None:
        steps.append((names.get(("territory", territory), territory), {REP: None}))
    if rep is not None:
        steps.append((names.get(("rep", rep), rep), {}))

    columns = st.columns(len(steps))
    for position, (column, (label, clears)) in enumerate(zip(columns, steps)):
        if position == len(steps) - 1:
            column.markdown(f"**{markdown_text(label)}**")
        else:
            column.button(
                # Button labels render Markdown, so names are escaped.
                markdown_text(label),
                key=f"comparison_up_{position}",
                icon=":material/arrow_upward:",
                on_click=set_filters,
                kwargs=clears,
                help="Go back up to this level; the period and the other filters stay.",
            )


def draw_notice() -> None:
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice, icon=":material/info:")


# Shared drawing


# The territories report's kinds of figure in the units of the Overview's tiles.
TILE_UNITS = {
    "ratio": "percent",
    "money": "money",
    "count": "count",
    "decimal": "decimal",
}


def draw_tiles(view: View, tiles: list[tuple[str, str, float, float]]) -> None:
    """Draw KPI tiles with the change against the previous period, as the
    Overview draws its tiles.

    Each tile is (label, KPI name of charts.KPIS, value now, value before).
    """
    symbol = view.settings.currency_symbol
    columns = st.columns(len(tiles))
    for column, (label, name, now, before) in zip(columns, tiles):
        ranked = charts.KPIS[name]
        kpi = review_export.Kpi(
            name,
            label,
            TILE_UNITS[ranked.kind],
            rise_is_bad=ranked.better == "lower",
            neutral=ranked.better is None,
        )
        exact = review_export.format_figure(now, kpi.unit, symbol)
        # Compact figures ("₹6.25M" for ₹6,247,812) fit six tiles to a row.
        column.metric(
            label,
            review_export.format_figure(now, kpi.unit, symbol, compact=True),
            **review_export.metric_change(kpi, now, before, symbol),
            help=f"This period: {exact}. Change against the previous period of "
            "the same length.",
        )


def draw_chart(figure, filename: str, **selection: Any) -> None:
    """Draw a chart. For a chart that reacts to a click, selection passes
    st.plotly_chart's key, on_select and selection_mode."""
    st.plotly_chart(figure, width="stretch", config=chart_config(filename), **selection)


def draw_downloads(view: View, frame: pd.DataFrame, stem: str) -> None:
    """Draw CSV and XLSX buttons for a table; the files are named after it and the period."""
    name = f"{stem}-{view.period.start:%Y-%m-%d}-to-{view.period.end:%Y-%m-%d}"
    left, right, _ = st.columns([1, 1, 4])
    # Streamlit calls these functions only when a button is pressed, so a run
    # does not build the files (about 0.05 s for the national territories XLSX).
    left.download_button(
        "CSV",
        partial(tables.csv_bytes, frame),
        file_name=f"{name}.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"{stem}_csv",
        on_click="ignore",
    )
    right.download_button(
        "XLSX",
        partial(tables.xlsx_bytes, frame, stem, view.settings.currency_symbol),
        file_name=f"{name}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        key=f"{stem}_xlsx",
        on_click="ignore",
    )


def kpi_tiles(
    view: View, now: dict, before: dict
) -> list[tuple[str, str, float, float]]:
    """List the tiles of a group's figures, without those the database cannot support."""
    names = ["reps", "active_outlets", "coverage"]
    if view.has("orders"):
        names += ["strike_rate", "order_value"]
    if view.has("beats"):
        names += ["beat_compliance"]
    return [(charts.KPIS[name].label, name, now[name], before[name]) for name in names]


# One territory: its reps


def draw_territory(view: View, territory_id: str) -> None:
    groups = load_territory_groups(view)
    row = groups[groups["territory_id"] == territory_id]
    if row.empty:
        st.warning(
            "This territory is not in your scope for this period. Go back up to see the others."
        )
        return
    before = load_territory_groups(view.at(view.period.previous()))
    before_row = before[before["territory_id"] == territory_id]
    now_figures = row.iloc[0].to_dict()
    before_figures = (
        before_row.iloc[0].to_dict()
        if not before_row.empty
        else dict.fromkeys(now_figures)
    )
    draw_tiles(view, kpi_tiles(view, now_figures, before_figures))

    reps = load_reps_report(view)
    if reps.empty:
        st.info(
            "This territory has no reps, so it has no visits or orders of its own. "
            "Its outlets are listed below."
        )
        draw_outlets(view, "territory_outlets")
        return
    st.subheader("Reps")
    labelled = reps.assign(label=charts.group_labels(reps["rep_id"], reps["rep_name"]))
    draw_chart(kept_figure(charts.rep_plan_figure, labelled), "territory-reps")
    draw_rep_table(view, reps, "territory_reps")
    with st.expander("Outlets of the territory"):
        draw_outlets(view, "territory_outlets")


def draw_rep_table(view: View, reps: pd.DataFrame, key: str) -> None:
    table = tables.rep_table(reps)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config=tables.rep_column_config(view.settings.currency_symbol),
        on_select=partial(
            open_clicked_row, key, [{REP: rep_id} for rep_id in table["rep_id"]]
        ),
        selection_mode="single-row",
        key=key,
        placeholder="",
    )
    st.caption("Click a rep to see their outlets.")
    draw_downloads(view, table, key.replace("_", "-"))


# One rep: their outlets


def draw_rep(view: View, rep_id: str) -> None:
    reps = load_reps_report(view)
    row = reps[reps["rep_id"] == rep_id]
    if row.empty:
        st.info(
            "This rep is inactive and did nothing in this period, so there are no figures to show."
        )
        return
    before = load_reps_report(view.at(view.period.previous()))
    before_row = before[before["rep_id"] == rep_id]
    now_figures = row.iloc[0].to_dict()
    before_figures = (
        before_row.iloc[0].to_dict()
        if not before_row.empty
        else dict.fromkeys(now_figures)
    )
    names = ["visits"]
    if view.has("orders"):
        names += ["strike_rate", "order_value"]
    if view.has("beats"):
        names += ["beat_compliance", "skipped_outlets"]
    draw_tiles(
        view,
        [
            (charts.KPIS[name].label, name, now_figures[name], before_figures[name])
            for name in names
        ],
    )

    if pd.isna(now_figures["territory_id"]):
        st.info(
            "This rep has no territory, so no outlets belong to them. The figures "
            "above count their own visits and orders; give them a territory in the "
            "source system to see their outlets here."
        )
        return
    if view.has("beats"):
        draw_skipped(view, rep_id)
    st.subheader("Outlets")
    draw_outlets(view, "rep_outlets")


def draw_skipped(view: View, rep_id: str) -> None:
    skipped = load_skipped_outlets(view)
    skipped = skipped[skipped["rep_id"] == rep_id]
    st.subheader("Skipped outlets")
    if skipped.empty:
        st.success("The rep visited every planned outlet in this period.")
        return
    table = tables.skipped_table(skipped)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config=tables.SKIPPED_COLUMNS,
        placeholder="",
    )
    draw_downloads(view, table, "skipped-outlets")


def draw_outlets(view: View, key: str) -> None:
    """Draw the outlets report in scope; clicking an outlet shows its details."""
    outlets = load_outlets_report(view)
    if outlets.empty:
        st.info("No active outlets in this territory.")
        return
    table = tables.outlet_table(outlets)
    event = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config=tables.outlet_column_config(view.settings.currency_symbol),
        on_select="rerun",
        selection_mode="single-row",
        key=key,
        placeholder="",
    )
    draw_downloads(view, table, key.replace("_", "-"))
    rows = event.selection.rows
    if rows:
        st.markdown(
            tables.outlet_summary(table.iloc[rows[0]], view.settings.currency_symbol)
        )
    else:
        st.caption("Click an outlet for its details.")
