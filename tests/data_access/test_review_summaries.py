"""The weekly review's trend and order history read from the summary tables
give the raw queries' frames, and fall back to the raw tables when they must."""

import logging
import shutil
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import (
    outlet_trend,
    queries,
    review_queries,
    schema,
    summaries,
    summary_queries,
)
from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from data_access.territory_history import scope_follows_history
from fixtures.demo import MIN_REPS, generate
from tests.data_access.test_review_query_plans import nested_scans, statement_of

TIMEZONE = "Asia/Kolkata"
SETTINGS = Settings(timezone=TIMEZONE)
LAST_DAY = date(2026, 3, 29)
# Two trend weeks, the eight history weeks before them and the week of the
# calls at risk all lie in the ten summarised weeks.
FIRST_DAY = date(2026, 1, 19)
SPAN = Period(date(2026, 3, 16), LAST_DAY, TIMEZONE)
WEEK = Period(date(2026, 3, 23), LAST_DAY, TIMEZONE)
SCOPES = {
    "all_reps": Scope(),
    "territory": Scope(territory_ids=("KOL",)),
    # The demo's moved rep left Pune inside the summarised weeks.
    "moved_from": Scope(territory_ids=("PUN",)),
    "rep": Scope(rep_ids=("R0005",)),
}
QUERIES = {
    "weekly_rep_figures": SPAN,
    "weekly_order_figures": SPAN,
    "weekly_outlet_figures": SPAN,
    "weekly_skipped_calls": SPAN,
    "calls_at_risk": WEEK,
    "rep_time_in_market": WEEK,
    "skip_details": WEEK,
    "skip_runs": WEEK,
}
# The dates whose rows each function scopes: the prices of skipped calls
# read the HISTORY_WEEKS weeks before the span or week.
REACH = {
    **QUERIES,
    **{
        name: Period(
            QUERIES[name].start - timedelta(weeks=summaries.HISTORY_WEEKS),
            LAST_DAY,
            TIMEZONE,
        )
        for name in ("weekly_skipped_calls", "calls_at_risk")
    },
    # Consecutive missed calls are counted back over LOOKBACK_WEEKS weeks.
    **dict.fromkeys(
        ("skip_details", "skip_runs"),
        Period(
            LAST_DAY - timedelta(weeks=review_queries.LOOKBACK_WEEKS, days=-1),
            LAST_DAY,
            TIMEZONE,
        ),
    ),
}
# The query each function logs when it reads the summaries, by whether the
# scope follows a territory history.
SUMMARY_QUERY_NAMES = {
    # The demo's rep moves on a Monday, so the trend reads whole summary weeks
    # of each rep in or out of the scope.
    "weekly_rep_figures": (
        "weekly_rep_figures_from_summaries",
        "weekly_rep_figures_from_summaries",
    ),
    "weekly_order_figures": (
        "weekly_order_figures_from_summaries",
        "weekly_order_figures_from_summaries",
    ),
    "weekly_outlet_figures": (
        "weekly_outlet_figures_from_trend",
        "weekly_outlet_figures_from_trend",
    ),
    "weekly_skipped_calls": (
        "weekly_skipped_calls_from_stored_risk",
        "weekly_skipped_calls_from_stored_risk",
    ),
    "calls_at_risk": ("calls_at_risk_from_summaries", "calls_at_risk_with_summaries"),
    "rep_time_in_market": ("rep_time_in_market_from_summaries", "rep_time_in_market"),
    "skip_details": ("skip_details_with_summaries", "skip_details"),
    "skip_runs": ("skip_runs_with_summaries", "skip_runs"),
}


def demo_engine(url: str, *, history: bool = True) -> sa.Engine:
    """Generate the demo company's last 10 weeks at url and summarise them.

    Without history, the rep_territories rows are deleted before the build,
    so a territory scope follows each rep's current territory.
    """
    engine = create_engine(url)
    generate(engine, reps=MIN_REPS, weeks=10, end_date=LAST_DAY)
    if not history:
        with engine.begin() as connection:
            connection.execute(schema.rep_territories.delete())
    summaries.build_summaries(engine, FIRST_DAY, LAST_DAY, SETTINGS)
    return engine


def copy_file(source: str, folder, name: str) -> str:
    target = folder / name
    shutil.copy(source, target)
    return str(target)


