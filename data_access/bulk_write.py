"""Write the loader's chunks through each engine's bulk path.

SQLite gets one executemany of plain tuples per chunk, and PostgreSQL gets
COPY in its binary or CSV format (see copy_formats). Both run on the DBAPI
connection of the caller's SQLAlchemy connection, so the rows commit or roll
back with its transaction. The values are converted to what SQLAlchemy's
types would send, so the rows stored are the same as through SQLAlchemy. On
SQLite, for example, a timestamp is the text '2026-03-02 09:15:00.000000', a
date '2026-03-02' and a boolean 1 or 0.

Rows are upserted by primary key. A row whose key is already stored replaces
the stored values of the file's columns and keeps the others.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from data_access.copy_formats import (
    BINARY_HEADER,
    BINARY_TRAILER,
    COPY_BINARY,
    COPY_CSV,
    binary_matches,
    binary_rows,
    csv_rows,
)
from data_access.table_files import Chunk, ColumnValues

log = logging.getLogger(__name__)

# SQLite's page cache while a load writes, in KiB (SQLite's default is 2 MiB).
# An upsert into a large table updates its indexes at random places, and a
# larger cache keeps those pages in memory. In a test on a shared 2-core
# machine, 1.1 million visits went into a table with its indexes in 31 s with
# the default cache and in 18 s with 256 MiB. The 64 MiB set here is smaller
# than that measured size.
SQLITE_LOAD_CACHE_KIB = 65_536
# Rows per upsert statement on SQLite, so that the sqlite3 module steps
# through fewer statements for the same values. In a test on a shared 2-core
# machine, 600,000 visits took 1.35 s of CPU time row by row and 0.85 s in
# statements of 50 rows.
SQLITE_ROWS_PER_UPSERT = 50
# Memory for each index that a PostgreSQL load builds, in MB. The server's
# default maintenance_work_mem, 64 MB, sorts the keys of a million visits
# partly on disk. In a test on a shared 2-core machine (PostgreSQL 15), the
# primary key and the 3 indexes of 1.1 million visits took 4.5 to 4.7 s to
# build with 64 MB and 3.4 to 4.0 s with 256 MB.
POSTGRES_INDEX_BUILD_MB = 256
# The default maximum of parameters in a statement (SQLITE_MAX_VARIABLE_NUMBER)
# of SQLite before 3.32.0. Later versions allow 32,766.
SQLITE_MAX_PARAMETERS = 999


def count_rows(connection: sa.Connection, table: sa.Table) -> int:
    """Count the rows a table stores."""
    statement = sa.select(sa.func.count()).select_from(table)
    return connection.execute(statement).scalar_one()


@contextmanager
def sqlite_load_cache(connection: sa.Connection) -> Iterator[None]:
    """Enlarge SQLite's page cache for the connection while a load writes."""
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")


