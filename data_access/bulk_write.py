"""Write the loader's chunks through each engine's bulk path.

SQLite gets one executemany of plain tuples per chunk, and PostgreSQL gets
COPY in its text format. Both run on the DBAPI connection of the caller's
SQLAlchemy connection, so the rows commit or roll back with its transaction.
The values are converted to what SQLAlchemy's types would send, so the rows
stored are the same as through SQLAlchemy. On SQLite, for example, a
timestamp is the text '2026-03-02 09:15:00.000000', a date '2026-03-02' and a
boolean 1 or 0.

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

from data_access.table_files import Chunk, ColumnValues

log = logging.getLogger(__name__)

# SQLite's page cache while a load writes, in KiB (SQLite's default is 2 MiB).
# An upsert into a large table updates its indexes at random places, and a
# larger cache keeps those pages in memory. In a test on a shared 2-core
# machine, 1.1 million visits went into a table with its indexes in 31 s with
# the default cache and in 18 s with 256 MiB. The 64 MiB set here is smaller
# than that measured size.
SQLITE_LOAD_CACHE_KIB = 65_536
# In COPY's text format, a backslash, a tab or a line end inside a value must
# be escaped, and \N is NULL.
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
COPY_NULL = "\\N"


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
    module alone, 1.1 million visits took 5 s in place of 31 s. Both steps run
    in the caller's transaction, so a failed load keeps the indexes. On
    PostgreSQL, DROP INDEX locks the table until the load commits, so a reader
    of that still empty table waits for it.
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
        # The open COPY into an empty PostgreSQL table, from start() to finish().
        self._copy_stack: ExitStack | None = None
        self._copy: Any = None

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
            self._start_copy(self.table)

    def finish(self) -> None:
        """End the COPY and build the indexes that start() dropped."""
        if self._copy_stack is not None:
            stack, self._copy_stack, self._copy = self._copy_stack, None, None
            with _database_errors(self.connection, "COPY"):
                stack.close()
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

    def _start_copy(self, target: sa.Table) -> None:
        quoted = ", ".join(_quote(self.connection, name) for name in self.names)
        sql = f"COPY {_quote(self.connection, target.name)} ({quoted}) FROM STDIN"
        stack = ExitStack()
        cursor = stack.enter_context(
            self.connection.connection.driver_connection.cursor()
        )
        with _database_errors(self.connection, sql):
            self._copy = stack.enter_context(cursor.copy(sql))
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
        columns = [
            _copy_texts(self.table.columns[name], chunk.values[name])
            for name in self.names
        ]
        text = "\n".join(map("\t".join, zip(*columns))) + "\n"
        if self._copy is not None:
            with _database_errors(self.connection, "COPY"):
                self._copy.write(text)
            return

        staging = self._staging_table()
        self.connection.execute(sa.delete(staging))
        self._start_copy(staging)
        with _database_errors(self.connection, "COPY"):
            self._copy.write(text)
        self.finish()
        insert = postgresql.insert(self.table).from_select(
            self.names, sa.select(staging)
        )
        self.connection.execute(_on_conflict(insert, self.table, self.names))

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


def _copy_texts(column: sa.Column[Any], values: ColumnValues) -> list[str]:
    """Return the values in COPY's text format, \\N for NULL."""
    if isinstance(values, np.ndarray):
        return _timestamp_texts(values, separator=" ", null=COPY_NULL)
    column_type = column.type
    if isinstance(column_type, sa.Text):
        if None in values:
            present = "".join(value for value in values if value is not None)
        else:
            present = "".join(values)
        if any(character in present for character in "\\\t\n\r"):
            return [
                COPY_NULL if value is None else value.translate(COPY_ESCAPES)
                for value in values
            ]
        return [COPY_NULL if value is None else value for value in values]
    if isinstance(column_type, sa.Boolean):
        return [_copy_boolean(value) for value in values]
    if isinstance(column_type, sa.Float):
        # repr gives the shortest text that reads back as the same double.
        if None not in values:
            return list(map(repr, values))
        return [COPY_NULL if value is None else repr(value) for value in values]
    if isinstance(column_type, sa.Date):
        return [COPY_NULL if value is None else value.isoformat() for value in values]
    return [COPY_NULL if value is None else str(value) for value in values]


def _copy_boolean(value: bool | None) -> str:
    if value is None:
        return COPY_NULL
    return "t" if value else "f"
