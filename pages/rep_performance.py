"""Rep performance: every rep KPI in one sortable table and the skipped-outlet
register. With one rep chosen in the sidebar, the page shows that rep's week
day by day: the plan against the visits, the day's route, the outlets skipped."""

import logging
import os

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from metrics.review import (
    REVENUE_AT_RISK_METHOD,
    call_outcomes,
    day_summary,
    rep_changes,
)
from metrics.rounding import half_up_values, threshold_text
from pages import day_route, outlet_map, route_map
from pages.formatting import markdown_text, money_column, percent_column
from pages.review_export import (
    Kpi,
    available_kpis,
    format_figure,
    metric_change,
    register_display,
)
from pages.shared import (
    View,
    cached_by_view,
    caption_set_aside,
    current_view,
    draw_open_rep_button,
    follow_open_rep,
    load_outlets_report,
    load_register,
    load_rep_call_list,
    load_rep_days,
    load_rep_review,
    load_reps_report,
    load_review_in_background,
    load_territories,
    load_territories_report,
    load_territory_boundaries,
)

log = logging.getLogger(__name__)

ROUTE_MAP_HEIGHT_PX = 420
TILES_PER_ROW = 4

REP_TABLE_COLUMNS = {
    "rep_id": st.column_config.TextColumn("Rep id"),
    "rep_name": st.column_config.TextColumn("Rep"),
    "territory_id": st.column_config.TextColumn("Territory"),
    "visits": st.column_config.NumberColumn("Visits"),
    "productive_visits": st.column_config.NumberColumn("Productive visits"),
    "strike_rate": percent_column("Strike rate", "Productive visits / visits."),
    "planned_calls": st.column_config.NumberColumn("Planned calls"),
    "calls_on_plan": st.column_config.NumberColumn("Calls on plan"),
    "beat_compliance": percent_column(
        "Beat compliance", "Planned calls visited on the planned day / planned calls."
    ),
    "planned_outlets": st.column_config.NumberColumn("Planned outlets"),
    "skipped_outlets": st.column_config.NumberColumn(
        "Skipped outlets",
        help="Planned outlets the rep did not visit on any day of the period.",
    ),
    "skip_share": percent_column("Skipped share", "Skipped outlets / planned outlets."),
    "off_beat_visits": st.column_config.NumberColumn("Off-beat visits"),
    "off_site_visits": st.column_config.NumberColumn("Off-site visits"),
    "working_days": st.column_config.NumberColumn("Working days"),
    "time_in_market_min": st.column_config.NumberColumn(
        "Time in market (min/day)",
        help="First check-in to last check-out, averaged over the days with a visit.",
        format="%.0f",
    ),
    "orders": st.column_config.NumberColumn("Orders"),
    "lines_per_call": st.column_config.NumberColumn("Lines per call", format="%.1f"),
}

REP_KPIS = (
    Kpi("visits", "Visits", "count"),
    Kpi("strike_rate", "Strike rate", "percent"),
    Kpi("beat_compliance", "Beat compliance", "percent"),
    Kpi("skipped_outlets", "Skipped outlets", "count", rise_is_bad=True),
    Kpi("revenue_at_risk", "Revenue at risk", "money", rise_is_bad=True),
    Kpi("time_in_market_min", "Time in market", "minutes"),
    Kpi("off_site_visits", "Off-site visits", "count", rise_is_bad=True),
    Kpi("order_value", "Order value", "money"),
)


# The rep table shows the change against the previous period of these KPIs,
# each in a column after the KPI's own.
TABLE_CHANGE_KPIS = (
    Kpi("visits", "Visits", "count"),
    Kpi("strike_rate", "Strike rate", "percent"),
    Kpi("beat_compliance", "Beat compliance", "percent"),
    Kpi("skipped_outlets", "Skipped outlets", "count"),
    Kpi("order_value", "Order value", "money"),
)
# Changes in the tiles' format, printf-style as Streamlit's NumberColumn takes
# it. Percent changes are shown in points, so the page multiplies them by 100.
CHANGE_FORMATS = {
    "count": "%+,d",
    "percent": "%+.0f pts",
    "money": "%+,.0f",
    "minutes": "%+.0f min",
}


def money_columns(symbol: str) -> dict:
    return {
        "revenue_at_risk": money_column(
            "Revenue at risk",
            symbol,
            "Skipped planned calls priced at each outlet's usual order.",
        ),
        "order_value": money_column("Order value", symbol),
        "average_order_value": money_column("Average order value", symbol),
        "return_value": money_column(
            "Return value", symbol, "Sum of negative orders (returns)."
        ),
    }


