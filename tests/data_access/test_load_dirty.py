"""Check what the loader accepts, rejects and stores from dirty exports.

The expected values are those of the row-by-row loader that the chunked loader
replaced, except where a test notes that loader was wrong.
"""

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from data_access import key_index, load, table_files
from data_access.engine import create_engine
from data_access.load import LoadError, load_directory
from tests.data_access.test_load import (
    VISITED,
    problem_messages,
    run_load,
    table_contents,
    write_files,
    write_workbook,
)

VISITS_HEADER = (
    "visit_id,rep_id,outlet_id,check_in,check_out,latitude,longitude,no_order_reason"
)
NOT_A_TIMESTAMP = (
    "is not a valid timestamp; expected ISO 8601 such as 2026-03-02T09:15:00"
)
NOT_A_NUMBER = "is not a number; expected a decimal number such as 12.9716"
OUT_OF_RANGE = "is out of range; expected a time from 0001-01-02 to 9999-12-30"


def visits_file(*rows: str, newline: str = "\n") -> str:
    return newline.join([VISITS_HEADER, *rows]) + newline


def load_visits(
    engine: sa.Engine, folder: Path, content: str | bytes, timezone: str = "UTC"
) -> list[tuple[object, ...]]:
    """Load content as visits.csv beside the rep and outlets, and return the
    visits."""
    files = {**VISITED, "visits.csv": content}
    load_directory(engine, write_files(folder, files), timezone)
    return table_contents(engine)["visits"]


def visits_problems(
    engine: sa.Engine, folder: Path, content: str | bytes, timezone: str = "UTC"
) -> list[str]:
    """Load content as visits.csv and return the messages of the LoadError."""
    with pytest.raises(LoadError) as error:
        load_visits(engine, folder, content, timezone)
    return problem_messages(error)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = create_sqlite_engine(tmp_path / "sfa.sqlite")
    yield engine
    engine.dispose()


def create_sqlite_engine(path: Path) -> sa.Engine:
    return create_engine(f"sqlite:///{path}")


# Files that cannot be read


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            visits_file("V1,R1,O1,2026-03-02T09:00:00,,,,").encode("utf-16"),
            "visits.csv line 1: is not UTF-8 text (byte 0xff); "
            "save the file as CSV UTF-8",
            id="utf-16",
        ),
        pytest.param(
            (VISITS_HEADER + "\xe9\nV1,R1,O1,2026-03-02T09:00:00,,,,\n").encode(
                "latin-1"
            ),
            "visits.csv line 1: is not UTF-8 text (byte 0xe9); "
            "save the file as CSV UTF-8",
            id="latin-1-header",
        ),
        pytest.param(
            visits_file("V1,R1,O1,2026-03-02T09:00:00,,,,", newline="\r"),
            "visits.csv line 1: is not a readable CSV file: new-line character "
            "seen in unquoted field - do you need to open the file in "
            "universal-newline mode?",
            id="lone-cr",
        ),
    ],
)
def test_unreadable_file_names_line(
    engine: sa.Engine, tmp_path: Path, content: str | bytes, expected: str
) -> None:
    result = visits_problems(engine, tmp_path / "csv", content)

    assert result == [expected]


