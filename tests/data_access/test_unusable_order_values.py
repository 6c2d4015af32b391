"""Order values that another program wrote as no number, or as a number
beyond the loader's limit of 1e12 either way, count as no order on both
engines, with summaries and without, and data health lists them.

The loader rejects such values, but PostgreSQL's double precision stores
'NaN', 'Infinity' and '-Infinity', and SQLite's REAL column keeps text it
cannot read as a number ('NaN', 'abc') and stores 9e999 as infinity. Both
store 1e308, and a sum of two such values overflowed: SQLite printed inf and
PostgreSQL raised "value out of range: overflow".
"""

from datetime import datetime

import pytest
import sqlalchemy as sa

from data_access import health_summaries
from data_access.filters import Scope
from tests.data_access.test_engine_parity import report_csv
from tests.database import empty_database_url, fill_database
from tests.kiosk_week import SETTINGS, WEEK, kiosk_rows, summarise_week

NOW = datetime(2026, 3, 10, 12, 0)
KIND = "order_value_unusable"
ROWS = kiosk_rows(
    [
        ("A1", "O1", "V1", "2026-03-03 05:10:00", 100.0, 3),
        ("A2", "O2", "V2", "2026-03-03 06:10:00", -20.0, 1),
        # No visit_id: linked to V4 by the same-date rule.
        ("A3", "O3", None, "2026-03-05 05:30:00", 50.0, 1),
    ]
)
# (order_id, outlet_id, visit_id, ordered_at, line_count) of the orders whose
# value is unusable. D1 and D5 would make V2, which has only a return,
# productive. D2 and D6 have no visit_id, so the same-date rule links them
# to V3. D6 would be a return.
UNUSABLE_ORDERS = [
    ("D1", "O2", "'V2'", "2026-03-03 06:20:00", 5),
    ("D2", "O3", "NULL", "2026-03-04 05:20:00", 4),
    ("D3", "O1", "'V1'", "2026-03-03 05:20:00", 2),
    ("D4", "O1", "'V1'", "2026-03-03 05:30:00", 6),
    ("D5", "O2", "'V2'", "2026-03-03 06:30:00", 7),
    ("D6", "O3", "NULL", "2026-03-04 05:30:00", 1),
]
# The values as each engine stores them, in the order of UNUSABLE_ORDERS.
UNUSABLE_VALUES = {
    "sqlite": ["'NaN'", "'abc'", "9e999", "1e308", "1e308", "-1e15"],
    "postgres": ["'NaN'", "'Infinity'", "'-Infinity'", "1e308", "1e308", "-1e15"],
}
# The orders Data health lists, by dialect name: (order_id, the stored value
# as an SQL literal).
LISTED = {
    "sqlite": [
        ("D1", "'NaN'"),
        ("D2", "'abc'"),
        ("D3", "Inf"),
        ("D4", "1.0e+308"),
        ("D5", "1.0e+308"),
        ("D6", "-1.0e+15"),
    ],
    "postgresql": [
        ("D1", "NaN"),
        ("D2", "Infinity"),
        ("D3", "-Infinity"),
        ("D4", "1e+308"),
        ("D5", "1e+308"),
        ("D6", "-1e+15"),
    ],
}
# V1 and V4 are productive (lines 3 + 1), V2 and V3 are not. Order value is
# A1 + A3 = 150 over 2 orders; return value is A2.
EXPECTED = {
    "reps": "R1,Asha,T1,4,2,0.5,0,0,,0,0,4,150,2,75,2,-20,0",
    "territories": "T1,North,N,3,3,1,0,0,0,0,4,2,0.5,,150",
    "outlets": [
        "O1,Kiosk 1,T1,visited,2026-03-03,5,1,100",
        "O2,Kiosk 2,T1,visited,2026-03-03,5,1,0",
        "O3,Kiosk 3,T1,visited,2026-03-05,3,2,50",
    ],
}


def write_unusable_orders(engine: sa.Engine, engine_name: str) -> None:
    """Insert UNUSABLE_ORDERS with the values of UNUSABLE_VALUES[engine_name]."""
    values = UNUSABLE_VALUES[engine_name]
    with engine.begin() as connection:
        for (order_id, outlet_id, visit_id, ordered_at, lines), value in zip(
            UNUSABLE_ORDERS, values
        ):
            connection.exec_driver_sql(
                "INSERT INTO orders (order_id, outlet_id, rep_id, visit_id, "
                "ordered_at, value, line_count) VALUES "
                f"('{order_id}', '{outlet_id}', 'R1', {visit_id}, "
                f"'{ordered_at}', {value}, {lines})"
            )


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    engine = fill_database(empty_database_url(request.param, request, tmp_path), ROWS)
    write_unusable_orders(engine, request.param)
    yield engine
    engine.dispose()


@pytest.fixture(params=[False, True], ids=["raw", "summaries"])
def summarised(request, engine) -> bool:
    if request.param:
        summarise_week(engine)
    return request.param


def report_lines(engine, name: str) -> list[str]:
    return report_csv(name, engine, WEEK, SETTINGS).splitlines()[1:]


def test_reps_report_leaves_out_unusable_values(engine, summarised):
    result = report_lines(engine, "reps")

    assert result == [EXPECTED["reps"]]


def test_territories_report_leaves_out_unusable_values(engine, summarised):
    result = report_lines(engine, "territories")

    assert result == [EXPECTED["territories"]]


def test_outlets_report_leaves_out_unusable_values(engine, summarised):
    result = report_lines(engine, "outlets")

    assert result == EXPECTED["outlets"]


def test_health_counts_unusable_values(engine, summarised):
    counts = health_summaries.read_health_counts(
        engine, WEEK, Scope(), SETTINGS, now=NOW
    ).set_index("kind")

    assert counts.loc[KIND, "affected"] == 6
    assert counts.loc[KIND, "checked"] == 9
    # Only A2 is a return, because D3's -Infinity and D6's -1e15 are no
    # usable values either.
    assert counts.loc["return_order", "affected"] == 1


def test_health_lists_unusable_values(engine, summarised):
    rows = health_summaries.read_affected_rows(
        engine, WEEK, Scope(), SETTINGS, kinds=(KIND,), now=NOW
    )

    result = sorted(zip(rows["record_id"], rows["related_id"]))

    assert result == LISTED[engine.dialect.name]
    assert sorted(zip(rows["record_id"], rows["outlet_id"])) == [
        ("D1", "O2"),
        ("D2", "O3"),
        ("D3", "O1"),
        ("D4", "O1"),
        ("D5", "O2"),
        ("D6", "O3"),
    ]
    assert rows["measure"].isna().all()


def test_set_aside_counts_unusable_values(engine, summarised):
    result = health_summaries.read_set_aside_counts(engine, WEEK, Scope(), SETTINGS)

    assert result["orders_without_value"] == 6
