"""Reps who moved territory: figures count for the territory of the day.

Asha (r1) served Mumbai (T1) until Wednesday 2026-03-04 and Pune (T2) from
Thursday 03-05; her reps.territory_id is already T2. Bilal (r2) stays in T1.

By hand, for the week 2026-03-02 to 03-08:
- T1: Asha's Monday visits v1 (order a, 100) and v2, Bilal's Tuesday visit v5
  (order c, 30) and Asha's Wednesday order d (20, no visit) count for T1:
  3 visits, 2 productive, planned calls b1 (o1, o2 on Monday) and b3 (o1 on
  Tuesday) all visited, order value 150.
- T2: Asha's Friday visit v3 (order b, 50) counts for T2; her Friday beat b2
  plans o3 and o4, and o4 was skipped: 1 visit, 1 productive, 1 of 2 calls.
"""

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import queries, territory_history
from data_access.filters import Period, Scope, Settings
from metrics.report import main
from metrics.reports import build_territories_report, outlets_report
from tests.database import fill_database, sqlite_database
from tests.metrics.small_company import ROWS as SMALL_COMPANY

MOVED_ROWS = {
    "regions": [{"region_id": "R1", "name": "West"}],
    "territories": [
        {"territory_id": "T1", "name": "Mumbai", "region_id": "R1"},
        {"territory_id": "T2", "name": "Pune", "region_id": "R1"},
    ],
    "reps": [
        {"rep_id": "r1", "name": "Asha", "territory_id": "T2"},
        {"rep_id": "r2", "name": "Bilal", "territory_id": "T1"},
    ],
    "rep_territories": [
        {"rep_id": "r1", "territory_id": "T1", "valid_from": "2026-01-01", "valid_to": "2026-03-04"},
        {"rep_id": "r1", "territory_id": "T2", "valid_from": "2026-03-05"},
    ],
    "outlets": [
        {"outlet_id": "o1", "name": "Shop 1", "territory_id": "T1"},
        {"outlet_id": "o2", "name": "Shop 2", "territory_id": "T1"},
        {"outlet_id": "o3", "name": "Shop 3", "territory_id": "T2"},
        {"outlet_id": "o4", "name": "Shop 4", "territory_id": "T2"},
    ],
    "beats": [
        {"beat_id": "b1", "rep_id": "r1", "weekday": 1, "every_n_weeks": 1, "start_date": "2026-01-05", "end_date": "2026-03-04"},
        {"beat_id": "b2", "rep_id": "r1", "weekday": 5, "every_n_weeks": 1, "start_date": "2026-03-05"},
        {"beat_id": "b3", "rep_id": "r2", "weekday": 2, "every_n_weeks": 1, "start_date": "2026-01-06"},
    ],
    "beat_outlets": [
        {"beat_id": "b1", "outlet_id": "o1"},
        {"beat_id": "b1", "outlet_id": "o2"},
        {"beat_id": "b2", "outlet_id": "o3"},
        {"beat_id": "b2", "outlet_id": "o4"},
        {"beat_id": "b3", "outlet_id": "o1"},
    ],
    "visits": [
        {"visit_id": "v1", "rep_id": "r1", "outlet_id": "o1", "check_in": "2026-03-02 10:00:00"},
        {"visit_id": "v2", "rep_id": "r1", "outlet_id": "o2", "check_in": "2026-03-02 11:00:00"},
        {"visit_id": "v3", "rep_id": "r1", "outlet_id": "o3", "check_in": "2026-03-06 10:00:00"},
        {"visit_id": "v5", "rep_id": "r2", "outlet_id": "o1", "check_in": "2026-03-03 10:00:00"},
    ],
    "orders": [
        {"order_id": "a", "outlet_id": "o1", "rep_id": "r1", "visit_id": "v1", "ordered_at": "2026-03-02 10:10:00", "value": 100.0},
        {"order_id": "b", "outlet_id": "o3", "rep_id": "r1", "visit_id": "v3", "ordered_at": "2026-03-06 10:10:00", "value": 50.0},
        {"order_id": "c", "outlet_id": "o1", "rep_id": "r2", "visit_id": "v5", "ordered_at": "2026-03-03 10:10:00", "value": 30.0},
        {"order_id": "d", "outlet_id": "o2", "rep_id": "r1", "ordered_at": "2026-03-04 16:00:00", "value": 20.0},
    ],
}

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
TERRITORIES_HEADER = (
    "territory_id,territory_name,region_id,active_outlets,visited_outlets,coverage,"
    "skipped_outlets,unplanned_outlets,neglected_outlets,not_due_outlets,visits,"
    "productive_visits,strike_rate,beat_compliance,order_value\n"
)


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("moved_rep")
    sqlite_database(folder, MOVED_ROWS).dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


