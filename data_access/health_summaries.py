"""Data health counts read from the summary tables, and the choice between
them and the raw tables.

The summary build stores, per local date, the affected rows of each dated
data health kind per rep, and per outlet for the order kinds
(summary_health_days), counted for the unrestricted scope. A scope is
applied when reading, with the rules of health_queries. A visit counts for
its rep's scope, by the rep's territory on its date when the database keeps
a territory history. An order counts for its rep's scope or its outlet's.

The summaries serve a period of whole weeks when summary_queries.summary_status
finds them usable and every week was judged by the settings' data health
limits (summary_health_weeks). Otherwise the functions here run the raw
queries of health_queries, with the same numbers, only slower.
future_check_in depends on the time of the request, so it is always counted
from the visits, with one seek of the check_in index.
"""

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from data_access import health_queries, schema
from data_access.filters import Period, Scope, Settings
from data_access.health_queries import (
    KIND_TABLES,
    MAX_ROWS_LISTED,
    SUMMARISED_KINDS,
    WINDOWED_KINDS,
    is_unrestricted,
    rep_in_scope_on,
)
from data_access.period_sql import (
    rep_ids_near_territories,
    scoped_outlet_ids,
    scoped_rep_ids,
)
from data_access.queries import fetch_frame
from data_access.summaries import has_table_once
from data_access.summary_queries import refresh_command, summary_status
from data_access.territory_history import scope_follows_history

health_days = schema.summary_health_days
health_weeks = schema.summary_health_weeks
# The summary tables the readers here need besides those summary_status checks.
TABLES_READ = (health_days, health_weeks)

# The kinds read_health_counts always counts in the raw tables: the one that
# depends on the time of the request, and those of outlets, reps and beats,
# which have no date.
LIVE_KINDS: tuple[str, ...] = tuple(
    kind for kind in KIND_TABLES if kind not in SUMMARISED_KINDS
)


def health_summaries_cover(
    engine: sa.Engine, period: Period, settings: Settings
) -> bool:
    """Tell whether the summaries hold the data health counts of period under settings.

    The period must be whole summarised weeks (summary_status) whose data
    health rows were judged by the same max_visit_hours and max_speed_kmh.
    """
    if not summary_status(engine, period, settings).usable:
        return False
    return _health_weeks_judged(engine, period, settings)


def _health_weeks_judged(engine: sa.Engine, period: Period, settings: Settings) -> bool:
    """Check that every week of period has data health summaries judged by
    the settings' max_visit_hours and max_speed_kmh."""
    with engine.connect() as connection:
        # Summaries of a version before data health lack both tables, and a
        # table dropped by hand may leave the other behind.
        if not all(has_table_once(connection, table.name) for table in TABLES_READ):
            return False
        matching = connection.execute(
            sa.select(sa.func.count()).where(
                health_weeks.c.week_start.between(period.start, period.end),
                health_weeks.c.max_visit_hours == settings.max_visit_hours,
                health_weeks.c.max_speed_kmh == settings.max_speed_kmh,
            )
        ).scalar()
    return matching == ((period.end - period.start).days + 1) // 7


def _covers(
    engine: sa.Engine, period: Period, settings: Settings, covered: bool | None
) -> bool:
    if covered is None:
        return health_summaries_cover(engine, period, settings)
    return covered


def health_summary_message(
    engine: sa.Engine, period: Period, settings: Settings
) -> str | None:
    """Return one sentence for the Data health page when the other summaries
    cover the period but its data health rows cannot serve it, else None.

    That happens when a version before data health was summarised built the
    weeks, or when the weeks were judged by other data health limits. Stale
    and older-layout summaries have their own sentence (SummaryStatus.message).
    """
    if not summary_status(engine, period, settings).usable:
        return None
    if _health_weeks_judged(engine, period, settings):
        return None
    return (
        "The data health summaries of these weeks are missing or were counted "
        "with other limits for long visits and travel speed, so this page reads "
        "the raw visits and orders, which is slower; run "
        f"`{refresh_command(period, settings)}` to rebuild them."
    )


