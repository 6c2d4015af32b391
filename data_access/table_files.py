"""Reading one table file of the loader, CSV or XLSX, as the rows to store.

A file is read record by record, so a file of a million rows needs memory
only for the caller's current batch and for the keys already seen, which
find an id that appears twice. Each problem is reported with the file, the
line (CSV) or row (XLSX), the column, the cell text and the reason.
"""

import csv
import zipfile
from collections.abc import Container, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from zoneinfo import ZoneInfo

import openpyxl
import sqlalchemy as sa
from openpyxl.utils.exceptions import InvalidFileException

from data_access.csv_cells import (
    EMPTY_CELL_DEFAULTS,
    CellError,
    Parser,
    check_row,
    column_parser,
    required_columns,
)

MAX_PROBLEMS_SHOWN = 20
# Python's csv module rejects cells over 128 KiB by default, which a detailed
# territory outline exceeds.
MAX_CELL_CHARACTERS = 64 * 1024 * 1024
# A long cell, such as an outline, is cut to this many characters in messages.
MAX_VALUE_SHOWN = 60
TABLE_FILE_SUFFIXES = (".csv", ".xlsx")
# The columns a <table>.rejected.csv file puts before the row's own cells.
REJECTS_COLUMNS = ("line", "row", "problem")


# Problems


@dataclass(frozen=True)
class Problem:
    """One reason a file or a row cannot be loaded, and where it was found.

    line is the line number a text editor shows for a CSV file, or the row
    number Excel shows for an XLSX sheet; the header is 1. It is None for a
    problem with a whole file or folder. column and value are set for a
    problem with one cell.
    """

    file: str
    reason: str
    line: int | None = None
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.detail()}"
        unit = "row" if self.file.lower().endswith(".xlsx") else "line"
        return f"{self.file} {unit} {self.line}: {self.detail()}"

    def detail(self) -> str:
        """Return the problem without its file and line: column, cell text, reason."""
        if self.column is None:
            return self.reason
        if self.value is None:
            return f"{self.column} {self.reason}"
        return f"{self.column} {_shorten(self.value)!r} {self.reason}"


def _shorten(value: str) -> str:
    if len(value) <= MAX_VALUE_SHOWN:
        return value
    return value[: MAX_VALUE_SHOWN - 3] + "..."


@dataclass
class ProblemLog:
    """The problems found so far: the first few kept, all of them counted.

    fatal counts the problems with a whole file (a bad header, a file that is
    not UTF-8 or not a workbook), which no row-by-row skipping can get past.
    """

    limit: int = MAX_PROBLEMS_SHOWN
    shown: list[Problem] = field(default_factory=list)
    total: int = 0
    fatal: int = 0

    def add(self, problem: Problem, *, fatal: bool = False) -> None:
        self.total += 1
        self.fatal += int(fatal)
        if len(self.shown) < self.limit:
            self.shown.append(problem)


class LoadError(Exception):
    """Files that cannot be loaded, raised before anything is committed.

    problems contains the first MAX_PROBLEMS_SHOWN problems and total counts
    all of them. fatal counts the problems with a whole file or folder, which
    skipping invalid rows cannot get past.
    """

    def __init__(
        self,
        problems: list[Problem],
        total: int | None = None,
        fatal: int | None = None,
    ) -> None:
        self.problems = problems
        self.total = len(problems) if total is None else total
        self.fatal = self.total if fatal is None else fatal
        super().__init__(self._message())

    def _message(self) -> str:
        noun = "problem" if self.total == 1 else "problems"
        lines = [f"Nothing was loaded: {self.total} {noun} to fix in the files."]
        lines += [str(problem) for problem in self.problems]
        if self.total > len(self.problems):
            lines.append(f"... and {self.total - len(self.problems)} more")
        return "\n".join(lines)


# Records


@dataclass(frozen=True)
class Record:
    """One row of a table file: where it is, its cell texts and its values."""

    line: int
    cells: list[str]
    values: dict[str, Any]


@dataclass(frozen=True)
class Rejection:
    """A row that will not be loaded, with the cells as read and every reason."""

    file: str
    line: int
    header: list[str]
    cells: list[str]
    problems: list[Problem]


class SourceError(Exception):
    """A file that cannot be read on from line; the message is the reason."""

    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class Source(Protocol):
    """The records of one file in order, the header first, as (line, cells)."""

    def records(self) -> Iterator[tuple[int, list[str]]]: ...

    @property
    def fraction_read(self) -> float | None: ...


# CSV files


