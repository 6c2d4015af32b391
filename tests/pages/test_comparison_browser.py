"""The territory comparison in Debian's Chromium: a shared link opens the same
drill-down level, its table and chart download as XLSX and PNG, and a click
on a bar of the ranking opens that territory."""

import io
import re

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.comparison_company import PREVIOUS_WEEK, ROWS, WEEK
from tests.database import sqlite_database

TIMEOUT_MS = 60_000
LINK = f"territories?week={PREVIOUS_WEEK}&region=N&territory=12.1&rank_by=strike_rate"


@pytest.fixture
def url(tmp_path, start_streamlit) -> str:
    """Serve the comparison company and return the server's address."""
    sqlite_database(tmp_path, ROWS).dispose()
    return start_streamlit(
        env={"BEATBOARD_DATABASE_URL": f"sqlite:///{tmp_path / 'sfa.sqlite'}"}
    )


def test_link_opens_territory_and_downloads(url, browser_page):
    page = browser_page.page
    # The link is the first page this server serves, as for a colleague who
    # opens it after a restart.
    page.goto(f"{url}/{LINK}")

    expect(page.get_by_role("heading", name="Territory comparison")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(page.get_by_role("heading", name="Reps")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("Hills (12.1)", exact=True)).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    assert page.url.startswith(f"{url}/territories?")
    with page.expect_download() as xlsx:
        page.get_by_role("button", name="XLSX").first.click()
    # Playwright saves downloads without a suffix, which openpyxl rejects.
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.value.path().read_bytes())).active
    header, row = (
        list(values) for values in sheet.iter_rows(max_row=2, values_only=True)
    )
    assert (
        xlsx.value.suggested_filename == "territory-reps-2026-02-23-to-2026-03-01.xlsx"
    )
    assert dict(zip(header, row))["rep_id"] == "010"
    assert dict(zip(header, row))["planned_calls"] == 2

    page.locator(".js-plotly-plot").first.hover()
    with page.expect_download() as png:
        page.locator('.modebar-btn[data-title="Download plot as a PNG"]').first.click()

    assert png.value.suggested_filename == "territory-reps.png"
    assert png.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert browser_page.blocked_urls == []
    assert browser_page.page_errors == []


def test_bar_click_opens_territory(url, browser_page):
    page = browser_page.page
    page.goto(f"{url}/territories?week={WEEK}")
    # The bars run weakest first: Lakes (no visit, a bar of no width), then
    # Harbour.
    bar = page.locator(".js-plotly-plot").first.locator(".bars .point path").nth(1)
    expect(bar).to_be_visible(timeout=TIMEOUT_MS)

    # Plotly's drag layer covers the bars, so the click goes to the bar's
    # place on the page, as a person's would.
    box = bar.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    expect(page).to_have_url(re.compile(r"territory=007"), timeout=TIMEOUT_MS)
    expect(page.get_by_role("heading", name="Reps")).to_be_visible(timeout=TIMEOUT_MS)
    # The path above the tiles names the level in bold; the ranking chart
    # that also names Harbour may still be drawn while the page reruns.
    expect(page.locator("strong", has_text="Harbour (007)")).to_be_visible()
    assert browser_page.page_errors == []
