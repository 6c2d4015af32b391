"""A resend across midnight keeps the date of the visit it repeats, in the
report command, from the raw tables, from the summary tables and on
PostgreSQL.

Rep B's four-weekly beat plans outlet O3 on Tuesdays from 2026-03-10. B
checked in there at 23:59:30 UTC, and the phone sent the visit again 60 s
later, after midnight, under a new id. The business time zone is UTC.
"""

from datetime import date

import pytest

from data_access.filters import Settings
from data_access.summaries import build_summaries
from metrics.report import main
from tests.database import fill_database, sqlite_database

ROWS = {
    "territories": [{"territory_id": "T1", "name": "Mumbai"}],
    "reps": [{"rep_id": "B", "name": "Bilal", "territory_id": "T1"}],
    "outlets": [{"outlet_id": "O3", "name": "Shop 3", "territory_id": "T1"}],
    "beats": [
        {
            "beat_id": "b4",
            "rep_id": "B",
            "weekday": 2,
            "every_n_weeks": 4,
            "start_date": "2026-03-10",
        }
    ],
    "beat_outlets": [{"beat_id": "b4", "outlet_id": "O3"}],
    "visits": [
        {
            "visit_id": "V4",
            "rep_id": "B",
            "outlet_id": "O3",
            "check_in": "2026-03-10T23:59:30",
        },
        {
            "visit_id": "V4b",
            "rep_id": "B",
            "outlet_id": "O3",
            "check_in": "2026-03-11T00:00:30",
        },
    ],
}

# (report options, the outlets report's row for O3) computed by hand.
CASES = [
    # The resend's own date: no visit that day, the last one the day before,
    # and the outlet is on a beat but not due that day.
    (["--from", "2026-03-11", "--to", "2026-03-11"], "O3,Shop 3,T1,not_due,2026-03-10,1,0,0"),
    # The 29-day neglect window of 2026-04-08 starts on 2026-03-11, after the
    # kept visit, so the outlet is neglected.
    (
        ["--from", "2026-04-08", "--to", "2026-04-08", "--neglect-days", "29"],
        "O3,Shop 3,T1,neglected,2026-03-10,29,0,0",
    ),
    # A week with both check-ins counts one visit, dated by the kept one.
    (["--from", "2026-03-09", "--to", "2026-03-15"], "O3,Shop 3,T1,visited,2026-03-10,5,1,0"),
]  # fmt: skip


def outlet_row(capsys, url: str, options: list[str]) -> str:
    exit_code = main(["outlets", "--db", url, *options])
    output = capsys.readouterr().out.splitlines()
    assert exit_code == 0
    return output[1]


@pytest.fixture(scope="module", params=["raw", "summaries"])
def sqlite_url(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"resend_{request.param}")
    engine = sqlite_database(folder, ROWS)
    if request.param == "summaries":
        build_summaries(
            engine, date(2026, 3, 2), date(2026, 4, 12), Settings(timezone="UTC")
        )
    engine.dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


@pytest.mark.parametrize(("options", "expected"), CASES)
def test_resend_keeps_visit_date(capsys, sqlite_url, options, expected):
    assert outlet_row(capsys, sqlite_url, options) == expected


@pytest.mark.parametrize(("options", "expected"), CASES)
def test_resend_keeps_visit_date_postgres(
    capsys, fresh_postgres_url, options, expected
):
    engine = fill_database(fresh_postgres_url, ROWS)
    engine.dispose()

    assert outlet_row(capsys, fresh_postgres_url, options) == expected
