"""Downloads: CSV and XLSX that never run a cell as a formula, and the printable
summary, which escapes every value."""

import csv
import io
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest

from pages import comparison_charts, exports, review_export
from pages.formatting import signed_money

HOSTILE = pd.DataFrame(
    {
        "name": [
            '=HYPERLINK("http://x")',
            "+91 shop",
            "-20 shop",
            "@sum",
            "\tTab",
            "\rReturn",
            "Café",
        ],
        "value": [1.5, -20.0, None, 3.0, 0.0, 2.0, 1e6],
        "count": pd.array([1, None, 3, 4, 5, 6, 7], dtype="Int64"),
        "day": [
            date(2026, 11, 23),
            None,
            date(2026, 11, 24),
            date(2026, 1, 1),
            None,
            None,
            None,
        ],
        "at": pd.to_datetime(
            ["2026-11-23 10:00", None, None, None, None, None, "2026-11-23 11:30"]
        ),
    }
)


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_writes_formula_cells_as_text():
    result = read_csv(exports.to_csv_bytes(HOSTILE))

    expected_names = [
        "name",
        '\'=HYPERLINK("http://x")',
        "'+91 shop",
        "'-20 shop",
        "'@sum",
        "'\tTab",
        "'\rReturn",
        "Café",
    ]
    assert [row[0] for row in result] == expected_names


def test_csv_keeps_numbers_and_dates():
    result = read_csv(exports.to_csv_bytes(HOSTILE))

    assert result[1][1:] == ["1.5", "1", "2026-11-23", "2026-11-23 10:00:00"]
    # A return stays a negative number; gaps stay empty.
    assert result[2][1:] == ["-20.0", "", "", ""]


def test_csv_starts_with_a_byte_order_mark():
    result = exports.to_csv_bytes(HOSTILE)

    assert result.startswith(b"\xef\xbb\xbf")


@pytest.fixture
def sheet():
    data = exports.to_xlsx_bytes({"Reps": HOSTILE}, {"value": "#,##0"})
    return openpyxl.load_workbook(io.BytesIO(data))["Reps"]


def test_xlsx_stores_formula_cells_as_text(sheet):
    result = [(cell.value, cell.data_type, cell.quotePrefix) for cell in sheet["A"][1:]]

    # XML reads a stored carriage return back as a line feed.
    expected = [
        ('=HYPERLINK("http://x")', "s", True),
        ("+91 shop", "s", True),
        ("-20 shop", "s", True),
        ("@sum", "s", True),
        ("\tTab", "s", True),
        ("\nReturn", "s", True),
        ("Café", "s", False),
    ]
    assert result == expected


def test_xlsx_keeps_numbers_numbers(sheet):
    result = [
        (cell.value, cell.data_type, cell.number_format) for cell in sheet["B"][1:4]
    ]

    assert result == [(1.5, "n", "#,##0"), (-20, "n", "#,##0"), (None, "n", "General")]

    assert [cell.value for cell in sheet["C"][1:4]] == [1, None, 3]


def test_xlsx_writes_dates_as_dates(sheet):
    assert sheet["D2"].value == datetime(2026, 11, 23)
    assert sheet["D2"].number_format == exports.DATE_FORMAT
    assert sheet["E2"].value == datetime(2026, 11, 23, 10, 0)
    assert sheet["E2"].number_format == exports.TIMESTAMP_FORMAT
    assert sheet.freeze_panes == "A2"


def test_xlsx_sheet_names_are_valid_and_unique():
    data = exports.to_xlsx_bytes(
        {
            "Skipped/outlets": HOSTILE.head(1),
            "Skipped:outlets": HOSTILE.head(1),
            "x" * 40: HOSTILE.head(1),
        }
    )

    result = openpyxl.load_workbook(io.BytesIO(data)).sheetnames

    assert result == ["Skipped outlets", "Skipped outlets 2", "x" * 31]


def test_html_table_escapes_every_value():
    frame = pd.DataFrame(
        {"<b>Rep</b>": ["<script>alert(1)</script>"], "Value": [1234.4]}
    )

    result = exports.html_table(frame)

    assert "<script>" not in result
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in result
    assert "<th>&lt;b&gt;Rep&lt;/b&gt;</th>" in result
    assert '<td class="number">1,234</td>' in result


