"""A small company for the weekly review, with the figures computed by hand.

Week under review: Monday 2026-03-02 to Sunday 2026-03-08, time zone UTC.
Order history: the 8 weeks before it, 2026-01-05 to 2026-03-01.

r1 (territory T1) has a weekly Monday beat (o1, o2, o3, o6) and a
fortnightly Wednesday beat (o4, runs 02-18 and 03-04). In the week r1:

- Monday: visits o1 (09:00-09:30, an offline resend at 09:01, an order of
  250 linked through the resend's id); skips o2, o3 and o6 that day.
- Wednesday: visits o3 (10:00, no check-out), so o3 was visited another
  day; visits o4 on plan (11:00-11:30), checked in about 1,112 m north of
  it and sold nothing: an off-site visit without an order.
- Thursday: visits o5 of T2 off the beat (08:00-08:40, an order of 80 with
  no visit_id linked by date) and o1 off the beat (11:00, check-out 10:00
  before check-in, so the visit ends at 11:00).

Skipped outlets of r1: o2 and o6. Time in market of r1: Monday 1,800 s,
Wednesday 5,400 s, Thursday 10,800 s, 18,000 s over 3 days, 100 minutes a
day. r2 (T1) has a weekly Tuesday beat with o3 and visits it on 03-03
(10:00-10:15): 900 s over 1 day.

History: o2 had productive visits on 02-02 (order 100) and 02-09 (300) and
an unproductive one on 02-16 ("shop closed"), so one call of o2 is worth
400 / 2 = 200 and r1 missed it on the 2 Mondays since (02-23, 03-02). o3
sold 500 on 02-10 (by r2), o4 sold 150 on 02-18. T1's average is
(400 + 500 + 150) / 4 = 262.5, which prices o6, never visited, on its
9 Mondays since the beat started on 01-05. Revenue at risk of r1:
200 + 262.5 = 462.5; the off-site visit to o4 risks 150.
"""

WEEK = ("2026-03-02", "2026-03-08")


def _outlet(
    outlet_id: str, territory_id: str, longitude: float, outlet_class: str
) -> dict:
    return {
        "outlet_id": outlet_id,
        "name": f"Shop {outlet_id[1:]}",
        "territory_id": territory_id,
        "latitude": 19.0,
        "longitude": longitude,
        "outlet_class": outlet_class,
    }


def _visit(
    visit_id, rep_id, outlet_id, check_in, check_out=None, longitude=None, **extra
):
    row = {
        "visit_id": visit_id,
        "rep_id": rep_id,
        "outlet_id": outlet_id,
        "check_in": check_in,
        "check_out": check_out,
    }
    if longitude is not None:
        row.update(latitude=19.0, longitude=longitude)
    row.update(extra)
    return row


