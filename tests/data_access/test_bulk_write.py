"""Writing the loader's chunks into SQLite (see bulk_write)."""

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from data_access import bulk_write
from data_access.engine import create_engine
from data_access.load import TableCounts, load_directory
from tests.data_access.test_load import table_contents, write_files


def numpy_texts(values: np.ndarray) -> list[str | None]:
    """Return the texts that np.datetime_as_string writes, with a space."""
    texts = np.datetime_as_string(values, unit="us").tolist()
    return [
        None if missing else text.replace("T", " ")
        for text, missing in zip(texts, np.isnat(values).tolist(), strict=True)
    ]


def test_timestamp_texts_match_numpy() -> None:
    first = np.datetime64("0001-01-01T00:00:00", "us").astype(np.int64)
    last = np.datetime64("9999-12-31T23:59:59.999999", "us").astype(np.int64)
    generator = np.random.default_rng(7)
    values = generator.integers(first, last, 100_000).view("datetime64[us]")
    values[::9] = np.datetime64("NaT")
    edges = np.array(
        [
            "0001-01-01T00:00:00",
            "9999-12-31T23:59:59.999999",
            "1969-12-31T23:59:59.999999",
            "1970-01-01T00:00:00",
            "1900-02-28T23:59:59",
            "1900-03-01T00:00:00",
            "2000-02-29T12:00:00.000001",
            "2100-03-01T00:00:00",
        ],
        dtype="datetime64[us]",
    )
    values = np.concatenate([values, edges])

    result = bulk_write._timestamp_texts(values, separator=" ", null=None)

    assert result == numpy_texts(values)


def test_timestamp_texts_every_day() -> None:
    days = np.arange(np.datetime64("1899-12-25"), np.datetime64("2201-01-05"))
    values = days.astype("datetime64[us]") + np.timedelta64(45_296_000_789, "us")

    result = bulk_write._timestamp_texts(values, separator=" ", null=None)

    assert result == numpy_texts(values)


def test_timestamp_texts_after_year_9999() -> None:
    # Five-digit years do not fit the arrays' layout, so numpy formats them.
    values = np.array(["10000-01-01T00:00:00", "NaT"], dtype="datetime64[us]")

    result = bulk_write._timestamp_texts(values, separator=" ", null="-")

    expected = bulk_write._timestamp_texts_by_numpy(values, separator=" ", null="-")
    assert result == expected


def test_timestamp_texts_empty() -> None:
    values = np.array([], dtype="datetime64[us]")

    assert bulk_write._timestamp_texts(values, separator=" ", null=None) == []


def outlet_files(count: int, name: str) -> dict[str, str]:
    lines = [f"O{number},{name} {number},12.5,77.{number}" for number in range(count)]
    header = "outlet_id,name,latitude,longitude"
    return {"outlets.csv": "\n".join([header, *lines]) + "\n"}


@pytest.mark.parametrize("statement_rows", [1, 7, 50])
def test_sqlite_upsert_statements_store_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statement_rows: int
) -> None:
    monkeypatch.setattr(bulk_write, "SQLITE_ROWS_PER_UPSERT", statement_rows)
    engine = create_engine(f"sqlite:///{tmp_path / 'sfa.sqlite'}")
    try:
        first = load_directory(
            engine, write_files(tmp_path / "a", outlet_files(120, "A"))
        )
        # The second load updates the 120 stored outlets and inserts three.
        second = load_directory(
            engine, write_files(tmp_path / "b", outlet_files(123, "B"))
        )
        contents = table_contents(engine)["outlets"]
    finally:
        engine.dispose()

    assert first.counts["outlets"] == TableCounts(inserted=120)
    assert second.counts["outlets"] == TableCounts(inserted=3, updated=120)
    expected = sorted(
        (
            f"O{number}",
            f"B {number}",
            None,
            12.5,
            float(f"77.{number}"),
            None,
            None,
            True,
        )
        for number in range(123)
    )
    assert sorted(contents) == expected


def test_sqlite_statement_rows_fit_parameter_limit(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'sfa.sqlite'}")
    table = sa.Table(
        "wide",
        sa.MetaData(),
        sa.Column("key", sa.Text, primary_key=True),
        *(sa.Column(f"value_{number}", sa.Integer) for number in range(99)),
    )
    try:
        with engine.begin() as connection:
            table.create(connection)
            names = list(table.columns.keys())
            writer = bulk_write.TableWriter(connection, table, names, empty_table=False)
            rows = writer._sqlite_rows_per_upsert()
    finally:
        engine.dispose()

    assert rows == bulk_write.SQLITE_MAX_PARAMETERS // 100


@pytest.mark.parametrize(("setting", "expected"), [("64MB", "256MB"), ("1GB", "1GB")])
def test_index_build_memory_only_raised(
    fresh_postgres_url: str, setting: str, expected: str
) -> None:
    engine = create_engine(fresh_postgres_url)
    show = "SHOW maintenance_work_mem"
    try:
        with engine.connect() as connection:
            before = connection.exec_driver_sql(show).scalar()
        with engine.begin() as connection:
            connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{setting}'")
            bulk_write._raise_index_build_memory(connection)
            during = connection.exec_driver_sql(show).scalar()
        with engine.connect() as connection:
            after = connection.exec_driver_sql(show).scalar()
    finally:
        engine.dispose()

    assert during == expected
    # SET LOCAL ends with the transaction.
    assert after == before
