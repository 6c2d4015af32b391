"""Every public query function applies the viewer's scope in SQL.

The functions are found by inspection: every public function of a
data_access module that takes an engine. A new query function is covered
as soon as it exists; one that legitimately reads no scoped data goes in
UNSCOPED with the reason.
"""

import importlib
import inspect
import pkgutil
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import data_access
from data_access import health_queries
from data_access.access import scope_for_user
from data_access.filters import Period, Scope, Settings
from tests import two_teams
from tests.database import fill_database, sqlite_database

# Functions that take an engine but return no sales data of any team.
UNSCOPED = {
    "data_access.access.scope_for_user": "turns a login e-mail into the scope itself",
    "data_access.access.check_scope_region": (
        "checks that a users row's region exists before it becomes a scope"
    ),
    "data_access.queries.region_exists": (
        "tells whether a region_id is in the regions table; no figures"
    ),
    "data_access.engine.prepare_engine": "registers SQL functions on an engine",
    "data_access.schema.create_tables": "creates tables; reads no rows",
    "data_access.dialect.refresh_statistics": (
        "analyzes and vacuums tables after a write; reads no rows"
    ),
    "data_access.load.load_directory": "the loader command writes files into the database",
    "data_access.queries.fetch_frame": "runs a statement that a scoped function built",
    "data_access.queries.fetch_rows": "runs a statement that a scoped function built",
    "data_access.dialect.snapshot_connection": (
        "opens a connection for scoped statements that must share one snapshot"
    ),
    "data_access.queries.fetch_frame_if": (
        "runs a statement that a scoped function built, after a check of the "
        "summary rows it reads"
    ),
    "data_access.queries.fetch_driver_rows": (
        "runs a statement that a scoped function built"
    ),
    "data_access.queries.fetch_outlet_activity": (
        "runs a statement that a scoped function built"
    ),
    "data_access.queries.fetch_copy_table": (
        "runs a statement that a scoped function built"
    ),
    "data_access.queries.user_by_id": "reads the users rows to find the one that decides the scope",
    "data_access.queries.user_list": "users rows: who may sign in, no sales figures",
    "data_access.territory_history.has_rep_territories": (
        "tells whether any territory history exists, which picks the query of "
        "the territories report; counts nothing per team"
    ),
    "data_access.territory_history.rep_dates_in_scope": (
        "returns the reps and dates a scope keeps, as conditions for the "
        "summary queries that apply them; counts nothing per team"
    ),
    "data_access.summary_queries.read_once_per_run": (
        "calls a function once per page run; reads nothing itself"
    ),
    "data_access.summary_queries.uncovered_message": (
        "tells whether the whole company's visits are many enough for the "
        "summaries to speed the pages up; a sentence, no figures"
    ),
    "data_access.territory_history.scope_follows_history": (
        "tells whether a scope's territory limit follows the territory history, "
        "which picks how the period queries scope reps; counts nothing per team"
    ),
    "data_access.queries.latest_check_in": (
        "the time of the latest check-in of anyone, which tells how fresh the "
        "data is; no figures"
    ),
    "data_access.summaries.refresh_after_load": (
        "the loader's refresh of the summary tables it touched; serves no viewer"
    ),
    "data_access.summaries.usable_workers": (
        "counts the summary command's workers from the engine's URL; reads no rows"
    ),
    "data_access.summaries.build_summaries": (
        "the summary command writes every team's summary rows; it serves no viewer"
    ),
    "data_access.health_summaries.health_summaries_cover": (
        "tells whether the summary tables hold a period's data health counts; "
        "returns no figures"
    ),
    "data_access.health_summaries.health_summary_message": (
        "tells whether the data health summaries serve a period; returns no figures"
    ),
    "data_access.summary_queries.summary_status": (
        "tells whether the summary tables cover a period; counts rows of "
        "everyone, returns no figures"
    ),
    "data_access.summary_queries.split_by_summary_use": (
        "splits a span into runs of weeks by whether the summary tables cover "
        "them; returns periods, no figures"
    ),
    "data_access.queries.data_presence": (
        "says whether the database has beats, orders, outlines and GPS at all, "
        "which decides the pages' layout and counts nothing per team"
    ),
}

PERIOD = Period(date(2026, 3, 2), date(2026, 3, 8))
# Four whole weeks ending with PERIOD, for the trend functions.
SPAN = Period(date(2026, 2, 9), date(2026, 3, 8))

