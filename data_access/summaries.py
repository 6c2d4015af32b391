"""Build and refresh the summary tables for a range of dates.

    python -m data_access.summaries --db URL --from DATE --to DATE
        [--timezone TZ] [--week-start N] [--off-site-m M] [--duplicate-window-s S]
        [--neglect-days N] [--neglect-days-by-class CLASS=N,...]
        [--max-visit-hours H] [--max-speed-kmh KMH] [--workers N]

The summary tables (see data_access.schema) hold, per week of the business
calendar, the counts that the period queries compute from visits and orders:
per rep and day, per rep, outlet and week, per outlet and week and per
territory and week. Every count comes from the same PeriodSQL building blocks
as the raw queries, so a report gives the same numbers from either source.

Each week is rebuilt whole in one transaction, with a summary_weeks row that
records the settings it was counted under and the raw row counts behind it.
The largest tables keep the week's rows that did not change
(CHANGED_ROWS_ONLY), and the others have theirs deleted and written again.
Several connections count weeks side by side, and one at a time writes
them. The dates given are widened to whole weeks. A week's outlet trend
(summary_outlet_trend) also reads the weeks its neglect windows reach back
to, so it is counted once they are built, and again after any of them is
rebuilt. The dashboard never writes these tables.
"""

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from data_access import outlet_trend, schema
from data_access.dialect import (
    build_page_cache,
    code_point_order,
    distance_m,
    needs_lateral_lookups,
    prefers_index_lookups,
    refresh_statistics,
    seconds_between,
    sorts_bulk_inserts,
    wait_for_locks,
)
from data_access.engine import DatabaseURLError, create_engine, parse_database_url
from data_access.filters import (
    Period,
    Settings,
    check_timezone,
    parse_class_windows,
    week_containing,
)
from data_access.health_queries import health_day_rows
from data_access.period_sql import PeriodSQL, local_day, usable_fix
from data_access.sql_types import DATE, DATETIME, FLOAT, INTEGER
from data_access.stopping import StopSignals

log = logging.getLogger(__name__)

visits = schema.visits
orders = schema.orders
outlets = schema.outlets
reps = schema.reps


def summary_weeks_between(first: date, last: date, settings: Settings) -> list[Period]:
    """Return the weeks, starting on settings.week_start, that contain first to last."""
    week = week_containing(first, settings.week_start, settings.timezone)
    weeks = []
    while week.start <= last:
        weeks.append(week)
        week = week.shifted(1)
    return weeks


def build_summaries(
    engine: sa.Engine,
    first: date,
    last: date,
    settings: Settings,
    workers: int | None = None,
) -> list[date]:
    """Rebuild the summary tables for every week that contains a date of [first, last].

    Creates the summary tables and their indexes when they are missing.
    workers connections (default_workers() when None) count weeks side by
    side; one at a time writes what it counted, WEEKS_PER_TRANSACTION weeks
    to a transaction, so a stopped build leaves whole weeks. Returns the
    first dates of the weeks built, in order.
    """
    if last < first:
        raise ValueError(f"the range ends on {last} before it starts on {first}")
    if workers is None:
        workers = default_workers()
    _check_workers(workers)
    _drop_older_layout(engine)
    schema.metadata.create_all(engine, tables=list(schema.SUMMARY_TABLES.values()))
    _create_missing_indexes(engine)
    with_history = _has_rep_territories(engine)

    weeks = summary_weeks_between(first, last, settings)
    groups = [
        weeks[index : index + WEEKS_PER_TRANSACTION]
        for index in range(0, len(weeks), WEEKS_PER_TRANSACTION)
    ]
    built: list[date] = []
    week_tasks = [
        _week_group_task(group, settings, with_history, built) for group in groups
    ]
    _SideBySide(engine, week_tasks).run(usable_workers(engine, workers, len(groups)))
    # The tasks below read these tables. Planned from statistics taken part
    # way through the writes, a national week's outlet flags ran for minutes
    # (docs/benchmarks.md, "Summary build on PostgreSQL, loads and the map's read").
    refresh_statistics(engine, WEEK_TABLES)

    # The rows that read earlier weeks, once every week is written.
    with engine.connect() as connection:
        fill_tasks = [
            *_outlet_trend_tasks(connection, settings),
            *_outlet_flag_tasks(connection, settings),
            *_skipped_call_tasks(connection, settings),
        ]
    _SideBySide(engine, fill_tasks).run(
        usable_workers(engine, workers, len(fill_tasks))
    )
    # A week's revenue at risk sums its skipped calls, once they are written.
    refresh_statistics(engine, [schema.summary_skipped_calls])
    with engine.connect() as connection:
        risk_tasks = _rep_week_risk_tasks(connection, settings)
    _SideBySide(engine, risk_tasks).run(
        usable_workers(engine, workers, len(risk_tasks))
    )
    refresh_statistics(engine, FILLED_TABLES)
    return sorted(built)


# Weeks written in one transaction. An outlet's weeks, and a rep's, sit on
# the same pages of the summary indexes, so one commit writes those pages
# once for all its weeks. On 2,000 reps a commit took about 0.6 s whether
# it wrote one week or three. More weeks keep more changed pages in the
# page cache until the commit.
WEEKS_PER_TRANSACTION = 4
# Workers beyond this gain little, because the writes, one worker at a
# time, took about 1 s of a national week's 5 to 6 s. Each worker has its own page
# caches, BUILD_CACHE_KIB each for the database and its temporary tables on
# SQLite: the national demo's build peaked at 0.6 GB with one worker and
# 1.25 GB with two.
MAX_DEFAULT_WORKERS = 4
# SQLAlchemy's default pool keeps 5 connections and opens up to 10 more,
# which also serve the build's own connection, and on SQLite each worker's
# page caches take up to 0.5 GB.
MAX_WORKERS = 8
# Seconds an SQLite write waits for another worker's read to finish. One
# statement of a national week reads for up to about 4 s on a busy machine.
SQLITE_LOCK_WAIT_S = 300


def default_workers() -> int:
    """Return the number of workers a build uses by default: one per CPU, at
    most MAX_DEFAULT_WORKERS."""
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


def _check_workers(count: int) -> None:
    if not 1 <= count <= MAX_WORKERS:
        raise ValueError(
            f"workers must be 1 to {MAX_WORKERS}, not {count}; more would "
            "exceed the connection pool's size"
        )


def usable_workers(engine: sa.Engine, requested: int, groups: int) -> int:
    """Return how many of the requested workers can build groups week
    groups on engine: at most one a group.

    An in-memory SQLite database exists once per connection, or is shared
    through a single connection, so it gets one worker.
    """
    _check_workers(requested)
    url = engine.url
    in_memory = url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or "mode=memory" in url.database
    )
    return 1 if in_memory else max(1, min(requested, groups))


# A task counts on a worker's connection, without writing the database's
# own tables, and returns the function that writes what it counted, or None
# when it stopped because the event was set.
Writer = Callable[[sa.Connection], None]
Task = Callable[[sa.Connection, threading.Event], Writer | None]


class _TransactionGate:
    """Lets the workers' transactions run side by side, except a write,
    which runs alone.

    An SQLite commit waits until no other connection is inside a read,
    and meanwhile every new read waits, the dashboard's too. So a
    worker about to write waits here, outside SQLite, until the other
    workers' transactions end, and they begin no new one until its write
    ends. Its commit then waits for the dashboard's short reads only, as
    with one worker.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._inside: set[int] = set()
        self._writer: int | None = None

    def watch(self, connection: sa.Connection) -> None:
        """Make each transaction of connection wait for a write to end."""
        sa.event.listen(connection, "begin", self.enter)
        sa.event.listen(connection, "commit", self.leave)
        sa.event.listen(connection, "rollback", self.leave)

    def enter(self, connection: sa.Connection) -> None:
        """Wait for a write of another worker to end, then count this worker in."""
        me = threading.get_ident()
        with self._changed:
            self._changed.wait_for(lambda: self._writer in (None, me))
            self._inside.add(me)

    def leave(self, connection: sa.Connection | None = None) -> None:
        """Count this worker out."""
        with self._changed:
            self._inside.discard(threading.get_ident())
            self._changed.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Wait until no other worker is inside a transaction, and keep
        them out until the block ends."""
        me = threading.get_ident()
        with self._changed:
            self._changed.wait_for(lambda: self._writer is None)
            self._writer = me
            self._changed.wait_for(lambda: not self._inside - {me})
        try:
            yield
        finally:
            with self._changed:
                self._writer = None
                self._changed.notify_all()


class _SideBySide:
    """A runner of tasks on one or more connections side by side.

    Each worker takes the next task and runs it, then runs the writer it
    returns in one transaction while it holds _writing, so two workers'
    writes never wait on each other's row locks. A failure stops the other
    workers before their next task, or their next week in a group of weeks,
    and is raised. Each worker's connection
    is closed at the end, with whatever temporary tables it still has.
    """

    def __init__(self, engine: sa.Engine, tasks: Iterable[Task]) -> None:
        self.engine = engine
        self._tasks = iter(tasks)
        self._taking = threading.Lock()
        self._writing = threading.Lock()
        self._gate = _TransactionGate()
        self._failed = threading.Event()

    def run(self, workers: int) -> None:
        if workers == 1:
            self._work()
            return
        pool = ThreadPoolExecutor(workers, thread_name_prefix="summaries")
        futures = [pool.submit(self._work) for _ in range(workers)]
        try:
            for future in futures:
                future.result()
        except BaseException:
            # A KeyboardInterrupt reaches this thread only, so it sets
            # _failed for the workers before the pool waits for them.
            self._failed.set()
            raise
        finally:
            pool.shutdown(wait=True)

    def _next_task(self) -> Task | None:
        with self._taking:
            if self._failed.is_set():
                return None
            return next(self._tasks, None)

    def _work(self) -> None:
        try:
            with self.engine.connect() as connection:
                try:
                    self._run_tasks(connection)
                finally:
                    # The temporary tables of a task left half done go with
                    # the connection, which the pool then replaces.
                    connection.invalidate()
        except BaseException:
            self._failed.set()
            raise
        finally:
            self._gate.leave()

    def _run_tasks(self, connection: sa.Connection) -> None:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            self._gate.watch(connection)
        with (
            build_page_cache(connection),
            wait_for_locks(connection, SQLITE_LOCK_WAIT_S),
        ):
            while (task := self._next_task()) is not None:
                write = task(connection, self._failed)
                if write is None:
                    return
                with self._writing:
                    writing = self._gate.writing() if sqlite else nullcontext()
                    with writing, connection.begin():
                        write(connection)