def without_summary_weeks(path: str) -> None:
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(schema.summary_weeks.delete())
    engine.dispose()


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory) -> dict[str, str]:
    """Write four SQLite files of the demo and return their paths.

    The files are with and without a territory history, each with usable
    summaries and with its summary weeks deleted.
    """
    folder = tmp_path_factory.mktemp("review_summaries")
    files = {}
    for history in (True, False):
        name = "history" if history else "flat"
        path = str(folder / f"{name}.sqlite")
        demo_engine(f"sqlite:///{path}", history=history).dispose()
        files[name] = path
        files[f"{name}_raw"] = copy_file(path, folder, f"{name}_raw.sqlite")
        without_summary_weeks(files[f"{name}_raw"])
    return files


@pytest.fixture(scope="module")
def engines(demo_files):
    opened = {
        name: create_engine(f"sqlite:///{path}") for name, path in demo_files.items()
    }
    yield opened
    for engine in opened.values():
        engine.dispose()


@pytest.fixture
def copied_engine(demo_files, tmp_path):
    engine = create_engine(
        f"sqlite:///{copy_file(demo_files['history'], tmp_path, 'copy.sqlite')}"
    )
    yield engine
    engine.dispose()


def assert_same_frames(result: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(result.columns) == list(expected.columns)
    assert len(result) == len(expected)
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)


def logged_queries(caplog) -> list[str]:
    """Return the names of the queries fetch_frame logged, as in 'query NAME: ...'."""
    return [
        record.getMessage().split(":")[0].removeprefix("query ")
        for record in caplog.records
        if record.name == "data_access.queries"
        and record.getMessage().startswith("query ")
    ]


def run(name: str, engine: sa.Engine, scope: Scope) -> pd.DataFrame:
    return getattr(review_queries, name)(engine, QUERIES[name], scope, SETTINGS)


@pytest.mark.parametrize("history", [True, False], ids=["history", "flat"])
@pytest.mark.parametrize("scope_name", list(SCOPES))
@pytest.mark.parametrize("name", list(QUERIES))
def test_summary_path_matches_raw(engines, caplog, name, scope_name, history):
    database = "history" if history else "flat"
    scope = SCOPES[scope_name]
    follows_history = scope_follows_history(engines[database], scope, REACH[name])
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = run(name, engines[database], scope)

    expected = run(name, engines[f"{database}_raw"], scope)
    summary_name, history_name = SUMMARY_QUERY_NAMES[name]
    assert (history_name if follows_history else summary_name) in logged_queries(caplog)
    assert len(expected) > 0
    assert_same_frames(result, expected)


@pytest.mark.parametrize("scope_name", ["all_reps", "territory"])
def test_outlet_figures_with_class_windows(engines, caplog, scope_name):
    settings = Settings(
        timezone=TIMEZONE,
        neglect_days=10,
        neglect_days_by_class=(("A", 5), ("B", 21), ("C", 56)),
    )
    scope = SCOPES[scope_name]
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = review_queries.weekly_outlet_figures(
        engines["history"], SPAN, scope, settings
    )

    expected = review_queries.weekly_outlet_figures(
        engines["history_raw"], SPAN, scope, settings
    )
    assert "weekly_outlet_figures_from_summaries" in logged_queries(caplog)
    assert expected["overdue_outlets"].sum() > 0
    assert expected["neglected_outlets"].sum() > 0
    assert_same_frames(result, expected)


# skip_details scans its calendar, at most 7 * LOOKBACK_WEEKS rows, once
# per skipped beat on the summary path (see review_queries.skip_details).
ALLOWED_NESTED_SCANS = dict.fromkeys(
    ("skip_details", "skip_runs"), [["SCAN dated_skipped_beats", "SCAN calendar"]]
)


@pytest.mark.parametrize("name", list(QUERIES))
def test_summary_plan_has_no_nested_scan(monkeypatch, engines, name):
    engine = engines["flat"]
    statement = statement_of(
        monkeypatch, engine, name, QUERIES[name], Scope(), SETTINGS
    )

    result = nested_scans(engine, statement)

    assert result in ([], ALLOWED_NESTED_SCANS.get(name, []))


