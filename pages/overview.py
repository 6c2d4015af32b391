"""Overview: the Monday review. The exceptions costliest first (a line opens
the rep's week), KPI tiles with the change against the previous period and a
13-week trend, what skipping costs, and the review as files to forward."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from metrics.exceptions import Thresholds
from metrics.review import REVENUE_AT_RISK_METHOD, trend_risk_note, unpriced_note
from metrics.rounding import half_up_values, threshold_text
from pages import review_export
from pages.connection import load_thresholds
from pages.formatting import chart_text, markdown_text, money_column
from pages.review_export import (
    HEADLINE_KPIS,
    REPORT_KPIS,
    Kpi,
    available_kpis,
    format_figure,
    metric_change,
)
from pages.shared import (
    View,
    caption_set_aside,
    current_view,
    draw_open_rep_button,
    follow_open_rep,
    kept_figure,
    load_exceptions,
    load_in_background_once,
    load_previous_headline,
    load_register,
    load_rep_review,
    load_review_headline,
    load_review_in_background,
    load_skip_runs,
    load_territory_groups,
    load_weekly_headlines,
)

TREND_WEEKS = 13
TILES_PER_ROW = 5
# The exceptions table shows this many lines before it scrolls.
EXCEPTION_ROWS_SHOWN = 10
ROW_HEIGHT_PX = 35
WEEKS_START = "Week starting"


def shown_kpis(view: View, kpis: tuple[Kpi, ...]) -> list[Kpi]:
    """List the tiles of kpis that this database can fill."""
    return available_kpis(kpis, view.has("beats"), view.has("orders"))


def tile_places(count: int) -> list:
    """Reserve a place for each tile, TILES_PER_ROW to a row."""
    places = []
    for first in range(0, count, TILES_PER_ROW):
        columns = st.columns(TILES_PER_ROW)
        places += [column.empty() for column in columns[: count - first]]
    return places


def draw_tiles(
    view: View,
    tiles: list[tuple[object, Kpi]],
    now: dict,
    before: dict,
    trend: pd.DataFrame | None,
) -> None:
    """Draw each (place, KPI) tile: the figure, its change and, once the
    trend is loaded, a line of the last TREND_WEEKS weeks."""
    symbol = view.settings.currency_symbol
    for place, kpi in tiles:
        chart = None
        if trend is not None and kpi.field in trend:
            chart = trend[kpi.field].astype(float).fillna(0.0).tolist()
        exact = format_figure(now.get(kpi.field), kpi.unit, symbol)
        place.metric(
            kpi.label,
            format_figure(now.get(kpi.field), kpi.unit, symbol, compact=True),
            **metric_change(kpi, now.get(kpi.field), before.get(kpi.field), symbol),
            help=f"{kpi.meaning} This period: {exact}. Change against the previous "
            f"period of the same length; the line shows the last {TREND_WEEKS} weeks.",
            chart_data=chart,
            border=True,
        )


def draw_exceptions(view: View, exceptions: pd.DataFrame) -> None:
    """List the exceptions; a selected line offers to open that rep's week."""
    st.subheader("Needs attention")
    if exceptions.empty:
        st.success("No rep crosses an exception threshold in this period.")
        return
    # The open button goes above the table, because below a table of ten lines
    # it would fall off the first screen and a selection would seem to do nothing.
    action = st.container()
    shown = min(len(exceptions), EXCEPTION_ROWS_SHOWN)
    table = exceptions[
        ["rep_id", "rep_name", "kind", "value_at_risk", "message"]
    ].copy()
    table["value_at_risk"] = half_up_values(table["value_at_risk"])
    event = st.dataframe(
        table,
        column_order=["rep_name", "kind", "value_at_risk", "message"],
        hide_index=True,
        placeholder="",
        width="stretch",
        height=(shown + 1) * ROW_HEIGHT_PX + 3,
        key="exceptions_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "rep_id": st.column_config.TextColumn("Rep id", width="small"),
            "rep_name": st.column_config.TextColumn("Rep", width=150),
            "kind": st.column_config.TextColumn("What", width=125),
            "value_at_risk": money_column(
                "Value at risk",
                view.settings.currency_symbol,
                "Estimated order value the exception cost this period, where an "
                "estimate applies.",
            ),
            "message": st.column_config.TextColumn("Why", width="large"),
        },
    )
    # A selection left from a wider scope may point past the end.
    rows = [row for row in event.selection.rows if row < len(exceptions)]
    with action:
        if not rows:
            st.caption(
                f"{len(exceptions)} lines, costliest first. Select a line to open that "
                "rep's week: the calls day by day, the skipped outlets and the route."
            )
            return
        line = exceptions.iloc[rows[0]]
        # The whole sentence, which the table cuts off on a laptop screen.
        button, sentence = st.columns([1, 3], vertical_alignment="center")
        with button:
            draw_open_rep_button(
                line["rep_id"], line["rep_name"], key="open_exception_rep"
            )
        sentence.caption(markdown_text(line["message"]))


