"""Data health counts read from the summary tables equal the raw queries'
counts, and fall back to the raw tables when the summaries cannot serve.

The hand-made company of test_weekly_health_counts puts a case of every kind
near a week boundary, with a rep who changes territory on a Monday. The demo
company adds the volume of real de-duplication and travel checks.
"""

import logging
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import (
    health_queries,
    health_summaries,
    queries,
    schema,
    summaries,
    summary_queries,
)
from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from data_access.load import load_directory
from fixtures.demo import MIN_REPS, generate
from tests.data_access.test_review_summaries import logged_queries
from tests.data_access.test_weekly_health_counts import (
    EXPECTED,
    NOW,
    ROWS,
    SCOPES,
    SETTINGS,
    SPAN,
    WEEK_STARTS,
    by_kind,
)
from tests.database import fill_database, sqlite_database

SUMMARY_QUERY = "health_counts_from_summaries"


def weeks_of(span: Period) -> list[Period]:
    count = ((span.end - span.start).days + 1) // 7
    return [
        Period(
            span.start + timedelta(weeks=index),
            span.start + timedelta(weeks=index, days=6),
            span.timezone,
        )
        for index in range(count)
    ]


def assert_summaries_match_raw(
    caplog,
    summarised: sa.Engine,
    raw: sa.Engine,
    span: Period,
    scope: Scope,
    now: datetime,
    settings: Settings = SETTINGS,
) -> list[str]:
    """Compare the weekly counts over span, and each week's health_counts.

    Returns the names of the queries the reads of summarised ran.
    """
    caplog.set_level(logging.INFO, logger="data_access.queries")
    caplog.clear()
    result = health_summaries.read_weekly_health_counts(
        summarised, span, scope, settings, now=now
    )
    weeks = [
        health_summaries.read_health_counts(summarised, week, scope, settings, now=now)
        for week in weeks_of(span)
    ]
    names = logged_queries(caplog)

    expected = health_queries.weekly_health_counts(raw, span, scope, settings, now=now)
    pd.testing.assert_frame_equal(result, expected)
    for week, counts in zip(weeks_of(span), weeks, strict=True):
        expected = health_queries.health_counts(raw, week, scope, settings, now=now)
        pd.testing.assert_frame_equal(counts, expected)
    return names


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    engine = sqlite_database(tmp_path_factory.mktemp("health_raw"), ROWS)
    yield engine
    engine.dispose()


@pytest.fixture
def summarised(tmp_path):
    engine = sqlite_database(tmp_path, ROWS)
    summaries.build_summaries(engine, SPAN.start, SPAN.end, SETTINGS)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_summary_counts_equal_raw_counts(summarised, raw, caplog, scope_name):
    names = assert_summaries_match_raw(
        caplog, summarised, raw, SPAN, SCOPES[scope_name], NOW
    )

    assert SUMMARY_QUERY in names
    assert "weekly_health_counts" not in names


@pytest.mark.parametrize("scope_name", list(EXPECTED))
def test_summary_counts_at_boundaries(summarised, scope_name):
    weekly = health_summaries.read_weekly_health_counts(
        summarised, SPAN, SCOPES[scope_name], SETTINGS, now=NOW
    )

    result = by_kind(weekly)

    assert result == EXPECTED[scope_name]


def test_summary_rows_hold_no_future_check_ins(summarised):
    with summarised.connect() as connection:
        kinds = connection.execute(
            sa.select(schema.summary_health_days.c.kind).distinct()
        ).scalars()
        result = sorted(kinds)

    assert "future_check_in" not in result
    assert "duplicate_visit" in result
    assert "order_unknown_rep" in result


