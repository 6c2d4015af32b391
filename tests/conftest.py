"""Shared fixtures: a real PostgreSQL server and a browser harness.

Tests that use the PostgreSQL fixtures get the ``postgres`` marker and tests
that use the browser fixtures the ``browser`` marker, so ``-m "not browser"``
leaves them out.
"""

from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import ExitStack
from itertools import count
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser
from playwright.sync_api import Error as PlaywrightError

from tests.browser import (
    DASHBOARD,
    REPOSITORY,
    WatchedPage,
    chromium,
    streamlit_server,
    watched_page,
)
from tests.postgres_server import ICU_COLLATION, fresh_database, postgres_server_url

MARKERS_BY_FIXTURE = {
    "postgres_url": "postgres",
    "browser": "browser",
    "start_streamlit": "browser",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixture_names = getattr(item, "fixturenames", [])
        for fixture_name, marker in MARKERS_BY_FIXTURE.items():
            if fixture_name in fixture_names:
                item.add_marker(marker)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Save a screenshot of a failed browser test and name it in the report."""
    report = yield
    watched = getattr(item, "funcargs", {}).get("browser_page")
    if report.when == "call" and report.failed and watched is not None:
        try:
            path = watched.screenshot(item.name)
            report.sections.append(("screenshot", str(path)))
        except PlaywrightError as error:
            report.sections.append(("screenshot", f"not taken: {error}"))
    return report


# PostgreSQL


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of the beatboard_test database, shared by the session."""
    with postgres_server_url() as url:
        yield url


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """SQLAlchemy URL of an empty database that only this test uses."""
    with fresh_database(postgres_url) as url:
        yield url


@pytest.fixture
def english_postgres_url(postgres_url: str) -> Iterator[str]:
    """SQLAlchemy URL of an empty database that sorts text by English rules.

    ICU as a database's locale provider came with PostgreSQL 15.
    """
    engine = sa.create_engine(postgres_url, poolclass=sa.NullPool)
    with engine.connect() as connection:
        version = connection.dialect.server_version_info
    engine.dispose()
    if version < (15,):
        pytest.skip(f"ICU databases need PostgreSQL 15 or later, not {version}")
    with fresh_database(postgres_url, ICU_COLLATION) as url:
        yield url


# Browser


@pytest.fixture
def start_streamlit(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Function that starts ``streamlit run`` and returns the server's URL.

    ``start_streamlit(env={"BEATBOARD_DATABASE_URL": url})`` serves dashboard.py
    from the repository root; ``script=`` serves another file from its folder.
    Every server started stops when the test ends.
    """
    log_numbers = count(1)
    with ExitStack() as servers:

        def start(
            script: Path = DASHBOARD, env: Mapping[str, str] | None = None
        ) -> str:
            log_file = tmp_path / f"streamlit-{next(log_numbers)}.log"
            cwd = REPOSITORY if script == DASHBOARD else script.parent
            return servers.enter_context(
                streamlit_server(script, env or {}, log_file, cwd)
            )

        yield start


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, shared by the session."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[WatchedPage]:
    """A page that reaches 127.0.0.1 only. A failed test leaves a screenshot of it
    in test-artifacts/."""
    with watched_page(browser) as watched:
        yield watched
