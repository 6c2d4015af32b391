"""How a region or territory limit follows the rep_territories history.

in_territories_on keeps exactly the rows that territory_on(...).in_() keeps,
and scope_follows_history is False only where every rep's territory on
each date of the period is in the scope exactly when the current one is.

The moved-rep company: Asha (r1) has rep_territories rows, T1 until
2026-03-04 and T2 from 03-05; Bilal (r2) has none and stays in T1. Each
case pairs a rep id (one with history, one without, one unknown, NULL) with
a date before, inside and on the edges of Asha's rows.
"""

import logging
from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import review_queries, summaries, territory_history
from data_access.filters import Period, Scope, Settings
from data_access.period_sql import (
    in_territories_on,
    scoped_territory_ids,
    territory_on,
)
from data_access.territory_history import rep_dates_in_scope, scope_follows_history
from tests.database import fill_database, sqlite_database
from tests.metrics.test_territory_history import MOVED_ROWS
from tests.postgres_server import fresh_database

REP_IDS = ["r1", "r2", "nobody", None]
DAYS = [
    date(2025, 12, 31),
    date(2026, 1, 1),
    date(2026, 3, 4),
    date(2026, 3, 5),
    date(2026, 12, 31),
]
SCOPES = {
    "T1": Scope(territory_ids=("T1",)),
    "T2": Scope(territory_ids=("T2",)),
    "region": Scope(region_ids=("R1",)),
    "other region": Scope(region_ids=("R9",)),
}


def matching_cases(engine: sa.Engine, scope: Scope, fast: bool) -> set[tuple]:
    """Return the (rep_id, day) cases that the condition keeps for the scope."""
    cases = sa.union_all(
        *(
            sa.select(
                sa.literal(rep_id, sa.Text).label("rep_id"),
                sa.literal(day, sa.Date).label("day"),
            )
            for rep_id in REP_IDS
            for day in DAYS
        )
    ).subquery("cases")
    territory_ids = scoped_territory_ids(scope)
    if fast:
        condition = in_territories_on(cases.c.rep_id, cases.c.day, territory_ids)
    else:
        condition = territory_on(cases.c.rep_id, cases.c.day).in_(territory_ids)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(cases).where(condition)).all()
    return {tuple(row) for row in rows}


def assert_same_rows(engine: sa.Engine) -> None:
    for name, scope in SCOPES.items():
        expected = matching_cases(engine, scope, fast=False)
        assert matching_cases(engine, scope, fast=True) == expected, name


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory):
    engine = sqlite_database(tmp_path_factory.mktemp("moved"), MOVED_ROWS)
    yield engine
    engine.dispose()


def test_cases_cover_both_outcomes(sqlite_engine):
    matching = matching_cases(sqlite_engine, SCOPES["T1"], fast=False)
    assert ("r1", date(2026, 3, 4)) in matching
    assert ("r1", date(2026, 3, 5)) not in matching
    assert ("r2", date(2026, 3, 5)) in matching
    assert ("r1", date(2025, 12, 31)) not in matching


def test_same_rows_on_sqlite(sqlite_engine):
    assert_same_rows(sqlite_engine)


def test_same_rows_on_postgres(fresh_postgres_url):
    engine = fill_database(fresh_postgres_url, MOVED_ROWS)
    try:
        assert_same_rows(engine)
    finally:
        engine.dispose()


# Asha's rows: T1 from 2026-01-01 to 03-04, T2 (her current territory) from
# 03-05. Bilal has no rows.
FOLLOWS_HISTORY = [
    ("region", ("2026-03-02", "2026-03-08"), False),
    ("T1", ("2026-03-02", "2026-03-08"), True),
    ("T2", ("2026-03-02", "2026-03-08"), True),
    ("other region", ("2026-03-02", "2026-03-08"), False),
    ("T1", ("2026-04-06", "2026-04-12"), False),
    ("T1", ("2026-01-05", "2026-01-11"), True),
    ("T1", ("2025-12-01", "2025-12-07"), False),
    # A row that starts the day after the period is within the margin.
    ("T1", ("2025-12-25", "2025-12-31"), True),
]


@pytest.mark.parametrize(("scope_name", "dates", "expected"), FOLLOWS_HISTORY)
def test_scope_follows_history_cases(sqlite_engine, scope_name, dates, expected):
    start, end = (date.fromisoformat(text) for text in dates)
    period = Period(start, end, "UTC")

    result = scope_follows_history(sqlite_engine, SCOPES[scope_name], period)

    assert result is expected


def test_scope_without_territory_limit_ignores_history(sqlite_engine):
    period = Period(date(2026, 3, 2), date(2026, 3, 8), "UTC")

    assert scope_follows_history(sqlite_engine, Scope(), period) is False
    assert scope_follows_history(sqlite_engine, Scope(rep_ids=("r1",)), period) is False


