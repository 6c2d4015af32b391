"""Beat expansion: which dates a beat runs on, over a quarter."""

from datetime import date

import pytest
import sqlalchemy as sa

from data_access import queries
from data_access.filters import Period, Scope, Settings, week_containing
from data_access.period_sql import PeriodSQL
from tests.data_access.test_skip_details import beat
from tests.database import fill_database, sqlite_database

ROWS = {
    "outlets": [
        {"outlet_id": "o1", "territory_id": "T1"},
        {"outlet_id": "o2", "territory_id": "T1"},
        {"outlet_id": "o3", "territory_id": "T1"},
    ],
    "beats": [
        # Fortnightly Wednesdays from Wednesday 01-07, ending 03-04 (inclusive).
        {
            "beat_id": "b1",
            "rep_id": "r1",
            "weekday": 3,
            "every_n_weeks": 2,
            "start_date": "2026-01-07",
            "end_date": "2026-03-04",
        },
        # Four-weekly Fridays from Saturday 01-10: the first run is Friday 01-16.
        {
            "beat_id": "b2",
            "rep_id": "r1",
            "weekday": 5,
            "every_n_weeks": 4,
            "start_date": "2026-01-10",
        },
        # Weekly Mondays starting mid-period on Friday 03-20.
        {
            "beat_id": "b3",
            "rep_id": "r2",
            "weekday": 1,
            "every_n_weeks": 1,
            "start_date": "2026-03-20",
        },
    ],
    "beat_outlets": [
        {"beat_id": "b1", "outlet_id": "o1"},
        {"beat_id": "b2", "outlet_id": "o2"},
        {"beat_id": "b3", "outlet_id": "o3"},
    ],
}


def planned_calls(tmp_path, period: Period) -> list[tuple[str, str, date]]:
    engine = sqlite_database(tmp_path, ROWS)
    planned = PeriodSQL(period, Settings()).planned_calls
    statement = sa.select(planned).order_by(
        planned.c.rep_id, planned.c.outlet_id, planned.c.plan_date
    )
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(statement)]
    engine.dispose()
    return rows


def test_beats_run_on_their_dates_over_a_quarter(tmp_path):
    result = planned_calls(tmp_path, Period(date(2026, 1, 1), date(2026, 3, 31)))

    expected = [
        ("r1", "o1", date(2026, 1, 7)),
        ("r1", "o1", date(2026, 1, 21)),
        ("r1", "o1", date(2026, 2, 4)),
        ("r1", "o1", date(2026, 2, 18)),
        ("r1", "o1", date(2026, 3, 4)),
        ("r1", "o2", date(2026, 1, 16)),
        ("r1", "o2", date(2026, 2, 13)),
        ("r1", "o2", date(2026, 3, 13)),
        ("r2", "o3", date(2026, 3, 23)),
        ("r2", "o3", date(2026, 3, 30)),
    ]
    assert result == expected


def test_four_weekly_beat_keeps_its_anchor_across_new_year(tmp_path):
    # 2026-W53 runs from Monday 2026-12-28 to Sunday 2027-01-03; b2 runs every
    # 28 days from 2026-01-16, which is 2026-12-18 and then 2027-01-15.
    result = planned_calls(tmp_path, Period(date(2026, 12, 28), date(2027, 1, 17)))

    expected = [
        ("r1", "o2", date(2027, 1, 15)),
        ("r2", "o3", date(2026, 12, 28)),
        ("r2", "o3", date(2027, 1, 4)),
        ("r2", "o3", date(2027, 1, 11)),
    ]
    assert result == expected


# An outlet on two beats, and a month with five Thursdays (October 2026).
TWO_BEATS = {
    "outlets": [
        {"outlet_id": "o4", "territory_id": "T1"},
        {"outlet_id": "o5", "territory_id": "T1"},
    ],
    "beats": [
        {
            "beat_id": "b4",
            "rep_id": "r3",
            "weekday": 4,
            "every_n_weeks": 1,
            "start_date": "2026-10-01",
        },
        # o4 again on the same weekday: still one planned call a Thursday.
        {
            "beat_id": "b5",
            "rep_id": "r3",
            "weekday": 4,
            "every_n_weeks": 1,
            "start_date": "2026-09-03",
        },
        # o4 on a fortnightly Tuesday beat as well: more calls, on other days.
        {
            "beat_id": "b6",
            "rep_id": "r3",
            "weekday": 2,
            "every_n_weeks": 2,
            "start_date": "2026-10-06",
        },
    ],
    "beat_outlets": [
        {"beat_id": "b4", "outlet_id": "o4"},
        {"beat_id": "b4", "outlet_id": "o5"},
        {"beat_id": "b5", "outlet_id": "o4"},
        {"beat_id": "b6", "outlet_id": "o4"},
    ],
}


