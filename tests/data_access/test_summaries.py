"""The summary tables give the raw queries' numbers, and say when they cannot."""

import contextvars
import shutil
import threading
from concurrent.futures import Future
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import (
    queries,
    review_queries,
    schema,
    summaries,
    summary_queries,
    territory_history,
)
from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from data_access.load import load_directory
from data_access.period_sql import PeriodSQL
from data_access.queries import fetch_frame
from fixtures.demo import MIN_REPS, generate
from metrics import reports
from tests.database import summarised_demo

TIMEZONE = "Asia/Kolkata"
SETTINGS = Settings(timezone=TIMEZONE)
LAST_DAY = date(2026, 3, 29)
WEEK = Period(date(2026, 3, 23), LAST_DAY, TIMEZONE)
THREE_WEEKS = Period(date(2026, 3, 9), LAST_DAY, TIMEZONE)
SCOPES = {
    "everything": Scope(),
    "region": Scope(region_ids=("WEST",)),
    "territory": Scope(territory_ids=("KOL",)),
}


def demo_engine(url: str) -> sa.Engine:
    """The demo company's last 3 weeks at url, with summaries of those weeks."""
    return summarised_demo(url, 3, THREE_WEEKS, SETTINGS)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("summaries") / "demo.sqlite"
    demo_engine(f"sqlite:///{path}").dispose()
    return str(path)


@pytest.fixture(scope="module")
def engine(demo_file):
    engine = create_engine(f"sqlite:///{demo_file}")
    yield engine
    engine.dispose()


@pytest.fixture
def copied_engine(demo_file, tmp_path):
    copy = tmp_path / "copy.sqlite"
    shutil.copy(demo_file, copy)
    engine = create_engine(f"sqlite:///{copy}")
    yield engine
    engine.dispose()


def assert_same_frames(result: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(result.columns) == list(expected.columns)
    assert len(result) == len(expected)
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)


@pytest.mark.parametrize("period", [WEEK, THREE_WEEKS], ids=["week", "three_weeks"])
@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_rep_activity_matches_raw(engine, period, scope_name):
    scope = SCOPES[scope_name]

    result = summary_queries.rep_activity_from_summaries(
        engine, period, scope, SETTINGS
    )

    expected = queries.rep_activity(engine, period, scope, SETTINGS)
    assert expected["visits"].sum() > 0
    assert_same_frames(result, expected)


@pytest.mark.parametrize("period", [WEEK, THREE_WEEKS], ids=["week", "three_weeks"])
@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_outlet_activity_matches_raw(engine, period, scope_name):
    scope = SCOPES[scope_name]

    result = summary_queries.outlet_activity_from_summaries(
        engine, period, scope, SETTINGS
    )

    expected = queries.outlet_activity(engine, period, scope, SETTINGS)
    assert expected["visits"].sum() > 0
    assert_same_frames(result, expected)


def test_manager_scope_matches_raw(engine):
    manager = queries.rep_list(engine, Scope())["manager_id"].dropna().iloc[0]
    scope = Scope(manager_id=manager)

    result = summary_queries.rep_activity_from_summaries(engine, WEEK, scope, SETTINGS)

    expected = queries.rep_activity(engine, WEEK, scope, SETTINGS)
    assert_same_frames(result, expected)


def test_territory_rep_activity_matches_raw(copied_engine):
    # The moved rep's history as a rep_territories table, then a rebuild.
    with copied_engine.begin() as connection:
        schema.rep_territories.create(connection, checkfirst=True)
        rep_id, territory_id = connection.execute(
            sa.select(schema.reps.c.rep_id, schema.reps.c.territory_id).limit(1)
        ).one()
        connection.execute(
            schema.rep_territories.delete().where(
                schema.rep_territories.c.rep_id == rep_id
            )
        )
        connection.execute(
            schema.rep_territories.insert(),
            [
                {"rep_id": rep_id, "territory_id": "PUN",
                 "valid_from": date(2026, 1, 1), "valid_to": date(2026, 3, 25)},
                {"rep_id": rep_id, "territory_id": territory_id,
                 "valid_from": date(2026, 3, 26), "valid_to": None},
            ],
        )  # fmt: skip
    summaries.build_summaries(copied_engine, THREE_WEEKS.start, LAST_DAY, SETTINGS)

    result = summary_queries.read_territory_rep_activity(
        copied_engine, WEEK, Scope(), SETTINGS
    )

    expected = territory_history.territory_rep_activity(
        copied_engine, WEEK, Scope(), SETTINGS
    )
    moved = result[result["rep_id"] == rep_id]
    assert sorted(moved["territory_id"]) == sorted({"PUN", territory_id})
    assert_same_frames(result, expected)


