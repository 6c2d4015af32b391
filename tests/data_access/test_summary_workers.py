"""Workers that count summary weeks side by side write what one worker writes."""

import shutil
import signal
import threading
import time
from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import schema, summaries
from data_access.engine import create_engine
from data_access.filters import Settings
from fixtures.demo import MIN_REPS, generate
from tests.database import signal_in_sqlite_functions

SETTINGS = Settings(timezone="Asia/Kolkata")
FIRST_DAY = date(2026, 3, 2)
LAST_DAY = date(2026, 3, 29)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> str:
    """The demo company's last 4 weeks, without summaries."""
    path = tmp_path_factory.mktemp("workers") / "demo.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    generate(engine, reps=MIN_REPS, weeks=4, end_date=LAST_DAY)
    engine.dispose()
    return str(path)


@pytest.fixture
def copy_engine(demo_file, tmp_path):
    """Return a function that opens a new copy of the demo file."""
    engines = []

    def open_copy(name: str) -> sa.Engine:
        copy = tmp_path / f"{name}.sqlite"
        shutil.copy(demo_file, copy)
        engines.append(create_engine(f"sqlite:///{copy}"))
        return engines[-1]

    yield open_copy
    for engine in engines:
        engine.dispose()


def summary_frames(engine: sa.Engine) -> dict[str, pd.DataFrame]:
    """Every summary table's rows, without the build time, sorted by pandas
    because the engines' collations may order text differently."""
    frames = {}
    with engine.connect() as connection:
        for name, table in schema.SUMMARY_TABLES.items():
            columns = [column for column in table.c if column.name != "built_at"]
            frame = pd.DataFrame(connection.execute(sa.select(*columns)).fetchall())
            if not frame.empty:
                frame = frame.sort_values(list(frame.columns), ignore_index=True)
            frames[name] = frame
    return frames


def test_workers_write_one_workers_rows(copy_engine, monkeypatch):
    # One week a transaction, so the four weeks make four groups to share.
    monkeypatch.setattr(summaries, "WEEKS_PER_TRANSACTION", 1)
    alone, side_by_side = copy_engine("alone"), copy_engine("side_by_side")

    built_alone = summaries.build_summaries(
        alone, FIRST_DAY, LAST_DAY, SETTINGS, workers=1
    )
    built_side_by_side = summaries.build_summaries(
        side_by_side, FIRST_DAY, LAST_DAY, SETTINGS, workers=3
    )

    assert built_side_by_side == built_alone
    assert len(built_alone) == 4
    expected = summary_frames(alone)
    result = summary_frames(side_by_side)
    for name, frame in expected.items():
        # The tables that read earlier weeks need more than four weeks.
        assert len(frame) > 0 or name in summaries.FIRST_WEEK_READ, name
        pd.testing.assert_frame_equal(result[name], frame, obj=name)


def test_worker_failure_keeps_whole_weeks(copy_engine, monkeypatch):
    monkeypatch.setattr(summaries, "WEEKS_PER_TRANSACTION", 1)
    engine = copy_engine("failing")
    count_week = summaries._count_week
    failing_week = date(2026, 3, 16)

    def count_or_fail(connection, week, settings, with_history):
        if week.start == failing_week:
            raise sa.exc.OperationalError("SELECT 1", {}, RuntimeError("disk full"))
        return count_week(connection, week, settings, with_history)

    monkeypatch.setattr(summaries, "_count_week", count_or_fail)

    with pytest.raises(sa.exc.OperationalError, match="disk full"):
        summaries.build_summaries(engine, FIRST_DAY, LAST_DAY, SETTINGS, workers=2)

    with engine.connect() as connection:
        weeks = set(connection.scalars(sa.select(schema.summary_weeks.c.week_start)))
        rep_day_weeks = {
            day - timedelta(days=day.weekday())
            for day in connection.scalars(sa.select(schema.summary_rep_days.c.day))
        }
    assert failing_week not in weeks
    assert weeks, "the other worker's weeks before the failure are kept"
    # Every week with a summary_weeks row has all its rows, and no other
    # week has any.
    assert rep_day_weeks == weeks


def test_build_after_failure_finds_no_leftover_tables(copy_engine, monkeypatch):
    monkeypatch.setattr(summaries, "WEEKS_PER_TRANSACTION", 1)
    engine = copy_engine("again")
    count_week = summaries._count_week

    def count_then_fail(connection, week, settings, with_history):
        count_week(connection, week, settings, with_history)
        raise sa.exc.OperationalError("SELECT 1", {}, RuntimeError("disk full"))

    with monkeypatch.context() as patch:
        patch.setattr(summaries, "_count_week", count_then_fail)
        with pytest.raises(sa.exc.OperationalError, match="disk full"):
            summaries.build_summaries(engine, FIRST_DAY, LAST_DAY, SETTINGS, workers=1)

    # The failed week's temporary tables would make this build fail with
    # "table already exists" on a connection the pool kept.
    built = summaries.build_summaries(engine, FIRST_DAY, LAST_DAY, SETTINGS, workers=1)

    assert len(built) == 4


def test_in_memory_database_gets_one_worker():
    engine = sa.create_engine("sqlite://")

    assert summaries.usable_workers(engine, requested=4, groups=10) == 1


def test_workers_capped_by_groups(copy_engine):
    engine = copy_engine("capped")

    assert summaries.usable_workers(engine, requested=4, groups=2) == 2


@pytest.mark.parametrize("workers", [0, -1, summaries.MAX_WORKERS + 1])
def test_build_rejects_worker_count(copy_engine, workers):
    engine = copy_engine("rejected")

    with pytest.raises(ValueError, match=f"workers must be 1 to 8, not {workers}"):
        summaries.build_summaries(engine, FIRST_DAY, LAST_DAY, SETTINGS, workers)

    with engine.connect() as connection:
        assert not sa.inspect(connection).has_table(schema.summary_weeks.name)


