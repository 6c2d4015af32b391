"""The weekly outlet figures of the trend, counted from the outlet-week summaries.

Each week counts three kinds of active outlet. A visited outlet had a kept
visit in the week. An overdue outlet had no kept visit in its neglect
window up to the week's last day. A neglected outlet is overdue, was
neither visited nor planned in the week, and is on a beat whose dates
overlap the week. A neglect window of 7q + r days contains q whole weeks
and the last r days of the week before them. So each outlet's weeks, packed
as bits of integers, give every week of a trend in one pass over
summary_outlet_weeks.

The summary build stores these counts per territory and week in
summary_outlet_trend (see data_access.summaries), and the review queries
read them there, or count them here when a week has no stored counts. The
module also builds the territories report's outlet facts of a period, which
the build stores per week in summary_outlet_flags.
"""

from collections.abc import Iterable
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from data_access import schema
from data_access.dialect import day_number
from data_access.filters import Period, Settings, parse_class_windows, week_containing
from data_access.queries import LAST_VISITS_LOOKBACK_DAYS, outlets_on_beat
from data_access.sql_types import BIGINT, INTEGER

outlets = schema.outlets
beats = schema.beats
beat_outlets = schema.beat_outlets
outlet_weeks = schema.summary_outlet_weeks

OUTLET_FIGURES = ["visited_outlets", "neglected_outlets", "overdue_outlets"]

# outlet_week_flags packs one bit per week into a signed 64-bit integer.
MAX_FLAG_WEEKS = 62


def neglect_rule(settings: Settings) -> str:
    """Write the neglect windows of settings as one text, the same for the same
    windows in any order, such as "28" or "28;A=14,C=56". A class window equal
    to neglect_days is left out, because it counts as the default does."""
    by_class = ",".join(
        f"{name}={days}"
        for name, days in sorted(settings.neglect_days_by_class)
        if days != settings.neglect_days
    )
    return (
        f"{settings.neglect_days};{by_class}"
        if by_class
        else str(settings.neglect_days)
    )


def neglect_windows(rule: str) -> dict:
    """Read a neglect_rule text back as the Settings fields neglect_days and
    neglect_days_by_class."""
    days, _, by_class = rule.partition(";")
    return {
        "neglect_days": int(days),
        "neglect_days_by_class": parse_class_windows(by_class),
    }


def neglect_lookback_start(period: Period, settings: Settings) -> date:
    """Return the first day of the longest neglect window, within the lookback.

    An outlet whose last visit is older is neglected under every window. The
    outlets report reads last visits from LAST_VISITS_LOOKBACK_DAYS days only,
    so a longer window starts there too.
    """
    class_windows = [days for _, days in settings.neglect_days_by_class]
    longest = max([settings.neglect_days, *class_windows])
    days = min(longest, LAST_VISITS_LOOKBACK_DAYS)
    return period.end - timedelta(days=days - 1)


def neglect_reach(span: Period, settings: Settings) -> Period:
    """Return the whole weeks from the first one a neglect window of the span
    reaches into, to the span's end.

    The window of the first week ends on its last day and is at most the
    longest neglect window long.
    """
    longest = max(
        [settings.neglect_days, *dict(settings.neglect_days_by_class).values()]
    )
    first_day = span.start + timedelta(days=7 - longest)
    first_week = week_containing(first_day, settings.week_start, span.timezone)
    return Period(min(first_week.start, span.start), span.end, span.timezone)