def test_weekly_rep_activity_sums_to_weekly_reports(engine):
    result = summary_queries.weekly_rep_activity(engine, THREE_WEEKS, Scope(), SETTINGS)

    weeks = [THREE_WEEKS.start, date(2026, 3, 16), date(2026, 3, 23)]
    assert sorted(set(result["week_start"])) == weeks
    for week_start in weeks:
        week = Period(week_start, week_start.replace(day=week_start.day + 6), TIMEZONE)
        raw = queries.rep_activity(engine, week, Scope(), SETTINGS).set_index("rep_id")
        rows = result[result["week_start"] == week_start].set_index("rep_id")
        for column in ("visits", "productive_visits", "planned_calls", "calls_on_plan"):
            expected = raw.loc[rows.index, column].tolist()
            assert rows[column].tolist() == expected, (week_start, column)


def test_weekly_rep_activity_raw_fallback_matches(engine, copied_engine):
    with copied_engine.begin() as connection:
        connection.execute(schema.summary_weeks.delete())

    result = summary_queries.weekly_rep_activity(
        copied_engine, THREE_WEEKS, Scope(), SETTINGS
    )

    expected = summary_queries.weekly_rep_activity(
        engine, THREE_WEEKS, Scope(), SETTINGS
    )
    assert_same_frames(result, expected)


def test_weekly_territory_coverage_raw_fallback_matches(engine, copied_engine):
    with copied_engine.begin() as connection:
        connection.execute(schema.summary_weeks.delete())

    result = summary_queries.weekly_territory_coverage(
        copied_engine, THREE_WEEKS, Scope(), SETTINGS
    )

    expected = summary_queries.weekly_territory_coverage(
        engine, THREE_WEEKS, Scope(), SETTINGS
    )
    assert len(expected) == 3 * 8
    assert_same_frames(result, expected)


def test_weekly_rep_activity_rejects_partial_weeks(engine):
    period = Period(date(2026, 3, 10), LAST_DAY, TIMEZONE)

    with pytest.raises(ValueError, match="not whole weeks"):
        summary_queries.weekly_rep_activity(engine, period, Scope(), SETTINGS)


@pytest.mark.parametrize(
    ("period", "settings", "uncovered"),
    [
        (Period(date(2026, 3, 24), LAST_DAY, TIMEZONE), SETTINGS, False),
        (Period(date(2026, 3, 2), LAST_DAY, TIMEZONE), SETTINGS, True),
        (Period(WEEK.start, WEEK.end, "UTC"), Settings(), True),
        (WEEK, Settings(timezone=TIMEZONE, off_site_m=500.0), True),
        (WEEK, Settings(timezone=TIMEZONE, duplicate_window_s=60.0), True),
    ],
    ids=[
        "partial_week",
        "unbuilt_week",
        "other_timezone",
        "other_off_site",
        "other_window",
    ],
)
def test_status_unusable(engine, period, settings, uncovered):
    result = summary_queries.summary_status(engine, period, settings)

    # Summaries could serve whole weeks of the business time zone, if built
    # under these settings.
    expected = summary_queries.SummaryStatus(usable=False, uncovered=uncovered)
    assert result == expected


def test_status_usable(engine):
    result = summary_queries.summary_status(engine, THREE_WEEKS, SETTINGS)

    assert result.usable
    assert not result.stale
    assert result.message(THREE_WEEKS) is None


def test_week_of_older_counting_rules_is_built_again(copied_engine):
    with copied_engine.begin() as connection:
        connection.execute(
            schema.summary_weeks.update()
            .where(schema.summary_weeks.c.week_start == WEEK.start)
            .values(counting_rules=summaries.COUNTING_RULES - 1)
        )

    before = summary_queries.summary_status(copied_engine, THREE_WEEKS, SETTINGS)
    summaries.build_summaries(copied_engine, WEEK.start, WEEK.end, SETTINGS)
    after = summary_queries.summary_status(copied_engine, THREE_WEEKS, SETTINGS)

    # The week counted by older rules reads the raw tables until built again.
    assert before == summary_queries.SummaryStatus(usable=False, uncovered=True)
    assert after.usable