def _week_group_task(
    group: list[Period], settings: Settings, with_history: bool, built: list[date]
) -> Task:
    """Return the task that counts a group of weeks and writes them in one
    transaction, adding their first dates to built."""

    def count(connection: sa.Connection, stop: threading.Event) -> Writer | None:
        counted = []
        for week in group:
            # Stops before the next week when another worker failed or the
            # build was interrupted.
            if stop.is_set():
                return None
            counted.append(_count_week(connection, week, settings, with_history))

        def write(connection: sa.Connection) -> None:
            _write_weeks(connection, counted, settings)
            built.extend(week.start for week in group)

        return write

    return count


# Weeks of the outlet trend counted by one statement, which reads each
# outlet's summary weeks of the run and of the neglect windows before it once.
TREND_WEEKS_PER_STATEMENT = 13


def _outlet_trend_tasks(connection: sa.Connection, settings: Settings) -> list[Task]:
    """Return the tasks that count summary_outlet_trend for every summarised
    week that lacks it under the settings' neglect windows, once the weeks
    its windows reach are all summarised under the same settings.

    Rows of a week counted under other neglect windows are replaced.
    """
    trend = schema.summary_outlet_trend
    rule = outlet_trend.neglect_rule(settings)
    with connection.begin():
        built = _weeks_built_under(connection, settings)
        # build_summaries has created the table, so the counts are a dict.
        counted = set(
            week_counts(connection, trend, conditions=[trend.c.neglect_rule == rule])
            or {}
        )
    due = [
        start
        for start in sorted(built - counted)
        if _weeks_of(_trend_reach(start, settings)) <= built
    ]
    if not due:
        return []
    # The flags of a run and of the weeks its windows reach share one BIGINT.
    weeks_before = len(_weeks_of(_trend_reach(due[0], settings))) - 1
    longest_run = min(
        TREND_WEEKS_PER_STATEMENT, outlet_trend.MAX_FLAG_WEEKS - weeks_before
    )
    if longest_run < 1:
        log.warning(
            "summaries: neglect windows %s reach more than %d weeks, so the "
            "outlet trend is not summarised and the pages count it from the visits",
            rule,
            outlet_trend.MAX_FLAG_WEEKS,
        )
        return []
    return [
        _outlet_trend_task(run, rule, settings)
        for run in _consecutive_runs(due, longest_run)
    ]


def _outlet_trend_task(run: list[date], rule: str, settings: Settings) -> Task:
    trend = schema.summary_outlet_trend
    span = Period(run[0], run[-1] + timedelta(days=6), settings.timezone)
    reach = outlet_trend.neglect_reach(span, settings)

    def count(connection: sa.Connection, stop: threading.Event) -> Writer:
        started = time.perf_counter()
        statement = outlet_trend.outlet_figures_statement(
            span, reach, [], settings, by_territory=True
        )
        result = connection.execute(statement)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        connection.commit()
        records = [
            {
                **record,
                "reach_start": _trend_reach(record["week_start"], settings).start,
                "neglect_rule": rule,
            }
            for record in outlet_trend.territory_week_rows(frame, span)
        ]

        def write(connection: sa.Connection) -> None:
            connection.execute(
                trend.delete().where(trend.c.week_start.between(span.start, span.end))
            )
            if records:
                connection.execute(trend.insert(), records)
            log.info(
                "summaries: outlet trend of %s to %s counted in %.0f ms",
                span.start,
                span.end,
                (time.perf_counter() - started) * 1000,
            )

        return write

    return count


def _outlet_flag_tasks(connection: sa.Connection, settings: Settings) -> list[Task]:
    """Return the tasks that count summary_outlet_flags for every summarised
    week that lacks it for the lookback of the settings' neglect windows,
    once the weeks from the lookback's first day on are all summarised under
    the same settings.

    A lookback that starts inside a week is never counted, because the
    territories report then reads the last check-ins from the raw visits.
    """
    stored = schema.summary_outlet_flags
    with connection.begin():
        built = _weeks_built_under(connection, settings)
        counted = {
            (row.week_start, row.lookback_start)
            for row in connection.execute(
                sa.select(stored.c.week_start, stored.c.lookback_start).distinct()
            )
        }
    tasks = []
    for week_start in sorted(built):
        week = Period(week_start, week_start + timedelta(days=6), settings.timezone)
        lookback = Period(
            outlet_trend.neglect_lookback_start(week, settings),
            week.end,
            settings.timezone,
        )
        whole_weeks = lookback.start.isoweekday() == settings.week_start
        if (
            (week_start, lookback.start) in counted
            or not whole_weeks
            or not _weeks_of(lookback) <= built
        ):
            continue
        counts = outlet_trend.summary_week_outlet_flags(
            week,
            lookback,
            [schema.is_active(outlets), outlets.c.territory_id.is_not(None)],
        ).subquery()
        rows = sa.select(
            sa.literal(week.start, DATE).label("week_start"),
            sa.literal(lookback.start, DATE).label("lookback_start"),
            *counts.c,
        )
        tasks.append(_week_rows_task(stored, week.start, rows, "outlet flags"))
    return tasks


def _week_rows_task(
    table: sa.Table, week_start: date, rows: sa.Select, what: str
) -> Task:
    """Return the task that counts rows into a temporary table and then
    replaces table's rows of the week with them."""

    def count(connection: sa.Connection, stop: threading.Event) -> Writer:
        started = time.perf_counter()
        name = f"counted_{table.name}_{week_start:%Y%m%d}"
        copy = _count_into(connection, table, rows, name)

        def write(connection: sa.Connection) -> None:
            connection.execute(table.delete().where(table.c.week_start == week_start))
            _insert_from(connection, table, copy)
            log.info(
                "summaries: %s of the week of %s counted in %.0f ms",
                what,
                week_start,
                (time.perf_counter() - started) * 1000,
            )

        return write

    return count


# An outlet's order history, which prices a skipped call, is its productive
# visits in this many weeks before the period's first date (before the week
# of the skip in the weekly trend).
HISTORY_WEEKS = 8


def _skipped_call_tasks(connection: sa.Connection, settings: Settings) -> list[Task]:
    """Return the tasks that write summary_skipped_calls for every summarised
    week whose rows are missing or incomplete, once the HISTORY_WEEKS weeks
    before it are summarised under the same settings.

    A week is complete when it has one row per skipped rep-outlet pair that
    summary_rep_weeks counts.
    """
    stored = schema.summary_skipped_calls
    rep_weeks = schema.summary_rep_weeks
    with connection.begin():
        built = _weeks_built_under(connection, settings)
        expected = (
            week_counts(connection, rep_weeks, value=rep_weeks.c.skipped_outlets) or {}
        )
        found = week_counts(connection, stored) or {}
    tasks = []
    for week_start, history_start in _weeks_with_history(built, settings):
        if found.get(week_start, 0) == expected.get(week_start, 0):
            continue
        rows = _skipped_call_rows(week_start, history_start)
        tasks.append(_week_rows_task(stored, week_start, rows, "skipped calls"))
    return tasks


def _weeks_with_history(
    built: set[date], settings: Settings
) -> Iterator[tuple[date, date]]:
    """Yield the first date of each built week whose HISTORY_WEEKS weeks
    before it are built too, with the first date of those weeks."""
    for week_start in sorted(built):
        history_start = week_start - timedelta(weeks=HISTORY_WEEKS)
        history = Period(
            history_start, week_start - timedelta(days=1), settings.timezone
        )
        if _weeks_of(history) <= built:
            yield week_start, history_start


def _skipped_call_rows(week_start: date, history_start: date) -> sa.Select:
    """Select the week's skipped rep-outlet pairs from summary_rep_outlet_weeks
    with the outlet's order history from summary_outlet_weeks, each sum one
    seek of the outlet's rows in the outlet-week index."""
    rep_outlet_weeks = schema.summary_rep_outlet_weeks
    outlet_weeks = schema.summary_outlet_weeks

    def history_sum(column: sa.Column) -> sa.ColumnElement:
        total = (
            sa.select(sa.func.sum(column))
            .where(
                outlet_weeks.c.outlet_id == rep_outlet_weeks.c.outlet_id,
                outlet_weeks.c.week_start >= history_start,
                outlet_weeks.c.week_start < week_start,
            )
            .scalar_subquery()
        )
        return sa.func.coalesce(total, 0)

    return sa.select(
        rep_outlet_weeks.c.week_start,
        rep_outlet_weeks.c.rep_id,
        rep_outlet_weeks.c.outlet_id,
        sa.literal(history_start, DATE).label("history_start"),
        rep_outlet_weeks.c.planned_calls.label("skipped_calls"),
        history_sum(outlet_weeks.c.productive_visits).label(
            "history_productive_visits"
        ),
        history_sum(outlet_weeks.c.linked_order_value).label("history_order_value"),
    ).where(
        rep_outlet_weeks.c.week_start == week_start,
        rep_outlet_weeks.c.planned_calls > 0,
        rep_outlet_weeks.c.visits == 0,
    )


