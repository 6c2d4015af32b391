"""Territory and region groups, changes and weekly coverage on the
hand-computed week of tests/comparison_company.py."""

from datetime import date

import pandas as pd
import pytest

from data_access.filters import Period, Scope, Settings
from metrics import reports
from metrics.comparison import (
    group_totals,
    region_groups,
    territory_groups,
    trend_weeks,
    weekly_coverage,
    with_change,
)
from metrics.summary import headline
from tests.comparison_company import ROWS
from tests.database import sqlite_database

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
COUNTS = [
    "active_outlets",
    "visited_outlets",
    "visits",
    "productive_visits",
    "planned_calls",
    "calls_on_plan",
    "order_value",
    "reps",
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = sqlite_database(tmp_path_factory.mktemp("comparison"), ROWS)
    yield engine
    engine.dispose()


def groups_of(engine, period: Period) -> pd.DataFrame:
    settings = Settings()
    return territory_groups(
        reports.territories_report(engine, period, Scope(), settings),
        reports.reps_report(engine, period, Scope(), settings),
        reports.outlets_report(engine, period, Scope(), settings),
    )


def test_territory_groups_counts(engine):
    groups = groups_of(engine, WEEK)

    result = {
        key: tuple(row)
        for key, row in zip(
            groups["territory_id"].fillna("Unassigned"),
            groups[COUNTS].to_numpy().tolist(),
        )
    }

    expected = {
        "007": (4, 3, 3, 2, 4, 3, 150.0, 2),
        "12.1": (2, 2, 2, 1, 2, 1, 70.0, 1),
        "T3": (3, 0, 0, 0, 0, 0, 0.0, 0),
        "T4": (1, 1, 1, 0, 1, 1, 0.0, 1),
        "Unassigned": (1, 1, 1, 1, 0, 0, 30.0, 1),
    }
    assert result == expected


def test_territory_groups_ratios(engine):
    groups = groups_of(engine, WEEK)
    groups = groups.set_index(groups["territory_id"].fillna("Unassigned"))

    assert groups.loc["007", "coverage"] == 0.75
    assert groups.loc["007", "strike_rate"] == pytest.approx(2 / 3)
    assert groups.loc["12.1", "beat_compliance"] == 0.5
    assert groups.loc["007", "outlets_per_rep"] == 2.0
    assert groups.loc["T4", "planned_calls_per_rep"] == 1.0
    # A territory without reps or visits: its ratios are undefined, not 0.
    assert pd.isna(groups.loc["T3", "strike_rate"])
    assert pd.isna(groups.loc["T3", "outlets_per_rep"])
    assert groups.loc["T3", "coverage"] == 0.0


def test_unassigned_row_marks_missing_territory(engine):
    groups = groups_of(engine, WEEK)

    unassigned = groups[groups["is_unassigned"]]

    assert len(unassigned) == 1
    assert pd.isna(unassigned["territory_id"].iloc[0])
    assert unassigned["territory_name"].iloc[0] == "Unassigned"


def test_group_totals_equal_headline(engine):
    settings = Settings()
    reps = reports.reps_report(engine, WEEK, Scope(), settings)
    groups = groups_of(engine, WEEK)

    result = group_totals(groups)

    figures = headline(reps, groups)
    expected = {
        "active_outlets": 11.0,
        "visited_outlets": 7.0,
        "visits": 7.0,
        "productive_visits": 4.0,
        "planned_calls": 7.0,
        "calls_on_plan": 5.0,
        "order_value": 250.0,
        "reps": 5.0,
    }
    assert {name: result[name] for name in expected} == expected
    for name in (
        "visits",
        "productive_visits",
        "planned_calls",
        "order_value",
        "active_outlets",
    ):
        assert result[name] == figures[name]
    assert result["coverage"] == pytest.approx(7 / 11)
    assert result["strike_rate"] == figures["strike_rate"]
    assert result["beat_compliance"] == figures["beat_compliance"]


def test_region_groups_pool_counts(engine):
    regions = region_groups(groups_of(engine, WEEK))

    result = {
        key: tuple(row)
        for key, row in zip(
            regions["region_id"].fillna("Unassigned"),
            regions[["territories", *COUNTS]].to_numpy().tolist(),
        )
    }

    expected = {
        "N": (2, 6, 5, 5, 3, 6, 4, 220.0, 3),
        "S": (1, 3, 0, 0, 0, 0, 0, 0.0, 0),
        "Unassigned": (1, 2, 2, 2, 1, 1, 1, 30.0, 2),
    }
    assert result == expected


def test_region_ratio_is_pooled_not_averaged(engine):
    regions = region_groups(groups_of(engine, WEEK)).set_index("region_id")

    # Pooled: (2 + 1) / (3 + 2). The mean of 007's 2/3 and 12.1's 1/2 is 0.583.
    assert regions.loc["N", "strike_rate"] == 0.6
    assert regions.loc["N", "coverage"] == pytest.approx(5 / 6)


def test_with_change_matches_unassigned_rows(engine):
    current = groups_of(engine, WEEK)
    previous = groups_of(engine, WEEK.previous())

    changed = with_change(current, previous, "territory_id", "coverage")

    result = dict(
        zip(changed["territory_id"].fillna("Unassigned"), changed["change_coverage"])
    )
    expected = {"007": 0.25, "12.1": 1.0, "T3": 0.0, "T4": 1.0, "Unassigned": 1.0}
    assert result == expected
    assert list(changed["previous_coverage"]) == [0.5, 0.0, 0.0, 0.0, 0.0]


def test_trend_weeks_end_with_last_week():
    result = trend_weeks(date(2026, 3, 4), week_start=1, weeks=3)

    expected = [date(2026, 2, 16), date(2026, 2, 23), date(2026, 3, 2)]
    assert result == expected


def test_weekly_coverage_table():
    groups = pd.DataFrame(
        {"territory_id": ["007", "T3", None], "active_outlets": [4, 0, 2]}
    )
    visited = pd.DataFrame(
        {
            "territory_id": ["007", "007", None],
            "week_start": [date(2026, 2, 23), date(2026, 3, 2), date(2026, 3, 2)],
            "visited_outlets": [2, 3, 1],
        }
    )
    weeks = [date(2026, 2, 23), date(2026, 3, 2)]

    result = weekly_coverage(visited, groups, weeks)

    assert list(result.columns) == weeks
    assert list(result.loc["007"]) == [0.5, 0.75]
    # No active outlets: coverage is undefined in every week.
    assert result.loc["T3"].isna().all()
    assert list(result.iloc[2]) == [0.0, 0.5]


def test_weekly_coverage_without_visits():
    groups = pd.DataFrame({"territory_id": ["007"], "active_outlets": [4]})
    visited = pd.DataFrame(
        {
            "territory_id": pd.Series([], dtype=object),
            "week_start": pd.Series([], dtype=object),
            "visited_outlets": pd.Series([], dtype="int64"),
        }
    )

    result = weekly_coverage(visited, groups, [date(2026, 3, 2)])

    assert list(result.loc["007"]) == [0.0]


def test_with_change_territory_named_unassigned():
    current = pd.DataFrame(
        {
            "territory_id": ["Unassigned", None],
            "coverage": [0.5, 0.75],
            "is_unassigned": [False, True],
        }
    )
    previous = pd.DataFrame(
        {
            "territory_id": [None, "Unassigned"],
            "coverage": [0.25, 0.5],
            "is_unassigned": [True, False],
        }
    )

    changed = with_change(current, previous, "territory_id", "coverage")

    assert list(changed["territory_id"].fillna("<missing>")) == [
        "Unassigned",
        "<missing>",
    ]
    assert list(changed["previous_coverage"]) == [0.5, 0.25]
    assert list(changed["change_coverage"]) == [0.0, 0.5]


def test_weekly_coverage_territory_named_unassigned():
    groups = pd.DataFrame(
        {"territory_id": ["Unassigned", None], "active_outlets": [2, 4]}
    )
    visited = pd.DataFrame(
        {
            "territory_id": ["Unassigned", None],
            "week_start": [date(2026, 3, 2), date(2026, 3, 2)],
            "visited_outlets": [1, 3],
        }
    )

    result = weekly_coverage(visited, groups, [date(2026, 3, 2)])

    assert result.iloc[0].tolist() == [0.5]
    assert result.iloc[1].tolist() == [0.75]


def test_weekly_coverage_unlisted_territory():
    # Outlet territory ZZ is not in the territories table, so its outlets
    # belong to the Unassigned group, as in territory_groups.
    groups = pd.DataFrame({"territory_id": ["007", None], "active_outlets": [4, 2]})
    visited = pd.DataFrame(
        {
            "territory_id": ["007", "ZZ", None],
            "week_start": [date(2026, 3, 2)] * 3,
            "visited_outlets": [1, 1, 1],
        }
    )

    result = weekly_coverage(visited, groups, [date(2026, 3, 2)])

    assert result.iloc[0].tolist() == [0.25]
    assert result.iloc[1].tolist() == [1.0]


def test_group_totals_count_moved_rep_once(tmp_path):
    # Rep 099 has no territory today but was in 007 on the day of visit v6,
    # so v6 and its order of 30 count for 007 and not again as Unassigned.
    history = [
        {
            "rep_id": "099",
            "territory_id": "007",
            "valid_from": "2026-01-01",
            "valid_to": "2026-03-31",
        }
    ]
    engine = sqlite_database(tmp_path, {**ROWS, "rep_territories": history})
    groups = groups_of(engine, WEEK)
    engine.dispose()

    result = group_totals(groups)

    expected = {"visits": 7.0, "productive_visits": 4.0, "order_value": 250.0}
    assert {name: result[name] for name in expected} == expected
    unassigned = groups[groups["is_unassigned"]].iloc[0]
    assert unassigned["visits"] == 0
    assert unassigned["order_value"] == 0.0
    assert unassigned["active_outlets"] == 1
