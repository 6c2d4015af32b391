"""One rep's week at three kiosks, the company of the tests of order values
and line counts that another program wrote into the orders table.

Rep R1 of territory T1 (region N) makes visits V1 to V4 in the week of
Monday 2026-03-02, business time zone UTC. Each test gives its own orders.
"""

from datetime import date

import sqlalchemy as sa

from data_access import summaries, summary_queries
from data_access.filters import Period, Settings

SETTINGS = Settings()
WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
VISITS = [
    ("V1", "O1", "2026-03-03 05:00:00"),
    ("V2", "O2", "2026-03-03 06:00:00"),
    ("V3", "O3", "2026-03-04 05:00:00"),
    ("V4", "O3", "2026-03-05 05:00:00"),
]


def kiosk_rows(orders: list[tuple]) -> dict[str, list[dict]]:
    """Return the company's rows with these orders, each given as (order_id,
    outlet_id, visit_id, ordered_at, value, line_count) of rep R1."""
    columns = ("order_id", "outlet_id", "visit_id", "ordered_at", "value", "line_count")
    return {
        "regions": [{"region_id": "N", "name": "North"}],
        "territories": [{"territory_id": "T1", "name": "North", "region_id": "N"}],
        "reps": [{"rep_id": "R1", "name": "Asha", "territory_id": "T1"}],
        "outlets": [
            {"outlet_id": f"O{number}", "name": f"Kiosk {number}", "territory_id": "T1"}
            for number in (1, 2, 3)
        ],
        "visits": [
            {"visit_id": visit_id, "rep_id": "R1", "outlet_id": outlet_id,
             "check_in": check_in}
            for visit_id, outlet_id, check_in in VISITS
        ],
        "orders": [{**dict(zip(columns, order)), "rep_id": "R1"} for order in orders],
    }  # fmt: skip


def summarise_week(engine: sa.Engine) -> None:
    """Build the summaries of WEEK and check that reports will read them."""
    summaries.build_summaries(engine, WEEK.start, WEEK.end, SETTINGS)
    assert summary_queries.summary_status(engine, WEEK, SETTINGS).usable