def test_printable_page_escapes_the_title():
    result = exports.printable_page("A & B <review>", [exports.paragraph("x < y")])

    assert "<title>A &amp; B &lt;review&gt;</title>" in result
    assert "<p>x &lt; y</p>" in result
    assert "@page { size: A4;" in result


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (1234.0, "count", "1,234"),
        (0.615, "percent", "62%"),
        (12400.4, "money", "₹12,400"),
        (365.0, "minutes", "6h 05m"),
        (10 / 3, "decimal", "3.3"),
        (float("nan"), "percent", "–"),
    ],
)
def test_format_figure(value, unit, expected):
    assert review_export.format_figure(value, unit, "₹") == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (99_999.0, "money", "₹99,999"),
        (-84_719.0, "money", "-₹84.7K"),
        (-9_999.0, "money", "-₹9,999"),
        (123_456.0, "count", "123,456"),
        (122_479.4, "money", "₹122K"),
        (999_600.0, "money", "₹1.00M"),
        (1_000_482.0, "money", "₹1.00M"),
        (-6_247_310.0, "money", "-₹6.25M"),
        (9_996_000.0, "money", "₹10.0M"),
        (12_340_000.0, "money", "₹12.3M"),
        (409_770_000.0, "money", "₹410M"),
        (999_600_000.0, "money", "₹1.00B"),
        (12_345_000_000_000.0, "money", "₹12,345B"),
        (2_458.0, "count", "2,458"),
        (1_250_000.0, "count", "1.25M"),
        (0.615, "percent", "62%"),
        (269.0, "minutes", "4h 29m"),
        (2.45, "decimal", "2.5"),
    ],
)
def test_format_figure_compact(value, unit, expected):
    assert review_export.format_figure(value, unit, "₹", compact=True) == expected


@pytest.mark.parametrize(
    ("now", "before", "unit", "expected"),
    [
        (0.35, 0.61, "percent", "-26 pts"),
        (900.0, 1200.0, "money", "-₹300"),
        (130.0, 118.0, "minutes", "+12 min"),
        (5.0, 3.0, "count", "+2"),
        (2.5, 2.9, "decimal", "-0.4"),
        (5.06, 5.1, "decimal", "+0.0"),
        (0.614, 0.616, "percent", "+0 pts"),
        (900.2, 900.6, "money", "+₹0"),
        (5.0, float("nan"), "count", None),
    ],
)
def test_format_change(now, before, unit, expected):
    assert review_export.format_change(now, before, unit, "₹") == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (1200.0, "+₹1,200"),
        (-84.0, "-₹84"),
        (-0.4, "+₹0"),
        # A half rounds away from zero, as the browser rounds the tables.
        (-0.5, "-₹1"),
        (2.5, "+₹3"),
        (-1.5, "-₹2"),
        (0.0, "+₹0"),
    ],
)
def test_signed_money(change, expected):
    assert signed_money(change, "₹") == expected


@pytest.mark.parametrize("change", [1200.0, -84.0, -0.4, -0.5, -1.5, 2.5, 0.0])
def test_money_change_same_on_tiles_and_chart(change):
    tile = review_export.format_change(change, 0.0, "money", "₹")
    chart = comparison_charts.format_change(
        comparison_charts.KPIS["order_value"], change, "₹"
    )

    assert tile == chart


SKIPS = review_export.Kpi("skipped_outlets", "Skipped outlets", "count", True)
VISITS = review_export.Kpi("visits", "Visits", "count")
PLANNED = review_export.Kpi("planned_calls", "Planned calls", "count", neutral=True)