@pytest.mark.parametrize(
    "settings",
    [
        Settings(timezone="Asia/Kolkata", max_speed_kmh=50.0),
        Settings(timezone="Asia/Kolkata", max_visit_hours=2.0),
    ],
    ids=["other-speed", "other-visit-length"],
)
def test_other_health_limits_read_raw(summarised, raw, caplog, settings):
    names = assert_summaries_match_raw(
        caplog, summarised, raw, SPAN, Scope(), NOW, settings
    )

    assert SUMMARY_QUERY not in names


def test_week_without_health_rows_reads_raw(summarised, raw, caplog):
    # A week built by a version that did not summarise data health.
    with summarised.begin() as connection:
        connection.execute(
            schema.summary_health_weeks.delete().where(
                schema.summary_health_weeks.c.week_start == WEEK_STARTS[1]
            )
        )

    names = assert_summaries_match_raw(caplog, summarised, raw, SPAN, Scope(), NOW)

    assert "weekly_health_counts" in names
    assert SUMMARY_QUERY in names  # the other two weeks alone


@pytest.mark.parametrize(
    "dropped",
    [
        ("summary_health_days", "summary_health_weeks"),
        ("summary_health_days",),
        ("summary_health_weeks",),
    ],
    ids=["both", "days-only", "weeks-only"],
)
def test_dropped_health_tables_read_raw(summarised, raw, caplog, dropped):
    # Summaries of a version without data health lack both tables; a table
    # dropped by hand leaves the other behind.
    with summarised.begin() as connection:
        for name in dropped:
            connection.execute(sa.text(f"DROP TABLE {name}"))

    names = assert_summaries_match_raw(caplog, summarised, raw, SPAN, Scope(), NOW)

    assert SUMMARY_QUERY not in names
    for week in weeks_of(SPAN):
        result = health_summaries.read_set_aside_counts(
            summarised, week, Scope(), SETTINGS
        )
        expected = health_queries.set_aside_counts(raw, week, Scope(), SETTINGS)
        assert result == expected
        listed = health_summaries.read_affected_rows(
            summarised, week, Scope(), SETTINGS, now=NOW
        )
        expected_rows = health_queries.affected_rows(
            raw, week, Scope(), SETTINGS, now=NOW
        )
        pd.testing.assert_frame_equal(listed, expected_rows)


def test_stale_week_reads_raw(summarised, caplog):
    # A visit loaded after the build makes the week stale.
    extra = {
        "visit_id": "late1", "rep_id": "r2", "outlet_id": "o2",
        "check_in": datetime(2026, 3, 3, 6, 0), "latitude": None, "longitude": None,
    }  # fmt: skip
    with summarised.begin() as connection:
        connection.execute(schema.visits.insert().values(**extra))
    caplog.set_level(logging.INFO, logger="data_access.queries")
    week = weeks_of(SPAN)[0]

    result = health_summaries.read_weekly_health_counts(
        summarised, week, Scope(), SETTINGS, now=NOW
    )

    counts = dict(zip(result["kind"], result["affected"]))
    assert counts["visit_without_gps"] == 2
    assert SUMMARY_QUERY not in logged_queries(caplog)


def test_postgres_summary_counts_equal_raw(fresh_postgres_url, raw, caplog):
    postgres = fill_database(fresh_postgres_url, ROWS)
    try:
        summaries.build_summaries(postgres, SPAN.start, SPAN.end, SETTINGS)
        names = [
            assert_summaries_match_raw(caplog, postgres, raw, SPAN, scope, NOW)
            for scope in SCOPES.values()
        ]
        for scope in SCOPES.values():
            for week in weeks_of(SPAN):
                assert_listings_match(caplog, postgres, postgres, week, scope, NOW)
    finally:
        postgres.dispose()

    assert all(SUMMARY_QUERY in logged for logged in names)


