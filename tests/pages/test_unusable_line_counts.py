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
from tests.database import empty_database_url, fill_database
from tests.pages.viewers import page_errors, page_paths, week_page


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path, monkeypatch):
    url = empty_database_url(request.param, request, tmp_path)
    engine = fill_database(url, ROWS)
    write_line_counts(engine, request.param)
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", url)
    monkeypatch.setenv("BEATBOARD_TIMEZONE", WEEK.timezone)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("page", page_paths())
def test_page_draws_beside_unusable_line_counts(engine, page):
    app = week_page(page, WEEK.start)

    assert page_errors(app) == []


def test_rep_performance_counts_usable_lines(engine):
    app = week_page("pages/rep_performance.py", WEEK.start)

    table = app.dataframe[0].value.set_index("rep_id")

    # Only A1's 3 and A6's 100,000 lines over the 4 productive visits.
    assert table.loc["R1", "lines_per_call"] == 25_000.75
    assert table.loc["R1", "orders"] == 8
    assert table.loc["R1", "order_value"] == 270


def test_data_health_lists_unusable_line_counts(engine):
    app = week_page("pages/data_health.py", WEEK.start)
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
