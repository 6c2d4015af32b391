"""A small company with three line managers in two regions, for access tests.

Week of Monday 2026-03-02 to Sunday 2026-03-08, business time zone UTC.

- Region reg-n (Northland): territories ter-a (Alder Vale) and ter-b (Birch Vale).
- Region reg-s (Southland): territory ter-s (Cedar Coast).
- lead.a@two.example manages rep-a1 and rep-a2 (ter-a).
- lead.b@two.example manages rep-b1 (ter-b) and rep-b2, who works in ter-a
  beside lead A's reps: lead A sees ter-a's outlets but never rep-b2.
- lead.s@two.example manages rep-s1 and rep-s2 (ter-s).
- The first visit of all (2026-02-09) is rep-s1's and the last (2026-03-07)
  rep-a1's, so each team's range of visit dates differs from everyone's.
- head.n@two.example heads reg-n, head.s@two.example heads reg-s,
  admin@two.example sees everything; broken.head@two.example is a regional
  head without a region.

Every team has the dirt of real exports: a duplicate visit from offline sync,
a GPS fix at (0, 0), swapped coordinates, a check-out before its check-in,
an order without visit_id, a return, an outlet without coordinates, an
inactive outlet and a stored territory outline.

Ids and names are distinct strings that never contain one another, so a test
can search any output for another team's ids and names.
"""

from copy import deepcopy

WEEK = "2026-03-02"
WEEK_END = "2026-03-08"

ADMIN = "admin@two.example"
LEAD_A = "lead.a@two.example"
LEAD_B = "lead.b@two.example"
LEAD_S = "lead.s@two.example"
HEAD_N = "head.n@two.example"
HEAD_S = "head.s@two.example"
BROKEN_HEAD = "broken.head@two.example"
STRANGER = "stranger@two.example"

# Reps, territories, regions and outlets by team: ids and names.
TEAM_A = {
    "reps": {"rep-a1": "Amy Alder", "rep-a2": "Arun Ash"},
    "outlets": {
        "out-a-1": "Alder Grocer",
        "out-a-2": "Alder Chemist",
        "out-a-3": "Alder Kiosk",
        "out-a-4": "Alder Unmapped",
        "out-a-5": "Alder Closed",
    },
}
TEAM_B = {
    "reps": {"rep-b1": "Bea Birch", "rep-b2": "Ben Bramble"},
    "outlets": {
        "out-b-1": "Birch Grocer",
        "out-b-2": "Birch Chemist",
        "out-b-3": "Birch Unmapped",
    },
}
TEAM_S = {
    "reps": {"rep-s1": "Sam Cedar", "rep-s2": "Sia Cypress"},
    "outlets": {
        "out-s-1": "Cedar Grocer",
        "out-s-2": "Cedar Chemist",
        "out-s-3": "Cedar Unmapped",
        "out-s-4": "Cedar Closed",
    },
}
TERRITORIES = {"ter-a": "Alder Vale", "ter-b": "Birch Vale", "ter-s": "Cedar Coast"}
REGIONS = {"reg-n": "Northland", "reg-s": "Southland"}


def _square(longitude: float, latitude: float) -> str:
    corners = [
        [longitude, latitude],
        [longitude + 0.1, latitude],
        [longitude + 0.1, latitude + 0.1],
        [longitude, latitude + 0.1],
        [longitude, latitude],
    ]
    return f'{{"type": "Polygon", "coordinates": [{corners}]}}'


