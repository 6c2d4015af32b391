"""A real PostgreSQL server for the tests, and empty databases on it.

The server is the first of:

1. the one at BEATBOARD_TEST_POSTGRES_URL, a SQLAlchemy URL whose user may
   create databases, for example
   ``postgresql+psycopg://beatboard:secret@127.0.0.1:5432/beatboard_test``;
2. a throwaway server started from Debian's postgresql package, which lives in a
   temporary folder, listens on 127.0.0.1 only and is removed at the end;
3. none: the tests that need it are skipped (they fail under CI=true).
"""

import logging
import os
import secrets
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from tests.system import free_port, log_tail, skip_missing

logger = logging.getLogger(__name__)

URL_VARIABLE = "BEATBOARD_TEST_POSTGRES_URL"
DEBIAN_INSTALL_ROOT = Path("/usr/lib/postgresql")
MISSING_REASON = (
    "PostgreSQL tests skipped: set BEATBOARD_TEST_POSTGRES_URL or install "
    "Debian's postgresql package"
)
SUPERUSER = "beatboard"
TEST_DATABASE = "beatboard_test"
# initdb and postgres exit with an error when run as root, so root runs them as
# the system user that Debian's postgresql package creates.
SYSTEM_USER = "postgres"
# A throwaway server needs no durability, so these settings skip the disk
# flushes of CREATE DATABASE and of every commit.
THROWAWAY_SETTINGS = {"fsync": "off", "synchronous_commit": "off"}

# The test server sorts text by code point (initdb --locale=C), as SQLite
# does. A company's server usually sorts by a language's rules, where
# 'dupX' < 'DUPx' and 'r1' < 'R10'. These options of CREATE DATABASE give a
# database such rules, from ICU, which Debian's PostgreSQL is built with.
ICU_COLLATION = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"


@contextmanager
def postgres_server_url() -> Iterator[str]:
    """Yield the SQLAlchemy URL of the beatboard_test database on a real server."""
    configured = os.environ.get(URL_VARIABLE)
    if configured:
        yield with_psycopg_driver(configured)
        return

    bin_dir = find_debian_bin_dir()
    if bin_dir is None:
        skip_missing(MISSING_REASON)
    with throwaway_server(bin_dir) as url:
        yield url


def with_psycopg_driver(url: str) -> str:
    """Return the URL with the psycopg 3 driver when it names none.

    SQLAlchemy reads a bare ``postgresql://`` as psycopg2, which is not installed.
    """
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def find_debian_bin_dir() -> Path | None:
    """Return the bin folder of the newest PostgreSQL that Debian installed."""
    candidates = [
        bin_dir
        for bin_dir in DEBIAN_INSTALL_ROOT.glob("*/bin")
        if (bin_dir / "initdb").exists() and (bin_dir / "pg_ctl").exists()
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda bin_dir: float(bin_dir.parent.name))


@contextmanager
def fresh_database(server_url: str, options: str = "") -> Iterator[str]:
    """Create an empty database with a unique name, yield its URL, then drop it.

    server_url names any database on the server that its user may connect to.
    The new database has the same user, host and port. options follow the
    name in CREATE DATABASE, such as a locale (see ICU_COLLATION).
    """
    name = f"beatboard_test_{uuid.uuid4().hex[:12]}"
    create_database(server_url, name, options)
    try:
        url = sa.make_url(server_url).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        drop_database(server_url, name)


@dataclass(frozen=True)
class ThrowawayServer:
    """A PostgreSQL cluster in a temporary folder, reachable on 127.0.0.1:port."""

    bin_dir: Path
    folder: Path
    port: int
    password: str

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    def url(self, database: str) -> str:
        url = sa.URL.create(
            "postgresql+psycopg",
            username=SUPERUSER,
            password=self.password,
            host="127.0.0.1",
            port=self.port,
            database=database,
        )
        return url.render_as_string(hide_password=False)


