"""Load table files (CSV or XLSX) named after the tables into the shared database.

    python -m data_access.load --db URL [--timezone TZ] [--skip-invalid] DIR

Each file in DIR is optional and named after its table (outlets.csv,
visits.xlsx, ...), and its header row names the columns. The load runs in two
passes over the files, reading them in chunks so that memory stays flat for
files of millions of rows. The first pass reads every file and collects the
problems, so a bad file never touches the database. The second reads the
rows the first pass accepted, kept in temporary files (see checked_rows), and
upserts them by primary key in one transaction, through each engine's bulk
path (see bulk_write), so loading the same files twice leaves the same
database.

Large loads (see write_process) write while the files are checked, on a
second core. Each chunk that passed its check is written at once, in a
transaction that commits only when every file passed, so a rejected load
leaves the database as the two passes do. Their progress bar shows the check.

By default one bad row rejects the whole load. With skip_invalid, the rows
with a problem are set aside, written with their reasons to
<table>.rejected.csv beside the file, and the other rows load.
"""

import argparse
import csv
import logging
import signal
import sys
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa

from data_access.bulk_write import TableWriter, count_rows, sqlite_load_cache
from data_access.checked_rows import CheckedRows, CheckedRowsSink, CheckedRowsSource
from data_access.csv_cells import time_zone
from data_access.dialect import refresh_statistics
from data_access.engine import DatabaseURLError, create_engine, parse_database_url
from data_access.load_references import ReferenceCheck
from data_access.progress import ProgressBar
from data_access.schema import TABLES, metadata
from data_access.stopping import StopSignals
from data_access.summaries import refresh_after_load
from data_access.table_files import (
    CHUNK_ROWS,
    MAX_PROBLEMS_SHOWN,
    TABLE_FILE_SUFFIXES,
    Chunk,
    LoadError,
    Problem,
    ProblemLog,
    Rejection,
    TableFile,
)
from data_access.write_process import (
    LOG_FORMAT,
    ParallelWriter,
    WriterError,
    parallel_writer,
)

__all__ = [
    "MAX_PROBLEMS_SHOWN",
    "LoadError",
    "LoadResult",
    "Problem",
    "TableCounts",
    "load_directory",
]

log = logging.getLogger(__name__)

# Rows read, checked and written together.
BATCH_SIZE = CHUNK_ROWS
REJECTS_SUFFIX = ".rejected.csv"


# Results


@dataclass
class TableCounts:
    """The rows one load inserted, updated and rejected in one table.

    updated counts rows whose primary key was already stored; their values
    are replaced, even when they are the same.
    """

    inserted: int = 0
    updated: int = 0
    rejected: int = 0

    def __str__(self) -> str:
        return (
            f"{self.inserted:,} inserted, {self.updated:,} updated, "
            f"{self.rejected:,} rejected"
        )


@dataclass
class LoadResult:
    """The counts of a committed load, in load order, and the rows set aside.

    problems contains the first MAX_PROBLEMS_SHOWN problems of the rejected
    rows and problem_total counts all of them; both are empty unless the load
    skipped invalid rows.
    """

    counts: dict[str, TableCounts]
    rejects_files: dict[str, Path] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problem_total: int = 0


# Finding the files