class CsvSource:
    """A CSV file in UTF-8, with or without the byte order mark Excel writes."""

    def __init__(self, binary: BinaryIO, size: int) -> None:
        self._binary = binary
        self._size = size

    @property
    def fraction_read(self) -> float:
        if self._binary.closed or not self._size:
            return 1.0
        return self._binary.tell() / self._size

    def records(self) -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(_text_lines(self._binary))
        next_line = 1
        try:
            for cells in reader:
                # A quoted cell may span lines: the record starts where the
                # last one ended.
                line, next_line = next_line, reader.line_num + 1
                yield line, cells
        except UnicodeDecodeError as error:
            raise SourceError(
                f"is not UTF-8 text (byte 0x{error.object[error.start]:02x}); "
                "save the file as CSV UTF-8",
                reader.line_num + 1,
            ) from None
        except csv.Error as error:
            raise SourceError(
                f"is not a readable CSV file: {error}", reader.line_num
            ) from None


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


# XLSX workbooks


class XlsxSource:
    """The sheet named after the table, else the first sheet, of a workbook.

    openpyxl's read-only mode streams the sheet's XML, so memory stays flat
    however many rows the sheet has.
    """

    def __init__(self, path: Path, table_name: str) -> None:
        try:
            self._workbook = openpyxl.load_workbook(
                path, read_only=True, data_only=True
            )
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as error:
            raise SourceError(
                f"is not a readable XLSX workbook ({error}); save it again from "
                "Excel as an .xlsx workbook, or as CSV UTF-8",
                None,
            ) from None
        names = self._workbook.sheetnames
        sheet_name = table_name if table_name in names else names[0]
        self._sheet = self._workbook[sheet_name]
        self._row_count = self._sheet.max_row
        self._rows_read = 0

    def close(self) -> None:
        self._workbook.close()

    @property
    def fraction_read(self) -> float | None:
        # Writers that stream a sheet, such as openpyxl's write-only mode,
        # leave out its dimension or give a stale one. The row count is then
        # unknown, so the share read is too.
        if not self._row_count or self._rows_read > self._row_count:
            return None
        return self._rows_read / self._row_count

    def records(self) -> Iterator[tuple[int, list[str]]]:
        # Read-only mode yields an empty row for each gap, so the position
        # is the row number Excel shows.
        for number, values in enumerate(self._sheet.iter_rows(values_only=True), 1):
            self._rows_read = number
            yield number, [xlsx_cell_text(value) for value in values]


