"""A one-week company with every KPI case, and the figures computed by hand.

Week of Monday 2026-03-02 to Sunday 2026-03-08, business time zone UTC,
neglect window 28 days (2026-02-09 to 2026-03-08).
"""

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
            "active": False,
        },
        {
            "rep_id": "r4",
            "name": "Dora",
            "territory_id": "T2",
            "manager_id": "m2@example.com",
            "active": False,
        },
    ],
    "outlets": [
        {
            "outlet_id": f"o{number}",
            "name": f"Shop {number}",
            "territory_id": "T1",
            "latitude": 19.0,
            "longitude": 72.8 + number / 100,
            "outlet_class": "B",
        }
        for number in (1, 2, 3, 5, 9, 10, 11, 12)
    ]
    + [
        {
            "outlet_id": "o4",
            "name": "Shop 4",
            "territory_id": "T1",
            "latitude": 19.0,
            "longitude": 72.8,
            "outlet_class": "A",
        },
        {
            "outlet_id": "o6",
            "name": "Closed shop",
            "territory_id": "T1",
            "active": False,
        },
        {"outlet_id": "o7", "name": "Shop 7", "territory_id": "T2"},
        {"outlet_id": "o8", "name": "Shop 8", "territory_id": "T2"},
    ],
    "beats": [
        # Weekly Mondays: runs 2026-03-02.
        {
            "beat_id": "b1",
            "rep_id": "r1",
            "name": "Mon",
            "weekday": 1,
            "every_n_weeks": 1,
            "start_date": "2026-01-05",
        },
        # Fortnightly Mondays from 2026-02-23: runs 02-23 and 03-09, not this week.
        {
            "beat_id": "b2",
            "rep_id": "r1",
            "name": "Mon B",
            "weekday": 1,
            "every_n_weeks": 2,
            "start_date": "2026-02-23",
        },
        # Fortnightly Wednesdays from 2026-02-18: runs 03-04.
        {
            "beat_id": "b3",
            "rep_id": "r1",
            "name": "Wed",
            "weekday": 3,
            "every_n_weeks": 2,
            "start_date": "2026-02-18",
        },
        # A second Monday beat with o1 again and an inactive outlet.
        {
            "beat_id": "b4",
            "rep_id": "r1",
            "name": "Mon C",
            "weekday": 1,
            "every_n_weeks": 1,
            "start_date": "2026-01-05",
        },
        # Tuesdays from Sunday 2026-03-01: first run Tuesday 03-03.
        {
            "beat_id": "b5",
            "rep_id": "r2",
            "name": "Tue",
            "weekday": 2,
            "every_n_weeks": 1,
            "start_date": "2026-03-01",
        },
        # Ended before the week: its outlet is unplanned.
        {
            "beat_id": "b6",
            "rep_id": "r3",
            "name": "Old",
            "weekday": 5,
            "every_n_weeks": 1,
            "start_date": "2025-01-03",
            "end_date": "2026-02-27",
        },
    ],
    "beat_outlets": [
        {"beat_id": "b1", "outlet_id": "o1"},
        {"beat_id": "b1", "outlet_id": "o2"},
        {"beat_id": "b1", "outlet_id": "o9"},
        {"beat_id": "b2", "outlet_id": "o3"},
        {"beat_id": "b2", "outlet_id": "o11"},
        {"beat_id": "b2", "outlet_id": "o12"},
        {"beat_id": "b3", "outlet_id": "o1"},
        {"beat_id": "b3", "outlet_id": "o4"},
        {"beat_id": "b4", "outlet_id": "o1"},
        {"beat_id": "b4", "outlet_id": "o6"},
        {"beat_id": "b5", "outlet_id": "o5"},
        {"beat_id": "b6", "outlet_id": "o8"},
    ],
    "visits": [
        {
            "visit_id": "v1",
            "rep_id": "r1",
            "outlet_id": "o1",
            "check_in": "2026-03-02 09:00:00",
            "check_out": "2026-03-02 09:20:00",
            "latitude": 0.0,
            "longitude": 0.0,
        },
        # Offline-sync resend of v1, 60 s later.
        {
            "visit_id": "v2",
            "rep_id": "r1",
            "outlet_id": "o1",
            "check_in": "2026-03-02 09:01:00",
        },
        {
            "visit_id": "v3",
            "rep_id": "r1",
            "outlet_id": "o2",
            "check_in": "2026-03-03 10:00:00",
        },
        # About 1,112 m north of o4: off-site.
        {
            "visit_id": "v4",
            "rep_id": "r1",
            "outlet_id": "o4",
            "check_in": "2026-03-04 10:00:00",
            "latitude": 19.01,
            "longitude": 72.8,
        },
        {
            "visit_id": "v5",
            "rep_id": "r1",
            "outlet_id": "o3",
            "check_in": "2026-03-05 10:00:00",
            "latitude": 19.0,
            "longitude": 72.83,
        },
        {
            "visit_id": "v6",
            "rep_id": "r2",
            "outlet_id": "o1",
            "check_in": "2026-03-03 11:00:00",
        },
        {
            "visit_id": "v7",
            "rep_id": "r4",
            "outlet_id": "o7",
            "check_in": "2026-03-06 12:00:00",
        },
        {
            "visit_id": "v8",
            "rep_id": "r1",
            "outlet_id": "o1",
            "check_in": "2026-02-20 09:00:00",
        },
        {
            "visit_id": "v9",
            "rep_id": "r1",
            "outlet_id": "o11",
            "check_in": "2026-02-01 09:00:00",
        },
        {
            "visit_id": "v10",
            "rep_id": "r1",
            "outlet_id": "o12",
            "check_in": "2026-02-20 10:00:00",
        },
        # A visit to an inactive outlet still counts as a (off-beat) visit.
        {
            "visit_id": "v11",
            "rep_id": "r2",
            "outlet_id": "o6",
            "check_in": "2026-03-07 10:00:00",
        },
    ],
    "orders": [
        # Linked through the duplicate's id: counts for the kept visit v1.
        {
            "order_id": "a",
            "outlet_id": "o1",
            "rep_id": "r1",
            "visit_id": "v2",
            "ordered_at": "2026-03-02 09:10:00",
            "value": 100.0,
            "line_count": 3,
        },
        # No visit_id: linked to r1's visit to o4 on 03-04.
        {
            "order_id": "b",
            "outlet_id": "o4",
            "rep_id": "r1",
            "ordered_at": "2026-03-04 15:00:00",
            "value": 50.0,
            "line_count": 2,
        },
        {
            "order_id": "c",
            "outlet_id": "o3",
            "rep_id": "r1",
            "visit_id": "v5",
            "ordered_at": "2026-03-05 10:05:00",
            "value": 0.0,
            "line_count": 1,
        },
        {
            "order_id": "d",
            "outlet_id": "o1",
            "rep_id": "r1",
            "ordered_at": "2026-03-06 10:00:00",
            "value": -20.0,
            "line_count": 1,
        },
        # No rep_id: counts for the rep of visit v3.
        {
            "order_id": "e",
            "outlet_id": "o2",
            "visit_id": "v3",
            "ordered_at": "2026-03-03 10:10:00",
            "value": 30.0,
            "line_count": 1,
        },
        # Neither rep nor visit: only the outlet's figures see it.
        {
            "order_id": "f",
            "outlet_id": "o1",
            "ordered_at": "2026-03-03 12:00:00",
            "value": 999.0,
            "line_count": 9,
        },
        # Dated after the week, linked to v1: its lines count, its value does not.
        {
            "order_id": "g",
            "outlet_id": "o1",
            "rep_id": "r1",
            "visit_id": "v1",
            "ordered_at": "2026-03-10 08:00:00",
            "value": 40.0,
            "line_count": 4,
        },
    ],
    "users": [
        {"user_id": "admin@example.com", "name": "Admin", "role": "admin"},
        {
            "user_id": "head@example.com",
            "name": "Head",
            "role": "regional_head",
            "scope_id": "R1",
        },
        {"user_id": "m1@example.com", "name": "Manager", "role": "line_manager"},
    ],
}
