"""The territory map in Debian's Chromium: the real dashboard on the map
company (hostile names) and on the demo company, with Leaflet and the
outlet layers loaded from the page and nothing from another host."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Frame, Page, Request, WebSocket, expect

from fixtures.demo import build_demo_database
from pages.outlet_map import STATUS_COLOURS, STATUS_LABELS
from tests.browser import WatchedPage, is_local
from tests.database import sqlite_database
from tests.pages.map_company import DRAWN, HOSTILE, LEGEND, ROWS, UNLOCATED, WEEK

# Port 9 (discard) normally has no listener, so tile requests fail at once on
# 127.0.0.1 and a request the map makes to another host is easy to spot.
CLOSED_TILES_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
NAMES = {outlet["outlet_id"]: outlet["name"] for outlet in ROWS["outlets"]}
TIMEOUT_MS = 60_000
POLL_MS = 200
# Zoom level at which single outlets of the map company stand apart.
STREET_ZOOM = 16


@dataclass
class SocketTraffic:
    """Sizes of the frames on the page's WebSocket to the Streamlit server."""

    sent: list[int] = field(default_factory=list)
    received: list[int] = field(default_factory=list)

    def watch(self, socket: WebSocket) -> None:
        socket.on("framesent", lambda payload: self.sent.append(len(payload)))
        socket.on("framereceived", lambda payload: self.received.append(len(payload)))


@pytest.fixture
def traffic(browser_page: WatchedPage) -> SocketTraffic:
    watched = SocketTraffic()
    browser_page.page.on("websocket", watched.watch)
    return watched


@pytest.fixture
def map_requests(browser_page: WatchedPage) -> list[str]:
    """URLs requested by the map's frame, recorded from the first page load."""
    requested: list[str] = []

    def record(request: Request) -> None:
        if "streamlit_folium" in request.frame.url:
            requested.append(request.url)

    browser_page.page.on("request", record)
    return requested


def serve(start_streamlit: Callable[..., str], database: Path) -> str:
    return start_streamlit(
        env={
            "BEATBOARD_DATABASE_URL": f"sqlite:///{database}",
            "BEATBOARD_TILES_URL": CLOSED_TILES_URL,
        }
    )


