"""The summary build's lookups give the rows of the window functions they replace."""

from datetime import date

import pytest
import sqlalchemy as sa

from data_access import summaries
from data_access.dialect import build_page_cache
from data_access.filters import Period, Settings
from data_access.period_sql import PeriodSQL
from tests.database import sqlite_database

TIMEZONE = "Asia/Kolkata"
SETTINGS = Settings(timezone=TIMEZONE)
# Monday 23 March 2026 starts at 2026-03-22 18:30 UTC in Kolkata.
WEEK = Period(date(2026, 3, 23), date(2026, 3, 29), TIMEZONE)


def visit(visit_id: str, rep_id: str | None, outlet_id: str | None, check_in: str):
    return {
        "visit_id": visit_id,
        "rep_id": rep_id,
        "outlet_id": outlet_id,
        "check_in": check_in,
        "latitude": 18.97,
        "longitude": 72.87,
    }


def order(order_id: str, rep_id: str | None, visit_id: str | None, ordered_at: str):
    return {
        "order_id": order_id,
        "rep_id": rep_id,
        "outlet_id": "O1",
        "visit_id": visit_id,
        "ordered_at": ordered_at,
        "value": 100.0,
        "line_count": 2,
    }


ROWS = {
    "reps": [{"rep_id": "R1", "name": "Asha", "territory_id": "MUM"}],
    "outlets": [
        {
            "outlet_id": outlet,
            "name": outlet,
            "territory_id": "MUM",
            "latitude": 18.97,
            "longitude": 72.87,
        }
        for outlet in ("O1", "O2")
    ],  # fmt: skip
    "visits": [
        # A chain: V2 is 60 s after V1 and V3 90 s after V2, so both repeat V1.
        visit("V1", "R1", "O1", "2026-03-24 04:00:00"),
        visit("V2", "R1", "O1", "2026-03-24 04:01:00"),
        visit("V3", "R1", "O1", "2026-03-24 04:02:30"),
        # A new visit, and one at the same instant that repeats it.
        visit("V4", "R1", "O1", "2026-03-24 06:00:00"),
        visit("V5", "R1", "O1", "2026-03-24 06:00:00"),
        # Visits without a rep or an outlet repeat each other too.
        visit("V6", None, "O2", "2026-03-25 05:00:00"),
        visit("V7", None, "O2", "2026-03-25 05:01:00"),
        visit("V8", "R1", None, "2026-03-25 07:00:00"),
        visit("V9", "R1", None, "2026-03-25 07:00:30"),
        # Kept before the week starts, with its repeat in the week.
        visit("VA", "R1", "O2", "2026-03-22 18:29:30"),
        visit("VB", "R1", "O2", "2026-03-22 18:30:30"),
        # The same outlet on a later day: a visit of its own.
        visit("VC", "R1", "O1", "2026-03-26 04:00:00"),
    ],
    "orders": [
        # Without visit_id: links to the rep's first visit to O1 that day, V1.
        order("K1", "R1", None, "2026-03-24 08:00:00"),
        # Names a duplicate: links to the visit it repeats, V1.
        order("K2", "R1", "V3", "2026-03-24 04:05:00"),
        # Without visit_id on a day of no visit to O1, or without a rep: unlinked.
        order("K3", "R1", None, "2026-03-27 08:00:00"),
        order("K4", None, None, "2026-03-26 08:00:00"),
        # Without visit_id on 26 March: links to VC.
        order("K5", "R1", None, "2026-03-26 10:00:00"),
    ],
}


@pytest.fixture
def small_engine(tmp_path):
    engine = sqlite_database(tmp_path, ROWS)
    yield engine
    engine.dispose()


def scratch_rows(engine: sa.Engine, name: str, key: str) -> list[tuple]:
    with engine.connect() as connection:
        with summaries._WeekScratch(connection, PeriodSQL(WEEK, SETTINGS)) as scratch:
            table = scratch.sql._cache[name]
            query = sa.select(table).order_by(table.c[key])
            return [tuple(row) for row in connection.execute(query)]


def window_rows(engine: sa.Engine, name: str, key: str) -> list[tuple]:
    block = getattr(PeriodSQL(WEEK, SETTINGS), name)
    # Columns of a window function have no type, so they come back as text.
    columns = [
        sa.type_coerce(column, summaries._WeekScratch.TYPES.get(column.name, sa.Text()))
        if isinstance(column.type, sa.types.NullType)
        else column
        for column in block.c
    ]
    with engine.connect() as connection:
        query = sa.select(*columns).order_by(block.c[key])
        return [tuple(row) for row in connection.execute(query)]


def test_visit_aliases_by_lookup_chain_start(small_engine):
    rows = scratch_rows(small_engine, "visit_aliases", "visit_id")
    result = {row[0]: row[-2] for row in rows}

    expected = {
        "V1": "V1", "V2": "V1", "V3": "V1", "V4": "V4", "V5": "V4",
        "V6": "V6", "V7": "V6", "V8": "V8", "V9": "V8",
        "VA": "VA", "VB": "VA", "VC": "VC",
    }  # fmt: skip
    assert result == expected
    assert rows == window_rows(small_engine, "visit_aliases", "visit_id")


def test_linked_orders_by_lookup_first_visit(small_engine):
    rows = scratch_rows(small_engine, "linked_orders", "order_id")
    result = {row[1]: row[0] for row in rows}

    expected = {"K1": "V1", "K2": "V1", "K5": "VC"}
    assert result == expected
    assert rows == window_rows(small_engine, "linked_orders", "order_id")


def page_caches_kib(connection: sa.Connection) -> tuple[int, int]:
    """Return the cache sizes of the database and of temporary tables."""
    return tuple(
        connection.exec_driver_sql(f"PRAGMA {schema}.cache_size").scalar()
        for schema in ("main", "temp")
    )


def test_build_page_cache_is_restored(small_engine):
    with small_engine.connect() as connection:
        with build_page_cache(connection):
            during = page_caches_kib(connection)
        after = page_caches_kib(connection)

    result = (during, after)

    expected = ((-262144, -262144), (-2000, -2000))
    assert result == expected
