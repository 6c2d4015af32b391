"""Territory figures for reps who moved: each visit, planned call and order
counts for the territory the rep belonged to on its local date.

The rep_territories table stores the history. A date that no row covers falls
back to reps.territory_id, so a database without history gives the same
figures as grouping reps by their current territory.
"""

import logging
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from data_access import schema
from data_access.dialect import code_point_order
from data_access.filters import Period, Scope, Settings
from data_access.period_sql import (
    PeriodSQL,
    RepDates,
    limits_territories,
    rep_ids_near_territories,
    scoped_rep_ids,
    scoped_territory_ids,
    territory_on,
)
from data_access.queries import fetch_frame

log = logging.getLogger(__name__)

reps = schema.reps
rep_territories = schema.rep_territories

TERRITORY_ACTIVITY_COLUMNS = [
    "rep_id",
    "territory_id",
    "visits",
    "productive_visits",
    "planned_calls",
    "calls_on_plan",
    "order_value",
]


def has_rep_territories(engine: sa.Engine) -> bool:
    """Tell whether the database stores any territory history.

    A database created before the rep_territories table existed has no such
    table, so it has no history; the dashboard never creates tables.
    """
    # summary_queries imports this module, so it is imported here.
    from data_access.summary_queries import read_once_per_run

    return read_once_per_run(
        engine, "rep_territories rows", lambda: _has_history_rows(engine)
    )


def _has_history_rows(engine: sa.Engine) -> bool:
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(rep_territories.name):
            return False
        statement = sa.select(sa.exists(sa.select(rep_territories.c.rep_id)))
        found = bool(connection.execute(statement).scalar())
    log.info("query has_rep_territories: %s", found)
    return found


def scope_follows_history(engine: sa.Engine, scope: Scope, period: Period) -> bool:
    """Tell whether period queries must scope reps by their territory on each date.

    That is so when the scope names regions or territories and a
    rep_territories row near the period puts its rep in the scope where the
    rep's current territory does not, or the reverse. Otherwise the rep's
    territory on every date of the period is in the scope exactly when the
    current one is, so the queries scope reps by their current territory,
    which the summary tables can serve. A move between two territories of a
    region, for example, leaves the region's reps the same on every date.
    """
    if not limits_territories(scope) or not has_rep_territories(engine):
        return False
    with engine.connect() as connection:
        found = bool(connection.execute(_scope_changes(scope, period)).scalar())
    log.info("query scope_follows_history: %s", found)
    return found


# Rows this many days outside the period count too, so that rows a period
# query reads at its edges (the de-duplication margin before its first
# check-in) find the same territory either way.
HISTORY_MARGIN_DAYS = 1


def _scope_changes(scope: Scope, period: Period) -> sa.Select:
    """Select whether a rep_territories row near the period and its rep's
    current territory disagree about the scope."""
    return sa.select(sa.exists(_reps_changing_scope(scope, period)))


def _reps_changing_scope(scope: Scope, period: Period) -> sa.Select:
    """Select the rep_id of the rep_territories rows near the period that put
    their rep in the scope where the current territory does not, or the
    reverse."""
    in_scope = scoped_territory_ids(scope)

    def member(territory_id: sa.ColumnElement) -> sa.ColumnElement:
        # A NULL territory counts as outside the scope. For a history row
        # that only errs on the safe side: territory_on falls back to the
        # current territory there, and rep_dates_in_scope tests such a
        # rep's dates one by one.
        return sa.case((territory_id.in_(in_scope), 1), else_=0)

    current = reps.alias("current_rep")
    margin = timedelta(days=HISTORY_MARGIN_DAYS)
    disagreeing = (
        sa.select(rep_territories.c.rep_id)
        .select_from(
            rep_territories.outerjoin(
                current, current.c.rep_id == rep_territories.c.rep_id
            )
        )
        .where(
            # A row without a rep_id changes no rep, and a NULL among the
            # rep_ids would empty the scope's NOT IN.
            rep_territories.c.rep_id.is_not(None),
            rep_territories.c.valid_from <= period.end + margin,
            sa.or_(
                rep_territories.c.valid_to.is_(None),
                rep_territories.c.valid_to >= period.start - margin,
            ),
            member(rep_territories.c.territory_id) != member(current.c.territory_id),
        )
    )
    return disagreeing


