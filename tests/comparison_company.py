"""A small company for the territory comparison, with the figures by hand.

Weeks run Monday to Sunday in UTC. The compared week is 2026-03-02 to
2026-03-08; the previous one 2026-02-23 to 2026-03-01. Codes look like
numbers (territories 007 and 12.1, reps 001, 002, 010, 099) so charts must
keep them as categories.

- Region N (North): 007 Harbour (reps 001, 002; outlets o1-o4) and 12.1 Hills
  (rep 010; outlets o5, o6).
- Region S (South): T3 Lakes, with outlets o7-o9 and no reps or beats.
- T4 Plains has no region (rep r5, outlet o10).
- Rep 099 has no territory; outlet o11 has none either.

This week by hand:

| group | active | visited | visits | productive | planned | on plan | order value | reps |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
| 007 | 4 | 3 | 3 | 2 | 4 | 3 | 150 | 2 |
| 12.1 | 2 | 2 | 2 | 1 | 2 | 1 | 70 | 1 |
| T3 | 3 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |
| T4 | 1 | 1 | 1 | 0 | 1 | 1 | 0 | 1 |
| Unassigned | 1 | 1 | 1 | 1 | 0 | 0 | 30 | 1 |
| total | 11 | 7 | 7 | 4 | 7 | 5 | 250 | 5 |

The week before, 007 had visits to o1 (an order of 80) and o3 only, and
no other rep visited anything. Rep 001 visited o2 in the week of 2026-02-16.
"""

WEEK = "2026-03-02"
PREVIOUS_WEEK = "2026-02-23"


def _beat(beat_id: str, rep_id: str, weekday: int) -> dict:
    return {
        "beat_id": beat_id,
        "rep_id": rep_id,
        "name": f"Beat {beat_id}",
        "weekday": weekday,
        "every_n_weeks": 1,
        "start_date": "2026-01-05",
    }


def _visit(visit_id: str, rep_id: str, outlet_id: str, check_in: str) -> dict:
    return {
        "visit_id": visit_id,
        "rep_id": rep_id,
        "outlet_id": outlet_id,
        "check_in": check_in,
    }


def _order(order_id: str, visit: dict, value: float) -> dict:
    return {
        "order_id": order_id,
        "outlet_id": visit["outlet_id"],
        "rep_id": visit["rep_id"],
        "visit_id": visit["visit_id"],
        "ordered_at": visit["check_in"],
        "value": value,
        "line_count": 1,
    }


OUTLET_TERRITORIES = {
    "o1": "007",
    "o2": "007",
    "o3": "007",
    "o4": "007",
    "o5": "12.1",
    "o6": "12.1",
    "o7": "T3",
    "o8": "T3",
    "o9": "T3",
    "o10": "T4",
    "o11": None,
}

VISITS = [
    # This week.
    _visit("v1", "001", "o1", "2026-03-02 09:00:00"),
    _visit("v2", "001", "o2", "2026-03-02 10:00:00"),
    _visit("v3", "002", "o3", "2026-03-03 09:00:00"),
    _visit("v4", "010", "o5", "2026-03-04 09:00:00"),
    # Thursday: o6 is planned on Wednesdays, so this call is not on plan.
    _visit("v5", "010", "o6", "2026-03-05 09:00:00"),
    _visit("v6", "099", "o11", "2026-03-06 09:00:00"),
    _visit("v7", "r5", "o10", "2026-03-05 11:00:00"),
    # The week before.
    _visit("p1", "001", "o1", "2026-02-23 09:00:00"),
    _visit("p2", "002", "o3", "2026-02-24 09:00:00"),
    # Two weeks before.
    _visit("q1", "001", "o2", "2026-02-16 09:00:00"),
]
VISIT = {visit["visit_id"]: visit for visit in VISITS}

ROWS = {
    "regions": [
        {"region_id": "N", "name": "North"},
        {"region_id": "S", "name": "South"},
    ],
    "territories": [
        {"territory_id": "007", "name": "Harbour", "region_id": "N"},
        {"territory_id": "12.1", "name": "Hills", "region_id": "N"},
        {"territory_id": "T3", "name": "Lakes", "region_id": "S"},
        {"territory_id": "T4", "name": "Plains", "region_id": None},
    ],
    "reps": [
        {"rep_id": "001", "name": "Asha", "territory_id": "007"},
        {"rep_id": "002", "name": "Bilal", "territory_id": "007"},
        {"rep_id": "010", "name": "Chen", "territory_id": "12.1"},
        {"rep_id": "099", "name": "Dora", "territory_id": None},
        {"rep_id": "r5", "name": "Eve", "territory_id": "T4"},
    ],
    "outlets": [
        {
            "outlet_id": outlet_id,
            "name": f"Shop {outlet_id[1:]}",
            "territory_id": territory_id,
        }
        for outlet_id, territory_id in OUTLET_TERRITORIES.items()
    ],
    "beats": [
        _beat("b1", "001", 1),
        _beat("b2", "002", 2),
        _beat("b3", "010", 3),
        _beat("b4", "r5", 4),
    ],
    "beat_outlets": [
        {"beat_id": "b1", "outlet_id": "o1"},
        {"beat_id": "b1", "outlet_id": "o2"},
        {"beat_id": "b2", "outlet_id": "o3"},
        {"beat_id": "b2", "outlet_id": "o4"},
        {"beat_id": "b3", "outlet_id": "o5"},
        {"beat_id": "b3", "outlet_id": "o6"},
        {"beat_id": "b4", "outlet_id": "o10"},
    ],
    "visits": VISITS,
    "orders": [
        _order("a", VISIT["v1"], 100.0),
        _order("b", VISIT["v3"], 50.0),
        _order("c", VISIT["v4"], 70.0),
        _order("d", VISIT["v6"], 30.0),
        _order("e", VISIT["p1"], 80.0),
    ],
}
