"""SQLite plans of the review queries: no table expression scanned once per row.

SQLite 3.40 builds an automatic index for a join with a CTE only when the
join columns' types allow it; otherwise it scans the CTE once per row of the
other side, and a 13-week query takes minutes instead of a second. These
tests read EXPLAIN QUERY PLAN and fail on two full scans in one loop.
"""

from collections import defaultdict
from datetime import date

import pytest
import sqlalchemy as sa

from data_access import review_queries
from data_access.filters import Period, Scope, Settings
from tests.database import sqlite_database
from tests.review_company import ROWS

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
# Thirteen weeks, as the Overview asks for.
SPAN = Period(date(2025, 12, 8), date(2026, 3, 8))
QUERIES = {
    "rep_days": (WEEK,),
    "rep_time_in_market": (WEEK,),
    "calls_at_risk": (WEEK,),
    "skip_details": (WEEK,),
    "skip_runs": (WEEK,),
    "weekly_rep_figures": (SPAN,),
    "weekly_order_figures": (SPAN,),
    "weekly_outlet_figures": (SPAN,),
    "weekly_skipped_calls": (SPAN,),
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = sqlite_database(tmp_path_factory.mktemp("plans"), ROWS)
    yield engine
    engine.dispose()


def statement_of(
    monkeypatch, engine: sa.Engine, name: str, *arguments
) -> sa.Executable:
    captured = []

    def capture(_engine, _name, statement):
        captured.append(statement)
        raise LookupError("statement captured")

    def capture_checked(_engine, _name, _check, statement):
        capture(_engine, _name, statement)

    monkeypatch.setattr(review_queries, "fetch_frame", capture)
    monkeypatch.setattr(review_queries, "fetch_frame_if", capture_checked)
    with pytest.raises(LookupError):
        getattr(review_queries, name)(engine, *arguments)
    return captured[0]


def nested_scans(engine: sa.Engine, statement: sa.Executable) -> list[list[str]]:
    """Loops of the plan that fully scan more than one table or CTE."""
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).fetchall()
    scans = defaultdict(list)
    for _, parent, _, detail in plan:
        if detail.startswith("SCAN ") and detail != "SCAN CONSTANT ROW":
            scans[parent].append(detail)
    return [details for details in scans.values() if len(details) > 1]


@pytest.mark.parametrize("name", list(QUERIES))
def test_no_table_expression_is_scanned_per_row(monkeypatch, engine, name):
    statement = statement_of(
        monkeypatch, engine, name, *QUERIES[name], Scope(), Settings()
    )

    result = nested_scans(engine, statement)

    assert result == []


def test_rep_call_list_has_no_nested_scan(monkeypatch, engine):
    statement = statement_of(
        monkeypatch, engine, "rep_call_list", WEEK, Scope(), Settings(), "r1"
    )

    result = nested_scans(engine, statement)

    assert result == []
