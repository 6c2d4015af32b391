"""Engines for the shared database: where its URL comes from and how to open it."""

import logging
import os
import urllib.parse
from pathlib import Path

import sqlalchemy as sa

from data_access.dialect import (
    note_text_order,
    prepare_postgresql_session,
    register_sqlite_functions,
)

log = logging.getLogger(__name__)

DATABASE_URL_VARIABLE = "BEATBOARD_DATABASE_URL"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


class DatabaseURLError(ValueError):
    """A database URL that Beatboard cannot use."""


def parse_database_url(url: str) -> sa.URL:
    """Parse a SQLAlchemy URL and check that Beatboard supports its engine."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as error:
        raise DatabaseURLError(
            "The database URL is not a valid SQLAlchemy URL; expected a URL such as "
            "sqlite:///path/to/sfa.sqlite or "
            "postgresql+psycopg://user:password@host/dbname."
        ) from error
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise DatabaseURLError(
            f"Database engine {parsed.get_backend_name()!r} is not supported; "
            "use a sqlite:// or postgresql+psycopg:// URL."
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in (
        "psycopg2",
        "",
    ):
        # Only psycopg 3 is installed; plain postgresql:// would ask for psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def read_only_url(url: sa.URL) -> sa.URL:
    """Return the URL that opens an SQLite file read-only; other URLs unchanged.

    PostgreSQL read-only access is the database role's business: grant the
    dashboard's role SELECT only.
    """
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return url
    path = Path(url.database).resolve()
    # Quoted, because SQLite reads '?' and '#' in a URI's path as the start of
    # its query and fragment, and '%' as an escape.
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
    return url.set(database=uri, query={"uri": "true"})


def prepare_engine(engine: sa.Engine) -> sa.Engine:
    """Register Beatboard's SQLite functions on every new connection of the
    engine. On PostgreSQL, turn off JIT compilation for each new session,
    which costs more than it saves on Beatboard's statements, and print
    floats with all their digits (prepare_postgresql_session), and note
    whether the database sorts text by code point (note_text_order).
    """
    if engine.dialect.name == "sqlite":
        listener = register_sqlite_functions
    elif engine.dialect.name == "postgresql":
        listener = prepare_postgresql_session
        if not sa.event.contains(engine, "engine_connect", note_text_order):
            sa.event.listen(engine, "engine_connect", note_text_order)
    else:
        return engine
    if not sa.event.contains(engine, "connect", listener):
        sa.event.listen(engine, "connect", listener)
    return engine


def create_engine(url: str | sa.URL, *, read_only: bool = False) -> sa.Engine:
    """Create an engine for the shared database, ready for Beatboard's
    queries (see prepare_engine). The dashboard prepares the engine that
    st.connection creates instead."""
    parsed = parse_database_url(url) if isinstance(url, str) else url
    if read_only:
        parsed = read_only_url(parsed)
    engine = sa.create_engine(parsed, pool_pre_ping=True)
    log.info("opened %s database %s", engine.dialect.name, parsed.database)
    return prepare_engine(engine)


def url_from_environment() -> str | None:
    """Return the database URL set in the environment, or None."""
    return os.environ.get(DATABASE_URL_VARIABLE) or None