def planned_calls_of(tmp_path, rows, period: Period) -> list[tuple[str, str, date]]:
    engine = sqlite_database(tmp_path, rows)
    planned = PeriodSQL(period, Settings()).planned_calls
    statement = sa.select(planned).order_by(
        planned.c.rep_id, planned.c.outlet_id, planned.c.plan_date
    )
    with engine.connect() as connection:
        result = [tuple(row) for row in connection.execute(statement)]
    engine.dispose()
    return result


def test_outlet_on_two_beats_in_a_month_of_five_thursdays(tmp_path):
    result = planned_calls_of(
        tmp_path, TWO_BEATS, Period(date(2026, 10, 1), date(2026, 10, 31))
    )

    thursdays = [date(2026, 10, day) for day in (1, 8, 15, 22, 29)]
    expected = sorted(
        [
            ("r3", "o4", day)
            for day in [*thursdays, date(2026, 10, 6), date(2026, 10, 20)]
        ]
        + [("r3", "o5", day) for day in thursdays]
    )
    assert result == expected


def test_weekly_beat_runs_in_iso_weeks_2026_w53_and_2027_w01(tmp_path):
    # 2026 has 53 ISO weeks: W53 runs Monday 12-28 to Sunday 2027-01-03 and
    # W01 of 2027 starts on Monday 2027-01-04.
    w53 = week_containing(date(2027, 1, 1))
    w01 = week_containing(date(2027, 1, 4))
    assert (w53.start, w53.end) == (date(2026, 12, 28), date(2027, 1, 3))
    assert w53.start.isocalendar()[:2] == (2026, 53)
    assert w01.start.isocalendar()[:2] == (2027, 1)

    result = planned_calls_of(tmp_path, TWO_BEATS, Period(w53.start, w01.end))

    expected = [
        ("r3", "o4", date(2026, 12, 29)),
        ("r3", "o4", date(2026, 12, 31)),
        ("r3", "o4", date(2027, 1, 7)),
        ("r3", "o5", date(2026, 12, 31)),
        ("r3", "o5", date(2027, 1, 7)),
    ]
    assert result == expected


def test_week_starting_sunday_across_new_year():
    result = week_containing(date(2027, 1, 1), week_start=7)

    expected = (date(2026, 12, 27), date(2027, 1, 2))
    assert (result.start, result.end) == expected


# A beat that another program wrote with every_n_weeks 0, which the loader
# rejects, beside a weekly beat of the same rep.
ZERO_WEEKS = {
    "territories": [{"territory_id": "T1"}],
    "reps": [{"rep_id": "r1", "territory_id": "T1"}],
    "outlets": [
        {"outlet_id": "o1", "territory_id": "T1"},
        {"outlet_id": "o2", "territory_id": "T1"},
    ],
    "beats": [
        beat("b1", "r1", weekday=2, every=1, start="2026-01-06"),
        beat("b0", "r1", weekday=3, every=0, start="2026-01-07"),
    ],
    "beat_outlets": [
        {"beat_id": "b1", "outlet_id": "o1"},
        {"beat_id": "b0", "outlet_id": "o2"},
    ],
}


@pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
def test_beat_every_zero_weeks_plans_no_call(engine_name, tmp_path, request):
    if engine_name == "sqlite":
        engine = sqlite_database(tmp_path, ZERO_WEEKS)
    else:
        url = request.getfixturevalue("fresh_postgres_url")
        engine = fill_database(url, ZERO_WEEKS)
    week = Period(date(2026, 3, 2), date(2026, 3, 8))
    planned = PeriodSQL(week, Settings()).planned_calls

    with engine.connect() as connection:
        calls = [tuple(row) for row in connection.execute(sa.select(planned))]
    activity = queries.rep_activity(engine, week, Scope(), Settings())
    engine.dispose()

    assert calls == [("r1", "o1", date(2026, 3, 3))]
    assert activity["planned_calls"].tolist() == [1]
