"""Pages draw beside unusable order values, such as NaN or 1e308, on both
engines, the KPI note counts those orders as set aside, and Data health
names each value."""

import pytest

from tests.data_access.test_unusable_order_values import (
    ROWS,
    UNUSABLE_ORDERS,
    WEEK,
    write_unusable_orders,
)
from tests.database import empty_database_url, fill_database
from tests.pages.viewers import page_errors, page_paths, week_page

# The visits of ROWS have no GPS fix.
NOTE = (
    "4 visits without a usable GPS fix or outlet coordinates not judged "
    "off-site; 6 orders with an unusable value left out of every order figure. "
    "See Data health for the rows."
)
FIX = (
    "store the order's value in the company's currency, at most "
    "1,000,000,000,000 either way"
)
# The detail of each order, in the order of UNUSABLE_ORDERS, on each engine.
DETAILS = {
    "sqlite": ["'NaN'", "'abc'", "Infinity", "1e+308", "1e+308", "-1e+15"],
    "postgresql": ["NaN", "Infinity", "-Infinity", "1e+308", "1e+308", "-1e+15"],
}


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path, monkeypatch):
    url = empty_database_url(request.param, request, tmp_path)
    engine = fill_database(url, ROWS)
    write_unusable_orders(engine, request.param)
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", url)
    monkeypatch.setenv("BEATBOARD_TIMEZONE", WEEK.timezone)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("page", page_paths())
def test_page_draws_beside_unusable_values(engine, page):
    app = week_page(page, WEEK.start)

    assert page_errors(app) == []


def test_rep_performance_notes_unusable_values(engine):
    app = week_page("pages/rep_performance.py", WEEK.start)

    result = [caption.value for caption in app.caption]
    assert NOTE in result


def test_data_health_names_unusable_values(engine):
    app = week_page("pages/data_health.py", WEEK.start)
    app.selectbox(key="health_problem").set_value("order_value_unusable").run()

    summary = app.dataframe[0].value.set_index("problem")
    rows = app.dataframe[1].value.sort_values("record_id")

    assert summary.loc["Orders with an unusable value", "affected"] == 6
    assert list(rows["record_id"]) == [order[0] for order in UNUSABLE_ORDERS]
    expected = [f"value is {value}; {FIX}" for value in DETAILS[engine.dialect.name]]
    assert list(rows["detail"]) == expected
