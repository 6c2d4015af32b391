"""Data health rules, each on a small literal case (see tests.health_company)."""

from datetime import date, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import schema
from data_access.filters import Period, Scope, Settings
from data_access.health_queries import (
    KIND_TABLES,
    HealthSQL,
    affected_rows,
    health_counts,
    set_aside_counts,
)
from data_access.period_sql import PeriodSQL, beat_run_conditions
from tests.database import empty_database_url, fill_database, sqlite_database
from tests.health_company import ROWS

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
NOW = datetime(2026, 3, 6, 12, 0)
SETTINGS = Settings()

# {kind: [(record_id, measure rounded to 1 decimal, related_id)]}
EXPECTED_ROWS = {
    "duplicate_visit": [("v2", None, "v1")],
    "check_out_before_check_in": [("v3", -20.0, None)],
    "long_visit": [("v4", 13.5, None)],
    "future_check_in": [("v9", 3.0, None)],
    "visit_without_gps": [("v6", None, None)],
    "gps_at_zero": [("v5", None, None)],
    "gps_out_of_range": [("v7", None, None)],
    # The swapped fix (19.0, 72.9) is exactly at o2.
    "gps_swapped": [("v8", 0.0, None)],
    # 1,153 km from v3 in 30 minutes.
    "impossible_travel": [("v4", 2306.7, "v3")],
    "visit_unknown_reference": [("v10", None, None), ("v11", None, None)],
    "order_without_visit": [
        ("d", 25.0, "v404"),
        ("i", 60.0, None),
        ("g", 20.0, None),
        ("c", 40.0, None),
    ],
    "order_unknown_outlet": [("e", 15.0, None)],
    "order_unknown_rep": [("g", 20.0, None), ("f", 30.0, None)],
    "return_order": [("h", -75.0, None)],
    # SQLite's quote() writes infinity as Inf.
    "order_value_unusable": [("l", None, "Inf")],
    "order_line_count_unusable": [("a", 100.0, "-3")],
    "order_off_visit_day": [("i", 60.0, None), ("j", 10.0, None)],
    "outlet_without_coordinates": [("o3", None, "T1"), ("o4", None, "T1")],
    "outlet_without_territory": [("o5", None, None), ("o6", None, "T9")],
    "rep_without_manager": [("r2", None, "T1"), ("r4", None, None)],
    "rep_without_territory": [("r3", None, "T9"), ("r4", None, None)],
    "beat_never_runs": [
        ("b2", 9.0, "weekday"),
        ("b3", 0.0, "every_n_weeks"),
        ("b4", None, "end_date"),
        ("b5", 0.0, "weekday"),
        ("b6", 0.0, "weekday"),
    ],
    "beat_unknown_rep": [("b5", None, "r9")],
    "beat_outlet_unknown_reference": [
        ("b1", None, "outlet_id"),
        ("b404", None, "beat_id"),
    ],
    # fill_database writes active as a boolean, so an invalid value needs
    # SQL on SQLite, as in tests/metrics/test_invalid_active.py.
    "outlet_invalid_active": [],
    "rep_invalid_active": [],
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = sqlite_database(tmp_path_factory.mktemp("health"), ROWS)
    yield engine
    engine.dispose()


def summarize(frame: pd.DataFrame) -> list[tuple]:
    return [
        (
            row.record_id,
            None if pd.isna(row.measure) else round(row.measure, 1),
            None if pd.isna(row.related_id) else row.related_id,
        )
        for row in frame.itertuples()
    ]


@pytest.mark.parametrize("kind", list(EXPECTED_ROWS))
def test_rule_finds_its_rows(engine, kind):
    rows = affected_rows(engine, WEEK, Scope(), SETTINGS, kinds=(kind,), now=NOW)

    result = summarize(rows)

    assert result == EXPECTED_ROWS[kind]


def test_text_latitude_hides_no_swapped_fix(tmp_path):
    # A fix at o8 in Delhi, swapped. The text latitude that another program
    # wrote for o5 sorts above every number in SQLite.
    delhi_swap = {
        "visit_id": "v20",
        "rep_id": "r1",
        "outlet_id": "o8",
        "check_in": "2026-03-04 10:00:00",
        "latitude": 77.2,
        "longitude": 28.6,
    }
    rows = {**ROWS, "visits": [*ROWS["visits"], delhi_swap]}
    engine = sqlite_database(tmp_path, rows)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE outlets SET latitude = '19,08' WHERE outlet_id = 'o5'"
        )

    rows = affected_rows(
        engine, WEEK, Scope(), SETTINGS, kinds=("gps_swapped",), now=NOW
    )
    engine.dispose()

    assert list(rows["record_id"]) == ["v8", "v20"]


