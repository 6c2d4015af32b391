"""Reps and outlets whose active value another program wrote as neither true
nor false, such as 2 or the text 'false', which SQLite stores as written.

Each reads as inactive in every report and in Data health, which lists it
with its value. The same company on PostgreSQL, with those rows written as
false, gives the same reports.
"""

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import queries, summaries
from data_access.filters import Period, Scope, Settings
from data_access.health_queries import affected_rows, health_counts
from metrics import reports
from metrics.health import describe_rows, health_table
from metrics.report import main
from tests.database import fill_database, sqlite_database

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
SETTINGS = Settings()
INVALID_KINDS = ("outlet_invalid_active", "rep_invalid_active")

# r1 works outlets o1 and xo1 on its Tuesday beat. r2 has no manager and
# o2 no coordinates, and so have xr1, xr2, xo1 and xo2, whose active values
# the SQL below makes invalid. xr2 visits o1, so the reps report keeps it as
# an inactive rep who worked in the week.
ROWS = {
    "regions": [{"region_id": "W", "name": "West"}],
    "territories": [{"territory_id": "T1", "name": "Mumbai", "region_id": "W"}],
    "reps": [
        {"rep_id": "r1", "name": "Asha", "territory_id": "T1", "manager_id": "m1"},
        {"rep_id": "r2", "name": "Bilal", "territory_id": "T1"},
        {"rep_id": "xr1", "name": "Text False Rep", "territory_id": "T1"},
        {"rep_id": "xr2", "name": "Two Rep", "territory_id": "T1"},
    ],
    "outlets": [
        {"outlet_id": "o1", "territory_id": "T1", "latitude": 19.0, "longitude": 72.8},
        {"outlet_id": "o2", "territory_id": "T1"},
        {"outlet_id": "xo1", "territory_id": "T1"},
        {"outlet_id": "xo2", "territory_id": "T1"},
    ],
    "beats": [
        {
            "beat_id": "b1",
            "rep_id": "r1",
            "weekday": 2,
            "every_n_weeks": 1,
            "start_date": "2026-03-03",
        }
    ],
    "beat_outlets": [
        {"beat_id": "b1", "outlet_id": "o1"},
        {"beat_id": "b1", "outlet_id": "xo1"},
        {"beat_id": "b1", "outlet_id": "xo2"},
    ],
    "visits": [
        {
            "visit_id": "v1",
            "rep_id": "r1",
            "outlet_id": "o1",
            "check_in": "2026-03-03 09:00:00",
        },
        {
            "visit_id": "v2",
            "rep_id": "r1",
            "outlet_id": "xo1",
            "check_in": "2026-03-03 10:00:00",
        },
        {
            "visit_id": "v3",
            "rep_id": "xr2",
            "outlet_id": "o1",
            "check_in": "2026-03-04 09:00:00",
        },
    ],
}
INVALID_VALUES = [
    "UPDATE reps SET active = 'false' WHERE rep_id = 'xr1'",
    "UPDATE reps SET active = 2 WHERE rep_id = 'xr2'",
    "UPDATE outlets SET active = 'true' WHERE outlet_id = 'xo1'",
    "UPDATE outlets SET active = 2 WHERE outlet_id = 'xo2'",
]
FALSE_VALUES = [
    "UPDATE reps SET active = false WHERE rep_id IN ('xr1', 'xr2')",
    "UPDATE outlets SET active = false WHERE outlet_id IN ('xo1', 'xo2')",
]


def company(url: str, statements: list[str]):
    engine = fill_database(url, ROWS)
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    return engine


@pytest.fixture
def engine(tmp_path):
    engine = sqlite_database(tmp_path, ROWS)
    with engine.begin() as connection:
        for statement in INVALID_VALUES:
            connection.exec_driver_sql(statement)
    yield engine
    engine.dispose()


def test_reps_report_reads_invalid_as_inactive(engine):
    report = reports.reps_report(engine, WEEK, Scope(), SETTINGS)

    result = report[["rep_id", "visits", "planned_calls"]].values.tolist()

    assert result == [["r1", 2, 1], ["r2", 0, 0], ["xr2", 1, 0]]


def test_rep_list_reads_invalid_as_inactive(engine):
    reps = queries.rep_list(engine, Scope())

    result = dict(zip(reps["rep_id"], reps["active"]))

    assert result == {"r1": True, "r2": True, "xr1": False, "xr2": False}


def test_outlets_report_reads_invalid_as_inactive(engine):
    report = reports.outlets_report(engine, WEEK, Scope(), SETTINGS)

    result = report[["outlet_id", "status", "visits"]].values.tolist()

    assert result == [["o1", "visited", 2], ["o2", "unplanned", 0]]


def test_territories_report_counts_true_active_only(engine):
    report = reports.territories_report(engine, WEEK, Scope(), SETTINGS)

    result = report.loc[0, ["active_outlets", "visited_outlets", "unplanned_outlets"]]

    assert result.tolist() == [2, 1, 1]
    # xo1 and xo2 are off the plan, so r1 has one planned call.
    assert report.loc[0, "beat_compliance"] == 1.0