def run_report(capsys, database_url, report, *options):
    exit_code = main(
        [report, "--db", database_url, "--from", "2026-03-02", "--to", "2026-03-08"]
        + list(options)
    )
    captured = capsys.readouterr()
    assert exit_code == 0, captured.err
    return captured.out


def test_moved_rep_counts_for_territory_of_day(capsys, database_url):
    result = run_report(capsys, database_url, "territories")

    expected = (
        TERRITORIES_HEADER
        + "T1,Mumbai,R1,2,2,1,0,0,0,0,3,2,0.666667,1,150\n"
        + "T2,Pune,R1,2,1,0.5,1,0,0,0,1,1,1,0.5,50\n"
    )
    assert result == expected


def test_territory_scope_keeps_days_in_territory(capsys, database_url):
    result = run_report(capsys, database_url, "territories", "--territory", "T1")

    expected = TERRITORIES_HEADER + "T1,Mumbai,R1,2,2,1,0,0,0,0,3,2,0.666667,1,150\n"
    assert result == expected


def test_reps_report_keeps_whole_week_per_rep(capsys, database_url):
    result = run_report(capsys, database_url, "reps")

    expected_rows = [
        "r1,Asha,T2,3,2,0.666667,4,3,0.75,4,1,0,170,3,56.666667,0,0,0",
        "r2,Bilal,T1,1,1,1,1,1,1,1,0,0,30,1,30,0,0,0",
    ]
    assert result.splitlines()[1:] == expected_rows


def test_postgres_matches_sqlite(capsys, database_url, fresh_postgres_url):
    fill_database(fresh_postgres_url, MOVED_ROWS).dispose()

    result = run_report(capsys, fresh_postgres_url, "territories")

    expected = run_report(capsys, database_url, "territories")
    assert result == expected


def test_without_history_both_paths_agree(tmp_path):
    engine = sqlite_database(tmp_path, SMALL_COMPANY)
    settings = Settings()
    scope = Scope()
    territories = queries.territory_list(engine, scope)
    outlets = outlets_report(engine, WEEK, scope, settings)

    result = build_territories_report(
        territories,
        territory_history.territory_rep_activity(engine, WEEK, scope, settings),
        outlets,
    )

    expected = build_territories_report(
        territories, queries.rep_activity(engine, WEEK, scope, settings), outlets
    )
    pd.testing.assert_frame_equal(result, expected)
    assert not territory_history.has_rep_territories(engine)
    engine.dispose()


def test_database_without_history_table(capsys, tmp_path):
    engine = sqlite_database(tmp_path, MOVED_ROWS)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE rep_territories"))
    engine.dispose()

    result = run_report(capsys, f"sqlite:///{tmp_path / 'sfa.sqlite'}", "territories")

    # Without history Asha counts for T2, her territory in the reps table.
    expected = (
        TERRITORIES_HEADER
        + "T1,Mumbai,R1,2,2,1,0,0,0,0,1,1,1,1,30\n"
        + "T2,Pune,R1,2,1,0.5,1,0,0,0,3,2,0.666667,0.75,170\n"
    )
    assert result == expected
