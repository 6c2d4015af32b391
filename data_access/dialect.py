"""The engine-specific SQL of Beatboard, in one place.

Every query is written with SQLAlchemy Core and stays portable, except for a
few expressions that SQLite and PostgreSQL spell differently: the local date of
a UTC timestamp in the business time zone, day arithmetic, the seconds between
two timestamps, a timestamp some seconds earlier, the great-circle distance,
the tests for a number and for a whole number within bounds, the order
of text ids, a value written as an SQL literal and the upsert. SQLite has no
time zone database and no trigonometric functions in every build, so on SQLite
the local date and the distance are Python functions registered on each new
connection.

The loader's bulk path is the exception to "one place": COPY on PostgreSQL
and batched executemany on SQLite are different protocols, so their
statements, catalog look-ups and session settings sit beside the writers in
bulk_write, copy_formats, write_process and load. The reads of many rows
into Arrow, through COPY on PostgreSQL (copy_out_table) and the ADBC driver
on SQLite (sqlite_arrow_table), are here.
"""

import io
import logging
import math
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.csv as arrow_csv
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from data_access.sql_types import FLOAT, INTEGER, TEXT

try:
    import adbc_driver_manager
    import adbc_driver_sqlite.dbapi
except ImportError:
    # sqlite_arrow_table then gives way to Python's sqlite3 rows, so a
    # platform without the driver's wheel still runs every page.
    adbc_driver_sqlite = None

log = logging.getLogger(__name__)

# Mean Earth radius in metres (IUGG), the radius the haversine formula uses.
EARTH_RADIUS_M = 6_371_008.8


class local_date(FunctionElement):
    """The calendar date of a naive UTC timestamp in the business time zone."""

    type = sa.Date()
    inherit_cache = True

    def __init__(self, timestamp: Any, timezone: str) -> None:
        self.timezone = timezone
        super().__init__(timestamp, sa.literal(timezone, TEXT))


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: Any, **kw: Any) -> str:
    timestamp = list(element.clauses)[0]
    if element.timezone == "UTC":
        return f"date({compiler.process(timestamp, **kw)})"
    return f"bb_local_date({compiler.process(element.clauses, **kw)})"


@compiles(local_date, "postgresql")
def _local_date_postgresql(element: local_date, compiler: Any, **kw: Any) -> str:
    timestamp, timezone = list(element.clauses)
    return (
        f"CAST(timezone({compiler.process(timezone, **kw)}, "
        f"timezone('UTC', {compiler.process(timestamp, **kw)})) AS DATE)"
    )


class day_number(FunctionElement):
    """Whole days from 1970-01-01 to a date, so dates can be subtracted.

    NULL for a date that is not finite: PostgreSQL stores 'infinity' and
    '-infinity' and raises when one is subtracted, and SQLite's julianday()
    gives NULL for such text.
    """

    type = sa.Integer()
    inherit_cache = True


@compiles(day_number, "sqlite")
def _day_number_sqlite(element: day_number, compiler: Any, **kw: Any) -> str:
    # julianday() of a date is a day number ending in .5 (noon); 2440587.5 is
    # 1970-01-01, so the difference is a whole number.
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5 AS INTEGER)"


@compiles(day_number, "postgresql")
def _day_number_postgresql(element: day_number, compiler: Any, **kw: Any) -> str:
    day = f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"
    return f"CASE WHEN isfinite({day}) THEN {day} - DATE '1970-01-01' END"


class seconds_between(FunctionElement):
    """Seconds from the first timestamp to the second, negative when earlier.

    NULL when either is not a finite date: text such as 'infinity' on
    SQLite, 'infinity' or '-infinity' on PostgreSQL.
    """

    type = sa.Float()
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    # julianday() is a float of days, so round to the millisecond to undo the
    # binary error (90 s would otherwise come out as 89.99999...).
    return f"round((julianday({end}) - julianday({start})) * 86400.0, 3)"


@compiles(seconds_between, "postgresql")
def _seconds_between_postgresql(
    element: seconds_between, compiler: Any, **kw: Any
) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    # PostgreSQL raises on a difference of its infinite timestamps, which
    # another program may write. NULL matches SQLite, whose julianday()
    # reads no date from the text 'infinity'.
    return (
        f"CASE WHEN isfinite({start}) AND isfinite({end}) "
        f"THEN EXTRACT(EPOCH FROM ({end} - {start})) END"
    )


class finite_instant(FunctionElement):
    """The timestamp, or NULL when it is not a finite date.

    Another program may write PostgreSQL's 'infinity' or '-infinity', or
    text such as 'infinity' into SQLite. Python has no such datetime, so
    reading one into a frame raises.
    """

    type = sa.DateTime()
    inherit_cache = True


