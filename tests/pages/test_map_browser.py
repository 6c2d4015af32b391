"""The territory map in Debian's Chromium: the real dashboard on the map
company, with Leaflet loaded from the page and nothing from another host."""

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import FrameLocator, Request, expect

from pages.outlet_map import OUTLINE_COLOUR, STATUS_COLOURS, STATUS_LABELS
from tests.browser import WatchedPage, is_local
from tests.database import sqlite_database
from tests.pages.map_company import DRAWN, HOSTILE, LEGEND, ROWS, UNLOCATED, WEEK

MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
# Port 9 (discard) normally has no listener, so tile requests fail at once on
# 127.0.0.1 and a request the map makes to another host is easy to spot.
CLOSED_TILES_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
NAMES = {outlet["outlet_id"]: outlet["name"] for outlet in ROWS["outlets"]}
TIMEOUT_MS = 60_000


@pytest.fixture
def map_url(tmp_path: Path, start_streamlit: Callable[..., str]) -> str:
    sqlite_database(tmp_path, ROWS).dispose()
    return start_streamlit(
        env={
            "BEATBOARD_DATABASE_URL": f"sqlite:///{tmp_path / 'sfa.sqlite'}",
            "BEATBOARD_TILES_URL": CLOSED_TILES_URL,
        }
    )


@pytest.fixture
def map_requests(browser_page: WatchedPage) -> list[str]:
    """URLs requested by the map's frame, recorded from the first page load."""
    requested: list[str] = []

    def record(request: Request) -> None:
        if "streamlit_folium" in request.frame.url:
            requested.append(request.url)

    browser_page.page.on("request", record)
    return requested


@pytest.fixture
def map_frame(
    map_url: str, browser_page: WatchedPage, map_requests: list[str]
) -> FrameLocator:
    """Open the overview, then the map through the sidebar as a manager would,
    and wait until the outlets are drawn."""
    page = browser_page.page
    page.goto(f"{map_url}/?week={WEEK}")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    page.get_by_role("link", name="Territory map").click()
    frame = page.frame_locator(MAP_FRAME)
    expect(frame.locator("path.leaflet-interactive").first).to_be_visible(
        timeout=TIMEOUT_MS
    )
    return frame


def mark_outlet(frame: FrameLocator, outlet_id: str) -> str:
    """Tag the circle marker of one outlet and return a selector for it."""
    found = frame.locator("#map_div").evaluate(
        """(container, outletId) => {
            let found = false;
            window.map.eachLayer(layer => {
                if (layer.feature && layer.feature.properties.outlet_id === outletId) {
                    layer.getElement().setAttribute("data-outlet", outletId);
                    found = true;
                }
            });
            return found;
        }""",
        outlet_id,
    )
    assert found, f"no marker for outlet {outlet_id}"
    return f'path[data-outlet="{outlet_id}"]'


def test_map_draws_outlets_by_status(
    map_frame: FrameLocator, browser_page: WatchedPage, map_requests: list[str]
):
    fills = map_frame.locator("path.leaflet-interactive").evaluate_all(
        "paths => paths.map(path => path.getAttribute('fill'))"
    )
    strokes = map_frame.locator("path.leaflet-interactive").evaluate_all(
        "paths => paths.map(path => path.getAttribute('stroke'))"
    )
    legend = map_frame.locator(".beatboard-legend").inner_text()
    leaflet_version = map_frame.locator("#map_div").evaluate("() => L.version")
    browser_page.screenshot("territory-map")

    result = {status: fills.count(colour) for status, colour in STATUS_COLOURS.items()}
    assert result == DRAWN
    assert strokes.count(OUTLINE_COLOUR) == 2
    assert legend.split() == [
        word
        for status, count in LEGEND.items()
        for word in (*STATUS_LABELS[status].split(), str(count))
    ]
    assert leaflet_version == "1.9.4"
    expect(
        browser_page.page.get_by_text(f"{UNLOCATED} outlets have no usable location")
    ).to_be_visible()
    assert map_requests != []
    assert [url for url in map_requests if not is_local(url)] == []
    assert browser_page.page_errors == []
    assert browser_page.dialogs == []


@pytest.mark.parametrize("outlet_id", ["o1", "o2", "o3", "o4", "o5"])
def test_tooltip_shows_outlet_name_exactly(
    map_frame: FrameLocator, browser_page: WatchedPage, outlet_id: str
):
    marker = mark_outlet(map_frame, outlet_id)

    map_frame.locator(marker).hover()
    tooltip = map_frame.locator(".leaflet-tooltip")

    expect(tooltip).to_have_text(NAMES[outlet_id])
    assert tooltip.locator("img, script, b").count() == 0
    assert browser_page.dialogs == []
    assert browser_page.page_errors == []


def test_click_opens_popup_and_details(
    map_frame: FrameLocator, browser_page: WatchedPage, map_requests: list[str]
):
    page = browser_page.page
    marker = mark_outlet(map_frame, "o1")

    map_frame.locator(marker).click()
    popup = map_frame.locator(".leaflet-popup-content")
    expect(popup).to_contain_text(HOSTILE)
    expect(page.get_by_role("heading", name="Selected outlet")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    browser_page.screenshot("territory-map-clicked")

    assert popup.inner_text().split("\n") == [
        f"Outlet\t{HOSTILE}",
        "Outlet ID\to1",
        "Status\tVisited",
        "Last visit\t2026-03-02 (6 days ago)",
        "Territory\tMumbai <North>",
        "Channel\tGrocery",
    ]
    assert popup.locator("img, script").count() == 0
    assert [url for url in map_requests if not is_local(url)] == []
    assert browser_page.dialogs == []
    assert browser_page.page_errors == []
