"""Reading table files: XLSX cells as CSV text, and the cells of CSV blocks."""

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from data_access.schema import TABLES
from data_access.table_files import (
    ProblemLog,
    TableFile,
    _has_padded_cells,
    xlsx_cell_text,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (1001, "1001"),
        (1001.0, "1001"),
        (12.9716, "12.9716"),
        (-0.5, "-0.5"),
        (1e20, "1e+20"),
        ("007", "007"),
        (datetime(2026, 3, 2, 9, 15), "2026-03-02T09:15:00"),
        (datetime(2026, 3, 2), "2026-03-02"),
        (date(2026, 3, 2), "2026-03-02"),
        (time(9, 15), "09:15:00"),
    ],
)
def test_xlsx_cell_text(value: object, expected: str) -> None:
    assert xlsx_cell_text(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("V1,R1,2026-03-02 09:15\n", False),
        ("V1,R1,owner absent\nV2,R2,\n", False),
        (" V1,R1\n", True),
        ("V1 ,R1\n", True),
        ("V1, R1\n", True),
        ("V1,R1 \n", True),
        ("V1,R1\n R2,R3\n", True),
        ("V1,R1 ", True),
        ("V1,\tR1\n", True),
        ("V1,R1\x0c\n", True),
        # Text with other than ASCII characters is not searched.
        ("V1,Bāzār\n", True),
        ("", False),
    ],
)
def test_padded_cells_found(text: str, expected: bool) -> None:
    assert _has_padded_cells(text) is expected


def test_padded_cells_stripped(tmp_path: Path) -> None:
    path = tmp_path / "reps.csv"
    path.write_text("rep_id,name\nR1, Asha \nR2,Ravi\n", encoding="utf-8")
    table_file = TableFile(path, TABLES["reps"], ZoneInfo("UTC"), ProblemLog())

    chunks = list(table_file.chunks())

    assert [chunk.values["name"] for chunk in chunks] == [["Asha", "Ravi"]]
    assert table_file.problems.total == 0


def test_unpadded_cells_kept(tmp_path: Path) -> None:
    path = tmp_path / "reps.csv"
    path.write_text("rep_id,name\nR1,Asha Rao\nR2,\n", encoding="utf-8")
    table_file = TableFile(path, TABLES["reps"], ZoneInfo("UTC"), ProblemLog())

    chunks = list(table_file.chunks())

    assert [chunk.values["name"] for chunk in chunks] == [["Asha Rao", None]]
    assert [chunk.values["rep_id"] for chunk in chunks] == [["R1", "R2"]]
