"""The freshness line's latest check-in leaves out check-ins in the future."""

from datetime import UTC, datetime, timedelta

from data_access.queries import latest_check_in
from tests.database import sqlite_database


def rows_with_check_ins(*check_ins: datetime) -> dict:
    return {
        "reps": [{"rep_id": "r1", "name": "Asha"}],
        "outlets": [{"outlet_id": "o1", "name": "Shop"}],
        "visits": [
            {
                "visit_id": f"v{number}",
                "rep_id": "r1",
                "outlet_id": "o1",
                "check_in": moment,
            }
            for number, moment in enumerate(check_ins)
        ],
    }


def test_future_check_in_is_left_out(tmp_path):
    today = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    past = today - timedelta(days=2)
    engine = sqlite_database(
        tmp_path, rows_with_check_ins(past, today + timedelta(days=1))
    )

    try:
        result = latest_check_in(engine)
    finally:
        engine.dispose()

    assert result == past


def test_no_visits_gives_none(tmp_path):
    engine = sqlite_database(tmp_path, rows_with_check_ins())

    try:
        result = latest_check_in(engine)
    finally:
        engine.dispose()

    assert result is None
