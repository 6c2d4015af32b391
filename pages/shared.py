"""What every page shares: the current view (database, period, scope,
settings) and cached loaders around the data and metrics layers.

The engine is passed to cached functions as `_engine`, so it stays out of the
cache key; `database_key` names the database in the key instead.
"""

import contextvars
import copy
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from data_access import (
    health_queries,
    health_summaries,
    queries,
    review_queries,
    summary_queries,
)
from data_access.filters import Period, Scope, Settings, week_containing
from metrics import comparison, health, reports, review
from metrics.exceptions import Thresholds, rep_exceptions
from pages.formatting import markdown_text

log = logging.getLogger(__name__)

VIEW_KEY = "beatboard_view"
CACHE_SECONDS = 600
CACHE_ENTRIES = 256


def cached_copies(function: Callable[..., Any]) -> Callable[..., Any]:
    """Cache function's value per key, for CACHE_SECONDS and at most
    CACHE_ENTRIES values, and give each caller a copy of its own.

    st.cache_data pickles a value when it stores it and unpickles it on every
    read, which took about a tenth of a cold national Overview's Python time:
    the skipped-outlet register is stored once and read twice. This keeps the
    value itself, as st.cache_resource does, and hands out frames as shallow
    copies: pandas copies on write, so a caller that changes its copy copies
    the changed columns first and the cached frame stays as it was.
    """
    cached = st.cache_resource(
        ttl=CACHE_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False
    )(function)

    @functools.wraps(function)
    def copied(*args: Any) -> Any:
        return _own_copy(cached(*args))

    copied.clear = cached.clear  # type: ignore[attr-defined]
    return copied


def clear_cached_results() -> None:
    """Drop every cached query result and value derived from them, and the
    other cached data (st.cache_data), but not the kept engines and charts."""
    for cached in (_read_period, _derive, _weekly_figures):
        cached.clear()
    st.cache_data.clear()


def _own_copy(value: Any) -> Any:
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return value.copy(deep=False)
    if isinstance(value, dict):
        return {key: _own_copy(item) for key, item in value.items()}
    return copy.deepcopy(value)


@dataclass(frozen=True)
class View:
    """The database and filters a page draws, set by dashboard.py on every run."""

    engine: sa.Engine = field(compare=False, hash=False)
    database_key: str
    period: Period
    scope: Scope
    settings: Settings
    is_demo: bool
    presence: tuple[tuple[str, bool], ...]

    def has(self, kind: str) -> bool:
        """True when the database has this kind of data: beats, orders, boundaries, gps."""
        return dict(self.presence).get(kind, False)

    def at(self, period: Period) -> "View":
        """Return the same view for another period."""
        return View(
            self.engine,
            self.database_key,
            period,
            self.scope,
            self.settings,
            self.is_demo,
            self.presence,
        )


def current_view() -> View:
    """Return the view dashboard.py stored for this run; pages call this first.

    dashboard.py removes the view when its run ends. A page file that runs
    without it (Streamlit runs a file of pages/ on its own when a new server's
    first request names it) finds none and stops, because only dashboard.py
    resolves the viewer and their scope. A fragment, which reruns without
    dashboard.py, should receive the view as an argument instead.
    """
    view = st.session_state.get(VIEW_KEY)
    if not isinstance(view, View):
        stop_with_error(
            "This page opens from Beatboard's menu. Reload the dashboard's start page."
        )
    return view


def load_in_background(*loads: Callable[[], object]) -> None:
    """Start each cached load on a thread of its own, so that its queries run
    while the page draws what comes before it.

    The page's own later call of the same loader finds the value cached, or
    waits for the thread, because Streamlit computes a cached value once per
    key. A load that fails is left to that later call, which raises the
    error where the page shows it.
    """
    context = get_script_run_ctx()
    for load in loads:
        # The thread runs in a copy of the run's context variables, so it
        # shares the run's raw counts (summary_queries.sharing_counts).
        variables = contextvars.copy_context()
        thread = threading.Thread(
            target=variables.run, args=(_load_quietly, load), daemon=True
        )
        add_script_run_ctx(thread, context)
        thread.start()


