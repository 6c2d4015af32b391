"""Data health: each kind of dirty data in the period and scope, its share of
the rows checked, its weekly trend, and the affected rows to download for the
field team."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data_access.health_queries import KIND_TABLES, MAX_ROWS_LISTED
from metrics.health import LOADER_RULES, health_table, rules
from pages.exports import to_csv_bytes
from pages.formatting import markdown_text, percent_column
from pages.shared import (
    View,
    current_view,
    draw_health_summary_note,
    health_summaries_serve,
    kept_figure,
    load_affected_rows,
    load_health_counts,
    load_health_trend,
    load_in_background,
)

TREND_WEEKS = 8
ALL_PROBLEMS = "all"
# With summaries, "All problems" lists every kind, whose rows are those of
# the kinds found, so the page can start that listing before its counts are
# in, and the summaries leave out the kinds without rows. Without them, each
# kind is a statement over the raw tables, so only the kinds found are listed.
ALL_KINDS = tuple(KIND_TABLES)
CHARTED_PROBLEMS = 5
# Outlets, reps and beats are checked as they are now, so a weekly trend of them
# would only repeat today's count.
DATED_TABLES = ("visits", "orders")
ROW_HEIGHT_PX = 35


def draw_summary(table: pd.DataFrame, trend: pd.DataFrame) -> None:
    checked = table.drop_duplicates("table_name").set_index("table_name")["checked"]
    st.caption(
        f"Rows checked: {checked['visits']:,} visits and {checked['orders']:,} orders "
        f"of the period, {checked['outlets']:,} active outlets, "
        f"{checked['reps']:,} active reps, {checked['beats']:,} beats and "
        f"{checked['beat_outlets']:,} beat_outlets rows."
    )
    shown = table.assign(
        trend=[
            list(trend.loc[row.kind].astype(int))
            if row.table_name in DATED_TABLES
            else None
            for row in table.itertuples()
        ]
    )
    st.dataframe(
        shown[["problem", "table_name", "affected", "share", "trend", "effect"]],
        hide_index=True,
        width="stretch",
        height=ROW_HEIGHT_PX * (len(shown) + 1) + 3,
        column_config={
            "problem": st.column_config.TextColumn("Problem"),
            "table_name": st.column_config.TextColumn("Table"),
            "affected": st.column_config.NumberColumn("Rows"),
            "share": percent_column("Share of rows", "Affected rows / rows checked."),
            "trend": st.column_config.LineChartColumn(
                f"Last {TREND_WEEKS} weeks", y_min=0
            ),
            "effect": st.column_config.TextColumn("What the KPIs do", width="large"),
        },
        placeholder="",
    )


def draw_trend(view: View, table: pd.DataFrame, trend: pd.DataFrame) -> None:
    st.subheader(f"Last {TREND_WEEKS} weeks")
    labels = dict(zip(table["kind"], table["problem"]))
    dated = table.loc[table["table_name"].isin(DATED_TABLES), "kind"]
    totals = trend.loc[dated].sum(axis=1)
    found = totals[totals > 0].sort_values(ascending=False, kind="stable")
    if found.empty:
        st.success(f"No visit or order problem in the last {TREND_WEEKS} weeks.")
        return
    charted = st.multiselect(
        "Problems",
        list(found.index),
        default=list(found.index[:CHARTED_PROBLEMS]),
        format_func=labels.get,
        key="health_trend_problems",
    )
    charted_rows = trend.loc[charted].rename(index=labels)
    st.plotly_chart(kept_figure(trend_figure, charted_rows), width="stretch")


def trend_figure(charted_rows: pd.DataFrame) -> go.Figure:
    """Build a line chart of affected rows per week, one line per problem.

    charted_rows has one row per problem and one column per week's first day.
    """
    weeks = list(charted_rows.columns)
    # Traces built directly take a tenth of Plotly Express's time.
    figure = go.Figure(
        [
            go.Scatter(
                x=weeks,
                y=rows.to_numpy(),
                name=problem,
                mode="lines+markers",
                hovertemplate=f"{problem}<br>%{{x|%d %b %Y}}: %{{y:,}} rows<extra></extra>",
            )
            for problem, rows in charted_rows.iterrows()
        ]
    )
    figure.update_layout(legend_title_text="Problem")
    figure.update_yaxes(rangemode="tozero", title="Rows")
    # A tick on each week's first day: plotly's own date ticks fall on Sundays.
    figure.update_xaxes(
        title="Week starting",
        tickvals=weeks,
        tickformat="%d %b",
    )
    return figure


def draw_affected_rows(view: View, table: pd.DataFrame, summarised: bool) -> None:
    st.subheader("Affected rows")
    found = table[table["affected"] > 0]
    if found.empty:
        st.success("No affected rows in this period and scope.")
        return
    choices = {ALL_PROBLEMS: f"All problems ({found['affected'].sum():,} rows)"}
    choices |= {
        row.kind: f"{row.problem} ({row.affected:,})" for row in found.itertuples()
    }
    kind = st.selectbox(
        "Problem", list(choices), format_func=choices.get, key="health_problem"
    )
    every_kind = ALL_KINDS if summarised else tuple(found["kind"])
    kinds = every_kind if kind == ALL_PROBLEMS else (kind,)
    rows = load_affected_rows(view, kinds)

    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={
            "problem": st.column_config.TextColumn("Problem"),
            "table_name": st.column_config.TextColumn("Table"),
            "record_id": st.column_config.TextColumn("Id"),
            "rep_id": st.column_config.TextColumn("Rep"),
            "outlet_id": st.column_config.TextColumn("Outlet"),
            "local_time": st.column_config.DatetimeColumn("Time"),
            "latitude": st.column_config.NumberColumn("Latitude", format="%.5f"),
            "longitude": st.column_config.NumberColumn("Longitude", format="%.5f"),
            "detail": st.column_config.TextColumn("Detail", width="large"),
        },
        placeholder="",
    )
    total = int(found.loc[found["kind"].isin(kinds), "affected"].sum())
    if total > len(rows):
        st.caption(
            f"Showing the first {len(rows):,} of {total:,} rows; the download holds "
            f"the same {MAX_ROWS_LISTED:,}. Narrow the period or scope to see the rest."
        )
    name = "all" if kind == ALL_PROBLEMS else kind
    # Streamlit calls the data callable only when the button is pressed. Writing
    # 7,500 rows takes roughly 0.1 to 0.2 s, which every rerun would repeat otherwise.
    st.download_button(
        "Download these rows (CSV)",
        data=lambda: to_csv_bytes(rows),
        file_name=f"data-health-{name}-{view.period.start}-{view.period.end}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )


def draw_rules(view: View) -> None:
    with st.expander("How each problem is found"):
        described = pd.DataFrame(
            [(rule.label, rule.finds, rule.effect) for rule in rules(view.settings)],
            columns=["Problem", "Rows flagged", "What the KPIs do"],
        )
        # st.table wraps long text, so each rule can be read whole.
        st.table(described.set_index("Problem"))
        st.markdown(
            "The loader keeps these out of the database:\n"
            + "\n".join(f"- {rule}" for rule in LOADER_RULES)
        )


view = current_view()
st.title("Data health")
st.caption(
    f"{view.period.start:%d %b %Y} to {view.period.end:%d %b %Y} · "
    f"{markdown_text(view.scope.label)}"
)
summarised = health_summaries_serve(view)
loads = [lambda: load_health_trend(view, TREND_WEEKS)]
if summarised:
    loads.append(lambda: load_affected_rows(view, ALL_KINDS))
load_in_background(*loads)
draw_health_summary_note(view)
table = health_table(load_health_counts(view), view.settings)
trend = load_health_trend(view, TREND_WEEKS)
draw_summary(table, trend)
draw_trend(view, table, trend)
draw_affected_rows(view, table, summarised)
draw_rules(view)