def test_status_stale_after_new_visit(copied_engine):
    with copied_engine.begin() as connection:
        connection.execute(
            schema.visits.insert().values(
                visit_id="late-sync", rep_id="R0001", outlet_id="O000001",
                check_in=datetime(2026, 3, 24, 6, 0),
            )
        )  # fmt: skip

    result = summary_queries.summary_status(copied_engine, WEEK, SETTINGS)

    assert not result.usable
    assert result.stale
    assert result.message(WEEK) == (
        "The summary tables are out of date for these weeks, so this page reads the "
        "raw visits and orders, which is slower; run `.venv/bin/python -m data_access.summaries "
        "--db URL --from 2026-03-23 --to 2026-03-29` to refresh them."
    )


def test_status_stale_after_visit_moves_week(copied_engine):
    # The three weeks keep their total, but two of them change.
    with copied_engine.begin() as connection:
        visit_id = connection.execute(
            sa.select(schema.visits.c.visit_id)
            .where(schema.visits.c.check_in >= datetime(2026, 3, 10))
            .order_by(schema.visits.c.check_in)
            .limit(1)
        ).scalar_one()
        connection.execute(
            schema.visits.update()
            .where(schema.visits.c.visit_id == visit_id)
            .values(check_in=datetime(2026, 3, 24, 6, 0))
        )

    result = summary_queries.summary_status(copied_engine, THREE_WEEKS, SETTINGS)

    assert not result.usable
    assert result.stale


@pytest.fixture
def counted(monkeypatch) -> list[list[date]]:
    """Record the first day of each week that raw_week_row_counts counts, one
    list per call."""
    counted = []
    count_weeks = summary_queries.raw_week_row_counts

    def recording(connection, weeks):
        counted.append([week.start for week in weeks])
        return count_weeks(connection, weeks)

    monkeypatch.setattr(summary_queries, "raw_week_row_counts", recording)
    return counted


def test_shared_counts_count_each_week_once(engine, counted):
    with summary_queries.sharing_counts():
        summary_queries.summary_status(engine, WEEK, SETTINGS)
        summary_queries.summary_status(engine, THREE_WEEKS, SETTINGS)
        summary_queries.summary_status(engine, THREE_WEEKS, SETTINGS)
    summary_queries.summary_status(engine, WEEK, SETTINGS)

    result = counted
    expected = [
        [date(2026, 3, 23)],
        # The weeks not counted yet, in one statement.
        [date(2026, 3, 16), date(2026, 3, 9)],
        # Outside the block every status counts again.
        [date(2026, 3, 23)],
    ]
    assert result == expected


def test_inner_sharing_block_uses_outer_counts(engine, counted):
    with summary_queries.sharing_counts():
        summary_queries.summary_status(engine, WEEK, SETTINGS)
        with summary_queries.sharing_counts():
            summary_queries.summary_status(engine, WEEK, SETTINGS)

    assert counted == [[date(2026, 3, 23)]]


def test_territories_report_counts_outlets_once(engine, counted, monkeypatch):
    # The report checks the summaries of the week and of its neglect window,
    # which these settings keep inside the summarised weeks.
    settings = Settings(timezone=TIMEZONE, neglect_days=14)
    outlet_counts = []
    count_outlets = summary_queries.active_outlet_count

    def recording(connection):
        outlet_counts.append(1)
        return count_outlets(connection)

    monkeypatch.setattr(summary_queries, "active_outlet_count", recording)

    reports.territories_report(engine, WEEK, Scope(), settings)

    weeks = [week for call in counted for week in call]
    assert len(weeks) == len(set(weeks))
    assert len(outlet_counts) == 1


