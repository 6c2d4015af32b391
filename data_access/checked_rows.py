"""The rows the loader's first pass accepted, kept on disk for the second pass.

The second pass writes these rows in place of reading and parsing the files
again, which took a third of its time in a test. Each table's chunks are
pickled to a file in the system's temporary folder. A visit row took 77
bytes there in a test, so a national year of 18 million visits and orders
needs about 1.4 GB (an estimate). The files are deleted when the load ends.
"""

import pickle
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Protocol

import numpy as np

from data_access.table_files import Chunk, ColumnValues


class CheckedRowsSink(Protocol):
    """The receiver of the valid rows of each chunk the first pass checked."""

    def add(
        self,
        table_name: str,
        header: list[str],
        chunk: Chunk,
        fraction_read: float | None,
    ) -> None: ...


class CheckedRowsSource(Protocol):
    """The source of the rows the second pass writes, table by table."""

    def has(self, table_name: str) -> bool: ...

    def header(self, table_name: str) -> list[str]: ...

    def chunks(self, table_name: str) -> Iterator[tuple[Chunk, float | None]]: ...


@dataclass
class _TableRows:
    header: list[str]
    file: IO[bytes]
    chunks: int = 0


@dataclass
class CheckedRows:
    """The accepted rows of each table file, by table, in chunks.

    Use it as a context manager. Leaving the with block deletes the temporary
    files.
    """

    _tables: dict[str, _TableRows] = field(default_factory=dict)

    def __enter__(self) -> "CheckedRows":
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()

    def add(
        self,
        table_name: str,
        header: list[str],
        chunk: Chunk,
        fraction_read: float | None,
    ) -> None:
        """Keep the valid rows of a chunk, and how far the file was read then."""
        if table_name not in self._tables:
            # A TemporaryFile is deleted when close() closes it.
            file = tempfile.TemporaryFile()  # noqa: SIM115
            self._tables[table_name] = _TableRows(header, file)
        rows = self._tables[table_name]
        record = (chunk.lines, chunk.values, fraction_read)
        pickle.dump(record, rows.file, protocol=pickle.HIGHEST_PROTOCOL)
        rows.chunks += 1

    def has(self, table_name: str) -> bool:
        """Return whether the rows of a table were kept."""
        return table_name in self._tables

    def header(self, table_name: str) -> list[str]:
        """Return the columns of a table's file, in file order."""
        return self._tables[table_name].header

    def chunks(self, table_name: str) -> Iterator[tuple[Chunk, float | None]]:
        """Yield the kept chunks of a table, each with the share of its file
        read when it was checked."""
        rows = self._tables[table_name]
        rows.file.seek(0)
        for _ in range(rows.chunks):
            lines: np.ndarray
            values: dict[str, ColumnValues]
            lines, values, fraction_read = pickle.load(rows.file)
            yield Chunk(lines, None, values, []), fraction_read

    def close(self) -> None:
        """Delete the temporary files."""
        for rows in self._tables.values():
            rows.file.close()
        self._tables.clear()
