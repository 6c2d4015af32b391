"""The loader: values stored, idempotent upserts, rejected files, the CLI."""

import io
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from data_access import bulk_write, load, table_files
from data_access.csv_cells import EMPTY_CELL_DEFAULTS, required_columns
from data_access.engine import create_engine
from data_access.load import LoadError, Problem, TableCounts, load_directory
from data_access.schema import TABLES, metadata

REPOSITORY = Path(__file__).resolve().parents[2]

POLYGON = (
    '{"type":"Polygon","coordinates":'
    "[[[77.5,12.9],[77.7,12.9],[77.7,13.1],[77.5,12.9]]]}"
)
POLYGON_CELL = '"' + POLYGON.replace('"', '""') + '"'

GOOD_FILES = {
    "regions.csv": """\
region_id,name
N,North
S,South
""",
    "territories.csv": """\
territory_id,name,region_id
T1,Bengaluru East,S
T2,Delhi West,N
""",
    "reps.csv": """\
rep_id,name,territory_id,manager_id,active
R1,Asha Rao,T1,lm@example.com,true
R2,Vikram Singh,T2,lm@example.com,FALSE
""",
    "rep_territories.csv": """\
rep_id,territory_id,valid_from,valid_to
R1,T2,2025-10-01,2026-01-31
R1,T1,2026-02-01,
""",
    "outlets.csv": """\
outlet_id,name,territory_id,latitude,longitude,channel,outlet_class,active
O1,Sri Ganesh Stores,T1,12.9716,77.5946,general trade,A,1
O2,"Patel Kirana, Main Road",T1,,,general trade,B,0
""",
    "beats.csv": """\
beat_id,rep_id,name,weekday,every_n_weeks,start_date,end_date
B1,R1,Monday east,1,1,2026-01-05,
B2,R1,Thursday fortnightly,4,2,2026-01-08,2026-06-30
""",
    "beat_outlets.csv": """\
beat_id,outlet_id
B1,O1
B1,O2
B2,O2
""",
    "visits.csv": """\
visit_id,rep_id,outlet_id,check_in,check_out,latitude,longitude,no_order_reason
V1,R1,O1,2026-03-02T09:15:00,2026-03-02T09:40:00,12.9717,77.5947,
V2,R1,O2,2026-03-02T10:05:00,,,,shop closed
""",
    "orders.csv": """\
order_id,outlet_id,rep_id,visit_id,ordered_at,value,line_count
SO1,O1,R1,V1,2026-03-02T09:30:00,1250.50,4
SO2,O1,R1,,2026-03-03T11:00:00+05:30,-200,
""",
    "users.csv": """\
user_id,name,role,scope_id
admin@example.com,Admin,admin,
head@example.com,South Head,regional_head,S
lm@example.com,Line Manager,line_manager,
""",
    "territory_boundaries.csv": f"""\
territory_id,geojson
T1,{POLYGON_CELL}
""",
}

GOOD_CONTENTS = {
    "regions": [("N", "North"), ("S", "South")],
    "territories": [("T1", "Bengaluru East", "S"), ("T2", "Delhi West", "N")],
    "reps": [
        ("R1", "Asha Rao", "T1", "lm@example.com", True),
        ("R2", "Vikram Singh", "T2", "lm@example.com", False),
    ],
    "rep_territories": [
        ("R1", "T2", date(2025, 10, 1), date(2026, 1, 31)),
        ("R1", "T1", date(2026, 2, 1), None),
    ],
    "outlets": [
        ("O1", "Sri Ganesh Stores", "T1", 12.9716, 77.5946, "general trade", "A", True),
        (
            "O2",
            "Patel Kirana, Main Road",
            "T1",
            None,
            None,
            "general trade",
            "B",
            False,
        ),
    ],
    "beats": [
        ("B1", "R1", "Monday east", 1, 1, date(2026, 1, 5), None),
        ("B2", "R1", "Thursday fortnightly", 4, 2, date(2026, 1, 8), date(2026, 6, 30)),
    ],
    "beat_outlets": [("B1", "O1"), ("B1", "O2"), ("B2", "O2")],
    "visits": [
        (
            "V1",
            "R1",
            "O1",
            datetime(2026, 3, 2, 9, 15),
            datetime(2026, 3, 2, 9, 40),
            12.9717,
            77.5947,
            None,
        ),
        (
            "V2",
            "R1",
            "O2",
            datetime(2026, 3, 2, 10, 5),
            None,
            None,
            None,
            "shop closed",
        ),
    ],
    "orders": [
        ("SO1", "O1", "R1", "V1", datetime(2026, 3, 2, 9, 30), 1250.5, 4),
        ("SO2", "O1", "R1", None, datetime(2026, 3, 3, 5, 30), -200.0, None),
    ],
    "users": [
        ("admin@example.com", "Admin", "admin", None),
        ("head@example.com", "South Head", "regional_head", "S"),
        ("lm@example.com", "Line Manager", "line_manager", None),
    ],
    "territory_boundaries": [("T1", POLYGON)],
}

GOOD_ROWS = {
    "regions": 2,
    "territories": 2,
    "reps": 2,
    "rep_territories": 2,
    "outlets": 2,
    "beats": 2,
    "beat_outlets": 3,
    "visits": 2,
    "orders": 2,
    "users": 3,
    "territory_boundaries": 1,
}
GOOD_COUNTS = {name: TableCounts(inserted=rows) for name, rows in GOOD_ROWS.items()}

VISITS_HEADER = "visit_id,rep_id,outlet_id,check_in"
# The rep and outlets that the visits of the smaller cases refer to.
VISITED = {
    "reps.csv": "rep_id,name\nR1,Asha Rao\n",
    "outlets.csv": "outlet_id,name\nO1,Sri Ganesh Stores\nO2,Patel Kirana\n",
}


