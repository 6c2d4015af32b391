"""Data health: the rows the KPIs set aside or cannot trust, found in SQL.

Each kind of problem is one SELECT of the affected rows, all with the columns
of AFFECTED_COLUMNS, so the same statement both counts a kind and lists its
rows. Rows are checked for the viewer's period and scope:

- visits whose check_in falls in the period, by reps in scope; with an
  unrestricted scope, also visits whose rep is not in the reps table;
- orders whose ordered_at falls in the period, counted for a rep in scope
  (rep_id, else the rep of the visit that visit_id names) or placed at an
  outlet in scope; with an unrestricted scope, every order of the period;
- active outlets and active reps in scope, whatever the period, and for
  outlet_invalid_active and rep_invalid_active every outlet and rep in
  scope, because an invalid active value reads as inactive;
- the beats of reps in scope, whatever the period; with an unrestricted
  scope, every beat;
- the beat_outlets rows of those beats, whatever the period; with an
  unrestricted scope, every row, so a row whose beat is unknown, or whose
  beat's rep is unknown, is checked only there.

With a rep_territories history, a region or territory limit takes a visit or
an order by the rep's territory on its local date, as the reps report does.

Duplicate visits come from the same de-duplication as every KPI
(PeriodSQL.flagged_visits), so the counts agree with the visit figures.
Every visit and order checked falls in the period, so its local date comes
from period_sql.local_day, a CASE over the period's midnights, in place of a
time zone conversion per row.
"""

import functools
import logging
import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from data_access import schema
from data_access.csv_cells import MAX_LINE_COUNT
from data_access.dialect import (
    EARTH_RADIUS_M,
    bounded_count,
    code_point_order,
    day_number,
    distance_m,
    needs_lateral_lookups,
    seconds_between,
    sql_literal,
    unindexed,
)
from data_access.filters import Period, Scope, Settings, local_midnight_in_utc
from data_access.period_sql import (
    PeriodSQL,
    in_territories_on,
    is_resend,
    is_resend_of,
    local_day,
    order_visit,
    rep_id_in_scope,
    rep_ids_near_territories,
    scoped_outlet_conditions,
    scoped_outlet_ids,
    scoped_rep_conditions,
    scoped_rep_ids,
    scoped_territory_ids,
    usable_fix,
    usable_order_value,
)
from data_access.queries import fetch_frame, fetch_rows, frame_of_rows
from data_access.sql_types import DATETIME, FLOAT, TEXT
from data_access.territory_history import scope_follows_history

log = logging.getLogger(__name__)

visits = schema.visits
orders = schema.orders
outlets = schema.outlets
reps = schema.reps
territories = schema.territories
beats = schema.beats
beat_outlets = schema.beat_outlets

# Kinds whose rows are not among the rows checked of their table.
OUTSIDE_CHECKED: tuple[str, ...] = ("outlet_invalid_active", "rep_invalid_active")
# {kind: the table whose rows it counts}, in the order the page lists them.
KIND_TABLES: dict[str, str] = {
    "duplicate_visit": "visits",
    "check_out_before_check_in": "visits",
    "long_visit": "visits",
    "future_check_in": "visits",
    "visit_without_gps": "visits",
    "gps_at_zero": "visits",
    "gps_out_of_range": "visits",
    "gps_swapped": "visits",
    "impossible_travel": "visits",
    "visit_unknown_reference": "visits",
    "order_without_visit": "orders",
    "order_unknown_outlet": "orders",
    "order_unknown_rep": "orders",
    "return_order": "orders",
    "order_value_unusable": "orders",
    "order_line_count_unusable": "orders",
    "order_off_visit_day": "orders",
    "outlet_without_coordinates": "outlets",
    "outlet_without_territory": "outlets",
    "rep_without_manager": "reps",
    "rep_without_territory": "reps",
    "beat_never_runs": "beats",
    "beat_unknown_rep": "beats",
    "beat_outlet_unknown_reference": "beat_outlets",
    "outlet_invalid_active": "outlets",
    "rep_invalid_active": "reps",
}

# Kinds whose rows are dated visits or orders, so they can be counted week by
# week. Outlet, rep and beat kinds are checked against the current rows only.
DATED_KINDS: tuple[str, ...] = tuple(
    kind for kind, table in KIND_TABLES.items() if table in ("visits", "orders")
)

# The kinds whose rows come from window functions over the visits in scope,
# the costly part of listing them.
WINDOWED_KINDS: tuple[str, ...] = ("duplicate_visit", "impossible_travel")

# The dated kinds the summary build counts per day (see health_day_rows).
# Whether a check-in lies in the future depends on the time of the request,
# so future_check_in is always counted from the visits.
SUMMARISED_KINDS: tuple[str, ...] = tuple(
    kind for kind in DATED_KINDS if kind != "future_check_in"
)

# happened_at is the check_in or ordered_at (naive UTC); measure is the
# kind's figure (see each kind); related_id is another visit the row is
# judged against.
AFFECTED_COLUMNS = [
    "kind",
    "record_id",
    "rep_id",
    "outlet_id",
    "happened_at",
    "latitude",
    "longitude",
    "measure",
    "related_id",
]
MAX_ROWS_LISTED = 50_000
# Typed NULLs, because UNION ALL on PostgreSQL needs one type per column.
NULL_TEXT = sa.cast(sa.null(), TEXT)
NULL_TIMESTAMP = sa.cast(sa.null(), DATETIME)


def is_unrestricted(scope: Scope) -> bool:
    """True when the scope limits neither territories nor reps."""
    no_territory_limit = scope.region_ids is None and scope.territory_ids is None
    return no_territory_limit and not scope.limits_reps


def rep_in_scope_on(
    rep_id: sa.ColumnElement,
    day: sa.ColumnElement | None,
    scope: Scope,
    rep_ids: sa.Select,
) -> sa.ColumnElement[bool]:
    """True when a row of rep_id counts for the scope: rep_id is one of
    rep_ids, and when day (the row's local date) is given, the rep's
    territory on that day is one of the scope's.

    Give day when the scope follows a territory history, with rep_ids from
    rep_ids_near_territories; otherwise give None and scoped_rep_ids.
    """
    if day is None:
        return rep_id.in_(rep_ids)
    return sa.and_(
        rep_id.in_(rep_ids),
        in_territories_on(rep_id, day, scoped_territory_ids(scope)),
    )


# Local midnights whose check-in ranges one SELECT reads (see
# HealthSQL._checked_at_midnight): a 731-day period is read in 8 parts.
MIDNIGHTS_PER_PART = 100


