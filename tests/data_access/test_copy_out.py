"""PostgreSQL's COPY read gives the values that the driver's rows give."""

import logging
from datetime import date, datetime

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from data_access import queries
from data_access.dialect import copy_out_table
from data_access.engine import create_engine, prepare_engine
from tests.data_access.test_reconnect import terminate_other_connections

metadata = sa.MetaData()
samples = sa.Table(
    "copy_samples",
    metadata,
    sa.Column("outlet_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("visits", sa.BigInteger),
    sa.Column("active", sa.Boolean),
    sa.Column("value", sa.Float),
    sa.Column("check_in", sa.DateTime),
    sa.Column("day", sa.Date),
)

# Text that CSV must quote, text that looks like a number or a NULL, and
# floats whose shortest digits a rounded output would lose.
ROWS = [
    {
        "outlet_id": "007",
        "name": 'Shah & Sons, "Main" Rd',
        "visits": 3,
        "active": True,
        "value": 0.1 + 0.2,
        "check_in": datetime(2026, 3, 23, 9, 0, 0, 123456),
        "day": date(2026, 3, 23),
    },
    {
        "outlet_id": "o-2",
        "name": "Line one\nline two",
        "visits": None,
        "active": False,
        "value": -1234567.891,
        "check_in": None,
        "day": None,
    },
    {
        "outlet_id": "O\u00e9",
        "name": "",
        "visits": 2**40,
        "active": None,
        "value": None,
        "check_in": datetime(2026, 3, 29, 23, 59, 59),
        "day": date(2025, 12, 31),
    },
    {
        "outlet_id": "NULL",
        "name": None,
        "visits": 0,
        "active": True,
        "value": 1e-300,
        "check_in": datetime(2026, 1, 1),
        "day": date(2026, 1, 1),
    },
]


@pytest.fixture
def engine(fresh_postgres_url):
    # Settings that change COPY's text, as a company's server may have them:
    # day-first dates, 15 digits for floats and a Latin-1 session.
    admin = sa.create_engine(fresh_postgres_url, poolclass=sa.NullPool)
    with admin.begin() as connection:
        database = connection.exec_driver_sql("SELECT current_database()").scalar()
        connection.exec_driver_sql(
            f"ALTER DATABASE \"{database}\" SET DateStyle = 'SQL, DMY'"
        )
        connection.exec_driver_sql(
            f'ALTER DATABASE "{database}" SET extra_float_digits = 0'
        )
        connection.exec_driver_sql(
            f"ALTER DATABASE \"{database}\" SET client_encoding = 'LATIN1'"
        )
    admin.dispose()
    engine = create_engine(fresh_postgres_url)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(samples.insert(), ROWS)
    yield engine
    engine.dispose()


def test_copy_values_equal_stored_values(engine):
    statement = sa.select(samples).order_by(samples.c.outlet_id)

    with engine.connect() as connection:
        table = copy_out_table(connection, statement)
        driver_rows = [row._asdict() for row in connection.execute(statement)]

    expected = sorted(ROWS, key=lambda row: row["outlet_id"])
    assert table.to_pylist() == expected
    assert driver_rows == expected


@pytest.mark.parametrize(
    "condition",
    [sa.true(), samples.c.name.is_(None), samples.c.outlet_id == "missing"],
    ids=["all rows", "names all null", "no rows"],
)
def test_copy_frame_dtypes_equal_driver_frame(engine, condition):
    statement = sa.select(samples).where(condition).order_by(samples.c.outlet_id)

    result = queries.frame_of_table(
        queries.fetch_copy_table(engine, "samples", statement)
    )

    expected = queries.frame_of_rows(
        *queries.fetch_driver_rows(engine, "samples", statement)
    )
    pd.testing.assert_frame_equal(result, expected, check_exact=True)


def test_copy_columns_take_statement_types(engine):
    statement = sa.select(samples.c.outlet_id, samples.c.visits, samples.c.day)

    with engine.connect() as connection:
        table = copy_out_table(connection, statement)

    assert table.schema.types == [pa.string(), pa.int64(), pa.date32()]


def test_copy_of_no_rows_keeps_columns(engine):
    statement = sa.select(samples).where(samples.c.outlet_id == "missing")

    with engine.connect() as connection:
        table = copy_out_table(connection, statement)

    assert table.num_rows == 0
    assert table.column_names == [column.name for column in samples.columns]


def test_copy_rejects_numeric_columns(engine):
    statement = sa.select(sa.cast(samples.c.value, sa.Numeric(12, 2)))

    with engine.connect() as connection, pytest.raises(TypeError, match="Numeric"):
        copy_out_table(connection, statement)


def test_statement_hooks_see_the_copy(engine):
    seen = []

    def record(connection, cursor, statement, *arguments) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        queries.fetch_copy_table(engine, "samples", sa.select(samples))
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)

    assert [text for text in seen if text.startswith("COPY (SELECT")]


def test_copy_after_dropped_connection_retries_once(fresh_postgres_url, engine, caplog):
    # Without pre-ping, the pool hands out the dead connection, as it would
    # after a server restart between two page runs.
    reader = prepare_engine(sa.create_engine(fresh_postgres_url, pool_size=1))
    admin = sa.create_engine(fresh_postgres_url, poolclass=sa.NullPool)
    queries.fetch_copy_table(reader, "samples", sa.select(samples))
    terminate_other_connections(admin, reader.url.database)

    with caplog.at_level(logging.WARNING, logger="data_access.queries"):
        table = queries.fetch_copy_table(reader, "samples", sa.select(samples))

    reader.dispose()
    admin.dispose()
    assert table.num_rows == len(ROWS)
    assert "the database connection dropped; retrying once" in caplog.text


def test_dropped_copy_is_marked_invalidated(fresh_postgres_url, engine):
    admin = sa.create_engine(fresh_postgres_url, poolclass=sa.NullPool)
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
        terminate_other_connections(admin, engine.url.database)

        with pytest.raises(sa.exc.DBAPIError) as raised:
            copy_out_table(connection, sa.select(samples))

    admin.dispose()
    assert raised.value.connection_invalidated
