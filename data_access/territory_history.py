"""Territory figures for reps who moved: each visit, planned call and order
counts for the territory the rep belonged to on its local date.

The rep_territories table stores the history. A date that no row covers falls
back to reps.territory_id, so a database without history gives the same
figures as grouping reps by their current territory.
"""

import logging

import pandas as pd
import sqlalchemy as sa

from data_access import schema
from data_access.filters import Period, Scope, Settings
from data_access.period_sql import (
    PeriodSQL,
    limits_territories,
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
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(rep_territories.name):
            return False
        statement = sa.select(sa.exists(sa.select(rep_territories.c.rep_id)))
        found = bool(connection.execute(statement).scalar())
    log.info("query has_rep_territories: %s", found)
    return found


def scope_follows_history(engine: sa.Engine, scope: Scope) -> bool:
    """Tell whether period queries must scope reps by their territory on each date.

    That is so when the scope names regions or territories and the database
    stores a territory history. Other scopes skip the look-up.
    """
    return limits_territories(scope) and has_rep_territories(engine)


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
        .order_by(attributed.c.rep_id, attributed.c.territory_id)
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
