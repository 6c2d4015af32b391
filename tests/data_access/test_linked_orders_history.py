"""Linked orders under a territory limit, for a rep who moved territory.

The rows are those of test_linked_orders, plus a history: r1 served T1 until
2026-03-24 and T2 from 03-25 (local dates in Asia/Kolkata), and r2 stays in
T1. An order counts for the territory of its linked visit's local date. v4
(local 00:10 on 03-25) is r1's only visit on a T2 day, and v4dup, a resend of
it 60 s later, links its order p to v4.
"""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from data_access.period_sql import PeriodSQL, territories
from tests.data_access.test_linked_orders import (
    LINKED,
    ROWS,
    SETTINGS,
    WEEK,
    _order,
    _visit,
    linked_rows,
)
from tests.database import fill_database, sqlite_database

MOVED_ROWS = {
    **ROWS,
    "territories": [
        {"territory_id": "T1", "name": "North"},
        {"territory_id": "T2", "name": "South"},
    ],
    "rep_territories": [
        {
            "rep_id": "r1",
            "territory_id": "T1",
            "valid_from": "2026-01-01",
            "valid_to": "2026-03-24",
        },
        {"rep_id": "r1", "territory_id": "T2", "valid_from": "2026-03-25"},
    ],
    "visits": ROWS["visits"] + [_visit("v4dup", "r1", "o2", "2026-03-24 18:41:00")],
    "orders": ROWS["orders"]
    + [_order("p", "r1", "o2", "2026-03-24 18:45:00", 5.0, visit_id="v4dup")],
}

# (visit_id, order_id, value, line_count) of each territory, sorted by order_id.
LINKED_BY_TERRITORY = {
    "T1": [row for row in LINKED if row[0] != "v4"],
    "T2": [("v4", "i", 9.0, 1), ("v4", "p", 5.0, 1)],
}


def territory_sql(territory_id: str) -> PeriodSQL:
    territory_ids = sa.select(territories.c.territory_id).where(
        territories.c.territory_id == territory_id
    )
    return PeriodSQL(WEEK, SETTINGS, territory_ids=territory_ids)


@pytest.fixture(params=["sqlite", "postgresql"])
def moved_engine(request, tmp_path) -> Iterator[sa.Engine]:
    """MOVED_ROWS in SQLite and in a fresh PostgreSQL database."""
    if request.param == "sqlite":
        engine = sqlite_database(tmp_path, MOVED_ROWS)
    else:
        engine = fill_database(
            request.getfixturevalue("fresh_postgres_url"), MOVED_ROWS
        )
    yield engine
    engine.dispose()


@pytest.mark.parametrize("territory_id", ["T1", "T2"])
def test_linked_orders_by_territory_of_day(moved_engine, territory_id):
    result = linked_rows(moved_engine, territory_sql(territory_id))

    expected = LINKED_BY_TERRITORY[territory_id]
    assert result == expected
