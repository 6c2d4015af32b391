"""Pages draw beside order values that are not finite numbers, on both
engines, and the KPI note counts those orders as set aside."""

import pytest

from tests.data_access.test_non_finite_order_values import (
    ROWS,
    WEEK,
    write_unusable_orders,
)
from tests.database import fill_database
from tests.pages.viewers import demo_app, page_errors, page_paths

# The visits of ROWS have no GPS fix.
NOTE = (
    "4 visits without a usable GPS fix or outlet coordinates not judged "
    "off-site; 3 orders with a value that is not a finite number left out of "
    "every order figure. See Data health for the rows."
)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path, monkeypatch):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sfa.sqlite'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    engine = fill_database(url, ROWS)
    write_unusable_orders(engine, request.param)
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", url)
    monkeypatch.setenv("BEATBOARD_TIMEZONE", WEEK.timezone)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("page", page_paths())
def test_page_draws_beside_unusable_values(engine, page):
    app = demo_app()
    app.query_params["week"] = WEEK.start.isoformat()
    app.run()
    if page != "pages/overview.py":
        app.switch_page(page).run()

    assert page_errors(app) == []


def test_rep_performance_notes_unusable_values(engine):
    app = demo_app()
    app.query_params["week"] = WEEK.start.isoformat()
    app.run()
    app.switch_page("pages/rep_performance.py").run()

    result = [caption.value for caption in app.caption]
    assert NOTE in result
