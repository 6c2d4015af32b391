"""skip_details dates planned calls by the beat rules of PeriodSQL.planned_calls
itself. These cases check those rules on both engines: fortnightly beats,
start dates off the beat's weekday, end dates, two beats with the same
outlet, inactive outlets, and visits before the lookback. skip_runs, which
leaves out the last visits, must give the same first four columns."""

import logging
from datetime import date

import pandas as pd
import pytest

from data_access import review_queries, summaries
from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from fixtures.demo import MIN_REPS, generate
from tests.database import fill_database, sqlite_database

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
COLUMNS = [
    "rep_id",
    "outlet_id",
    "consecutive_missed_calls",
    "missed_since_lookback_start",
    "rep_last_visit_date",
    "reason_at_last_visit",
    "last_visit_date",
]


def beat(beat_id: str, rep_id: str, weekday: int, every: int, start: str, end=None):
    return {
        "beat_id": beat_id,
        "rep_id": rep_id,
        "weekday": weekday,
        "every_n_weeks": every,
        "start_date": start,
        "end_date": end,
    }


def visit(visit_id: str, rep_id: str, outlet_id: str, check_in: str, reason=None):
    return {
        "visit_id": visit_id,
        "rep_id": rep_id,
        "outlet_id": outlet_id,
        "check_in": check_in,
        "no_order_reason": reason,
    }


# The 13-week lookback of WEEK runs from Monday 2025-12-08 to 2026-03-08.
SCHEDULE_ROWS = {
    "territories": [{"territory_id": "T1"}],
    "reps": [{"rep_id": rep_id, "territory_id": "T1"} for rep_id in ("r1", "r2", "r3")],
    "outlets": [
        {"outlet_id": f"o{number}", "territory_id": "T1", "active": number != 5}
        for number in range(1, 8)
    ],
    "beats": [
        # Fortnightly Mondays: 01-05, 01-19, 02-02, 02-16 and 03-02.
        beat("b1", "r1", 1, 2, "2026-01-05"),
        # Wednesdays from Thursday 02-12, so first on 02-18, until 03-04.
        beat("b2", "r1", 3, 1, "2026-02-12", "2026-03-04"),
        # The same Wednesdays for o2 from 02-25: 02-25 and 03-04 again.
        beat("b3", "r1", 3, 1, "2026-02-25"),
        # Fridays that ended before the week.
        beat("b4", "r1", 5, 1, "2025-10-03", "2026-03-01"),
        # Fortnightly Tuesdays from 02-24, so not on 03-03.
        beat("b5", "r1", 2, 2, "2026-02-24"),
        # Mondays since June 2025.
        beat("b6", "r3", 1, 1, "2025-06-02"),
    ],
    "beat_outlets": [
        {"beat_id": "b1", "outlet_id": "o1"},
        {"beat_id": "b1", "outlet_id": "o5"},
        {"beat_id": "b1", "outlet_id": "o6"},
        {"beat_id": "b2", "outlet_id": "o2"},
        {"beat_id": "b3", "outlet_id": "o2"},
        {"beat_id": "b4", "outlet_id": "o3"},
        {"beat_id": "b5", "outlet_id": "o4"},
        {"beat_id": "b6", "outlet_id": "o7"},
    ],
    "visits": [
        visit("v1", "r1", "o2", "2026-02-18T10:00:00", "closed"),
        visit("v2", "r1", "o6", "2026-03-02T10:00:00"),
        # Another rep's visit counts only for the outlet's last visit.
        visit("v3", "r2", "o1", "2026-03-03T10:00:00"),
        # Before the lookback, so every Monday in it counts for o7.
        visit("v4", "r3", "o7", "2025-11-03T10:00:00", "owner away"),
    ],
}


def records(frame: pd.DataFrame, columns: list[str] = COLUMNS) -> list[tuple]:
    """Rows as tuples, missing values as None, so they compare with literals."""
    cells = frame[columns].astype(object).where(frame[columns].notna(), None)
    return [tuple(row) for row in cells.itertuples(index=False)]


@pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
def test_missed_calls_follow_beat_schedules(engine_name, tmp_path, request):
    if engine_name == "sqlite":
        engine = sqlite_database(tmp_path, SCHEDULE_ROWS)
    else:
        engine = fill_database(
            request.getfixturevalue("fresh_postgres_url"), SCHEDULE_ROWS
        )

    result = review_queries.skip_details(engine, WEEK, Scope(), Settings())
    runs = review_queries.skip_runs(engine, WEEK, Scope(), Settings())
    engine.dispose()

    expected = [
        ("r1", "o1", 5, False, None, None, date(2026, 3, 3)),
        # The two beats share their dates, which count once.
        ("r1", "o2", 2, False, date(2026, 2, 18), "closed", date(2026, 2, 18)),
        ("r3", "o7", 13, True, date(2025, 11, 3), "owner away", date(2025, 11, 3)),
    ]
    assert records(result) == expected
    # r3's last visit before the lookback, which skip_runs does not search,
    # leaves its count and its lower bound as they are.
    assert records(runs, COLUMNS[:4]) == [row[:4] for row in expected]


