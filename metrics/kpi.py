"""One function per KPI ratio, over whole columns of counts.

A ratio is a fraction (0.6, not 60 %) and NaN where its denominator is zero,
so an undefined figure shows blank instead of a misleading 0 %.
"""

import numpy as np
import pandas as pd


def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is 0 or missing."""
    numerator = pd.to_numeric(numerator).astype(float)
    denominator = pd.to_numeric(denominator).astype(float)
    return numerator / denominator.where(denominator != 0, np.nan)


def strike_rate(productive_visits: pd.Series, visits: pd.Series) -> pd.Series:
    """Share of visits that produced an order: productive visits / visits.

    A productive visit has at least one linked order of value > 0. Undefined
    for a rep without visits.
    """
    return ratio(productive_visits, visits)


def beat_compliance(calls_on_plan: pd.Series, planned_calls: pd.Series) -> pd.Series:
    """Share of planned calls made as planned: calls on plan / planned calls.

    A call is on plan when the rep visited that outlet on that planned date.
    Undefined when nothing was planned.
    """
    return ratio(calls_on_plan, planned_calls)


def coverage(visited_outlets: pd.Series, active_outlets: pd.Series) -> pd.Series:
    """Share of a territory's active outlets visited by anyone in the period."""
    return ratio(visited_outlets, active_outlets)


def average_order_value(order_value: pd.Series, orders: pd.Series) -> pd.Series:
    """Order value / orders, both counting only orders of value > 0."""
    return ratio(order_value, orders)


def lines_per_call(order_lines: pd.Series, productive_visits: pd.Series) -> pd.Series:
    """Lines of positive orders linked to the period's visits / productive visits."""
    return ratio(order_lines, productive_visits)