def test_territories_report_counts_beside_its_week(engine, monkeypatch):
    # A neglect window of 14 days reaches the weeks before WEEK. The report
    # counts them and the active outlets on other threads while the caller
    # counts WEEK. The caller's check of WEEK waits here until those threads
    # are done, so that it cannot claim their counts first on a busy machine.
    settings = Settings(timezone=TIMEZONE, neglect_days=14)
    caller = threading.get_ident()
    threads = {}
    outlets_counted = threading.Event()
    earlier_checked = threading.Event()
    count_weeks = summary_queries.raw_week_row_counts
    count_outlets = summary_queries.active_outlet_count
    status = summary_queries.summary_status

    def recording_weeks(connection, weeks):
        threads.update((week.start, threading.get_ident()) for week in weeks)
        return count_weeks(connection, weeks)

    def recording_outlets(connection):
        threads["outlets"] = threading.get_ident()
        result = count_outlets(connection)
        outlets_counted.set()
        return result

    def waiting_status(engine, period, settings):
        if threading.get_ident() == caller and period == WEEK:
            assert outlets_counted.wait(10)
            assert earlier_checked.wait(10)
        result = status(engine, period, settings)
        if threading.get_ident() != caller and period.end < WEEK.start:
            earlier_checked.set()
        return result

    monkeypatch.setattr(summary_queries, "raw_week_row_counts", recording_weeks)
    monkeypatch.setattr(summary_queries, "active_outlet_count", recording_outlets)
    monkeypatch.setattr(summary_queries, "summary_status", waiting_status)

    reports.territories_report(engine, WEEK, Scope(), settings)

    earlier = [day for day in threads if day not in ("outlets", WEEK.start)]
    assert threads[WEEK.start] == caller
    assert earlier
    assert all(threads[day] != caller for day in earlier)
    assert threads["outlets"] != caller


def test_page_run_checks_each_table_once(engine, monkeypatch):
    checked = []
    has_table = sa.engine.reflection.Inspector.has_table

    def recording(inspector, name, *arguments, **options):
        checked.append(name)
        return has_table(inspector, name, *arguments, **options)

    monkeypatch.setattr(sa.engine.reflection.Inspector, "has_table", recording)
    table = schema.summary_rep_weeks
    with engine.connect() as connection:
        with summary_queries.sharing_counts():
            inside = [summaries.week_counts(connection, table) for _ in range(3)]
        outside = [summaries.week_counts(connection, table) for _ in range(2)]

    assert checked == [table.name] * 3
    assert inside[0] == inside[2] == outside[1]
    assert inside[0]


def test_shared_counts_wait_for_claimed_week(engine, monkeypatch):
    # The first thread claims the three weeks and stops in the count of the
    # two earlier ones. The latest week, counted first, is ready meanwhile.
    count_weeks = summary_queries.raw_week_row_counts
    counted = []
    second_week_started = threading.Event()
    release = threading.Event()

    def slow_counts(connection, weeks):
        counted.append([week.start for week in weeks])
        if weeks[0].start == date(2026, 3, 16):
            second_week_started.set()
            assert release.wait(10)
        return count_weeks(connection, weeks)

    monkeypatch.setattr(summary_queries, "raw_week_row_counts", slow_counts)
    statuses = {}

    def status_of(name, period):
        statuses[name] = summary_queries.summary_status(engine, period, SETTINGS)

    with summary_queries.sharing_counts():
        variables = contextvars.copy_context()
        claiming = threading.Thread(
            target=variables.run,
            args=(status_of, "three weeks", THREE_WEEKS),
            daemon=True,
        )
        claiming.start()
        assert second_week_started.wait(10)
        waiting = threading.Thread(
            target=contextvars.copy_context().run,
            args=(status_of, "week", WEEK),
            daemon=True,
        )
        waiting.start()
        waiting.join(10)
        week_done_early = not waiting.is_alive()
        release.set()
        claiming.join(10)

    assert week_done_early
    assert statuses["week"].usable
    assert statuses["three weeks"].usable
    assert counted == [[date(2026, 3, 23)], [date(2026, 3, 16), date(2026, 3, 9)]]