def _team_rows(
    rep_ids: tuple[str, str],
    outlet_ids: list[str],
    territory_id: str,
    origin: tuple[float, float],
    prefix: str,
    day: str,
) -> dict[str, list[dict]]:
    """Beats, visits and orders of one team; outlets are placed near origin."""
    first, second = rep_ids
    latitude, longitude = origin
    beats = [
        {
            "beat_id": f"{prefix}-mon",
            "rep_id": first,
            "name": "Monday",
            "weekday": 1,
            "every_n_weeks": 1,
            "start_date": "2026-01-05",
        },
        {
            "beat_id": f"{prefix}-wed",
            "rep_id": second,
            "name": "Wednesday",
            "weekday": 3,
            "every_n_weeks": 2,
            "start_date": "2026-02-18",
        },
    ]
    beat_outlets = [
        {"beat_id": f"{prefix}-mon", "outlet_id": outlet_ids[0]},
        {"beat_id": f"{prefix}-mon", "outlet_id": outlet_ids[1]},
        {"beat_id": f"{prefix}-wed", "outlet_id": outlet_ids[1]},
        {"beat_id": f"{prefix}-wed", "outlet_id": outlet_ids[2]},
    ]
    visits = [
        # On plan, GPS on the outlet.
        {
            "visit_id": f"{prefix}-v1",
            "rep_id": first,
            "outlet_id": outlet_ids[0],
            "check_in": f"{day} 09:00:00",
            "check_out": f"{day} 09:20:00",
            "latitude": latitude,
            "longitude": longitude,
        },
        # Offline-sync resend of v1, 60 s later.
        {
            "visit_id": f"{prefix}-v2",
            "rep_id": first,
            "outlet_id": outlet_ids[0],
            "check_in": f"{day} 09:01:00",
        },
        # GPS at (0, 0), and a check-out before the check-in.
        {
            "visit_id": f"{prefix}-v3",
            "rep_id": first,
            "outlet_id": outlet_ids[2],
            "check_in": f"{day} 11:00:00",
            "check_out": f"{day} 10:00:00",
            "latitude": 0.0,
            "longitude": 0.0,
        },
        # Latitude and longitude swapped.
        {
            "visit_id": f"{prefix}-v4",
            "rep_id": second,
            "outlet_id": outlet_ids[1],
            "check_in": "2026-03-04 10:00:00",
            "latitude": longitude,
            "longitude": latitude,
        },
        # Far from the outlet: off-site.
        {
            "visit_id": f"{prefix}-v5",
            "rep_id": second,
            "outlet_id": outlet_ids[2],
            "check_in": "2026-03-04 12:00:00",
            "latitude": latitude + 0.05,
            "longitude": longitude + 0.05,
        },
        # Off-site and nothing ordered.
        {
            "visit_id": f"{prefix}-v7",
            "rep_id": second,
            "outlet_id": outlet_ids[0],
            "check_in": f"{day} 14:00:00",
            "latitude": latitude + 0.05,
            "longitude": longitude + 0.05,
        },
        # Before the week, for last visit dates and the neglect window.
        {
            "visit_id": f"{prefix}-v6",
            "rep_id": second,
            "outlet_id": outlet_ids[1],
            "check_in": "2026-02-23 10:00:00",
        },
    ]
    orders = [
        {
            "order_id": f"{prefix}-o1",
            "outlet_id": outlet_ids[0],
            "rep_id": first,
            "visit_id": f"{prefix}-v2",
            "ordered_at": f"{day} 09:10:00",
            "value": 120.0,
            "line_count": 3,
        },
        # No visit_id: linked to the same-day visit of the rep to the outlet.
        {
            "order_id": f"{prefix}-o2",
            "outlet_id": outlet_ids[1],
            "rep_id": second,
            "ordered_at": "2026-03-04 15:00:00",
            "value": 80.0,
            "line_count": 2,
        },
        # A return.
        {
            "order_id": f"{prefix}-o3",
            "outlet_id": outlet_ids[0],
            "rep_id": first,
            "ordered_at": "2026-03-06 10:00:00",
            "value": -15.0,
            "line_count": 1,
        },
        # No rep_id: counts for the linked visit's rep.
        {
            "order_id": f"{prefix}-o4",
            "outlet_id": outlet_ids[2],
            "visit_id": f"{prefix}-v5",
            "ordered_at": "2026-03-04 12:05:00",
            "value": 40.0,
            "line_count": 1,
        },
    ]
    return {
        "beats": beats,
        "beat_outlets": beat_outlets,
        "visits": visits,
        "orders": orders,
    }


# An outlet of no territory, so of no team: only the administrator's scope
# includes it.
UNASSIGNED_OUTLET = {
    "outlet_id": "out-nobody",
    "name": "Nobody Depot",
    "territory_id": None,
    "latitude": 15.0,
    "longitude": 75.0,
    "channel": "Grocery",
    "outlet_class": "B",
}
UNASSIGNED_MARKERS = {"out-nobody", "Nobody Depot"}


