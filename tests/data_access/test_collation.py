"""Reports on a PostgreSQL database that sorts text by a language's rules.

A company's server usually sorts text by English or another language's
rules, where 'dupX' < 'DUPx' and 'r1' < 'R10'. SQLite and the test server
sort by code point, where 'DUPx' < 'dupX' and 'R10' < 'r1'. Which of two
check-ins at the same instant is kept, and the order of report rows, must
not depend on that.
"""

from datetime import date
from types import SimpleNamespace

import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa

from data_access import queries, review_queries, schema, summaries, summary_queries
from data_access.dialect import CODE_POINT_DEFAULT, code_point_order, note_text_order
from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from tests.data_access.test_engine_parity import (
    REPORTS,
    report_csv,
    sqlite_and_postgres,
)

WEEK = Period(date(2026, 3, 23), date(2026, 3, 29), "UTC")

# The reps' ids sort R10, R_3, r-2, r1 by code point and R_3, r-2, r1, R10 by
# English rules. r1 checks in at o1 twice at the same instant: the sync
# resent DUPx, fixed 5 km away, as dupX, fixed at the outlet. By code point
# DUPx comes first and is kept, so r1 makes one off-site visit. r-2 skips
# o5 this week. r-2's last visit there, in the week before, was resent: old1
# records the reason "shut" and OLD1 "Shut". R_3 moves from T1 to t-2 on
# Thursday, and the week's territory of a rep is the greatest of the days'.
FILES = {
    "territories.csv": "territory_id,name,region_id\nT1,North,N\nt-2,South,N\n",
    "reps.csv": (
        "rep_id,name,territory_id\n"
        "R10,Asha,T1\nR_3,Bilal,T1\nr-2,Chen,t-2\nr1,Dana,t-2\n"
    ),
    "outlets.csv": (
        "outlet_id,name,territory_id,latitude,longitude\n"
        "O10,Kiosk A,T1,41.88,-87.63\no-2,Kiosk B,T1,41.88,-87.63\n"
        "o1,Kiosk C,t-2,41.88,-87.63\nO_3,Kiosk D,t-2,41.88,-87.63\n"
        "o5,Kiosk E,t-2,41.88,-87.63\n"
    ),
    "beats.csv": (
        "beat_id,rep_id,weekday,every_n_weeks,start_date\n"
        "b1,r1,1,1,2026-03-02\nb2,r-2,1,1,2026-03-02\n"
        "b3,R_3,2,1,2026-03-02\nb4,R10,2,1,2026-03-02\n"
    ),
    "rep_territories.csv": (
        "rep_id,territory_id,valid_from,valid_to\n"
        "R_3,T1,2026-03-01,2026-03-25\nR_3,t-2,2026-03-26,\n"
    ),
    "beat_outlets.csv": "beat_id,outlet_id\nb1,o1\nb2,o-2\nb2,o5\nb3,O_3\nb4,O10\n",
    "visits.csv": (
        "visit_id,rep_id,outlet_id,check_in,latitude,longitude,no_order_reason\n"
        "old1,r-2,o5,2026-03-16T09:00:00Z,41.88,-87.63,shut\n"
        "OLD1,r-2,o5,2026-03-16T09:00:00Z,41.88,-87.63,Shut\n"
        "DUPx,r1,o1,2026-03-23T09:00:00Z,41.925,-87.63,\n"
        "dupX,r1,o1,2026-03-23T09:00:00Z,41.88,-87.63,\n"
        "v2,r-2,o-2,2026-03-23T10:00:00Z,41.88,-87.63,\n"
        "v3,R10,O10,2026-03-24T10:00:00Z,41.88,-87.63,\n"
        "v5,R_3,O_3,2026-03-24T11:00:00Z,41.88,-87.63,\n"
        "v6,R_3,O_3,2026-03-26T11:00:00Z,41.88,-87.63,\n"
    ),
    "orders.csv": (
        "order_id,outlet_id,rep_id,visit_id,ordered_at,value,line_count\n"
        "a1,o1,r1,DUPx,2026-03-23T09:05:00Z,120,3\n"
        "a2,O10,R10,v3,2026-03-24T10:05:00Z,80,2\n"
    ),
}


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("in_halves", [False, True], ids=["whole", "halves"])
@pytest.mark.parametrize("with_summaries", [False, True], ids=["raw", "summaries"])
def test_reports_match_sqlite_under_english_collation(
    files, tmp_path, english_postgres_url, monkeypatch, with_summaries, in_halves
):
    if in_halves:
        # PostgreSQL reads the outlets in two halves split at the middle id.
        monkeypatch.setattr(queries, "SPLIT_MIN_OUTLETS", 1)
    settings = Settings(timezone="UTC")
    with sqlite_and_postgres(
        files, tmp_path / "loaded.sqlite", english_postgres_url
    ) as engines:
        if with_summaries:
            for engine in engines:
                summaries.build_summaries(engine, WEEK.start, WEEK.end, settings)
        sqlite_cells, postgres_cells = (
            {name: report_csv(name, engine, WEEK, settings) for name in REPORTS}
            for engine in engines
        )
        sqlite_skips, postgres_skips = (
            review_queries.skip_details(engine, WEEK, Scope(), settings)
            for engine in engines
        )
        sqlite_weeks, postgres_weeks = (
            summary_queries.weekly_rep_activity(engine, WEEK, Scope(), settings)
            for engine in engines
        )

    rep_lines = sqlite_cells["reps"].splitlines()
    assert [line.split(",")[0] for line in rep_lines[1:]] == [
        "R10",
        "R_3",
        "r-2",
        "r1",
    ]
    header = rep_lines[0].split(",")
    r1 = dict(zip(header, rep_lines[4].split(",")))
    assert (r1["visits"], r1["off_site_visits"]) == ("1", "1")
    for name in REPORTS:
        assert postgres_cells[name] == sqlite_cells[name], name
    skip = sqlite_skips.set_index(["rep_id", "outlet_id"]).loc[("r-2", "o5")]
    assert skip["reason_at_last_visit"] == "shut"
    pd.testing.assert_frame_equal(postgres_skips, sqlite_skips)
    moved = sqlite_weeks.set_index("rep_id").loc["R_3"]
    assert moved["territory_id"] == "t-2"
    pd.testing.assert_frame_equal(postgres_weeks, sqlite_weeks)