@compiles(finite_instant, "sqlite")
def _finite_instant_sqlite(element: finite_instant, compiler: Any, **kw: Any) -> str:
    instant = compiler.process(element.clauses, **kw)
    return f"CASE WHEN julianday({instant}) IS NOT NULL THEN {instant} END"


@compiles(finite_instant, "postgresql")
def _finite_instant_postgresql(
    element: finite_instant, compiler: Any, **kw: Any
) -> str:
    instant = compiler.process(element.clauses, **kw)
    return f"CASE WHEN isfinite({instant}) THEN {instant} END"


class bounded_number(FunctionElement):
    """The number, or NULL unless it is a number from -limit to limit.

    Another program may write what the loader rejects into a REAL or double
    precision column. PostgreSQL stores 'NaN', 'Infinity' and '-Infinity',
    and sorts NaN above every number, so NaN > 0 is true and a sum with it
    is NaN. SQLite keeps text it cannot read as a number ('NaN', 'abc'),
    which compares greater than any number and sums as 0, and stores 9e999
    as infinity. The sum of two finite numbers such as 1e308 overflows, so
    SQLite returns infinity and PostgreSQL raises "value out of range". NULL
    compares as neither > 0 nor < 0, and SUM skips it, so both engines give
    the same figures.

    Callers put it in the select list where the rows are first read, so a
    WHERE on another column still uses its index and each row costs a CASE.
    """

    type = sa.Float()
    inherit_cache = True

    def __init__(self, number: Any, limit: float) -> None:
        # The limit is a bound value, because the statement cache ignores
        # attributes of the element and would reuse another limit's SQL.
        super().__init__(number, sa.literal(limit, FLOAT))


@compiles(bounded_number)
def _bounded_number(element: bounded_number, compiler: Any, **kw: Any) -> str:
    number, limit = (compiler.process(clause, **kw) for clause in element.clauses)
    # The same SQL serves both engines. SQLite sorts every number before any
    # text or blob, so text fails the upper bound. PostgreSQL sorts NaN after
    # every number, so NaN fails it too. Both infinities fail a finite bound.
    return f"CASE WHEN {number} >= -{limit} AND {number} <= {limit} THEN {number} END"


class bounded_count(FunctionElement):
    """The value, or NULL unless it is a whole number from 0 to maximum.

    Another program may write what the loader rejects into an INTEGER
    column. PostgreSQL's integer column stores only whole numbers from
    -2,147,483,648 to 2,147,483,647. SQLite's INTEGER column keeps any
    64-bit integer, so a sum of two can raise "integer overflow". It also
    keeps text it cannot read as a number ('abc'), a fraction such as 2.5
    and a BLOB. Its text compares greater than any number and sums as 0.
    """

    type = sa.Integer()
    inherit_cache = True

    def __init__(self, number: Any, maximum: int) -> None:
        # A bound value, for the same reason as bounded_number's limit.
        super().__init__(number, sa.literal(maximum, INTEGER))


@compiles(bounded_count, "sqlite")
def _bounded_count_sqlite(element: bounded_count, compiler: Any, **kw: Any) -> str:
    number, maximum = (compiler.process(clause, **kw) for clause in element.clauses)
    # INTEGER affinity stores a whole REAL such as 3.0 as the integer 3, so
    # typeof() is 'integer' for every whole number that fits in 64 bits.
    return (
        f"CASE WHEN typeof({number}) = 'integer' AND {number} >= 0 "
        f"AND {number} <= {maximum} THEN {number} END"
    )


@compiles(bounded_count, "postgresql")
def _bounded_count_postgresql(element: bounded_count, compiler: Any, **kw: Any) -> str:
    number, maximum = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CASE WHEN {number} >= 0 AND {number} <= {maximum} THEN {number} END"


class seconds_before(FunctionElement):
    """A lower bound of a naive UTC timestamp minus some seconds, for a range
    condition that an index on the timestamp serves.

    On SQLite the bound is cut to the millisecond, so it may lie up to 1 ms
    before the exact instant. A query that needs the exact limit also tests
    seconds_between.
    """

    type = sa.DateTime()
    inherit_cache = True

    def __init__(self, timestamp: Any, seconds: float) -> None:
        # The seconds are a bound value, so that the statement cache, which
        # ignores attributes of the element, never reuses another count. A
        # fraction is rounded up, which keeps the bound a lower bound.
        super().__init__(timestamp, sa.literal(math.ceil(seconds), INTEGER))


@compiles(seconds_before, "sqlite")
def _seconds_before_sqlite(element: seconds_before, compiler: Any, **kw: Any) -> str:
    timestamp, seconds = (compiler.process(clause, **kw) for clause in element.clauses)
    # Stored timestamps are text such as 2026-03-10 23:59:30.000000, and
    # strftime writes the same form with three decimals, which sorts before
    # any six-decimal text of the same millisecond.
    return f"strftime('%Y-%m-%d %H:%M:%f', {timestamp}, '-' || {seconds} || ' seconds')"


