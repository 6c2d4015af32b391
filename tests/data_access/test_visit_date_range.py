"""The week picker's dates: the first and last visit, and the last one that
is not a resend, which opens the default week."""

from datetime import date, datetime

import pytest

from data_access.filters import Scope
from data_access.queries import visit_date_range
from tests.database import sqlite_database

TIMEZONE = "Asia/Kolkata"


def rows_with_visits(*visits: tuple[str, str, datetime]) -> dict:
    """One rep and two outlets, with visits (visit_id, outlet_id, check_in in UTC)."""
    return {
        "reps": [{"rep_id": "r1", "name": "Asha"}],
        "outlets": [
            {"outlet_id": "o1", "name": "Shop"},
            {"outlet_id": "o2", "name": "Kiosk"},
        ],
        "visits": [
            {
                "visit_id": visit_id,
                "rep_id": "r1",
                "outlet_id": outlet_id,
                "check_in": at,
            }
            for visit_id, outlet_id, at in visits
        ],
    }


# Sunday 22 Mar 2026 23:59:30 and Monday 23 Mar 00:00:30 in Asia/Kolkata.
SUNDAY_LATE = datetime(2026, 3, 22, 18, 29, 30)
MONDAY_EARLY = datetime(2026, 3, 22, 18, 30, 30)


@pytest.mark.parametrize(
    ("window_s", "last_kept_day"),
    [
        # The Monday check-in repeats Sunday's 60 s later: a resend.
        (120.0, date(2026, 3, 22)),
        # Without a window no check-in is a resend.
        (0.0, date(2026, 3, 23)),
    ],
)
def test_last_kept_day_leaves_out_resend(tmp_path, window_s, last_kept_day):
    engine = sqlite_database(
        tmp_path,
        rows_with_visits(
            ("v1", "o2", datetime(2026, 3, 16, 5, 0)),
            ("v2", "o1", SUNDAY_LATE),
            ("v3", "o1", MONDAY_EARLY),
        ),
    )
    try:
        result = visit_date_range(engine, Scope(), TIMEZONE, window_s)
    finally:
        engine.dispose()

    assert result == (date(2026, 3, 16), date(2026, 3, 23), last_kept_day)


def test_check_in_at_another_outlet_is_kept(tmp_path):
    engine = sqlite_database(
        tmp_path,
        rows_with_visits(("v1", "o1", SUNDAY_LATE), ("v2", "o2", MONDAY_EARLY)),
    )
    try:
        result = visit_date_range(engine, Scope(), TIMEZONE, 120.0)
    finally:
        engine.dispose()

    assert result == (date(2026, 3, 22), date(2026, 3, 23), date(2026, 3, 23))
