"""The report command applies the scope of --as-user like the dashboard does."""

import csv
import io

import pytest

from metrics.report import main
from tests import two_teams
from tests.database import sqlite_database


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("two_teams_report")
    sqlite_database(folder, two_teams.company_rows()).dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


def run_report(capsys, database_url, report, *options) -> tuple[int, str, str]:
    exit_code = main(
        [
            report,
            "--db",
            database_url,
            "--from",
            two_teams.WEEK,
            "--to",
            two_teams.WEEK_END,
            *options,
        ]
    )
    captured = capsys.readouterr()
    return exit_code, captured.out, captured.err


def first_column(text: str) -> list[str]:
    return [row[0] for row in list(csv.reader(io.StringIO(text)))[1:]]


@pytest.mark.parametrize(
    "user",
    [
        two_teams.LEAD_A,
        two_teams.LEAD_B,
        two_teams.LEAD_S,
        two_teams.HEAD_N,
        two_teams.HEAD_S,
    ],
)
def test_reps_report_as_user(capsys, database_url, user):
    exit_code, out, err = run_report(capsys, database_url, "reps", "--as-user", user)

    assert exit_code == 0, err
    assert first_column(out) == two_teams.VISIBLE_REPS[user]


def test_reps_report_without_user_covers_everyone(capsys, database_url):
    exit_code, out, err = run_report(capsys, database_url, "reps")

    assert exit_code == 0, err
    assert first_column(out) == two_teams.VISIBLE_REPS[two_teams.ADMIN]


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (two_teams.LEAD_A, ["ter-a"]),
        (two_teams.HEAD_N, ["ter-a", "ter-b"]),
        (two_teams.HEAD_S, ["ter-s"]),
    ],
)
def test_territories_report_as_user(capsys, database_url, user, expected):
    exit_code, out, err = run_report(
        capsys, database_url, "territories", "--as-user", user
    )

    assert exit_code == 0, err
    assert first_column(out) == expected


def test_outlets_report_as_line_manager(capsys, database_url):
    exit_code, out, err = run_report(
        capsys, database_url, "outlets", "--as-user", two_teams.LEAD_A
    )

    assert exit_code == 0, err
    # Active outlets of ter-a; out-a-5 is inactive.
    assert first_column(out) == ["out-a-1", "out-a-2", "out-a-3", "out-a-4"]


def test_filter_outside_scope_prints_no_rows(capsys, database_url):
    exit_code, out, err = run_report(
        capsys,
        database_url,
        "reps",
        "--as-user",
        two_teams.LEAD_A,
        "--territory",
        "ter-s",
    )

    assert exit_code == 0, err
    assert first_column(out) == []
    assert not any(marker in out for marker in two_teams.FOREIGN[two_teams.LEAD_A])


def test_unknown_user_is_rejected(capsys, database_url):
    exit_code, out, err = run_report(
        capsys, database_url, "reps", "--as-user", two_teams.STRANGER
    )

    assert exit_code == 1
    assert out == ""
    assert err == (
        "error: user 'stranger@two.example' is not in the users table; ask an "
        "administrator to add a row with this e-mail, a role and a scope_id\n"
    )


def test_incomplete_user_is_rejected(capsys, database_url):
    exit_code, out, err = run_report(
        capsys, database_url, "reps", "--as-user", two_teams.BROKEN_HEAD
    )

    assert exit_code == 1
    assert out == ""
    assert err == (
        "error: regional head 'broken.head@two.example' has no scope_id; set it to "
        "a region_id\n"
    )


def test_email_matching_two_rows_is_rejected(capsys, tmp_path):
    rows = two_teams.company_rows()
    rows["users"].append(
        {"user_id": "LEAD.A@two.example", "name": "Shadow", "role": "admin"}
    )
    sqlite_database(tmp_path, rows).dispose()
    database_url = f"sqlite:///{tmp_path / 'sfa.sqlite'}"

    exit_code, out, err = run_report(
        capsys, database_url, "reps", "--as-user", two_teams.LEAD_A
    )

    assert exit_code == 1
    assert out == ""
    assert err == (
        "error: 2 users rows match 'lead.a@two.example' without regard to case "
        "('LEAD.A@two.example', 'lead.a@two.example'); keep one row per e-mail "
        "address\n"
    )