@compiles(seconds_before, "postgresql")
def _seconds_before_postgresql(
    element: seconds_before, compiler: Any, **kw: Any
) -> str:
    timestamp, seconds = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({timestamp} - make_interval(secs => {seconds}))"


class distance_m(FunctionElement):
    """Haversine distance in metres between (lat1, lon1) and (lat2, lon2)."""

    type = sa.Float()
    inherit_cache = True


@compiles(distance_m, "sqlite")
def _distance_m_sqlite(element: distance_m, compiler: Any, **kw: Any) -> str:
    return f"bb_distance_m({compiler.process(element.clauses, **kw)})"


@compiles(distance_m, "postgresql")
def _distance_m_postgresql(element: distance_m, compiler: Any, **kw: Any) -> str:
    lat1, lon1, lat2, lon2 = (compiler.process(c, **kw) for c in element.clauses)
    half_dlat = f"(radians({lat2}) - radians({lat1})) / 2"
    half_dlon = f"(radians({lon2}) - radians({lon1})) / 2"
    chord = (
        f"power(sin({half_dlat}), 2) + "
        f"cos(radians({lat1})) * cos(radians({lat2})) * power(sin({half_dlon}), 2)"
    )
    return f"(2 * {EARTH_RADIUS_M} * asin(sqrt(least(1.0, {chord}))))"


class unindexed(FunctionElement):
    """A column's value, written so that SQLite looks it up through no index.

    Without ANALYZE statistics SQLite rates an equality on the first column
    of any two-column index alike, so it may walk a rep's check-ins (hundreds
    a week) where an outlet's (one or two a week) would do. A unary + is
    SQLite's documented way to keep a term off every index. PostgreSQL's
    planner reads statistics, so there the column stays as it is.
    """

    inherit_cache = True

    def __init__(self, column: sa.ColumnElement) -> None:
        self.type = column.type
        super().__init__(column)


