"""SQLite's Arrow read through the ADBC driver gives the values of Python's
sqlite3 rows, opens the database read-only, and gives way to those rows
where it cannot run."""

import hashlib
import logging
import sqlite3
from datetime import date, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import dialect, queries
from data_access.dialect import (
    ADBC_SQLITE_BATCH_ROWS,
    ArrowReadUnavailable,
    local_date,
    sqlite_arrow_table,
)
from data_access.engine import create_engine
from tests.data_access.test_copy_out import ROWS as COPY_ROWS
from tests.data_access.test_copy_out import metadata, samples

# The values of the COPY read's test, and text beyond the Basic
# Multilingual Plane, which a Latin-1 session could not carry.
ROWS = [
    *COPY_ROWS,
    {
        "outlet_id": "o-5",
        "name": "Caf\u00e9 \U0001f600",
        "visits": 1,
        "active": True,
        "value": 2.5,
        "check_in": datetime(2026, 3, 2, 4, 0),
        "day": date(2026, 3, 2),
    },
]


def sample_engine(path) -> sa.Engine:
    engine = create_engine(sa.URL.create("sqlite", database=str(path)))
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(samples.insert(), ROWS)
    return engine


@pytest.fixture
def engine(tmp_path):
    engine = sample_engine(tmp_path / "samples.sqlite")
    yield engine
    engine.dispose()


def driver_frame(engine: sa.Engine, statement: sa.Select) -> pd.DataFrame:
    return queries.frame_of_rows(
        *queries.fetch_driver_rows(engine, "samples", statement)
    )


def arrow_frame(engine: sa.Engine, statement: sa.Select) -> pd.DataFrame:
    with engine.connect() as connection:
        return queries.frame_of_table(sqlite_arrow_table(connection, statement))


@pytest.mark.parametrize(
    "condition",
    [
        sa.true(),
        samples.c.name.is_(None),
        samples.c.outlet_id == "missing",
        samples.c.outlet_id.in_(["007", "NULL"]),
        samples.c.check_in >= datetime(2026, 3, 1),
        # A row sits on these bounds, so a bound without its fraction or
        # with ISO's 'T' would move it across.
        samples.c.check_in >= datetime(2026, 1, 1),
        samples.c.check_in <= datetime(2026, 1, 1),
        samples.c.day == date(2026, 1, 1),
        samples.c.active.is_(True),
        samples.c.active == sa.bindparam("active", True, type_=sa.Boolean),
    ],
    ids=[
        "all rows",
        "names all null",
        "no rows",
        "list of ids",
        "datetime bound",
        "from a row's instant",
        "up to a row's instant",
        "date bound",
        "boolean test",
        "boolean parameter",
    ],
)
def test_arrow_frame_equals_driver_frame(engine, condition):
    statement = sa.select(samples).where(condition).order_by(samples.c.outlet_id)

    result = arrow_frame(engine, statement)

    expected = driver_frame(engine, statement)
    pd.testing.assert_frame_equal(result, expected, check_exact=True)


def test_arrow_read_selects_the_bound_rows(engine):
    statement = sa.select(samples.c.outlet_id).where(
        samples.c.check_in >= datetime(2026, 3, 1)
    )

    with engine.connect() as connection:
        table = sqlite_arrow_table(connection, statement)

    assert sorted(table.column("outlet_id").to_pylist()) == ["007", "O\u00e9", "o-5"]


def test_text_after_many_nulls_keeps_its_type(tmp_path):
    # The driver infers a column's type from its first batch of rows.
    engine = sample_engine(tmp_path / "late.sqlite")
    with engine.begin() as connection:
        connection.execute(samples.delete())
    rows = [
        {"outlet_id": f"o{number:05d}", "name": None, "visits": number}
        for number in range(3000)
    ]
    rows[2500]["name"] = "late name"
    rows[2600]["visits"] = None
    with engine.begin() as connection:
        connection.execute(samples.insert(), rows)
    statement = sa.select(
        samples.c.outlet_id, samples.c.name, samples.c.visits
    ).order_by(samples.c.outlet_id)

    result = arrow_frame(engine, statement)

    assert ADBC_SQLITE_BATCH_ROWS >= len(rows)
    assert result.loc[2500, "name"] == "late name"
    pd.testing.assert_frame_equal(result, driver_frame(engine, statement))
    engine.dispose()