def find_table_files(directory: Path) -> dict[str, Path]:
    """Return {table name: file} for the table files in directory, in load order.

    A table file is named after its table, in any case (Visits.CSV too), and
    ends in .csv or .xlsx. Raises LoadError for a missing directory, a CSV or
    XLSX file that is not named after a table, a table with two files, or a
    directory without table files. Other files, rejects files, hidden files
    and Excel's lock files (~$visits.xlsx) are ignored.
    """
    names = ", ".join(f"{name}.csv" for name in TABLES)
    expected = f"one or more of {names} (or the same names ending in .xlsx)"
    if not directory.is_dir():
        reason = "is not a directory; give the folder of CSV files"
        raise LoadError([Problem(str(directory), reason)])

    paths = [
        path
        for path in sorted(directory.iterdir())
        if path.is_file()
        and path.suffix.lower() in TABLE_FILE_SUFFIXES
        and not path.name.startswith((".", "~$"))
        and not path.name.lower().endswith(REJECTS_SUFFIX)
    ]
    problems = [
        Problem(path.name, f"is not named after a table; expected {expected}")
        for path in paths
        if path.stem.lower() not in TABLES
    ]
    found: dict[str, Path] = {}
    for path in paths:
        name = path.stem.lower()
        if name in found:
            first = found[name].name
            reason = f"holds the same table as {first}; keep one of them"
            problems.append(Problem(path.name, reason))
        found.setdefault(name, path)
    if problems:
        raise LoadError(problems)
    if not found:
        raise LoadError(
            [Problem(str(directory), f"contains no table files; expected {expected}")]
        )
    return {name: found[name] for name in TABLES if name in found}


# First pass: checking


class RejectsFiles:
    """The rejected rows of each table file, in <table>.rejected.csv beside it.

    Each row contains the line (or sheet row) of the input, every problem of
    the row, then its cells as read, so the rows can be corrected and, without
    those first two columns, loaded again.
    A table's file is created at its first rejected row; a file left by an
    earlier load is removed when the table is checked again. discard()
    removes the files of a load that failed, since no row was set aside.
    """

    def __init__(self) -> None:
        self.paths: dict[str, Path] = {}
        self._files: dict[str, tuple[TextIO, Any]] = {}

    def start(self, table_name: str, path: Path) -> None:
        rejects_path = path.with_name(f"{table_name}{REJECTS_SUFFIX}")
        if rejects_path.exists():
            log.info("removing the rejects file of an earlier load: %s", rejects_path)
            rejects_path.unlink()

    def write(self, table_name: str, path: Path, rejection: Rejection) -> None:
        if table_name not in self._files:
            rejects_path = path.with_name(f"{table_name}{REJECTS_SUFFIX}")
            stream = rejects_path.open("w", encoding="utf-8-sig", newline="")
            writer = csv.writer(stream)
            unit = "row" if path.suffix.lower() == ".xlsx" else "line"
            writer.writerow([unit, "problem", *rejection.header])
            self._files[table_name] = (stream, writer)
            self.paths[table_name] = rejects_path
        _, writer = self._files[table_name]
        problems = "; ".join(problem.detail() for problem in rejection.problems)
        writer.writerow([rejection.line, problems, *rejection.cells])

    def close(self) -> None:
        for stream, _ in self._files.values():
            stream.close()
        self._files.clear()

    def discard(self) -> None:
        self.close()
        for path in self.paths.values():
            log.info("removing the rejects file of a failed load: %s", path)
            path.unlink(missing_ok=True)
        self.paths.clear()


def check_table_files(
    table_files: dict[str, Path],
    zone: ZoneInfo,
    references: ReferenceCheck,
    problems: ProblemLog,
    rejects: RejectsFiles | None = None,
    progress_stream: TextIO | None = None,
    checked: CheckedRowsSink | None = None,
) -> dict[str, np.ndarray]:
    """Read every file without writing anything; return {table: rejected lines}.

    Each problem goes to problems. With rejects, each rejected row is also
    written to its table's rejects file. With checked, the accepted rows are
    kept there for the second pass. The rejected lines of a table come
    sorted, in a numpy array.
    """
    rejected_lines: dict[str, np.ndarray] = {}
    for name, path in table_files.items():
        log.info("checking %s", path)
        if rejects is not None:
            rejects.start(name, path)
        started = time.perf_counter()
        fatal_before = problems.fatal
        rejected: list[int] = []
        table_file = TableFile(path, TABLES[name], zone, problems)
        accepted = 0
        with ProgressBar(f"checking {path.name}", progress_stream) as bar:
            for chunk in table_file.chunks(BATCH_SIZE):
                chunk = _resolve_references(table_file, chunk, references)
                if checked is not None:
                    fraction = table_file.fraction_read
                    checked.add(name, table_file.header, chunk, fraction)
                accepted += len(chunk)
                for rejection in chunk.rejections:
                    rejected.append(rejection.line)
                    for problem in rejection.problems:
                        problems.add(problem)
                    if rejects is not None:
                        rejects.write(name, path, rejection)
                bar.update(table_file.fraction_read, accepted + len(rejected))
        rejected_lines[name] = np.array(sorted(rejected), dtype=np.int64)
        if problems.fatal > fatal_before:
            references.stop_checking(name)
        log.info(
            "checked %s: %d valid rows, %d rejected in %.0f ms",
            path.name,
            accepted,
            len(rejected),
            (time.perf_counter() - started) * 1000,
        )
    return rejected_lines