@compiles(unindexed)
def _unindexed_default(element: unindexed, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: Any, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


class sql_literal(FunctionElement):
    """A value written as an SQL literal, so that its stored type shows: the
    text 'true' in quotes, the number 2 without them, NULL as NULL.

    Data health names an invalid stored value with it. SQLite keeps a value
    of any type in any column, and its quote() writes a BLOB as X'..', so
    bytes that are not UTF-8 never reach Python as text. PostgreSQL's value
    has the column's type, so it is cast to text first, and a number stays
    unquoted.
    """

    type = sa.Text()
    inherit_cache = True


@compiles(sql_literal, "sqlite")
def _sql_literal_sqlite(element: sql_literal, compiler: Any, **kw: Any) -> str:
    return f"quote({compiler.process(element.clauses, **kw)})"


@compiles(sql_literal, "postgresql")
def _sql_literal_postgresql(element: sql_literal, compiler: Any, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    (clause,) = element.clauses.clauses
    # SQLAlchemy 2.1's Float is no subclass of Numeric.
    if isinstance(clause.type, sa.Integer | sa.Numeric | sa.Float):
        # quote_nullable would write the number 2 as the text '2'.
        return f"COALESCE(CAST({value} AS TEXT), 'NULL')"
    return f"quote_nullable(CAST({value} AS TEXT))"


# Attribute of a PostgreSQL dialect, set by note_text_order, that is True
# when the database's default collation sorts text by code point.
CODE_POINT_DEFAULT = "beatboard_code_point_default"


class code_point_order(FunctionElement):
    """A text column compared and sorted by code point.

    SQLite compares text byte by byte (its BINARY collation), which for
    UTF-8 is code point order, as Python's str does. A PostgreSQL database
    compares by its default collation, usually a language's rules, where
    'dupX' < 'DUPx' and 'r1' < 'R10'. Comparing ids decides which of two
    same-instant check-ins is kept and the order of report rows, so on such
    a database the comparison uses the "C" collation.

    PostgreSQL reads an index in order only under the index's collation.
    Where the database's default is C already (note_text_order), the column
    stays as it is: finding the middle of the national company's outlets
    took 47 ms under an explicit "C" and 8 ms without (2 cores, load about
    1). Other engines keep the column as well.

    NOTE: a default that also sorts by code point but is not named C or
    POSIX (the C library's C.UTF-8, PostgreSQL 17's builtin provider) still
    gets the explicit "C": the same order, without the index. A column
    declared with a collation of its own is compared by it wherever the
    database's default is C.
    """

    inherit_cache = True

    def __init__(self, column: sa.ColumnElement) -> None:
        self.type = column.type
        super().__init__(column)


@compiles(code_point_order)
def _code_point_order_default(
    element: code_point_order, compiler: Any, **kw: Any
) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(code_point_order, "postgresql")
def _code_point_order_postgresql(
    element: code_point_order, compiler: Any, **kw: Any
) -> str:
    column = compiler.process(element.clauses, **kw)
    if getattr(compiler.dialect, CODE_POINT_DEFAULT, False):
        return column
    return f'({column}) COLLATE "C"'


def note_text_order(connection: sa.Connection) -> None:
    """Record on the engine's dialect whether the PostgreSQL database sorts
    text by code point by default (collation C or POSIX of the C library),
    for code_point_order.

    It reads the catalog once per engine, before the first statement of a
    connection. The read runs in autocommit mode, as in
    prepare_postgresql_session, so no transaction stays open. When the role
    may not read pg_database, the comparisons keep the explicit "C", which
    is right on every database. When the connection has dropped, nothing is
    recorded, and the caller's statement meets the drop as it would have.
    """
    dialect = connection.dialect
    if hasattr(dialect, CODE_POINT_DEFAULT):
        return
    # pg_database.datlocprovider came with PostgreSQL 15 ('c' for the C
    # library, 'i' for ICU); before it every default came from libc.
    # NOTE: the branch before 15 runs on no server of the tests.
    version = dialect.server_version_info or (0,)
    provider = "datlocprovider" if version >= (15,) else "'c'"
    dbapi_connection = connection.connection.dbapi_connection
    autocommit = dbapi_connection.autocommit
    try:
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {provider}, datcollate FROM pg_database"
                " WHERE datname = current_database()"
            )
            row = cursor.fetchone()
        dbapi_connection.autocommit = autocommit
    except dialect.loaded_dbapi.Error as error:
        if dbapi_connection.closed:
            return
        dbapi_connection.autocommit = autocommit
        log.warning(
            "reading the database's collation failed (%s), so ids are compared "
            'under COLLATE "C"',
            error,
        )
        row = None
    by_code_point = row is not None and row[0] == "c" and row[1] in ("C", "POSIX")
    setattr(dialect, CODE_POINT_DEFAULT, by_code_point)


def copy_out_table(connection: sa.Connection, statement: sa.Select) -> pa.Table:
    """Read the rows of a SELECT on PostgreSQL through COPY ... TO STDOUT in
    CSV, and return them as an Arrow table.

    psycopg builds a Python object per value. For the 152,536 rows of the
    national outlets report, its rows took 0.67 s to fetch and 0.15 s to
    become a frame, and the COPY 0.50 s and 0.04 s (2 cores, load about 1).
    Each column's type comes from the statement (arrow_type), never from
    the text, so an id such as 007 stays text. The text of dates and floats
    is the one that prepare_postgresql_session sets for every session of
    prepare_engine's engines. Statement hooks see the COPY as a statement,
    and a dropped connection raises SQLAlchemy's DBAPIError with
    connection_invalidated, as execute() does.
    """
    names = list(statement.selected_columns.keys())
    types = [arrow_type(column.type) for column in statement.selected_columns]
    compiled = statement.compile(
        connection, compile_kwargs={"render_postcompile": True}
    )
    copy = f"COPY ({compiled}) TO STDOUT (FORMAT csv)"
    parameters = compiled.params
    dbapi_connection = connection.connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    try:
        connection.dispatch.before_cursor_execute(
            connection, cursor, copy, parameters, None, False
        )
        # Each block is copied out at once: holding the blocks for a join
        # took the national outlets' halves from 0.43 to 0.67 s.
        data = io.BytesIO()
        with cursor.copy(copy, parameters) as rows:
            for block in rows:
                data.write(block)
        connection.dispatch.after_cursor_execute(
            connection, cursor, copy, parameters, None, False
        )
    except connection.dialect.loaded_dbapi.Error as error:
        dropped = connection.dialect.is_disconnect(error, dbapi_connection, cursor)
        if dropped:
            connection.invalidate(error)
        raise sa.exc.DBAPIError.instance(
            copy,
            parameters,
            error,
            connection.dialect.loaded_dbapi.Error,
            connection_invalidated=dropped,
            dialect=connection.dialect,
        ) from error
    finally:
        cursor.close()
    schema = pa.schema(list(zip(names, types, strict=True)))
    if not data.tell():
        return schema.empty_table()
    data.seek(0)
    return arrow_csv.read_csv(
        data,
        read_options=arrow_csv.ReadOptions(
            column_names=names,
            # The session's client_encoding, such as LATIN1 for a database
            # created with it, as psycopg decodes its rows.
            encoding=dbapi_connection.info.encoding,
        ),
        # A name or a reason may hold a line break inside its quotes.
        parse_options=arrow_csv.ParseOptions(newlines_in_values=True),
        convert_options=arrow_csv.ConvertOptions(
            column_types=schema,
            # COPY writes NULL as nothing and an empty text as "".
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )


class ArrowReadUnavailable(Exception):
    """The Arrow read of a statement cannot run on this database or returned
    other types than the driver's rows would; read the driver's rows."""


# Rows of one Arrow batch of the ADBC SQLite driver. It infers each column's
# type from the values of the first batch and fails on a later value of
# another type, such as a last visit time after 1,024 outlets without one.
# With every row in one batch, it infers from all of them. The driver takes
# up to 2**31 - 2 and grows a batch as rows come.
ADBC_SQLITE_BATCH_ROWS = 2**30


def sqlite_arrow_table(connection: sa.Connection, statement: sa.Select) -> pa.Table:
    """Read the rows of a SELECT on SQLite through the ADBC SQLite driver, and
    return them as an Arrow table.

    Python's sqlite3 builds a Python object per value and pandas a frame
    from them. For the 152,536 rows of the national outlets report, the
    rows took 0.73 to 0.75 s and the frame 0.27 to 0.33 s more, and the
    ADBC read 0.66 to 0.72 s in all (2 cores shared with another job). The
    driver opens the database file again, read-only, on a connection of its
    own: a separate snapshot, as each query of a page is. It bundles its own
    SQLite library (3.53 in adbc-driver-sqlite 1.13), which lacks the Python
    functions of register_sqlite_functions. Its sum() adds floats with
    compensated summation, where the SQLite 3.40 of Debian 12 adds them in
    turn, so a sum of many order values may differ in its last bit from the
    same sum read through Python's sqlite3.

    Values keep the driver's types: text for dates and times, 0 or 1 for
    booleans. Raises ArrowReadUnavailable when the driver is missing or
    fails, and for an in-memory database. It raises it too for a parameter
    that _sqlite_parameter cannot bind, and for values that would differ
    from the driver's rows (_check_types).
    Statement hooks see the read as a statement.

    NOTE: a column that the database declares without a type may hold
    numbers where the schema has text. The driver then writes a float as
    text with 7 digits ('1.000000e-01'), where sqlite3 returns the float.
    """
    if adbc_driver_sqlite is None:
        raise ArrowReadUnavailable(
            "the ADBC SQLite driver is not installed (make setup installs it)"
        )
    path = _sqlite_file(connection)
    compiled = statement.compile(
        connection, compile_kwargs={"render_postcompile": True}
    )
    sql = str(compiled)
    parameters = [
        _sqlite_parameter(compiled.params[key]) for key in compiled.positiontup
    ]
    uri = f"file:{urllib.parse.quote(path)}?mode=ro"
    try:
        with adbc_driver_sqlite.dbapi.connect(uri) as adbc_connection:
            with adbc_connection.cursor() as cursor:
                cursor.adbc_statement.set_options(
                    **{"adbc.sqlite.query.batch_rows": str(ADBC_SQLITE_BATCH_ROWS)}
                )
                connection.dispatch.before_cursor_execute(
                    connection, cursor, sql, parameters, None, False
                )
                cursor.execute(sql, parameters)
                table = cursor.fetch_arrow_table()
                connection.dispatch.after_cursor_execute(
                    connection, cursor, sql, parameters, None, False
                )
    # Errors of the rows' stream, such as a type that differs from the one
    # inferred, reach Python as pyarrow's errors, OSError among them.
    except (adbc_driver_manager.Error, pa.ArrowException, OSError) as error:
        # The driver's message goes on with the whole statement.
        first_line = next(iter(str(error).strip().splitlines()), "")
        raise ArrowReadUnavailable(
            f"the ADBC SQLite driver failed: {first_line[:300]}"
        ) from error
    _check_types(table, statement)
    return table


def _sqlite_file(connection: sa.Connection) -> str:
    """Return the file of the connection's main database, whatever its URL's form."""
    for _number, name, file in connection.exec_driver_sql("PRAGMA database_list"):
        if name == "main" and file:
            return file
    raise ArrowReadUnavailable("the database is in memory, not in a file")


def _sqlite_parameter(value: object) -> object:
    """Return a parameter's value as SQLAlchemy's SQLite dialect binds it to
    a column of the value's own type: a datetime as DateTime's text, a date
    as Date's. Raises ArrowReadUnavailable for other types, such as
    Decimal and time, which the caller reads through sqlite3 instead.

    NOTE: the SQL type of the bind is not consulted, so a datetime bound to
    a Text column would get DateTime's text, where sqlite3 writes no
    fraction. Beatboard's statements bind datetimes to DateTime columns.
    """
    if value is None or isinstance(value, (int, float, str)):
        return int(value) if isinstance(value, bool) else value
    if isinstance(value, datetime):
        # SQLAlchemy's storage format for DateTime on SQLite.
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    raise ArrowReadUnavailable(f"no SQLite form for a parameter of type {type(value)}")


def _check_types(table: pa.Table, statement: sa.Select) -> None:
    """Raise ArrowReadUnavailable where the table's values would differ from
    the driver's rows: text that is not valid UTF-8, which sqlite3 rejects,
    and a column whose Arrow type does not match the statement's type.

    The driver gives a column one type for all its values. Where another
    program wrote a BLOB into a text column, every value of it becomes
    bytes, and where it wrote text into a number column, every value becomes
    text. Python's sqlite3 changes only those values.
    """
    try:
        table.validate(full=True)
    except pa.ArrowInvalid as error:
        raise ArrowReadUnavailable(f"invalid values: {error}") from error
    for name, column in zip(
        table.column_names, statement.selected_columns, strict=True
    ):
        kind = table.schema.field(name).type
        # Without a value the driver guesses a type: int64 for a column of
        # NULLs and for a table without rows.
        if table.column(name).null_count == table.num_rows:
            continue
        if isinstance(column.type, (sa.Integer, sa.Float, sa.Boolean)):
            matches = pa.types.is_integer(kind) or pa.types.is_floating(kind)
        elif isinstance(column.type, (sa.String, sa.Date, sa.DateTime)):
            # SQLite keeps dates and times as text.
            matches = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        else:
            matches = False
        if not matches:
            raise ArrowReadUnavailable(
                f"column {name} came back as {kind} for a {column.type} column"
            )


def arrow_type(column_type: sa.types.TypeEngine) -> pa.DataType:
    """Return the Arrow type that copy_out_table parses a column of this
    SQLAlchemy type as.

    Raises TypeError for NUMERIC, which psycopg returns as Decimal where
    the parsed values would be floats, and for a timestamp with a time
    zone, which Beatboard's schema never has.
    """
    if isinstance(column_type, sa.Boolean):
        return pa.bool_()
    if isinstance(column_type, sa.Integer):
        return pa.int64()
    if isinstance(column_type, sa.Float):
        return pa.float64()
    if isinstance(column_type, sa.DateTime) and not column_type.timezone:
        return pa.timestamp("us")
    if isinstance(column_type, sa.Date):
        return pa.date32()
    if isinstance(column_type, sa.String):
        return pa.string()
    raise TypeError(f"copy_out_table reads no column of type {column_type!r}")


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres on a sphere of the mean Earth radius."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    chord = (
        math.sin(half_dphi) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, chord)))


