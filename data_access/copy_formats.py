"""The loader's rows as the data of PostgreSQL's COPY, in binary or CSV format.

The binary format is the faster one for the server, which then parses no
text. In a test with 574,000 visits on a shared 2-core machine, the server
spent 0.26 s of CPU time on a binary COPY and 0.73 s on the same rows in CSV.
It requires each value in the exact binary form of its column's type, so it is
used only when every column has the PostgreSQL type that the schema gives it
(binary_matches). The CSV format reads any type from text and is the fallback.

Both are built column by column with numpy and Arrow's compute functions,
which release the GIL, so the loader's check of the next chunk goes on
meanwhile. The binary format is a header, then the rows, then a trailer. A
row is a 16-bit field count, then per field a 32-bit length (-1 for NULL)
and the value's bytes. All numbers are big-endian.
"""

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as arrow_csv
import sqlalchemy as sa

from data_access.table_files import Chunk, ColumnValues

COPY_CSV = "(FORMAT csv)"
COPY_BINARY = "(FORMAT binary)"
# The signature, 32 bits of flags and the 32-bit length of the header extension.
BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
BINARY_TRAILER = b"\xff\xff"
# PostgreSQL counts dates and timestamps from 2000-01-01, 10,957 days after
# 1970-01-01.
POSTGRES_EPOCH_DAYS = 10_957
POSTGRES_EPOCH_MICROSECONDS = POSTGRES_EPOCH_DAYS * 86_400 * 1_000_000
# The separator of binary_join_element_wise, which joins the fields of a row.
_NO_SEPARATOR = pa.scalar(b"", type=pa.large_binary())
# Rows of a chunk that Arrow's CSV writer formats together.
CSV_BATCH_ROWS = 65_536


def postgres_type_name(column_type: sa.types.TypeEngine[Any]) -> str:
    """Return the PostgreSQL type the schema creates for a column type, as
    PostgreSQL's format_type() names it."""
    if isinstance(column_type, sa.DateTime):
        return "timestamp without time zone"
    if isinstance(column_type, sa.Date):
        return "date"
    if isinstance(column_type, sa.Boolean):
        return "boolean"
    if isinstance(column_type, sa.Integer):
        return "integer"
    if isinstance(column_type, sa.Float):
        return "double precision"
    if isinstance(column_type, sa.Text):
        return "text"
    raise TypeError(f"no COPY format for a column of type {column_type}")


def binary_matches(
    connection: sa.Connection, table_name: str, columns: list[sa.Column[Any]]
) -> bool:
    """Return whether each column is stored with the type that the schema
    gives it, so that the binary format can write it.

    A table created outside the loader may differ, such as a NUMERIC
    latitude, which then loads through the CSV format.
    """
    quoted = connection.dialect.identifier_preparer.quote(table_name)
    stored = connection.execute(
        sa.text(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = CAST(:table AS regclass) AND attnum > 0 "
            "AND NOT attisdropped"
        ),
        {"table": quoted},
    )
    types = {name: type_name for name, type_name in stored}
    return all(
        types.get(column.name) == postgres_type_name(column.type) for column in columns
    )


# CSV


def csv_rows(columns: list[sa.Column[Any]], chunk: Chunk) -> pa.Buffer:
    """Return the rows of chunk in COPY's CSV format, the columns in the given
    order.

    An unquoted empty field is NULL and a quoted one ("") an empty text.
    Arrow's CSV writer (pyarrow 26) quotes every text value, doubling its
    quotes, and writes NULL as an empty field, so any text reads back as
    written. It writes a timestamp as 'YYYY-MM-DD HH:MM:SS.ffffff' and a
    float as a short text that reads back as the same double (such as
    0.30000000000000004 for 0.1 + 0.2).
    """
    arrays = [_arrow_array(column, chunk.values[column.name]) for column in columns]
    rows = pa.Table.from_arrays(arrays, names=[column.name for column in columns])
    options = arrow_csv.WriteOptions(
        include_header=False, batch_size=CSV_BATCH_ROWS, quoting_style="needed"
    )
    sink = pa.BufferOutputStream()
    arrow_csv.write_csv(rows, sink, options)
    return sink.getvalue()


def _arrow_array(column: sa.Column[Any], values: ColumnValues) -> pa.Array:
    """Return the values of a column as an Arrow array, null for None and NaT."""
    if isinstance(values, np.ndarray):
        return pa.array(values, type=pa.timestamp("us"), mask=np.isnat(values))
    return arrow_values(column, values)


