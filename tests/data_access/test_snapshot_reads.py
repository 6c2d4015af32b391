"""A check of summary rows and the read that relies on it share one snapshot,
so a build that deletes and writes rows between them changes neither."""

import pytest
import sqlalchemy as sa

from data_access.dialect import snapshot_connection
from data_access.engine import create_engine
from data_access.queries import fetch_frame_if

ROWS = sa.table("stored_rows", sa.column("week"))


def new_engine(request, tmp_path) -> sa.Engine:
    """A database with stored_rows of three weeks, on SQLite in WAL mode (where
    a writer may commit while another connection reads) or on PostgreSQL."""
    if request.param == "postgresql":
        url = request.getfixturevalue("fresh_postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'snapshot.sqlite'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.exec_driver_sql("CREATE TABLE stored_rows (week INTEGER)")
        connection.exec_driver_sql("INSERT INTO stored_rows VALUES (1), (2), (3)")
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    engine = new_engine(request, tmp_path)
    yield engine
    engine.dispose()


def delete_last_week(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM stored_rows WHERE week = 3")


def count(connection: sa.Connection) -> int:
    return connection.execute(sa.select(sa.func.count()).select_from(ROWS)).scalar()


def test_snapshot_hides_a_later_commit(engine):
    with snapshot_connection(engine) as connection:
        before = count(connection)
        delete_last_week(engine)
        result = count(connection)

    assert before == 3
    assert result == 3
    with engine.connect() as connection:
        assert count(connection) == 2


def test_read_keeps_the_rows_its_check_saw(engine):
    def check(connection: sa.Connection) -> bool:
        complete = count(connection) == 3
        # A build's commit between the check and the read.
        delete_last_week(engine)
        return complete

    statement = sa.select(ROWS.c.week).order_by(ROWS.c.week)

    result = fetch_frame_if(engine, "stored_rows", check, statement)

    assert result["week"].tolist() == [1, 2, 3]


def test_failed_check_reads_nothing(engine):
    statement = sa.select(ROWS.c.week)

    result = fetch_frame_if(engine, "stored_rows", lambda connection: False, statement)

    assert result is None
