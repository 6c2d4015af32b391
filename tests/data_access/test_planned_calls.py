"""Beat expansion: which dates a beat runs on, over a quarter."""

from datetime import date

import sqlalchemy as sa

from data_access.filters import Period, Settings
from data_access.period_sql import PeriodSQL
from tests.database import sqlite_database

ROWS = {
    "outlets": [
        {"outlet_id": "o1", "territory_id": "T1"},
        {"outlet_id": "o2", "territory_id": "T1"},
        {"outlet_id": "o3", "territory_id": "T1"},
    ],
    "beats": [
        # Fortnightly Wednesdays from Wednesday 01-07, ending 03-04 (inclusive).
        {"beat_id": "b1", "rep_id": "r1", "weekday": 3, "every_n_weeks": 2, "start_date": "2026-01-07", "end_date": "2026-03-04"},
        # Four-weekly Fridays from Saturday 01-10: the first run is Friday 01-16.
        {"beat_id": "b2", "rep_id": "r1", "weekday": 5, "every_n_weeks": 4, "start_date": "2026-01-10"},
        # Weekly Mondays starting mid-period on Friday 03-20.
        {"beat_id": "b3", "rep_id": "r2", "weekday": 1, "every_n_weeks": 1, "start_date": "2026-03-20"},
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
    statement = sa.select(planned).order_by(planned.c.rep_id, planned.c.outlet_id, planned.c.plan_date)
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
