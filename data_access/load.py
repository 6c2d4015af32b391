"""Load CSV files named after the tables into the shared database.

    python -m data_access.load --db URL [--timezone TZ] DIR

Each file in DIR is optional and named after its table (outlets.csv,
visits.csv, ...), and its header row names the columns. The load runs in two
passes. The first reads every file and collects the problems, so a bad file
never touches the database. The second reads the files again and upserts the
rows by primary key in one transaction, so loading the same files twice leaves
the same database.
"""

import argparse
import csv
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from data_access.csv_cells import (
    EMPTY_CELL_DEFAULTS,
    CellError,
    Parser,
    check_row,
    column_parser,
    required_columns,
    time_zone,
)
from data_access.dialect import upsert
from data_access.engine import DatabaseURLError, create_engine, parse_database_url
from data_access.schema import TABLES, metadata

log = logging.getLogger(__name__)

MAX_PROBLEMS_SHOWN = 20
BATCH_SIZE = 5_000
# Python's csv module rejects cells over 128 KiB by default, which a detailed
# territory outline exceeds.
MAX_CELL_CHARACTERS = 64 * 1024 * 1024
# A long cell, such as an outline, is cut to this many characters in messages.
MAX_VALUE_SHOWN = 60


# Problems


@dataclass(frozen=True)
class Problem:
    """One reason a file cannot be loaded, and where it was found.

    line is the line number a text editor shows, where the header is line 1.
    It is None for a problem with a whole file or folder. column and value are
    set for a problem with one cell.
    """

    file: str
    reason: str
    line: int | None = None
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file} line {self.line}"
        if self.column is None:
            return f"{where}: {self.reason}"
        if self.value is None:
            return f"{where}: {self.column} {self.reason}"
        return f"{where}: {self.column} {_shorten(self.value)!r} {self.reason}"


def _shorten(value: str) -> str:
    if len(value) <= MAX_VALUE_SHOWN:
        return value
    return value[: MAX_VALUE_SHOWN - 3] + "..."


@dataclass
class ProblemLog:
    """The problems found so far: the first few kept, all of them counted."""

    limit: int = MAX_PROBLEMS_SHOWN
    shown: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, problem: Problem) -> None:
        self.total += 1
        if len(self.shown) < self.limit:
            self.shown.append(problem)


class LoadError(Exception):
    """Files that cannot be loaded, raised before anything is committed.

    problems contains the first MAX_PROBLEMS_SHOWN problems and total counts
    all of them.
    """

    def __init__(self, problems: list[Problem], total: int | None = None) -> None:
        self.problems = problems
        self.total = len(problems) if total is None else total
        super().__init__(self._message())

    def _message(self) -> str:
        noun = "problem" if self.total == 1 else "problems"
        lines = [f"Nothing was loaded: {self.total} {noun} to fix in the files."]
        lines += [str(problem) for problem in self.problems]
        if self.total > len(self.problems):
            lines.append(f"... and {self.total - len(self.problems)} more")
        return "\n".join(lines)


# Reading one file