def draw_thresholds_note(thresholds: Thresholds, off_site_m: float) -> None:
    with st.expander("When is a figure an exception?"):
        skip_share = threshold_text(thresholds.skip_share * 100)
        off_site_share = threshold_text(thresholds.off_site_share * 100)
        off_beat_share = threshold_text(thresholds.off_beat_share * 100)
        drop_points = threshold_text(thresholds.strike_rate_drop * 100)
        gap_points = threshold_text(thresholds.strike_rate_gap * 100)
        compliance_floor = threshold_text(thresholds.compliance_floor * 100)
        st.text(
            f"Skipped outlets: {skip_share}% of planned outlets or more, "
            f"and at least {thresholds.skip_share_over_median:g} times the team median.\n"
            f"Skipped in a row: an outlet missed on {thresholds.consecutive_skips} "
            "planned calls in a row or more.\n"
            f"Off-site check-ins: {off_site_share}% of visits or more "
            f"logged over {threshold_text(off_site_m)} m from the outlet.\n"
            f"Strike rate: {drop_points} points below the "
            f"previous period, or {gap_points} points below "
            "the team median.\n"
            f"Off-beat visits: {off_beat_share}% of visits or more, and "
            f"at least {thresholds.skip_share_over_median:g} times the team median.\n"
            f"Beat compliance: below {compliance_floor}%.\n"
            f"Reps with fewer than {thresholds.min_visits} visits are not judged on "
            "shares of visits.\n"
            "Set them in .streamlit/secrets.toml under [beatboard.exceptions] or as "
            "BEATBOARD_EXCEPTION_<NAME> variables, such as "
            "BEATBOARD_EXCEPTION_SKIP_SHARE=0.25."
        )


def draw_trend(view: View, trend: pd.DataFrame) -> None:
    st.subheader(f"Last {TREND_WEEKS} weeks")
    shares, amounts = kept_trend_figures(view, trend)
    left, right = st.columns(2)
    left.plotly_chart(shares, width="stretch")
    right.plotly_chart(amounts, width="stretch")
    if not view.has("beats"):
        return
    if view.has("orders"):
        note = trend_risk_note(trend["revenue_at_risk"])
    else:
        note = (
            "Revenue at risk prices skipped calls by the orders before them, and "
            "this database has no orders."
        )
    if note is not None:
        right.caption(note)


def kept_trend_figures(view: View, trend: pd.DataFrame) -> tuple[go.Figure, go.Figure]:
    """Return the trend's two charts for the data the view's database has,
    built once for this trend and kept (see kept_figure)."""
    ratios = {"coverage": "Coverage"}
    if view.has("orders"):
        ratios = {"strike_rate": "Strike rate", **ratios}
    if view.has("beats"):
        ratios = {"beat_compliance": "Beat compliance", **ratios}
    measure = ("revenue_at_risk", "Revenue at risk", view.settings.currency_symbol)
    if not view.has("beats"):
        measure = ("visits", "Visits", "")
    return kept_figure(trend_figures, trend, tuple(ratios.items()), measure)


def trend_figures(
    trend: pd.DataFrame,
    ratios: tuple[tuple[str, str], ...],
    measure: tuple[str, str, str],
) -> tuple[go.Figure, go.Figure]:
    """Build the trend's two charts: the ratios (name, label) by week as
    lines, and the measure (name, label, prefix such as a currency symbol)
    by week as bars.

    The traces are built directly: Plotly Express took 45 to 80 ms for the
    two, about a sixth of a cold national run's Python time, and these 4 ms.
    """
    weeks = trend["week_start"]
    shares = go.Figure(
        [
            go.Scatter(
                x=weeks,
                y=trend[name],
                name=label,
                mode="lines+markers",
                hovertemplate=f"{label}<br>%{{x|%d %b %Y}}: %{{y:.0%}}<extra></extra>",
            )
            for name, label in ratios
        ]
    )
    shares.update_layout(legend_title_text="KPI")
    shares.update_yaxes(tickformat=".0%", rangemode="tozero")
    shares.update_xaxes(title=WEEKS_START)

    name, label, prefix = measure
    shown_prefix = chart_text(prefix)
    amounts = go.Figure(
        go.Bar(
            x=weeks,
            y=trend[name],
            hovertemplate=(
                f"{label}<br>%{{x|%d %b %Y}}: {shown_prefix}%{{y:,.0f}}<extra></extra>"
            ),
        )
    )
    amounts.update_xaxes(title=WEEKS_START)
    amounts.update_yaxes(title=label, tickprefix=shown_prefix, rangemode="tozero")
    return shares, amounts