ROWS = {
    "regions": [{"region_id": "R1", "name": "West"}],
    "territories": [
        {"territory_id": "T1", "name": "Mumbai", "region_id": "R1"},
        {"territory_id": "T2", "name": "Pune", "region_id": "R1"},
    ],
    "reps": [
        {
            "rep_id": "r1",
            "name": "Asha",
            "territory_id": "T1",
            "manager_id": "m1@example.com",
        },
        {
            "rep_id": "r2",
            "name": "Bilal",
            "territory_id": "T1",
            "manager_id": "m1@example.com",
        },
        {
            "rep_id": "r3",
            "name": "Chen",
            "territory_id": "T2",
            "manager_id": "m2@example.com",
        },
    ],
    "outlets": [
        _outlet("o1", "T1", 72.80, "A"),
        _outlet("o2", "T1", 72.81, "B"),
        _outlet("o3", "T1", 72.82, "B"),
        _outlet("o4", "T1", 72.83, "C"),
        _outlet("o5", "T2", 73.80, "C"),
        _outlet("o6", "T1", 72.84, "C"),
    ],
    "beats": [
        {
            "beat_id": "b1",
            "rep_id": "r1",
            "name": "Mon",
            "weekday": 1,
            "every_n_weeks": 1,
            "start_date": "2026-01-05",
        },
        {
            "beat_id": "b2",
            "rep_id": "r1",
            "name": "Wed",
            "weekday": 3,
            "every_n_weeks": 2,
            "start_date": "2026-02-18",
        },
        {
            "beat_id": "b3",
            "rep_id": "r2",
            "name": "Tue",
            "weekday": 2,
            "every_n_weeks": 1,
            "start_date": "2026-01-06",
        },
    ],
    "beat_outlets": [
        {"beat_id": "b1", "outlet_id": "o1"},
        {"beat_id": "b1", "outlet_id": "o2"},
        {"beat_id": "b1", "outlet_id": "o3"},
        {"beat_id": "b1", "outlet_id": "o6"},
        {"beat_id": "b2", "outlet_id": "o4"},
        {"beat_id": "b3", "outlet_id": "o3"},
    ],
    "visits": [
        # History.
        _visit("h1", "r1", "o2", "2026-02-02 09:00:00", "2026-02-02 09:15:00", 72.81),
        _visit("h2", "r1", "o2", "2026-02-09 09:00:00", "2026-02-09 09:15:00", 72.81),
        _visit(
            "h3",
            "r1",
            "o2",
            "2026-02-16 09:00:00",
            "2026-02-16 09:05:00",
            72.81,
            no_order_reason="shop closed",
        ),
        _visit("h4", "r2", "o3", "2026-02-10 10:00:00", "2026-02-10 10:20:00", 72.82),
        _visit("h5", "r1", "o4", "2026-02-18 11:00:00", "2026-02-18 11:20:00", 72.83),
        # The week.
        _visit("v1", "r1", "o1", "2026-03-02 09:00:00", "2026-03-02 09:30:00", 72.80),
        _visit("v1b", "r1", "o1", "2026-03-02 09:01:00"),
        _visit("v2", "r2", "o3", "2026-03-03 10:00:00", "2026-03-03 10:15:00", 72.82),
        _visit("v3", "r1", "o3", "2026-03-04 10:00:00", None, 72.82),
        _visit(
            "v4",
            "r1",
            "o4",
            "2026-03-04 11:00:00",
            "2026-03-04 11:30:00",
            72.83,
            latitude=19.01,
        ),
        _visit("v5", "r1", "o5", "2026-03-05 08:00:00", "2026-03-05 08:40:00", 73.80),
        _visit("v6", "r1", "o1", "2026-03-05 11:00:00", "2026-03-05 10:00:00", 72.80),
    ],
    "orders": [
        {
            "order_id": "a1",
            "outlet_id": "o2",
            "rep_id": "r1",
            "visit_id": "h1",
            "ordered_at": "2026-02-02 09:10:00",
            "value": 100.0,
            "line_count": 2,
        },
        {
            "order_id": "a2",
            "outlet_id": "o2",
            "rep_id": "r1",
            "visit_id": "h2",
            "ordered_at": "2026-02-09 09:10:00",
            "value": 300.0,
            "line_count": 3,
        },
        {
            "order_id": "a3",
            "outlet_id": "o3",
            "rep_id": "r2",
            "visit_id": "h4",
            "ordered_at": "2026-02-10 10:10:00",
            "value": 500.0,
            "line_count": 5,
        },
        {
            "order_id": "a4",
            "outlet_id": "o4",
            "rep_id": "r1",
            "visit_id": "h5",
            "ordered_at": "2026-02-18 11:10:00",
            "value": 150.0,
            "line_count": 1,
        },
        {
            "order_id": "b1",
            "outlet_id": "o1",
            "rep_id": "r1",
            "visit_id": "v1b",
            "ordered_at": "2026-03-02 09:20:00",
            "value": 250.0,
            "line_count": 4,
        },
        {
            "order_id": "b2",
            "outlet_id": "o5",
            "rep_id": "r1",
            "ordered_at": "2026-03-05 09:00:00",
            "value": 80.0,
            "line_count": 1,
        },
        {
            "order_id": "b3",
            "outlet_id": "o1",
            "rep_id": "r1",
            "ordered_at": "2026-03-05 12:00:00",
            "value": -30.0,
            "line_count": 1,
        },
    ],
    "users": [
        {"user_id": "admin@example.com", "name": "Admin", "role": "admin"},
        {"user_id": "m1@example.com", "name": "Manager", "role": "line_manager"},
    ],
}
