"""A summary build leaves PostgreSQL statistics of the tables it filled."""

from datetime import date

import sqlalchemy as sa

from data_access import schema, summaries
from data_access.engine import create_engine
from data_access.filters import Settings
from fixtures.demo import MIN_REPS, generate

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