def draw_downloads(
    view: View, exceptions: pd.DataFrame, now: dict, before: dict
) -> None:
    """Offer the review as CSV, XLSX and a printable one-page summary."""
    st.subheader("Download the week's review")

    # Streamlit builds a file on a thread of its own when its button is
    # pressed, so the tables are read and built then too. Built on every run,
    # they took about a third of a cached rerun of the national Overview, and
    # copying the cached rep review and register a quarter of the rest
    # (py-spy samples). The loaders return the page's cached values unless
    # CACHE_SECONDS have passed.
    def sheets() -> dict[str, pd.DataFrame]:
        return review_export.review_sheets(
            exceptions, load_rep_review(view), load_register(view)
        )

    stem = review_export.file_stem(view.period.start, view.period.end)
    lines = [
        f"{view.period.start:%d %b %Y} to {view.period.end:%d %b %Y}",
        f"Scope: {view.scope.label}",
    ]
    symbol = view.settings.currency_symbol

    columns = st.columns(5)
    csv_files = (
        ("Exceptions", "exceptions"),
        ("Reps", "reps"),
        ("Skipped outlets", "skipped-outlets"),
    )
    for column, (sheet, suffix) in zip(columns, csv_files):
        column.download_button(
            f"{sheet} (CSV)",
            data=lambda sheet=sheet: review_export.exports.to_csv_bytes(
                sheets()[sheet]
            ),
            file_name=f"{stem}-{suffix}.csv",
            mime="text/csv",
            on_click="ignore",
            key=f"download_{suffix}_csv",
        )

    columns[3].download_button(
        "All three (XLSX)",
        data=lambda: review_export.review_workbook(sheets()),
        file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
        key="download_review_xlsx",
    )
    columns[4].download_button(
        "Printable summary (HTML)",
        data=lambda: review_export.summary_html(lines, now, before, sheets(), symbol),
        file_name=f"{stem}.html",
        mime="text/html",
        on_click="ignore",
        key="download_review_html",
    )
    st.caption(
        "The summary fits on one printed page; open it in a browser and print, or "
        "attach it to an e-mail."
    )


def draw_data_notes(view: View) -> None:
    if not view.has("beats"):
        st.info(
            "This database has no beat plans, so planned calls, beat compliance, "
            "skipped outlets and revenue at risk cannot be shown; visits, coverage "
            "and overdue outlets can."
        )
    if not view.has("orders"):
        st.info(
            "This database has no orders, so strike rate and order value cannot be shown."
        )


def current_thresholds() -> Thresholds:
    try:
        return load_thresholds()
    except ValueError as error:
        st.warning(f"{markdown_text(error)}. The default exception thresholds apply.")
        return Thresholds()


follow_open_rep()
view = current_view()
thresholds = current_thresholds()
st.title("Overview")
st.caption(
    f"{view.period.start:%d %b %Y} to {view.period.end:%d %b %Y} · "
    f"{markdown_text(view.scope.label)}"
)
draw_data_notes(view)
# The trend's queries take longest, so they and the headline's territory
# groups run while the exceptions above them are computed. The trend's
# charts are built there too: Plotly Express took 0.05 to 0.15 s for the two,
# which the page would otherwise spend after its last query.
load_in_background_once(
    "overview",
    view,
    lambda: kept_trend_figures(view, load_weekly_headlines(view, TREND_WEEKS)),
    lambda: load_territory_groups(view),
)
load_review_in_background(view, load_skip_runs)
# Who needs attention comes first, so it is on the first screen.
exceptions = load_exceptions(view, thresholds)
draw_exceptions(view, exceptions)
draw_thresholds_note(thresholds, view.settings.off_site_m)
now = load_review_headline(view)
kpis = shown_kpis(view, HEADLINE_KPIS)
tiles = list(zip(tile_places(len(kpis)), kpis))
if view.has("beats"):
    st.caption(REVENUE_AT_RISK_METHOD)
    unpriced = unpriced_note(now)
    if unpriced:
        st.caption(unpriced)
# The reps report's other figures, in a second group under the headline.
kpis = shown_kpis(view, REPORT_KPIS)
tiles += list(zip(tile_places(len(kpis)), kpis))
# The tiles show at once. Their changes and trend lines follow when the
# trend is loaded.
draw_tiles(view, tiles, now, {}, trend=None)
caption_set_aside(view)
trend = load_weekly_headlines(view, TREND_WEEKS)
before = load_previous_headline(view, trend)
draw_tiles(view, tiles, now, before, trend)
draw_downloads(view, exceptions, now, before)
draw_trend(view, trend)