# Values for parameters other than engine and scope, by name.
ARGUMENTS = {
    "period": PERIOD,
    "span": SPAN,
    "settings": Settings(),
    "timezone": "UTC",
    "duplicate_window_s": Settings().duplicate_window_s,
    "day": date(2026, 3, 4),
    # Inside PERIOD, so the visits after it are check-ins in the future.
    "now": datetime(2026, 3, 4, 12, 0),
    # A year before PERIOD ends, as the territories report reads last visits.
    "lookback_start": date(2025, 3, 9),
}
# Ids outside each viewer's scope: a function that looks one of them up must
# still return nothing of it.
FOREIGN_IDS = {
    two_teams.LEAD_A: {
        "rep_id": "rep-b2",
        "outlet_id": "out-b-1",
        "territory_id": "ter-b",
        "region_id": "reg-s",
    },
    two_teams.HEAD_N: {
        "rep_id": "rep-s1",
        "outlet_id": "out-s-1",
        "territory_id": "ter-s",
        "region_id": "reg-s",
    },
    two_teams.LEAD_S: {
        "rep_id": "rep-a1",
        "outlet_id": "out-a-1",
        "territory_id": "ter-a",
        "region_id": "reg-n",
    },
}


def query_functions() -> list[tuple[str, object]]:
    """(qualified name, function) of every public data_access function that
    takes an engine, except UNSCOPED ones."""
    found = []
    for info in pkgutil.iter_modules(data_access.__path__):
        module = importlib.import_module(f"data_access.{info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or function.__module__ != module.__name__:
                continue
            if "engine" not in inspect.signature(function).parameters:
                continue
            qualified = f"{module.__name__}.{name}"
            if qualified not in UNSCOPED:
                found.append((qualified, function))
    return sorted(found)


QUERY_FUNCTIONS = query_functions()
QUERY_IDS = [name for name, _ in QUERY_FUNCTIONS]


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> sa.Engine:
    folder = tmp_path_factory.mktemp("two_teams")
    engine = sqlite_database(folder, two_teams.company_rows())
    yield engine
    engine.dispose()


def call(function, engine: sa.Engine, scope: Scope, ids: dict[str, str] | None = None):
    """Call a query function with the scope, and ids and ARGUMENTS for its
    other parameters."""
    values = {**ARGUMENTS, **FOREIGN_IDS[two_teams.LEAD_A], **(ids or {})}
    arguments = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if name == "engine":
            arguments[name] = engine
        elif name == "scope":
            arguments[name] = scope
        elif name in values:
            arguments[name] = values[name]
        elif parameter.default is inspect.Parameter.empty:
            pytest.fail(
                f"{function.__module__}.{function.__name__} takes {name!r}; add a "
                "value for it to ARGUMENTS in this test"
            )
    return function(**arguments)


def as_text(result: object) -> str:
    """Every value of a query result as text, to search for ids and names."""
    if isinstance(result, pd.DataFrame):
        return result.to_csv(index=False)
    if isinstance(result, dict):
        return repr(sorted(result.items(), key=repr))
    return repr(result)


def text_or_none(column: pd.Series) -> list[str | None]:
    """The column's values, with None for every missing value (NaN or None)."""
    return [value if isinstance(value, str) else None for value in column]


def test_unscoped_list_names_existing_functions():
    result = []
    for qualified in UNSCOPED:
        module_name, _, name = qualified.rpartition(".")
        module = importlib.import_module(module_name)
        if not inspect.isfunction(getattr(module, name, None)):
            result.append(qualified)

    assert result == []


def test_query_functions_are_found():
    result = {"data_access.queries.rep_activity", "data_access.queries.territory_list"}

    assert result <= set(QUERY_IDS)


@pytest.mark.parametrize(("qualified", "function"), QUERY_FUNCTIONS, ids=QUERY_IDS)
def test_query_requires_scope(qualified, function):
    parameters = inspect.signature(function).parameters

    assert "scope" in parameters, f"{qualified} takes no scope"
    assert parameters["scope"].default is inspect.Parameter.empty, (
        f"{qualified} must not default its scope"
    )


@pytest.mark.parametrize(
    "viewer", [two_teams.LEAD_A, two_teams.HEAD_N, two_teams.LEAD_S]
)
@pytest.mark.parametrize(("qualified", "function"), QUERY_FUNCTIONS, ids=QUERY_IDS)
def test_query_hides_other_teams(engine, qualified, function, viewer):
    scope = scope_for_user(engine, viewer)

    ids = FOREIGN_IDS[viewer]

    result = as_text(call(function, engine, scope, ids))
    everything = as_text(call(function, engine, Scope(), ids))

    leaked = sorted(marker for marker in two_teams.FOREIGN[viewer] if marker in result)
    assert leaked == [], f"{qualified} shows {viewer} other teams' {leaked}"
    # The administrator's answer differs, so the other teams' rows were there
    # to leak; an equal answer means the test data misses this query's case.
    assert result != everything, f"{qualified}: extend tests/two_teams.py"


# Ids inside lead A's scope where lead B's reps rep-b1 and rep-b2 also work:
# they visit out-a-3 in lead A's territory ter-a.
SHARED_IDS = {
    "rep_id": "rep-a2",
    "outlet_id": "out-a-3",
    "territory_id": "ter-a",
    "region_id": "reg-n",
}


# Orders by lead B's rep-b2 at lead A's outlet out-a-3 that data health lists:
# a return, and an order on a day rep-b2 made no visit.
SHARED_OUTLET_ORDERS = [
    {
        "order_id": "b-o5",
        "outlet_id": "out-a-3",
        "rep_id": "rep-b2",
        "ordered_at": "2026-03-05 10:00:00",
        "value": -25.0,
        "line_count": 1,
    },
    {
        "order_id": "b-o6",
        "outlet_id": "out-a-3",
        "rep_id": "rep-b2",
        "ordered_at": "2026-03-06 10:00:00",
        "value": 30.0,
        "line_count": 1,
    },
]


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory) -> sa.Engine:
    rows = two_teams.company_rows()
    rows["orders"] = [*rows["orders"], *SHARED_OUTLET_ORDERS]
    engine = sqlite_database(tmp_path_factory.mktemp("shared_outlet"), rows)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(("qualified", "function"), QUERY_FUNCTIONS, ids=QUERY_IDS)
