"""Scope, tampered links, hostile names and errors in Debian's Chromium, on a
server that runs the real dashboard in demo mode.

The users table contains lead A only, so demo mode opens as a line manager.
"""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests import two_teams
from tests.browser import DASHBOARD, WatchedPage
from tests.database import sqlite_database

TIMEOUT_MS = 60_000
HOSTILE_LINK = "<img src=x onerror=alert('link')>"
PAGE_PATHS = [""] + re.findall(
    r'url_path="(\w+)"(?!, default=True)', DASHBOARD.read_text()
)


def lead_a_rows() -> dict:
    rows = two_teams.hostile_rows()
    rows["users"] = [row for row in rows["users"] if row["user_id"] == two_teams.LEAD_A]
    return rows


@pytest.fixture
def lead_a_url(tmp_path: Path, start_streamlit: Callable[..., str]) -> str:
    sqlite_database(tmp_path, lead_a_rows()).dispose()
    return start_streamlit(
        env={
            "BEATBOARD_DATABASE_URL": f"sqlite:///{tmp_path / 'sfa.sqlite'}",
            "BEATBOARD_TILES_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png",
        }
    )


def wait_for_page(page: Page) -> None:
    """Wait until the run has drawn the page: its title, the end of the script
    run, and no placeholder of an element from the previous run left.

    The title alone shows while the run goes on: the Overview draws its tiles
    without their changes first and draws them again at the end of the run.
    """
    expect(page.locator("h1").first).to_be_visible(timeout=TIMEOUT_MS)
    # Streamlit 1.67 marks the app root with the state of its script run.
    finished = page.locator(
        "[data-testid='stApp'][data-test-script-state='notRunning']"
    )
    expect(finished).to_have_count(1, timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=TIMEOUT_MS)
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=TIMEOUT_MS)


def visible_text(page: Page) -> str:
    return page.locator("body").inner_text()


def test_direct_link_outside_scope_shows_message(
    lead_a_url: str, browser_page: WatchedPage
):
    page = browser_page.page

    page.goto(f"{lead_a_url}/reps?week={two_teams.WEEK}&territory=ter-s")
    wait_for_page(page)
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=TIMEOUT_MS)
    text = visible_text(page)
    browser_page.screenshot("access-direct-link")

    assert (
        "The link's territory 'ter-s' is not available here, so it is ignored." in text
    )
    assert "Rep performance" in text
    # The message repeats the link's own text, and nothing else of ter-s.
    foreign = two_teams.FOREIGN[two_teams.LEAD_A] - {"ter-s"}
    leaked = sorted(marker for marker in foreign if marker in text)
    assert leaked == []
    assert browser_page.page_errors == []


@pytest.mark.parametrize("rep", ["rep-b2", "rep-s1"])
def test_map_route_link_outside_scope_shows_nothing(
    lead_a_url: str, browser_page: WatchedPage, rep: str
):
    page = browser_page.page
    # A new server's first request takes Streamlit's path for folders of page
    # files, which drops the page's own link parameters, so open the start first.
    page.goto(f"{lead_a_url}/?week={two_teams.WEEK}")
    wait_for_page(page)

    page.goto(f"{lead_a_url}/map?week={two_teams.WEEK}&map_rep={rep}")
    wait_for_page(page)
    page.get_by_text("Day route", exact=True).click()
    expect(page.get_by_role("combobox", name="Day")).to_be_visible(timeout=TIMEOUT_MS)
    wait_for_page(page)
    shown = visible_text(page) + " ".join(
        page.locator("input").evaluate_all("inputs => inputs.map(input => input.value)")
    )

    leaked = sorted(
        marker for marker in two_teams.FOREIGN[two_teams.LEAD_A] if marker in shown
    )
    assert leaked == []
    assert "(rep-a1)" in shown or "(rep-a2)" in shown
    assert browser_page.page_errors == []


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_hostile_values_show_as_text(
    lead_a_url: str, browser_page: WatchedPage, path: str
):
    page = browser_page.page

    page.goto(f"{lead_a_url}/{path}?week={two_teams.WEEK}&rep={HOSTILE_LINK}")
    wait_for_page(page)
    text = visible_text(page)

    assert f'The link\'s rep "{HOSTILE_LINK}" is not available here' in text
    assert browser_page.dialogs == []
    assert browser_page.page_errors == []
    assert page.locator("img[src='x']").count() == 0


def test_hostile_names_in_filters_show_as_text(
    lead_a_url: str, browser_page: WatchedPage
):
    page = browser_page.page
    page.goto(f"{lead_a_url}/?week={two_teams.WEEK}")
    wait_for_page(page)

    page.get_by_role("combobox", name="Territory").click()
    expect(page.get_by_role("option").first).to_be_visible(timeout=TIMEOUT_MS)
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")

    assert f"{two_teams.HOSTILE_TERRITORY} (ter-a)" in options
    assert browser_page.dialogs == []


def test_page_error_shows_reference_only(
    tmp_path: Path, start_streamlit: Callable[..., str], browser_page: WatchedPage
):
    engine = sqlite_database(tmp_path, lead_a_rows())
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE beats"))
    engine.dispose()
    url = start_streamlit(
        env={"BEATBOARD_DATABASE_URL": f"sqlite:///{tmp_path / 'sfa.sqlite'}"}
    )
    page = browser_page.page

    page.goto(f"{url}/reps?week={two_teams.WEEK}")
    expect(page.get_by_text("This page could not be drawn")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    text = visible_text(page)

    for detail in ("Traceback", "SELECT", "beats", "sqlite", str(tmp_path), ".py"):
        assert detail not in text