def _rep_week_risk_tasks(connection: sa.Connection, settings: Settings) -> list[Task]:
    """Return the tasks that write summary_rep_week_risk for every summarised
    week whose rows are missing or incomplete, once the week's
    summary_skipped_calls rows are complete.

    A week is complete when it has one row per rep that summary_rep_weeks
    counts with a skipped outlet.
    """
    stored = schema.summary_rep_week_risk
    rep_weeks = schema.summary_rep_weeks
    with connection.begin():
        built = _weeks_built_under(connection, settings)
        skipped_outlets = (
            week_counts(connection, rep_weeks, value=rep_weeks.c.skipped_outlets) or {}
        )
        skipping_reps = (
            week_counts(
                connection, rep_weeks, conditions=[rep_weeks.c.skipped_outlets > 0]
            )
            or {}
        )
        skipped_calls = week_counts(connection, schema.summary_skipped_calls) or {}
        found = week_counts(connection, stored) or {}
    tasks = []
    for week_start, history_start in _weeks_with_history(built, settings):
        done = found.get(week_start, 0) == skipping_reps.get(week_start, 0)
        skips_stored = skipped_calls.get(week_start, 0) == skipped_outlets.get(
            week_start, 0
        )
        if done or not skips_stored:
            continue
        rows = _rep_week_risk_rows(week_start, history_start)
        tasks.append(_week_rows_task(stored, week_start, rows, "revenue at risk"))
    return tasks


def _rep_week_risk_rows(week_start: date, history_start: date) -> sa.Select:
    """Sum the week's summary_skipped_calls rows per rep, each outlet's calls
    priced by its own order history, else by its territory's in
    summary_territory_weeks from history_start to the week before.

    NOTE: the territory is the outlet's at build time. The other paths of
    weekly_skipped_calls join the outlet's current territory, so after an
    edit of outlets by another program they differ until the next build.
    """
    skips = schema.summary_skipped_calls
    territory_history = territory_order_history(
        history_start, week_start - timedelta(days=1)
    )
    expected_value = sa.func.coalesce(
        order_value_per_visit(
            skips.c.history_order_value, skips.c.history_productive_visits
        ),
        order_value_per_visit(
            territory_history.c.order_value, territory_history.c.productive_visits
        ),
    )
    with_territory = skips.outerjoin(
        outlets, outlets.c.outlet_id == skips.c.outlet_id
    ).outerjoin(
        territory_history, territory_history.c.territory_id == outlets.c.territory_id
    )
    calls = skips.c.skipped_calls
    return (
        sa.select(
            skips.c.week_start,
            skips.c.rep_id,
            sa.literal(history_start, DATE).label("history_start"),
            sa.func.sum(calls).label("skipped_calls"),
            # SUM skips NULL prices, and is NULL when every price is.
            sa.func.sum(sa.cast(calls, FLOAT) * expected_value).label(
                "revenue_at_risk"
            ),
        )
        .select_from(with_territory)
        .where(skips.c.week_start == week_start)
        .group_by(skips.c.week_start, skips.c.rep_id)
    )


def territory_order_history(first: date, last: date) -> sa.CTE:
    """Sum the productive visits and positive linked order value of every
    territory's outlets over the summary weeks from first to last.

    Columns: territory_id, productive_visits, order_value.
    """
    territory_weeks = schema.summary_territory_weeks
    return (
        sa.select(
            territory_weeks.c.territory_id,
            sa.func.sum(territory_weeks.c.productive_visits).label("productive_visits"),
            sa.func.sum(territory_weeks.c.linked_order_value).label("order_value"),
        )
        .where(territory_weeks.c.week_start.between(first, last))
        .group_by(territory_weeks.c.territory_id)
        .cte("territory_order_history")
    )


def order_value_per_visit(
    order_value: sa.ColumnElement, productive_visits: sa.ColumnElement
) -> sa.ColumnElement:
    """Divide order_value by productive_visits as floats, NULL where there is
    no productive visit, as metrics.kpi.ratio does. This is the expected
    value of a skipped call, as metrics.review.expected_call_value prices it."""
    return sa.case(
        (
            productive_visits > 0,
            sa.cast(sa.func.coalesce(order_value, 0), FLOAT)
            / sa.cast(productive_visits, FLOAT),
        )
    )


def week_counts(
    connection: sa.Connection,
    table: sa.Table,
    period: Period | None = None,
    conditions: Sequence[sa.ColumnElement[bool]] = (),
    value: sa.ColumnElement | None = None,
) -> dict[date, int] | None:
    """Count the rows of a summary table per week_start, or sum value over
    them, for the weeks of period (every week when period is None) and the
    rows that meet conditions. Returns None when the table is missing, because a
    version without it built the summaries."""
    if not has_table_once(connection, table.name):
        return None
    week_start = table.c.week_start
    if period is not None:
        conditions = [*conditions, week_start.between(period.start, period.end)]
    total = sa.func.count() if value is None else sa.func.sum(value)
    rows = connection.execute(
        sa.select(week_start, total).where(*conditions).group_by(week_start)
    )
    return {week: int(count) for week, count in rows}


def has_table_once(connection: sa.Connection, name: str) -> bool:
    """Tell whether the table exists, asking the database once per page run
    (summary_queries.read_once_per_run). A cold national Overview checked
    tables about 30 times, a catalog query each on PostgreSQL."""
    # summary_queries imports this module, so it is imported here.
    from data_access.summary_queries import read_once_per_run

    return read_once_per_run(
        connection.engine,
        f"table {name}",
        lambda: sa.inspect(connection).has_table(name),
    )


def _weeks_built_under(connection: sa.Connection, settings: Settings) -> set[date]:
    """Return the first dates of the summarised weeks built under these settings."""
    return {
        row.week_start
        for row in connection.execute(sa.select(schema.summary_weeks))
        if built_under(row, settings)
    }


def _trend_reach(week_start: date, settings: Settings) -> Period:
    week = Period(week_start, week_start + timedelta(days=6), settings.timezone)
    return outlet_trend.neglect_reach(week, settings)


def _weeks_of(period: Period) -> set[date]:
    count = (period.end - period.start).days // 7 + 1
    return {period.start + timedelta(weeks=index) for index in range(count)}


def _consecutive_runs(week_starts: list[date], longest: int) -> list[list[date]]:
    """Split sorted week starts into runs of consecutive weeks, at most longest
    weeks each, whose reach of flags fits one statement."""
    runs: list[list[date]] = []
    for start in week_starts:
        if (
            runs
            and len(runs[-1]) < longest
            and start - runs[-1][-1] == timedelta(weeks=1)
        ):
            runs[-1].append(start)
        else:
            runs.append([start])
    return runs


# The version of the rules by which a week's rows are counted, stored with
# each week. Raise it when a change of the code changes what a stored row
# holds, so that weeks built before read the raw tables until built again.
# 2: a resend across local midnight keeps the date of the visit it repeats,
# in last visit dates and in the data health checks of orders.
# 3: an order value that is not a finite number counts in no order figure,
# and data health counts such orders as order_value_not_finite.
# 4: a line_count that is not a whole number of 0 or more adds no lines to
# lines per call, and data health counts such orders as
# order_line_count_unusable.
# 5: an order value beyond 1,000,000,000,000 either way and a line_count
# above 100,000, the loader's limits, are unusable too, and data health
# lists the orders with an unusable value under the kind
# order_value_unusable, once order_value_not_finite.
COUNTING_RULES = 5


def built_under(row: sa.Row, settings: Settings) -> bool:
    """Tell whether the summary_weeks row was counted under these settings
    and the current COUNTING_RULES."""
    return (
        row.counting_rules == COUNTING_RULES
        and row.timezone == settings.timezone
        and row.first_weekday == settings.week_start
        and row.duplicate_window_s == settings.duplicate_window_s
        and row.off_site_m == settings.off_site_m
    )


def _create_missing_indexes(engine: sa.Engine) -> None:
    """Create the summary indexes that existing summary tables lack.

    create_all creates a table's indexes only with the table, so tables built
    by a version without an index would never get it. An index changes no
    row, so the tables keep their weeks.
    """
    for table in schema.SUMMARY_TABLES.values():
        for index in table.indexes:
            with engine.begin() as connection:
                if sa.inspect(connection).has_index(table.name, index.name):
                    continue
                started = time.perf_counter()
                index.create(connection)
            log.info(
                "summaries: created index %s on the existing %s in %.0f ms",
                index.name,
                table.name,
                (time.perf_counter() - started) * 1000,
            )


def missing_summary_columns(connection: sa.Connection) -> dict[str, list[str]]:
    """Name the columns of the current layout that each existing summary table lacks.

    Tables built by an older version lack the columns added since, so the
    queries that read those columns cannot use their rows. An empty dict
    means that every existing summary table has the current layout.
    """
    inspector = sa.inspect(connection)
    names = [name for name in schema.SUMMARY_TABLES if inspector.has_table(name)]
    if not names:
        return {}
    found = inspector.get_multi_columns(filter_names=names)
    present = {
        table_name: {column["name"] for column in columns}
        for (_schema, table_name), columns in found.items()
    }
    missing = {}
    for name in names:
        lacking = [
            column.name
            for column in schema.SUMMARY_TABLES[name].columns
            if column.name not in present.get(name, set())
        ]
        if lacking:
            missing[name] = lacking
    return missing