@dataclass
class TableFile:
    """A CSV file of one table, read as the values to store in that table."""

    path: Path
    table: sa.Table
    zone: ZoneInfo
    problems: ProblemLog

    def rows(self) -> Iterator[dict[str, Any]]:
        """Yield each valid row as {column: value} and add each problem to problems.

        A row with a problem is never yielded. A header with a problem stops
        the file at line 1.
        """
        with _cell_size_limit(MAX_CELL_CHARACTERS), self.path.open("rb") as binary:
            reader = csv.reader(_text_lines(binary))
            try:
                columns = self._read_header(next(reader, None))
                if columns is not None:
                    yield from self._read_records(reader, columns)
            except UnicodeDecodeError as error:
                self._add(
                    f"is not UTF-8 text (byte 0x{error.object[error.start]:02x}); "
                    "save the file as CSV UTF-8",
                    line=reader.line_num + 1,
                )
            except csv.Error as error:
                self._add(f"is not a readable CSV file: {error}", line=reader.line_num)

    @cached_property
    def _required_columns(self) -> frozenset[str]:
        return frozenset(required_columns(self.table))

    def _read_header(self, header: list[str] | None) -> list[str] | None:
        expected = ", ".join(self.table.columns.keys())
        required = ", ".join(required_columns(self.table))
        hint = f"expected columns: {expected} (required: {required})"
        if not header:
            self._add(f"has no header row; {hint}")
            return None

        columns = [name.strip().lower() for name in header]
        problems_before = self.problems.total
        for position, name in enumerate(columns, start=1):
            if not name:
                self._add(
                    f"column {position} of the header has no name; {hint}", line=1
                )
            elif name not in self.table.columns:
                self._add(f"unknown column {name!r}; {hint}", line=1)
            elif columns.index(name) != position - 1:
                self._add(f"column {name!r} appears twice; keep one of them", line=1)
        for name in required_columns(self.table):
            if name not in columns:
                self._add(f"missing required column {name!r}; {hint}", line=1)
        return columns if self.problems.total == problems_before else None

    def _read_records(
        self, reader: Any, columns: list[str]
    ) -> Iterator[dict[str, Any]]:
        parsers = {
            name: column_parser(self.table.columns[name], self.zone) for name in columns
        }
        key_columns = [column.name for column in self.table.primary_key.columns]
        first_lines: dict[tuple[Any, ...], int] = {}

        next_line = reader.line_num + 1
        for cells in reader:
            # A quoted cell may span lines: the record starts where the last ended.
            line, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                self._add(
                    f"has {len(cells)} cells but the header has {len(columns)} "
                    "columns; quote each cell that contains a comma",
                    line=line,
                )
                continue
            row = self._parse_record(cells, columns, parsers, line)
            if row is None:
                continue

            key = tuple(row[name] for name in key_columns)
            first_line = first_lines.setdefault(key, line)
            if first_line != line:
                self._add_duplicate(key_columns, key, first_line, line)
                continue
            yield row

    def _parse_record(
        self,
        cells: list[str],
        columns: list[str],
        parsers: dict[str, Parser],
        line: int,
    ) -> dict[str, Any] | None:
        problems_before = self.problems.total
        row: dict[str, Any] = {}
        for name, cell in zip(columns, cells, strict=True):
            text = cell.strip()
            if not text:
                if name in self._required_columns:
                    self._add("is missing; every row needs a value", line, name)
                row[name] = EMPTY_CELL_DEFAULTS.get((self.table.name, name))
                continue
            try:
                row[name] = parsers[name](text)
            except CellError as error:
                self._add(str(error), line, name, text)

        if self.problems.total != problems_before:
            return None
        row_problem = check_row(self.table.name, row)
        if row_problem is not None:
            name, reason = row_problem
            self._add(reason, line, name, cells[columns.index(name)].strip())
            return None
        return row

    def _add_duplicate(
        self, key_columns: list[str], key: tuple[Any, ...], first_line: int, line: int
    ) -> None:
        if len(key_columns) == 1:
            column, value = key_columns[0], str(key[0])
        else:
            column, value = " and ".join(key_columns), ", ".join(map(str, key))
        self._add(
            f"repeats line {first_line}; each {column} may appear once per file",
            line,
            column,
            value,
        )

    def _add(
        self,
        reason: str,
        line: int | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        self.problems.add(Problem(self.path.name, reason, line, column, value))


def _text_lines(binary: BinaryIO) -> Iterator[str]:
    # Decode line by line, so that an encoding error points at its line. The
    # first line may start with the byte order mark that Excel writes.
    for number, raw_line in enumerate(binary):
        yield raw_line.decode("utf-8-sig" if number == 0 else "utf-8")


@contextmanager
def _cell_size_limit(characters: int) -> Iterator[None]:
    # The csv module's limit is global to the process, so restore it after.
    previous = csv.field_size_limit(characters)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


# Loading a directory


def find_table_files(directory: Path) -> dict[str, Path]:
    """Return {table name: CSV file} for the table files in directory, in load order.

    Raises LoadError for a missing directory, a CSV file that is not named
    after a table, or a directory without table files. Other files, and
    hidden files such as editor lock files, are ignored.
    """
    expected = ", ".join(f"{name}.csv" for name in TABLES)
    if not directory.is_dir():
        raise LoadError(
            [
                Problem(
                    str(directory), "is not a directory; give the folder of CSV files"
                )
            ]
        )

    csv_paths = [
        path
        for path in sorted(directory.iterdir())
        if path.is_file()
        and path.suffix.lower() == ".csv"
        and not path.name.startswith(".")
    ]
    unknown = [path for path in csv_paths if path.stem not in TABLES]
    if unknown:
        raise LoadError(
            [
                Problem(path.name, f"is not named after a table; expected {expected}")
                for path in unknown
            ]
        )

    found = {path.stem: path for path in csv_paths}
    if not found:
        raise LoadError(
            [
                Problem(
                    str(directory),
                    f"contains no table files; expected one or more of {expected}",
                )
            ]
        )
    return {name: found[name] for name in TABLES if name in found}


def check_table_files(table_files: dict[str, Path], zone: ZoneInfo) -> None:
    """Read every file without writing anything; raise LoadError on any problem."""
    problems = ProblemLog()
    for name, path in table_files.items():
        log.info("checking %s", path)
        rows = sum(1 for _ in TableFile(path, TABLES[name], zone, problems).rows())
        log.info("checked %s: %d valid rows", path.name, rows)
    if problems.total:
        raise LoadError(problems.shown, problems.total)


def write_table_file(
    connection: sa.Connection, path: Path, table: sa.Table, zone: ZoneInfo
) -> int:
    """Upsert the rows of one table file in batches and return their number.

    Raises LoadError when the file has a problem, such as a file changed since
    it was checked, so that the caller's transaction rolls back.
    """
    started = time.perf_counter()
    problems = ProblemLog()
    count = 0
    batch: list[dict[str, Any]] = []
    for row in TableFile(path, table, zone, problems).rows():
        batch.append(row)
        if len(batch) == BATCH_SIZE:
            upsert(connection, table, batch)
            count += len(batch)
            batch = []
    upsert(connection, table, batch)
    count += len(batch)

    if problems.total:
        raise LoadError(problems.shown, problems.total)
    log.info(
        "loaded %s: %d rows in %.0f ms",
        path.name,
        count,
        (time.perf_counter() - started) * 1000,
    )
    return count


def load_directory(
    engine: sa.Engine, directory: Path, timezone: str = "UTC"
) -> dict[str, int]:
    """Load the table files in directory in one transaction.

    Timestamps without an offset are read in the IANA time zone named by
    timezone. Missing tables are created in the same transaction. Returns
    {table name: rows in its file} in load order. Raises ValueError for an
    unknown time zone and LoadError for files that cannot be loaded; in both
    cases the database is left as it was.
    """
    zone = time_zone(timezone)
    table_files = find_table_files(directory)
    check_table_files(table_files, zone)

    with engine.begin() as connection:
        _begin_sqlite_transaction(connection)
        metadata.create_all(connection)
        counts = {
            name: write_table_file(connection, path, TABLES[name], zone)
            for name, path in table_files.items()
        }
    log.info("committed %d rows from %s", sum(counts.values()), directory)
    return counts


def _begin_sqlite_transaction(connection: sa.Connection) -> None:
    # Python's sqlite3 module (3.11, default transaction mode) opens a
    # transaction only before INSERT, UPDATE, DELETE or REPLACE, so CREATE
    # TABLE would commit at once. An explicit BEGIN makes it roll back with the rows.
    if connection.dialect.driver != "pysqlite":
        return
    if not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")


# Command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m data_access.load",
        description=(
            "Load the CSV files in DIR that are named after the tables "
            "(outlets.csv, visits.csv, ...) into the database, in one transaction."
        ),
    )
    parser.add_argument(
        "--db",
        required=True,
        metavar="URL",
        help="SQLAlchemy URL of the database, e.g. sqlite:///sfa.sqlite",
    )
    parser.add_argument(
        "--timezone",
        default="UTC",
        metavar="TZ",
        help="IANA time zone of timestamps written without an offset (default UTC)",
    )
    parser.add_argument(
        "directory", type=Path, metavar="DIR", help="folder that contains the CSV files"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the loader's command line; return the exit code."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )

    try:
        time_zone(arguments.timezone)
        url = parse_database_url(arguments.db)
    except (ValueError, DatabaseURLError) as error:
        parser.error(str(error))
    if not arguments.directory.is_dir():
        parser.error(
            f"DIR {str(arguments.directory)!r} is not a directory; "
            "give the folder that contains the CSV files"
        )

    engine = create_engine(url)
    try:
        counts = load_directory(engine, arguments.directory, arguments.timezone)
    except LoadError as error:
        print(error, file=sys.stderr)
        return 1
    except sa.exc.SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        print(
            f"Loading into {url.render_as_string(hide_password=True)} failed: "
            f"{reason}. Nothing was committed.",
            file=sys.stderr,
        )
        return 1
    finally:
        engine.dispose()

    for name, count in counts.items():
        print(f"{name}: {count:,} {'row' if count == 1 else 'rows'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