def test_query_hides_other_team_at_shared_outlet(shared_engine, qualified, function):
    engine = shared_engine
    scope = scope_for_user(engine, two_teams.LEAD_A)

    result = as_text(call(function, engine, scope, SHARED_IDS))

    leaked = sorted(
        marker for marker in two_teams.FOREIGN[two_teams.LEAD_A] if marker in result
    )
    assert leaked == [], f"{qualified} shows lead A other teams' {leaked}"


def test_outlet_last_visits_masks_other_team_reps(engine):
    scope = scope_for_user(engine, two_teams.LEAD_A)

    visits = data_access.queries.outlet_last_visits(
        engine, PERIOD, scope, Settings(), "out-a-3"
    )
    result = list(zip(visits["visit_id"], text_or_none(visits["rep_id"])))

    expected = [("b-v5", None), ("a-v5", "rep-a2"), ("b-v3", None), ("a-v3", "rep-a1")]
    assert result == expected


def test_affected_rows_mask_other_team_reps(shared_engine):
    scope = scope_for_user(shared_engine, two_teams.LEAD_A)

    rows = health_queries.affected_rows(shared_engine, PERIOD, scope, Settings())
    orders = rows[rows["record_id"].isin(["b-o5", "b-o6"])]
    rep_ids = text_or_none(orders["rep_id"])
    result = sorted(zip(orders["kind"], orders["record_id"], rep_ids))

    expected = [
        ("order_off_visit_day", "b-o5", None),
        ("order_off_visit_day", "b-o6", None),
        ("order_without_visit", "b-o5", None),
        ("order_without_visit", "b-o6", None),
        ("return_order", "b-o5", None),
    ]
    assert result == expected


def test_masking_reps_on_postgres(fresh_postgres_url):
    rows = two_teams.company_rows()
    rows["orders"] = [*rows["orders"], *SHARED_OUTLET_ORDERS]
    engine = fill_database(fresh_postgres_url, rows)
    scope = scope_for_user(engine, two_teams.LEAD_A)
    try:
        visits = data_access.queries.outlet_last_visits(
            engine, PERIOD, scope, Settings(), "out-a-3"
        )
        affected = health_queries.affected_rows(engine, PERIOD, scope, Settings())
    finally:
        engine.dispose()
    orders = affected[affected["record_id"].isin(["b-o5", "b-o6"])]

    result = text_or_none(visits["rep_id"])
    expected = [None, "rep-a2", None, "rep-a1"]
    assert result == expected
    assert text_or_none(orders["rep_id"]) == [None] * 5


@pytest.mark.parametrize(("qualified", "function"), QUERY_FUNCTIONS, ids=QUERY_IDS)
def test_query_binds_hostile_filter_values(engine, qualified, function):
    hostile = "ter-a' OR '1'='1"
    scope = Scope(territory_ids=(hostile,), rep_ids=("x') OR 1=1 --",))
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        result = call(function, engine, scope)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)

    assert all(hostile not in statement for statement in statements)
    text = as_text(result)
    assert "rep-a1" not in text
    assert "out-a-1" not in text