def _sqlite_local_date(timestamp: str | None, timezone: str) -> str | None:
    if timestamp is None:
        return None
    moment = datetime.fromisoformat(timestamp).replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(timezone)).date().isoformat()


def _sqlite_distance_m(
    lat1: float | None, lon1: float | None, lat2: float | None, lon2: float | None
) -> float | None:
    if lat1 is None or lon1 is None or lat2 is None or lon2 is None:
        return None
    return haversine_m(lat1, lon1, lat2, lon2)


def register_sqlite_functions(dbapi_connection: Any, _connection_record: Any) -> None:
    """Add the Python functions that the SQLite spellings above call."""
    dbapi_connection.create_function(
        "bb_local_date", 2, _sqlite_local_date, deterministic=True
    )
    dbapi_connection.create_function(
        "bb_distance_m", 4, _sqlite_distance_m, deterministic=True
    )


def prepare_postgresql_session(dbapi_connection: Any, _connection_record: Any) -> None:
    """Turn off PostgreSQL's JIT compilation, and print dates in ISO form and
    floats with all their digits, for the session of a new connection.

    PostgreSQL 15 compiles a query whose estimated cost passes jit_above_cost
    (100,000 by default), and the planner's estimates for joins of CTEs and
    grouped subqueries run far above that. On the national demo company
    (2,000 reps, 2-core Xeon, load average 3 to 4), the week's calls at risk
    ran for 2.0 s, of which 1.2 s was compiling, and 1.3 s without JIT. In
    the summary build (2-core AMD EPYC, load average 1.8 to 2.0), the data
    health rows of a national week took 2.6 to 2.8 s with JIT and 1.2 to
    1.3 s without. Three rebuilds of two weeks, in turns, took 17.7 to
    19.0 s with JIT and 14.1 to 15.9 s without, so every engine of
    Beatboard runs without it.

    psycopg reads floats from their text. A server set to extra_float_digits
    = 0 prints 15 significant digits, so 0.1 + 0.2 read back as 0.3, where
    SQLite returns the stored double. With 3, PostgreSQL 12 and later print
    the shortest exact digits and earlier versions 17. copy_out_table's
    CSV carries the same text, and Arrow parses dates in ISO form only,
    which a server set to another DateStyle (such as 'SQL, DMY') would not
    print.
    """
    # SET is part of the transaction it runs in, and the pool rolls back
    # every connection returned to it, so the SET runs in autocommit mode.
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        cursor.execute("SET extra_float_digits = 3")
        cursor.execute("SET DateStyle = 'ISO, YMD'")
    dbapi_connection.autocommit = autocommit