def test_c_collation_only_where_needed(postgres_url, english_postgres_url):
    statement = sa.select(schema.visits.c.visit_id).order_by(
        code_point_order(schema.visits.c.visit_id)
    )
    collated = {}
    for name, url in (("c", postgres_url), ("english", english_postgres_url)):
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                # The catalog read leaves no transaction open.
                status = connection.connection.dbapi_connection.info.transaction_status
                assert status == psycopg.pq.TransactionStatus.IDLE
                collated[name] = 'COLLATE "C"' in str(statement.compile(connection))
        finally:
            engine.dispose()

    assert collated == {"c": False, "english": True}


class _Unreadable:
    """A DB-API connection whose catalog read fails, as for a role that may
    not read pg_database."""

    autocommit = False
    closed = False

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def execute(self, statement):
        raise psycopg.errors.InsufficientPrivilege("permission denied")


def test_unreadable_catalog_keeps_c_collation(caplog):
    # An engine that never connects, for its psycopg dialect.
    dialect = sa.create_engine("postgresql+psycopg://reader@127.0.0.1/sfa").dialect
    dialect.server_version_info = (15, 0)
    unreadable = _Unreadable()
    connection = SimpleNamespace(
        dialect=dialect, connection=SimpleNamespace(dbapi_connection=unreadable)
    )

    note_text_order(connection)

    assert getattr(dialect, CODE_POINT_DEFAULT) is False
    assert unreadable.autocommit is False
    assert "reading the database's collation failed" in caplog.text
    statement = sa.select(code_point_order(schema.visits.c.visit_id))
    assert 'COLLATE "C"' in str(statement.compile(dialect=dialect))


class _Dropped(_Unreadable):
    """A DB-API connection that the server closed before the catalog read."""

    def execute(self, statement):
        self.closed = True
        raise psycopg.OperationalError("server closed the connection unexpectedly")


def test_dropped_connection_records_nothing(caplog):
    dialect = sa.create_engine("postgresql+psycopg://reader@127.0.0.1/sfa").dialect
    dialect.server_version_info = (15, 0)
    connection = SimpleNamespace(
        dialect=dialect, connection=SimpleNamespace(dbapi_connection=_Dropped())
    )

    note_text_order(connection)

    assert not hasattr(dialect, CODE_POINT_DEFAULT)
    assert "collation" not in caplog.text