def test_every_kind_has_a_case():
    assert list(EXPECTED_ROWS) == list(KIND_TABLES)


def test_counts_with_rows_checked(engine):
    counts = health_counts(engine, WEEK, Scope(), SETTINGS, now=NOW)

    result = [tuple(row) for row in counts.itertuples(index=False)]

    checked = {
        "visits": 11,
        "orders": 11,
        "outlets": 7,
        "reps": 4,
        "beats": 6,
        "beat_outlets": 8,
    }
    expected = [
        (kind, table, len(EXPECTED_ROWS[kind]), checked[table])
        for kind, table in KIND_TABLES.items()
    ]
    assert result == expected


def test_territory_scope_hides_other_rows(engine):
    scope = Scope(territory_ids=("T1",))

    counts = health_counts(engine, WEEK, scope, SETTINGS, now=NOW)

    result = {
        row.kind: (row.affected, row.checked)
        for row in counts.itertuples()
        if row.kind
        in (
            "visit_unknown_reference",
            "order_unknown_rep",
            "outlet_without_territory",
            "rep_without_manager",
            "rep_without_territory",
            "beat_never_runs",
            "beat_unknown_rep",
            "beat_outlet_unknown_reference",
        )
    }

    # Only reps r1 and r2 are in T1: v10 by the unknown rep r9 drops out,
    # but the orders at o1 stay, because o1 is in T1. The beats of r3 (b4)
    # and of the unknown rep r9 (b5) drop out too, and with them their
    # beat_outlets rows and the row of the unknown beat b404.
    expected = {
        "visit_unknown_reference": (1, 10),
        "order_unknown_rep": (2, 11),
        "outlet_without_territory": (0, 5),
        "rep_without_manager": (1, 2),
        "rep_without_territory": (0, 2),
        "beat_never_runs": (3, 4),
        "beat_unknown_rep": (0, 4),
        "beat_outlet_unknown_reference": (1, 5),
    }
    assert result == expected


def test_longer_window_flags_fewer(engine):
    settings = Settings(max_visit_hours=14, max_speed_kmh=3_000, duplicate_window_s=30)

    counts = health_counts(engine, WEEK, Scope(), settings, now=NOW).set_index("kind")

    kinds = ["long_visit", "impossible_travel", "duplicate_visit"]
    result = counts.loc[kinds, "affected"]
    assert list(result) == [0, 0, 0]


def test_set_aside_counts(engine):
    result = set_aside_counts(engine, WEEK, Scope(), SETTINGS)

    # v5 (0, 0), v6 (no fix), v7 (out of range) and v11 (unknown outlet)
    # are never judged off-site.
    expected = {
        "duplicate_visits": 1,
        "visits_without_fix": 4,
        "orders_without_rep": 2,
        "orders_without_value": 1,
    }
    assert result == expected


def test_unknown_kind_is_rejected(engine):
    with pytest.raises(ValueError, match="unknown data health kind 'gps'"):
        affected_rows(engine, WEEK, Scope(), SETTINGS, kinds=("gps",))


def test_postgres_matches_sqlite(engine, fresh_postgres_url):
    postgres = fill_database(fresh_postgres_url, ROWS)
    try:
        result_counts = health_counts(postgres, WEEK, Scope(), SETTINGS, now=NOW)
        result_rows = affected_rows(postgres, WEEK, Scope(), SETTINGS, now=NOW)
        result_set_aside = set_aside_counts(postgres, WEEK, Scope(), SETTINGS)
    finally:
        postgres.dispose()

    expected_counts = health_counts(engine, WEEK, Scope(), SETTINGS, now=NOW)
    expected_rows = affected_rows(engine, WEEK, Scope(), SETTINGS, now=NOW)
    assert result_counts.equals(expected_counts)
    # Order l's stored infinity is the one literal the engines spell apart:
    # SQLite's quote() writes Inf, PostgreSQL's text cast Infinity.
    expected_summary = [
        (record_id, measure, "Infinity" if related == "Inf" else related)
        for record_id, measure, related in summarize(expected_rows)
    ]
    assert summarize(result_rows) == expected_summary
    assert result_set_aside == set_aside_counts(engine, WEEK, Scope(), SETTINGS)


