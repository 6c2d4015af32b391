"""The week's review as files: the exceptions, the rep table and the
skipped-outlet register as CSV or XLSX, and a one-page printable summary.

The headline KPIs (label, unit, whether a rise is bad) live here too,
because the Overview tiles and the summary share them. Nothing here imports streamlit.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

import pandas as pd

from metrics.review import (
    REVENUE_AT_RISK_METHOD,
    describe_consecutive,
    unpriced_note,
)
from metrics.rounding import half_up, percent_text
from pages import exports, formatting
from pages.formatting import signed_money

# How many rows of each table the one-page summary shows.
SUMMARY_ROWS = 6


@dataclass(frozen=True)
class Kpi:
    """A headline figure: field of the headline dict, label and unit ('count',
    'percent', 'money', 'minutes' or 'decimal').

    rise_is_bad marks figures where a rise is bad news, and neutral those where
    a change is neither good nor bad (the size of the plan). meaning describes what
    the figure counts, for a tile's help text.
    """

    field: str
    label: str
    unit: str
    rise_is_bad: bool = False
    meaning: str = ""
    neutral: bool = False


HEADLINE_KPIS = (
    Kpi("visits", "Visits", "count", meaning="Distinct visits by the reps in scope."),
    Kpi(
        "strike_rate",
        "Strike rate",
        "percent",
        meaning="Productive visits (with an order of value > 0) / visits.",
    ),
    Kpi(
        "beat_compliance",
        "Beat compliance",
        "percent",
        meaning="Planned calls visited by the rep on the planned day / planned calls.",
    ),
    Kpi(
        "skipped_outlets",
        "Skipped outlets",
        "count",
        rise_is_bad=True,
        meaning="Summed over reps: the outlets each rep had planned and did not visit "
        "in the period. An outlet skipped by two reps counts twice, and one that "
        "another rep visited still counts, so this can exceed the map's count of "
        "outlets with status skipped.",
    ),
    Kpi(
        "revenue_at_risk",
        "Revenue at risk",
        "money",
        rise_is_bad=True,
        meaning="Skipped planned calls priced at each outlet's usual order.",
    ),
    Kpi(
        "coverage",
        "Coverage",
        "percent",
        meaning="Active outlets visited by anyone / active outlets.",
    ),
    Kpi(
        "neglected_outlets",
        "Neglected outlets",
        "count",
        rise_is_bad=True,
        meaning="Active outlets on a beat, not planned in the period, with no visit "
        "in their neglect window; each outlet counts once.",
    ),
    Kpi(
        "order_value",
        "Order value",
        "money",
        meaning="Orders of value > 0 dated in the period; returns are not netted off.",
    ),
    Kpi(
        "time_in_market_min",
        "Time in market",
        "minutes",
        meaning="First check-in to last check-out, averaged over the rep-days "
        "with a visit.",
    ),
    Kpi(
        "off_site_visits",
        "Off-site visits",
        "count",
        rise_is_bad=True,
        meaning="Visits checked in farther from the outlet than the off-site distance.",
    ),
)

# The reps report's other figures, pooled over the reps in scope.
REPORT_KPIS = (
    Kpi(
        "productive_visits",
        "Productive visits",
        "count",
        meaning="Visits with at least one linked order of value > 0.",
    ),
    Kpi(
        "orders", "Orders", "count", meaning="Orders of value > 0 dated in the period."
    ),
    Kpi(
        "average_order_value",
        "Average order value",
        "money",
        meaning="Order value / orders, over all reps' orders.",
    ),
    Kpi(
        "lines_per_call",
        "Lines per call",
        "decimal",
        meaning="Lines of the positive orders linked to the period's visits / "
        "productive visits, over all reps.",
    ),
    Kpi(
        "return_value",
        "Return value",
        "money",
        meaning="Sum of the negative orders (returns) dated in the period; a rise "
        "toward 0 means fewer returns.",
    ),
    Kpi(
        "planned_calls",
        "Planned calls",
        "count",
        meaning="Rep, outlet and date triples of the reps' beats in the period.",
        neutral=True,
    ),
    Kpi(
        "calls_on_plan",
        "Calls on plan",
        "count",
        meaning="Planned calls the rep visited on the planned day.",
    ),
    Kpi(
        "planned_outlets",
        "Planned outlets",
        "count",
        meaning="Summed over reps: the outlets with a planned call for the rep.",
        neutral=True,
    ),
    Kpi(
        "off_beat_visits",
        "Off-beat visits",
        "count",
        rise_is_bad=True,
        meaning="Visits to an outlet that was not planned for the rep that day.",
    ),
)


# KPIs that need orders, and those that need beat plans, to mean anything.
NEEDS_ORDERS = {
    "strike_rate",
    "order_value",
    "productive_visits",
    "orders",
    "average_order_value",
    "lines_per_call",
    "return_value",
}
# Without beats every visit is off-beat, so that count means nothing either.
NEEDS_BEATS = {
    "beat_compliance",
    "skipped_outlets",
    "revenue_at_risk",
    "neglected_outlets",
    "planned_calls",
    "calls_on_plan",
    "planned_outlets",
    "off_beat_visits",
}


def available_kpis(kpis: Sequence[Kpi], has_beats: bool, has_orders: bool) -> list[Kpi]:
    """Keep the KPIs a database can fill: no strike rate without orders, no plan
    figures without beats. Without beats, overdue outlets follow coverage,
    because every unvisited outlet's status is then "unplanned"."""
    shown = [
        kpi
        for kpi in kpis
        if (has_orders or kpi.field not in NEEDS_ORDERS)
        and (has_beats or kpi.field not in NEEDS_BEATS)
    ]
    fields = [kpi.field for kpi in shown]
    if not has_beats and "coverage" in fields:
        overdue = Kpi("overdue_outlets", "Overdue outlets", "count", rise_is_bad=True)
        shown.insert(fields.index("coverage") + 1, overdue)
    return shown


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# Characters of a figure that a tile shows whole at 1280 px: "₹99,999" fits,
# "-₹84,719" and "₹409.77M" were cut short.
COMPACT_CHARACTERS = 7