def outlet_figures_statement(
    span: Period,
    reach: Period,
    outlet_conditions: list[sa.ColumnElement[bool]],
    settings: Settings,
    by_territory: bool = False,
) -> sa.Select:
    """Count the active outlets that meet outlet_conditions and, for each week i
    of span, the columns visited_outlets_i, neglected_outlets_i and
    overdue_outlets_i.

    The statement reads summary_outlet_weeks, which must cover reach, the
    weeks the neglect windows reach (neglect_reach). It returns one row, or
    with by_territory one row per territory_id of the outlets (NULL for the
    outlets without one).
    """
    in_scope = [schema.is_active(outlets), *outlet_conditions]
    scoped = sa.select(outlets.c.outlet_id).where(*in_scope)
    windows = dict(settings.neglect_days_by_class)
    late_days = {days % 7 for days in [settings.neglect_days, *windows.values()]}
    flags = outlet_week_flags(reach, scoped, late_days - {0})
    weeks = (span.end - span.start).days // 7 + 1
    first = (span.start - reach.start).days // 7
    on_beat = _outlet_beat_weeks(span, weeks, scoped)

    def recent(week: int) -> sa.ColumnElement[bool]:
        # A visit in the outlet's neglect window, which its class chooses.
        def visited_in(days: int) -> sa.ColumnElement:
            found = neglect_window_visited(flags, week, days)
            return sa.case((found, 1), else_=0)

        if not windows:
            return visited_in(settings.neglect_days) == 1
        chosen = sa.case(
            *(
                (outlets.c.outlet_class == name, visited_in(days))
                for name, days in windows.items()
            ),
            else_=visited_in(settings.neglect_days),
        )
        return chosen == 1

    counts = []
    for index in range(weeks):
        week = first + index
        visited = week_bit_set(flags.c.visited_weeks, week)
        is_recent = recent(week)
        neglected = sa.and_(
            on_beat.c[f"on_beat_{index}"] == 1,
            ~week_bit_set(flags.c.touched_weeks, week),
            ~is_recent,
        )
        counts += [
            sa.func.sum(sa.case((visited, 1), else_=0)).label(
                f"visited_outlets_{index}"
            ),
            sa.func.sum(sa.case((neglected, 1), else_=0)).label(
                f"neglected_outlets_{index}"
            ),
            sa.func.sum(sa.case((is_recent, 0), else_=1)).label(
                f"overdue_outlets_{index}"
            ),
        ]
    grouping = [outlets.c.territory_id] if by_territory else []
    return (
        sa.select(*grouping, sa.func.count().label("active_outlets"), *counts)
        .select_from(
            outlets.outerjoin(
                flags, flags.c.outlet_id == outlets.c.outlet_id
            ).outerjoin(on_beat, on_beat.c.outlet_id == outlets.c.outlet_id)
        )
        .where(*in_scope)
        .group_by(*grouping)
    )


def weeks_of_row(row: pd.Series, weeks: int) -> pd.DataFrame:
    """Turn one row of outlet_figures_statement into one row per week:
    week_index, active_outlets and OUTLET_FIGURES. There are no rows when no
    outlet is active, as a grid of active outlets and weeks gives."""
    columns = ["week_index", "active_outlets", *OUTLET_FIGURES]
    active = int(row["active_outlets"])
    if active == 0:
        return pd.DataFrame({name: pd.Series(dtype="int64") for name in columns})
    records = [
        [index, active, *(int(row[f"{name}_{index}"]) for name in OUTLET_FIGURES)]
        for index in range(weeks)
    ]
    return pd.DataFrame(records, columns=columns)


def territory_week_rows(frame: pd.DataFrame, span: Period) -> list[dict]:
    """Turn the rows of outlet_figures_statement(by_territory=True) into one
    record per territory and week of span, in the columns of
    summary_outlet_trend except reach_start and neglect_rule."""
    weeks = (span.end - span.start).days // 7 + 1
    records = []
    for row in frame.itertuples(index=False):
        values = row._asdict()
        territory_id = values["territory_id"]
        for index in range(weeks):
            records.append(
                {
                    "week_start": span.start + timedelta(weeks=index),
                    "territory_id": None if pd.isna(territory_id) else territory_id,
                    "active_outlets": int(values["active_outlets"]),
                    **{name: int(values[f"{name}_{index}"]) for name in OUTLET_FIGURES},
                }
            )
    return records


