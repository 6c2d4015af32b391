"""Rep performance: every rep KPI of the reps report in one sortable table,
and the outlets a chosen rep skipped."""

import streamlit as st

from pages.formatting import money_column, percent_column
from pages.shared import View, current_view, load_reps_report, load_skipped_outlets

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
        "Skipped outlets", help="Planned outlets the rep did not visit on any day of the period."
    ),
    "off_beat_visits": st.column_config.NumberColumn("Off-beat visits"),
    "orders": st.column_config.NumberColumn("Orders"),
    "lines_per_call": st.column_config.NumberColumn("Lines per call", format="%.1f"),
    "off_site_visits": st.column_config.NumberColumn("Off-site visits"),
}


def draw_rep_table(view: View) -> None:
    report = load_reps_report(view)
    if report.empty:
        st.warning("No reps in the chosen scope. Widen the region, territory or rep filter.")
        st.stop()
    symbol = view.settings.currency_symbol
    columns = {
        **REP_TABLE_COLUMNS,
        "order_value": money_column("Order value", symbol),
        "average_order_value": money_column("Average order value", symbol),
        "return_value": money_column("Return value", symbol, "Sum of negative orders (returns)."),
    }
    st.dataframe(
        report[[name for name in report.columns if name in columns]],
        hide_index=True,
        width="stretch",
        column_config=columns,
    )
    st.caption(
        "Click a column header to sort. Ratios are blank where they are undefined "
        "(no visits, or nothing planned)."
    )


def draw_skipped_outlets(view: View) -> None:
    st.subheader("Skipped outlets")
    if not view.has("beats"):
        st.info("This database has no beat plans, so no outlet can be skipped.")
        return
    skipped = load_skipped_outlets(view)
    reps = load_reps_report(view)
    reps = reps[reps["skipped_outlets"] > 0].sort_values("skipped_outlets", ascending=False)
    if reps.empty:
        st.success("Every planned outlet was visited in this period.")
        return
    names = dict(zip(reps["rep_id"], reps["rep_name"]))
    rep_id = st.selectbox(
        "Rep",
        list(names),
        format_func=lambda value: f"{names[value]} ({value}): "
        f"{int(reps.set_index('rep_id').loc[value, 'skipped_outlets'])} skipped",
        key="skipped_rep",
    )
    rows = skipped[skipped["rep_id"] == rep_id]
    st.dataframe(
        rows[["outlet_id", "outlet_name", "outlet_class", "planned_calls", "first_plan_date", "last_plan_date"]],
        hide_index=True,
        width="stretch",
        column_config={
            "outlet_id": st.column_config.TextColumn("Outlet id"),
            "outlet_name": st.column_config.TextColumn("Outlet"),
            "outlet_class": st.column_config.TextColumn("Class"),
            "planned_calls": st.column_config.NumberColumn("Planned calls missed"),
            "first_plan_date": st.column_config.DateColumn("First planned"),
            "last_plan_date": st.column_config.DateColumn("Last planned"),
        },
    )


view = current_view()
st.title("Rep performance")
st.caption(f"{view.period.start:%d %b %Y} to {view.period.end:%d %b %Y} · {view.scope.label}")
draw_rep_table(view)
draw_skipped_outlets(view)
