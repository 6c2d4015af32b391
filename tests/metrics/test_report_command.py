"""The report command against a week computed by hand (see small_company)."""

import math

import pandas as pd
import pytest

from metrics.report import format_cell, main
from tests.database import fill_database, sqlite_database
from tests.metrics.small_company import ROWS


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small_company")
    engine = sqlite_database(folder, ROWS)
    engine.dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


def run_report(capsys, database_url, report, *options):
    exit_code = main(
        [
            report,
            "--db",
            database_url,
            "--from",
            "2026-03-02",
            "--to",
            "2026-03-08",
            *options,
        ]
    )
    captured = capsys.readouterr()
    assert exit_code == 0, captured.err
    return captured.out


def test_reps_report(capsys, database_url):
    result = run_report(capsys, database_url, "reps")

    expected = (
        "rep_id,rep_name,territory_id,visits,productive_visits,strike_rate,"
        "planned_calls,calls_on_plan,beat_compliance,planned_outlets,skipped_outlets,"
        "off_beat_visits,order_value,orders,average_order_value,lines_per_call,"
        "return_value,off_site_visits\n"
        "r1,Asha,T1,4,3,0.75,5,2,0.4,4,1,2,180,3,60,3.333333,-20,1\n"
        "r2,Bilal,T1,2,0,0,1,0,0,1,1,2,0,0,,,0,0\n"
        "r4,Dora,T2,1,0,0,0,0,,0,0,1,0,0,,,0,0\n"
    )
    assert result == expected


def test_territories_report(capsys, database_url):
    result = run_report(capsys, database_url, "territories")

    expected = (
        "territory_id,territory_name,region_id,active_outlets,visited_outlets,coverage,"
        "skipped_outlets,unplanned_outlets,neglected_outlets,not_due_outlets,visits,"
        "productive_visits,strike_rate,beat_compliance,order_value\n"
        "T1,Mumbai,R1,9,4,0.444444,2,1,1,1,6,3,0.5,0.333333,180\n"
        "T2,Pune,R1,2,1,0.5,0,1,0,0,1,0,0,,0\n"
    )
    assert result == expected


def test_outlets_report(capsys, database_url):
    result = run_report(capsys, database_url, "outlets")

    expected = (
        "outlet_id,outlet_name,territory_id,status,last_visit_date,days_since_visit,"
        "visits,order_value\n"
        "o1,Shop 1,T1,visited,2026-03-03,5,2,1099\n"
        "o10,Shop 10,T1,unplanned,,,0,0\n"
        "o11,Shop 11,T1,neglected,2026-02-01,35,0,0\n"
        "o12,Shop 12,T1,not_due,2026-02-20,16,0,0\n"
        "o2,Shop 2,T1,visited,2026-03-03,5,1,30\n"
        "o3,Shop 3,T1,visited,2026-03-05,3,1,0\n"
        "o4,Shop 4,T1,visited,2026-03-04,4,1,50\n"
        "o5,Shop 5,T1,skipped,,,0,0\n"
        "o7,Shop 7,T2,visited,2026-03-06,2,1,0\n"
        "o8,Shop 8,T2,unplanned,,,0,0\n"
        "o9,Shop 9,T1,skipped,,,0,0\n"
    )
    assert result == expected


@pytest.mark.parametrize("report", ["reps", "territories", "outlets"])
def test_postgres_matches_sqlite(capsys, database_url, fresh_postgres_url, report):
    engine = fill_database(fresh_postgres_url, ROWS)
    engine.dispose()

    result = run_report(capsys, fresh_postgres_url, report)

    expected = run_report(capsys, database_url, report)
    assert result == expected


KOLKATA_ROWS = {
    "territories": [{"territory_id": "T1", "name": "Mumbai", "region_id": "R1"}],
    "reps": [{"rep_id": "r1", "name": "Asha", "territory_id": "T1"}],
    "outlets": [{"outlet_id": "o1", "name": "Shop 1", "territory_id": "T1"}],
    "beats": [
        {
            "beat_id": "b1",
            "rep_id": "r1",
            "weekday": 1,
            "every_n_weeks": 1,
            "start_date": "2026-01-05",
        }
    ],
    "beat_outlets": [{"beat_id": "b1", "outlet_id": "o1"}],
    "visits": [
        # 19:00 UTC on Sunday 03-01 is 00:30 on Monday 03-02 in Kolkata.
        {
            "visit_id": "v1",
            "rep_id": "r1",
            "outlet_id": "o1",
            "check_in": "2026-03-01 19:00:00",
        },
    ],
    "orders": [
        # 20:00 UTC on Sunday 2026-03-08 is Monday 03-09 in Kolkata: outside the week.
        {
            "order_id": "a",
            "outlet_id": "o1",
            "rep_id": "r1",
            "ordered_at": "2026-03-08 20:00:00",
            "value": 10.0,
        },
        # No visit_id, dated Monday 03-02 in Kolkata: links to v1.
        {
            "order_id": "b",
            "outlet_id": "o1",
            "rep_id": "r1",
            "ordered_at": "2026-03-01 23:00:00",
            "value": 5.0,
        },
    ],
}


