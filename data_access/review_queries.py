"""Queries of the weekly review: time in market, a rep's calls day by day, the
skipped-outlet register with the order history that prices a skip, and the
week-by-week figures of the trend.

Like data_access.queries, each function takes the engine, the period, the
viewer's scope and the settings, applies the scope inside and returns
aggregates (per rep, rep-day, rep-outlet pair or week) as a DataFrame. An
empty result is an empty frame with the same columns. Over a rep_territories
history, a region or territory limit keeps a rep's visits, planned calls and
orders of the dates on which the rep belonged to one of its territories, as
the reports do. An outlet's order history, which prices a skip, still counts
every rep's visits.

Two PeriodSQL objects cannot share one statement because their common table
expressions have the same names. A query that needs dates before the period
(the order history, the lookback of consecutive skips) therefore builds one
PeriodSQL over a longer span and filters by date inside it.
"""

import contextvars
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from data_access import outlet_trend, schema, summary_queries, territory_history
from data_access.dialect import (
    code_point_order,
    day_number,
    local_date,
    seconds_between,
    unindexed,
)
from data_access.filters import FIRST_DATE, Period, Scope, Settings
from data_access.period_sql import (
    PeriodSQL,
    RepDates,
    beat_run_conditions,
    in_territories_on,
    is_resend,
    rep_ids_near_territories,
    scoped_outlet_conditions,
    scoped_rep_ids,
    scoped_territory_ids,
    territory_on,
)
from data_access.queries import (
    fetch_frame,
    fetch_frame_if,
    local_dates,
    outlet_last_check_in,
)
from data_access.sql_types import DATE, DATETIME, FLOAT, INTEGER, TEXT
from data_access.summaries import (
    HISTORY_WEEKS,
    REP_DAY_VISIT_COUNTS,
    order_value_per_visit,
    territory_order_history,
    visit_end,
    week_counts,
)

reps = schema.reps
outlets = schema.outlets
beats = schema.beats
beat_outlets = schema.beat_outlets
visits = schema.visits

# Consecutive missed calls are counted back over at most this many weeks
# before the period's last date (or over the whole period when it is longer).
# Both searches start on FIRST_DATE at the earliest, because no Period may
# start before it.
LOOKBACK_WEEKS = 13
# The register looks this many days back for a skipped outlet's last visit.
LAST_VISIT_DAYS = 365


def _distinct_cte(query: sa.Select, name: str) -> sa.CTE:
    """Return the distinct rows of query as a CTE, written as GROUP BY over every column.

    SQLite 3.40 builds no automatic index on a CTE written with DISTINCT, so a
    join with another large CTE scans it once per row. It does index a
    grouped one.
    """
    return query.group_by(*query.selected_columns).cte(name)


def _text_key(column: sa.ColumnElement) -> sa.ColumnElement:
    """Cast an id column of a CTE to text under the same name.

    linked_orders takes its visit_id from a window function, which has no
    type affinity in SQLite. SQLite then builds no automatic index for a join
    of it with a text visit_id and scans it once per row instead.
    """
    return sa.cast(column, TEXT).label(column.name)


def _off_site(facts: sa.FromClause, settings: Settings) -> sa.ColumnElement:
    return sa.case((facts.c.distance_m > settings.off_site_m, 1), else_=0)