def test_lateral_order_visits_match_join(fresh_postgres_url):
    postgres = fill_database(fresh_postgres_url, ROWS)
    order_kinds = [kind for kind, table in KIND_TABLES.items() if table == "orders"]
    statements = {}
    for lateral in (False, True):
        health = HealthSQL(WEEK, Scope(), SETTINGS, NOW, lateral_lookups=lateral)
        statements[lateral] = sa.union_all(*map(health.affected, order_kinds))
    try:
        with postgres.connect() as connection:
            rows = {
                lateral: sorted(connection.execute(statement).all())
                for lateral, statement in statements.items()
            }
    finally:
        postgres.dispose()

    compiled = str(statements[True].compile(dialect=postgres.dialect))
    assert "LATERAL" in compiled
    assert rows[True] == rows[False]
    assert len(rows[False]) == sum(len(EXPECTED_ROWS[kind]) for kind in order_kinds)


# Resends of one visit, each less than 120 s after the one before. v2 and v3
# repeat v1 although v3 is 150 s after it. v4 is a new visit and v5 its resend.
# v6 is kept 30 s before the week starts, and v7, its resend, falls in the week.
RESEND_ROWS = {
    "territories": [{"territory_id": "T1"}],
    "reps": [{"rep_id": "r1", "territory_id": "T1", "manager_id": "m1"}],
    "outlets": [
        {"outlet_id": "o1", "territory_id": "T1", "latitude": 19.0, "longitude": 72.9},
        {"outlet_id": "o2", "territory_id": "T1", "latitude": 19.1, "longitude": 72.9},
    ],
    "visits": [
        {"visit_id": visit_id, "rep_id": "r1", "outlet_id": outlet_id,
         "check_in": check_in, "latitude": 19.0, "longitude": 72.9}
        for visit_id, outlet_id, check_in in [
            ("v1", "o1", "2026-03-03T10:00:00"),
            ("v2", "o1", "2026-03-03T10:01:00"),
            ("v3", "o1", "2026-03-03T10:02:30"),
            ("v4", "o1", "2026-03-03T10:05:00"),
            ("v5", "o1", "2026-03-03T10:06:00"),
            ("v6", "o2", "2026-03-01T23:59:30"),
            ("v7", "o2", "2026-03-02T00:00:40"),
        ]
    ],
}  # fmt: skip
RESEND_DUPLICATES = [
    ("v7", None, "v6"),
    ("v2", None, "v1"),
    ("v3", None, "v1"),
    ("v5", None, "v4"),
]


def test_resend_chains_name_kept_visit(tmp_path):
    engine = sqlite_database(tmp_path, RESEND_ROWS)

    rows = affected_rows(engine, WEEK, Scope(), SETTINGS, kinds=("duplicate_visit",))
    set_aside = set_aside_counts(engine, WEEK, Scope(), SETTINGS)
    engine.dispose()

    result = summarize(rows)
    assert result == RESEND_DUPLICATES
    # The week keeps v1 and v4, both with a fix at outlets with coordinates.
    assert set_aside == {
        "duplicate_visits": 4,
        "visits_without_fix": 0,
        "orders_without_rep": 0,
        "orders_without_value": 0,
    }


def test_resend_chains_postgres_matches_sqlite(tmp_path, fresh_postgres_url):
    postgres = fill_database(fresh_postgres_url, RESEND_ROWS)
    try:
        result = affected_rows(postgres, WEEK, Scope(), SETTINGS, now=NOW)
    finally:
        postgres.dispose()

    engine = sqlite_database(tmp_path, RESEND_ROWS)
    expected = affected_rows(engine, WEEK, Scope(), SETTINGS, now=NOW)
    engine.dispose()
    assert summarize(result) == summarize(expected)
    assert len(expected) == 4


