"""Headline figures of a period for the Overview tiles and trends.

Ratios are pooled from summed counts, like a territory's, so the headline
strike rate is all productive visits over all visits, not a mean of reps.
"""

import pandas as pd

from metrics import kpi

HEADLINE_FIELDS = (
    "visits",
    "productive_visits",
    "strike_rate",
    "planned_calls",
    "calls_on_plan",
    "beat_compliance",
    "skipped_outlets",
    "active_outlets",
    "visited_outlets",
    "coverage",
    "neglected_outlets",
    "overdue_outlets",
    "order_value",
    "orders",
)


def headline(
    reps_report: pd.DataFrame, territories_report: pd.DataFrame
) -> dict[str, float]:
    """Totals and pooled ratios of a period over the reps and territories in scope.

    skipped_outlets sums each rep's skipped outlets, so an outlet two reps
    skipped counts twice; neglected_outlets counts outlets once.
    """
    sums = reps_report[
        [
            "visits",
            "productive_visits",
            "planned_calls",
            "calls_on_plan",
            "skipped_outlets",
            "order_value",
            "orders",
        ]
    ].sum()
    outlet_sums = territories_report[
        ["active_outlets", "visited_outlets", "neglected_outlets", "overdue_outlets"]
    ].sum()
    totals = pd.concat([sums, outlet_sums])
    single = lambda name: pd.Series([totals[name]])  # noqa: E731 - one-row column for kpi
    figures = {name: float(totals[name]) for name in totals.index}
    figures["strike_rate"] = float(
        kpi.strike_rate(single("productive_visits"), single("visits")).iloc[0]
    )
    figures["beat_compliance"] = float(
        kpi.beat_compliance(single("calls_on_plan"), single("planned_calls")).iloc[0]
    )
    figures["coverage"] = float(
        kpi.coverage(single("visited_outlets"), single("active_outlets")).iloc[0]
    )
    return {name: figures[name] for name in HEADLINE_FIELDS}
