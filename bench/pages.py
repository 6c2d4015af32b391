"""Time each dashboard page cold and cached, and a server's peak memory.

    .venv/bin/python -m bench.pages --db URL --week YYYY-MM-DD
        [--timezone TZ] [--page-limit SECONDS] [--cached-runs N]
        [--port PORT] [--skip-apptest] [--skip-server]

Two passes, on a copy of the database (the server opens it read-only, but a
benchmark should never hold a lock on the shared file):

- AppTest: each page runs through Streamlit's AppTest in a process of its
  own. Its first run starts with empty data caches (cold), and the next
  runs reuse them (cached). A page that has not finished within
  --page-limit seconds is stopped and reported as such, and the next page
  starts in a new process.
- Server: `python serve.py` on 127.0.0.1:PORT serves every page
  once to headless Chromium (Debian's /usr/bin/chromium through Playwright,
  with every request to another host aborted). The server's peak resident
  memory is VmHWM of /proc/PID/status after the last page.

It prints Markdown tables.
"""

import argparse
import json
import logging
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
DASHBOARD = REPOSITORY / "dashboard.py"

# Each page of dashboard.py's st.navigation by its address, with its file.
PAGES = {
    "home": "pages/overview.py",
    "reps": "pages/rep_performance.py",
    "map": "pages/territory_map.py",
    "territories": "pages/territory_comparison.py",
    "health": "pages/data_health.py",
}
# The url_path that st.Page hashes, where it differs from the key above: the
# Overview is served at the root, and /home only sends the browser there.
PAGE_URL_PATHS = {"home": "overview-at-root"}
# Map tiles from a port where nothing listens, so the browser requests no
# tiles from another host.
LOCAL_TILES_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
# Seconds the page must stay idle after a run before it counts as drawn: the
# map component sends its first value back and starts one more run.
SETTLE_S = 1.5
POLL_MS = 100

log = logging.getLogger(__name__)


@dataclass
class PageTimes:
    """Seconds of a page's cold run and of its cached runs, with what went wrong."""

    page: str
    cold: float | None = None
    cached: list[float] = field(default_factory=list)
    peak_mb: float | None = None
    problem: str = ""


# AppTest pass


def page_environment(url: str, timezone: str) -> dict[str, str]:
    """Return the environment of a dashboard process that serves the database at url."""
    return {
        **os.environ,
        "BEATBOARD_DATABASE_URL": url,
        "BEATBOARD_TIMEZONE": timezone,
        "BEATBOARD_TILES_URL": LOCAL_TILES_URL,
    }


