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
        self._sqlite_statement: tuple[str, list[int]] | None = None
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
        sql, order = self._sqlite_upsert()
        dialect = self.connection.dialect
        columns = [
            _sqlite_values(self.table.columns[name], chunk.values[name], dialect)
            for name in self.names
        ]
        rows = zip(*(columns[index] for index in order))
        cursor = self.connection.connection.driver_connection.cursor()
        try:
            with _database_errors(self.connection, sql):
                cursor.executemany(sql, rows)
        finally:
            cursor.close()

    def _sqlite_upsert(self) -> tuple[str, list[int]]:
        """Return the upsert's SQL and the order of the file's columns in it."""
        if self._sqlite_statement is None:
            insert = sqlite.insert(self.table).values(
                {name: sa.bindparam(name) for name in self.names}
            )
            statement = _on_conflict(insert, self.table, self.names)
            compiled = statement.compile(dialect=self.connection.dialect)
            order = [self.names.index(name) for name in compiled.positiontup or []]
            self._sqlite_statement = (str(compiled), order)
        return self._sqlite_statement

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


def _quote(connection: sa.Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


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
    """Format datetime64[us] values as 'YYYY-MM-DD HH:MM:SS.ffffff', null for NaT."""
    texts = np.datetime_as_string(values, unit="us")
    codes = texts.view(np.uint32).reshape(len(texts), -1)
    if codes.shape[1] > 10:
        codes[:, 10] = ord(separator)
    result: list[Any] = texts.tolist()
    for position in np.flatnonzero(np.isnat(values)).tolist():
        result[position] = null
    return result
