"""The territories report's outlet flags read each outlet's last visit date
from summary_outlet_weeks when the neglect lookback is whole summarised
weeks, or the whole frame of a week from summary_outlet_flags, and give the
frame of the raw visits on SQLite and PostgreSQL."""

import logging
import shutil
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import schema, summary_queries
from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from metrics.reports import neglect_lookback_start
from tests.database import summarised_demo

TIMEZONE = "Asia/Kolkata"
LAST_DAY = date(2026, 3, 29)
# Five summarised weeks: the 28-day lookback of the last week lies inside them.
FIRST_DAY = date(2026, 2, 23)
WEEK = Period(date(2026, 3, 23), LAST_DAY, TIMEZONE)
THREE_WEEKS = Period(date(2026, 3, 9), LAST_DAY, TIMEZONE)
SETTINGS = Settings(timezone=TIMEZONE)
SCOPES = {
    "everything": Scope(),
    "region": Scope(region_ids=("WEST",)),
    "territory": Scope(territory_ids=("KOL",)),
    "rep": Scope(rep_ids=("R0005",)),
}
SUMMARY_NAME = "territory_outlet_flags_from_summaries"
STORED_NAME = "territory_outlet_flags_from_stored"
RAW_NAME = "territory_outlet_flags"
# (period, neglect window in days, the query that reads the last visits).
CASES = {
    # The lookback from 2026-03-02 is four whole summarised weeks, and the
    # build stored the week's flags for it.
    "week": (WEEK, 28, STORED_NAME),
    # The lookback from 2026-03-09, for which no flags were stored.
    "week_other_window": (WEEK, 21, SUMMARY_NAME),
    # The lookback is the period's last week.
    "three_weeks": (THREE_WEEKS, 7, SUMMARY_NAME),
    # The lookback starts on Friday 2026-02-27, inside a week.
    "mid_week_start": (WEEK, 31, RAW_NAME),
    # The lookback starts on 2026-02-16, a week without summaries.
    "unsummarised_weeks": (WEEK, 42, RAW_NAME),
}


def demo_engine(url: str) -> sa.Engine:
    """Generate the demo company's last 6 weeks at url and summarise the last 5."""
    return summarised_demo(url, 6, Period(FIRST_DAY, LAST_DAY, TIMEZONE), SETTINGS)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("outlet_flags") / "demo.sqlite"
    demo_engine(f"sqlite:///{path}").dispose()
    return str(path)


@pytest.fixture(scope="module")
def engine(demo_file):
    engine = create_engine(f"sqlite:///{demo_file}")
    yield engine
    engine.dispose()


def logged_queries(caplog) -> list[str]:
    """Return the names of the queries fetch_frame logged, as in 'query NAME: ...'."""
    return [
        record.getMessage().split(":")[0].removeprefix("query ")
        for record in caplog.records
        if record.name == "data_access.queries"
        and record.getMessage().startswith("query ")
    ]


def outlet_flags(
    engine: sa.Engine, period: Period, scope: Scope, days: int, use_summaries: bool
) -> pd.DataFrame:
    settings = Settings(timezone=TIMEZONE, neglect_days=days)
    return summary_queries._territory_outlet_flags(
        engine,
        period,
        scope,
        settings,
        use_summaries,
        neglect_lookback_start(period, settings),
    )


@pytest.mark.parametrize("scope_name", list(SCOPES))
@pytest.mark.parametrize("case", list(CASES))
def test_summary_path_matches_raw_path(engine, caplog, case, scope_name):
    period, days, expected_name = CASES[case]
    scope = SCOPES[scope_name]
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = outlet_flags(engine, period, scope, days, use_summaries=True)

    assert expected_name in logged_queries(caplog)
    expected = outlet_flags(engine, period, scope, days, use_summaries=False)
    assert RAW_NAME in logged_queries(caplog)
    assert result["last_visit_date"].notna().any()
    pd.testing.assert_frame_equal(result, expected)


def test_stale_lookback_week_reads_raw_visits(demo_file, tmp_path, caplog):
    """A visit removed from a week before the period makes that week's
    summary stale, so the last visits come from the raw visits."""
    copy = tmp_path / "stale.sqlite"
    shutil.copy(demo_file, copy)
    engine = create_engine(f"sqlite:///{copy}")
    week = Period(date(2026, 3, 2), date(2026, 3, 8), TIMEZONE)
    with engine.begin() as connection:
        visit_id = connection.execute(
            sa.select(schema.visits.c.visit_id)
            .where(
                schema.visits.c.check_in >= week.utc_start,
                schema.visits.c.check_in < week.utc_end,
            )
            .order_by(schema.visits.c.check_in.desc())
            .limit(1)
        ).scalar_one()
        connection.execute(
            schema.orders.delete().where(schema.orders.c.visit_id == visit_id)
        )
        connection.execute(
            schema.visits.delete().where(schema.visits.c.visit_id == visit_id)
        )
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = outlet_flags(engine, WEEK, Scope(), 28, use_summaries=True)

    expected = outlet_flags(engine, WEEK, Scope(), 28, use_summaries=False)
    engine.dispose()
    assert SUMMARY_NAME not in logged_queries(caplog)
    pd.testing.assert_frame_equal(result, expected)


def test_postgresql_summary_path_matches_sqlite(fresh_postgres_url, engine, caplog):
    postgres = demo_engine(fresh_postgres_url)
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = outlet_flags(postgres, WEEK, Scope(), 28, use_summaries=True)

    raw = outlet_flags(postgres, WEEK, Scope(), 28, use_summaries=False)
    postgres.dispose()
    assert logged_queries(caplog)[-2:] == [STORED_NAME, RAW_NAME]
    pd.testing.assert_frame_equal(result, raw)
    expected = outlet_flags(engine, WEEK, Scope(), 28, use_summaries=True)
    pd.testing.assert_frame_equal(in_order(result), in_order(expected))


def in_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort the rows alike on both engines: PostgreSQL orders NULL dates last."""
    keys = [name for name in frame.columns if name != "outlets"]
    return frame.sort_values(keys, na_position="first").reset_index(drop=True)
