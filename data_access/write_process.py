"""Write a large load while the loader checks the files, on a second core.

The loader checks each chunk of a file and hands the chunk's valid rows to a
writer, which upserts them at once in its open transaction, so checking a
chunk and writing the one before it run side by side. For an SQLite file the
writer is a second Python process fed through a pipe (WritingProcess). For
PostgreSQL it is a thread of the loader (WritingThread), because the server
does most of the writing in its own process. Only the loader decides the
outcome. After the last file is checked it sends the writer the order to
commit, or to roll back when a problem rejects the load, so the database
changes only when every file passed its check.

The writing process is handed QUEUED_MESSAGES chunks at most ahead of what
it wrote, so memory stays that of a few chunks. The writing thread's queue
keeps the chunks as Arrow arrays, up to THREAD_QUEUED_BYTES of them.
Starting a process costs about a second (it imports the loader's modules
again), so only loads of PARALLEL_MIN_BYTES of files or more write this way.
"""

import io
import logging
import os
import pickle
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import closing
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from data_access.copy_formats import arrow_values
from data_access.schema import TABLES
from data_access.table_files import Chunk, ProblemLog

log = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parents[1]

# Table files smaller than this in all are checked and written in one process.
PARALLEL_MIN_BYTES = 32 * 1024 * 1024
# Seconds the loader waits for the writer to end after its reply. A writing
# process still running then is killed.
EXIT_WAIT_SECONDS = 60
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
# Messages the loader keeps ready while a writing process is busy, such as
# while it builds a large table's indexes. A chunk of 50,000 visits takes
# about 25 MB of memory before it is sent.
QUEUED_MESSAGES = 8
# Memory that the chunks queued for a writing thread may take, as Arrow
# arrays (a visit or an order takes about 100 bytes there, a fifth of its
# Python objects). While the server builds the indexes of a large table after
# its COPY, the check goes on for this much ahead, about 2.5 million rows.
# With 8 chunks of Python objects, the check of 1.9 million visits and orders
# waited 1.6 s for the writer in a test.
THREAD_QUEUED_BYTES = 256 * 1024 * 1024

# The loader's messages to the writer come in this order. For each table with
# checked rows: ("table", name, header), then ("chunk", lines, values) per
# chunk, whose text columns cross a writing process's pipe as JoinedTexts.
# At the end: ("verdict", commit). Once a problem rejects the load,
# ("stop",) may come before the verdict. The writer sends one reply after
# the verdict: ("committed", {table: (inserted, updated)}), ("rolled back",)
# or ("error", exception).
Message = tuple[Any, ...]


def parallel_writer(
    url: sa.URL, table_files: dict[str, Path]
) -> type["ParallelWriter"] | None:
    """Return the writer that a load of table_files into the database at url
    should write with while it checks them, or None to check them all first."""
    if (os.cpu_count() or 1) < 2:
        return None
    if sum(path.stat().st_size for path in table_files.values()) < PARALLEL_MIN_BYTES:
        return None
    if url.get_backend_name() == "postgresql":
        return WritingThread
    if url.get_backend_name() == "sqlite" and _is_sqlite_file(url):
        return WritingProcess
    return None


def _is_sqlite_file(url: sa.URL) -> bool:
    # An in-memory database belongs to its connection, and a URI filename may
    # name one too.
    return bool(url.database) and url.database != ":memory:" and not url.query


class WriterError(RuntimeError):
    """The writer ended before it committed, so nothing was committed."""


class _RolledBack(Exception):
    """The loader asked the writer to roll back."""


