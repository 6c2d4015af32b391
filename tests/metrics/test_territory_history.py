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

from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import (
    health_queries,
    queries,
    review_queries,
    summaries,
    summary_queries,
    territory_history,
)
from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from fixtures.demo import build_demo_database
from metrics import review
from metrics.report import main
from metrics.reports import (
    build_territories_report,
    outlets_report,
    reps_report,
    territories_report,
)
from tests.database import fill_database, sqlite_database
from tests.metrics.small_company import ROWS as SMALL_COMPANY
from tests.metrics.test_weekly_headlines import assert_same_figures, week_headline
from tests.metrics.test_weekly_headlines import trend as weekly_trend

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
        {
            "rep_id": "r1",
            "territory_id": "T1",
            "valid_from": "2026-01-01",
            "valid_to": "2026-03-04",
        },
        {"rep_id": "r1", "territory_id": "T2", "valid_from": "2026-03-05"},
    ],
    "outlets": [
        {"outlet_id": "o1", "name": "Shop 1", "territory_id": "T1"},
        {"outlet_id": "o2", "name": "Shop 2", "territory_id": "T1"},
        {"outlet_id": "o3", "name": "Shop 3", "territory_id": "T2"},
        {"outlet_id": "o4", "name": "Shop 4", "territory_id": "T2"},
    ],
    "beats": [
        {
            "beat_id": "b1",
            "rep_id": "r1",
            "weekday": 1,
            "every_n_weeks": 1,
            "start_date": "2026-01-05",
            "end_date": "2026-03-04",
        },
        {
            "beat_id": "b2",
            "rep_id": "r1",
            "weekday": 5,
            "every_n_weeks": 1,
            "start_date": "2026-03-05",
        },
        {
            "beat_id": "b3",
            "rep_id": "r2",
            "weekday": 2,
            "every_n_weeks": 1,
            "start_date": "2026-01-06",
        },
    ],
    "beat_outlets": [
        {"beat_id": "b1", "outlet_id": "o1"},
        {"beat_id": "b1", "outlet_id": "o2"},
        {"beat_id": "b2", "outlet_id": "o3"},
        {"beat_id": "b2", "outlet_id": "o4"},
        {"beat_id": "b3", "outlet_id": "o1"},
    ],
    "visits": [
        {
            "visit_id": "v1",
            "rep_id": "r1",
            "outlet_id": "o1",
            "check_in": "2026-03-02 10:00:00",
        },
        {
            "visit_id": "v2",
            "rep_id": "r1",
            "outlet_id": "o2",
            "check_in": "2026-03-02 11:00:00",
        },
        {
            "visit_id": "v3",
            "rep_id": "r1",
            "outlet_id": "o3",
            "check_in": "2026-03-06 10:00:00",
        },
        {
            "visit_id": "v5",
            "rep_id": "r2",
            "outlet_id": "o1",
            "check_in": "2026-03-03 10:00:00",
        },
    ],
    "orders": [
        {
            "order_id": "a",
            "outlet_id": "o1",
            "rep_id": "r1",
            "visit_id": "v1",
            "ordered_at": "2026-03-02 10:10:00",
            "value": 100.0,
        },
        {
            "order_id": "b",
            "outlet_id": "o3",
            "rep_id": "r1",
            "visit_id": "v3",
            "ordered_at": "2026-03-06 10:10:00",
            "value": 50.0,
        },
        {
            "order_id": "c",
            "outlet_id": "o1",
            "rep_id": "r2",
            "visit_id": "v5",
            "ordered_at": "2026-03-03 10:10:00",
            "value": 30.0,
        },
        {
            "order_id": "d",
            "outlet_id": "o2",
            "rep_id": "r1",
            "ordered_at": "2026-03-04 16:00:00",
            "value": 20.0,
        },
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


# The Overview's trend and the rep drill-downs under a territory or region
# filter. TREND_SPAN adds the week before the move, 2026-02-23 to 03-01, when
# Asha was in T1 all week: her Monday beat b1 planned o1 and o2, Bilal's
# Tuesday beat b3 planned o1, and no rep visited.
TREND_SPAN = Period(date(2026, 2, 23), date(2026, 3, 8))
WEEK_BEFORE = Period(date(2026, 2, 23), date(2026, 3, 1))
TREND_WEEKS = [WEEK_BEFORE, WEEK]
REP_COUNTS = [
    "visits",
    "productive_visits",
    "order_lines",
    "off_beat_visits",
    "off_site_visits",
    "visits_without_fix",
    "planned_calls",
    "calls_on_plan",
    "planned_outlets",
    "skipped_outlets",
]
ORDER_FIGURES = ["order_value", "orders", "return_value"]


def week_row(weeks: pd.DataFrame, week_index: int, columns: list[str]) -> dict:
    """One week of a weekly query as plain numbers, zeros for a missing week."""
    row = weeks[weeks["week_index"] == week_index]
    return {name: float(row[name].sum()) for name in columns}


def reps_totals(engine, week: Period, scope: Scope, columns: list[str]) -> dict:
    """The reps report's counts of one week, summed over the reps in scope."""
    activity = queries.rep_activity(engine, week, scope, Settings())
    return {name: float(activity[name].sum()) for name in columns}


@pytest.mark.parametrize(("scope", "_"), FILTERS, ids=FILTER_IDS)
def test_trend_rep_figures_equal_reps_report(split_engine, scope, _):
    weeks = review_queries.weekly_rep_figures(
        split_engine, TREND_SPAN, scope, Settings()
    )

    for week_index, week in enumerate(TREND_WEEKS):
        result = week_row(weeks, week_index, REP_COUNTS)
        expected = reps_totals(split_engine, week, scope, REP_COUNTS)
        assert result == expected, week.start


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        # Asha's o1 and o2 and Bilal's o1, all planned in T1 and skipped.
        (Scope(territory_ids=("T1",)), [(3, 3), (3, 0)]),
        # Asha's Friday beat in T2 planned o3 and o4, and o4 was skipped.
        (Scope(territory_ids=("T2",)), [(0, 0), (2, 1)]),
    ],
    ids=["territory-T1", "territory-T2"],
)
def test_trend_plans_by_territory_of_day(split_engine, scope, expected):
    weeks = review_queries.weekly_rep_figures(
        split_engine, TREND_SPAN, scope, Settings()
    )

    result = [
        (int(row.planned_calls), int(row.skipped_outlets))
        for row in weeks.itertuples(index=False)
    ]

    assert result == expected