def test_visit_date_range_follows_scope(engine):
    lead = scope_for_user(engine, two_teams.LEAD_S)

    result = call(data_access.queries.visit_date_range, engine, lead)

    expected = (date(2026, 2, 9), date(2026, 3, 5), date(2026, 3, 5))
    assert result == expected


def test_query_modules_import_no_streamlit():
    folder = Path(data_access.__file__).parent
    result = [
        path.name
        for path in sorted(folder.glob("*.py"))
        if "import streamlit" in path.read_text(encoding="utf-8")
    ]

    assert result == []


def history_rows(moves: list[dict]) -> dict[str, list[dict]]:
    """The two-team company with a rep_territories history: every rep in its
    reps.territory_id since 2026-01-01, then the given rows."""
    rows = two_teams.company_rows()
    stays = [
        {
            "rep_id": rep["rep_id"],
            "territory_id": rep["territory_id"],
            "valid_from": "2026-01-01",
        }
        for rep in rows["reps"]
    ]
    moved = {move["rep_id"] for move in moves}
    unmoved = [row for row in stays if row["rep_id"] not in moved]
    rows["rep_territories"] = unmoved + moves
    return rows


@pytest.fixture(scope="module")
def history_engine(tmp_path_factory) -> sa.Engine:
    engine = sqlite_database(tmp_path_factory.mktemp("history"), history_rows([]))
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    "viewer", [two_teams.LEAD_A, two_teams.HEAD_N, two_teams.LEAD_S]
)
@pytest.mark.parametrize(("qualified", "function"), QUERY_FUNCTIONS, ids=QUERY_IDS)
def test_query_hides_other_teams_with_history(
    history_engine, qualified, function, viewer
):
    scope = scope_for_user(history_engine, viewer)
    ids = FOREIGN_IDS[viewer]

    result = as_text(call(function, history_engine, scope, ids))

    leaked = sorted(marker for marker in two_teams.FOREIGN[viewer] if marker in result)
    assert leaked == [], f"{qualified} shows {viewer} other teams' {leaked}"


# rep-s1 worked in ter-a (region reg-n) until the Sunday before PERIOD, then
# moved to ter-s (reg-s), where all of its visits of PERIOD are.
MOVED_BEFORE_PERIOD = [
    {
        "rep_id": "rep-s1",
        "territory_id": "ter-a",
        "valid_from": "2026-01-01",
        "valid_to": "2026-03-01",
    },
    {"rep_id": "rep-s1", "territory_id": "ter-s", "valid_from": "2026-03-02"},
]


@pytest.fixture(scope="module")
def moved_engine(tmp_path_factory) -> sa.Engine:
    rows = history_rows(MOVED_BEFORE_PERIOD)
    engine = sqlite_database(tmp_path_factory.mktemp("moved"), rows)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    "function",
    [
        data_access.queries.rep_activity,
        data_access.queries.skipped_outlet_list,
        health_queries.health_counts,
        health_queries.affected_rows,
    ],
    ids=["rep_activity", "skipped_outlet_list", "health_counts", "affected_rows"],
)
def test_former_territory_hides_later_days(moved_engine, function):
    scope = scope_for_user(moved_engine, two_teams.HEAD_N)

    result = as_text(call(function, moved_engine, scope, FOREIGN_IDS[two_teams.HEAD_N]))

    leaked = sorted(m for m in two_teams.FOREIGN[two_teams.HEAD_N] if m in result)
    assert leaked == []


def test_manager_scope_ignores_history(engine, moved_engine):
    scope = scope_for_user(engine, two_teams.LEAD_S)

    result = data_access.queries.rep_activity(moved_engine, PERIOD, scope, Settings())

    expected = data_access.queries.rep_activity(engine, PERIOD, scope, Settings())
    pd.testing.assert_frame_equal(result, expected)


def test_region_scope_with_history_unchanged(engine, moved_engine):
    # rep-s1 spent all of PERIOD in ter-s, its territory in the reps table,
    # so the history changes none of the region's figures.
    scope = scope_for_user(engine, two_teams.HEAD_S)

    result = data_access.queries.rep_activity(moved_engine, PERIOD, scope, Settings())

    expected = data_access.queries.rep_activity(engine, PERIOD, scope, Settings())
    pd.testing.assert_frame_equal(result, expected)
    assert list(result["rep_id"]) == ["rep-s1", "rep-s2"]