def test_interrupt_inside_statement_propagates(copy_engine):
    engine = copy_engine("interrupted")

    def interrupt_counting(connection, cursor, statement, parameters, context, many):
        if "INSERT INTO scratch_" in statement:
            raise KeyboardInterrupt

    sa.event.listen(engine, "after_cursor_execute", interrupt_counting)

    # Restoring the page cache on the closed connection would replace the
    # KeyboardInterrupt with sqlite3.ProgrammingError.
    with pytest.raises(KeyboardInterrupt):
        summaries.build_summaries(engine, FIRST_DAY, LAST_DAY, SETTINGS, workers=1)


def test_gate_keeps_reads_out_of_a_write():
    gate = summaries._TransactionGate()
    reader_inside = threading.Event()
    reader_may_leave = threading.Event()
    writer_inside = threading.Event()
    events = []

    def reader():
        gate.enter(None)
        reader_inside.set()
        reader_may_leave.wait(5)
        events.append("reader left")
        gate.leave()
        # A new transaction waits for the write to end.
        gate.enter(None)
        events.append("reader entered again")
        gate.leave()

    def writer():
        reader_inside.wait(5)
        with gate.writing():
            events.append("writer writing")
            writer_inside.set()
            time.sleep(0.2)
            events.append("writer done")

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    reader_inside.wait(5)
    time.sleep(0.2)
    # The writer waits for the reader's transaction to end.
    assert events == []
    reader_may_leave.set()
    for thread in threads:
        thread.join(5)

    assert events == [
        "reader left",
        "writer writing",
        "writer done",
        "reader entered again",
    ]


@pytest.mark.parametrize(
    ("workers", "message"),
    [
        ("0", "'0' is not a valid number of workers"),
        ("9", "use a whole number from 1 to 8"),
    ],
)
def test_command_rejects_worker_count(capsys, workers, message):
    with pytest.raises(SystemExit) as stopped:
        summaries.main(
            ["--db", "sqlite://", "--from", "2026-03-02", "--to", "2026-03-08",
             "--workers", workers]
        )  # fmt: skip

    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("workers", [1, 2])
def test_postgres_workers_match_sqlite(
    copy_engine, fresh_postgres_url, monkeypatch, workers
):
    monkeypatch.setattr(summaries, "WEEKS_PER_TRANSACTION", 1)
    sqlite = copy_engine("sqlite")
    postgres = create_engine(fresh_postgres_url)
    try:
        generate(postgres, reps=MIN_REPS, weeks=4, end_date=LAST_DAY)
        summaries.build_summaries(postgres, FIRST_DAY, LAST_DAY, SETTINGS, workers)
        result = summary_frames(postgres)
    finally:
        postgres.dispose()
    summaries.build_summaries(sqlite, FIRST_DAY, LAST_DAY, SETTINGS, workers=1)

    for name, frame in summary_frames(sqlite).items():
        pd.testing.assert_frame_equal(result[name], frame, check_dtype=False, obj=name)


def test_command_rejects_missing_sqlite_file(tmp_path, capsys):
    missing = tmp_path / "typo.sqlite"

    with pytest.raises(SystemExit) as stopped:
        summaries.main(
            ["--db", f"sqlite:///{missing}", "--from", "2026-03-02", "--to",
             "2026-03-08"]
        )  # fmt: skip

    assert stopped.value.code == 2
    assert f"the SQLite file {missing}, which does not exist" in capsys.readouterr().err
    assert not missing.exists()


def test_command_warns_about_empty_weeks(copy_engine, capsys):
    engine = copy_engine("empty")
    url = engine.url.render_as_string(hide_password=False)

    exit_code = summaries.main(
        ["--db", url, "--from", "2024-03-04", "--to", "2024-03-10"]
    )

    captured = capsys.readouterr()
    assert exit_code == 0, captured.err
    assert captured.out.startswith("built 1 summary week, 2024-03-04 to 2024-03-10")
    assert "those weeks have no visits or orders in the UTC time zone" in captured.err


def test_command_warns_not_about_weeks_with_rows(copy_engine, capsys):
    engine = copy_engine("full")
    url = engine.url.render_as_string(hide_password=False)

    exit_code = summaries.main(
        ["--db", url, "--from", "2026-03-23", "--to", "2026-03-29"]
    )

    assert exit_code == 0
    assert "Warning" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("signal_number", "expected_code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
)
def test_signal_in_sqlite_function_interrupts(
    copy_engine, monkeypatch, capsys, signal_number, expected_code
):
    url = copy_engine("signalled").url.render_as_string(hide_password=False)
    calls = signal_in_sqlite_functions(monkeypatch, signal_number)
    terminate_before = signal.getsignal(signal.SIGTERM)
    # A shell starts a background job with SIGINT ignored, and Python then
    # raises no KeyboardInterrupt, so the test sets the handler a terminal has.
    interrupt_before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        # One worker: the build runs on this thread, where the handler raises.
        exit_code = summaries.main(
            ["--db", url, "--from", "2026-03-23", "--to", "2026-03-29",
             "--workers", "1"]
        )  # fmt: skip
        restored = (
            signal.getsignal(signal.SIGINT) is signal.default_int_handler
            and signal.getsignal(signal.SIGTERM) is terminate_before
        )
    finally:
        signal.signal(signal.SIGINT, interrupt_before)

    assert calls
    assert exit_code == expected_code
    assert "Building the summaries was interrupted." in capsys.readouterr().err
    assert restored