def test_demo_week_same_on_both_engines(tmp_path, fresh_postgres_url):
    week = Period(date(2026, 3, 23), date(2026, 3, 29), "Asia/Kolkata")
    settings = Settings(timezone="Asia/Kolkata")
    # A region limit follows the demo's territory history date by date.
    scopes = [Scope(), Scope(region_ids=("WEST",))]
    engines = [
        create_engine(f"sqlite:///{tmp_path / 'demo.sqlite'}"),
        create_engine(fresh_postgres_url),
    ]
    for engine in engines:
        generate(engine, reps=MIN_REPS, weeks=3, end_date=week.end)

    frames = [
        [
            review_queries.skip_details(engine, week, scope, settings)
            for engine in engines
        ]
        for scope in scopes
    ]
    runs = [
        [review_queries.skip_runs(engine, week, scope, settings) for engine in engines]
        for scope in scopes
    ]
    for engine in engines:
        engine.dispose()

    for scope, (expected, result) in zip(scopes, frames):
        assert len(expected) > 0, scope
        pd.testing.assert_frame_equal(result, expected, check_dtype=False)
    for details, scope_runs in zip(frames, runs):
        for engine_details, engine_runs in zip(details, scope_runs):
            pd.testing.assert_frame_equal(engine_runs, engine_details[COLUMNS[:4]])


# Weekly Monday beats of r1 with o1 and o2. In WEEK, r1's only check-in at
# o1 is an offline resend of a Sunday visit of the week before, 60 seconds
# later, which is no visit in WEEK: o1 is skipped, its last visit on that
# Sunday. o2 is skipped too.
RESEND_ROWS = {
    "territories": [{"territory_id": "T1"}],
    "reps": [{"rep_id": "r1", "territory_id": "T1"}],
    "outlets": [{"outlet_id": f"o{number}", "territory_id": "T1"} for number in (1, 2)],
    "beats": [beat("b1", "r1", 1, 1, "2026-01-05")],
    "beat_outlets": [
        {"beat_id": "b1", "outlet_id": "o1"},
        {"beat_id": "b1", "outlet_id": "o2"},
    ],
    "visits": [
        visit("v1", "r1", "o1", "2026-03-01T23:59:30"),
        visit("v2", "r1", "o1", "2026-03-02T00:00:30"),
        visit("v3", "r1", "o2", "2026-02-23T10:00:00", "closed"),
    ],
}


def test_summary_candidates_match_raw_visits(tmp_path, monkeypatch, caplog):
    engine = sqlite_database(tmp_path, RESEND_ROWS)
    summaries.build_summaries(engine, date(2026, 2, 23), WEEK.end, Settings())
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = review_queries.skip_details(engine, WEEK, Scope(), Settings())
    runs = review_queries.skip_runs(engine, WEEK, Scope(), Settings())

    monkeypatch.setattr(review_queries, "_summaries_cover", lambda *_: False)
    expected = review_queries.skip_details(engine, WEEK, Scope(), Settings())
    raw_runs = review_queries.skip_runs(engine, WEEK, Scope(), Settings())
    engine.dispose()
    logged = [record.getMessage() for record in caplog.records]
    assert any(
        message.startswith("query skip_details_with_summaries") for message in logged
    )
    assert records(result) == [
        ("r1", "o1", 1, False, date(2026, 3, 1), None, date(2026, 3, 1)),
        ("r1", "o2", 1, False, date(2026, 2, 23), "closed", date(2026, 2, 23)),
    ]
    pd.testing.assert_frame_equal(result, expected)
    assert any(
        message.startswith("query skip_runs_with_summaries") for message in logged
    )
    pd.testing.assert_frame_equal(runs, result[COLUMNS[:4]])
    pd.testing.assert_frame_equal(raw_runs, runs)


# Weekly Monday beats of r1 with o1 and o2 since the first supported date,
# Monday 1900-01-01. r1 visits o2 every Monday, and r2 visits o1 on the
# first Wednesday, so o1 is skipped with a last visit by another rep.
EARLY_ROWS = {
    "territories": [{"territory_id": "T1"}],
    "reps": [{"rep_id": rep_id, "territory_id": "T1"} for rep_id in ("r1", "r2")],
    "outlets": [{"outlet_id": f"o{number}", "territory_id": "T1"} for number in (1, 2)],
    "beats": [beat("b1", "r1", 1, 1, "1900-01-01")],
    "beat_outlets": [
        {"beat_id": "b1", "outlet_id": "o1"},
        {"beat_id": "b1", "outlet_id": "o2"},
    ],
    "visits": [
        visit("v0", "r2", "o1", "1900-01-03T10:00:00", "closed"),
        *(
            visit(f"v{day}", "r1", "o2", f"1900-{month:02}-{day:02}T10:00:00")
            for month, day in ((1, 1), (4, 2))
        ),
    ],
}


# The search for last visits reaches 365 days back, so it starts before 1900
# in both weeks. The count of missed calls reaches 13 weeks back, which is
# before 1900 in the first week only. In April it starts on 1900-01-08, after
# the beat's start, so its 13 Mondays are a lower bound.
@pytest.mark.parametrize(
    ("week", "missed", "lower_bound"),
    [
        (Period(date(1900, 1, 1), date(1900, 1, 7)), 1, False),
        (Period(date(1900, 4, 2), date(1900, 4, 8)), 13, True),
    ],
)
@pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
def test_week_early_in_1900_searches_from_first_date(
    engine_name, week, missed, lower_bound, tmp_path, request
):
    if engine_name == "sqlite":
        engine = sqlite_database(tmp_path, EARLY_ROWS)
    else:
        engine = fill_database(
            request.getfixturevalue("fresh_postgres_url"), EARLY_ROWS
        )

    result = review_queries.skip_details(engine, week, Scope(), Settings())
    runs = review_queries.skip_runs(engine, week, Scope(), Settings())
    engine.dispose()

    expected = [("r1", "o1", missed, lower_bound, None, None, date(1900, 1, 3))]
    assert records(result) == expected
    assert records(runs, COLUMNS[:4]) == [row[:4] for row in expected]
