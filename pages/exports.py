"""Files a manager can download and forward: CSV, XLSX and a printable HTML page.

Nothing here imports streamlit, so pages pass the bytes to st.download_button
and tests read them back. The API:

- to_csv_bytes(frame): UTF-8 CSV with a byte order mark, so Excel reads
  names such as "Café" correctly. Whole numbers stay whole where a column
  has gaps.
- to_xlsx_bytes(sheets, number_formats): one worksheet per frame. Numbers
  (negative returns too) stay numbers, dates and timestamps become Excel
  dates, missing values stay empty, and number_formats maps a column name
  to an Excel format such as "0%" or "#,##0".
- html_table(frame, formats) and printable_page(title, sections): a
  self-contained page that prints on one A4 sheet when its tables are short.
  side_by_side(sections) puts two short tables next to each other.
  Every value is HTML-escaped.

A text cell that starts with =, +, -, @, a tab or a carriage return could run
as a formula when a spreadsheet opens the file (FORMULA_STARTS lists them).
CSV writes such a cell with a leading apostrophe; XLSX stores it as a text
cell with Excel's quote prefix, so it shows as written and is never evaluated.
"""

import csv
import html
import io
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd

from metrics.rounding import half_up

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

DATE_FORMAT = "yyyy-mm-dd"
TIMESTAMP_FORMAT = "yyyy-mm-dd hh:mm"
# Excel allows 31 characters in a sheet name and none of these.
SHEET_NAME_LIMIT = 31
SHEET_NAME_FORBIDDEN = str.maketrans({character: " " for character in "[]:*?/\\"})
MAX_COLUMN_WIDTH = 60


def _plain(value: object) -> object:
    """Convert a cell value to None, str, bool, int, float, date or naive datetime."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, pd.Timestamp):
        if value.tzinfo is not None:
            value = value.tz_localize(None)
        return value.to_pydatetime()
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return value
    return str(value)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """Write frame as formula-safe UTF-8 CSV, header row first.

    Rows end in CRLF (RFC 4180), so a value with a line break or a carriage
    return is quoted and stays in its cell.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_cell(str(column)) for column in frame.columns])
    for values in frame.itertuples(index=False):
        writer.writerow([_csv_cell(_plain(value)) for value in values])
    return buffer.getvalue().encode("utf-8-sig")


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        # A leading apostrophe makes a spreadsheet show the cell as text.
        return "'" + value
    return value


def to_xlsx_bytes(
    sheets: Mapping[str, pd.DataFrame], number_formats: Mapping[str, str] | None = None
) -> bytes:
    """Write each frame to a worksheet named after its key and return the XLSX file.

    The header row is bold and stays in view when scrolling; column widths
    follow the longest value, up to MAX_COLUMN_WIDTH characters.
    """
    # openpyxl is imported here because its import took about 0.1 s of a
    # page's first run, and the pages write XLSX files only when a download
    # button is pressed.
    import openpyxl

    number_formats = dict(number_formats or {})
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, frame in sheets.items():
        sheet = workbook.create_sheet(_sheet_name(name, workbook.sheetnames))
        _write_sheet(sheet, frame, number_formats)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_name(name: str, taken: Sequence[str]) -> str:
    base = name.translate(SHEET_NAME_FORBIDDEN).strip()[:SHEET_NAME_LIMIT] or "Sheet"
    candidate, number = base, 2
    while candidate in taken:
        suffix = f" {number}"
        candidate = base[: SHEET_NAME_LIMIT - len(suffix)] + suffix
        number += 1
    return candidate


def _write_sheet(sheet, frame: pd.DataFrame, number_formats: Mapping[str, str]) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    header = [str(column) for column in frame.columns]
    widths = [len(text) for text in header]
    for column, text in enumerate(header, start=1):
        cell = sheet.cell(row=1, column=column)
        _set_text(cell, text)
        cell.font = Font(bold=True)

    for row, values in enumerate(frame.itertuples(index=False), start=2):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column)
            value = _plain(value)
            if isinstance(value, str):
                _set_text(cell, value)
            elif value is not None:
                cell.value = value
                cell.number_format = _number_format(
                    value, header[column - 1], number_formats
                )
            widths[column - 1] = max(widths[column - 1], len(_shown(value)))

    sheet.freeze_panes = "A2"
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = min(
            width + 2, MAX_COLUMN_WIDTH
        )


def _set_text(cell, text: str) -> None:
    """Store text as a string cell; openpyxl would store "=..." as a formula."""
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True


def _number_format(
    value: object, column: str, number_formats: Mapping[str, str]
) -> str:
    if isinstance(value, datetime):
        return TIMESTAMP_FORMAT
    if isinstance(value, date):
        return DATE_FORMAT
    return number_formats.get(column, "General")


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{half_up(value, 2):,.2f}"
    return str(value)


# Printable HTML

PAGE_STYLE = """
@page { size: A4; margin: 12mm; }
body { font: 9.5pt/1.3 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b; margin: 0 auto; max-width: 190mm; }
h1 { font-size: 15pt; margin: 0 0 2mm; }
h2 { font-size: 11pt; margin: 4mm 0 1.5mm; }
p { margin: 0 0 2mm; }
p.note { color: #555; font-size: 8.5pt; }
table { border-collapse: collapse; width: 100%; font-size: 7.5pt; }
th, td { border-bottom: 1px solid #ddd; padding: 0.6mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.number { text-align: right; white-space: nowrap; }
tr { break-inside: avoid; }
"""


def html_table(
    frame: pd.DataFrame, formats: Mapping[str, Callable[[object], str]] | None = None
) -> str:
    """Render frame as an HTML table; formats maps a column to a function that
    turns a value into text. Every header and cell is HTML-escaped."""
    formats = dict(formats or {})
    head = "".join(f"<th>{html.escape(str(column))}</th>" for column in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, values):
            value = _plain(value)
            text = (
                formats[column](value)
                if column in formats and value is not None
                else _shown_cell(value)
            )
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            css = ' class="number"' if number else ""
            cells.append(f"<td{css}>{html.escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _shown_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{half_up(value):,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def heading(text: str) -> str:
    """Return an escaped section heading for printable_page."""
    return f"<h2>{html.escape(text)}</h2>"


def paragraph(text: str, note: bool = False) -> str:
    """Return an escaped paragraph for printable_page. A note prints small and grey."""
    css = ' class="note"' if note else ""
    return f"<p{css}>{html.escape(text)}</p>"


def side_by_side(sections: Sequence[str]) -> str:
    """Place HTML sections next to each other, sharing the page width."""
    cells = "".join(f'<div style="flex:1">{section}</div>' for section in sections)
    return f'<div style="display:flex;gap:4mm">{cells}</div>'


def printable_page(title: str, sections: Sequence[str]) -> str:
    """Wrap HTML sections (from heading, paragraph, html_table) in a complete page
    with an A4 print style. title is escaped; sections are inserted as given."""
    escaped = html.escape(title)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escaped}</title><style>{PAGE_STYLE}</style></head>"
        f"<body><h1>{escaped}</h1>{''.join(sections)}</body></html>\n"
    )
