"""An outlet's last visits for the map's details panel, on SQLite and PostgreSQL.

Period: the week of Monday 2026-03-02, business time zone UTC. Outlet o1 in
T1 has seven visits: v1 and v1-copy are one visit resent by offline sync
(a minute apart), v7 is after the period, and v0 is older than the
365-day lookback. Order a links to v2 by visit_id. Order b has no visit_id,
so it links to r2's visit v5 on the same date. Order c is a return.
"""

from datetime import date

import pytest

from data_access.filters import Period, Scope, Settings
from data_access.queries import LAST_VISITS_LOOKBACK_DAYS, outlet_last_visits
from tests.database import fill_database, sqlite_database

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))

# fmt: off
ROWS = {
    "regions": [{"region_id": "R1", "name": "West"}],
    "territories": [
        {"territory_id": "T1", "name": "One", "region_id": "R1"},
        {"territory_id": "T2", "name": "Two", "region_id": "R1"},
    ],
    "reps": [
        {"rep_id": "r1", "name": "Asha", "territory_id": "T1", "manager_id": "m1"},
        {"rep_id": "r2", "name": "Bilal", "territory_id": "T2", "manager_id": "m2"},
    ],
    "outlets": [
        {"outlet_id": "o1", "name": "Shop", "territory_id": "T1"},
        {"outlet_id": "o2", "name": "Other", "territory_id": "T1"},
    ],
    "visits": [
        {"visit_id": "v0", "rep_id": "r1", "outlet_id": "o1", "check_in": "2025-03-01 09:00:00"},
        {"visit_id": "v1", "rep_id": "r1", "outlet_id": "o1", "check_in": "2026-01-10 09:00:00"},
        {"visit_id": "v1-copy", "rep_id": "r1", "outlet_id": "o1", "check_in": "2026-01-10 09:01:00"},
        {"visit_id": "v2", "rep_id": "r1", "outlet_id": "o1", "check_in": "2026-02-02 10:00:00"},
        {"visit_id": "v3", "rep_id": "r1", "outlet_id": "o1", "check_in": "2026-02-16 11:00:00", "no_order_reason": "owner away"},
        {"visit_id": "v4", "rep_id": "r1", "outlet_id": "o1", "check_in": "2026-03-02 09:00:00"},
        {"visit_id": "v5", "rep_id": "r2", "outlet_id": "o1", "check_in": "2026-03-08 23:30:00"},
        {"visit_id": "v7", "rep_id": "r1", "outlet_id": "o1", "check_in": "2026-03-09 00:30:00"},
        {"visit_id": "v9", "rep_id": "r1", "outlet_id": "o2", "check_in": "2026-03-03 09:00:00"},
    ],
    "orders": [
        {"order_id": "a", "outlet_id": "o1", "rep_id": "r1", "visit_id": "v2", "ordered_at": "2026-02-02 10:05:00", "value": 120.0},
        {"order_id": "b", "outlet_id": "o1", "rep_id": "r2", "ordered_at": "2026-03-08 23:40:00", "value": 80.5},
        {"order_id": "c", "outlet_id": "o1", "rep_id": "r1", "visit_id": "v4", "ordered_at": "2026-03-02 09:05:00", "value": -30.0},
    ],
}
# fmt: on

EXPECTED = [
    ("v5", date(2026, 3, 8), "r2", "Bilal", 1, 80.5, None),
    ("v4", date(2026, 3, 2), "r1", "Asha", 0, 0.0, None),
    ("v3", date(2026, 2, 16), "r1", "Asha", 0, 0.0, "owner away"),
    ("v2", date(2026, 2, 2), "r1", "Asha", 1, 120.0, None),
    ("v1", date(2026, 1, 10), "r1", "Asha", 0, 0.0, None),
]


def rows_of(frame) -> list[tuple]:
    columns = [
        "visit_id", "visit_date", "rep_id", "rep_name", "productive",
        "order_value", "no_order_reason",
    ]  # fmt: skip
    values = frame[columns].astype(object)
    values = values.where(values.notna(), None)
    return [tuple(row) for row in values.itertuples(index=False)]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = sqlite_database(tmp_path_factory.mktemp("last_visits"), ROWS)
    yield engine
    engine.dispose()


def test_last_visits_newest_first(engine):
    frame = outlet_last_visits(engine, WEEK, Scope(), Settings(), "o1")

    assert rows_of(frame) == EXPECTED


def test_limit_keeps_the_newest(engine):
    frame = outlet_last_visits(engine, WEEK, Scope(), Settings(), "o1", limit=2)

    assert list(frame["visit_id"]) == ["v5", "v4"]


def test_lookback_bounds_the_list(engine):
    # v0 lies 366 days before the period's last date.
    assert LAST_VISITS_LOOKBACK_DAYS == 365

    frame = outlet_last_visits(engine, WEEK, Scope(), Settings(), "o1", limit=10)

    assert "v0" not in set(frame["visit_id"])
    assert len(frame) == 5


def test_business_time_zone_dates_the_visits(engine):
    settings = Settings(timezone="Asia/Kolkata")
    week = Period(date(2026, 3, 2), date(2026, 3, 8), "Asia/Kolkata")

    frame = outlet_last_visits(engine, week, Scope(), settings, "o1")

    # 23:30 UTC on the 8th is the 9th in Kolkata, after the period.
    assert list(frame["visit_id"])[:2] == ["v4", "v3"]
    assert frame["visit_date"].iloc[0] == date(2026, 3, 2)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (Scope(territory_ids=("T1",)), 5),
        (Scope(territory_ids=("T2",)), 0),
        (Scope(manager_id="m2"), 0),
        (Scope(manager_id="m1"), 5),
    ],
    ids=["own territory", "other territory", "other manager", "own manager"],
)
def test_outlet_outside_scope_gives_nothing(engine, scope, expected):
    frame = outlet_last_visits(engine, WEEK, scope, Settings(), "o1")

    assert len(frame) == expected


def test_outlet_without_visits_is_empty(engine):
    frame = outlet_last_visits(engine, WEEK, Scope(), Settings(), "no-such-outlet")

    assert frame.empty
    assert list(frame.columns) == [
        "visit_id", "visit_date", "check_in", "check_out", "rep_id", "rep_name",
        "productive", "order_value", "no_order_reason",
    ]  # fmt: skip


def test_same_list_on_postgresql(fresh_postgres_url):
    engine = fill_database(fresh_postgres_url, ROWS)
    try:
        frame = outlet_last_visits(engine, WEEK, Scope(), Settings(), "o1")
    finally:
        engine.dispose()

    assert rows_of(frame) == EXPECTED