def _resolve_references(
    table_file: TableFile, chunk: Chunk, references: ReferenceCheck
) -> Chunk:
    """Reject each valid row of the chunk whose reference is unknown.

    The references of a whole chunk are looked up together, in one query per
    referenced table for the ids the files lack. The chunk returned keeps
    its rejections in file order.
    """
    table_name, file_name = table_file.table.name, table_file.path.name
    unresolved = references.problems(table_name, file_name, chunk)
    records = chunk.records
    if unresolved and records is not None:
        rejections = chunk.rejections + [
            Rejection(
                file_name,
                int(chunk.lines[position]),
                table_file.header,
                records.cells(position),
                problems,
            )
            for position, problems in unresolved.items()
        ]
        rejections.sort(key=lambda rejection: rejection.line)
        valid = np.ones(len(chunk), dtype=bool)
        valid[list(unresolved)] = False
        chunk = chunk.select(np.flatnonzero(valid))
        chunk.rejections = rejections
    references.remember(table_name, chunk)
    references.remember_rejected(table_name, chunk.rejections)
    return chunk


# Second pass: writing


class LoadedMoments:
    """The earliest and latest check_in or ordered_at of the rows loaded (naive UTC)."""

    COLUMNS = ("check_in", "ordered_at")

    def __init__(self) -> None:
        self.first: datetime | None = None
        self.last: datetime | None = None

    def add(self, chunk: Chunk) -> None:
        for name in self.COLUMNS:
            values = chunk.values.get(name)
            if not isinstance(values, np.ndarray):
                continue
            values = values[~np.isnat(values)]
            if not values.size:
                continue
            low, high = values.min().item(), values.max().item()
            self.first = low if self.first is None else min(self.first, low)
            self.last = high if self.last is None else max(self.last, high)


def write_table_file(
    connection: sa.Connection,
    table_file: TableFile,
    progress_stream: TextIO | None = None,
    moments: LoadedMoments | None = None,
    checked: CheckedRowsSource | None = None,
) -> TableCounts:
    """Upsert the rows of one table file in chunks and count what changed.

    The rows come from checked when it contains the table's rows, and from
    the file otherwise.
    Raises LoadError when the file has a problem the first pass did not
    find, such as a file changed since it was checked, so that the caller's
    transaction rolls back.
    """
    started = time.perf_counter()
    table = table_file.table
    stored_before = count_rows(connection, table)
    writer: TableWriter | None = None
    written = 0
    changed: list[Problem] = []
    with (
        ProgressBar(f"loading {table_file.path.name}", progress_stream) as bar,
        _aborting(lambda: writer),
    ):
        for chunk, fraction_read in _chunks_to_write(table_file, checked):
            if writer is None:
                # The header is known once the first chunk is read.
                header = table_file.header
                if checked is not None and checked.has(table.name):
                    header = checked.header(table.name)
                writer = TableWriter(
                    connection, table, header, empty_table=not stored_before
                )
                writer.start()
            if moments is not None:
                moments.add(chunk)
            changed += [
                problem
                for rejection in chunk.rejections
                for problem in rejection.problems
            ]
            writer.write(chunk)
            written += len(chunk)
            bar.update(fraction_read(), written)

        if changed or table_file.problems.total:
            shown = (table_file.problems.shown + changed)[:MAX_PROBLEMS_SHOWN]
            raise LoadError(shown, table_file.problems.total + len(changed))
        if writer is not None:
            writer.finish()
    # The first pass rejects repeated keys, so each row written either added
    # a key or replaced a stored row.
    inserted = written
    if stored_before and written:
        inserted = count_rows(connection, table) - stored_before
    counts = TableCounts(inserted=inserted, updated=written - inserted)
    log.info(
        "loaded %s: %d inserted, %d updated in %.0f ms",
        table_file.path.name,
        counts.inserted,
        counts.updated,
        (time.perf_counter() - started) * 1000,
    )
    return counts


