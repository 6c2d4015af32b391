"""Period queries read from the summary tables, and the choice between
them and the raw tables.

The summary tables cover a period made of whole weeks (starting on the
settings' week_start) when every one of those weeks was built under the same
settings and neither its visits and orders nor the active outlets have changed
in number since. Otherwise the raw tables are read, with the same numbers, only
slower. read_rep_activity and read_outlet_activity make that choice; the
functions named *_from_summaries assume the summaries cover the period.
"""

import contextvars
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from data_access import outlet_trend, queries, schema
from data_access.dialect import code_point_order, day_number, unindexed
from data_access.filters import Period, Scope, Settings
from data_access.period_sql import (
    PeriodSQL,
    RepDates,
    keeps_rep_rows,
    local_day,
    rep_ids_near_territories,
    scoped_outlet_conditions,
    scoped_outlet_ids,
    scoped_rep_conditions,
    scoped_rep_ids,
    scoped_territory_ids,
    territory_on,
)
from data_access.queries import (
    fetch_frame,
    last_visit_check_in,
    outlet_last_check_in,
)
from data_access.sql_types import BIGINT, DATE
from data_access.summaries import (
    HISTORY_WEEKS,
    REP_DAY_COUNTS,
    REP_DAY_VISIT_COUNTS,
    active_outlet_count,
    built_under,
    missing_summary_columns,
    raw_week_row_counts,
    rep_day_rows,
    summary_weeks_between,
    week_counts,
)

log = logging.getLogger(__name__)

reps = schema.reps
rep_territories = schema.rep_territories
outlets = schema.outlets
visits = schema.visits
beats = schema.beats
beat_outlets = schema.beat_outlets
summary_weeks = schema.summary_weeks
rep_days = schema.summary_rep_days
rep_outlet_weeks = schema.summary_rep_outlet_weeks
outlet_weeks = schema.summary_outlet_weeks
territory_weeks = schema.summary_territory_weeks

# The project's virtualenv, as in the README: a system Python lacks pandas.
REFRESH_HINT = (
    ".venv/bin/python -m data_access.summaries --db URL --from {start} --to {end}"
)


@dataclass(frozen=True)
class SummaryStatus:
    """Whether the summary tables cover a period.

    usable: they do, so the *_from_summaries functions give the raw numbers.
    stale: they cover the period but its visits, orders or active outlets
        changed in number since they were built; the raw tables are read instead.
    built_at: the oldest build time of the period's weeks (naive UTC), or
        None when some week is missing.
    older_layout: True when an older version built the summary tables, so
        they lack columns of the current layout. The raw tables are read until
        `python -m data_access.summaries` rebuilds them.
    uncovered: True when the period is whole weeks that the summaries could
        serve, but a week of it has none built under the settings.
    """

    usable: bool
    stale: bool = False
    built_at: object = None
    older_layout: bool = False
    uncovered: bool = False

    def message(self, period: Period, settings: Settings | None = None) -> str | None:
        """Return one sentence for the page when the summaries are stale or of
        an older layout, else None.

        With settings, the command carries the options of the settings that
        differ from the defaults: summaries built under other settings are
        not used, so a command without them would leave the raw tables read.
        """
        command = refresh_command(period, settings)
        if self.older_layout:
            return (
                "The summary tables were built by an older version of Beatboard, so "
                "this page reads the raw visits and orders, which is slower; run "
                f"`{command}` to rebuild them."
            )
        if not self.stale:
            return None
        return (
            "The summary tables are out of date for these weeks, so this page reads "
            f"the raw visits and orders, which is slower; run `{command}` to refresh them."
        )


def refresh_command(period: Period, settings: Settings | None = None) -> str:
    """Return the command that builds the summaries of period under settings."""
    command = REFRESH_HINT.format(start=period.start, end=period.end)
    if settings is None:
        return command
    defaults = Settings()
    options = [
        ("--timezone", settings.timezone, defaults.timezone),
        ("--week-start", settings.week_start, defaults.week_start),
        ("--off-site-m", settings.off_site_m, defaults.off_site_m),
        (
            "--duplicate-window-s",
            settings.duplicate_window_s,
            defaults.duplicate_window_s,
        ),
        ("--neglect-days", settings.neglect_days, defaults.neglect_days),
        (
            "--neglect-days-by-class",
            ",".join(f"{name}={days}" for name, days in settings.neglect_days_by_class),
            "",
        ),
        ("--max-visit-hours", settings.max_visit_hours, defaults.max_visit_hours),
        ("--max-speed-kmh", settings.max_speed_kmh, defaults.max_speed_kmh),
    ]
    for flag, value, default in options:
        if value != default:
            text = f"{value:g}" if isinstance(value, float) else str(value)
            command += f" {flag} {text}"
    return command


def is_whole_weeks(period: Period, settings: Settings) -> bool:
    """True when the period is one or more whole weeks starting on week_start."""
    days = (period.end - period.start).days + 1
    return period.start.isoweekday() == settings.week_start and days % 7 == 0


def summary_status(
    engine: sa.Engine, period: Period, settings: Settings
) -> SummaryStatus:
    """Tell whether the summary tables cover the period under these settings."""
    if not is_whole_weeks(period, settings) or settings.timezone != period.timezone:
        return SummaryStatus(usable=False)
    with engine.connect() as connection:
        has_weeks, older_layout = _summary_layout_once(engine, connection)
        if not has_weeks:
            return SummaryStatus(usable=False, uncovered=True)
        if older_layout:
            return SummaryStatus(usable=False, older_layout=True)
        built = connection.execute(
            sa.select(summary_weeks).where(
                summary_weeks.c.week_start.between(period.start, period.end)
            )
        ).all()
        weeks = (period.end - period.start).days // 7 + 1
        if len(built) != weeks or not all(built_under(row, settings) for row in built):
            return SummaryStatus(usable=False, uncovered=True)
        by_week = {
            Period(
                row.week_start, row.week_start + timedelta(days=6), period.timezone
            ): row
            for row in built
        }
        rows_now, active_now = _raw_counts(connection, engine, list(by_week))

    built_at = min(row.built_at for row in built)
    changed = any(
        (row.visit_rows, row.order_rows) != rows_now[week]
        or row.active_outlets != active_now
        for week, row in by_week.items()
    )
    if changed:
        log.warning(
            "summaries of %s to %s are stale: their row counts differ from the "
            "raw tables, which are read instead until python -m "
            "data_access.summaries builds these weeks again",
            period.start,
            period.end,
        )
        return SummaryStatus(usable=False, stale=True, built_at=built_at)
    return SummaryStatus(usable=True, built_at=built_at)


def split_by_summary_use(
    engine: sa.Engine,
    span: Period,
    settings: Settings,
    reach: Callable[[Period], Period] | None = None,
) -> list[Period]:
    """Split a span of whole weeks into runs that a weekly query reads one at
    a time, so that each week reads the tables a query of that week alone reads.

    summary_status serves a span only when all its weeks are usable, so one
    stale week sends the other weeks of the span to the raw tables, while
    each of them alone reads its summaries. The two differ for rows changed
    in place, such as an order value negated by another program, because the
    staleness check counts rows only. reach maps a period to the weeks a
    query reads for it, such as the order history before it. Without reach,
    a query reads the period itself. A run contains consecutive weeks whose
    own summaries, and those of their reach, are usable alike.
    """
    whole = summary_status(engine, span if reach is None else reach(span), settings)
    # Neither flag is set when the summaries serve the span, are of an older
    # layout, or cannot serve a span that is not whole weeks of the settings'
    # time zone. Each week alone then reads the same tables as the span.
    if not (whole.stale or whole.uncovered):
        return [span]
    runs: list[tuple[tuple[bool, bool], Period]] = []
    for week in summary_weeks_between(span.start, span.end, settings):
        usable = summary_status(engine, week, settings).usable
        reach_usable = usable
        if reach is not None:
            reach_usable = summary_status(engine, reach(week), settings).usable
        uses = (usable, reach_usable)
        if runs and runs[-1][0] == uses:
            runs[-1] = (uses, Period(runs[-1][1].start, week.end, span.timezone))
        else:
            runs.append((uses, week))
    return [run for _, run in runs]


# Visits a week from which a page read from the raw tables suggests building
# the summaries. Without summaries the Overview of a company of
# 200 reps (10,700 visits a week) took 19 to 21 s cold, and that of the
# 48-rep demo (2,500 a week) 5 s, against 0.64 s with the demo's summaries.
SUMMARY_HINT_VISITS_PER_WEEK = 5_000
# Weeks before a period that the suggested command builds too: the
# Overview's 13-week trend ends with the period's last week, and prices the
# skipped calls of each of its weeks from the HISTORY_WEEKS weeks before it.
# Built for the period alone, the summaries left the trend on the raw tables.
SUMMARY_HINT_WEEKS_BEFORE = 12 + HISTORY_WEEKS


def uncovered_message(
    engine: sa.Engine, period: Period, settings: Settings
) -> str | None:
    """Return one sentence for the page when the summaries do not cover a
    period of whole weeks with SUMMARY_HINT_VISITS_PER_WEEK visits a week or
    more, else None. Call it when summary_status(...).uncovered is True."""
    weeks = summary_weeks_between(period.start, period.end, settings)
    with engine.connect() as connection:
        rows, _ = _raw_counts(connection, engine, weeks, with_active_outlets=False)
    visit_rows = sum(visit_count for visit_count, _ in rows.values())
    if visit_rows < SUMMARY_HINT_VISITS_PER_WEEK * len(weeks):
        return None
    reach = Period(
        period.start - timedelta(weeks=SUMMARY_HINT_WEEKS_BEFORE),
        period.end,
        period.timezone,
    )
    return (
        "The summary tables do not cover these weeks, so this page reads the raw "
        "visits and orders, which is slower; run "
        f"`{refresh_command(reach, settings)}` to build them, with the "
        f"{SUMMARY_HINT_WEEKS_BEFORE} weeks before that the Overview's trend reads."
    )