# Each run is a term of an OR in the summary queries. SQLite 3.40 parses a
# chain of ORs to a tree as deep as the chain and rejects one deeper than
# 1,000 levels, so past this many runs the raw tables count the trend.
MAX_RUNS = 200


def rep_dates_in_scope(
    engine: sa.Engine, scope: Scope, period: Period
) -> RepDates | None:
    """Return the reps and dates a scope keeps over a territory history, for
    summary rows of whole weeks. A rep who enters or leaves the scope inside
    a week goes to raw_rep_ids, whose rows only the raw tables can count.
    None means that the runs would pass MAX_RUNS.

    period must be whole weeks. The reps whose history rows near the period
    disagree with their current territory about the scope are tested day by
    day by territory_on's rule, and each of their weeks in the scope becomes
    a run. Every other rep is kept or left by the current territory, as
    scoped_rep_ids keeps it.
    """
    if not limits_territories(scope) or not has_rep_territories(engine):
        return RepDates(scoped_rep_ids(scope))
    with engine.connect() as connection:
        moved = sorted(
            set(connection.execute(_reps_changing_scope(scope, period)).scalars())
        )
        if not moved:
            return RepDates(scoped_rep_ids(scope))
        in_scope = set(connection.execute(scoped_territory_ids(scope)).scalars())
        history = connection.execute(
            sa.select(rep_territories).where(rep_territories.c.rep_id.in_(moved))
        ).all()
        current = dict(
            connection.execute(
                sa.select(reps.c.rep_id, reps.c.territory_id).where(
                    reps.c.rep_id.in_(moved),
                    reps.c.rep_id.in_(rep_ids_near_territories(scope, period)),
                )
            ).all()
        )
    rows_by_rep: dict[str, list] = {}
    for row in history:
        rows_by_rep.setdefault(row.rep_id, []).append(row)

    runs = []
    raw_rep_ids = []
    for rep_id in moved:
        if rep_id not in current:
            # Not among rep_ids_near_territories, so in scope on no date.
            continue
        weeks = _weeks_in_scope(
            rows_by_rep.get(rep_id, []), current[rep_id], in_scope, period
        )
        if weeks is None:
            raw_rep_ids.append(rep_id)
            continue
        runs += [(rep_id, first, last) for first, last in _runs_of(weeks)]
    if len(runs) > MAX_RUNS:
        return None
    settled = scoped_rep_ids(scope).where(reps.c.rep_id.not_in(moved))
    return RepDates(settled, tuple(runs), tuple(raw_rep_ids))


def _weeks_in_scope(
    rows: list, current: str | None, in_scope: set[str], period: Period
) -> list[date] | None:
    """Return the first dates of the period's weeks in which the rep is in
    scope. Return None when the rep is in scope on only some days of a week,
    or when two rows of the same valid_from name different territories."""
    weeks = []
    week_start = period.start
    while week_start <= period.end:
        members = set()
        for offset in range(7):
            territories = _territories_on(rows, current, week_start + timedelta(offset))
            if len(territories) > 1:
                return None
            members.add(territories.pop() in in_scope)
        if len(members) > 1:
            return None
        if members.pop():
            weeks.append(week_start)
        week_start += timedelta(days=7)
    return weeks


def _territories_on(rows: list, current: str | None, day: date) -> set[str | None]:
    """Return the rep's territory on day by territory_on's rule, as a set that
    has two or more territories when rows of the same valid_from disagree."""
    covering = [
        row
        for row in rows
        if row.valid_from <= day and (row.valid_to is None or row.valid_to >= day)
    ]
    if not covering:
        return {current}
    latest = max(row.valid_from for row in covering)
    # territory_on falls back to the current territory for a NULL territory_id.
    return {
        current if row.territory_id is None else row.territory_id
        for row in covering
        if row.valid_from == latest
    }


def _runs_of(weeks: list[date]) -> list[tuple[date, date]]:
    """Merge consecutive week starts into (first date, last date) runs."""
    runs: list[tuple[date, date]] = []
    for week_start in weeks:
        last = week_start + timedelta(days=6)
        if runs and runs[-1][1] + timedelta(days=1) == week_start:
            runs[-1] = (runs[-1][0], last)
        else:
            runs.append((week_start, last))
    return runs


