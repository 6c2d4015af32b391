"""Parse one column of a chunk of rows at once, with the per-cell rules.

The parsers in csv_cells define what each column accepts, one cell at a
time. Here the common forms of the large tables' cells (text, timestamps
written YYYY-MM-DD HH:MM[:SS[.fff[fff]]], plain decimal and whole numbers)
are parsed with numpy over the whole chunk, and every other cell goes to the
per-cell parser. A fast path accepts a cell only where the per-cell parser returns
the same value, so both paths store the same values and give the same errors.

A column parser takes the stripped cells of one column, with "" for an empty
cell, and returns a ParsedColumn.
"""

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa

from data_access.csv_cells import (
    COLUMN_PARSERS,
    INTEGER_RANGE,
    MAX_LINE_COUNT,
    MAX_ORDER_VALUE,
    CellError,
    Parser,
    column_parser,
    parse_float,
    parse_integer,
    parse_latitude,
    parse_line_count,
    parse_longitude,
    parse_order_value,
    parse_text,
    parse_timestamp,
    parse_weekday,
)

# Cells made only of these characters are plain decimal numbers exactly when
# float() accepts them. This check is needed because float() alone also takes
# "nan", "inf", "1_000" and surrounding spaces, which the per-cell rule rejects.
DECIMAL_CHARACTERS = re.compile(r"[0-9.eE+-]*")
INTEGER_CHARACTERS = re.compile(r"[0-9+-]*")
# Bounds that a per-cell parser checks after parse_float or parse_integer.
# A value outside them goes to the per-cell parser for its error message.
NUMBER_BOUNDS: dict[Parser, tuple[float, float]] = {
    parse_latitude: (-90, 90),
    parse_longitude: (-180, 180),
    parse_order_value: (-MAX_ORDER_VALUE, MAX_ORDER_VALUE),
    parse_line_count: (0, MAX_LINE_COUNT),
    parse_weekday: (1, 7),
    parse_integer: (INTEGER_RANGE.start, INTEGER_RANGE.stop - 1),
}
FLOAT_PARSERS = frozenset(
    {parse_float, parse_latitude, parse_longitude, parse_order_value}
)
INTEGER_PARSERS = frozenset({parse_integer, parse_line_count, parse_weekday})
# Years the timestamp fast path reads. Other years go to the per-cell parser,
# which also handles the edges of Python's date range.
FAST_YEARS = (1900, 2200)
SECONDS_PER_HOUR = 3_600
NOT_A_TIME = np.datetime64("NaT", "us")
EPOCH = datetime(1970, 1, 1)


@dataclass
class ParsedColumn:
    """The values of one column of a chunk and the reasons of its bad cells.

    values has one entry per cell: a list of Python values, or for a
    timestamp column a numpy datetime64[us] array of naive UTC times. An
    empty or invalid cell has None (NaT for timestamps). errors maps the
    position of each invalid cell to the per-cell parser's reason.
    """

    values: list[Any] | np.ndarray
    errors: dict[int, str] = field(default_factory=dict)


ColumnParser = Callable[[list[str]], ParsedColumn]


def chunk_column_parser(column: sa.Column[Any], zone: ZoneInfo) -> ColumnParser:
    """Return the parser for the cells of a table column, a chunk at a time."""
    cell_parser = column_parser(column, zone)
    special = COLUMN_PARSERS.get((column.table.name, column.name))
    base = cell_parser if special is None else special
    if base is parse_text:
        return parse_text_column
    if base in FLOAT_PARSERS:
        return partial(parse_number_column, cell_parser, float, DECIMAL_CHARACTERS)
    if base in INTEGER_PARSERS:
        return partial(parse_number_column, cell_parser, int, INTEGER_CHARACTERS)
    if isinstance(column.type, sa.DateTime):
        return TimestampColumnParser(zone)
    return partial(parse_each_cell, cell_parser)


def parse_each_cell(parser: Parser, texts: list[str]) -> ParsedColumn:
    """Parse each distinct cell once with the per-cell parser.

    Columns such as dates, booleans and roles repeat a few values, so a
    chunk parses each of them once.
    """
    parsed: dict[str, Any] = {}
    values: list[Any] = [None] * len(texts)
    errors: dict[int, str] = {}
    for position, text in enumerate(texts):
        if not text:
            continue
        if text not in parsed:
            try:
                parsed[text] = parser(text)
            except CellError as error:
                parsed[text] = error
        value = parsed[text]
        if isinstance(value, CellError):
            errors[position] = str(value)
        else:
            values[position] = value
    return ParsedColumn(values, errors)


