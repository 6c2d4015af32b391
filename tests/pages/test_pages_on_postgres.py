"""Every page shows the same figures on PostgreSQL as on SQLite, for the same rows.

The pages run through AppTest on the hand-computed review week. Each table and
tile of each page is compared cell by cell between the two engines.
"""

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.database import fill_database, sqlite_database
from tests.review_company import ROWS, WEEK

DASHBOARD = str(Path(__file__).resolve().parents[2] / "dashboard.py")
PAGES = [
    "pages/overview.py",
    "pages/rep_performance.py",
    "pages/territory_map.py",
    "pages/territory_comparison.py",
    "pages/data_health.py",
]


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("pages-sqlite")
    sqlite_database(folder, ROWS).dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


@pytest.fixture
def postgres_company_url(fresh_postgres_url) -> str:
    fill_database(fresh_postgres_url, ROWS).dispose()
    return fresh_postgres_url


def page_figures(monkeypatch, url: str, page: str) -> dict:
    """Run page on the database at url; return its tiles, tables and messages."""
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", url)
    app = AppTest.from_file(DASHBOARD, default_timeout=120)
    app.query_params["week"] = WEEK[0]
    app.run()
    if page != PAGES[0]:
        app.switch_page(page).run()

    assert not app.exception, page
    return {
        "tiles": [(tile.label, tile.value) for tile in app.metric],
        "tables": [table.value.reset_index(drop=True) for table in app.dataframe],
        "errors": [error.value for error in app.error],
        "warnings": [warning.value for warning in app.warning],
        # The freshness line carries the time of the read, which differs.
        "captions": [
            caption.value
            for caption in app.caption
            if not caption.value.startswith("Data: latest check-in")
        ],
    }


@pytest.mark.parametrize("page", PAGES)
def test_page_matches_sqlite(monkeypatch, sqlite_url, postgres_company_url, page):
    expected = page_figures(monkeypatch, sqlite_url, page)

    result = page_figures(monkeypatch, postgres_company_url, page)

    assert result["errors"] == expected["errors"] == []
    assert result["warnings"] == expected["warnings"]
    assert result["tiles"] == expected["tiles"]
    assert result["captions"] == expected["captions"]
    assert len(result["tables"]) == len(expected["tables"])
    for postgres_table, sqlite_table in zip(result["tables"], expected["tables"]):
        pd.testing.assert_frame_equal(postgres_table, sqlite_table, check_dtype=False)