@pytest.mark.parametrize(("scope", "_"), FILTERS, ids=FILTER_IDS)
def test_trend_order_figures_equal_reps_report(split_engine, scope, _):
    weeks = review_queries.weekly_order_figures(
        split_engine, TREND_SPAN, scope, Settings()
    )

    result = week_row(weeks, 1, ORDER_FIGURES)

    expected = reps_totals(split_engine, WEEK, scope, ORDER_FIGURES)
    assert result == expected


def test_trend_orders_keep_rep_limit(split_engine):
    # Bilal's order c (30), without Asha's T1 orders a and d.
    scope = Scope(territory_ids=("T1",), rep_ids=("r2",))

    weeks = review_queries.weekly_order_figures(
        split_engine, TREND_SPAN, scope, Settings()
    )

    result = week_row(weeks, 1, ORDER_FIGURES)
    expected = {"order_value": 30.0, "orders": 1.0, "return_value": 0.0}
    assert result == expected


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (Scope(territory_ids=("T1",)), [(0, 3)]),
        (Scope(territory_ids=("T2",)), [(1, 1)]),
        (Scope(region_ids=("R1",)), [(0, 3)]),
        (Scope(region_ids=("R2",)), [(1, 1)]),
    ],
    ids=FILTER_IDS,
)
def test_trend_skipped_calls_by_territory_of_day(split_engine, scope, expected):
    weeks = review_queries.weekly_skipped_calls(
        split_engine, TREND_SPAN, scope, Settings()
    )

    result = [
        (int(row.week_index), int(row.skipped_calls))
        for row in weeks.itertuples(index=False)
    ]

    assert result == expected


@pytest.mark.parametrize(("scope", "_"), FILTERS, ids=FILTER_IDS)
def test_trend_skipped_calls_equal_week_calls_at_risk(split_engine, scope, _):
    settings = Settings()
    weeks = review_queries.weekly_skipped_calls(
        split_engine, TREND_SPAN, scope, settings
    )

    for week_index, week in enumerate(TREND_WEEKS):
        at_risk = review_queries.calls_at_risk(split_engine, week, scope, settings)
        skipped = at_risk[at_risk["kind"] == "skipped"]
        result = week_row(weeks, week_index, ["skipped_calls"])["skipped_calls"]
        # Every beat runs once a week, so each skipped outlet is one call.
        expected = reps_totals(split_engine, week, scope, ["skipped_outlets"])
        assert result == expected["skipped_outlets"], week.start
        assert result == float(skipped["calls"].sum()), week.start


