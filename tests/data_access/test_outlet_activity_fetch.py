"""The outlets report's activity read from the summaries through the driver's
rows (SQLite) or COPY (PostgreSQL) equals SQLAlchemy's rows and the raw
tables' frame, and PostgreSQL's two halves equal one statement."""

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import queries, schema, summary_queries
from data_access.filters import Period, Scope, Settings
from tests.database import summarised_demo

TIMEZONE = "Asia/Kolkata"
SETTINGS = Settings(timezone=TIMEZONE)
LAST_DAY = date(2026, 3, 29)
WEEK = Period(date(2026, 3, 23), LAST_DAY, TIMEZONE)
TWO_WEEKS = Period(date(2026, 3, 16), LAST_DAY, TIMEZONE)
PERIODS = {"week": WEEK, "two_weeks": TWO_WEEKS}
SCOPES = {
    "everything": Scope(),
    "region": Scope(region_ids=("WEST",)),
    "territory": Scope(territory_ids=("MUM",)),
}


def demo_engine(url: str) -> sa.Engine:
    """The demo company's last 2 weeks at url, with summaries of those weeks."""
    return summarised_demo(url, 2, TWO_WEEKS, SETTINGS)


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory):
    path = tmp_path_factory.mktemp("outlet_activity") / "demo.sqlite"
    engine = demo_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.mark.parametrize("period_name", list(PERIODS))
@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_summary_activity_equals_raw(sqlite_engine, period_name, scope_name):
    period, scope = PERIODS[period_name], SCOPES[scope_name]

    result = summary_queries.outlet_activity_from_summaries(
        sqlite_engine, period, scope, SETTINGS
    )

    expected = queries.outlet_activity(sqlite_engine, period, scope, SETTINGS)
    assert expected["visits"].sum() > 0
    assert expected["on_beat"].any()
    assert expected["last_visit_date"].notna().any()
    # Sums of weekly sums differ from the raw sums in the last bits of a float.
    pd.testing.assert_frame_equal(result, expected)


def assert_equals_sqlalchemy_rows(engine: sa.Engine, period: Period, monkeypatch):
    """The outlet activity read (the driver's rows, or COPY on PostgreSQL)
    equals SQLAlchemy's rows of the same statement."""
    statements = []
    fetch = queries.fetch_outlet_activity

    def keep_statement(engine, name, statement, timezone, **options):
        statements.append(statement)
        return fetch(engine, name, statement, timezone, **options)

    monkeypatch.setattr(queries, "fetch_outlet_activity", keep_statement)

    result = summary_queries.outlet_activity_from_summaries(
        engine, period, Scope(), SETTINGS
    )

    # SQLAlchemy's rows, converted by its column types.
    frame = queries.fetch_frame(engine, "expected", statements[0])
    known_days = frame.pop("last_visit_day")
    expected = queries.with_last_visit_date(frame, TIMEZONE)
    known = known_days.notna()
    expected.loc[known, "last_visit_date"] = known_days[known]
    assert len(statements) == 1
    assert known.any()
    assert (~known & expected["last_visit_date"].notna()).any()
    pd.testing.assert_frame_equal(result, expected, check_exact=True)


@pytest.mark.parametrize("period_name", list(PERIODS))
def test_driver_rows_equal_sqlalchemy_rows(sqlite_engine, monkeypatch, period_name):
    assert_equals_sqlalchemy_rows(sqlite_engine, PERIODS[period_name], monkeypatch)


@pytest.mark.parametrize("period_name", list(PERIODS))
def test_postgres_copy_equals_sqlalchemy_rows(
    fresh_postgres_url, monkeypatch, period_name
):
    engine = demo_engine(fresh_postgres_url)
    try:
        assert_equals_sqlalchemy_rows(engine, PERIODS[period_name], monkeypatch)
    finally:
        engine.dispose()


@pytest.mark.parametrize("period_name", list(PERIODS))
def test_outlet_conditions_narrow_like_raw(sqlite_engine, period_name):
    period = PERIODS[period_name]
    # As the territories report's Unassigned row narrows its outlets.
    conditions = (schema.outlets.c.territory_id == "MUM",)

    result = summary_queries.outlet_activity_from_summaries(
        sqlite_engine, period, Scope(), SETTINGS, conditions
    )

    expected = queries.outlet_activity(
        sqlite_engine, period, Scope(), SETTINGS, conditions
    )
    assert not result.empty
    assert set(result["territory_id"]) == {"MUM"}
    pd.testing.assert_frame_equal(result, expected)


