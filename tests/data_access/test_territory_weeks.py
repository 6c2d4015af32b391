"""The territory-by-week count of visited outlets, on SQLite and PostgreSQL."""

from datetime import date

import pandas as pd
import pytest

from data_access.filters import Period, Scope, Settings
from data_access.queries import territory_week_visited_outlets
from metrics import reports
from tests.comparison_company import ROWS
from tests.database import fill_database, sqlite_database

# Three weeks ending with the compared week.
WEEKS = Period(date(2026, 2, 16), date(2026, 3, 8))
EXPECTED = [
    ("007", date(2026, 2, 16), 1),
    ("007", date(2026, 2, 23), 2),
    ("007", date(2026, 3, 2), 3),
    ("12.1", date(2026, 3, 2), 2),
    ("T4", date(2026, 3, 2), 1),
    (None, date(2026, 3, 2), 1),
]


def rows_of(frame: pd.DataFrame) -> list[tuple]:
    """(territory_id or None, week_start, visited_outlets), sorted, None last."""
    territories = (
        frame["territory_id"].astype(object).where(frame["territory_id"].notna(), None)
    )
    rows = list(zip(territories, frame["week_start"], frame["visited_outlets"]))
    return sorted(rows, key=lambda row: (row[0] is None, row[0] or "", row[1]))


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = sqlite_database(tmp_path_factory.mktemp("weeks"), ROWS)
    yield engine
    engine.dispose()


def test_visited_outlets_per_territory_week(engine):
    frame = territory_week_visited_outlets(engine, WEEKS, Scope(), Settings())

    assert list(frame.columns) == ["territory_id", "week_start", "visited_outlets"]
    assert rows_of(frame) == EXPECTED


def test_last_week_matches_territories_report(engine):
    week = Period(date(2026, 3, 2), date(2026, 3, 8))
    frame = territory_week_visited_outlets(engine, WEEKS, Scope(), Settings())
    report = reports.territories_report(engine, week, Scope(), Settings())

    last = frame[(frame["week_start"] == week.start) & frame["territory_id"].notna()]
    result = dict(zip(last["territory_id"], last["visited_outlets"]))

    expected = {
        territory: visited
        for territory, visited in zip(report["territory_id"], report["visited_outlets"])
        if visited > 0
    }
    assert result == expected


def test_scope_limits_territories(engine):
    scope = Scope(region_ids=("N",))

    frame = territory_week_visited_outlets(engine, WEEKS, scope, Settings())

    assert sorted(set(frame["territory_id"])) == ["007", "12.1"]


def test_period_without_visits_is_empty(engine):
    quiet = Period(date(2026, 1, 5), date(2026, 1, 18))

    frame = territory_week_visited_outlets(engine, quiet, Scope(), Settings())

    assert frame.empty
    assert list(frame.columns) == ["territory_id", "week_start", "visited_outlets"]


def test_postgres_matches_sqlite(fresh_postgres_url):
    engine = fill_database(fresh_postgres_url, ROWS)
    try:
        frame = territory_week_visited_outlets(engine, WEEKS, Scope(), Settings())
    finally:
        engine.dispose()

    assert rows_of(frame) == EXPECTED


# 2026-03-01 23:30 UTC is Monday 2026-03-02 05:00 in Kolkata, so this visit
# to an outlet without other visits falls in the week of 2026-03-02 there.
LATE_VISIT = {
    "visit_id": "late",
    "rep_id": "010",
    "outlet_id": "o7",
    "check_in": "2026-03-01 23:30:00",
}
KOLKATA_WEEKS = Period(date(2026, 2, 23), date(2026, 3, 8), "Asia/Kolkata")


def kolkata_rows(engine) -> list[tuple]:
    settings = Settings(timezone="Asia/Kolkata")
    return rows_of(
        territory_week_visited_outlets(engine, KOLKATA_WEEKS, Scope(), settings)
    )


def test_weeks_follow_business_time_zone(tmp_path):
    engine = sqlite_database(
        tmp_path, {**ROWS, "visits": [*ROWS["visits"], LATE_VISIT]}
    )
    try:
        result = kolkata_rows(engine)
    finally:
        engine.dispose()

    assert ("T3", date(2026, 3, 2), 1) in result
    assert ("T3", date(2026, 2, 23), 1) not in result


def test_postgres_business_time_zone(fresh_postgres_url):
    engine = fill_database(
        fresh_postgres_url, {**ROWS, "visits": [*ROWS["visits"], LATE_VISIT]}
    )
    try:
        result = kolkata_rows(engine)
    finally:
        engine.dispose()

    assert ("T3", date(2026, 3, 2), 1) in result
    assert ("T3", date(2026, 2, 23), 1) not in result
