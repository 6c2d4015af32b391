"""Overview: the chosen period's KPI tiles against the previous period, the
trend of the last 8 weeks and the exceptions that need attention."""

import pandas as pd
import plotly.express as px
import streamlit as st

from data_access.filters import week_containing
from metrics.exceptions import rep_exceptions
from metrics.summary import headline
from pages.formatting import count, money, percent
from pages.shared import View, current_view, load_reps_report, load_territories_report

TREND_WEEKS = 8


def period_headline(view: View) -> dict[str, float]:
    return headline(load_reps_report(view), load_territories_report(view))


def draw_tiles(view: View, now: dict[str, float], before: dict[str, float]) -> None:
    symbol = view.settings.currency_symbol
    tiles = [("Visits", "visits", count, False)]
    if view.has("orders"):
        tiles.append(("Strike rate", "strike_rate", percent, True))
    if view.has("beats"):
        tiles.append(("Beat compliance", "beat_compliance", percent, True))
        tiles.append(("Skipped outlets", "skipped_outlets", count, False))
    tiles.append(("Coverage", "coverage", percent, True))
    if view.has("beats"):
        tiles.append(("Neglected outlets", "neglected_outlets", count, False))
    else:
        # Without beats every unvisited outlet's status is "unplanned", so
        # count the outlets with no visit in the neglect window instead.
        tiles.append(("Overdue outlets", "overdue_outlets", count, False))
    if view.has("orders"):
        tiles.append(("Order value", "order_value", lambda value: money(value, symbol), False))

    columns = st.columns(len(tiles))
    for column, (label, field, formatter, is_ratio) in zip(columns, tiles):
        value, previous = now[field], before[field]
        if pd.isna(value) or pd.isna(previous):
            delta = None
        elif is_ratio:
            delta = f"{(value - previous) * 100:+.0f} pts"
        else:
            delta = f"{value - previous:+,.0f}"
        bad_when_up = field in ("skipped_outlets", "neglected_outlets", "overdue_outlets")
        column.metric(
            label, formatter(value), delta,
            delta_color="inverse" if bad_when_up else "normal",
            help="Change against the previous period of the same length.",
        )


def weekly_trend(view: View) -> pd.DataFrame:
    last_week = week_containing(view.period.end, view.settings.week_start, view.settings.timezone)
    rows = []
    for weeks_back in range(TREND_WEEKS - 1, -1, -1):
        week = last_week.shifted(-weeks_back)
        rows.append({"week": week.start, **period_headline(view.at(week))})
    return pd.DataFrame(rows)


def draw_trend(view: View, trend: pd.DataFrame) -> None:
    st.subheader(f"Last {TREND_WEEKS} weeks")
    ratios = ["coverage"]
    if view.has("orders"):
        ratios.insert(0, "strike_rate")
    if view.has("beats"):
        ratios.insert(0, "beat_compliance")
    left, right = st.columns(2)
    long = trend.melt(id_vars="week", value_vars=ratios, var_name="KPI", value_name="share")
    long["KPI"] = long["KPI"].str.replace("_", " ").str.capitalize()
    figure = px.line(long, x="week", y="share", color="KPI", markers=True)
    figure.update_yaxes(tickformat=".0%", rangemode="tozero", title=None)
    figure.update_xaxes(title="Week starting")
    left.plotly_chart(figure, width="stretch")

    figure = px.bar(trend, x="week", y="visits", labels={"visits": "Visits", "week": "Week starting"})
    right.plotly_chart(figure, width="stretch")


def draw_exceptions(view: View) -> None:
    st.subheader("Needs attention")
    current = load_reps_report(view)
    previous = load_reps_report(view.at(view.period.previous()))
    exceptions = rep_exceptions(current, previous)
    if exceptions.empty:
        st.success("No rep crosses an exception threshold in this period.")
        return
    st.dataframe(
        exceptions[["rep_id", "kind", "message"]],
        hide_index=True,
        width="stretch",
        column_config={
            "rep_id": st.column_config.TextColumn("Rep"),
            "kind": st.column_config.TextColumn("What"),
            "message": st.column_config.TextColumn("Why", width="large"),
        },
    )
    st.caption("Open Rep performance and pick the rep to see the outlets behind a line.")


def draw_data_notes(view: View) -> None:
    if not view.has("beats"):
        st.info(
            "This database has no beat plans, so planned calls, beat compliance and "
            "skipped outlets cannot be shown; visits, coverage and neglected outlets can."
        )
    if not view.has("orders"):
        st.info("This database has no orders, so strike rate and order value cannot be shown.")


view = current_view()
st.title("Overview")
st.caption(f"{view.period.start:%d %b %Y} to {view.period.end:%d %b %Y} · {view.scope.label}")
draw_data_notes(view)
draw_tiles(view, period_headline(view), period_headline(view.at(view.period.previous())))
draw_trend(view, weekly_trend(view))
draw_exceptions(view)