def format_figure(
    value: float | None, unit: str, symbol: str = "", compact: bool = False
) -> str:
    """Show a figure in its unit: 1,234 · 61% · ₹12,400 · 6h 05m · 3.4.

    Undefined figures show as a dash. compact shortens counts and money
    whose text would pass COMPACT_CHARACTERS to three significant digits,
    -₹84.7K, ₹122K, ₹1.25M, ₹12.3M or ₹410M, so that the figure fits one of
    five or six tiles in a row at 1280 px.
    """
    if _missing(value):
        return "–"
    if unit == "percent":
        return percent_text(value)
    if unit == "minutes":
        hours, minutes = divmod(int(half_up(value)), 60)
        return f"{hours}h {minutes:02d}m"
    if unit == "decimal":
        return f"{half_up(value, 1):,.1f}"
    prefix = symbol if unit == "money" else ""
    rounded = half_up(value)
    sign = "-" if rounded < 0 else ""
    size = abs(rounded)
    full = f"{sign}{prefix}{size:,.0f}"
    if compact and len(full) > COMPACT_CHARACTERS and size >= 1_000:
        return f"{sign}{prefix}{_three_digits(size)}"
    return full


def _three_digits(size: float) -> str:
    """Write a size of 1,000 or more in thousands, millions or billions with
    three significant digits: 84.7K, 122K, 1.25M, 12.3M, 410M, 1.20B."""
    for scale, suffix in ((1e3, "K"), (1e6, "M"), (1e9, "B")):
        scaled = size / scale
        # 999.5 and more would round to 1,000 of this scale.
        if scaled < 999.5 or suffix == "B":
            break
    if scaled < 9.995:
        return f"{half_up(scaled, 2):.2f}{suffix}"
    if scaled < 99.95:
        return f"{half_up(scaled, 1):.1f}{suffix}"
    return f"{half_up(scaled):,.0f}{suffix}"


def _shown_change(now: float | None, before: float | None, unit: str) -> float | None:
    """Return now minus before, rounded as format_change shows it (percent in
    points), or None when undefined."""
    if _missing(now) or _missing(before):
        return None
    scale = 100 if unit == "percent" else 1
    digits = 1 if unit == "decimal" else 0
    return half_up((now - before) * scale, digits)


