"""Pages draw beside line counts that are not whole numbers from 0 to
100,000, on both engines, Rep performance counts only the usable
lines, and Data health names each unusable line count."""

import pytest

from tests.data_access.test_unusable_line_counts import (
    LISTED,
    ROWS,
    WEEK,
    write_line_counts,
)
from tests.database import fill_database
from tests.pages.viewers import demo_app, page_errors, page_paths


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path, monkeypatch):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sfa.sqlite'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    engine = fill_database(url, ROWS)
    write_line_counts(engine, request.param)
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", url)
    monkeypatch.setenv("BEATBOARD_TIMEZONE", WEEK.timezone)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("page", page_paths())
def test_page_draws_beside_unusable_line_counts(engine, page):
    app = demo_app()
    app.query_params["week"] = WEEK.start.isoformat()
    app.run()
    if page != "pages/overview.py":
        app.switch_page(page).run()

    assert page_errors(app) == []


def test_rep_performance_counts_usable_lines(engine):
    app = demo_app()
    app.query_params["week"] = WEEK.start.isoformat()
    app.run()
    app.switch_page("pages/rep_performance.py").run()

    table = app.dataframe[0].value.set_index("rep_id")

    # Only A1's 3 and A6's 100,000 lines over the 4 productive visits.
    assert table.loc["R1", "lines_per_call"] == 25_000.75
    assert table.loc["R1", "orders"] == 8
    assert table.loc["R1", "order_value"] == 270


def test_data_health_lists_unusable_line_counts(engine):
    app = demo_app()
    app.query_params["week"] = WEEK.start.isoformat()
    app.run()
    app.switch_page("pages/data_health.py").run()
    app.selectbox(key="health_problem").set_value("order_line_count_unusable").run()

    summary = app.dataframe[0].value.set_index("problem")
    rows = app.dataframe[1].value

    listed = LISTED["sqlite" if engine.dialect.name == "sqlite" else "postgres"]
    assert summary.loc["Orders with an unusable line count", "affected"] == len(listed)
    assert sorted(rows["record_id"]) == [order_id for order_id, _, _ in listed]
    expected = [
        f"line_count is {stored}; store the number of lines on the order, "
        "from 0 to 100,000"
        for _, stored, _ in listed
    ]
    assert list(rows.sort_values("record_id")["detail"]) == expected
