"""Reading one table file of the loader, CSV or XLSX, as the rows to store.

A file is read in chunks of CHUNK_ROWS rows, and each chunk is parsed one
column at a time (see column_parsers), so a file of millions of rows needs
memory only for the current chunk and for the keys already seen (used to find
an id that appears twice). Each problem is reported with the file, the line
(CSV) or row (XLSX), the column, the cell text and the reason.
"""

import csv
import gc
import io
import zipfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from itertools import chain, repeat
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from data_access.column_parsers import ParsedColumn, chunk_column_parser
from data_access.csv_cells import (
    EMPTY_CELL_DEFAULTS,
    ROW_CHECKED_TABLES,
    check_row,
    required_columns,
)
from data_access.key_index import KeyIndex

MAX_PROBLEMS_SHOWN = 20
# Rows parsed together.
CHUNK_ROWS = 50_000
# Bytes of a CSV file decoded at once.
READ_BLOCK_BYTES = 4 * 1024 * 1024
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

    def __reduce__(self) -> tuple[type["LoadError"], tuple[Any, ...]]:
        # A load's writing process sends its errors through a pipe.
        return (LoadError, (self.problems, self.total, self.fatal))

    def _message(self) -> str:
        noun = "problem" if self.total == 1 else "problems"
        lines = [f"Nothing was loaded: {self.total} {noun} to fix in the files."]
        lines += [str(problem) for problem in self.problems]
        if self.total > len(self.problems):
            lines.append(f"... and {self.total - len(self.problems)} more")
        return "\n".join(lines)


# Chunks


# A list, or a numpy array for timestamps. A PostgreSQL writer's queue keeps
# lists as Arrow arrays (see write_process).
ColumnValues = list[Any] | np.ndarray | pa.Array


@dataclass
class Chunk:
    """The valid rows' values and the rejected rows of one stretch of a file.

    lines contains the line (or sheet row) of each valid row in file order.
    records contains their cells as read, or None once the chunk was kept
    for writing only. values contains each column's values aligned with
    lines: a list, or for a timestamp column a datetime64[us] array of naive
    UTC times (NaT for an empty cell). rejections contains the rows with a
    problem, in file order.
    """

    lines: np.ndarray
    records: "Records | None"
    values: dict[str, ColumnValues]
    rejections: list["Rejection"]

    def __len__(self) -> int:
        return len(self.lines)

    def select(self, positions: np.ndarray) -> "Chunk":
        """Return the chunk with only the valid rows at positions."""
        return Chunk(
            self.lines[positions],
            None if self.records is None else self.records.take(positions.tolist()),
            {name: _take(values, positions) for name, values in self.values.items()},
            self.rejections,
        )


def _take(values: ColumnValues, positions: np.ndarray) -> ColumnValues:
    if isinstance(values, np.ndarray):
        return values[positions]
    return [values[position] for position in positions.tolist()]


@dataclass(frozen=True)
class Rejection:
    """A row that will not be loaded, with the cells as read and every reason."""

    file: str
    line: int
    header: list[str]
    cells: list[str]
    problems: list[Problem]


