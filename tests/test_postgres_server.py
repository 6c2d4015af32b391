"""The PostgreSQL fixtures give a real server and private empty databases."""

import sqlalchemy as sa

from tests.postgres_server import fresh_database


def query_rows(url: str, statement: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(statement))]
    finally:
        engine.dispose()


def test_server_reports_postgresql_version(postgres_url: str) -> None:
    [(result,)] = query_rows(postgres_url, "select version()")

    assert isinstance(result, str)
    assert result.startswith("PostgreSQL ")


def test_server_url_names_test_database(postgres_url: str) -> None:
    [(result,)] = query_rows(postgres_url, "select current_database()")

    assert result == sa.make_url(postgres_url).database


def test_fresh_database_stores_and_returns_rows(fresh_postgres_url: str) -> None:
    engine = sa.create_engine(fresh_postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text("create table outlets (outlet_id text primary key, name text)")
            )
            connection.execute(
                sa.text("insert into outlets values (:outlet_id, :name)"),
                [
                    {"outlet_id": "O2", "name": "Metro Mart"},
                    {"outlet_id": "O1", "name": "Kirana One"},
                ],
            )
    finally:
        engine.dispose()

    result = query_rows(fresh_postgres_url, "select * from outlets order by outlet_id")

    expected = [("O1", "Kirana One"), ("O2", "Metro Mart")]
    assert result == expected


def test_fresh_databases_are_empty_and_separate(postgres_url: str) -> None:
    with fresh_database(postgres_url) as first, fresh_database(postgres_url) as second:
        engine = sa.create_engine(first)
        try:
            with engine.begin() as connection:
                connection.execute(sa.text("create table visits (visit_id text)"))
        finally:
            engine.dispose()

        result = query_rows(
            second,
            "select table_name from information_schema.tables "
            "where table_schema = 'public'",
        )

    assert first != second
    assert result == []


def test_fresh_database_is_dropped_after_use(postgres_url: str) -> None:
    with fresh_database(postgres_url) as url:
        name = sa.make_url(url).database

    result = query_rows(
        postgres_url, f"select datname from pg_database where datname = '{name}'"
    )

    assert result == []
