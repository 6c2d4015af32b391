"""The data health page and the set-aside notes under the KPIs, through AppTest."""

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pages.exports import to_csv_bytes
from tests.database import sqlite_database
from tests.health_company import ROWS as HEALTH_COMPANY
from tests.metrics.small_company import ROWS as SMALL_COMPANY
from tests.metrics.test_invalid_active import INVALID_VALUES
from tests.metrics.test_invalid_active import ROWS as INVALID_ACTIVE_COMPANY

DASHBOARD = str(Path(__file__).resolve().parents[2] / "dashboard.py")


def database_url(tmp_path_factory, name, rows) -> str:
    folder = tmp_path_factory.mktemp(name)
    sqlite_database(folder, rows).dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


@pytest.fixture(scope="module")
def health_url(tmp_path_factory):
    return database_url(tmp_path_factory, "health_page", HEALTH_COMPANY)


@pytest.fixture(scope="module")
def small_url(tmp_path_factory):
    return database_url(tmp_path_factory, "set_aside", SMALL_COMPANY)


def open_app(monkeypatch, url: str) -> AppTest:
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", url)
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.query_params["week"] = "2026-03-02"
    return app


def health_page(monkeypatch, url: str) -> AppTest:
    app = open_app(monkeypatch, url)
    app.run()
    app.switch_page("pages/data_health.py").run()
    return app


def test_page_counts_each_problem(monkeypatch, health_url):
    app = health_page(monkeypatch, health_url)

    assert not app.exception
    summary = app.dataframe[0].value.set_index("problem")
    result = summary["affected"].to_dict()
    expected = {
        "Duplicate visits": 1,
        "Check-out before check-in": 1,
        "Visits longer than allowed": 1,
        "Check-in in the future": 0,
        "Visits without a GPS fix": 1,
        "GPS fix at (0, 0)": 1,
        "GPS fix out of range": 1,
        "Latitude and longitude swapped": 1,
        "Faster than a vehicle": 1,
        "Visits with an unknown rep or outlet": 2,
        "Orders without a visit": 4,
        "Orders for an unknown outlet": 1,
        "Orders for an unknown rep": 2,
        "Returns (negative value)": 1,
        "Orders with an unusable value": 1,
        "Orders with an unusable line count": 1,
        "Orders outside any visit day": 2,
        "Outlets without coordinates": 2,
        "Outlets without a territory": 2,
        "Reps without a manager": 2,
        "Reps without a territory": 2,
        "Beats that never run": 5,
        "Beats for an unknown rep": 1,
        "Beat outlets with an unknown beat or outlet": 2,
        "Outlets with an invalid active value": 0,
        "Reps with an invalid active value": 0,
    }
    assert result == expected
    assert summary.loc["Duplicate visits", "share"] == pytest.approx(1 / 11)
    assert summary.loc["Orders without a visit", "share"] == pytest.approx(4 / 11)
    # The week is the last of the 8-week trend, and the only one with data.
    trend = list(summary.loc["Orders without a visit", "trend"])
    assert trend == [0, 0, 0, 0, 0, 0, 0, 4]


def test_page_lists_rows_of_one_problem(monkeypatch, health_url):
    app = health_page(monkeypatch, health_url)

    all_rows = app.dataframe[1].value
    app.selectbox(key="health_problem").set_value("impossible_travel").run()
    rows = app.dataframe[1].value

    assert len(all_rows) == 38
    assert list(rows["record_id"]) == ["v4"]
    assert list(rows["detail"]) == ["2,307 km/h from visit v3"]
    assert rows["local_time"].iloc[0] == pd.Timestamp("2026-03-02 10:00")
    assert len(app.get("download_button")) == 1


def test_page_lists_beats_that_never_run(monkeypatch, health_url):
    app = health_page(monkeypatch, health_url)

    app.selectbox(key="health_problem").set_value("beat_never_runs").run()
    rows = app.dataframe[1].value
    summary = app.dataframe[0].value.set_index("problem")

    result = list(zip(rows["record_id"], rows["rep_id"], rows["detail"]))
    expected = [
        ("b2", "r1", "weekday 9 is outside 1 (Monday) to 7 (Sunday)"),
        ("b3", "r2", "every_n_weeks is 0; use 1, 2 or 4"),
        ("b4", "r3", "end_date is before start_date"),
        ("b5", "r9", "weekday 0 is outside 1 (Monday) to 7 (Sunday)"),
        ("b6", "r1", "weekday 0 is outside 1 (Monday) to 7 (Sunday)"),
    ]
    assert result == expected
    assert set(rows["table_name"]) == {"beats"}
    assert summary.loc["Beats that never run", "share"] == pytest.approx(5 / 6)
    assert summary.loc["Beats that never run", "trend"] is None
    captions = [caption.value for caption in app.caption]
    assert any(
        caption.endswith("active reps, 6 beats and 8 beat_outlets rows.")
        for caption in captions
    )