def read_health_counts(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    settings: Settings,
    covered: bool | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Return health_queries.health_counts, with the dated kinds read from
    the summaries when they cover the period.

    covered is health_summaries_cover of the engine, period and settings
    when the caller has it already, or None to check.
    """
    if not _covers(engine, period, settings, covered):
        return health_queries.health_counts(engine, period, scope, settings, now)
    summarised = _summarised_counts(engine, period, scope, settings)
    affected = summarised.groupby("kind")["affected"].sum().to_dict()
    live = health_queries.health_counts(
        engine, period, scope, settings, now, kinds=LIVE_KINDS
    )
    counted = live["kind"].isin(LIVE_KINDS)
    affected |= dict(zip(live.loc[counted, "kind"], live.loc[counted, "affected"]))
    frame = live.assign(affected=[int(affected.get(kind, 0)) for kind in live["kind"]])
    frame["affected"] = frame["affected"].astype("int64")
    return frame


def read_weekly_health_counts(
    engine: sa.Engine,
    span: Period,
    scope: Scope,
    settings: Settings,
    covered: bool | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Return health_queries.weekly_health_counts, from the summaries when
    they cover span; covered as in read_health_counts."""
    if not _covers(engine, span, settings, covered):
        return health_queries.weekly_health_counts(engine, span, scope, settings, now)
    summarised = _summarised_counts(engine, span, scope, settings)
    future = health_queries.future_check_in_days(engine, span, scope, settings, now)
    days = pd.concat([summarised, future], ignore_index=True)
    weeks = health_queries.weeks_of(span, settings.week_start)
    week_of_day = {day: week.start for week in weeks for day in week.days}
    days["week_start"] = days["day"].map(week_of_day)
    counts = days.groupby(["week_start", "kind"])["affected"].sum().to_dict()
    return health_queries.weekly_counts_frame(
        weeks, {key: int(value) for key, value in counts.items()}
    )


def read_affected_rows(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    settings: Settings,
    kinds: tuple[str, ...] | None = None,
    covered: bool | None = None,
    limit: int = MAX_ROWS_LISTED,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Return health_queries.affected_rows, narrowed by the summaries when
    they cover the period; covered as in read_health_counts.

    The rows still come from the raw tables. The summaries tell which
    summarised kinds have no row in the period, so their statements are
    left out, and which reps' visits the de-duplication and travel windows
    must sort, per kind (window_rep_ids).
    """
    chosen = tuple(KIND_TABLES) if kinds is None else kinds
    if not _covers(engine, period, settings, covered):
        return health_queries.affected_rows(
            engine, period, scope, settings, chosen, limit, now
        )
    present = sa.select(health_days.c.kind, health_days.c.rep_id).where(
        health_days.c.day.between(period.start, period.end)
    )
    found = fetch_frame(engine, "health_kinds_present", present.distinct())
    with_rows = set(found["kind"])
    listed = tuple(
        kind for kind in chosen if kind not in SUMMARISED_KINDS or kind in with_rows
    )
    windowed = found[found["kind"].isin(WINDOWED_KINDS) & found["rep_id"].notna()]
    window_rep_ids = {
        kind: tuple(sorted(set(windowed.loc[windowed["kind"] == kind, "rep_id"])))
        for kind in WINDOWED_KINDS
    }
    # With every chosen kind empty, the raw statements still give the frame
    # its columns and types.
    return health_queries.affected_rows(
        engine,
        period,
        scope,
        settings,
        listed or chosen,
        limit,
        now,
        window_rep_ids=window_rep_ids,
    )


def read_set_aside_counts(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> dict[str, int]:
    """Return health_queries.set_aside_counts, from the summaries when they
    cover the period.

    visits_without_fix is summed from summary_rep_days, which counts the
    same kept visits per rep and day.
    """
    if not health_summaries_cover(engine, period, settings):
        return health_queries.set_aside_counts(engine, period, scope, settings)
    summarised = _summarised_counts(engine, period, scope, settings)
    by_kind = summarised.groupby("kind")["affected"].sum()
    rep_days = schema.summary_rep_days
    without_fix = sa.select(
        sa.func.coalesce(sa.func.sum(rep_days.c.visits_without_fix), 0)
    ).where(
        rep_days.c.day.between(period.start, period.end),
        _rep_in_scope(engine, period, scope, rep_days.c.rep_id, rep_days.c.day),
    )
    frame = fetch_frame(engine, "visits_without_fix_from_summaries", without_fix)
    return {
        "duplicate_visits": int(by_kind.get("duplicate_visit", 0)),
        "visits_without_fix": int(frame.iloc[0, 0]),
        "orders_without_rep": int(by_kind.get("order_unknown_rep", 0)),
        "orders_without_value": int(by_kind.get("order_value_unusable", 0)),
    }


def _summarised_counts(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Sum summary_health_days per local date and kind for the scope.

    Columns: day (datetime.date), kind, affected.
    """
    statement = (
        sa.select(
            health_days.c.day,
            health_days.c.kind,
            sa.func.sum(health_days.c.affected).label("affected"),
        )
        .where(
            health_days.c.day.between(period.start, period.end),
            *_scope_conditions(engine, period, scope),
        )
        .group_by(health_days.c.day, health_days.c.kind)
    )
    frame = fetch_frame(engine, "health_counts_from_summaries", statement)
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    frame["affected"] = frame["affected"].astype("int64")
    return frame


def _scope_conditions(
    engine: sa.Engine, period: Period, scope: Scope
) -> list[sa.ColumnElement[bool]]:
    """WHERE conditions on summary_health_days that keep the scope's rows,
    as HealthSQL checks them."""
    if is_unrestricted(scope):
        return []
    rows = health_days
    rep_in_scope = _rep_in_scope(engine, period, scope, rows.c.rep_id, rows.c.day)
    # Visit kinds have no outlet_id, so only an order passes by its outlet.
    return [sa.or_(rep_in_scope, rows.c.outlet_id.in_(scoped_outlet_ids(scope)))]


def _rep_in_scope(
    engine: sa.Engine,
    period: Period,
    scope: Scope,
    rep_id: sa.ColumnElement,
    day: sa.ColumnElement,
) -> sa.ColumnElement[bool]:
    """True when a row of rep_id on day counts for the scope, as
    PeriodSQL.for_scope keeps rows: by the rep's territory on that day when
    the database keeps a territory history, else among scoped_rep_ids."""
    if scope_follows_history(engine, scope, period):
        near = rep_ids_near_territories(scope, period)
        return rep_in_scope_on(rep_id, day, scope, near)
    return rep_in_scope_on(rep_id, None, scope, scoped_rep_ids(scope))