def parse_text_column(texts: list[str]) -> ParsedColumn:
    """Keep the text, with None for empty cells, and reject a NUL character."""
    if "\x00" in "".join(texts):
        return parse_each_cell(parse_text, texts)
    if all(texts):
        return ParsedColumn(texts)
    return ParsedColumn([text if text else None for text in texts])


def parse_number_column(
    parser: Parser,
    number_type: type[float] | type[int],
    characters: re.Pattern[str],
    texts: list[str],
) -> ParsedColumn:
    """Parse plain decimal or whole numbers, and pass other cells to parser.

    float() and int() read any cell made of the allowed characters the way
    the per-cell parser does, and raise for the others (such as "1.2.3").
    """
    positions, present = _present_cells(texts)
    if not present:
        return ParsedColumn([None] * len(texts))
    try:
        if characters.fullmatch("".join(present)) is None:
            raise ValueError("a cell has characters outside the plain form")
        numbers = list(map(number_type, present))
        array = np.array(numbers, dtype=float)
    except (ValueError, OverflowError):
        # OverflowError: a whole number too large for a float (over 308 digits).
        return parse_each_cell(parser, texts)

    low, high = NUMBER_BOUNDS.get(parser, (-math.inf, math.inf))
    valid = np.isfinite(array) & (array >= low) & (array <= high)
    values: list[Any]
    if len(numbers) == len(texts):
        values = numbers
    else:
        # numpy scatters the numbers in C, in place of a Python loop.
        scattered = np.full(len(texts), None, dtype=object)
        scattered[positions] = np.array(numbers, dtype=object)
        values = scattered.tolist()
    errors: dict[int, str] = {}
    for index in np.flatnonzero(~valid).tolist():
        # The per-cell parser raises the error message for a value out of range.
        position = positions[index]
        try:
            values[position] = parser(texts[position])
        except CellError as error:
            values[position] = None
            errors[position] = str(error)
    return ParsedColumn(values, errors)


def _present_cells(texts: list[str]) -> tuple[Sequence[int], list[str]]:
    """Return the positions of the non-empty cells and their texts."""
    if all(texts):
        return range(len(texts)), texts
    present = np.fromiter(map(bool, texts), dtype=bool, count=len(texts))
    return np.flatnonzero(present).tolist(), list(filter(None, texts))


class TimestampColumnParser:
    """Parse timestamps into naive UTC datetime64[us] values.

    Cells written YYYY-MM-DD HH:MM, YYYY-MM-DD HH:MM:SS, or with .fff or
    .ffffff after the seconds (with a space or a T after the date), without
    an offset, are read with numpy. Each is a local time in zone,
    converted with the UTC offset that zoneinfo gives that local time with
    fold=0, the per-cell rule. The offset is looked up once per local hour
    and kept for the whole file. An hour in which the offset changes, and
    every other form of cell, goes to the per-cell parser.
    """

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._cell_parser = partial(parse_timestamp, zone=zone)
        # {local hour since 1970: UTC offset in seconds, or None when the
        # offset changes within that hour}
        self._hour_offsets: dict[int, int | None] = {}

    def __call__(self, texts: list[str]) -> ParsedColumn:
        values = np.full(len(texts), NOT_A_TIME)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        fast = np.zeros(len(texts), dtype=bool)
        empty_cells = int(np.count_nonzero(lengths == 0))
        for length in _DIGIT_POSITIONS:
            positions = np.flatnonzero(lengths == length)
            if not positions.size:
                continue
            cells = _cells_at(texts, positions, empty_cells)
            local = _local_microseconds(cells, length)
            offsets = self._offsets(local)
            read = local != _UNREAD
            read &= offsets != _UNREAD
            utc = local[read] - offsets[read] * 1_000_000
            values[positions[read]] = utc.view("datetime64[us]")
            fast[positions[read]] = True

        errors: dict[int, str] = {}
        for position in np.flatnonzero(~fast & (lengths > 0)).tolist():
            try:
                values[position] = np.datetime64(
                    self._cell_parser(texts[position]), "us"
                )
            except CellError as error:
                errors[position] = str(error)
        return ParsedColumn(values, errors)

    def _offsets(self, local: np.ndarray) -> np.ndarray:
        """Return the UTC offset in seconds of each local time in microseconds
        since 1970, or _UNREAD."""
        offsets = np.full(local.shape, _UNREAD, dtype=np.int64)
        readable = local != _UNREAD
        hours = local[readable] // (SECONDS_PER_HOUR * 1_000_000)
        if not hours.size:
            return offsets
        unique_hours, inverse = np.unique(hours, return_inverse=True)
        hour_offsets = np.array(
            [self._hour_offset(hour) for hour in unique_hours.tolist()],
            dtype=np.int64,
        )
        offsets[readable] = hour_offsets[inverse]
        return offsets

    def _hour_offset(self, hour: int) -> int:
        if hour not in self._hour_offsets:
            start = EPOCH + timedelta(hours=hour)
            first = self._utc_offset(start)
            last = self._utc_offset(start + timedelta(seconds=SECONDS_PER_HOUR - 1))
            # NOTE: only the first and last second of the hour are compared.
            # An offset that changes and changes back within one local hour
            # goes unseen, and that hour's cells get the wrong offset.
            self._hour_offsets[hour] = first if first == last else None
        offset = self._hour_offsets[hour]
        return _UNREAD if offset is None else offset

    def _utc_offset(self, local: datetime) -> int:
        moment = local.replace(tzinfo=self.zone).astimezone(UTC).replace(tzinfo=None)
        return round((local - moment).total_seconds())