# The demo company's last 4 weeks, ending Sunday 2026-03-01, summarised.
DEMO_SPAN = Period(date(2026, 2, 2), date(2026, 3, 1), "Asia/Kolkata")
DEMO_NOW = datetime(2026, 2, 25, 12, 0)
DEMO_SCOPES = {
    "everything": Scope(),
    "territory": Scope(territory_ids=("KOL",)),
    "region": Scope(region_ids=("WEST",)),
    "manager": Scope(manager_id="neha.patil@example.com"),
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo as raw tables and as a copy with summaries."""
    folder = tmp_path_factory.mktemp("health_summaries_demo")
    raw_engine = create_engine(f"sqlite:///{folder / 'raw.sqlite'}")
    generate(raw_engine, reps=MIN_REPS, weeks=5, end_date=DEMO_SPAN.end)
    summarised_engine = create_engine(f"sqlite:///{folder / 'summarised.sqlite'}")
    with raw_engine.connect() as source, summarised_engine.connect() as target:
        source.connection.driver_connection.backup(target.connection.driver_connection)
    summaries.build_summaries(
        summarised_engine, DEMO_SPAN.start, DEMO_SPAN.end, SETTINGS
    )
    yield raw_engine, summarised_engine
    raw_engine.dispose()
    summarised_engine.dispose()


@pytest.mark.parametrize("scope_name", list(DEMO_SCOPES))
def test_demo_summary_counts_equal_raw(demo, caplog, scope_name):
    raw_engine, summarised_engine = demo

    names = assert_summaries_match_raw(
        caplog,
        summarised_engine,
        raw_engine,
        DEMO_SPAN,
        DEMO_SCOPES[scope_name],
        DEMO_NOW,
    )

    assert SUMMARY_QUERY in names
    weekly = health_summaries.read_weekly_health_counts(
        summarised_engine, DEMO_SPAN, DEMO_SCOPES[scope_name], SETTINGS, now=DEMO_NOW
    )
    assert weekly["affected"].sum() > 0


def health_limits(engine: sa.Engine) -> list[tuple]:
    weeks = schema.summary_health_weeks
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(weeks.c.max_visit_hours, weeks.c.max_speed_kmh).order_by(
                weeks.c.week_start
            )
        ).all()
    return [tuple(row) for row in rows]


def test_command_records_health_limits(tmp_path, capsys):
    engine = sqlite_database(tmp_path, ROWS)
    slow = Settings(timezone="Asia/Kolkata", max_speed_kmh=80.0)

    exit_code = summaries.main(
        ["--db", str(engine.url), "--from", "2026-03-02", "--to", "2026-03-15",
         "--timezone", "Asia/Kolkata", "--max-speed-kmh", "80"]
    )  # fmt: skip

    assert exit_code == 0, capsys.readouterr().err
    assert health_limits(engine) == [(12.0, 80.0), (12.0, 80.0)]
    two_weeks = Period(date(2026, 3, 2), date(2026, 3, 15), "Asia/Kolkata")
    assert health_summaries.health_summaries_cover(engine, two_weeks, slow)
    assert not health_summaries.health_summaries_cover(engine, two_weeks, SETTINGS)
    engine.dispose()


def test_load_refresh_keeps_health_limits(tmp_path):
    engine = sqlite_database(tmp_path, ROWS)
    strict = Settings(timezone="Asia/Kolkata", max_visit_hours=8.0)
    summaries.build_summaries(engine, SPAN.start, SPAN.end, strict)
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "visits.csv").write_text(
        "visit_id,rep_id,outlet_id,check_in\nlate1,r2,o2,2026-03-03T06:00:00Z\n",
        encoding="utf-8",
    )

    load_directory(engine, folder)

    assert health_limits(engine) == [(8.0, 120.0)] * 3
    assert health_summaries.health_summaries_cover(engine, weeks_of(SPAN)[0], strict)
    engine.dispose()


def load_after_build(tmp_path, rows: dict, file_name: str, text: str) -> sa.Engine:
    """Build a database of rows with summaries of SPAN, then load one file."""
    engine = sqlite_database(tmp_path, rows)
    summaries.build_summaries(engine, SPAN.start, SPAN.end, SETTINGS)
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / file_name).write_text(text, encoding="utf-8")
    load_directory(engine, folder)
    return engine


def test_load_into_previous_week_refreshes_next_week(tmp_path):
    # a1 (Sunday 23:59:30 local, week 1) arrives after the build. It turns
    # a2 of Monday 00:00:40 (week 2) into its resend, and links order x2.
    without_a1 = ROWS | {
        "visits": [row for row in ROWS["visits"] if row["visit_id"] != "a1"]
    }
    engine = load_after_build(
        tmp_path,
        without_a1,
        "visits.csv",
        "visit_id,rep_id,outlet_id,check_in,latitude,longitude\n"
        "a1,r1,o1,2026-03-08T18:29:30Z,19.0,72.8\n",
    )
    week_2 = weeks_of(SPAN)[1]

    result = health_summaries.read_health_counts(
        engine, week_2, Scope(), SETTINGS, now=NOW
    )

    expected = health_queries.health_counts(engine, week_2, Scope(), SETTINGS, now=NOW)
    pd.testing.assert_frame_equal(result, expected)
    engine.dispose()


def test_load_of_order_refreshes_its_visit_week(tmp_path):
    # late1 of week 3 names e1, a visit of week 1, so e1 becomes productive.
    engine = load_after_build(
        tmp_path,
        ROWS,
        "orders.csv",
        "order_id,rep_id,outlet_id,visit_id,ordered_at,value,line_count\n"
        "late1,r2,o2,e1,2026-03-18T06:00:00Z,50,3\n",
    )
    week_1 = weeks_of(SPAN)[0]

    result = summary_queries.read_rep_activity(engine, week_1, Scope(), SETTINGS)

    expected = queries.rep_activity(engine, week_1, Scope(), SETTINGS)
    assert summary_queries.summary_status(engine, week_1, SETTINGS).usable
    # a1, which order x2 names, and e1.
    assert expected["productive_visits"].sum() == 2
    pd.testing.assert_frame_equal(result, expected)
    engine.dispose()


def test_load_of_visit_refreshes_week_of_its_order(tmp_path):
    # Order x4 of week 3 names v404 and has no rep. v404 arrives in week 1,
    # so x4 counts for r2 and is no longer an order of an unknown rep.
    engine = load_after_build(
        tmp_path,
        ROWS,
        "visits.csv",
        "visit_id,rep_id,outlet_id,check_in,latitude,longitude\n"
        "v404,r2,o2,2026-03-03T06:00:00Z,19.0,72.9\n",
    )
    week_3 = weeks_of(SPAN)[2]

    result = health_summaries.read_health_counts(
        engine, week_3, Scope(), SETTINGS, now=NOW
    )

    expected = health_queries.health_counts(engine, week_3, Scope(), SETTINGS, now=NOW)
    unknown_rep = expected.loc[expected["kind"] == "order_unknown_rep", "affected"]
    assert unknown_rep.tolist() == [0]
    pd.testing.assert_frame_equal(result, expected)
    engine.dispose()


def test_refresh_command_names_health_limits():
    settings = Settings(timezone="UTC", max_visit_hours=8.0, max_speed_kmh=80.0)

    result = summary_queries.refresh_command(weeks_of(SPAN)[0], settings)

    assert result == (
        ".venv/bin/python -m data_access.summaries --db URL --from 2026-03-02 --to 2026-03-08 "
        "--max-visit-hours 8 --max-speed-kmh 80"
    )


@pytest.mark.parametrize("scope_name", list(DEMO_SCOPES))
def test_demo_set_aside_counts_equal_raw(demo, caplog, scope_name):
    raw_engine, summarised_engine = demo
    scope = DEMO_SCOPES[scope_name]
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = {
        week.start: health_summaries.read_set_aside_counts(
            summarised_engine, week, scope, SETTINGS
        )
        for week in weeks_of(DEMO_SPAN)
    }

    assert "visits_without_fix_from_summaries" in logged_queries(caplog)
    expected = {
        week.start: health_queries.set_aside_counts(raw_engine, week, scope, SETTINGS)
        for week in weeks_of(DEMO_SPAN)
    }
    assert result == expected
    assert sum(counts["visits_without_fix"] for counts in expected.values()) > 0


@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_set_aside_at_boundaries_equal_raw(summarised, raw, scope_name):
    scope = SCOPES[scope_name]

    result = [
        health_summaries.read_set_aside_counts(summarised, week, scope, SETTINGS)
        for week in weeks_of(SPAN)
    ]

    expected = [
        health_queries.set_aside_counts(raw, week, scope, SETTINGS)
        for week in weeks_of(SPAN)
    ]
    assert result == expected


def assert_listings_match(
    caplog,
    summarised: sa.Engine,
    raw: sa.Engine,
    week: Period,
    scope: Scope,
    now,
    kinds: tuple[str, ...] | None = None,
) -> None:
    caplog.set_level(logging.INFO, logger="data_access.queries")
    caplog.clear()
    result = health_summaries.read_affected_rows(
        summarised, week, scope, SETTINGS, kinds, now=now
    )
    names = logged_queries(caplog)

    expected = health_queries.affected_rows(raw, week, scope, SETTINGS, kinds, now=now)
    assert "health_kinds_present" in names
    pd.testing.assert_frame_equal(result, expected)


@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_listing_with_window_reps_equals_raw(summarised, raw, caplog, scope_name):
    for week in weeks_of(SPAN):
        assert_listings_match(caplog, summarised, raw, week, SCOPES[scope_name], NOW)


@pytest.mark.parametrize("scope_name", list(DEMO_SCOPES))
def test_demo_listing_with_window_reps_equals_raw(demo, caplog, scope_name):
    raw_engine, summarised_engine = demo
    listed = health_queries.affected_rows(
        raw_engine, DEMO_SPAN, Scope(), SETTINGS, now=DEMO_NOW
    )
    assert set(health_queries.WINDOWED_KINDS) <= set(listed["kind"])

    for week in weeks_of(DEMO_SPAN):
        assert_listings_match(
            caplog,
            summarised_engine,
            raw_engine,
            week,
            DEMO_SCOPES[scope_name],
            DEMO_NOW,
        )


@pytest.mark.parametrize("kind", health_queries.DATED_KINDS)
def test_listing_of_one_kind_equals_raw(summarised, raw, caplog, kind):
    for week in weeks_of(SPAN):
        assert_listings_match(caplog, summarised, raw, week, Scope(), NOW, (kind,))


def test_message_names_the_rebuild_command(summarised):
    with summarised.begin() as connection:
        connection.execute(sa.text("DROP TABLE summary_health_days"))
    week = weeks_of(SPAN)[0]

    result = health_summaries.health_summary_message(summarised, week, SETTINGS)

    assert result == (
        "The data health summaries of these weeks are missing or were counted "
        "with other limits for long visits and travel speed, so this page reads "
        "the raw visits and orders, which is slower; run `.venv/bin/python -m "
        "data_access.summaries --db URL --from 2026-03-02 --to 2026-03-08 "
        "--timezone Asia/Kolkata` to rebuild them."
    )


def test_message_for_other_limits_names_them(summarised):
    slow = Settings(timezone="Asia/Kolkata", max_speed_kmh=80.0)

    result = health_summaries.health_summary_message(summarised, SPAN, slow)

    assert result is not None
    assert "--max-speed-kmh 80`" in result


def test_no_message_when_summaries_serve_or_are_absent(summarised, raw):
    served = health_summaries.health_summary_message(summarised, SPAN, SETTINGS)
    absent = health_summaries.health_summary_message(raw, SPAN, SETTINGS)

    assert served is None
    assert absent is None
