"""The engine-specific expressions give the same values on SQLite and PostgreSQL."""

import sys
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from data_access.dialect import (
    bounded_count,
    bounded_number,
    day_number,
    distance_m,
    haversine_m,
    local_date,
    seconds_between,
    sql_literal,
)
from data_access.engine import create_engine, prepare_engine
from data_access.period_sql import usable_fix
from data_access.schema import create_tables


def expressions():
    at = sa.literal(datetime(2026, 3, 1, 19, 0), sa.DateTime)
    return sa.select(
        local_date(at, "Asia/Kolkata").label("kolkata"),
        local_date(at, "UTC").label("utc"),
        # 2026-03-29 01:30 UTC is 03:30 in Berlin, after the switch to summer time.
        local_date(
            sa.literal(datetime(2026, 3, 28, 23, 30), sa.DateTime), "Europe/Berlin"
        ).label("berlin"),
        day_number(sa.literal(date(1970, 1, 11), sa.Date)).label("day_number"),
        seconds_between(
            at, sa.literal(datetime(2026, 3, 1, 19, 1, 30), sa.DateTime)
        ).label("seconds"),
        distance_m(
            sa.literal(0.0, sa.Float),
            sa.literal(0.0, sa.Float),
            sa.literal(0.0, sa.Float),
            sa.literal(1.0, sa.Float),
        ).label("distance"),
    )


EXPECTED = {
    "kolkata": date(2026, 3, 2),
    "utc": date(2026, 3, 1),
    "berlin": date(2026, 3, 29),
    "day_number": 10,
    "seconds": 90.0,
}


def check(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        row = dict(connection.execute(expressions()).one()._mapping)
    engine.dispose()
    for name, expected in EXPECTED.items():
        assert row[name] == expected, name
    # One degree of longitude on the equator, mean Earth radius 6,371,008.8 m.
    assert row["distance"] == pytest.approx(111_195.08, abs=0.01)


def test_sqlite_expressions():
    check(create_engine("sqlite://"))


def test_postgres_expressions(postgres_url):
    check(create_engine(postgres_url))


NUMBERS = sa.Table(
    "numbers",
    sa.MetaData(),
    sa.Column("position", sa.Integer),
    sa.Column("value", sa.Float, nullable=False),
)
LARGEST = sys.float_info.max
LIMIT = 1e15
# (SQL literal, value read back) of the numbers from -LIMIT to LIMIT.
WITHIN = [
    ("0", 0.0),
    ("-12.5", -12.5),
    ("1e15", 1e15),
    ("-1e15", -1e15),
]
# Values another program can store in a REAL or double precision column,
# doubles just beyond the limit and the largest finite doubles included.
BEYOND = {
    "sqlite": ["1000000000000000.2", "-1000000000000000.2", "1e308", repr(LARGEST), repr(-LARGEST), "9e999",
               "-9e999", "'NaN'", "'abc'", "'12,50'", "x'00'"],
    "postgres": ["1000000000000000.2", "-1000000000000000.2", "1e308", repr(LARGEST), repr(-LARGEST),
                 "'Infinity'", "'-Infinity'", "'NaN'"],
}  # fmt: skip


@pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
def test_bounded_number_leaves_out_others(engine_name, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'numbers.sqlite'}"
        if engine_name == "sqlite"
        else request.getfixturevalue("fresh_postgres_url")
    )
    engine = create_engine(url)
    literals = [text for text, _ in WITHIN] + BEYOND[engine_name]
    try:
        NUMBERS.create(engine)
        with engine.begin() as connection:
            for position, text in enumerate(literals):
                connection.exec_driver_sql(
                    f"INSERT INTO numbers VALUES ({position}, {text})"
                )
            statement = sa.select(bounded_number(NUMBERS.c.value, LIMIT)).order_by(
                NUMBERS.c.position
            )
            result = connection.execute(statement).scalars().all()
    finally:
        engine.dispose()

    expected = [number for _, number in WITHIN]
    expected += [None] * len(BEYOND[engine_name])
    assert result == expected


def test_bounded_number_reads_each_limit():
    # The statement cache must not reuse the SQL compiled for another limit.
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        result = [
            connection.execute(
                sa.select(bounded_number(sa.literal(50.0, sa.Float), limit))
            ).scalar()
            for limit in (100.0, 10.0)
        ]
    engine.dispose()

    assert result == [50.0, None]


