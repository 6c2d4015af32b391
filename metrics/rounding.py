"""Rounding of the figures that Python writes as text, the way the browser
rounds the figures it formats.

The dashboard's tables and the charts' hover text round in the browser, a half
away from zero: a chart's whole percentage shows a strike rate of 0.125 as 13 %,
and a table's whole amount shows ₹1,234.50 as ₹1,235. Streamlit's printf-style
column formats (sprintf-js) and Plotly's d3-format call JavaScript's toFixed(),
and Streamlit's "localized" and "percent" formats call Intl.NumberFormat, whose
default rounding is also a half away from zero. Python's round() and format()
round a half to even, 12 % and ₹1,234, so a tile beside a table or chart could
show another figure for the same number. Every figure written in Python goes
through half_up first. Settings such as the exception thresholds are rules, not
figures, and threshold_text writes them with their decimals.
"""

import math
from decimal import ROUND_HALF_UP, Context, Decimal

import numpy as np
import pandas as pd

# Enough digits for the largest double (309 before the point) and the places.
_EXACT = Context(prec=400)


def half_up(value: float, places: int = 0) -> float:
    """Round value to places decimals, a half away from zero: 2.5 gives 3.0,
    -0.5 gives -1.0, and 0.125 at two places gives 0.13.

    The exact binary value decides, as JavaScript's toFixed() does: 1.005 is
    stored as 1.00499999999999989..., so it rounds to 1.0 at two places. NaN
    and infinities are returned as they are, and a result of zero is never
    -0.0, which would print as "-0".
    """
    # float() also takes numpy's numbers, which Decimal() rejects.
    value = float(value)
    if not math.isfinite(value):
        return value
    step = Decimal(1).scaleb(-places)
    exact = Decimal(value).quantize(step, rounding=ROUND_HALF_UP, context=_EXACT)
    return float(exact) + 0.0


# Scaled values this close to a half, relative to their size, go to half_up:
# the product with 10**places is off by half a unit in the last place
# (1.1e-16 relative), which could decide which way they round.
_NEAR_HALF = 1e-9
# From 2**52 on a double has no fraction, so no value there is near a half,
# but the product with 10**places can overflow to infinity.
_WHOLE_FROM = 2.0**52


def half_up_values(values: pd.Series, places: int = 0) -> pd.Series:
    """Return half_up of each value of a column, missing values left missing.

    numpy rounds the column at once, and half_up rounds only the values near
    a half, exactly. Mapping half_up over the national Rep performance table's
    2,000 rows took a third of the page's cached rerun, 25 to 30 ms.
    """
    numbers = pd.to_numeric(values).astype(float)
    array = numbers.to_numpy(dtype=float)
    scale = 10.0**places
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.abs(array) * scale
        whole = np.floor(scaled)
        fraction = scaled - whole
        rounded = np.copysign(whole + (fraction >= 0.5), array) / scale + 0.0
        exact = np.isfinite(array) & (
            (np.abs(fraction - 0.5) <= _NEAR_HALF * np.maximum(scaled, 1.0))
            | (scaled >= _WHOLE_FROM)
        )
    rounded[~np.isfinite(array)] = array[~np.isfinite(array)]
    for position in np.flatnonzero(exact):
        rounded[position] = half_up(array[position], places)
    return pd.Series(rounded, index=numbers.index, name=numbers.name)


def percent_text(fraction: float) -> str:
    """Write a fraction as a whole percentage, 0.125 as "13%", as d3-format's
    ".0%" writes it."""
    return f"{half_up(fraction * 100):.0f}%"


def threshold_text(value: float) -> str:
    """Write a setting's value with the decimals it has, up to 6, and
    thousands separators: 12.5, 300, 1,234.5.

    A threshold is a rule, not a figure, so it is not rounded: 0.125 written
    as 13 % would hide that a share of 12.6 % is flagged.
    """
    text = f"{round(float(value), 6):,.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def plural(count: int, noun: str) -> str:
    """Return the noun for a count of it: "outlet" for 1, "outlets" else."""
    return noun if count == 1 else f"{noun}s"