# Beats as another program may write them, with values the loader rejects.
# b1 runs. b7 to b9 start on a Monday and run on Fridays (b7, b8) or
# Wednesdays (b9): b7 and b9 end before their first run, and b8 runs on its
# end_date. b10 starts at '-infinity', which both engines store.
BEAT_COMPANY = {
    "territories": [{"territory_id": "T1"}],
    "reps": [{"rep_id": rep_id, "territory_id": "T1"} for rep_id in ("r1", "r2")],
    "outlets": [{"outlet_id": "o1", "territory_id": "T1"}],
}
BEATS_SQL = (
    "INSERT INTO beats (beat_id, rep_id, weekday, every_n_weeks, start_date, "
    "end_date) VALUES "
    "('b1', 'r1', 1, 1, '2026-01-05', NULL), "
    "('b2', 'r1', 8, 1, '2026-01-05', NULL), "
    "('b3', 'r1', -1, 1, '2026-01-05', NULL), "
    "('b4', 'r2', 3, 0, '2026-01-07', NULL), "
    "('b5', 'r2', 4, 1, '2026-03-05', '2026-03-04'), "
    "('b6', 'r2', 2, -2, '2026-01-06', NULL), "
    "('b7', 'r2', 5, 1, '2026-03-02', '2026-03-05'), "
    "('b8', 'r2', 5, 1, '2026-03-02', '2026-03-06'), "
    "('b9', 'r1', 3, 1, '1969-12-29', '1969-12-30'), "
    "('b10', 'r1', 1, 1, '-infinity', NULL)"
)
BEAT_OUTLETS_SQL = (
    "INSERT INTO beat_outlets (beat_id, outlet_id) VALUES "
    "('b1', 'o1'), ('b2', 'o1'), ('b3', 'o1'), ('b4', 'o1'), ('b5', 'o1'), "
    "('b6', 'o1'), ('b7', 'o1'), ('b8', 'o1'), ('b9', 'o1'), ('b10', 'o1')"
)


def engine_with_sql(request, tmp_path, rows, *statements: str) -> sa.Engine:
    """Fill the engine that request.param names with rows, then run statements."""
    engine = fill_database(empty_database_url(request.param, request, tmp_path), rows)
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    return engine


@pytest.fixture(params=["sqlite", "postgres"])
def beat_engine(request, tmp_path):
    engine = engine_with_sql(
        request, tmp_path, BEAT_COMPANY, BEATS_SQL, BEAT_OUTLETS_SQL
    )
    yield engine
    engine.dispose()


def test_beats_never_running_are_listed(beat_engine):
    rows = affected_rows(
        beat_engine, WEEK, Scope(), SETTINGS, kinds=("beat_never_runs",)
    )
    counts = health_counts(beat_engine, WEEK, Scope(), SETTINGS, now=NOW)

    result = summarize(rows)

    # measure is the bad value, or for end_date the days from start_date to
    # the first run date.
    expected = [
        ("b10", None, "start_date"),
        ("b2", 8.0, "weekday"),
        ("b3", -1.0, "weekday"),
        ("b4", 0.0, "every_n_weeks"),
        ("b5", None, "end_date"),
        ("b6", -2.0, "every_n_weeks"),
        ("b7", 4.0, "end_date"),
        ("b9", 2.0, "end_date"),
    ]
    assert result == expected
    assert list(rows["rep_id"]) == ["r1", "r1", "r1", "r2", "r2", "r2", "r2", "r1"]
    beat_counts = counts.set_index("kind").loc["beat_never_runs"]
    assert beat_counts["table_name"] == "beats"
    assert beat_counts["affected"] == 8
    assert beat_counts["checked"] == 10


def test_beats_listed_are_those_without_run_dates(beat_engine):
    # Every beat's dates lie in 2026 or in the week of Monday 1969-12-29.
    periods = [
        Period(date(1969, 12, 29), date(1970, 1, 4)),
        Period(date(2026, 1, 1), date(2026, 12, 31)),
    ]
    result = set()
    for period in periods:
        calendar = PeriodSQL(period, SETTINGS).calendar
        on_weekday, *on_run_date = beat_run_conditions(schema.beats, calendar)
        running = (
            sa.select(schema.beats.c.beat_id)
            .select_from(schema.beats.join(calendar, on_weekday))
            .where(*on_run_date)
        )
        with beat_engine.connect() as connection:
            result |= set(connection.execute(running).scalars())
    listed = affected_rows(
        beat_engine, WEEK, Scope(), SETTINGS, kinds=("beat_never_runs",)
    )

    # The two lists split the ten beats.
    assert sorted(result) == ["b1", "b8"]
    assert list(listed["record_id"]) == [
        "b10",
        "b2",
        "b3",
        "b4",
        "b5",
        "b6",
        "b7",
        "b9",
    ]


def test_beat_scope_follows_rep(beat_engine):
    scope = Scope(rep_ids=("r2",))

    counts = health_counts(beat_engine, WEEK, scope, SETTINGS, now=NOW)

    beat_counts = counts.set_index("kind").loc["beat_never_runs"]
    assert (beat_counts["affected"], beat_counts["checked"]) == (4, 5)