@contextmanager
def _aborting(writer: Callable[[], TableWriter | None]) -> Iterator[None]:
    """Abort the writer that writer() returns when the block raises."""
    try:
        yield
    except BaseException as error:
        current = writer()
        if current is not None:
            current.abort(error)
        raise


def _chunks_to_write(
    table_file: TableFile, checked: CheckedRowsSource | None
) -> Iterator[tuple[Chunk, Callable[[], float | None]]]:
    """Yield the chunks to write, each with a function that returns the share
    of the file read."""
    table_name = table_file.table.name
    if checked is not None and checked.has(table_name):
        for chunk, fraction in checked.chunks(table_name):
            yield chunk, lambda fraction=fraction: fraction
        return
    for chunk in table_file.chunks(BATCH_SIZE):
        yield chunk, lambda: table_file.fraction_read


# Loading a directory


def load_directory(
    engine: sa.Engine,
    directory: Path,
    timezone: str = "UTC",
    *,
    skip_invalid: bool = False,
    progress_stream: TextIO | None = None,
) -> LoadResult:
    """Load the table files in directory in one transaction.

    Timestamps without an offset are read in the IANA time zone named by
    timezone. Missing tables are created in the same transaction. Raises
    ValueError for an unknown time zone and LoadError for files that cannot
    be loaded; in both cases the database is left as it was. With
    skip_invalid, rows with a problem are written to rejects files and the
    other rows load; a problem with a whole file still raises LoadError, and
    a load that raises leaves no rejects file. progress_stream (default
    standard error) shows a progress bar when it is a terminal. Raises
    SummaryRefreshError when the load committed but the summary weeks it
    touched could not be refreshed, and SummaryRefreshStopped when Ctrl-C
    stopped that refresh.
    """
    zone = time_zone(timezone)
    table_files = find_table_files(directory)
    problems = ProblemLog()
    rejects = RejectsFiles() if skip_invalid else None
    moments = LoadedMoments()
    writer = parallel_writer(engine.url, table_files)
    try:
        if writer is None:
            counts = _check_then_write(
                engine,
                table_files,
                zone,
                problems,
                rejects,
                moments,
                skip_invalid=skip_invalid,
                progress_stream=progress_stream,
            )
        else:
            counts = _check_while_writing(
                writer(
                    engine,
                    table_files,
                    zone,
                    problems,
                    skip_invalid=skip_invalid,
                    note_chunk=moments.add,
                ),
                rejects,
                progress_stream,
            )
    except BaseException:
        if rejects is not None:
            rejects.discard()
        raise

    log.info(
        "committed %d rows from %s",
        sum(count.inserted + count.updated for count in counts.values()),
        directory,
    )
    try:
        refresh_statistics(engine, [TABLES[name] for name in table_files])
        refresh_after_load(engine, moments.first, moments.last, set(table_files))
    except sa.exc.SQLAlchemyError as error:
        raise SummaryRefreshError(_first_line(error)) from error
    except KeyboardInterrupt as error:
        raise SummaryRefreshStopped from error
    return LoadResult(
        counts=counts,
        rejects_files={} if rejects is None else dict(rejects.paths),
        problems=problems.shown,
        problem_total=problems.total,
    )


