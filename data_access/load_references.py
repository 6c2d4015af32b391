"""References a loaded row must resolve: the rep and the outlet of a visit.

An id resolves when a valid row of the same load has it, or when the database
already stores it. Orders may name unknown outlets, reps and visits: those
rows load, because field exports contain them, and data health counts them.
"""

import logging
from collections.abc import Collection, Iterable
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa

from data_access.schema import TABLES
from data_access.table_files import Chunk, Problem, Rejection

log = logging.getLogger(__name__)

# {table: ((column, referenced table), ...)}
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "visits": (("rep_id", "reps"), ("outlet_id", "outlets")),
}
REFERENCED_TABLES = frozenset(
    table for pairs in REFERENCES.values() for _, table in pairs
)
# Ids looked up in the database per query; well under SQLite's limit of
# 32,766 bound parameters.
LOOKUP_BATCH = 5_000
NOUNS = {"reps": "rep", "outlets": "outlet"}
ARTICLES = {"reps": "a", "outlets": "an"}


class ReferenceCheck:
    """The ids a load can refer to: those of its own valid rows and stored ones.

    Stored ids are looked up only for ids the files lack, in batches, and
    both answers are kept, so each id costs at most one lookup. Use it as a
    context manager: it holds one read connection while the files are checked.
    After read_stored_ids() it holds none, and looks nothing up.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._connection: sa.Connection | None = None
        self._stored_tables: set[str] | None = None
        self._loaded: dict[str, set[str]] = {name: set() for name in REFERENCED_TABLES}
        self._stored: dict[str, set[str]] = {name: set() for name in REFERENCED_TABLES}
        self._absent: dict[str, set[str]] = {name: set() for name in REFERENCED_TABLES}
        # The referenced tables whose stored ids were all read at once.
        self._all_read: set[str] = set()
        # {table: {id: where its rejected row is, such as "reps.csv line 4"}}
        self._rejected: dict[str, dict[str, str]] = {
            name: {} for name in REFERENCED_TABLES
        }
        # The referenced tables whose file failed as a whole (see stop_checking).
        self._unchecked: set[str] = set()

    def __enter__(self) -> "ReferenceCheck":
        return self

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()

    def read_stored_ids(self, table_names: Collection[str]) -> None:
        """Read every stored id that rows of table_names may refer to, then
        close the read connection.

        A load that writes while it checks calls this first. Its open write
        transaction may lock the referenced tables until it commits (an index
        dropped on PostgreSQL, a spilled page cache on SQLite). A lookup made
        later could then wait for that transaction forever. The ids of a few
        hundred thousand outlets take tens of megabytes.
        """
        needed = {
            referenced
            for name in table_names
            for _, referenced in REFERENCES.get(name, ())
        }
        if needed:
            stored_tables = self._tables_in_database()
            for table_name in sorted(needed):
                if table_name in stored_tables:
                    key = TABLES[table_name].primary_key.columns.values()[0]
                    ids = self._open().execute(sa.select(key)).scalars()
                    self._stored[table_name].update(ids)
                self._all_read.add(table_name)
        self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def remember(self, table_name: str, chunk: Chunk) -> None:
        """Note the ids of rows that will load, so later files may refer to them."""
        if table_name not in REFERENCED_TABLES:
            return
        key = TABLES[table_name].primary_key.columns.keys()[0]
        self._loaded[table_name].update(chunk.values[key])

    def remember_rejected(
        self, table_name: str, rejections: Iterable[Rejection]
    ) -> None:
        """Note where the rejected rows of the files are, by the id they carry.

        A reference to such an id then names that row in its reason, in place
        of claiming that the files lack the id.
        """
        if table_name not in REFERENCED_TABLES:
            return
        key = TABLES[table_name].primary_key.columns.keys()[0]
        rejected = self._rejected[table_name]
        for rejection in rejections:
            position = rejection.header.index(key)
            if position >= len(rejection.cells):
                continue
            value = rejection.cells[position].strip()
            unit = "row" if rejection.file.lower().endswith(".xlsx") else "line"
            if value:
                rejected.setdefault(value, f"{rejection.file} {unit} {rejection.line}")

    def stop_checking(self, table_name: str) -> None:
        """Stop checking references to table_name once its file failed as a
        whole, such as a file that is not UTF-8 or has an invalid header.

        The load fails anyway, and otherwise every visit that names an id in
        the unread rest of the file would be listed as a problem of its own.
        """
        if table_name in REFERENCED_TABLES:
            self._unchecked.add(table_name)

    def problems(
        self, table_name: str, file_name: str, chunk: Chunk
    ) -> dict[int, list[Problem]]:
        """Return {row position: problems} for the chunk's valid rows whose
        references do not resolve."""
        found: dict[int, list[Problem]] = {}
        for column, referenced in REFERENCES.get(table_name, ()):
            if referenced in self._unchecked:
                continue
            ids = chunk.values[column]
            unknown = self._unknown(referenced, set(ids))
            if not unknown:
                continue
            for position, value in enumerate(ids):
                if value in unknown:
                    reason = self._reason(referenced, value)
                    line = int(chunk.lines[position])
                    problem = Problem(file_name, reason, line, column, value)
                    found.setdefault(position, []).append(problem)
        return found

    def _reason(self, table_name: str, value: str) -> str:
        noun = NOUNS[table_name]
        rejected_at = self._rejected[table_name].get(value)
        if rejected_at is not None:
            return (
                f"names {ARTICLES[table_name]} {noun} whose row was rejected "
                f"({rejected_at}); fix that row or correct the id"
            )
        return (
            f"names no known {noun}: neither the files nor the database's "
            f"{table_name} table have it; add the {noun} or correct the id"
        )

    def _unknown(self, table_name: str, ids: set[str]) -> set[str]:
        loaded, stored, absent = (
            self._loaded[table_name],
            self._stored[table_name],
            self._absent[table_name],
        )
        # Set differences loop over a chunk's tens of thousands of ids in C,
        # in place of a comprehension.
        to_look_up = list(ids - loaded - stored - absent)
        if table_name in self._all_read:
            absent.update(to_look_up)
            to_look_up = []
        for start in range(0, len(to_look_up), LOOKUP_BATCH):
            batch = to_look_up[start : start + LOOKUP_BATCH]
            found = self._look_up(table_name, batch)
            stored.update(found)
            absent.update(set(batch) - found)
        return ids & absent

    def _look_up(self, table_name: str, ids: list[str]) -> set[str]:
        if table_name not in self._tables_in_database():
            return set()
        table = TABLES[table_name]
        key = table.primary_key.columns.values()[0]
        statement = sa.select(key).where(key.in_(ids))
        return set(self._open().execute(statement).scalars())

    def _tables_in_database(self) -> set[str]:
        if self._stored_tables is None:
            if _is_missing_sqlite_file(self._engine):
                # Connecting would create the file, and a rejected load must
                # leave no database behind.
                self._stored_tables = set()
            else:
                self._stored_tables = set(sa.inspect(self._open()).get_table_names())
        return self._stored_tables

    def _open(self) -> sa.Connection:
        if self._connection is None:
            self._connection = self._engine.connect()
        return self._connection


def _is_missing_sqlite_file(engine: sa.Engine) -> bool:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        return False
    return not Path(database).exists()