# Beat plans that name rows which do not exist, as another program may write
# them. The loader accepts all of them but b4's empty rep_id. r1 and r2 are
# the reps of managers m1 and m2. b3's rep r9 is not in reps and b4 has none.
# beat_outlets rows name the unknown outlets O99, o98, o97 and o96 and the
# unknown beats b404 and b405.
# 'O99' sorts before 'o98' by code point but after it in most languages.
REFERENCE_COMPANY = {
    "territories": [{"territory_id": "T1"}, {"territory_id": "T2"}],
    "reps": [
        {"rep_id": "r1", "territory_id": "T1", "manager_id": "m1"},
        {"rep_id": "r2", "territory_id": "T2", "manager_id": "m2"},
    ],
    "outlets": [
        {"outlet_id": "o1", "territory_id": "T1"},
        {"outlet_id": "o2", "territory_id": "T2"},
    ],
}
REFERENCE_BEATS_SQL = (
    "INSERT INTO beats (beat_id, rep_id, weekday, every_n_weeks, start_date) "
    "VALUES ('b1', 'r1', 1, 1, '2026-01-05'), ('b2', 'r2', 1, 1, '2026-01-05'), "
    "('b3', 'r9', 2, 1, '2026-01-06'), ('b4', NULL, 3, 1, '2026-01-07')"
)
REFERENCE_BEAT_OUTLETS_SQL = (
    "INSERT INTO beat_outlets (beat_id, outlet_id) VALUES "
    "('b1', 'o1'), ('b1', 'o98'), ('b1', 'O99'), ('b2', 'o97'), ('b3', 'o1'), "
    "('b404', 'o2'), ('b405', 'o96')"
)
REFERENCE_KINDS = ("beat_unknown_rep", "beat_outlet_unknown_reference")


@pytest.fixture(params=["sqlite", "postgres"])
def reference_engine(request, tmp_path):
    engine = engine_with_sql(
        request,
        tmp_path,
        REFERENCE_COMPANY,
        REFERENCE_BEATS_SQL,
        REFERENCE_BEAT_OUTLETS_SQL,
    )
    yield engine
    engine.dispose()


def test_beat_references_are_listed(reference_engine):
    rows = affected_rows(reference_engine, WEEK, Scope(), SETTINGS, REFERENCE_KINDS)

    result = [
        (row.kind, row.record_id, row.rep_id, row.outlet_id, row.related_id)
        for row in rows.replace({float("nan"): None}).itertuples()
    ]

    expected = [
        ("beat_unknown_rep", "b3", "r9", None, "r9"),
        ("beat_unknown_rep", "b4", None, None, None),
        ("beat_outlet_unknown_reference", "b1", "r1", "O99", "outlet_id"),
        ("beat_outlet_unknown_reference", "b1", "r1", "o98", "outlet_id"),
        ("beat_outlet_unknown_reference", "b2", "r2", "o97", "outlet_id"),
        ("beat_outlet_unknown_reference", "b404", None, "o2", "beat_id"),
        ("beat_outlet_unknown_reference", "b405", None, "o96", "beat_id outlet_id"),
    ]
    assert result == expected


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        # Every beat and beat_outlets row, those of unknown beats and reps too.
        (
            Scope(),
            {
                "beat_unknown_rep": ("beats", 2, 4),
                "beat_outlet_unknown_reference": ("beat_outlets", 5, 7),
            },
        ),
        # Only the rows of r1's beat b1: b3's row at o1 counts for no rep,
        # although o1 is in m1's territory.
        (
            Scope(manager_id="m1"),
            {
                "beat_unknown_rep": ("beats", 0, 1),
                "beat_outlet_unknown_reference": ("beat_outlets", 2, 3),
            },
        ),
        # b404's row at o2 counts for no rep, although o2 is in T2.
        (
            Scope(territory_ids=("T2",)),
            {
                "beat_unknown_rep": ("beats", 0, 1),
                "beat_outlet_unknown_reference": ("beat_outlets", 1, 1),
            },
        ),
    ],
)
def test_beat_reference_scope_follows_beat_rep(reference_engine, scope, expected):
    counts = health_counts(reference_engine, WEEK, scope, SETTINGS, now=NOW)

    found = counts[counts["kind"].isin(REFERENCE_KINDS)]
    result = {
        row.kind: (row.table_name, row.affected, row.checked)
        for row in found.itertuples()
    }

    assert result == expected
