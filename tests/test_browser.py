"""The browser harness serves a streamlit script and drives Chromium against it."""

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import WatchedPage

APP = """
import streamlit as st

st.set_page_config(page_title="Harness check")
st.title("Harness check")
st.metric("Visits", 3)
"""


@pytest.fixture
def app_url(tmp_path: Path, start_streamlit: Callable[..., str]) -> str:
    script = tmp_path / "harness_check.py"
    script.write_text(APP, encoding="utf-8")
    return start_streamlit(script)


def test_page_shows_title_without_errors(
    app_url: str, browser_page: WatchedPage
) -> None:
    page = browser_page.page
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Harness check")).to_be_visible(
        timeout=30_000
    )
    expect(page.get_by_test_id("stMetricValue")).to_have_text("3")
    screenshot = browser_page.screenshot("browser-harness-check")

    assert page.title() == "Harness check"
    assert screenshot.stat().st_size > 0
    assert browser_page.page_errors == []
    assert browser_page.dialogs == []
    assert browser_page.blocked_urls == []


def test_page_requests_to_other_hosts_are_blocked(
    app_url: str, browser_page: WatchedPage
) -> None:
    page = browser_page.page
    page.goto(app_url)

    # The .invalid top-level domain never resolves, so nothing could leave the
    # machine even if the route failed to block the request.
    result = page.evaluate(
        "fetch('http://beatboard.invalid/ping').then(() => 'sent', () => 'failed')"
    )

    assert result == "failed"
    assert browser_page.blocked_urls == ["http://beatboard.invalid/ping"]


def test_dialogs_are_recorded_and_dismissed(
    app_url: str, browser_page: WatchedPage
) -> None:
    page = browser_page.page
    page.goto(app_url)

    result = page.evaluate("confirm('Delete the beat?')")

    assert result is False
    assert browser_page.dialogs == ["confirm: Delete the beat?"]


def test_streamlit_start_failure_shows_log(
    tmp_path: Path, start_streamlit: Callable[..., str]
) -> None:
    with pytest.raises(RuntimeError, match="streamlit exited with code") as raised:
        start_streamlit(tmp_path / "missing.py")

    assert "missing.py" in str(raised.value)
