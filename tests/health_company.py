"""A week of dirty field data with one case of every data health rule.

Week of Monday 2026-03-02 to Sunday 2026-03-08, business time zone UTC; "now"
is Friday 2026-03-06 12:00 UTC. Outlets o1 (19.0, 72.8) and o2 (19.0, 72.9)
are 10.5 km apart in Mumbai; o8 is in Delhi.
Beat b1 runs; b2 to b6 never run. b5's rep r9 is not in reps, and two
beat_outlets rows name what does not exist: outlet o98 on b1, and beat b404.
"""

from tests.data_access.test_skip_details import beat

ROWS = {
    "regions": [{"region_id": "W", "name": "West"}],
    "territories": [{"territory_id": "T1", "name": "Mumbai", "region_id": "W"}],
    "reps": [
        {"rep_id": "r1", "name": "Asha", "territory_id": "T1", "manager_id": "m1"},
        # No manager.
        {"rep_id": "r2", "name": "Bilal", "territory_id": "T1"},
        # A territory that is not in the territories table.
        {"rep_id": "r3", "name": "Chen", "territory_id": "T9", "manager_id": "m1"},
        # Neither a territory nor a manager (a blank one).
        {"rep_id": "r4", "name": "Dora", "manager_id": "  "},
        # Inactive reps are not checked.
        {"rep_id": "r5", "name": "Emil", "territory_id": "T1", "active": False},
    ],
    "outlets": [
        {"outlet_id": "o1", "territory_id": "T1", "latitude": 19.0, "longitude": 72.8},
        {"outlet_id": "o2", "territory_id": "T1", "latitude": 19.0, "longitude": 72.9},
        {"outlet_id": "o3", "territory_id": "T1"},
        {"outlet_id": "o4", "territory_id": "T1", "latitude": 0.0, "longitude": 0.0},
        {"outlet_id": "o5", "latitude": 19.05, "longitude": 72.85},
        {"outlet_id": "o6", "territory_id": "T9", "latitude": 19.1, "longitude": 72.8},
        {"outlet_id": "o7", "territory_id": "T1", "active": False},
        {"outlet_id": "o8", "territory_id": "T1", "latitude": 28.6, "longitude": 77.2},
    ],
    "visits": [
        {
            "visit_id": "v1",
            "rep_id": "r1",
            "outlet_id": "o1",
            "check_in": "2026-03-02 09:00:00",
            "check_out": "2026-03-02 09:20:00",
            "latitude": 19.0001,
            "longitude": 72.8001,
        },
        # Resent by offline sync 60 s later.
        {
            "visit_id": "v2",
            "rep_id": "r1",
            "outlet_id": "o1",
            "check_in": "2026-03-02 09:01:00",
            "latitude": 19.0001,
            "longitude": 72.8001,
        },
        # Checked out 20 minutes before checking in; 10.5 km from v1 in 30 minutes.
        {
            "visit_id": "v3",
            "rep_id": "r1",
            "outlet_id": "o2",
            "check_in": "2026-03-02 09:30:00",
            "check_out": "2026-03-02 09:10:00",
            "latitude": 19.0,
            "longitude": 72.9,
        },
        # In Delhi 30 minutes after Mumbai, and 13.5 hours long.
        {
            "visit_id": "v4",
            "rep_id": "r1",
            "outlet_id": "o8",
            "check_in": "2026-03-02 10:00:00",
            "check_out": "2026-03-02 23:30:00",
            "latitude": 28.6,
            "longitude": 77.2,
        },
        {
            "visit_id": "v5",
            "rep_id": "r1",
            "outlet_id": "o1",
            "check_in": "2026-03-03 09:00:00",
            "latitude": 0.0,
            "longitude": 0.0,
        },
        {
            "visit_id": "v6",
            "rep_id": "r1",
            "outlet_id": "o1",
            "check_in": "2026-03-03 10:00:00",
        },
        {
            "visit_id": "v7",
            "rep_id": "r1",
            "outlet_id": "o2",
            "check_in": "2026-03-03 11:00:00",
            "latitude": 95.0,
            "longitude": 72.9,
        },
        {
            "visit_id": "v8",
            "rep_id": "r1",
            "outlet_id": "o2",
            "check_in": "2026-03-04 09:00:00",
            "latitude": 72.9,
            "longitude": 19.0,
        },
        # Three hours after "now".
        {
            "visit_id": "v9",
            "rep_id": "r2",
            "outlet_id": "o1",
            "check_in": "2026-03-06 15:00:00",
            "latitude": 19.0,
            "longitude": 72.8,
        },
        {
            "visit_id": "v10",
            "rep_id": "r9",
            "outlet_id": "o1",
            "check_in": "2026-03-05 09:00:00",
            "latitude": 19.0,
            "longitude": 72.8,
        },
        {
            "visit_id": "v11",
            "rep_id": "r1",
            "outlet_id": "o99",
            "check_in": "2026-03-05 10:00:00",
            "latitude": 19.0,
            "longitude": 72.8,
        },
        # Before the week: not checked.
        {
            "visit_id": "v12",
            "rep_id": "r1",
            "outlet_id": "o1",
            "check_in": "2026-03-01 09:00:00",
            "latitude": 0.0,
            "longitude": 0.0,
        },
    ],
    "orders": [
        {
            "order_id": "a",
            "outlet_id": "o1",
            "rep_id": "r1",
            "visit_id": "v1",
            "ordered_at": "2026-03-02 09:10:00",
            "value": 100.0,
            # Negative, which only another program can write.
            "line_count": -3,
        },
        # No visit_id, linked to v1 by the same-date rule.
        {
            "order_id": "b",
            "outlet_id": "o1",
            "rep_id": "r1",
            "ordered_at": "2026-03-02 15:00:00",
            "value": 50.0,
            "line_count": 1,
        },
        # No visit_id and no visit by r1 to o1 on Thursday.
        {
            "order_id": "c",
            "outlet_id": "o1",
            "rep_id": "r1",
            "ordered_at": "2026-03-05 16:00:00",
            "value": 40.0,
            "line_count": 1,
        },
        {
            "order_id": "d",
            "outlet_id": "o1",
            "rep_id": "r1",
            "visit_id": "v404",
            "ordered_at": "2026-03-02 16:00:00",
            "value": 25.0,
            "line_count": 1,
        },
        {
            "order_id": "e",
            "outlet_id": "o99",
            "rep_id": "r1",
            "visit_id": "v3",
            "ordered_at": "2026-03-02 09:40:00",
            "value": 15.0,
            "line_count": 1,
        },
        {
            "order_id": "f",
            "outlet_id": "o1",
            "rep_id": "r9",
            "ordered_at": "2026-03-05 09:05:00",
            "value": 30.0,
            "line_count": 1,
        },
        # Neither a rep nor a visit.
        {
            "order_id": "g",
            "outlet_id": "o1",
            "ordered_at": "2026-03-04 12:00:00",
            "value": 20.0,
            "line_count": 1,
        },
        {
            "order_id": "h",
            "outlet_id": "o1",
            "rep_id": "r1",
            "visit_id": "v5",
            "ordered_at": "2026-03-03 09:05:00",
            "value": -75.0,
            "line_count": 1,
        },
        # Bilal made no visit on Wednesday.
        {
            "order_id": "i",
            "outlet_id": "o2",
            "rep_id": "r2",
            "ordered_at": "2026-03-04 10:00:00",
            "value": 60.0,
            "line_count": 1,
        },
        # Linked to v1 but dated Saturday, when Asha made no visit.
        {
            "order_id": "j",
            "outlet_id": "o1",
            "rep_id": "r1",
            "visit_id": "v1",
            "ordered_at": "2026-03-07 10:00:00",
            "value": 10.0,
            "line_count": 1,
        },
        # Infinity, which only another program can write, is no usable value.
        {
            "order_id": "l",
            "outlet_id": "o1",
            "rep_id": "r1",
            "visit_id": "v1",
            "ordered_at": "2026-03-02 09:15:00",
            "value": float("inf"),
            "line_count": 1,
        },
        # After the week: not checked.
        {
            "order_id": "k",
            "outlet_id": "o99",
            "ordered_at": "2026-03-09 10:00:00",
            "value": -5.0,
            "line_count": 1,
        },
    ],
    "beats": [
        # Weekly Mondays: runs.
        beat("b1", "r1", weekday=1, every=1, start="2026-01-05"),
        beat("b2", "r1", weekday=9, every=1, start="2026-01-05"),
        beat("b3", "r2", weekday=3, every=0, start="2026-01-07"),
        # Ends a week before it starts, in territory T9.
        beat("b4", "r3", weekday=2, every=1, start="2026-03-03", end="2026-02-24"),
        # A rep who is not in the reps table.
        beat("b5", "r9", weekday=0, every=1, start="2026-01-05"),
        # Every fault at once: the weekday is named.
        beat("b6", "r1", weekday=0, every=0, start="2026-03-02", end="2026-03-01"),
    ],
    "beat_outlets": [
        *(
            {"beat_id": beat_id, "outlet_id": "o1"}
            for beat_id in ("b1", "b2", "b3", "b4", "b5", "b6")
        ),
        {"beat_id": "b1", "outlet_id": "o98"},
        {"beat_id": "b404", "outlet_id": "o1"},
    ],
}