class ParallelWriter:
    """The loader's end of a writer that writes while the loader checks.

    It takes the checked chunks as CheckedRows does (add()), and sends them
    on. Once problems contains a problem that rejects the load (any problem,
    unless skip_invalid, or a problem with a whole file), nothing more is
    sent and the writer rolls back at once. note_chunk is called with each
    chunk sent. Use it as a context manager around the check; commit()
    commits and returns {table: (inserted, updated)}, and leaving the block
    without it rolls back. Subclasses carry the messages (see Message).
    """

    def __init__(
        self,
        engine: sa.Engine,
        table_files: dict[str, Path],
        zone: ZoneInfo,
        problems: ProblemLog,
        *,
        skip_invalid: bool,
        note_chunk: Callable[[Chunk], None],
    ) -> None:
        self.engine = engine
        self.table_files = dict(table_files)
        self.zone = zone
        self.problems = problems
        self.skip_invalid = skip_invalid
        self._note_chunk = note_chunk
        self._table: str | None = None
        self._stopped = False
        self._committing = False
        self._replied = False

    def __enter__(self) -> "ParallelWriter":
        self._start()
        return self

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # The writer is ended even when a second Ctrl-C stops the wait for
        # its reply, so that no writer outlives the loader.
        try:
            if not self._replied:
                try:
                    self._end_write()
                except RuntimeError as writer_error:
                    log.info("the writer ended early: %s", writer_error)
        finally:
            self._close(failed=error_type is not None or not self._replied)

    def add(
        self,
        table_name: str,
        header: list[str],
        chunk: Chunk,
        fraction_read: float | None,
    ) -> None:
        """Send the valid rows of a checked chunk to the writer."""
        if self._stopped:
            return
        if self.problems.fatal or (self.problems.total and not self.skip_invalid):
            self._send(("stop",))
            self._stopped = True
            return
        if table_name != self._table:
            self._send(("table", table_name, header))
            self._table = table_name
        self._note_chunk(chunk)
        self._send(("chunk", chunk.lines, chunk.values))

    def _end_write(self) -> None:
        """Send the writer a verdict to roll back, unless commit() already sent
        one to commit. In that case wait for its reply and log a commit."""
        if not self._committing:
            self._send(("verdict", False))
            self._wait_for_reply()
            return
        reply = self._wait_for_reply()
        if reply[0] == "committed":
            log.warning("the writer committed the load before the loader stopped")

    def commit(self) -> dict[str, tuple[int, int]]:
        """Have the writer commit; return {table: (inserted, updated)}.

        Raises the writer's error, such as a database error, when it could
        not write; the transaction is then rolled back.
        """
        self._send(("verdict", not self._stopped))
        self._committing = not self._stopped
        reply = self._wait_for_reply()
        self._replied = True
        if reply[0] == "committed":
            log.info("the writer committed the load")
            return reply[1]
        if reply[0] == "error":
            raise reply[1]
        raise WriterError("the writer rolled back a load that passed its check")

    def _start(self) -> None:
        raise NotImplementedError

    def _send(self, message: Message) -> None:
        raise NotImplementedError

    def _wait_for_reply(self) -> Message:
        """Wait for the writer's reply to the verdict sent."""
        raise NotImplementedError

    def _close(self, *, failed: bool) -> None:
        raise NotImplementedError