@pytest.mark.parametrize("scope_name", ["all_reps", "territory", "rep"])
def test_two_week_skip_details_match_raw(engines, caplog, scope_name):
    caplog.set_level(logging.INFO, logger="data_access.queries")
    scope = SCOPES[scope_name]

    result = review_queries.skip_details(engines["flat"], SPAN, scope, SETTINGS)

    expected = review_queries.skip_details(engines["flat_raw"], SPAN, scope, SETTINGS)
    assert "skip_details_with_summaries" in logged_queries(caplog)
    assert len(expected) > 0
    assert_same_frames(result, expected)


@pytest.mark.parametrize("name", list(QUERIES))
def test_scope_without_outlets_matches_raw(engines, name):
    scope = Scope(territory_ids=("NO-SUCH-TERRITORY",))

    result = run(name, engines["flat"], scope)

    expected = run(name, engines["flat_raw"], scope)
    assert_same_frames(result, expected)


def test_trend_counts_are_not_empty(engines):
    rep_weeks = run("weekly_rep_figures", engines["flat"], Scope())
    skipped = run("weekly_skipped_calls", engines["flat"], Scope())
    priced = run("calls_at_risk", engines["flat"], Scope())

    assert rep_weeks["time_in_market_s"].min() > 0
    assert rep_weeks["skipped_outlets"].min() > 0
    assert skipped["revenue_at_risk"].min() > 0
    assert priced["outlet_productive_visits"].sum() > 0