def test_sqlite_reads_one_statement(sqlite_engine, monkeypatch):
    monkeypatch.setattr(queries, "SPLIT_MIN_OUTLETS", 1)
    statements = []

    def count(connection, cursor, statement, *arguments) -> None:
        if "outlet_last_visit" in statement:
            statements.append(statement)

    sa.event.listen(sqlite_engine, "before_cursor_execute", count)
    try:
        summary_queries.outlet_activity_from_summaries(
            sqlite_engine, WEEK, Scope(), SETTINGS
        )
    finally:
        sa.event.remove(sqlite_engine, "before_cursor_execute", count)

    assert len(statements) == 1


@pytest.mark.parametrize("period_name", list(PERIODS))
def test_postgres_halves_equal_one_statement(
    fresh_postgres_url, monkeypatch, period_name
):
    period = PERIODS[period_name]
    engine = demo_engine(fresh_postgres_url)
    try:
        monkeypatch.setattr(queries, "SPLIT_MIN_OUTLETS", 10**9)
        whole = summary_queries.outlet_activity_from_summaries(
            engine, period, Scope(), SETTINGS
        )
        monkeypatch.setattr(queries, "SPLIT_MIN_OUTLETS", 1)
        middle = queries._middle_outlet_id(engine)
        halves = summary_queries.outlet_activity_from_summaries(
            engine, period, Scope(), SETTINGS
        )
        raw = queries.outlet_activity(engine, period, Scope(), SETTINGS)
    finally:
        engine.dispose()

    assert middle is not None
    assert (whole["outlet_id"] < middle).any()
    assert (whole["outlet_id"] >= middle).any()
    pd.testing.assert_frame_equal(halves, whole, check_exact=True)
    pd.testing.assert_frame_equal(whole, raw)


def test_postgres_region_halves_split_its_outlets(fresh_postgres_url, monkeypatch):
    # The demo numbers its outlets territory by territory, so the middle of
    # the whole table would leave one half of a region's read nearly empty.
    scope = SCOPES["region"]
    engine = demo_engine(fresh_postgres_url)
    try:
        monkeypatch.setattr(queries, "SPLIT_MIN_OUTLETS", 10**9)
        whole = summary_queries.outlet_activity_from_summaries(
            engine, WEEK, scope, SETTINGS
        )
        monkeypatch.setattr(queries, "SPLIT_MIN_OUTLETS", 1)
        middle = queries._middle_outlet_id(
            engine, summary_queries.scoped_outlet_conditions(scope)
        )
        halves = summary_queries.outlet_activity_from_summaries(
            engine, WEEK, scope, SETTINGS
        )
    finally:
        engine.dispose()

    lower_share = (whole["outlet_id"] < middle).mean()
    assert 0.4 <= lower_share <= 0.6
    pd.testing.assert_frame_equal(halves, whole, check_exact=True)


def test_postgres_narrowed_read_runs_whole(fresh_postgres_url, monkeypatch):
    monkeypatch.setattr(queries, "SPLIT_MIN_OUTLETS", 1)
    conditions = (schema.outlets.c.territory_id == "MUM",)
    statements = []

    def count(connection, cursor, statement, *arguments) -> None:
        if "outlet_last_visit" in statement:
            statements.append(statement)

    engine = demo_engine(fresh_postgres_url)
    try:
        sa.event.listen(engine, "before_cursor_execute", count)
        result = summary_queries.outlet_activity_from_summaries(
            engine, WEEK, Scope(), SETTINGS, conditions
        )
        sa.event.remove(engine, "before_cursor_execute", count)
        expected = queries.outlet_activity(engine, WEEK, Scope(), SETTINGS, conditions)
    finally:
        engine.dispose()

    assert len(statements) == 1
    assert set(result["territory_id"]) == {"MUM"}
    pd.testing.assert_frame_equal(result, expected)


def test_last_week_dates_without_look_ups(sqlite_engine):
    # Two outlets that need no check-in look-up: one visited in the last
    # week, one never visited. Their dates must still come as objects.
    full = queries.outlet_activity(sqlite_engine, WEEK, Scope(), SETTINGS)
    visited = full.loc[full["last_visit_date"].notna() & (full["visits"] > 0)]
    never = full.loc[full["last_visit_date"].isna()]
    chosen = [visited["outlet_id"].iloc[0], never["outlet_id"].iloc[0]]
    conditions = (schema.outlets.c.outlet_id.in_(chosen),)

    result = summary_queries.outlet_activity_from_summaries(
        sqlite_engine, WEEK, Scope(), SETTINGS, conditions
    )

    expected = queries.outlet_activity(
        sqlite_engine, WEEK, Scope(), SETTINGS, conditions
    )
    dates = dict(zip(result["outlet_id"], result["last_visit_date"]))
    assert result["last_visit_date"].dtype == object
    assert dates[chosen[0]] is not None
    assert dates[chosen[1]] is None
    pd.testing.assert_frame_equal(result, expected)
