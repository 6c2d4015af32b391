"""Measure the territory map at 1,000, 20,000 and 200,000 outlets.

    .venv/bin/python bench/map_benchmark.py [--sizes 1000 20000 200000]
        [--browser-sizes 20000] [--repeat 5] [--workdir DIR]

For each size it builds the seeded demo company with enough reps, keeps the
first `size` outlets active (the others are made inactive, so the page shows
exactly `size`), and reads the outlets report of the last week. Then:

- server: the time the page takes to turn that report into the map it sends
  (prepare_outlet_layer, draw_outlet_map and streamlit-folium's rendering),
  the median and maximum of --repeat runs, and the same from prepared data,
  which is what a click costs once the page's cache holds the map;
- sent: the bytes of the map component's arguments as JSON, which is what the
  server sends to the browser the first time, and the outlets' payload in it;
- browser (--browser-sizes): Debian's Chromium, headless, against
  `streamlit run` on 127.0.0.1. The time from the click on "Territory map" to
  the drawn outlet layer, first with empty caches (the database queries
  included) and then again after visiting the overview (caches warm), and
  the time from the map frame's start to the layer's first drawing.

The outlets report's own query is timed too, because at national scale it
costs far more than the map.
"""

import argparse
import json
import logging
import os
import platform
import sqlite3
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

import streamlit_folium  # noqa: E402

from data_access import queries  # noqa: E402
from data_access.engine import create_engine  # noqa: E402
from data_access.filters import Period, Scope, Settings  # noqa: E402
from fixtures.demo import build_demo_database  # noqa: E402
from metrics import reports  # noqa: E402
from pages import outlet_map  # noqa: E402

log = logging.getLogger("bench.map_benchmark")

# A fixed end date keeps the generated company the same from run to run.
END_DATE = date(2026, 3, 8)
WEEK = Period(date(2026, 3, 2), END_DATE)
# The demo company has about 76 active outlets per rep; a few more reps
# than that make sure every size is reached.
ACTIVE_OUTLETS_PER_REP = 70
MIN_REPS = 19
# Six weeks of visits cover the 28-day neglect window before the last week.
WEEKS = 6
TIMEOUT_MS = 600_000
POLL_MS = 100