# Two weeks around Asha's move on Thursday 2026-03-05, summarised with the
# HISTORY_WEEKS weeks before them that price the skipped calls.
SPAN = Period(date(2026, 3, 2), date(2026, 3, 15), "UTC")
BEFORE_MOVE = Period(date(2026, 2, 16), date(2026, 3, 1), "UTC")
AFTER_MOVE = Period(date(2026, 3, 9), date(2026, 3, 22), "UTC")
TREND_QUERIES = ("weekly_rep_figures", "weekly_skipped_calls")


def test_rep_dates_raw_rep_moves_inside_week(sqlite_engine):
    result = rep_dates_in_scope(sqlite_engine, SCOPES["T1"], SPAN)

    assert result.raw_rep_ids == ("r1",)
    assert result.runs == ()
    with sqlite_engine.connect() as connection:
        settled = set(connection.execute(result.rep_ids).scalars())
    assert settled == {"r2"}


def test_rep_dates_run_before_move(sqlite_engine):
    result = rep_dates_in_scope(sqlite_engine, SCOPES["T1"], BEFORE_MOVE)

    assert result.runs == (("r1", date(2026, 2, 16), date(2026, 3, 1)),)
    with sqlite_engine.connect() as connection:
        settled = set(connection.execute(result.rep_ids).scalars())
    assert settled == {"r2"}


def test_rep_dates_after_move_need_no_runs(sqlite_engine):
    result = rep_dates_in_scope(sqlite_engine, SCOPES["T2"], AFTER_MOVE)

    assert result.runs == ()
    with sqlite_engine.connect() as connection:
        settled = set(connection.execute(result.rep_ids).scalars())
    assert settled == {"r1"}


def summarised_engines(url: str, raw_url: str) -> tuple[sa.Engine, sa.Engine]:
    """Fill both databases with the moved-rep company and summarise the first,
    so that the second is read from the raw tables."""
    first_day = BEFORE_MOVE.start - timedelta(weeks=summaries.HISTORY_WEEKS)
    engine = fill_database(url, MOVED_ROWS)
    summaries.build_summaries(engine, first_day, AFTER_MOVE.end, Settings())
    return engine, fill_database(raw_url, MOVED_ROWS)


@pytest.fixture(scope="module")
def trend_engines(tmp_path_factory):
    folder = tmp_path_factory.mktemp("moved_trend")
    engines = summarised_engines(
        f"sqlite:///{folder / 'summarised.sqlite'}",
        f"sqlite:///{folder / 'raw.sqlite'}",
    )
    yield engines
    for engine in engines:
        engine.dispose()


def assert_trend_equal(engines, name: str, span: Period, scope: Scope) -> None:
    summarised, raw = engines
    query = getattr(review_queries, name)
    result = query(summarised, span, scope, Settings())

    expected = query(raw, span, scope, Settings())
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)


@pytest.mark.parametrize("span", [BEFORE_MOVE, SPAN, AFTER_MOVE], ids=str)
@pytest.mark.parametrize("scope_name", list(SCOPES))
@pytest.mark.parametrize("name", TREND_QUERIES)
def test_trend_from_summaries_equals_raw(trend_engines, name, scope_name, span):
    assert_trend_equal(trend_engines, name, span, SCOPES[scope_name])


def test_trend_counts_skips_of_move_week(trend_engines, caplog):
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = review_queries.weekly_skipped_calls(
        trend_engines[0], SPAN, SCOPES["T2"], Settings()
    )

    messages = [record.getMessage() for record in caplog.records]
    assert any("weekly_skipped_calls_with_summaries" in text for text in messages)
    assert result["skipped_calls"].sum() > 0


def test_trend_on_postgres_equals_raw(postgres_url):
    with fresh_database(postgres_url) as url, fresh_database(postgres_url) as raw_url:
        engines = summarised_engines(url, raw_url)
        try:
            for name in TREND_QUERIES:
                for span in (BEFORE_MOVE, SPAN):
                    assert_trend_equal(engines, name, span, SCOPES["T1"])
        finally:
            for engine in engines:
                engine.dispose()


def test_rep_dates_skip_agreeing_rows(tmp_path):
    # Bilal's own row names his current territory, so it changes no scope.
    rows = dict(MOVED_ROWS)
    rows["rep_territories"] = [
        *MOVED_ROWS["rep_territories"],
        {"rep_id": "r2", "territory_id": "T1", "valid_from": "2025-01-01"},
    ]
    engine = sqlite_database(tmp_path, rows)
    try:
        result = rep_dates_in_scope(engine, SCOPES["T1"], BEFORE_MOVE)

        assert result.runs == (("r1", date(2026, 2, 16), date(2026, 3, 1)),)
        with engine.connect() as connection:
            settled = set(connection.execute(result.rep_ids).scalars())
        assert settled == {"r2"}
    finally:
        engine.dispose()


def test_too_many_runs_read_raw_tables(trend_engines, monkeypatch):
    monkeypatch.setattr(territory_history, "MAX_RUNS", 0)

    result = rep_dates_in_scope(trend_engines[0], SCOPES["T1"], BEFORE_MOVE)

    assert result is None
    assert_trend_equal(trend_engines, "weekly_rep_figures", BEFORE_MOVE, SCOPES["T1"])
