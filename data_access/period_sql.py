"""Building blocks of the period queries: visits after de-duplication, linked
orders and planned calls, as common table expressions.

Every block reads visits and orders bounded by the period's UTC instants, so
the database can use the check_in and ordered_at indexes.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from data_access import schema
from data_access.csv_cells import MAX_LINE_COUNT, MAX_ORDER_VALUE
from data_access.dialect import (
    bounded_count,
    bounded_number,
    code_point_order,
    day_number,
    distance_m,
    finite_instant,
    seconds_before,
    seconds_between,
    unindexed,
)
from data_access.filters import Period, Scope, Settings, local_midnight_in_utc
from data_access.sql_types import DATE, DATETIME, FLOAT, INTEGER, TEXT

visits = schema.visits
orders = schema.orders
outlets = schema.outlets
reps = schema.reps
territories = schema.territories
beats = schema.beats
beat_outlets = schema.beat_outlets
rep_territories = schema.rep_territories


def scoped_territory_ids(scope: Scope) -> sa.Select:
    """territory_id of every territory the scope may see."""
    query = sa.select(territories.c.territory_id)
    if scope.region_ids is not None:
        query = query.where(territories.c.region_id.in_(scope.region_ids))
    if scope.territory_ids is not None:
        query = query.where(territories.c.territory_id.in_(scope.territory_ids))
    if scope.limits_reps:
        rep_territories = sa.select(reps.c.territory_id).where(*_rep_conditions(scope))
        query = query.where(territories.c.territory_id.in_(rep_territories))
    return query


def _rep_conditions(scope: Scope) -> list[sa.ColumnElement[bool]]:
    conditions = []
    if scope.rep_ids is not None:
        conditions.append(reps.c.rep_id.in_(scope.rep_ids))
    if scope.manager_id is not None:
        conditions.append(reps.c.manager_id == scope.manager_id)
    return conditions


def limits_territories(scope: Scope) -> bool:
    """True when the scope names regions or territories."""
    return scope.region_ids is not None or scope.territory_ids is not None


def scoped_rep_conditions(scope: Scope) -> list[sa.ColumnElement[bool]]:
    """WHERE conditions on the reps table that apply the scope.

    A region or territory limit uses the rep's current reps.territory_id.
    Period queries over a rep_territories history use
    PeriodSQL.rep_conditions instead, which follows the territory of each date.
    """
    conditions = _rep_conditions(scope)
    if scope.region_ids is not None or scope.territory_ids is not None:
        conditions.append(reps.c.territory_id.in_(scoped_territory_ids(scope)))
    return conditions


def scoped_rep_ids(scope: Scope) -> sa.Select:
    """rep_id of every rep the scope may see, by the rep's current territory.

    Period figures over a rep_territories history scope by the rep's
    territory on each date instead (PeriodSQL.for_scope).
    """
    return sa.select(reps.c.rep_id).where(*scoped_rep_conditions(scope))


@dataclass(frozen=True)
class RepDates:
    """The rows of a scope by rep and local date: every date of the reps that
    rep_ids selects, and of other reps only the dates of their runs.

    runs contains (rep_id, first date, last date), both dates included.
    raw_rep_ids names the reps in the scope on only some days of a week.
    Neither rep_ids nor runs keeps their rows, because rows of whole weeks
    cannot split them, so callers count these reps from the raw tables.
    """

    rep_ids: sa.Select
    runs: tuple[tuple[str, date, date], ...] = ()
    raw_rep_ids: tuple[str, ...] = ()


def keeps_rep_rows(
    rep_ids: "sa.Select | RepDates", rep_id: sa.ColumnElement, day: sa.ColumnElement
) -> sa.ColumnElement[bool]:
    """True when the row of rep_id on the local date (or week start) day is
    one that rep_ids keeps, as SQL."""
    if not isinstance(rep_ids, RepDates):
        return rep_id.in_(rep_ids)
    of_rep_ids = rep_id.in_(rep_ids.rep_ids)
    if not rep_ids.runs:
        return of_rep_ids
    in_runs = (
        sa.and_(rep_id == run_rep, day.between(first, last))
        for run_rep, first, last in rep_ids.runs
    )
    return sa.or_(of_rep_ids, *in_runs)


def territory_on(rep_id: sa.ColumnElement, day: sa.ColumnElement) -> sa.ColumnElement:
    """Return the territory_id of a rep on a local date, as SQL.

    The rep_territories row whose [valid_from, valid_to] covers the date
    wins, the latest valid_from first when rows overlap; without one, the
    rep's reps.territory_id.
    """
    history_row = rep_territories.alias("history_row")
    current_rep = reps.alias("current_rep")
    history = (
        sa.select(history_row.c.territory_id)
        .where(
            history_row.c.rep_id == rep_id,
            history_row.c.valid_from <= day,
            sa.or_(history_row.c.valid_to.is_(None), history_row.c.valid_to >= day),
        )
        .order_by(history_row.c.valid_from.desc())
        .limit(1)
        .scalar_subquery()
    )
    current = (
        sa.select(current_rep.c.territory_id)
        .where(current_rep.c.rep_id == rep_id)
        .scalar_subquery()
    )
    return sa.func.coalesce(history, current)


def in_territories_on(
    rep_id: sa.ColumnElement, day: sa.ColumnElement, territory_ids: sa.Select
) -> sa.ColumnElement[bool]:
    """True when territory_on(rep_id, day) is one of territory_ids, as SQL.

    A rep without rep_territories rows is tested by the current territory
    alone, and only the other reps look up their history for each date.
    The result is the same as territory_on(...).in_(territory_ids). For that
    join of every row's subqueries with the scope's territories, PostgreSQL
    15 estimated one row and then joined whole CTEs to each other row by row.
    The raw reps counts of a national region's week took 114 s that way and
    take about 1.4 s this way.
    """
    # NOT IN over a NULL rep_id would keep no rep, and a table made outside
    # Beatboard may lack the primary key's NOT NULL.
    history_reps = sa.select(rep_territories.c.rep_id).where(
        rep_territories.c.rep_id.is_not(None)
    )
    reps_without_history = sa.select(reps.c.rep_id).where(
        reps.c.territory_id.in_(territory_ids), reps.c.rep_id.not_in(history_reps)
    )
    return sa.or_(
        rep_id.in_(reps_without_history),
        sa.and_(
            rep_id.in_(history_reps),
            territory_on(rep_id, day).in_(territory_ids),
        ),
    )


def rep_ids_near_territories(scope: Scope, period: Period) -> sa.Select:
    """rep_id of the reps of the scope who may have belonged to one of its
    territories on a date of the period.

    A rep qualifies by a current territory in scope or by a rep_territories
    row in scope that overlaps the period. The set is a superset: the rows of
    each date still need territory_on.
    """
    in_scope = scoped_territory_ids(scope)
    history_reps = sa.select(rep_territories.c.rep_id).where(
        rep_territories.c.territory_id.in_(in_scope),
        rep_territories.c.valid_from <= period.end,
        sa.or_(
            rep_territories.c.valid_to.is_(None),
            rep_territories.c.valid_to >= period.start,
        ),
    )
    return sa.select(reps.c.rep_id).where(
        *_rep_conditions(scope),
        sa.or_(reps.c.territory_id.in_(in_scope), reps.c.rep_id.in_(history_reps)),
    )


def rep_id_in_scope(
    rep_id: sa.ColumnElement, scope: Scope, visible: sa.Select | None = None
) -> sa.ColumnElement:
    """rep_id, or NULL when it names a rep outside the scope.

    Rows about the viewer's outlets may come from another manager's rep. Such
    rows stay, but without saying who. An id that names no rep is kept,
    because data health lists those ids so that someone corrects them.
    visible selects the rep_id of the reps the viewer may see, by default
    scoped_rep_ids(scope); it must stay within the scope's limits.
    """
    if not scoped_rep_conditions(scope):
        return rep_id
    visible = (visible if visible is not None else scoped_rep_ids(scope)).where(
        reps.c.rep_id.is_not(None)
    )
    hidden = sa.and_(rep_id.in_(sa.select(reps.c.rep_id)), rep_id.not_in(visible))
    return sa.case((hidden, sa.cast(sa.null(), TEXT)), else_=rep_id)


def beat_run_conditions(
    beat: sa.FromClause, calendar: sa.FromClause
) -> list[sa.ColumnElement[bool]]:
    """Return the conditions under which a date of calendar (a PeriodSQL
    calendar) is a run date of beat, a row with the weekday, start_date,
    end_date and every_n_weeks of a beat.

    A beat runs on the first date on or after its start_date that falls on
    its weekday, then every every_n_weeks weeks, until its end_date
    (inclusive). The first condition matches the weekday, for a join.
    """
    # With the beat's weekday kept off any index, SQLite joins the calendar
    # last through an automatic index on weekday. Otherwise it may seek
    # every beat outlet once per day of the period, which took 2 to 10
    # times longer on the 500-rep demo company (one to 13 weeks).
    weekday = unindexed(beat.c.weekday)
    # Whole weeks since start_date; a date on the beat's weekday is a run
    # date when that count is a multiple of every_n_weeks.
    weeks_since_start = (calendar.c.day_number - day_number(beat.c.start_date)) // 7
    # The loader rejects every_n_weeks of 0 or below, but another program may
    # write it. PostgreSQL raises on a remainder by 0, and a negative n would
    # run the beat every -n weeks, so such a beat gets no run date.
    every_n_weeks = sa.case(
        (beat.c.every_n_weeks > 0, beat.c.every_n_weeks), else_=sa.null()
    )
    return [
        calendar.c.weekday == weekday,
        calendar.c.plan_date >= beat.c.start_date,
        sa.or_(beat.c.end_date.is_(None), calendar.c.plan_date <= beat.c.end_date),
        weeks_since_start % every_n_weeks == 0,
    ]


def scoped_outlet_conditions(scope: Scope) -> list[sa.ColumnElement[bool]]:
    """WHERE conditions on the outlets table that apply the scope."""
    if (
        scope.region_ids is None
        and scope.territory_ids is None
        and not scope.limits_reps
    ):
        return []
    return [outlets.c.territory_id.in_(scoped_territory_ids(scope))]


def scoped_outlet_ids(scope: Scope) -> sa.Select:
    """outlet_id of every outlet the scope may see, active or not."""
    return sa.select(outlets.c.outlet_id).where(*scoped_outlet_conditions(scope))


def usable_fix(
    latitude: sa.ColumnElement, longitude: sa.ColumnElement
) -> sa.ColumnElement[bool]:
    """A GPS fix is usable when both values exist, are in range and are not (0, 0)."""
    return sa.and_(
        latitude.is_not(None),
        longitude.is_not(None),
        latitude.between(-90, 90),
        longitude.between(-180, 180),
        sa.not_(sa.and_(latitude == 0, longitude == 0)),
    )


def usable_order_value() -> sa.Label:
    """Label orders.value as "value", NULL when it is not a number from
    -MAX_ORDER_VALUE to MAX_ORDER_VALUE, the loader's limits.

    Another program may write NaN, an infinity, text or a number such as
    1e308 into orders.value, and the sum of two numbers that large is
    infinite on SQLite and an error on PostgreSQL. Such an order is neither
    an order (value > 0) nor a return (value < 0), so it adds nothing to
    order value, return value, lines per call or productive visits. It still
    counts in order_rows, the orders of any value, and data health lists it.
    """
    return bounded_number(orders.c.value, MAX_ORDER_VALUE).label("value")


def usable_line_count() -> sa.Label:
    """Label orders.line_count as "line_count", NULL when it is not a whole
    number from 0 to MAX_LINE_COUNT, the loader's limit.

    The loader rejects any other line_count but stores an empty cell as
    NULL, and another program may write a negative number, a larger one,
    text or a fraction. Such an order still counts in order value, orders
    and productive visits, because its value is usable, and lines per call
    adds no lines for it (NULL sums as 0). Its visit stays in the divisor,
    so lines per call remains order_lines / productive_visits, the two
    counts the summary tables store and a territory pools. Leaving the
    visit out too would need another stored count per rep and week. Data
    health lists these orders, so a lines per call that reads low can be
    traced to them.
    """
    return bounded_count(orders.c.line_count, MAX_LINE_COUNT).label("line_count")


def local_day(timestamp: sa.ColumnElement, period: Period) -> sa.ColumnElement[date]:
    """The local date of a naive UTC timestamp that falls within the period.

    The UTC instant of each local midnight is computed in Python from the
    IANA time zone database, so both engines date a check-in the same way,
    daylight saving changes included. The expression is a CASE that halves
    the period's days at each step, so a row costs about log2(days)
    comparisons. A timestamp before the period gets its first date and one
    after it its last: callers bound their rows to the period first.
    """
    days = period.days
    midnights = [local_midnight_in_utc(day, period.timezone) for day in days]
    return _day_between(timestamp, days, midnights, 0, len(days) - 1)


def _day_between(
    timestamp: sa.ColumnElement,
    days: list[date],
    midnights: list[datetime],
    first: int,
    last: int,
) -> sa.ColumnElement[date]:
    if first == last:
        return sa.literal(days[first], DATE)
    middle = (first + last + 1) // 2
    return sa.case(
        (
            timestamp < sa.literal(midnights[middle], DATETIME),
            _day_between(timestamp, days, midnights, first, middle - 1),
        ),
        else_=_day_between(timestamp, days, midnights, middle, last),
    )


CALENDAR_CHUNK = 400


# The visit columns that period_visits and kept_visits return before visit_date.
VISIT_COLUMNS = (
    "visit_id",
    "rep_id",
    "outlet_id",
    "check_in",
    "check_out",
    "latitude",
    "longitude",
    "no_order_reason",
)


def is_resend(visit: sa.FromClause, window_s: float) -> sa.ColumnElement[bool]:
    """Tell whether a row of visits, or of an alias of it, repeats an earlier
    check-in: one by the same rep at the same outlet less than window_s
    seconds before, or at the same instant under a smaller visit_id.

    This is the rule of PeriodSQL.flagged_visits for one visit, because the
    previous check-in of a chain is that close exactly when some earlier
    check-in is. The test is one seek of the (outlet_id, check_in) index.
    It is a scalar subquery with LIMIT 1, not EXISTS. PostgreSQL 15 turns
    EXISTS into an anti-join that reads every visit of the outlet for each
    visit tested, and the last visits of 10,000 national outlets took 0.68 s
    in place of 0.06 s.
    """
    return is_resend_of(
        visit.c.visit_id, visit.c.rep_id, visit.c.outlet_id, visit.c.check_in, window_s
    )


def is_resend_of(
    visit_id: sa.ColumnElement,
    rep_id: sa.ColumnElement,
    outlet_id: sa.ColumnElement,
    check_in: sa.ColumnElement,
    window_s: float,
) -> sa.ColumnElement[bool]:
    """is_resend of a visit given by its columns, such as the visit that an
    order names, selected under other names."""
    earlier = visits.alias()
    earlier_visit_id = sa.select(earlier.c.visit_id).where(
        earlier.c.outlet_id == outlet_id,
        # SQLite would seek the rep's index, with hundreds of check-ins a week
        # where the outlet has one or two (see dialect.unindexed).
        unindexed(earlier.c.rep_id) == rep_id,
        earlier.c.check_in >= seconds_before(check_in, window_s),
        earlier.c.check_in <= check_in,
        sa.or_(
            earlier.c.check_in < check_in,
            code_point_order(earlier.c.visit_id) < visit_id,
        ),
        seconds_between(earlier.c.check_in, check_in) < window_s,
    )
    return earlier_visit_id.limit(1).scalar_subquery().is_not(None)


def order_visit(lateral: bool) -> tuple[sa.FromClause, sa.ColumnElement[bool]]:
    """Return the visit that an order's visit_id names, as order_visit with
    columns visit_id, rep_id, outlet_id and check_in, and the ON clause that
    outer-joins it to orders.

    lateral is True to look the visit up by a LATERAL subquery, for an engine
    where dialect.needs_lateral_lookups is True. Both spellings give the same
    rows.
    """
    if not lateral:
        joined = visits.alias("order_visit")
        return joined, joined.c.visit_id == orders.c.visit_id
    named_visit = visits.alias("named_visit")
    # visit_id is the primary key, so LIMIT 1 drops no row. It only keeps
    # PostgreSQL from turning the subquery back into a hash join.
    lookup = (
        sa.select(
            named_visit.c.visit_id,
            named_visit.c.rep_id,
            named_visit.c.outlet_id,
            named_visit.c.check_in,
        )
        .where(named_visit.c.visit_id == orders.c.visit_id)
        .limit(1)
        .lateral("order_visit")
    )
    return lookup, sa.true()


class PeriodSQL:
    """The common table expressions of one period, settings and visit filter.

    rep_ids or outlet_ids restrict the visits read before de-duplication,
    which changes nothing because duplicates share their rep and outlet.
    territory_ids keeps only the visits, duplicates, planned calls and orders
    whose rep belonged to one of those territories on the row's local date
    (territory_on), so a rep who moved counts for each territory on its own
    days. lateral_lookups is True to look up each order's visit by a LATERAL
    subquery (order_visit).
    """

    def __init__(
        self,
        period: Period,
        settings: Settings,
        *,
        rep_ids: sa.Select | None = None,
        outlet_ids: sa.Select | None = None,
        territory_ids: sa.Select | None = None,
        lateral_lookups: bool = False,
    ) -> None:
        self.period = period
        self.lateral_lookups = lateral_lookups
        self.settings = settings
        self.timezone = settings.timezone
        self._rep_ids = rep_ids
        self._outlet_ids = outlet_ids
        self._territory_ids = territory_ids
        self._cache: dict[str, sa.CTE] = {}

    @classmethod
    def for_scope(
        cls,
        period: Period,
        settings: Settings,
        scope: Scope,
        *,
        history: bool,
        among_rep_ids: tuple[str, ...] | None = None,
    ) -> "PeriodSQL":
        """Build the blocks of the rows a scope may see.

        history is True when the database stores a rep_territories history.
        With one, a region or territory limit applies to each row by the
        rep's territory on the row's local date. Without one, or for a scope
        that limits reps only, the rows are those of scoped_rep_ids. A limit
        by rep id or manager keeps only those reps in both cases.
        among_rep_ids, when given, keeps only the rows of those reps, and
        unlike a Scope limit it leaves the scope's territories as they are.
        """
        territory_ids = None
        rep_ids = scoped_rep_ids(scope)
        if history and limits_territories(scope):
            rep_ids = rep_ids_near_territories(scope, period)
            territory_ids = scoped_territory_ids(scope)
        if among_rep_ids is not None:
            rep_ids = rep_ids.where(reps.c.rep_id.in_(among_rep_ids))
        return cls(period, settings, rep_ids=rep_ids, territory_ids=territory_ids)

    @property
    def follows_history(self) -> bool:
        """True when rows are kept by the rep's territory on their date."""
        return self._territory_ids is not None

    def rep_conditions(self, scope: Scope) -> list[sa.ColumnElement[bool]]:
        """WHERE conditions on the reps table for the reps whose rows these
        blocks count.

        They are scoped_rep_conditions, or with a territory filter by date,
        the reps of the scope who belonged to one of its territories on at
        least one date of the period.
        """
        if self._territory_ids is None:
            return scoped_rep_conditions(scope)
        # An alias of reps beside the calendar, so that territory_on's
        # subqueries correlate with this SELECT and not with the caller's.
        candidate = reps.alias("candidate_rep")
        calendar = self.calendar
        reps_on_days = (
            sa.select(candidate.c.rep_id)
            .select_from(candidate.join(calendar, sa.true()))
            .where(
                candidate.c.rep_id.in_(self._rep_ids),
                self._in_territories(candidate.c.rep_id, calendar.c.plan_date),
            )
        )
        return [reps.c.rep_id.in_(reps_on_days)]

    def _in_territories(
        self, rep_id: sa.ColumnElement, day: sa.ColumnElement
    ) -> sa.ColumnElement[bool]:
        return in_territories_on(rep_id, day, self._territory_ids)

    def _on_territory_days(
        self, query: sa.Select, name: str, rep_column: str, day_column: str
    ) -> sa.Select:
        """Keep, with a territory filter, only the rows of query whose rep
        belonged to one of its territories on the row's date."""
        if self._territory_ids is None:
            return query
        rows = query.subquery(name)
        return sa.select(rows).where(
            self._in_territories(rows.c[rep_column], rows.c[day_column])
        )

    def _once(self, name: str, build) -> sa.CTE:
        if name not in self._cache:
            self._cache[name] = build().cte(name)
        return self._cache[name]

    def read_from(self, name: str, table: sa.FromClause) -> None:
        """Make the block `name` (such as "visit_aliases") read from table.

        table must contain the block's rows and columns, for example a temporary
        table filled from it, so later blocks reuse the rows in place of
        computing them again in every statement.
        """
        self._cache[name] = table

    @property
    def visit_aliases(self) -> sa.CTE:
        """Every visit near the period with kept_visit_id, the visit it duplicates.

        A visit starts a new visit unless the previous check-in of the same rep
        at the same outlet is less than the duplicate window earlier. The
        first visit of such a chain is kept; the others are duplicates.
        """
        return self._once("visit_aliases", self._build_visit_aliases)

    @property
    def flagged_visits(self) -> sa.CTE:
        """Every visit near the period, with starts_visit 1 for a kept visit and
        0 for a duplicate.

        A visit is kept when the previous visit of the same rep at the same
        outlet (by check_in, then visit_id) checked in at least the duplicate
        window earlier, or when there is none. This takes one window function,
        so queries that need the kept visits or the duplicates but not which
        visit a duplicate repeats read this block instead of visit_aliases.
        """
        return self._once("flagged_visits", self._build_flagged_visits)

    def _build_flagged_visits(self) -> sa.Select:
        window = self.settings.duplicate_window_s
        margin = timedelta(seconds=window)
        partition = (visits.c.rep_id, visits.c.outlet_id)
        ordering = (visits.c.check_in, code_point_order(visits.c.visit_id))
        previous = sa.func.lag(visits.c.check_in).over(
            partition_by=partition, order_by=ordering
        )
        starts_visit = sa.case(
            (previous.is_(None), 1),
            (seconds_between(previous, visits.c.check_in) >= window, 1),
            else_=0,
        )
        near_period = sa.select(
            visits.c.visit_id,
            visits.c.rep_id,
            visits.c.outlet_id,
            visits.c.check_in,
            # A check-out that is not a finite date reads as missing.
            finite_instant(visits.c.check_out).label("check_out"),
            visits.c.latitude,
            visits.c.longitude,
            visits.c.no_order_reason,
            starts_visit.label("starts_visit"),
        ).where(
            visits.c.check_in >= self.period.utc_start - margin,
            visits.c.check_in < self.period.utc_end + margin,
        )
        if self._rep_ids is not None:
            near_period = near_period.where(visits.c.rep_id.in_(self._rep_ids))
        if self._outlet_ids is not None:
            near_period = near_period.where(visits.c.outlet_id.in_(self._outlet_ids))
        return near_period

    def _build_visit_aliases(self) -> sa.Select:
        flagged = self.flagged_visits
        chain = sa.func.sum(flagged.c.starts_visit).over(
            partition_by=(flagged.c.rep_id, flagged.c.outlet_id),
            order_by=(flagged.c.check_in, code_point_order(flagged.c.visit_id)),
        )
        chained = sa.select(flagged, chain.label("chain")).cte("chained_visits")
        same_chain = {
            "partition_by": (chained.c.rep_id, chained.c.outlet_id, chained.c.chain),
            "order_by": (chained.c.check_in, code_point_order(chained.c.visit_id)),
        }
        kept = sa.func.first_value(chained.c.visit_id).over(**same_chain)
        kept_check_in = sa.func.first_value(chained.c.check_in).over(**same_chain)
        return sa.select(
            *(chained.c[name] for name in flagged.c.keys() if name != "starts_visit"),
            kept.label("kept_visit_id"),
            kept_check_in.label("kept_check_in"),
        )

    @property
    def period_visits(self) -> sa.CTE:
        """Visits of the period after de-duplication, with visit_date (local)."""
        return self._once("period_visits", self._build_period_visits)

    def _build_period_visits(self) -> sa.Select:
        aliases = self.visit_aliases
        return self._dated_visits(
            aliases, aliases.c.visit_id == aliases.c.kept_visit_id, "dated_visits"
        )

    def _dated_visits(
        self, source: sa.CTE, is_kept: sa.ColumnElement[bool], name: str
    ) -> sa.Select:
        """Select the kept visits of source in the period, with visit_date (local)."""
        query = sa.select(
            *(source.c[column] for column in VISIT_COLUMNS),
            local_day(source.c.check_in, self.period).label("visit_date"),
        ).where(
            is_kept,
            source.c.check_in >= self.period.utc_start,
            source.c.check_in < self.period.utc_end,
        )
        return self._on_territory_days(query, name, "rep_id", "visit_date")

    @property
    def kept_visits(self) -> sa.CTE:
        """The rows and columns of period_visits, read from flagged_visits.

        A visit is kept exactly when it starts its chain, so these rows equal
        period_visits without the two window passes of visit_aliases. Use it
        in statements that need no linked orders. period_visits stays on
        visit_aliases because the summary build copies that block into a
        temporary table once and reads every later block from it.
        """
        return self._once("kept_visits", self._build_kept_visits)

    def _build_kept_visits(self) -> sa.Select:
        flagged = self.flagged_visits
        return self._dated_visits(
            flagged, flagged.c.starts_visit == 1, "dated_kept_visits"
        )

    @property
    def duplicates(self) -> sa.CTE:
        """Visits of the period set aside as duplicates of a kept visit:
        visit_id, rep_id, outlet_id and check_in, from flagged_visits."""
        return self._once("duplicates", self._build_duplicates)

    def _build_duplicates(self) -> sa.Select:
        flagged = self.flagged_visits
        query = sa.select(
            flagged.c.visit_id,
            flagged.c.rep_id,
            flagged.c.outlet_id,
            flagged.c.check_in,
        ).where(
            flagged.c.starts_visit == 0,
            flagged.c.check_in >= self.period.utc_start,
            flagged.c.check_in < self.period.utc_end,
        )
        if self._territory_ids is None:
            return query
        day = local_day(flagged.c.check_in, self.period)
        return query.where(self._in_territories(flagged.c.rep_id, day))

    @property
    def linked_orders(self) -> sa.CTE:
        """Orders linked to a visit of the period: visit_id, order_id, value, line_count.

        An order links by its visit_id (a duplicate's id links to the kept
        visit), whatever its date. An order without visit_id links to the
        first visit of its rep to its outlet on the order's local date.
        """
        return self._once("linked_orders", self._build_linked_orders)

    def _build_linked_orders(self) -> sa.Select:
        kept = self.period_visits
        order_in_day = sa.func.row_number().over(
            partition_by=(kept.c.rep_id, kept.c.outlet_id, kept.c.visit_date),
            order_by=(kept.c.check_in, code_point_order(kept.c.visit_id)),
        )
        ranked = sa.select(
            kept.c.visit_id,
            kept.c.rep_id,
            kept.c.outlet_id,
            kept.c.visit_date,
            order_in_day.label("order_in_day"),
        ).cte("ranked_visits")
        unlinked = self.orders_without_visit()
        by_date = sa.select(
            ranked.c.visit_id,
            unlinked.c.order_id,
            unlinked.c.value,
            unlinked.c.line_count,
        ).select_from(
            unlinked.join(
                ranked,
                sa.and_(
                    ranked.c.rep_id == unlinked.c.rep_id,
                    ranked.c.outlet_id == unlinked.c.outlet_id,
                    ranked.c.visit_date == unlinked.c.order_date,
                    ranked.c.order_in_day == 1,
                ),
            )
        )
        return sa.union_all(self.orders_linked_by_visit_id(), by_date)

    def orders_linked_by_visit_id(self) -> sa.Select:
        """Select the rows of linked_orders of the orders that name a visit:
        the kept visit's visit_id, order_id, value and line_count."""
        aliases = self.visit_aliases
        # The kept visit's check-in tells whether it is a visit of the period,
        # so no join with period_visits is needed (SQLite would scan it per order).
        by_visit_id = (
            sa.select(
                aliases.c.kept_visit_id.label("visit_id"),
                orders.c.order_id,
                usable_order_value(),
                usable_line_count(),
            )
            .select_from(orders.join(aliases, orders.c.visit_id == aliases.c.visit_id))
            .where(
                aliases.c.kept_check_in >= self.period.utc_start,
                aliases.c.kept_check_in < self.period.utc_end,
            )
        )
        if self._territory_ids is not None:
            # Only the kept visits of the filter's territory days link orders.
            # A kept visit has its duplicates' rep and is dated by kept_check_in,
            # so the test reads no period_visits row. PostgreSQL 15 estimates
            # period_visits at 1 row, and an IN over it became a nested loop that
            # scanned it once per visit: 70 s of 74 s for the WEST region's week
            # of the national demo company (30,000 visits).
            kept_day = local_day(aliases.c.kept_check_in, self.period)
            by_visit_id = by_visit_id.where(
                self._in_territories(aliases.c.rep_id, kept_day)
            )
        return by_visit_id

    def orders_without_visit(self) -> sa.CTE:
        """Return the orders of the period without visit_id: order_id, rep_id,
        outlet_id, value, line_count and order_date (local)."""
        return (
            sa.select(
                orders.c.order_id,
                orders.c.rep_id,
                orders.c.outlet_id,
                usable_order_value(),
                usable_line_count(),
                local_day(orders.c.ordered_at, self.period).label("order_date"),
            )
            .where(
                # Through the visit_id index, `visit_id IS NULL` would read the
                # orders without a visit of every date. Kept off it, SQLite
                # reads only the period's orders through the ordered_at index.
                unindexed(orders.c.visit_id).is_(None),
                orders.c.ordered_at >= self.period.utc_start,
                orders.c.ordered_at < self.period.utc_end,
            )
            .cte("orders_without_visit")
        )

    @property
    def calendar(self) -> sa.CTE:
        """One row per local date of the period: plan_date, weekday, day_number."""
        return self._once("calendar", self._build_calendar)

    def _build_calendar(self):
        epoch_ordinal = 719163  # date(1970, 1, 1).toordinal()
        days = [
            sa.select(
                sa.literal(day, DATE).label("plan_date"),
                sa.literal(day.isoweekday(), INTEGER).label("weekday"),
                sa.literal(day.toordinal() - epoch_ordinal, INTEGER).label(
                    "day_number"
                ),
            )
            for day in self.period.days
        ]
        # SQLite allows at most 500 terms in one compound SELECT, so a long
        # period is a union of unions of at most CALENDAR_CHUNK days each.
        chunks = [
            sa.union_all(*days[start : start + CALENDAR_CHUNK])
            for start in range(0, len(days), CALENDAR_CHUNK)
        ]
        if len(chunks) == 1:
            return chunks[0]
        return sa.union_all(*(sa.select(chunk.subquery()) for chunk in chunks))

    @property
    def planned_calls(self) -> sa.CTE:
        """Distinct (rep_id, outlet_id, plan_date) planned in the period.

        A beat runs on the first date on or after its start_date that falls on
        its weekday, then every every_n_weeks weeks, until its end_date
        (inclusive). Inactive and unknown outlets are never planned.
        """
        return self._once("planned_calls", self._build_planned_calls)

    def _build_planned_calls(self) -> sa.Select:
        calendar = self.calendar
        on_weekday, *on_run_date = beat_run_conditions(beats, calendar)
        query = (
            sa.select(beats.c.rep_id, beat_outlets.c.outlet_id, calendar.c.plan_date)
            .distinct()
            .select_from(
                beats.join(beat_outlets, beat_outlets.c.beat_id == beats.c.beat_id)
                .join(outlets, outlets.c.outlet_id == beat_outlets.c.outlet_id)
                .join(calendar, on_weekday)
            )
            .where(schema.is_active(outlets), *on_run_date)
        )
        if self._rep_ids is not None:
            query = query.where(beats.c.rep_id.in_(self._rep_ids))
        if self._outlet_ids is not None:
            query = query.where(beat_outlets.c.outlet_id.in_(self._outlet_ids))
        if self._territory_ids is not None:
            plan_rep_days = self._in_territories(beats.c.rep_id, calendar.c.plan_date)
            query = query.where(plan_rep_days)
        return query

    @property
    def visit_facts(self) -> sa.CTE:
        """One row per kept visit with its flags: productive, on plan, off-site."""
        return self._once("visit_facts", self._build_visit_facts)

    def _build_visit_facts(self) -> sa.Select:
        # One stream of kept visits, planned calls and linked orders, with
        # window functions in place of joins between the period's CTEs:
        # SQLite can index a CTE only for some joins and otherwise scans it
        # once per visit, while a window sorts each stream once.
        marks = self._visit_marks()
        same_call = (marks.c.rep_id, marks.c.outlet_id, marks.c.day)
        flagged = sa.select(
            marks,
            sa.func.max(marks.c.is_plan).over(partition_by=same_call).label("on_plan"),
            sa.func.max(marks.c.positive)
            .over(partition_by=marks.c.visit_id)
            .label("productive"),
            sa.func.sum(marks.c.order_lines)
            .over(partition_by=marks.c.visit_id)
            .label("visit_lines"),
        ).cte("flagged_visit_marks")

        outlet = outlets.alias("visited_outlet")
        both_fixes = sa.and_(
            usable_fix(flagged.c.latitude, flagged.c.longitude),
            usable_fix(outlet.c.latitude, outlet.c.longitude),
        )
        distance = distance_m(
            flagged.c.latitude,
            flagged.c.longitude,
            outlet.c.latitude,
            outlet.c.longitude,
        )
        return (
            sa.select(
                flagged.c.visit_id,
                flagged.c.rep_id,
                flagged.c.outlet_id,
                flagged.c.day.label("visit_date"),
                flagged.c.check_in,
                flagged.c.check_out,
                flagged.c.productive,
                flagged.c.visit_lines.label("order_lines"),
                (1 - flagged.c.on_plan).label("off_beat"),
                sa.case((both_fixes, distance), else_=None).label("distance_m"),
                sa.case((both_fixes, 0), else_=1).label("without_fix"),
            )
            .select_from(
                flagged.outerjoin(outlet, outlet.c.outlet_id == flagged.c.outlet_id)
            )
            .where(flagged.c.is_visit == 1)
        )

    def _visit_marks(self) -> sa.CTE:
        """Kept visits, planned calls and linked orders as rows of one shape.

        is_visit, is_plan, positive and order_lines are 0 or the row's own
        value, so a window over a visit's rows tells whether it was planned
        and productive.
        """
        kept = self.period_visits
        planned = self.planned_calls
        linked = self.linked_orders

        def none(type_: sa.types.TypeEngine) -> sa.ColumnElement:
            return sa.cast(sa.null(), type_)

        def number(value: int) -> sa.ColumnElement:
            return sa.literal(value, INTEGER)

        positive = linked.c.value > 0
        visit_rows = sa.select(
            kept.c.visit_id, kept.c.rep_id, kept.c.outlet_id,
            kept.c.visit_date.label("day"), kept.c.check_in, kept.c.check_out,
            kept.c.latitude, kept.c.longitude,
            number(1).label("is_visit"), number(0).label("is_plan"),
            number(0).label("positive"), number(0).label("order_lines"),
        )  # fmt: skip
        plan_rows = sa.select(
            none(TEXT), planned.c.rep_id, planned.c.outlet_id, planned.c.plan_date,
            none(DATETIME), none(DATETIME), none(FLOAT), none(FLOAT),
            number(0), number(1), number(0), number(0),
        )  # fmt: skip
        order_rows = sa.select(
            linked.c.visit_id, none(TEXT), none(TEXT), none(DATE),
            none(DATETIME), none(DATETIME), none(FLOAT), none(FLOAT),
            number(0), number(0),
            sa.case((positive, 1), else_=0),
            sa.case((positive, sa.func.coalesce(linked.c.line_count, 0)), else_=0),
        )  # fmt: skip
        return sa.union_all(visit_rows, plan_rows, order_rows).cte("visit_marks")

    @property
    def period_orders(self) -> sa.CTE:
        """Orders dated in the period with the rep they count for.

        An order counts for its rep_id, or for the rep of the visit its
        visit_id names when rep_id is missing.
        """
        return self._once("period_orders", self._build_period_orders)

    def _build_period_orders(self) -> sa.Select:
        linked_visit, linked_on = order_visit(self.lateral_lookups)
        query = (
            sa.select(
                orders.c.order_id,
                orders.c.outlet_id,
                sa.func.coalesce(orders.c.rep_id, linked_visit.c.rep_id).label(
                    "rep_id"
                ),
                usable_order_value(),
                local_day(orders.c.ordered_at, self.period).label("order_date"),
            )
            .select_from(orders.outerjoin(linked_visit, linked_on))
            .where(
                orders.c.ordered_at >= self.period.utc_start,
                orders.c.ordered_at < self.period.utc_end,
            )
        )
        return self._on_territory_days(query, "dated_orders", "rep_id", "order_date")