class HealthSQL:
    """The checked rows of one period, scope and settings, and one SELECT per kind.

    history is True when the database stores a rep_territories history, so
    that a region or territory limit follows the rep's territory on each date.
    lateral_lookups is True to look up each checked order's visit by a LATERAL
    subquery, for an engine where dialect.needs_lateral_lookups is True. Both
    spellings give the same rows.
    """

    def __init__(
        self,
        period: Period,
        scope: Scope,
        settings: Settings,
        now: datetime,
        *,
        history: bool = False,
        window_rep_ids: tuple[str, ...] | None = None,
        lateral_lookups: bool = False,
    ) -> None:
        self.period = period
        self.scope = scope
        self.settings = settings
        self.now = now
        self.unrestricted = is_unrestricted(scope)
        # The de-duplication and travel windows sort every visit in scope. A
        # caller that knows which reps have duplicates or impossible travel
        # passes them as window_rep_ids, and only their visits are sorted.
        self.period_sql = PeriodSQL.for_scope(
            period, settings, scope, history=history, among_rep_ids=window_rep_ids
        )
        self.by_day = self.period_sql.follows_history
        self.lateral_lookups = lateral_lookups
        if self.by_day:
            self.rep_ids = rep_ids_near_territories(scope, period)
        else:
            self.rep_ids = scoped_rep_ids(scope)
        self.visits = self._checked_visits().cte("checked_visits")
        self.orders = self._checked_orders().cte("checked_orders")
        self.outlets = self._checked_outlets().cte("checked_outlets")
        self.reps = self._checked_reps().cte("checked_reps")
        self.beats = self._checked_beats().cte("checked_beats")
        self.beat_outlets = self._checked_beat_outlets().cte("checked_beat_outlets")

    # The rows checked

    def _checked_visits(self) -> sa.Select:
        query = sa.select(
            visits.c.visit_id,
            visits.c.rep_id,
            visits.c.outlet_id,
            visits.c.check_in,
            visits.c.check_out,
            visits.c.latitude,
            visits.c.longitude,
        ).where(
            visits.c.check_in >= self.period.utc_start,
            visits.c.check_in < self.period.utc_end,
        )
        if not self.unrestricted:
            query = query.where(self._rep_in_scope(visits.c.rep_id, visits.c.check_in))
        return query

    def _rep_in_scope(
        self, rep_id: sa.ColumnElement, happened_at: sa.ColumnElement
    ) -> sa.ColumnElement[bool]:
        """True when the rep of a row at happened_at (naive UTC) is in scope:
        with a history, by the rep's territory on the row's local date."""
        day = local_day(happened_at, self.period) if self.by_day else None
        return rep_in_scope_on(rep_id, day, self.scope, self.rep_ids)

    def _checked_orders(self) -> sa.Select:
        found_visit, found_on = order_visit(self.lateral_lookups)
        rep_id = sa.func.coalesce(orders.c.rep_id, found_visit.c.rep_id)
        query = (
            sa.select(
                orders.c.order_id,
                orders.c.outlet_id,
                rep_id.label("rep_id"),
                orders.c.visit_id,
                found_visit.c.visit_id.label("found_visit_id"),
                found_visit.c.rep_id.label("found_visit_rep_id"),
                found_visit.c.outlet_id.label("found_visit_outlet_id"),
                found_visit.c.check_in.label("found_visit_check_in"),
                orders.c.ordered_at,
                # NULL when unusable, as in every KPI, so the measure of
                # each order kind reads alike on both engines.
                usable_order_value(),
                orders.c.value.label("stored_value"),
                orders.c.line_count,
                local_day(orders.c.ordered_at, self.period).label("order_date"),
                *_day_bounds(orders.c.ordered_at, self.period),
            )
            .select_from(orders.outerjoin(found_visit, found_on))
            .where(
                orders.c.ordered_at >= self.period.utc_start,
                orders.c.ordered_at < self.period.utc_end,
            )
        )
        if not self.unrestricted:
            query = query.where(
                sa.or_(
                    self._rep_in_scope(rep_id, orders.c.ordered_at),
                    orders.c.outlet_id.in_(scoped_outlet_ids(self.scope)),
                )
            )
        return query

    def _checked_outlets(self) -> sa.Select:
        return sa.select(outlets).where(
            schema.is_active(outlets), *scoped_outlet_conditions(self.scope)
        )

    def _checked_reps(self) -> sa.Select:
        return sa.select(reps).where(
            schema.is_active(reps), *scoped_rep_conditions(self.scope)
        )

    def _checked_beats(self) -> sa.Select:
        query = sa.select(beats)
        if not self.unrestricted:
            query = query.where(beats.c.rep_id.in_(scoped_rep_ids(self.scope)))
        return query

    def _checked_beat_outlets(self) -> sa.Select:
        query = sa.select(beat_outlets)
        if not self.unrestricted:
            # self.beats contains the beats of the reps in scope.
            query = query.where(
                beat_outlets.c.beat_id.in_(sa.select(self.beats.c.beat_id))
            )
        return query

    def _visit_on_order_day(self, *, same_outlet: bool) -> sa.ColumnElement[bool]:
        """Test for a kept visit by the order's rep (at its outlet, with
        same_outlet) on the order's local date, whoever's scope the visit
        is in. A resend (period_sql.is_resend) dates no visit, as the linking
        of orders to visits reads it.

        The date's UTC bounds turn the test into one seek of a check_in index.
        It is a scalar subquery with LIMIT 1, not EXISTS. PostgreSQL 15 turned
        NOT EXISTS into an anti-join that tested each of the 2.4 million
        national visits for a resend: 11 s for a week's orders. The subquery
        takes one seek for each order left to test.
        """
        checked = self.orders
        visit = visits.alias("order_day_visit")
        on_day = [
            visit.c.check_in >= checked.c.day_start,
            visit.c.check_in < checked.c.day_end,
            ~is_resend(visit, self.settings.duplicate_window_s),
        ]
        if same_outlet:
            on_day += [
                visit.c.outlet_id == checked.c.outlet_id,
                unindexed(visit.c.rep_id) == checked.c.rep_id,
            ]
        else:
            on_day.append(visit.c.rep_id == checked.c.rep_id)
        found = sa.select(visit.c.visit_id).where(*on_day).limit(1)
        return found.scalar_subquery().is_not(None)

    def checked_counts(self) -> sa.Select:
        """Count the visits, orders, outlets, reps, beats and beat_outlets rows
        checked, in one row."""
        checked = {
            "visits": self.visits,
            "orders": self.orders,
            "outlets": self.outlets,
            "reps": self.reps,
            "beats": self.beats,
            "beat_outlets": self.beat_outlets,
        }
        counts = [
            sa.select(sa.func.count()).select_from(cte).scalar_subquery().label(name)
            for name, cte in checked.items()
        ]
        return sa.select(*counts)

    # One SELECT per kind

    def affected(self, kind: str) -> sa.Select:
        """Select the affected rows of one kind, with the AFFECTED_COLUMNS."""
        return KIND_BUILDERS[kind](self)

    def affected_counts(self, kinds: tuple[str, ...]) -> sa.Select:
        """Count the affected rows of each kind in kinds.

        Returns one row per kind with at least one affected row, with columns
        kind and affected. The counted rows are those of affected(kind),
        except that a duplicate is counted without the look-up of its kept
        visit, which only fills related_id.
        """
        found = sa.union_all(*(self._counted_row(kind) for kind in kinds)).subquery(
            "affected_rows"
        )
        return sa.select(found.c.kind, sa.func.count().label("affected")).group_by(
            found.c.kind
        )

    def affected_keys(self, kinds: tuple[str, ...]) -> sa.Select:
        """Count the affected rows of kinds per local date, kind, rep and outlet.

        Columns: day, kind, rep_id, outlet_id, affected. The rows counted are
        those of affected_counts. outlet_id is NULL for visit kinds, whose
        scope never depends on the outlet, so each rep's visits of a day
        and kind make one row.
        """
        found = sa.union_all(*(self._keyed_row(kind) for kind in kinds)).subquery(
            "affected_keys"
        )
        day = local_day(found.c.happened_at, self.period).label("day")
        return sa.select(
            day,
            found.c.kind,
            found.c.rep_id,
            found.c.outlet_id,
            sa.func.count().label("affected"),
        ).group_by(day, found.c.kind, found.c.rep_id, found.c.outlet_id)

    def _keyed_row(self, kind: str) -> sa.Select:
        if kind == "duplicate_visit":
            rows = self.period_sql.duplicates
            return sa.select(
                sa.literal(kind).label("kind"),
                rows.c.rep_id,
                NULL_TEXT.label("outlet_id"),
                rows.c.check_in.label("happened_at"),
            )
        rows = self.affected(kind).subquery(f"{kind}_keys")
        outlet_id = rows.c.outlet_id if KIND_TABLES[kind] == "orders" else NULL_TEXT
        return sa.select(
            rows.c.kind, rows.c.rep_id, outlet_id.label("outlet_id"), rows.c.happened_at
        )

    def _counted_row(self, kind: str) -> sa.Select:
        if kind == "duplicate_visit":
            return sa.select(sa.literal(kind).label("kind")).select_from(
                self.period_sql.duplicates
            )
        rows = self.affected(kind).subquery(f"{kind}_rows")
        return sa.select(rows.c.kind)

    def _visit_row(
        self,
        kind: str,
        where: sa.ColumnElement[bool],
        measure: sa.ColumnElement | None = None,
    ) -> sa.Select:
        checked = self.visits
        return sa.select(
            sa.literal(kind).label("kind"),
            checked.c.visit_id.label("record_id"),
            checked.c.rep_id,
            checked.c.outlet_id,
            checked.c.check_in.label("happened_at"),
            checked.c.latitude,
            checked.c.longitude,
            _float(measure).label("measure"),
            NULL_TEXT.label("related_id"),
        ).where(where)

    def duplicate_visits(self) -> sa.Select:
        """Visits set aside as resends of a kept visit; related_id is the kept one."""
        duplicates = self.period_sql.duplicates
        kept = self._kept_visit_of_duplicates()
        return sa.select(
            sa.literal("duplicate_visit").label("kind"),
            visits.c.visit_id.label("record_id"),
            visits.c.rep_id,
            visits.c.outlet_id,
            visits.c.check_in.label("happened_at"),
            visits.c.latitude,
            visits.c.longitude,
            _float(None).label("measure"),
            kept.c.kept_visit_id.label("related_id"),
        ).select_from(
            duplicates.join(
                visits, visits.c.visit_id == duplicates.c.visit_id
            ).outerjoin(kept, kept.c.visit_id == duplicates.c.visit_id)
        )

    def _kept_visit_of_duplicates(self) -> sa.CTE:
        """Pair each duplicate of the period with its kept visit.

        Columns: visit_id, kept_visit_id.

        The kept visit is the last visit that starts a chain of the same rep
        and outlet at or before the duplicate. Such visits lie at least the
        duplicate window apart, so their check_in identifies them.

        The pairs are MATERIALIZED. PostgreSQL 15 estimates one row for the
        duplicates, so with the pairs inlined it scanned the chain starts
        again for each duplicate. For the 331 duplicates of a national week
        that took 0.55 s in place of 0.06 s (2-core AMD EPYC, load average
        2.5).
        """
        flagged = self.period_sql.flagged_visits
        duplicates = self.period_sql.duplicates
        starts = (
            sa.select(
                flagged.c.visit_id,
                flagged.c.rep_id,
                flagged.c.outlet_id,
                flagged.c.check_in,
            )
            .where(flagged.c.starts_visit == 1)
            .cte("chain_starts")
        )

        def same_rep_and_outlet(found: sa.FromClause) -> sa.ColumnElement[bool]:
            # IS NOT DISTINCT FROM, because the window partitions NULL outlet_ids
            # together, so a visit without outlet_id still has duplicates.
            return sa.and_(
                starts.c.rep_id == found.c.rep_id,
                starts.c.outlet_id.is_not_distinct_from(found.c.outlet_id),
            )

        kept_check_ins = (
            sa.select(
                duplicates.c.visit_id,
                duplicates.c.rep_id,
                duplicates.c.outlet_id,
                sa.func.max(starts.c.check_in).label("kept_check_in"),
            )
            .select_from(
                duplicates.join(
                    starts,
                    sa.and_(
                        same_rep_and_outlet(duplicates),
                        starts.c.check_in <= duplicates.c.check_in,
                    ),
                )
            )
            .group_by(
                duplicates.c.visit_id, duplicates.c.rep_id, duplicates.c.outlet_id
            )
            .cte("duplicate_kept_check_ins")
        )
        return (
            sa.select(
                kept_check_ins.c.visit_id, starts.c.visit_id.label("kept_visit_id")
            )
            .select_from(
                kept_check_ins.join(
                    starts,
                    sa.and_(
                        same_rep_and_outlet(kept_check_ins),
                        starts.c.check_in == kept_check_ins.c.kept_check_in,
                    ),
                )
            )
            .cte("duplicate_kept_visits")
            .prefix_with("MATERIALIZED")
        )

    def check_out_before_check_in(self) -> sa.Select:
        """Visits whose check_out is earlier than check_in; measure in minutes."""
        checked = self.visits
        minutes = seconds_between(checked.c.check_in, checked.c.check_out) / 60.0
        reversed_times = checked.c.check_out < checked.c.check_in
        return self._visit_row("check_out_before_check_in", reversed_times, minutes)

    def long_visits(self) -> sa.Select:
        """Visits longer than max_visit_hours; measure is the length in hours."""
        checked = self.visits
        seconds = seconds_between(checked.c.check_in, checked.c.check_out)
        limit = self.settings.max_visit_hours * 3600
        return self._visit_row("long_visit", seconds > limit, seconds / 3600.0)

    def future_check_ins(self) -> sa.Select:
        """Visits checked in after now; measure is how many hours ahead."""
        checked = self.visits
        now = sa.literal(self.now, DATETIME)
        hours = seconds_between(now, checked.c.check_in) / 3600.0
        return self._visit_row("future_check_in", checked.c.check_in > now, hours)

    def visits_without_gps(self) -> sa.Select:
        checked = self.visits
        missing = sa.or_(checked.c.latitude.is_(None), checked.c.longitude.is_(None))
        return self._visit_row("visit_without_gps", missing)

    def gps_at_zero(self) -> sa.Select:
        checked = self.visits
        at_zero = sa.and_(checked.c.latitude == 0, checked.c.longitude == 0)
        return self._visit_row("gps_at_zero", at_zero)

    def gps_out_of_range(self) -> sa.Select:
        checked = self.visits
        out_of_range = sa.and_(
            checked.c.latitude.is_not(None),
            checked.c.longitude.is_not(None),
            sa.or_(
                sa.not_(checked.c.latitude.between(-90, 90)),
                sa.not_(checked.c.longitude.between(-180, 180)),
            ),
        )
        return self._visit_row("gps_out_of_range", out_of_range)

    def gps_swapped(self) -> sa.Select:
        """Select fixes beyond the off-site distance, or out of range, that lie
        within it once latitude and longitude are swapped.

        measure is the swapped fix's distance from the outlet in metres.
        """
        checked = self.visits
        outlet = outlets.alias("swapped_outlet")
        lat, lon = checked.c.latitude, checked.c.longitude
        as_recorded = distance_m(lat, lon, outlet.c.latitude, outlet.c.longitude)
        swapped = distance_m(lon, lat, outlet.c.latitude, outlet.c.longitude)
        limit = self.settings.off_site_m
        # Two points lie at least R * (latitude difference in radians) apart,
        # so this cheap test, written first, spares the haversine of nearly
        # every visit. The margin absorbs floating-point rounding.
        latitude_gap = math.degrees(limit / EARTH_RADIUS_M) * (1 + 1e-6)
        # The same bound against the minimum and maximum outlet latitude needs
        # no outlet row. It lets the database skip the outlet join for visits
        # whose longitude cannot be a latitude near any outlet. Only the
        # outlets with a usable fix count, as in the join below. SQLite sorts
        # text after every number, so a text latitude such as '19,08' would be
        # the maximum and, read as 19 in the addition, cut off higher fixes.
        outlet_latitudes = sa.select(outlets.c.latitude).where(
            usable_fix(outlets.c.latitude, outlets.c.longitude)
        )
        lowest = outlet_latitudes.with_only_columns(sa.func.min(outlets.c.latitude))
        highest = outlet_latitudes.with_only_columns(sa.func.max(outlets.c.latitude))
        condition = sa.and_(
            lon >= lowest.scalar_subquery() - latitude_gap,
            lon <= highest.scalar_subquery() + latitude_gap,
            sa.func.abs(lon - outlet.c.latitude) <= latitude_gap,
            usable_fix(outlet.c.latitude, outlet.c.longitude),
            usable_fix(lon, lat),
            swapped <= limit,
            sa.or_(sa.not_(usable_fix(lat, lon)), as_recorded > limit),
        )
        return (
            self._visit_row("gps_swapped", condition, swapped)
            .select_from(checked)
            .join(outlet, outlet.c.outlet_id == checked.c.outlet_id)
        )

    def impossible_travel(self) -> sa.Select:
        """Select kept visits reached from the rep's previous visit of the day
        faster than max_speed_kmh.

        measure is that speed in km/h, NULL when both check-ins are at the
        same instant, and related_id is the previous visit.

        Only usable fixes count, and a jump within the off-site distance is
        GPS noise, never flagged.
        """
        kept = self.period_sql.kept_visits
        day = (kept.c.rep_id, kept.c.visit_date)
        ordering = (kept.c.check_in, code_point_order(kept.c.visit_id))

        def previous(column: sa.ColumnElement) -> sa.ColumnElement:
            return sa.func.lag(column).over(partition_by=day, order_by=ordering)

        steps = (
            sa.select(
                kept.c.visit_id,
                kept.c.rep_id,
                kept.c.outlet_id,
                kept.c.check_in,
                kept.c.latitude,
                kept.c.longitude,
                previous(kept.c.visit_id).label("previous_visit_id"),
                previous(kept.c.check_in).label("previous_check_in"),
                previous(kept.c.latitude).label("previous_latitude"),
                previous(kept.c.longitude).label("previous_longitude"),
            )
            .where(usable_fix(kept.c.latitude, kept.c.longitude))
            .cte("visit_steps")
        )
        metres = distance_m(
            steps.c.previous_latitude,
            steps.c.previous_longitude,
            steps.c.latitude,
            steps.c.longitude,
        )
        seconds = seconds_between(steps.c.previous_check_in, steps.c.check_in)
        speed_kmh = sa.case((seconds > 0, metres / seconds * 3.6), else_=None)
        # A path along a meridian and then a parallel is never shorter than
        # the great circle, so R * (|dlat| + |dlon|) in radians bounds the
        # distance from above. Steps whose bound passes neither limit skip
        # the haversine, a Python call per row on SQLite. The margin absorbs
        # floating-point rounding.
        metres_per_degree = math.radians(1) * EARTH_RADIUS_M * (1 + 1e-6)
        reach_m = metres_per_degree * (
            sa.func.abs(steps.c.latitude - steps.c.previous_latitude)
            + sa.func.abs(steps.c.longitude - steps.c.previous_longitude)
        )
        may_be_too_fast = sa.and_(
            reach_m > self.settings.off_site_m,
            sa.or_(seconds <= 0, reach_m * 3.6 > self.settings.max_speed_kmh * seconds),
        )
        too_fast = sa.and_(
            steps.c.previous_visit_id.is_not(None),
            may_be_too_fast,
            metres > self.settings.off_site_m,
            sa.or_(seconds <= 0, speed_kmh > self.settings.max_speed_kmh),
        )
        return sa.select(
            sa.literal("impossible_travel").label("kind"),
            steps.c.visit_id.label("record_id"),
            steps.c.rep_id,
            steps.c.outlet_id,
            steps.c.check_in.label("happened_at"),
            steps.c.latitude,
            steps.c.longitude,
            _float(speed_kmh).label("measure"),
            steps.c.previous_visit_id.label("related_id"),
        ).where(too_fast)

    def visits_with_unknown_reference(self) -> sa.Select:
        """Visits whose rep or outlet is in no row of the reps or outlets table."""
        checked = self.visits
        unknown = sa.or_(
            ~sa.exists().where(reps.c.rep_id == checked.c.rep_id),
            ~sa.exists().where(outlets.c.outlet_id == checked.c.outlet_id),
        )
        return self._visit_row("visit_unknown_reference", unknown)

    def _order_row(
        self,
        kind: str,
        where: sa.ColumnElement[bool],
        related: sa.ColumnElement | None = None,
    ) -> sa.Select:
        checked = self.orders
        return sa.select(
            sa.literal(kind).label("kind"),
            checked.c.order_id.label("record_id"),
            checked.c.rep_id,
            checked.c.outlet_id,
            checked.c.ordered_at.label("happened_at"),
            _float(None).label("latitude"),
            _float(None).label("longitude"),
            _float(checked.c.value).label("measure"),
            (NULL_TEXT if related is None else related).label("related_id"),
        ).where(where)

    def orders_without_visit(self) -> sa.Select:
        """Select orders whose visit_id is missing or names no visit, when no
        visit by their rep to their outlet on their local date links them either.

        related_id is the visit_id that names no visit.
        """
        checked = self.orders
        same_day_visit = self._visit_on_order_day(same_outlet=True)
        without = sa.and_(
            checked.c.found_visit_id.is_(None),
            sa.or_(checked.c.visit_id.is_not(None), ~same_day_visit),
        )
        return self._order_row("order_without_visit", without, checked.c.visit_id)

    def orders_with_unknown_outlet(self) -> sa.Select:
        checked = self.orders
        unknown = sa.or_(
            checked.c.outlet_id.is_(None),
            ~sa.exists().where(outlets.c.outlet_id == checked.c.outlet_id),
        )
        return self._order_row("order_unknown_outlet", unknown)

    def orders_with_unknown_rep(self) -> sa.Select:
        """Orders whose rep (rep_id, else the visit's rep) is missing or unknown:
        no rep's figures include them."""
        checked = self.orders
        unknown = sa.or_(
            checked.c.rep_id.is_(None),
            ~sa.exists().where(reps.c.rep_id == checked.c.rep_id),
        )
        return self._order_row("order_unknown_rep", unknown)

    def returns(self) -> sa.Select:
        return self._order_row("return_order", self.orders.c.value < 0)

    def orders_with_unusable_value(self) -> sa.Select:
        """Select orders whose value is NaN, an infinity, text or a number
        beyond MAX_ORDER_VALUE either way, which no KPI counts.

        orders.value is NOT NULL, so the checked value is NULL only for them.
        related_id is the stored value as an SQL literal, such as 1e+308 or
        'abc'.
        """
        checked = self.orders
        return self._order_row(
            "order_value_unusable",
            checked.c.value.is_(None),
            sql_literal(checked.c.stored_value),
        )

    def orders_with_unusable_line_count(self) -> sa.Select:
        """Select orders whose line_count is stored but not a whole number
        from 0 to MAX_LINE_COUNT, which lines per call reads as 0 lines.

        A missing line_count is not listed: the loader stores an empty cell
        as NULL, so a source without line counts would flag every order.
        related_id is the stored line_count as an SQL literal, such as -5 or
        'abc'.
        """
        line_count = self.orders.c.line_count
        return self._order_row(
            "order_line_count_unusable",
            sa.and_(
                line_count.is_not(None),
                bounded_count(line_count, MAX_LINE_COUNT).is_(None),
            ),
            sql_literal(line_count),
        )

    def orders_off_visit_day(self) -> sa.Select:
        """Orders of a rep who made no visit on the order's local date."""
        checked = self.orders
        # An order linked to a kept visit by its own rep on the order's date,
        # the common case, passes without a search of the rep's visits.
        # linked_on_day is never NULL when rep_id is set, so neither is its
        # negation.
        linked_on_day = sa.and_(
            checked.c.found_visit_rep_id.is_not(None),
            checked.c.found_visit_rep_id == checked.c.rep_id,
            checked.c.found_visit_check_in >= checked.c.day_start,
            checked.c.found_visit_check_in < checked.c.day_end,
            sa.or_(
                ~self._checked_at_midnight(
                    checked.c.found_visit_rep_id, checked.c.found_visit_outlet_id
                ),
                ~is_resend_of(
                    checked.c.found_visit_id,
                    checked.c.found_visit_rep_id,
                    checked.c.found_visit_outlet_id,
                    checked.c.found_visit_check_in,
                    self.settings.duplicate_window_s,
                ),
            ),
        )
        visit_day = self._visit_on_order_day(same_outlet=False)
        off_day = sa.and_(
            checked.c.rep_id.is_not(None), sa.not_(linked_on_day), ~visit_day
        )
        return self._order_row("order_off_visit_day", off_day)

    def _checked_at_midnight(
        self, rep_id: sa.ColumnElement, outlet_id: sa.ColumnElement
    ) -> sa.ColumnElement[bool]:
        """Test whether the rep checked in at the outlet at most the duplicate
        window before a local midnight of the period.

        Only such a pair can have a resend after midnight whose kept visit is
        dated the day before, because a chain of resends that crosses
        midnight has a check-in on either side of it, within the window. The
        exact bound is included, which only adds pairs to test. Testing every
        linked visit for a resend took the national week's listing of orders
        off a visit day from 0.19 to 0.48 s on PostgreSQL. The pairs take one
        range of the check_in index a day.
        """
        window = timedelta(seconds=self.settings.duplicate_window_s)
        midnights = _local_midnights(self.period)
        # SQLite parses a chain of OR one level deeper per term, to at most
        # 1,000 levels, so the midnights of a long period are read in parts.
        parts = []
        for start in range(0, len(midnights), MIDNIGHTS_PER_PART):
            near_midnight = [
                sa.and_(
                    visits.c.check_in >= midnight - window, visits.c.check_in < midnight
                )
                for midnight in midnights[start : start + MIDNIGHTS_PER_PART]
            ]
            parts.append(
                sa.select(visits.c.rep_id, visits.c.outlet_id).where(
                    sa.or_(*near_midnight)
                )
            )
        pairs = parts[0] if len(parts) == 1 else sa.union_all(*parts)
        found = sa.tuple_(rep_id, outlet_id).in_(pairs)
        return sa.func.coalesce(found, sa.false())

    def _outlet_row(self, kind: str, where: sa.ColumnElement[bool]) -> sa.Select:
        checked = self.outlets
        return sa.select(
            sa.literal(kind).label("kind"),
            checked.c.outlet_id.label("record_id"),
            NULL_TEXT.label("rep_id"),
            checked.c.outlet_id,
            NULL_TIMESTAMP.label("happened_at"),
            checked.c.latitude,
            checked.c.longitude,
            _float(None).label("measure"),
            checked.c.territory_id.label("related_id"),
        ).where(where)

    def outlets_without_coordinates(self) -> sa.Select:
        """Active outlets whose coordinates are missing, out of range or (0, 0)."""
        checked = self.outlets
        unusable = sa.not_(usable_fix(checked.c.latitude, checked.c.longitude))
        return self._outlet_row("outlet_without_coordinates", unusable)

    def outlets_without_territory(self) -> sa.Select:
        checked = self.outlets
        unknown = sa.or_(
            checked.c.territory_id.is_(None),
            ~sa.exists().where(territories.c.territory_id == checked.c.territory_id),
        )
        return self._outlet_row("outlet_without_territory", unknown)

    def _rep_row(
        self, kind: str, where: sa.ColumnElement[bool], related: sa.ColumnElement
    ) -> sa.Select:
        checked = self.reps
        return sa.select(
            sa.literal(kind).label("kind"),
            checked.c.rep_id.label("record_id"),
            checked.c.rep_id,
            NULL_TEXT.label("outlet_id"),
            NULL_TIMESTAMP.label("happened_at"),
            _float(None).label("latitude"),
            _float(None).label("longitude"),
            _float(None).label("measure"),
            related.label("related_id"),
        ).where(where)

    def reps_without_manager(self) -> sa.Select:
        checked = self.reps
        missing = sa.or_(
            checked.c.manager_id.is_(None), sa.func.trim(checked.c.manager_id) == ""
        )
        return self._rep_row("rep_without_manager", missing, checked.c.territory_id)

    def reps_without_territory(self) -> sa.Select:
        checked = self.reps
        unknown = sa.or_(
            checked.c.territory_id.is_(None),
            ~sa.exists().where(territories.c.territory_id == checked.c.territory_id),
        )
        return self._rep_row("rep_without_territory", unknown, checked.c.territory_id)

    def _beat_row(
        self,
        kind: str,
        where: sa.ColumnElement[bool],
        related: sa.ColumnElement,
        measure: sa.ColumnElement | None = None,
    ) -> sa.Select:
        checked = self.beats
        return sa.select(
            sa.literal(kind).label("kind"),
            checked.c.beat_id.label("record_id"),
            checked.c.rep_id,
            NULL_TEXT.label("outlet_id"),
            NULL_TIMESTAMP.label("happened_at"),
            _float(None).label("latitude"),
            _float(None).label("longitude"),
            _float(measure).label("measure"),
            related.label("related_id"),
        ).where(where)

    def beats_never_running(self) -> sa.Select:
        """Select beats that can plan no call, whatever the period.

        related_id names the first column at fault, in the order weekday,
        every_n_weeks, start_date, end_date, and measure is its value. For
        start_date, which is then no date that day_number reads (PostgreSQL's
        'infinity' or '-infinity', or text on SQLite), measure is NULL. For end_date, measure is NULL when the end_date is
        before the start_date, else the days from start_date to the first
        date on the beat's weekday, which the end_date precedes.

        The loader rejects a weekday outside 1 to 7, every_n_weeks of 0 or
        below and an end_date before the start_date, but another program may
        write them. Such a weekday matches no date, and such an
        every_n_weeks or start_date gives no run date
        (period_sql.beat_run_conditions). An end_date before the first run
        date belongs here too although the weekday and frequency may be
        valid, because the beat plans no call either and the fix is to the
        same row.
        """
        checked = self.beats
        bad_weekday = sa.not_(checked.c.weekday.between(1, 7))
        no_frequency = checked.c.every_n_weeks <= 0
        start = day_number(checked.c.start_date)
        end = day_number(checked.c.end_date)
        unreadable_start = start.is_(None)
        reversed_dates = checked.c.end_date < checked.c.start_date
        # Day 0, 1970-01-01, was a Thursday (ISO weekday 4). The added 7s keep
        # each remainder at 0 or above, on engines that truncate it towards 0.
        start_weekday = (start % 7 + 7 + 3) % 7 + 1
        days_to_first_run = (checked.c.weekday - start_weekday + 7) % 7
        ends_before_first_run = end - start < days_to_first_run
        column = sa.case(
            (bad_weekday, "weekday"),
            (no_frequency, "every_n_weeks"),
            (unreadable_start, "start_date"),
            else_="end_date",
        )
        value = sa.case(
            (bad_weekday, checked.c.weekday),
            (no_frequency, checked.c.every_n_weeks),
            (reversed_dates, None),
            else_=days_to_first_run,
        )
        never_runs = sa.or_(
            bad_weekday,
            no_frequency,
            unreadable_start,
            reversed_dates,
            ends_before_first_run,
        )
        return self._beat_row(
            "beat_never_runs", never_runs, sa.cast(column, TEXT), value
        )

    def beats_with_unknown_rep(self) -> sa.Select:
        """Select the checked beats whose rep_id is empty or not in reps, whose
        calls count for no rep. related_id is that rep_id.

        A scope that limits regions, territories or reps checks only the beats
        of its reps, so only the unrestricted scope lists these, just as only
        it lists visits by an unknown rep.
        """
        checked = self.beats
        unknown = sa.or_(
            checked.c.rep_id.is_(None),
            ~sa.exists().where(reps.c.rep_id == checked.c.rep_id),
        )
        return self._beat_row("beat_unknown_rep", unknown, checked.c.rep_id)

    def beat_outlets_with_unknown_reference(self) -> sa.Select:
        """Select the checked beat_outlets rows whose beat_id is not in beats
        or whose outlet_id is not in outlets, which plan no call.

        record_id is the beat_id and rep_id the beat's rep, NULL for an
        unknown beat. related_id names the columns at fault: 'beat_id',
        'outlet_id' or 'beat_id outlet_id'.
        """
        checked = self.beat_outlets
        beat = beats.alias("listed_beat")
        unknown_beat = beat.c.beat_id.is_(None)
        unknown_outlet = ~sa.exists().where(outlets.c.outlet_id == checked.c.outlet_id)
        columns = sa.case(
            (sa.and_(unknown_beat, unknown_outlet), "beat_id outlet_id"),
            (unknown_beat, "beat_id"),
            else_="outlet_id",
        )
        return (
            sa.select(
                sa.literal("beat_outlet_unknown_reference").label("kind"),
                checked.c.beat_id.label("record_id"),
                beat.c.rep_id,
                checked.c.outlet_id,
                NULL_TIMESTAMP.label("happened_at"),
                _float(None).label("latitude"),
                _float(None).label("longitude"),
                _float(None).label("measure"),
                sa.cast(columns, TEXT).label("related_id"),
            )
            .select_from(checked.outerjoin(beat, beat.c.beat_id == checked.c.beat_id))
            .where(sa.or_(unknown_beat, unknown_outlet))
        )

    def outlets_with_invalid_active(self) -> sa.Select:
        """Select the outlets in scope whose active value is neither true nor
        false as stored. related_id is that value as an SQL literal, such as
        'true'."""
        return sa.select(
            sa.literal("outlet_invalid_active").label("kind"),
            outlets.c.outlet_id.label("record_id"),
            NULL_TEXT.label("rep_id"),
            outlets.c.outlet_id,
            NULL_TIMESTAMP.label("happened_at"),
            outlets.c.latitude,
            outlets.c.longitude,
            _float(None).label("measure"),
            sql_literal(outlets.c.active).label("related_id"),
        ).where(
            schema.has_invalid_active(outlets), *scoped_outlet_conditions(self.scope)
        )

    def reps_with_invalid_active(self) -> sa.Select:
        """Select the reps in scope whose active value is neither true nor
        false as stored. related_id is that value as an SQL literal, such as 2."""
        return sa.select(
            sa.literal("rep_invalid_active").label("kind"),
            reps.c.rep_id.label("record_id"),
            reps.c.rep_id,
            NULL_TEXT.label("outlet_id"),
            NULL_TIMESTAMP.label("happened_at"),
            _float(None).label("latitude"),
            _float(None).label("longitude"),
            _float(None).label("measure"),
            sql_literal(reps.c.active).label("related_id"),
        ).where(schema.has_invalid_active(reps), *scoped_rep_conditions(self.scope))