def test_reports_from_summaries_agree(engine):
    url = engine.url.render_as_string(hide_password=False)
    expected_reps = reports.reps_report(engine, WEEK, Scope(), SETTINGS)
    expected_territories = reports.territories_report(engine, WEEK, Scope(), SETTINGS)

    exit_code = summaries.main(
        ["--db", url, "--from", "2026-03-02", "--to", "2026-03-08"]
    )
    result_reps = reports.reps_report(engine, WEEK, Scope(), SETTINGS)
    result_territories = reports.territories_report(engine, WEEK, Scope(), SETTINGS)

    assert exit_code == 0
    pd.testing.assert_frame_equal(result_reps, expected_reps)
    pd.testing.assert_frame_equal(result_territories, expected_territories)


def test_report_command_lists_true_active_reps(engine, capsys):
    url = engine.url.render_as_string(hide_password=False)

    exit_code = main(
        ["reps", "--db", url, "--from", "2026-03-02", "--to", "2026-03-08"]
    )

    result = [line.split(",")[0] for line in capsys.readouterr().out.splitlines()]
    assert exit_code == 0
    assert result == ["rep_id", "r1", "r2", "xr2"]


def test_health_checks_true_active_rows_only(engine):
    counts = health_counts(engine, WEEK, Scope(), SETTINGS).set_index("kind")

    result = counts.loc[
        [
            "outlet_without_coordinates",
            "rep_without_manager",
            "outlet_invalid_active",
            "rep_invalid_active",
        ],
        ["affected", "checked"],
    ]

    # The rows checked are the active rows of the reports: o1 and o2, r1 and
    # r2. The invalid rows are not among them, so their rules add them.
    assert result.values.tolist() == [[1, 2], [1, 2], [2, 4], [2, 4]]


def test_invalid_active_share_stays_below_one(engine):
    counts = health_counts(engine, WEEK, Scope(), SETTINGS)

    table = health_table(counts, SETTINGS).set_index("kind")

    assert table.loc["outlet_invalid_active", "share"] == 0.5
    assert table.loc["rep_invalid_active", "share"] == 0.5


def test_health_names_invalid_values(engine):
    rows = affected_rows(engine, WEEK, Scope(), SETTINGS, kinds=INVALID_KINDS)

    result = describe_rows(rows, SETTINGS)[["record_id", "detail"]].values.tolist()

    assert result == [
        ["xo1", "active is 'true', read as inactive; store 1 (active) or 0 (inactive)"],
        ["xo2", "active is 2, read as inactive; store 1 (active) or 0 (inactive)"],
        [
            "xr1",
            "active is 'false', read as inactive; store 1 (active) or 0 (inactive)",
        ],
        ["xr2", "active is 2, read as inactive; store 1 (active) or 0 (inactive)"],
    ]


def test_health_scope_limits_invalid_rows(engine):
    scope = Scope(territory_ids=("T2",))

    rows = affected_rows(engine, WEEK, scope, SETTINGS, kinds=INVALID_KINDS)

    assert rows.empty


def test_postgres_with_false_matches_sqlite(engine, fresh_postgres_url):
    postgres = company(fresh_postgres_url, FALSE_VALUES)
    try:
        result = {
            "reps": reports.reps_report(postgres, WEEK, Scope(), SETTINGS),
            "outlets": reports.outlets_report(postgres, WEEK, Scope(), SETTINGS),
            "territories": reports.territories_report(
                postgres, WEEK, Scope(), SETTINGS
            ),
            "health": health_counts(postgres, WEEK, Scope(), SETTINGS),
        }
    finally:
        postgres.dispose()

    expected = {
        "reps": reports.reps_report(engine, WEEK, Scope(), SETTINGS),
        "outlets": reports.outlets_report(engine, WEEK, Scope(), SETTINGS),
        "territories": reports.territories_report(engine, WEEK, Scope(), SETTINGS),
        "health": health_counts(engine, WEEK, Scope(), SETTINGS),
    }
    for name in ("reps", "outlets", "territories"):
        # The engines return some sums with different dtypes, so values are compared.
        pd.testing.assert_frame_equal(
            result[name], expected[name], check_dtype=False, obj=name
        )
    # PostgreSQL's boolean stores no invalid value, so only those counts, and
    # the invalid rows their rules add to the rows checked, differ.
    invalid = expected["health"]["kind"].isin(INVALID_KINDS)
    expected["health"].loc[invalid, "checked"] -= expected["health"].loc[
        invalid, "affected"
    ]
    expected["health"].loc[invalid, "affected"] = 0
    pd.testing.assert_frame_equal(result["health"], expected["health"], obj="health")


def test_postgres_rejects_number_as_active(fresh_postgres_url):
    postgres = fill_database(fresh_postgres_url, ROWS)
    try:
        with pytest.raises(sa.exc.ProgrammingError, match="boolean"):
            with postgres.begin() as connection:
                connection.exec_driver_sql(INVALID_VALUES[1])
    finally:
        postgres.dispose()