def metric_change(
    kpi: Kpi, now: float | None, before: float | None, symbol: str
) -> dict[str, Any]:
    """Return st.metric's delta, delta_color and delta_arrow for a KPI tile.

    A rise is green, or red where it is bad news, and a neutral figure's
    change is grey. A change that rounds to zero is grey and has no arrow,
    because "+0" would otherwise show as a coloured rise.
    """
    change = _shown_change(now, before, kpi.unit)
    look: dict[str, Any] = {
        "delta": format_change(now, before, kpi.unit, symbol),
        "delta_color": "inverse" if kpi.rise_is_bad else "normal",
    }
    if kpi.neutral or change == 0:
        look["delta_color"] = "off"
    if change == 0:
        look["delta_arrow"] = "off"
    return look


def format_change(
    now: float | None, before: float | None, unit: str, symbol: str = ""
) -> str | None:
    """Show the change against the previous period: +3 pts, -1,200, +12 min, +0.4;
    None when undefined.

    A change that rounds to zero shows as +0, never -0, because a minus sign
    would draw a falling arrow for no change.
    """
    change = _shown_change(now, before, unit)
    if change is None:
        return None
    if unit == "decimal":
        return f"{change:+,.1f}"
    if unit == "percent":
        return f"{change:+.0f} pts"
    if unit == "minutes":
        return f"{change:+.0f} min"
    if unit == "money":
        return signed_money(change, symbol)
    return f"{change:+,.0f}"


# The tables, with the headers that the files show

EXCEPTION_COLUMNS = {
    "rep_id": "Rep id",
    "rep_name": "Rep",
    "kind": "What",
    "value_at_risk": "Value at risk",
    "message": "Why",
}
REP_COLUMNS = {
    "rep_id": "Rep id",
    "rep_name": "Rep",
    "territory_id": "Territory",
    "visits": "Visits",
    "productive_visits": "Productive visits",
    "strike_rate": "Strike rate",
    "planned_calls": "Planned calls",
    "calls_on_plan": "Calls on plan",
    "beat_compliance": "Beat compliance",
    "planned_outlets": "Planned outlets",
    "skipped_outlets": "Skipped outlets",
    "skip_share": "Share of planned outlets skipped",
    "revenue_at_risk": "Revenue at risk",
    "off_beat_visits": "Off-beat visits",
    "off_site_visits": "Off-site visits",
    "off_site_share": "Share of visits off-site",
    "working_days": "Working days",
    "time_in_market_min": "Time in market (min per day)",
    "order_value": "Order value",
    "orders": "Orders",
    "average_order_value": "Average order value",
    "lines_per_call": "Lines per call",
    "return_value": "Return value",
}
REGISTER_COLUMNS = {
    "rep_id": "Rep id",
    "rep_name": "Rep",
    "outlet_id": "Outlet id",
    "outlet_name": "Outlet",
    "territory_id": "Territory",
    "outlet_class": "Class",
    "planned_calls": "Planned calls missed",
    "first_plan_date": "First planned",
    "last_plan_date": "Last planned",
    "consecutive_missed_calls": "Missed calls in a row",
    "missed_since_lookback_start": "No visit in the lookback",
    "rep_last_visit_date": "Rep's last visit",
    "reason_at_last_visit": "Reason at last visit",
    "last_visit_date": "Last visit by anyone",
    "expected_value": "Expected order per call",
    "value_basis": "Priced from",
    "revenue_at_risk": "Revenue at risk",
}
NUMBER_FORMATS = {
    "Strike rate": "0%",
    "Beat compliance": "0%",
    "Share of planned outlets skipped": "0%",
    "Share of visits off-site": "0%",
    "Value at risk": "#,##0",
    "Revenue at risk": "#,##0",
    "Order value": "#,##0",
    "Average order value": "#,##0",
    "Return value": "#,##0",
    "Expected order per call": "#,##0",
    "Time in market (min per day)": "0",
    "Lines per call": "0.0",
}


