"""The pages, run through AppTest on the hand-computed week of small_company."""

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from data_access import summary_queries
from data_access.engine import create_engine
from data_access.schema import summary_weeks
from data_access.summaries import HISTORY_WEEKS
from fixtures.demo import DEFAULT_WEEKS
from pages import connection, shared
from tests.database import sqlite_database
from tests.metrics.small_company import ROWS

DASHBOARD = str(Path(__file__).resolve().parents[2] / "dashboard.py")


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    sqlite_database(folder, ROWS).dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


@pytest.fixture
def app(monkeypatch, database_url):
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", database_url)
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.query_params["week"] = "2026-03-02"
    return app


def test_overview_tiles(app):
    app.run()

    assert not app.exception
    result = {metric.label: metric.value for metric in app.metric}
    expected = {
        "Visits": "7",
        "Strike rate": "43%",
        "Beat compliance": "33%",
        "Skipped outlets": "2",
        "Coverage": "45%",
        "Neglected outlets": "1",
        "Order value": "180",
        # No orders in the 8 weeks before the week, so no skip can be priced.
        "Revenue at risk": "–",
        # 1,200 s over 7 rep-days with a visit.
        "Time in market": "0h 03m",
        "Off-site visits": "1",
        "Productive visits": "3",
        "Orders": "3",
        "Average order value": "60",
        # Lines of a, b, e and g (dated after the week, linked to v1): 10 / 3.
        "Lines per call": "3.3",
        "Return value": "-20",
        "Planned calls": "6",
        "Calls on plan": "2",
        "Planned outlets": "5",
        "Off-beat visits": "5",
    }
    assert result == expected


def test_overview_tiles_change_against_previous_week(app):
    app.run()

    result = {metric.label: metric.proto.delta for metric in app.metric}

    # The week before had no visit or order; r1 planned 6 outlets on 02-23
    # and r3 o8 on 02-27, all skipped.
    assert result["Planned calls"] == "-1"
    assert result["Planned outlets"] == "-2"
    assert result["Off-beat visits"] == "+5"
    assert result["Return value"] == "-20"
    # No order in the week before, so the average has nothing to compare with.
    assert result["Average order value"] == ""


def test_overview_lists_exceptions(app):
    app.run()

    exceptions = app.dataframe[0].value
    assert list(exceptions["rep_id"]) == ["r1", "r2", "r1"]
    assert list(exceptions["message"]) == [
        # b1 runs every Monday from 01-05, inside the 13-week lookback.
        "Asha missed Shop 9 on 9 planned calls in a row.",
        "Bilal made 0 of 1 planned calls on the planned day (0%), below the 70% floor.",
        "Asha made 2 of 5 planned calls on the planned day (40%), below the 70% floor.",
    ]


def test_rep_performance_table(app):
    app.run()
    app.switch_page("pages/rep_performance.py").run()

    assert not app.exception
    table = app.dataframe[0].value.set_index("rep_id")
    assert list(table.index) == ["r1", "r2", "r4"]
    assert table.loc["r1", "strike_rate"] == 0.75
    assert table.loc["r1", "beat_compliance"] == 0.4
    assert table.loc["r1", "skipped_outlets"] == 1
    assert table.loc["r1", "order_value"] == 180.0
    # Changes against 02-23 to 03-01, when r1 skipped all 6 planned outlets
    # and no rep made a visit. r4 has no row then, so its changes are blank.
    assert table.loc["r1", "visits_change"] == 4
    assert table.loc["r1", "beat_compliance_change"] == 40
    assert table.loc["r1", "skipped_outlets_change"] == -5
    assert table.loc["r1", "order_value_change"] == 180.0
    assert table.loc["r4", "visits"] == 1
    assert pd.isna(table.loc["r4", "visits_change"])
    skipped = app.dataframe[1].value
    assert list(zip(skipped["rep_id"], skipped["outlet_id"])) == [
        ("r1", "o9"),
        ("r2", "o5"),
    ]
    assert list(skipped["missed_in_a_row"]) == ["9", "1"]


def test_territory_comparison_table(app):
    app.run()
    app.switch_page("pages/territory_comparison.py").run()

    assert not app.exception
    table = app.dataframe[0].value.set_index("territory_id")
    assert table.loc["T1", "active_outlets"] == 9
    assert table.loc["T1", "coverage"] == pytest.approx(4 / 9)
    assert table.loc["T2", "unplanned_outlets"] == 1


def test_territory_filter_narrows_reps(app):
    app.query_params["territory"] = "T2"
    app.run()
    app.switch_page("pages/rep_performance.py").run()

    table = app.dataframe[0].value
    assert list(table["rep_id"]) == ["r4"]


def test_bad_database_url_shows_error(monkeypatch):
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", "mysql://user:secret@127.0.0.1/sfa")
    app = AppTest.from_file(DASHBOARD, default_timeout=60)

    app.run()

    assert not app.exception
    assert len(app.error) == 1
    assert "not supported" in app.error[0].value
    assert "secret" not in app.error[0].value


def test_unknown_territory_in_link_is_ignored(app):
    app.query_params["territory"] = "T9"
    app.run()

    assert not app.exception
    assert "'T9' is not available" in app.sidebar.warning[0].value
    result = {metric.label: metric.value for metric in app.metric}
    assert result["Visits"] == "7"


def test_first_start_builds_summarised_demo(monkeypatch, tmp_path):
    # Without a configured database the dashboard builds the demo company,
    # with the summaries of its weeks, so that its pages read them.
    monkeypatch.delenv("BEATBOARD_DATABASE_URL", raising=False)
    for name in ("TIMEZONE", "WEEK_START", "NEGLECT_DAYS", "OFF_SITE_M"):
        monkeypatch.delenv(f"BEATBOARD_{name}", raising=False)
    demo = tmp_path / "demo.sqlite"
    monkeypatch.setattr(connection, "DEMO_DATABASE", demo)
    connection._demo_database.clear()
    try:
        app = AppTest.from_file(DASHBOARD, default_timeout=180)
        app.run()
    finally:
        connection._demo_database.clear()

    assert not app.exception
    assert not app.error
    engine = create_engine(f"sqlite:///{demo}")
    with engine.connect() as database:
        weeks = database.execute(sa.select(sa.func.count()).select_from(summary_weeks))
        assert weeks.scalar() == DEFAULT_WEEKS + HISTORY_WEEKS
    engine.dispose()


def test_large_raw_page_hints_summaries(monkeypatch, database_url):
    # A threshold of one visit a week makes the small company large. The
    # freshness line is cached across runs, so the cache starts empty.
    monkeypatch.setattr(summary_queries, "SUMMARY_HINT_VISITS_PER_WEEK", 1)
    shared._freshness.clear()
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", database_url)
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.run()

    shared._freshness.clear()
    warnings = [warning.value for warning in app.warning]
    assert any(
        warning.startswith("The summary tables do not cover these weeks")
        and warning.endswith("The page checks the summaries again every 10 minutes.")
        for warning in warnings
    )


def test_small_raw_page_is_quiet(app):
    warnings = [warning.value for warning in app.warning]
    assert not any("summary tables" in warning for warning in warnings)