def time_page_in_process(
    url: str, timezone: str, week: date, page: str, limit_s: float, cached_runs: int
) -> PageTimes:
    """Run one page through AppTest in a child process stopped after limit_s seconds.

    The child prints one JSON line per run, so the runs that finished before
    the limit are kept.
    """
    command = [
        sys.executable, "-m", "bench.pages", "--one-page", page,
        "--db", url, "--week", week.isoformat(), "--timezone", timezone,
        "--page-limit", str(limit_s), "--cached-runs", str(cached_runs),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=REPOSITORY,
        env=page_environment(url, timezone),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    timed_out = False
    try:
        output, errors = process.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        process.kill()
        output, errors = process.communicate()
        timed_out = True

    times = PageTimes(page)
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record["run"] == "cold":
            times.cold = record["seconds"]
        elif record["run"] == "cached":
            times.cached.append(record["seconds"])
        elif record["run"] == "peak_memory_mb":
            times.peak_mb = record["seconds"]
        elif record["run"] == "exception":
            times.problem = f"raised: {record['message']}"
    if timed_out:
        times.problem = f"stopped after {limit_s:.0f} s"
    elif process.returncode != 0:
        last_line = errors.strip().splitlines()[-1:] or ["no output"]
        times.problem = f"exited with code {process.returncode}: {last_line[0]}"
    return times


def run_one_page(week: date, page: str, limit_s: float, cached_runs: int) -> None:
    """Child process: run dashboard.py on one page, printing a JSON line per run."""
    from streamlit.testing.v1 import AppTest
    from streamlit.util import calc_hash

    _import_page_libraries()
    app = AppTest.from_file(str(DASHBOARD), default_timeout=limit_s)
    app.query_params["week"] = week.isoformat()
    # NOTE: _page_hash is AppTest's private field for the page of the next
    # run (Streamlit 1.67). switch_page() only works after a first run, which
    # would open the Overview first and fill the caches this run must find
    # empty. st.Page hashes its url_path, so this hash opens the page.
    page_hash = calc_hash(PAGE_URL_PATHS.get(page, page))
    app._page_hash = page_hash

    _print_run("cold", _seconds(app.run))
    if app._finished_page_script_hash != page_hash:
        raise RuntimeError(f"AppTest ran another page than {page!r}")
    if app.exception:
        _print_run("exception", 0.0, message=str(app.exception[0].value))
    for _ in range(cached_runs):
        _print_run("cached", _seconds(app.run))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _print_run("peak_memory_mb", peak_mb)


def _import_page_libraries() -> None:
    """Import what the pages import and build the first charts, as serve.py
    does when the server starts, so a cold run times the data, not imports.
    Then freeze the objects made so far, as serve.py does after its imports.
    Here they include the map component's module, which serve.py leaves to
    the first page run."""
    import serve

    serve.import_page_modules()
    serve.build_first_charts()
    # Imported outside a page run, its map component is not registered,
    # which AppTest does not draw anyway.
    import pages.kept_map  # noqa: F401

    serve.freeze_startup_objects()


def _seconds(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _print_run(run: str, seconds: float, message: str = "") -> None:
    print(json.dumps({"run": run, "seconds": seconds, "message": message}), flush=True)


def time_pages(
    url: str, timezone: str, week: date, limit_s: float, cached_runs: int
) -> list[PageTimes]:
    """Time every page, each in its own process with its own time limit."""
    results = []
    for page in PAGES:
        log.info("timing page %s through AppTest", page)
        results.append(
            time_page_in_process(url, timezone, week, page, limit_s, cached_runs)
        )
    return results


# Server pass


@dataclass
class ServedPage:
    """Seconds from a page's request until its run ended, and the server's memory."""

    page: str
    seconds: float | None
    rss_mb: float
    problem: str = ""


def process_memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak resident memory) of a process, in MB (MiB)."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024  # the file gives kB
    return values


@contextmanager
def dashboard_server(
    url: str, timezone: str, port: int, log_file: Path
) -> Iterator[int]:
    """Run `python serve.py` on 127.0.0.1:port; yield the server's pid."""
    from tests.browser import stop_process, wait_until_healthy

    # Another server on the port would pass the health check and be measured
    # in place of this one.
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise RuntimeError(
                f"port {port} of 127.0.0.1 is in use; choose a free one with --port"
            ) from error
    command = [
        sys.executable, str(REPOSITORY / "serve.py"),
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with log_file.open("w", encoding="utf-8") as server_log:
        process = subprocess.Popen(
            command,
            cwd=REPOSITORY,
            env=page_environment(url, timezone),
            stdin=subprocess.DEVNULL,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_healthy(process, f"http://127.0.0.1:{port}", log_file)
        if process.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with code {process.returncode}; see {log_file}"
            )
        yield process.pid
    finally:
        stop_process(process)


def serve_pages(
    url: str,
    timezone: str,
    week: date,
    port: int,
    limit_s: float,
    log_file: Path,
    screenshots: Path | None = None,
) -> tuple[list[ServedPage], dict[str, float], list[str]]:
    """Load each page once in Chromium from one server.

    Returns the page times, the server's memory after the last page and the
    requests that were blocked.
    """
    from tests.browser import chromium, watched_page

    served = []
    with dashboard_server(url, timezone, port, log_file) as pid, chromium() as browser:
        with watched_page(browser) as watched:
            for page in PAGES:
                address = f"http://127.0.0.1:{port}/{'' if page == 'home' else page}"
                seconds, problem = serve_page(
                    watched.page, f"{address}?week={week}", limit_s
                )
                rss_mb = process_memory_mb(pid)["VmRSS"]
                served.append(ServedPage(page, seconds, rss_mb, problem))
                if screenshots is not None:
                    path = screenshots / f"{page}.png"
                    watched.page.screenshot(path=path, full_page=True)
                log.info("served %s: %s", page, served[-1])
            memory = process_memory_mb(pid)
            blocked = list(watched.blocked_urls)
    return served, memory, blocked


def serve_page(page, address: str, limit_s: float) -> tuple[float | None, str]:
    """Open address in the browser page and return the seconds until the app is
    idle, with a note when it was not idle within limit_s seconds.

    A page still running after limit_s seconds keeps running on the server
    while the next page loads, so the next page's time is an upper bound.
    """
    started = time.perf_counter()
    page.goto(address)
    idle_at = wait_for_idle_app(page, limit_s)
    if idle_at is None:
        return None, f"still running after {limit_s:.0f} s"
    return idle_at - started, ""


def wait_for_idle_app(page, limit_s: float) -> float | None:
    """Wait until the app's script run ended and no new run began for SETTLE_S.

    Returns the time.perf_counter() reading when the last run ended, or None
    when the app was still running after limit_s seconds.
    """
    state_script = (
        "() => document.querySelector('[data-test-script-state]')"
        "?.getAttribute('data-test-script-state') ?? 'initial'"
    )
    deadline = time.monotonic() + limit_s
    idle_since = None
    while time.monotonic() < deadline:
        state = page.evaluate(state_script)
        if state == "notRunning":
            idle_since = idle_since or time.perf_counter()
            if time.perf_counter() - idle_since >= SETTLE_S:
                return idle_since
        else:
            idle_since = None
        page.wait_for_timeout(POLL_MS)
    return None


# Output


def print_page_table(results: list[PageTimes]) -> None:
    print(
        "| page | cold s | cached s (median) | process peak MB | note |\n"
        "| --- | --- | --- | --- | --- |"
    )
    for times in results:
        cold = f"{times.cold:.2f}" if times.cold is not None else "–"
        cached = sorted(times.cached)
        median = f"{cached[len(cached) // 2]:.3f}" if cached else "–"
        peak = f"{times.peak_mb:.0f}" if times.peak_mb is not None else "–"
        print(f"| {times.page} | {cold} | {median} | {peak} | {times.problem} |")


def print_server_table(
    served: list[ServedPage], memory: dict[str, float], blocked: list[str]
) -> None:
    print(
        "\n| page | Chromium s | server RSS after, MB | note |\n"
        "| --- | --- | --- | --- |"
    )
    for page in served:
        seconds = f"{page.seconds:.1f}" if page.seconds is not None else "–"
        print(f"| {page.page} | {seconds} | {page.rss_mb:.0f} | {page.problem} |")
    print(f"\nserver peak memory (VmHWM): {memory['VmHWM']:.0f} MB")
    print(f"requests to other hosts blocked: {len(blocked)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pages", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--db",
        required=True,
        metavar="URL",
        help="SQLAlchemy URL of a copy of the database",
    )
    parser.add_argument(
        "--week",
        required=True,
        type=date.fromisoformat,
        help="a day of the week to show (YYYY-MM-DD)",
    )
    parser.add_argument(
        "--timezone", default="Asia/Kolkata", help="business time zone (IANA name)"
    )
    parser.add_argument(
        "--page-limit",
        type=float,
        default=120.0,
        help="seconds a page may run before it is stopped (default 120)",
    )
    parser.add_argument(
        "--cached-runs", type=int, default=3, help="AppTest runs after the cold run"
    )
    parser.add_argument(
        "--port", type=int, default=8767, help="port of the server on 127.0.0.1"
    )
    parser.add_argument(
        "--screenshots",
        type=Path,
        metavar="FOLDER",
        help="save a screenshot of each served page in FOLDER",
    )
    parser.add_argument("--skip-apptest", action="store_true")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--one-page", choices=list(PAGES), help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)

    if arguments.one_page:
        # The dashboard reads its database from the environment, which a
        # child started by time_page_in_process already has. Set it here
        # too, so that --db also holds when the option is run by hand.
        os.environ.update(page_environment(arguments.db, arguments.timezone))
        run_one_page(
            arguments.week,
            arguments.one_page,
            arguments.page_limit,
            arguments.cached_runs,
        )
        return 0

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not arguments.skip_apptest:
        results = time_pages(
            arguments.db, arguments.timezone, arguments.week,
            arguments.page_limit, arguments.cached_runs,
        )  # fmt: skip
        print_page_table(results)
    if not arguments.skip_server:
        log_file = Path(f"/tmp/beatboard-bench-server-{arguments.port}.log")
        served, memory, blocked = serve_pages(
            arguments.db, arguments.timezone, arguments.week,
            arguments.port, arguments.page_limit, log_file, arguments.screenshots,
        )  # fmt: skip
        print_server_table(served, memory, blocked)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