# Cells that are rejected


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            "V1,R1,O1,2026-03-02T09:00:00,,,,,extra",
            "has 9 cells but the header has 8 columns; quote each cell that contains a comma",
        ),
        (
            "V1,R1,O1,2026-03-02T09:00:00,,",
            "has 6 cells but the header has 8 columns; add the missing cells, "
            "writing an empty one as two commas in a row, or quote a cell that "
            "contains a line break",
        ),
        (
            "V1;R1;O1;2026-03-02T09:00:00;;;;",
            "has 1 cell but the header has 8 columns; separate the cells with "
            "commas, not semicolons or tabs",
        ),
        (
            "V1,R1,O1,2026-03-02T09:00:00,,,,shut\x00",
            "no_order_reason 'shut\\x00' contains a NUL character; remove it from the file",
        ),
        ('V1,R1,O1,2026-03-02T09:00:00,,"1,5",77.5,', f"latitude '1,5' {NOT_A_NUMBER}"),
        ("V1,R1,O1,2026-03-02T09:00:00,,NaN,77.5,", f"latitude 'NaN' {NOT_A_NUMBER}"),
        ("V1,R1,O1,2026-03-02T09:00:00,,inf,77.5,", f"latitude 'inf' {NOT_A_NUMBER}"),
        (
            "V1,R1,O1,2026-03-02T09:00:00z,,,,",
            f"check_in '2026-03-02T09:00:00z' {NOT_A_TIMESTAMP}",
        ),
        (
            "V1,R1,O1,2026-02-30T09:00:00,,,,",
            f"check_in '2026-02-30T09:00:00' {NOT_A_TIMESTAMP}",
        ),
        (
            "V1,R1,O1,2026-03-02T24:00:00,,,,",
            f"check_in '2026-03-02T24:00:00' {NOT_A_TIMESTAMP}",
        ),
        (
            "V1,R1,O1,2026/03/02 09:00:00,,,,",
            f"check_in '2026/03/02 09:00:00' {NOT_A_TIMESTAMP}",
        ),
    ],
    ids=[
        "too-many-cells",
        "too-few-cells",
        "semicolons",
        "nul",
        "decimal-comma",
        "nan",
        "inf",
        "lowercase-z",
        "february-30",
        "hour-24",
        "slashes",
    ],
)
def test_dirty_cell_is_rejected(
    engine: sa.Engine, tmp_path: Path, row: str, expected: str
) -> None:
    content = visits_file("V0,R1,O2,2026-03-02T08:00:00,,,,", row)

    result = visits_problems(engine, tmp_path / "csv", content)

    assert result == [f"visits.csv line 3: {expected}"]


@pytest.mark.parametrize(
    ("check_in", "timezone"),
    [
        ("0001-01-01T00:00:00+05:00", "UTC"),
        ("9999-12-31T23:59:59-05:00", "UTC"),
        ("9999-12-31 23:59:59", "America/New_York"),
        ("0001-01-01 00:00:00", "Europe/Berlin"),
    ],
)
def test_timestamp_beyond_datetime_is_rejected(
    engine: sa.Engine, tmp_path: Path, check_in: str, timezone: str
) -> None:
    # The row-by-row loader crashed here with "OverflowError: date value out
    # of range", because the time in UTC falls outside Python's datetime.
    content = visits_file(f"V1,R1,O1,{check_in},,,,")

    result = visits_problems(engine, tmp_path / "csv", content, timezone)

    assert result == [f"visits.csv line 2: check_in '{check_in}' {OUT_OF_RANGE}"]


# Rows that are stored


def test_bom_crlf_and_blank_lines_load(engine: sa.Engine, tmp_path: Path) -> None:
    content = "\ufeff" + visits_file(
        "V1,R1,O1,2026-03-02T09:00:00,,,,",
        "",
        "V2,R1,O2,2026-03-02T10:00:00,,,,",
        "",
        "",
        newline="\r\n",
    )

    result = load_visits(engine, tmp_path / "csv", content)

    expected = [
        ("V1", "R1", "O1", datetime(2026, 3, 2, 9, 0), None, None, None, None),
        ("V2", "R1", "O2", datetime(2026, 3, 2, 10, 0), None, None, None, None),
    ]
    assert result == expected