# The team


def change_column(kpi: Kpi, symbol: str) -> st.column_config.NumberColumn:
    """Configure the table column of a KPI's change against the previous period."""
    label = f"{kpi.label} vs prev"
    if kpi.unit == "money" and symbol:
        label = f"{label} ({symbol})"
    return st.column_config.NumberColumn(
        label,
        help="Change against the previous period of the same length; blank for a "
        "rep without figures in that period or where either figure is undefined.",
        format=CHANGE_FORMATS[kpi.unit],
    )


def table_columns(view: View, kpis: list[Kpi]) -> dict:
    """Configure the rep table's columns, each change column after its KPI."""
    symbol = view.settings.currency_symbol
    columns = {}
    for name, column in {**REP_TABLE_COLUMNS, **money_columns(symbol)}.items():
        columns[name] = column
        for kpi in kpis:
            if kpi.field == name:
                columns[f"{name}_change"] = change_column(kpi, symbol)
    return columns


def with_changes(view: View, review: pd.DataFrame, kpis: list[Kpi]) -> pd.DataFrame:
    """Add each KPI's change against the previous period, percent changes in points."""
    previous = load_reps_report(view.at(view.period.previous()))
    changed = rep_changes(review, previous, [kpi.field for kpi in kpis])
    for kpi in kpis:
        if kpi.unit == "percent":
            changed[f"{kpi.field}_change"] = changed[f"{kpi.field}_change"] * 100
    return changed


@cached_by_view
def load_rep_table(view: View, kpis: tuple[Kpi, ...]) -> pd.DataFrame:
    """Load the rep table's rows: the rep review with each KPI's change,
    costliest reps first.

    The rows are cached with the view, so a rerun reads one cached frame in
    place of the review and the previous reps report, and does not match
    them again.
    """
    review = with_changes(view, load_rep_review(view), list(kpis))
    # As in the review's files: reps whose skips have no order history to
    # price them come first, because their cost is unknown, not zero.
    table = review.sort_values(
        ["revenue_at_risk", "rep_id"],
        ascending=[False, True],
        na_position="first",
        kind="stable",
    ).reset_index(drop=True)
    table["revenue_at_risk"] = half_up_values(table["revenue_at_risk"])
    return table


def draw_rep_table(view: View) -> None:
    kpis = available_kpis(TABLE_CHANGE_KPIS, view.has("beats"), view.has("orders"))
    table = load_rep_table(view, tuple(kpis))
    if table.empty:
        st.warning(
            "No reps in the chosen scope. Widen the region, territory or rep filter."
        )
        st.stop()
    columns = table_columns(view, kpis)
    event = st.dataframe(
        table[[name for name in columns if name in table.columns]],
        hide_index=True,
        width="stretch",
        column_config=columns,
        placeholder="",
        key="rep_table",
        on_select="rerun",
        selection_mode="single-row",
    )
    rows = [row for row in event.selection.rows if row < len(table)]
    if rows:
        rep = table.iloc[rows[0]]
        draw_open_rep_button(rep["rep_id"], rep["rep_name"], key="open_table_rep")
    else:
        st.caption(
            "Costliest reps first, by revenue at risk; click a column header to "
            "sort by another figure. Select a rep to open their week. Ratios are "
            "blank where they are undefined. The vs prev columns give the change "
            "against the previous period of the same length."
        )