def xlsx_cell_text(value: object) -> str:
    """Write a typed XLSX cell as the text a CSV export would hold.

    Whole numbers lose the .0 that Excel's floats carry, so an id typed as
    1001 stays 1001. A date-formatted cell at midnight becomes YYYY-MM-DD,
    which both date and timestamp columns accept.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


@contextmanager
def open_source(path: Path, table_name: str) -> Iterator[Source]:
    """Open a table file by its suffix; raise SourceError for an unreadable one."""
    if path.suffix.lower() == ".xlsx":
        source = XlsxSource(path, table_name)
        try:
            yield source
        finally:
            source.close()
        return
    with _cell_size_limit(MAX_CELL_CHARACTERS), path.open("rb") as binary:
        yield CsvSource(binary, path.stat().st_size)


# Reading one file


@dataclass
class TableFile:
    """A file of one table, read as the values to store in that table.

    Rows on skip_lines are passed over unread, which lets a second pass load
    only the rows a first pass accepted. Problems with the whole file go to
    problems; a problem with a row comes out of rows() as a Rejection.
    """

    path: Path
    table: sa.Table
    zone: ZoneInfo
    problems: ProblemLog
    skip_lines: Container[int] = frozenset()
    header: list[str] = field(default_factory=list, init=False)
    _source: Source | None = field(default=None, init=False, repr=False)

    @property
    def fraction_read(self) -> float | None:
        """The share of the file read so far, from 0 to 1, for a progress bar;
        None when the file's size in rows is unknown."""
        return 0.0 if self._source is None else self._source.fraction_read

    def rows(self) -> Iterator[Record | Rejection]:
        """Yield each row in file order: a Record when valid, else a Rejection.

        A header with a problem, or a file that cannot be read on, adds a
        fatal problem to problems and stops the file.
        """
        try:
            with open_source(self.path, self.table.name) as source:
                self._source = source
                rows = source.records()
                first = next(rows, None)
                columns = self._read_header(None if first is None else first[1])
                if columns is not None:
                    self.header = columns
                    yield from self._read_records(rows, columns)
        except SourceError as error:
            self._add(error.reason, line=error.line, fatal=True)

    @cached_property
    def _required_columns(self) -> frozenset[str]:
        return frozenset(required_columns(self.table))

    @property
    def _is_xlsx(self) -> bool:
        return self.path.suffix.lower() == ".xlsx"

    def _read_header(self, header: list[str] | None) -> list[str] | None:
        expected = ", ".join(self.table.columns.keys())
        required = ", ".join(required_columns(self.table))
        hint = f"expected columns: {expected} (required: {required})"
        if header and self._is_xlsx:
            # Excel keeps formatted but empty columns after the last one.
            while header and not header[-1].strip():
                header = header[:-1]
        if not header:
            self._add(f"has no header row; {hint}", fatal=True)
            return None

        columns = [name.strip().lower() for name in header]
        problems_before = self.problems.total
        from_rejects_file = False
        for position, name in enumerate(columns, start=1):
            if not name:
                self._add(
                    f"column {position} of the header has no name; {hint}",
                    line=1,
                    fatal=True,
                )
            elif name not in self.table.columns and name in REJECTS_COLUMNS:
                if from_rejects_file:
                    continue  # One message names both columns.
                from_rejects_file = True
                self._add(
                    f"unknown column {name!r}, which a rejects file adds; delete "
                    "its line (or row) and problem columns before loading it again",
                    line=1,
                    fatal=True,
                )
            elif name not in self.table.columns:
                self._add(f"unknown column {name!r}; {hint}", line=1, fatal=True)
            elif columns.index(name) != position - 1:
                self._add(
                    f"column {name!r} appears twice; keep one of them",
                    line=1,
                    fatal=True,
                )
        for name in required_columns(self.table):
            if name not in columns:
                self._add(
                    f"missing required column {name!r}; {hint}", line=1, fatal=True
                )
        return columns if self.problems.total == problems_before else None

    def _read_records(
        self, rows: Iterator[tuple[int, list[str]]], columns: list[str]
    ) -> Iterator[Record | Rejection]:
        parsers = {
            name: column_parser(self.table.columns[name], self.zone) for name in columns
        }
        key_columns = [column.name for column in self.table.primary_key.columns]
        first_lines: dict[Any, int] = {}

        for line, cells in rows:
            if line in self.skip_lines or not any(cell.strip() for cell in cells):
                continue
            if self._is_xlsx:
                cells = _fit_to_header(cells, len(columns))
            if len(cells) != len(columns):
                hint = "; quote each cell that contains a comma"
                if self._is_xlsx:
                    hint = ""
                reason = (
                    f"has {len(cells)} cells but the header has {len(columns)} "
                    f"columns{hint}"
                )
                yield self._rejection(line, cells, [self._problem(reason, line)])
                continue
            values, problems = self._parse_record(cells, columns, parsers, line)
            if problems:
                yield self._rejection(line, cells, problems)
                continue

            # A one-column key is stored as the value itself: a tuple per
            # row would cost 56 more bytes for each of a million ids.
            key = tuple(values[name] for name in key_columns)
            first_line = first_lines.setdefault(key[0] if len(key) == 1 else key, line)
            if first_line != line:
                problem = self._duplicate(key_columns, key, first_line, line)
                yield self._rejection(line, cells, [problem])
                continue
            yield Record(line, cells, values)

    def _parse_record(
        self,
        cells: list[str],
        columns: list[str],
        parsers: dict[str, Parser],
        line: int,
    ) -> tuple[dict[str, Any], list[Problem]]:
        problems: list[Problem] = []
        values: dict[str, Any] = {}
        for name, cell in zip(columns, cells, strict=True):
            text = cell.strip()
            if not text:
                if name in self._required_columns:
                    problems.append(
                        self._problem("is missing; every row needs a value", line, name)
                    )
                values[name] = EMPTY_CELL_DEFAULTS.get((self.table.name, name))
                continue
            try:
                values[name] = parsers[name](text)
            except CellError as error:
                problems.append(self._problem(str(error), line, name, text))

        if not problems:
            row_problem = check_row(self.table.name, values)
            if row_problem is not None:
                name, reason = row_problem
                text = cells[columns.index(name)].strip()
                problems.append(self._problem(reason, line, name, text))
        return values, problems

    def _duplicate(
        self, key_columns: list[str], key: tuple[Any, ...], first_line: int, line: int
    ) -> Problem:
        if len(key_columns) == 1:
            column, value = key_columns[0], str(key[0])
        else:
            column, value = " and ".join(key_columns), ", ".join(map(str, key))
        unit = "row" if self._is_xlsx else "line"
        return self._problem(
            f"repeats {unit} {first_line}; each {column} may appear once per file",
            line,
            column,
            value,
        )

    def _problem(
        self,
        reason: str,
        line: int | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> Problem:
        return Problem(self.path.name, reason, line, column, value)

    def _rejection(
        self, line: int, cells: list[str], problems: list[Problem]
    ) -> Rejection:
        return Rejection(self.path.name, line, self.header, cells, problems)

    def _add(
        self,
        reason: str,
        line: int | None = None,
        column: str | None = None,
        value: str | None = None,
        *,
        fatal: bool = False,
    ) -> None:
        self.problems.add(self._problem(reason, line, column, value), fatal=fatal)


def _fit_to_header(cells: list[str], width: int) -> list[str]:
    # A sheet row ends at its last value, or runs on into empty formatted
    # cells; only a value beyond the header is a problem.
    if len(cells) < width:
        return cells + [""] * (width - len(cells))
    if len(cells) > width and not any(cell.strip() for cell in cells[width:]):
        return cells[:width]
    return cells