def _local_midnights(period: Period) -> list[datetime]:
    """Return the UTC instant (naive) at which each local date of the period begins."""
    return [local_midnight_in_utc(day, period.timezone) for day in period.days]


def _day_bounds(
    timestamp: sa.ColumnElement, period: Period
) -> tuple[sa.ColumnElement, sa.ColumnElement]:
    """Return day_start and day_end, the UTC instants (naive) that bound the
    local date of a timestamp within the period.

    Like period_sql.local_day, each is a CASE that halves the period's days
    at each step, over the same midnights, so the bounds always enclose the
    date local_day gives.
    """
    days = period.days
    starts = _local_midnights(period)
    ends = [*starts[1:], period.utc_end]
    last = len(days) - 1
    return (
        _instant_of_day(timestamp, starts, starts, 0, last).label("day_start"),
        _instant_of_day(timestamp, starts, ends, 0, last).label("day_end"),
    )


def _instant_of_day(
    timestamp: sa.ColumnElement,
    starts: list[datetime],
    instants: list[datetime],
    first: int,
    last: int,
) -> sa.ColumnElement:
    if first == last:
        return sa.literal(instants[first], DATETIME)
    middle = (first + last + 1) // 2
    return sa.case(
        (
            timestamp < sa.literal(starts[middle], DATETIME),
            _instant_of_day(timestamp, starts, instants, first, middle - 1),
        ),
        else_=_instant_of_day(timestamp, starts, instants, middle, last),
    )


