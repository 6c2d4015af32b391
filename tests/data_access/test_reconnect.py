"""A dropped connection is retried once, and a reader role with an awkward
password can read, on a real PostgreSQL server."""

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from data_access import queries
from data_access.engine import create_engine
from data_access.filters import Scope
from data_access.schema import TABLES
from tests.database import fill_database
from tests.metrics.small_company import ROWS

DASHBOARD = str(Path(__file__).resolve().parents[2] / "dashboard.py")
READER_PASSWORD = "r@ad%er#1"


def terminate_other_connections(admin: sa.Engine, database: str) -> None:
    with admin.connect() as connection:
        connection.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :database AND pid <> pg_backend_pid()"
            ),
            {"database": database},
        )


def test_dropped_connection_is_retried_once(fresh_postgres_url, caplog):
    fill_database(fresh_postgres_url, ROWS).dispose()
    # Without pre-ping, the pool hands out the dead connection, as it would
    # after a server restart between two page runs.
    engine = sa.create_engine(fresh_postgres_url, pool_size=1)
    admin = sa.create_engine(fresh_postgres_url, poolclass=sa.NullPool)
    queries.rep_list(engine, Scope())
    terminate_other_connections(admin, engine.url.database)

    with caplog.at_level(logging.WARNING, logger="data_access.queries"):
        result = queries.rep_list(engine, Scope())

    engine.dispose()
    admin.dispose()
    assert list(result["rep_id"]) == ["r1", "r2", "r3", "r4"]
    assert "the database connection dropped; retrying once" in caplog.text


def test_query_error_is_not_retried(fresh_postgres_url, caplog):
    engine = create_engine(fresh_postgres_url)

    with caplog.at_level(logging.WARNING, logger="data_access.queries"):
        with pytest.raises(sa.exc.ProgrammingError):
            queries.rep_list(engine, Scope())

    engine.dispose()
    assert "retrying" not in caplog.text


@pytest.fixture
def reader_url(fresh_postgres_url):
    """URL of a role that may only SELECT, whose password has @, % and #."""
    fill_database(fresh_postgres_url, ROWS).dispose()
    admin = sa.create_engine(fresh_postgres_url, poolclass=sa.NullPool)
    role = f"reader_{sa.make_url(fresh_postgres_url).database[-12:]}"
    with admin.begin() as connection:
        # %% is psycopg's escape of a literal % in a statement.
        password = READER_PASSWORD.replace("%", "%%")
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        connection.exec_driver_sql(
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"
        )
    url = sa.make_url(fresh_postgres_url).set(username=role, password=READER_PASSWORD)
    yield url.render_as_string(hide_password=False)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"DROP OWNED BY {role}")
    terminate_other_connections(admin, url.database)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"DROP ROLE {role}")
    admin.dispose()


def test_reader_with_awkward_password_sees_dashboard(monkeypatch, reader_url):
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", reader_url)
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.query_params["week"] = "2026-03-02"

    app.run()

    # The sidebar's filters are read from the database before any page draws.
    territories = app.sidebar.selectbox(key="territory").options
    assert territories == ["Mumbai (T1)", "Pune (T2)"]
    assert not [error.value for error in app.error if "database" in error.value]


def test_reader_cannot_write(reader_url):
    engine = create_engine(reader_url)

    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        with engine.begin() as connection:
            connection.execute(TABLES["reps"].delete())

    engine.dispose()
