"""Scoped, date-bounded queries that count in the database.

Each function takes the engine first, then the period, the viewer's scope and
the settings, and returns a DataFrame of aggregates: one row per rep, outlet,
territory or listed item, never raw visit or order rows. An empty result is an
empty frame with the same columns.
"""

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple, TypeVar

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from data_access import schema
from data_access.dialect import (
    ArrowReadUnavailable,
    code_point_order,
    copy_out_table,
    day_number,
    local_date,
    snapshot_connection,
    sqlite_arrow_table,
)
from data_access.filters import FIRST_DATE, LAST_DATE, Period, Scope, Settings
from data_access.period_sql import (
    PeriodSQL,
    is_resend,
    scoped_outlet_conditions,
    scoped_outlet_ids,
    scoped_rep_conditions,
    scoped_rep_ids,
    scoped_territory_ids,
    usable_fix,
)

log = logging.getLogger(__name__)

Rows = TypeVar("Rows")

reps = schema.reps
outlets = schema.outlets
territories = schema.territories
regions = schema.regions
beats = schema.beats
beat_outlets = schema.beat_outlets
visits = schema.visits
orders = schema.orders


def fetch_frame(engine: sa.Engine, name: str, statement: sa.Executable) -> pd.DataFrame:
    """Run a query and return its rows as a DataFrame, logging rows and time.

    A connection that the server dropped (a restart, an idle timeout) is
    retried once on a new connection; a second failure raises.
    """
    started = time.perf_counter()
    rows, columns = fetch_rows(engine, name, statement)
    return _logged_frame(name, rows, columns, started)


def fetch_frame_if(
    engine: sa.Engine,
    name: str,
    check: Callable[[sa.Connection], bool],
    statement: sa.Executable,
) -> pd.DataFrame | None:
    """Run check, then the query when it passed, in one snapshot of the
    database (dialect.snapshot_connection), and return the query's rows as
    fetch_frame does, or None when the check failed.

    A summary build deletes a week's stored rows and writes them again in
    a later transaction. Checked and read on two connections, a week whose
    rows the build deleted in between would be missing from the frame.
    """
    started = time.perf_counter()

    def run() -> tuple[list[tuple], list[str]] | None:
        with snapshot_connection(engine) as connection:
            return _rows(connection, statement) if check(connection) else None

    fetched = _retried_after_drop(name, run)
    if fetched is None:
        return None
    return _logged_frame(name, *fetched, started)


def _logged_frame(
    name: str, rows: list[tuple], columns: list[str], started: float
) -> pd.DataFrame:
    """Build the frame of a query's rows and log its size and the time since
    started (time.perf_counter() seconds)."""
    frame = frame_of_rows(rows, columns)
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.info("query %s: %d rows in %.0f ms", name, len(frame), elapsed_ms)
    return frame


def fetch_rows(
    engine: sa.Engine, name: str, statement: sa.Executable
) -> tuple[list[tuple], list[str]]:
    """Run a query and return its rows as plain tuples and its column names,
    retrying once on a new connection after a dropped one, as fetch_frame does."""
    return _retried_after_drop(name, lambda: _run(engine, statement))


def _retried_after_drop(name: str, run: Callable[[], Rows]) -> Rows:
    """Return run(), called a second time when the server dropped the connection."""
    try:
        return run()
    except sa.exc.DBAPIError as error:
        if not is_dropped_connection(error):
            raise
        log.warning("query %s: the database connection dropped; retrying once", name)
        return run()


def _run(engine: sa.Engine, statement: sa.Executable) -> tuple[list[tuple], list[str]]:
    with engine.connect() as connection:
        return _rows(connection, statement)


def _rows(
    connection: sa.Connection, statement: sa.Executable
) -> tuple[list[tuple], list[str]]:
    result = connection.execute(statement)
    # Plain tuples: pandas probes each SQLAlchemy Row for attributes it
    # lacks, which costs a second per 150,000 rows.
    return [tuple(row) for row in result.fetchall()], list(result.keys())


def fetch_driver_rows(
    engine: sa.Engine, name: str, statement: sa.Executable
) -> tuple[list[tuple], list[str]]:
    """Run a query and return the driver's own rows and the column names,
    retrying once on a new connection after a dropped one, as fetch_rows does.

    SQLAlchemy's result processing is skipped, so values keep the driver's
    types: on SQLite, booleans are 0 or 1 and timestamps ISO text. The
    caller converts them. For the 152,536 rows of the national outlets
    report this fetch took 1.2 s where fetch_rows took 1.7 s (SQLite, 2
    shared cores at load average 4.5).
    """
    return _retried_after_drop(name, lambda: _run_driver(engine, statement))


def _run_driver(
    engine: sa.Engine, statement: sa.Executable
) -> tuple[list[tuple], list[str]]:
    with engine.connect() as connection:
        result = connection.execute(statement)
        try:
            # Both drivers return plain tuples (sqlite3, and psycopg's default
            # row factory).
            return result.cursor.fetchall(), list(result.keys())
        finally:
            result.close()


