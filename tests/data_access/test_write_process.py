"""Loads that write while the loader checks the files (see write_process)."""

import io
import pickle
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from data_access import load, write_process
from data_access.engine import create_engine
from data_access.load import LoadError, TableCounts, load_directory
from data_access.schema import TABLES
from data_access.write_process import (
    MemoryBoundedQueue,
    WritingProcess,
    WritingThread,
    parallel_writer,
)
from tests.data_access.test_load import (
    GOOD_CONTENTS,
    GOOD_FILES,
    VISITED,
    VISITS_HEADER,
    problem_messages,
    table_contents,
    write_files,
)

BAD_VISITS = f"""\
{VISITS_HEADER}
V7,R1,O1,2026-03-05T09:00:00
V8,R1,O2,2026-13-01
"""
GOOD_COUNTS = {
    "regions": TableCounts(inserted=2),
    "territories": TableCounts(inserted=2),
    "reps": TableCounts(inserted=2),
    "rep_territories": TableCounts(inserted=2),
    "outlets": TableCounts(inserted=2),
    "beats": TableCounts(inserted=2),
    "beat_outlets": TableCounts(inserted=3),
    "visits": TableCounts(inserted=2),
    "orders": TableCounts(inserted=2),
    "users": TableCounts(inserted=3),
    "territory_boundaries": TableCounts(inserted=1),
}