def draw_register(view: View, register: pd.DataFrame, with_rep: bool) -> None:
    """Show the skipped-outlet register, costliest skips first."""
    if not view.has("beats"):
        st.info("This database has no beat plans, so no outlet can be skipped.")
        return
    if register.empty:
        st.success("Every planned outlet was visited in this period.")
        return
    shown = register_display(register)
    shown["revenue_at_risk"] = half_up_values(shown["revenue_at_risk"])
    names = [
        "outlet_id",
        "outlet_name",
        "outlet_class",
        "planned_calls",
        "missed_in_a_row",
        # Before the dates, so the figure the rows are sorted by stays in view.
        "revenue_at_risk",
        "rep_last_visit_date",
        "reason_at_last_visit",
        "last_visit_date",
        "value_basis",
    ]
    if with_rep:
        names = ["rep_id", "rep_name", *names]
    st.dataframe(
        shown[names],
        hide_index=True,
        placeholder="",
        width="stretch",
        column_config={
            "rep_id": st.column_config.TextColumn("Rep id"),
            "rep_name": st.column_config.TextColumn("Rep"),
            "outlet_id": st.column_config.TextColumn("Outlet id"),
            "outlet_name": st.column_config.TextColumn("Outlet"),
            "outlet_class": st.column_config.TextColumn("Class"),
            "planned_calls": st.column_config.NumberColumn(
                "Calls missed",
                help="Planned calls of the outlet in the period, all missed.",
            ),
            "missed_in_a_row": st.column_config.TextColumn(
                "Missed in a row",
                help="The rep's planned calls of the outlet since their last visit to it, "
                "counted over at most 13 weeks. A + after the count, as in 13+ or 7+ "
                "for a fortnightly beat, means no visit in that time, so the run is "
                "longer.",
            ),
            "rep_last_visit_date": st.column_config.DateColumn("Rep's last visit"),
            "reason_at_last_visit": st.column_config.TextColumn(
                "Reason at last visit",
                help="The no-order reason the rep recorded at their last visit.",
            ),
            "last_visit_date": st.column_config.DateColumn("Last visit by anyone"),
            "revenue_at_risk": money_column(
                "Revenue at risk", view.settings.currency_symbol
            ),
            "value_basis": st.column_config.TextColumn(
                "Priced from",
                help="outlet: its own productive visits of the previous 8 weeks; "
                "territory: its territory's average; none: no productive visit "
                "to price it.",
            ),
        },
    )
    st.caption(REVENUE_AT_RISK_METHOD)


# One rep's week


def draw_rep_figures(view: View, rep_id: str) -> None:
    now = _rep_row(load_rep_review(view), rep_id)
    before = _rep_row(load_rep_review(view.at(view.period.previous())), rep_id)
    symbol = view.settings.currency_symbol
    kpis = available_kpis(REP_KPIS, view.has("beats"), view.has("orders"))
    columns = []
    for _ in range(0, len(kpis), TILES_PER_ROW):
        columns += st.columns(TILES_PER_ROW)
    for column, kpi in zip(columns, kpis):
        column.metric(
            kpi.label,
            format_figure(now.get(kpi.field), kpi.unit, symbol),
            **metric_change(kpi, now.get(kpi.field), before.get(kpi.field), symbol),
            help="Change against the previous period of the same length.",
            border=True,
        )


def _rep_row(review: pd.DataFrame, rep_id: str) -> dict:
    rows = review[review["rep_id"] == rep_id]
    return rows.iloc[0].to_dict() if not rows.empty else {}


def draw_days(view: View, calls: pd.DataFrame, rep_id: str) -> pd.DataFrame:
    """Show the plan against what happened, one row per day; return the rows."""
    days = day_summary(calls, load_rep_days(view, rep_id), view.settings.timezone)
    st.subheader("Day by day")
    if days.empty:
        st.info(
            "Nothing was planned for this rep and they made no visit in this period."
        )
        return days
    st.dataframe(
        days,
        hide_index=True,
        placeholder="",
        width="stretch",
        column_config={
            "call_date": st.column_config.DateColumn("Day", format="ddd D MMM"),
            "planned_calls": st.column_config.NumberColumn("Planned calls"),
            "on_plan": st.column_config.NumberColumn("Visited on plan"),
            "another_day": st.column_config.NumberColumn("Visited another day"),
            "skipped": st.column_config.NumberColumn("Skipped"),
            "off_beat": st.column_config.NumberColumn("Off-beat visits"),
            "visits": st.column_config.NumberColumn("Visits"),
            "productive_visits": st.column_config.NumberColumn("Productive"),
            "off_site_visits": st.column_config.NumberColumn("Off-site"),
            "order_value": money_column("Order value", view.settings.currency_symbol),
            "first_check_in": st.column_config.TimeColumn(
                "First check-in", format="HH:mm"
            ),
            "last_check_out": st.column_config.TimeColumn(
                "Last check-out", format="HH:mm"
            ),
            "time_in_market_min": st.column_config.NumberColumn(
                "Time in market (min)", format="%.0f"
            ),
        },
    )
    return days


def choose_day(days: pd.DataFrame):
    return st.radio(
        "Day",
        list(days["call_date"]),
        horizontal=True,
        format_func=lambda day: f"{day:%a %d %b}",
        key="review_day",
    )