def test_rep_day_time_in_market_matches_rep_days(engines):
    engine = engines["flat"]
    rep_days = schema.summary_rep_days
    statement = (
        sa.select(rep_days.c.rep_id, rep_days.c.day, rep_days.c.time_in_market_s)
        .where(
            rep_days.c.day.between(WEEK.start, WEEK.end),
            rep_days.c.visits > 0,
            rep_days.c.rep_id.in_(sa.select(schema.reps.c.rep_id)),
        )
        .order_by(rep_days.c.rep_id, rep_days.c.day)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()

    result = pd.DataFrame(rows, columns=["rep_id", "visit_date", "time_in_market_s"])

    raw = review_queries.rep_days(engine, WEEK, Scope(), SETTINGS)
    expected = raw[["rep_id", "visit_date", "time_in_market_s"]]
    assert len(expected) > 50
    assert_same_frames(result, expected)


def add_late_visit(engine: sa.Engine, check_in: datetime) -> None:
    """Insert a visit synced late, which changes its week's row counts."""
    with engine.begin() as connection:
        connection.execute(
            schema.visits.insert().values(
                visit_id="late-sync", rep_id="R0005", outlet_id="O000001",
                check_in=check_in,
            )
        )  # fmt: skip


def test_stale_history_week_falls_back(copied_engine, caplog):
    # A late-synced visit in a history week before the trend span.
    add_late_visit(copied_engine, datetime(2026, 2, 10, 6, 0))
    caplog.set_level(logging.INFO, logger="data_access.queries")

    skipped = run("weekly_skipped_calls", copied_engine, Scope())
    rep_weeks = run("weekly_rep_figures", copied_engine, Scope())

    names = logged_queries(caplog)
    assert "weekly_skipped_calls" in names
    assert "weekly_skipped_calls_from_summaries" not in names
    # The span's own weeks are not stale, so the rep figures still read the summaries.
    assert "weekly_rep_figures_from_summaries" in names
    assert len(skipped) > 0
    assert len(rep_weeks) == 2


def test_stale_span_week_matches_raw(copied_engine, caplog):
    add_late_visit(copied_engine, datetime(2026, 3, 24, 6, 0))
    caplog.set_level(logging.INFO, logger="data_access.queries")
    stale = {name: run(name, copied_engine, Scope()) for name in QUERIES}

    with copied_engine.begin() as connection:
        connection.execute(schema.summary_weeks.delete())
    result = {name: run(name, copied_engine, Scope()) for name in QUERIES}

    # The calls at risk of the week still read their history weeks, which
    # are not stale, from the summaries.
    names = logged_queries(caplog)
    assert [name for name in names if "summaries" in name] == [
        "calls_at_risk_with_summaries"
    ]
    for name in QUERIES:
        assert_same_frames(stale[name], result[name])


def move_outlet_visits(engine: sa.Engine, week: Period) -> None:
    """Point the visits of one outlet in week at an outlet of another
    territory without a visit in it. The rows change in place, so the week's
    row counts, and its summaries' use, stay the same."""
    visits = schema.visits
    outlets = schema.outlets
    in_week = sa.and_(
        visits.c.check_in >= week.utc_start, visits.c.check_in < week.utc_end
    )
    with engine.begin() as connection:
        moved, territory = connection.execute(
            sa.select(outlets.c.outlet_id, outlets.c.territory_id)
            .join(visits, visits.c.outlet_id == outlets.c.outlet_id)
            .where(in_week, outlets.c.territory_id.is_not(None))
            .order_by(outlets.c.outlet_id)
            .limit(1)
        ).one()
        target = connection.execute(
            sa.select(sa.func.min(outlets.c.outlet_id)).where(
                outlets.c.active.is_(True),
                outlets.c.territory_id.is_not(None),
                outlets.c.territory_id != territory,
                outlets.c.outlet_id.not_in(
                    sa.select(visits.c.outlet_id).where(in_week)
                ),
            )
        ).scalar_one()
        connection.execute(
            visits.update()
            .where(in_week, visits.c.outlet_id == moved)
            .values(outlet_id=target)
        )


def test_stale_week_leaves_other_weeks_visited_outlets(copied_engine):
    first_week = Period(SPAN.start, SPAN.start + timedelta(days=6), TIMEZONE)
    move_outlet_visits(copied_engine, first_week)
    add_late_visit(copied_engine, datetime(2026, 3, 24, 6, 0))

    frame = summary_queries.read_territory_week_visited_outlets(
        copied_engine, SPAN, Scope(), SETTINGS
    )
    result = frame[frame["week_start"] == first_week.start].reset_index(drop=True)

    # The first week keeps its summaries, as when it is read alone.
    expected = summary_queries.read_territory_week_visited_outlets(
        copied_engine, first_week, Scope(), SETTINGS
    )
    assert summary_queries.summary_status(copied_engine, SPAN, SETTINGS).stale
    assert len(expected) > 0
    assert_same_frames(result, expected)


def drop_new_columns(engine: sa.Engine) -> None:
    """Turn the summary tables into the layout before time in market, linked
    order values, last visit dates, planned dates and off-site visits were
    summarised, and before the counting rules were stored."""
    dropped = {
        "summary_rep_days": ["time_in_market_s"],
        "summary_rep_outlet_weeks": [
            "first_plan_date",
            "last_plan_date",
            "unproductive_off_site_visits",
        ],
        "summary_outlet_weeks": [
            "productive_visits",
            "linked_order_value",
            "last_visit_date",
        ],
        "summary_weeks": ["counting_rules"],
    }
    with engine.begin() as connection:
        # That layout had no index over the outlet weeks, which names columns
        # dropped here.
        connection.exec_driver_sql(
            "DROP INDEX IF EXISTS ix_summary_outlet_weeks_outlet_week"
        )
        for table, columns in dropped.items():
            for column in columns:
                connection.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")


def test_older_layout_reads_raw(copied_engine, engines, caplog):
    drop_new_columns(copied_engine)
    caplog.set_level(logging.INFO, logger="data_access.queries")

    status = summary_queries.summary_status(copied_engine, SPAN, SETTINGS)
    result = {name: run(name, copied_engine, Scope()) for name in QUERIES}

    assert status == summary_queries.SummaryStatus(usable=False, older_layout=True)
    assert status.message(SPAN) == (
        "The summary tables were built by an older version of Beatboard, so this "
        "page reads the raw visits and orders, which is slower; run `.venv/bin/python -m "
        "data_access.summaries --db URL --from 2026-03-16 --to 2026-03-29` to "
        "rebuild them."
    )
    assert not [name for name in logged_queries(caplog) if "summaries" in name]
    for name in QUERIES:
        assert_same_frames(result[name], run(name, engines["history_raw"], Scope()))


def test_build_replaces_older_layout(copied_engine, caplog):
    drop_new_columns(copied_engine)
    caplog.set_level(logging.WARNING, logger="data_access.summaries")

    built = summaries.build_summaries(copied_engine, WEEK.start, LAST_DAY, SETTINGS)

    assert built == [WEEK.start]
    expected = (
        "summaries: dropped the summary tables of an older layout (summary_weeks "
        "lacked counting_rules; summary_rep_days "
        "lacked time_in_market_s; summary_rep_outlet_weeks lacked first_plan_date, "
        "last_plan_date, unproductive_off_site_visits; summary_outlet_weeks lacked "
        "productive_visits, linked_order_value, last_visit_date), with their weeks "
        "2026-01-19 to "
        "2026-03-29, to create them in the current layout; weeks outside the "
        "range being built must be built again"
    )
    assert [record.getMessage() for record in caplog.records] == [expected]
    with copied_engine.connect() as connection:
        assert summaries.missing_summary_columns(connection) == {}
    assert summary_queries.summary_status(copied_engine, WEEK, SETTINGS).usable
    assert not summary_queries.summary_status(copied_engine, SPAN, SETTINGS).usable


def test_load_rebuilds_older_layout_weeks(copied_engine):
    drop_new_columns(copied_engine)

    built = summaries.refresh_after_load(
        copied_engine,
        datetime(2026, 3, 24, 6, 0),
        datetime(2026, 3, 24, 6, 0),
        {"visits"},
    )

    assert built[0] == FIRST_DAY
    assert built[-1] == WEEK.start
    assert len(built) == 10
    status = summary_queries.summary_status(
        copied_engine, Period(FIRST_DAY, LAST_DAY, TIMEZONE), SETTINGS
    )
    assert status.usable


@pytest.mark.parametrize(
    ("neglect_days", "expected"),
    [
        (28, date(2026, 2, 23)),
        (7, date(2026, 3, 16)),
        (3, date(2026, 3, 16)),
        (29, date(2026, 2, 16)),
    ],
)
def test_neglect_reach_starts_on_first_window_week(neglect_days, expected):
    settings = Settings(timezone=TIMEZONE, neglect_days=neglect_days)

    result = outlet_trend.neglect_reach(SPAN, settings)

    assert result.start == expected
    assert result.end == LAST_DAY


def test_postgres_summary_path_matches_raw(fresh_postgres_url, monkeypatch, caplog):
    postgres = demo_engine(fresh_postgres_url)
    caplog.set_level(logging.INFO, logger="data_access.queries")
    try:
        result = {
            (name, scope_name): run(name, postgres, scope)
            for name in QUERIES
            for scope_name, scope in SCOPES.items()
        }
        names = logged_queries(caplog)
        stored_skips = {
            scope_name: skipped_calls_without_stored_risk(monkeypatch, postgres, scope)
            for scope_name, scope in SCOPES.items()
        }
        monkeypatch.setattr(review_queries, "_summaries_cover", lambda *args: False)
        expected = {
            (name, scope_name): run(name, postgres, scope)
            for name in QUERIES
            for scope_name, scope in SCOPES.items()
        }
    finally:
        postgres.dispose()

    for summary_name, _history_name in SUMMARY_QUERY_NAMES.values():
        assert summary_name in names
    for key, frame in expected.items():
        assert len(frame) > 0, key
        assert_same_frames(result[key], frame)
    for scope_name in SCOPES:
        key = ("weekly_skipped_calls", scope_name)
        assert_same_frames(result[key], stored_skips[scope_name])


def test_postgres_outlet_figures_with_class_windows(
    fresh_postgres_url, monkeypatch, caplog
):
    # Windows of whole weeks, of a part week only, and of both.
    settings = Settings(
        timezone=TIMEZONE,
        neglect_days=10,
        neglect_days_by_class=(("A", 5), ("B", 21), ("C", 56)),
    )
    postgres = demo_engine(fresh_postgres_url)
    caplog.set_level(logging.INFO, logger="data_access.queries")
    try:
        result = review_queries.weekly_outlet_figures(postgres, SPAN, Scope(), settings)
        monkeypatch.setattr(review_queries, "_summaries_cover", lambda *args: False)
        expected = review_queries.weekly_outlet_figures(
            postgres, SPAN, Scope(), settings
        )
    finally:
        postgres.dispose()

    assert "weekly_outlet_figures_from_summaries" in logged_queries(caplog)
    assert expected["neglected_outlets"].sum() > 0
    assert_same_frames(result, expected)


# The demo's moved rep leaves Pune on a Monday of the summarised weeks, so a
# week never has a territory change inside it, and two weeks around the
# Monday do.
MOVE_WEEKS = [
    Period(date(2026, 1, 26), date(2026, 2, 1), TIMEZONE),
    Period(date(2026, 2, 9), date(2026, 2, 15), TIMEZONE),
    Period(date(2026, 2, 16), date(2026, 2, 22), TIMEZONE),
    Period(date(2026, 2, 23), date(2026, 3, 1), TIMEZONE),
    Period(date(2026, 3, 23), LAST_DAY, TIMEZONE),
]


def move_monday(engine: sa.Engine) -> date:
    with engine.connect() as connection:
        started = connection.execute(
            sa.select(sa.func.max(schema.rep_territories.c.valid_from))
        ).scalar()
    return date.fromisoformat(str(started))


@pytest.mark.parametrize("territory", ["PUN", "MUM", "KOL"])
@pytest.mark.parametrize("week", MOVE_WEEKS, ids=lambda week: str(week.start))
def test_history_week_reps_from_summaries(engines, caplog, territory, week):
    scope = Scope(territory_ids=(territory,))
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = summary_queries.read_rep_activity(
        engines["history"], week, scope, SETTINGS
    )

    expected = queries.rep_activity(engines["history_raw"], week, scope, SETTINGS)
    assert_same_frames(result, expected)
    assert "rep_activity_from_summaries" in logged_queries(caplog)


# Pune and Mumbai are both in WEST, so the move changes no WEST rep, and the
# region reads the summaries.
SPAN_SCOPES = {
    "moved_from": (SCOPES["moved_from"], False),
    "region": (Scope(region_ids=("WEST",)), True),
}


@pytest.mark.parametrize("scope_name", list(SPAN_SCOPES))
def test_history_span_with_move(engines, caplog, scope_name):
    scope, reads_summaries = SPAN_SCOPES[scope_name]
    monday = move_monday(engines["history"])
    span = Period(monday - timedelta(days=7), monday + timedelta(days=6), TIMEZONE)
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = summary_queries.read_rep_activity(
        engines["history"], span, scope, SETTINGS
    )

    expected = queries.rep_activity(engines["history_raw"], span, scope, SETTINGS)
    assert_same_frames(result, expected)
    read = "rep_activity_from_summaries" in logged_queries(caplog)
    assert read is reads_summaries


def test_rep_weeks_cover_built_weeks(engines):
    result = summary_queries.rep_weeks_cover(engines["flat"], SPAN)

    assert result


def test_week_without_rep_weeks_matches_raw(copied_engine, engines):
    with copied_engine.begin() as connection:
        rep_weeks = schema.summary_rep_weeks
        connection.execute(
            rep_weeks.delete().where(rep_weeks.c.week_start == SPAN.start)
        )

    result = run("weekly_rep_figures", copied_engine, SCOPES["rep"])

    expected = run("weekly_rep_figures", engines["history_raw"], SCOPES["rep"])
    assert not summary_queries.rep_weeks_cover(copied_engine, SPAN)
    assert expected["planned_outlets"].sum() > 0
    assert_same_frames(result, expected)


def test_skipped_calls_cover_built_weeks(engines):
    result = summary_queries.skipped_calls_cover(engines["flat"], SPAN)

    assert result


def test_week_without_stored_skips_matches_raw(copied_engine, engines):
    stored = schema.summary_skipped_calls
    with copied_engine.begin() as connection:
        first = connection.execute(
            sa.select(stored.c.rep_id, stored.c.outlet_id)
            .where(stored.c.week_start == SPAN.end - timedelta(days=6))
            .limit(1)
        ).one()
        connection.execute(
            stored.delete().where(
                stored.c.week_start == SPAN.end - timedelta(days=6),
                stored.c.rep_id == first.rep_id,
                stored.c.outlet_id == first.outlet_id,
            )
        )

    result = run("weekly_skipped_calls", copied_engine, Scope())

    expected = run("weekly_skipped_calls", engines["history_raw"], Scope())
    assert not summary_queries.skipped_calls_cover(copied_engine, SPAN)
    assert_same_frames(result, expected)


def test_rep_week_risk_cover_built_weeks(engines):
    result = summary_queries.rep_week_risk_cover(engines["flat"], SPAN)

    assert result


def skipped_calls_without_stored_risk(
    monkeypatch, engine: sa.Engine, scope: Scope
) -> pd.DataFrame:
    """Run weekly_skipped_calls as if summary_rep_week_risk were incomplete."""
    with monkeypatch.context() as patched:
        patched.setattr(summary_queries, "rep_week_risk_cover", lambda *args: False)
        return run("weekly_skipped_calls", engine, scope)


@pytest.mark.parametrize("history", [True, False], ids=["history", "flat"])
@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_stored_risk_matches_stored_skips(
    monkeypatch, engines, caplog, scope_name, history
):
    engine = engines["history" if history else "flat"]
    scope = SCOPES[scope_name]
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = run("weekly_skipped_calls", engine, scope)

    expected = skipped_calls_without_stored_risk(monkeypatch, engine, scope)
    assert logged_queries(caplog) == [
        "weekly_skipped_calls_from_stored_risk",
        "weekly_skipped_calls_from_summaries",
    ]
    assert expected["skipped_calls"].sum() > 0
    assert_same_frames(result, expected)
    assert list(result["skipped_calls"]) == list(expected["skipped_calls"])


def stored_risk_rows(engine: sa.Engine) -> pd.DataFrame:
    stored = schema.summary_rep_week_risk
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(stored).order_by(stored.c.week_start, stored.c.rep_id)
        )
        return pd.DataFrame(rows.all(), columns=list(rows.keys()))