def _drop_older_layout(engine: sa.Engine) -> None:
    """Drop the summary tables when any of them has an older layout.

    Summary rows are derived from visits, orders and the master tables, so
    dropping them loses nothing that a build cannot write again. The weeks
    that were built before are logged, because only the weeks of the range
    being built come back.
    """
    with engine.begin() as connection:
        missing = missing_summary_columns(connection)
        if not missing:
            return
        weeks = schema.summary_weeks
        built = None
        if sa.inspect(connection).has_table(weeks.name):
            first_and_last = sa.select(
                sa.func.min(weeks.c.week_start), sa.func.max(weeks.c.week_start)
            )
            built = connection.execute(first_and_last).one()
        for table in reversed(schema.SUMMARY_TABLES.values()):
            table.drop(connection, checkfirst=True)
    lacking = "; ".join(
        f"{name} lacked {', '.join(columns)}" for name, columns in missing.items()
    )
    if built is None or built[0] is None:
        log.warning(
            "summaries: dropped the summary tables of an older layout (%s) "
            "to create them in the current layout",
            lacking,
        )
        return
    log.warning(
        "summaries: dropped the summary tables of an older layout (%s), with "
        "their weeks %s to %s, to create them in the current layout; weeks "
        "outside the range being built must be built again",
        lacking,
        built[0],
        built[1] + timedelta(days=6),
    )


# Tables whose rows change planned calls, outlet statuses or a rep's
# territory on every date, so loading them refreshes every summarised week.
MASTER_TABLES = frozenset(
    {"reps", "rep_territories", "outlets", "beats", "beat_outlets"}
)


def refresh_after_load(
    engine: sa.Engine,
    first_moment: datetime | None,
    last_moment: datetime | None,
    loaded_tables: set[str],
) -> list[date]:
    """Rebuild the summary weeks that a load touched; return their first dates.

    first_moment and last_moment are the earliest and latest check_in or
    ordered_at loaded (naive UTC), or None when no visits or orders were
    loaded. The weeks are those of the settings the latest summary week was
    built with. Summarised weeks of the visits and orders that visit_id links
    to the loaded range are refreshed too (see _linked_days). A load of a
    master table refreshes every summarised week,
    and so does a load into summary tables of an older layout, which the
    rebuild replaces. Weeks before the first summarised week are left
    unbuilt. Does nothing in a database without summaries.
    """
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(schema.summary_weeks.name):
            return []
        weeks = schema.summary_weeks
        # The columns named, not the whole row: tables of an older layout lack
        # the newer ones, such as counting_rules.
        latest = connection.execute(
            sa.select(
                weeks.c.week_start,
                weeks.c.timezone,
                weeks.c.first_weekday,
                weeks.c.duplicate_window_s,
                weeks.c.off_site_m,
            )
            .order_by(weeks.c.built_at.desc())
            .limit(1)
        ).first()
        built = connection.execute(
            sa.select(sa.func.min(weeks.c.week_start), sa.func.max(weeks.c.week_start))
        ).one()
        older_layout = bool(missing_summary_columns(connection))
        health_limits = _health_limits(connection, latest)
        neglect_windows = _neglect_windows(connection)
    if latest is None:
        return []
    settings = Settings(
        timezone=latest.timezone,
        week_start=latest.first_weekday,
        duplicate_window_s=latest.duplicate_window_s,
        off_site_m=latest.off_site_m,
        **health_limits,
        **neglect_windows,
    )

    days: list[date] = []
    linked: set[date] = set()
    if first_moment is not None and last_moment is not None:
        zone = ZoneInfo(settings.timezone)
        first_day, last_day = (
            moment.replace(tzinfo=UTC).astimezone(zone).date()
            for moment in (first_moment, last_moment)
        )
        # A loaded visit can make a visit of the next date its resend, across
        # midnight. The dates on either side are refreshed too, so a week
        # boundary between them rebuilds both weeks. Orders and the visits
        # they name by visit_id may lie further apart (_linked_days).
        days += [first_day - timedelta(days=1), last_day + timedelta(days=1)]
        with engine.connect() as connection:
            linked = _linked_days(connection, first_moment, last_moment, zone)
    # A rebuild in the current layout drops every older-layout week, so all
    # of them are built again.
    if loaded_tables & MASTER_TABLES or older_layout:
        days += [built[0], built[1] + timedelta(days=6)]
    if not days:
        return []
    # Weeks before the first summarised one were never built, so rows loaded
    # there change no summary, and the pages read the raw tables for them.
    # Later weeks are built, so that a daily load extends the summaries.
    first_day, last_day = max(min(days), built[0]), max(days)
    if last_day < first_day:
        return []
    log.info("summaries: refreshing %s to %s after the load", first_day, last_day)
    rebuilt = build_summaries(engine, first_day, last_day, settings)

    # Only summarised weeks can be stale, so a linked date outside them is
    # left to the next build that covers it.
    summarised_end = built[1] + timedelta(days=6)
    linked_weeks = {
        week_containing(day, settings.week_start).start
        for day in linked
        if built[0] <= day <= summarised_end
    }
    for week_start in sorted(linked_weeks - set(rebuilt)):
        log.info("summaries: refreshing the week of %s, linked by order", week_start)
        rebuilt += build_summaries(engine, week_start, week_start, settings)
    return sorted(rebuilt)


def _linked_days(
    connection: sa.Connection,
    first_moment: datetime,
    last_moment: datetime,
    zone: ZoneInfo,
) -> set[date]:
    """Return the local dates outside [first_moment, last_moment] of the
    visits that orders of that range name, and of the orders that name
    visits of that range.

    An order makes the visit it names productive, whatever the visit's
    week, and an order without rep_id counts for the rep of the visit it
    names, so a load changes the summaries of those dates too.
    """
    named_visits = (
        sa.select(visits.c.check_in.label("moment"))
        .join(orders, orders.c.visit_id == visits.c.visit_id)
        .where(
            orders.c.ordered_at.between(first_moment, last_moment),
            sa.or_(visits.c.check_in < first_moment, visits.c.check_in > last_moment),
        )
    )
    naming_orders = (
        sa.select(orders.c.ordered_at.label("moment"))
        .join(visits, visits.c.visit_id == orders.c.visit_id)
        .where(
            visits.c.check_in.between(first_moment, last_moment),
            sa.or_(
                orders.c.ordered_at < first_moment, orders.c.ordered_at > last_moment
            ),
        )
    )
    moments = connection.execute(sa.union(named_visits, naming_orders)).scalars()
    return {moment.replace(tzinfo=UTC).astimezone(zone).date() for moment in moments}


def _health_limits(connection: sa.Connection, latest: sa.Row | None) -> dict:
    """Return the data health limits the latest built week was judged by, or
    {} (the defaults) when that week has none."""
    health_weeks = schema.summary_health_weeks
    if latest is None or not sa.inspect(connection).has_table(health_weeks.name):
        return {}
    found = connection.execute(
        sa.select(health_weeks.c.max_visit_hours, health_weeks.c.max_speed_kmh).where(
            health_weeks.c.week_start == latest.week_start
        )
    ).first()
    return {} if found is None else dict(found._mapping)


def _neglect_windows(connection: sa.Connection) -> dict:
    """Return the neglect windows the latest outlet trend was counted under, or
    {} (the defaults) when no week has one."""
    trend = schema.summary_outlet_trend
    if not sa.inspect(connection).has_table(trend.name):
        return {}
    rule = connection.execute(
        sa.select(trend.c.neglect_rule).order_by(trend.c.week_start.desc()).limit(1)
    ).scalar()
    return {} if rule is None else outlet_trend.neglect_windows(rule)


def _has_rep_territories(engine: sa.Engine) -> bool:
    # The territory history is optional, and older databases lack its table.
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(schema.rep_territories.name):
            return False
        query = sa.select(sa.exists(sa.select(schema.rep_territories.c.rep_id)))
        return bool(connection.execute(query).scalar())


# The summary tables whose row of a week also reads earlier weeks, with the
# column of the first week it reads.
FIRST_WEEK_READ = {
    schema.summary_outlet_trend.name: "reach_start",
    schema.summary_outlet_flags.name: "lookback_start",
    schema.summary_skipped_calls.name: "history_start",
    schema.summary_rep_week_risk.name: "history_start",
}
# The tables written by _write_weeks, which the tables above read.
WEEK_TABLES = [
    schema.summary_rep_days,
    schema.summary_rep_outlet_weeks,
    schema.summary_rep_weeks,
    schema.summary_outlet_weeks,
    schema.summary_territory_weeks,
    schema.summary_health_days,
    schema.summary_health_weeks,
    schema.summary_weeks,
]
# The tables that the last steps of build_summaries write, refreshed at its end.
FILLED_TABLES = [
    schema.summary_outlet_trend,
    schema.summary_outlet_flags,
    schema.summary_rep_week_risk,
]


@dataclass
class _CountedWeek:
    """A week's summary rows, counted into temporary tables by _count_week."""

    week: Period
    raw_counts: dict[str, int]
    # Summary table name to the temporary table with its rows.
    tables: dict[str, sa.Table] = field(default_factory=dict)

    def fill(
        self, connection: sa.Connection, table: sa.Table, rows: sa.Select
    ) -> sa.Table:
        """Copy rows into a new temporary table shaped like table, and commit."""
        name = f"counted_{table.name}_{self.week.start:%Y%m%d}"
        self.tables[table.name] = _count_into(connection, table, rows, name)
        return self.tables[table.name]