def _outlet_beat_weeks(span: Period, weeks: int, outlet_ids: sa.Select) -> sa.CTE:
    """Mark the weeks of span in which each outlet of outlet_ids is on a beat.

    Columns: outlet_id, on_beat_0 to on_beat_{n-1}, 1 when a beat that
    contains the outlet has dates overlapping week w of span, else 0.
    """
    on_beat = []
    for index in range(weeks):
        week_start = span.start + timedelta(weeks=index)
        week_end = week_start + timedelta(days=6)
        overlaps = sa.and_(
            beats.c.start_date <= week_end,
            sa.or_(beats.c.end_date.is_(None), beats.c.end_date >= week_start),
        )
        on_beat.append(
            sa.func.max(sa.case((overlaps, 1), else_=0)).label(f"on_beat_{index}")
        )
    return (
        sa.select(beat_outlets.c.outlet_id, *on_beat)
        .select_from(
            beat_outlets.join(beats, beats.c.beat_id == beat_outlets.c.beat_id)
        )
        .where(beat_outlets.c.outlet_id.in_(outlet_ids))
        .group_by(beat_outlets.c.outlet_id)
        .cte("outlet_beat_weeks")
        .prefix_with("MATERIALIZED")
    )


# Outlet flags of a period

# The columns that group the outlets of territory_outlet_flags.
OUTLET_FLAG_KEYS = [
    "territory_id",
    "outlet_class",
    "visits",
    "planned",
    "on_beat",
    "last_visit_date",
]


def outlet_flag_facts(
    marked: sa.FromClause,
    visited: sa.ColumnElement,
    planned: sa.ColumnElement,
    last_visit: sa.ColumnElement,
    period: Period,
    outlet_conditions: list[sa.ColumnElement[bool]],
) -> sa.CTE:
    """Collect, per outlet of marked (the outlets table or a join on it) that
    meets outlet_conditions, the facts its status in the period depends on:
    territory_id, outlet_class, visits, planned, on_beat and last_visit."""
    on_beat = outlets_on_beat(period)
    return (
        sa.select(
            outlets.c.territory_id,
            outlets.c.outlet_class,
            visited.label("visits"),
            planned.label("planned"),
            sa.case((on_beat.c.outlet_id.is_(None), 0), else_=1).label("on_beat"),
            last_visit.label("last_visit"),
        )
        .select_from(
            marked.outerjoin(on_beat, on_beat.c.outlet_id == outlets.c.outlet_id)
        )
        .where(*outlet_conditions)
        # Materialized, so the correlated subquery runs once per outlet: SQLite
        # would otherwise copy it into each branch of local_day's CASE.
        .cte("territory_outlet_facts")
        .prefix_with("MATERIALIZED")
    )


def outlet_flag_counts(facts: sa.CTE, last_visit_date: sa.ColumnElement) -> sa.Select:
    """Count the outlets of outlet_flag_facts per combination of OUTLET_FLAG_KEYS,
    with last_visit_date, an expression on facts, in place of last_visit."""
    keys = [facts.c[name] for name in facts.c.keys() if name != "last_visit"]
    keys.append(last_visit_date.label("last_visit_date"))
    return (
        sa.select(*keys, sa.func.count().label("outlets"))
        .group_by(*keys)
        .order_by(*keys)
    )


def summary_outlet_flags(
    period: Period, lookback: Period, outlet_conditions: list[sa.ColumnElement[bool]]
) -> sa.Select:
    """Count the outlets per combination of OUTLET_FLAG_KEYS from
    summary_outlet_weeks, which must cover the period and the lookback, both
    whole weeks. last_visit_date is the outlet's last visit in the lookback."""
    facts = outlet_flag_facts(
        outlets,
        summary_week_mark(outlets.c.outlet_id, period, outlet_weeks.c.visits),
        summary_week_mark(outlets.c.outlet_id, period, outlet_weeks.c.planned_calls),
        summary_last_visit_date(outlets.c.outlet_id, lookback),
        period,
        outlet_conditions,
    )
    return outlet_flag_counts(facts, facts.c.last_visit)


