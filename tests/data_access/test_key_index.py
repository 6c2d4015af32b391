"""The key index finds a key's first line across and within calls."""

import numpy as np
import pytest

from data_access import key_index
from data_access.key_index import KeyIndex


def test_index_finds_repeats_within_call() -> None:
    index = KeyIndex()

    result = index.add(["V1", "V2", "V1", "V3", "V1"], np.array([2, 3, 4, 5, 6]))

    assert result.tolist() == [0, 0, 2, 0, 2]


def test_index_finds_repeats_across_calls() -> None:
    index = KeyIndex()
    index.add(["V1", "V2"], np.array([2, 3]))
    index.add([], np.array([], dtype=np.int64))

    result = index.add(["V3", "V2", "V3", "V1"], np.array([4, 5, 6, 7]))

    assert result.tolist() == [0, 3, 4, 2]


@pytest.mark.parametrize("bitmap_bits", [28, 4])
def test_index_matches_dict_over_merges(
    monkeypatch: pytest.MonkeyPatch, bitmap_bits: int
) -> None:
    # Tiny runs and a tiny bitmap make merges and marked bits happen often.
    monkeypatch.setattr(key_index, "RUNS_PER_MERGE", 2)
    monkeypatch.setattr(key_index, "MAX_RUN_KEYS", 12)
    monkeypatch.setattr(key_index, "BITMAP_BITS", bitmap_bits)
    index = KeyIndex()
    first_lines: dict[str, int] = {}
    numbers = np.random.default_rng(7).integers(0, 60, size=400)
    line = 2

    for start in range(0, 400, 7):
        keys = [f"K{number}" for number in numbers[start : start + 7]]
        lines = np.arange(line, line + len(keys))
        line += len(keys) + 1

        result = index.add(keys, lines)

        expected = []
        for key, key_line in zip(keys, lines.tolist(), strict=True):
            expected.append(first_lines.get(key, 0))
            first_lines.setdefault(key, key_line)
        assert result.tolist() == expected
