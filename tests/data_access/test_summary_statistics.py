"""A load and a summary build leave PostgreSQL statistics of the tables they
fill, and those tables vacuumed."""

from datetime import date, timedelta

import sqlalchemy as sa

from data_access import schema, summaries
from data_access.engine import create_engine
from data_access.filters import Settings
from data_access.load import load_directory
from fixtures.demo import MIN_REPS, generate
from tests.data_access.test_load import GOOD_FILES, GOOD_ROWS, write_files

LAST_DAY = date(2026, 3, 29)
SETTINGS = Settings(timezone="Asia/Kolkata")


def analyzed_tables(engine: sa.Engine) -> set[str]:
    """Return the names of the tables that an explicit ANALYZE has run on.

    Autovacuum's analyses set last_autoanalyze instead of last_analyze, so
    they are not counted.
    """
    query = "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
    with engine.connect() as connection:
        return {row.relname for row in connection.execute(sa.text(query))}


def tables_with_hidden_pages(engine: sa.Engine) -> set[str]:
    """Return the names of the tables with pages that the visibility map does
    not mark all-visible, whose rows an index-only scan must still fetch."""
    query = (
        "SELECT relname FROM pg_class "
        "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
        "AND relallvisible < relpages"
    )
    with engine.connect() as connection:
        return {row.relname for row in connection.execute(sa.text(query))}


def test_build_analyzes_summary_tables(fresh_postgres_url):
    engine = create_engine(fresh_postgres_url)
    try:
        generate(engine, reps=MIN_REPS, weeks=1, end_date=LAST_DAY)
        summaries.build_summaries(engine, LAST_DAY, LAST_DAY, SETTINGS)
        result = analyzed_tables(engine)
    finally:
        engine.dispose()

    expected = set(schema.SUMMARY_TABLES)
    assert expected <= result


def test_build_steps_refresh_every_summary_table():
    steps = [
        *summaries.WEEK_TABLES,
        schema.summary_skipped_calls,
        *summaries.FILLED_TABLES,
    ]

    result = sorted(table.name for table in steps)

    assert result == sorted(schema.SUMMARY_TABLES)


def test_build_analyzes_week_tables_first(fresh_postgres_url):
    engine = create_engine(fresh_postgres_url)
    statements: list[str] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def record(connection, cursor, statement, *args) -> None:
        statements.append(statement)

    try:
        generate(engine, reps=MIN_REPS, weeks=10, end_date=LAST_DAY)
        first_day = LAST_DAY - timedelta(days=7 * 10 - 1)
        summaries.build_summaries(engine, first_day, LAST_DAY, SETTINGS, workers=1)
    finally:
        engine.dispose()

    def first(*parts: str) -> int:
        return next(
            index
            for index, statement in enumerate(statements)
            if all(part in statement for part in parts)
        )

    # The outlet flags read summary_outlet_weeks, and revenue at risk reads
    # summary_skipped_calls.
    analyzed_weeks = first("ANALYZE", "summary_outlet_weeks")
    analyzed_skips = first("ANALYZE", "summary_skipped_calls")
    flags_counted = first("INSERT INTO counted_summary_outlet_flags")
    risk_counted = first("INSERT INTO counted_summary_rep_week_risk")
    assert analyzed_weeks < flags_counted
    assert analyzed_skips < risk_counted


def test_load_analyzes_loaded_tables(fresh_postgres_url, tmp_path):
    engine = create_engine(fresh_postgres_url)
    directory = write_files(tmp_path / "csv", GOOD_FILES)
    try:
        load_directory(engine, directory)
        result = analyzed_tables(engine)
    finally:
        engine.dispose()

    expected = set(GOOD_ROWS)
    assert expected <= result


def test_build_vacuums_summary_tables(fresh_postgres_url):
    engine = create_engine(fresh_postgres_url)
    try:
        generate(engine, reps=MIN_REPS, weeks=2, end_date=LAST_DAY)
        summaries.build_summaries(engine, LAST_DAY, LAST_DAY, SETTINGS)
        # A rebuild deletes the week's rows and writes them again.
        summaries.build_summaries(engine, LAST_DAY, LAST_DAY, SETTINGS)
        result = tables_with_hidden_pages(engine) & set(schema.SUMMARY_TABLES)
    finally:
        engine.dispose()

    expected = set()
    assert result == expected


def test_load_vacuums_loaded_tables(fresh_postgres_url, tmp_path):
    engine = create_engine(fresh_postgres_url)
    directory = write_files(tmp_path / "csv", GOOD_FILES)
    try:
        load_directory(engine, directory)
        result = tables_with_hidden_pages(engine) & set(GOOD_ROWS)
    finally:
        engine.dispose()

    expected = set()
    assert result == expected