def _count_week(
    connection: sa.Connection, week: Period, settings: Settings, with_history: bool
) -> _CountedWeek:
    """Count a week's summary rows into temporary tables.

    Writes nothing to the database's own tables and commits after every
    statement, so on SQLite its reads never hold a lock that another
    worker's write must wait for beyond one statement. The raw row counts
    are read first: rows loaded while the week is counted make the week
    stale rather than silently missing.
    """
    started = time.perf_counter()
    counted = _CountedWeek(week, raw_row_counts(connection, week))
    connection.commit()
    # The week's building blocks are computed once into temporary tables,
    # because every summary table needs them and the de-duplication of visits
    # and the window functions over them are the costly steps.
    # The week's orders find their visits by index seeks, not by a scan of
    # every visit of the database (dialect.needs_lateral_lookups).
    lateral = needs_lateral_lookups(connection.dialect)
    sql = PeriodSQL(week, settings, lateral_lookups=lateral)
    with _WeekScratch(connection, sql) as source:
        rep_outlet_weeks = counted.fill(
            connection,
            schema.summary_rep_outlet_weeks,
            _rep_outlet_week_rows(source, settings),
        )
        outlet_weeks = counted.fill(
            connection, schema.summary_outlet_weeks, _outlet_week_rows(source)
        )
        rows_of_tables = {
            schema.summary_rep_days: rep_day_rows(source, settings, with_history),
            schema.summary_rep_weeks: _rep_week_rows(week, rep_outlet_weeks),
            schema.summary_territory_weeks: _territory_week_rows(week, outlet_weeks),
            schema.summary_health_days: health_day_rows(
                week, settings, built=source.sql, lateral_lookups=lateral
            ),
        }
        for table, rows in rows_of_tables.items():
            counted.fill(connection, table, rows)
    connection.commit()
    log.info(
        "summaries: week of %s counted in %.0f ms",
        week.start,
        (time.perf_counter() - started) * 1000,
    )
    return counted


def _write_weeks(
    connection: sa.Connection, weeks: list[_CountedWeek], settings: Settings
) -> None:
    """Replace the summary rows of the counted weeks, in the caller's
    transaction, and drop their temporary tables."""
    started = time.perf_counter()
    for counted in weeks:
        _delete_week(connection, counted.week, kept=CHANGED_ROWS_ONLY)
        for name, copy in counted.tables.items():
            table = schema.SUMMARY_TABLES[name]
            if name in CHANGED_ROWS_ONLY:
                _replace_changed_rows(connection, table, copy, counted.week)
            else:
                _insert_from(connection, table, copy)
        connection.execute(
            schema.summary_health_weeks.insert().values(
                week_start=counted.week.start,
                max_visit_hours=settings.max_visit_hours,
                max_speed_kmh=settings.max_speed_kmh,
            )
        )
        connection.execute(
            schema.summary_weeks.insert().values(
                week_start=counted.week.start,
                timezone=settings.timezone,
                first_weekday=settings.week_start,
                duplicate_window_s=settings.duplicate_window_s,
                off_site_m=settings.off_site_m,
                counting_rules=COUNTING_RULES,
                **counted.raw_counts,
                built_at=datetime.now(UTC).replace(tzinfo=None),
            )
        )
    log.info(
        "summaries: weeks of %s to %s written in %.0f ms",
        weeks[0].week.start,
        weeks[-1].week.start,
        (time.perf_counter() - started) * 1000,
    )


def _count_into(
    connection: sa.Connection, table: sa.Table, rows: sa.Select, name: str
) -> sa.Table:
    """Copy rows into a new temporary table called name, shaped like table,
    and commit, which ends the read of the database's tables."""
    copy = sa.Table(
        name,
        sa.MetaData(),
        *(sa.Column(column.name, column.type) for column in table.c),
        prefixes=["TEMPORARY"],
    )
    copy.create(connection)
    connection.execute(
        copy.insert().from_select(list(rows.selected_columns.keys()), rows)
    )
    connection.commit()
    return copy


def _insert_from(connection: sa.Connection, table: sa.Table, copy: sa.Table) -> None:
    """Insert the rows of copy, a table from _count_into, into table, and drop copy."""
    columns = [column.name for column in copy.c]
    connection.execute(table.insert().from_select(columns, sa.select(*copy.c)))
    copy.drop(connection)


# The largest tables of a week, about 120,000 rows each for the national
# demo company, whose rebuilt week keeps the rows that did not change. On
# that company (2-core AMD EPYC, SQLite 3.40), a rebuild of unchanged weeks
# spent about 0.9 s of CPU a week deleting and inserting every row of the
# two, and 0.45 s comparing them.
CHANGED_ROWS_ONLY = frozenset(
    {schema.summary_rep_outlet_weeks.name, schema.summary_outlet_weeks.name}
)


def _replace_changed_rows(
    connection: sa.Connection, table: sa.Table, copy: sa.Table, week: Period
) -> None:
    """Replace the week's rows of table with those of copy, a table from
    _count_into, and drop copy.

    Deletes the stored rows that copy lacks or contains with other values, then
    inserts the rows of copy that are no longer stored, each found by the
    table's primary key. So a rebuild of unchanged visits writes no row. A
    week without stored rows, as in a first build, gets copy's rows without
    the comparison.
    """
    in_week = table.c.week_start.between(week.start, week.end)
    columns = [column.name for column in copy.c]
    rows = sa.select(*copy.c)
    if connection.execute(sa.select(sa.exists().where(in_week))).scalar():
        key = [column.name for column in table.primary_key.columns]
        sa.Index(f"ix_{copy.name}", *(copy.c[name] for name in key)).create(connection)
        # IS NOT DISTINCT FROM, because a NULL that stays NULL is no change.
        same_row = [
            copy.c[name] == table.c[name]
            if name in key
            else copy.c[name].is_not_distinct_from(table.c[name])
            for name in columns
        ]
        connection.execute(table.delete().where(in_week, ~sa.exists().where(*same_row)))

        stored = sa.exists().where(*(table.c[name] == copy.c[name] for name in key))
        rows = rows.where(~stored)
    if sorts_bulk_inserts(connection):
        # The order of the table's other index, (outlet_id, week_start, ...)
        # or (rep_id, week_start, outlet_id, ...).
        key = [column.name for column in table.primary_key.columns]
        rows = rows.order_by(*(copy.c[name] for name in key if name != "week_start"))
    connection.execute(table.insert().from_select(columns, rows))
    copy.drop(connection)


def _delete_week(
    connection: sa.Connection, week: Period, kept: frozenset[str] = frozenset()
) -> None:
    """Delete the week's rows of every summary table except those named in kept."""
    for table in schema.SUMMARY_TABLES.values():
        if table.name in kept:
            continue
        day_column = table.c.day if "day" in table.c else table.c.week_start
        in_week = day_column.between(week.start, week.end)
        # A row that also reads earlier weeks goes with any of them, and the
        # tasks of _outlet_trend_tasks, _outlet_flag_tasks,
        # _skipped_call_tasks and _rep_week_risk_tasks write it again.
        first_read = FIRST_WEEK_READ.get(table.name)
        if first_read is not None:
            in_week = sa.and_(
                table.c[first_read] <= week.start, table.c.week_start >= week.start
            )
        connection.execute(table.delete().where(in_week))


class _WeekScratch:
    """The building blocks of a week's PeriodSQL, each copied into a temporary table.

    Each block reads the temporary tables of the blocks before it, so the
    de-duplication of visits runs once per week instead of once per
    statement, and the joins use the indexes made here. The row builders
    below take the object in place of the PeriodSQL.
    """

    # In dependency order, with the indexes the later blocks join on.
    BLOCKS: dict[str, tuple[tuple[str, ...], ...]] = {
        "calendar": (),
        "flagged_visits": (("rep_id", "outlet_id", "check_in", "visit_id"),),
        "visit_aliases": (),
        "period_visits": (),
        "planned_calls": (("rep_id", "outlet_id", "plan_date"),),
        "linked_orders": (("visit_id",),),
        "period_orders": (),
        "visit_facts": (),
        "call_days": (),
    }
    # Blocks copied only where the engine prefers index lookups (SQLite). As
    # a common table expression, the week's seven calendar rows become the
    # outer loop of planned_calls, so SQLite reads every beat outlet once
    # per day. As a table without statistics,
    # the calendar is joined last: 55 ms in place of 150 ms a week on the
    # 500-rep company. flagged_visits serves _visit_aliases_by_lookup.
    LOOKUP_ONLY = frozenset({"calendar", "flagged_visits"})
    # Indexes of the lookups that replace window functions.
    LOOKUP_INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
        "period_visits": (
            ("rep_id", "outlet_id", "visit_date", "check_in", "visit_id"),
        ),
    }
    # Indexes built only where the window functions stay, as on PostgreSQL.
    # SQLite's lookups read visit_aliases in full and seek each visit's orders
    # in ix_orders_visit_id, so an index on visit_id went unused there and
    # took 0.05 s of CPU a national week to build.
    WINDOW_INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
        "visit_aliases": (("visit_id",),),
    }
    # Columns whose SQL function leaves the type unknown, which a CREATE TABLE needs.
    TYPES = {
        "starts_visit": sa.Integer(),
        "kept_visit_id": sa.Text(),
        "kept_check_in": sa.DateTime(),
        "distance_m": sa.Float(),
        "order_lines": sa.Integer(),
    }

    def __init__(self, connection: sa.Connection, sql: PeriodSQL) -> None:
        self.connection = connection
        self.sql = sql
        self.period = sql.period
        self._metadata = sa.MetaData()
        self._tables: list[sa.Table] = []

    def __enter__(self) -> "_WeekScratch":
        # Where the engine prefers them, the blocks with a *_by_lookup
        # function are built by index lookups in place of window functions.
        by_lookup = prefers_index_lookups(self.connection)
        for name, indexes in self.BLOCKS.items():
            if name in self.LOOKUP_ONLY and not by_lookup:
                continue
            if name == "call_days":
                source = _call_days(self.sql)
            elif name == "visit_aliases" and by_lookup:
                source = _visit_aliases_by_lookup(self.sql).cte("visit_aliases")
            elif name == "linked_orders" and by_lookup:
                source = _linked_orders_by_lookup(self.sql).cte("linked_orders")
            elif name == "visit_facts":
                source = _visit_facts_by_lookup(self.sql).cte("visit_facts")
            else:
                source = getattr(self.sql, name)
            engine_indexes = self.LOOKUP_INDEXES if by_lookup else self.WINDOW_INDEXES
            indexes += engine_indexes.get(name, ())
            table = self._fill(name, source, indexes)
            if name == "call_days":
                self.call_days = table
            else:
                self.sql.read_from(name, table)
        self.visit_facts = self.sql.visit_facts
        self.period_visits = self.sql.period_visits
        self.planned_calls = self.sql.planned_calls
        self.period_orders = self.sql.period_orders
        self.linked_orders = self.sql.linked_orders
        return self

    def _fill(
        self, name: str, source: sa.FromClause, indexes: tuple[tuple[str, ...], ...]
    ) -> sa.Table:
        columns = []
        for column in source.c:
            kind = column.type
            if isinstance(kind, sa.types.NullType):
                kind = self.TYPES[column.name]
            columns.append(sa.Column(column.name, kind))
        table = sa.Table(
            f"scratch_{name}", self._metadata, *columns, prefixes=["TEMPORARY"]
        )
        table.create(self.connection)
        self._tables.append(table)
        rows = sa.select(*source.c)
        self.connection.execute(table.insert().from_select(list(source.c.keys()), rows))
        for number, index_columns in enumerate(indexes):
            key = [table.c[column] for column in index_columns]
            sa.Index(f"ix_scratch_{name}_{number}", *key).create(self.connection)
        # Ends the read of the database's tables (see _count_week).
        self.connection.commit()
        return table

    def __exit__(self, *exc_info: object) -> None:
        # After a failed statement PostgreSQL rejects every statement until
        # a rollback, so the tables are left to go with the connection.
        if exc_info[0] is not None:
            return
        for table in reversed(self._tables):
            table.drop(self.connection)