def test_shared_counts_pass_error_to_waiters(engine, monkeypatch):
    count_weeks = summary_queries.raw_week_row_counts
    calls = []
    started = threading.Event()
    waiter_blocked = threading.Event()
    release = threading.Event()

    def failing_once(connection, weeks):
        calls.append([week.start for week in weeks])
        if len(calls) > 1:
            return count_weeks(connection, weeks)
        started.set()
        assert release.wait(10)
        raise sa.exc.OperationalError("count", {}, Exception("server closed"))

    class ObservedFuture(Future):
        def result(self, timeout=None):
            # Only the count that the first thread holds up is still pending.
            if threading.current_thread().name == "waiting" and not self.done():
                waiter_blocked.set()
            return super().result(timeout)

    monkeypatch.setattr(summary_queries, "raw_week_row_counts", failing_once)
    monkeypatch.setattr(summary_queries, "Future", ObservedFuture)
    errors = {}

    def status_of():
        try:
            summary_queries.summary_status(engine, WEEK, SETTINGS)
        except sa.exc.OperationalError as error:
            errors[threading.current_thread().name] = error

    def thread(name):
        return threading.Thread(
            target=contextvars.copy_context().run, args=(status_of,), name=name
        )

    with summary_queries.sharing_counts():
        counting = thread("counting")
        counting.daemon = True
        counting.start()
        assert started.wait(10)
        waiting = thread("waiting")
        waiting.daemon = True
        waiting.start()
        assert waiter_blocked.wait(10)
        release.set()
        counting.join(10)
        waiting.join(10)
        # The failed week is forgotten, so the next status counts it again.
        later = summary_queries.summary_status(engine, WEEK, SETTINGS)

    assert set(errors) == {"counting", "waiting"}
    assert calls == [[date(2026, 3, 23)], [date(2026, 3, 23)]]
    assert later.usable


def test_read_once_reads_outside_lock(engine):
    reads = []

    def outer():
        reads.append("outer")
        # A read that needs another fact must not wait for the first read.
        return summary_queries.read_once_per_run(engine, "inner", inner) + 1

    def inner():
        reads.append("inner")
        return 41

    with summary_queries.sharing_counts():
        first = summary_queries.read_once_per_run(engine, "outer", outer)
        again = summary_queries.read_once_per_run(engine, "outer", outer)

    assert (first, again) == (42, 42)
    assert reads == ["outer", "inner"]


def test_read_once_retries_after_failure(engine):
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise sa.exc.OperationalError("inspect", {}, Exception("server closed"))
        return "read"

    with summary_queries.sharing_counts():
        with pytest.raises(sa.exc.OperationalError):
            summary_queries.read_once_per_run(engine, "flaky", flaky)
        result = summary_queries.read_once_per_run(engine, "flaky", flaky)

    assert result == "read"
    assert len(attempts) == 2


def test_shared_counts_reach_copied_threads(engine, counted):
    statuses = []
    with summary_queries.sharing_counts():
        summary_queries.summary_status(engine, WEEK, SETTINGS)
        variables = contextvars.copy_context()
        worker = threading.Thread(
            target=variables.run,
            args=(
                lambda: statuses.append(
                    summary_queries.summary_status(engine, WEEK, SETTINGS)
                ),
            ),
        )
        worker.start()
        worker.join()

    result = (counted, statuses[0].usable)
    expected = ([[date(2026, 3, 23)]], True)
    assert result == expected


def test_status_message_names_settings():
    status = summary_queries.SummaryStatus(usable=False, older_layout=True)
    settings = Settings(timezone=TIMEZONE, week_start=7, off_site_m=500.0)

    result = status.message(
        Period(date(2026, 3, 22), date(2026, 3, 28), TIMEZONE), settings
    )

    assert result == (
        "The summary tables were built by an older version of Beatboard, so this "
        "page reads the raw visits and orders, which is slower; run `.venv/bin/python -m "
        "data_access.summaries --db URL --from 2026-03-22 --to 2026-03-28 "
        "--timezone Asia/Kolkata --week-start 7 --off-site-m 500` to rebuild them."
    )


def test_read_rep_activity_uses_raw_when_stale(copied_engine):
    with copied_engine.begin() as connection:
        connection.execute(
            schema.visits.insert().values(
                visit_id="late-sync", rep_id="R0001", outlet_id="O000001",
                check_in=datetime(2026, 3, 24, 6, 0),
            )
        )  # fmt: skip

    result = summary_queries.read_rep_activity(copied_engine, WEEK, Scope(), SETTINGS)

    expected = queries.rep_activity(copied_engine, WEEK, Scope(), SETTINGS)
    stale = summary_queries.rep_activity_from_summaries(
        copied_engine, WEEK, Scope(), SETTINGS
    )
    assert_same_frames(result, expected)
    assert result["visits"].sum() == stale["visits"].sum() + 1