def map_of_layer(page: Page, layer: str) -> Frame:
    """Wait for the map frame that draws layer ("status", "neglect" or
    "route") and return it. While Streamlit swaps maps, the old frame can
    stay in the page for a moment beside the new one."""
    selector = f'#map_div[data-map-layer="{layer}"]'
    for _ in range(TIMEOUT_MS // POLL_MS):
        for frame in page.frames:
            if "streamlit_folium" not in frame.url:
                continue
            try:
                if frame.query_selector(selector):
                    return frame
            except PlaywrightError:
                # The old map's frame went away while we looked at it.
                continue
        page.wait_for_timeout(POLL_MS)
    raise AssertionError(f"no map of the {layer} layer within {TIMEOUT_MS} ms")


def switch_layer(page: Page, label: str, layer: str) -> Frame:
    """Pick a layer by its label and return the frame of its map."""
    page.get_by_text(label, exact=True).click()
    return map_of_layer(page, layer)


def open_map(page: Page, url: str, query: str = "") -> Frame:
    """Open the overview, then the map through the sidebar as a manager would,
    and wait until the outlet layer has drawn."""
    page.goto(f"{url}/{query}")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    page.get_by_role("link", name="Territory map").click()
    frame = map_of_layer(page, "status")
    expect(frame.locator("#map_div[data-outlets-shown]")).to_be_attached(
        timeout=TIMEOUT_MS
    )
    return frame


@pytest.fixture
def map_company(tmp_path: Path, start_streamlit: Callable[..., str]) -> str:
    sqlite_database(tmp_path, ROWS).dispose()
    return serve(start_streamlit, tmp_path / "sfa.sqlite")


@pytest.fixture
def map_frame(
    map_company: str,
    browser_page: WatchedPage,
    map_requests: list[str],
    traffic: SocketTraffic,
) -> Frame:
    return open_map(browser_page.page, map_company, f"?week={WEEK}")


def map_view(frame: Frame) -> list:
    return frame.locator("#map_div").evaluate(
        "() => [map.getCenter().lat, map.getCenter().lng, map.getZoom()]"
    )


def outlet_point(page: Page, frame: Frame, name: str) -> tuple[float, float]:
    """Centre the map on the outlet called name at street zoom and return its
    position in the page, for the mouse."""
    point = frame.locator("#map_div").evaluate(
        """(container, [name, zoom]) => {
            const layer = window.beatboardOutletLayer;
            for (let i = 0; i < layer.columns.count; i++) {
                if (layer.name(i) === name) {
                    const place = [layer.columns.lat[i], layer.columns.lng[i]];
                    map.setView(place, zoom, {animate: false});
                    const point = map.latLngToContainerPoint(place);
                    return [point.x, point.y];
                }
            }
            return null;
        }""",
        [name, STREET_ZOOM],
    )
    assert point is not None, f"no outlet called {name!r} on the map"
    box = frame.locator("#map_div").bounding_box()
    return box["x"] + point[0], box["y"] + point[1]


def test_map_draws_outlets_by_status(
    map_frame: Frame,
    browser_page: WatchedPage,
    map_requests: list[str],
):
    fills = map_frame.locator("#map_div").evaluate(
        """() => Array.from(window.beatboardOutletLayer.points.values(),
            point => point.options.fillColor)"""
    )
    shown = map_frame.locator("#map_div").get_attribute("data-outlets-shown")
    legend = map_frame.locator(".beatboard-legend").inner_text()
    leaflet_version = map_frame.locator("#map_div").evaluate("() => L.version")
    browser_page.screenshot("territory-map")

    result = {status: fills.count(colour) for status, colour in STATUS_COLOURS.items()}
    assert shown == "points"
    assert result == DRAWN
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
    assert browser_page.blocked_urls == []
    assert browser_page.page_errors == []
    assert browser_page.dialogs == []


@pytest.mark.parametrize("outlet_id", ["o1", "o2", "o3", "o4", "o5"])
def test_tooltip_shows_outlet_name_exactly(
    map_frame: Frame, browser_page: WatchedPage, outlet_id: str
):
    x, y = outlet_point(browser_page.page, map_frame, NAMES[outlet_id])

    browser_page.page.mouse.move(x, y)
    tooltip = map_frame.locator(".leaflet-tooltip")

    expect(tooltip).to_have_text(NAMES[outlet_id])
    assert tooltip.locator("img, script, b, a").count() == 0
    assert browser_page.dialogs == []
    assert browser_page.page_errors == []


def test_click_shows_details_map_stays(
    map_frame: Frame,
    browser_page: WatchedPage,
    map_requests: list[str],
    traffic: SocketTraffic,
):
    page = browser_page.page
    x, y = outlet_point(page, map_frame, HOSTILE)
    view_before = map_view(map_frame)
    received_before = sum(traffic.received)

    page.mouse.click(x, y)
    popup = map_frame.locator(".leaflet-popup-content")
    expect(popup).to_contain_text(HOSTILE)
    expect(page.get_by_role("heading", name="Outlet")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("Last visits")).to_be_visible()
    browser_page.screenshot("territory-map-clicked")
    facts = page.get_by_test_id("stTable").first

    assert popup.inner_text().split("\n") == [
        f"Outlet\t{HOSTILE}",
        "Status\tVisited",
        "Last visit\t2026-03-02 (6 days ago)",
        "Territory\tMumbai <North>",
    ]
    assert popup.locator("img, script").count() == 0
    expect(facts.get_by_text(HOSTILE, exact=True)).to_be_visible()
    assert page.locator('[data-testid="stTable"] img').count() == 0
    assert map_view(map_frame) == view_before
    # The rerun sends the map again only as a reference to the copy the
    # browser keeps, so the reply is a small part of what the map weighs.
    assert sum(traffic.received) - received_before < 60_000
    assert [url for url in map_requests if not is_local(url)] == []
    assert browser_page.dialogs == []
    assert browser_page.page_errors == []


def test_pan_and_zoom_send_nothing_to_server(
    map_frame: Frame, browser_page: WatchedPage, traffic: SocketTraffic
):
    sent_before = len(traffic.sent)

    map_frame.locator("#map_div").evaluate("() => map.setZoom(map.getZoom() + 2)")
    map_frame.locator("#map_div").evaluate("() => map.panBy([150, 80])")
    map_frame.locator("#map_div").evaluate("() => map.setZoom(map.getZoom() - 3)")
    # streamlit-folium sends a changed value after a 250 ms debounce.
    browser_page.page.wait_for_timeout(1_500)

    # Without a message to the server there is no rerun and no query.
    assert traffic.sent[sent_before:] == []
    assert browser_page.page_errors == []


def test_route_names_stops_exactly(map_frame: Frame, browser_page: WatchedPage):
    page = browser_page.page

    frame = switch_layer(page, "Day route", "route")
    stop = frame.locator(".beatboard-stop")
    expect(stop).to_have_count(1, timeout=TIMEOUT_MS)
    stop.hover()
    tooltip = frame.locator(".leaflet-tooltip")
    browser_page.screenshot("territory-map-route")

    expect(tooltip).to_contain_text(HOSTILE)
    assert stop.inner_text() == "1"
    assert tooltip.locator("img, script").count() == 0
    assert page.get_by_test_id("stDataFrame").count() == 1
    assert browser_page.dialogs == []
    assert browser_page.page_errors == []


@pytest.fixture
def demo_company(tmp_path: Path, start_streamlit: Callable[..., str]) -> str:
    database = tmp_path / "demo.sqlite"
    build_demo_database(database)
    return serve(start_streamlit, database)


def test_demo_map_groups_outlets(
    demo_company: str, browser_page: WatchedPage, traffic: SocketTraffic
):
    page = browser_page.page
    frame = open_map(page, demo_company)
    container = frame.locator("#map_div")
    # The bubbles and single outlets on screen, as (outlets in bubbles, singles).
    counted = """() => {
        const layer = window.beatboardOutletLayer;
        let grouped = 0;
        layer.cellGroup.eachLayer(bubble => { grouped += bubble.cell.count; });
        return [grouped, layer.points.size, layer.columns.count];
    }"""
    grouped, singles, drawn = container.evaluate(counted)
    shown = container.get_attribute("data-outlets-shown")
    bubbles = frame.locator(".beatboard-cluster")
    bubble_count = bubbles.count()
    browser_page.screenshot("territory-map-demo")
    zoom_before = map_view(frame)[2]
    sent_before = len(traffic.sent)

    bubbles.first.click()
    page.wait_for_timeout(1_000)
    zoom_after = map_view(frame)[2]

    assert shown == "cells"
    assert bubble_count > 0
    assert grouped + singles == drawn
    assert drawn > 3_000
    assert zoom_after > zoom_before
    assert traffic.sent[sent_before:] == []
    assert browser_page.page_errors == []
    assert browser_page.dialogs == []
    assert browser_page.blocked_urls == []


def test_demo_neglect_layer(demo_company: str, browser_page: WatchedPage):
    page = browser_page.page
    open_map(page, demo_company)

    frame = switch_layer(page, "Neglected outlets", "neglect")
    legend = frame.locator(".beatboard-legend")
    expect(legend).to_contain_text(
        "Share of outlets without a visit", timeout=TIMEOUT_MS
    )
    expect(frame.locator("#map_div[data-outlets-shown]")).to_be_attached()
    squares = frame.locator("#map_div").evaluate(
        "() => window.beatboardOutletLayer.cellGroup.getLayers().length"
    )
    browser_page.screenshot("territory-map-neglect")

    assert squares > 0
    assert "outlets on the map had no visit in the last 28 days" in legend.inner_text()
    assert browser_page.page_errors == []
    assert browser_page.dialogs == []


def test_territory_click_shows_coverage(map_frame: Frame, browser_page: WatchedPage):
    page = browser_page.page
    # Inside the stored outline of T1, a few hundred metres from any outlet.
    point = map_frame.locator("#map_div").evaluate(
        """() => {
            map.setView([18.99, 72.79], 14, {animate: false});
            const point = map.latLngToContainerPoint([18.99, 72.79]);
            return [point.x, point.y];
        }"""
    )
    box = map_frame.locator("#map_div").bounding_box()

    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    expect(page.get_by_role("heading", name="Territory", exact=True)).to_be_visible(
        timeout=TIMEOUT_MS
    )
    facts = page.get_by_test_id("stTable").first

    expect(facts.get_by_text("Mumbai <North>", exact=True)).to_be_visible()
    expect(facts.get_by_text("20%", exact=True)).to_be_visible()
    assert browser_page.dialogs == []
    assert browser_page.page_errors == []