def _visit_aliases_by_lookup(sql: PeriodSQL) -> sa.Select:
    """Select the rows of PeriodSQL.visit_aliases with index lookups in place
    of windows.

    Needs the temporary table of flagged_visits indexed by (rep_id,
    outlet_id, check_in, visit_id). A kept visit is its own alias. A
    duplicate's alias is the kept visit that starts its chain: the latest
    kept visit of the same rep at the same outlet before it, by check_in
    then visit_id. Duplicates are few (0.3 % of the demo visits), so their
    lookups cost less than the two window passes over every visit, for each
    of which SQLite sorts the visits. Same columns and rows as
    PeriodSQL.visit_aliases, which the tests compare it with.
    """
    flagged = sql.flagged_visits
    start = flagged.alias("chain_start")
    before = sa.tuple_(
        start.c.check_in, code_point_order(start.c.visit_id)
    ) < sa.tuple_(flagged.c.check_in, flagged.c.visit_id)
    same_chain = (
        # Visits without a rep or an outlet share a chain, as they share a
        # window partition.
        start.c.rep_id.is_not_distinct_from(flagged.c.rep_id),
        start.c.outlet_id.is_not_distinct_from(flagged.c.outlet_id),
        before,
        start.c.starts_visit == 1,
    )

    def of_chain_start(column: sa.ColumnElement) -> sa.ColumnElement:
        found = (
            sa.select(start.c[column.name])
            .where(*same_chain)
            .order_by(
                start.c.check_in.desc(), code_point_order(start.c.visit_id).desc()
            )
            .limit(1)
            .scalar_subquery()
        )
        return sa.case((flagged.c.starts_visit == 1, column), else_=found)

    return sa.select(
        *(column for column in flagged.c if column.name != "starts_visit"),
        of_chain_start(flagged.c.visit_id).label("kept_visit_id"),
        of_chain_start(flagged.c.check_in).label("kept_check_in"),
    )


def _linked_orders_by_lookup(sql: PeriodSQL) -> sa.Select:
    """Select the rows of PeriodSQL.linked_orders with an index lookup in
    place of a window.

    Needs the temporary table of period_visits indexed by (rep_id,
    outlet_id, visit_date, check_in, visit_id). An order without visit_id
    links to the first kept visit of its rep to its outlet on its local
    date, found by one seek per such order, where the window would number
    every visit of the week. Same rows as PeriodSQL.linked_orders.
    """
    kept = sql.period_visits
    unlinked = sql.orders_without_visit()
    first_visit = (
        sa.select(kept.c.visit_id)
        .where(
            kept.c.rep_id == unlinked.c.rep_id,
            kept.c.outlet_id == unlinked.c.outlet_id,
            kept.c.visit_date == unlinked.c.order_date,
        )
        .order_by(kept.c.check_in, code_point_order(kept.c.visit_id))
        .limit(1)
        .scalar_subquery()
    )
    found = sa.select(
        first_visit.label("visit_id"),
        unlinked.c.order_id,
        unlinked.c.value,
        unlinked.c.line_count,
    ).subquery("orders_by_first_visit")
    by_date = sa.select(found).where(found.c.visit_id.is_not(None))
    return sa.union_all(sql.orders_linked_by_visit_id(), by_date)


def _visit_facts_by_lookup(sql: PeriodSQL) -> sa.Select:
    """PeriodSQL.visit_facts computed with index lookups in place of windows.

    Needs the temporary tables of _WeekScratch: planned_calls indexed by
    (rep_id, outlet_id, plan_date) and linked_orders by visit_id. A kept
    visit is on plan when its rep has a planned call at its outlet on its
    date, and productive when a linked order has a value > 0; its order
    lines sum those orders' line_count. Same columns and rows as
    PeriodSQL.visit_facts, which the tests compare it with.
    """
    kept = sql.period_visits
    planned = sql.planned_calls
    linked = sql.linked_orders
    positive_orders = sa.and_(linked.c.visit_id == kept.c.visit_id, linked.c.value > 0)
    productive = sa.exists(sa.select(linked.c.visit_id).where(positive_orders))
    order_lines = (
        sa.select(sa.func.sum(sa.func.coalesce(linked.c.line_count, 0)))
        .where(positive_orders)
        .scalar_subquery()
    )
    on_plan = sa.exists(
        sa.select(planned.c.rep_id).where(
            planned.c.rep_id == kept.c.rep_id,
            planned.c.outlet_id == kept.c.outlet_id,
            planned.c.plan_date == kept.c.visit_date,
        )
    )

    outlet = outlets.alias("visited_outlet")
    both_fixes = sa.and_(
        usable_fix(kept.c.latitude, kept.c.longitude),
        usable_fix(outlet.c.latitude, outlet.c.longitude),
    )
    distance = distance_m(
        kept.c.latitude, kept.c.longitude, outlet.c.latitude, outlet.c.longitude
    )
    return sa.select(
        kept.c.visit_id,
        kept.c.rep_id,
        kept.c.outlet_id,
        kept.c.visit_date,
        kept.c.check_in,
        kept.c.check_out,
        sa.case((productive, 1), else_=0).label("productive"),
        sa.func.coalesce(order_lines, 0).label("order_lines"),
        sa.case((on_plan, 0), else_=1).label("off_beat"),
        sa.case((both_fixes, distance), else_=None).label("distance_m"),
        sa.case((both_fixes, 0), else_=1).label("without_fix"),
    ).select_from(kept.outerjoin(outlet, outlet.c.outlet_id == kept.c.outlet_id))


def raw_row_counts(connection: sa.Connection, period: Period) -> dict[str, int]:
    """Count the rows behind a period: visits and orders in its UTC range, active outlets.

    A summary week whose counts differ from these is stale. The counts read
    the check_in and ordered_at indexes only.
    """
    visit_rows = _rows_between(visits.c.check_in, period)
    order_rows = _rows_between(orders.c.ordered_at, period)
    active_outlets = _active_outlets().scalar_subquery()
    row = connection.execute(
        sa.select(
            visit_rows.label("visit_rows"),
            order_rows.label("order_rows"),
            active_outlets.label("active_outlets"),
        )
    ).one()
    return dict(row._mapping)


def raw_week_row_counts(
    connection: sa.Connection, weeks: Sequence[Period]
) -> dict[Period, tuple[int, int]]:
    """Count each week's visits and orders as raw_row_counts does, in one
    statement: (visit_rows, order_rows) by week."""
    counts = []
    for week in weeks:
        counts += [
            _rows_between(visits.c.check_in, week),
            _rows_between(orders.c.ordered_at, week),
        ]
    if not counts:
        return {}
    row = connection.execute(sa.select(*counts)).one()
    return {week: (row[2 * i], row[2 * i + 1]) for i, week in enumerate(weeks)}


def active_outlet_count(connection: sa.Connection) -> int:
    """Count the active outlets, as raw_row_counts does."""
    return connection.execute(_active_outlets()).scalar_one()


def _active_outlets() -> sa.Select:
    return (
        sa.select(sa.func.count()).select_from(outlets).where(schema.is_active(outlets))
    )


def _rows_between(instant: sa.Column, period: Period) -> sa.ScalarSelect:
    # The check_in and ordered_at indexes alone give the count.
    return (
        sa.select(sa.func.count())
        .select_from(instant.table)
        .where(instant >= period.utc_start, instant < period.utc_end)
        .scalar_subquery()
    )


def _number(value: int | float) -> sa.ColumnElement:
    return sa.literal(value, FLOAT if isinstance(value, float) else INTEGER)


