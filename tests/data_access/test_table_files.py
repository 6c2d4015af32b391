"""Cells of XLSX sheets as the text the CSV rules read."""

from datetime import date, datetime, time

import pytest

from data_access.table_files import xlsx_cell_text


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