def upsert(
    connection: sa.Connection, table: sa.Table, rows: Iterable[Mapping[str, Any]]
) -> None:
    """Insert rows, replacing the stored row that has the same primary key.

    Both engines spell this INSERT ... ON CONFLICT DO UPDATE. On SQLite the
    rows go to one executemany in the caller's transaction. On PostgreSQL
    they are first copied into a temporary table with COPY, the bulk path
    that is many times faster than an INSERT per row, and then moved over
    in one INSERT ... SELECT.
    """
    rows = list(rows)
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        _copy_upsert_postgresql(connection, table, rows)
        return
    insert = sqlite.insert(table)
    key = [column.name for column in table.primary_key.columns]
    updates = {name: insert.excluded[name] for name in rows[0] if name not in key}
    if updates:
        statement = insert.on_conflict_do_update(index_elements=key, set_=updates)
    else:
        statement = insert.on_conflict_do_nothing(index_elements=key)
    connection.execute(statement, rows)


def _copy_upsert_postgresql(
    connection: sa.Connection, table: sa.Table, rows: list[Mapping[str, Any]]
) -> None:
    names = list(rows[0])
    staging = sa.Table(
        f"staging_{table.name}",
        sa.MetaData(),
        *(sa.Column(name, table.c[name].type) for name in names),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    staging.create(connection, checkfirst=True)
    connection.execute(staging.delete())

    quoted = ", ".join(f'"{name}"' for name in names)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {staging.name} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])

    insert = postgresql.insert(table).from_select(names, sa.select(staging))
    key = [column.name for column in table.primary_key.columns]
    updates = {name: insert.excluded[name] for name in names if name not in key}
    if updates:
        statement = insert.on_conflict_do_update(index_elements=key, set_=updates)
    else:
        statement = insert.on_conflict_do_nothing(index_elements=key)
    connection.execute(statement)