def test_odd_file_name_opens_read_only(tmp_path):
    folder = tmp_path / "sales #1? 100%"
    folder.mkdir()
    path = folder / "sfa?.sqlite"
    engine = sample_engine(path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    files = sorted(tmp_path.rglob("*"))

    result = arrow_frame(engine, sa.select(samples).order_by(samples.c.outlet_id))

    engine.dispose()
    assert list(result["outlet_id"]) == sorted(row["outlet_id"] for row in ROWS)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(tmp_path.rglob("*")) == files


def test_statement_hooks_see_the_read(engine):
    seen = []

    def keep(connection, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", keep)
    statement = sa.select(samples.c.outlet_id).where(samples.c.visits > 2)
    arrow_frame(engine, statement)
    sa.event.remove(engine, "before_cursor_execute", keep)

    reads = [entry for entry in seen if samples.name in entry[0]]
    assert len(reads) == 1
    assert reads[0][1] == [2]


def test_in_memory_database_is_unavailable():
    engine = create_engine("sqlite://")
    metadata.create_all(engine)

    with engine.connect() as connection:
        with pytest.raises(ArrowReadUnavailable, match="in memory"):
            sqlite_arrow_table(connection, sa.select(samples))
    engine.dispose()


def test_python_function_reads_driver_rows(engine, caplog):
    # The ADBC driver's own SQLite lacks the functions that Beatboard
    # registers on sqlite3's connections.
    statement = sa.select(
        samples.c.outlet_id, local_date(samples.c.check_in, "Asia/Kolkata")
    ).order_by(samples.c.outlet_id)

    with caplog.at_level(logging.WARNING, logger="data_access.queries"):
        result = queries._sqlite_frame(engine, "samples", statement)

    assert "reading Python's sqlite3 rows" in caplog.text
    assert "bb_local_date" in caplog.text
    pd.testing.assert_frame_equal(result, driver_frame(engine, statement))


def test_text_in_number_column_reads_driver_rows(engine, caplog):
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"UPDATE {samples.name} SET visits = 'many' WHERE outlet_id = '007'"
        )
    statement = sa.select(samples.c.outlet_id, samples.c.visits).order_by(
        samples.c.outlet_id
    )

    with caplog.at_level(logging.WARNING, logger="data_access.queries"):
        result = queries._sqlite_frame(engine, "samples", statement)

    assert "column visits came back as string" in caplog.text
    assert result.loc[0, "visits"] == "many"
    pd.testing.assert_frame_equal(result, driver_frame(engine, statement))


def test_read_only_engine_reads_arrow(tmp_path):
    # The dashboard's engine opens the file through a file: URI with mode=ro.
    path = tmp_path / "sfa.sqlite"
    sample_engine(path).dispose()
    engine = create_engine(sa.URL.create("sqlite", database=str(path)), read_only=True)
    statement = sa.select(samples).order_by(samples.c.outlet_id)

    result = arrow_frame(engine, statement)

    pd.testing.assert_frame_equal(result, driver_frame(engine, statement))
    engine.dispose()


def test_blob_in_text_column_reads_driver_rows(engine, caplog):
    # The driver would turn every name into bytes, sqlite3 only this one.
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"UPDATE {samples.name} SET name = CAST(name AS BLOB) "
            "WHERE outlet_id = '007'"
        )
    statement = sa.select(samples.c.outlet_id, samples.c.name).order_by(
        samples.c.outlet_id
    )

    with caplog.at_level(logging.WARNING, logger="data_access.queries"):
        result = queries._sqlite_frame(engine, "samples", statement)

    assert "column name came back as binary" in caplog.text
    names = dict(zip(result["outlet_id"], result["name"]))
    assert names["007"] == b'Shah & Sons, "Main" Rd'
    assert names["o-5"] == "Caf\u00e9 \U0001f600"
    pd.testing.assert_frame_equal(result, driver_frame(engine, statement))


def test_invalid_utf8_fails_as_before(engine, caplog):
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"UPDATE {samples.name} SET name = CAST(x'4162ff' AS TEXT) "
            "WHERE outlet_id = '007'"
        )
    statement = sa.select(samples.c.outlet_id, samples.c.name)

    with caplog.at_level(logging.WARNING, logger="data_access.queries"):
        with pytest.raises(sqlite3.OperationalError, match="decode"):
            queries._sqlite_frame(engine, "samples", statement)

    assert "invalid values" in caplog.text


def test_missing_driver_reads_driver_rows(engine, monkeypatch, caplog):
    monkeypatch.setattr(dialect, "adbc_driver_sqlite", None)
    statement = sa.select(samples).order_by(samples.c.outlet_id)

    with caplog.at_level(logging.WARNING, logger="data_access.queries"):
        result = queries._sqlite_frame(engine, "samples", statement)

    assert "the ADBC SQLite driver is not installed" in caplog.text
    pd.testing.assert_frame_equal(result, driver_frame(engine, statement))


def test_driver_failure_warns_in_one_line(engine, caplog):
    statement = sa.select(
        samples.c.outlet_id, local_date(samples.c.check_in, "Asia/Kolkata")
    )

    with caplog.at_level(logging.WARNING, logger="data_access.queries"):
        queries._sqlite_frame(engine, "samples", statement)

    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "\n" not in warnings[0]
    assert "SELECT" not in warnings[0]


@pytest.mark.parametrize("folder_name", ["h#sh", "what?", "100% done", "a b"])
def test_read_only_engine_opens_odd_path(tmp_path, folder_name):
    folder = tmp_path / folder_name
    folder.mkdir()
    path = folder / "sfa.sqlite"
    sample_engine(path).dispose()
    files = sorted(tmp_path.rglob("*"))
    engine = create_engine(sa.URL.create("sqlite", database=str(path)), read_only=True)
    statement = sa.select(samples).order_by(samples.c.outlet_id)

    result = arrow_frame(engine, statement)
    expected = driver_frame(engine, statement)

    engine.dispose()
    pd.testing.assert_frame_equal(result, expected)
    assert len(result) == len(ROWS)
    assert sorted(tmp_path.rglob("*")) == files