def _float(value: sa.ColumnElement | None) -> sa.ColumnElement:
    if value is None:
        return sa.cast(sa.null(), FLOAT)
    return sa.cast(value, FLOAT)


KIND_BUILDERS: dict[str, Callable[[HealthSQL], sa.Select]] = {
    "duplicate_visit": HealthSQL.duplicate_visits,
    "check_out_before_check_in": HealthSQL.check_out_before_check_in,
    "long_visit": HealthSQL.long_visits,
    "future_check_in": HealthSQL.future_check_ins,
    "visit_without_gps": HealthSQL.visits_without_gps,
    "gps_at_zero": HealthSQL.gps_at_zero,
    "gps_out_of_range": HealthSQL.gps_out_of_range,
    "gps_swapped": HealthSQL.gps_swapped,
    "impossible_travel": HealthSQL.impossible_travel,
    "visit_unknown_reference": HealthSQL.visits_with_unknown_reference,
    "order_without_visit": HealthSQL.orders_without_visit,
    "order_unknown_outlet": HealthSQL.orders_with_unknown_outlet,
    "order_unknown_rep": HealthSQL.orders_with_unknown_rep,
    "return_order": HealthSQL.returns,
    "order_value_unusable": HealthSQL.orders_with_unusable_value,
    "order_line_count_unusable": HealthSQL.orders_with_unusable_line_count,
    "order_off_visit_day": HealthSQL.orders_off_visit_day,
    "outlet_without_coordinates": HealthSQL.outlets_without_coordinates,
    "outlet_without_territory": HealthSQL.outlets_without_territory,
    "rep_without_manager": HealthSQL.reps_without_manager,
    "rep_without_territory": HealthSQL.reps_without_territory,
    "beat_never_runs": HealthSQL.beats_never_running,
    "beat_unknown_rep": HealthSQL.beats_with_unknown_rep,
    "beat_outlet_unknown_reference": HealthSQL.beat_outlets_with_unknown_reference,
    "outlet_invalid_active": HealthSQL.outlets_with_invalid_active,
    "rep_invalid_active": HealthSQL.reps_with_invalid_active,
}


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def health_counts(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    settings: Settings,
    now: datetime | None = None,
    kinds: tuple[str, ...] = tuple(KIND_TABLES),
) -> pd.DataFrame:
    """Count the affected rows of every kind, and the rows checked of its table.

    now (naive UTC, default the current time) is the instant after which a
    check-in lies in the future. Only the kinds in kinds are counted; the
    others show 0 affected. One row per kind of KIND_TABLES, in that order,
    zero included. Columns: kind, table_name, affected, checked.
    """
    moment = now or _utc_now()
    history = scope_follows_history(engine, scope, period)
    health = HealthSQL(period, scope, settings, moment, history=history)
    counts_statement = health.affected_counts(_skip_past_futures(kinds, period, moment))

    counts = fetch_frame(engine, "health_counts", counts_statement)
    checked = fetch_frame(engine, "health_checked_rows", health.checked_counts())
    affected = dict(zip(counts["kind"], counts["affected"].astype("int64")))
    checked_by_table = {name: int(checked.iloc[0][name]) for name in checked.columns}
    # The rows of an invalid active value read as inactive, so they are not
    # among the active rows checked. Adding them keeps the share at most 1.
    checked_by_kind = [
        checked_by_table[table]
        + (affected.get(kind, 0) if kind in OUTSIDE_CHECKED else 0)
        for kind, table in KIND_TABLES.items()
    ]
    return pd.DataFrame(
        {
            "kind": list(KIND_TABLES),
            "table_name": list(KIND_TABLES.values()),
            "affected": [affected.get(kind, 0) for kind in KIND_TABLES],
            "checked": checked_by_kind,
        }
    )