def test_command_builds_whole_weeks(tmp_path, capsys, demo_file):
    copy = tmp_path / "copy.sqlite"
    shutil.copy(demo_file, copy)

    exit_code = summaries.main(
        ["--db", f"sqlite:///{copy}", "--from", "2026-03-25", "--to", "2026-03-26",
         "--timezone", TIMEZONE]
    )  # fmt: skip

    captured = capsys.readouterr()
    assert exit_code == 0, captured.err
    assert captured.out.startswith(
        "built 1 summary week, 2026-03-23 to 2026-03-29, in "
    )


def test_command_rejects_reversed_dates(capsys):
    with pytest.raises(SystemExit) as stopped:
        summaries.main(
            ["--db", "sqlite://", "--from", "2026-03-29", "--to", "2026-03-01"]
        )

    assert stopped.value.code == 2
    assert "--to 2026-03-01 is before --from 2026-03-29" in capsys.readouterr().err


@pytest.mark.parametrize("period", [WEEK, THREE_WEEKS], ids=["week", "three_weeks"])
def test_postgres_summaries_match_sqlite(engine, fresh_postgres_url, period):
    postgres = demo_engine(fresh_postgres_url)
    try:
        result = summary_queries.rep_activity_from_summaries(
            postgres, period, Scope(), SETTINGS
        )
        outlets = summary_queries.outlet_activity_from_summaries(
            postgres, period, Scope(), SETTINGS
        )
        raw = queries.rep_activity(postgres, period, Scope(), SETTINGS)
    finally:
        postgres.dispose()

    expected = queries.rep_activity(engine, period, Scope(), SETTINGS)
    assert_same_frames(result, expected)
    assert_same_frames(raw, expected)
    assert_same_frames(
        outlets, queries.outlet_activity(engine, period, Scope(), SETTINGS)
    )


def test_load_refreshes_touched_weeks(copied_engine, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "visits.csv").write_text(
        "visit_id,rep_id,outlet_id,check_in\nlate-sync,R0001,O000001,2026-03-24T06:00:00Z\n",
        encoding="utf-8",
    )
    before = summary_queries.rep_activity_from_summaries(
        copied_engine, WEEK, Scope(), SETTINGS
    )

    load_directory(copied_engine, folder)

    result = summary_queries.summary_status(copied_engine, WEEK, SETTINGS)
    after = summary_queries.rep_activity_from_summaries(
        copied_engine, WEEK, Scope(), SETTINGS
    )
    assert result.usable
    assert after["visits"].sum() == before["visits"].sum() + 1
    assert_same_frames(
        after, queries.rep_activity(copied_engine, WEEK, Scope(), SETTINGS)
    )


def test_load_skips_weeks_before_summaries(copied_engine, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "visits.csv").write_text(
        "visit_id,rep_id,outlet_id,check_in\n"
        "old-visit,R0001,O000001,2025-01-07T06:00:00Z\n"
        "late-sync,R0001,O000001,2026-03-24T06:00:00Z\n",
        encoding="utf-8",
    )

    load_directory(copied_engine, folder)

    with copied_engine.connect() as connection:
        weeks = sorted(connection.scalars(sa.select(schema.summary_weeks.c.week_start)))
    # The three summarised weeks, and none of the 60 weeks before them.
    assert weeks == [date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23)]
    after = summary_queries.rep_activity_from_summaries(
        copied_engine, WEEK, Scope(), SETTINGS
    )
    assert_same_frames(
        after, queries.rep_activity(copied_engine, WEEK, Scope(), SETTINGS)
    )


def stored_week_rows(engine: sa.Engine, table: sa.Table) -> list[tuple]:
    query = (
        sa.select(table)
        .where(table.c.week_start.between(WEEK.start, WEEK.end))
        .order_by(*table.c)
    )
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def make_week_stale(engine: sa.Engine, table: sa.Table) -> None:
    """Change one stored row of WEEK, delete another and add a third one
    with a week_start of another weekday inside WEEK."""
    first_rows = (
        sa.select(table)
        .where(table.c.week_start == WEEK.start)
        .order_by(*table.primary_key.columns)
        .limit(3)
    )
    key = [column.name for column in table.primary_key.columns]

    def is_row(row) -> sa.ColumnElement[bool]:
        return sa.and_(*(table.c[name] == row[name] for name in key))

    with engine.begin() as connection:
        changed, deleted, moved = (
            row._mapping for row in connection.execute(first_rows)
        )
        connection.execute(
            table.update().where(is_row(changed)).values(visits=table.c.visits + 1)
        )
        connection.execute(table.delete().where(is_row(deleted)))
        connection.execute(
            table.insert().values(
                {**moved, "week_start": WEEK.start + timedelta(days=2)}
            )
        )