def territory_rep_activity(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Count visits, planned calls and orders per rep and territory of the day.

    One row per (rep, territory) with activity in the period, for reps of the
    reps table; a rep who moved mid-period has one row per territory. Only
    territories in scope are listed, and a scope that names reps or a manager
    keeps those reps only. Columns: rep_id, territory_id, visits,
    productive_visits, planned_calls, calls_on_plan and order_value (orders
    with value > 0), the columns the territories report sums.
    """
    known_reps = sa.select(reps.c.rep_id)
    if scope.rep_ids is not None:
        known_reps = known_reps.where(reps.c.rep_id.in_(scope.rep_ids))
    if scope.manager_id is not None:
        known_reps = known_reps.where(reps.c.manager_id == scope.manager_id)
    sql = PeriodSQL(period, settings, rep_ids=known_reps)

    facts = _dated_facts(sql, known_reps).subquery("dated_facts")
    territory = territory_on(facts.c.rep_id, facts.c.day).label("territory_id")
    attributed = sa.select(facts, territory).subquery("attributed_facts")
    statement = (
        sa.select(
            attributed.c.rep_id,
            attributed.c.territory_id,
            sa.func.sum(attributed.c.visits).label("visits"),
            sa.func.sum(attributed.c.productive_visits).label("productive_visits"),
            sa.func.sum(attributed.c.planned_calls).label("planned_calls"),
            sa.func.sum(attributed.c.calls_on_plan).label("calls_on_plan"),
            sa.func.sum(attributed.c.order_value).label("order_value"),
        )
        .where(attributed.c.territory_id.in_(scoped_territory_ids(scope)))
        .group_by(attributed.c.rep_id, attributed.c.territory_id)
        .order_by(
            code_point_order(attributed.c.rep_id),
            code_point_order(attributed.c.territory_id),
        )
    )

    frame = fetch_frame(engine, "territory_rep_activity", statement)
    counts = ["visits", "productive_visits", "planned_calls", "calls_on_plan"]
    frame[counts] = frame[counts].astype("int64")
    frame["order_value"] = frame["order_value"].astype(float)
    return frame[TERRITORY_ACTIVITY_COLUMNS]


def _dated_facts(sql: PeriodSQL, known_reps: sa.Select) -> sa.CompoundSelect:
    """Select one row per kept visit, planned call and order of the period, with
    its rep, its local date (day) and what it adds to each count."""
    facts = sql.visit_facts
    planned = sql.planned_calls
    kept = sql.period_visits
    orders = sql.period_orders

    visit_days = (
        sa.select(kept.c.rep_id, kept.c.outlet_id, kept.c.visit_date)
        .distinct()
        .cte("territory_visit_days")
    )
    visits = sa.select(
        facts.c.rep_id,
        facts.c.visit_date.label("day"),
        sa.literal(1).label("visits"),
        facts.c.productive.label("productive_visits"),
        sa.literal(0).label("planned_calls"),
        sa.literal(0).label("calls_on_plan"),
        sa.literal(0.0).label("order_value"),
    )
    calls = sa.select(
        planned.c.rep_id,
        planned.c.plan_date.label("day"),
        sa.literal(0),
        sa.literal(0),
        sa.literal(1),
        sa.case((visit_days.c.rep_id.is_(None), 0), else_=1),
        sa.literal(0.0),
    ).select_from(
        planned.outerjoin(
            visit_days,
            sa.and_(
                visit_days.c.rep_id == planned.c.rep_id,
                visit_days.c.outlet_id == planned.c.outlet_id,
                visit_days.c.visit_date == planned.c.plan_date,
            ),
        )
    )
    positive_orders = sa.select(
        orders.c.rep_id,
        orders.c.order_date,
        sa.literal(0),
        sa.literal(0),
        sa.literal(0),
        sa.literal(0),
        orders.c.value,
    ).where(orders.c.value > 0, orders.c.rep_id.in_(known_reps))
    return sa.union_all(visits, calls, positive_orders)