def _summary_layout_once(
    engine: sa.Engine, connection: sa.Connection
) -> tuple[bool, bool]:
    """Return _summary_layout, read once per sharing_counts block."""
    return read_once_per_run(
        engine, "summary layout", lambda: _summary_layout(connection)
    )


def _summary_layout(connection: sa.Connection) -> tuple[bool, bool]:
    """Return whether summary_weeks exists, and whether a summary table lacks
    a column of the current layout."""
    if not sa.inspect(connection).has_table(summary_weeks.name):
        return False, False
    return True, bool(missing_summary_columns(connection))


# Raw row counts shared by the queries of one page run


@dataclass
class SharedCounts:
    """Raw row counts of one page run, and the lock that guards them.

    counts maps (engine URL, week) to a Future of (visit_rows, order_rows),
    and (engine URL, None) to a Future of the number of active outlets. The
    thread that first needs a count makes its Future and counts it, and the
    others wait for that Future alone. facts maps (engine URL, name) to a
    Future of the value of read_once_per_run, kept the same way.
    """

    counts: dict[tuple[sa.URL, Period | None], Future] = field(default_factory=dict)
    facts: dict[tuple[sa.URL, str], Future] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def claim(self, values: dict, keys: list) -> tuple[dict[Any, Future], list[Any]]:
        """Return the Future of each key in values, and the keys this thread
        made a Future for and must now set. The Futures are made directly,
        as placeholders that other threads wait on."""
        with self.lock:
            claimed = [key for key in keys if key not in values]
            for key in claimed:
                values[key] = Future()
            return {key: values[key] for key in keys}, claimed

    def fail(
        self,
        values: dict,
        futures: dict[Any, Future],
        claimed: list,
        error: BaseException,
    ) -> None:
        """Pass error to the threads that wait for the claimed keys not yet
        set, and forget those keys, so that a later call reads them again."""
        with self.lock:
            for key in claimed:
                if not futures[key].done():
                    futures[key].set_exception(error)
                    del values[key]


_shared_counts: ContextVar[SharedCounts | None] = ContextVar(
    "shared_counts", default=None
)


@contextmanager
def sharing_counts() -> Iterator[None]:
    """Let summary_status count each week's raw rows once inside the block.

    A cold Overview calls summary_status 13 times for seven overlapping
    periods, and each call counted the visits and orders of all its weeks:
    about 80 national weeks of index entries where 21 weeks are distinct.
    The block sees one consistent set of counts. A thread started inside it
    shares them when it runs in a copy of the context
    (contextvars.copy_context). A block inside another shares the outer
    block's counts.
    """
    if _shared_counts.get() is not None:
        yield
        return
    token = _shared_counts.set(SharedCounts())
    try:
        yield
    finally:
        _shared_counts.reset(token)


def read_once_per_run(engine: sa.Engine, name: str, read: Callable[[], Any]) -> Any:
    """Return read(), called once per sharing_counts block for the engine and
    name, and on every call outside one.

    For the tables and their layout, which summary_status checks for each of
    a page's queries: on PostgreSQL each check is a catalog query, about 10
    of them for every summary_status. A read that fails is tried again by
    the next call. read must not ask for its own name, which would wait for
    itself.
    """
    shared = _shared_counts.get()
    if shared is None:
        return read()
    key = (engine.url, name)
    # The read runs outside the lock: it may take a connection of the pool,
    # which the threads waiting for the lock could otherwise hold up.
    futures, claimed = shared.claim(shared.facts, [key])
    if claimed:
        try:
            futures[key].set_result(read())
        except BaseException as error:
            shared.fail(shared.facts, futures, claimed, error)
            raise
    return futures[key].result()


def _raw_counts(
    connection: sa.Connection,
    engine: sa.Engine,
    weeks: list[Period],
    with_active_outlets: bool = True,
) -> tuple[dict[Period, tuple[int, int]], int | None]:
    """Return each week's (visit_rows, order_rows) and the number of active
    outlets, None when with_active_outlets is False. Inside sharing_counts,
    counts made earlier in the block are reused."""
    shared = _shared_counts.get() or SharedCounts()
    outlets_key = (engine.url, None)
    # The latest week first: it is the page's own week, which most of the
    # page's queries need, while the trend's thread may have claimed all 21
    # weeks. Counted together, they kept the week's queries waiting about
    # 0.4 s in a trace of a cold national Overview on PostgreSQL.
    ordered = sorted(weeks, key=lambda week: week.start, reverse=True)
    needed = [(engine.url, week) for week in ordered]
    if with_active_outlets:
        needed.append(outlets_key)
    futures, claimed = shared.claim(shared.counts, needed)
    claimed_weeks = [key[1] for key in claimed if key[1] is not None]
    # The latest week alone when this thread counts it, then the others in
    # one statement, because on PostgreSQL each statement starts its own
    # parallel workers.
    alone = 1 if claimed_weeks and claimed_weeks[:1] == ordered[:1] else 0
    try:
        if alone:
            _set_week_counts(futures, engine, connection, claimed_weeks[:1])
        if outlets_key in claimed:
            futures[outlets_key].set_result(active_outlet_count(connection))
        if claimed_weeks[alone:]:
            _set_week_counts(futures, engine, connection, claimed_weeks[alone:])
    except BaseException as error:
        # The threads that wait for these counts raise the same error.
        shared.fail(shared.counts, futures, claimed, error)
        raise
    rows = {week: futures[(engine.url, week)].result() for week in weeks}
    if not with_active_outlets:
        return rows, None
    return rows, futures[outlets_key].result()


def _set_week_counts(
    futures: dict, engine: sa.Engine, connection: sa.Connection, weeks: list[Period]
) -> None:
    for week, found in raw_week_row_counts(connection, weeks).items():
        futures[(engine.url, week)].set_result(found)


# The choice