def arrow_values(column: sa.Column[Any], values: ColumnValues) -> pa.Array | np.ndarray:
    """Return a list of a column's values as an Arrow array, null for None.

    An Arrow array takes a fraction of the memory of a list of Python
    objects. A timestamp column's numpy array and an Arrow array are
    returned as they are.
    """
    if isinstance(values, np.ndarray | pa.Array):
        return values
    return pa.array(values, type=_ARROW_TYPES[postgres_type_name(column.type)])


_ARROW_TYPES = {
    "timestamp without time zone": pa.timestamp("us"),
    "date": pa.date32(),
    "boolean": pa.bool_(),
    "integer": pa.int64(),
    "double precision": pa.float64(),
    # 64-bit offsets: a chunk of long outlines may pass 2 GiB of text.
    "text": pa.large_string(),
}


# Binary


def binary_rows(columns: list[sa.Column[Any]], chunk: Chunk) -> pa.Buffer:
    """Return the rows of chunk in COPY's binary format, without the header
    and trailer, the columns in the given order."""
    count = len(chunk)
    field_count = np.full(count, len(columns), dtype=">i2")
    fields = [_binary_array(np.full(count, 2), field_count.view(np.uint8))]
    for column in columns:
        fields.append(_binary_fields(column, chunk.values[column.name]))
    rows = pc.binary_join_element_wise(*fields, _NO_SEPARATOR)
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)
    start, end = offsets[rows.offset], offsets[rows.offset + count]
    return rows.buffers()[2][start:end]


def _binary_fields(column: sa.Column[Any], values: ColumnValues) -> pa.Array:
    """Return each row's field of one column: its length and its value."""
    if isinstance(values, np.ndarray):
        missing = np.isnat(values)
        since_1970 = values.astype("datetime64[us]", copy=False).view(np.int64)
        microseconds = since_1970 - POSTGRES_EPOCH_MICROSECONDS
        return _fixed_width_fields(microseconds.astype(">i8"), missing)

    type_name = postgres_type_name(column.type)
    array = arrow_values(column, values)
    if type_name == "text":
        return _text_fields(array)
    missing = array.is_null().to_numpy(zero_copy_only=False)
    if type_name == "date":
        days = array.cast(pa.int32()).fill_null(0).to_numpy()
        numbers = (days - POSTGRES_EPOCH_DAYS).astype(">i4")
    elif type_name == "boolean":
        numbers = array.fill_null(False).to_numpy(zero_copy_only=False).astype("u1")
    elif type_name == "integer":
        # The loader accepts only values in the range of a 4-byte integer.
        numbers = array.fill_null(0).to_numpy().astype(">i4")
    else:
        numbers = array.fill_null(0.0).to_numpy().astype(">f8")
    return _fixed_width_fields(numbers, missing)


def _fixed_width_fields(numbers: np.ndarray, missing: np.ndarray | None) -> pa.Array:
    """Return fields of big-endian values; a missing value is a length of -1
    without bytes."""
    count, width = len(numbers), numbers.dtype.itemsize
    record = np.empty(count, dtype=[("length", ">i4"), ("value", numbers.dtype)])
    record["length"] = width
    record["value"] = numbers
    raw = record.view(np.uint8).reshape(count, 4 + width)
    lengths = np.full(count, 4 + width, dtype=np.int64)
    if missing is not None and missing.any():
        record["length"][missing] = -1
        keep = np.ones(raw.shape, dtype=bool)
        keep[missing, 4:] = False
        data = raw[keep]
        lengths[missing] = 4
    else:
        data = raw.reshape(-1)
    return _binary_array(lengths, data)


def _text_fields(texts: pa.Array) -> pa.Array:
    """Return fields of UTF-8 texts; a NULL is a length of -1 without bytes."""
    lengths = pc.binary_length(texts).fill_null(-1).to_numpy().astype(">i4")
    prefixes = _binary_array(
        np.full(len(texts), 4, dtype=np.int64), lengths.view(np.uint8)
    )
    values = texts.cast(pa.large_binary()).fill_null(b"")
    return pc.binary_join_element_wise(prefixes, values, _NO_SEPARATOR)


def _binary_array(lengths: np.ndarray, data: np.ndarray) -> pa.Array:
    """Return the large_binary array whose values are data cut at lengths."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))]
    return pa.Array.from_buffers(pa.large_binary(), len(lengths), buffers)
