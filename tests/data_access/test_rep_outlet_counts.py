"""Planned and skipped outlets per rep over several summarised weeks.

A rep's outlet counts as planned when the rep had a planned call there in any
week of the period, and as skipped when it was planned and the rep never
visited it in the period. Four weeks of UTC business time, Monday 2026-03-02
to Sunday 2026-03-29:

- r1 plans o1, o2 and o3 every Monday and o4 every other Wednesday (weeks 1
  and 3). r1 visits o1 every Monday, o2 in week 2 only, o4 in week 2 only (a
  week without a plan there), and o5, which no beat plans. o3 is never
  visited.
- r2 plans o1 and o6 every Tuesday and never visits them, while r1 visits o1.
- r3 has no beat and no visit.

Over the four weeks r1 planned o1 to o4 and skipped o3. Rep r2 planned and
skipped o1 and o6. In week 1 alone r1 skipped o2, o3 and o4.
"""

from datetime import date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import queries, schema, summaries, summary_queries
from data_access.filters import Period, Scope, Settings
from tests.database import fill_database, sqlite_database

TIMEZONE = "UTC"
SETTINGS = Settings(timezone=TIMEZONE)
FIRST_MONDAY = date(2026, 3, 2)
FOUR_WEEKS = Period(FIRST_MONDAY, date(2026, 3, 29), TIMEZONE)
WEEK_ONE = Period(FIRST_MONDAY, date(2026, 3, 8), TIMEZONE)


def visit(rep_id: str, outlet_id: str, day: date) -> dict[str, object]:
    check_in = datetime(day.year, day.month, day.day, 10, 0)
    return {
        "visit_id": f"{rep_id}-{outlet_id}-{day.isoformat()}",
        "rep_id": rep_id,
        "outlet_id": outlet_id,
        "check_in": check_in,
        "check_out": check_in + timedelta(minutes=15),
    }


def monday(week: int) -> date:
    return FIRST_MONDAY + timedelta(weeks=week - 1)


ROWS = {
    "regions": [{"region_id": "W", "name": "West"}],
    "territories": [{"territory_id": "T1", "name": "Mumbai", "region_id": "W"}],
    "reps": [
        {"rep_id": rep_id, "name": name, "territory_id": "T1"}
        for rep_id, name in (("r1", "Asha"), ("r2", "Bilal"), ("r3", "Chen"))
    ],
    "outlets": [
        {"outlet_id": f"o{number}", "name": f"Shop {number}", "territory_id": "T1"}
        for number in range(1, 7)
    ],
    "beats": [
        {
            "beat_id": beat_id,
            "rep_id": rep_id,
            "weekday": weekday,
            "every_n_weeks": every_n_weeks,
            "start_date": start_date,
        }
        for beat_id, rep_id, weekday, every_n_weeks, start_date in (
            ("b1", "r1", 1, 1, "2026-01-05"),
            ("b2", "r1", 3, 2, "2026-03-04"),
            ("b3", "r2", 2, 1, "2026-01-06"),
        )
    ],
    "beat_outlets": [
        {"beat_id": "b1", "outlet_id": "o1"},
        {"beat_id": "b1", "outlet_id": "o2"},
        {"beat_id": "b1", "outlet_id": "o3"},
        {"beat_id": "b2", "outlet_id": "o4"},
        {"beat_id": "b3", "outlet_id": "o1"},
        {"beat_id": "b3", "outlet_id": "o6"},
    ],
    "visits": [visit("r1", "o1", monday(week)) for week in range(1, 5)]
    + [
        visit("r1", "o2", monday(2)),
        visit("r1", "o4", monday(2) + timedelta(days=2)),
        visit("r1", "o5", monday(3)),
    ],
}

EXPECTED_COUNTS = {
    "four_weeks": {
        "rep_id": ["r1", "r2", "r3"],
        "planned_outlets": [4, 2, 0],
        "skipped_outlets": [1, 2, 0],
    },
    "week_one": {
        "rep_id": ["r1", "r2", "r3"],
        "planned_outlets": [4, 2, 0],
        "skipped_outlets": [3, 2, 0],
    },
}
PERIODS = {"four_weeks": FOUR_WEEKS, "week_one": WEEK_ONE}


def summarised(engine: sa.Engine) -> sa.Engine:
    summaries.build_summaries(engine, FOUR_WEEKS.start, FOUR_WEEKS.end, SETTINGS)
    return engine


def outlet_counts(frame: pd.DataFrame) -> dict[str, list]:
    columns = ["rep_id", "planned_outlets", "skipped_outlets"]
    return {name: frame[name].tolist() for name in columns}