def read_rep_activity(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """queries.rep_activity, from the summary tables when they cover the period.

    summary_rep_outlet_weeks has no territory per day, so a region or
    territory limit over a rep_territories history reads the summaries only
    when no rep of the scope changes territory inside the period. Then each
    rep's territory is the same on every date, and the limit is a set of reps.
    Otherwise it reads the raw tables, which follow the territory of each date.
    """
    if not summary_status(engine, period, settings).usable:
        return queries.rep_activity(engine, period, scope, settings)
    if not _history_scope(engine, scope, period):
        return rep_activity_from_summaries(engine, period, scope, settings)
    with engine.connect() as connection:
        settled = not connection.execute(
            sa.select(sa.exists(_territory_changes(scope, period)))
        ).scalar()
        if not settled:
            return queries.rep_activity(engine, period, scope, settings)
        # The ids are read first and bound as a list, because PostgreSQL ran the
        # territory look-ups once per summary row when they were a subquery
        # (1.5 s in place of 0.15 s for a national region's week).
        found = connection.execute(_reps_in_territories_on(scope, period)).scalars()
        rep_ids = sa.select(reps.c.rep_id).where(reps.c.rep_id.in_(list(found)))
    return rep_activity_from_summaries(engine, period, scope, settings, rep_ids=rep_ids)


def _territory_changes(scope: Scope, period: Period) -> sa.Select:
    """Select the rep_territories rows of the scope's reps that start or end
    inside the period.

    Each such row means that the rep's territory differs between two dates
    of the period.
    """
    near_reps = rep_ids_near_territories(scope, period)
    return sa.select(rep_territories.c.rep_id).where(
        rep_territories.c.rep_id.in_(near_reps),
        sa.or_(
            rep_territories.c.valid_from.between(
                period.start + timedelta(days=1), period.end
            ),
            rep_territories.c.valid_to.between(
                period.start, period.end - timedelta(days=1)
            ),
        ),
    )


def _reps_in_territories_on(scope: Scope, period: Period) -> sa.Select:
    """Select the scope's reps whose territory on the period's first date is in
    scope.

    Callers use it only when no territory changes inside the period, so that
    territory is the rep's territory on every date.
    """
    near_reps = rep_ids_near_territories(scope, period).subquery("near_reps")
    territory = territory_on(near_reps.c.rep_id, sa.literal(period.start, DATE))
    return sa.select(near_reps.c.rep_id).where(
        territory.in_(scoped_territory_ids(scope))
    )


def read_outlet_activity(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    settings: Settings,
    outlet_conditions: tuple[sa.ColumnElement[bool], ...] = (),
) -> pd.DataFrame:
    """queries.outlet_activity, from the summary tables when they cover the period."""
    if summary_status(engine, period, settings).usable:
        return outlet_activity_from_summaries(
            engine, period, scope, settings, outlet_conditions
        )
    return queries.outlet_activity(engine, period, scope, settings, outlet_conditions)


def _has_no_territory_in(scope: Scope) -> sa.ColumnElement[bool]:
    """The condition on outlets that their territory_id is missing or not a
    territory of the scope: the outlets of a territories report's Unassigned row."""
    return sa.or_(
        outlets.c.territory_id.is_(None),
        outlets.c.territory_id.not_in(scoped_territory_ids(scope)),
    )


def read_unassigned_outlet_activity(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """read_outlet_activity for the active outlets in scope that belong to no
    territory of the scope: no territory_id, or one the territories table
    lacks. They are the outlets of a territories report's Unassigned row.
    """
    unassigned = _has_no_territory_in(scope)
    candidates = sa.select(outlets.c.outlet_id).where(
        schema.is_active(outlets), *scoped_outlet_conditions(scope), unassigned
    )
    with engine.connect() as connection:
        found = connection.execute(sa.select(sa.exists(candidates))).scalar()
    log.info("query unassigned_outlets_exist: %s", found)
    if not found:
        # Most companies put every outlet in a territory, and a region or
        # territory scope has no such outlet at all. PostgreSQL joined the
        # week's 120,000 outlet rows before it filtered them to none: 0.08 s
        # alone, 0.25 s on a cold Overview's busy cores. The false condition
        # returns the same empty frame at once.
        unassigned = sa.false()
    return read_outlet_activity(engine, period, scope, settings, (unassigned,))


# Reads


def _has_rep_week_index(engine: sa.Engine) -> bool:
    with engine.connect() as connection:
        return sa.inspect(connection).has_index(rep_outlet_weeks.name, REP_WEEK_INDEX)


def _day_sums(period: Period, rep_ids: sa.Select) -> sa.CTE:
    return (
        sa.select(
            rep_days.c.rep_id,
            *(sa.func.sum(rep_days.c[name]).label(name) for name in REP_DAY_COUNTS),
        )
        .where(
            rep_days.c.day.between(period.start, period.end),
            rep_days.c.rep_id.in_(rep_ids),
        )
        .group_by(rep_days.c.rep_id)
        .cte("summary_day_sums")
    )


def _stored_outlet_counts(week: Period, rep_ids: sa.Select) -> sa.CTE:
    """Read the planned and skipped outlets per rep of one week from
    summary_rep_weeks, as _outlet_counts counts them. A rep without planned
    outlets has no row."""
    rep_weeks = schema.summary_rep_weeks
    return (
        sa.select(
            rep_weeks.c.rep_id,
            rep_weeks.c.planned_outlets,
            rep_weeks.c.skipped_outlets,
        )
        .where(
            rep_weeks.c.week_start == week.start,
            rep_weeks.c.rep_id.in_(rep_ids),
        )
        .cte("summary_outlet_counts")
    )


def _outlet_counts(period: Period, rep_ids: sa.Select, per_rep: bool) -> sa.CTE:
    """Count planned_outlets and skipped_outlets per rep over the period's weeks.

    per_rep groups each rep's rows on its own and needs REP_WEEK_INDEX, without
    which it would scan the period's rows once per rep.
    """
    if per_rep:
        return _outlet_counts_per_rep(period, rep_ids)
    return _grouped_outlet_counts(period, rep_ids)


# The index that gives one rep's summary_rep_outlet_weeks rows of a period.
REP_WEEK_INDEX = "ix_summary_rep_outlet_weeks_rep_week"

# A correlated scalar subquery returns one value, and SQLite has no LATERAL
# join, so a rep's two counts travel as planned * OUTLET_COUNT_BASE + skipped.
# Both counts are at most the number of outlets, far below 2**31, so the packed
# value fits a signed 64-bit integer.
OUTLET_COUNT_BASE = 1 << 32


def _outlet_counts_per_rep(period: Period, rep_ids: sa.Select) -> sa.CTE:
    """Count each rep's planned and skipped outlets with one subquery per rep.

    The subquery reads the rep's rows through REP_WEEK_INDEX and groups a few
    hundred of them by outlet. Grouping every rep's rows at once makes SQLite
    sort all of them: for the national demo company's quarter (1.55 million
    rows), rep_activity_from_summaries took 1.24 s that way and 0.53 s rep by
    rep (SQLite 3.40, 2-core Xeon).
    """
    pairs = (
        sa.select(
            rep_outlet_weeks.c.outlet_id,
            sa.func.sum(rep_outlet_weeks.c.planned_calls).label("planned_calls"),
            sa.func.sum(rep_outlet_weeks.c.visits).label("visits"),
        )
        .where(
            rep_outlet_weeks.c.rep_id == reps.c.rep_id,
            rep_outlet_weeks.c.week_start.between(period.start, period.end),
        )
        .group_by(rep_outlet_weeks.c.outlet_id)
        .correlate(reps)
        .subquery("summary_rep_outlets")
    )
    # Typed BIGINT, because in count() * base SQLAlchemy would bind the int
    # with count()'s INTEGER type, which PostgreSQL rejects as out of range.
    base = sa.literal(OUTLET_COUNT_BASE, BIGINT)
    skipped = sa.func.sum(sa.case((pairs.c.visits == 0, 1), else_=0))
    packed = (
        sa.select(sa.func.count() * base + sa.func.coalesce(skipped, 0))
        .where(pairs.c.planned_calls > 0)
        .scalar_subquery()
    )
    # Materialized, so that the two columns below do not run the subquery twice.
    counts = (
        sa.select(reps.c.rep_id, packed.label("packed"))
        .where(reps.c.rep_id.in_(rep_ids))
        .cte("summary_packed_outlet_counts")
        .prefix_with("MATERIALIZED")
    )
    return sa.select(
        counts.c.rep_id,
        (counts.c.packed // base).label("planned_outlets"),
        (counts.c.packed % base).label("skipped_outlets"),
    ).cte("summary_outlet_counts")


def _grouped_outlet_counts(period: Period, rep_ids: sa.Select) -> sa.CTE:
    """Count each rep's planned and skipped outlets with one grouping of all
    reps' rows, which needs no index beyond the primary key."""
    pairs = (
        sa.select(
            rep_outlet_weeks.c.rep_id,
            rep_outlet_weeks.c.outlet_id,
            sa.func.sum(rep_outlet_weeks.c.planned_calls).label("planned_calls"),
            sa.func.sum(rep_outlet_weeks.c.visits).label("visits"),
        )
        .where(
            rep_outlet_weeks.c.week_start.between(period.start, period.end),
            rep_outlet_weeks.c.rep_id.in_(rep_ids),
        )
        .group_by(rep_outlet_weeks.c.rep_id, rep_outlet_weeks.c.outlet_id)
        .subquery("summary_rep_outlets")
    )
    return (
        sa.select(
            pairs.c.rep_id,
            sa.func.count().label("planned_outlets"),
            sa.func.sum(sa.case((pairs.c.visits == 0, 1), else_=0)).label(
                "skipped_outlets"
            ),
        )
        .where(pairs.c.planned_calls > 0)
        .group_by(pairs.c.rep_id)
        .cte("summary_outlet_counts")
    )


def rep_activity_from_summaries(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    settings: Settings,
    rep_ids: sa.Select | None = None,
) -> pd.DataFrame:
    """The frame of queries.rep_activity, read from summary_rep_days and
    summary_rep_outlet_weeks. The period must be whole summarised weeks.

    rep_ids, when given, selects the reps in place of the scope's conditions.
    """
    conditions = scoped_rep_conditions(scope)
    if rep_ids is None:
        rep_ids = scoped_rep_ids(scope)
    else:
        conditions = [reps.c.rep_id.in_(rep_ids)]
    # Summary tables built by an older version lack REP_WEEK_INDEX until the
    # next build_summaries adds it.
    per_rep = read_once_per_run(
        engine, "rep-week index", lambda: _has_rep_week_index(engine)
    )
    sums = _day_sums(period, rep_ids)
    if _week_count(period) == 1 and rep_weeks_cover(engine, period):
        # summary_rep_weeks stores the week's counts per rep: 2,000 rows of a
        # national week in place of grouping its 119,000 rep-outlet rows.
        pairs = _stored_outlet_counts(period, rep_ids)
    else:
        pairs = _outlet_counts(period, rep_ids, per_rep)

    def count(column: sa.ColumnElement, name: str) -> sa.Label:
        return sa.func.coalesce(column, 0).label(name)

    columns = {name: count(sums.c[name], name) for name in REP_DAY_COUNTS}
    columns["planned_outlets"] = count(pairs.c.planned_outlets, "planned_outlets")
    columns["skipped_outlets"] = count(pairs.c.skipped_outlets, "skipped_outlets")
    order = [
        "visits", "productive_visits", "order_lines", "off_beat_visits",
        "off_site_visits", "visits_without_fix", "planned_calls", "calls_on_plan",
        "planned_outlets", "skipped_outlets", "order_value", "orders",
        "return_value", "order_rows",
    ]  # fmt: skip
    statement = (
        sa.select(
            reps.c.rep_id,
            reps.c.name.label("rep_name"),
            reps.c.territory_id,
            reps.c.manager_id,
            schema.is_active(reps).label("active"),
            *(columns[name] for name in order),
        )
        .select_from(
            reps.outerjoin(sums, sums.c.rep_id == reps.c.rep_id).outerjoin(
                pairs, pairs.c.rep_id == reps.c.rep_id
            )
        )
        .where(*conditions)
        .order_by(code_point_order(reps.c.rep_id))
    )
    frame = fetch_frame(engine, "rep_activity_from_summaries", statement)
    frame["active"] = frame["active"].astype(bool)
    for name in order:
        kind = float if name.endswith("_value") else "int64"
        frame[name] = frame[name].astype(kind)
    return frame


def outlet_activity_from_summaries(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    settings: Settings,
    outlet_conditions: tuple[sa.ColumnElement[bool], ...] = (),
) -> pd.DataFrame:
    """The frame of queries.outlet_activity, read from summary_outlet_weeks; the
    period must be whole summarised weeks.

    The weekly sums cover every outlet, unless outlet_conditions narrow them;
    the outer query keeps the scoped ones. An outlet visited in the period's
    last week takes its last visit date from that week's row, because the
    lookback of last visits ends with the period. Only the others look up
    their last check-in in the visits: for the national week 45,000 of
    152,536 outlets.
    """
    sums, sums_of_outlet = _outlet_week_sums(period, outlet_conditions)
    source = outlets.outerjoin(sums, sums_of_outlet)
    last_week = outlet_weeks
    if sums is not outlet_weeks:
        last_week = outlet_weeks.alias("last_week")
        source = source.outerjoin(
            last_week,
            sa.and_(
                last_week.c.week_start == period.end - timedelta(days=6),
                last_week.c.outlet_id == outlets.c.outlet_id,
            ),
        )
    known_day = last_week.c.last_visit_date
    check_in = last_visit_check_in(
        outlets.c.outlet_id, period, settings.duplicate_window_s
    )
    statement = (
        sa.select(
            outlets.c.outlet_id,
            outlets.c.name.label("outlet_name"),
            outlets.c.territory_id,
            outlets.c.channel,
            outlets.c.outlet_class,
            outlets.c.latitude,
            outlets.c.longitude,
            sa.func.coalesce(sums.c.visits, 0).label("visits"),
            sa.case((sums.c.planned_calls > 0, True), else_=False).label("planned"),
            sa.case(
                (_is_on_beat(outlets.c.outlet_id, period), True), else_=False
            ).label("on_beat"),
            sa.case((known_day.is_(None), check_in), else_=None).label("last_check_in"),
            sa.func.coalesce(sums.c.order_value, 0).label("order_value"),
            known_day.label("last_visit_day"),
        )
        .select_from(source)
        .where(
            schema.is_active(outlets),
            *scoped_outlet_conditions(scope),
            *outlet_conditions,
        )
        .order_by(code_point_order(outlets.c.outlet_id))
    )
    # Conditions narrow the read to a few outlets, such as those of no
    # territory, which one connection reads sooner than two halves.
    return queries.fetch_outlet_activity(
        engine,
        "outlet_activity_from_summaries",
        statement,
        settings.timezone,
        in_halves=not outlet_conditions,
        scope_conditions=scoped_outlet_conditions(scope),
    )


def _outlet_week_sums(
    period: Period, outlet_conditions: tuple[sa.ColumnElement[bool], ...]
) -> tuple[sa.FromClause, sa.ColumnElement[bool]]:
    """Return a source of outlet_id, visits, planned_calls and order_value
    summed over the period's weeks of summary_outlet_weeks, and the condition
    that joins an outlet to its row of it.

    A one-week period joins the week's rows as they are, because the
    primary key gives each outlet one row a week, so each outlet seeks its
    row. Grouping made SQLite sort the week's rows and index them again: the
    national week's statement took 0.62 s with grouping and 0.48 s without,
    counted in the database alone at load average 2.6.
    """
    if _week_count(period) == 1:
        joined = sa.and_(
            outlet_weeks.c.week_start == period.start,
            outlet_weeks.c.outlet_id == outlets.c.outlet_id,
        )
        return outlet_weeks, joined
    in_period = [outlet_weeks.c.week_start.between(period.start, period.end)]
    if outlet_conditions:
        chosen = sa.select(outlets.c.outlet_id).where(*outlet_conditions)
        in_period.append(outlet_weeks.c.outlet_id.in_(chosen))
    sums = (
        sa.select(
            outlet_weeks.c.outlet_id,
            sa.func.sum(outlet_weeks.c.visits).label("visits"),
            sa.func.sum(outlet_weeks.c.planned_calls).label("planned_calls"),
            sa.func.sum(outlet_weeks.c.order_value).label("order_value"),
        )
        .where(*in_period)
        .group_by(outlet_weeks.c.outlet_id)
        .cte("summary_outlet_sums")
    )
    return sums, sums.c.outlet_id == outlets.c.outlet_id


def _is_on_beat(outlet_id: sa.ColumnElement, period: Period) -> sa.ColumnElement[bool]:
    """Test whether the outlet is on a beat that overlaps the period, as the
    on_beat column of queries.outlet_activity does. Written as IN, both
    engines read the beats' outlets once into a set that each outlet probes,
    where a join to the distinct outlets made SQLite sort and index them."""
    return outlet_id.in_(queries.beat_outlet_ids(period))


# Week by week


def _week_index(day: sa.ColumnElement, period: Period) -> sa.ColumnElement[int]:
    first_day = (period.start - date(1970, 1, 1)).days
    return (day_number(day) - first_day) // 7


def _with_week_start(frame: pd.DataFrame, period: Period) -> pd.DataFrame:
    offsets = pd.to_timedelta(frame.pop("week_index").astype("int64") * 7, unit="D")
    frame.insert(0, "week_start", (pd.Timestamp(period.start) + offsets).dt.date)
    return frame


def weekly_rep_activity(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Count each scoped rep's activity week by week over a period of whole weeks.

    One row per week and rep with activity. Columns: week_start, rep_id,
    territory_id (the rep's territory on the week's days, from the
    rep_territories history when it exists), then the day counts
    (visits, productive_visits, order_lines, off_beat_visits,
    off_site_visits, visits_without_fix, planned_calls, calls_on_plan,
    order_value, orders, return_value, order_rows). Summed over a week, they
    equal the reps report of that week. Read from summary_rep_days when the
    summaries cover the period, else computed from the raw tables.
    """
    if not is_whole_weeks(period, settings):
        raise ValueError(
            f"{period.start} to {period.end} is not whole weeks starting on ISO "
            f"weekday {settings.week_start}; give the first day of a week and a "
            "multiple of 7 days"
        )
    # Over a history, a region or territory limit keeps the rep-days whose
    # territory_id (the rep's territory on that date) is in scope.
    by_day = _history_scope(engine, scope, period)
    if by_day:
        rep_ids = rep_ids_near_territories(scope, period)
    else:
        rep_ids = scoped_rep_ids(scope)
    if summary_status(engine, period, settings).usable:
        days = rep_days.select().where(
            rep_days.c.day.between(period.start, period.end),
            rep_days.c.rep_id.in_(rep_ids),
        )
        name = "weekly_rep_activity_from_summaries"
    else:
        rows = rep_day_rows(
            PeriodSQL(period, settings, rep_ids=rep_ids),
            settings,
            _has_history(engine),
        )
        days = rows.where(rows.selected_columns.rep_id.in_(rep_ids))
        name = "weekly_rep_activity"
    if by_day:
        in_scope = scoped_territory_ids(scope)
        days = days.where(days.selected_columns.territory_id.in_(in_scope))
    days = days.subquery("rep_day_rows")

    week_index = _week_index(days.c.day, period).label("week_index")
    statement = (
        sa.select(
            week_index,
            days.c.rep_id,
            sa.func.max(code_point_order(days.c.territory_id)).label("territory_id"),
            *(sa.func.sum(days.c[count]).label(count) for count in REP_DAY_COUNTS),
        )
        .group_by(week_index, days.c.rep_id)
        .order_by(week_index, code_point_order(days.c.rep_id))
    )
    frame = fetch_frame(engine, name, statement)
    for count in REP_DAY_COUNTS:
        frame[count] = frame[count].astype(
            float if count.endswith("_value") else "int64"
        )
    return _with_week_start(frame, period)


def weekly_outlet_marks(period: Period, outlet_ids: sa.Select) -> tuple[sa.CTE, sa.CTE]:
    """Read which outlets were visited and which were planned, week by week,
    from summary_outlet_weeks; the period must be whole summarised weeks.

    Returns two CTEs of (outlet_id, week_index) rows, week_index 0 being the
    week of period.start: the outlets of outlet_ids visited by anyone in the
    week, and those with a planned call in it. These are the
    weekly_visited_outlets and weekly_planned_outlets of
    review_queries.weekly_outlet_figures.
    """
    in_period = sa.and_(
        outlet_weeks.c.week_start.between(period.start, period.end),
        outlet_weeks.c.outlet_id.in_(outlet_ids),
    )
    week_index = _week_index(outlet_weeks.c.week_start, period).label("week_index")
    # Grouped although each (outlet, week) row is unique, so that SQLite
    # materializes the CTE and builds an automatic index on it for the join
    # with every outlet-week. Ungrouped, the 13-week national trend took 48 s
    # instead of 31 s on SQLite.
    visited = (
        sa.select(outlet_weeks.c.outlet_id, week_index)
        .where(in_period, outlet_weeks.c.visits > 0)
        .group_by(outlet_weeks.c.outlet_id, week_index)
        .cte("weekly_visited_outlets")
    )
    planned = (
        sa.select(outlet_weeks.c.outlet_id, week_index)
        .where(in_period, outlet_weeks.c.planned_calls > 0)
        .group_by(outlet_weeks.c.outlet_id, week_index)
        .cte("weekly_planned_outlets")
    )
    return visited, planned


def weekly_territory_coverage(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Active and visited outlets of each scoped territory, week by week.

    Columns: week_start, territory_id, active_outlets, visited_outlets (active
    outlets visited by anyone that week). Read from summary_territory_weeks
    when the summaries cover the period, else from the raw tables.
    """
    if summary_status(engine, period, settings).usable:
        statement = (
            sa.select(
                _week_index(territory_weeks.c.week_start, period).label("week_index"),
                territory_weeks.c.territory_id,
                territory_weeks.c.active_outlets,
                territory_weeks.c.visited_outlets,
            )
            .where(
                territory_weeks.c.week_start.between(period.start, period.end),
                territory_weeks.c.territory_id.in_(scoped_territory_ids(scope)),
                territory_weeks.c.active_outlets > 0,
            )
            .order_by(
                territory_weeks.c.week_start,
                code_point_order(territory_weeks.c.territory_id),
            )
        )
        frame = fetch_frame(
            engine, "weekly_territory_coverage_from_summaries", statement
        )
        return _with_week_start(frame, period)
    return _raw_weekly_coverage(engine, period, scope, settings)


def _raw_weekly_coverage(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    visited = queries.territory_week_visited_outlets(engine, period, scope, settings)
    active = fetch_frame(
        engine,
        "active_outlets_per_territory",
        sa.select(outlets.c.territory_id, sa.func.count().label("active_outlets"))
        .where(
            schema.is_active(outlets),
            outlets.c.territory_id.is_not(None),
            *scoped_outlet_conditions(scope),
        )
        .group_by(outlets.c.territory_id),
    )
    starts = [
        period.start + timedelta(weeks=n)
        for n in range((period.end - period.start).days // 7 + 1)
    ]
    grid = active.merge(pd.DataFrame({"week_start": starts}), how="cross")
    frame = grid.merge(visited, on=["territory_id", "week_start"], how="left")
    frame["visited_outlets"] = frame["visited_outlets"].fillna(0).astype("int64")
    frame["active_outlets"] = frame["active_outlets"].astype("int64")
    columns = ["week_start", "territory_id", "active_outlets", "visited_outlets"]
    return (
        frame[columns]
        .sort_values(["week_start", "territory_id"])
        .reset_index(drop=True)
    )


def _has_history(engine: sa.Engine) -> bool:
    from data_access.territory_history import has_rep_territories

    return has_rep_territories(engine)


def _history_scope(engine: sa.Engine, scope: Scope, period: Period) -> bool:
    from data_access.territory_history import scope_follows_history

    return scope_follows_history(engine, scope, period)


def read_territory_rep_activity(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """territory_history.territory_rep_activity, from summary_rep_days when the
    summaries cover the period.

    The summary rows carry the territory each rep belonged to on each day
    when they were built, so a change of the rep_territories history needs
    a rebuild of the summaries.
    """
    from data_access import territory_history

    if not summary_status(engine, period, settings).usable:
        return territory_history.territory_rep_activity(engine, period, scope, settings)

    known_reps = sa.select(reps.c.rep_id)
    if scope.rep_ids is not None:
        known_reps = known_reps.where(reps.c.rep_id.in_(scope.rep_ids))
    if scope.manager_id is not None:
        known_reps = known_reps.where(reps.c.manager_id == scope.manager_id)
    counts = ["visits", "productive_visits", "planned_calls", "calls_on_plan"]
    statement = (
        sa.select(
            rep_days.c.rep_id,
            rep_days.c.territory_id,
            *(sa.func.sum(rep_days.c[name]).label(name) for name in counts),
            sa.func.sum(rep_days.c.order_value).label("order_value"),
        )
        .where(
            rep_days.c.day.between(period.start, period.end),
            rep_days.c.rep_id.in_(known_reps),
            rep_days.c.territory_id.in_(scoped_territory_ids(scope)),
        )
        .group_by(rep_days.c.rep_id, rep_days.c.territory_id)
        # Rows with nothing to count: a day with only returns or orders of 0.
        .having(
            sa.or_(
                *(sa.func.sum(rep_days.c[name]) > 0 for name in counts),
                sa.func.sum(rep_days.c.order_value) > 0,
            )
        )
        .order_by(
            code_point_order(rep_days.c.rep_id),
            code_point_order(rep_days.c.territory_id),
        )
    )
    frame = fetch_frame(engine, "territory_rep_activity_from_summaries", statement)
    frame[counts] = frame[counts].astype("int64")
    frame["order_value"] = frame["order_value"].astype(float)
    return frame[territory_history.TERRITORY_ACTIVITY_COLUMNS]


def read_territory_week_visited_outlets(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """queries.territory_week_visited_outlets, from summary_territory_weeks when
    the summaries cover the period (whole weeks on week_start).

    summary_territory_weeks has no row for outlets without a territory_id,
    and the territories in scope leave out a territory_id the territories
    table lacks, so those outlets' weeks are counted from summary_outlet_weeks.
    While some weeks are stale, each run of split_by_summary_use is read
    apart, so a week counts as it does in a period of that week alone.
    """
    runs = split_by_summary_use(engine, period, settings)
    if len(runs) > 1:
        frames = [
            read_territory_week_visited_outlets(engine, run, scope, settings)
            for run in runs
        ]
        return _sorted_territory_weeks(
            [frame for frame in frames if not frame.empty] or frames[:1]
        )
    if not summary_status(engine, period, settings).usable:
        return queries.territory_week_visited_outlets(engine, period, scope, settings)
    coverage = weekly_territory_coverage(engine, period, scope, settings)
    visited = coverage[coverage["visited_outlets"] > 0]
    columns = ["territory_id", "week_start", "visited_outlets"]
    unassigned = _unassigned_week_visited_outlets(engine, period, scope)
    frames = [visited[columns]] if unassigned.empty else [unassigned, visited[columns]]
    return _sorted_territory_weeks(frames)


def _sorted_territory_weeks(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return (
        pd.concat(frames, ignore_index=True)
        .sort_values(["territory_id", "week_start"], na_position="first")
        .reset_index(drop=True)
    )


def _unassigned_week_visited_outlets(
    engine: sa.Engine, period: Period, scope: Scope
) -> pd.DataFrame:
    """Count the active outlets in scope visited per week whose territory_id is
    missing or not a territory of the scope (the outlets of the Unassigned row).

    Columns: territory_id (the outlets' own, possibly missing), week_start,
    visited_outlets; weeks without a visit have no row.
    """
    unassigned = _has_no_territory_in(scope)
    in_scope = [schema.is_active(outlets), *scoped_outlet_conditions(scope)]
    columns = ["territory_id", "week_start", "visited_outlets"]
    # Most companies have no such outlet, and the weeks' rows of every outlet
    # would be read to find none: 0.9 s for the national demo's 13 weeks.
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(sa.exists().where(*in_scope, unassigned))
        ).scalar()
    if not found:
        return pd.DataFrame(columns=columns)
    statement = (
        sa.select(
            outlets.c.territory_id,
            outlet_weeks.c.week_start,
            sa.func.count().label("visited_outlets"),
        )
        .select_from(
            outlet_weeks.join(outlets, outlets.c.outlet_id == outlet_weeks.c.outlet_id)
        )
        .where(
            outlet_weeks.c.week_start.between(period.start, period.end),
            outlet_weeks.c.visits > 0,
            *in_scope,
            unassigned,
        )
        .group_by(outlets.c.territory_id, outlet_weeks.c.week_start)
    )
    frame = fetch_frame(engine, "unassigned_week_visited_outlets", statement)
    frame["visited_outlets"] = frame["visited_outlets"].astype("int64")
    return frame


# Territory counts


@dataclass(frozen=True)
class TerritoryCounts:
    """The counts behind the territories report, aggregated in the database.

    rep_sums: one row per territory in scope with activity. Columns:
        territory_id, visits, productive_visits, planned_calls, calls_on_plan,
        order_value. A rep's figures count for the territory they belonged to
        on each date when the rep_territories history exists, else for their
        reps.territory_id.
    outlet_flags: one row per combination of an active outlet's facts in a
        territory in scope. Columns: territory_id, outlet_class, visits (1 when
        visited by anyone in the period, else 0), planned, on_beat,
        last_visit_date (local date of the last visit in the lookback, None
        when there is none) and outlets, the number of outlets that share them.
    """

    rep_sums: pd.DataFrame
    outlet_flags: pd.DataFrame


TERRITORY_REP_SUMS = ["visits", "productive_visits", "planned_calls", "calls_on_plan"]


def read_territory_counts(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    settings: Settings,
    lookback_start: date,
) -> TerritoryCounts:
    """Count the territories report's figures per territory, in the database.

    Reads the summary tables when they cover the period, else the raw tables,
    with the same numbers. lookback_start is the first local date whose visits
    set last_visit_date: an older last visit is reported as None, so it must be
    on or before the first day of every neglect window.
    """
    with ThreadPoolExecutor(max_workers=2) as pool:
        _count_ahead(pool, engine, period, lookback_start, settings)
        use_summaries = summary_status(engine, period, settings).usable
        with_history = _has_history(engine)
        rep_sums = _territory_rep_sums(
            engine, period, scope, settings, use_summaries, with_history
        )
        outlet_flags = _territory_outlet_flags(
            engine, period, scope, settings, use_summaries, lookback_start
        )
    return TerritoryCounts(rep_sums=rep_sums, outlet_flags=outlet_flags)


def _count_ahead(
    pool: ThreadPoolExecutor,
    engine: sa.Engine,
    period: Period,
    lookback_start: date,
    settings: Settings,
) -> None:
    """Count the active outlets, and check the summaries of the lookback's
    weeks from lookback_start to the period, each on its own connection, while the caller
    checks the period's. Inside sharing_counts, the caller's checks then
    find those raw counts made.

    The check's result and errors are left to the caller's later check of
    the same weeks, which repeats it. For the WEST region's national week on
    PostgreSQL the caller counted the week, the active outlets and the
    three earlier weeks one after the other, 85 to 95 ms in all.
    """
    if _shared_counts.get() is None or not is_whole_weeks(period, settings):
        return
    pool.submit(contextvars.copy_context().run, _count_active_outlets, engine)
    if lookback_start >= period.start:
        return
    earlier = Period(lookback_start, period.start - timedelta(days=1), period.timezone)
    if not is_whole_weeks(earlier, settings):
        return
    pool.submit(
        contextvars.copy_context().run, summary_status, engine, earlier, settings
    )


def _count_active_outlets(engine: sa.Engine) -> None:
    """Count the active outlets for the sharing_counts block, unless another
    thread has claimed them.

    _raw_counts makes the claim with a connection checked out, as every claim
    of a raw count is. So a thread that waits for a count never waits for one
    that still needs a connection, from a pool they may have emptied.
    Without summary weeks of the current layout no check compares the count,
    so it is skipped.
    """
    with engine.connect() as connection:
        has_weeks, older_layout = _summary_layout_once(engine, connection)
        if has_weeks and not older_layout:
            _raw_counts(connection, engine, [])


def _limited_reps(scope: Scope) -> sa.Select:
    """rep_id of the reps table's reps that a rep or manager scope keeps."""
    known_reps = sa.select(reps.c.rep_id)
    if scope.rep_ids is not None:
        known_reps = known_reps.where(reps.c.rep_id.in_(scope.rep_ids))
    if scope.manager_id is not None:
        known_reps = known_reps.where(reps.c.manager_id == scope.manager_id)
    return known_reps


def _territory_rep_sums(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    settings: Settings,
    use_summaries: bool,
    with_history: bool,
) -> pd.DataFrame:
    known_reps = _limited_reps(scope)
    if use_summaries:
        days = rep_days.select().where(rep_days.c.day.between(period.start, period.end))
        days = days.subquery("rep_day_rows")
        name = "territory_rep_sums_from_summaries"
    else:
        sql = PeriodSQL(period, settings, rep_ids=known_reps)
        days = rep_day_rows(sql, settings, with_history).subquery("rep_day_rows")
        name = "territory_rep_sums"

    # The summary rows store the territory of the day as built. Without a
    # history it is the rep's current territory, read from the reps table as
    # the raw path does, so a rep moved in the reps table alone counts alike.
    if with_history or not use_summaries:
        territory = days.c.territory_id
        source = days
    else:
        territory = reps.c.territory_id
        source = days.join(reps, reps.c.rep_id == days.c.rep_id)
    statement = (
        sa.select(
            territory.label("territory_id"),
            *(sa.func.sum(days.c[count]).label(count) for count in TERRITORY_REP_SUMS),
            sa.func.sum(days.c.order_value).label("order_value"),
        )
        .select_from(source)
        .where(
            days.c.rep_id.in_(known_reps),
            territory.in_(scoped_territory_ids(scope)),
        )
        .group_by(territory)
        .order_by(code_point_order(territory))
    )
    frame = fetch_frame(engine, name, statement)
    frame[TERRITORY_REP_SUMS] = frame[TERRITORY_REP_SUMS].astype("int64")
    frame["order_value"] = frame["order_value"].astype(float)
    return frame


def _visited_and_planned(period: Period, scope: Scope, settings: Settings) -> sa.CTE:
    """outlet_id with visits (0 or 1) and planned (0 or 1) of every outlet
    visited or planned in the period, from the raw tables."""
    sql = PeriodSQL(period, settings, outlet_ids=scoped_outlet_ids(scope))
    kept = sql.period_visits
    calls = sql.planned_calls
    marks = sa.union_all(
        sa.select(
            kept.c.outlet_id,
            sa.literal(1).label("visits"),
            sa.literal(0).label("planned"),
        ),
        sa.select(calls.c.outlet_id, sa.literal(0), sa.literal(1)),
    ).subquery("territory_outlet_marks")
    return (
        sa.select(
            marks.c.outlet_id,
            sa.func.max(marks.c.visits).label("visits"),
            sa.func.max(marks.c.planned).label("planned"),
        )
        .group_by(marks.c.outlet_id)
        .cte("territory_outlet_sums")
    )


def _territory_outlet_flags(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    settings: Settings,
    use_summaries: bool,
    lookback_start: date,
) -> pd.DataFrame:
    lookback = Period(lookback_start, period.end, period.timezone)
    in_scope = [
        schema.is_active(outlets),
        outlets.c.territory_id.in_(scoped_territory_ids(scope)),
    ]
    # The summaries contain local dates, and the raw visits check-in instants.
    dates_from_summaries = use_summaries and _summaries_hold_lookback(
        engine, period, lookback, settings
    )
    if dates_from_summaries:
        stored = _stored_outlet_flags(engine, period, scope, settings, lookback)
        if stored is not None:
            return _typed_outlet_flags(stored)
        statement = outlet_trend.summary_outlet_flags(period, lookback, in_scope)
        frame = fetch_frame(engine, "territory_outlet_flags_from_summaries", statement)
        return _typed_outlet_flags(frame)

    if use_summaries:
        visited = outlet_trend.summary_week_mark(
            outlets.c.outlet_id, period, outlet_weeks.c.visits
        )
        planned = outlet_trend.summary_week_mark(
            outlets.c.outlet_id, period, outlet_weeks.c.planned_calls
        )
        marked = outlets
    else:
        sums = _visited_and_planned(period, scope, settings)
        visited = sa.func.coalesce(sums.c.visits, 0)
        planned = sa.func.coalesce(sums.c.planned, 0)
        marked = outlets.outerjoin(sums, sums.c.outlet_id == outlets.c.outlet_id)
    facts = outlet_trend.outlet_flag_facts(
        marked,
        visited,
        planned,
        outlet_last_check_in(
            outlets.c.outlet_id, lookback, settings.duplicate_window_s
        ),
        period,
        in_scope,
    )
    last_visit_date = sa.case(
        (facts.c.last_visit.is_not(None), local_day(facts.c.last_visit, lookback)),
        else_=None,
    )
    statement = outlet_trend.outlet_flag_counts(facts, last_visit_date)
    return _typed_outlet_flags(fetch_frame(engine, "territory_outlet_flags", statement))


def _typed_outlet_flags(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("visits", "outlets"):
        frame[column] = frame[column].astype("int64")
    for column in ("planned", "on_beat"):
        frame[column] = frame[column].astype(bool)
    return frame


def _stored_outlet_flags(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    settings: Settings,
    lookback: Period,
) -> pd.DataFrame | None:
    """Read the frame of territory_outlet_flags_from_summaries from
    summary_outlet_flags, or return None when the period is not one week
    whose rows were counted for this lookback.

    The summaries must cover the period and the lookback, because a row is
    deleted only when one of those weeks is rebuilt.
    """
    stored = schema.summary_outlet_flags
    if _week_count(period) != 1 or not is_whole_weeks(period, settings):
        return None
    counted = [stored.c.lookback_start == lookback.start]
    keys = [stored.c[name] for name in outlet_trend.OUTLET_FLAG_KEYS]
    statement = (
        sa.select(*keys, stored.c.outlets)
        .where(
            stored.c.week_start == period.start,
            *counted,
            stored.c.territory_id.in_(scoped_territory_ids(scope)),
        )
        .order_by(*keys)
    )
    return queries.fetch_frame_if(
        engine,
        "territory_outlet_flags_from_stored",
        lambda connection: bool(week_counts(connection, stored, period, counted)),
        statement,
    )


def _summaries_hold_lookback(
    engine: sa.Engine, period: Period, lookback: Period, settings: Settings
) -> bool:
    """True when summary_outlet_weeks gives each outlet's last visit date in
    the lookback: the lookback is whole weeks and the summaries cover them.

    The caller has checked the period's weeks, so only the lookback's weeks
    before the period are checked here. A lookback that starts inside a week
    reads the raw visits, because the summary rows date whole weeks.
    """
    if not is_whole_weeks(lookback, settings):
        return False
    if lookback.start >= period.start:
        return True
    earlier = Period(lookback.start, period.start - timedelta(days=1), period.timezone)
    return summary_status(engine, earlier, settings).usable


# The weekly review's trend and order history. Each block reads summary rows
# that the caller has checked with summary_status, and returns the columns of
# the raw block it replaces in data_access.review_queries.


def weekly_rep_day_counts(period: Period, rep_ids: sa.Select | RepDates) -> sa.CTE:
    """Sum the rep-days of rep_ids per week of the period.

    Columns: week_index, REP_DAY_VISIT_COUNTS, working_days (rep-days with a
    visit), time_in_market_s, planned_calls, calls_on_plan. Weeks without
    rep-days have no row.
    """
    week_index = _week_index(rep_days.c.day, period)
    has_visits = sa.case((rep_days.c.visits > 0, 1), else_=0)
    return (
        sa.select(
            week_index.label("week_index"),
            *(
                sa.func.sum(rep_days.c[name]).label(name)
                for name in REP_DAY_VISIT_COUNTS
            ),
            sa.func.sum(has_visits).label("working_days"),
            sa.func.sum(rep_days.c.time_in_market_s).label("time_in_market_s"),
            sa.func.sum(rep_days.c.planned_calls).label("planned_calls"),
            sa.func.sum(rep_days.c.calls_on_plan).label("calls_on_plan"),
        )
        .where(
            rep_days.c.day.between(period.start, period.end),
            keeps_rep_rows(rep_ids, rep_days.c.rep_id, rep_days.c.day),
        )
        .group_by(week_index)
        .cte("summary_weekly_visit_counts")
    )


def rep_time_in_market(period: Period, rep_ids: sa.Select) -> sa.Select:
    """Total the working days and time in market of each rep of rep_ids over
    the period's days, as review_queries.rep_time_in_market does.

    Columns: rep_id, working_days, time_in_market_s; reps without a visit
    have no row.
    """
    return (
        sa.select(
            rep_days.c.rep_id,
            sa.func.count().label("working_days"),
            sa.func.sum(rep_days.c.time_in_market_s).label("time_in_market_s"),
        )
        .where(
            rep_days.c.day.between(period.start, period.end),
            rep_days.c.rep_id.in_(rep_ids),
            rep_days.c.visits > 0,
        )
        .group_by(rep_days.c.rep_id)
        .order_by(code_point_order(rep_days.c.rep_id))
    )


def rep_weeks_cover(bind: sa.Engine | sa.Connection, period: Period) -> bool:
    """Tell whether summary_rep_weeks has rows in every week of the period,
    which the summaries must cover. A week built before that table has none,
    and so has a week without planned calls, which the slower
    summary_rep_outlet_weeks then counts as zero. bind is an engine, or the
    connection of a snapshot that a read of the summary rows shares
    (queries.fetch_frame_if)."""
    with _connected(bind) as connection:
        found = week_counts(connection, schema.summary_rep_weeks, period)
    return found is not None and len(found) == _week_count(period)


def _week_count(period: Period) -> int:
    return (period.end - period.start).days // 7 + 1


def weekly_planned_outlets(
    period: Period, rep_ids: sa.Select | RepDates, by_rep_week: bool = False
) -> sa.CTE:
    """Count per week the outlets planned for each rep of rep_ids, summed over reps.

    Columns: week_index, planned_outlets, skipped_outlets (those the rep did
    not visit in the week). Weeks without planned outlets have no row. With
    by_rep_week, the counts are summed from summary_rep_weeks, which must
    cover the period (rep_weeks_cover).
    """
    if by_rep_week:
        rep_weeks = schema.summary_rep_weeks
        counts = (
            sa.select(
                rep_weeks.c.week_start,
                sa.func.sum(rep_weeks.c.planned_outlets).label("planned_outlets"),
                sa.func.sum(rep_weeks.c.skipped_outlets).label("skipped_outlets"),
            )
            .where(
                rep_weeks.c.week_start.between(period.start, period.end),
                keeps_rep_rows(rep_ids, rep_weeks.c.rep_id, rep_weeks.c.week_start),
            )
            .group_by(rep_weeks.c.week_start)
            .subquery("summary_week_skip_counts")
        )
    else:
        counts = _rep_outlet_week_counts(period, rep_ids)
    return sa.select(
        _week_index(counts.c.week_start, period).label("week_index"),
        counts.c.planned_outlets,
        counts.c.skipped_outlets,
    ).cte("summary_weekly_skip_counts")


def _rep_outlet_week_counts(
    period: Period, rep_ids: sa.Select | RepDates
) -> sa.Subquery:
    skipped = sa.case((rep_outlet_weeks.c.visits == 0, 1), else_=0)
    # Grouped by the week_start column, which the primary key orders, and
    # numbered after: a week number computed on each of the 1.5 million rows
    # of a national quarter, and the sort it needs, cost twice the time.
    return (
        sa.select(
            rep_outlet_weeks.c.week_start,
            sa.func.count().label("planned_outlets"),
            sa.func.sum(skipped).label("skipped_outlets"),
        )
        .where(
            rep_outlet_weeks.c.week_start.between(period.start, period.end),
            # Off the rep-week index, whose order would need a sort by week.
            keeps_rep_rows(
                rep_ids,
                unindexed(rep_outlet_weeks.c.rep_id),
                rep_outlet_weeks.c.week_start,
            ),
            rep_outlet_weeks.c.planned_calls > 0,
        )
        .group_by(rep_outlet_weeks.c.week_start)
        .subquery("summary_week_skip_counts")
    )


def weekly_order_sums(
    period: Period, rep_ids: sa.Select, territory_ids: sa.Select | None
) -> sa.Select:
    """Sum the orders of rep_ids per week of the period, from summary_rep_days.

    territory_ids, when given, keeps only the rep-days whose territory (the
    rep's territory on that date when the summaries were built) is one of
    them. Columns: week_index, order_value, orders, return_value. Weeks
    without an order row have no row.
    """
    week_index = _week_index(rep_days.c.day, period).label("week_index")
    conditions = [
        rep_days.c.day.between(period.start, period.end),
        rep_days.c.rep_id.in_(rep_ids),
    ]
    if territory_ids is not None:
        conditions.append(rep_days.c.territory_id.in_(territory_ids))
    return (
        sa.select(
            week_index,
            sa.func.sum(rep_days.c.order_value).label("order_value"),
            sa.func.sum(rep_days.c.orders).label("orders"),
            sa.func.sum(rep_days.c.return_value).label("return_value"),
        )
        .where(*conditions)
        .group_by(week_index)
        .having(sa.func.sum(rep_days.c.order_rows) > 0)
        .order_by(week_index)
    )


def weekly_skipped_outlets(
    period: Period, base: date, rep_ids: sa.Select | RepDates
) -> sa.CTE:
    """Count per week and outlet the planned calls of rep_ids that were skipped.

    A rep's planned calls of an outlet are skipped in a week when the rep did
    not visit it in that week. Columns: week_number (weeks since base),
    outlet_id, skipped_calls (summed over reps).
    """
    week_number = _week_index(rep_outlet_weeks.c.week_start, _weeks_from(base, period))
    return (
        sa.select(
            week_number.label("week_number"),
            rep_outlet_weeks.c.outlet_id,
            sa.func.sum(rep_outlet_weeks.c.planned_calls).label("skipped_calls"),
        )
        .where(
            rep_outlet_weeks.c.week_start.between(period.start, period.end),
            keeps_rep_rows(
                rep_ids, rep_outlet_weeks.c.rep_id, rep_outlet_weeks.c.week_start
            ),
            rep_outlet_weeks.c.planned_calls > 0,
            rep_outlet_weeks.c.visits == 0,
        )
        .group_by(week_number, rep_outlet_weeks.c.outlet_id)
        .cte("weekly_skipped")
    )


def _productive_outlet_weeks(
    period: Period, outlet_ids: sa.Select
) -> list[sa.ColumnElement[bool]]:
    """Return the conditions on summary_outlet_weeks for the weeks of the
    period in which an outlet of outlet_ids had a productive visit."""
    return [
        outlet_weeks.c.week_start.between(period.start, period.end),
        outlet_weeks.c.outlet_id.in_(outlet_ids),
        outlet_weeks.c.productive_visits > 0,
    ]


def skipped_calls_cover(bind: sa.Engine | sa.Connection, period: Period) -> bool:
    """Tell whether summary_skipped_calls has every skipped rep-outlet pair
    of each week of the period that summary_rep_weeks counts. The summaries
    must cover the period and the weeks of its order history. bind is an
    engine or a snapshot's connection, as for rep_weeks_cover."""
    with _connected(bind) as connection:
        if not rep_weeks_cover(connection, period):
            return False
        rep_weeks = schema.summary_rep_weeks
        expected = week_counts(
            connection, rep_weeks, period, value=rep_weeks.c.skipped_outlets
        )
        found = week_counts(connection, schema.summary_skipped_calls, period)
    if expected is None or found is None:
        return False
    return all(found.get(week, 0) == count for week, count in expected.items())


def rep_week_risk_cover(bind: sa.Engine | sa.Connection, period: Period) -> bool:
    """Tell whether summary_rep_week_risk has a row for every rep of each
    week of the period that summary_rep_weeks counts with a skipped outlet.
    A database built before that table has none. The build writes a week's
    rows only once its order history weeks are built, and callers check
    that those weeks are still current (_summaries_cover of the reach).
    bind is an engine or a snapshot's connection, as for rep_weeks_cover."""
    with _connected(bind) as connection:
        if not rep_weeks_cover(connection, period):
            return False
        rep_weeks = schema.summary_rep_weeks
        expected = week_counts(
            connection, rep_weeks, period, conditions=[rep_weeks.c.skipped_outlets > 0]
        )
        found = week_counts(connection, schema.summary_rep_week_risk, period)
    return expected is not None and found == expected


@contextmanager
def _connected(bind: sa.Engine | sa.Connection) -> Iterator[sa.Connection]:
    """Yield bind when it is a connection, else a new connection of it."""
    if isinstance(bind, sa.Connection):
        yield bind
        return
    with bind.connect() as connection:
        yield connection


def stored_weekly_risk(period: Period, rep_ids: sa.Select | RepDates) -> sa.Select:
    """Sum the skipped calls and revenue at risk of rep_ids per week of the
    period from summary_rep_week_risk, which rep_week_risk_cover must show
    complete. rep_ids keeps whole rep-weeks only.

    Columns: week_index (weeks since period.start), skipped_calls and
    revenue_at_risk (NULL when no skipped call of the week has a price),
    one row per week with a skipped call, as
    review_queries.weekly_skipped_calls returns them.
    """
    stored = schema.summary_rep_week_risk
    week_index = _week_index(stored.c.week_start, period).label("week_index")
    return (
        sa.select(
            week_index,
            sa.func.sum(stored.c.skipped_calls).label("skipped_calls"),
            sa.func.sum(stored.c.revenue_at_risk).label("revenue_at_risk"),
        )
        .where(
            stored.c.week_start.between(period.start, period.end),
            keeps_rep_rows(rep_ids, stored.c.rep_id, stored.c.week_start),
        )
        .group_by(week_index)
        .order_by(week_index)
    )


def stored_skipped_calls(
    period: Period, base: date, rep_ids: sa.Select | RepDates
) -> sa.CTE:
    """Read weekly_skipped_outlets(period, base, rep_ids) from
    summary_skipped_calls, with each outlet's order history of the weeks
    before the skip: the columns week_number, outlet_id, skipped_calls,
    productive_visits and order_value. skipped_calls_cover must hold."""
    stored = schema.summary_skipped_calls
    week_number = _week_index(stored.c.week_start, _weeks_from(base, period))
    return (
        sa.select(
            week_number.label("week_number"),
            stored.c.outlet_id,
            sa.func.sum(stored.c.skipped_calls).label("skipped_calls"),
            # The history is the same for every rep of an outlet and week.
            sa.func.max(stored.c.history_productive_visits).label("productive_visits"),
            sa.func.max(stored.c.history_order_value).label("order_value"),
        )
        .where(
            stored.c.week_start.between(period.start, period.end),
            keeps_rep_rows(rep_ids, stored.c.rep_id, stored.c.week_start),
        )
        .group_by(week_number, stored.c.outlet_id)
        .cte("weekly_skipped")
        .prefix_with("MATERIALIZED")
    )


def skipped_outlet_history(
    skipped: sa.CTE, period: Period, base: date, weeks: int
) -> sa.CTE:
    """Sum, per skip of weekly_skipped_outlets(period, base, ...), the outlet's
    productive visits and their positive linked order value in the `weeks`
    weeks before the week of the skip.

    Each skip carries the first dates of its week and of that week's
    history, so it reads one range of the outlet-week index, and no date
    arithmetic runs in SQL. Columns: week_number (weeks since base),
    outlet_id, productive_visits, order_value; a skip whose outlet has no
    summary row in its history weeks has no row.
    """
    week_starts = {}
    for index in range((period.end - period.start).days // 7 + 1):
        week_start = period.start + timedelta(weeks=index)
        week_starts[(week_start - base).days // 7] = week_start

    def date_of(offset: timedelta) -> sa.ColumnElement:
        # A CASE over the period's weeks: a join to a table of them made
        # SQLite scan the skips once per week.
        return sa.case(
            *(
                (skipped.c.week_number == number, sa.literal(start - offset, DATE))
                for number, start in week_starts.items()
            )
        )

    # Materialized, so the planner reads the skips first and seeks each
    # outlet's history weeks in the index.
    skips = (
        sa.select(
            skipped.c.week_number,
            skipped.c.outlet_id,
            date_of(timedelta(0)).label("week_start"),
            date_of(timedelta(weeks=weeks)).label("history_start"),
        )
        .cte("skips_with_history_bounds")
        .prefix_with("MATERIALIZED")
    )
    in_history = sa.and_(
        outlet_weeks.c.outlet_id == skips.c.outlet_id,
        outlet_weeks.c.week_start >= skips.c.history_start,
        outlet_weeks.c.week_start < skips.c.week_start,
    )
    return (
        sa.select(
            skips.c.week_number,
            skips.c.outlet_id,
            sa.func.sum(outlet_weeks.c.productive_visits).label("productive_visits"),
            sa.func.sum(outlet_weeks.c.linked_order_value).label("order_value"),
        )
        .select_from(skips.join(outlet_weeks, in_history))
        .group_by(skips.c.week_number, skips.c.outlet_id)
        .cte("weekly_outlet_history")
    )


def territory_week_orders(period: Period, base: date) -> sa.CTE:
    """Read the productive visits and positive linked order value of every
    territory per week of the period, over all of its outlets.

    Columns: territory_id, week_number (weeks since base), productive_visits,
    order_value. The sums of outlet_week_orders per territory, for a set of
    outlets that contains whole territories.
    """
    week_number = _week_index(territory_weeks.c.week_start, _weeks_from(base, period))
    return (
        sa.select(
            territory_weeks.c.territory_id,
            week_number.label("week_number"),
            territory_weeks.c.productive_visits,
            territory_weeks.c.linked_order_value.label("order_value"),
        )
        .where(territory_weeks.c.week_start.between(period.start, period.end))
        .cte("territory_week_orders")
    )


def outlet_order_history(
    period: Period, outlet_ids: sa.Select, name: str = "outlet_order_history"
) -> sa.CTE:
    """Sum the productive visits of outlet_ids and their positive linked order
    value over the period. Columns: outlet_id, productive_visits, order_value.
    Outlets without a productive visit have no row."""
    return (
        sa.select(
            outlet_weeks.c.outlet_id,
            sa.func.sum(outlet_weeks.c.productive_visits).label("productive_visits"),
            sa.func.sum(outlet_weeks.c.linked_order_value).label("order_value"),
        )
        .where(*_productive_outlet_weeks(period, outlet_ids))
        .group_by(outlet_weeks.c.outlet_id)
        .cte(name)
    )


def stored_outlet_history(
    week: Period, history: Period, outlet_ids: sa.Select
) -> sa.CTE:
    """Read outlet_order_history(history, outlet_ids) from the rows of
    summary_skipped_calls of the week whose history starts on history.start.

    The build summed each skipped outlet's rows of summary_outlet_weeks over
    the same weeks. It also summed the weeks without a productive visit,
    whose linked order value is zero, because only productive visits have a
    positive linked order. Only the outlets that some rep skipped in the week
    have a row, with zeros when the outlet has no productive visit.
    skipped_calls_cover(week) must hold. Columns: outlet_id,
    productive_visits, order_value.
    """
    stored = schema.summary_skipped_calls
    return (
        sa.select(
            stored.c.outlet_id,
            # The history is the same for every rep of an outlet and week.
            sa.func.max(stored.c.history_productive_visits).label("productive_visits"),
            sa.func.max(stored.c.history_order_value).label("order_value"),
        )
        .where(
            stored.c.week_start == week.start,
            stored.c.history_start == history.start,
            stored.c.outlet_id.in_(outlet_ids),
        )
        .group_by(stored.c.outlet_id)
        .cte("stored_outlet_history")
        .prefix_with("MATERIALIZED")
    )


def rep_outlet_calls_at_risk(
    period: Period,
    rep_ids: sa.Select,
    priced: Callable[[sa.ColumnElement], sa.ColumnElement[bool]],
) -> tuple[sa.CTE, sa.CTE]:
    """Read the calls at risk of rep_ids over the period's weeks.

    Returns two CTEs. skipped_calls has rep_id, outlet_id, planned_calls,
    first_plan_date and last_plan_date of the outlets planned for the rep in
    the period that the rep did not visit on any of its dates.
    unproductive_off_site has rep_id, outlet_id and visits, the rep's
    off-site visits without a positive order to the outlets for which
    priced(outlet_id) holds. It is tested only on the few pairs with such
    visits.
    """
    conditions = [
        rep_outlet_weeks.c.week_start.between(period.start, period.end),
        rep_outlet_weeks.c.rep_id.in_(rep_ids),
    ]
    if _week_count(period) == 1:
        # A week has one row per rep and outlet (the primary key), so its
        # rows are the sums. Grouping the 119,000 rows of a national week took
        # 0.15 s of the query's 0.3 s (SQLite). The CTE stays materialized,
        # because inlined, SQLite 3.40 scanned the order history once per
        # skipped call.
        pairs = (
            sa.select(
                rep_outlet_weeks.c.rep_id,
                rep_outlet_weeks.c.outlet_id,
                rep_outlet_weeks.c.planned_calls,
                rep_outlet_weeks.c.visits,
                rep_outlet_weeks.c.first_plan_date,
                rep_outlet_weeks.c.last_plan_date,
                rep_outlet_weeks.c.unproductive_off_site_visits.label(
                    "off_site_visits"
                ),
            )
            .where(*conditions)
            .cte("summary_rep_outlet_calls")
            .prefix_with("MATERIALIZED")
        )
    else:
        pairs = (
            sa.select(
                rep_outlet_weeks.c.rep_id,
                rep_outlet_weeks.c.outlet_id,
                sa.func.sum(rep_outlet_weeks.c.planned_calls).label("planned_calls"),
                sa.func.sum(rep_outlet_weeks.c.visits).label("visits"),
                sa.func.min(rep_outlet_weeks.c.first_plan_date).label(
                    "first_plan_date"
                ),
                sa.func.max(rep_outlet_weeks.c.last_plan_date).label("last_plan_date"),
                sa.func.sum(rep_outlet_weeks.c.unproductive_off_site_visits).label(
                    "off_site_visits"
                ),
            )
            .where(*conditions)
            .group_by(rep_outlet_weeks.c.rep_id, rep_outlet_weeks.c.outlet_id)
            .cte("summary_rep_outlet_calls")
        )
    skipped = (
        sa.select(
            pairs.c.rep_id,
            pairs.c.outlet_id,
            pairs.c.planned_calls,
            pairs.c.first_plan_date,
            pairs.c.last_plan_date,
        )
        .where(pairs.c.planned_calls > 0, pairs.c.visits == 0)
        .cte("skipped_calls")
    )
    off_site = (
        sa.select(
            pairs.c.rep_id, pairs.c.outlet_id, pairs.c.off_site_visits.label("visits")
        )
        .where(pairs.c.off_site_visits > 0, priced(pairs.c.outlet_id))
        .cte("unproductive_off_site")
    )
    return skipped, off_site


def unvisited_planned_pairs(period: Period, rep_ids: sa.Select) -> sa.CTE:
    """Select the (rep_id, outlet_id) of rep_ids with planned calls in the
    period's weeks and no kept visit by the rep in them.

    Kept visits leave out duplicates and other set-aside rows, so these pairs
    contain every pair that the raw visits leave unvisited, and a few more.
    NOTE: this is true while the beats are those of the build, because the
    summaries' staleness check counts visits, orders and active outlets only.
    """
    conditions = [
        rep_outlet_weeks.c.week_start.between(period.start, period.end),
        rep_outlet_weeks.c.rep_id.in_(rep_ids),
    ]
    if _week_count(period) == 1:
        # One row per rep and outlet, read from the rep-week index alone.
        query = sa.select(
            rep_outlet_weeks.c.rep_id, rep_outlet_weeks.c.outlet_id
        ).where(
            *conditions,
            rep_outlet_weeks.c.planned_calls > 0,
            rep_outlet_weeks.c.visits == 0,
        )
    else:
        query = (
            sa.select(rep_outlet_weeks.c.rep_id, rep_outlet_weeks.c.outlet_id)
            .where(*conditions)
            .group_by(rep_outlet_weeks.c.rep_id, rep_outlet_weeks.c.outlet_id)
            .having(
                sa.func.sum(rep_outlet_weeks.c.planned_calls) > 0,
                sa.func.sum(rep_outlet_weeks.c.visits) == 0,
            )
        )
    return query.cte("unvisited_planned_pairs").prefix_with("MATERIALIZED")


def _weeks_from(base: date, period: Period) -> Period:
    # _week_index counts weeks from a period's first day.
    return Period(base, period.end, period.timezone)