def frame_of_rows(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    """Build the frame of fetch_frame from a query's rows as plain tuples."""
    return _decimals_as_floats(pd.DataFrame(rows, columns=columns))


def _decimals_as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """Convert Decimal columns to floats, so both engines give the same dtypes.

    PostgreSQL returns sums of NUMERIC columns as Decimal, and so does SQLite
    for a column typed Numeric. Pandas keeps them as objects, and arithmetic
    with a float raises TypeError. Money is shown to the unit here, far
    inside a float's 15 significant digits.
    """
    for name in frame.columns:
        values = frame[name]
        if values.dtype != object:
            continue
        known = values.dropna()
        if not known.empty and isinstance(known.iloc[0], Decimal):
            frame[name] = values.astype(float)
    return frame


def is_dropped_connection(error: sa.exc.DBAPIError) -> bool:
    """True when the error means the connection is gone, not that the query is wrong.

    SQLAlchemy marks such errors connection_invalidated and discards the
    pooled connection, so a retry opens a new one.
    """
    return bool(error.connection_invalidated)


def _zero(column: sa.ColumnElement) -> sa.ColumnElement:
    return sa.func.coalesce(column, 0)


def rep_activity(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Count each scoped rep's visits, planned calls and orders in the period.

    One row per rep of the reps table in scope, active or not, with zeros
    where the rep did nothing. Columns: rep_id, rep_name, territory_id,
    manager_id, active (schema.is_active), visits, productive_visits,
    order_lines, off_beat_visits, off_site_visits, visits_without_fix,
    planned_calls, calls_on_plan, planned_outlets, skipped_outlets,
    order_value, orders (value > 0), return_value and order_rows (orders of
    any value).

    With a rep_territories history, a region or territory limit counts each
    visit, planned call and order by the rep's territory on its local date,
    and lists the reps who belonged to the scope on at least one date.
    """
    sql = _scoped_period_sql(engine, period, scope, settings)
    facts = sql.visit_facts
    planned = sql.planned_calls
    kept = sql.period_visits
    period_orders = sql.period_orders

    visit_counts = (
        sa.select(
            facts.c.rep_id,
            sa.func.count().label("visits"),
            sa.func.sum(facts.c.productive).label("productive_visits"),
            sa.func.sum(facts.c.order_lines).label("order_lines"),
            sa.func.sum(facts.c.off_beat).label("off_beat_visits"),
            sa.func.sum(
                sa.case((facts.c.distance_m > settings.off_site_m, 1), else_=0)
            ).label("off_site_visits"),
            sa.func.sum(facts.c.without_fix).label("visits_without_fix"),
        )
        .group_by(facts.c.rep_id)
        .cte("rep_visit_counts")
    )

    visit_days = (
        sa.select(kept.c.rep_id, kept.c.outlet_id, kept.c.visit_date)
        .distinct()
        .cte("rep_visit_days")
    )
    plan_counts = (
        sa.select(
            planned.c.rep_id,
            sa.func.count().label("planned_calls"),
            sa.func.count(visit_days.c.rep_id).label("calls_on_plan"),
            sa.func.count(sa.distinct(planned.c.outlet_id)).label("planned_outlets"),
        )
        .select_from(
            planned.outerjoin(
                visit_days,
                sa.and_(
                    visit_days.c.rep_id == planned.c.rep_id,
                    visit_days.c.outlet_id == planned.c.outlet_id,
                    visit_days.c.visit_date == planned.c.plan_date,
                ),
            )
        )
        .group_by(planned.c.rep_id)
        .cte("rep_plan_counts")
    )

    skips = _skipped_pairs(sql).subquery("skipped_pairs")
    skip_counts = (
        sa.select(skips.c.rep_id, sa.func.count().label("skipped_outlets"))
        .group_by(skips.c.rep_id)
        .cte("rep_skip_counts")
    )

    positive = period_orders.c.value > 0
    order_counts = (
        sa.select(
            period_orders.c.rep_id,
            sa.func.sum(sa.case((positive, period_orders.c.value), else_=0)).label(
                "order_value"
            ),
            sa.func.sum(sa.case((positive, 1), else_=0)).label("orders"),
            sa.func.sum(
                sa.case((period_orders.c.value < 0, period_orders.c.value), else_=0)
            ).label("return_value"),
            sa.func.count().label("order_rows"),
        )
        .group_by(period_orders.c.rep_id)
        .cte("rep_order_counts")
    )

    statement = (
        sa.select(
            reps.c.rep_id,
            reps.c.name.label("rep_name"),
            reps.c.territory_id,
            reps.c.manager_id,
            schema.is_active(reps).label("active"),
            _zero(visit_counts.c.visits).label("visits"),
            _zero(visit_counts.c.productive_visits).label("productive_visits"),
            _zero(visit_counts.c.order_lines).label("order_lines"),
            _zero(visit_counts.c.off_beat_visits).label("off_beat_visits"),
            _zero(visit_counts.c.off_site_visits).label("off_site_visits"),
            _zero(visit_counts.c.visits_without_fix).label("visits_without_fix"),
            _zero(plan_counts.c.planned_calls).label("planned_calls"),
            _zero(plan_counts.c.calls_on_plan).label("calls_on_plan"),
            _zero(plan_counts.c.planned_outlets).label("planned_outlets"),
            _zero(skip_counts.c.skipped_outlets).label("skipped_outlets"),
            _zero(order_counts.c.order_value).label("order_value"),
            _zero(order_counts.c.orders).label("orders"),
            _zero(order_counts.c.return_value).label("return_value"),
            _zero(order_counts.c.order_rows).label("order_rows"),
        )
        .select_from(
            reps.outerjoin(visit_counts, visit_counts.c.rep_id == reps.c.rep_id)
            .outerjoin(plan_counts, plan_counts.c.rep_id == reps.c.rep_id)
            .outerjoin(skip_counts, skip_counts.c.rep_id == reps.c.rep_id)
            .outerjoin(order_counts, order_counts.c.rep_id == reps.c.rep_id)
        )
        .where(*sql.rep_conditions(scope))
        .order_by(code_point_order(reps.c.rep_id))
    )
    frame = fetch_frame(engine, "rep_activity", statement)
    frame["active"] = frame["active"].astype(bool)
    frame["order_value"] = frame["order_value"].astype(float)
    frame["return_value"] = frame["return_value"].astype(float)
    return frame


def _scoped_period_sql(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> PeriodSQL:
    # territory_history imports this module, so it is imported here.
    from data_access.territory_history import scope_follows_history

    history = scope_follows_history(engine, scope, period)
    return PeriodSQL.for_scope(period, settings, scope, history=history)


def _skipped_pairs(sql: PeriodSQL) -> sa.Select:
    """(rep_id, outlet_id) planned in the period that the rep never visited in it."""
    planned = sql.planned_calls
    kept = sql.period_visits
    planned_pairs = (
        sa.select(planned.c.rep_id, planned.c.outlet_id).distinct().subquery()
    )
    visited_pairs = sa.select(kept.c.rep_id, kept.c.outlet_id).distinct().subquery()
    return (
        sa.select(planned_pairs.c.rep_id, planned_pairs.c.outlet_id)
        .select_from(
            planned_pairs.outerjoin(
                visited_pairs,
                sa.and_(
                    visited_pairs.c.rep_id == planned_pairs.c.rep_id,
                    visited_pairs.c.outlet_id == planned_pairs.c.outlet_id,
                ),
            )
        )
        .where(visited_pairs.c.rep_id.is_(None))
    )


def skipped_outlet_list(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """List each scoped rep's skipped outlets with their planned calls in the period.

    Columns: rep_id, rep_name, outlet_id, outlet_name, territory_id,
    outlet_class, planned_calls, first_plan_date, last_plan_date. A region or
    territory limit follows the rep_territories history as in rep_activity.
    """
    sql = _scoped_period_sql(engine, period, scope, settings)
    planned = sql.planned_calls
    skips = _skipped_pairs(sql).cte("skipped_pairs")
    calls = (
        sa.select(
            planned.c.rep_id,
            planned.c.outlet_id,
            sa.func.count().label("planned_calls"),
            sa.func.min(planned.c.plan_date).label("first_plan_date"),
            sa.func.max(planned.c.plan_date).label("last_plan_date"),
        )
        .group_by(planned.c.rep_id, planned.c.outlet_id)
        .cte("skipped_calls")
    )
    statement = (
        sa.select(
            skips.c.rep_id,
            reps.c.name.label("rep_name"),
            skips.c.outlet_id,
            outlets.c.name.label("outlet_name"),
            outlets.c.territory_id,
            outlets.c.outlet_class,
            calls.c.planned_calls,
            calls.c.first_plan_date,
            calls.c.last_plan_date,
        )
        .select_from(
            skips.join(
                calls,
                sa.and_(
                    calls.c.rep_id == skips.c.rep_id,
                    calls.c.outlet_id == skips.c.outlet_id,
                ),
            )
            .join(reps, reps.c.rep_id == skips.c.rep_id)
            .join(outlets, outlets.c.outlet_id == skips.c.outlet_id)
        )
        .order_by(code_point_order(skips.c.rep_id), code_point_order(skips.c.outlet_id))
    )
    return fetch_frame(engine, "skipped_outlet_list", statement)


def outlet_activity(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    settings: Settings,
    outlet_conditions: tuple[sa.ColumnElement[bool], ...] = (),
) -> pd.DataFrame:
    """Describe each active outlet in scope for the period, of those that meet
    outlet_conditions (conditions on the outlets table) when given.

    Columns: outlet_id, outlet_name, territory_id, channel, outlet_class,
    latitude, longitude, visits (by anyone, after de-duplication),
    planned (a planned call of any rep in the period), on_beat (on a beat whose
    date range overlaps the period), last_visit_date (local date of the last
    visit by anyone in the LAST_VISITS_LOOKBACK_DAYS days up to the period's
    last date, None when there is none), order_value (orders with value > 0
    dated in the period).
    """
    in_scope = [*scoped_outlet_conditions(scope), *outlet_conditions]
    outlet_ids = sa.select(outlets.c.outlet_id).where(*in_scope)
    sql = PeriodSQL(period, settings, outlet_ids=outlet_ids)
    kept = sql.period_visits
    planned = sql.planned_calls
    period_orders = sql.period_orders

    visit_counts = (
        sa.select(kept.c.outlet_id, sa.func.count().label("visits"))
        .group_by(kept.c.outlet_id)
        .cte("outlet_visit_counts")
    )
    planned_outlets = sa.select(planned.c.outlet_id).distinct().cte("planned_outlets")
    on_beat = outlets_on_beat(period)
    order_values = (
        sa.select(
            period_orders.c.outlet_id,
            sa.func.sum(period_orders.c.value).label("order_value"),
        )
        .where(period_orders.c.value > 0)
        .group_by(period_orders.c.outlet_id)
        .cte("outlet_order_values")
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
            _zero(visit_counts.c.visits).label("visits"),
            sa.case((planned_outlets.c.outlet_id.is_(None), False), else_=True).label(
                "planned"
            ),
            sa.case((on_beat.c.outlet_id.is_(None), False), else_=True).label(
                "on_beat"
            ),
            last_visit_check_in(
                outlets.c.outlet_id, period, settings.duplicate_window_s
            ).label("last_check_in"),
            _zero(order_values.c.order_value).label("order_value"),
        )
        .select_from(
            outlets.outerjoin(
                visit_counts, visit_counts.c.outlet_id == outlets.c.outlet_id
            )
            .outerjoin(
                planned_outlets, planned_outlets.c.outlet_id == outlets.c.outlet_id
            )
            .outerjoin(on_beat, on_beat.c.outlet_id == outlets.c.outlet_id)
            .outerjoin(order_values, order_values.c.outlet_id == outlets.c.outlet_id)
        )
        .where(schema.is_active(outlets), *in_scope)
        .order_by(code_point_order(outlets.c.outlet_id))
    )
    frame = fetch_frame(engine, "outlet_activity", statement)
    return with_last_visit_date(frame, settings.timezone)


def outlets_on_beat(period: Period) -> sa.CTE:
    """outlet_id of every outlet on a beat whose date range overlaps the period."""
    return beat_outlet_ids(period).distinct().cte("outlets_on_beat")


def beat_outlet_ids(period: Period) -> sa.Select:
    """Select the outlet_id of each outlet on a beat whose date range overlaps
    the period, once per such beat."""
    return (
        sa.select(beat_outlets.c.outlet_id)
        .select_from(
            beat_outlets.join(beats, beats.c.beat_id == beat_outlets.c.beat_id)
        )
        .where(
            beats.c.start_date <= period.end,
            sa.or_(beats.c.end_date.is_(None), beats.c.end_date >= period.start),
        )
    )


def last_visit_check_in(
    outlet_id: sa.ColumnElement, period: Period, window_s: float
) -> sa.ColumnElement:
    """Select the outlet's latest kept check-in in the LAST_VISITS_LOOKBACK_DAYS
    up to the period's end (see outlet_last_check_in)."""
    first_day = period.end - timedelta(days=LAST_VISITS_LOOKBACK_DAYS - 1)
    return outlet_last_check_in(
        outlet_id, Period(first_day, period.end, period.timezone), window_s
    )


def outlet_last_check_in(
    outlet_id: sa.ColumnElement, searched: Period, window_s: float
) -> sa.ScalarSelect:
    """Select the outlet's latest check-in by anyone in the searched dates,
    of a kept visit: a resend (period_sql.is_resend, window_s seconds) has
    the date of the visit it repeats, which may be the day before.

    A correlated subquery that walks the (outlet_id, check_in) index back
    from the latest check-in, usually one seek per outlet plus one for the
    resend test. Bounded on both sides, it never reads an outlet's whole
    history. The visits are aliased, so the subquery never correlates with
    visits of the enclosing statement.
    """
    searched_visits = visits.alias("outlet_last_visit")
    return (
        sa.select(searched_visits.c.check_in)
        .where(
            searched_visits.c.outlet_id == outlet_id,
            searched_visits.c.check_in >= searched.utc_start,
            searched_visits.c.check_in < searched.utc_end,
            ~is_resend(searched_visits, window_s),
        )
        .order_by(searched_visits.c.check_in.desc())
        .limit(1)
        .scalar_subquery()
    )


def local_dates(instants: pd.Series, timezone: str) -> pd.Series:
    """Convert UTC instants to local dates in timezone, None where missing.

    pandas converts a column at once with the IANA time zone database, the
    same on every engine. In SQL, SQLite calls a Python function per row,
    which waits for the interpreter lock while other queries run. Naive
    instants are UTC. An instant with an offset, such as the text
    '2026-03-04 19:00:00+00:00' that another program wrote into SQLite, is
    converted from its offset.
    """
    moments = pd.to_datetime(instants, utc=True)
    local = moments.dt.tz_convert(timezone).dt.date
    return local.where(moments.notna(), None)


def with_last_visit_date(frame: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Replace last_check_in (UTC instants, naive or with their zone) by
    last_visit_date (local date, None when missing).

    The conversion runs in Python with the IANA time zone database, so it
    is the same on every engine. Also gives planned, on_beat and order_value
    their types.
    """
    local = local_dates(frame.pop("last_check_in"), timezone)
    position = list(frame.columns).index("on_beat") + 1
    frame.insert(position, "last_visit_date", local)
    frame["planned"] = frame["planned"].astype(bool)
    frame["on_beat"] = frame["on_beat"].astype(bool)
    frame["order_value"] = frame["order_value"].astype(float)
    return frame


# On PostgreSQL, an outlet activity statement runs as two halves side by side
# once the outlets table has this many rows. Below it, a second connection
# costs more than it saves.
SPLIT_MIN_OUTLETS = 20_000


def fetch_outlet_activity(
    engine: sa.Engine,
    name: str,
    statement: sa.Select,
    timezone: str,
    *,
    in_halves: bool = True,
    scope_conditions: Sequence[sa.ColumnElement[bool]] = (),
) -> pd.DataFrame:
    """Run an outlet activity statement (the columns of outlet_activity, with
    last_check_in, then last_visit_day) through Arrow (see
    _outlet_activity_frame), and return the frame that fetch_frame and
    with_last_visit_date would return for last_check_in alone.

    last_visit_day is the local date of the outlet's last visit where the
    statement selects it, and last_check_in is then NULL. The statement must
    select from the outlets table, ordered by outlet_id, because a large
    table is read in two halves of outlet_id (see _outlet_activity_frame).
    Its order_value must not be a NUMERIC column: SQLAlchemy returns those
    as Decimal rounded to the column's scale, and the driver's floats would
    differ from them in the last digits. in_halves=False reads it on one
    connection, for a statement that selects few outlets. scope_conditions,
    conditions on the outlets table that the statement applies too, place
    the middle outlet_id among the outlets in scope.
    """
    started = time.perf_counter()
    frame = _outlet_activity_frame(engine, name, statement, in_halves, scope_conditions)
    # SQLite returns instants and dates as ISO text, PostgreSQL as objects.
    frame["last_check_in"] = pd.to_datetime(
        frame["last_check_in"], format="ISO8601", utc=True
    )
    known_days = frame.pop("last_visit_day")
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.info("query %s: %d rows in %.0f ms", name, len(frame), elapsed_ms)
    frame = with_last_visit_date(frame, timezone)
    known = known_days.notna().to_numpy()
    if known.any():
        # Dates and None in an object column, as with_last_visit_date makes
        # them when any outlet has a visit. Its column is datetime64 when no
        # outlet has, and pandas would infer datetime64 from dates set by .loc.
        dates = frame["last_visit_date"].to_numpy(dtype=object, copy=True)
        dates[pd.isna(dates)] = None
        # SQLite returns dates as ISO text, PostgreSQL as dates. A period's
        # last week has 7 distinct days, so each is converted once.
        values = known_days.to_numpy(dtype=object)[known]
        days = {value: _as_date(value) for value in set(values)}
        dates[known] = [days[value] for value in values]
        frame["last_visit_date"] = pd.Series(dates, index=frame.index, dtype=object)
    return frame


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _outlet_activity_frame(
    engine: sa.Engine,
    name: str,
    statement: sa.Select,
    in_halves: bool,
    scope_conditions: Sequence[sa.ColumnElement[bool]],
) -> pd.DataFrame:
    """Read a statement over the outlets table ordered by outlet_id, and
    return its frame, with the columns that the driver's rows would give.

    SQLite sends them through the ADBC driver (dialect.sqlite_arrow_table),
    or through fetch_driver_rows where that read is unavailable.
    PostgreSQL sends the rows through COPY (dialect.copy_out_table). With
    SPLIT_MIN_OUTLETS outlets or more in scope, the outlets below the middle
    outlet_id and the others are read on two connections side by side, and
    their rows joined in order, so two server processes run the per-outlet
    look-ups. The halves are two snapshots, as two queries of a page are.
    SQLite runs the statement whole, because Python's sqlite3 driver takes
    the interpreter lock for every row. For the national week
    on 2 cores shared with other jobs (load average 2.7), two halves took
    1.6 to 2.2 s on SQLite and the whole statement 1.4 to 1.6 s. On
    PostgreSQL, with the driver's rows, the halves took 1.3 to 1.5 s and the
    whole 1.4 to 1.7 s.
    """
    if engine.dialect.name == "sqlite":
        return _sqlite_frame(engine, name, statement)
    if engine.dialect.name != "postgresql":
        return frame_of_rows(*fetch_driver_rows(engine, name, statement))
    middle = _middle_outlet_id(engine, scope_conditions) if in_halves else None
    if middle is None:
        return frame_of_table(fetch_copy_table(engine, name, statement))
    lower = statement.where(code_point_order(outlets.c.outlet_id) < middle)
    upper = statement.where(code_point_order(outlets.c.outlet_id) >= middle)
    with ThreadPoolExecutor(max_workers=1) as pool:
        upper_table = pool.submit(fetch_copy_table, engine, name, upper)
        lower_table = fetch_copy_table(engine, name, lower)
        tables = [lower_table, upper_table.result()]
    return frame_of_table(pa.concat_tables(tables))


def _sqlite_frame(engine: sa.Engine, name: str, statement: sa.Select) -> pd.DataFrame:
    """Read a statement on SQLite into a frame through dialect.sqlite_arrow_table,
    else through fetch_driver_rows, with the same values either way up to the
    last bit of a float sum (see sqlite_arrow_table)."""
    try:
        with engine.connect() as connection:
            table = sqlite_arrow_table(connection, statement)
    except ArrowReadUnavailable as error:
        log.warning(
            "query %s: reading Python's sqlite3 rows, because the Arrow read is "
            "unavailable: %s",
            name,
            error,
        )
        return frame_of_rows(*fetch_driver_rows(engine, name, statement))
    return frame_of_table(table)


def frame_of_table(table: pa.Table) -> pd.DataFrame:
    """Build the frame of a query's Arrow table with the dtypes that
    frame_of_rows gives the same rows as tuples.

    They differ where a column has no value: in a frame without rows, and
    in a column of NULLs only, tuples give object columns of None, while
    Arrow keeps the statement's type.
    """
    if table.num_rows == 0:
        return frame_of_rows([], table.column_names)
    frame = table.to_pandas()
    for name, values in zip(table.column_names, table.columns, strict=True):
        if values.null_count == table.num_rows:
            frame[name] = pd.Series([None] * table.num_rows, dtype=object)
    return frame


def fetch_copy_table(engine: sa.Engine, name: str, statement: sa.Select) -> pa.Table:
    """Run a query on PostgreSQL through dialect.copy_out_table, retrying
    once on a new connection after a dropped one, as fetch_rows does."""
    return _retried_after_drop(name, lambda: _run_copy(engine, statement))


def _run_copy(engine: sa.Engine, statement: sa.Select) -> pa.Table:
    with engine.connect() as connection:
        return copy_out_table(connection, statement)


def _middle_outlet_id(
    engine: sa.Engine, scope_conditions: Sequence[sa.ColumnElement[bool]] = ()
) -> str | None:
    """Return the outlet_id in the middle of the order of the outlets that
    meet scope_conditions, or None when fewer than SPLIT_MIN_OUTLETS do.

    The middle of the whole table split a region's outlets unevenly: the
    WEST region's national week read 39,035 outlets in one half (0.22 s)
    and few in the other (0.03 s). Inactive outlets count too, because the
    split needs no exact middle, and without a condition the count reads the
    primary key index alone.
    """
    with engine.connect() as connection:
        count = connection.execute(
            sa.select(sa.func.count()).select_from(outlets).where(*scope_conditions)
        ).scalar_one()
        if count < SPLIT_MIN_OUTLETS:
            return None
        return connection.execute(
            sa.select(outlets.c.outlet_id)
            .where(*scope_conditions)
            .order_by(code_point_order(outlets.c.outlet_id))
            .offset(count // 2)
            .limit(1)
        ).scalar()


def territory_list(engine: sa.Engine, scope: Scope) -> pd.DataFrame:
    """List the territories in scope: territory_id, territory_name, region_id, region_name.

    region_id is missing when the territory's region_id names no row of the
    regions table, so such a territory is without a region wherever regions
    group or filter territories.
    """
    statement = (
        sa.select(
            territories.c.territory_id,
            territories.c.name.label("territory_name"),
            regions.c.region_id,
            regions.c.name.label("region_name"),
        )
        .select_from(
            territories.outerjoin(
                regions, regions.c.region_id == territories.c.region_id
            )
        )
        .where(territories.c.territory_id.in_(scoped_territory_ids(scope)))
        .order_by(code_point_order(territories.c.territory_id))
    )
    return fetch_frame(engine, "territory_list", statement)


def rep_list(engine: sa.Engine, scope: Scope) -> pd.DataFrame:
    """List the reps in scope: rep_id, rep_name, territory_id, manager_id,
    active (schema.is_active)."""
    statement = (
        sa.select(
            reps.c.rep_id,
            reps.c.name.label("rep_name"),
            reps.c.territory_id,
            reps.c.manager_id,
            schema.is_active(reps).label("active"),
        )
        .where(*scoped_rep_conditions(scope))
        .order_by(code_point_order(reps.c.rep_id))
    )
    frame = fetch_frame(engine, "rep_list", statement)
    frame["active"] = frame["active"].astype(bool)
    return frame


def user_by_id(engine: sa.Engine, user_id: str) -> dict | None:
    """Return the users row of a login e-mail (matched without regard to case), or None.

    Raises LookupError when several rows match, such as 'Ann@x.com' and
    'ann@x.com' with different roles: picking one would grant a role at random.
    """
    email = user_id.strip()
    statement = sa.select(schema.users).order_by(
        code_point_order(schema.users.c.user_id)
    )
    users = fetch_frame(engine, "user_by_id", statement)
    # Python folds the case of both sides. SQL's lower() folds ASCII letters
    # only on SQLite and on a PostgreSQL database with the C locale, so there
    # 'Ärzte@x.com' would not even match itself. The users table is small: one
    # row per person who may sign in.
    matches = users["user_id"].str.lower() == email.lower()
    frame = users[matches].reset_index(drop=True)
    if len(frame) > 1:
        found = ", ".join(repr(row_id) for row_id in frame["user_id"])
        raise LookupError(
            f"{len(frame)} users rows match {email!r} without regard to case "
            f"({found}); keep one row per e-mail address"
        )
    if frame.empty:
        return None
    return frame.iloc[0].to_dict()


# The check-ins that may date the period picker's weeks and the GPS check.
# Within these bounds the first week starts on or after FIRST_DATE for any
# week start and time zone. A check-in outside them, such as one written
# before 1900 or as PostgreSQL's '-infinity', lies outside every period.
EARLIEST_CHECK_IN = datetime.combine(
    FIRST_DATE + timedelta(days=8), datetime.min.time()
)
LATEST_CHECK_IN = datetime.combine(LAST_DATE - timedelta(days=8), datetime.min.time())


class VisitDates(NamedTuple):
    """Local dates of the visits of a scope's reps: the first, the last, and
    the last that is not a resend, which opens the default week."""

    first: date
    last: date
    last_kept: date


def visit_date_range(
    engine: sa.Engine, scope: Scope, timezone: str, duplicate_window_s: float
) -> VisitDates | None:
    """Return the local dates of the first and last visit by a rep in scope,
    and of the last that is not a resend, or None when those reps have no
    visits.

    An unrestricted scope also counts visits whose rep_id is not in the reps table.
    Check-ins later than now are left out: a phone with a wrong clock must not
    make a future week the default one (data health counts those visits).
    A resend (see period_sql.is_resend under duplicate_window_s) just after
    midnight on the first day of a week makes that week the last, whose
    orders and planned calls a page can show, but not the default one: it
    has no kept visit. The first check-in is never a resend.
    """
    now = datetime.now(UTC).replace(tzinfo=None)
    conditions = [visits.c.check_in >= EARLIEST_CHECK_IN, visits.c.check_in <= now]
    if scoped_rep_conditions(scope):
        conditions.append(visits.c.rep_id.in_(scoped_rep_ids(scope)))
    # One subquery per bound, because SQLite resolves a lone min() or max()
    # with one seek of the check_in index but scans the index for both in one
    # SELECT (1.4 s for 5.6 million visits, SQLite 3.40). The last kept
    # check-in reads the index backwards and stops at the first one.
    first = sa.select(sa.func.min(visits.c.check_in)).where(*conditions)
    last = sa.select(sa.func.max(visits.c.check_in)).where(*conditions)
    last_kept = (
        sa.select(visits.c.check_in)
        .where(*conditions, ~is_resend(visits, duplicate_window_s))
        .order_by(visits.c.check_in.desc())
        .limit(1)
    )
    statement = sa.select(
        local_date(first.scalar_subquery(), timezone).label("first_date"),
        local_date(last.scalar_subquery(), timezone).label("last_date"),
        local_date(last_kept.scalar_subquery(), timezone).label("last_kept_date"),
    )
    row = fetch_frame(engine, "visit_date_range", statement).iloc[0]
    if row["first_date"] is None or pd.isna(row["first_date"]):
        return None
    return VisitDates(row["first_date"], row["last_date"], row["last_kept_date"])


# GPS presence is judged on the visits of this many days up to the latest one.
GPS_LOOKBACK_DAYS = 365


def data_presence(engine: sa.Engine) -> dict[str, bool]:
    """Tell which optional kinds of data the database has: beats, orders,
    boundaries, and GPS fixes on the visits of the GPS_LOOKBACK_DAYS days up to
    the latest visit.

    The GPS check is bounded by date because a database without fixes would
    otherwise be read to its last visit to find none.
    """
    supported = visits.c.check_in.between(EARLIEST_CHECK_IN, LATEST_CHECK_IN)
    latest = fetch_frame(
        engine,
        "latest_check_in",
        sa.select(sa.func.max(visits.c.check_in)).where(supported),
    ).iloc[0, 0]
    recent_fix = sa.false()
    if latest is not None and not pd.isna(latest):
        latest = pd.Timestamp(latest).to_pydatetime()
        recent_fix = sa.exists(
            sa.select(visits.c.visit_id).where(
                visits.c.check_in >= latest - timedelta(days=GPS_LOOKBACK_DAYS),
                visits.c.check_in <= latest,
                usable_fix(visits.c.latitude, visits.c.longitude),
            )
        )
    checks = {
        "beats": sa.exists(sa.select(beat_outlets.c.beat_id)),
        "orders": sa.exists(sa.select(orders.c.order_id)),
        "boundaries": sa.exists(sa.select(schema.territory_boundaries.c.territory_id)),
        "gps": recent_fix,
    }
    statement = sa.select(*(check.label(name) for name, check in checks.items()))
    frame = fetch_frame(engine, "data_presence", statement)
    return {name: bool(frame.iloc[0][name]) for name in checks}


def territory_boundary_list(engine: sa.Engine, scope: Scope) -> pd.DataFrame:
    """Stored outlines of the territories in scope: territory_id, geojson (text)."""
    boundaries = schema.territory_boundaries
    statement = (
        sa.select(boundaries.c.territory_id, boundaries.c.geojson)
        .where(boundaries.c.territory_id.in_(scoped_territory_ids(scope)))
        .order_by(code_point_order(boundaries.c.territory_id))
    )
    return fetch_frame(engine, "territory_boundary_list", statement)


def region_list(engine: sa.Engine, scope: Scope) -> pd.DataFrame:
    """List the regions that have a territory in scope: region_id, region_name."""
    statement = (
        sa.select(regions.c.region_id, regions.c.name.label("region_name"))
        .where(
            regions.c.region_id.in_(
                sa.select(territories.c.region_id).where(
                    territories.c.territory_id.in_(scoped_territory_ids(scope))
                )
            )
        )
        .order_by(code_point_order(regions.c.region_id))
    )
    return fetch_frame(engine, "region_list", statement)


def region_exists(engine: sa.Engine, region_id: str) -> bool:
    """Return True when the regions table has a row with this region_id."""
    statement = sa.select(
        sa.exists(
            sa.select(regions.c.region_id).where(regions.c.region_id == region_id)
        )
    )
    return bool(fetch_frame(engine, "region_exists", statement).iloc[0, 0])


def user_list(engine: sa.Engine) -> pd.DataFrame:
    """List the users rows: user_id, name, role, scope_id, ordered by user_id.

    The rows say who may sign in and what each person may see; they carry no
    sales figures, so the list is not scoped.
    """
    statement = sa.select(
        schema.users.c.user_id,
        schema.users.c.name,
        schema.users.c.role,
        schema.users.c.scope_id,
    ).order_by(code_point_order(schema.users.c.user_id))
    return fetch_frame(engine, "user_list", statement)


def territory_week_visited_outlets(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Count the active outlets visited by anyone, per territory and week.

    The weeks are the 7-day blocks from period.start, so a period that starts
    on the first day of a week gives calendar weeks. An outlet counts once a
    week however often it was visited, and duplicate visits are set aside as
    in every period query. Columns: territory_id (missing for outlets without
    one), week_start, visited_outlets; weeks without a visit have no row.
    """
    sql = PeriodSQL(period, settings, outlet_ids=scoped_outlet_ids(scope))
    kept = sql.period_visits
    first_day = (period.start - date(1970, 1, 1)).days
    week_index = ((day_number(kept.c.visit_date) - first_day) // 7).label("week_index")
    statement = (
        sa.select(
            outlets.c.territory_id,
            week_index,
            sa.func.count(sa.distinct(kept.c.outlet_id)).label("visited_outlets"),
        )
        .select_from(kept.join(outlets, outlets.c.outlet_id == kept.c.outlet_id))
        .where(schema.is_active(outlets))
        .group_by(outlets.c.territory_id, week_index)
        .order_by(code_point_order(outlets.c.territory_id), week_index)
    )
    frame = fetch_frame(engine, "territory_week_visited_outlets", statement)
    offsets = pd.to_timedelta(frame["week_index"].astype("int64") * 7, unit="D")
    frame["week_start"] = (pd.Timestamp(period.start) + offsets).dt.date
    frame["visited_outlets"] = frame["visited_outlets"].astype("int64")
    return frame[["territory_id", "week_start", "visited_outlets"]]


# An outlet's last visit and its list of last visits come from at most this
# many days up to the period's end.
LAST_VISITS_LOOKBACK_DAYS = 365


def outlet_last_visits(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    settings: Settings,
    outlet_id: str,
    limit: int = 5,
) -> pd.DataFrame:
    """List an outlet's last visits by anyone up to the period's last date,
    newest first, at most `limit` of them.

    Only the LAST_VISITS_LOOKBACK_DAYS days up to period.end are read, so the
    query stays bounded. Duplicates from offline sync are set aside as in
    every period query. The outlet must be in scope, otherwise the frame is
    empty. A visit by a rep outside the scope (another manager's rep at an
    outlet of a shared territory) keeps its row, but rep_id and rep_name are
    NULL, so the viewer never learns who it was. Columns: visit_id,
    visit_date (local), check_in, check_out (naive UTC), rep_id, rep_name,
    productive (0 or 1), order_value (its linked orders of value > 0),
    no_order_reason.
    """
    first_day = date.fromordinal(period.end.toordinal() - LAST_VISITS_LOOKBACK_DAYS + 1)
    span = Period(first_day, period.end, period.timezone)
    outlet_ids = scoped_outlet_ids(scope).where(outlets.c.outlet_id == outlet_id)
    sql = PeriodSQL(span, settings, outlet_ids=outlet_ids)
    kept = sql.period_visits
    linked = sql.linked_orders

    positive = linked.c.value > 0
    totals = (
        sa.select(
            linked.c.visit_id,
            sa.func.max(sa.case((positive, 1), else_=0)).label("productive"),
            sa.func.sum(sa.case((positive, linked.c.value), else_=0)).label(
                "order_value"
            ),
        )
        .group_by(linked.c.visit_id)
        .cte("last_visit_orders")
    )
    # Only reps in scope join, so a restricted scope reads NULL for the others.
    rep_conditions = scoped_rep_conditions(scope)
    rep_id = reps.c.rep_id if rep_conditions else kept.c.rep_id
    statement = (
        sa.select(
            kept.c.visit_id,
            kept.c.visit_date,
            kept.c.check_in,
            kept.c.check_out,
            rep_id.label("rep_id"),
            reps.c.name.label("rep_name"),
            _zero(totals.c.productive).label("productive"),
            _zero(totals.c.order_value).label("order_value"),
            kept.c.no_order_reason,
        )
        .select_from(
            kept.outerjoin(totals, totals.c.visit_id == kept.c.visit_id).outerjoin(
                reps, sa.and_(reps.c.rep_id == kept.c.rep_id, *rep_conditions)
            )
        )
        .order_by(kept.c.check_in.desc(), code_point_order(kept.c.visit_id).desc())
        .limit(limit)
    )
    frame = fetch_frame(engine, "outlet_last_visits", statement)
    frame["order_value"] = frame["order_value"].astype(float)
    return frame


def latest_check_in(engine: sa.Engine) -> datetime | None:
    """Return the latest check_in in the visits table (naive UTC), or None.

    It costs one probe of the check_in index and shows how fresh the data
    is. A check-in in the future is a clock or export fault that data health
    lists, so it is left out here.
    """
    now = datetime.now(UTC).replace(tzinfo=None)
    statement = sa.select(sa.func.max(visits.c.check_in).label("latest")).where(
        visits.c.check_in >= EARLIEST_CHECK_IN, visits.c.check_in <= now
    )
    latest = fetch_frame(engine, "latest_check_in", statement).iloc[0]["latest"]
    if latest is None or pd.isna(latest):
        return None
    return pd.Timestamp(latest).to_pydatetime()