def write_files(directory: Path, files: Mapping[str, str | bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = directory / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return directory


def table_contents(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {
            name: [
                tuple(row)
                for row in connection.execute(
                    sa.select(table).order_by(*table.primary_key.columns)
                )
            ]
            for name, table in TABLES.items()
        }


def table_names(engine: sa.Engine) -> list[str]:
    return sorted(sa.inspect(engine).get_table_names())


def problem_messages(error: pytest.ExceptionInfo[LoadError]) -> list[str]:
    return [str(problem) for problem in error.value.problems]


def accept_every_row(
    table_files: Mapping[str, Path], *arguments: Any
) -> dict[str, set[int]]:
    """A checking pass that finds nothing, so problems surface while writing."""
    return {name: set() for name in table_files}


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "sfa.sqlite"


@pytest.fixture
def engine(database_path: Path) -> Iterator[sa.Engine]:
    engine = create_engine(f"sqlite:///{database_path}")
    yield engine
    engine.dispose()


@pytest.fixture
def loaded_engine(engine: sa.Engine, tmp_path: Path) -> sa.Engine:
    """The engine after the good files were loaded once."""
    load_directory(engine, write_files(tmp_path / "good", GOOD_FILES))
    engine.dispose()
    return engine


# Good files


def test_load_stores_every_table(engine: sa.Engine, tmp_path: Path) -> None:
    directory = write_files(tmp_path / "csv", GOOD_FILES)

    result = load_directory(engine, directory)

    assert result.counts == GOOD_COUNTS
    assert list(result.counts) == list(TABLES)
    assert result.rejects_files == {}
    assert table_contents(engine) == GOOD_CONTENTS


def test_load_twice_changes_nothing(loaded_engine: sa.Engine, tmp_path: Path) -> None:
    before = table_contents(loaded_engine)

    result = load_directory(loaded_engine, write_files(tmp_path / "again", GOOD_FILES))

    expected = {name: TableCounts(updated=rows) for name, rows in GOOD_ROWS.items()}
    assert result.counts == expected
    assert before == GOOD_CONTENTS
    assert table_contents(loaded_engine) == GOOD_CONTENTS


def test_load_replaces_updated_row(loaded_engine: sa.Engine, tmp_path: Path) -> None:
    update = {
        "visits.csv": """\
visit_id,rep_id,outlet_id,check_in,check_out,latitude,longitude,no_order_reason
V2,R2,O1,2026-03-04T08:00:00,2026-03-04T08:20:00,28.6,77.2,
"""
    }

    load_directory(loaded_engine, write_files(tmp_path / "update", update))

    result = table_contents(loaded_engine)["visits"]
    expected = [
        GOOD_CONTENTS["visits"][0],
        (
            "V2",
            "R2",
            "O1",
            datetime(2026, 3, 4, 8, 0),
            datetime(2026, 3, 4, 8, 20),
            28.6,
            77.2,
            None,
        ),
    ]
    assert result == expected


def test_load_keeps_columns_absent_from_file(
    loaded_engine: sa.Engine, tmp_path: Path
) -> None:
    update = {"outlets.csv": "outlet_id,name\nO1,Ganesh Stores\n"}

    load_directory(loaded_engine, write_files(tmp_path / "update", update))

    result = table_contents(loaded_engine)["outlets"][0]
    expected = (
        "O1",
        "Ganesh Stores",
        "T1",
        12.9716,
        77.5946,
        "general trade",
        "A",
        True,
    )
    assert result == expected


def test_load_stores_empty_cells_as_null(engine: sa.Engine, tmp_path: Path) -> None:
    files = {
        "outlets.csv": """\
outlet_id,name,territory_id,latitude,longitude,channel,outlet_class,active
O9,,,,  ,,,
""",
        "beats.csv": """\
beat_id,rep_id,name,weekday,every_n_weeks,start_date,end_date
B9,R1,,3,,2026-02-04,
""",
        "reps.csv": "rep_id,name,active\nR9,,\n",
    }

    load_directory(engine, write_files(tmp_path / "csv", files))

    result = table_contents(engine)
    assert result["outlets"] == [("O9", None, None, None, None, None, None, True)]
    assert result["beats"] == [("B9", "R1", None, 3, 1, date(2026, 2, 4), None)]
    assert result["reps"] == [("R9", None, None, None, True)]


def test_load_accepts_dirty_field_data(engine: sa.Engine, tmp_path: Path) -> None:
    # GPS at (0, 0) or swapped, check-out before check-in, returns and orders
    # for unknown outlets, reps and visits are data health findings, not
    # load errors.
    files = {
        **VISITED,
        "visits.csv": """\
visit_id,rep_id,outlet_id,check_in,check_out,latitude,longitude
V1,R1,O1,2026-03-02T09:15:00,2026-03-02T09:00:00,0,0
V2,R1,O1,2026-03-02T10:15:00,,77.5946,12.9716
""",
        "orders.csv": """\
order_id,outlet_id,rep_id,visit_id,ordered_at,value
SO1,O404,R404,V404,2026-03-02T10:00:00,-75.25
""",
    }

    result = load_directory(engine, write_files(tmp_path / "csv", files))

    assert result.counts["visits"] == TableCounts(inserted=2)
    assert result.counts["orders"] == TableCounts(inserted=1)
    contents = table_contents(engine)
    assert [row[3:7] for row in contents["visits"]] == [
        (datetime(2026, 3, 2, 9, 15), datetime(2026, 3, 2, 9, 0), 0.0, 0.0),
        (datetime(2026, 3, 2, 10, 15), None, 77.5946, 12.9716),
    ]
    assert contents["orders"] == [
        ("SO1", "O404", "R404", "V404", datetime(2026, 3, 2, 10, 0), -75.25, None)
    ]


@pytest.mark.parametrize(
    ("timezone", "check_in", "expected"),
    [
        ("Asia/Kolkata", "2026-03-02T19:00:00", datetime(2026, 3, 2, 13, 30)),
        ("Asia/Kolkata", "2026-03-02 19:00", datetime(2026, 3, 2, 13, 30)),
        ("UTC", "2026-03-02T19:00:00+05:30", datetime(2026, 3, 2, 13, 30)),
        ("Europe/Berlin", "2026-03-02T19:00:00+05:30", datetime(2026, 3, 2, 13, 30)),
        ("Asia/Kolkata", "2026-03-02T19:00:00Z", datetime(2026, 3, 2, 19, 0)),
        ("UTC", "2026-03-02T19:00:00", datetime(2026, 3, 2, 19, 0)),
        # Clocks go forward at 02:00 that day: a skipped time takes the offset
        # before the change (EST, UTC-5).
        ("America/New_York", "2026-03-08T02:30:00", datetime(2026, 3, 8, 7, 30)),
    ],
)
def test_load_reads_timestamps_in_timezone(
    engine: sa.Engine, tmp_path: Path, timezone: str, check_in: str, expected: datetime
) -> None:
    files = {**VISITED, "visits.csv": f"{VISITS_HEADER}\nV1,R1,O1,{check_in}\n"}

    load_directory(engine, write_files(tmp_path / "csv", files), timezone=timezone)

    result = table_contents(engine)["visits"][0][3]
    assert result == expected


def test_load_unwraps_geojson_feature(engine: sa.Engine, tmp_path: Path) -> None:
    feature = '{"type": "Feature", "properties": {"name": "East"}, "geometry": %s}'
    cell = '"' + (feature % POLYGON).replace('"', '""') + '"'
    files = {"territory_boundaries.csv": f"territory_id,geojson\nT1,{cell}\n"}

    load_directory(engine, write_files(tmp_path / "csv", files))

    result = table_contents(engine)["territory_boundaries"]
    assert result == [("T1", POLYGON)]


def test_load_reads_header_loosely(engine: sa.Engine, tmp_path: Path) -> None:
    # Excel writes a byte order mark; people write headers in their own case.
    content = "\ufeff Region_ID , NAME \r\nN,North\r\n\r\n,\r\n".encode()

    result = load_directory(
        engine, write_files(tmp_path / "csv", {"regions.csv": content})
    )

    assert result.counts == {"regions": TableCounts(inserted=1)}
    assert table_contents(engine)["regions"] == [("N", "North")]


def test_load_ignores_other_files(engine: sa.Engine, tmp_path: Path) -> None:
    files = {
        "regions.csv": "region_id,name\nN,North\n",
        "README.txt": "exported on Monday",
        "visits.json": "[]",
        "~$visits.xlsx": b"lock",
        ".reps.csv": "rep_id\nR1\n",
        "visits.rejected.csv": "line,problem,visit_id\n2,bad,V1\n",
    }

    result = load_directory(engine, write_files(tmp_path / "csv", files))

    assert result.counts == {"regions": TableCounts(inserted=1)}


def test_load_accepts_header_only_file(engine: sa.Engine, tmp_path: Path) -> None:
    files = {"visits.csv": f"{VISITS_HEADER}\n"}

    result = load_directory(engine, write_files(tmp_path / "csv", files))

    assert result.counts == {"visits": TableCounts()}
    assert table_contents(engine)["visits"] == []


def test_load_creates_missing_tables(engine: sa.Engine, tmp_path: Path) -> None:
    files = {"regions.csv": "region_id,name\nN,North\n"}

    load_directory(engine, write_files(tmp_path / "csv", files))

    # Every table of the schema, the loader's tables and any others.
    assert table_names(engine) == sorted(metadata.tables)


def test_load_writes_in_batches(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "BATCH_SIZE", 2)
    lines = [f"O{number},Outlet {number}" for number in range(5)]
    files = {"outlets.csv": "outlet_id,name\n" + "\n".join(lines) + "\n"}

    counts = load_directory(engine, write_files(tmp_path / "csv", files)).counts

    assert counts == {"outlets": TableCounts(inserted=5)}
    result = [row[:2] for row in table_contents(engine)["outlets"]]
    expected = [(f"O{number}", f"Outlet {number}") for number in range(5)]
    assert result == expected


# Rejected files


def test_bad_row_leaves_database_unchanged(
    loaded_engine: sa.Engine, database_path: Path, tmp_path: Path
) -> None:
    before = database_path.read_bytes()
    files = {
        "regions.csv": "region_id,name\nW,West\n",
        "visits.csv": f"""\
{VISITS_HEADER}
V7,R1,O1,2026-03-05T09:00:00
V8,R1,O2,2026-13-01
""",
    }

    with pytest.raises(LoadError) as error:
        load_directory(loaded_engine, write_files(tmp_path / "bad", files))

    expected = Problem(
        file="visits.csv",
        reason=(
            "is not a valid timestamp; expected ISO 8601 such as 2026-03-02T09:15:00"
        ),
        line=3,
        column="check_in",
        value="2026-13-01",
    )
    assert error.value.problems == [expected]
    assert str(expected) == (
        "visits.csv line 3: check_in '2026-13-01' is not a valid timestamp; "
        "expected ISO 8601 such as 2026-03-02T09:15:00"
    )
    assert database_path.read_bytes() == before


def test_failure_while_writing_rolls_back(
    loaded_engine: sa.Engine,
    database_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Skipping the checking pass makes the bad last file fail after the
    # earlier files were written, as a file changed between passes would.
    monkeypatch.setattr(load, "check_table_files", accept_every_row)
    before = database_path.read_bytes()
    files = {
        "regions.csv": "region_id,name\nN,Northern\nW,West\n",
        "outlets.csv": "outlet_id,name\nO3,New Outlet\n",
        "territory_boundaries.csv": "territory_id,geojson\nT2,[1]\n",
    }

    with pytest.raises(LoadError) as error:
        load_directory(loaded_engine, write_files(tmp_path / "bad", files))

    assert problem_messages(error) == [
        "territory_boundaries.csv line 2: geojson '[1]' is not a GeoJSON object; "
        "expected a GeoJSON Polygon or MultiPolygon, or a Feature with one"
    ]
    assert table_contents(loaded_engine) == GOOD_CONTENTS
    assert database_path.read_bytes() == before


def test_failure_while_writing_creates_no_tables(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "check_table_files", accept_every_row)
    files = {
        "regions.csv": "region_id,name\nN,North\n",
        "users.csv": "user_id,role\nboss@example.com,owner\n",
    }

    with pytest.raises(LoadError):
        load_directory(engine, write_files(tmp_path / "bad", files))

    assert table_names(engine) == []


def test_failure_in_last_file_loads_no_file(
    loaded_engine: sa.Engine, tmp_path: Path
) -> None:
    files = {
        "regions.csv": "region_id,name\nW,West\n",
        "outlets.csv": "outlet_id,name\nO3,New Outlet\n",
        "territory_boundaries.csv": "territory_id,geojson\nT2,not json\n",
    }

    with pytest.raises(LoadError) as error:
        load_directory(loaded_engine, write_files(tmp_path / "bad", files))

    assert problem_messages(error) == [
        "territory_boundaries.csv line 2: geojson 'not json' is not valid JSON "
        "(Expecting value at character 0)"
    ]
    assert table_contents(loaded_engine) == GOOD_CONTENTS


def test_bad_files_leave_no_database_file(database_path: Path, tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{database_path}")
    files = {"visits.csv": f"{VISITS_HEADER}\nV1,R1,O1,yesterday\n"}

    with pytest.raises(LoadError):
        load_directory(engine, write_files(tmp_path / "bad", files))
    engine.dispose()

    assert not database_path.exists()


@pytest.mark.parametrize(
    ("file", "content", "expected"),
    [
        (
            "visits.csv",
            f"{VISITS_HEADER}\nV1,R1,O1,\n",
            "visits.csv line 2: check_in is missing; every row needs a value",
        ),
        (
            "visits.csv",
            f"{VISITS_HEADER}\n,R1,O1,2026-03-02T09:00:00\n",
            "visits.csv line 2: visit_id is missing; every row needs a value",
        ),
        (
            "visits.csv",
            f"{VISITS_HEADER}\nV1,,O1,2026-03-02T09:00:00\n",
            "visits.csv line 2: rep_id is missing; every row needs a value",
        ),
        (
            "visits.csv",
            f"{VISITS_HEADER},latitude\nV1,R1,O1,2026-03-02T09:00:00,north\n",
            "visits.csv line 2: latitude 'north' is not a number; "
            "expected a decimal number such as 12.9716",
        ),
        (
            "visits.csv",
            f"{VISITS_HEADER},longitude\nV1,R1,O1,2026-03-02T09:00:00,nan\n",
            "visits.csv line 2: longitude 'nan' is not a number; "
            "expected a decimal number such as 12.9716",
        ),
        (
            "visits.csv",
            f"{VISITS_HEADER},check_out\nV1,R1,O1,2026-03-02T09:00:00,09:30\n",
            "visits.csv line 2: check_out '09:30' is not a valid timestamp; "
            "expected ISO 8601 such as 2026-03-02T09:15:00",
        ),
        (
            "beats.csv",
            "beat_id,rep_id,weekday,start_date\nB1,R1,8,2026-01-05\n",
            "beats.csv line 2: weekday '8' is out of range; "
            "expected 1 (Monday) to 7 (Sunday)",
        ),
        (
            "beats.csv",
            "beat_id,rep_id,weekday,start_date\nB1,R1,Mon,2026-01-05\n",
            "beats.csv line 2: weekday 'Mon' is not a whole number; "
            "expected digits such as 3",
        ),
        (
            "beats.csv",
            "beat_id,rep_id,weekday,every_n_weeks,start_date\nB1,R1,1,3,2026-01-05\n",
            "beats.csv line 2: every_n_weeks '3' is not a beat frequency; "
            "expected 1 (weekly), 2 (fortnightly) or 4 (four-weekly)",
        ),
        (
            "beats.csv",
            "beat_id,rep_id,weekday,start_date\nB1,R1,1,05/01/2026\n",
            "beats.csv line 2: start_date '05/01/2026' is not a valid date; "
            "expected YYYY-MM-DD such as 2026-03-02",
        ),
        (
            "beats.csv",
            "beat_id,rep_id,weekday,start_date,end_date\n"
            "B1,R1,1,2026-01-05,2026-01-04\n",
            "beats.csv line 2: end_date '2026-01-04' is before start_date "
            "2026-01-05; a beat must end on or after its start date",
        ),
        (
            "reps.csv",
            "rep_id,active\nR1,yes\n",
            "reps.csv line 2: active 'yes' is not a boolean; "
            "expected true, false, 1 or 0",
        ),
        (
            "users.csv",
            "user_id,role\nboss@example.com,manager\n",
            "users.csv line 2: role 'manager' is not a role; "
            "expected admin, regional_head or line_manager",
        ),
        (
            "users.csv",
            "user_id,role\nboss@example.com,\n",
            "users.csv line 2: role is missing; every row needs a value",
        ),
        (
            "orders.csv",
            "order_id,ordered_at,value,line_count\nSO1,2026-03-02T09:00:00,10,-1\n",
            "orders.csv line 2: line_count '-1' is negative; "
            "expected 0 to 100,000 order lines",
        ),
        (
            "orders.csv",
            'order_id,ordered_at,value\nSO1,2026-03-02T09:00:00,"1,250"\n',
            "orders.csv line 2: value '1,250' is not a number; "
            "expected a decimal number such as 12.9716",
        ),
        (
            "orders.csv",
            "order_id,ordered_at,value\nSO1,2026-03-02T09:00:00,1e308\n",
            "orders.csv line 2: value '1e308' is too large for an order value; "
            "expected at most 1,000,000,000,000 either way "
            "(a misplaced decimal separator?)",
        ),
        (
            "orders.csv",
            "order_id,ordered_at,value\nSO1,2026-03-02T09:00:00,-2000000000000\n",
            "orders.csv line 2: value '-2000000000000' is too large for an order "
            "value; expected at most 1,000,000,000,000 either way "
            "(a misplaced decimal separator?)",
        ),
        (
            "orders.csv",
            "order_id,ordered_at,value,line_count\nSO1,2026-03-02T09:00:00,10,2.5\n",
            "orders.csv line 2: line_count '2.5' is not a whole number; "
            "expected digits such as 3",
        ),
        (
            "orders.csv",
            "order_id,ordered_at,value,line_count\n"
            "SO1,2026-03-02T09:00:00,10,99999999999999999999\n",
            "orders.csv line 2: line_count '99999999999999999999' is too large for "
            "a line count; expected at most 100,000 order lines",
        ),
        (
            "orders.csv",
            "order_id,ordered_at,value,line_count\nSO1,2026-03-02T09:00:00,10,100001\n",
            "orders.csv line 2: line_count '100001' is too large for a line count; "
            "expected at most 100,000 order lines",
        ),
        (
            "territory_boundaries.csv",
            'territory_id,geojson\nT1,"{""type"": ""Polygon"", ""coordinates"": '
            '[[[77.0, 28.0], [77.1, 28.1], [77.2, 28.2], [77.0, 28.0]]]}"\n',
            "territory_boundaries.csv line 2: geojson "
            '\'{"type": "Polygon", "coordinates": [[[77.0, 28.0], [77.1,...\' '
            "encloses no area; correct the outline, "
            "or leave the territory without one so that the map draws the hull of "
            "its outlets",
        ),
        (
            "territory_boundaries.csv",
            'territory_id,geojson\nT1,"{""type"": ""Polygon"", ""coordinates"": '
            '[[[77.0, 95.0], [78.0, 95.0], [78.0, 96.0], [77.0, 95.0]]]}"\n',
            "territory_boundaries.csv line 2: geojson "
            '\'{"type": "Polygon", "coordinates": [[[77.0, 95.0], [78.0,...\' '
            "has a longitude outside -180 to 180 or "
            "a latitude outside -90 to 90; correct the outline, or leave the "
            "territory without one so that the map draws the hull of its outlets",
        ),
        (
            "territory_boundaries.csv",
            'territory_id,geojson\nT1,"{""type"": ""Polygon"", ""coordinates"": '
            '[[[77.0, 28.0], [NaN, 28.0], [78.0, 29.0], [77.0, 28.0]]]}"\n',
            "territory_boundaries.csv line 2: geojson "
            '\'{"type": "Polygon", "coordinates": [[[77.0, 28.0], [NaN, ...\' '
            "has a coordinate that is not a finite number; expected "
            "[longitude, latitude] in degrees",
        ),
        (
            "territory_boundaries.csv",
            'territory_id,geojson\nT1,"{""type"": ""Polygon"", ""coordinates"": '
            f'[[[{"9" * 400}, 28.0], [78.0, 28.0], [78.0, 29.0], [77.0, 28.0]]]}}"\n',
            "territory_boundaries.csv line 2: geojson "
            '\'{"type": "Polygon", "coordinates": [[[9999999999999999999...\' '
            "has a coordinate that is not a finite number; expected "
            "[longitude, latitude] in degrees",
        ),
        (
            "beat_outlets.csv",
            "beat_id,outlet_id\nB1,\n",
            "beat_outlets.csv line 2: outlet_id is missing; every row needs a value",
        ),
        (
            "territory_boundaries.csv",
            'territory_id,geojson\nT1,"{""type"": ""Point"", '
            '""coordinates"": [77.5, 12.9]}"\n',
            "territory_boundaries.csv line 2: geojson "
            '\'{"type": "Point", "coordinates": [77.5, 12.9]}\' is a GeoJSON '
            "Point; expected a GeoJSON Polygon or MultiPolygon, or a Feature with one",
        ),
        (
            "territory_boundaries.csv",
            'territory_id,geojson\nT1,"{""type"": ""Polygon"", '
            '""coordinates"": [[[77.5, 12.9], [77.7, 12.9]]]}"\n',
            "territory_boundaries.csv line 2: geojson "
            '\'{"type": "Polygon", "coordinates": [[[77.5, 12.9], [77.7,...\' '
            "has a ring of fewer than 4 positions; a GeoJSON ring needs at least 4, "
            "the last one repeating the first",
        ),
        (
            "outlets.csv",
            "outlet_id,name\nO1,Sri Ganesh Stores,extra\n",
            "outlets.csv line 2: has 3 cells but the header has 2 columns; "
            "quote each cell that contains a comma",
        ),
        (
            "outlets.csv",
            "outlet_id,latitude,longitude\nO1,129716000,77.59\n",
            "outlets.csv line 2: latitude '129716000' is out of range; "
            "expected a latitude from -90 to 90 degrees",
        ),
        (
            "outlets.csv",
            "outlet_id,latitude,longitude\nO1,12.97,-200\n",
            "outlets.csv line 2: longitude '-200' is out of range; "
            "expected a longitude from -180 to 180 degrees",
        ),
        (
            "visits.csv",
            f"{VISITS_HEADER},latitude,longitude\n"
            "V1,R1,O1,2026-03-02T09:00:00,-90.5,0\n",
            "visits.csv line 2: latitude '-90.5' is out of range; "
            "expected a latitude from -90 to 90 degrees",
        ),
        (
            "rep_territories.csv",
            "rep_id,territory_id,valid_from,valid_to\nR1,T1,2026-03-02,2026-03-01\n",
            "rep_territories.csv line 2: valid_to '2026-03-01' is before valid_from "
            "2026-03-02; a territory assignment must end on or after its first day",
        ),
        (
            "rep_territories.csv",
            "rep_id,territory_id,valid_from\nR1,,2026-03-02\n",
            "rep_territories.csv line 2: territory_id is missing; "
            "every row needs a value",
        ),
    ],
)
def test_bad_cell_is_rejected(
    engine: sa.Engine, tmp_path: Path, file: str, content: str, expected: str
) -> None:
    with pytest.raises(LoadError) as error:
        load_directory(engine, write_files(tmp_path / "csv", {file: content}))

    assert problem_messages(error) == [expected]


def test_duplicate_id_names_both_lines(engine: sa.Engine, tmp_path: Path) -> None:
    files = {
        "reps.csv": VISITED["reps.csv"],
        "outlets.csv": "outlet_id,name\nO1,Sri Ganesh\nO2,Patel Kirana\nO1,Ganesh\n",
        "visits.csv": f"""\
{VISITS_HEADER}
V1,R1,O1,2026-03-02T09:00:00
V2,R1,O2,2026-03-02T10:00:00
V1,R1,O2,2026-03-02T11:00:00
""",
        "beat_outlets.csv": "beat_id,outlet_id\nB1,O1\nB1,O2\nB1,O1\n",
    }

    with pytest.raises(LoadError) as error:
        load_directory(engine, write_files(tmp_path / "csv", files))

    assert problem_messages(error) == [
        "outlets.csv line 4: outlet_id 'O1' repeats line 2; "
        "each outlet_id may appear once per file",
        "beat_outlets.csv line 4: beat_id and outlet_id 'B1, O1' repeats line 2; "
        "each beat_id and outlet_id may appear once per file",
        "visits.csv line 4: visit_id 'V1' repeats line 2; "
        "each visit_id may appear once per file",
    ]


def test_problem_line_follows_multiline_cell(engine: sa.Engine, tmp_path: Path) -> None:
    files = {
        "outlets.csv": """\
outlet_id,name,latitude
O1,"Sri Ganesh Stores
Main Road",12.97
O2,Patel Kirana,twelve
"""
    }

    with pytest.raises(LoadError) as error:
        load_directory(engine, write_files(tmp_path / "csv", files))

    assert problem_messages(error) == [
        "outlets.csv line 4: latitude 'twelve' is not a number; "
        "expected a decimal number such as 12.9716"
    ]


def test_file_not_utf8_names_line(engine: sa.Engine, tmp_path: Path) -> None:
    content = "outlet_id,name\nO1,Cafe\nO2,Caf\xe9 Central\n".encode("cp1252")

    with pytest.raises(LoadError) as error:
        load_directory(engine, write_files(tmp_path / "csv", {"outlets.csv": content}))

    assert problem_messages(error) == [
        "outlets.csv line 3: column name ('Caf\ufffd Central') is not UTF-8 text "
        "(byte 0xe9); save the file as CSV UTF-8"
    ]


@pytest.mark.parametrize("skip_invalid", [False, True])
def test_failed_outlets_file_reported_once(
    engine: sa.Engine, tmp_path: Path, skip_invalid: bool
) -> None:
    # The visits name O1, on the line that is not UTF-8, and O2 after it.
    outlets = "outlet_id,name\nO1,Caf\xe9\nO2,Patel Kirana\n".encode("cp1252")
    files = {**GOOD_FILES, "outlets.csv": outlets}

    with pytest.raises(LoadError) as error:
        load_directory(
            engine, write_files(tmp_path / "csv", files), skip_invalid=skip_invalid
        )

    assert problem_messages(error) == [
        "outlets.csv line 2: column name ('Caf\ufffd') is not UTF-8 text (byte 0xe9); "
        "save the file as CSV UTF-8"
    ]
    assert error.value.total == 1


def test_skip_invalid_note_after_failed_file(tmp_path: Path, capsys) -> None:
    outlets = "outlet_id,name\nO1,Caf\xe9\n".encode("cp1252")
    directory = write_files(tmp_path / "csv", {**GOOD_FILES, "outlets.csv": outlets})
    database = tmp_path / "load.sqlite"

    code = load.main(
        ["--db", f"sqlite:///{database}", "--skip-invalid", str(directory)]
    )

    assert code == 1
    assert not database.exists()
    assert capsys.readouterr().err.splitlines()[-1] == (
        "--skip-invalid sets aside invalid rows only, not a problem with a whole "
        "file or the folder. Fix the problems above, then run the load again."
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "visit_id,rep_id,outlet_id,check_in,gps\n",
            "visits.csv line 1: unknown column 'gps'; expected columns: visit_id, "
            "rep_id, outlet_id, check_in, check_out, latitude, longitude, "
            "no_order_reason (required: visit_id, rep_id, outlet_id, check_in)",
        ),
        (
            "line,problem,visit_id,rep_id,outlet_id,check_in\n",
            "visits.csv line 1: unknown column 'line', which a rejects file adds; "
            "delete its line (or row) and problem columns before loading it again",
        ),
        (
            "visit_id,rep_id,outlet_id\n",
            "visits.csv line 1: missing required column 'check_in'; expected "
            "columns: visit_id, rep_id, outlet_id, check_in, check_out, latitude, "
            "longitude, no_order_reason (required: visit_id, rep_id, outlet_id, "
            "check_in)",
        ),
        (
            "visit_id,rep_id,outlet_id,check_in,Rep_ID\n",
            "visits.csv line 1: column 'rep_id' appears twice; keep one of them",
        ),
        (
            "visit_id,rep_id,,outlet_id,check_in\n",
            "visits.csv line 1: column 3 of the header has no name; expected "
            "columns: visit_id, rep_id, outlet_id, check_in, check_out, latitude, "
            "longitude, no_order_reason (required: visit_id, rep_id, outlet_id, "
            "check_in)",
        ),
        (
            "",
            "visits.csv: has no header row; expected columns: visit_id, rep_id, "
            "outlet_id, check_in, check_out, latitude, longitude, no_order_reason "
            "(required: visit_id, rep_id, outlet_id, check_in)",
        ),
    ],
)
def test_bad_header_is_rejected(
    engine: sa.Engine, tmp_path: Path, content: str, expected: str
) -> None:
    data_row = "V1,R1,O1,2026-03-02T09:00:00\n" if content else ""
    files = {"visits.csv": content + data_row}

    with pytest.raises(LoadError) as error:
        load_directory(engine, write_files(tmp_path / "csv", files))

    assert problem_messages(error) == [expected]


def test_unknown_file_lists_expected_names(engine: sa.Engine, tmp_path: Path) -> None:
    files = {"regions.csv": "region_id,name\nN,North\n", "shops.csv": "shop_id\n1\n"}

    with pytest.raises(LoadError) as error:
        load_directory(engine, write_files(tmp_path / "csv", files))

    assert problem_messages(error) == [
        "shops.csv: is not named after a table; expected one or more of "
        "regions.csv, territories.csv, reps.csv, rep_territories.csv, "
        "outlets.csv, beats.csv, beat_outlets.csv, visits.csv, orders.csv, "
        "users.csv, territory_boundaries.csv (or the same names ending in .xlsx)"
    ]


@pytest.mark.parametrize("files", [{}, {"notes.txt": "nothing here"}])
def test_directory_without_table_files(
    engine: sa.Engine, tmp_path: Path, files: dict[str, str]
) -> None:
    directory = write_files(tmp_path / "csv", files)

    with pytest.raises(LoadError) as error:
        load_directory(engine, directory)

    assert problem_messages(error) == [
        f"{directory}: contains no table files; expected one or more of "
        "regions.csv, territories.csv, reps.csv, rep_territories.csv, "
        "outlets.csv, beats.csv, beat_outlets.csv, visits.csv, orders.csv, "
        "users.csv, territory_boundaries.csv (or the same names ending in .xlsx)"
    ]


def test_missing_directory_is_rejected(engine: sa.Engine, tmp_path: Path) -> None:
    directory = tmp_path / "absent"

    with pytest.raises(LoadError) as error:
        load_directory(engine, directory)

    assert problem_messages(error) == [
        f"{directory}: is not a directory; give the folder of CSV files"
    ]


def test_problems_are_capped_at_twenty(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [f"V{number},R1,O1,not a time" for number in range(24)]
    files = {
        "reps.csv": "rep_id,active\nR1,maybe\n",
        "visits.csv": VISITS_HEADER + "\n" + "\n".join(rows) + "\n",
    }

    with pytest.raises(LoadError) as error:
        load_directory(engine, write_files(tmp_path / "csv", files))

    messages = problem_messages(error)
    assert error.value.total == 25
    assert len(messages) == 20
    assert messages[0] == (
        "reps.csv line 2: active 'maybe' is not a boolean; expected true, false, 1 or 0"
    )
    assert messages[19] == (
        "visits.csv line 20: check_in 'not a time' is not a valid timestamp; "
        "expected ISO 8601 such as 2026-03-02T09:15:00"
    )
    assert str(error.value).splitlines()[0] == (
        "Nothing was loaded: 25 problems to fix in the files."
    )
    assert str(error.value).splitlines()[-1] == "... and 5 more"


def test_unknown_timezone_is_rejected(engine: sa.Engine, tmp_path: Path) -> None:
    directory = write_files(tmp_path / "csv", {"regions.csv": "region_id\nN\n"})

    with pytest.raises(ValueError, match="'Mars/Olympus' is not an IANA time zone"):
        load_directory(engine, directory, timezone="Mars/Olympus")


def test_not_null_columns_are_required_or_defaulted() -> None:
    # An empty cell in a NOT NULL column must be rejected or given a default,
    # or the database would reject the whole load.
    result = [
        f"{table.name}.{column.name}"
        for table in TABLES.values()
        for column in table.columns
        if not column.nullable
        and column.name not in required_columns(table)
        and (table.name, column.name) not in EMPTY_CELL_DEFAULTS
    ]

    assert result == []


# Command line


def run_load(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "data_access.load", *arguments],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_loads_and_prints_summary(database_path: Path, tmp_path: Path) -> None:
    directory = write_files(tmp_path / "csv", GOOD_FILES)

    result = run_load("--db", f"sqlite:///{database_path}", str(directory))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "regions: 2 inserted, 0 updated, 0 rejected",
        "territories: 2 inserted, 0 updated, 0 rejected",
        "reps: 2 inserted, 0 updated, 0 rejected",
        "rep_territories: 2 inserted, 0 updated, 0 rejected",
        "outlets: 2 inserted, 0 updated, 0 rejected",
        "beats: 2 inserted, 0 updated, 0 rejected",
        "beat_outlets: 3 inserted, 0 updated, 0 rejected",
        "visits: 2 inserted, 0 updated, 0 rejected",
        "orders: 2 inserted, 0 updated, 0 rejected",
        "users: 3 inserted, 0 updated, 0 rejected",
        "territory_boundaries: 1 inserted, 0 updated, 0 rejected",
    ]


def test_cli_reads_timezone_option(
    database_path: Path, tmp_path: Path, engine: sa.Engine
) -> None:
    visits = f"{VISITS_HEADER}\nV1,R1,O1,2026-03-02T19:00:00\n"
    files = {**VISITED, "visits.csv": visits}
    directory = write_files(tmp_path / "csv", files)

    result = run_load(
        "--db",
        f"sqlite:///{database_path}",
        "--timezone",
        "Asia/Kolkata",
        str(directory),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "visits: 1 inserted, 0 updated, 0 rejected"
    assert table_contents(engine)["visits"][0][3] == datetime(2026, 3, 2, 13, 30)


def test_cli_rejects_bad_file(database_path: Path, tmp_path: Path) -> None:
    files = {
        **VISITED,
        "visits.csv": f"""\
{VISITS_HEADER}
V1,R1,O1,2026-03-02T09:00:00
V2,R1,O1,2026-13-01
""",
    }
    directory = write_files(tmp_path / "csv", files)

    result = run_load("--db", f"sqlite:///{database_path}", str(directory))

    assert result.returncode == 1
    assert result.stdout == ""
    assert (
        "Nothing was loaded: 1 problem to fix in the files.\n"
        "visits.csv line 3: check_in '2026-13-01' is not a valid timestamp; "
        "expected ISO 8601 such as 2026-03-02T09:15:00\n"
        "To load the valid rows and set the others aside, run again with "
        "--skip-invalid.\n"
    ) in result.stderr
    assert not database_path.exists()


def test_cli_rejects_unknown_timezone(database_path: Path, tmp_path: Path) -> None:
    directory = write_files(tmp_path / "csv", {"regions.csv": "region_id\nN\n"})

    result = run_load(
        "--db", f"sqlite:///{database_path}", "--timezone", "India", str(directory)
    )

    assert result.returncode == 2
    assert (
        "error: time zone 'India' is not an IANA time zone name; "
        "use a name such as Asia/Kolkata or UTC"
    ) in result.stderr


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "mysql://loader:s3cret@db.example.com/sfa",
            "Database engine 'mysql' is not supported",
        ),
        ("not a url", "The database URL is not a valid SQLAlchemy URL"),
    ],
)
def test_cli_rejects_bad_database_url(tmp_path: Path, url: str, expected: str) -> None:
    directory = write_files(tmp_path / "csv", {"regions.csv": "region_id\nN\n"})

    result = run_load("--db", url, str(directory))

    assert result.returncode == 2
    assert expected in result.stderr
    assert "s3cret" not in result.stderr


def test_cli_rejects_missing_directory(database_path: Path, tmp_path: Path) -> None:
    directory = tmp_path / "absent"

    result = run_load("--db", f"sqlite:///{database_path}", str(directory))

    assert result.returncode == 2
    assert f"error: DIR '{directory}' is not a directory" in result.stderr


def test_cli_requires_db_option(tmp_path: Path) -> None:
    result = run_load(str(tmp_path))

    assert result.returncode == 2
    assert "the following arguments are required: --db" in result.stderr


def test_cli_hides_password_on_database_failure(tmp_path: Path) -> None:
    # Nothing listens on port 9 of 127.0.0.1, so the connection is refused.
    directory = write_files(tmp_path / "csv", {"regions.csv": "region_id\nN\n"})
    url = "postgresql+psycopg://loader:s3cret@127.0.0.1:9/sfa?connect_timeout=5"

    result = run_load("--db", url, str(directory))

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(
        "Loading into postgresql+psycopg://loader:***@127.0.0.1:9/sfa"
    )
    assert "s3cret" not in result.stderr


# PostgreSQL


def test_postgres_round_trip(fresh_postgres_url: str, tmp_path: Path) -> None:
    engine = create_engine(fresh_postgres_url)
    directory = write_files(tmp_path / "csv", GOOD_FILES)
    try:
        first_counts = load_directory(engine, directory)
        first_contents = table_contents(engine)
        second_counts = load_directory(engine, directory)
        second_contents = table_contents(engine)
    finally:
        engine.dispose()

    assert first_counts.counts == GOOD_COUNTS
    assert first_contents == GOOD_CONTENTS
    assert second_counts.counts == {
        name: TableCounts(updated=rows) for name, rows in GOOD_ROWS.items()
    }
    assert second_contents == GOOD_CONTENTS


def test_postgres_load_keeps_keys(fresh_postgres_url: str, tmp_path: Path) -> None:
    # A load into an empty table drops its primary key and indexes and adds
    # them again before it commits.
    names = [file_name.removesuffix(".csv") for file_name in GOOD_FILES]
    engine = create_engine(fresh_postgres_url)
    directory = write_files(tmp_path / "csv", GOOD_FILES)
    try:
        load_directory(engine, directory)
        inspector = sa.inspect(engine)
        keys = {name: inspector.get_pk_constraint(name) for name in names}
        indexes = {name: inspector.get_indexes(name) for name in names}
    finally:
        engine.dispose()

    assert len(names) == len(TABLES)
    for name in names:
        result = keys[name]["constrained_columns"]
        expected = TABLES[name].primary_key.columns.keys()
        assert result == expected, name
        result_indexes = sorted(index["name"] for index in indexes[name])
        expected_indexes = sorted(str(index.name) for index in TABLES[name].indexes)
        assert result_indexes == expected_indexes, name


def test_postgres_load_into_referenced_table(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    # A foreign key of another table needs the primary key, so the load keeps it.
    files = {"regions.csv": "region_id,name\nN,North\nS,South\n"}
    engine = create_engine(fresh_postgres_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE region_notes "
                "(region_id text REFERENCES regions (region_id), note text)"
            )
        result = load_directory(engine, write_files(tmp_path / "csv", files))
        rows = table_contents(engine)["regions"]
        primary_key = sa.inspect(engine).get_pk_constraint("regions")
    finally:
        engine.dispose()

    assert result.counts == {"regions": TableCounts(inserted=2)}
    assert rows == [("N", "North"), ("S", "South")]
    assert primary_key["constrained_columns"] == ["region_id"]


# XLSX workbooks


def write_workbook(path: Path, sheets: Mapping[str, list[list[Any]]]) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def test_xlsx_loads_typed_cells(engine: sa.Engine, tmp_path: Path) -> None:
    directory = write_files(tmp_path / "xlsx", {"regions.csv": "region_id\nS\n"})
    write_workbook(
        directory / "reps.xlsx",
        {
            "Export": [
                [" Rep_ID ", "Name", "Active", "territory_id", None],
                [1001, "Asha Rao", True, "T1"],
                [1002, "Vikram Singh", False, None],
            ]
        },
    )
    write_workbook(
        directory / "outlets.xlsx",
        {
            "notes": [["exported on Monday"]],
            "outlets": [
                ["outlet_id", "latitude", "longitude"],
                ["O1", 12.9716, 77.5946],
            ],
        },
    )
    write_workbook(
        directory / "visits.xlsx",
        {
            "Sheet1": [
                ["visit_id", "rep_id", "outlet_id", "check_in", "check_out"],
                ["V1", 1001, "O1", datetime(2026, 3, 2, 9, 15), "2026-03-02T09:40"],
                [],
                ["V2", 1002, "O1", "2026-03-02T10:00:00+05:30", None],
            ]
        },
    )
    write_workbook(
        directory / "beats.xlsx",
        {
            "beats": [
                ["beat_id", "rep_id", "weekday", "every_n_weeks", "start_date"],
                ["B1", 1001, 1, 2.0, date(2026, 1, 5)],
            ]
        },
    )

    result = load_directory(engine, directory, timezone="Asia/Kolkata")

    assert result.counts == {
        "regions": TableCounts(inserted=1),
        "reps": TableCounts(inserted=2),
        "outlets": TableCounts(inserted=1),
        "beats": TableCounts(inserted=1),
        "visits": TableCounts(inserted=2),
    }
    contents = table_contents(engine)
    assert contents["reps"] == [
        ("1001", "Asha Rao", "T1", None, True),
        ("1002", "Vikram Singh", None, None, False),
    ]
    assert contents["outlets"] == [
        ("O1", None, None, 12.9716, 77.5946, None, None, True)
    ]
    assert contents["beats"] == [("B1", "1001", None, 1, 2, date(2026, 1, 5), None)]
    assert contents["visits"] == [
        (
            "V1",
            "1001",
            "O1",
            datetime(2026, 3, 2, 3, 45),
            datetime(2026, 3, 2, 4, 10),
            None,
            None,
            None,
        ),
        ("V2", "1002", "O1", datetime(2026, 3, 2, 4, 30), None, None, None, None),
    ]


def test_xlsx_problem_names_sheet_row(engine: sa.Engine, tmp_path: Path) -> None:
    directory = write_files(tmp_path / "xlsx", VISITED)
    write_workbook(
        directory / "visits.xlsx",
        {
            "visits": [
                ["visit_id", "rep_id", "outlet_id", "check_in"],
                ["V1", "R1", "O1", datetime(2026, 3, 2, 9, 15)],
                ["V2", "R1", "O1", "soon"],
                ["V3", "R1", "O1", datetime(2026, 3, 2, 11, 0), "stray"],
            ]
        },
    )

    with pytest.raises(LoadError) as error:
        load_directory(engine, directory)

    assert problem_messages(error) == [
        "visits.xlsx row 3: check_in 'soon' is not a valid timestamp; "
        "expected ISO 8601 such as 2026-03-02T09:15:00",
        "visits.xlsx row 4: has 5 cells but the header has 4 columns",
    ]


def test_xlsx_not_a_workbook_is_rejected(engine: sa.Engine, tmp_path: Path) -> None:
    files = {"visits.xlsx": b"PK\x03\x04"}

    with pytest.raises(LoadError) as error:
        load_directory(engine, write_files(tmp_path / "xlsx", files))

    assert problem_messages(error) == [
        "visits.xlsx: is not a readable XLSX workbook (File is not a zip file); "
        "save it again from Excel as an .xlsx workbook, or as CSV UTF-8"
    ]


def test_file_names_ignore_case(engine: sa.Engine, tmp_path: Path) -> None:
    directory = write_files(tmp_path / "csv", {"Regions.CSV": "region_id\nN\n"})
    sheets = {"Sheet1": [["territory_id"], ["T1"]]}
    write_workbook(directory / "TERRITORIES.xlsx", sheets)

    result = load_directory(engine, directory)

    assert result.counts == {
        "regions": TableCounts(inserted=1),
        "territories": TableCounts(inserted=1),
    }


def test_table_in_two_files_is_rejected(engine: sa.Engine, tmp_path: Path) -> None:
    directory = write_files(tmp_path / "both", {"regions.csv": "region_id\nN\n"})
    write_workbook(directory / "regions.xlsx", {"regions": [["region_id"], ["S"]]})

    with pytest.raises(LoadError) as error:
        load_directory(engine, directory)

    assert problem_messages(error) == [
        "regions.xlsx: holds the same table as regions.csv; keep one of them"
    ]


# References


def test_visit_may_refer_to_stored_rows(
    loaded_engine: sa.Engine, tmp_path: Path
) -> None:
    files = {"visits.csv": f"{VISITS_HEADER}\nV9,R2,O2,2026-03-09T09:00:00\n"}

    result = load_directory(loaded_engine, write_files(tmp_path / "csv", files))

    assert result.counts == {"visits": TableCounts(inserted=1)}


def test_visit_with_unknown_references_is_rejected(
    loaded_engine: sa.Engine, database_path: Path, tmp_path: Path
) -> None:
    before = database_path.read_bytes()
    files = {
        "reps.csv": "rep_id,active\nR3,maybe\nR4,true\n",
        "visits.csv": f"""\
{VISITS_HEADER}
V9,R4,O1,2026-03-09T09:00:00
V10,R3,O1,2026-03-09T10:00:00
V11,R1,O9,2026-03-09T11:00:00
""",
    }

    with pytest.raises(LoadError) as error:
        load_directory(loaded_engine, write_files(tmp_path / "csv", files))

    assert problem_messages(error) == [
        "reps.csv line 2: active 'maybe' is not a boolean; "
        "expected true, false, 1 or 0",
        "visits.csv line 3: rep_id 'R3' names a rep whose row was rejected "
        "(reps.csv line 2); fix that row or correct the id",
        "visits.csv line 4: outlet_id 'O9' names no known outlet: neither the "
        "files nor the database's outlets table have it; add the outlet or "
        "correct the id",
    ]
    assert database_path.read_bytes() == before


def test_rejected_row_of_stored_rep_still_resolves(
    loaded_engine: sa.Engine, tmp_path: Path
) -> None:
    # R1 is stored, so a bad update of its row leaves the visit loadable.
    files = {
        "reps.csv": "rep_id,active\nR1,maybe\n",
        "visits.csv": f"{VISITS_HEADER}\nV9,R1,O1,2026-03-09T09:00:00\n",
    }

    result = load_directory(
        loaded_engine, write_files(tmp_path / "csv", files), skip_invalid=True
    )

    assert result.counts == {
        "reps": TableCounts(rejected=1),
        "visits": TableCounts(inserted=1),
    }


def test_load_counts_inserted_and_updated(
    loaded_engine: sa.Engine, tmp_path: Path
) -> None:
    files = {
        "outlets.csv": "outlet_id,name\nO1,Ganesh Stores\nO3,New Outlet\n",
        "beat_outlets.csv": "beat_id,outlet_id\nB1,O1\nB2,O3\nB3,O3\n",
        "rep_territories.csv": "rep_id,territory_id,valid_from\nR1,T1,2026-02-01\n",
    }

    result = load_directory(loaded_engine, write_files(tmp_path / "csv", files))

    assert result.counts == {
        "rep_territories": TableCounts(updated=1),
        "outlets": TableCounts(inserted=1, updated=1),
        "beat_outlets": TableCounts(inserted=2, updated=1),
    }


# Skipping invalid rows


SKIPPED_FILES = {
    "outlets.csv": """\
outlet_id,name,latitude
O3,New Outlet,12.95
O4,Bad Fix,95
O3,Again,
""",
    "visits.csv": f"""\
{VISITS_HEADER}
V9,R1,O3,2026-03-09T09:00:00
V10,R1,O4,2026-03-09T10:00:00
V11,R1,O1,tomorrow
V12,R2,O1,2026-03-09T12:00:00
""",
}


def read_rejects(path: Path) -> str:
    # Bytes, so the CSV line ends stay \r\n; the file starts with a byte
    # order mark for Excel.
    return path.read_bytes().decode("utf-8-sig")


def test_skip_invalid_loads_valid_rows(
    loaded_engine: sa.Engine, tmp_path: Path
) -> None:
    directory = write_files(tmp_path / "csv", SKIPPED_FILES)

    result = load_directory(loaded_engine, directory, skip_invalid=True)

    assert result.counts == {
        "outlets": TableCounts(inserted=1, rejected=2),
        "visits": TableCounts(inserted=2, rejected=2),
    }
    assert result.rejects_files == {
        "outlets": directory / "outlets.rejected.csv",
        "visits": directory / "visits.rejected.csv",
    }
    assert result.problem_total == 4
    assert read_rejects(directory / "outlets.rejected.csv") == (
        "line,problem,outlet_id,name,latitude\r\n"
        "3,latitude '95' is out of range; expected a latitude from -90 to 90 "
        "degrees,O4,Bad Fix,95\r\n"
        "4,outlet_id 'O3' repeats line 2; each outlet_id may appear once per file,"
        "O3,Again,\r\n"
    )
    assert read_rejects(directory / "visits.rejected.csv") == (
        "line,problem,visit_id,rep_id,outlet_id,check_in\r\n"
        "3,outlet_id 'O4' names an outlet whose row was rejected (outlets.csv "
        "line 3); fix that row or correct the id,V10,R1,O4,2026-03-09T10:00:00\r\n"
        "4,check_in 'tomorrow' is not a valid timestamp; expected ISO 8601 such "
        "as 2026-03-02T09:15:00,V11,R1,O1,tomorrow\r\n"
    )
    contents = table_contents(loaded_engine)
    assert [row[:2] for row in contents["outlets"]] == [
        ("O1", "Sri Ganesh Stores"),
        ("O2", "Patel Kirana, Main Road"),
        ("O3", "New Outlet"),
    ]
    assert [row[:3] for row in contents["visits"]] == [
        ("V1", "R1", "O1"),
        ("V12", "R2", "O1"),
        ("V2", "R1", "O2"),
        ("V9", "R1", "O3"),
    ]


def test_skip_invalid_removes_old_rejects_file(
    loaded_engine: sa.Engine, tmp_path: Path
) -> None:
    directory = write_files(
        tmp_path / "csv",
        {
            "regions.csv": "region_id,name\nW,West\n",
            "regions.rejected.csv": "line,problem,region_id\n2,old,W\n",
        },
    )

    result = load_directory(loaded_engine, directory, skip_invalid=True)

    assert result.rejects_files == {}
    assert not (directory / "regions.rejected.csv").exists()


def test_skip_invalid_still_rejects_bad_header(
    loaded_engine: sa.Engine, database_path: Path, tmp_path: Path
) -> None:
    before = database_path.read_bytes()
    files = {
        "regions.csv": "region_id,name\nW,West\n",
        "outlets.csv": "outlet_id,gps\nO3,12.9 77.5\n",
    }

    with pytest.raises(LoadError) as error:
        load_directory(
            loaded_engine, write_files(tmp_path / "csv", files), skip_invalid=True
        )

    assert [problem.line for problem in error.value.problems] == [1]
    assert error.value.fatal == 1
    assert database_path.read_bytes() == before


def test_failed_skip_invalid_load_leaves_no_rejects_file(
    loaded_engine: sa.Engine, tmp_path: Path
) -> None:
    # The visit row is set aside, but the bad header stops the whole load.
    files = {
        "outlets.csv": "outlet_id,gps\nO3,12.9 77.5\n",
        "visits.csv": f"{VISITS_HEADER}\nV9,R1,O1,tomorrow\n",
    }
    directory = write_files(tmp_path / "csv", files)

    with pytest.raises(LoadError):
        load_directory(loaded_engine, directory, skip_invalid=True)

    assert sorted(path.name for path in directory.iterdir()) == [
        "outlets.csv",
        "visits.csv",
    ]


def test_cli_skip_invalid_reports_rejects(
    loaded_engine: sa.Engine, database_path: Path, tmp_path: Path
) -> None:
    directory = write_files(tmp_path / "csv", SKIPPED_FILES)

    result = run_load(
        "--db", f"sqlite:///{database_path}", "--skip-invalid", str(directory)
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "outlets: 1 inserted, 0 updated, 2 rejected",
        "visits: 2 inserted, 0 updated, 2 rejected",
    ]
    assert (
        "Rows set aside for 4 problems:\n"
        "outlets.csv line 3: latitude '95' is out of range; expected a latitude "
        "from -90 to 90 degrees\n"
    ) in result.stderr
    assert (
        f"The rejected visits rows and their reasons are in "
        f"{directory / 'visits.rejected.csv'}\n"
    ) in result.stderr


# Failures while writing


def test_database_error_in_last_batch_rolls_back(
    loaded_engine: sa.Engine,
    database_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The trigger fails the insert of the last order, after regions, visits
    # and the first order batches were written in the same transaction.
    monkeypatch.setattr(load, "BATCH_SIZE", 2)
    with loaded_engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER full_disk BEFORE INSERT ON orders "
            "WHEN NEW.order_id = 'SO9' "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    loaded_engine.dispose()
    before = database_path.read_bytes()
    files = {
        "regions.csv": "region_id,name\nN,Northern\nW,West\n",
        "visits.csv": f"""\
{VISITS_HEADER}
V7,R1,O1,2026-03-09T09:00:00
V8,R1,O2,2026-03-09T10:00:00
V9,R2,O1,2026-03-09T11:00:00
""",
        "orders.csv": """\
order_id,ordered_at,value
SO5,2026-03-09T09:10:00,10
SO6,2026-03-09T09:20:00,20
SO7,2026-03-09T09:30:00,30
SO8,2026-03-09T09:40:00,40
SO9,2026-03-09T09:50:00,50
""",
    }

    with pytest.raises(sa.exc.DBAPIError, match="database or disk is full"):
        load_directory(loaded_engine, write_files(tmp_path / "csv", files))
    loaded_engine.dispose()

    assert database_path.read_bytes() == before
    assert table_contents(loaded_engine) == GOOD_CONTENTS


def test_database_error_removes_rejects_files(
    loaded_engine: sa.Engine, tmp_path: Path
) -> None:
    with loaded_engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER full_disk BEFORE INSERT ON visits "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    loaded_engine.dispose()
    files = {
        "visits.csv": f"""\
{VISITS_HEADER}
V7,R1,O1,2026-03-09T09:00:00
V8,R1,O1,tomorrow
""",
    }
    directory = write_files(tmp_path / "csv", files)

    with pytest.raises(sa.exc.DBAPIError, match="database or disk is full"):
        load_directory(loaded_engine, directory, skip_invalid=True)
    loaded_engine.dispose()

    assert sorted(path.name for path in directory.iterdir()) == ["visits.csv"]


# Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_load_draws_progress_on_terminal(engine: sa.Engine, tmp_path: Path) -> None:
    stream = Terminal()
    files = {"regions.csv": "region_id,name\nN,North\n"}

    load_directory(engine, write_files(tmp_path / "csv", files), progress_stream=stream)

    checking = "checking regions.csv [" + "#" * 30 + "] 100% 1 rows"
    loading = "loading regions.csv [" + "#" * 30 + "] 100% 1 rows"
    assert stream.getvalue() == (
        f"\r{checking}\r{' ' * len(checking)}\r\r{loading}\r{' ' * len(loading)}\r"
    )


def test_unsized_sheet_progress_shows_rows(engine: sa.Engine, tmp_path: Path) -> None:
    # A write-only workbook has no dimension element, so the sheet's row
    # count is unknown until it is read; a percentage would stay at 0 %.
    directory = tmp_path / "xlsx"
    directory.mkdir()
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("regions")
    sheet.append(["region_id", "name"])
    sheet.append(["N", "North"])
    workbook.save(directory / "regions.xlsx")
    stream = Terminal()

    load_directory(engine, directory, progress_stream=stream)

    checking = "checking regions.xlsx 1 rows"
    loading = "loading regions.xlsx 1 rows"
    assert stream.getvalue() == (
        f"\r{checking}\r{' ' * len(checking)}\r\r{loading}\r{' ' * len(loading)}\r"
    )


def test_load_draws_nothing_off_terminal(engine: sa.Engine, tmp_path: Path) -> None:
    stream = io.StringIO()
    files = {"regions.csv": "region_id,name\nN,North\n"}

    load_directory(engine, write_files(tmp_path / "csv", files), progress_stream=stream)

    assert stream.getvalue() == ""


def test_postgres_finds_stored_references(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    engine = create_engine(fresh_postgres_url)
    files = {
        "visits.csv": f"""\
{VISITS_HEADER}
V9,R2,O2,2026-03-09T09:00:00
V10,R2,O9,2026-03-09T10:00:00
"""
    }
    try:
        load_directory(engine, write_files(tmp_path / "good", GOOD_FILES))
        result = load_directory(
            engine, write_files(tmp_path / "more", files), skip_invalid=True
        )
        visit_ids = [row[0] for row in table_contents(engine)["visits"]]
    finally:
        engine.dispose()

    assert result.counts == {"visits": TableCounts(inserted=1, rejected=1)}
    assert [str(problem) for problem in result.problems] == [
        "visits.csv line 3: outlet_id 'O9' names no known outlet: neither the "
        "files nor the database's outlets table have it; add the outlet or "
        "correct the id"
    ]
    assert visit_ids == ["V1", "V2", "V9"]


# Chunks


def test_bad_rows_across_chunk_boundary(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of 2 records: the header and V1, V2 and V3, V4 and V5, V6.
    monkeypatch.setattr(load, "BATCH_SIZE", 2)
    files = {
        **VISITED,
        "visits.csv": f"""\
{VISITS_HEADER}
V1,R1,O1,2026-03-02T09:00:00
V2,R1,O1,noon
V3,R1,O1,
V4,R1,O9,2026-03-02T12:00:00
V5,R1,O2,2026-03-02T13:00:00
V6,R1,O1,2026-03-02T14:00:00
""",
    }
    directory = write_files(tmp_path / "csv", files)

    result = load_directory(engine, directory, skip_invalid=True)

    assert result.counts["visits"] == TableCounts(inserted=3, rejected=3)
    assert [str(problem) for problem in result.problems] == [
        "visits.csv line 3: check_in 'noon' is not a valid timestamp; "
        "expected ISO 8601 such as 2026-03-02T09:15:00",
        "visits.csv line 4: check_in is missing; every row needs a value",
        "visits.csv line 5: outlet_id 'O9' names no known outlet: neither the "
        "files nor the database's outlets table have it; add the outlet or "
        "correct the id",
    ]
    rejected_lines = [
        line.split(",")[0]
        for line in read_rejects(directory / "visits.rejected.csv").splitlines()
    ]
    assert rejected_lines == ["line", "3", "4", "5"]
    visit_ids = [row[0] for row in table_contents(engine)["visits"]]
    assert visit_ids == ["V1", "V5", "V6"]


def test_bad_row_in_second_chunk_keeps_line(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first chunk contains the header and O1, whose name spans three lines.
    monkeypatch.setattr(load, "BATCH_SIZE", 2)
    files = {
        "outlets.csv": """\
outlet_id,name,latitude
O1,"Sri Ganesh Stores
Main Road
Jayanagar",12.97
O2,Patel Kirana,12.98
O3,Bad Fix,north
"""
    }

    with pytest.raises(LoadError) as error:
        load_directory(engine, write_files(tmp_path / "csv", files))

    assert problem_messages(error) == [
        "outlets.csv line 6: latitude 'north' is not a number; "
        "expected a decimal number such as 12.9716"
    ]


def test_mixed_rows_load_valid_ones(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "BATCH_SIZE", 3)
    files = {
        "orders.csv": """\
order_id,outlet_id,ordered_at,value,line_count
SO1,O1,2026-03-02 09:00,10.5,1
SO2,O1,2026-03-02 09:10,ten,2
SO3,O1,2026-03-02 09:20,-4,
,O1,2026-03-02 09:30,7,1
SO1,O2,2026-03-02 09:40,8,1
SO6,O2,2026-03-02 09:50,9,-2
SO7,O2,2026-02-30 10:00,9,1
,,,,
SO8,O2,2026-03-02T10:10:00+05:30,1e3,0
""",
    }
    directory = write_files(tmp_path / "csv", files)

    result = load_directory(engine, directory, skip_invalid=True)

    assert result.counts["orders"] == TableCounts(inserted=3, rejected=5)
    assert [str(problem) for problem in result.problems] == [
        "orders.csv line 3: value 'ten' is not a number; "
        "expected a decimal number such as 12.9716",
        "orders.csv line 5: order_id is missing; every row needs a value",
        "orders.csv line 6: order_id 'SO1' repeats line 2; "
        "each order_id may appear once per file",
        "orders.csv line 7: line_count '-2' is negative; "
        "expected 0 to 100,000 order lines",
        "orders.csv line 8: ordered_at '2026-02-30 10:00' is not a valid "
        "timestamp; expected ISO 8601 such as 2026-03-02T09:15:00",
    ]
    assert table_contents(engine)["orders"] == [
        ("SO1", "O1", None, None, datetime(2026, 3, 2, 9, 0), 10.5, 1),
        ("SO3", "O1", None, None, datetime(2026, 3, 2, 9, 20), -4.0, None),
        ("SO8", "O2", None, None, datetime(2026, 3, 2, 4, 40), 1000.0, 0),
    ]


def test_repeat_in_later_chunk_names_first_line(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "BATCH_SIZE", 2)
    rows = [f"B{number},O{number}" for number in range(1, 6)] + ["B2,O2", "B6,O6"]
    files = {"beat_outlets.csv": "beat_id,outlet_id\n" + "\n".join(rows) + "\n"}

    with pytest.raises(LoadError) as error:
        load_directory(engine, write_files(tmp_path / "csv", files))

    assert problem_messages(error) == [
        "beat_outlets.csv line 7: beat_id and outlet_id 'B2, O2' repeats line 3; "
        "each beat_id and outlet_id may appear once per file"
    ]


def test_file_not_utf8_in_later_block(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Blocks of 16 bytes put the bad byte several blocks into the file.
    monkeypatch.setattr(table_files, "READ_BLOCK_BYTES", 16)
    lines = [f"O{number},Outlet {number}" for number in range(1, 9)]
    content = "\n".join(["outlet_id,name", *lines, "O9,Caf\xe9", "O10,Last"]) + "\n"

    with pytest.raises(LoadError) as error:
        load_directory(
            engine,
            write_files(tmp_path / "csv", {"outlets.csv": content.encode("cp1252")}),
        )

    assert problem_messages(error) == [
        "outlets.csv line 10: column name ('Caf\ufffd') is not UTF-8 text (byte 0xe9); "
        "save the file as CSV UTF-8"
    ]


def test_load_keeps_indexes_of_empty_table(engine: sa.Engine, tmp_path: Path) -> None:
    # The indexes of an empty table are dropped while its rows go in, then
    # built again.
    files = {**VISITED, "visits.csv": f"{VISITS_HEADER}\nV1,R1,O1,2026-03-02\n"}

    load_directory(engine, write_files(tmp_path / "csv", files))

    result = sorted(index["name"] for index in sa.inspect(engine).get_indexes("visits"))
    expected = sorted(index.name for index in TABLES["visits"].indexes)
    assert result == expected


def test_failed_load_into_empty_table_keeps_indexes(
    engine: sa.Engine, database_path: Path, tmp_path: Path
) -> None:
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER full_disk BEFORE INSERT ON orders "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    engine.dispose()
    before = database_path.read_bytes()
    files = {
        **VISITED,
        "visits.csv": f"{VISITS_HEADER}\nV1,R1,O1,2026-03-02\n",
        "orders.csv": "order_id,ordered_at,value\nSO1,2026-03-02,10\n",
    }

    with pytest.raises(sa.exc.DBAPIError, match="database or disk is full"):
        load_directory(engine, write_files(tmp_path / "csv", files))
    engine.dispose()

    assert database_path.read_bytes() == before
    result = sorted(index["name"] for index in sa.inspect(engine).get_indexes("visits"))
    expected = sorted(index.name for index in TABLES["visits"].indexes)
    assert result == expected


@pytest.mark.parametrize("copy_format", ["binary", "csv"])
def test_postgres_copies_special_text(
    fresh_postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    copy_format: str,
) -> None:
    # COPY's CSV format quotes texts with commas, quotes and line ends, and
    # "\\." alone on a line outside quotes would end the data. The binary
    # format sends each text's length and bytes.
    if copy_format == "csv":
        monkeypatch.setattr(bulk_write, "binary_matches", lambda *arguments: False)
    name = 'Shop\\North\t"A",\nRoad'
    marker_line = "first\n\\.\nlast"
    cells = ['"' + text.replace('"', '""') + '"' for text in (name, marker_line)]
    files = {
        "outlets.csv": (
            f"outlet_id,name,active\nO1,{cells[0]},false\nO2,,\n"
            f"O3,{cells[1]},true\nO4,\\.,true\n"
        )
    }
    engine = create_engine(fresh_postgres_url)
    try:
        first = load_directory(engine, write_files(tmp_path / "first", files))
        second = load_directory(engine, write_files(tmp_path / "second", files))
        outlets = table_contents(engine)["outlets"]
    finally:
        engine.dispose()

    assert first.counts == {"outlets": TableCounts(inserted=4)}
    assert second.counts == {"outlets": TableCounts(updated=4)}
    assert outlets == [
        ("O1", name, None, None, None, None, None, False),
        ("O2", None, None, None, None, None, None, True),
        ("O3", marker_line, None, None, None, None, None, True),
        ("O4", "\\.", None, None, None, None, None, True),
    ]


def test_load_reads_each_file_once(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second pass writes the rows the first pass kept, so it does not
    # read the files again.
    opened: list[str] = []
    open_source = table_files.open_source

    def counting_open_source(path: Path, table_name: str) -> Any:
        opened.append(path.name)
        return open_source(path, table_name)

    monkeypatch.setattr(table_files, "open_source", counting_open_source)
    files = {**VISITED, "visits.csv": f"{VISITS_HEADER}\nV1,R1,O1,2026-03-02\n"}

    result = load_directory(engine, write_files(tmp_path / "csv", files))

    assert result.counts["visits"] == TableCounts(inserted=1)
    assert sorted(opened) == ["outlets.csv", "reps.csv", "visits.csv"]
    assert table_contents(engine)["visits"][0][:4] == (
        "V1",
        "R1",
        "O1",
        datetime(2026, 3, 2),
    )


def test_postgres_failed_copy_rolls_back(
    fresh_postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the checking pass, the bad row in the second chunk fails the
    # load while the COPY into the empty table is open.
    monkeypatch.setattr(load, "check_table_files", accept_every_row)
    monkeypatch.setattr(load, "BATCH_SIZE", 2)
    files = {
        "regions.csv": "region_id,name\nN,North\nS,South\nE,East\nW,West\n",
        "territories.csv": "territory_id,region_id\nT1,N\nT2,N\nT3,S\nT4,nowhere\n",
        "users.csv": "user_id,role\na@example.com,admin\nb@example.com,owner\n",
    }
    engine = create_engine(fresh_postgres_url)
    metadata.create_all(engine)
    try:
        with pytest.raises(LoadError) as error:
            load_directory(engine, write_files(tmp_path / "csv", files))
        contents = table_contents(engine)
        indexes = sa.inspect(engine).get_indexes("territories")
        primary_key = sa.inspect(engine).get_pk_constraint("territories")
    finally:
        engine.dispose()

    assert problem_messages(error) == [
        "users.csv line 3: role 'owner' is not a role; "
        "expected admin, regional_head or line_manager"
    ]
    assert contents["regions"] == []
    assert contents["territories"] == []
    assert [index["name"] for index in indexes] == ["ix_territories_region_id"]
    assert primary_key["constrained_columns"] == ["territory_id"]