@pytest.mark.parametrize(
    "table",
    [schema.summary_outlet_weeks, schema.summary_rep_outlet_weeks],
    ids=lambda table: table.name,
)
def test_rebuild_replaces_stale_rows(copied_engine, table):
    expected = stored_week_rows(copied_engine, table)
    make_week_stale(copied_engine, table)

    summaries.build_summaries(copied_engine, WEEK.start, WEEK.end, SETTINGS)

    result = stored_week_rows(copied_engine, table)
    assert len(result) == len(expected)
    assert result == expected


def test_postgres_rebuild_replaces_stale_rows(fresh_postgres_url):
    postgres = demo_engine(fresh_postgres_url)
    table = schema.summary_outlet_weeks
    try:
        expected = stored_week_rows(postgres, table)
        make_week_stale(postgres, table)
        summaries.build_summaries(postgres, WEEK.start, WEEK.end, SETTINGS)
        result = stored_week_rows(postgres, table)
    finally:
        postgres.dispose()

    assert len(result) == len(expected)
    assert result == expected


def test_territory_week_visited_outlets_matches_raw(engine):
    result = summary_queries.read_territory_week_visited_outlets(
        engine, THREE_WEEKS, Scope(), SETTINGS
    )

    expected = queries.territory_week_visited_outlets(
        engine, THREE_WEEKS, Scope(), SETTINGS
    )
    expected = expected[expected["territory_id"].notna()].reset_index(drop=True)
    assert len(result) == 3 * 8
    assert_same_frames(result, expected)


def test_visit_facts_by_lookup_match_windows(engine):
    sql = PeriodSQL(WEEK, SETTINGS)
    facts = sql.visit_facts
    expected = fetch_frame(
        engine, "visit_facts", sa.select(facts).order_by(facts.c.visit_id)
    )

    with engine.connect() as connection:
        with summaries._WeekScratch(connection, PeriodSQL(WEEK, SETTINGS)) as scratch:
            table = scratch.visit_facts
            rows = connection.execute(sa.select(table).order_by(table.c.visit_id)).all()
    result = pd.DataFrame([tuple(row) for row in rows], columns=list(expected.columns))

    assert expected["productive"].sum() > 0
    assert expected["off_beat"].sum() > 0
    assert expected["order_lines"].sum() > 0
    assert_same_frames(result, expected)


def first_manager_scope(engine: sa.Engine) -> Scope:
    manager = queries.rep_list(engine, Scope())["manager_id"].dropna().iloc[0]
    return Scope(manager_id=manager)


def raw_weekly_outlet_figures(copied_engine: sa.Engine, scope: Scope) -> pd.DataFrame:
    """Compute weekly_outlet_figures of THREE_WEEKS from the raw tables, after
    deleting the summary_weeks rows of the copy."""
    with copied_engine.begin() as connection:
        connection.execute(schema.summary_weeks.delete())
    status = summary_queries.summary_status(copied_engine, THREE_WEEKS, SETTINGS)
    assert not status.usable
    return review_queries.weekly_outlet_figures(
        copied_engine, THREE_WEEKS, scope, SETTINGS
    )


@pytest.mark.parametrize("scope_name", ["everything", "territory", "manager"])
def test_weekly_outlet_figures_match_raw(engine, copied_engine, scope_name):
    if scope_name == "manager":
        scope = first_manager_scope(engine)
    else:
        scope = SCOPES[scope_name]
    assert summary_queries.summary_status(engine, THREE_WEEKS, SETTINGS).usable

    result = review_queries.weekly_outlet_figures(engine, THREE_WEEKS, scope, SETTINGS)

    expected = raw_weekly_outlet_figures(copied_engine, scope)
    assert list(expected["week_index"]) == [0, 1, 2]
    assert expected["visited_outlets"].sum() > 0
    assert expected["visited_outlets"].sum() < expected["active_outlets"].sum()
    assert_same_frames(result, expected)