class TableWriter:
    """Writer that upserts the chunks of one file into its table.

    empty_table is true when the table stored no row as the file's load
    began. On PostgreSQL the rows then go straight into the table in one
    COPY from start() to finish(). No row can conflict because a file never
    repeats a key, and the server stores a chunk while the next one is parsed.
    Otherwise each chunk is copied into a temporary table and upserted from
    there. Call abort() when the load fails between start() and finish().

    The indexes of an empty table, other than its primary key, are dropped by
    start() and built again by finish(). Building an index once is several
    times faster than updating it row by row. In a test with the sqlite3
    module alone, 1.1 million visits took 5 s in place of 31 s. On PostgreSQL
    the primary key is dropped and added again too, unless a foreign key of
    another table references it, so that the server sorts the keys once. In a
    test that loaded 1.9 million visits and orders, the server then spent
    7.0 s of CPU time in place of 7.7 s. All these steps run in the caller's
    transaction, so a failed load keeps the indexes and the key. On
    PostgreSQL, DROP INDEX and DROP CONSTRAINT lock the table until the load
    commits, so a reader of that still empty table waits for it.
    """

    def __init__(
        self,
        connection: sa.Connection,
        table: sa.Table,
        names: list[str],
        *,
        empty_table: bool,
    ) -> None:
        self.connection = connection
        self.table = table
        self.names = names
        self.empty_table = empty_table
        self._postgresql = connection.dialect.name == "postgresql"
        self._staging: sa.Table | None = None
        # {rows per statement: (SQL, the file's column of each parameter)}
        self._sqlite_statements: dict[int, tuple[str, list[int]]] = {}
        self._dropped_indexes: list[sa.Index] = []
        # (constraint name, columns) of the primary key that start() dropped.
        self._dropped_primary_key: tuple[str, list[str]] | None = None
        # The open COPY into an empty PostgreSQL table, from start() to finish().
        self._copy_stack: ExitStack | None = None
        self._copy: Any = None
        self._columns = [table.columns[name] for name in names]
        # {COPY target: whether it takes the binary format}
        self._binary: dict[str, bool] = {}
        self._copy_binary = False

    def start(self) -> None:
        """Prepare the table for the file's rows."""
        if not self.empty_table:
            return
        stored = sa.inspect(self.connection).get_indexes(self.table.name)
        names = {index["name"] for index in stored}
        self._dropped_indexes = [
            index for index in self.table.indexes if index.name in names
        ]
        for index in self._dropped_indexes:
            index.drop(self.connection)
        if self._postgresql:
            self._drop_primary_key()
            self._start_copy(self.table)

    def finish(self) -> None:
        """End the COPY and build the key and the indexes that start() dropped."""
        if self._copy_stack is not None:
            stack, self._copy_stack, copy = self._copy_stack, None, self._copy
            self._copy = None
            with _database_errors(self.connection, "COPY"):
                if self._copy_binary:
                    copy.write(BINARY_TRAILER)
                stack.close()
        if self._postgresql and (self._dropped_primary_key or self._dropped_indexes):
            _raise_index_build_memory(self.connection)
        if self._dropped_primary_key is not None:
            name, columns = self._dropped_primary_key
            self._dropped_primary_key = None
            quoted = ", ".join(_quote(self.connection, column) for column in columns)
            self.connection.exec_driver_sql(
                f"ALTER TABLE {_quote(self.connection, self.table.name)} ADD "
                f"CONSTRAINT {_quote(self.connection, name)} PRIMARY KEY ({quoted})"
            )
        for index in self._dropped_indexes:
            index.create(self.connection)
        self._dropped_indexes = []

    def abort(self, error: BaseException) -> None:
        """Cancel an open COPY, so that the caller's transaction can roll back."""
        if self._copy_stack is None:
            return
        stack, self._copy_stack, self._copy = self._copy_stack, None, None
        try:
            stack.__exit__(type(error), error, error.__traceback__)
        except Exception as cancel_error:  # noqa: BLE001
            # The load fails with error anyway, and the server's reply to the
            # cancel adds nothing for the user.
            log.info("cancelled the COPY into %s: %s", self.table.name, cancel_error)

    def _drop_primary_key(self) -> None:
        stored = sa.inspect(self.connection).get_pk_constraint(self.table.name)
        name, columns = stored.get("name"), stored.get("constrained_columns")
        if not name or not columns:
            return
        # A foreign key of another table, which the schema does not create
        # but a database may add, depends on the key and blocks its drop.
        referenced = self.connection.execute(
            sa.text(
                "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                "AND confrelid = CAST(:table AS regclass)"
            ),
            {"table": _quote(self.connection, self.table.name)},
        ).scalar_one()
        if referenced:
            return
        self.connection.exec_driver_sql(
            f"ALTER TABLE {_quote(self.connection, self.table.name)} "
            f"DROP CONSTRAINT {_quote(self.connection, name)}"
        )
        self._dropped_primary_key = (name, list(columns))

    def _start_copy(self, target: sa.Table) -> None:
        if target.name not in self._binary:
            matches = binary_matches(self.connection, target.name, self._columns)
            self._binary[target.name] = matches
            if not matches:
                log.info(
                    "%s has column types other than the schema's, so its rows "
                    "go through COPY's CSV format",
                    target.name,
                )
        self._copy_binary = self._binary[target.name]
        quoted = ", ".join(_quote(self.connection, name) for name in self.names)
        table = _quote(self.connection, target.name)
        copy_format = COPY_BINARY if self._copy_binary else COPY_CSV
        sql = f"COPY {table} ({quoted}) FROM STDIN {copy_format}"
        stack = ExitStack()
        cursor = stack.enter_context(
            self.connection.connection.driver_connection.cursor()
        )
        with _database_errors(self.connection, sql):
            self._copy = stack.enter_context(cursor.copy(sql))
            if self._copy_binary:
                self._copy.write(BINARY_HEADER)
        self._copy_stack = stack

    def write(self, chunk: Chunk) -> None:
        """Upsert the valid rows of chunk."""
        if not len(chunk):
            return
        if self._postgresql:
            self._write_postgresql(chunk)
        else:
            self._write_sqlite(chunk)

    # SQLite

    def _write_sqlite(self, chunk: Chunk) -> None:
        sql, order = self._sqlite_upsert(1)
        dialect = self.connection.dialect
        columns = [
            _sqlite_values(self.table.columns[name], chunk.values[name], dialect)
            for name in self.names
        ]
        ordered = [columns[index] for index in order]
        # Statements of statement_rows rows take the first rows, and the rest
        # go one by one.
        statement_rows = self._sqlite_rows_per_upsert()
        whole = len(chunk) - len(chunk) % statement_rows
        cursor = self.connection.connection.driver_connection.cursor()
        try:
            if whole:
                many_sql, _ = self._sqlite_upsert(statement_rows)
                parameters = _statement_parameters(ordered, whole, statement_rows)
                with _database_errors(self.connection, many_sql):
                    cursor.executemany(many_sql, parameters)
            if whole < len(chunk):
                rest = zip(*(values[whole:] for values in ordered))
                with _database_errors(self.connection, sql):
                    cursor.executemany(sql, rest)
        finally:
            cursor.close()

    def _sqlite_rows_per_upsert(self) -> int:
        """Return the rows each upsert statement of a chunk inserts."""
        rows = min(SQLITE_ROWS_PER_UPSERT, SQLITE_MAX_PARAMETERS // len(self.names))
        if (
            rows > 1
            and self._sqlite_upsert(rows)[1] != self._sqlite_upsert(1)[1] * rows
        ):
            # The parameters must come row by row, in the same column order
            # in each row, for the flat list that _write_sqlite builds.
            return 1
        return max(rows, 1)

    def _sqlite_upsert(self, rows: int) -> tuple[str, list[int]]:
        """Return the SQL of an upsert statement of the given number of rows,
        and the file's column of each of its parameters, in order."""
        if rows not in self._sqlite_statements:
            parameters = [
                {name: sa.bindparam(f"{name}_{row}") for name in self.names}
                for row in range(rows)
            ]
            insert = sqlite.insert(self.table).values(
                parameters[0] if rows == 1 else parameters
            )
            statement = _on_conflict(insert, self.table, self.names)
            compiled = statement.compile(dialect=self.connection.dialect)
            positions = {
                parameter.key: self.names.index(name)
                for row_parameters in parameters
                for name, parameter in row_parameters.items()
            }
            order = [positions[key] for key in compiled.positiontup or []]
            self._sqlite_statements[rows] = (str(compiled), order)
        return self._sqlite_statements[rows]

    # PostgreSQL

    def _write_postgresql(self, chunk: Chunk) -> None:
        if self._copy is not None:
            self._copy_rows(chunk)
            return

        staging = self._staging_table()
        self.connection.execute(sa.delete(staging))
        self._start_copy(staging)
        self._copy_rows(chunk)
        self.finish()
        insert = postgresql.insert(self.table).from_select(
            self.names, sa.select(staging)
        )
        self.connection.execute(_on_conflict(insert, self.table, self.names))

    def _copy_rows(self, chunk: Chunk) -> None:
        encode = binary_rows if self._copy_binary else csv_rows
        data = memoryview(encode(self._columns, chunk))
        with _database_errors(self.connection, "COPY"):
            self._copy.write(data)

    def _staging_table(self) -> sa.Table:
        if self._staging is None:
            self._staging = sa.Table(
                f"staging_{self.table.name}",
                sa.MetaData(),
                *(sa.Column(name, self.table.c[name].type) for name in self.names),
                prefixes=["TEMPORARY"],
                postgresql_on_commit="DROP",
            )
            self._staging.create(self.connection, checkfirst=True)
        return self._staging


@contextmanager
def _database_errors(connection: sa.Connection, statement: str) -> Iterator[None]:
    """Raise the DBAPI's errors as SQLAlchemy's, as connection.execute would."""
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as error:
        raise sa.exc.DBAPIError.instance(
            statement, None, error, dbapi_error, dialect=connection.dialect
        ) from error


def _on_conflict(insert: Any, table: sa.Table, names: list[str]) -> Any:
    key = [column.name for column in table.primary_key.columns]
    updates = {name: insert.excluded[name] for name in names if name not in key}
    if updates:
        return insert.on_conflict_do_update(index_elements=key, set_=updates)
    return insert.on_conflict_do_nothing(index_elements=key)


def _raise_index_build_memory(connection: sa.Connection) -> None:
    """Raise maintenance_work_mem to POSTGRES_INDEX_BUILD_MB until the
    transaction ends, unless the server's setting is larger already."""
    current = connection.exec_driver_sql(
        "SELECT pg_size_bytes(current_setting('maintenance_work_mem'))"
    ).scalar_one()
    if current < POSTGRES_INDEX_BUILD_MB * 1024 * 1024:
        connection.exec_driver_sql(
            f"SET LOCAL maintenance_work_mem = '{POSTGRES_INDEX_BUILD_MB}MB'"
        )


def _quote(connection: sa.Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _statement_parameters(
    columns: list[list[Any]], rows: int, statement_rows: int
) -> Iterator[list[Any]]:
    """Yield the parameters of the first rows rows of columns, row after row,
    for statements of statement_rows rows each."""
    width = len(columns)
    parameters: list[Any] = [None] * (rows * width)
    # Each column fills every width-th parameter, which a slice assignment
    # does in C, without a tuple per row.
    for offset, values in enumerate(columns):
        parameters[offset::width] = values[:rows]
    step = statement_rows * width
    for start in range(0, rows * width, step):
        yield parameters[start : start + step]


def _sqlite_values(
    column: sa.Column[Any], values: ColumnValues, dialect: sa.Dialect
) -> list[Any]:
    """Return the values as the sqlite3 module takes them."""
    if isinstance(values, np.ndarray):
        # SQLAlchemy stores a SQLite DATETIME as 'YYYY-MM-DD HH:MM:SS.ffffff'.
        return _timestamp_texts(values, separator=" ", null=None)
    processor: Callable[[Any], Any] | None = column.type.bind_processor(dialect)
    if processor is None:
        return values
    return [None if value is None else processor(value) for value in values]


def _timestamp_texts(values: np.ndarray, separator: str, null: Any) -> list[Any]:
    """Format datetime64[us] values as 'YYYY-MM-DD HH:MM:SS.ffffff', null for NaT.

    The text is the one np.datetime_as_string writes, with separator in place
    of its T. It is built with integer arithmetic on whole arrays, which took
    5 ms for 48,000 timestamps in a test, where np.datetime_as_string took
    11 ms. Values before year 1 or after 9999, which no timestamp parser
    returns, go through np.datetime_as_string.
    """
    missing = np.isnat(values)
    microseconds = np.where(missing, 0, values.astype("datetime64[us]").view(np.int64))
    days, time_of_day = np.divmod(microseconds, MICROSECONDS_PER_DAY)
    year, month, day = _civil_dates(days)
    if values.size and (year.min() < 1 or year.max() > 9999):
        return _timestamp_texts_by_numpy(values, separator, null)

    seconds, fraction = np.divmod(time_of_day, 1_000_000)
    pairs = np.empty((values.size, len(_PAIR_STARTS)), dtype=np.int64)
    pairs[:, 0], pairs[:, 1] = np.divmod(year, 100)
    pairs[:, 2], pairs[:, 3] = month, day
    pairs[:, 4], pairs[:, 5] = seconds // 3_600, seconds // 60 % 60
    pairs[:, 6] = seconds % 60
    pairs[:, 7], pairs[:, 8] = np.divmod(fraction, 10_000)
    pairs[:, 8], pairs[:, 9] = np.divmod(pairs[:, 8], 100)

    # Each value becomes one line of ASCII. Decoding all the lines at once and
    # splitting the text makes the Python strings faster than tolist() does.
    codes = np.empty((values.size, len(_TIMESTAMP_TEMPLATE) + 1), dtype=np.uint8)
    codes[:] = np.frombuffer(f"{_TIMESTAMP_TEMPLATE}\n".encode("ascii"), np.uint8)
    codes[:, 10] = ord(separator)
    codes[:, _PAIR_STARTS] = _TENS_DIGITS[pairs]
    codes[:, _PAIR_STARTS + 1] = _ONES_DIGITS[pairs]
    texts: list[Any] = codes.tobytes().decode("ascii").split("\n")
    texts.pop()
    for position in np.flatnonzero(missing).tolist():
        texts[position] = null
    return texts


MICROSECONDS_PER_DAY = 86_400 * 1_000_000
# The separators of a formatted timestamp. The digits overwrite its zeros.
_TIMESTAMP_TEMPLATE = "0000-00-00 00:00:00.000000"
# The start of each pair of digits: century, year, month, day, hour, minute,
# second and the three pairs of the microseconds.
_PAIR_STARTS = np.array([0, 2, 5, 8, 11, 14, 17, 20, 22, 24])
# The ASCII codes of the first and the second digit of 0 to 99, looked up
# because numpy's integer division is slower.
_TENS_DIGITS = np.array([ord(f"{number:02d}"[0]) for number in range(100)], np.uint8)
_ONES_DIGITS = np.array([ord(f"{number:02d}"[1]) for number in range(100)], np.uint8)


def _civil_dates(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the proleptic Gregorian year, month and day of days since
    1970-01-01.

    The days are counted in 400-year eras of 146,097 days from 0000-03-01,
    and each year of an era starts on March 1, so that a leap day ends it.
    """
    shifted = days + 719_468
    era = shifted // 146_097
    day_of_era = shifted - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1_460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (
        365 * year_of_era + year_of_era // 4 - year_of_era // 100
    )
    march_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * march_month + 2) // 5 + 1
    month = np.where(march_month < 10, march_month + 3, march_month - 9)
    year = year_of_era + era * 400 + (month <= 2)
    return year, month, day


def _timestamp_texts_by_numpy(
    values: np.ndarray, separator: str, null: Any
) -> list[Any]:
    texts = np.datetime_as_string(values, unit="us")
    codes = texts.view(np.uint32).reshape(len(texts), -1)
    if codes.shape[1] > 10:
        codes[:, 10] = ord(separator)
    result: list[Any] = texts.tolist()
    for position in np.flatnonzero(np.isnat(values)).tolist():
        result[position] = null
    return result