def _check_then_write(
    engine: sa.Engine,
    table_files: dict[str, Path],
    zone: ZoneInfo,
    problems: ProblemLog,
    rejects: RejectsFiles | None,
    moments: LoadedMoments,
    *,
    skip_invalid: bool,
    progress_stream: TextIO | None,
) -> dict[str, TableCounts]:
    """Check every file, keeping the accepted rows, then write them all."""
    with CheckedRows() as checked:
        with ReferenceCheck(engine) as references:
            rejected_lines = check_table_files(
                table_files,
                zone,
                references,
                problems,
                rejects,
                progress_stream,
                checked,
            )
        if rejects is not None:
            rejects.close()
        _raise_for_problems(problems, skip_invalid)
        return _write_table_files(
            engine,
            table_files,
            zone,
            rejected_lines,
            progress_stream,
            moments,
            checked,
        )


def _check_while_writing(
    writer: ParallelWriter,
    rejects: RejectsFiles | None,
    progress_stream: TextIO | None,
) -> dict[str, TableCounts]:
    """Check every file while the writer writes the accepted rows, and commit
    only when the check accepts the load (see write_process)."""
    problems = writer.problems
    with writer, ReferenceCheck(writer.engine) as references:
        references.read_stored_ids(writer.table_files)
        rejected_lines = check_table_files(
            writer.table_files,
            writer.zone,
            references,
            problems,
            rejects,
            progress_stream,
            writer,
        )
        if rejects is not None:
            rejects.close()
        _raise_for_problems(problems, writer.skip_invalid)
        log.info("checked every file; waiting for the writer to finish and commit")
        written = writer.commit()
    return {
        name: TableCounts(inserted, updated, len(rejected_lines[name]))
        for name, (inserted, updated) in written.items()
    }


def _raise_for_problems(problems: ProblemLog, skip_invalid: bool) -> None:
    """Raise LoadError when the problems found reject the load."""
    if problems.fatal or (problems.total and not skip_invalid):
        raise LoadError(problems.shown, problems.total, fatal=problems.fatal)


def _write_table_files(
    engine: sa.Engine,
    table_files: dict[str, Path],
    zone: ZoneInfo,
    rejected_lines: dict[str, Collection[int]],
    progress_stream: TextIO | None,
    moments: LoadedMoments,
    checked: CheckedRowsSource | None = None,
) -> dict[str, TableCounts]:
    """Upsert the accepted rows of every file in one transaction."""
    with engine.begin() as connection, sqlite_load_cache(connection):
        return write_tables(
            connection,
            table_files,
            zone,
            rejected_lines,
            progress_stream,
            moments,
            checked,
        )