@pytest.mark.parametrize(
    ("kpi", "now", "before", "expected"),
    [
        (VISITS, 50.0, 45.0, {"delta": "+5", "delta_color": "normal"}),
        (SKIPS, 12.0, 10.0, {"delta": "+2", "delta_color": "inverse"}),
        (PLANNED, 60.0, 58.0, {"delta": "+2", "delta_color": "off"}),
        # No change: grey and without the arrow of a rise.
        (
            SKIPS,
            10.0,
            10.0,
            {"delta": "+0", "delta_color": "off", "delta_arrow": "off"},
        ),
        (VISITS, 5.0, float("nan"), {"delta": None, "delta_color": "normal"}),
    ],
)
def test_metric_change(kpi, now, before, expected):
    assert review_export.metric_change(kpi, now, before, "₹") == expected


def review_tables() -> dict[str, pd.DataFrame]:
    exceptions = pd.DataFrame(
        {
            "rep_id": ["r1"],
            "rep_name": ["<img src=x onerror=alert(1)>"],
            "kind": ["skipped outlets"],
            "value_at_risk": [462.5],
            "severity": [0.3],
            "message": ["=cmd|' /C calc'!A0 skipped 2 of 5 planned outlets."],
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["r1", "r2"],
            "rep_name": ["<img src=x onerror=alert(1)>", "Bilal"],
            "visits": [5, 1],
            "strike_rate": [0.4, 0.0],
            "beat_compliance": [0.4, 1.0],
            "skipped_outlets": [2, 0],
            "revenue_at_risk": [462.5, 0.0],
            "time_in_market_min": [100.0, 15.0],
            "return_value": [-30.0, 0.0],
        }
    )
    register = pd.DataFrame(
        {
            "rep_name": ["<img src=x onerror=alert(1)>"],
            "outlet_name": ["Shop & Sons"],
            "planned_calls": [1],
            "consecutive_missed_calls": [9],
            "missed_since_lookback_start": [True],
            "rep_last_visit_date": [None],
            "revenue_at_risk": [262.5],
        }
    )
    return review_export.review_sheets(exceptions, reps, register)


def test_review_sheets_have_readable_headers():
    result = review_tables()

    assert list(result) == ["Exceptions", "Reps", "Skipped outlets"]
    assert list(result["Exceptions"].columns) == [
        "Rep id",
        "Rep",
        "What",
        "Value at risk",
        "Why",
    ]
    assert list(result["Reps"]["Rep id"]) == ["r1", "r2"]
    assert list(result["Skipped outlets"].columns) == [
        "Rep",
        "Outlet",
        "Planned calls missed",
        "Missed calls in a row",
        "No visit in the lookback",
        "Rep's last visit",
        "Revenue at risk",
    ]


def test_review_workbook_formats_ratios_and_money():
    data = review_export.review_workbook(review_tables())

    reps = openpyxl.load_workbook(io.BytesIO(data))["Reps"]
    header = [cell.value for cell in reps[1]]
    strike_rate = reps.cell(row=2, column=header.index("Strike rate") + 1)
    returns = reps.cell(row=2, column=header.index("Return value") + 1)
    assert (strike_rate.value, strike_rate.number_format) == (0.4, "0%")
    assert (returns.value, returns.data_type) == (-30, "n")


def test_summary_html_escapes_names_and_shows_the_headline():
    now = {"visits": 6.0, "strike_rate": 0.3333, "revenue_at_risk": 462.5}
    before = {"visits": 5.0, "strike_rate": 0.5, "revenue_at_risk": 100.0}

    result = review_export.summary_html(
        ["02 Mar 2026 to 08 Mar 2026", "Scope: <everything>"],
        now,
        before,
        review_tables(),
        "₹",
    )

    assert "<img" not in result
    assert "&lt;img src=x onerror=alert(1)&gt;" in result
    assert "Scope: &lt;everything&gt;" in result
    assert "Shop &amp; Sons" in result
    assert "<td>Revenue at risk</td><td>₹463</td><td>₹100</td><td>+₹363</td>" in result
    assert "<td>Strike rate</td><td>33%</td><td>50%</td><td>-17 pts</td>" in result
    assert "no price" not in result


def test_summary_html_names_unpriced_skips():
    now = {"revenue_at_risk": 462.5, "unpriced_skipped_outlets": 3.0}

    result = review_export.summary_html([], now, {}, review_tables(), "₹")

    assert "3 skipped outlets have no price, so revenue at risk leaves them" in result