def _scoped_period_sql(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> PeriodSQL:
    """Build the blocks of the scope's reps, by the rep's territory on each date
    when the database stores a territory history."""
    history = territory_history.scope_follows_history(engine, scope, period)
    return PeriodSQL.for_scope(period, settings, scope, history=history)


@dataclass(frozen=True)
class _ScopedReps:
    """The reps of a scope for queries whose PeriodSQL is scoped by outlet.

    With history (a territory history and a region or territory limit), a
    rep's row counts only when the rep belonged to one of the scope's
    territories on the row's date, as in PeriodSQL.for_scope. period bounds
    the dates of those rows.
    """

    scope: Scope
    period: Period
    history: bool
    # When given, only these reps of the scope.
    among_rep_ids: tuple[str, ...] | None = None

    @classmethod
    def of(cls, engine: sa.Engine, scope: Scope, period: Period) -> "_ScopedReps":
        history = territory_history.scope_follows_history(engine, scope, period)
        return cls(scope, period, history)

    @property
    def rep_ids(self) -> sa.Select:
        """rep_id of the reps who may have rows in scope. With history this is
        a superset, which rows() narrows date by date."""
        if self.history:
            rep_ids = rep_ids_near_territories(self.scope, self.period)
        else:
            rep_ids = scoped_rep_ids(self.scope)
        if self.among_rep_ids is not None:
            rep_ids = rep_ids.where(reps.c.rep_id.in_(self.among_rep_ids))
        return rep_ids

    def rows(
        self, rep_id: sa.ColumnElement, day: sa.ColumnElement
    ) -> list[sa.ColumnElement[bool]]:
        """WHERE conditions that keep a row of rep_id on the local date day."""
        conditions = [rep_id.in_(self.rep_ids)]
        if self.history:
            in_scope = in_territories_on(rep_id, day, scoped_territory_ids(self.scope))
            conditions.append(in_scope)
        return conditions


# Time in market


def _rep_day_spans(sql: PeriodSQL, settings: Settings) -> sa.CTE:
    """Count each rep's visits per local working day, with the first check-in and last end."""
    facts = sql.visit_facts
    return (
        sa.select(
            facts.c.rep_id,
            facts.c.visit_date,
            sa.func.count().label("visits"),
            sa.func.sum(facts.c.productive).label("productive_visits"),
            sa.func.sum(facts.c.order_lines).label("order_lines"),
            sa.func.sum(facts.c.off_beat).label("off_beat_visits"),
            sa.func.sum(_off_site(facts, settings)).label("off_site_visits"),
            sa.func.sum(facts.c.without_fix).label("visits_without_fix"),
            sa.func.min(facts.c.check_in).label("first_check_in"),
            sa.func.max(visit_end(facts)).label("last_check_out"),
        )
        .group_by(facts.c.rep_id, facts.c.visit_date)
        .cte("rep_day_spans")
    )


def _rep_day_lengths(sql: PeriodSQL) -> sa.CTE:
    """Find each rep's first check-in and last visit end per local working day.

    It computes them as _rep_day_spans does, but from the kept visits alone,
    because these two columns need no planned calls or linked orders.
    """
    kept = sql.kept_visits
    return (
        sa.select(
            kept.c.rep_id,
            kept.c.visit_date,
            sa.func.min(kept.c.check_in).label("first_check_in"),
            sa.func.max(visit_end(kept)).label("last_check_out"),
        )
        .group_by(kept.c.rep_id, kept.c.visit_date)
        .cte("rep_day_lengths")
    )


def rep_days(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Summarise each scoped rep's working days: one row per rep and day with visits.

    Columns: rep_id, visit_date, visits, productive_visits, order_lines
    (lines of the positive orders linked to the day's visits),
    off_beat_visits, off_site_visits, visits_without_fix, first_check_in
    and last_check_out (naive UTC; the last
    check-out is the latest check_out of the day, or check_in for a visit
    without a usable check_out), time_in_market_s (seconds between them).
    """
    sql = _scoped_period_sql(engine, period, scope, settings)
    spans = _rep_day_spans(sql, settings)
    statement = sa.select(
        spans,
        seconds_between(spans.c.first_check_in, spans.c.last_check_out).label(
            "time_in_market_s"
        ),
    ).order_by(code_point_order(spans.c.rep_id), spans.c.visit_date)
    frame = fetch_frame(engine, "rep_days", statement)
    frame["time_in_market_s"] = frame["time_in_market_s"].astype(float)
    return frame


def rep_time_in_market(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Total each scoped rep's time in market over the working days of the period.

    Columns: rep_id, working_days (local dates with at least one visit),
    time_in_market_s (the sum over those days of last check-out minus first
    check-in). Reps without visits have no row. Read from summary_rep_days
    when the summaries cover the period and the scope does not follow a
    territory history.
    """
    if _summaries_cover(engine, period, settings, scope):
        statement = summary_queries.rep_time_in_market(period, scoped_rep_ids(scope))
        frame = fetch_frame(engine, "rep_time_in_market_from_summaries", statement)
        frame["time_in_market_s"] = frame["time_in_market_s"].astype(float)
        return frame
    sql = _scoped_period_sql(engine, period, scope, settings)
    spans = _rep_day_lengths(sql)
    day_length = seconds_between(spans.c.first_check_in, spans.c.last_check_out)
    statement = (
        sa.select(
            spans.c.rep_id,
            sa.func.count().label("working_days"),
            sa.func.sum(day_length).label("time_in_market_s"),
        )
        .group_by(spans.c.rep_id)
        .order_by(code_point_order(spans.c.rep_id))
    )
    frame = fetch_frame(engine, "rep_time_in_market", statement)
    frame["time_in_market_s"] = frame["time_in_market_s"].astype(float)
    return frame


# One rep's calls


def rep_call_list(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings, rep_id: str
) -> pd.DataFrame:
    """List one rep's planned calls and visits of the period, day by day.

    One row per visit (planned = 1 when its outlet was planned for that day,
    else it is off-beat) and one row per planned call without a visit that
    day. other_visit_date is, for such a call, the rep's first visit to the
    outlet on another day of the period (missing when the rep never came).
    The rep must be in scope, otherwise the frame is empty. Under a region
    or territory limit over a territory history, only the rep's dates in
    those territories are listed.

    Columns: call_date, outlet_id, outlet_name, outlet_class, outlet_latitude,
    outlet_longitude, planned, visit_id, check_in, check_out (naive UTC),
    latitude, longitude (the check-in fix), distance_m, productive,
    order_value (positive orders linked to the visit), no_order_reason,
    other_visit_date.
    """
    sql = _rep_period_sql(engine, period, scope, settings, rep_id)
    facts = sql.visit_facts
    kept = sql.period_visits
    planned = sql.planned_calls
    linked = sql.linked_orders

    visit_values = (
        sa.select(
            _text_key(linked.c.visit_id),
            sa.func.sum(sa.case((linked.c.value > 0, linked.c.value), else_=0)).label(
                "order_value"
            ),
        )
        .group_by(linked.c.visit_id)
        .cte("visit_order_values")
    )
    visit_rows = sa.select(
        facts.c.visit_date.label("call_date"),
        facts.c.outlet_id,
        (1 - facts.c.off_beat).label("planned"),
        facts.c.visit_id,
        facts.c.check_in,
        facts.c.check_out,
        kept.c.latitude,
        kept.c.longitude,
        facts.c.distance_m,
        facts.c.productive,
        sa.func.coalesce(visit_values.c.order_value, 0).label("order_value"),
        kept.c.no_order_reason,
        sa.cast(sa.null(), DATE).label("other_visit_date"),
    ).select_from(
        facts.join(kept, kept.c.visit_id == facts.c.visit_id).outerjoin(
            visit_values, visit_values.c.visit_id == facts.c.visit_id
        )
    )

    visit_days = _distinct_cte(
        sa.select(kept.c.rep_id, kept.c.outlet_id, kept.c.visit_date),
        "call_visit_days",
    )
    first_visits = (
        sa.select(
            kept.c.rep_id,
            kept.c.outlet_id,
            sa.func.min(kept.c.visit_date).label("first_visit_date"),
        )
        .group_by(kept.c.rep_id, kept.c.outlet_id)
        .cte("call_first_visits")
    )
    missed_rows = (
        sa.select(
            planned.c.plan_date.label("call_date"),
            planned.c.outlet_id,
            sa.literal(1, INTEGER).label("planned"),
            sa.cast(sa.null(), TEXT).label("visit_id"),
            sa.cast(sa.null(), DATETIME).label("check_in"),
            sa.cast(sa.null(), DATETIME).label("check_out"),
            sa.cast(sa.null(), FLOAT).label("latitude"),
            sa.cast(sa.null(), FLOAT).label("longitude"),
            sa.cast(sa.null(), FLOAT).label("distance_m"),
            sa.literal(0, INTEGER).label("productive"),
            sa.literal(0.0, FLOAT).label("order_value"),
            sa.cast(sa.null(), TEXT).label("no_order_reason"),
            first_visits.c.first_visit_date.label("other_visit_date"),
        )
        .select_from(
            planned.outerjoin(
                visit_days,
                sa.and_(
                    visit_days.c.rep_id == planned.c.rep_id,
                    visit_days.c.outlet_id == planned.c.outlet_id,
                    visit_days.c.visit_date == planned.c.plan_date,
                ),
            ).outerjoin(
                first_visits,
                sa.and_(
                    first_visits.c.rep_id == planned.c.rep_id,
                    first_visits.c.outlet_id == planned.c.outlet_id,
                ),
            )
        )
        .where(visit_days.c.rep_id.is_(None))
    )
    calls = sa.union_all(visit_rows, missed_rows).subquery("calls")
    statement = (
        sa.select(
            calls.c.call_date,
            calls.c.outlet_id,
            outlets.c.name.label("outlet_name"),
            outlets.c.outlet_class,
            outlets.c.latitude.label("outlet_latitude"),
            outlets.c.longitude.label("outlet_longitude"),
            *(calls.c[name] for name in list(calls.c.keys())[2:]),
        )
        .select_from(calls.outerjoin(outlets, outlets.c.outlet_id == calls.c.outlet_id))
        .order_by(
            calls.c.call_date,
            calls.c.check_in.is_(None),
            calls.c.check_in,
            code_point_order(calls.c.outlet_id),
        )
    )
    frame = fetch_frame(engine, "rep_call_list", statement)
    frame["order_value"] = frame["order_value"].astype(float)
    return frame


def _rep_period_sql(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings, rep_id: str
) -> PeriodSQL:
    """Build the blocks of one rep of the scope, as PeriodSQL.for_scope does
    for all of them. With a territory history they keep only the rep's rows
    on dates in the scope's territories."""
    if not territory_history.scope_follows_history(engine, scope, period):
        rep_ids = scoped_rep_ids(scope).where(reps.c.rep_id == rep_id)
        return PeriodSQL(period, settings, rep_ids=rep_ids)
    rep_ids = rep_ids_near_territories(scope, period).where(reps.c.rep_id == rep_id)
    return PeriodSQL(
        period, settings, rep_ids=rep_ids, territory_ids=scoped_territory_ids(scope)
    )


# Order history, the basis of revenue at risk


def _lookback_start(period: Period) -> date:
    start = min(period.start, period.end - timedelta(weeks=LOOKBACK_WEEKS, days=-1))
    return max(start, FIRST_DATE)


def _plan_outlet_ids(rep_ids: sa.Select) -> sa.Select:
    """Select the outlets on the beats of rep_ids, the only outlets whose
    visits decide which of those reps' planned calls were skipped."""
    return (
        sa.select(beat_outlets.c.outlet_id)
        .select_from(
            beat_outlets.join(beats, beats.c.beat_id == beat_outlets.c.beat_id)
        )
        .where(beats.c.rep_id.in_(rep_ids))
    )


def _plan_territory_outlet_ids(rep_ids: sa.Select) -> sa.Select:
    """Select the outlets on the beats of rep_ids and every outlet of their territories.

    These are the outlets whose visits price a scoped rep's skips: the
    skipped outlets themselves and their territories' other outlets. An
    outlet without a territory is selected through its beat, because a
    NULL territory_id matches no territory.
    """
    plan_outlets = _plan_outlet_ids(rep_ids)
    plan_territories = sa.select(outlets.c.territory_id).where(
        outlets.c.outlet_id.in_(plan_outlets)
    )
    return sa.select(outlets.c.outlet_id).where(
        sa.or_(
            outlets.c.outlet_id.in_(plan_outlets),
            outlets.c.territory_id.in_(plan_territories),
        )
    )


def _on_plan_territory(
    outlet_id: sa.ColumnElement, rep_ids: sa.Select
) -> sa.ColumnElement[bool]:
    """Test whether outlet_id is one of _plan_territory_outlet_ids(rep_ids):
    an outlet on a beat of rep_ids, or in the territory of such an outlet.

    The EXISTS tests seek the outlet, its beats and its territory's outlets,
    so each tested row costs a few index seeks. The IN list of
    _plan_territory_outlet_ids reads every outlet on the reps' beats
    instead. For the 347 off-site pairs of a national week, the summary
    calls_at_risk took 0.4 to 0.6 s in place of 0.9 to 1.4 s (SQLite, load
    average 4 to 5).
    """
    priced = outlets.alias("priced_outlet")
    neighbour = outlets.alias("territory_outlet")
    own_beat, own_link = beats.alias("own_beat"), beat_outlets.alias("own_beat_outlet")
    near_beat = beats.alias("territory_beat")
    near_link = beat_outlets.alias("territory_beat_outlet")
    on_beat = sa.exists().where(
        own_link.c.outlet_id == priced.c.outlet_id,
        own_beat.c.beat_id == own_link.c.beat_id,
        own_beat.c.rep_id.in_(rep_ids),
    )
    in_territory = sa.exists().where(
        neighbour.c.territory_id == priced.c.territory_id,
        near_link.c.outlet_id == neighbour.c.outlet_id,
        near_beat.c.beat_id == near_link.c.beat_id,
        near_beat.c.rep_id.in_(rep_ids),
    )
    return sa.exists().where(
        priced.c.outlet_id == outlet_id, sa.or_(on_beat, in_territory)
    )


def _visit_order_values(sql: PeriodSQL, start: date, end: date) -> sa.CTE:
    """Visits of [start, end] with productive (0 or 1) and order_value (positive
    linked orders), by any rep."""
    kept = sql.period_visits
    linked = sql.linked_orders
    positive = linked.c.value > 0
    totals = (
        sa.select(
            _text_key(linked.c.visit_id),
            sa.func.max(sa.case((positive, 1), else_=0)).label("productive"),
            sa.func.sum(sa.case((positive, linked.c.value), else_=0)).label(
                "order_value"
            ),
        )
        .group_by(linked.c.visit_id)
        .cte(f"visit_values_{start:%Y%m%d}")
    )
    return (
        sa.select(
            kept.c.visit_id,
            kept.c.outlet_id,
            kept.c.visit_date,
            sa.func.coalesce(totals.c.productive, 0).label("productive"),
            sa.func.coalesce(totals.c.order_value, 0).label("order_value"),
        )
        .select_from(kept.outerjoin(totals, totals.c.visit_id == kept.c.visit_id))
        .where(kept.c.visit_date >= start, kept.c.visit_date <= end)
        .cte(f"history_visits_{start:%Y%m%d}")
    )


def _history_weeks(period: Period) -> Period:
    """Return the HISTORY_WEEKS weeks before the period, whose orders price a skip."""
    return Period(
        period.start - timedelta(weeks=HISTORY_WEEKS),
        period.start - timedelta(days=1),
        period.timezone,
    )


def _order_history(sql: PeriodSQL, period: Period) -> tuple[sa.CTE, sa.CTE]:
    """Productive visits and their order value in the history weeks before the
    period, per outlet (outlet_id, ...) and per territory (territory_id, ...)."""
    weeks = _history_weeks(period)
    history = _visit_order_values(sql, weeks.start, weeks.end)
    productive = history.c.productive == 1
    per_outlet = (
        sa.select(
            history.c.outlet_id,
            sa.func.sum(history.c.productive).label("productive_visits"),
            sa.func.sum(sa.case((productive, history.c.order_value), else_=0)).label(
                "order_value"
            ),
        )
        .group_by(history.c.outlet_id)
        .cte("outlet_order_history")
    )
    return per_outlet, _territory_order_history(per_outlet)


def _territory_order_history(per_outlet: sa.CTE) -> sa.CTE:
    """Sum the order history of per_outlet (outlet_id, productive_visits,
    order_value) per territory of the outlets."""
    return (
        sa.select(
            outlets.c.territory_id,
            sa.func.sum(per_outlet.c.productive_visits).label("productive_visits"),
            sa.func.sum(per_outlet.c.order_value).label("order_value"),
        )
        .select_from(
            per_outlet.join(outlets, outlets.c.outlet_id == per_outlet.c.outlet_id)
        )
        .group_by(outlets.c.territory_id)
        .cte("territory_order_history")
    )


def _history_columns(outlet_history: sa.CTE, territory_history: sa.CTE) -> list:
    zero = lambda column: sa.func.coalesce(column, 0)  # noqa: E731
    return [
        zero(outlet_history.c.productive_visits).label("outlet_productive_visits"),
        zero(outlet_history.c.order_value).label("outlet_order_value"),
        zero(territory_history.c.productive_visits).label(
            "territory_productive_visits"
        ),
        zero(territory_history.c.order_value).label("territory_order_value"),
    ]


def _float_history(frame: pd.DataFrame) -> pd.DataFrame:
    for name in ("outlet_order_value", "territory_order_value"):
        frame[name] = frame[name].astype(float)
    return frame


# Calls at risk and the skipped-outlet register


def calls_at_risk(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """List the calls of scoped reps whose outlet's usual order is at risk,
    with each outlet's order history to price them.

    Two kinds of rows, one per (rep, outlet, kind):

    - kind 'skipped': an outlet planned for the rep in the period that the
      rep did not visit on any date of it (a skipped outlet). calls is its
      planned calls in the period; first_plan_date and last_plan_date
      bound them.
    - kind 'off_site': the rep's visits to the outlet in the period that
      were logged farther than the off-site distance and sold nothing,
      because such a visit may not have happened. calls is their number.

    Columns: rep_id, rep_name, outlet_id, outlet_name, territory_id,
    outlet_class, kind, calls, first_plan_date, last_plan_date and the order
    history. outlet_productive_visits and outlet_order_value count the
    outlet's productive visits by anyone in the HISTORY_WEEKS weeks before
    the period and their positive order value. territory_productive_visits
    and territory_order_value are the same summed over its territory.
    """
    history = _history_weeks(period)
    span = Period(history.start, period.end, period.timezone)
    # The blocks read every rep's visits to the outlets that price the skips,
    # and scoped_reps keeps the scope's own calls among them.
    scoped_reps = _ScopedReps.of(engine, scope, span)
    outlet_ids = _plan_territory_outlet_ids(scoped_reps.rep_ids)
    # The rep-outlet weeks carry no territory per date, so a scope that
    # follows a territory history reads the period's calls from the raw tables.
    if not scoped_reps.history and _summaries_cover(engine, span, settings):
        rep_ids = scoped_reps.rep_ids
        skipped, off_site = summary_queries.rep_outlet_calls_at_risk(
            period, rep_ids, lambda outlet_id: _on_plan_territory(outlet_id, rep_ids)
        )
        outlet_history, territory_history = _summary_order_history(
            engine, period, settings, skipped, off_site
        )
        name = "calls_at_risk_from_summaries"
    elif _summaries_cover(engine, history, settings):
        # The order history comes from the summaries, so the blocks need only
        # the period's own rows.
        sql = PeriodSQL(period, settings, outlet_ids=outlet_ids)
        skipped = _skipped_calls(sql, period, scoped_reps)
        off_site = _unproductive_off_site(sql, period, scoped_reps, settings)
        outlet_history, territory_history = _summary_order_history(
            engine, period, settings, skipped, off_site
        )
        name = "calls_at_risk_with_summaries"
    else:
        sql = PeriodSQL(span, settings, outlet_ids=outlet_ids)
        skipped = _skipped_calls(sql, period, scoped_reps)
        off_site = _unproductive_off_site(sql, period, scoped_reps, settings)
        outlet_history, territory_history = _order_history(sql, period)
        name = "calls_at_risk"
    calls = sa.union_all(
        sa.select(
            skipped.c.rep_id,
            skipped.c.outlet_id,
            sa.literal("skipped", TEXT).label("kind"),
            skipped.c.planned_calls.label("calls"),
            skipped.c.first_plan_date,
            skipped.c.last_plan_date,
        ),
        sa.select(
            off_site.c.rep_id,
            off_site.c.outlet_id,
            sa.literal("off_site", TEXT).label("kind"),
            off_site.c.visits.label("calls"),
            sa.cast(sa.null(), DATE).label("first_plan_date"),
            sa.cast(sa.null(), DATE).label("last_plan_date"),
        ),
    )
    # Materialized, so that SQLite 3.40 joins the calls with an automatic
    # index on the order history. With the union inlined it scanned the
    # history once per skipped call when the skips were not grouped.
    kinds = calls.cte("calls_at_risk").prefix_with("MATERIALIZED")

    statement = (
        sa.select(
            kinds.c.rep_id,
            reps.c.name.label("rep_name"),
            kinds.c.outlet_id,
            outlets.c.name.label("outlet_name"),
            outlets.c.territory_id,
            outlets.c.outlet_class,
            kinds.c.kind,
            kinds.c.calls,
            kinds.c.first_plan_date,
            kinds.c.last_plan_date,
            *_history_columns(outlet_history, territory_history),
        )
        .select_from(
            kinds.join(reps, reps.c.rep_id == kinds.c.rep_id)
            .join(outlets, outlets.c.outlet_id == kinds.c.outlet_id)
            .outerjoin(outlet_history, outlet_history.c.outlet_id == kinds.c.outlet_id)
            .outerjoin(
                territory_history,
                territory_history.c.territory_id == outlets.c.territory_id,
            )
        )
        .order_by(
            kinds.c.kind,
            code_point_order(kinds.c.rep_id),
            code_point_order(kinds.c.outlet_id),
        )
    )
    return _float_history(fetch_frame(engine, name, statement))


def _summary_order_history(
    engine: sa.Engine,
    period: Period,
    settings: Settings,
    skipped: sa.CTE,
    off_site: sa.CTE,
) -> tuple[sa.CTE, sa.CTE]:
    """Read the order history of the outlets of skipped and off_site, and of
    every territory, over the history weeks from the summaries.

    Only those outlets' own histories price their calls. Their outlets
    contain whole territories (_plan_territory_outlet_ids), so each
    territory's sums come from summary_territory_weeks. When
    summary_skipped_calls is complete for the period's first week, the
    outlets skipped in that week take their history from its rows. Returns
    outlet_history and territory_history as _order_history does.
    """
    history = _history_weeks(period)
    priced_outlets = sa.union(
        sa.select(skipped.c.outlet_id), sa.select(off_site.c.outlet_id)
    )
    territory_history = territory_order_history(history.start, history.end)
    first_week = Period(period.start, period.start + timedelta(days=6), period.timezone)
    starts_week = summary_queries.is_whole_weeks(first_week, settings)
    if not (starts_week and summary_queries.skipped_calls_cover(engine, first_week)):
        outlet_history = summary_queries.outlet_order_history(history, priced_outlets)
        return outlet_history, territory_history
    # summary_skipped_calls stores the history of every outlet skipped in the
    # first week, so only the other priced outlets (the off-site ones, and
    # those skipped in later weeks only) read summary_outlet_weeks. For a
    # national week's skipped outlets, PostgreSQL 15 read all 2.5 million rows
    # of that table, and the statement took 0.37 to 0.39 s in place of 0.16 to
    # 0.18 s with the stored rows.
    stored = summary_queries.stored_outlet_history(
        first_week, history, sa.select(skipped.c.outlet_id)
    )
    priced = priced_outlets.subquery("priced_outlets")
    unstored = sa.select(priced.c.outlet_id).where(
        priced.c.outlet_id.not_in(sa.select(stored.c.outlet_id))
    )
    computed = summary_queries.outlet_order_history(
        history, unstored, "computed_outlet_history"
    )
    columns = ("outlet_id", "productive_visits", "order_value")
    both = sa.union_all(
        sa.select(*(stored.c[name] for name in columns)),
        sa.select(*(computed.c[name] for name in columns)),
    ).subquery("stored_and_computed")
    # Each outlet has one row, so max returns it unchanged. With the GROUP BY,
    # SQLite 3.40 joins the calls with an automatic index on the result. Over
    # the bare UNION ALL it scanned the result once per call (5.3 s).
    outlet_history = (
        sa.select(
            both.c.outlet_id,
            sa.func.max(both.c.productive_visits).label("productive_visits"),
            sa.func.max(both.c.order_value).label("order_value"),
        )
        .group_by(both.c.outlet_id)
        .cte("outlet_order_history")
    )
    return outlet_history, territory_history


def _skipped_calls(sql: PeriodSQL, period: Period, scoped_reps: _ScopedReps) -> sa.CTE:
    """(rep_id, outlet_id) planned for a scoped rep in the period and not visited
    by that rep in it, with planned_calls, first_plan_date, last_plan_date."""
    planned = sql.planned_calls
    kept = sql.period_visits
    visited = _distinct_cte(
        sa.select(kept.c.rep_id, kept.c.outlet_id).where(
            kept.c.visit_date >= period.start,
            *scoped_reps.rows(kept.c.rep_id, kept.c.visit_date),
        ),
        "period_visited_pairs",
    )
    return (
        sa.select(
            planned.c.rep_id,
            planned.c.outlet_id,
            sa.func.count().label("planned_calls"),
            sa.func.min(planned.c.plan_date).label("first_plan_date"),
            sa.func.max(planned.c.plan_date).label("last_plan_date"),
        )
        .select_from(
            planned.outerjoin(
                visited,
                sa.and_(
                    visited.c.rep_id == planned.c.rep_id,
                    visited.c.outlet_id == planned.c.outlet_id,
                ),
            )
        )
        .where(
            planned.c.plan_date >= period.start,
            *scoped_reps.rows(planned.c.rep_id, planned.c.plan_date),
            visited.c.rep_id.is_(None),
        )
        .group_by(planned.c.rep_id, planned.c.outlet_id)
        .cte("skipped_calls")
    )


def _unproductive_off_site(
    sql: PeriodSQL, period: Period, scoped_reps: _ScopedReps, settings: Settings
) -> sa.CTE:
    """(rep_id, outlet_id, visits): the period's off-site visits without an order."""
    facts = sql.visit_facts
    return (
        sa.select(facts.c.rep_id, facts.c.outlet_id, sa.func.count().label("visits"))
        .where(
            facts.c.visit_date >= period.start,
            *scoped_reps.rows(facts.c.rep_id, facts.c.visit_date),
            facts.c.distance_m > settings.off_site_m,
            facts.c.productive == 0,
        )
        .group_by(facts.c.rep_id, facts.c.outlet_id)
        .cte("unproductive_off_site")
    )


def skip_details(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Describe each outlet planned for a scoped rep in the period that the rep
    has not visited since the period started.

    Per (rep_id, outlet_id):

    - consecutive_missed_calls: the rep's planned calls of the outlet after
      the rep's last visit to it, up to the period's last date, counted
      over at most LOOKBACK_WEEKS weeks (or the whole period when it is
      longer). missed_since_lookback_start is true when the rep made no
      visit in that lookback although a beat of the rep held the outlet
      before it began, so the count is a lower bound.
    - rep_last_visit_date and reason_at_last_visit: the rep's last visit to
      the outlet in the LAST_VISIT_DAYS days up to the period's last date
      (from FIRST_DATE when that is later), and the no-order reason recorded
      then, because the data has no reason for a skip itself. Both are
      missing when there is no such visit.
    - last_visit_date: the outlet's last visit by anyone in those days.

    Visit dates are those of kept visits, as the outlets report's
    last_visit_date: a resend that crossed midnight keeps the date of the
    visit it repeats.
    """
    return _skips(engine, period, scope, settings, with_last_visits=True)


def skip_runs(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Return the first four columns of skip_details, with the same rows.

    The exceptions need only these. Without the year's last visits and the
    reason at the rep's last visit, each skipped outlet takes two look-ups
    fewer. For a national week the query alone took about 0.43 s in place
    of 0.59 s on PostgreSQL, and 0.48 s in place of 0.67 s on SQLite.
    """
    return _skips(engine, period, scope, settings, with_last_visits=False)


def _skips(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    settings: Settings,
    with_last_visits: bool,
) -> pd.DataFrame:
    lookback = Period(_lookback_start(period), period.end, period.timezone)
    # Without the last visits, the search stops at the lookback's start,
    # because earlier visits cannot change a count (see _skipped_beats).
    searched = lookback
    if with_last_visits:
        searched = Period(
            max(period.end - timedelta(days=LAST_VISIT_DAYS - 1), FIRST_DATE),
            period.end,
            period.timezone,
        )
    query_name = "skip_details" if with_last_visits else "skip_runs"
    scoped_reps = _ScopedReps.of(engine, scope, lookback)
    calendar = PeriodSQL(lookback, settings).calendar
    # The summaries narrow the beat outlets to test to the pairs without a
    # kept visit, which contain every unvisited pair. They carry no
    # territory per date, so a scope that follows a territory history
    # tests every beat outlet.
    # NOTE: from the few candidates SQLite 3.40 expects few skipped beats,
    # and scans the calendar once per skipped beat in place of indexing it.
    # Up to LOOKBACK_WEEKS weeks the calendar is 91 rows, which cost about
    # 0.03 s for a national week; longer periods read the raw tables.
    if (
        not scoped_reps.history
        and _week_count(period) <= LOOKBACK_WEEKS
        and _summaries_cover(engine, period, settings)
    ):
        candidates = summary_queries.unvisited_planned_pairs(
            period, scoped_reps.rep_ids
        )
        schedules = _unvisited_candidate_outlets(
            candidates, period, settings.duplicate_window_s
        )
        name = f"{query_name}_with_summaries"
    else:
        visited = _visited_pairs(
            period, scoped_reps.rep_ids, settings.duplicate_window_s
        )
        schedules = _unvisited_beat_outlets(visited, scoped_reps)
        name = query_name
    skipped = _skipped_pairs(schedules, calendar, period, scoped_reps)
    skipped_beats = _skipped_beats(schedules, skipped, lookback, searched, settings)
    figures = _missed_call_figures(skipped_beats, calendar, scoped_reps)

    # The count is a lower bound only when the rep had this outlet on a beat
    # before the lookback started and made no visit within it.
    rep_id = figures.c.rep_id
    outlet_id = figures.c.outlet_id
    check_in = figures.c.check_in
    cut_short = sa.and_(
        sa.or_(check_in.is_(None), check_in < lookback.utc_start),
        _first_beat_start(rep_id, outlet_id) < lookback.start,
    )
    columns = [
        rep_id,
        outlet_id,
        figures.c.consecutive_missed_calls,
        sa.case((cut_short, 1), else_=0).label("missed_since_lookback_start"),
    ]
    if with_last_visits:
        reason = _reason_at_visit(rep_id, outlet_id, check_in, searched)
        outlet_check_in = outlet_last_check_in(
            outlet_id, searched, settings.duplicate_window_s
        )
        columns += [
            check_in.label("rep_last_visit_date"),
            reason.label("reason_at_last_visit"),
            outlet_check_in.label("last_visit_date"),
        ]
    statement = sa.select(*columns).order_by(
        code_point_order(rep_id), code_point_order(outlet_id)
    )
    frame = fetch_frame(engine, name, statement)
    frame["missed_since_lookback_start"] = frame["missed_since_lookback_start"].astype(
        bool
    )
    if with_last_visits:
        # pandas converts each column of check-ins to local dates at once.
        for column in ("rep_last_visit_date", "last_visit_date"):
            frame[column] = local_dates(frame[column], settings.timezone)
    return frame


def _visited_pairs(period: Period, rep_ids: sa.Select, window_s: float) -> sa.CTE:
    """Select the distinct (rep_id, outlet_id) of every kept check-in of
    rep_ids in the period, in one pass over the period's visits. A resend
    (period_sql.is_resend) of a visit before the period is no visit in it."""
    return _distinct_cte(
        sa.select(visits.c.rep_id, visits.c.outlet_id).where(
            visits.c.check_in >= period.utc_start,
            visits.c.check_in < period.utc_end,
            visits.c.rep_id.in_(rep_ids),
            ~is_resend(visits, window_s),
        ),
        "period_visited_outlets",
    )


def _visited_in(
    rep_id: sa.ColumnElement, outlet_id: sa.ColumnElement, visited: sa.CTE
) -> sa.Exists:
    """Test with EXISTS whether (rep_id, outlet_id) is a pair of _visited_pairs."""
    return sa.exists().where(
        visited.c.rep_id == rep_id, visited.c.outlet_id == outlet_id
    )


# skip_details dates the planned calls itself, by the rules of
# PeriodSQL.planned_calls, because that block filters beat outlets by outlet
# id only. PostgreSQL 15 estimates a few dozen rows for its join of beats
# with the calendar, so there it gave every beat outlet its 13 weeks of dates
# (1.6 million rows for 2,000 reps) before it applied that filter. Here the
# dates start from the few beat outlets that their rep did not visit. Most
# steps are MATERIALIZED, and each joins one CTE with the calendar or tests
# membership with IN. PostgreSQL joined two CTEs of planned calls by nested
# loops that compared every pair with every other, and SQLite 3.40 indexed
# neither side of such a join.


def _beat_schedule() -> list[sa.ColumnElement]:
    """Return the columns of a beat outlet with its beat's schedule, as the
    unvisited beat outlets select them."""
    return [
        beats.c.rep_id,
        beat_outlets.c.outlet_id,
        beats.c.weekday,
        beats.c.every_n_weeks,
        beats.c.start_date,
        beats.c.end_date,
    ]


def _unvisited_beat_outlets(visited: sa.CTE, scoped_reps: _ScopedReps) -> sa.CTE:
    """Select each active outlet on a beat of a scoped rep that the rep did not
    visit in the period, with the beat's schedule: rep_id, outlet_id,
    weekday, every_n_weeks, start_date and end_date, one row per beat.

    Every skipped outlet is among them, and they are a small share of the
    plan.
    """
    return (
        sa.select(*_beat_schedule())
        .select_from(
            beat_outlets.join(beats, beats.c.beat_id == beat_outlets.c.beat_id).join(
                outlets, outlets.c.outlet_id == beat_outlets.c.outlet_id
            )
        )
        .where(
            beats.c.rep_id.in_(scoped_reps.rep_ids),
            schema.is_active(outlets),
            ~_visited_in(beats.c.rep_id, beat_outlets.c.outlet_id, visited),
        )
        .cte("unvisited_beat_outlets")
        .prefix_with("MATERIALIZED")
    )


def _unvisited_candidate_outlets(
    candidates: sa.CTE, period: Period, window_s: float
) -> sa.CTE:
    """Select the rows of _unvisited_beat_outlets for the candidate pairs
    (rep_id, outlet_id) of scoped reps that contain every unvisited pair.

    Each candidate is tested on its own kept visits in the period (a resend,
    period_sql.is_resend, is none), through the outlet's check_in index:
    11,500 index ranges for a national week. Reading the week's 110,000
    visits and 132,000 beat outlets took 0.35 s of the query's 0.55 s
    (SQLite 3.40).
    """
    period_visit = visits.alias("period_visit")
    visited = sa.exists().where(
        period_visit.c.outlet_id == candidates.c.outlet_id,
        period_visit.c.check_in >= period.utc_start,
        period_visit.c.check_in < period.utc_end,
        unindexed(period_visit.c.rep_id) == candidates.c.rep_id,
        ~is_resend(period_visit, window_s),
    )
    return (
        sa.select(*_beat_schedule())
        .select_from(
            candidates.join(
                beat_outlets, beat_outlets.c.outlet_id == candidates.c.outlet_id
            )
            .join(
                beats,
                sa.and_(
                    beats.c.beat_id == beat_outlets.c.beat_id,
                    beats.c.rep_id == candidates.c.rep_id,
                ),
            )
            .join(outlets, outlets.c.outlet_id == beat_outlets.c.outlet_id)
        )
        .where(schema.is_active(outlets), ~visited)
        .cte("unvisited_beat_outlets")
        .prefix_with("MATERIALIZED")
    )


def _planned_on(
    schedule: sa.FromClause, calendar: sa.CTE, scoped_reps: _ScopedReps
) -> list[sa.ColumnElement[bool]]:
    """Return the conditions under which a calendar date is a planned call of a
    row with a beat's schedule.

    The date is a run date of the beat (beat_run_conditions). With a
    territory history, the rep also belongs to one of the scope's
    territories on that date.
    """
    conditions = beat_run_conditions(schedule, calendar)
    if scoped_reps.history:
        territory = territory_on(schedule.c.rep_id, calendar.c.plan_date)
        conditions.append(territory.in_(scoped_territory_ids(scoped_reps.scope)))
    return conditions


def _skipped_pairs(
    schedules: sa.CTE, calendar: sa.CTE, period: Period, scoped_reps: _ScopedReps
) -> sa.CTE:
    """Select the (rep_id, outlet_id) of schedules with a planned call in the
    period: the skipped outlets."""
    return _distinct_cte(
        sa.select(schedules.c.rep_id, schedules.c.outlet_id)
        .select_from(schedules.join(calendar, calendar.c.plan_date >= period.start))
        .where(*_planned_on(schedules, calendar, scoped_reps)),
        "skipped_pairs",
    ).prefix_with("MATERIALIZED")


def _skipped_beats(
    schedules: sa.CTE,
    skipped: sa.CTE,
    lookback: Period,
    searched: Period,
    settings: Settings,
) -> sa.CTE:
    """Select the rows of schedules whose (rep_id, outlet_id) is skipped, with
    two more columns.

    check_in is the rep's last check-in at the outlet in the searched dates.
    since is the date after which the planned calls count as missed: the
    check-in's local date, or the day before the lookback when the rep made
    no visit in the lookback.
    """
    is_skipped = sa.tuple_(schedules.c.rep_id, schedules.c.outlet_id).in_(
        sa.select(skipped.c.rep_id, skipped.c.outlet_id)
    )
    check_in = _rep_last_check_in(
        schedules.c.rep_id, schedules.c.outlet_id, searched, settings.duplicate_window_s
    )
    last = (
        sa.select(schedules, check_in.label("check_in"))
        .where(is_skipped)
        .cte("skipped_beats")
        .prefix_with("MATERIALIZED")
    )
    # A CASE whose condition is NULL (no visit at all) takes the ELSE branch.
    since = sa.case(
        (
            last.c.check_in >= lookback.utc_start,
            local_date(last.c.check_in, settings.timezone),
        ),
        else_=sa.literal(lookback.start - timedelta(days=1), DATE),
    )
    # Materialized, so that each row dates its check-in once and not once
    # per calendar date.
    return (
        sa.select(last, since.label("since"))
        .cte("dated_skipped_beats")
        .prefix_with("MATERIALIZED")
    )


def _missed_call_figures(
    skipped_beats: sa.CTE, calendar: sa.CTE, scoped_reps: _ScopedReps
) -> sa.CTE:
    """Count the missed calls of each skipped pair, one row per pair: rep_id,
    outlet_id, consecutive_missed_calls (the distinct planned dates in the
    lookback after since, over the rep's beats with the outlet) and
    check_in.

    Every skipped pair has a planned call in the period, after since, so
    none is lost to the inner join.
    """
    beat = skipped_beats
    missed = [
        *_planned_on(beat, calendar, scoped_reps),
        calendar.c.plan_date > beat.c.since,
    ]
    return (
        sa.select(
            beat.c.rep_id,
            beat.c.outlet_id,
            sa.func.count(sa.distinct(calendar.c.plan_date)).label(
                "consecutive_missed_calls"
            ),
            sa.func.max(beat.c.check_in).label("check_in"),
        )
        .select_from(beat.join(calendar, sa.and_(*missed)))
        .group_by(beat.c.rep_id, beat.c.outlet_id)
        .cte("missed_call_figures")
    )


def _first_beat_start(
    rep_id: sa.ColumnElement, outlet_id: sa.ColumnElement
) -> sa.ScalarSelect:
    """Select the earliest start_date of the rep's beats with the outlet."""
    return (
        sa.select(sa.func.min(beats.c.start_date))
        .select_from(
            beat_outlets.join(beats, beats.c.beat_id == beat_outlets.c.beat_id)
        )
        .where(beat_outlets.c.outlet_id == outlet_id, beats.c.rep_id == rep_id)
        .scalar_subquery()
    )


def _rep_last_check_in(
    rep_id: sa.ColumnElement,
    outlet_id: sa.ColumnElement,
    searched: Period,
    window_s: float,
) -> sa.ScalarSelect:
    """Select the rep's last check_in at the outlet in the searched dates, of
    a kept visit (a resend, period_sql.is_resend, is passed over).

    It reads the outlet's check_in index (a visit or two a week) in place of
    the rep's (hundreds a week), newest first, and stops at the rep's first
    visit. max() read the rows of the outlet's whole year for their rep_id,
    about 15 a skipped outlet: a national week's skip_details took 0.40 s in
    place of 0.38 s (best of 6 in turns, SQLite 3.40, load average 3).
    """
    last_visit = visits.alias("last_visit")
    return (
        sa.select(last_visit.c.check_in)
        .where(
            last_visit.c.outlet_id == outlet_id,
            unindexed(last_visit.c.rep_id) == rep_id,
            last_visit.c.check_in >= searched.utc_start,
            last_visit.c.check_in < searched.utc_end,
            ~is_resend(last_visit, window_s),
        )
        .order_by(last_visit.c.check_in.desc())
        .limit(1)
        .scalar_subquery()
    )


def _reason_at_visit(
    rep_id: sa.ColumnElement,
    outlet_id: sa.ColumnElement,
    check_in: sa.ColumnElement,
    searched: Period,
) -> sa.ScalarSelect:
    """Select the no_order_reason of the rep's visit to the outlet at check_in,
    NULL when check_in is NULL.

    Two visits at the same instant are offline-sync resends of one visit,
    and max() picks one of their reasons, by code point on every engine.
    """
    # The searched dates repeat the bound that check_in already meets, so
    # the read is bounded on its face. They stay off the index: given them,
    # SQLite walks the outlet's whole year of check-ins and reads each row
    # for its rep_id, where the equality on check_in seeks the one instant.
    # That cut a national week's skip_details by 5 to 38% in paired runs
    # (SQLite, load average 4 to 5).
    same_visit = visits.alias("same_visit")
    return (
        sa.select(sa.func.max(code_point_order(same_visit.c.no_order_reason)))
        .where(
            same_visit.c.outlet_id == outlet_id,
            same_visit.c.check_in == check_in,
            unindexed(same_visit.c.rep_id) == rep_id,
            unindexed(same_visit.c.check_in) >= searched.utc_start,
            unindexed(same_visit.c.check_in) < searched.utc_end,
        )
        .scalar_subquery()
    )


# Week by week, for the trend


def _day_number_of(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def _week_index(day: sa.ColumnElement, first_day: date) -> sa.ColumnElement:
    """Whole weeks from first_day to day. day must not be earlier than first_day,
    because SQL's integer division truncates toward zero."""
    return (day_number(day) - _day_number_of(first_day)) // 7


def _check_whole_weeks(span: Period) -> None:
    days = (span.end - span.start).days + 1
    if days % 7:
        raise ValueError(
            f"the trend span {span.start} to {span.end} is {days} days long; "
            "use whole weeks"
        )


def weekly_rep_figures(
    engine: sa.Engine, span: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Count the scoped reps' visits, working time and plan per week of span.

    span is whole weeks, and week_index 0 starts on span.start. One row per
    week, zeros where nothing happened. Columns: week_index, visits,
    productive_visits, order_lines, off_beat_visits, off_site_visits,
    visits_without_fix, working_days (rep-days with a visit),
    time_in_market_s (summed over those rep-days), planned_calls,
    calls_on_plan, planned_outlets and skipped_outlets. planned_outlets
    sums over reps the outlets planned for the rep in the week, and
    skipped_outlets those of them the rep did not visit in it, as the reps
    report counts a one-week period.

    Reads summary_rep_days and summary_rep_outlet_weeks when the summaries
    cover the span. A region or territory limit over a territory history
    reads them for whole weeks of each rep in or out of the scope
    (territory_history.rep_dates_in_scope). The reps who enter or leave the
    scope inside a week are counted from the raw tables, because the
    rep-outlet weeks carry no territory per date, and added to the others.
    """
    _check_whole_weeks(span)
    if _summaries_cover(engine, span, settings):
        rep_dates = territory_history.rep_dates_in_scope(engine, scope, span)
        if rep_dates is not None:
            frame = _weekly_rep_figures_from_summaries(engine, span, rep_dates)
            if not rep_dates.raw_rep_ids:
                return frame
            # The reps count apart, so their figures add up week by week.
            sql = PeriodSQL.for_scope(
                span, settings, scope, history=True,
                among_rep_ids=rep_dates.raw_rep_ids,
            )  # fmt: skip
            raw = _raw_weekly_rep_figures(engine, sql, span, settings)
            summed = frame.set_index("week_index").add(raw.set_index("week_index"))
            return _rep_figure_types(summed.reset_index()[list(frame.columns)])
    sql = _scoped_period_sql(engine, span, scope, settings)
    return _raw_weekly_rep_figures(engine, sql, span, settings)


def _raw_weekly_rep_figures(
    engine: sa.Engine, sql: PeriodSQL, span: Period, settings: Settings
) -> pd.DataFrame:
    """Count the frame of weekly_rep_figures from the raw tables of sql."""
    weeks = _week_rows(span)
    visit_counts = _weekly_visit_counts(sql, span, settings)
    plan_counts = _weekly_plan_counts(sql, span)
    skip_counts = _weekly_skip_counts(sql, span)

    zero = lambda column: sa.func.coalesce(column, 0)  # noqa: E731
    visit_columns = [
        zero(column).label(column.name)
        for column in visit_counts.c
        if column.name != "week_index"
    ]
    statement = (
        sa.select(
            weeks.c.week_index,
            *visit_columns,
            zero(plan_counts.c.planned_calls).label("planned_calls"),
            zero(plan_counts.c.calls_on_plan).label("calls_on_plan"),
            zero(skip_counts.c.planned_outlets).label("planned_outlets"),
            zero(skip_counts.c.skipped_outlets).label("skipped_outlets"),
        )
        .select_from(
            weeks.outerjoin(
                visit_counts, visit_counts.c.week_index == weeks.c.week_index
            )
            .outerjoin(plan_counts, plan_counts.c.week_index == weeks.c.week_index)
            .outerjoin(skip_counts, skip_counts.c.week_index == weeks.c.week_index)
        )
        .order_by(weeks.c.week_index)
    )
    frame = fetch_frame(engine, "weekly_rep_figures", statement)
    return _rep_figure_types(frame)


def _summaries_cover(
    engine: sa.Engine, period: Period, settings: Settings, scope: Scope | None = None
) -> bool:
    """Tell whether the summary tables cover period, and can serve scope when
    given. A scope that follows a territory history needs the raw tables."""
    if scope is not None and territory_history.scope_follows_history(
        engine, scope, period
    ):
        return False
    return summary_queries.summary_status(engine, period, settings).usable


def _weekly_rep_figures_from_summaries(
    engine: sa.Engine, span: Period, rep_ids: RepDates
) -> pd.DataFrame:
    """Sum the frame of weekly_rep_figures from summary_rep_days and
    summary_rep_outlet_weeks for the reps and dates of rep_ids. The span must
    be whole summarised weeks."""
    day_counts = summary_queries.weekly_rep_day_counts(span, rep_ids)
    outlet_counts = summary_queries.weekly_planned_outlets(
        span, rep_ids, summary_queries.rep_weeks_cover(engine, span)
    )
    days = fetch_frame(
        engine, "weekly_rep_figures_from_summaries", sa.select(day_counts)
    )
    planned = fetch_frame(
        engine, "weekly_planned_outlets_from_summaries", sa.select(outlet_counts)
    )

    # Weeks without rows count zero, as in the raw query's outer join with every week.
    weeks = (span.end - span.start).days // 7 + 1
    frame = (
        pd.DataFrame({"week_index": range(weeks)})
        .merge(days, on="week_index", how="left")
        .merge(planned, on="week_index", how="left")
        .fillna(0)
    )
    return _rep_figure_types(frame)


def _rep_figure_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Make the counts int64 and the time in market float, whichever path and
    engine summed them: PostgreSQL returns sums of integers as numeric."""
    for name in frame.columns:
        frame[name] = frame[name].astype(
            float if name == "time_in_market_s" else "int64"
        )
    return frame


def _weekly_visit_counts(sql: PeriodSQL, span: Period, settings: Settings) -> sa.CTE:
    spans = _rep_day_spans(sql, settings)
    week = _week_index(spans.c.visit_date, span.start)
    counts = [sa.func.sum(spans.c[name]).label(name) for name in REP_DAY_VISIT_COUNTS]
    day_length = seconds_between(spans.c.first_check_in, spans.c.last_check_out)
    return (
        sa.select(
            week.label("week_index"),
            *counts,
            sa.func.count().label("working_days"),
            sa.func.sum(day_length).label("time_in_market_s"),
        )
        .group_by(week)
        .cte("weekly_visit_counts")
    )


def _weekly_plan_counts(sql: PeriodSQL, span: Period) -> sa.CTE:
    planned = sql.planned_calls
    kept = sql.period_visits
    visit_days = _distinct_cte(
        sa.select(kept.c.rep_id, kept.c.outlet_id, kept.c.visit_date),
        "weekly_visit_days",
    )
    plan_week = _week_index(planned.c.plan_date, span.start)
    return (
        sa.select(
            plan_week.label("week_index"),
            sa.func.count().label("planned_calls"),
            sa.func.count(visit_days.c.rep_id).label("calls_on_plan"),
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
        .group_by(plan_week)
        .cte("weekly_plan_counts")
    )


def _weekly_skip_counts(sql: PeriodSQL, span: Period) -> sa.CTE:
    planned = sql.planned_calls
    kept = sql.period_visits
    planned_pairs = _distinct_cte(
        sa.select(
            planned.c.rep_id,
            planned.c.outlet_id,
            _week_index(planned.c.plan_date, span.start).label("week_index"),
        ),
        "weekly_planned_pairs",
    )
    visited_pairs = _distinct_cte(
        sa.select(
            kept.c.rep_id,
            kept.c.outlet_id,
            _week_index(kept.c.visit_date, span.start).label("week_index"),
        ),
        "weekly_visited_pairs",
    )
    is_skipped = visited_pairs.c.rep_id.is_(None)
    return (
        sa.select(
            planned_pairs.c.week_index,
            sa.func.count().label("planned_outlets"),
            sa.func.sum(sa.case((is_skipped, 1), else_=0)).label("skipped_outlets"),
        )
        .select_from(
            planned_pairs.outerjoin(
                visited_pairs,
                sa.and_(
                    visited_pairs.c.rep_id == planned_pairs.c.rep_id,
                    visited_pairs.c.outlet_id == planned_pairs.c.outlet_id,
                    visited_pairs.c.week_index == planned_pairs.c.week_index,
                ),
            )
        )
        .group_by(planned_pairs.c.week_index)
        .cte("weekly_skip_counts")
    )


def weekly_order_figures(
    engine: sa.Engine, span: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Sum the scoped reps' orders per week of their local order date.

    Columns: week_index, order_value (orders of value > 0), orders,
    return_value (sum of negative values). Weeks without orders have no row.
    Read from summary_rep_days when the summaries cover the span.
    """
    _check_whole_weeks(span)
    # With a territory history, period_orders keeps only the orders of dates
    # on which their rep belonged to a territory of the scope. The summary
    # rows carry the rep's territory of each date, so they can do the same.
    scoped_reps = _ScopedReps.of(engine, scope, span)
    if _summaries_cover(engine, span, settings):
        territory_ids = scoped_territory_ids(scope) if scoped_reps.history else None
        statement = summary_queries.weekly_order_sums(
            span, scoped_reps.rep_ids, territory_ids
        )
        frame = fetch_frame(engine, "weekly_order_figures_from_summaries", statement)
        return _float_order_values(frame)
    sql = PeriodSQL.for_scope(span, settings, scope, history=scoped_reps.history)
    period_orders = sql.period_orders
    week = _week_index(period_orders.c.order_date, span.start).label("week_index")
    positive = period_orders.c.value > 0
    statement = (
        sa.select(
            week,
            sa.func.sum(sa.case((positive, period_orders.c.value), else_=0)).label(
                "order_value"
            ),
            sa.func.sum(sa.case((positive, 1), else_=0)).label("orders"),
            sa.func.sum(
                sa.case((period_orders.c.value < 0, period_orders.c.value), else_=0)
            ).label("return_value"),
        )
        .where(period_orders.c.rep_id.in_(scoped_reps.rep_ids))
        .group_by(week)
        .order_by(week)
    )
    return _float_order_values(fetch_frame(engine, "weekly_order_figures", statement))


def _float_order_values(frame: pd.DataFrame) -> pd.DataFrame:
    frame["order_value"] = frame["order_value"].astype(float)
    frame["return_value"] = frame["return_value"].astype(float)
    return frame


def _week_rows(span: Period) -> sa.CTE:
    """List the weeks of span as rows: week_index, week_start, week_end, end_number."""
    weeks = (span.end - span.start).days // 7 + 1
    rows = []
    for index in range(weeks):
        start = span.start + timedelta(weeks=index)
        end = start + timedelta(days=6)
        rows.append(
            sa.select(
                sa.literal(index, INTEGER).label("week_index"),
                sa.literal(start, DATE).label("week_start"),
                sa.literal(end, DATE).label("week_end"),
                sa.literal(_day_number_of(end), INTEGER).label("end_number"),
            )
        )
    return sa.union_all(*rows).cte("trend_weeks")


def _neglect_window(
    outlet_class: sa.ColumnElement, settings: Settings
) -> sa.ColumnElement:
    """Return the outlet's neglect window in days, from its class or the default."""
    windows = dict(settings.neglect_days_by_class)
    if not windows:
        return sa.literal(settings.neglect_days, INTEGER)
    return sa.case(
        *((outlet_class == name, days) for name, days in windows.items()),
        else_=settings.neglect_days,
    )


def weekly_outlet_figures(
    engine: sa.Engine, span: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Count the active outlets in scope per week: visited, neglected, overdue.

    Each week follows the rules of the outlets report for that week. A
    neglected outlet was not visited in the week, not planned in it, is on a
    beat whose dates overlap it, and had no visit in its neglect window up to
    the week's last day. An overdue outlet meets only the last condition.
    Columns: week_index, active_outlets, visited_outlets, neglected_outlets,
    overdue_outlets, with one row per week.

    The neglect windows end on each week's last day and reach back before
    the span. When the summaries cover the weeks they reach, the figures are
    the sums of summary_outlet_trend over the scope's territories, or, for
    a week without them, are counted from summary_outlet_weeks and the
    beats. Otherwise the visited and planned outlets of each week come from
    summary_outlet_weeks when the summaries cover the span, else from the
    raw visits and beats. The windows then read the raw visits.
    """
    _check_whole_weeks(span)
    scoped = sa.select(outlets.c.outlet_id).where(
        schema.is_active(outlets), *scoped_outlet_conditions(scope)
    )
    reach = outlet_trend.neglect_reach(span, settings)
    weeks_in_reach = (reach.end - reach.start).days // 7 + 1
    if _summaries_cover(engine, reach, settings):
        stored = _stored_outlet_figures(engine, span, scope, settings)
        if stored is not None:
            return stored
        if weeks_in_reach <= outlet_trend.MAX_FLAG_WEEKS:
            return _weekly_outlet_figures_from_flags(
                engine, span, reach, scope, settings
            )
    weeks = _week_rows(span)
    window = _neglect_window(outlets.c.outlet_class, settings).label("window_days")
    grid = (
        sa.select(outlets.c.outlet_id, window, weeks)
        .select_from(outlets.join(weeks, sa.true()))
        .where(outlets.c.outlet_id.in_(scoped))
        .cte("outlet_weeks")
    )

    if summary_queries.summary_status(engine, span, settings).usable:
        visited, planned_weeks = summary_queries.weekly_outlet_marks(span, scoped)
        name = "weekly_outlet_figures_with_summary_marks"
    else:
        visited, planned_weeks = _raw_weekly_outlet_marks(span, scoped, settings)
        name = "weekly_outlet_figures"
    on_beat = _distinct_cte(
        sa.select(grid.c.outlet_id, grid.c.week_index)
        .select_from(
            grid.join(beat_outlets, beat_outlets.c.outlet_id == grid.c.outlet_id).join(
                beats, beats.c.beat_id == beat_outlets.c.beat_id
            )
        )
        .where(
            beats.c.start_date <= grid.c.week_end,
            sa.or_(beats.c.end_date.is_(None), beats.c.end_date >= grid.c.week_start),
        ),
        "weekly_on_beat",
    )
    recent = _recently_visited(grid, span, scoped, settings)

    is_visited = visited.c.outlet_id.is_not(None)
    is_overdue = recent.c.outlet_id.is_(None)
    is_neglected = sa.and_(
        ~is_visited,
        planned_weeks.c.outlet_id.is_(None),
        on_beat.c.outlet_id.is_not(None),
        is_overdue,
    )
    statement = (
        sa.select(
            grid.c.week_index,
            sa.func.count().label("active_outlets"),
            sa.func.sum(sa.case((is_visited, 1), else_=0)).label("visited_outlets"),
            sa.func.sum(sa.case((is_neglected, 1), else_=0)).label("neglected_outlets"),
            sa.func.sum(sa.case((is_overdue, 1), else_=0)).label("overdue_outlets"),
        )
        .select_from(
            grid.outerjoin(visited, _same_outlet_week(visited, grid))
            .outerjoin(planned_weeks, _same_outlet_week(planned_weeks, grid))
            .outerjoin(on_beat, _same_outlet_week(on_beat, grid))
            .outerjoin(recent, _same_outlet_week(recent, grid))
        )
        .group_by(grid.c.week_index)
        .order_by(grid.c.week_index)
    )
    return fetch_frame(engine, name, statement)


def _stored_outlet_figures(
    engine: sa.Engine, span: Period, scope: Scope, settings: Settings
) -> pd.DataFrame | None:
    """Sum the frame of weekly_outlet_figures from summary_outlet_trend, or
    return None when a week of span has no rows counted under the settings'
    neglect windows. The summaries must cover the weeks those windows reach,
    because a row is deleted only when one of them is rebuilt.
    """
    trend = schema.summary_outlet_trend
    rule = trend.c.neglect_rule == outlet_trend.neglect_rule(settings)
    weeks = (span.end - span.start).days // 7 + 1

    def every_week_counted(connection: sa.Connection) -> bool:
        found = week_counts(connection, trend, span, [rule])
        return found is not None and len(found) == weeks

    counted = [rule, trend.c.week_start.between(span.start, span.end)]

    # The unrestricted scope also counts the outlets without a territory.
    if scoped_outlet_conditions(scope):
        counted.append(trend.c.territory_id.in_(scoped_territory_ids(scope)))
    week_index = _week_index(trend.c.week_start, span.start)
    statement = (
        sa.select(
            week_index.label("week_index"),
            *(
                sa.func.sum(trend.c[name]).label(name)
                for name in ["active_outlets", *outlet_trend.OUTLET_FIGURES]
            ),
        )
        .where(*counted)
        .group_by(week_index)
        .order_by(week_index)
    )
    stored = fetch_frame_if(
        engine, "weekly_outlet_figures_from_trend", every_week_counted, statement
    )
    return None if stored is None else stored.astype("int64")


def _weekly_outlet_figures_from_flags(
    engine: sa.Engine, span: Period, reach: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Count the frame of weekly_outlet_figures from summary_outlet_weeks and
    the beats, with one row per scoped outlet in place of one per outlet and
    week. The summaries must cover reach, the weeks the neglect windows reach.
    """
    statement = outlet_trend.outlet_figures_statement(
        span, reach, scoped_outlet_conditions(scope), settings
    )
    row = fetch_frame(engine, "weekly_outlet_figures_from_summaries", statement)
    weeks = (span.end - span.start).days // 7 + 1
    return outlet_trend.weeks_of_row(row.iloc[0], weeks)


def _raw_weekly_outlet_marks(
    span: Period, scoped: sa.Select, settings: Settings
) -> tuple[sa.CTE, sa.CTE]:
    """(outlet_id, week_index) of the scoped outlets visited by anyone in the
    week, and of those with a planned call in it, from the raw tables."""
    sql = PeriodSQL(span, settings, outlet_ids=scoped)
    kept = sql.period_visits
    visited = _distinct_cte(
        sa.select(
            kept.c.outlet_id,
            _week_index(kept.c.visit_date, span.start).label("week_index"),
        ),
        "weekly_visited_outlets",
    )
    planned = sql.planned_calls
    planned_weeks = _distinct_cte(
        sa.select(
            planned.c.outlet_id,
            _week_index(planned.c.plan_date, span.start).label("week_index"),
        ),
        "weekly_planned_outlets",
    )
    return visited, planned_weeks


def _same_outlet_week(found: sa.CTE, grid: sa.CTE) -> sa.ColumnElement[bool]:
    return sa.and_(
        found.c.outlet_id == grid.c.outlet_id, found.c.week_index == grid.c.week_index
    )


def _recently_visited(
    grid: sa.CTE, span: Period, scoped: sa.Select, settings: Settings
) -> sa.CTE:
    """(outlet_id, week_index) with a visit in the outlet's neglect window up to
    the week's last day. Like the outlets report, this dates each visit by
    its kept check-in, so a resend (period_sql.is_resend) adds no date."""
    longest = max(
        [settings.neglect_days, *dict(settings.neglect_days_by_class).values()]
    )
    first_day = span.start - timedelta(days=longest)
    reach = Period(first_day, span.end, span.timezone)
    visit_dates = _distinct_cte(
        sa.select(
            visits.c.outlet_id,
            local_date(visits.c.check_in, settings.timezone).label("visit_date"),
        ).where(
            visits.c.check_in >= reach.utc_start,
            visits.c.check_in < reach.utc_end,
            visits.c.outlet_id.in_(scoped),
            ~is_resend(visits, settings.duplicate_window_s),
        ),
        "outlet_visit_dates",
    )
    visit_number = day_number(visit_dates.c.visit_date)
    return _distinct_cte(
        sa.select(grid.c.outlet_id, grid.c.week_index)
        .select_from(
            grid.join(visit_dates, visit_dates.c.outlet_id == grid.c.outlet_id)
        )
        .where(
            visit_number <= grid.c.end_number,
            visit_number > grid.c.end_number - grid.c.window_days,
        ),
        "weekly_recent_visits",
    )


def weekly_skipped_calls(
    engine: sa.Engine, span: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Count and price the skipped planned calls of each week of span.

    A skipped planned call belongs to an outlet a scoped rep did not visit
    in that week. Each is priced as metrics.review.expected_call_value
    prices a call, from the order history of the HISTORY_WEEKS weeks before
    its week: the outlet's order value per productive visit, else its
    territory's, else unknown. Columns, one row per week with a skipped
    call: week_index, skipped_calls and revenue_at_risk (the sum of their
    prices, NaN when none has one).

    The weeks are summed in the database: a national quarter has about
    150,000 skipped outlet-weeks, which took longer to fetch and price in
    pandas than to count.
    """
    _check_whole_weeks(span)
    base = span.start - timedelta(weeks=HISTORY_WEEKS)
    reach = Period(base, span.end, span.timezone)
    scoped_reps = _ScopedReps.of(engine, scope, reach)
    if _summaries_cover(engine, reach, settings):
        # Only the skipped outlets' own weeks price their skips, stored with
        # the skips when the build wrote them. The sums of their whole
        # territories come from summary_territory_weeks.
        name = "weekly_skipped_calls_from_summaries"
        territory_weeks = summary_queries.territory_week_orders(reach, base)
        rep_dates = territory_history.rep_dates_in_scope(engine, scope, reach)
        whole_rep_weeks = rep_dates is not None and not rep_dates.raw_rep_ids
        if whole_rep_weeks:
            # The build priced each rep's skips of a week by the same rule.
            stored = fetch_frame_if(
                engine,
                "weekly_skipped_calls_from_stored_risk",
                lambda connection: summary_queries.rep_week_risk_cover(
                    connection, span
                ),
                summary_queries.stored_weekly_risk(span, rep_dates),
            )
            if stored is not None:
                return _float_prices(stored)
        if not whole_rep_weeks:
            # The reps whose summary rows cannot be picked (past MAX_RUNS, all
            # of them) or split (in the scope on only some days of a week)
            # count their skips from the raw tables of their beat outlets.
            # The prices depend on no rep, so they still come from the
            # summaries: the raw order history of every outlet of a national
            # territory over the reach took 40 to 50 s.
            raw_reps = scoped_reps
            if rep_dates is not None:
                raw_reps = _ScopedReps(scope, reach, True, rep_dates.raw_rep_ids)
            span_sql = PeriodSQL(
                span, settings, outlet_ids=_plan_outlet_ids(raw_reps.rep_ids)
            )
            skipped = _raw_skipped_calls(
                span_sql, span, base, raw_reps, "weekly_raw_skipped"
            )
            if rep_dates is not None:
                # Each outlet-week's calls are summed before they are priced.
                summary_skips = summary_queries.weekly_skipped_outlets(
                    span, base, rep_dates
                )
                skipped = _summed_skips(summary_skips, skipped)
            outlet_history = summary_queries.skipped_outlet_history(
                skipped, span, base, HISTORY_WEEKS
            )
            name = "weekly_skipped_calls_with_summaries"
        else:
            statement = _priced_weekly_skips(
                summary_queries.stored_skipped_calls(span, base, rep_dates),
                None,
                territory_weeks,
                _skip_week_numbers(span),
            )
            stored = fetch_frame_if(
                engine,
                name,
                lambda connection: summary_queries.skipped_calls_cover(
                    connection, span
                ),
                statement,
            )
            if stored is not None:
                return _float_prices(stored)
            skipped = summary_queries.weekly_skipped_outlets(span, base, rep_dates)
            outlet_history = summary_queries.skipped_outlet_history(
                skipped, span, base, HISTORY_WEEKS
            )
        statement = _priced_weekly_skips(
            skipped, outlet_history, territory_weeks, _skip_week_numbers(span)
        )
        return _float_prices(fetch_frame(engine, name, statement))
    outlet_ids = _plan_territory_outlet_ids(scoped_reps.rep_ids)
    skipped, outlet_weeks = _raw_weekly_skips(span, scoped_reps, outlet_ids, settings)
    statement = _priced_weekly_skips(
        skipped,
        _weekly_outlet_history(skipped, outlet_weeks),
        _territory_week_orders(outlet_weeks),
        _skip_week_numbers(span),
    )
    return _float_prices(fetch_frame(engine, "weekly_skipped_calls", statement))


def _history_reach(span: Period) -> Period:
    """Return span with the HISTORY_WEEKS weeks before it, whose orders price
    its skipped calls."""
    return Period(span.start - timedelta(weeks=HISTORY_WEEKS), span.end, span.timezone)


def weekly_figures(
    engine: sa.Engine, span: Period, scope: Scope, settings: Settings
) -> dict[str, pd.DataFrame]:
    """Run the four weekly queries of the trend over span, by the names that
    metrics.review.weekly_headlines takes.

    Each query reads span in the runs of summary_queries.split_by_summary_use,
    so that a week of the trend reads the same tables as a page of that week
    alone while another week is stale.
    """
    queries_by_name = {
        "rep_weeks": (weekly_rep_figures, None),
        "order_weeks": (weekly_order_figures, None),
        "outlet_weeks": (
            weekly_outlet_figures,
            lambda period: outlet_trend.neglect_reach(period, settings),
        ),
        "skipped_weeks": (weekly_skipped_calls, _history_reach),
    }
    runs = {
        name: summary_queries.split_by_summary_use(engine, span, settings, reach)
        for name, (_, reach) in queries_by_name.items()
    }
    # The queries share nothing, so they run at once, each on its own
    # connection; the database does the work, which it spreads over its cores.
    with ThreadPoolExecutor(max_workers=len(queries_by_name)) as pool:
        running = {
            (name, run): pool.submit(
                contextvars.copy_context().run, query, engine, run, scope, settings
            )
            for name, (query, _) in queries_by_name.items()
            for run in runs[name]
        }
        return {
            name: _joined_weeks(
                span, {run: running[name, run].result() for run in runs[name]}
            )
            for name in queries_by_name
        }


def _joined_weeks(span: Period, frames: dict[Period, pd.DataFrame]) -> pd.DataFrame:
    """Join the weekly frames of the runs of span, with week_index counted
    from span.start."""
    if len(frames) == 1:
        return next(iter(frames.values()))
    shifted = [
        frame.assign(
            week_index=frame["week_index"] + (run.start - span.start).days // 7
        )
        for run, frame in frames.items()
    ]
    # Empty frames, such as a run without orders, add no week, and pandas
    # warns when it concatenates them.
    filled = [frame for frame in shifted if not frame.empty] or shifted[:1]
    return pd.concat(filled, ignore_index=True)


def _skip_week_numbers(span: Period) -> range:
    """Return the week numbers of the span's weeks, counted from the first
    history week as weekly_skipped_calls counts them."""
    return range(HISTORY_WEEKS, HISTORY_WEEKS + _week_count(span))


def _week_count(span: Period) -> int:
    return (span.end - span.start).days // 7 + 1


def _float_prices(frame: pd.DataFrame) -> pd.DataFrame:
    # PostgreSQL returns the sum of integer calls as Decimal.
    frame["skipped_calls"] = frame["skipped_calls"].astype(int)
    frame["revenue_at_risk"] = frame["revenue_at_risk"].astype(float)
    return frame


def _summed_skips(*skips: sa.CTE) -> sa.CTE:
    """Sum CTEs of weekly skipped calls (week_number, outlet_id,
    skipped_calls) of disjoint sets of reps per week and outlet."""
    rows = sa.union_all(
        *(
            sa.select(part.c.week_number, part.c.outlet_id, part.c.skipped_calls)
            for part in skips
        )
    ).subquery("skip_parts")
    return (
        sa.select(
            rows.c.week_number,
            rows.c.outlet_id,
            sa.func.sum(rows.c.skipped_calls).label("skipped_calls"),
        )
        .group_by(rows.c.week_number, rows.c.outlet_id)
        .cte("weekly_skipped_sums")
    )


def _raw_skipped_calls(
    sql: PeriodSQL,
    span: Period,
    base: date,
    scoped_reps: _ScopedReps,
    name: str = "weekly_skipped",
) -> sa.CTE:
    """Count the skipped calls of the span's weeks from the raw tables of sql,
    whose period contains the span: the CTE name (week_number, outlet_id,
    skipped_calls), week numbers counting from base."""
    planned = sql.planned_calls
    kept = sql.period_visits

    # Week numbers count from base, so the history weeks are never negative.
    plan_week = _week_index(planned.c.plan_date, base)
    visited = _distinct_cte(
        sa.select(
            kept.c.rep_id,
            kept.c.outlet_id,
            _week_index(kept.c.visit_date, base).label("week_number"),
        ).where(*scoped_reps.rows(kept.c.rep_id, kept.c.visit_date)),
        "weekly_rep_visited",
    )
    return (
        sa.select(
            plan_week.label("week_number"),
            planned.c.outlet_id,
            sa.func.count().label("skipped_calls"),
        )
        .select_from(
            planned.outerjoin(
                visited,
                sa.and_(
                    visited.c.rep_id == planned.c.rep_id,
                    visited.c.outlet_id == planned.c.outlet_id,
                    visited.c.week_number == plan_week,
                ),
            )
        )
        .where(
            planned.c.plan_date >= span.start,
            *scoped_reps.rows(planned.c.rep_id, planned.c.plan_date),
            visited.c.rep_id.is_(None),
        )
        .group_by(plan_week, planned.c.outlet_id)
        .cte(name)
    )


def _raw_weekly_skips(
    span: Period, scoped_reps: _ScopedReps, outlet_ids: sa.Select, settings: Settings
) -> tuple[sa.CTE, sa.CTE]:
    """Count the skipped calls of weekly_skipped_calls and the outlet weeks that
    price them from the raw tables.

    scoped_reps bounds the span and the HISTORY_WEEKS weeks before it. Returns
    the CTEs weekly_skipped (week_number, outlet_id, skipped_calls) and
    outlet_week_orders (outlet_id, week_number, productive_visits,
    order_value), week numbers counting from the first history week.
    """
    reach = scoped_reps.period
    base = reach.start
    sql = PeriodSQL(reach, settings, outlet_ids=outlet_ids)
    skipped = _raw_skipped_calls(sql, span, base, scoped_reps)

    history = _visit_order_values(sql, base, span.end)
    productive = history.c.productive == 1
    visit_week = _week_index(history.c.visit_date, base)
    outlet_weeks = (
        sa.select(
            history.c.outlet_id,
            visit_week.label("week_number"),
            sa.func.sum(history.c.productive).label("productive_visits"),
            sa.func.sum(sa.case((productive, history.c.order_value), else_=0)).label(
                "order_value"
            ),
        )
        .group_by(history.c.outlet_id, visit_week)
        .cte("outlet_week_orders")
    )
    return skipped, outlet_weeks


def _territory_week_orders(outlet_weeks: sa.CTE) -> sa.CTE:
    """Sum the outlet weeks of _raw_weekly_skips per territory and week."""
    return (
        sa.select(
            outlets.c.territory_id,
            outlet_weeks.c.week_number,
            sa.func.sum(outlet_weeks.c.productive_visits).label("productive_visits"),
            sa.func.sum(outlet_weeks.c.order_value).label("order_value"),
        )
        .select_from(
            outlet_weeks.join(outlets, outlets.c.outlet_id == outlet_weeks.c.outlet_id)
        )
        .group_by(outlets.c.territory_id, outlet_weeks.c.week_number)
        .cte("territory_week_orders")
    )


def _weekly_outlet_history(skipped: sa.CTE, outlet_weeks: sa.CTE) -> sa.CTE:
    """Sum the outlet weeks of _raw_weekly_skips over the HISTORY_WEEKS weeks
    before each skip: the CTE weekly_outlet_history (week_number, outlet_id,
    productive_visits, order_value)."""
    in_history = sa.and_(
        outlet_weeks.c.week_number < skipped.c.week_number,
        outlet_weeks.c.week_number >= skipped.c.week_number - HISTORY_WEEKS,
    )
    return (
        sa.select(
            skipped.c.week_number,
            skipped.c.outlet_id,
            sa.func.sum(outlet_weeks.c.productive_visits).label("productive_visits"),
            sa.func.sum(outlet_weeks.c.order_value).label("order_value"),
        )
        .select_from(
            skipped.join(
                outlet_weeks,
                sa.and_(outlet_weeks.c.outlet_id == skipped.c.outlet_id, in_history),
            )
        )
        .group_by(skipped.c.week_number, skipped.c.outlet_id)
        .cte("weekly_outlet_history")
    )


def _priced_weekly_skips(
    skipped: sa.CTE,
    outlet_history: sa.CTE | None,
    territory_weeks: sa.CTE,
    week_numbers: range,
) -> sa.Select:
    """Price each week's skipped calls of an outlet with the outlet's and its
    territory's order history of the HISTORY_WEEKS weeks before that week,
    and sum the calls and their prices per week.

    skipped is the CTE weekly_skipped (week_number, outlet_id,
    skipped_calls) and outlet_history the CTE weekly_outlet_history, from
    the raw tables or the summaries. Without outlet_history, skipped carries
    its productive_visits and order_value columns. territory_weeks (territory_id,
    week_number, productive_visits, order_value) has a row per territory
    and week. week_numbers are the week numbers of the skips (the span's
    weeks). Returns the statement of weekly_skipped_calls.
    """
    # The history of each week's territories, one aggregate per week: a few
    # rows a week. Only the territories with skips are joined below. Taking
    # the territories from the skips cost one more outlet lookup per skip
    # (147,658 for a national quarter, 0.14 s of 0.55 s on SQLite 3.40).
    territory_history = sa.union_all(
        *(
            sa.select(
                sa.literal(number, INTEGER).label("week_number"),
                territory_weeks.c.territory_id,
                sa.func.sum(territory_weeks.c.productive_visits).label(
                    "productive_visits"
                ),
                sa.func.sum(territory_weeks.c.order_value).label("order_value"),
            )
            .where(
                territory_weeks.c.week_number < number,
                territory_weeks.c.week_number >= number - HISTORY_WEEKS,
            )
            .group_by(territory_weeks.c.territory_id)
            for number in week_numbers
        )
    ).cte("weekly_territory_history")
    territory_history = territory_history.prefix_with("MATERIALIZED")

    skips: sa.FromClause = skipped
    history = skipped
    if outlet_history is not None:
        history = outlet_history
        skips = skips.outerjoin(
            outlet_history,
            sa.and_(
                outlet_history.c.week_number == skipped.c.week_number,
                outlet_history.c.outlet_id == skipped.c.outlet_id,
            ),
        )
    # NOTE: this repeats the pricing rule of metrics.review.expected_call_value
    # in SQL, a second place for one KPI rule, and summaries._rep_week_risk_rows
    # applies it again at build time. Fetching the 147,000 priced outlet-weeks
    # of a national quarter for pandas took 1.4 s, against 0.7 s summed here.
    # tests/metrics/test_weekly_headlines.py pins both to the same figures on
    # both engines.
    # The territory's price is looked up only for the skips whose outlet has
    # no order history (6% of a national quarter's), because COALESCE stops
    # at its first value on both engines. Joining every skip to its outlet
    # took 0.14 s of 0.41 s on SQLite 3.40. Every skipped outlet exists,
    # because planned calls are of known outlets only.
    skip_outlet = outlets.alias("skip_outlet")
    territory_price = (
        sa.select(
            order_value_per_visit(
                territory_history.c.order_value, territory_history.c.productive_visits
            )
        )
        .select_from(
            skip_outlet.join(
                territory_history,
                sa.and_(
                    territory_history.c.territory_id == skip_outlet.c.territory_id,
                    territory_history.c.week_number == skipped.c.week_number,
                ),
            )
        )
        .where(skip_outlet.c.outlet_id == skipped.c.outlet_id)
        .scalar_subquery()
    )
    expected_value = sa.func.coalesce(
        order_value_per_visit(history.c.order_value, history.c.productive_visits),
        territory_price,
    )
    calls = skipped.c.skipped_calls
    week_index = (skipped.c.week_number - HISTORY_WEEKS).label("week_index")
    return (
        sa.select(
            week_index,
            sa.func.sum(calls).label("skipped_calls"),
            # Calls times price, in the order of metrics.review.revenue_at_risk,
            # so each product is the float pandas computes.
            sa.func.sum(sa.cast(calls, FLOAT) * expected_value).label(
                "revenue_at_risk"
            ),
        )
        .select_from(skips)
        .group_by(week_index)
        .order_by(week_index)
    )