def test_quotes_in_one_later_row_load(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [f"V{number},R1,O1,2026-03-02T09:00:00,,,," for number in range(5)]
    rows.append('V5,R1,O2,2026-03-02T10:00:00,,,,"shut, ""closed""\r\nall day"')

    result = load_visits(engine, tmp_path / "csv", visits_file(*rows))

    assert len(result) == 6
    assert result[5][7] == 'shut, "closed"\r\nall day'


def test_spaces_and_number_forms_load(engine: sa.Engine, tmp_path: Path) -> None:
    content = visits_file(
        " V1 ,R1 , O1,2026-03-02T09:00:00 ,, 1e1 ,-0,",
        "V2,R1,O2, 2026-03-02T10:00:00.1234567Z,,+.5,5.,",
    )

    result = load_visits(engine, tmp_path / "csv", content)

    expected = [
        ("V1", "R1", "O1", datetime(2026, 3, 2, 9, 0), None, 10.0, -0.0, None),
        (
            "V2",
            "R1",
            "O2",
            datetime(2026, 3, 2, 10, 0, 0, 123456),
            None,
            0.5,
            5.0,
            None,
        ),
    ]
    assert result == expected


@pytest.mark.parametrize(
    ("check_in", "timezone", "expected"),
    [
        ("2026-03-08 02:30:00", "America/New_York", datetime(2026, 3, 8, 7, 30)),
        ("2026-11-01 01:30:00", "America/New_York", datetime(2026, 11, 1, 5, 30)),
        ("2026-03-29 02:30:00", "Europe/Berlin", datetime(2026, 3, 29, 1, 30)),
        ("2026-10-25 02:30:00", "Europe/Berlin", datetime(2026, 10, 25, 0, 30)),
        ("0001-01-01 00:00:00", "UTC", datetime(1, 1, 1, 0, 0)),
        ("9999-12-31 23:59:59", "UTC", datetime(9999, 12, 31, 23, 59, 59)),
        ("2026-03-02T09:00:00.5+0530", "UTC", datetime(2026, 3, 2, 3, 30, 0, 500000)),
    ],
)
def test_timestamp_edges_are_stored(
    engine: sa.Engine, tmp_path: Path, check_in: str, timezone: str, expected: datetime
) -> None:
    content = visits_file(f"V1,R1,O1,{check_in},,,,")

    result = load_visits(engine, tmp_path / "csv", content, timezone)[0][3]

    assert result == expected


# Rows in different chunks and blocks


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read a few rows per chunk, bytes per block and keys per hash run."""
    monkeypatch.setattr(load, "BATCH_SIZE", 3)
    monkeypatch.setattr(table_files, "READ_BLOCK_BYTES", 64)
    monkeypatch.setattr(key_index, "MAX_RUN_KEYS", 4)


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("quoted", [False, True])
def test_repeat_in_later_chunk_is_rejected(
    engine: sa.Engine, tmp_path: Path, quoted: bool
) -> None:
    rows = [f"V{number},R1,O1,2026-03-02T09:00:00,,,," for number in range(40)]
    rows.append("V7,R1,O2,2026-03-02T10:00:00,,,,")
    if quoted:
        rows.append('V40,R1,O2,2026-03-02T10:00:00,,,,"shut, all day"')

    result = visits_problems(engine, tmp_path / "csv", visits_file(*rows))

    assert result == [
        "visits.csv line 42: visit_id 'V7' repeats line 9; "
        "each visit_id may appear once per file"
    ]


@pytest.mark.usefixtures("small_chunks")
def test_bad_byte_in_later_block_names_line(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [f"V{number},R1,O1,2026-03-02T09:00:00,,,," for number in range(30)]
    content = visits_file(*rows).encode() + b"V30,R1,O1,2026-03-02,,,,caf\xe9\n"

    result = visits_problems(engine, tmp_path / "csv", content)

    assert result == [
        "visits.csv line 32: column no_order_reason ('caf\ufffd') is not UTF-8 "
        "text (byte 0xe9); save the file as CSV UTF-8"
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # The quoted cell contains a comma, which a count of commas would take
        # for the start of a ninth cell.
        (
            b'V2,R1,O1,2026-03-02T10:00:00,,,,"shut, caf\xe9"\n',
            "column no_order_reason ('shut, caf\ufffd')",
        ),
        (
            b"\xe9V2,R1,O1,2026-03-02T10:00:00,,,,closed\n",
            "column visit_id ('\ufffdV2')",
        ),
    ],
    ids=["after_quoted_comma", "at_line_start"],
)
def test_bad_byte_names_its_column(
    engine: sa.Engine, tmp_path: Path, line: bytes, expected: str
) -> None:
    content = visits_file("V1,R1,O1,2026-03-02T09:00:00,,,,").encode() + line

    result = visits_problems(engine, tmp_path / "csv", content)

    assert result == [
        f"visits.csv line 3: {expected} is not UTF-8 text (byte 0xe9); "
        "save the file as CSV UTF-8"
    ]


# The database after a failed load


def test_failed_load_leaves_file_unchanged(tmp_path: Path) -> None:
    database = tmp_path / "sfa.sqlite"
    engine = create_sqlite_engine(database)
    load_visits(engine, tmp_path / "good", visits_file("V1,R1,O1,2026-03-02,,,,"))
    engine.dispose()
    before = database.read_bytes()

    bad = visits_file("V2,R1,O1,2026-03-02,,,,", "V3,R1,O1,2026-03-02,,NaN,,")
    with pytest.raises(LoadError):
        load_visits(engine, tmp_path / "bad", bad)
    engine.dispose()

    assert database.read_bytes() == before


# Quoted cells that are never closed


UNCLOSED_SHUT = (
    "a quoted cell is never closed (it starts with '\"shut'); "
    "close the quote or remove it"
)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            visits_file(
                "V1,R1,O1,2026-03-02T09:00:00,,,,",
                'V2,R1,O1,2026-03-02T10:00:00,,,,"shut',
            ),
            f"visits.csv line 3: {UNCLOSED_SHUT}",
            id="last-row",
        ),
        pytest.param(
            visits_file(
                "V1,R1,O1,2026-03-02T09:00:00,,,,",
                'V2,R1,O1,2026-03-02T10:00:00,,,,"shut',
                "V3,R1,O1,2026-03-02T11:00:00,,,,",
                "V4,R1,O2,2026-03-02T12:00:00,,,,",
            ),
            f"visits.csv line 3: {UNCLOSED_SHUT}",
            id="middle-row",
        ),
        pytest.param(
            visits_file(
                'V1,R1,O1,2026-03-02T10:00:00,,,,"shut',
                "V2,R1,O1,2026-03-02T11:00:00,,,,",
                newline="\r\n",
            ),
            f"visits.csv line 2: {UNCLOSED_SHUT}",
            id="crlf",
        ),
        pytest.param(
            VISITS_HEADER + '\nV1,R1,O1,2026-03-02T10:00:00,,,,"shut',
            f"visits.csv line 2: {UNCLOSED_SHUT}",
            id="no-final-newline",
        ),
        pytest.param(
            visits_file(
                'V1,"R1\n",O1,2026-03-02T10:00:00,,,,"shut',
                "V2,R1,O1,2026-03-02T11:00:00,,,,",
            ),
            f"visits.csv line 3: {UNCLOSED_SHUT}",
            id="after-closed-multiline-cell",
        ),
        pytest.param(
            visits_file('V1,R1,O1,2026-03-02T10:00:00,,,,"'),
            "visits.csv line 2: a quoted cell is never closed (it starts with "
            "'\"'); close the quote or remove it",
            id="lone-quote",
        ),
        pytest.param(
            visits_file(
                'V1,R1,O1,2026-03-02T10:00:00,,,,"' + "closed " * 20,
                "V2,R1,O1,2026-03-02T11:00:00,,,,",
            ),
            "visits.csv line 2: a quoted cell is never closed (it starts with "
            "'\"closed closed closed closed closed closed closed closed ...'); "
            "close the quote or remove it",
            id="long-cell",
        ),
        pytest.param(
            'visit_id,"rep_id\nV1,R1\n',
            "visits.csv line 1: a quoted cell is never closed (it starts with "
            "'\"rep_id'); close the quote or remove it",
            id="header",
        ),
    ],
)
def test_unclosed_quote_names_line(
    engine: sa.Engine, tmp_path: Path, content: str, expected: str
) -> None:
    result = visits_problems(engine, tmp_path / "csv", content)

    assert result == [expected]


@pytest.mark.usefixtures("small_chunks")
def test_unclosed_quote_in_later_chunk(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [f"V{number},R1,O1,2026-03-02T09:00:00,,,," for number in range(20)]
    rows.append('V20,R1,O1,2026-03-02T09:00:00,,,,"shut')
    rows += [f"V{number},R1,O1,2026-03-02T09:00:00,,,," for number in range(21, 40)]

    result = visits_problems(engine, tmp_path / "csv", visits_file(*rows))

    assert result == [f"visits.csv line 22: {UNCLOSED_SHUT}"]


def test_unclosed_quote_fails_skip_invalid_load(tmp_path: Path) -> None:
    database = tmp_path / "sfa.sqlite"
    engine = create_sqlite_engine(database)
    load_visits(engine, tmp_path / "good", visits_file("V1,R1,O1,2026-03-02,,,,"))
    engine.dispose()
    before = database.read_bytes()
    content = visits_file(
        "V2,R1,O1,2026-03-02,,NaN,,",
        'V3,R1,O1,2026-03-02,,,,"shut',
        "V4,R1,O1,2026-03-02,,,,",
    )
    directory = write_files(tmp_path / "bad", {**VISITED, "visits.csv": content})

    with pytest.raises(LoadError) as error:
        load_directory(engine, directory, skip_invalid=True)
    engine.dispose()

    assert problem_messages(error) == [
        f"visits.csv line 2: latitude 'NaN' {NOT_A_NUMBER}",
        f"visits.csv line 3: {UNCLOSED_SHUT}",
    ]
    assert error.value.fatal == 1
    assert database.read_bytes() == before
    assert sorted(path.name for path in directory.iterdir()) == [
        "outlets.csv",
        "reps.csv",
        "visits.csv",
    ]


def test_cli_skip_invalid_reports_unclosed_quote(tmp_path: Path) -> None:
    database = tmp_path / "sfa.sqlite"
    content = visits_file(
        'V1,R1,O1,2026-03-02,,,,"shut',
        "V2,R1,O1,2026-03-02,,,,",
    )
    directory = write_files(tmp_path / "csv", {**VISITED, "visits.csv": content})

    result = run_load("--db", f"sqlite:///{database}", "--skip-invalid", str(directory))

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.endswith(
        "Nothing was loaded: 1 problem to fix in the files.\n"
        f"visits.csv line 2: {UNCLOSED_SHUT}\n"
        "--skip-invalid sets aside invalid rows only, not a problem with a whole "
        "file or the folder. Fix the problems above, then run the load again.\n"
    )
    assert not database.exists()


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_closed_multiline_cell_keeps_lines(
    engine: sa.Engine, tmp_path: Path, newline: str
) -> None:
    content = visits_file(
        f'V1,R1,O1,2026-03-02T09:00:00,,,,"shut{newline}all day"',
        f'V2,R1,O1,2026-03-02T10:00:00,,,,"closed,{newline}{newline}again"',
        "V3,R1,O2,2026-03-02T11:00:00,,NaN,,",
        newline=newline,
    )

    result = visits_problems(engine, tmp_path / "csv", content)

    assert result == [f"visits.csv line 7: latitude 'NaN' {NOT_A_NUMBER}"]


def test_closed_multiline_cell_loads(engine: sa.Engine, tmp_path: Path) -> None:
    content = visits_file(
        'V1,R1,O1,2026-03-02T09:00:00,,,,"shut\nall day"',
        "V2,R1,O2,2026-03-02T10:00:00,,,,",
    )

    result = load_visits(engine, tmp_path / "csv", content)

    expected = [
        (
            "V1",
            "R1",
            "O1",
            datetime(2026, 3, 2, 9, 0),
            None,
            None,
            None,
            "shut\nall day",
        ),
        ("V2", "R1", "O2", datetime(2026, 3, 2, 10, 0), None, None, None, None),
    ]
    assert result == expected


def test_xlsx_cell_with_open_quote_loads(engine: sa.Engine, tmp_path: Path) -> None:
    # A sheet cell is a value, so a quote in its text opens nothing.
    directory = write_files(tmp_path / "xlsx", VISITED)
    write_workbook(
        directory / "visits.xlsx",
        {
            "visits": [
                VISITS_HEADER.split(","),
                ["V1", "R1", "O1", datetime(2026, 3, 2, 9), None, None, None, '"shut'],
                ["V2", "R1", "O2", datetime(2026, 3, 2, 10)],
            ]
        },
    )

    load_directory(engine, directory)

    result = table_contents(engine)["visits"]
    expected = [
        ("V1", "R1", "O1", datetime(2026, 3, 2, 9, 0), None, None, None, '"shut'),
        ("V2", "R1", "O2", datetime(2026, 3, 2, 10, 0), None, None, None, None),
    ]
    assert result == expected