def _outlets(team: dict, territory_id: str, origin: tuple[float, float]) -> list[dict]:
    latitude, longitude = origin
    rows = []
    for number, (outlet_id, name) in enumerate(team["outlets"].items()):
        row = {
            "outlet_id": outlet_id,
            "name": name,
            "territory_id": territory_id,
            "latitude": latitude + number * 0.01,
            "longitude": longitude + number * 0.01,
            "channel": "Grocery",
            "outlet_class": "A" if number == 0 else "B",
        }
        if name.endswith("Unmapped"):
            row["latitude"] = row["longitude"] = None
        if name.endswith("Closed"):
            row["active"] = False
        rows.append(row)
    return rows


def company_rows() -> dict[str, list[dict]]:
    """Rows of every table of the two-region company."""
    north_a = (19.0, 72.8)
    north_b = (19.5, 73.2)
    south = (12.9, 77.5)
    team_a = _team_rows(
        ("rep-a1", "rep-a2"),
        list(TEAM_A["outlets"]),
        "ter-a",
        north_a,
        "a",
        "2026-03-02",
    )
    # rep-b2 works in ter-a: lead B's rep at lead A's outlets.
    team_b = _team_rows(
        ("rep-b1", "rep-b2"),
        [*TEAM_B["outlets"]][:2] + ["out-a-3"],
        "ter-b",
        north_b,
        "b",
        "2026-03-03",
    )
    team_s = _team_rows(
        ("rep-s1", "rep-s2"), list(TEAM_S["outlets"]), "ter-s", south, "s", "2026-03-05"
    )
    rows: dict[str, list[dict]] = {
        "regions": [{"region_id": key, "name": name} for key, name in REGIONS.items()],
        "territories": [
            {
                "territory_id": "ter-a",
                "name": TERRITORIES["ter-a"],
                "region_id": "reg-n",
            },
            {
                "territory_id": "ter-b",
                "name": TERRITORIES["ter-b"],
                "region_id": "reg-n",
            },
            {
                "territory_id": "ter-s",
                "name": TERRITORIES["ter-s"],
                "region_id": "reg-s",
            },
        ],
        "reps": [
            {
                "rep_id": "rep-a1",
                "name": "Amy Alder",
                "territory_id": "ter-a",
                "manager_id": LEAD_A,
            },
            {
                "rep_id": "rep-a2",
                "name": "Arun Ash",
                "territory_id": "ter-a",
                "manager_id": LEAD_A,
            },
            {
                "rep_id": "rep-b1",
                "name": "Bea Birch",
                "territory_id": "ter-b",
                "manager_id": LEAD_B,
            },
            {
                "rep_id": "rep-b2",
                "name": "Ben Bramble",
                "territory_id": "ter-a",
                "manager_id": LEAD_B,
            },
            {
                "rep_id": "rep-s1",
                "name": "Sam Cedar",
                "territory_id": "ter-s",
                "manager_id": LEAD_S,
            },
            {
                "rep_id": "rep-s2",
                "name": "Sia Cypress",
                "territory_id": "ter-s",
                "manager_id": LEAD_S,
            },
        ],
        "outlets": (
            _outlets(TEAM_A, "ter-a", north_a)
            + _outlets(TEAM_B, "ter-b", north_b)
            + _outlets(TEAM_S, "ter-s", south)
            + [UNASSIGNED_OUTLET]
        ),
        "users": [
            {"user_id": ADMIN, "name": "Ada Admin", "role": "admin"},
            {"user_id": LEAD_A, "name": "Lena Lead", "role": "line_manager"},
            {"user_id": LEAD_B, "name": "Boris Boss", "role": "line_manager"},
            {"user_id": LEAD_S, "name": "Sunita Senior", "role": "line_manager"},
            {
                "user_id": HEAD_N,
                "name": "Nora North",
                "role": "regional_head",
                "scope_id": "reg-n",
            },
            {
                "user_id": HEAD_S,
                "name": "Sanjay South",
                "role": "regional_head",
                "scope_id": "reg-s",
            },
            {"user_id": BROKEN_HEAD, "name": "Bruno Broken", "role": "regional_head"},
        ],
        "territory_boundaries": [
            {"territory_id": "ter-a", "geojson": _square(72.75, 18.95)},
            {"territory_id": "ter-b", "geojson": _square(73.15, 19.45)},
            {"territory_id": "ter-s", "geojson": _square(77.45, 12.85)},
        ],
    }
    for team in (team_a, team_b, team_s):
        for table, table_rows in team.items():
            rows.setdefault(table, []).extend(table_rows)
    # The first visit of all is lead S's team's, the last lead A's.
    rows["visits"].append(
        {
            "visit_id": "s-early",
            "rep_id": "rep-s1",
            "outlet_id": "out-s-1",
            "check_in": "2026-02-09 09:00:00",
        }
    )
    rows["visits"].append(
        {
            "visit_id": "a-late",
            "rep_id": "rep-a1",
            "outlet_id": "out-a-2",
            "check_in": "2026-03-07 09:00:00",
        }
    )
    return rows


