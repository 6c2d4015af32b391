"""Databases for tests: tiny hand-built ones (rows in, a ready engine out)
and summarised demo companies."""

import signal
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from data_access import dialect, summaries
from data_access.engine import create_engine
from data_access.filters import Period, Settings
from data_access.schema import TABLES, create_tables
from fixtures.demo import MIN_REPS, generate


def _value(column: sa.Column, value: Any) -> Any:
    if value is None or isinstance(value, (date, datetime)):
        return value
    if isinstance(column.type, sa.DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, sa.Date):
        return date.fromisoformat(value)
    return value


def fill_database(
    url: str | sa.URL, rows: Mapping[str, Sequence[Mapping[str, Any]]]
) -> sa.Engine:
    """Create the tables at url, insert rows per table name, return an engine.

    Timestamps and dates may be given as ISO strings. Columns left out of a
    row are NULL, except active, which defaults to true.
    """
    engine = create_engine(url)
    create_tables(engine)
    with engine.begin() as connection:
        for name, table_rows in rows.items():
            table = TABLES[name]
            records = []
            for row in table_rows:
                record = {column.name: None for column in table.columns}
                if "active" in record:
                    record["active"] = True
                for key, value in row.items():
                    record[key] = _value(table.c[key], value)
                records.append(record)
            if records:
                connection.execute(table.insert(), records)
    return engine


def empty_database_url(
    engine_name: str, request: pytest.FixtureRequest, folder: Path
) -> str:
    """Return the URL of an empty database on the engine named 'sqlite' or
    'postgres': a new SQLite file in folder, or a fresh PostgreSQL database
    (the fresh_postgres_url fixture, which skips without a server)."""
    if engine_name == "sqlite":
        return f"sqlite:///{folder / 'sfa.sqlite'}"
    return request.getfixturevalue("fresh_postgres_url")


def sqlite_database(
    folder: Path, rows: Mapping[str, Sequence[Mapping[str, Any]]]
) -> sa.Engine:
    """fill_database into a new SQLite file in folder."""
    return fill_database(f"sqlite:///{folder / 'sfa.sqlite'}", rows)


def signal_in_sqlite_functions(monkeypatch, signal_number: int) -> list[str]:
    """Make the Python functions that SQLite calls raise the signal on each
    call, in connections opened from now on. Return the list of calls.

    The signal handler raises KeyboardInterrupt inside the function, and
    SQLite turns it into an OperationalError, as when Ctrl-C lands there.
    """
    calls: list[str] = []

    def signalling(function):
        def signalled(*arguments):
            calls.append(function.__name__)
            signal.raise_signal(signal_number)
            return function(*arguments)

        return signalled

    for name in ("_sqlite_local_date", "_sqlite_distance_m"):
        monkeypatch.setattr(dialect, name, signalling(getattr(dialect, name)))
    return calls


def summarised_demo(
    url: str, weeks: int, summarised: Period, settings: Settings
) -> sa.Engine:
    """Generate the demo company's last `weeks` weeks up to summarised.end at
    url, and build the summaries of the summarised period's weeks."""
    engine = create_engine(url)
    generate(engine, reps=MIN_REPS, weeks=weeks, end_date=summarised.end)
    summaries.build_summaries(engine, summarised.start, summarised.end, settings)
    return engine
