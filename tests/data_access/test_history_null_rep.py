"""rep_territories rows with a NULL rep_id or territory_id.

Beatboard's schema makes both columns NOT NULL, but a table made outside
Beatboard may allow NULL. NOT IN over a NULL rep_id keeps no row, so such a
row must not reach the scope's NOT IN conditions. territory_on reads a NULL
territory_id as the rep's current territory.
"""

from collections import namedtuple
from datetime import date

import pytest
import sqlalchemy as sa

from data_access.filters import Period
from data_access.territory_history import (
    _weeks_in_scope,
    rep_dates_in_scope,
    scope_follows_history,
)
from tests.data_access.test_history_scope import SCOPES, matching_cases
from tests.database import sqlite_database
from tests.metrics.test_territory_history import MOVED_ROWS

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8), "UTC")


@pytest.fixture
def engine(tmp_path):
    engine = sqlite_database(tmp_path, MOVED_ROWS)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE rep_territories"))
        connection.execute(
            sa.text(
                "CREATE TABLE rep_territories (rep_id TEXT, territory_id TEXT,"
                " valid_from DATE, valid_to DATE)"
            )
        )
        for row in MOVED_ROWS["rep_territories"]:
            connection.execute(
                sa.text("INSERT INTO rep_territories VALUES (:r, :t, :f, :to)"),
                {
                    "r": row["rep_id"],
                    "t": row["territory_id"],
                    "f": row["valid_from"],
                    "to": row.get("valid_to"),
                },
            )
        connection.execute(
            sa.text(
                "INSERT INTO rep_territories VALUES (NULL, 'T1', '2026-01-01', NULL)"
            )
        )
    yield engine
    engine.dispose()


@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_null_rep_row_keeps_same_rows(engine, scope_name):
    scope = SCOPES[scope_name]

    result = matching_cases(engine, scope, fast=True)

    assert result == matching_cases(engine, scope, fast=False)


def test_null_rep_row_keeps_rep_without_history(engine):
    result = matching_cases(engine, SCOPES["T1"], fast=True)

    assert ("r2", date(2026, 3, 5)) in result


def test_null_rep_row_changes_no_scope(engine):
    assert scope_follows_history(engine, SCOPES["region"], WEEK) is False


def test_null_rep_row_keeps_settled_reps(engine):
    # Asha is in T2, her current territory, on every date of this week.
    week = Period(date(2026, 3, 9), date(2026, 3, 15), "UTC")

    result = rep_dates_in_scope(engine, SCOPES["T1"], week)

    with engine.connect() as connection:
        settled = set(connection.execute(result.rep_ids).scalars())
    assert settled == {"r2"}
    assert result.runs == ()


HistoryRow = namedtuple("HistoryRow", ["territory_id", "valid_from", "valid_to"])


def test_null_territory_weeks_follow_current():
    rows = [HistoryRow(None, date(2026, 3, 2), None)]
    period = Period(date(2026, 3, 2), date(2026, 3, 15), "UTC")

    result = _weeks_in_scope(rows, "T1", {"T1"}, period)

    assert result == [date(2026, 3, 2), date(2026, 3, 9)]