def _cells_at(texts: list[str], positions: np.ndarray, empty_cells: int) -> list[str]:
    """Return the texts at positions, given in order, of a column with
    empty_cells empty texts."""
    if positions.size == len(texts):
        return texts
    if positions.size + empty_cells == len(texts):
        # The positions are those of all the non-empty texts, which filter()
        # picks in C.
        return list(filter(None, texts))
    return [texts[position] for position in positions.tolist()]


# Marks a cell that the fast path does not read.
_UNREAD = np.iinfo(np.int64).min
_SECONDS_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
# {text length: positions of the digits}: HH:MM, HH:MM:SS, .fff, .ffffff
_DIGIT_POSITIONS = {
    16: _SECONDS_DIGITS[:-2],
    19: _SECONDS_DIGITS,
    23: _SECONDS_DIGITS + [20, 21, 22],
    26: _SECONDS_DIGITS + [20, 21, 22, 23, 24, 25],
}
_TIME_SEPARATORS = {4: "-", 7: "-", 13: ":", 16: ":", 19: "."}


def _local_microseconds(texts: list[str], length: int) -> np.ndarray:
    """Return microseconds since 1970 of each text, or _UNREAD where the text
    is not a valid YYYY-MM-DD HH:MM[:SS[.fff[fff]]] in the fast path's years.

    Every text has the given length, a key of _DIGIT_POSITIONS.
    """
    codes = np.array(texts, dtype=f"<U{length}").view(np.uint32).reshape(-1, length)
    readable = (codes[:, 10] == ord(" ")) | (codes[:, 10] == ord("T"))
    for position, character in _TIME_SEPARATORS.items():
        if position < length:
            readable &= codes[:, position] == ord(character)
    digits = codes[:, _DIGIT_POSITIONS[length]].astype(np.int64) - ord("0")
    readable &= ((digits >= 0) & (digits <= 9)).all(axis=1)
    digits[~readable] = 0

    def number(first: int, count: int) -> np.ndarray:
        result = np.zeros(len(texts), dtype=np.int64)
        for index in range(first, first + count):
            result = result * 10 + digits[:, index]
        return result

    year, month, day = number(0, 4), number(4, 2), number(6, 2)
    hour, minute = number(8, 2), number(10, 2)
    second = number(12, 2) if length >= 19 else np.zeros_like(year)
    fraction_digits = length - 20 if length > 19 else 0
    microsecond = number(14, fraction_digits) * 10 ** (6 - fraction_digits)
    readable &= (year >= FAST_YEARS[0]) & (year <= FAST_YEARS[1])
    readable &= (month >= 1) & (month <= 12)
    readable &= (hour <= 23) & (minute <= 59) & (second <= 59)
    month[~readable] = 1
    year[~readable] = 1970

    first_of_month = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (
        month - 1
    )
    month_days = (first_of_month + 1).astype("datetime64[D]") - first_of_month.astype(
        "datetime64[D]"
    )
    readable &= (day >= 1) & (day <= month_days.astype(np.int64))
    days = first_of_month.astype("datetime64[D]").astype(np.int64) + day - 1
    seconds = days * 86_400 + hour * 3_600 + minute * 60 + second
    return np.where(readable, seconds * 1_000_000 + microsecond, _UNREAD)
