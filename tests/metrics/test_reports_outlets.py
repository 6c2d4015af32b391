"""The outlets report built from per-outlet facts, on literal cases."""

from datetime import date

import pandas as pd

from data_access.filters import Period, Settings
from metrics import reports
from metrics.status import days_since_visit, is_neglected, last_visit_timestamps

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
CLASS_WINDOWS = Settings(neglect_days_by_class=(("A", 14), ("C", 56)))


def outlet_activity() -> pd.DataFrame:
    """Five outlets, one per status, and a class-A outlet outside its 14 days."""
    return pd.DataFrame(
        {
            "outlet_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
            "outlet_name": ["One", "Two", "Three", "Four", "Five", "Six"],
            "territory_id": ["T1"] * 6,
            "channel": ["grocery"] * 6,
            "outlet_class": ["B", "B", "B", "B", "B", "A"],
            "visits": [2, 0, 0, 0, 0, 0],
            "planned": [True, True, False, False, False, False],
            "on_beat": [True, True, False, True, True, True],
            "last_visit_date": [
                date(2026, 3, 6),
                date(2026, 2, 20),
                None,
                date(2026, 2, 8),
                date(2026, 2, 9),
                date(2026, 2, 22),
            ],
            "order_value": [150.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        }
    )


def test_outlets_report_status_per_outlet():
    result = reports.build_outlets_report(outlet_activity(), WEEK, CLASS_WINDOWS)

    expected = ["visited", "skipped", "unplanned", "neglected", "not_due", "neglected"]
    assert list(result["status"]) == expected
    assert result["status"].dtype == pd.Series(["visited"]).dtype


def test_outlets_report_days_since_visit():
    result = reports.build_outlets_report(outlet_activity(), WEEK, CLASS_WINDOWS)

    expected = [2, 16, pd.NA, 28, 27, 14]
    assert list(result["days_since_visit"]) == expected
    assert result["days_since_visit"].dtype == "Int64"


def test_outlets_report_overdue_whatever_status():
    result = reports.build_outlets_report(outlet_activity(), WEEK, CLASS_WINDOWS)

    # o3 is unplanned rather than neglected, but it was never visited.
    expected = [False, False, True, True, False, True]
    assert list(result["overdue"]) == expected


def test_outlets_report_columns_in_order():
    result = reports.build_outlets_report(outlet_activity(), WEEK, Settings())

    extra = ["channel", "outlet_class", "planned", "on_beat", "overdue"]
    expected = reports.OUTLET_COLUMNS + extra
    assert list(result.columns) == expected


def test_outlets_report_leaves_activity_unchanged():
    activity = outlet_activity()

    reports.build_outlets_report(activity, WEEK, CLASS_WINDOWS)

    pd.testing.assert_frame_equal(activity, outlet_activity())


def test_neglect_same_for_dates_and_timestamps():
    activity = outlet_activity()
    timestamps = last_visit_timestamps(activity["last_visit_date"])

    result = is_neglected(timestamps, activity["outlet_class"], WEEK, CLASS_WINDOWS)

    expected = is_neglected(
        activity["last_visit_date"], activity["outlet_class"], WEEK, CLASS_WINDOWS
    )
    assert list(result) == list(expected)


def test_days_since_visit_same_for_dates_and_timestamps():
    dates = pd.Series([date(2026, 3, 1), None, date(2026, 3, 8)])

    result = list(days_since_visit(last_visit_timestamps(dates), WEEK))

    assert result == [7, pd.NA, 0]