COUNTS = sa.Table(
    "counts",
    sa.MetaData(),
    sa.Column("position", sa.Integer),
    sa.Column("value", sa.Integer),
)
MAX_COUNT = 2_147_483_647
# (SQL literal, value read back, the stored value as an SQL literal).
COUNTS_STORED = {
    "sqlite": [
        ("0", 0, "0"),
        ("7", 7, "7"),
        ("3.0", 3, "3"),
        ("2147483647", 2147483647, "2147483647"),
        ("2147483648", None, "2147483648"),
        ("9223372036854775807", None, "9223372036854775807"),
        ("-5", None, "-5"),
        ("NULL", None, "NULL"),
        ("2.5", None, "2.5"),
        ("'abc'", None, "'abc'"),
        ("x'00'", None, "X'00'"),
    ],
    "postgres": [
        ("0", 0, "0"),
        ("7", 7, "7"),
        ("2147483647", 2147483647, "2147483647"),
        ("-2147483648", None, "-2147483648"),
        ("-5", None, "-5"),
        ("NULL", None, "NULL"),
    ],
}


@pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
def test_bounded_count_leaves_out_others(engine_name, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'counts.sqlite'}"
        if engine_name == "sqlite"
        else request.getfixturevalue("fresh_postgres_url")
    )
    engine = create_engine(url)
    cases = COUNTS_STORED[engine_name]
    try:
        COUNTS.create(engine)
        with engine.begin() as connection:
            for position, (text, _, _) in enumerate(cases):
                connection.exec_driver_sql(
                    f"INSERT INTO counts VALUES ({position}, {text})"
                )
            statement = sa.select(
                bounded_count(COUNTS.c.value, MAX_COUNT), sql_literal(COUNTS.c.value)
            ).order_by(COUNTS.c.position)
            result = [tuple(row) for row in connection.execute(statement)]
    finally:
        engine.dispose()

    expected = [(number, stored) for _, number, stored in cases]
    assert result == expected


def test_haversine_of_one_degree_on_the_equator():
    # 2 * pi * 6,371,008.8 m / 360.
    result = haversine_m(0.0, 0.0, 0.0, 1.0)

    assert result == pytest.approx(111_195.0802, abs=0.001)


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        (19.0, 72.8, True),
        (0.0, 0.0, False),
        (0.0, 72.8, True),
        (None, 72.8, False),
        (91.0, 72.8, False),
        (19.0, -181.0, False),
    ],
)
def test_usable_fix(latitude, longitude, expected):
    statement = sa.select(
        usable_fix(sa.literal(latitude, sa.Float), sa.literal(longitude, sa.Float))
    )
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        result = connection.execute(statement).scalar()
    engine.dispose()

    assert bool(result) is expected


def test_postgres_sessions_without_jit(postgres_url):
    # The dashboard prepares the engine that st.connection made.
    dashboard = prepare_engine(sa.create_engine(postgres_url))
    plain = sa.create_engine(postgres_url)
    build = create_engine(postgres_url)
    try:
        with dashboard.connect() as connection:
            first = connection.exec_driver_sql("SHOW jit").scalar()
        # The pool rolls a connection back when it is returned, and the
        # setting must outlive that.
        with dashboard.connect() as connection:
            again = connection.exec_driver_sql("SHOW jit").scalar()
        with plain.connect() as connection:
            server_setting = connection.exec_driver_sql("SHOW jit").scalar()
        with build.connect() as connection:
            build_setting = connection.exec_driver_sql("SHOW jit").scalar()
    finally:
        for engine in (dashboard, plain, build):
            engine.dispose()

    assert first == "off"
    assert again == "off"
    assert server_setting == "on"
    assert build_setting == "off"


def test_postgres_outlet_visit_index_includes_rep(fresh_postgres_url):
    engine = create_engine(fresh_postgres_url)
    try:
        create_tables(engine)
        indexes = sa.inspect(engine).get_indexes("visits")
    finally:
        engine.dispose()

    result = {
        index["name"]: index.get("dialect_options", {}).get("postgresql_include")
        for index in indexes
    }
    assert result["ix_visits_outlet_check_in"] == ["rep_id"]
