"""The territories report counts in the database, from the summary tables or
from the raw tables, and gives the rows the per-outlet path gives."""

import shutil
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import queries, schema, summaries, summary_queries, territory_history
from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from fixtures.demo import MIN_REPS, generate
from metrics import reports
from tests.database import sqlite_database
from tests.metrics.test_territory_history import MOVED_ROWS

TIMEZONE = "Asia/Kolkata"
SETTINGS = Settings(timezone=TIMEZONE)
CLASS_WINDOWS = Settings(
    timezone=TIMEZONE, neglect_days_by_class=(("A", 14), ("C", 56))
)
LAST_DAY = date(2026, 3, 29)
WEEK = Period(date(2026, 3, 23), LAST_DAY, TIMEZONE)
THREE_WEEKS = Period(date(2026, 3, 9), LAST_DAY, TIMEZONE)
SCOPES = {
    "everything": Scope(),
    "region": Scope(region_ids=("WEST",)),
    "territory": Scope(territory_ids=("KOL",)),
}


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> str:
    """The demo company's last 3 weeks, with summaries of those weeks."""
    path = tmp_path_factory.mktemp("territories") / "demo.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    generate(engine, reps=MIN_REPS, weeks=3, end_date=LAST_DAY)
    summaries.build_summaries(engine, THREE_WEEKS.start, LAST_DAY, SETTINGS)
    engine.dispose()
    return str(path)


@pytest.fixture(scope="module")
def engines(demo_file, tmp_path_factory):
    """The demo with summaries, and a copy without them (raw tables only)."""
    copy = tmp_path_factory.mktemp("territories_raw") / "raw.sqlite"
    shutil.copy(demo_file, copy)
    summarised = create_engine(f"sqlite:///{demo_file}")
    raw = create_engine(f"sqlite:///{copy}")
    with raw.begin() as connection:
        connection.execute(schema.summary_weeks.delete())
    yield summarised, raw
    summarised.dispose()
    raw.dispose()


def per_outlet_report(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """The territories report built from the outlets report and rep rows."""
    if territory_history.has_rep_territories(engine):
        activity = territory_history.territory_rep_activity(
            engine, period, scope, settings
        )
    else:
        activity = queries.rep_activity(engine, period, scope, settings)
    return reports.build_territories_report(
        queries.territory_list(engine, scope),
        activity,
        reports.outlets_report(engine, period, scope, settings),
    )


@pytest.mark.parametrize("period", [WEEK, THREE_WEEKS], ids=["week", "three_weeks"])
@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_demo_summary_path_matches_raw_path(engines, period, scope_name):
    summarised, raw = engines
    scope = SCOPES[scope_name]
    assert summary_queries.summary_status(summarised, period, SETTINGS).usable
    assert not summary_queries.summary_status(raw, period, SETTINGS).usable

    result = reports.territories_report(summarised, period, scope, SETTINGS)

    expected = reports.territories_report(raw, period, scope, SETTINGS)
    assert result["visits"].sum() > 0
    assert result["visited_outlets"].sum() > 0
    pd.testing.assert_frame_equal(result, expected)


@pytest.mark.parametrize(
    "settings", [SETTINGS, CLASS_WINDOWS], ids=["one_window", "by_class"]
)
@pytest.mark.parametrize(
    "period",
    [WEEK, Period(date(2026, 3, 18), date(2026, 3, 26), TIMEZONE)],
    ids=["week", "partial_weeks"],
)
def test_demo_matches_per_outlet_path(engines, period, settings):
    summarised, _ = engines

    result = reports.territories_report(summarised, period, Scope(), settings)

    expected = per_outlet_report(summarised, period, Scope(), settings)
    assert result["neglected_outlets"].sum() + result["overdue_outlets"].sum() > 0
    pd.testing.assert_frame_equal(result, expected)


def test_demo_manager_scope_matches_per_outlet_path(engines):
    summarised, raw = engines
    manager = queries.rep_list(summarised, Scope())["manager_id"].dropna().iloc[0]
    scope = Scope(manager_id=manager)

    result = reports.territories_report(summarised, WEEK, scope, SETTINGS)

    expected = per_outlet_report(summarised, WEEK, scope, SETTINGS)
    pd.testing.assert_frame_equal(result, expected)
    pd.testing.assert_frame_equal(
        reports.territories_report(raw, WEEK, scope, SETTINGS), expected
    )


def test_history_summary_path_matches_raw_path(tmp_path):
    """Asha moved from T1 to T2 mid-week: both paths split her week alike."""
    engine = sqlite_database(tmp_path, MOVED_ROWS)
    settings = Settings()
    week = Period(date(2026, 3, 2), date(2026, 3, 8), "UTC")
    raw = reports.territories_report(engine, week, Scope(), settings)
    summaries.build_summaries(engine, week.start, week.end, settings)
    assert summary_queries.summary_status(engine, week, settings).usable

    result = reports.territories_report(engine, week, Scope(), settings)

    engine.dispose()
    expected_visits = {"T1": 3, "T2": 1}
    assert dict(zip(result["territory_id"], result["visits"])) == expected_visits
    expected_calls_on_plan = {"T1": 3, "T2": 1}
    assert (
        dict(zip(result["territory_id"], result["calls_on_plan"]))
        == expected_calls_on_plan
    )
    pd.testing.assert_frame_equal(result, raw)


def test_without_history_rows_follow_current_territory(tmp_path, demo_file):
    copy = tmp_path / "no_history.sqlite"
    shutil.copy(demo_file, copy)
    engine = create_engine(f"sqlite:///{copy}")
    with engine.begin() as connection:
        connection.execute(schema.rep_territories.delete())
    summaries.build_summaries(engine, THREE_WEEKS.start, LAST_DAY, SETTINGS)
    raw_copy = tmp_path / "no_history_raw.sqlite"
    shutil.copy(copy, raw_copy)
    raw = create_engine(f"sqlite:///{raw_copy}")
    with raw.begin() as connection:
        connection.execute(schema.summary_weeks.delete())

    result = reports.territories_report(engine, WEEK, Scope(), SETTINGS)

    expected = reports.territories_report(raw, WEEK, Scope(), SETTINGS)
    per_outlet = per_outlet_report(engine, WEEK, Scope(), SETTINGS)
    engine.dispose()
    raw.dispose()
    pd.testing.assert_frame_equal(result, expected)
    pd.testing.assert_frame_equal(result, per_outlet)