class SourceError(Exception):
    """A file that cannot be read on from line; the message is the reason.

    cell is the position of the cell on that line that the reason is about,
    from 0, and its text, when they are known.
    """

    def __init__(
        self, reason: str, line: int | None, cell: tuple[int, str] | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.cell = cell


@dataclass
class Records:
    """Records of a file as read: the line each starts on and its cells.

    The cells come by row, or by column for a chunk whose records all have
    as many cells as the header. A file without quotes is split into
    columns without a list per record. stripped is true when no cell starts
    or ends with whitespace, so that each cell is its own stripped text.
    """

    lines: list[int]
    rows: list[list[str]] | None = None
    columns: list[list[str]] | None = None
    stripped: bool = False

    def __len__(self) -> int:
        return len(self.lines)

    def cells(self, position: int) -> list[str]:
        """Return the cells of the record at position, as read."""
        if self.rows is not None:
            return self.rows[position]
        assert self.columns is not None
        return [column[position] for column in self.columns]

    def take(self, positions: list[int]) -> "Records":
        """Return the records at positions, in that order."""
        lines = [self.lines[position] for position in positions]
        if self.rows is not None:
            return Records(lines, rows=[self.rows[position] for position in positions])
        assert self.columns is not None
        columns = [[column[i] for i in positions] for column in self.columns]
        return Records(lines, columns=columns, stripped=self.stripped)

    def slice(self, start: int, end: int) -> "Records":
        """Return the records from position start up to end, as take() would
        for that range but faster, because lists are sliced in C."""
        if self.rows is not None:
            return Records(self.lines[start:end], rows=self.rows[start:end])
        assert self.columns is not None
        columns = [column[start:end] for column in self.columns]
        return Records(self.lines[start:end], columns=columns, stripped=self.stripped)


class Source(Protocol):
    """The records of one file in order, the header first, in chunks.

    A file that becomes unreadable part way yields the records before the
    problem, then raises SourceError.
    """

    def record_chunks(self, size: int) -> Iterator[Records]: ...

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

    def record_chunks(self, size: int) -> Iterator[Records]:
        if _has_quotes(self._binary):
            yield from self._read_with_csv_module(size)
        else:
            yield from self._read_without_quotes(size)

    def _read_with_csv_module(self, size: int) -> Iterator[Records]:
        end = _InputEnd()
        reader = csv.reader(chain(_text_lines(self._binary), end.lines()))
        next_line = 1
        while True:
            lines: list[int] = []
            records: list[list[str]] = []
            try:
                with _gc_paused():
                    for cells in reader:
                        if end.reached:
                            raise _unclosed_quote(cells[-1], reader.line_num)
                        # A quoted cell may span lines, so the record starts
                        # where the last one ended.
                        lines.append(next_line)
                        records.append(cells)
                        next_line = reader.line_num + 1
                        if len(records) == size:
                            break
            except UndecodableLine as error:
                if records:
                    yield Records(lines, rows=records)
                raise error.source_error() from None
            except SourceError:
                if records:
                    yield Records(lines, rows=records)
                raise
            except csv.Error as error:
                if records:
                    yield Records(lines, rows=records)
                raise SourceError(
                    f"is not a readable CSV file: {error}", reader.line_num
                ) from None
            if not records:
                return
            yield Records(lines, rows=records)

    def _read_without_quotes(self, size: int) -> Iterator[Records]:
        # Without quotes no record spans lines, so each block of whole lines
        # is read alone and record n of a block is on its line n.
        width: int | None = None
        next_line = 1
        for text, decode_error in _text_blocks(self._binary):
            if width is None and text:
                header_end = text.find("\n") + 1 or len(text)
                header, error = _read_block_with_csv_module(text[:header_end], 1)
                if error is not None:
                    raise error
                if not header.rows:
                    return
                yield header
                width = len(header.rows[0])
                text, next_line = text[header_end:], 2
            records, error = _read_block(text, next_line, width or 0)
            if len(records) <= size:
                yield records
            else:
                for start in range(0, len(records), size):
                    end = min(start + size, len(records))
                    yield records.slice(start, end)
            if error is not None:
                raise error
            if decode_error is not None:
                raise decode_error.source_error()
            next_line += len(records)


class _InputEnd:
    """A flag set when the csv reader requests a line after the last one.

    The non-strict csv reader of Python 3.11, without an escape character,
    still returns a record after that request only when a quoted cell is open
    at the end of the file. It puts the rest of the file into that cell
    instead of raising an error.
    """

    def __init__(self) -> None:
        self.reached = False

    def lines(self) -> Iterator[str]:
        """Yield no line, but set reached when the reader requests one."""
        self.reached = True
        yield from ()


def _unclosed_quote(cell: str, last_line: int) -> SourceError:
    """Return the error for a quoted cell open at the end of the file.

    The cell contains the text from its opening quote to the end of the
    file, and last_line is the file's last line.
    """
    first_line = last_line - cell.count("\n") + cell.endswith("\n")
    start = '"' + cell.split("\n", 1)[0].removesuffix("\r")
    return SourceError(
        f"a quoted cell is never closed (it starts with {_shorten(start)!r}); "
        "close the quote or remove it",
        first_line,
    )


def _has_quotes(binary: BinaryIO) -> bool:
    """Return whether a file contains a double quote, reading from the start."""
    found = False
    while block := binary.read(8 * READ_BLOCK_BYTES):
        if b'"' in block:
            found = True
            break
    binary.seek(0)
    return found


def _read_block(
    text: str, first_line: int, width: int
) -> tuple[Records, SourceError | None]:
    """Read the records of a block of whole lines of a file without quotes.

    Where every line has width cells and nothing the csv module treats
    specially (a carriage return other than in a CRLF line end, a NUL, a
    cell over its size limit), the block is split into columns directly.
    """
    plain = text.replace("\r\n", "\n") if "\r\n" in text else text
    lines = plain.split("\n")
    if lines[-1] == "":
        lines.pop()
    if (
        lines
        and width
        and "\r" not in plain
        and "\x00" not in plain
        and (
            len(plain) <= MAX_CELL_CHARACTERS
            or max(map(len, lines)) <= MAX_CELL_CHARACTERS
        )
        and set(map(str.count, lines, repeat(","))) == {width - 1}
    ):
        cells = ",".join(lines).split(",")
        columns = [cells[index::width] for index in range(width)]
        numbers = list(range(first_line, first_line + len(lines)))
        stripped = not _has_padded_cells(plain)
        return Records(numbers, columns=columns, stripped=stripped), None
    return _read_block_with_csv_module(text, first_line)


# The ASCII characters besides the space and the line feed that str.strip()
# removes.
_OTHER_ASCII_WHITESPACE = tuple(
    character
    for character in map(chr, range(128))
    if character.isspace() and character not in " \n"
)


def _has_padded_cells(text: str) -> bool:
    """Return whether a cell of a block of lines without quotes or carriage
    returns may start or end with whitespace.

    The block's bytes are compared with numpy, which took about 1 ms for a
    block of 4 MiB of visits in a test, where stripping each cell took over
    10 ms. Text with other than ASCII characters returns True unread.
    """
    if not text.isascii() or any(space in text for space in _OTHER_ASCII_WHITESPACE):
        return True
    codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    if not codes.size:
        return False
    spaces = codes == ord(" ")
    separators = (codes == ord(",")) | (codes == ord("\n"))
    return bool(
        spaces[0]
        or spaces[-1]
        or (spaces[1:] & separators[:-1]).any()
        or (spaces[:-1] & separators[1:]).any()
    )


def _read_block_with_csv_module(
    text: str, first_line: int
) -> tuple[Records, SourceError | None]:
    """Read a block of a file without quotes with the csv module."""
    reader = csv.reader(io.StringIO(text, newline="\n"))
    lines: list[int] = []
    rows: list[list[str]] = []
    try:
        for cells in reader:
            lines.append(first_line + len(rows))
            rows.append(cells)
    except csv.Error as error:
        line = first_line - 1 + reader.line_num
        reason = f"is not a readable CSV file: {error}"
        return Records(lines, rows=rows), SourceError(reason, line)
    return Records(lines, rows=rows), None


def _text_blocks(binary: BinaryIO) -> Iterator[tuple[str, "UndecodableLine | None"]]:
    """Yield blocks of whole lines as text, each with None or, for the last
    block read, the line that is not UTF-8 (the text then ends before it)."""
    lines_before = 0
    while block := binary.read(READ_BLOCK_BYTES):
        if not block.endswith(b"\n"):
            block += binary.readline()
        encoding = "utf-8-sig" if lines_before == 0 else "utf-8"
        try:
            text = block.decode(encoding)
        except UnicodeDecodeError:
            good: list[str] = []
            try:
                good.extend(_decode_lines(block, lines_before))
            except UndecodableLine as error:
                yield "".join(good), error
            return
        lines_before += text.count("\n")
        yield text, None


class UndecodableLine(Exception):
    """A line of a CSV file that is not UTF-8: its bytes and where the first
    bad byte starts."""

    def __init__(self, line: int, raw: bytes, start: int) -> None:
        super().__init__(f"line {line}: byte 0x{raw[start]:02x}")
        self.line = line
        self.raw = raw
        self.start = start

    def source_error(self) -> SourceError:
        return SourceError(
            f"is not UTF-8 text (byte 0x{self.raw[self.start]:02x}); "
            "save the file as CSV UTF-8",
            self.line,
            _undecodable_cell(self.raw, self.start),
        )


def _undecodable_cell(raw: bytes, start: int) -> tuple[int, str]:
    """Return the position of the cell of a CSV line that contains the byte at
    start, and the cell's text with each bad byte shown as U+FFFD.

    The line is split alone, so a quoted cell that spans lines may be named
    by its position on the bad line only.
    """
    text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
    before = raw[:start].decode("utf-8", errors="replace")
    # A line that starts with the bad byte has no cell before it.
    position = max(len(next(csv.reader([before]), [""])) - 1, 0)
    cells = next(csv.reader([text]), [""])
    return position, cells[position] if position < len(cells) else ""


def _text_lines(binary: BinaryIO) -> Iterator[str]:
    # Blocks of whole lines are decoded at once. A block that is not UTF-8 is
    # decoded again line by line, so that the error names its line. The
    # first line may start with the byte order mark that Excel writes. Lines
    # end at "\n" only, as in the binary file.
    lines_before = 0
    while block := binary.read(READ_BLOCK_BYTES):
        if not block.endswith(b"\n"):
            block += binary.readline()
        encoding = "utf-8-sig" if lines_before == 0 else "utf-8"
        try:
            text = block.decode(encoding)
        except UnicodeDecodeError:
            yield from _decode_lines(block, lines_before)
            return
        lines_before += text.count("\n")
        yield from io.StringIO(text, newline="\n")


def _decode_lines(block: bytes, lines_before: int) -> Iterator[str]:
    for number, raw_line in enumerate(io.BytesIO(block), start=lines_before + 1):
        try:
            yield raw_line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise UndecodableLine(number, raw_line, error.start) from None


@contextmanager
def _gc_paused() -> Iterator[None]:
    # A chunk read by rows contains a list per record, and Python's cyclic
    # garbage collector would scan them again and again while the chunk
    # grows, although lists of strings cannot be part of a cycle. In one test
    # that doubled the time to read a chunk.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
        # Imported here because openpyxl took 0.16 s to import in a test, on
        # every load and in its writing process, and most loads read no XLSX.
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

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

    def record_chunks(self, size: int) -> Iterator[Records]:
        # Read-only mode yields an empty row for each gap, so the position
        # is the row number Excel shows.
        rows = enumerate(self._sheet.iter_rows(values_only=True), 1)
        while True:
            lines: list[int] = []
            records: list[list[str]] = []
            with _gc_paused():
                for number, values in rows:
                    self._rows_read = number
                    lines.append(number)
                    records.append([xlsx_cell_text(value) for value in values])
                    if len(records) == size:
                        break
            if not records:
                return
            yield Records(lines, rows=records)


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
    problems; a problem with a row comes out of chunks() as a Rejection.
    """

    path: Path
    table: sa.Table
    zone: ZoneInfo
    problems: ProblemLog
    skip_lines: Collection[int] = ()
    header: list[str] = field(default_factory=list, init=False)
    _source: Source | None = field(default=None, init=False, repr=False)

    @property
    def fraction_read(self) -> float | None:
        """The share of the file read so far, from 0 to 1, for a progress bar;
        None when the file's size in rows is unknown."""
        return 0.0 if self._source is None else self._source.fraction_read

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[Chunk]:
        """Yield the rows in file order, in chunks of up to size records.

        A header with a problem, or a file that cannot be read on, adds a
        fatal problem to problems and stops the file.
        """
        try:
            with open_source(self.path, self.table.name) as source:
                self._source = source
                parser: ChunkParser | None = None
                for records in source.record_chunks(size):
                    if parser is None:
                        # A file whose first line is not UTF-8 yields no
                        # records before its SourceError.
                        if not records:
                            continue
                        columns = self._read_header(records.cells(0))
                        if columns is None:
                            return
                        self.header = columns
                        parser = ChunkParser(self, columns)
                        records = records.slice(1, len(records))
                    if records:
                        with _gc_paused():
                            chunk = parser.parse(records)
                        yield chunk
                if parser is None:
                    self._read_header(None)
        except SourceError as error:
            self._add(self._with_column(error), line=error.line, fatal=True)

    def _with_column(self, error: SourceError) -> str:
        """Name the column and cell of a SourceError in its reason, when the
        error names a cell of a line after the header."""
        if error.cell is None or not self.header or error.line in (None, 1):
            return error.reason
        position, text = error.cell
        if position >= len(self.header):
            return f"cell {position + 1} ({_shorten(text)!r}) {error.reason}"
        return f"column {self.header[position]} ({_shorten(text)!r}) {error.reason}"

    @cached_property
    def _required_columns(self) -> frozenset[str]:
        return frozenset(required_columns(self.table))

    @cached_property
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

    def duplicate(
        self, key_columns: list[str], key: tuple[Any, ...], first_line: int, line: int
    ) -> Problem:
        """Return the problem for a row that repeats an earlier row's key."""
        if len(key_columns) == 1:
            column, value = key_columns[0], str(key[0])
        else:
            column, value = " and ".join(key_columns), ", ".join(map(str, key))
        unit = "row" if self._is_xlsx else "line"
        return self.problem(
            f"repeats {unit} {first_line}; each {column} may appear once per file",
            line,
            column,
            value,
        )

    def problem(
        self,
        reason: str,
        line: int | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> Problem:
        return Problem(self.path.name, reason, line, column, value)

    def rejection(
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
        self.problems.add(self.problem(reason, line, column, value), fatal=fatal)


def _fit_to_header(cells: list[str], width: int) -> list[str]:
    # A sheet row ends at its last value, or runs on into empty formatted
    # cells; only a value beyond the header is a problem.
    if len(cells) < width:
        return cells + [""] * (width - len(cells))
    if len(cells) > width and not any(cell.strip() for cell in cells[width:]):
        return cells[:width]
    return cells


# Parsing a chunk


class ChunkParser:
    """Parser of the chunks of one table file, whose header names columns.

    It keeps the state that spans chunks, which is the keys seen (to find a
    repeated key) and the column parsers' caches.
    """

    def __init__(self, table_file: TableFile, columns: list[str]) -> None:
        self.file = table_file
        self.columns = columns
        table = table_file.table
        self.parsers = [
            chunk_column_parser(table.columns[name], table_file.zone)
            for name in columns
        ]
        self.required = [name in table_file._required_columns for name in columns]
        self.defaults = [
            EMPTY_CELL_DEFAULTS.get((table.name, name)) for name in columns
        ]
        self.key_columns = [column.name for column in table.primary_key.columns]
        self.key_positions = [columns.index(name) for name in self.key_columns]
        self.keys = KeyIndex()
        # Most tables have a one-column text key, which is hashed as it is.
        # Other keys are first joined into one text per row.
        self.text_key = len(self.key_columns) == 1 and isinstance(
            table.columns[self.key_columns[0]].type, sa.Text
        )
        self.skip_lines = np.unique(np.fromiter(table_file.skip_lines, dtype=np.int64))

    def parse(self, records: Records) -> Chunk:
        """Parse a chunk of records that follow the header."""
        if self.skip_lines.size:
            records = self._without_skipped(records)
        rejections: list[Rejection] = []
        if records.rows is not None:
            if self.file._is_xlsx:
                width = len(self.columns)
                rows = [_fit_to_header(cells, width) for cells in records.rows]
                records = Records(records.lines, rows=rows)
            records = self._with_header_width(records, rejections)
            assert records.rows is not None
            texts = [list(map(str.strip, cells)) for cells in zip(*records.rows)]
        elif records.stripped:
            assert records.columns is not None
            texts = list(records.columns)
        else:
            assert records.columns is not None
            texts = [list(map(str.strip, column)) for column in records.columns]
        if not texts:
            texts = [[] for _ in self.columns]
        empty = [_empty_cells(column) for column in texts]
        blank = _blank_rows(empty)
        if blank is not None:
            keep = np.flatnonzero(~blank).tolist()
            records = records.take(keep)
            texts = [[column[position] for position in keep] for column in texts]
            empty = [None if mask is None else mask[keep] for mask in empty]

        line_numbers = np.array(records.lines, dtype=np.int64)
        values, problems = self._parse_columns(texts, empty, line_numbers)
        if self.file.table.name in ROW_CHECKED_TABLES:
            self._check_rows(values, texts, line_numbers, problems)
        self._find_repeated_keys(values, line_numbers, problems)

        for position, row_problems in problems.items():
            line = int(line_numbers[position])
            cells = records.cells(position)
            rejections.append(self.file.rejection(line, cells, row_problems))
        rejections.sort(key=lambda rejection: rejection.line)
        chunk = Chunk(
            line_numbers, records, dict(zip(self.columns, values)), rejections
        )
        if not problems:
            return chunk
        valid = np.ones(len(line_numbers), dtype=bool)
        valid[list(problems)] = False
        return chunk.select(np.flatnonzero(valid))

    def _without_skipped(self, records: Records) -> Records:
        # Lines only grow through a file, so only the skipped lines between
        # this chunk's first and last line are compared.
        lines = records.lines
        low = np.searchsorted(self.skip_lines, lines[0])
        high = np.searchsorted(self.skip_lines, lines[-1], side="right")
        if low == high:
            return records
        skipped = np.isin(np.array(lines), self.skip_lines[low:high])
        return records.take(np.flatnonzero(~skipped).tolist())

    def _with_header_width(
        self, records: Records, rejections: list[Rejection]
    ) -> Records:
        """Return the records as wide as the header and reject the others.

        A record of empty cells is skipped whatever its width.
        """
        assert records.rows is not None
        width = len(self.columns)
        rows = records.rows
        widths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        other = np.flatnonzero(widths != width).tolist()
        if not other:
            return records
        for position in other:
            cells, line = rows[position], records.lines[position]
            if not any(cell.strip() for cell in cells):
                continue
            noun = "cell" if len(cells) == 1 else "cells"
            reason = f"has {len(cells)} {noun} but the header has {width} columns"
            if self.file._is_xlsx:
                hint = ""
            elif len(cells) > width:
                hint = "; quote each cell that contains a comma"
            elif len(cells) == 1 and any(mark in cells[0] for mark in ";\t"):
                hint = "; separate the cells with commas, not semicolons or tabs"
            else:
                hint = (
                    "; add the missing cells, writing an empty one as two commas "
                    "in a row, or quote a cell that contains a line break"
                )
            reason += hint
            problem = self.file.problem(reason, line)
            rejections.append(self.file.rejection(line, cells, [problem]))
        return records.take(np.flatnonzero(widths == width).tolist())

    def _parse_columns(
        self,
        texts: list[list[str]],
        empty: list[np.ndarray | None],
        line_numbers: np.ndarray,
    ) -> tuple[list[ColumnValues], dict[int, list[Problem]]]:
        """Parse every column and return the values and {row position: problems}.

        Each row's problems come in column order, as a person reads the row.
        """
        values: list[ColumnValues] = []
        problems: dict[int, list[Problem]] = {}
        for index, name in enumerate(self.columns):
            parsed: ParsedColumn = self.parsers[index](texts[index])
            missing = empty[index]
            column_values = parsed.values
            if missing is not None and self.required[index]:
                for position in np.flatnonzero(missing).tolist():
                    reason = "is missing; every row needs a value"
                    problem = self.file.problem(
                        reason, int(line_numbers[position]), name
                    )
                    problems.setdefault(position, []).append(problem)
            elif missing is not None and self.defaults[index] is not None:
                column_values = list(column_values)
                for position in np.flatnonzero(missing).tolist():
                    column_values[position] = self.defaults[index]
            for position, reason in sorted(parsed.errors.items()):
                line, text = int(line_numbers[position]), texts[index][position]
                problem = self.file.problem(reason, line, name, text)
                problems.setdefault(position, []).append(problem)
            values.append(column_values)
        return values, problems

    def _check_rows(
        self,
        values: list[ColumnValues],
        texts: list[list[str]],
        line_numbers: np.ndarray,
        problems: dict[int, list[Problem]],
    ) -> None:
        for position in range(len(line_numbers)):
            if position in problems:
                continue
            row = {name: values[i][position] for i, name in enumerate(self.columns)}
            row_problem = check_row(self.file.table.name, row)
            if row_problem is None:
                continue
            name, reason = row_problem
            text = texts[self.columns.index(name)][position]
            line = int(line_numbers[position])
            problems[position] = [self.file.problem(reason, line, name, text)]

    def _find_repeated_keys(
        self,
        values: list[ColumnValues],
        line_numbers: np.ndarray,
        problems: dict[int, list[Problem]],
    ) -> None:
        """Reject each valid row that repeats the key of an earlier valid row."""
        valid = np.ones(len(line_numbers), dtype=bool)
        valid[list(problems)] = False
        positions = np.flatnonzero(valid)
        key_values = [values[index] for index in self.key_positions]
        if self.text_key and len(positions) == len(line_numbers):
            keys = key_values[0]
        elif self.text_key:
            keys = [key_values[0][position] for position in positions.tolist()]
        else:
            # NUL cannot occur in a stored text, so it separates the parts.
            keys = [
                "\x00".join(_key_text(column[position]) for column in key_values)
                for position in positions.tolist()
            ]
        first_lines = self.keys.add(keys, line_numbers[positions])
        for index in np.flatnonzero(first_lines).tolist():
            position = int(positions[index])
            key = tuple(column[position] for column in key_values)
            problem = self.file.duplicate(
                self.key_columns,
                key,
                int(first_lines[index]),
                int(line_numbers[position]),
            )
            problems[position] = [problem]


def _key_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _empty_cells(texts: list[str]) -> np.ndarray | None:
    """Return which cells of a column are empty, or None when none is."""
    # all() tests each text's length, faster than a search for "".
    if all(texts):
        return None
    return np.array(texts, dtype=object) == ""


def _blank_rows(empty: list[np.ndarray | None]) -> np.ndarray | None:
    """Return which rows have only empty cells, or None when none has."""
    if not empty or any(mask is None for mask in empty):
        return None
    blank = np.logical_and.reduce(empty)
    return blank if blank.any() else None