def _call_days(sql: PeriodSQL) -> sa.FromClause:
    """(rep_id, outlet_id, day) with planned (0 or 1) and visits (kept visits that day)."""
    computed = getattr(sql, "call_days", None)
    if computed is not None:
        return computed
    planned = sql.planned_calls
    kept = sql.period_visits
    marks = sa.union_all(
        sa.select(
            planned.c.rep_id,
            planned.c.outlet_id,
            planned.c.plan_date.label("day"),
            _number(1).label("is_plan"),
            _number(0).label("is_visit"),
        ),
        sa.select(
            kept.c.rep_id, kept.c.outlet_id, kept.c.visit_date, _number(0), _number(1)
        ),
    ).subquery("call_marks")
    return (
        sa.select(
            marks.c.rep_id,
            marks.c.outlet_id,
            marks.c.day,
            sa.func.max(marks.c.is_plan).label("planned"),
            sa.func.sum(marks.c.is_visit).label("visits"),
        )
        .group_by(marks.c.rep_id, marks.c.outlet_id, marks.c.day)
        .cte("call_days")
    )


# The visit counts of a rep-day, and every count summary_rep_days stores.
REP_DAY_VISIT_COUNTS = (
    "visits",
    "productive_visits",
    "order_lines",
    "off_beat_visits",
    "off_site_visits",
    "visits_without_fix",
)
REP_DAY_COUNTS = (
    *REP_DAY_VISIT_COUNTS,
    "planned_calls",
    "calls_on_plan",
    "order_value",
    "orders",
    "return_value",
    "order_rows",
)


def rep_day_rows(sql: PeriodSQL, settings: Settings, with_history: bool) -> sa.Select:
    """One row per rep and local date of the period with the counts of rep_activity.

    Columns: day, rep_id, territory_id, then REP_DAY_COUNTS, then
    time_in_market_s (seconds from the day's first check-in to its last visit
    end, 0.0 without visits). Summed over the days of a period, each count
    equals its column of queries.rep_activity, and time_in_market_s that of
    review_queries.rep_time_in_market.
    """
    facts = sql.visit_facts
    calls = _call_days(sql)
    period_orders = sql.period_orders
    zero, zero_value = _number(0), _number(0.0)

    no_time = sa.cast(sa.null(), DATETIME)

    def row(rep_id, day, start=no_time, end=no_time, **counts) -> sa.Select:
        values = [
            counts.get(name, zero_value if name.endswith("_value") else zero).label(
                name
            )
            for name in REP_DAY_COUNTS
        ]
        return sa.select(
            rep_id.label("rep_id"),
            day.label("day"),
            *values,
            start.label("first_check_in"),
            end.label("last_check_out"),
        )

    off_site = sa.case((facts.c.distance_m > settings.off_site_m, 1), else_=0)
    visit_rows = row(
        facts.c.rep_id, facts.c.visit_date, facts.c.check_in, visit_end(facts),
        visits=_number(1), productive_visits=facts.c.productive,
        order_lines=facts.c.order_lines, off_beat_visits=facts.c.off_beat,
        off_site_visits=off_site, visits_without_fix=facts.c.without_fix,
    )  # fmt: skip
    visited_call = sa.and_(calls.c.planned == 1, calls.c.visits > 0)
    call_rows = row(
        calls.c.rep_id, calls.c.day,
        planned_calls=calls.c.planned,
        calls_on_plan=sa.case((visited_call, 1), else_=0),
    )  # fmt: skip
    positive = period_orders.c.value > 0
    order_rows = row(
        period_orders.c.rep_id, period_orders.c.order_date,
        order_value=sa.case((positive, period_orders.c.value), else_=0.0),
        orders=sa.case((positive, 1), else_=0),
        return_value=sa.case((period_orders.c.value < 0, period_orders.c.value), else_=0.0),
        order_rows=_number(1),
    )  # fmt: skip
    streams = {"visit": visit_rows, "call": call_rows, "order": order_rows}
    every = sa.union_all(
        *(
            _summed(
                rows,
                ("day", "rep_id"),
                f"{name}_marks",
                earliest=("first_check_in",),
                latest=("last_check_out",),
            )
            for name, rows in streams.items()
        )
    ).subquery("rep_day_marks")
    sums = (
        sa.select(
            every.c.day,
            every.c.rep_id,
            *(sa.func.sum(every.c[name]).label(name) for name in REP_DAY_COUNTS),
            sa.func.min(every.c.first_check_in).label("first_check_in"),
            sa.func.max(every.c.last_check_out).label("last_check_out"),
        )
        .where(every.c.rep_id.is_not(None))
        .group_by(every.c.day, every.c.rep_id)
        .subquery("rep_day_sums")
    )
    day_length = seconds_between(sums.c.first_check_in, sums.c.last_check_out)
    return sa.select(
        sums.c.day,
        sums.c.rep_id,
        _territory_of(sums.c.rep_id, sums.c.day, with_history).label("territory_id"),
        *(sums.c[name] for name in REP_DAY_COUNTS),
        sa.func.coalesce(day_length, 0.0).label("time_in_market_s"),
    )


def _summed(
    rows: sa.Select,
    keys: tuple[str, ...],
    name: str,
    earliest: tuple[str, ...] = (),
    latest: tuple[str, ...] = (),
) -> sa.Select:
    """Select rows grouped by the columns keys: the minimum of the columns
    earliest, the maximum of the columns latest and the sum of the others.

    rep_day_rows groups each stream of rows with this before their union,
    because SQLite sorts a GROUP BY's rows with every column. With 2,000
    reps, a week's visits, calls and orders are 300,000 rows of 16 columns
    but about 12,000 rep-days per stream, and the statement took 0.6 s in
    place of 0.9 s. An outlet has one or two rows per stream, so
    _outlet_week_rows gains nothing from it.

    NOTE: a sum of order values depends on the order in which the rows are
    added. Every stored value matched that of one GROUP BY over the union
    on the 500-rep and 2,000-rep companies, but SQL does not promise it.
    """
    marks = rows.subquery(name)
    columns = []
    for column in marks.c:
        if column.name in keys:
            columns.append(column)
        elif column.name in earliest:
            columns.append(sa.func.min(column).label(column.name))
        elif column.name in latest:
            columns.append(sa.func.max(column).label(column.name))
        else:
            columns.append(sa.func.sum(column).label(column.name))
    return sa.select(*columns).group_by(*(marks.c[key] for key in keys))


def visit_end(visit: sa.FromClause) -> sa.ColumnElement:
    """Return the visit's end: check_out, or check_in when check_out is missing
    or earlier, because a check-out before its check-in is a device fault."""
    usable = sa.and_(
        visit.c.check_out.is_not(None), visit.c.check_out >= visit.c.check_in
    )
    return sa.case((usable, visit.c.check_out), else_=visit.c.check_in)


def _territory_of(
    rep_id: sa.ColumnElement, day: sa.ColumnElement, with_history: bool
) -> sa.ColumnElement:
    if with_history:
        # Imported here: the territory history is an optional table.
        from data_access.territory_history import territory_on

        return territory_on(rep_id, day)
    return (
        sa.select(reps.c.territory_id).where(reps.c.rep_id == rep_id).scalar_subquery()
    )


def _rep_outlet_week_rows(sql: PeriodSQL, settings: Settings) -> sa.Select:
    """Select one row per rep and outlet planned or visited in the week.

    Each row carries the first and last planned dates and the count of
    unproductive off-site visits.
    """
    calls = _call_days(sql)
    facts = sql.visit_facts
    unproductive_off_site = (
        sa.select(facts.c.rep_id, facts.c.outlet_id, sa.func.count().label("visits"))
        .where(facts.c.distance_m > settings.off_site_m, facts.c.productive == 0)
        .group_by(facts.c.rep_id, facts.c.outlet_id)
        .subquery("unproductive_off_site")
    )
    plan_day = sa.case((calls.c.planned == 1, calls.c.day), else_=None)
    pairs = (
        sa.select(
            calls.c.rep_id,
            calls.c.outlet_id,
            sa.func.sum(calls.c.planned).label("planned_calls"),
            sa.func.sum(calls.c.visits).label("visits"),
            sa.func.min(plan_day).label("first_plan_date"),
            sa.func.max(plan_day).label("last_plan_date"),
        )
        .where(calls.c.rep_id.is_not(None), calls.c.outlet_id.is_not(None))
        .group_by(calls.c.rep_id, calls.c.outlet_id)
        .subquery("rep_outlet_pairs")
    )
    same_pair = sa.and_(
        unproductive_off_site.c.rep_id == pairs.c.rep_id,
        unproductive_off_site.c.outlet_id == pairs.c.outlet_id,
    )
    return sa.select(
        sa.literal(sql.period.start, DATE).label("week_start"),
        *pairs.c,
        sa.func.coalesce(unproductive_off_site.c.visits, 0).label(
            "unproductive_off_site_visits"
        ),
    ).select_from(pairs.outerjoin(unproductive_off_site, same_pair))


def _rep_week_rows(week: Period, rep_outlet_weeks: sa.Table) -> sa.Select:
    """Count per rep the outlets planned in the week and those of them the rep
    did not visit, from the week's rows of rep_outlet_weeks, a table shaped
    like summary_rep_outlet_weeks."""
    skipped = sa.case((rep_outlet_weeks.c.visits == 0, 1), else_=0)
    return (
        sa.select(
            rep_outlet_weeks.c.week_start,
            rep_outlet_weeks.c.rep_id,
            sa.func.count().label("planned_outlets"),
            sa.func.sum(skipped).label("skipped_outlets"),
        )
        .where(
            rep_outlet_weeks.c.week_start == week.start,
            rep_outlet_weeks.c.planned_calls > 0,
        )
        .group_by(rep_outlet_weeks.c.week_start, rep_outlet_weeks.c.rep_id)
    )


OUTLET_WEEK_COUNTS = (
    "visits",
    "planned_calls",
    "order_value",
    "productive_visits",
    "linked_order_value",
)