def _skip_past_futures(
    kinds: tuple[str, ...], period: Period, now: datetime
) -> tuple[str, ...]:
    """Leave future_check_in out of kinds when the period ended by now, so no
    check-in of it can be in the future, unless it is the only kind."""
    others = tuple(kind for kind in kinds if kind != "future_check_in")
    return others if others and period.utc_end <= now else kinds


def weekly_health_counts(
    engine: sa.Engine,
    span: Period,
    scope: Scope,
    settings: Settings,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Count the affected rows of every dated kind in each week of span.

    span must be whole weeks that start on settings.week_start. Each week's
    figures equal the affected column of health_counts for that week alone.
    The checked column and the outlet, rep and beat kinds are left out
    because those rows have no date. now (naive UTC, default the current
    time) is the instant after which a check-in lies in the future. One row
    per week and kind of DATED_KINDS, weeks in order and then kinds in
    KIND_TABLES order, zero included. Columns: week_start (the week's first
    local date), kind, affected.

    Each week is one statement. One statement over the whole span, grouped
    by the week of each row, gives the same counts but was slower, because
    the window functions of de-duplication and travel then sort every visit
    of the span at once. In a single measurement on SQLite 3.40, with 8
    weeks of a 2,000-rep demo company (860,000 visits), it took 17 s of CPU
    against 13 s for the 8 weekly statements, so take the gap as an
    estimate.
    """
    weeks = weeks_of(span, settings.week_start)
    history = scope_follows_history(engine, scope, span)
    moment = now or _utc_now()
    counts = {}
    for week in weeks:
        health = HealthSQL(week, scope, settings, moment, history=history)
        found = fetch_frame(
            engine, "weekly_health_counts", health.affected_counts(DATED_KINDS)
        )
        for kind, affected in zip(found["kind"], found["affected"], strict=True):
            counts[(week.start, kind)] = int(affected)
    return weekly_counts_frame(weeks, counts)


def weekly_counts_frame(
    weeks: list[Period], counts: dict[tuple[date, str], int]
) -> pd.DataFrame:
    """Build the frame of weekly_health_counts from counts by (week start, kind).

    One row per week and kind of DATED_KINDS, zero for a missing pair.
    """
    rows = [
        (week.start, kind, counts.get((week.start, kind), 0))
        for week in weeks
        for kind in DATED_KINDS
    ]
    frame = pd.DataFrame(rows, columns=["week_start", "kind", "affected"])
    frame["affected"] = frame["affected"].astype("int64")
    return frame


def future_check_in_days(
    engine: sa.Engine,
    span: Period,
    scope: Scope,
    settings: Settings,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Count the visits of span checked in after now, per local date.

    Columns: day (datetime.date), kind ("future_check_in"), affected.
    """
    moment = now or _utc_now()
    history = scope_follows_history(engine, scope, span)
    health = HealthSQL(span, scope, settings, moment, history=history)
    statement = health.affected_keys(("future_check_in",))
    if span.utc_end <= moment:
        # Every check-in of the span lies before its end, so none is after
        # now. The frame is the one an empty result gives.
        frame = frame_of_rows([], list(statement.selected_columns.keys()))
    else:
        frame = fetch_frame(engine, "health_future_check_ins", statement)
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    frame["affected"] = frame["affected"].astype("int64")
    return frame[["day", "kind", "affected"]]


def health_day_rows(
    week: Period,
    settings: Settings,
    built: PeriodSQL | None = None,
    lateral_lookups: bool = False,
) -> sa.Select:
    """Select the summary_health_days rows of a week: the affected rows of
    every kind of SUMMARISED_KINDS per local date, kind, rep and outlet,
    checked for the unrestricted scope (see HealthSQL.affected_keys).

    built, when given, is the week's PeriodSQL whose visit_aliases and
    period_visits blocks read from tables filled before, as in the summary
    build. The duplicates and kept visits then come from those rows, which
    spares the de-duplication's window over the week's visits (about half
    of this statement's time on a national week). lateral_lookups is as in
    HealthSQL.
    """
    # The moment only decides future_check_in, which is not summarised.
    health = HealthSQL(
        week, Scope(), settings, week.utc_end, lateral_lookups=lateral_lookups
    )
    if built is not None:
        # The unrestricted scope's blocks keep the reps of the reps table only.
        known = scoped_rep_ids(Scope())
        period_visits = built.period_visits
        aliases = built.visit_aliases
        in_week = sa.and_(
            aliases.c.check_in >= week.utc_start, aliases.c.check_in < week.utc_end
        )
        health.period_sql.read_from(
            "kept_visits",
            sa.select(period_visits)
            .where(period_visits.c.rep_id.in_(known))
            .cte("known_kept_visits"),
        )
        health.period_sql.read_from(
            "duplicates",
            sa.select(
                aliases.c.visit_id,
                aliases.c.rep_id,
                aliases.c.outlet_id,
                aliases.c.check_in,
            )
            .where(
                aliases.c.visit_id != aliases.c.kept_visit_id,
                in_week,
                aliases.c.rep_id.in_(known),
            )
            .cte("known_duplicates"),
        )
    return health.affected_keys(SUMMARISED_KINDS)


def weeks_of(span: Period, week_start: int) -> list[Period]:
    """Split span into its weeks.

    Raises ValueError unless span is whole weeks that start on week_start,
    an ISO weekday.
    """
    days = (span.end - span.start).days + 1
    if span.start.isoweekday() != week_start or days % 7 != 0:
        raise ValueError(
            f"period {span.start} to {span.end} is not whole weeks starting on "
            f"ISO weekday {week_start}. Start it on that weekday and end it 6 days "
            "after a week's first day"
        )
    first = Period(span.start, span.start + timedelta(days=6), span.timezone)
    return [first.shifted(index) for index in range(days // 7)]


def affected_rows(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    settings: Settings,
    kinds: tuple[str, ...] | None = None,
    limit: int = MAX_ROWS_LISTED,
    now: datetime | None = None,
    window_rep_ids: Mapping[str, tuple[str, ...]] | None = None,
) -> pd.DataFrame:
    """List the affected rows of the given kinds (default all), at most limit.

    Rows come in the order of KIND_TABLES, then by happened_at, record_id
    and outlet_id. Columns: AFFECTED_COLUMNS. Raises ValueError for an unknown
    kind. window_rep_ids, when given, maps a kind of WINDOWED_KINDS to a
    tuple that must include every rep with a row of that kind in the period
    (see HealthSQL). Each kind it maps is then listed by a statement of its
    own that sorts only those reps' visits.
    """
    chosen = tuple(KIND_TABLES) if kinds is None else kinds
    unknown = [kind for kind in chosen if kind not in KIND_TABLES]
    if unknown:
        raise ValueError(
            f"unknown data health kind {unknown[0]!r}; expected one of "
            f"{', '.join(KIND_TABLES)}"
        )
    history = scope_follows_history(engine, scope, period)
    moment = now or _utc_now()
    listed = _skip_past_futures(chosen, period, moment)
    narrowed = {
        kind: rep_ids
        for kind, rep_ids in (window_rep_ids or {}).items()
        if kind in listed and kind in WINDOWED_KINDS
    }
    # One HealthSQL cannot narrow the windows of two kinds to different reps, and
    # two of them in one statement repeat CTE names. So each narrowed kind gets a
    # statement of its own. The other kinds take two statements, one for the
    # visit kinds and one for the rest. Those share no CTE, so the split repeats
    # no work, and the two statements run side by side.
    parts: list[tuple[HealthSQL, tuple[str, ...]]] = []
    others = [kind for kind in listed if kind not in narrowed]
    visit_kinds = tuple(kind for kind in others if KIND_TABLES[kind] == "visits")
    other_kinds = tuple(kind for kind in others if KIND_TABLES[kind] != "visits")
    for group in (visit_kinds, other_kinds):
        if not group:
            continue
        health = HealthSQL(
            period,
            scope,
            settings,
            moment,
            history=history,
            lateral_lookups=needs_lateral_lookups(engine.dialect),
        )
        parts.append((health, group))
    for kind, rep_ids in narrowed.items():
        health = HealthSQL(
            period, scope, settings, moment, history=history, window_rep_ids=rep_ids
        )
        parts.append((health, (kind,)))
    statements = [
        _affected_rows_statement(health, part, scope, limit) for health, part in parts
    ]
    if len(statements) == 1:
        frame = fetch_frame(engine, "health_affected_rows", statements[0])
    else:
        frame = _merged_affected_rows(engine, statements, limit)
    # Naive UTC instants, as the schema stores them. Text with an offset,
    # which another program may write into SQLite, becomes the same instant.
    happened_at = pd.to_datetime(frame["happened_at"], utc=True)
    frame["happened_at"] = happened_at.dt.tz_localize(None)
    return frame


def _affected_rows_statement(
    health: HealthSQL, kinds: tuple[str, ...], scope: Scope, limit: int
) -> sa.Select:
    """Select the first limit affected rows of kinds, in the order of affected_rows."""
    found = sa.union_all(*(health.affected(kind) for kind in kinds)).subquery(
        "affected_rows"
    )
    kind_order = sa.case(
        {kind: position for position, kind in enumerate(KIND_TABLES)},
        value=found.c.kind,
    )
    # Another manager's rep may leave orders at the viewer's outlets, so the
    # rep_id of a rep outside the scope is hidden.
    columns = {name: found.c[name] for name in AFFECTED_COLUMNS}
    columns["rep_id"] = rep_id_in_scope(
        found.c.rep_id, scope, visible=health.rep_ids
    ).label("rep_id")
    # outlet_id orders the beat_outlets rows of one beat, which share a record_id.
    return (
        sa.select(*columns.values())
        .order_by(
            kind_order,
            found.c.happened_at,
            code_point_order(found.c.record_id),
            code_point_order(found.c.outlet_id),
        )
        .limit(limit)
    )


def _affected_rows_of(engine: sa.Engine, statement: sa.Select) -> list[tuple]:
    rows, _ = fetch_rows(engine, "health_affected_rows", statement)
    return rows


def _merged_affected_rows(
    engine: sa.Engine, statements: list[sa.Select], limit: int
) -> pd.DataFrame:
    """Run statements of disjoint kinds, each ordered as affected_rows orders
    its rows, and return their first limit rows in that order.

    The rows are merged before the frame is built, so each column's dtype
    comes from every row, as it does for one statement.
    """
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(statements)) as pool:
        fetched = list(
            pool.map(functools.partial(_affected_rows_of, engine), statements)
        )
    rows = [row for part in fetched for row in part]
    position = {kind: index for index, kind in enumerate(KIND_TABLES)}
    # sorted() is stable, so each kind's rows keep their statement's order.
    rows = sorted(rows, key=lambda row: position[row[0]])[:limit]
    frame = frame_of_rows(rows, AFFECTED_COLUMNS)
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.info(
        "query health_affected_rows: %d rows in %.0f ms (%d statements)",
        len(frame),
        elapsed_ms,
        len(statements),
    )
    return frame


def set_aside_counts(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> dict[str, int]:
    """Count what the period's KPIs leave out, for a note beside them.

    duplicate_visits: resent visits dropped from every visit figure.
    visits_without_fix: kept visits never judged off-site, because the visit
        has no usable fix or its outlet no usable coordinates.
    orders_without_rep: orders of the period that count for no known rep, so
        no rep's order value contains them.
    orders_without_value: orders of the period whose value is unusable (see
        period_sql.usable_order_value), so no order figure contains them.
    duplicate_visits, orders_without_rep and orders_without_value are the
    rows health_counts counts. visits_without_fix applies the reps report's
    test (a usable fix on the visit and on its outlet) to the same kept visits.
    """
    history = scope_follows_history(engine, scope, period)
    health = HealthSQL(period, scope, settings, _utc_now(), history=history)
    kept = health.period_sql.kept_visits
    outlet = outlets.alias("visited_outlet")
    both_fixes = sa.and_(
        usable_fix(kept.c.latitude, kept.c.longitude),
        usable_fix(outlet.c.latitude, outlet.c.longitude),
    )
    counts = {
        "duplicate_visits": sa.select(sa.func.count()).select_from(
            health.period_sql.duplicates
        ),
        "visits_without_fix": sa.select(
            sa.func.coalesce(sa.func.sum(sa.case((both_fixes, 0), else_=1)), 0)
        ).select_from(kept.outerjoin(outlet, outlet.c.outlet_id == kept.c.outlet_id)),
        "orders_without_rep": sa.select(sa.func.count()).select_from(
            health.orders_with_unknown_rep().subquery()
        ),
        "orders_without_value": sa.select(sa.func.count()).select_from(
            health.orders_with_unusable_value().subquery()
        ),
    }
    statement = sa.select(
        *(query.scalar_subquery().label(name) for name, query in counts.items())
    )
    frame = fetch_frame(engine, "set_aside_counts", statement)
    return {name: int(frame.iloc[0][name]) for name in counts}