def test_rebuilt_history_week_refills_stored_risk(monkeypatch, copied_engine, caplog):
    history_week = SPAN.start - timedelta(weeks=2)
    before = stored_risk_rows(copied_engine)
    # Without the week's orders its visits are not productive, so the skips
    # of later weeks lose part of their order history.
    with copied_engine.begin() as connection:
        connection.execute(
            schema.orders.delete().where(
                schema.orders.c.ordered_at >= datetime(2026, 3, 1, 18, 30),
                schema.orders.c.ordered_at < datetime(2026, 3, 8, 18, 30),
            )
        )
    rewritten = []
    risk_rows = summaries._rep_week_risk_rows

    def spy(week_start: date, history_start: date) -> sa.Select:
        rewritten.append(week_start)
        return risk_rows(week_start, history_start)

    monkeypatch.setattr(summaries, "_rep_week_risk_rows", spy)

    summaries.build_summaries(copied_engine, history_week, history_week, SETTINGS)
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = run("weekly_skipped_calls", copied_engine, Scope())
    after = stored_risk_rows(copied_engine)
    with monkeypatch.context() as patched:
        patched.setattr(review_queries, "_summaries_cover", lambda *args: False)
        expected = run("weekly_skipped_calls", copied_engine, Scope())
    # The weeks whose order history includes that week and is all built.
    assert rewritten == [SPAN.start, WEEK.start]
    assert "weekly_skipped_calls_from_stored_risk" in logged_queries(caplog)
    assert summary_queries.rep_week_risk_cover(copied_engine, SPAN)
    assert len(after) == len(before)
    assert not after["revenue_at_risk"].equals(before["revenue_at_risk"])
    assert_same_frames(result, expected)