class WritingThread(ParallelWriter):
    """A writer in a thread of the loader, for PostgreSQL.

    The server does most of the writing, in its own process, and the
    thread waits for it without the GIL, so no second Python process is
    needed and the chunks are not pickled.
    """

    def _start(self) -> None:
        self._inbox = MemoryBoundedQueue(THREAD_QUEUED_BYTES)
        # {column name: column} of the table whose chunks are being sent
        self._columns: dict[str, sa.Column[Any]] = {}
        self._thread_reply: Message | None = None
        self._thread = threading.Thread(
            target=self._run, name="beatboard-load-writer", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        rows = PipedRows(self._inbox.get)
        self._thread_reply = _write_rows(rows, self.engine, self.table_files, self.zone)

    def _send(self, message: Message) -> None:
        if not self._thread.is_alive():
            raise WriterError("the loader's writing thread ended unexpectedly")
        size = 0
        if message[0] == "table":
            table = TABLES[message[1]]
            self._columns = {name: table.columns[name] for name in message[2]}
        elif message[0] == "chunk" and self.engine.dialect.name != "postgresql":
            # Only COPY takes Arrow arrays. Another engine's writer binds the
            # values of the lists, and QUEUED_MESSAGES of them fill the queue.
            size = THREAD_QUEUED_BYTES // QUEUED_MESSAGES
        elif message[0] == "chunk":
            _, lines, values = message
            compact = {
                name: arrow_values(self._columns[name], column_values)
                for name, column_values in values.items()
            }
            message = ("chunk", lines, compact)
            size = lines.nbytes + sum(array.nbytes for array in compact.values())
        self._inbox.put(message, size)

    def _wait_for_reply(self) -> Message:
        self._thread.join()
        if self._thread_reply is None:
            raise WriterError("the loader's writing thread ended without a reply")
        return self._thread_reply

    def _close(self, *, failed: bool) -> None:
        self._thread.join(EXIT_WAIT_SECONDS)


class MemoryBoundedQueue:
    """A first-in, first-out queue of messages that together take at most
    max_bytes of memory.

    A message larger than max_bytes is let in once the queue is empty.
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._messages: deque[tuple[Message, int]] = deque()
        self._bytes = 0
        self._changed = threading.Condition()

    def put(self, message: Message, size: int) -> None:
        """Add a message of size bytes, waiting until there is room for it."""
        with self._changed:
            while self._messages and self._bytes + size > self._max_bytes:
                self._changed.wait()
            self._messages.append((message, size))
            self._bytes += size
            self._changed.notify_all()

    def get(self) -> Message:
        """Take the oldest message, waiting for one."""
        with self._changed:
            while not self._messages:
                self._changed.wait()
            message, size = self._messages.popleft()
            self._bytes -= size
            self._changed.notify_all()
            return message


class WritingProcess(ParallelWriter):
    """A writer in a second Python process, for an SQLite file.

    The sqlite3 module holds the GIL while it binds each row's values, so
    a thread could not write while the loader checks.
    """

    def _start(self) -> None:
        self._new_sqlite_file: Path | None = None
        path = Path(str(self.engine.url.database))
        if not path.exists():
            self._new_sqlite_file = path
        # The process runs this module as a script rather than a function
        # of the caller's: multiprocessing's spawn would import the caller's
        # main script again, which fails for a script without a main guard.
        parent_socket, child_socket = socket.socketpair()
        self._pipe = Connection(parent_socket.detach())
        child_fd = child_socket.detach()
        environment = dict(os.environ)
        paths = [str(REPOSITORY), environment.get("PYTHONPATH", "")]
        environment["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(child_fd)],
                pass_fds=[child_fd],
                env=environment,
            )
        finally:
            os.close(child_fd)
        # A thread sends the queued messages: pickling a chunk takes the
        # GIL, but a send that waits for the writer does not, so the check
        # goes on while the writer catches up.
        self._queue: queue.Queue[Message | None] = queue.Queue(QUEUED_MESSAGES)
        self._send_error: OSError | None = None
        self._sender = threading.Thread(
            target=self._send_queued, name="beatboard-load-sender", daemon=True
        )
        self._sender.start()
        # The URL may contain a password, so it goes through the pipe rather
        # than the command line, which other users can see.
        url = self.engine.url.render_as_string(hide_password=False)
        level = logging.getLogger().getEffectiveLevel()
        self._send(("start", url, self.table_files, self.zone, level))

    def _send(self, message: Message) -> None:
        self._raise_send_error()
        self._queue.put(message)

    def _send_queued(self) -> None:
        table: sa.Table | None = None
        while (message := self._queue.get()) is not None:
            if self._send_error is not None:
                continue  # The loader learns of it at its next message.
            if message[0] == "table":
                table = TABLES[message[1]]
            elif message[0] == "chunk" and table is not None:
                message = _with_joined_texts(message, table)
            try:
                self._pipe.send(message)
            except OSError as error:
                self._send_error = error

    def _end_sending(self) -> None:
        """Wait until every queued message is sent, and stop the sender."""
        if self._sender.is_alive():
            self._queue.put(None)
            self._sender.join()
        self._raise_send_error()

    def _raise_send_error(self) -> None:
        if self._send_error is not None:
            raise WriterError(
                f"the loader's writing process ended unexpectedly "
                f"({self._send_error}); nothing was committed"
            )

    def _wait_for_reply(self) -> Message:
        self._end_sending()
        try:
            return self._pipe.recv()
        except (OSError, EOFError):
            raise WriterError(
                "the loader's writing process ended without a reply; "
                "nothing was committed"
            ) from None

    def _close(self, *, failed: bool) -> None:
        try:
            self._end_sending()
        except RuntimeError as pipe_error:
            log.info("the writing process ended early: %s", pipe_error)
        self._pipe.close()
        try:
            self._process.wait(EXIT_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("stopping a writing process that did not end")
            self._process.kill()
            self._process.wait()
        except BaseException:
            # Interrupted while waiting: its transaction rolls back as it dies.
            self._process.kill()
            self._process.wait()
            raise
        finally:
            if failed and self._new_sqlite_file is not None:
                remove_new_sqlite_file(self._new_sqlite_file)


class JoinedTexts(NamedTuple):
    """The values of a text column, joined by NUL characters to cross a pipe.

    One string pickles several times faster than a list of strings. In a
    test, the 48,000 visit ids of a chunk took 2.7 ms to pickle and 1.3 ms
    to unpickle as a list. Joined, they took 0.5 ms to join and 0.8 ms to
    split. Only columns whose values are all non-empty texts without a NUL
    are joined, so that splitting returns the same values.
    """

    text: str
    count: int

    def values(self) -> list[str]:
        return self.text.split("\x00") if self.count else []


def _with_joined_texts(message: Message, table: sa.Table) -> Message:
    """Return a chunk message with its text columns' values joined."""
    _, lines, values = message
    joined = {
        name: _joined(table.columns[name], column_values)
        for name, column_values in values.items()
    }
    return ("chunk", lines, joined)


def _joined(column: sa.Column[Any], values: Any) -> Any:
    if not isinstance(column.type, sa.Text) or not isinstance(values, list):
        return values
    # all() is false for a None or an empty text, which could not be
    # distinguished once joined.
    if not values or not all(values):
        return values
    try:
        text = "\x00".join(values)
    except TypeError:
        return values
    if text.count("\x00") != len(values) - 1:
        return values
    return JoinedTexts(text, len(values))


def _with_split_texts(message: Message) -> Message:
    """Return a message with the values of each JoinedTexts split again."""
    if message[0] != "chunk":
        return message
    _, lines, values = message
    # The writing process runs this module as __main__, so its JoinedTexts
    # class is not the one the loader pickled. Other values are lists and
    # arrays, never tuples.
    split = {
        name: JoinedTexts(*column_values).values()
        if isinstance(column_values, tuple)
        else column_values
        for name, column_values in values.items()
    }
    return ("chunk", lines, split)


def remove_new_sqlite_file(path: Path) -> None:
    """Remove the SQLite file at path that a failed load created, when it
    contains nothing.

    Connecting creates the file, and a rejected load leaves none. A writer
    killed mid-transaction leaves the pages it wrote and a hot journal;
    reading the file first has SQLite roll that journal back, which empties
    a file that was new.
    """
    if not path.exists():
        return
    if path.with_name(f"{path.name}-journal").exists():
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    if path.stat().st_size == 0:
        path.unlink()


# The writing process


class PipedRows:
    """The rows the loader sends, read as the second pass reads CheckedRows.

    receive returns the next message, waiting for it.
    """

    def __init__(self, receive: Callable[[], Message]) -> None:
        self._receive = receive
        self._next: Message | None = None
        self._headers: dict[str, list[str]] = {}
        self.verdict_read = False

    def peek(self) -> Message:
        """Return the next message without taking it; raise _RolledBack for
        a stop or a verdict to roll back."""
        if self._next is None:
            self._next = self._receive()
        if self._next[0] == "stop" or self._next == ("verdict", False):
            raise _RolledBack
        return self._next

    def _take(self) -> Message:
        message = self.peek()
        self._next = None
        return message

    def has(self, table_name: str) -> bool:
        if table_name in self._headers:
            return True
        message = self.peek()
        return message[0] == "table" and message[1] == table_name

    def header(self, table_name: str) -> list[str]:
        if table_name not in self._headers:
            self._headers[table_name] = self.peek()[2]
        return self._headers[table_name]

    def chunks(self, table_name: str) -> Iterator[tuple[Chunk, float | None]]:
        _, _, header = self._take()
        self._headers[table_name] = header
        while self.peek()[0] == "chunk":
            _, lines, values = self._take()
            yield Chunk(lines, None, values, []), None

    def verdict(self) -> bool:
        """Take the verdict: True to commit (a roll back raises _RolledBack)."""
        message = self._take()
        if message[0] != "verdict":
            raise RuntimeError(f"the loader sent {message[0]!r} after the last table")
        self.verdict_read = True
        return True

    def skip_to_verdict(self) -> None:
        """Pass over the messages up to and including the verdict."""
        if self.verdict_read:
            return
        message = self._next if self._next is not None else self._receive()
        self._next = None
        while message[0] != "verdict":
            message = self._receive()
        self.verdict_read = True


def write_in_child(pipe: Connection) -> None:
    """Write the rows the loader sends through pipe, and reply to its verdict."""
    _, url, table_files, zone, log_level = pipe.recv()
    logging.basicConfig(level=log_level, format=LOG_FORMAT)
    # Imported here: the loader imports this module.
    from data_access.engine import create_engine

    engine = create_engine(url)
    reply: Message = ("no reply",)
    try:
        rows = PipedRows(lambda: _with_split_texts(pipe.recv()))
        reply = _write_rows(rows, engine, table_files, zone)
        if reply[0] == "error":
            reply = ("error", _picklable(reply[1]))
        pipe.send(reply)
    except (EOFError, OSError):
        # The loader was stopped, and its own message gives the reason.
        if reply[0] == "committed":
            log.warning("the writer committed the load before the loader stopped")
        else:
            log.info("the loader stopped before its verdict; nothing was committed")
    finally:
        engine.dispose()
        pipe.close()


def _stop_on_terminate(signal_number: int, frame: object) -> None:
    raise KeyboardInterrupt


def _write_rows(
    rows: PipedRows, engine: sa.Engine, table_files: dict[str, Path], zone: ZoneInfo
) -> Message:
    """Write the rows received in one transaction, and return the reply to
    the loader's verdict once it arrives."""
    reply: Message
    try:
        reply = ("committed", _write(rows, engine, table_files, zone))
    except _RolledBack:
        reply = ("rolled back",)
    except BaseException as error:  # noqa: BLE001
        # The loader waits for a reply whatever happened.
        log.info("the writer failed: %s", error)
        reply = ("error", error)
    rows.skip_to_verdict()
    return reply


def _write(
    rows: PipedRows, engine: sa.Engine, table_files: dict[str, Path], zone: ZoneInfo
) -> dict[str, tuple[int, int]]:
    # Imported here: the loader imports this module.
    from data_access.bulk_write import sqlite_load_cache
    from data_access.load import write_tables

    # A load that fails before its first chunk opens no connection, which
    # would create a missing SQLite file.
    rows.peek()
    with engine.begin() as connection, sqlite_load_cache(connection):
        no_rejects: dict[str, tuple[int, ...]] = {name: () for name in table_files}
        # The loader's progress bar shows the check; one drawn here on the
        # same terminal would overwrite it, so the writer's goes nowhere.
        counts = write_tables(
            connection, table_files, zone, no_rejects, io.StringIO(), None, rows
        )
        rows.verdict()
    return {name: (count.inserted, count.updated) for name, count in counts.items()}


def _picklable(error: BaseException) -> BaseException:
    """Return error, or when it cannot go through a pipe, a RuntimeError
    with its message."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


if __name__ == "__main__":
    # Ctrl-C reaches both processes; the loader decides and sends its
    # verdict. SIGTERM rolls the transaction back before the process ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_on_terminate)
    write_in_child(Connection(int(sys.argv[1])))
