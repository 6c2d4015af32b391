"""Check-ins that another program wrote as text with a UTC offset, such as
'2026-03-04 19:00:00+00:00', give the same local dates as the loader's
naive UTC text on SQLite, and no report or page fails on them."""

from datetime import date

import pytest

from data_access import summaries, summary_queries
from data_access.filters import Period, Scope, Settings
from metrics import reports
from tests.database import sqlite_database
from tests.pages.viewers import demo_app, page_errors, page_paths

SETTINGS = Settings(timezone="Asia/Kolkata")
WEEK = Period(date(2026, 3, 2), date(2026, 3, 8), "Asia/Kolkata")
ROWS = {
    "territories": [{"territory_id": "T1", "name": "North", "region_id": "N"}],
    "reps": [{"rep_id": "R1", "name": "Asha", "territory_id": "T1"}],
    "outlets": [
        {"outlet_id": f"O{number}", "name": f"Kiosk {number}", "territory_id": "T1"}
        for number in (1, 2, 3)
    ],
    "visits": [
        {
            "visit_id": "V1",
            "rep_id": "R1",
            "outlet_id": "O1",
            "check_in": "2026-03-03 05:00:00",
        },
        {
            "visit_id": "V2",
            "rep_id": "R1",
            "outlet_id": "O2",
            "check_in": "2026-03-04 05:00:00",
        },
    ],
}


@pytest.fixture
def engine(tmp_path, monkeypatch):
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", f"sqlite:///{tmp_path / 'sfa.sqlite'}")
    monkeypatch.setenv("BEATBOARD_TIMEZONE", SETTINGS.timezone)
    engine = sqlite_database(tmp_path, ROWS)
    # 19:00 UTC is half past midnight of the next day in Asia/Kolkata.
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE visits SET check_in = '2026-03-04 19:00:00+00:00' "
            "WHERE visit_id = 'V2'"
        )
    yield engine
    engine.dispose()


def test_outlets_report_reads_offset_check_in(engine):
    report = reports.outlets_report(engine, WEEK, Scope(), SETTINGS)

    last_visits = dict(zip(report["outlet_id"], report["last_visit_date"]))
    assert last_visits["O1"] == date(2026, 3, 3)
    assert last_visits["O2"] == date(2026, 3, 5)
    assert last_visits["O3"] is None


def test_reps_report_counts_offset_check_in(engine):
    report = reports.reps_report(engine, WEEK, Scope(), SETTINGS)

    assert report.loc[0, "visits"] == 2


@pytest.mark.parametrize("page", page_paths())
def test_page_draws_offset_check_in(engine, page):
    app = demo_app()
    app.query_params["week"] = WEEK.start.isoformat()
    app.run()
    if page != "pages/overview.py":
        app.switch_page(page).run()

    assert page_errors(app) == []


def test_offset_dates_agree_after_summaries(engine, tmp_path):
    # The summary build dates visits in SQL, the raw read in pandas.
    raw = reports.outlets_report(engine, WEEK, Scope(), SETTINGS)
    exit_code = summaries.main(
        [
            "--db", f"sqlite:///{tmp_path / 'sfa.sqlite'}",
            "--from", WEEK.start.isoformat(), "--to", WEEK.end.isoformat(),
            "--timezone", SETTINGS.timezone,
        ]
    )  # fmt: skip

    summarised = reports.outlets_report(engine, WEEK, Scope(), SETTINGS)

    assert exit_code == 0
    assert summary_queries.summary_status(engine, WEEK, SETTINGS).usable
    raw_dates = dict(zip(raw["outlet_id"], raw["last_visit_date"]))
    summary_dates = dict(zip(summarised["outlet_id"], summarised["last_visit_date"]))
    assert raw_dates["O2"] == date(2026, 3, 5)
    assert summary_dates == raw_dates
