"""CSV downloads that a spreadsheet opens without running any cell as a formula."""

import csv
import io

import pandas as pd

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe_csv(frame: pd.DataFrame) -> bytes:
    """Write frame as UTF-8 CSV in which no text cell can run as a formula.

    A text cell that starts like a formula gets a leading apostrophe, which
    spreadsheets show as text; numbers and dates are written as they are.
    The byte order mark makes Excel read the file as UTF-8.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False):
        writer.writerow([_safe_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def _safe_cell(value: object) -> object:
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, float) and pd.isna(value):
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
