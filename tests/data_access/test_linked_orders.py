"""Linked orders: which visit of the period each order counts for.

Week 2026-03-23 to 03-29 in Asia/Kolkata (UTC+05:30), so the period runs
from 2026-03-22 18:30 to 2026-03-29 18:30 UTC. Times below are UTC.

Visits:
- v1 r1 at o1, 03-24 04:00 (local 09:30). v1dup at 04:01 is an offline
  resend of it, 60 s later and so inside the 120 s duplicate window.
- v2 r1 at o1, 03-24 08:00: a second visit that day.
- v3 r1 at o2, 03-24 18:00 (local 23:30 on 03-24).
- v4 r1 at o2, 03-24 18:40 (local 00:10 on 03-25).
- v5 r2 at o1, 03-16: the week before, outside the period.
- v6 r2 at o3, 03-23 05:00.
- v7 r2 at o3, 03-22 18:35 (local 00:05 on 03-23, the period's first minutes).

Orders with a visit_id link to that visit, or to the visit it duplicates,
whatever their date (a, b, c, d). One naming a visit outside the period (e)
or no visit at all (f) links to nothing, even where its rep, outlet and date
match a visit. Orders without visit_id link to the first visit of their rep
at their outlet on their local date (g, h, i, n). They link to nothing when
the rep (j), the outlet (k) or the date (l) differs, or when they are dated
before the period (m).
"""

from datetime import date

import pytest
import sqlalchemy as sa

from data_access import review_queries
from data_access.filters import Period, Scope, Settings
from data_access.period_sql import PeriodSQL, reps
from tests.database import fill_database, sqlite_database

TIMEZONE = "Asia/Kolkata"
WEEK = Period(date(2026, 3, 23), date(2026, 3, 29), TIMEZONE)
SETTINGS = Settings(timezone=TIMEZONE)


def _visit(visit_id: str, rep_id: str, outlet_id: str, check_in: str) -> dict:
    return {
        "visit_id": visit_id,
        "rep_id": rep_id,
        "outlet_id": outlet_id,
        "check_in": check_in,
    }


def _order(
    order_id: str,
    rep_id: str,
    outlet_id: str,
    ordered_at: str,
    value: float,
    visit_id: str | None = None,
    line_count: int | None = 1,
) -> dict:
    return {
        "order_id": order_id,
        "rep_id": rep_id,
        "outlet_id": outlet_id,
        "visit_id": visit_id,
        "ordered_at": ordered_at,
        "value": value,
        "line_count": line_count,
    }


ROWS = {
    "territories": [{"territory_id": "T1", "name": "North"}],
    "reps": [
        {"rep_id": "r1", "name": "Rep One", "territory_id": "T1"},
        {"rep_id": "r2", "name": "Rep Two", "territory_id": "T1"},
    ],
    "outlets": [
        {"outlet_id": outlet_id, "name": f"Shop {outlet_id}", "territory_id": "T1"}
        for outlet_id in ("o1", "o2", "o3")
    ],
    "visits": [
        _visit("v1", "r1", "o1", "2026-03-24 04:00:00"),
        _visit("v1dup", "r1", "o1", "2026-03-24 04:01:00"),
        _visit("v2", "r1", "o1", "2026-03-24 08:00:00"),
        _visit("v3", "r1", "o2", "2026-03-24 18:00:00"),
        _visit("v4", "r1", "o2", "2026-03-24 18:40:00"),
        _visit("v5", "r2", "o1", "2026-03-16 05:00:00"),
        _visit("v6", "r2", "o3", "2026-03-23 05:00:00"),
        _visit("v7", "r2", "o3", "2026-03-22 18:35:00"),
    ],
    "orders": [
        _order("a", "r1", "o1", "2026-03-24 04:10:00", 100.0, visit_id="v1"),
        _order("b", "r1", "o1", "2026-03-24 04:05:00", 20.0, visit_id="v1dup"),
        _order("c", "r1", "o1", "2026-03-24 08:10:00", 30.0, visit_id="v2"),
        _order("d", "r2", "o3", "2026-04-02 06:00:00", 40.0, visit_id="v6"),
        _order("e", "r1", "o1", "2026-03-24 05:00:00", 50.0, visit_id="v5"),
        _order("f", "r1", "o1", "2026-03-24 05:30:00", 60.0, visit_id="v404"),
        _order("g", "r1", "o1", "2026-03-24 10:00:00", 7.0, line_count=None),
        _order("h", "r1", "o2", "2026-03-24 18:29:00", -8.0),
        _order("i", "r1", "o2", "2026-03-24 18:31:00", 9.0),
        _order("j", "r2", "o1", "2026-03-24 06:00:00", 10.0),
        _order("k", "r1", "o3", "2026-03-24 06:00:00", 11.0),
        _order("l", "r1", "o1", "2026-03-25 05:00:00", 12.0),
        _order("m", "r2", "o3", "2026-03-22 18:20:00", 13.0),
        _order("n", "r2", "o3", "2026-03-22 18:40:00", 14.0, line_count=3),
    ],
}

