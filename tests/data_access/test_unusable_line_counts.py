"""Line counts that another program wrote as no whole number from 0 to
100,000 add no lines to lines per call on both engines, with summaries and
without, and data health lists their orders.

The loader rejects such a line_count and stores an empty cell as NULL.
PostgreSQL's integer column stores any whole number up to 2,147,483,647.
SQLite's INTEGER column also keeps larger ones, whose sum raised "integer
overflow", text it cannot read as a number ('abc') and fractions (2.5). The
orders' values are usable, so their visits stay productive.
"""

import csv
import io
from datetime import datetime

import pytest
import sqlalchemy as sa

from data_access import health_summaries
from data_access.filters import Scope
from tests.data_access.test_engine_parity import report_csv
from tests.database import empty_database_url, fill_database
from tests.kiosk_week import SETTINGS, WEEK, kiosk_rows, summarise_week

NOW = datetime(2026, 3, 10, 12, 0)
KIND = "order_line_count_unusable"
ROWS = kiosk_rows(
    [
        ("A1", "O1", "V1", "2026-03-03 05:10:00", 100.0, 3),
        ("A2", "O1", "V1", "2026-03-03 05:20:00", 40.0, 2),
        ("A3", "O2", "V2", "2026-03-03 06:10:00", 50.0, 4),
        # No visit_id: linked to V3 by the same-date rule.
        ("A4", "O3", None, "2026-03-04 05:30:00", 30.0, 6),
        ("A5", "O3", "V4", "2026-03-05 05:10:00", 20.0, 1),
        ("A6", "O3", "V4", "2026-03-05 05:20:00", 10.0, 1),
        ("A7", "O1", "V1", "2026-03-03 05:30:00", 10.0, 1),
        ("A8", "O2", "V2", "2026-03-03 06:20:00", 10.0, 1),
    ]
)
# The orders whose line_count another program overwrites, in the order of
# each list of WRITTEN_LINE_COUNTS.
WRITTEN_ORDERS = ["A2", "A3", "A4", "A5", "A6", "A7", "A8"]
# The line counts as SQL literals that each engine can store. A6's is the
# largest usable one and A7's the smallest unusable one. SQLite's sum of A8
# and a count as large overflowed its 64-bit integers, and PostgreSQL's
# summary build failed on a day's lines above its integer column's maximum.
WRITTEN_LINE_COUNTS = {
    "sqlite": ["-5", "NULL", "'abc'", "2.5", "100000", "100001",
               "9223372036854775807"],
    "postgres": ["-5", "NULL", "-1", "NULL", "100000", "100001", "2147483647"],
}  # fmt: skip
# The orders Data health lists: (order_id, stored line_count, value). A
# missing line_count is not listed, because the loader stores one for an
# empty cell.
LISTED = {
    "sqlite": [
        ("A2", "-5", 40.0),
        ("A4", "'abc'", 30.0),
        ("A5", "2.5", 20.0),
        ("A7", "100001", 10.0),
        ("A8", "9223372036854775807", 10.0),
    ],
    "postgres": [
        ("A2", "-5", 40.0),
        ("A4", "-1", 30.0),
        ("A7", "100001", 10.0),
        ("A8", "2147483647", 10.0),
    ],
}
# Every order has a value above 0, so V1 to V4 are all productive, and only
# A1's 3 lines and A6's 100,000 count: lines per call is 100,003 / 4. Order value is 100 + 40 + 50 + 30 + 20 + 3 * 10 = 270
# over 8 orders.
EXPECTED_REP = {
    "rep_id": "R1",
    "visits": "4",
    "productive_visits": "4",
    "order_value": "270",
    "orders": "8",
    "average_order_value": "33.75",
    "lines_per_call": "25000.75",
    "return_value": "0",
}
EXPECTED_TERRITORY = "T1,North,N,3,3,1,0,0,0,0,4,4,1,,270"


def write_line_counts(engine: sa.Engine, engine_name: str) -> None:
    """Overwrite the line_count of WRITTEN_ORDERS with SQL, as another program
    could, with the literals of WRITTEN_LINE_COUNTS[engine_name]."""
    literals = WRITTEN_LINE_COUNTS[engine_name]
    with engine.begin() as connection:
        for order_id, literal in zip(WRITTEN_ORDERS, literals, strict=True):
            connection.exec_driver_sql(
                f"UPDATE orders SET line_count = {literal} "
                f"WHERE order_id = '{order_id}'"
            )


@pytest.fixture(params=["sqlite", "postgres"])
def engine_name(request) -> str:
    return request.param


@pytest.fixture
def engine(engine_name, request, tmp_path):
    engine = fill_database(empty_database_url(engine_name, request, tmp_path), ROWS)
    write_line_counts(engine, engine_name)
    yield engine
    engine.dispose()


@pytest.fixture(params=[False, True], ids=["raw", "summaries"])
def summarised(request, engine) -> bool:
    if request.param:
        summarise_week(engine)
    return request.param


def test_reps_report_counts_only_usable_lines(engine, summarised):
    text = report_csv("reps", engine, WEEK, SETTINGS)
    (row,) = csv.DictReader(io.StringIO(text))

    result = {column: row[column] for column in EXPECTED_REP}

    assert result == EXPECTED_REP


def test_territories_report_reads_usable_lines(engine, summarised):
    result = report_csv("territories", engine, WEEK, SETTINGS).splitlines()[1:]

    assert result == [EXPECTED_TERRITORY]


def test_health_counts_unusable_line_counts(engine_name, engine, summarised):
    counts = health_summaries.read_health_counts(
        engine, WEEK, Scope(), SETTINGS, now=NOW
    ).set_index("kind")

    assert counts.loc[KIND, "affected"] == len(LISTED[engine_name])
    assert counts.loc[KIND, "checked"] == 8


def test_health_lists_unusable_line_counts(engine_name, engine, summarised):
    rows = health_summaries.read_affected_rows(
        engine, WEEK, Scope(), SETTINGS, kinds=(KIND,), now=NOW
    )

    result = sorted(zip(rows["record_id"], rows["related_id"], rows["measure"]))

    assert result == LISTED[engine_name]