# When each background load of a view last finished, as time.monotonic()
# seconds, by (name, database, period, scope, settings) and the load's
# position. Every session of the process shares the caches, so it shares
# these marks too.
_finished_loads: dict[tuple, float] = {}
_finished_loads_lock = threading.Lock()


def load_in_background_once(
    name: str, view: View, *loads: Callable[[], object]
) -> None:
    """Start the loads as load_in_background does, unless each of them
    finished for the view less than CACHE_SECONDS ago.

    Their values are then cached, unless the cache dropped one for room,
    and starting the threads again took about 10% of a cached rerun of the
    Overview. A page that finds a value missing computes it in its own call.
    """
    key = (name, view.database_key, view.period, view.scope, view.settings)
    now = time.monotonic()
    with _finished_loads_lock:
        for mark in [
            mark
            for mark, finished in _finished_loads.items()
            if now - finished >= CACHE_SECONDS
        ]:
            del _finished_loads[mark]
        if all((key, position) in _finished_loads for position in range(len(loads))):
            return
    load_in_background(
        *(
            functools.partial(_load_and_mark, (key, position), load)
            for position, load in enumerate(loads)
        )
    )


def _load_and_mark(mark: tuple, load: Callable[[], object]) -> None:
    load()
    with _finished_loads_lock:
        _finished_loads[mark] = time.monotonic()


def _load_quietly(load: Callable[[], object]) -> None:
    try:
        load()
    except BaseException:
        # Besides query errors, Streamlit stops a thread that waits for a
        # cached value once the page's run ends or reruns, by raising in it.
        log.info("a background load stopped; the page's own call shows any error")


def kept_figure(build: Callable[..., Any], *args: object) -> Any:
    """Return build(*args), a chart built once for these arguments and kept.

    Plotly Express took 30 to 90 ms a figure on the demo pages, about half of
    a cached rerun, while st.plotly_chart only reads the figure it is given. Every
    session shares the kept figure, so callers must not change it.
    """
    return _kept_figure(f"{build.__module__}.{build.__qualname__}", build, *args)


