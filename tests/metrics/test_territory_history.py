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

from data_access import (
    health_queries,
    queries,
    summaries,
    summary_queries,
    territory_history,
)
from data_access.filters import Period, Scope, Settings
from metrics.report import main
from metrics.reports import (
    build_territories_report,
    outlets_report,
    reps_report,
    territories_report,
)
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


# The moved-rep company with Pune (T2) in a second region, so that a region
# filter selects one territory of Asha's week.
SPLIT_REGION_ROWS = {
    **MOVED_ROWS,
    "regions": [
        {"region_id": "R1", "name": "West"},
        {"region_id": "R2", "name": "Deccan"},
    ],
    "territories": [
        {"territory_id": "T1", "name": "Mumbai", "region_id": "R1"},
        {"territory_id": "T2", "name": "Pune", "region_id": "R2"},
    ],
}
POOLED_COUNTS = ["visits", "productive_visits", "planned_calls", "calls_on_plan"]
# The T1 and T2 rows of the territories report, counted by hand above.
MUMBAI = {
    "visits": 3,
    "productive_visits": 2,
    "planned_calls": 3,
    "calls_on_plan": 3,
    "order_value": 150.0,
}
PUNE = {
    "visits": 1,
    "productive_visits": 1,
    "planned_calls": 2,
    "calls_on_plan": 1,
    "order_value": 50.0,
}
FILTERS = [
    (Scope(territory_ids=("T1",)), MUMBAI),
    (Scope(territory_ids=("T2",)), PUNE),
    (Scope(region_ids=("R1",)), MUMBAI),
    (Scope(region_ids=("R2",)), PUNE),
]
FILTER_IDS = ["territory-T1", "territory-T2", "region-R1", "region-R2"]


def pooled(activity: pd.DataFrame) -> dict[str, float]:
    """The scope's pooled visit, plan and order figures from rep rows."""
    totals = {name: int(activity[name].sum()) for name in POOLED_COUNTS}
    totals["order_value"] = float(activity["order_value"].sum())
    return totals


@pytest.fixture(scope="module")
def split_engine(tmp_path_factory):
    engine = sqlite_database(tmp_path_factory.mktemp("split_region"), SPLIT_REGION_ROWS)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(("scope", "expected"), FILTERS, ids=FILTER_IDS)
def test_filtered_reps_pool_to_territory_row(split_engine, scope, expected):
    activity = queries.rep_activity(split_engine, WEEK, scope, Settings())

    result = pooled(activity)

    assert result == expected


@pytest.mark.parametrize(("scope", "expected"), FILTERS, ids=FILTER_IDS)
def test_filtered_reps_report_matches_territories(split_engine, scope, expected):
    settings = Settings()
    by_territory = territories_report(split_engine, WEEK, scope, settings)
    from_rep_rows = build_territories_report(
        queries.territory_list(split_engine, scope),
        territory_history.territory_rep_activity(split_engine, WEEK, scope, settings),
        outlets_report(split_engine, WEEK, scope, settings),
    )

    result = pooled(reps_report(split_engine, WEEK, scope, settings))

    assert result == expected
    assert pooled(by_territory) == expected
    assert pooled(from_rep_rows) == expected


def test_filtered_scope_on_postgres(fresh_postgres_url):
    engine = fill_database(fresh_postgres_url, SPLIT_REGION_ROWS)
    try:
        result = [
            pooled(queries.rep_activity(engine, WEEK, scope, Settings()))
            for scope, _ in FILTERS
        ]
        health = health_queries.health_counts(
            engine, WEEK, Scope(territory_ids=("T1",)), Settings()
        )
    finally:
        engine.dispose()

    expected = [MUMBAI, PUNE, MUMBAI, PUNE]
    assert result == expected
    assert set(health.loc[health["table_name"] == "visits", "checked"]) == {3}


def test_territory_filter_keeps_moved_rep_days(capsys, database_url):
    result = run_report(capsys, database_url, "reps", "--territory", "T1")

    # Asha's T1 days: Monday's v1 (order a, 100) and v2, Wednesday's order d (20).
    expected_rows = [
        "r1,Asha,T2,2,1,0.5,2,2,1,2,0,0,120,2,60,0,0,0",
        "r2,Bilal,T1,1,1,1,1,1,1,1,0,0,30,1,30,0,0,0",
    ]
    assert result.splitlines()[1:] == expected_rows


def test_territory_filter_moved_rep_in_new_territory(capsys, database_url):
    result = run_report(capsys, database_url, "reps", "--territory", "T2")

    # Asha's Friday in T2: v3 (order b, 50), beat b2 plans o3 and o4.
    expected_rows = ["r1,Asha,T2,1,1,1,2,1,0.5,2,1,0,50,1,50,0,0,0"]
    assert result.splitlines()[1:] == expected_rows


def test_weekly_activity_follows_territory_of_day(split_engine):
    weeks = summary_queries.weekly_rep_activity(
        split_engine, WEEK, Scope(territory_ids=("T1",)), Settings()
    )

    result = pooled(weeks)

    assert result == MUMBAI


@pytest.mark.parametrize(
    ("scope", "expected"),
    [(Scope(territory_ids=("T1",)), 3), (Scope(territory_ids=("T2",)), 1)],
    ids=["territory-T1", "territory-T2"],
)
def test_health_checks_visits_of_territory_days(split_engine, scope, expected):
    counts = health_queries.health_counts(split_engine, WEEK, scope, Settings())
    visit_rows = counts[counts["table_name"] == "visits"]

    result = set(visit_rows["checked"])

    assert result == {expected}


def test_rep_without_history_keeps_current_territory(split_engine):
    # The week after the move: Asha is in T2 all week, and Bilal, who has no
    # history rows, stays in T1 with his Tuesday call at o1, not visited.
    next_week = Period(date(2026, 3, 9), date(2026, 3, 15))
    activity = queries.rep_activity(
        split_engine, next_week, Scope(territory_ids=("T1",)), Settings()
    )

    columns = ["rep_id", "planned_calls", "visits"]
    result = [tuple(row) for row in activity[columns].itertuples(index=False)]

    expected = [("r2", 1, 0)]
    assert result == expected


def test_summary_path_follows_territory_of_day(tmp_path):
    engine = sqlite_database(tmp_path, SPLIT_REGION_ROWS)
    settings = Settings()
    summaries.build_summaries(engine, WEEK.start, WEEK.end, settings)
    scope = Scope(territory_ids=("T1",))
    assert summary_queries.summary_status(engine, WEEK, settings).usable

    result = pooled(reps_report(engine, WEEK, scope, settings))
    weekly = pooled(summary_queries.weekly_rep_activity(engine, WEEK, scope, settings))
    engine.dispose()

    assert result == MUMBAI
    assert weekly == MUMBAI