def build_database(path: Path, size: int) -> None:
    """Write a demo company with exactly `size` active outlets to path, unless
    the file is already there from an earlier run."""
    if path.exists():
        return
    reps = max(MIN_REPS, -(-size // ACTIVE_OUTLETS_PER_REP))
    log.info("building %s with %d reps", path.name, reps)
    build_demo_database(path, reps=reps, weeks=WEEKS, end_date=END_DATE)
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            kept = connection.execute(
                sa.text(
                    "SELECT outlet_id FROM outlets WHERE active ORDER BY outlet_id "
                    "LIMIT :size"
                ),
                {"size": size},
            ).scalars()
            connection.execute(sa.text("CREATE TEMP TABLE kept (outlet_id TEXT)"))
            connection.execute(
                sa.text("INSERT INTO kept VALUES (:outlet_id)"),
                [{"outlet_id": outlet_id} for outlet_id in kept],
            )
            connection.execute(
                sa.text(
                    "UPDATE outlets SET active = 0 "
                    "WHERE outlet_id NOT IN (SELECT outlet_id FROM kept)"
                )
            )
    finally:
        engine.dispose()


def read_inputs(path: Path) -> tuple[dict[str, Any], float]:
    """Read what the page reads for the map; return it and the outlets query's seconds."""
    engine = create_engine(f"sqlite:///{path}")
    settings = Settings()
    try:
        started = time.perf_counter()
        outlets = reports.outlets_report(engine, WEEK, Scope(), settings)
        query_s = time.perf_counter() - started
        inputs = {
            "outlets": outlets,
            "territories": queries.territory_list(engine, Scope()),
            "boundaries": queries.territory_boundary_list(engine, Scope()),
            "territories_report": reports.territories_report(
                engine, WEEK, Scope(), settings
            ),
        }
    finally:
        engine.dispose()
    return inputs, query_s


class ComponentCapture:
    """Stands in for streamlit-folium's component and keeps its arguments."""

    def __init__(self) -> None:
        self.arguments: dict[str, Any] = {}

    def __call__(self, **arguments: Any) -> None:
        self.arguments = arguments

    def sent_bytes(self) -> int:
        """Bytes of the arguments as JSON, as Streamlit sends them."""
        sent = {
            key: value for key, value in self.arguments.items() if key != "on_change"
        }
        return len(json.dumps(sent).encode("utf-8"))


def time_server(inputs: dict[str, Any], repeat: int) -> dict[str, float]:
    """Time the map build and measure what it sends."""
    capture = ComponentCapture()
    streamlit_folium._component_func = capture
    outlet_map.leaflet_assets()

    def full_build() -> outlet_map.OutletLayerData:
        layer = outlet_map.prepare_outlet_layer(
            inputs["outlets"],
            inputs["territories"],
            inputs["boundaries"],
            inputs["territories_report"],
            period_end=WEEK.end,
        )
        send(layer)
        return layer

    def send(layer: outlet_map.OutletLayerData) -> None:
        built = outlet_map.draw_outlet_map(layer, view_key="benchmark")
        streamlit_folium.st_folium(
            built.map, key="territory_map", returned_objects=["last_active_drawing"]
        )

    build_s = []
    cached_s = []
    for _ in range(repeat):
        started = time.perf_counter()
        layer = full_build()
        build_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        send(layer)
        cached_s.append(time.perf_counter() - started)
    return {
        "outlets": layer.drawn,
        "build_median_s": statistics.median(build_s),
        "build_max_s": max(build_s),
        "cached_median_s": statistics.median(cached_s),
        "sent_mb": capture.sent_bytes() / 1e6,
        "payload_mb": len(layer.payload["data"]) / 1e6,
    }


def time_browser(path: Path, workdir: Path) -> dict[str, float]:
    """Time the drawn map in Chromium, with cold and with warm caches."""
    from tests.browser import DASHBOARD, chromium, streamlit_server, watched_page

    environment = {
        "BEATBOARD_DATABASE_URL": f"sqlite:///{path}",
        # Port 9 (discard) refuses at once, so tiles cost nothing to time.
        "BEATBOARD_TILES_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png",
    }
    log_file = workdir / f"{path.stem}-streamlit.log"
    with (
        streamlit_server(DASHBOARD, environment, log_file, REPOSITORY) as url,
        chromium() as browser,
        watched_page(browser) as watched,
    ):
        page = watched.page
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.get_by_role("heading", name="Overview").wait_for()
        cold_s, frame = _click_to_drawn(page)
        page.get_by_role("link", name="Overview").click()
        page.get_by_role("heading", name="Overview").wait_for()
        warm_s, frame = _click_to_drawn(page)
        in_frame_ms = frame.evaluate(
            "() => performance.getEntriesByName('beatboard-outlets-drawn')[0].startTime"
        )
        if watched.page_errors or watched.blocked_urls:
            raise RuntimeError(
                f"the map page failed: errors {watched.page_errors}, "
                f"requests to other hosts {watched.blocked_urls}"
            )
    return {"cold_s": cold_s, "warm_s": warm_s, "in_frame_s": in_frame_ms / 1000}


def _click_to_drawn(page) -> tuple[float, Any]:
    started = time.perf_counter()
    page.get_by_role("link", name="Territory map").click()
    for _ in range(TIMEOUT_MS // POLL_MS):
        for frame in page.frames:
            if "streamlit_folium" not in frame.url:
                continue
            if frame.query_selector("#map_div[data-outlets-shown]"):
                return time.perf_counter() - started, frame
        page.wait_for_timeout(POLL_MS)
    raise RuntimeError(f"the map was not drawn within {TIMEOUT_MS / 1000:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1_000, 20_000, 200_000],
        help="active outlets per measured map (default 1000 20000 200000)",
    )
    parser.add_argument(
        "--browser-sizes",
        type=int,
        nargs="*",
        default=[20_000],
        help="sizes also timed in Chromium (default 20000)",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="server builds per size (default 5)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("/tmp/beatboard-map-bench"),
        help="folder for the generated databases, kept between runs "
        "(default /tmp/beatboard-map-bench)",
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("data_access").setLevel(logging.WARNING)
    arguments.workdir.mkdir(parents=True, exist_ok=True)

    print(
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    print(
        "active outlets | drawn | outlets query s | build median s | build max s | "
        "cached s | sent MB | payload MB | browser cold s | browser warm s | in frame s"
    )
    for size in arguments.sizes:
        database = arguments.workdir / f"map-{size}.sqlite"
        build_database(database, size)
        inputs, query_s = read_inputs(database)
        server = time_server(inputs, arguments.repeat)
        browser = {"cold_s": None, "warm_s": None, "in_frame_s": None}
        if size in arguments.browser_sizes:
            browser = time_browser(database, arguments.workdir)
        cells = [
            f"{len(inputs['outlets']):,}",
            f"{server['outlets']:,}",
            f"{query_s:.1f}",
            f"{server['build_median_s']:.2f}",
            f"{server['build_max_s']:.2f}",
            f"{server['cached_median_s']:.2f}",
            f"{server['sent_mb']:.2f}",
            f"{server['payload_mb']:.2f}",
            *("" if value is None else f"{value:.2f}" for value in browser.values()),
        ]
        print(" | ".join(cells), flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