def markers(*teams: dict) -> set[str]:
    """Ids and names of the reps and outlets of the given teams."""
    found: set[str] = set()
    for team in teams:
        for kind in ("reps", "outlets"):
            found |= set(team[kind]) | set(team[kind].values())
    return found


# What each viewer must never see: ids and names of other teams' reps and
# outlets, territories and regions. Lead A sees ter-a's outlets, also those
# that lead B's rep-b2 visits, but not rep-b2.
FOREIGN = {
    LEAD_A: markers(TEAM_B, TEAM_S)
    | UNASSIGNED_MARKERS
    | {"ter-b", "Birch Vale", "ter-s", "Cedar Coast", "reg-s", "Southland"},
    HEAD_N: markers(TEAM_S)
    | UNASSIGNED_MARKERS
    | {"ter-s", "Cedar Coast", "reg-s", "Southland"},
    HEAD_S: markers(TEAM_A, TEAM_B)
    | UNASSIGNED_MARKERS
    | {"ter-a", "Alder Vale", "ter-b", "Birch Vale", "reg-n", "Northland"},
    LEAD_S: markers(TEAM_A, TEAM_B)
    | UNASSIGNED_MARKERS
    | {"ter-a", "Alder Vale", "ter-b", "Birch Vale", "reg-n", "Northland"},
}

# Reps each viewer's reps report lists.
VISIBLE_REPS = {
    ADMIN: ["rep-a1", "rep-a2", "rep-b1", "rep-b2", "rep-s1", "rep-s2"],
    LEAD_A: ["rep-a1", "rep-a2"],
    LEAD_B: ["rep-b1", "rep-b2"],
    LEAD_S: ["rep-s1", "rep-s2"],
    HEAD_N: ["rep-a1", "rep-a2", "rep-b1", "rep-b2"],
    HEAD_S: ["rep-s1", "rep-s2"],
}


def hostile_rows() -> dict[str, list[dict]]:
    """The company with HTML, script and Markdown in lead A's names."""
    rows = deepcopy(company_rows())
    names = {
        ("reps", "rep-a1"): HOSTILE_REP,
        ("territories", "ter-a"): HOSTILE_TERRITORY,
        ("regions", "reg-n"): HOSTILE_REGION,
        ("outlets", "out-a-1"): HOSTILE_OUTLET,
        ("users", LEAD_A): HOSTILE_USER,
    }
    keys = {
        "reps": "rep_id",
        "territories": "territory_id",
        "regions": "region_id",
        "outlets": "outlet_id",
        "users": "user_id",
    }
    for (table, key), name in names.items():
        for row in rows[table]:
            if row[keys[table]] == key:
                row["name"] = name
    return rows


HOSTILE_REP = "<img src=x onerror=alert('rep')>"
HOSTILE_TERRITORY = "<script>alert('territory')</script>"
HOSTILE_REGION = "**North** [land](javascript:alert('region'))"
HOSTILE_OUTLET = "<b onmouseover=alert('outlet')>Alder</b> & Co"
HOSTILE_USER = "<i>Lena</i> :red[Lead]"
HOSTILE_NAMES = (
    HOSTILE_REP,
    HOSTILE_TERRITORY,
    HOSTILE_REGION,
    HOSTILE_OUTLET,
    HOSTILE_USER,
)
