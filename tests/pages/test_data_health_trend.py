"""Test the Data health page's 8-week trend through AppTest.

The data is the three weeks of dirty rows near week boundaries from
tests.data_access.test_weekly_health_counts.
"""

import logging
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from data_access import summaries
from data_access.engine import create_engine
from tests.data_access.test_review_summaries import logged_queries
from tests.data_access.test_weekly_health_counts import ROWS, SETTINGS, SPAN
from tests.database import sqlite_database

DASHBOARD = str(Path(__file__).resolve().parents[2] / "dashboard.py")

# The trend covers the 8 weeks from 2026-01-26 to the week of 2026-03-16, and
# the data fills the last three. No check-in is in the future, because "now"
# is the real time, long after the data.
EXPECTED_TRENDS = {
    "Duplicate visits": [0, 0, 0, 0, 0, 0, 1, 0],
    "Check-out before check-in": [0, 0, 0, 0, 0, 1, 0, 0],
    "Check-in in the future": [0, 0, 0, 0, 0, 0, 0, 0],
    "Faster than a vehicle": [0, 0, 0, 0, 0, 0, 1, 0],
    "Orders without a visit": [0, 0, 0, 0, 0, 0, 2, 1],
    # x1, x3, and x2, whose rep's only check-in that day is the resend a2.
    "Orders outside any visit day": [0, 0, 0, 0, 0, 0, 3, 0],
}


@pytest.fixture(scope="module")
def trend_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("health_trend_page")
    sqlite_database(folder, ROWS).dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


@pytest.fixture(scope="module")
def summarised_trend_url(tmp_path_factory):
    """The same rows, with summaries of the three weeks that hold them."""
    folder = tmp_path_factory.mktemp("health_trend_page_summarised")
    engine = sqlite_database(folder, ROWS)
    summaries.build_summaries(engine, SPAN.start, SPAN.end, SETTINGS)
    engine.dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


def health_summary(monkeypatch, url: str, query: dict[str, str]):
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", url)
    monkeypatch.setenv("BEATBOARD_TIMEZONE", "Asia/Kolkata")
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    app.switch_page("pages/data_health.py").run()
    assert not app.exception
    return app.dataframe[0].value.set_index("problem")


@pytest.mark.parametrize(
    "query",
    [
        {"week": "2026-03-16"},
        {"period": "range", "from": "2026-03-10", "to": "2026-03-20"},
    ],
    ids=["last-week", "date-range"],
)
def test_trend_counts_each_week(monkeypatch, trend_url, query):
    summary = health_summary(monkeypatch, trend_url, query)

    result = {
        problem: list(summary.loc[problem, "trend"]) for problem in EXPECTED_TRENDS
    }

    assert result == EXPECTED_TRENDS


def test_trend_leaves_outlets_and_reps_blank(monkeypatch, trend_url):
    summary = health_summary(monkeypatch, trend_url, {"week": "2026-03-16"})

    result = summary.loc[["Outlets without coordinates", "Reps without a manager"]]

    assert result["trend"].isna().all()


def test_trend_from_summaries_equals_raw(
    monkeypatch, caplog, trend_url, summarised_trend_url
):
    caplog.set_level(logging.INFO, logger="data_access.queries")
    summary = health_summary(monkeypatch, summarised_trend_url, {"week": "2026-03-16"})
    names = logged_queries(caplog)

    result = {
        problem: list(summary.loc[problem, "trend"]) for problem in EXPECTED_TRENDS
    }

    assert result == EXPECTED_TRENDS
    assert "health_counts_from_summaries" in names
    raw = health_summary(monkeypatch, trend_url, {"week": "2026-03-16"})
    assert summary["affected"].to_dict() == raw["affected"].to_dict()


def test_page_says_when_health_summaries_are_missing(
    monkeypatch, tmp_path, summarised_trend_url
):
    copy = tmp_path / "copy.sqlite"
    shutil.copy(summarised_trend_url.removeprefix("sqlite:///"), copy)
    engine = create_engine(f"sqlite:///{copy}")
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE summary_health_weeks"))
    engine.dispose()
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", f"sqlite:///{copy}")
    monkeypatch.setenv("BEATBOARD_TIMEZONE", "Asia/Kolkata")
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.query_params["week"] = "2026-03-16"
    app.run()
    app.switch_page("pages/data_health.py").run()

    result = [warning.value for warning in app.warning]

    assert not app.exception
    assert any(
        "data health summaries of these weeks are missing" in text for text in result
    )