@st.cache_resource(ttl=CACHE_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _kept_figure(name: str, _build: Callable[..., Any], *args: object) -> Any:
    return _build(*args)


# The queries of one period and scope, by the name the cached reader keys on.
# Each takes (engine, period, scope, settings) and may take one more value,
# such as a rep_id.
PERIOD_QUERIES: dict[str, Callable[..., Any]] = {
    "rep_activity": summary_queries.read_rep_activity,
    "unassigned_outlet_activity": summary_queries.read_unassigned_outlet_activity,
    "territories_report": reports.territories_report,
    "territory_rep_activity": summary_queries.read_territory_rep_activity,
    "territory_week_visited_outlets": summary_queries.read_territory_week_visited_outlets,
    "skipped_outlet_list": queries.skipped_outlet_list,
    "outlet_last_visits": queries.outlet_last_visits,
    "health_counts": health_summaries.read_health_counts,
    "weekly_health_counts": health_summaries.read_weekly_health_counts,
    "affected_rows": health_summaries.read_affected_rows,
    "set_aside_counts": health_summaries.read_set_aside_counts,
    "rep_call_list": review_queries.rep_call_list,
    "rep_time_in_market": review_queries.rep_time_in_market,
    "calls_at_risk": review_queries.calls_at_risk,
    "skip_details": review_queries.skip_details,
    "skip_runs": review_queries.skip_runs,
    "rep_days": review_queries.rep_days,
}


@cached_copies
def _read_period(
    query_name: str,
    _engine: sa.Engine,
    database_key: str,
    period: Period,
    scope: Scope,
    settings: Settings,
    *more: object,
) -> Any:
    # One cache for every period query: the key is the query's name, the
    # database, the filters, the viewer's scope and any further argument.
    return PERIOD_QUERIES[query_name](_engine, period, scope, settings, *more)


def read_period(view: View, query_name: str, *more: object) -> Any:
    """Run the query of PERIOD_QUERIES named query_name for the view, cached."""
    return _read_period(
        query_name,
        view.engine,
        view.database_key,
        view.period,
        view.scope,
        view.settings,
        *more,
    )


@cached_copies
def _derive(
    loader_name: str,
    _loader: Callable[..., Any],
    _view: View,
    database_key: str,
    period: Period,
    scope: Scope,
    settings: Settings,
    *more: object,
) -> Any:
    # loader_name stands for _loader in the key, and the view's database,
    # period, scope and settings for the view, whose engine is not hashable.
    return _loader(_view, *more)


def cached_by_view(loader: Callable[..., Any]) -> Callable[..., Any]:
    """Cache what a loader derives from the view's cached query results.

    A page's rerun then skips the metrics code as well as the queries. The
    loader takes the view and hashable values, and returns a frame, or a
    value that copy.deepcopy can copy (see cached_copies).
    """

    @functools.wraps(loader)
    def cached(view: View, *more: object) -> Any:
        return _derive(
            loader.__qualname__,
            loader,
            view,
            view.database_key,
            view.period,
            view.scope,
            view.settings,
            *more,
        )

    return cached


@st.cache_data(ttl=CACHE_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _territory_list(
    _engine: sa.Engine, database_key: str, scope: Scope
) -> pd.DataFrame:
    return queries.territory_list(_engine, scope)


@st.cache_data(ttl=CACHE_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _territory_boundary_list(
    _engine: sa.Engine, database_key: str, scope: Scope
) -> pd.DataFrame:
    return queries.territory_boundary_list(_engine, scope)


def load_reps_report(view: View) -> pd.DataFrame:
    """Load the reps report of the view's period and scope."""
    activity = read_period(view, "rep_activity")
    return reports.build_reps_report(activity)


@cached_by_view
def load_outlets_report(view: View) -> pd.DataFrame:
    """Load the outlets report with map columns (channel, class, coordinates)."""
    # The report is cached, so its query's frame of every outlet is not: a
    # cached copy cost 0.15 s to write and about 20 MB per national view.
    activity = summary_queries.read_outlet_activity(
        view.engine, view.period, view.scope, view.settings
    )
    return reports.build_outlets_report(activity, view.period, view.settings)


def load_territories(view: View) -> pd.DataFrame:
    """Territories in scope: territory_id, territory_name, region_id, region_name."""
    return _territory_list(view.engine, view.database_key, view.scope)


def load_territories_report(view: View) -> pd.DataFrame:
    """Load the territories report of the view's period and scope.

    With a rep_territories history, reps who moved count for the territory
    they belonged to on each date, as in metrics.reports.territories_report.
    """
    return read_period(view, "territories_report")


def load_skipped_outlets(view: View) -> pd.DataFrame:
    """Load every rep's skipped outlets with the planned calls missed."""
    return read_period(view, "skipped_outlet_list")


def load_territory_boundaries(view: View) -> pd.DataFrame:
    """Stored territory outlines in scope: territory_id, geojson."""
    return _territory_boundary_list(view.engine, view.database_key, view.scope)


def stop_with_error(message: str) -> None:
    """Show one sentence that tells the viewer what to do, then stop the page."""
    st.error(message)
    st.stop()


@cached_by_view
def load_territory_groups(view: View) -> pd.DataFrame:
    """Load the territories report with team size and an Unassigned row.

    See metrics.comparison.territory_groups: the rows add up to the totals
    of the reps and outlets reports of the view.
    """
    # Only the outlets of no territory in scope make the Unassigned row, so
    # the national outlets report, 150,000 rows, is not needed here.
    unassigned = reports.build_outlets_report(
        read_period(view, "unassigned_outlet_activity"), view.period, view.settings
    )
    return comparison.territory_groups(
        load_territories_report(view), load_reps_report(view), unassigned
    )


def load_weekly_coverage(view: View, groups: pd.DataFrame, weeks: int) -> pd.DataFrame:
    """Load the coverage of each territory group in each of the last `weeks` weeks.

    groups is load_territory_groups(view). The weeks end with the week that
    contains the view's last day. Rows follow groups; columns are the weeks'
    first days.
    """
    settings = view.settings
    starts = comparison.trend_weeks(view.period.end, settings.week_start, weeks)
    span = Period(starts[0], starts[-1] + timedelta(days=6), view.period.timezone)
    visited = read_period(view.at(span), "territory_week_visited_outlets")
    return comparison.weekly_coverage(visited, groups, starts)


# Data health


def load_health_counts(view: View) -> pd.DataFrame:
    """Load the affected and checked rows of every data health kind."""
    return read_period(view, "health_counts", health_summaries_serve(view))


def _load_weekly_health_counts(view: View) -> pd.DataFrame:
    # The summaries' cover is checked once per period and kept, in place of
    # once in each reader (about 0.05 s a check on a national company).
    return read_period(view, "weekly_health_counts", health_summaries_serve(view))


@cached_by_view
def load_health_trend(view: View, weeks: int) -> pd.DataFrame:
    """Load the affected rows of each dated data health kind in each of the last
    `weeks` weeks, which end with the week containing the view's last day.

    Rows are kinds, columns the weeks' first days (metrics.health.weekly_trend).
    Each week is a cached query of its own, so the weeks run side by side on
    background threads, and the next week's view reuses the weeks it shares
    with this one. When the view's period is the last week, its counts come
    from load_health_counts, which the page loads anyway.
    """
    settings = view.settings
    last_week = week_containing(view.period.end, settings.week_start, settings.timezone)
    earlier = [last_week.shifted(-back) for back in range(weeks - 1, 0, -1)]
    load_in_background(
        *(
            functools.partial(_load_weekly_health_counts, view.at(week))
            for week in earlier
        )
    )
    counts = [_load_weekly_health_counts(view.at(week)) for week in earlier]
    if view.period == last_week:
        last = load_health_counts(view)
        dated = last["kind"].isin(health_queries.DATED_KINDS)
        counts.append(
            last.loc[dated, ["kind", "affected"]].assign(week_start=last_week.start)
        )
    else:
        counts.append(_load_weekly_health_counts(view.at(last_week)))
    return health.weekly_trend(pd.concat(counts, ignore_index=True))


@cached_by_view
def load_affected_rows(view: View, kinds: tuple[str, ...]) -> pd.DataFrame:
    """Load the affected rows of the given data health kinds, in words."""
    rows = read_period(view, "affected_rows", kinds, health_summaries_serve(view))
    return health.describe_rows(rows, view.settings)


def caption_set_aside(view: View) -> None:
    """Say under a page's KPIs which rows they leave out, such as
    "3 duplicate visits excluded"; draw nothing when none are."""
    counts = read_period(view, "set_aside_counts")
    note = health.set_aside_note(counts)
    if note:
        st.caption(note)


def load_outlet_last_visits(view: View, outlet_id: str) -> pd.DataFrame:
    """Load an outlet's last visits up to the view's last date, newest first."""
    return read_period(view, "outlet_last_visits", outlet_id)


def load_rep_call_list(view: View, rep_id: str) -> pd.DataFrame:
    """Load one rep's planned calls and visits of the view's period, day by day."""
    return read_period(view, "rep_call_list", rep_id)


# Weekly review


@cached_copies
def _weekly_figures(
    _engine: sa.Engine,
    database_key: str,
    span: Period,
    scope: Scope,
    settings: Settings,
) -> dict[str, pd.DataFrame]:
    return review_queries.weekly_figures(_engine, span, scope, settings)


@cached_by_view
def load_priced_calls(view: View) -> pd.DataFrame:
    """Load the calls at risk of the view (skipped outlets, off-site visits
    without an order), each priced at the outlet's usual order."""
    calls = read_period(view, "calls_at_risk")
    return review.price_calls(calls)


@cached_by_view
def load_register(view: View) -> pd.DataFrame:
    """Load the skipped-outlet register of the view, costliest skips first."""
    details = read_period(view, "skip_details")
    return review.build_register(load_priced_calls(view), details)


@cached_by_view
def load_skip_runs(view: View) -> pd.DataFrame:
    """Load the register's rows without the skipped outlets' last visits and
    reasons: its consecutive missed calls, which the exceptions need, read
    by a shorter query."""
    runs = read_period(view, "skip_runs")
    return review.build_register(load_priced_calls(view), runs)


@cached_by_view
def load_rep_review(view: View) -> pd.DataFrame:
    """Load the reps report with time in market, revenue at risk and shares."""
    time_in_market = read_period(view, "rep_time_in_market")
    return review.build_rep_review(
        load_reps_report(view), time_in_market, load_priced_calls(view)
    )


@cached_by_view
def load_review_headline(view: View) -> dict[str, float]:
    """Load the period's headline figures, revenue at risk and time in market included."""
    return review.review_headline(load_rep_review(view), load_territory_groups(view))


@cached_by_view
def load_weekly_headlines(view: View, weeks: int) -> pd.DataFrame:
    """Load the headline figures of each of the `weeks` weeks that end with the
    week containing the view's last day; weeks start on the configured weekday."""
    settings = view.settings
    span = review.trend_span(
        view.period.end, settings.week_start, weeks, settings.timezone
    )
    figures = _weekly_figures(
        view.engine, view.database_key, span, view.scope, settings
    )
    return review.weekly_headlines(span.start, **figures)


def load_previous_headline(view: View, trend: pd.DataFrame) -> dict[str, float]:
    """Load the headline of the period before the view's period.

    When the view's period is the trend's last week, the trend already holds
    the week before it, computed by the same rules, so no query runs.
    """
    period = view.period
    is_last_week = (
        len(trend) >= 2
        and trend["week_start"].iloc[-1] == period.start
        and (period.end - period.start).days == 6
    )
    if is_last_week:
        return trend.iloc[-2].to_dict()
    return load_review_headline(view.at(period.previous()))


def load_review_in_background(view: View, register: Callable[[View], Any]) -> None:
    """Start the queries of the rep review, the skipped outlets (register is
    load_register or load_skip_runs), the set-aside note and the previous
    period's reps report on background threads (see load_in_background), so
    that they run side by side with the reps report."""
    load_in_background_once(
        f"review_{register.__name__}",
        view,
        # The register prices its skips after reading them, so the priced
        # calls, which the rep review needs as well, start on their own.
        lambda: load_priced_calls(view),
        lambda: register(view),
        lambda: read_period(view, "rep_time_in_market"),
        lambda: read_period(view, "set_aside_counts"),
        lambda: load_reps_report(view.at(view.period.previous())),
    )


@cached_by_view
def load_exceptions(view: View, thresholds: Thresholds) -> pd.DataFrame:
    """Load the exceptions of the view's period, costliest first."""
    previous = load_reps_report(view.at(view.period.previous()))
    return rep_exceptions(
        load_rep_review(view),
        previous,
        load_skip_runs(view),
        view.settings.off_site_m,
        thresholds,
    )


def load_rep_days(view: View, rep_id: str) -> pd.DataFrame:
    """Load one rep's working days of the view's period: visits, first check-in,
    last check-out and time in market per day."""
    one_rep = replace(view, scope=view.scope.narrowed(rep_ids=(rep_id,)))
    return read_period(one_rep, "rep_days")


# Opening one rep's week

# The sidebar rep filter's widget key in dashboard.py, and the page that shows
# a chosen rep's week.
REP_FILTER_KEY = "rep"
REP_PAGE = "pages/rep_performance.py"
OPEN_REP_KEY = "open_rep_week"


def _choose_rep(rep_id: str) -> None:
    # A callback runs before the next run draws the sidebar, so the rep
    # filter may still be set here.
    st.session_state[REP_FILTER_KEY] = rep_id
    st.session_state[OPEN_REP_KEY] = True


def draw_open_rep_button(rep_id: str, rep_name: object, key: str) -> None:
    """Draw a button that sets the sidebar's rep filter to this rep; the next
    run opens Rep performance on that rep's week (see follow_open_rep)."""
    name = rep_id if rep_name is None or pd.isna(rep_name) else rep_name
    st.button(
        f"Open {markdown_text(name)}'s week",
        key=key,
        type="primary",
        on_click=_choose_rep,
        args=(rep_id,),
    )


def follow_open_rep(on_rep_page: bool = False) -> None:
    """Open Rep performance when an open button was pressed in the last run.

    Pages with such a button call this before loading anything, so the page
    left behind is not computed again for the one rep.
    """
    if st.session_state.pop(OPEN_REP_KEY, False) and not on_rep_page:
        st.switch_page(REP_PAGE)


@st.cache_data(ttl=CACHE_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _freshness(
    _engine: sa.Engine, database_key: str, period: Period, settings: Settings
) -> tuple[datetime | None, datetime, str | None]:
    latest = queries.latest_check_in(_engine)
    status = summary_queries.summary_status(_engine, period, settings)
    message = status.message(period, settings)
    if message is None and status.uncovered:
        message = summary_queries.uncovered_message(_engine, period, settings)
    read_at = datetime.now(UTC).replace(tzinfo=None)
    return latest, read_at, message


@st.cache_data(ttl=CACHE_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _health_summary_message(
    _engine: sa.Engine, database_key: str, period: Period, settings: Settings
) -> str | None:
    return health_summaries.health_summary_message(_engine, period, settings)


@st.cache_data(ttl=CACHE_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _health_summaries_serve(
    _engine: sa.Engine, database_key: str, period: Period, settings: Settings
) -> bool:
    return health_summaries.health_summaries_cover(_engine, period, settings)


def health_summaries_serve(view: View) -> bool:
    """True when the data health summaries cover the view's period."""
    return _health_summaries_serve(
        view.engine, view.database_key, view.period, view.settings
    )


def draw_health_summary_note(view: View) -> None:
    """Say when the data health summaries cannot serve the period, so the
    Data health page reads the raw tables."""
    if health_summaries_serve(view):
        return
    message = _health_summary_message(
        view.engine, view.database_key, view.period, view.settings
    )
    if message:
        st.warning(message, icon=":material/update:")


def draw_freshness(view: View) -> None:
    """Say how fresh the figures are: the latest check-in, when the database was
    read (the cached loaders keep results CACHE_SECONDS), and whether the
    summary tables are out of date for the period."""
    latest, read_at, stale = _freshness(
        view.engine, view.database_key, view.period, view.settings
    )
    zone = ZoneInfo(view.settings.timezone)

    def local(moment: datetime) -> str:
        return f"{moment.replace(tzinfo=UTC).astimezone(zone):%d %b %Y %H:%M}"

    newest = "no visits yet" if latest is None else f"latest check-in {local(latest)}"
    st.caption(
        f"Data: {newest}; read from the database at {local(read_at)} "
        f"({view.settings.timezone}), refreshed at most every "
        f"{CACHE_SECONDS // 60} minutes."
    )
    if stale:
        # The message is cached with the freshness line for CACHE_SECONDS,
        # so it can outlive a build of the summaries by up to that long.
        st.warning(
            f"{stale} The page checks the summaries again every "
            f"{CACHE_SECONDS // 60} minutes.",
            icon=":material/update:",
        )
