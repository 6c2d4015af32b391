"""Check-ins that another program wrote before 1900, or as PostgreSQL's
'-infinity', lie outside every period, so they date no week of the period
picker. A check-out written as 'infinity' reads as a missing check-out.
Every page still draws, and the summaries build."""

from datetime import date

import pytest

from data_access import queries, summaries
from data_access.filters import Scope
from tests.database import empty_database_url, fill_database
from tests.pages.test_offset_check_ins import ROWS
from tests.pages.viewers import demo_app, page_errors, page_paths, week_page

TIMEZONE = "Asia/Kolkata"
WEEK_START = date(2026, 3, 2)
OLD_VISIT = (
    "INSERT INTO visits (visit_id, rep_id, outlet_id, check_in, check_out) "
    "VALUES ('V0', 'R1', 'O1', '1899-12-31 12:00:00.000000', "
    "'1899-12-31 12:10:00.000000')"
)
# PostgreSQL stores it, and psycopg raises when it reads it into Python.
MINUS_INFINITY_VISIT = (
    "INSERT INTO visits (visit_id, rep_id, outlet_id, check_in) "
    "VALUES ('V9', 'R1', 'O2', '-infinity')"
)
# PostgreSQL raised when it subtracted the check-in from this check-out.
# SQLite stores the word as text.
ENDLESS_VISIT = "UPDATE visits SET check_out = 'infinity' WHERE visit_id = 'V1'"


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path, monkeypatch):
    url = empty_database_url(request.param, request, tmp_path)
    engine = fill_database(url, ROWS)
    if request.param == "sqlite":
        statements = [OLD_VISIT, ENDLESS_VISIT]
    else:
        statements = [OLD_VISIT, MINUS_INFINITY_VISIT, ENDLESS_VISIT]
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", url)
    monkeypatch.setenv("BEATBOARD_TIMEZONE", TIMEZONE)
    yield engine
    engine.dispose()


def test_summaries_build_beside_endless_visit(engine):
    url = engine.url.render_as_string(hide_password=False)
    arguments = ["--db", url, "--from", "2026-03-02", "--to", "2026-03-08"]

    exit_code = summaries.main([*arguments, "--timezone", TIMEZONE])

    assert exit_code == 0


def test_date_range_leaves_out_old_check_ins(engine):
    result = queries.visit_date_range(engine, Scope(), TIMEZONE, 120.0)

    assert result == queries.VisitDates(
        date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 4)
    )


@pytest.mark.parametrize("page", page_paths())
def test_page_draws_beside_old_check_ins(engine, page):
    app = week_page(page, WEEK_START)

    assert page_errors(app) == []


def test_rep_week_draws_beside_endless_visit(engine):
    app = demo_app()
    app.query_params["week"] = WEEK_START.isoformat()
    app.query_params["rep"] = "R1"
    app.run()
    app.switch_page("pages/rep_performance.py").run()

    assert page_errors(app) == []