def test_missing_risk_table_reads_stored_skips(copied_engine, engines, caplog):
    expected = run("weekly_skipped_calls", engines["history"], Scope())
    with copied_engine.begin() as connection:
        schema.summary_rep_week_risk.drop(connection)
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = run("weekly_skipped_calls", copied_engine, Scope())

    assert not summary_queries.rep_week_risk_cover(copied_engine, SPAN)
    assert logged_queries(caplog) == ["weekly_skipped_calls_from_summaries"]
    assert_same_frames(result, expected)


def test_build_fills_missing_risk_table(copied_engine, engines):
    expected = stored_risk_rows(engines["history"])
    with copied_engine.begin() as connection:
        schema.summary_rep_week_risk.drop(connection)

    built = summaries.build_summaries(copied_engine, WEEK.start, LAST_DAY, SETTINGS)

    result = stored_risk_rows(copied_engine)
    assert built == [WEEK.start]
    assert len(expected) > 0
    pd.testing.assert_frame_equal(result, expected)


def test_incomplete_stored_risk_reads_stored_skips(copied_engine, engines, caplog):
    stored = schema.summary_rep_week_risk
    with copied_engine.begin() as connection:
        rep_id = connection.execute(
            sa.select(sa.func.min(stored.c.rep_id)).where(
                stored.c.week_start == WEEK.start
            )
        ).scalar_one()
        connection.execute(
            stored.delete().where(
                stored.c.week_start == WEEK.start, stored.c.rep_id == rep_id
            )
        )
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = run("weekly_skipped_calls", copied_engine, Scope())

    expected = run("weekly_skipped_calls", engines["history_raw"], Scope())
    assert not summary_queries.rep_week_risk_cover(copied_engine, SPAN)
    assert "weekly_skipped_calls_from_summaries" in logged_queries(caplog)
    assert_same_frames(result, expected)