def test_page_lists_invalid_active_values(monkeypatch, tmp_path):
    engine = sqlite_database(tmp_path, INVALID_ACTIVE_COMPANY)
    with engine.begin() as connection:
        for statement in INVALID_VALUES:
            connection.exec_driver_sql(statement)
    engine.dispose()
    app = health_page(monkeypatch, f"sqlite:///{tmp_path / 'sfa.sqlite'}")

    summary = app.dataframe[0].value.set_index("problem")["affected"]
    app.selectbox(key="health_problem").set_value("rep_invalid_active").run()
    rows = app.dataframe[1].value

    assert not app.exception
    assert summary["Outlets with an invalid active value"] == 2
    assert summary["Reps with an invalid active value"] == 2
    assert summary["Reps without a manager"] == 1
    assert list(rows["record_id"]) == ["xr1", "xr2"]
    assert list(rows["detail"]) == [
        "active is 'false', read as inactive; store 1 (active) or 0 (inactive)",
        "active is 2, read as inactive; store 1 (active) or 0 (inactive)",
    ]


def test_trend_ticks_are_week_starts(monkeypatch, health_url):
    # Plotly's automatic date ticks fall on Sundays, which would mislabel
    # weeks that start on Monday.
    app = health_page(monkeypatch, health_url)

    figure = json.loads(app.get("plotly_chart")[0].proto.spec)
    result = figure["layout"]["xaxis"]["tickvals"]

    expected = [
        "2026-01-12",
        "2026-01-19",
        "2026-01-26",
        "2026-02-02",
        "2026-02-09",
        "2026-02-16",
        "2026-02-23",
        "2026-03-02",
    ]
    assert result == expected


def test_rules_are_shown_whole(monkeypatch, health_url):
    # A static table wraps long text, where a data frame cuts it off.
    app = health_page(monkeypatch, health_url)

    rules = app.table[0].value

    assert list(rules.columns) == ["Rows flagged", "What the KPIs do"]
    assert len(rules) == 26
    assert rules.index[0] == "Duplicate visits"
    assert len(app.dataframe) == 2


def test_rep_performance_notes_set_aside_rows(monkeypatch, small_url):
    app = open_app(monkeypatch, small_url)
    app.run()
    app.switch_page("pages/rep_performance.py").run()

    assert not app.exception
    result = [caption.value for caption in app.caption]
    expected = (
        "1 duplicate visit excluded; 5 visits without a usable GPS fix or outlet "
        "coordinates not judged off-site; 1 order with no known rep left out of "
        "rep order value. See Data health for the rows."
    )
    assert expected in result


def test_overview_notes_set_aside_rows(monkeypatch, small_url):
    app = open_app(monkeypatch, small_url)
    app.run()

    assert not app.exception
    result = [caption.value for caption in app.caption]
    assert any(value.startswith("1 duplicate visit excluded;") for value in result)


def test_download_escapes_formulas():
    frame = pd.DataFrame(
        {
            "record_id": ['=HYPERLINK("http://x")', "V1", "-1+2", "@SUM(A1)"],
            "measure": [-75.0, None, 3.5, 0.0],
        }
    )

    result = to_csv_bytes(frame).decode("utf-8-sig")

    expected = (
        "record_id,measure\r\n"
        '"\'=HYPERLINK(""http://x"")",-75.0\r\n'
        "V1,\r\n"
        "'-1+2,3.5\r\n"
        "'@SUM(A1),0.0\r\n"
    )
    assert result == expected


def test_tables_show_missing_values_blank(monkeypatch, health_url):
    app = health_page(monkeypatch, health_url)

    result = [table.proto.placeholder for table in app.dataframe]

    assert result
    assert set(result) == {""}