@pytest.mark.parametrize(
    ("timezone", "expected_row"),
    [
        ("Asia/Kolkata", "r1,Asha,T1,1,1,1,1,1,1,1,0,0,5,1,5,0,0,0"),
        ("UTC", "r1,Asha,T1,0,0,,1,0,0,1,1,0,10,1,10,,0,0"),
    ],
)
def test_visit_date_follows_timezone(capsys, tmp_path, timezone, expected_row):
    sqlite_database(tmp_path, KOLKATA_ROWS).dispose()
    url = f"sqlite:///{tmp_path / 'sfa.sqlite'}"

    result = run_report(capsys, url, "reps", "--timezone", timezone)

    assert result.splitlines()[1] == expected_row


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--rep", "NOPE"], "--rep 'NOPE' is not in the database"),
        (["--territory", "T9"], "--territory 'T9' is not in the database"),
        (["--as-user", ""], "user '' is not in the users table"),
        (
            ["--as-user", "nobody@example.com"],
            "'nobody@example.com' is not in the users table",
        ),
    ],
)
def test_unknown_filter_is_an_error(capsys, database_url, options, message):
    exit_code = main(
        [
            "reps",
            "--db",
            database_url,
            "--from",
            "2026-03-02",
            "--to",
            "2026-03-08",
            *options,
        ]
    )

    captured = capsys.readouterr()
    assert exit_code == 1
    assert message in captured.err
    assert captured.out == ""


def test_file_that_is_not_a_database(capsys, tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("not a database\n" * 100)

    exit_code = main(
        [
            "reps",
            "--db",
            f"sqlite:///{path}",
            "--from",
            "2026-03-02",
            "--to",
            "2026-03-08",
        ]
    )

    captured = capsys.readouterr()
    assert exit_code == 1
    assert "could not read the database: file is not a database" in captured.err


def test_manager_sees_own_reps(capsys, database_url):
    result = run_report(capsys, database_url, "reps", "--as-user", "m1@example.com")

    rep_ids = [line.split(",")[0] for line in result.splitlines()[1:]]
    assert rep_ids == ["r1", "r2"]


def test_period_longer_than_sqlite_compound_limit(capsys, database_url):
    # 798 days: more than the 500 terms SQLite allows in one compound SELECT.
    exit_code = main(
        ["reps", "--db", database_url, "--from", "2024-01-01", "--to", "2026-03-08"]
    )

    captured = capsys.readouterr()
    assert exit_code == 0, captured.err
    assert (
        captured.out.splitlines()[1]
        == "r1,Asha,T1,7,3,0.428571,34,2,0.058824,7,1,5,180,3,60,3.333333,-20,1"
    )


def test_half_at_seventh_decimal_rounds_one_way():
    # 116645.43 / 32 = 3645.1696875, and a sum in another order may land
    # one binary step above it.
    exact = 116645.43 / 32
    noisy = math.nextafter(exact, math.inf)

    result = [format_cell(exact), format_cell(noisy)]

    assert result == ["3645.169687", "3645.169687"]


def test_large_sum_noise_is_cut():
    # Two orders of adding the same money values on PostgreSQL's parallel
    # workers gave these sums for one territory's quarter.
    result = [format_cell(631085549.940002), format_cell(631085549.940003)]

    assert result == ["631085549.94", "631085549.94"]


def test_large_value_prints_twelve_digits():
    # The twelfth digit is the last one printed, so the cut value's binary
    # noise (23809527029.599998) stays out, and no decimal point is added.
    result = [format_cell(23809527029.6), format_cell(1_000_000_000_020.0)]

    assert result == ["23809527029.6", "1000000000020"]


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, pd.NaT])
def test_format_cell_missing_is_blank(missing):
    assert format_cell(missing) == ""


def test_outlets_without_visits_blank_last_visit(capsys, database_url):
    # A week long before the company's first visit: every last_visit_date is
    # missing, and pandas then stores the whole column as NaT.
    exit_code = main(
        ["outlets", "--db", database_url, "--from", "2025-01-06", "--to", "2025-01-12"]
    )
    lines = capsys.readouterr().out.splitlines()

    assert exit_code == 0
    assert len(lines) > 1
    assert "NaT" not in "\n".join(lines)
    assert all(line.split(",")[4] == "" for line in lines[1:])
