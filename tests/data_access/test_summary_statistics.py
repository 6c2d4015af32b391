"""A load and a summary build leave PostgreSQL statistics of the tables they fill."""

from datetime import date

import sqlalchemy as sa

from data_access import schema, summaries
from data_access.engine import create_engine
from data_access.filters import Settings
from data_access.load import load_directory
from fixtures.demo import MIN_REPS, generate
from tests.data_access.test_load import GOOD_FILES, GOOD_ROWS, write_files

LAST_DAY = date(2026, 3, 29)
SETTINGS = Settings(timezone="Asia/Kolkata")


def test_build_analyzes_summary_tables(fresh_postgres_url):
    engine = create_engine(fresh_postgres_url)
    try:
        generate(engine, reps=MIN_REPS, weeks=1, end_date=LAST_DAY)
        summaries.build_summaries(engine, LAST_DAY, LAST_DAY, SETTINGS)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT relname FROM pg_stat_user_tables "
                    "WHERE last_analyze IS NOT NULL"
                )
            )
            result = {row.relname for row in rows}
    finally:
        engine.dispose()

    expected = set(schema.SUMMARY_TABLES)
    assert expected <= result


def test_load_analyzes_loaded_tables(fresh_postgres_url, tmp_path):
    engine = create_engine(fresh_postgres_url)
    directory = write_files(tmp_path / "csv", GOOD_FILES)
    try:
        load_directory(engine, directory)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT relname FROM pg_stat_user_tables "
                    "WHERE last_analyze IS NOT NULL"
                )
            )
            result = {row.relname for row in rows}
    finally:
        engine.dispose()

    expected = set(GOOD_ROWS)
    assert expected <= result