def _outlet_week_rows(sql: PeriodSQL) -> sa.Select:
    """Select one row per outlet visited, planned or ordered from in the week.

    visits and productive_visits count kept visits, linked_order_value sums
    the positive orders linked to them, and order_value the positive orders
    dated in the week. last_visit_date is the local date of the latest kept
    visit, so a resend just after midnight keeps the date of the visit it
    repeats, as in queries.outlet_last_check_in.
    """
    facts = sql.visit_facts
    planned = sql.planned_calls
    period_orders = sql.period_orders
    linked = sql.linked_orders
    week = sql.period
    zero, zero_value = _number(0), _number(0.0)
    no_time = sa.cast(sa.null(), DATETIME)

    def row(outlet_id, check_in=no_time, **counts) -> sa.Select:
        values = [
            counts.get(name, zero_value if name.endswith("_value") else zero).label(
                name
            )
            for name in OUTLET_WEEK_COUNTS
        ]
        return sa.select(
            outlet_id.label("outlet_id"), *values, check_in.label("check_in")
        )

    visit_rows = row(
        facts.c.outlet_id,
        facts.c.check_in,
        visits=_number(1),
        productive_visits=facts.c.productive,
    )
    plan_rows = row(planned.c.outlet_id, planned_calls=_number(1))
    order_rows = row(
        period_orders.c.outlet_id, order_value=period_orders.c.value
    ).where(period_orders.c.value > 0)
    linked_rows = (
        row(facts.c.outlet_id, linked_order_value=linked.c.value)
        .select_from(linked.join(facts, facts.c.visit_id == linked.c.visit_id))
        .where(linked.c.value > 0)
    )
    marks = sa.union_all(visit_rows, plan_rows, order_rows, linked_rows).subquery(
        "outlet_marks"
    )
    last_check_in = sa.func.max(marks.c.check_in)
    last_visit_date = sa.case(
        (last_check_in.is_not(None), local_day(last_check_in, week)), else_=None
    )
    return (
        sa.select(
            sa.literal(week.start, DATE).label("week_start"),
            marks.c.outlet_id,
            *(sa.func.sum(marks.c[name]).label(name) for name in OUTLET_WEEK_COUNTS),
            last_visit_date.label("last_visit_date"),
        )
        .where(marks.c.outlet_id.is_not(None))
        .group_by(marks.c.outlet_id)
    )


def _territory_week_rows(week: Period, outlet_weeks: sa.Table) -> sa.Select:
    """Active outlets and those visited in the week, and the productive visits
    and linked order value of all its outlets, per territory.

    Reads the week's rows of outlet_weeks, a table shaped like
    summary_outlet_weeks.
    """
    is_active = schema.is_active(outlets)
    active = sa.case((is_active, 1), else_=0)
    visited = sa.case((sa.and_(is_active, outlet_weeks.c.visits > 0), 1), else_=0)
    return (
        sa.select(
            sa.literal(week.start, DATE).label("week_start"),
            outlets.c.territory_id,
            sa.func.sum(active).label("active_outlets"),
            sa.func.sum(visited).label("visited_outlets"),
            sa.func.coalesce(sa.func.sum(outlet_weeks.c.productive_visits), 0).label(
                "productive_visits"
            ),
            sa.func.coalesce(sa.func.sum(outlet_weeks.c.linked_order_value), 0.0).label(
                "linked_order_value"
            ),
        )
        .select_from(
            outlets.outerjoin(
                outlet_weeks,
                sa.and_(
                    outlet_weeks.c.outlet_id == outlets.c.outlet_id,
                    outlet_weeks.c.week_start == week.start,
                ),
            )
        )
        .where(outlets.c.territory_id.is_not(None))
        .group_by(outlets.c.territory_id)
    )


# Command line


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a valid date; use YYYY-MM-DD"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m data_access.summaries",
        description=(
            "Build or refresh the summary tables for the weeks that contain "
            "the dates FROM to TO. Use the dashboard's settings: summaries "
            "counted under other settings are not used."
        ),
    )
    parser.add_argument(
        "--db",
        required=True,
        metavar="URL",
        help="SQLAlchemy URL of the database, e.g. sqlite:///sfa.sqlite",
    )
    parser.add_argument(
        "--from",
        dest="first",
        required=True,
        type=_date,
        metavar="DATE",
        help="first local date to summarise (YYYY-MM-DD)",
    )
    parser.add_argument(
        "--to",
        dest="last",
        required=True,
        type=_date,
        metavar="DATE",
        help="last local date to summarise (YYYY-MM-DD)",
    )
    parser.add_argument(
        "--timezone",
        default="UTC",
        metavar="TZ",
        help="IANA name of the business time zone (default UTC)",
    )
    parser.add_argument(
        "--week-start",
        type=int,
        default=1,
        metavar="N",
        help="ISO weekday weeks start on, 1 Monday to 7 Sunday (default 1)",
    )
    parser.add_argument(
        "--off-site-m",
        type=float,
        default=300.0,
        metavar="M",
        help="metres from the outlet beyond which a check-in is off-site (default 300)",
    )
    parser.add_argument("--duplicate-window-s", type=float, default=120.0, metavar="S",
                        help="seconds within which two check-ins of a rep at an "
                        "outlet are one visit (default 120)")  # fmt: skip
    parser.add_argument("--neglect-days", type=int, default=28, metavar="N",
                        help="an outlet with no visit in this many days is "
                        "neglected (default 28)")  # fmt: skip
    parser.add_argument("--neglect-days-by-class", default="", metavar="CLASS=N,...",
                        help="neglect windows per outlet_class, such as "
                        "A=14,B=28,C=56; other classes use --neglect-days")  # fmt: skip
    parser.add_argument("--max-visit-hours", type=float, default=12.0, metavar="H",
                        help="data health: hours after check-in beyond which a "
                        "check-out makes a visit too long (default 12)")  # fmt: skip
    parser.add_argument("--max-speed-kmh", type=float, default=120.0, metavar="KMH",
                        help="data health: speed between a rep's visits of a day "
                        "beyond which travel is impossible (default 120)")  # fmt: skip
    parser.add_argument(
        "--workers",
        type=_worker_count,
        default=None,
        metavar="N",
        help=f"connections that count weeks side by side, 1 to {MAX_WORKERS} "
        f"(default: one per CPU, at most {MAX_DEFAULT_WORKERS}); 1 builds one "
        "week at a time",
    )
    return parser


def _worker_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a valid number of workers; use a whole number "
            f"from 1 to {MAX_WORKERS}"
        )
    return count


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        check_timezone(arguments.timezone)
        url = parse_database_url(arguments.db)
        settings = Settings(
            timezone=arguments.timezone,
            week_start=arguments.week_start,
            off_site_m=arguments.off_site_m,
            duplicate_window_s=arguments.duplicate_window_s,
            neglect_days=arguments.neglect_days,
            neglect_days_by_class=parse_class_windows(arguments.neglect_days_by_class),
            max_visit_hours=arguments.max_visit_hours,
            max_speed_kmh=arguments.max_speed_kmh,
        )
    except (ValueError, DatabaseURLError) as error:
        parser.error(str(error))
    if arguments.last < arguments.first:
        parser.error(f"--to {arguments.last} is before --from {arguments.first}")
    # SQLite would create an empty file, and the build would then fail on a
    # missing visits table.
    missing_file = (
        url.get_backend_name() == "sqlite"
        and url.database not in (None, "", ":memory:")
        and not url.database.startswith("file:")
        and not Path(url.database).exists()
    )
    if missing_file:
        parser.error(
            f"--db names the SQLite file {url.database}, which does not exist; "
            "give the file that data_access.load or fixtures.demo wrote"
        )

    engine = create_engine(url)
    started = time.perf_counter()
    stops = StopSignals()
    try:
        with stops:
            weeks = build_summaries(
                engine, arguments.first, arguments.last, settings, arguments.workers
            )
            empty = _rows_in_weeks(engine, weeks) == 0
    except KeyboardInterrupt:
        return _interrupted(stops.exit_code or 128 + signal.SIGINT)
    except sa.exc.SQLAlchemyError as error:
        if stops.exit_code is not None:
            return _interrupted(stops.exit_code)
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        print(
            f"Building the summaries in {url.render_as_string(hide_password=True)} "
            f"failed: {reason}. Weeks finished before the failure are kept, and "
            "the pages count what the build left out from the raw tables or the "
            "other summary tables, more slowly.",
            file=sys.stderr,
        )
        return 1
    finally:
        engine.dispose()
    noun = "week" if len(weeks) == 1 else "weeks"
    print(
        f"built {len(weeks)} summary {noun}, {weeks[0]} to "
        f"{weeks[-1] + timedelta(days=6)}, in {time.perf_counter() - started:.1f} s"
    )
    if empty:
        print(
            "Warning: those weeks have no visits or orders in the "
            f"{settings.timezone} time zone; check --from, --to and --timezone.",
            file=sys.stderr,
        )
    return 0


def _interrupted(exit_code: int) -> int:
    """Print that the build was stopped and return exit_code."""
    print(
        "Building the summaries was interrupted. Weeks finished before the "
        "interruption are kept, and the pages count what the build left out "
        "from the raw tables or the other summary tables, more slowly. Run the "
        "command again to build the rest.",
        file=sys.stderr,
    )
    return exit_code


def _rows_in_weeks(engine: sa.Engine, week_starts: list[date]) -> int:
    """Sum the raw visits and orders that summary_weeks recorded for the weeks."""
    weeks = schema.summary_weeks
    total = sa.func.coalesce(sa.func.sum(weeks.c.visit_rows + weeks.c.order_rows), 0)
    with engine.connect() as connection:
        return connection.execute(
            sa.select(total).where(weeks.c.week_start.in_(week_starts))
        ).scalar_one()


if __name__ == "__main__":
    sys.exit(main())