def summary_week_outlet_flags(
    week: Period, lookback: Period, outlet_conditions: list[sa.ColumnElement[bool]]
) -> sa.Select:
    """Count the outlets of one summarised week as summary_outlet_flags does.

    The week's visits and planned calls come from the outlet's own
    summary_outlet_weeks row, joined on the primary key, which takes one
    lookup per outlet in place of the two seeks of summary_week_mark. That
    row is the week's only one, because the build replaces the rows of all
    seven dates when it writes a week.
    """
    this_week = outlet_weeks.alias("this_week")
    marked = outlets.outerjoin(
        this_week,
        sa.and_(
            this_week.c.outlet_id == outlets.c.outlet_id,
            this_week.c.week_start == week.start,
        ),
    )
    facts = outlet_flag_facts(
        marked,
        sa.case((this_week.c.visits > 0, 1), else_=0),
        sa.case((this_week.c.planned_calls > 0, 1), else_=0),
        summary_last_visit_date(outlets.c.outlet_id, lookback),
        week,
        outlet_conditions,
    )
    return outlet_flag_counts(facts, facts.c.last_visit)


def summary_week_mark(
    outlet_id: sa.ColumnElement, period: Period, count: sa.ColumnElement
) -> sa.ColumnElement[int]:
    """Return 1 when the outlet's summary_outlet_weeks row of some week of the period
    has a positive count (a column of that table), else 0.

    The EXISTS test seeks the outlet's rows of the covering (outlet_id,
    week_start, visits, planned_calls, ...) index. Grouping the period's
    rows by outlet instead makes SQLite sort them and build an automatic
    index for the join. For the national week the flags took 1.5 s either
    way at load average 4 to 5, and 4.6 s in place of 6.4 s at load
    average 10.
    """
    marked = sa.exists().where(
        outlet_weeks.c.outlet_id == outlet_id,
        outlet_weeks.c.week_start.between(period.start, period.end),
        count > 0,
    )
    return sa.case((marked, 1), else_=0)


def summary_last_visit_date(
    outlet_id: sa.ColumnElement, lookback: Period
) -> sa.ScalarSelect:
    """Select the local date of the outlet's last kept visit in the lookback's
    weeks, by anyone, from summary_outlet_weeks (a resend has the date of the
    visit it repeats).

    A row's last_visit_date lies inside its own week, so the latest week
    with a visit contains the latest date. The correlated subquery reads the
    outlet's rows of the covering (outlet_id, week_start, ...,
    last_visit_date) index backwards from the lookback's last week and stops
    at the first with a visit. For an outlet visited in that week, it reads
    one row in place of every week of the lookback.
    """
    return (
        sa.select(outlet_weeks.c.last_visit_date)
        .where(
            outlet_weeks.c.outlet_id == outlet_id,
            outlet_weeks.c.week_start.between(lookback.start, lookback.end),
            outlet_weeks.c.last_visit_date.is_not(None),
        )
        .order_by(outlet_weeks.c.week_start.desc())
        .limit(1)
        .scalar_subquery()
    )


# Week flags


