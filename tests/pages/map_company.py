"""A one-week company for the territory map: hostile outlet names, outlets
without a usable location, a stored outline for T1 and none for T2.

Week of Monday 2026-03-02 to Sunday 2026-03-08, business time zone UTC,
neglect window 28 days. Statuses of the active outlets:

- visited: o1, o6
- skipped: o2, o7, o8, and three without a usable location: o9 (none),
  o10 (0, 0) and o11 (latitude and longitude swapped, out of range)
- unplanned: o3
- neglected: o4
- not due: o5
"""

HOSTILE = "<img src=x onerror=alert(1)>"

# fmt: off
ROWS = {
    "regions": [{"region_id": "R1", "name": "West"}],
    "territories": [
        {"territory_id": "T1", "name": "Mumbai <North>", "region_id": "R1"},
        {"territory_id": "T2", "name": "Pune & \"Co\"", "region_id": "R1"},
    ],
    "reps": [
        {"rep_id": "r1", "name": "Asha", "territory_id": "T1", "manager_id": "m1@example.com"},
        {"rep_id": "r2", "name": "Bilal", "territory_id": "T2", "manager_id": "m1@example.com"},
    ],
    "outlets": [
        {"outlet_id": "o1", "name": HOSTILE, "territory_id": "T1", "latitude": 19.00, "longitude": 72.80, "channel": "Grocery"},
        {"outlet_id": "o2", "name": "O'Brien & \"Sons\"", "territory_id": "T1", "latitude": 19.01, "longitude": 72.82, "channel": "<b>Pharmacy</b>"},
        {"outlet_id": "o3", "name": "किराना स्टोर", "territory_id": "T1", "latitude": 19.02, "longitude": 72.81},
        {"outlet_id": "o4", "name": "<script>alert(2)</script>", "territory_id": "T1", "latitude": 19.03, "longitude": 72.83},
        {"outlet_id": "o5", "name": "Shop **bold** [link](javascript:alert(3))", "territory_id": "T1", "latitude": 19.015, "longitude": 72.835},
        {"outlet_id": "o6", "name": "Pune 1", "territory_id": "T2", "latitude": 18.52, "longitude": 73.85},
        {"outlet_id": "o7", "name": "Pune 2", "territory_id": "T2", "latitude": 18.55, "longitude": 73.88},
        {"outlet_id": "o8", "name": "Pune 3", "territory_id": "T2", "latitude": 18.50, "longitude": 73.90},
        {"outlet_id": "o9", "name": "No location", "territory_id": "T2"},
        {"outlet_id": "o10", "name": "Null island", "territory_id": "T2", "latitude": 0.0, "longitude": 0.0},
        {"outlet_id": "o11", "name": "Swapped", "territory_id": "T2", "latitude": -99.13, "longitude": 19.43},
        {"outlet_id": "o12", "name": "Closed", "territory_id": "T2", "latitude": 18.53, "longitude": 73.86, "active": False},
    ],
    "beats": [
        {"beat_id": "b1", "rep_id": "r1", "name": "Mon", "weekday": 1, "every_n_weeks": 1, "start_date": "2026-01-05"},
        {"beat_id": "b2", "rep_id": "r1", "name": "Fortnight", "weekday": 3, "every_n_weeks": 2, "start_date": "2026-02-25"},
        {"beat_id": "b3", "rep_id": "r2", "name": "Tue", "weekday": 2, "every_n_weeks": 1, "start_date": "2026-01-06"},
    ],
    "beat_outlets": [
        {"beat_id": "b1", "outlet_id": "o1"},
        {"beat_id": "b1", "outlet_id": "o2"},
        {"beat_id": "b2", "outlet_id": "o4"},
        {"beat_id": "b2", "outlet_id": "o5"},
        {"beat_id": "b3", "outlet_id": "o6"},
        {"beat_id": "b3", "outlet_id": "o7"},
        {"beat_id": "b3", "outlet_id": "o8"},
        {"beat_id": "b3", "outlet_id": "o9"},
        {"beat_id": "b3", "outlet_id": "o10"},
        {"beat_id": "b3", "outlet_id": "o11"},
    ],
    "visits": [
        {"visit_id": "v1", "rep_id": "r1", "outlet_id": "o1", "check_in": "2026-03-02 09:00:00"},
        {"visit_id": "v2", "rep_id": "r1", "outlet_id": "o4", "check_in": "2026-01-20 09:00:00"},
        {"visit_id": "v3", "rep_id": "r1", "outlet_id": "o5", "check_in": "2026-02-25 09:00:00"},
        {"visit_id": "v4", "rep_id": "r2", "outlet_id": "o6", "check_in": "2026-03-03 09:00:00"},
    ],
    "orders": [
        {"order_id": "a", "outlet_id": "o1", "rep_id": "r1", "visit_id": "v1", "ordered_at": "2026-03-02 09:10:00", "value": 125.5, "line_count": 3},
    ],
    "territory_boundaries": [
        {"territory_id": "T1", "geojson": '{"type": "Polygon", "coordinates": [[[72.78, 18.98], [72.86, 18.98], [72.86, 19.05], [72.78, 19.05], [72.78, 18.98]]]}'},
    ],
}
# fmt: on

WEEK = "2026-03-02"
# Outlets on the map per status, and in the legend (with or without location).
DRAWN = {"visited": 2, "skipped": 3, "unplanned": 1, "neglected": 1, "not_due": 1}
LEGEND = {"visited": 2, "skipped": 6, "unplanned": 1, "neglected": 1, "not_due": 1}
UNLOCATED = 3
