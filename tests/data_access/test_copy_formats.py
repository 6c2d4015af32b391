"""COPY data for PostgreSQL in binary and CSV format (see copy_formats)."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from data_access.copy_formats import binary_matches, binary_rows, csv_rows
from data_access.engine import create_engine
from data_access.load import TableCounts, load_directory
from data_access.schema import TABLES, metadata
from data_access.table_files import Chunk
from tests.data_access.test_load import write_files

SAMPLE = sa.Table(
    "sample",
    sa.MetaData(),
    sa.Column("name", sa.Text),
    sa.Column("count", sa.Integer),
    sa.Column("share", sa.Float),
    sa.Column("active", sa.Boolean),
    sa.Column("day", sa.Date),
    sa.Column("moment", sa.DateTime),
)


def sample_chunk() -> Chunk:
    moments = np.array(["2000-01-01T00:00:01", "NaT", "NaT"], dtype="datetime64[us]")
    values = {
        "name": ["é", None, ""],
        "count": [3, None, None],
        "share": [1.5, None, None],
        "active": [True, None, None],
        "day": [date(2000, 1, 2), None, None],
        "moment": moments,
    }
    return Chunk(np.array([2, 3, 4]), None, values, [])


def test_binary_rows_layout() -> None:
    result = bytes(binary_rows(list(SAMPLE.columns), sample_chunk()))

    # Per row: the field count, then per field its length and big-endian value.
    # -1 (ffffffff) is NULL. Dates and timestamps count from 2000-01-01.
    first_row = (
        "0006"
        "00000002c3a9"  # 'é' in UTF-8
        "0000000400000003"
        "000000083ff8000000000000"  # 1.5
        "0000000101"
        "0000000400000001"  # 1 day
        "0000000800000000000f4240"  # 1,000,000 microseconds
    )
    null_row = "0006" + "ffffffff" * 6
    empty_text_row = "0006" + "00000000" + "ffffffff" * 5
    expected = bytes.fromhex(first_row + null_row + empty_text_row)
    assert result == expected


def test_csv_rows_layout() -> None:
    result = bytes(csv_rows(list(SAMPLE.columns), sample_chunk())).decode()

    expected = '"é",3,1.5,true,2000-01-02,2000-01-01 00:00:01.000000\n,,,,,\n"",,,,,\n'
    assert result == expected


def test_binary_matches_schema(fresh_postgres_url: str) -> None:
    engine = create_engine(fresh_postgres_url)
    try:
        metadata.create_all(engine)
        with engine.connect() as connection:
            result = {
                name: binary_matches(connection, name, list(table.columns))
                for name, table in TABLES.items()
            }
    finally:
        engine.dispose()

    expected = {name: True for name in TABLES}
    assert result == expected


def test_other_column_type_loads_as_csv(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    files = {"outlets.csv": "outlet_id,latitude\nO1,12.5\nO2,\n"}
    engine = create_engine(fresh_postgres_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "ALTER TABLE outlets ALTER COLUMN latitude TYPE numeric"
            )
        with engine.connect() as connection:
            matches = binary_matches(
                connection, "outlets", list(TABLES["outlets"].columns)
            )
        first = load_directory(engine, write_files(tmp_path / "first", files))
        second = load_directory(engine, write_files(tmp_path / "second", files))
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT outlet_id, latitude FROM outlets ORDER BY outlet_id"
            ).all()
    finally:
        engine.dispose()

    assert matches is False
    assert first.counts == {"outlets": TableCounts(inserted=2)}
    assert second.counts == {"outlets": TableCounts(updated=2)}
    assert [tuple(row) for row in rows] == [("O1", Decimal("12.5")), ("O2", None)]
