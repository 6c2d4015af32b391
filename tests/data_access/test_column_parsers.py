"""Check that chunk parsers return the per-cell parsers' values and errors."""

from datetime import datetime
from typing import Any

import numpy as np
import pytest

from data_access.column_parsers import (
    DECIMAL_CHARACTERS,
    INTEGER_CHARACTERS,
    TimestampColumnParser,
    parse_each_cell,
    parse_number_column,
    parse_text_column,
)
from data_access.csv_cells import (
    CellError,
    Parser,
    parse_float,
    parse_integer,
    parse_latitude,
    parse_line_count,
    parse_order_value,
    parse_timestamp,
    parse_weekday,
    time_zone,
)


def per_cell(parser: Parser, texts: list[str]) -> tuple[list[Any], dict[int, str]]:
    values: list[Any] = []
    errors: dict[int, str] = {}
    for position, text in enumerate(texts):
        if not text:
            values.append(None)
            continue
        try:
            values.append(parser(text))
        except CellError as error:
            values.append(None)
            errors[position] = str(error)
    return values, errors


TIMESTAMPS = [
    "2026-03-02 09:15:00",
    "2026-03-02T09:15:00",
    "2026-03-02 09:15",
    "",
    "2026-03-02T19:00:00+05:30",
    "2026-03-02T19:00:00Z",
    "2026-03-02T09:15:00.250",
    "2026-03-02 09:15:00.000000",
    "2026-03-02 09:15:00.123456",
    "2026-03-02T09:15:00.999",
    "2026-03-02 09:15:00.12345x",
    "2026-03-02 09:15:00,123",
    "2026-11-01 01:59:59.999999",
    "2026-02-29 09:00:00",
    "2024-02-29 09:00:00",
    "2026-13-01 09:00:00",
    "2026-03-02 24:00:00",
    "2026-03-02 09:60:00",
    "2026-03-02x09:15:00",
    "0001-01-01 00:00:00",
    "1899-12-31 23:59:59",
    "２０２６-03-02 09:15",
    "soon",
    # New York: clocks go forward at 02:00 on 8 March and back at 02:00 on
    # 1 November 2026.
    "2026-03-08 01:59:59",
    "2026-03-08 02:30:00",
    "2026-03-08 03:00:00",
    "2026-11-01 00:59:59",
    "2026-11-01 01:30:00",
    "2026-11-01 02:00:00",
]


@pytest.mark.parametrize("zone_name", ["UTC", "Asia/Kolkata", "America/New_York"])
def test_timestamp_column_matches_cells(zone_name: str) -> None:
    zone = time_zone(zone_name)
    parser = TimestampColumnParser(zone)

    result = parser(TIMESTAMPS)

    values, errors = per_cell(lambda text: parse_timestamp(text, zone), TIMESTAMPS)
    expected = np.array(
        [np.datetime64("NaT") if value is None else value for value in values],
        dtype="datetime64[us]",
    )
    assert result.errors == errors
    assert result.values.tolist() == expected.tolist()


def test_timestamp_column_reuses_hour_offsets() -> None:
    parser = TimestampColumnParser(time_zone("Asia/Kolkata"))

    parser(["2026-03-02 09:15:00", "2026-03-02 09:45:00"])
    result = parser(["2026-03-02 09:05:00"])

    assert result.values.tolist() == [datetime(2026, 3, 2, 3, 35)]
    assert len(parser._hour_offsets) == 1


NUMBERS = [
    "12.9716",
    "-250",
    "+.5",
    "1.",
    "1e5",
    "1E-3",
    "",
    "nan",
    "inf",
    "1_000",
    "1,250",
    "1.2.3",
    ".e5",
    "1e999",
    "٣",
    "95",
    "-90",
    "0x10",
]
INTEGERS = ["3", "-1", "+7", "0", "", "2.5", "9999999999", "٣", "+-1", "8", "1" * 400]


@pytest.mark.parametrize(
    ("parser", "characters", "texts"),
    [
        (parse_float, DECIMAL_CHARACTERS, NUMBERS),
        (parse_latitude, DECIMAL_CHARACTERS, NUMBERS),
        (parse_integer, INTEGER_CHARACTERS, INTEGERS),
        (parse_line_count, INTEGER_CHARACTERS, INTEGERS),
        (parse_weekday, INTEGER_CHARACTERS, INTEGERS),
        (parse_weekday, INTEGER_CHARACTERS, ["1", "7", "", "3"]),
        (parse_latitude, DECIMAL_CHARACTERS, ["12.5", "-3", "", "89.9"]),
        (parse_order_value, DECIMAL_CHARACTERS, NUMBERS),
        (
            parse_order_value,
            DECIMAL_CHARACTERS,
            ["1e12", "-1000000000000", "1000000000000.01", "1e308", "0.1"],
        ),
    ],
)
def test_number_column_matches_cells(
    parser: Parser, characters: Any, texts: list[str]
) -> None:
    number_type = float if characters is DECIMAL_CHARACTERS else int

    result = parse_number_column(parser, number_type, characters, texts)

    values, errors = per_cell(parser, texts)
    assert result.values == values
    assert [type(value) for value in result.values] == [type(v) for v in values]
    assert result.errors == errors


def test_text_column_rejects_nul() -> None:
    result = parse_text_column(["North", "", "Bad\x00Name"])

    assert result.values == ["North", None, None]
    assert result.errors == {2: "contains a NUL character; remove it from the file"}


def test_each_cell_parses_repeats_once() -> None:
    calls: list[str] = []

    def parse_upper(text: str) -> str:
        calls.append(text)
        if text == "bad":
            raise CellError("is bad")
        return text.upper()

    result = parse_each_cell(parse_upper, ["a", "b", "a", "", "bad", "bad"])

    assert result.values == ["A", "B", "A", None, None, None]
    assert result.errors == {4: "is bad", 5: "is bad"}
    assert calls == ["a", "b", "bad"]
