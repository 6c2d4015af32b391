"""Rounding of figures written in Python, against the browser's rounding."""

import json
import math
import random
import subprocess

import numpy as np
import pandas as pd
import pytest
from playwright._impl._driver import compute_driver_executable

from metrics.rounding import (
    half_up,
    half_up_values,
    percent_text,
    plural,
    threshold_text,
)


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (2.5, 0, 3.0),
        (3.5, 0, 4.0),
        (-0.5, 0, -1.0),
        (-2.5, 0, -3.0),
        (0.49999999999999994, 0, 0.0),
        (1234.5, 0, 1235.0),
        (0.125, 2, 0.13),
        # Stored as 1.00499999999999989..., below the half.
        (1.005, 2, 1.0),
        (2.45, 1, 2.5),
        (1e300, 0, 1e300),
    ],
)
def test_half_up(value, places, expected):
    assert half_up(value, places) == expected


def test_half_up_takes_numpy_numbers():
    assert half_up(np.int64(7)) == 7.0
    assert half_up(np.float32(2.5)) == 3.0


def test_half_up_never_returns_minus_zero():
    assert math.copysign(1.0, half_up(-0.4)) == 1.0


def test_half_up_keeps_nan_and_infinity():
    assert math.isnan(half_up(math.nan))
    assert half_up(-math.inf) == -math.inf


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.125, "13%"), (0.375, "38%"), (0.0, "0%"), (-0.004, "0%"), (1.0, "100%")],
)
def test_percent_text(fraction, expected):
    assert percent_text(fraction) == expected


def test_half_up_values_keeps_missing_values():
    rounded = half_up_values(pd.Series([0.5, None, -2.5, 12.4]))

    assert rounded.iloc[[0, 2, 3]].tolist() == [1.0, -3.0, 12.0]
    assert pd.isna(rounded.iloc[1])


@pytest.mark.parametrize("places", [0, 1, 2])
def test_half_up_values_rounds_as_half_up(places):
    generator = random.Random(11)
    step = 10.0**-places
    halves = [(generator.randint(-(10**7), 10**7) + 0.5) * step for _ in range(2_000)]
    values = [
        *halves,
        *(math.nextafter(value, math.inf) for value in halves),
        *(math.nextafter(value, -math.inf) for value in halves),
        *(generator.uniform(-1e6, 1e6) for _ in range(2_000)),
        # 1.005 is stored below the half; the others are edges of the range.
        1.005,
        0.49999999999999994,
        -0.4,
        2.0**52 + 0.5,
        1e300,
        -math.inf,
    ]

    rounded = half_up_values(pd.Series(values), places).tolist()

    expected = [half_up(value, places) for value in values]
    assert [math.copysign(1.0, value) for value in rounded] == [
        math.copysign(1.0, value) for value in expected
    ]
    assert rounded == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12.5, "12.5"),
        (0.145 * 100, "14.5"),
        (300.0, "300"),
        (1234.5, "1,234.5"),
        (2_000_000.0, "2,000,000"),
        (0.0, "0"),
        (-0.0000001, "0"),
    ],
)
def test_threshold_text_keeps_decimals(value, expected):
    assert threshold_text(value) == expected


def _browser_texts(values: list[float], places: int) -> list[str]:
    """Write each value with JavaScript's toFixed, which Plotly's d3-format
    and Streamlit's printf-style column formats call, in the Node.js that
    Playwright ships."""
    node, _ = compute_driver_executable()
    script = (
        "const v = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        f"console.log(JSON.stringify(v.map(x => x.toFixed({places}))));"
    )
    result = subprocess.run(
        [node, "-e", script],
        input=json.dumps(values),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize("places", [0, 1])
def test_half_up_writes_what_the_browser_writes(places):
    generator = random.Random(7)
    step = 10.0**-places
    # Halves, the doubles next to them, and money-like amounts with cents.
    halves = [(generator.randint(-20_000, 20_000) + 0.5) * step for _ in range(500)]
    near = [math.nextafter(value, math.inf) for value in halves]
    near += [math.nextafter(value, -math.inf) for value in halves]
    cents = [generator.randint(-2_000_000, 2_000_000) / 100 for _ in range(500)]
    ratios = [
        generator.randint(0, 400) / generator.randint(1, 400) * 100 for _ in range(500)
    ]
    values = halves + near + cents + ratios

    ours = [f"{half_up(value, places):.{places}f}" for value in values]

    assert ours == _browser_texts(values, places)


@pytest.mark.parametrize(
    ("count", "expected"), [(0, "outlets"), (1, "outlet"), (2, "outlets")]
)
def test_plural_outlet(count, expected):
    assert plural(count, "outlet") == expected
