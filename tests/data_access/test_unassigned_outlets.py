"""The outlets of no territory in scope, read alone for the Unassigned row."""

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import queries, summaries, summary_queries
from data_access.filters import Period, Scope, Settings
from metrics import comparison, reports
from tests.comparison_company import ROWS
from tests.database import sqlite_database

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
SETTINGS = Settings()
# o11 has no territory; o12 names a territory the territories table lacks.
UNKNOWN_TERRITORY = {"outlet_id": "o12", "name": "Shop 12", "territory_id": "T9"}


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    rows = {**ROWS, "outlets": [*ROWS["outlets"], UNKNOWN_TERRITORY]}
    raw = sqlite_database(tmp_path_factory.mktemp("raw"), rows)
    summarised = sqlite_database(tmp_path_factory.mktemp("summarised"), rows)
    summaries.build_summaries(summarised, WEEK.start, WEEK.end, SETTINGS)
    yield {"raw": raw, "summarised": summarised}
    raw.dispose()
    summarised.dispose()


@pytest.mark.parametrize("name", ["raw", "summarised"])
def test_unassigned_outlets_match_full_report(engines, name):
    engine = engines[name]
    status = summary_queries.summary_status(engine, WEEK, SETTINGS)
    assert status.usable == (name == "summarised")
    full = queries.outlet_activity(engine, WEEK, Scope(), SETTINGS)
    listed = queries.territory_list(engine, Scope())["territory_id"]

    result = summary_queries.read_unassigned_outlet_activity(
        engine, WEEK, Scope(), SETTINGS
    )

    expected = full[~full["territory_id"].isin(listed)].reset_index(drop=True)
    assert list(expected["outlet_id"]) == ["o11", "o12"]
    pd.testing.assert_frame_equal(result, expected)


@pytest.mark.parametrize("summarised", [False, True])
def test_no_unassigned_outlets_empty_frame(tmp_path, summarised):
    # o11, the one outlet of no territory, moves into a territory.
    outlets = [
        {**row, "territory_id": "007"} if row["outlet_id"] == "o11" else row
        for row in ROWS["outlets"]
    ]
    engine = sqlite_database(tmp_path, {**ROWS, "outlets": outlets})
    if summarised:
        summaries.build_summaries(engine, WEEK.start, WEEK.end, SETTINGS)
    territories = reports.territories_report(engine, WEEK, Scope(), SETTINGS)
    rep_rows = reports.reps_report(engine, WEEK, Scope(), SETTINGS)
    full = reports.outlets_report(engine, WEEK, Scope(), SETTINGS)

    statements = []

    def record(connection, cursor, statement, *arguments) -> None:
        if "outlet_last_visit" in statement:
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    result = summary_queries.read_unassigned_outlet_activity(
        engine, WEEK, Scope(), SETTINGS
    )
    sa.event.remove(engine, "before_cursor_execute", record)
    groups = comparison.territory_groups(
        territories, rep_rows, reports.build_outlets_report(result, WEEK, SETTINGS)
    )
    engine.dispose()

    assert result.empty
    # The read ran with the false condition in place of the territory test.
    assert len(statements) == 1
    assert "territory_id IS NULL" not in statements[0]
    assert list(result.columns) == list(
        queries.outlet_activity(engine, WEEK, Scope(), SETTINGS).columns
    )
    pd.testing.assert_frame_equal(
        groups, comparison.territory_groups(territories, rep_rows, full)
    )


def test_territory_scope_has_no_unassigned_outlets(engines):
    result = summary_queries.read_unassigned_outlet_activity(
        engines["summarised"], WEEK, Scope(territory_ids=("007",)), SETTINGS
    )

    assert result.empty


@pytest.mark.parametrize("name", ["raw", "summarised"])
def test_groups_from_unassigned_outlets_match(engines, name):
    engine = engines[name]
    territories = reports.territories_report(engine, WEEK, Scope(), SETTINGS)
    rep_rows = reports.reps_report(engine, WEEK, Scope(), SETTINGS)
    unassigned = reports.build_outlets_report(
        summary_queries.read_unassigned_outlet_activity(
            engine, WEEK, Scope(), SETTINGS
        ),
        WEEK,
        SETTINGS,
    )

    result = comparison.territory_groups(territories, rep_rows, unassigned)

    expected = comparison.territory_groups(
        territories,
        rep_rows,
        reports.outlets_report(engine, WEEK, Scope(), SETTINGS),
    )
    assert result["is_unassigned"].sum() == 1
    assert result.loc[result["is_unassigned"], "active_outlets"].item() == 2
    pd.testing.assert_frame_equal(result, expected)


@pytest.mark.parametrize("name", ["raw", "summarised"])
def test_weekly_coverage_counts_unassigned_outlets(engines, name):
    engine = engines[name]
    territories = reports.territories_report(engine, WEEK, Scope(), SETTINGS)
    groups = comparison.territory_groups(
        territories,
        reports.reps_report(engine, WEEK, Scope(), SETTINGS),
        reports.outlets_report(engine, WEEK, Scope(), SETTINGS),
    )
    visited = summary_queries.read_territory_week_visited_outlets(
        engine, WEEK, Scope(), SETTINGS
    )

    result = comparison.weekly_coverage(visited, groups, [WEEK.start])

    # Of the two unassigned outlets, o11 has a visit this week and o12 none.
    unassigned = result.loc[groups["is_unassigned"].to_numpy(), WEEK.start]
    assert unassigned.tolist() == [0.5]
