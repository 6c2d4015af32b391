"""The comparison's tables as XLSX and CSV files: numbers stay numbers, codes
stay text, and no text cell can run as a formula."""

import csv
import io
from datetime import date

import numpy as np
import openpyxl
import pandas as pd
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


@pytest.mark.parametrize(
    ("kpi_name", "label", "number_format"),
    [
        ("strike_rate", "Change", "%+.0f pts"),
        ("beat_compliance", "Change", "%+.0f pts"),
        ("order_value", "Change (₹)", "%+,.0f"),
        ("outlets_per_rep", "Change", "%+,.1f"),
        ("visits", "Change", "%+,.0f"),
    ],
)
def test_change_column_signed_by_kind(kpi_name, label, number_format):
    result = tables.column_config("₹", kpi_name)[f"change_{kpi_name}"]

    assert result["label"] == label
    assert result["type_config"]["format"] == number_format


def test_money_change_label_without_symbol():
    result = tables.column_config("", "order_value")["change_order_value"]

    assert result["label"] == "Change"


def test_screen_table_scales_only_ratio_change():
    table = pd.DataFrame(
        {"change_strike_rate": [0.0301, -0.12], "change_visits": [3.0, -1.0]}
    )

    ratio = tables.screen_table(table, "strike_rate")
    count = tables.screen_table(table, "visits")

    assert list(ratio["change_strike_rate"]) == [3.0, -12.0]
    assert list(table["change_strike_rate"]) == [0.0301, -0.12]
    assert list(count["change_visits"]) == [3.0, -1.0]


def test_screen_table_rounds_to_plus_zero():
    table = pd.DataFrame(
        {
            "change_strike_rate": [-0.004, float("nan")],
            "change_order_value": [-0.3, -0.6],
        }
    )

    ratio = tables.screen_table(table, "strike_rate")["change_strike_rate"]
    money = tables.screen_table(table, "order_value")["change_order_value"]

    assert np.copysign(1, ratio.iloc[0]) == 1
    assert ratio.iloc[0] == 0
    assert ratio.isna().iloc[1]
    assert np.copysign(1, money.iloc[0]) == 1
    assert money.iloc[1] == -1


def test_screen_table_rounds_half_away_from_zero():
    table = pd.DataFrame({"change_planned_calls_per_rep": [2.25, -0.625, -2.25]})

    result = tables.screen_table(table, "planned_calls_per_rep")

    assert list(result["change_planned_calls_per_rep"]) == [2.3, -0.6, -2.3]