# (visit_id, order_id, value, line_count), sorted by order_id.
LINKED = [
    ("v1", "a", 100.0, 1),
    ("v1", "b", 20.0, 1),
    ("v2", "c", 30.0, 1),
    ("v6", "d", 40.0, 1),
    ("v1", "g", 7.0, None),
    ("v3", "h", -8.0, 1),
    ("v4", "i", 9.0, 1),
    ("v7", "n", 14.0, 3),
]


def linked_rows(engine: sa.Engine, sql: PeriodSQL) -> list[tuple]:
    linked = sql.linked_orders
    statement = sa.select(
        linked.c.visit_id, linked.c.order_id, linked.c.value, linked.c.line_count
    ).order_by(linked.c.order_id)
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(statement)]


def rep_ids_of_r1() -> sa.Select:
    return sa.select(reps.c.rep_id).where(reps.c.rep_id == "r1")


def test_linked_orders_on_sqlite(tmp_path):
    engine = sqlite_database(tmp_path, ROWS)

    result = linked_rows(engine, PeriodSQL(WEEK, SETTINGS))
    engine.dispose()

    assert result == LINKED


def test_linked_orders_on_postgresql(fresh_postgres_url):
    engine = fill_database(fresh_postgres_url, ROWS)

    result = linked_rows(engine, PeriodSQL(WEEK, SETTINGS))
    engine.dispose()

    assert result == LINKED


def test_linked_orders_of_one_rep(tmp_path):
    engine = sqlite_database(tmp_path, ROWS)

    result = linked_rows(engine, PeriodSQL(WEEK, SETTINGS, rep_ids=rep_ids_of_r1()))
    engine.dispose()

    expected = [row for row in LINKED if row[0] in ("v1", "v2", "v3", "v4")]
    assert result == expected


def test_linked_orders_of_one_rep_on_postgresql(fresh_postgres_url):
    engine = fill_database(fresh_postgres_url, ROWS)

    result = linked_rows(engine, PeriodSQL(WEEK, SETTINGS, rep_ids=rep_ids_of_r1()))
    engine.dispose()

    expected = [row for row in LINKED if row[0] in ("v1", "v2", "v3", "v4")]
    assert result == expected


def test_linked_orders_of_a_day_at_its_edges(tmp_path):
    # The period is the single local day 03-24: h (23:59) still counts, but
    # i (00:01 on 03-25) and v4 fall on the next day.
    engine = sqlite_database(tmp_path, ROWS)
    day = Period(date(2026, 3, 24), date(2026, 3, 24), TIMEZONE)

    result = linked_rows(engine, PeriodSQL(day, SETTINGS))
    engine.dispose()

    expected = [row for row in LINKED if row[0] in ("v1", "v2", "v3")]
    assert result == expected


def call_list_values(engine: sa.Engine) -> list[tuple]:
    frame = review_queries.rep_call_list(engine, WEEK, Scope(), SETTINGS, "r1")
    visits = frame[frame["visit_id"].notna()]
    return sorted(zip(visits["visit_id"], visits["order_value"].astype(float)))


# Positive linked orders per visit of r1: v1 a + b + g, v2 c, v3 nothing
# (h is a return of -8), v4 i.
CALL_LIST_VALUES = [("v1", 127.0), ("v2", 30.0), ("v3", 0.0), ("v4", 9.0)]


def test_rep_call_list_order_values_on_sqlite(tmp_path):
    engine = sqlite_database(tmp_path, ROWS)

    result = call_list_values(engine)
    engine.dispose()

    assert result == CALL_LIST_VALUES


def test_rep_call_list_order_values_on_postgresql(fresh_postgres_url):
    engine = fill_database(fresh_postgres_url, ROWS)

    result = call_list_values(engine)
    engine.dispose()

    assert result == CALL_LIST_VALUES


def plan_below(plan: list[tuple], name: str) -> list[str]:
    """Return the details of the plan rows below the row whose detail is `name`."""
    parents = {row[0] for row in plan if row[3] == name}
    details = []
    for node, parent, _, detail in plan:
        if parent in parents:
            parents.add(node)
            details.append(detail)
    return details


def test_orders_without_visit_read_by_ordered_at(tmp_path, monkeypatch):
    # On SQLite, `visit_id IS NULL` through the visit_id index would read the
    # orders without a visit of every date, so the period's orders must come
    # from the ordered_at index.
    engine = sqlite_database(tmp_path, ROWS)
    statements = []

    def capture(_engine, _name, statement):
        statements.append(statement)
        raise LookupError("statement captured")

    monkeypatch.setattr(review_queries, "fetch_frame", capture)
    with pytest.raises(LookupError):
        review_queries.rep_call_list(engine, WEEK, Scope(), SETTINGS, "r1")
    sql = str(statements[0].compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).fetchall()
    engine.dispose()

    result = [
        detail
        for detail in plan_below(plan, "MATERIALIZE orders_without_visit")
        if " orders " in f"{detail} "
    ]

    expected = [
        "SEARCH orders USING INDEX ix_orders_ordered_at (ordered_at>? AND ordered_at<?)"
    ]
    assert result == expected