def _table(frame: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    present = [name for name in columns if name in frame.columns]
    return frame[present].rename(columns=columns).reset_index(drop=True)


def review_sheets(
    exceptions: pd.DataFrame, rep_review: pd.DataFrame, register: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Build the three tables of the review with readable headers, raw values kept.

    Reps are ordered by revenue at risk, the costliest first.
    """
    reps = rep_review.sort_values(
        ["revenue_at_risk", "rep_id"],
        ascending=[False, True],
        na_position="first",
        kind="stable",
    )
    return {
        "Exceptions": _table(exceptions, EXCEPTION_COLUMNS),
        "Reps": _table(reps, REP_COLUMNS),
        "Skipped outlets": _table(register, REGISTER_COLUMNS),
    }


def review_workbook(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """Write the review's tables as one XLSX file, one sheet each."""
    return exports.to_xlsx_bytes(sheets, NUMBER_FORMATS)


def file_stem(period_start: date, period_end: date) -> str:
    """Name the review's files, without extension: beatboard-review-2026-11-23-to-2026-11-29."""
    return f"beatboard-review-{period_start:%Y-%m-%d}-to-{period_end:%Y-%m-%d}"


def figures_table(
    now: Mapping[str, float], before: Mapping[str, float], symbol: str = ""
) -> pd.DataFrame:
    """List the headline KPIs as text rows: KPI, this period, previous period, change."""
    rows = [
        {
            "KPI": kpi.label,
            "This period": format_figure(now.get(kpi.field), kpi.unit, symbol),
            "Previous period": format_figure(before.get(kpi.field), kpi.unit, symbol),
            "Change": format_change(
                now.get(kpi.field), before.get(kpi.field), kpi.unit, symbol
            )
            or "–",
        }
        for kpi in HEADLINE_KPIS
    ]
    return pd.DataFrame(rows)


def summary_html(
    heading_lines: Sequence[str],
    now: Mapping[str, float],
    before: Mapping[str, float],
    sheets: Mapping[str, pd.DataFrame],
    symbol: str = "",
) -> str:
    """Build the one-page printable summary of the review.

    heading_lines are plain text lines under the title (period, scope), and
    sheets is review_sheets(). Each table shows its first SUMMARY_ROWS rows
    and a note with the number of further rows in the XLSX file.
    """
    money = partial(formatting.money, symbol=symbol)
    percent = formatting.percent
    sections = [exports.paragraph(line) for line in heading_lines]
    sections += [
        exports.heading("Headline"),
        _two_halves(figures_table(now, before, symbol)),
        exports.paragraph(REVENUE_AT_RISK_METHOD, note=True),
    ]
    unpriced = unpriced_note(now)
    if unpriced:
        sections.append(exports.paragraph(unpriced, note=True))

    exceptions = sheets["Exceptions"]
    sections.append(exports.heading("Exceptions, costliest first"))
    sections += _summary_rows(
        exceptions[["Rep", "What", "Value at risk", "Why"]],
        {"Value at risk": money},
        "No rep crosses an exception threshold in this period.",
    )

    reps = sheets["Reps"]
    rep_columns = [
        "Rep",
        "Visits",
        "Strike rate",
        "Beat compliance",
        "Skipped outlets",
        "Revenue at risk",
        "Time in market (min per day)",
    ]
    sections.append(exports.heading("Reps by revenue at risk"))
    sections += _summary_rows(
        reps[[column for column in rep_columns if column in reps.columns]],
        {
            "Strike rate": percent,
            "Beat compliance": percent,
            "Revenue at risk": money,
            "Time in market (min per day)": formatting.count,
        },
        "No reps in this selection.",
    )

    register = sheets["Skipped outlets"]
    sections.append(exports.heading("Skipped outlets by revenue at risk"))
    sections += _summary_rows(
        register[
            [
                "Rep",
                "Outlet",
                "Planned calls missed",
                "Missed calls in a row",
                "Rep's last visit",
                "Revenue at risk",
            ]
        ],
        {"Revenue at risk": money},
        "No planned outlet was skipped.",
    )
    return exports.printable_page("Beatboard weekly review", sections)


def _two_halves(frame: pd.DataFrame) -> str:
    half = (len(frame) + 1) // 2
    return exports.side_by_side(
        [exports.html_table(frame.iloc[:half]), exports.html_table(frame.iloc[half:])]
    )


def _summary_rows(frame: pd.DataFrame, formats: Mapping, empty: str) -> list[str]:
    if frame.empty:
        return [exports.paragraph(empty)]
    sections = [exports.html_table(frame.head(SUMMARY_ROWS), formats)]
    more = len(frame) - SUMMARY_ROWS
    if more > 0:
        rows = "row" if more == 1 else "rows"
        sections.append(
            exports.paragraph(f"{more} more {rows} in the XLSX file.", note=True)
        )
    return sections


def register_display(register: pd.DataFrame) -> pd.DataFrame:
    """Add missed_in_a_row: consecutive missed calls as text ('13+' for a lower bound)."""
    shown = register.copy()
    shown["missed_in_a_row"] = describe_consecutive(register)
    return shown