@contextmanager
def throwaway_server(bin_dir: Path) -> Iterator[str]:
    """Start a throwaway server, yield the URL of its beatboard_test database,
    then stop the server and remove its folder."""
    folder = Path(tempfile.mkdtemp(prefix="beatboard-postgres-"))
    server = ThrowawayServer(bin_dir, folder, free_port(), secrets.token_hex(16))
    try:
        initialise_cluster(server)
        start(server)
        try:
            create_database(server.url("postgres"), TEST_DATABASE)
            yield server.url(TEST_DATABASE)
        finally:
            stop(server)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def initialise_cluster(server: ThrowawayServer) -> None:
    """Run initdb with a password-protected superuser and the throwaway settings."""
    password_file = server.folder / "password"
    password_file.write_text(server.password, encoding="utf-8")
    socket_dir = server.folder / "socket"
    socket_dir.mkdir()
    give_to_system_user(server.folder)

    run_postgres_program(
        server,
        [
            "initdb",
            f"--pgdata={server.data_dir}",
            f"--username={SUPERUSER}",
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
    )
    password_file.unlink()

    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(server.port),
        "unix_socket_directories": f"'{socket_dir}'",
        **THROWAWAY_SETTINGS,
    }
    lines = [f"{name} = {value}\n" for name, value in settings.items()]
    with (server.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.writelines(lines)


def give_to_system_user(folder: Path) -> None:
    """Hand the folder and its content to the postgres system user when root."""
    if os.geteuid() != 0:
        return
    for path in [folder, *folder.rglob("*")]:
        shutil.chown(path, user=SYSTEM_USER, group=SYSTEM_USER)


def start(server: ThrowawayServer) -> None:
    """Start the server and wait until it accepts connections."""
    run_postgres_program(
        server,
        [
            "pg_ctl",
            f"--pgdata={server.data_dir}",
            f"--log={server.log_file}",
            "--wait",
            "--timeout=60",
            "start",
        ],
    )
    logger.info("PostgreSQL test server started on 127.0.0.1:%d", server.port)


def stop(server: ThrowawayServer) -> None:
    """Stop the server, ending open connections (pg_ctl's fast mode)."""
    run_postgres_program(
        server,
        ["pg_ctl", f"--pgdata={server.data_dir}", "--mode=fast", "--wait", "stop"],
    )
    logger.info("PostgreSQL test server on 127.0.0.1:%d stopped", server.port)


def run_postgres_program(server: ThrowawayServer, args: list[str]) -> None:
    """Run initdb or pg_ctl from the server's bin folder, as the system user when
    root, and raise with the program's output and the server log when it fails."""
    command = [str(server.bin_dir / args[0]), *args[1:]]
    if os.geteuid() == 0:
        command = ["runuser", "-u", SYSTEM_USER, "--", *command]
    completed = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode == 0:
        return

    tail = log_tail(server.log_file)
    logger.error("PostgreSQL server log ends with:\n%s", tail)
    raise RuntimeError(
        f"{args[0]} failed with exit code {completed.returncode}: "
        f"{completed.stderr.strip() or completed.stdout.strip()}\n"
        f"The server log {server.log_file} ends with:\n{tail}"
    )


def create_database(admin_url: str, name: str, options: str = "") -> None:
    """Create an empty database through admin_url, an existing database's URL."""
    run_outside_transaction(admin_url, f'CREATE DATABASE "{name}" {options}'.rstrip())


def drop_database(admin_url: str, name: str) -> None:
    """Drop a database, ending the connections that a test left open.

    DROP DATABASE ... WITH (FORCE) needs PostgreSQL 13 or later.
    """
    run_outside_transaction(admin_url, f'DROP DATABASE "{name}" WITH (FORCE)')


def run_outside_transaction(url: str, statement: str) -> None:
    """Run a statement that PostgreSQL rejects inside a transaction block."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()