def test_skip_details_follow_territory_of_day(split_engine):
    scope = Scope(territory_ids=("T1",))

    details = review_queries.skip_details(split_engine, WEEK_BEFORE, scope, Settings())

    # Both beats started in January: eight Monday and eight Tuesday runs up
    # to 03-01, none visited.
    result = [
        (row.rep_id, row.outlet_id, int(row.consecutive_missed_calls))
        for row in details.itertuples(index=False)
    ]
    expected = [("r1", "o1", 8), ("r1", "o2", 8), ("r2", "o1", 8)]
    assert result == expected


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        # Asha's Monday (v1 10:00, v2 11:00) and Bilal's Tuesday (v5).
        (
            Scope(territory_ids=("T1",)),
            [("r1", date(2026, 3, 2), 2), ("r2", date(2026, 3, 3), 1)],
        ),
        # Asha's Friday (v3) only.
        (Scope(territory_ids=("T2",)), [("r1", date(2026, 3, 6), 1)]),
    ],
    ids=["territory-T1", "territory-T2"],
)
def test_rep_days_by_territory_of_day(split_engine, scope, expected):
    days = review_queries.rep_days(split_engine, WEEK, scope, Settings())

    result = [
        (row.rep_id, row.visit_date, int(row.visits))
        for row in days.itertuples(index=False)
    ]

    assert result == expected


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (Scope(territory_ids=("T1",)), [("r1", 1, 3600.0), ("r2", 1, 0.0)]),
        (Scope(territory_ids=("T2",)), [("r1", 1, 0.0)]),
    ],
    ids=["territory-T1", "territory-T2"],
)
def test_time_in_market_by_territory_of_day(split_engine, scope, expected):
    time = review_queries.rep_time_in_market(split_engine, WEEK, scope, Settings())

    result = [
        (row.rep_id, int(row.working_days), float(row.time_in_market_s))
        for row in time.itertuples(index=False)
    ]

    assert result == expected


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (
            Scope(territory_ids=("T1",)),
            [(date(2026, 3, 2), "o1", "v1"), (date(2026, 3, 2), "o2", "v2")],
        ),
        (
            Scope(territory_ids=("T2",)),
            [(date(2026, 3, 6), "o3", "v3"), (date(2026, 3, 6), "o4", None)],
        ),
    ],
    ids=["territory-T1", "territory-T2"],
)
def test_call_list_by_territory_of_day(split_engine, scope, expected):
    calls = review_queries.rep_call_list(split_engine, WEEK, scope, Settings(), "r1")

    result = [
        (row.call_date, row.outlet_id, None if pd.isna(row.visit_id) else row.visit_id)
        for row in calls.itertuples(index=False)
    ]

    assert result == expected


def test_trend_on_postgres_matches_sqlite(split_engine, fresh_postgres_url):
    engine = fill_database(fresh_postgres_url, SPLIT_REGION_ROWS)
    scope = Scope(territory_ids=("T1",))
    functions = [
        review_queries.weekly_rep_figures,
        review_queries.weekly_order_figures,
        review_queries.weekly_skipped_calls,
    ]
    try:
        result = [
            function(engine, TREND_SPAN, scope, Settings()) for function in functions
        ]
    finally:
        engine.dispose()

    expected = [
        function(split_engine, TREND_SPAN, scope, Settings()) for function in functions
    ]
    for result_frame, expected_frame in zip(result, expected, strict=True):
        pd.testing.assert_frame_equal(result_frame, expected_frame, check_dtype=False)
    pd.testing.assert_series_equal(result[0].dtypes, expected[0].dtypes)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("moved_demo") / "demo.sqlite"
    build_demo_database(path, seed=7, end_date=date(2026, 3, 1))
    engine = create_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.mark.parametrize("territory_id", ["PUN", "MUM"])
def test_demo_trend_around_move_equals_reports(demo, territory_id):
    # The demo's moved rep served Pune (PUN) until 2026-01-04 and Mumbai (MUM)
    # from Monday 01-05, the first day of week 5 of this span.
    settings = Settings()
    scope = Scope(territory_ids=(territory_id,))
    span = review.trend_span(
        date(2026, 3, 1), settings.week_start, 13, settings.timezone
    )
    weeks = weekly_trend(demo, span, scope, settings)

    for week_index in (4, 5):
        start = span.start + timedelta(weeks=week_index)
        week = Period(start, start + timedelta(days=6))
        expected = week_headline(demo, week, scope, settings)
        assert_same_figures(weeks.iloc[week_index].to_dict(), expected)
