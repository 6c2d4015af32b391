"""Outlet status and the neglect window, on literal cases."""

from datetime import date

import pandas as pd
import pytest

from data_access.filters import Period, Settings
from metrics.status import days_since_visit, is_neglected, outlet_status

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))


@pytest.mark.parametrize(
    ("last_visit", "outlet_class", "expected"),
    [
        (date(2026, 2, 9), "B", False),  # first day of the 28-day window
        (date(2026, 2, 8), "B", True),  # the day before it
        (None, "B", True),  # never visited
        (date(2026, 2, 22), "A", True),  # outside class A's 14 days
        (date(2026, 2, 23), "A", False),
        (date(2026, 1, 12), "C", False),  # inside class C's 56 days
    ],
)
def test_neglect_window_per_class(last_visit, outlet_class, expected):
    settings = Settings(neglect_days_by_class=(("A", 14), ("C", 56)))

    result = is_neglected(
        pd.Series([last_visit]), pd.Series([outlet_class]), WEEK, settings
    )

    assert bool(result.iloc[0]) is expected


def test_status_first_match_wins():
    outlets = pd.DataFrame(
        {
            "visits": [1, 0, 0, 0, 0, 1],
            "planned": [True, True, False, False, False, False],
            "on_beat": [True, True, False, True, True, False],
            "last_visit_date": [
                date(2026, 3, 3),
                None,
                None,
                None,
                date(2026, 3, 1),
                date(2026, 3, 3),
            ],
            "outlet_class": ["B"] * 6,
        }
    )

    result = list(outlet_status(outlets, WEEK, Settings()))

    expected = ["visited", "skipped", "unplanned", "neglected", "not_due", "visited"]
    assert result == expected


def test_days_since_visit_blank_when_never_visited():
    result = list(days_since_visit(pd.Series([date(2026, 3, 1), None]), WEEK))

    assert result == [7, pd.NA]
