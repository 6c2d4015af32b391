"""The comparison's tables as XLSX and CSV files: numbers stay numbers, codes
stay text, and no text cell can run as a formula."""

import csv
import io
from datetime import date

import openpyxl
import pytest

from data_access.filters import Period, Scope, Settings
from metrics import reports
from metrics.comparison import territory_groups
from pages import comparison_tables as tables
from tests.comparison_company import ROWS
from tests.database import sqlite_database

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    engine = sqlite_database(tmp_path_factory.mktemp("exports"), ROWS)
    try:
        settings = Settings()

        def groups(period: Period):
            return territory_groups(
                reports.territories_report(engine, period, Scope(), settings),
                reports.reps_report(engine, period, Scope(), settings),
                reports.outlets_report(engine, period, Scope(), settings),
            )

        territories = reports.queries.territory_list(engine, Scope())
        yield tables.ranked_territories(
            groups(WEEK), groups(WEEK.previous()), territories, "coverage"
        )
    finally:
        engine.dispose()


def workbook_rows(content: bytes) -> list[list]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [list(row) for row in sheet.iter_rows()]


def test_xlsx_cell_types(ranked):
    table = tables.comparison_table(ranked, "coverage", "territories")

    rows = workbook_rows(tables.xlsx_bytes(table, "territories", "₹"))

    header = [cell.value for cell in rows[0]]
    harbour = dict(zip(header, rows[2]))
    assert harbour["territory_id"].value == "007"
    assert harbour["territory_id"].data_type == "s"
    assert harbour["coverage"].value == 0.75
    assert harbour["coverage"].data_type == "n"
    assert harbour["coverage"].number_format == "0%"
    assert harbour["reps"].value == 2
    assert harbour["order_value"].value == 150.0
    assert harbour["order_value"].number_format == '"₹"#,##0.00'
    assert harbour["change_coverage"].value == 0.25
    hills = dict(zip(header, rows[3]))
    assert hills["territory_id"].value == "12.1"
    assert hills["territory_id"].data_type == "s"


def test_xlsx_leaves_undefined_ratios_empty(ranked):
    table = tables.comparison_table(ranked, "coverage", "territories")

    rows = workbook_rows(tables.xlsx_bytes(table, "territories"))

    header = [cell.value for cell in rows[0]]
    lakes = dict(zip(header, rows[1]))
    assert lakes["territory_id"].value == "T3"
    assert lakes["strike_rate"].value is None
    assert lakes["outlets_per_rep"].value is None
    assert lakes["coverage"].value == 0


FORMULA_STARTS = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tTab", "\rCR"]


@pytest.mark.parametrize("name", FORMULA_STARTS)
def test_xlsx_formula_text_stays_text(ranked, name):
    table = tables.comparison_table(ranked, "coverage", "territories")
    table.loc[0, "territory_name"] = name

    rows = workbook_rows(tables.xlsx_bytes(table, "territories"))

    header = [cell.value for cell in rows[0]]
    cell = dict(zip(header, rows[1]))["territory_name"]
    assert cell.data_type == "s"
    assert cell.quotePrefix
    # XML reading turns a carriage return into a line feed; the text is kept.
    assert cell.value.replace("\n", "\r") == name


@pytest.mark.parametrize("name", FORMULA_STARTS)
def test_csv_formula_text_stays_text(ranked, name):
    table = tables.comparison_table(ranked, "coverage", "territories")
    table.loc[0, "territory_name"] = name

    text = tables.csv_bytes(table).decode("utf-8-sig")

    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert dict(zip(rows[0], rows[1]))["territory_name"] == "'" + name


def test_csv_keeps_codes_and_numbers(ranked):
    table = tables.comparison_table(ranked, "coverage", "territories")

    lines = tables.csv_bytes(table).decode("utf-8-sig").splitlines()

    assert lines[0].startswith(
        "rank,territory_id,territory_name,region_id,region_name,coverage"
    )
    assert lines[2].startswith("2,007,Harbour,N,North,0.75,0.5,0.25,4,3,")
