"""A page read from the raw tables of a large company suggests building the
summary tables, and a small company's page does not."""

from datetime import date

import pytest

from data_access import summary_queries
from data_access.engine import create_engine
from data_access.filters import Period, Settings
from tests.database import summarised_demo

TIMEZONE = "Asia/Kolkata"
SETTINGS = Settings(timezone=TIMEZONE)
SUMMARISED = Period(date(2026, 3, 23), date(2026, 3, 29), TIMEZONE)
EARLIER_WEEK = Period(date(2026, 3, 16), date(2026, 3, 22), TIMEZONE)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    # Two weeks of visits, of which only the last has summaries.
    path = tmp_path_factory.mktemp("summary_hint") / "demo.sqlite"
    engine = summarised_demo(f"sqlite:///{path}", 2, SUMMARISED, SETTINGS)
    yield engine
    engine.dispose()


def test_uncovered_week_of_many_visits_hints(engine, monkeypatch):
    monkeypatch.setattr(summary_queries, "SUMMARY_HINT_VISITS_PER_WEEK", 1)

    status = summary_queries.summary_status(engine, EARLIER_WEEK, SETTINGS)
    result = summary_queries.uncovered_message(engine, EARLIER_WEEK, SETTINGS)

    assert status.uncovered
    assert result.startswith("The summary tables do not cover these weeks")
    # The command reaches back over the Overview's trend and its history.
    assert "--from 2025-10-27 --to 2026-03-22 --timezone Asia/Kolkata" in result


def test_uncovered_week_of_few_visits_is_quiet(engine):
    # The smallest demo company, 19 reps, has fewer visits a week than the hint's
    # threshold.
    result = summary_queries.uncovered_message(engine, EARLIER_WEEK, SETTINGS)

    assert result is None


def test_covered_week_is_not_uncovered(engine):
    result = summary_queries.summary_status(engine, SUMMARISED, SETTINGS)

    assert result.usable
    assert not result.uncovered


def test_database_without_summaries_is_uncovered(tmp_path):
    path = tmp_path / "bare.sqlite"
    engine = summarised_demo(f"sqlite:///{path}", 1, SUMMARISED, SETTINGS)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE summary_weeks")
    engine.dispose()
    engine = create_engine(f"sqlite:///{path}")

    result = summary_queries.summary_status(engine, SUMMARISED, SETTINGS)
    engine.dispose()

    assert result.uncovered