def test_moved_from_scope_follows_history(engines):
    reach = REACH["weekly_skipped_calls"]

    follows = scope_follows_history(engines["history"], SCOPES["moved_from"], reach)

    assert follows
    assert not scope_follows_history(engines["history"], SCOPES["territory"], reach)
    assert not scope_follows_history(engines["flat"], SCOPES["moved_from"], reach)


def spy_on_stored_history(monkeypatch) -> list[Period]:
    """Record the week of each call of summary_queries.stored_outlet_history."""
    weeks = []
    stored_outlet_history = summary_queries.stored_outlet_history

    def spy(week: Period, *arguments) -> sa.CTE:
        weeks.append(week)
        return stored_outlet_history(week, *arguments)

    monkeypatch.setattr(summary_queries, "stored_outlet_history", spy)
    return weeks


def delete_stored_skips(engine: sa.Engine, week_start: date, limit: int | None) -> None:
    """Delete the summary_skipped_calls rows of a week, or only `limit` of them."""
    stored = schema.summary_skipped_calls
    keys = sa.select(stored.c.rep_id, stored.c.outlet_id).where(
        stored.c.week_start == week_start
    )
    if limit is not None:
        keys = keys.order_by(stored.c.rep_id, stored.c.outlet_id).limit(limit)
    with engine.begin() as connection:
        for key in connection.execute(keys).all():
            connection.execute(
                stored.delete().where(
                    stored.c.week_start == week_start,
                    stored.c.rep_id == key.rep_id,
                    stored.c.outlet_id == key.outlet_id,
                )
            )