def outlet_week_flags(
    reach: Period, outlet_ids: sa.Select, late_days: Iterable[int] = ()
) -> sa.CTE:
    """Read, per outlet of outlet_ids, the weeks of reach it was visited,
    planned and logged in, as bits of integers.

    reach is whole weeks; bit w of each column stands for week w of it.
    The CTE has one row per outlet with a summary row in reach. Columns:
    outlet_id; visited_weeks (a kept visit in the week); touched_weeks (a
    kept visit or a planned call); logged_weeks (a last_visit_date, the
    date of a kept visit); and late_{r}_weeks for each r of late_days (1 to
    6), the weeks whose last logged visit fell on one of their last r days.
    Those bits tell whether a neglect window of 7q + r days ending on a
    week's last day contains a visit (see neglect_window_visited). Raises
    ValueError for a reach of more than MAX_FLAG_WEEKS weeks.
    """
    weeks = (reach.end - reach.start).days // 7 + 1
    if weeks > MAX_FLAG_WEEKS:
        raise ValueError(
            f"the weeks {reach.start} to {reach.end} are {weeks}, but "
            f"outlet_week_flags accepts at most {MAX_FLAG_WEEKS}. "
            "Pass a shorter span."
        )
    # The bit is computed from the week's day number, because a CASE over
    # the weeks' dates costs one comparison per week on every row: 2 million
    # rows for the national 13-week trend on SQLite.
    week = (day_number(outlet_weeks.c.week_start) - _day_number_of(reach.start)) // 7
    bit = sa.cast(sa.literal(1), BIGINT).op("<<")(week)
    last_date = outlet_weeks.c.last_visit_date
    day_in_week = day_number(last_date) - day_number(outlet_weeks.c.week_start)
    visited = outlet_weeks.c.visits > 0
    late = [
        _bit_sum(day_in_week >= 7 - days, bit).label(f"late_{days}_weeks")
        for days in sorted(set(late_days))
    ]
    return (
        sa.select(
            outlet_weeks.c.outlet_id,
            _bit_sum(visited, bit).label("visited_weeks"),
            _bit_sum(sa.or_(visited, outlet_weeks.c.planned_calls > 0), bit).label(
                "touched_weeks"
            ),
            _bit_sum(last_date.is_not(None), bit).label("logged_weeks"),
            *late,
        )
        .where(
            outlet_weeks.c.week_start.between(reach.start, reach.end),
            outlet_weeks.c.outlet_id.in_(outlet_ids),
        )
        .group_by(outlet_weeks.c.outlet_id)
        .cte("outlet_week_flags")
        .prefix_with("MATERIALIZED")
    )


def week_bit_set(bits: sa.ColumnElement, week: int) -> sa.ColumnElement[bool]:
    """Test whether bit `week` of the flags column bits is set (NULL reads as 0)."""
    return _bits_from(bits, week, 1) != 0


def neglect_window_visited(
    flags: sa.FromClause, week: int, window_days: int
) -> sa.ColumnElement[bool]:
    """Test whether the outlet had a visit logged in the window_days days up to
    the last day of week `week` of the reach of flags (outlet_week_flags).

    With window_days = 7q + r, the window contains the q weeks up to that
    week whole, and the last r days of the week before them. The reach must
    start at or before that week, and flags must carry late_{r}_weeks.
    """
    whole, part = divmod(window_days, 7)
    parts = []
    if whole:
        parts.append(_bits_from(flags.c.logged_weeks, week - whole + 1, whole) != 0)
    if part:
        parts.append(week_bit_set(flags.c[f"late_{part}_weeks"], week - whole))
    return sa.or_(*parts) if parts else sa.false()


def _bits_from(bits: sa.ColumnElement, first: int, count: int) -> sa.ColumnElement:
    # PostgreSQL shifts a BIGINT by an INTEGER and has no BIGINT >> BIGINT
    # operator, so the shift is cast to INTEGER.
    shift = sa.cast(sa.literal(first), INTEGER)
    mask = sa.cast(sa.literal((1 << count) - 1), BIGINT)
    return sa.func.coalesce(bits, 0).op(">>")(shift).op("&")(mask)


def _bit_sum(condition: sa.ColumnElement, bit: sa.ColumnElement) -> sa.ColumnElement:
    # One row per outlet and week, so the sum of distinct week bits is their OR.
    # PostgreSQL sums BIGINT into NUMERIC, which has no bit operators.
    total = sa.func.sum(sa.case((condition, bit), else_=0))
    return sa.cast(total, BIGINT)


def _day_number_of(day: date) -> int:
    # Days since 1970-01-01, as dialect.day_number counts a date column.
    return (day - date(1970, 1, 1)).days
