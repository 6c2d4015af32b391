"""Territory comparison: territories side by side with coverage, strike rate,
beat compliance and order value, ranked by a KPI the viewer picks."""

import plotly.express as px
import streamlit as st

from pages.formatting import money_column, percent_column
from pages.shared import View, current_view, load_territories_report

RANKABLE = {
    "coverage": "Coverage",
    "strike_rate": "Strike rate",
    "beat_compliance": "Beat compliance",
    "order_value": "Order value",
    "neglected_outlets": "Neglected outlets",
    "overdue_outlets": "Overdue outlets",
    "visits": "Visits",
}
RATIOS = {"coverage", "strike_rate", "beat_compliance"}


def rankable_kpis(view: View) -> dict[str, str]:
    kpis = dict(RANKABLE)
    if not view.has("orders"):
        kpis.pop("strike_rate")
        kpis.pop("order_value")
    if not view.has("beats"):
        kpis.pop("beat_compliance")
        kpis.pop("neglected_outlets")
    return kpis


def draw_ranking(view: View, report) -> None:
    kpis = rankable_kpis(view)
    kpi = st.selectbox("Rank by", list(kpis), format_func=kpis.get, key="rank_by")
    ranked = report.dropna(subset=[kpi]).sort_values(kpi, ascending=True)
    ranked = ranked.assign(label=ranked["territory_name"].fillna(ranked["territory_id"]))
    figure = px.bar(
        ranked, x=kpi, y="label", orientation="h",
        hover_data=["territory_id", "region_id"],
        labels={kpi: kpis[kpi], "label": "Territory"},
    )
    # Territory codes such as 007 must stay categories, in the ranked order.
    figure.update_yaxes(type="category", categoryorder="array", categoryarray=list(ranked["label"]))
    if kpi in RATIOS:
        figure.update_xaxes(tickformat=".0%")
    figure.update_layout(height=max(300, 28 * len(ranked)))
    st.plotly_chart(figure, width="stretch")
    undefined = len(report) - len(ranked)
    if undefined:
        st.caption(f"{undefined} territories have no {kpis[kpi].lower()} for this period and are not ranked.")


def draw_table(view: View, report) -> None:
    symbol = view.settings.currency_symbol
    st.dataframe(
        report,
        hide_index=True,
        width="stretch",
        column_config={
            "territory_id": st.column_config.TextColumn("Territory id"),
            "territory_name": st.column_config.TextColumn("Territory"),
            "region_id": st.column_config.TextColumn("Region"),
            "active_outlets": st.column_config.NumberColumn("Active outlets"),
            "visited_outlets": st.column_config.NumberColumn("Visited"),
            "coverage": percent_column("Coverage", "Active outlets visited by anyone / active outlets."),
            "skipped_outlets": st.column_config.NumberColumn("Skipped"),
            "unplanned_outlets": st.column_config.NumberColumn("Unplanned"),
            "neglected_outlets": st.column_config.NumberColumn("Neglected"),
            "not_due_outlets": st.column_config.NumberColumn("Not due"),
            "visits": st.column_config.NumberColumn("Visits"),
            "productive_visits": st.column_config.NumberColumn("Productive visits"),
            "strike_rate": percent_column("Strike rate"),
            "beat_compliance": percent_column("Beat compliance"),
            "order_value": money_column("Order value", symbol),
            "planned_calls": st.column_config.NumberColumn("Planned calls"),
            "calls_on_plan": st.column_config.NumberColumn("Calls on plan"),
            "overdue_outlets": st.column_config.NumberColumn(
                "Overdue", help="Active outlets with no visit in the neglect window, whatever their status."
            ),
        },
    )


view = current_view()
st.title("Territory comparison")
st.caption(f"{view.period.start:%d %b %Y} to {view.period.end:%d %b %Y} · {view.scope.label}")
report = load_territories_report(view)
if report.empty:
    st.warning("No territories in the chosen scope. Widen the region or territory filter.")
    st.stop()
draw_ranking(view, report)
draw_table(view, report)
