"""Browser-test harness: a streamlit server on 127.0.0.1 and Debian's Chromium
driven by Playwright, with every request to another host blocked and recorded.

Playwright's own browser downloads are not used: the tests drive the Chromium
of Debian's chromium package.
"""

import logging
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import (
    Browser,
    Dialog,
    Page,
    Route,
    WebSocketRoute,
    sync_playwright,
)

from tests.system import free_port, log_tail, skip_missing

logger = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parents[1]
DASHBOARD = REPOSITORY / "dashboard.py"
SERVE = REPOSITORY / "serve.py"
ARTIFACTS = REPOSITORY / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
MISSING_REASON = "Browser tests skipped: install Debian's chromium package"
# --no-sandbox because the tests run as root in CI. The other flags stop
# Chromium's own calls home, which fail on a machine without internet access.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
STARTUP_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 10.0


@contextmanager
def streamlit_server(
    script: Path, env: Mapping[str, str], log_file: Path, cwd: Path
) -> Iterator[str]:
    """Run ``streamlit run script`` on a free port of 127.0.0.1 and yield its URL.

    The dashboard starts through serve.py, as `make demo` starts it. env is
    added to this process's environment, and the server's output goes to
    log_file. The server is stopped when the block ends.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    launcher = (
        [str(SERVE)] if script == DASHBOARD else ["-m", "streamlit", "run", str(script)]
    )
    command = [
        sys.executable, *launcher,
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with log_file.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_healthy(process, url, log_file)
        logger.info("streamlit serves %s at %s", script.name, url)
        yield url
    finally:
        stop_process(process)


def wait_until_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll streamlit's health endpoint until it returns ``ok``.

    Raises RuntimeError with the server log's tail when the server exits or
    does not become healthy within STARTUP_TIMEOUT_S seconds.
    """
    # An empty ProxyHandler keeps an http_proxy setting away from 127.0.0.1.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with code {process.returncode} before serving "
                f"{url}; its log ends with:\n{log_tail(log)}"
            )
        try:
            with opener.open(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)

    raise RuntimeError(
        f"streamlit did not answer {url}/_stcore/health within "
        f"{STARTUP_TIMEOUT_S:.0f} s; its log ends with:\n{log_tail(log)}"
    )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a server with SIGTERM, and with SIGKILL when it does not exit."""
    process.terminate()
    try:
        process.wait(timeout=SHUTDOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        logger.warning("process %d ignored SIGTERM; killing it", process.pid)
        process.kill()
        process.wait()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Launch Debian's Chromium headless through Playwright."""
    if not CHROMIUM.exists():
        skip_missing(f"{MISSING_REASON} ({CHROMIUM} is missing)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def is_local(url: str) -> bool:
    """Return whether a URL points at this machine's loopback interface."""
    return urlsplit(url).hostname in LOCAL_HOSTS


@dataclass
class WatchedPage:
    """A browser page with what it did wrong: requests to other hosts (blocked),
    uncaught JavaScript errors and dialogs (dismissed)."""

    page: Page
    blocked_urls: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        """Save a full-page screenshot as test-artifacts/NAME.png."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        self.page.screenshot(path=path, full_page=True)
        return path


def block_remote_request(blocked_urls: list[str], route: Route) -> None:
    """Continue a request to a loopback host, and abort and record any other."""
    if is_local(route.request.url):
        route.continue_()
        return
    blocked_urls.append(route.request.url)
    route.abort()


def block_remote_websocket(blocked_urls: list[str], websocket: WebSocketRoute) -> None:
    """Record and close a WebSocket to another host before it connects."""
    blocked_urls.append(websocket.url)
    websocket.close()


def dismiss_dialog(dialogs: list[str], dialog: Dialog) -> None:
    """Record an alert, confirm or prompt and dismiss it."""
    dialogs.append(f"{dialog.type}: {dialog.message}")
    dialog.dismiss()


@contextmanager
def watched_page(browser: Browser) -> Iterator[WatchedPage]:
    """Open a page in a new browser context that reaches 127.0.0.1 only."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        # Routes go on the context before the page opens, so that no request of
        # the page's first load escapes them.
        blocked_urls: list[str] = []
        context.route("**/*", partial(block_remote_request, blocked_urls))
        context.route_web_socket(
            lambda url: not is_local(url), partial(block_remote_websocket, blocked_urls)
        )

        watched = WatchedPage(context.new_page(), blocked_urls)
        watched.page.on(
            "pageerror", lambda error: watched.page_errors.append(str(error))
        )
        watched.page.on("dialog", partial(dismiss_dialog, watched.dialogs))
        yield watched
    finally:
        context.close()