def drop_rep_week_index(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP INDEX {summary_queries.REP_WEEK_INDEX}"))


def has_rep_week_index(engine: sa.Engine) -> bool:
    with engine.connect() as connection:
        return sa.inspect(connection).has_index(
            schema.summary_rep_outlet_weeks.name, summary_queries.REP_WEEK_INDEX
        )


@pytest.fixture
def engine(tmp_path):
    engine = summarised(sqlite_database(tmp_path, ROWS))
    yield engine
    engine.dispose()


@pytest.mark.parametrize("period_name", list(PERIODS))
def test_per_rep_counts_match_hand_counts(engine, period_name):
    period = PERIODS[period_name]

    frame = summary_queries.rep_activity_from_summaries(
        engine, period, Scope(), SETTINGS
    )

    result = outlet_counts(frame)
    assert has_rep_week_index(engine)
    assert result == EXPECTED_COUNTS[period_name]


@pytest.mark.parametrize("period_name", list(PERIODS))
def test_per_rep_counts_match_raw(engine, period_name):
    period = PERIODS[period_name]

    result = summary_queries.rep_activity_from_summaries(
        engine, period, Scope(), SETTINGS
    )

    expected = queries.rep_activity(engine, period, Scope(), SETTINGS)
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)


@pytest.mark.parametrize("period_name", list(PERIODS))
def test_counts_without_index_match(engine, period_name):
    period = PERIODS[period_name]
    with_index = summary_queries.rep_activity_from_summaries(
        engine, period, Scope(), SETTINGS
    )
    drop_rep_week_index(engine)

    result = summary_queries.rep_activity_from_summaries(
        engine, period, Scope(), SETTINGS
    )

    assert not has_rep_week_index(engine)
    assert outlet_counts(result) == EXPECTED_COUNTS[period_name]
    pd.testing.assert_frame_equal(result, with_index)


def test_rep_list_limits_counts(engine):
    rep_ids = sa.select(schema.reps.c.rep_id).where(schema.reps.c.rep_id == "r2")

    frame = summary_queries.rep_activity_from_summaries(
        engine, FOUR_WEEKS, Scope(), SETTINGS, rep_ids=rep_ids
    )

    result = outlet_counts(frame)
    assert result == {"rep_id": ["r2"], "planned_outlets": [2], "skipped_outlets": [2]}


def test_build_adds_missing_index(engine, caplog):
    drop_rep_week_index(engine)
    caplog.set_level("INFO", logger="data_access.summaries")

    summaries.build_summaries(engine, WEEK_ONE.start, WEEK_ONE.end, SETTINGS)

    result = has_rep_week_index(engine)
    assert result
    assert f"created index {summary_queries.REP_WEEK_INDEX}" in caplog.text
    with engine.connect() as connection:
        count = sa.select(sa.func.count()).select_from(schema.summary_weeks)
        weeks = connection.execute(count).scalar()
    assert weeks == 4


def test_postgres_counts_match_hand_counts(fresh_postgres_url):
    engine = summarised(fill_database(fresh_postgres_url, ROWS))
    try:
        has_index = has_rep_week_index(engine)
        results = {
            name: summary_queries.rep_activity_from_summaries(
                engine, period, Scope(), SETTINGS
            )
            for name, period in PERIODS.items()
        }
        raw = queries.rep_activity(engine, FOUR_WEEKS, Scope(), SETTINGS)
        drop_rep_week_index(engine)
        without_index = summary_queries.rep_activity_from_summaries(
            engine, FOUR_WEEKS, Scope(), SETTINGS
        )
    finally:
        engine.dispose()

    assert has_index
    for name, frame in results.items():
        assert outlet_counts(frame) == EXPECTED_COUNTS[name]
    pd.testing.assert_frame_equal(results["four_weeks"], raw, check_dtype=False)
    pd.testing.assert_frame_equal(without_index, results["four_weeks"])


def test_week_without_rep_weeks_counts_outlets(engine):
    stored = summary_queries.rep_activity_from_summaries(
        engine, WEEK_ONE, Scope(), SETTINGS
    )
    rep_weeks = schema.summary_rep_weeks
    with engine.begin() as connection:
        connection.execute(
            rep_weeks.delete().where(rep_weeks.c.week_start == WEEK_ONE.start)
        )

    result = summary_queries.rep_activity_from_summaries(
        engine, WEEK_ONE, Scope(), SETTINGS
    )

    assert not summary_queries.rep_weeks_cover(engine, WEEK_ONE)
    assert outlet_counts(result) == EXPECTED_COUNTS["week_one"]
    pd.testing.assert_frame_equal(result, stored)


def test_rep_list_limits_stored_week_counts(engine):
    rep_ids = sa.select(schema.reps.c.rep_id).where(schema.reps.c.rep_id == "r1")

    frame = summary_queries.rep_activity_from_summaries(
        engine, WEEK_ONE, Scope(), SETTINGS, rep_ids=rep_ids
    )

    result = outlet_counts(frame)
    expected = EXPECTED_COUNTS["week_one"]
    assert summary_queries.rep_weeks_cover(engine, WEEK_ONE)
    assert result == {
        "rep_id": ["r1"],
        "planned_outlets": expected["planned_outlets"][:1],
        "skipped_outlets": expected["skipped_outlets"][:1],
    }