def test_weekly_outlet_figures_over_history_match_raw(copied_engine):
    # A rep of KOL who belonged to PUN until 2026-03-15, then a rebuild.
    with copied_engine.begin() as connection:
        schema.rep_territories.create(connection, checkfirst=True)
        rep_id = connection.execute(
            sa.select(schema.reps.c.rep_id)
            .where(schema.reps.c.territory_id == "KOL")
            .limit(1)
        ).scalar_one()
        connection.execute(
            schema.rep_territories.insert(),
            [
                {"rep_id": rep_id, "territory_id": "PUN",
                 "valid_from": date(2026, 1, 1), "valid_to": date(2026, 3, 15)},
                {"rep_id": rep_id, "territory_id": "KOL",
                 "valid_from": date(2026, 3, 16), "valid_to": None},
            ],
        )  # fmt: skip
    summaries.build_summaries(copied_engine, THREE_WEEKS.start, LAST_DAY, SETTINGS)
    scope = SCOPES["territory"]
    assert territory_history.scope_follows_history(copied_engine, scope, THREE_WEEKS)

    result = review_queries.weekly_outlet_figures(
        copied_engine, THREE_WEEKS, scope, SETTINGS
    )

    expected = raw_weekly_outlet_figures(copied_engine, scope)
    assert expected["visited_outlets"].sum() > 0
    assert_same_frames(result, expected)


def test_territory_order_sums_count_inactive_outlets(copied_engine):
    # Every KOL outlet closed: KOL keeps its order history, which prices a
    # skipped call, but has no active outlet to cover.
    with copied_engine.begin() as connection:
        connection.execute(
            schema.outlets.update()
            .where(schema.outlets.c.territory_id == "KOL")
            .values(active=False)
        )
    summaries.build_summaries(copied_engine, THREE_WEEKS.start, LAST_DAY, SETTINGS)
    outlet_weeks = schema.summary_outlet_weeks
    expected_statement = (
        sa.select(
            schema.outlets.c.territory_id,
            sa.func.sum(outlet_weeks.c.productive_visits).label("productive_visits"),
            sa.func.sum(outlet_weeks.c.linked_order_value).label("order_value"),
        )
        .select_from(
            outlet_weeks.join(
                schema.outlets,
                schema.outlets.c.outlet_id == outlet_weeks.c.outlet_id,
            )
        )
        .where(outlet_weeks.c.week_start.between(THREE_WEEKS.start, LAST_DAY))
        .group_by(schema.outlets.c.territory_id)
        .order_by(schema.outlets.c.territory_id)
    )
    history = summaries.territory_order_history(THREE_WEEKS.start, THREE_WEEKS.end)

    result = fetch_frame(
        copied_engine,
        "territory_order_history",
        sa.select(history).order_by(history.c.territory_id),
    )
    coverage = summary_queries.weekly_territory_coverage(
        copied_engine, THREE_WEEKS, Scope(), SETTINGS
    )

    expected = fetch_frame(copied_engine, "order_sums", expected_statement)
    assert "KOL" in set(expected["territory_id"])
    assert expected["order_value"].min() > 0
    assert_same_frames(result, expected)
    assert "KOL" not in set(coverage["territory_id"])
    assert len(coverage) == 3 * 7


def active_outlet_counts(engine: sa.Engine, lookback_start: date) -> int:
    """Run the territories report's counts of WEEK and the uncovered weeks'
    message in a sharing block, as a page does, and return how many
    statements counted the active outlets."""
    statements = []

    def record(connection, cursor, statement, *arguments) -> None:
        if statement.startswith("SELECT count(*)") and "outlets.active" in statement:
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with summary_queries.sharing_counts():
            summary_queries.read_territory_counts(
                engine, WEEK, Scope(), SETTINGS, lookback_start
            )
            summary_queries.uncovered_message(engine, WEEK, SETTINGS)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return len(statements)


def test_look_ahead_counts_active_outlets_once(engine):
    assert active_outlet_counts(engine, THREE_WEEKS.start) == 1


def test_look_ahead_skips_count_without_summaries(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'raw.sqlite'}")
    generate(engine, reps=MIN_REPS, weeks=1, end_date=LAST_DAY)
    try:
        result = active_outlet_counts(engine, THREE_WEEKS.start)
    finally:
        engine.dispose()

    assert result == 0
