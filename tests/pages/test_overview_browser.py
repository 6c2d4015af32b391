"""The Overview in Debian's Chromium: the /home address opens it without
Streamlit's "Page not found" dialog."""

import pytest
from playwright.sync_api import expect

from tests.browser import WatchedPage
from tests.comparison_company import ROWS, WEEK
from tests.database import sqlite_database

TIMEOUT_MS = 60_000


@pytest.fixture
def url(tmp_path, start_streamlit) -> str:
    """Serve the comparison company and return the server's address."""
    sqlite_database(tmp_path, ROWS).dispose()
    return start_streamlit(
        env={"BEATBOARD_DATABASE_URL": f"sqlite:///{tmp_path / 'sfa.sqlite'}"}
    )


def test_home_path_opens_overview(url: str, browser_page: WatchedPage):
    page = browser_page.page

    page.goto(f"{url}/home?week={WEEK}")

    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(page.get_by_text("Needs attention")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    assert page.url == f"{url}/?week={WEEK}"
    assert browser_page.page_errors == []
    assert browser_page.blocked_urls == []