# Page cache of a summary build's SQLite connection, in KiB, for the
# database and for its temporary tables each. An outlet's weeks sit together
# in the summary indexes, so the rows of one week are spread over every page
# of them. With 2,000 reps, 21 built weeks and a transaction per week, a
# week took 10 to 12 s with the default 2 MiB cache and 7 to 9 s with
# 512 MiB, on a machine shared with other jobs. Four national weeks at 4 a
# commit and load about 2 took 25 to 28 s with 128 MiB (415 MB process
# peak), 24 s with 256 MiB (547 MB) and 22 to 24 s with 512 MiB (766 MB).
# The loader runs the build after a load, so the middle size was taken.
# SQLite allocates pages as it reads them, so a small database never uses
# this much.
BUILD_CACHE_KIB = 256 * 1024


@contextmanager
def build_page_cache(connection: sa.Connection) -> Iterator[None]:
    """Give an SQLite connection page caches of BUILD_CACHE_KIB, for the
    database and for temporary tables, while a bulk write runs, and restore
    their own sizes after it.

    PostgreSQL's shared buffers are the server's, so there it changes nothing.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    # On the driver's connection, because a PRAGMA through SQLAlchemy would
    # begin a transaction, and the caller's own begin() would then fail.
    driver = connection.connection.driver_connection
    sizes = {
        schema: driver.execute(f"PRAGMA {schema}.cache_size").fetchone()[0]
        for schema in ("main", "temp")
    }
    # SQLite 3.40.1 reports 0 for temp.cache_size on a file database until
    # the size is set, even after temporary tables were used. Restored as 0,
    # their cache would stay at its minimum, so they get the database's
    # size, which is their default.
    if not sizes["temp"]:
        sizes["temp"] = sizes["main"]
    for schema in sizes:
        driver.execute(f"PRAGMA {schema}.cache_size = -{BUILD_CACHE_KIB}")
    try:
        yield
    finally:
        # An interrupt inside a statement closes the connection, and with it
        # the cache.
        if not connection.invalidated:
            for schema, size in sizes.items():
                driver.execute(f"PRAGMA {schema}.cache_size = {int(size)}")


@contextmanager
def snapshot_connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """Open a connection whose statements all read one snapshot of the
    database, so that a check of the summary rows and the read that relies
    on it agree while a build rewrites those rows.

    PostgreSQL gives each statement its own snapshot under READ COMMITTED,
    its default, and one to the whole transaction under REPEATABLE READ.
    Python's sqlite3 begins no transaction before a SELECT, so each statement
    reads the latest commit. An explicit BEGIN keeps the snapshot that the
    first statement takes until the rollback that ends the block. Outside WAL
    mode the open read also keeps a writer's commit waiting until then, as
    one long SELECT would.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            yield connection.execution_options(isolation_level="REPEATABLE READ")
        elif engine.dialect.name == "sqlite":
            connection.connection.driver_connection.execute("BEGIN")
            try:
                yield connection
            finally:
                if not connection.invalidated:
                    connection.rollback()
        else:
            # NOTE: other engines keep their default isolation, under which a
            # build's commit between the check and the read may still show.
            yield connection