def write_tables(
    connection: sa.Connection,
    table_files: dict[str, Path],
    zone: ZoneInfo,
    rejected_lines: dict[str, Collection[int]],
    progress_stream: TextIO | None,
    moments: LoadedMoments | None,
    checked: CheckedRowsSource | None = None,
) -> dict[str, TableCounts]:
    """Upsert the accepted rows of every file in the connection's transaction,
    creating the missing tables first."""
    counts: dict[str, TableCounts] = {}
    _begin_sqlite_transaction(connection)
    metadata.create_all(connection)
    for name, path in table_files.items():
        table_file = TableFile(
            path, TABLES[name], zone, ProblemLog(), skip_lines=rejected_lines[name]
        )
        counts[name] = write_table_file(
            connection, table_file, progress_stream, moments, checked
        )
        counts[name].rejected = len(rejected_lines[name])
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
            "Load the CSV or XLSX files in DIR that are named after the tables "
            "(outlets.csv, visits.xlsx, ...) into the database, in one transaction."
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
        "--skip-invalid",
        action="store_true",
        help=(
            "load the valid rows and write the rejected ones, with their reasons, "
            "to <table>.rejected.csv beside each file (default: one bad row "
            "rejects the whole load)"
        ),
    )
    parser.add_argument(
        "directory", type=Path, metavar="DIR", help="folder that contains the files"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the loader's command line; return the exit code."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)

    try:
        time_zone(arguments.timezone)
        url = parse_database_url(arguments.db)
    except (ValueError, DatabaseURLError) as error:
        parser.error(str(error))
    if not arguments.directory.is_dir():
        parser.error(
            f"DIR {str(arguments.directory)!r} is not a directory; "
            "give the folder that contains the CSV or XLSX files"
        )

    engine = create_engine(url)
    stops = StopSignals()
    try:
        with stops:
            result = load_directory(
                engine,
                arguments.directory,
                arguments.timezone,
                skip_invalid=arguments.skip_invalid,
            )
    except SummaryRefreshStopped:
        _print_refresh_failure(url, "it was stopped")
        return stops.exit_code or 128 + signal.SIGINT
    except KeyboardInterrupt:
        # The transaction rolls back as the exception leaves it.
        return _stopped(stops.exit_code or 128 + signal.SIGINT)
    except SummaryRefreshError as error:
        # A signal that lands in a SQLite function fails the refresh.
        reason = f"it failed: {error}" if stops.exit_code is None else "it was stopped"
        _print_refresh_failure(url, reason)
        return stops.exit_code or 1
    except sa.exc.SQLAlchemyError as error:
        if stops.exit_code is not None:
            return _stopped(stops.exit_code)
        print(
            f"Loading into {url.render_as_string(hide_password=True)} failed: "
            f"{_first_line(error)}. Nothing was committed.",
            file=sys.stderr,
        )
        return 1
    except LoadError as error:
        print(error, file=sys.stderr)
        if not arguments.skip_invalid and not error.fatal:
            print(
                "To load the valid rows and set the others aside, run again with "
                "--skip-invalid.",
                file=sys.stderr,
            )
        elif arguments.skip_invalid and error.fatal:
            print(
                "--skip-invalid sets aside invalid rows only, not a problem with a "
                "whole file or the folder. Fix the problems above, then run the "
                "load again.",
                file=sys.stderr,
            )
        return 1
    except WriterError as error:
        print(
            f"Loading into {url.render_as_string(hide_password=True)} failed: {error}.",
            file=sys.stderr,
        )
        return 1
    finally:
        engine.dispose()

    _print_rejected(result)
    for name, counts in result.counts.items():
        print(f"{name}: {counts}")
    return 0


class SummaryRefreshError(Exception):
    """The load committed, but refreshing the summary weeks it touched failed."""


class SummaryRefreshStopped(KeyboardInterrupt):
    """The load committed, and Ctrl-C or SIGTERM stopped the summary refresh."""


def _stopped(exit_code: int) -> int:
    """Print that the load was stopped and return exit_code."""
    print(
        "Loading was stopped before the end; the load is committed in one "
        "transaction, so nothing was committed unless the log above says "
        "'committed'.",
        file=sys.stderr,
    )
    return exit_code


def _print_refresh_failure(url: sa.URL, reason: str) -> None:
    """Print that the load committed but its summary refresh did not finish."""
    print(
        f"The files were loaded into {url.render_as_string(hide_password=True)} "
        f"and committed, but refreshing the summaries did not finish: {reason}. "
        "The pages read the raw tables for the weeks the files touched until "
        "python -m data_access.summaries builds them again.",
        file=sys.stderr,
    )


def _first_line(error: sa.exc.SQLAlchemyError) -> str:
    """Return the first line of the driver's message, without the statement."""
    return str(getattr(error, "orig", None) or error).splitlines()[0]


def _print_rejected(result: LoadResult) -> None:
    if not result.problem_total:
        return
    noun = "problem" if result.problem_total == 1 else "problems"
    lines = [f"Rows set aside for {result.problem_total} {noun}:"]
    lines += [str(problem) for problem in result.problems]
    if result.problem_total > len(result.problems):
        lines.append(f"... and {result.problem_total - len(result.problems)} more")
    lines += [
        f"The rejected {name} rows and their reasons are in {path}"
        for name, path in result.rejects_files.items()
    ]
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