@pytest.fixture(autouse=True)
def in_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Write every load of these tests while it is checked, however small."""
    monkeypatch.setattr(write_process, "PARALLEL_MIN_BYTES", 0)


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "sfa.sqlite"


@pytest.fixture
def engine(database_path: Path) -> Iterator[sa.Engine]:
    engine = create_engine(f"sqlite:///{database_path}")
    yield engine
    engine.dispose()


def test_parallel_load_stores_every_table(engine: sa.Engine, tmp_path: Path) -> None:
    directory = write_files(tmp_path / "csv", GOOD_FILES)

    first = load_directory(engine, directory).counts
    second = load_directory(engine, directory).counts

    assert first == GOOD_COUNTS
    assert second == {
        name: TableCounts(updated=counts.inserted)
        for name, counts in GOOD_COUNTS.items()
    }
    assert table_contents(engine) == GOOD_CONTENTS


def test_parallel_bad_row_leaves_database_unchanged(
    engine: sa.Engine, database_path: Path, tmp_path: Path
) -> None:
    load_directory(engine, write_files(tmp_path / "good", GOOD_FILES))
    engine.dispose()
    before = database_path.read_bytes()
    files = {"regions.csv": "region_id,name\nW,West\n", "visits.csv": BAD_VISITS}

    with pytest.raises(LoadError) as error:
        load_directory(engine, write_files(tmp_path / "bad", files))

    assert problem_messages(error) == [
        "visits.csv line 3: check_in '2026-13-01' is not a valid timestamp; "
        "expected ISO 8601 such as 2026-03-02T09:15:00"
    ]
    assert database_path.read_bytes() == before


def test_parallel_failed_reps_file_reported_once(
    engine: sa.Engine, database_path: Path, tmp_path: Path
) -> None:
    # R0 is read before the line that is not UTF-8, and the visits' R1 is on it.
    reps = "rep_id,name\nR0,Other\nR1,Asha R\xe3o\n".encode("cp1252")
    files = {**GOOD_FILES, "reps.csv": reps}

    with pytest.raises(LoadError) as error:
        load_directory(engine, write_files(tmp_path / "bad", files), skip_invalid=True)

    assert problem_messages(error) == [
        "reps.csv line 3: column name ('Asha R\ufffdo') is not UTF-8 text "
        "(byte 0xe3); save the file as CSV UTF-8"
    ]
    assert error.value.total == 1
    assert not database_path.exists()


def test_parallel_rejected_load_creates_no_database(
    engine: sa.Engine, database_path: Path, tmp_path: Path
) -> None:
    # The regions are written before the bad visit is found.
    files = {**VISITED, "regions.csv": "region_id\nN\n", "visits.csv": BAD_VISITS}

    with pytest.raises(LoadError):
        load_directory(engine, write_files(tmp_path / "bad", files))

    assert not database_path.exists()


def test_parallel_skip_invalid_sets_rows_aside(
    engine: sa.Engine, tmp_path: Path
) -> None:
    directory = write_files(tmp_path / "csv", {**VISITED, "visits.csv": BAD_VISITS})

    result = load_directory(engine, directory, skip_invalid=True)

    assert result.counts["visits"] == TableCounts(inserted=1, rejected=1)
    assert result.rejects_files == {"visits": directory / "visits.rejected.csv"}
    assert [row[0] for row in table_contents(engine)["visits"]] == ["V7"]


def test_parallel_load_finds_stored_references(
    engine: sa.Engine, tmp_path: Path
) -> None:
    # The stored ids are read before the writing process locks the tables.
    files = {
        "visits.csv": f"""\
{VISITS_HEADER}
V9,R2,O2,2026-03-09T09:00:00
V10,R2,O9,2026-03-09T10:00:00
"""
    }
    load_directory(engine, write_files(tmp_path / "good", GOOD_FILES))

    result = load_directory(
        engine, write_files(tmp_path / "more", files), skip_invalid=True
    )

    assert result.counts == {"visits": TableCounts(inserted=1, rejected=1)}
    assert [str(problem) for problem in result.problems] == [
        "visits.csv line 3: outlet_id 'O9' names no known outlet: neither the "
        "files nor the database's outlets table have it; add the outlet or "
        "correct the id"
    ]
    assert [row[0] for row in table_contents(engine)["visits"]] == ["V1", "V2", "V9"]


def test_parallel_header_problem_writes_nothing(
    engine: sa.Engine, database_path: Path, tmp_path: Path
) -> None:
    files = {"regions.csv": "region_id,colour\nN,red\n"}

    with pytest.raises(LoadError) as error:
        load_directory(engine, write_files(tmp_path / "bad", files))

    assert error.value.fatal == 1
    assert not database_path.exists()


def test_parallel_database_error_rolls_back(
    engine: sa.Engine, database_path: Path, tmp_path: Path
) -> None:
    # A visits table without its check_out column makes the writer's insert
    # fail after the regions were written.
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE visits (visit_id TEXT PRIMARY KEY)")
    files = {
        **VISITED,
        "visits.csv": "visit_id,rep_id,outlet_id,check_in,check_out\n"
        "V1,R1,O1,2026-03-02T09:00:00,2026-03-02T09:20:00\n",
    }

    with pytest.raises(sa.exc.OperationalError) as error:
        load_directory(engine, write_files(tmp_path / "csv", files))

    assert "has no column named" in str(error.value)
    assert sa.inspect(engine).get_table_names() == ["visits"]


def test_postgres_parallel_load(fresh_postgres_url: str, tmp_path: Path) -> None:
    engine = create_engine(fresh_postgres_url)
    bad = {"regions.csv": "region_id,name\nW,West\n", "visits.csv": BAD_VISITS}
    try:
        counts = load_directory(engine, write_files(tmp_path / "good", GOOD_FILES))
        with pytest.raises(LoadError):
            load_directory(engine, write_files(tmp_path / "bad", bad))
        contents = table_contents(engine)
    finally:
        engine.dispose()

    assert counts.counts == GOOD_COUNTS
    assert contents == GOOD_CONTENTS


def test_memory_bounded_queue_waits_for_room() -> None:
    inbox = MemoryBoundedQueue(max_bytes=10)
    inbox.put(("first",), 6)
    second_put = threading.Thread(target=inbox.put, args=(("second",), 6))
    second_put.start()
    second_put.join(0.2)
    waited = second_put.is_alive()

    received = [inbox.get()]
    second_put.join(5)
    received.append(inbox.get())
    # A message larger than the bound goes in once the queue is empty.
    inbox.put(("large",), 50)
    received.append(inbox.get())

    assert waited is True
    assert second_put.is_alive() is False
    assert received == [("first",), ("second",), ("large",)]


def test_writer_suits_the_load(
    monkeypatch: pytest.MonkeyPatch, engine: sa.Engine, tmp_path: Path
) -> None:
    monkeypatch.setattr(write_process, "PARALLEL_MIN_BYTES", 1024)
    small = write_files(tmp_path / "small", {"regions.csv": "region_id\nN\n"})
    large = write_files(
        tmp_path / "large", {"regions.csv": "region_id\n" + "N\n" * 600}
    )
    memory = sa.make_url("sqlite://")
    server = sa.make_url("postgresql+psycopg://loader@127.0.0.1/sfa")

    result = [
        parallel_writer(engine.url, {"regions": small / "regions.csv"}),
        parallel_writer(engine.url, {"regions": large / "regions.csv"}),
        parallel_writer(memory, {"regions": large / "regions.csv"}),
        parallel_writer(server, {"regions": large / "regions.csv"}),
    ]

    assert result == [None, WritingProcess, None, WritingThread]


def test_interrupted_load_ends_writer(
    engine: sa.Engine,
    database_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ctrl-C at the end of the check, then again while the loader waits
    # for the writer to roll back.
    def interrupted(*arguments: object) -> None:
        raise KeyboardInterrupt

    processes: list[subprocess.Popen[bytes]] = []
    close = WritingProcess._close

    def recording_close(writer: WritingProcess, *, failed: bool) -> None:
        processes.append(writer._process)
        close(writer, failed=failed)

    monkeypatch.setattr(load, "_raise_for_problems", interrupted)
    monkeypatch.setattr(WritingProcess, "_wait_for_reply", interrupted)
    monkeypatch.setattr(WritingProcess, "_close", recording_close)

    with pytest.raises(KeyboardInterrupt):
        load_directory(engine, write_files(tmp_path / "csv", GOOD_FILES))

    result = (
        [process.poll() is not None for process in processes],
        database_path.exists(),
    )
    expected = ([True], False)
    assert result == expected


def test_new_file_of_killed_writer_is_removed(tmp_path: Path) -> None:
    # A writer killed mid-transaction leaves the pages it spilled and a hot
    # journal in a file that did not exist before the load.
    path = tmp_path / "sfa.sqlite"
    script = (
        "import os, sqlite3, sys\n"
        "connection = sqlite3.connect(sys.argv[1])\n"
        "connection.execute('PRAGMA cache_size = 10')\n"
        "connection.execute('BEGIN')\n"
        "connection.execute('CREATE TABLE visits (visit_id TEXT)')\n"
        "connection.executemany('INSERT INTO visits VALUES (?)',"
        " [('V%06d' % n,) for n in range(20000)])\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)
    left = (path.stat().st_size > 0, path.with_name("sfa.sqlite-journal").exists())

    write_process.remove_new_sqlite_file(path)

    result = (left, sorted(child.name for child in tmp_path.iterdir()))
    expected = ((True, True), [])
    assert result == expected


@pytest.mark.parametrize(
    ("signal_number", "expected_code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
)
def test_cli_signal_prints_one_line(
    signal_number: int,
    expected_code: int,
    database_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def stopped(*arguments: object, **options: object) -> None:
        signal.raise_signal(signal_number)
        raise AssertionError("the signal did not stop the load")

    monkeypatch.setattr(load, "load_directory", stopped)
    directory = write_files(tmp_path / "csv", GOOD_FILES)
    handler_before = signal.getsignal(signal.SIGTERM)
    # A shell starts a background job with SIGINT ignored, and Python then
    # raises no KeyboardInterrupt, so the test sets the handler a terminal has.
    interrupt_before = signal.signal(signal.SIGINT, signal.default_int_handler)

    try:
        code = load.main(["--db", f"sqlite:///{database_path}", str(directory)])
    finally:
        signal.signal(signal.SIGINT, interrupt_before)

    result = (
        code,
        capsys.readouterr().err.splitlines(),
        signal.getsignal(signal.SIGTERM) is handler_before,
    )
    expected = (
        expected_code,
        [
            "Loading was stopped before the end; the load is committed in one "
            "transaction, so nothing was committed unless the log above says "
            "'committed'."
        ],
        True,
    )
    assert result == expected


class Terminal(io.StringIO):
    """Standard error as a terminal, where progress bars are drawn."""

    def isatty(self) -> bool:
        return True


def test_writer_draws_no_progress_bar_over_the_check(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The loader's bar shows the check; a writer's bar on the same terminal
    # line would overwrite it.
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(load, "parallel_writer", lambda url, files: WritingThread)
    directory = write_files(tmp_path / "csv", GOOD_FILES)

    load_directory(engine, directory, progress_stream=io.StringIO())

    result = terminal.getvalue()
    expected = ""
    assert result == expected


def test_cli_killed_writer_prints_one_line(
    database_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    start = WritingProcess._start

    def start_then_kill(writer: WritingProcess) -> None:
        start(writer)
        writer._process.kill()
        writer._process.wait()

    monkeypatch.setattr(WritingProcess, "_start", start_then_kill)
    directory = write_files(tmp_path / "csv", GOOD_FILES)

    code = load.main(["--db", f"sqlite:///{database_path}", str(directory)])

    # The operating system's reason in brackets depends on when the
    # loader notices, so it is left out.
    lines = capsys.readouterr().err.splitlines()
    result = (code, [re.sub(r" \(.*\)", "", line) for line in lines])
    expected = (
        1,
        [
            f"Loading into sqlite:///{database_path} failed: the loader's writing "
            "process ended unexpectedly; nothing was committed."
        ],
    )
    assert result == expected


def test_text_columns_cross_pipe_unchanged() -> None:
    check_ins = np.array(["2026-03-02T09:15", "2026-03-02T10:00"], "datetime64[us]")
    values = {
        "visit_id": ["V1", "V2"],
        "rep_id": ["R1", None],
        "outlet_id": ["O1", ""],
        "no_order_reason": ["shop\x00closed", "owner absent"],
        "latitude": [12.5, None],
        "check_in": check_ins,
    }
    message = ("chunk", np.array([2, 3]), values)

    sent = write_process._with_joined_texts(message, TABLES["visits"])
    received = write_process._with_split_texts(pickle.loads(pickle.dumps(sent)))

    assert isinstance(sent[2]["visit_id"], write_process.JoinedTexts)
    # Once joined, None, an empty text and a NUL could not be distinguished.
    assert sent[2]["rep_id"] is values["rep_id"]
    assert sent[2]["outlet_id"] is values["outlet_id"]
    assert sent[2]["no_order_reason"] is values["no_order_reason"]
    assert received[1].tolist() == [2, 3]
    assert {name: received[2][name] for name in values if name != "check_in"} == {
        name: column for name, column in values.items() if name != "check_in"
    }
    assert received[2]["check_in"].tolist() == check_ins.tolist()


@pytest.mark.parametrize("ids", [[], ["V1"], ["V1", "V2", "V3"]])
def test_joined_texts_keep_their_count(ids: list[str]) -> None:
    message = ("chunk", np.arange(len(ids)), {"visit_id": ids})

    sent = write_process._with_joined_texts(message, TABLES["visits"])
    received = write_process._with_split_texts(pickle.loads(pickle.dumps(sent)))

    assert received[2]["visit_id"] == ids