@contextmanager
def wait_for_locks(connection: sa.Connection, seconds: float) -> Iterator[None]:
    """Let an SQLite connection wait up to seconds for another connection's
    lock before it raises "database is locked", and restore its own wait after.

    PostgreSQL waits for row locks without a limit unless lock_timeout is
    set, so there it changes nothing.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    previous = driver.execute("PRAGMA busy_timeout").fetchone()[0]
    driver.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
    try:
        yield
    finally:
        if not connection.invalidated:
            driver.execute(f"PRAGMA busy_timeout = {int(previous)}")


def prefers_index_lookups(connection: sa.Connection) -> bool:
    """Tell whether the summary build should replace window functions by
    index lookups on its temporary tables.

    SQLite sorts the rows once for each window, and its lookups are cheap.
    PostgreSQL runs windows well, and it cannot seek an index on IS NOT
    DISTINCT FROM, which the lookup of a duplicate's chain needs.
    """
    return connection.dialect.name == "sqlite"


def sorts_bulk_inserts(connection: sa.Connection) -> bool:
    """Tell whether the summary build should insert a week's rows in the
    order of the table's secondary index.

    The rows of a week go to every part of an index that starts with
    outlet_id or rep_id. When they come at random, PostgreSQL read and
    dirtied about 69,000 pages for 119,000 rows of summary_outlet_weeks
    (with its default 128 MB of shared buffers). On the national company
    (2-core AMD EPYC, load 2 to 3.7), a first build of three weeks inserted
    into summary_outlet_weeks in 2.1 to 2.2 s sorted and 3.6 to 3.9 s
    unsorted. SQLite took 1.2 to 1.3 s either way, and
    the sort cost it more than it saved on summary_rep_outlet_weeks.
    """
    return connection.dialect.name == "postgresql"


def needs_lateral_lookups(dialect: sa.Dialect) -> bool:
    """Tell whether the engine needs a LATERAL subquery with LIMIT 1 to join
    by one index seek per row.

    PostgreSQL 15 rates an index seek per row costlier than a hash join. So
    it joined the 71,000 orders of a national week to their visits by a full
    scan of all 2.4 million visits, in 0.48 to 0.67 s. The LATERAL subquery
    took 0.14 to 0.20 s (2-core AMD EPYC, load average 4.6). The planner
    cannot merge a LATERAL subquery with LIMIT 1 into the outer query, so it
    runs that subquery once per row. SQLite has no LATERAL, and it already
    joins by one index seek per row wherever an index fits.
    """
    return dialect.name == "postgresql"


def refresh_statistics(engine: sa.Engine, tables: Iterable[sa.Table]) -> None:
    """Analyze and vacuum tables that were just filled, on PostgreSQL.

    PostgreSQL plans a query on a table without statistics as if it were
    small. Its autovacuum analyzes a filled table after a minute or so. In
    one measured run of the national demo, the Overview started in that
    minute did not finish in 120 s, and took 15 s once the summary tables
    had statistics. SQLite is left as it is, because the queries here are
    written for its planner without statistics (see unindexed).

    The VACUUM marks the written pages all-visible, so that index-only scans
    read no table row. Autovacuum does that only once about a fifth of a table
    has changed (autovacuum_vacuum_scale_factor and
    autovacuum_vacuum_insert_scale_factor default to 0.2), which a rebuild of a
    few weeks of a year of summaries does not reach. On the national demo
    company (2,000 reps, PostgreSQL 15, 2-core Xeon at a load average of 4 to
    5), after the last 2 of 21 summary weeks were rebuilt, the quarter's reps
    report took 2.4 to 5.1 s, and 0.8 to 1.4 s once the tables were vacuumed.
    """
    if engine.dialect.name != "postgresql":
        return
    names = ", ".join(engine.dialect.identifier_preparer.quote(t.name) for t in tables)
    # VACUUM leaves a page not all-visible while the commit of a row on it is
    # not yet flushed to the write-ahead log, as after a commit with
    # synchronous_commit off. The ANALYZE commits synchronously first, and
    # that flushes the log of every earlier commit.
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL synchronous_commit = on")
        connection.exec_driver_sql(f"ANALYZE {names}")
    # VACUUM cannot run inside a transaction block, so it gets a connection
    # in autocommit mode.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM {names}")
