"""The primary keys read so far from a file, used to find a key that repeats.

A file of 11 million visits has 11 million keys, and a Python dict of them
would take over a gigabyte. The index keeps 12 bytes per key instead: the
key's 64-bit hash and the line it was first on, in sorted numpy runs.
"""

import numpy as np

# A bitmap of 2**28 bits (32 MiB) marks the hashes seen, so that most new
# keys skip the search of the runs: at 11 million keys about 4 % are marked
# by another key and are searched.
BITMAP_BITS = 28
RUNS_PER_MERGE = 8
# Sorted runs are merged up to this many keys, which bounds the memory a
# merge needs for its copies (about 30 bytes a key). Thanks to the bitmap, a
# lookup searches the runs for few keys, so many runs cost little.
MAX_RUN_KEYS = 1_000_000


class KeyIndex:
    """The keys seen so far in one file, each with the line it was first on.

    NOTE: two different keys with the same 64-bit hash would be reported as
    a repeat. For a file of 11 million distinct keys the chance of that is
    about 3 in a million.
    """

    def __init__(self) -> None:
        # Each run is a pair of aligned arrays: the sorted hashes and the
        # first line of each.
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []
        self._bitmap: np.ndarray | None = None

    def add(self, keys: list[str], lines: np.ndarray) -> np.ndarray:
        """Add the keys of rows in file order and return each key's earlier line.

        The result is 0 for a key not seen before, else the line of its first
        row, which may be in the same call. Only first rows are stored.
        """
        count = len(keys)
        if not count:
            return np.zeros(0, dtype=np.int64)
        lines = np.asarray(lines, dtype=np.int64)
        hashes = np.fromiter(map(hash, keys), dtype=np.int64, count=count)
        hashes = hashes.view(np.uint64)

        # Sorting by hash groups equal keys and lets the lookups read each
        # run in order. The first row of a group is its smallest position.
        order = np.argsort(hashes)
        sorted_hashes = hashes[order]
        sorted_first_lines = np.zeros(count, dtype=np.int64)
        maybe_seen = np.flatnonzero(self._marked(sorted_hashes))
        if maybe_seen.size:
            candidates = sorted_hashes[maybe_seen]
            candidate_lines = np.zeros(maybe_seen.size, dtype=np.int64)
            for run in self._runs:
                _look_up(run, candidates, candidate_lines)
            sorted_first_lines[maybe_seen] = candidate_lines

        group_starts = np.flatnonzero(
            np.concatenate([[True], sorted_hashes[1:] != sorted_hashes[:-1]])
        )
        group_sizes = np.diff(np.append(group_starts, count))
        first_positions = np.repeat(
            np.minimum.reduceat(order, group_starts), group_sizes
        )
        repeats = order != first_positions
        seen_before = sorted_first_lines > 0
        sorted_first_lines = np.where(
            repeats & ~seen_before, lines[first_positions], sorted_first_lines
        )
        first_lines = np.empty(count, dtype=np.int64)
        first_lines[order] = sorted_first_lines

        new = ~repeats & ~seen_before
        if new.any():
            # NOTE: a line number above 4,294,967,295 would wrap in the uint32
            # store, so a file of over 4 billion lines reports wrong lines.
            new_lines = lines[order[new]].astype(np.uint32)
            self._runs.append((sorted_hashes[new], new_lines))
            self._mark(sorted_hashes[new])
            self._merge_runs()
        return first_lines

    def _bits(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        slots = hashes >> np.uint64(64 - BITMAP_BITS)
        return slots >> np.uint64(3), (slots & np.uint64(7)).astype(np.uint8)

    def _marked(self, hashes: np.ndarray) -> np.ndarray:
        if self._bitmap is None:
            return np.zeros(hashes.size, dtype=bool)
        positions, bits = self._bits(hashes)
        return ((self._bitmap[positions] >> bits) & 1).astype(bool)

    def _mark(self, hashes: np.ndarray) -> None:
        if self._bitmap is None:
            self._bitmap = np.zeros(2 ** (BITMAP_BITS - 3), dtype=np.uint8)
        # The hashes are sorted, so equal byte positions are adjacent. Their
        # bits are combined first because a fancy-indexed |= keeps only one.
        positions, bits = self._bits(hashes)
        masks = np.left_shift(np.uint8(1), bits)
        starts = np.flatnonzero(np.diff(positions, prepend=np.uint64(2**63)) != 0)
        self._bitmap[positions[starts]] |= np.bitwise_or.reduceat(masks, starts)

    def _merge_runs(self) -> None:
        # Runs of about the same size merge in groups of RUNS_PER_MERGE, so
        # each key is copied a few times and a lookup reads few runs.
        while len(self._runs) >= RUNS_PER_MERGE:
            group = self._runs[-RUNS_PER_MERGE:]
            sizes = [hashes.size for hashes, _ in group]
            if max(sizes) > 2 * min(sizes) or sum(sizes) > MAX_RUN_KEYS:
                return
            hashes = np.concatenate([hashes for hashes, _ in group])
            order = np.argsort(hashes)
            lines = np.concatenate([lines for _, lines in group])[order]
            self._runs[-RUNS_PER_MERGE:] = [(hashes[order], lines)]


def _look_up(
    run: tuple[np.ndarray, np.ndarray],
    sorted_hashes: np.ndarray,
    first_lines: np.ndarray,
) -> None:
    """Set first_lines where a sorted hash is in the run.

    A run contains each hash once.
    """
    run_hashes, run_lines = run
    starts = np.searchsorted(run_hashes, sorted_hashes)
    found = run_hashes[np.minimum(starts, run_hashes.size - 1)] == sorted_hashes
    first_lines[found] = run_lines[starts[found]]