@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_calls_at_risk_stored_history_matches_computed(
    monkeypatch, copied_engine, scope_name
):
    scope = SCOPES[scope_name]
    stored_weeks = spy_on_stored_history(monkeypatch)

    result = review_queries.calls_at_risk(copied_engine, WEEK, scope, SETTINGS)

    assert stored_weeks == [WEEK]
    delete_stored_skips(copied_engine, WEEK.start, limit=None)
    expected = review_queries.calls_at_risk(copied_engine, WEEK, scope, SETTINGS)
    assert stored_weeks == [WEEK]
    assert expected["outlet_order_value"].sum() > 0
    pd.testing.assert_frame_equal(result, expected, check_exact=True)


def test_calls_at_risk_incomplete_stored_week_matches_raw(
    monkeypatch, copied_engine, engines
):
    delete_stored_skips(copied_engine, WEEK.start, limit=1)
    stored_weeks = spy_on_stored_history(monkeypatch)

    result = run("calls_at_risk", copied_engine, Scope())

    expected = run("calls_at_risk", engines["history_raw"], Scope())
    assert not summary_queries.skipped_calls_cover(copied_engine, WEEK)
    assert stored_weeks == []
    assert_same_frames(result, expected)


@pytest.mark.parametrize("scope_name", ["all_reps", "territory", "moved_from"])
def test_two_week_calls_at_risk_match_raw(monkeypatch, engines, scope_name):
    scope = SCOPES[scope_name]
    stored_weeks = spy_on_stored_history(monkeypatch)

    result = review_queries.calls_at_risk(engines["history"], SPAN, scope, SETTINGS)

    expected = review_queries.calls_at_risk(
        engines["history_raw"], SPAN, scope, SETTINGS
    )
    first_week = Period(SPAN.start, SPAN.start + timedelta(days=6), TIMEZONE)
    assert stored_weeks == [first_week]
    assert expected["outlet_productive_visits"].sum() > 0
    assert_same_frames(result, expected)


def test_calls_at_risk_prices_unstored_outlets(monkeypatch, engines):
    stored_weeks = spy_on_stored_history(monkeypatch)

    result = run("calls_at_risk", engines["flat"], Scope())

    expected = run("calls_at_risk", engines["flat_raw"], Scope())
    # The outlets visited off-site and skipped by no rep have no stored
    # history, so summary_outlet_weeks prices them.
    skipped = result.loc[result["kind"] == "skipped", "outlet_id"]
    unstored = result[
        (result["kind"] == "off_site") & ~result["outlet_id"].isin(skipped)
    ]
    assert stored_weeks == [WEEK]
    assert unstored["outlet_productive_visits"].sum() > 0
    assert_same_frames(result, expected)