def draw_day_calls(view: View, calls: pd.DataFrame) -> None:
    """List one day's calls: visits in visit order, then the calls not made."""
    ordered = calls.sort_values(["visit_order", "outlet_name"], na_position="last")
    st.dataframe(
        ordered[
            [
                "visit_order",
                "local_check_in",
                "local_check_out",
                "duration_min",
                "outlet_name",
                "outlet_class",
                "outcome",
                "distance_m",
                "off_site",
                "order_value",
                "no_order_reason",
                "other_visit_date",
            ]
        ],
        hide_index=True,
        placeholder="",
        width="stretch",
        column_config={
            "visit_order": st.column_config.NumberColumn("Stop"),
            "local_check_in": st.column_config.TimeColumn("Check-in", format="HH:mm"),
            "local_check_out": st.column_config.TimeColumn("Check-out", format="HH:mm"),
            "duration_min": st.column_config.NumberColumn("Minutes", format="%.0f"),
            "outlet_name": st.column_config.TextColumn("Outlet"),
            "outlet_class": st.column_config.TextColumn("Class"),
            "outcome": st.column_config.TextColumn("Outcome"),
            "distance_m": st.column_config.NumberColumn(
                "Check-in distance (m)", format="%.0f"
            ),
            "off_site": st.column_config.CheckboxColumn(
                "Off-site",
                help=f"Checked in more than {threshold_text(view.settings.off_site_m)} m away.",
            ),
            "order_value": money_column("Order value", view.settings.currency_symbol),
            "no_order_reason": st.column_config.TextColumn("No-order reason"),
            "other_visit_date": st.column_config.DateColumn("Visited on"),
        },
    )


def draw_route(view: View, calls: pd.DataFrame, day) -> None:
    """Draw the day's route: stops in visit order, missed calls, off-site check-ins."""
    try:
        built = route_map.build_route_map(
            calls,
            load_outlets_report(view),
            load_territories(view),
            load_territory_boundaries(view),
            load_territories_report(view),
            view.settings.timezone,
            view.settings.currency_symbol,
            tiles=outlet_map.TileSettings.from_environment(os.environ),
        )
    except outlet_map.LeafletMissingError as error:
        log.error("route map: %s", error)
        st.warning(
            "The route map cannot load Leaflet because its files are not installed. "
            "Run `make setup`, then restart the dashboard."
        )
        return
    marked = day_route.mark_off_site_check_ins(
        built.map, built.calls, view.settings.off_site_m
    )
    st_folium(
        built.map,
        key=f"route_{day:%Y%m%d}",
        height=ROUTE_MAP_HEIGHT_PX,
        use_container_width=True,
        returned_objects=[],
    )
    notes = []
    if marked:
        notes.append(f"{marked} off-site check-ins are marked with a dark dot.")
    if built.unlocated:
        notes.append(
            f"{built.unlocated} calls have no usable location and are not drawn."
        )
    if notes:
        st.caption(" ".join(notes))


def draw_rep_week(view: View, rep_id: str) -> None:
    review = load_rep_review(view)
    rows = review[review["rep_id"] == rep_id]
    name = rows["rep_name"].iloc[0] if not rows.empty else rep_id
    st.subheader(f"{markdown_text(name)}'s week")
    draw_rep_figures(view, rep_id)
    caption_set_aside(view)

    calls = call_outcomes(
        load_rep_call_list(view, rep_id),
        view.settings.timezone,
        view.settings.off_site_m,
    )
    days = draw_days(view, calls, rep_id)
    if not days.empty:
        day = choose_day(days)
        day_calls = calls[calls["call_date"] == day]
        st.markdown(f"**Calls on {day:%A %d %B}**")
        draw_day_calls(view, day_calls)
        draw_route(view, day_calls, day)

    st.subheader("Skipped outlets")
    register = load_register(view)
    draw_register(view, register[register["rep_id"] == rep_id], with_rep=False)


follow_open_rep(on_rep_page=True)
view = current_view()
st.title("Rep performance")
st.caption(
    f"{view.period.start:%d %b %Y} to {view.period.end:%d %b %Y} · "
    f"{markdown_text(view.scope.label)}"
)
chosen = view.scope.rep_ids
if chosen is not None and len(chosen) == 1:
    draw_rep_week(view, chosen[0])
    st.caption("Clear the Rep filter in the sidebar to see the whole team.")
else:
    load_review_in_background(view, load_register)
    draw_rep_table(view)
    caption_set_aside(view)
    st.subheader("Skipped-outlet register")
    draw_register(view, load_register(view), with_rep=True)
