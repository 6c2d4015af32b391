"""The day-route map and the tables beside the territory map."""

import json
from datetime import date, datetime

import pandas as pd
import pytest

from pages import map_details, route_map
from pages.outlet_map import STATUS_LABELS

HOSTILE = "<img src=x onerror=alert(1)>"
DAY = date(2026, 3, 2)
CALL_COLUMNS = [
    "call_date", "outlet_id", "outlet_name", "outlet_class", "outlet_latitude",
    "outlet_longitude", "planned", "visit_id", "check_in", "check_out",
    "latitude", "longitude", "distance_m", "productive", "order_value",
    "no_order_reason", "other_visit_date",
]  # fmt: skip


def call(
    outlet_id, name, planned, visit_id, check_in, place, fix=(None, None), **extra
):
    """A row of a rep's call list on DAY; times are naive UTC."""
    row = dict.fromkeys(CALL_COLUMNS)
    row.update(
        call_date=DAY,
        outlet_id=outlet_id,
        outlet_name=name,
        outlet_latitude=place[0],
        outlet_longitude=place[1],
        planned=planned,
        visit_id=visit_id,
        check_in=check_in,
        latitude=fix[0],
        longitude=fix[1],
        productive=0,
        order_value=0.0,
    )
    row.update(extra)
    return row


CALLS = pd.DataFrame(
    [
        call("o3", "Missed shop", 1, None, None, (19.05, 72.85)),
        call(
            "o2",
            "Second",
            0,
            "v2",
            datetime(2026, 3, 2, 4, 30),
            (19.02, 72.82),
            check_out=datetime(2026, 3, 2, 4, 45),
            distance_m=12.5,
            no_order_reason="stock full",
        ),
        call(
            "o1",
            HOSTILE,
            1,
            "v1",
            datetime(2026, 3, 2, 3, 40),
            (19.00, 72.80),
            check_out=datetime(2026, 3, 2, 4, 0),
            productive=1,
            order_value=1250.0,
        ),
        call(
            "o4",
            "Only a fix",
            1,
            "v3",
            datetime(2026, 3, 2, 6, 0),
            (None, None),
            fix=(19.10, 72.90),
        ),
        call("o5", "Lost", 1, None, None, (0.0, 0.0)),
    ],
    columns=CALL_COLUMNS,
)
TERRITORIES = pd.DataFrame({"territory_id": ["T1"], "territory_name": ["Mumbai"]})
NO_BOUNDARIES = pd.DataFrame({"territory_id": [], "geojson": []}, dtype=object)
TERRITORIES_REPORT = pd.DataFrame(
    {
        "territory_id": ["T1"],
        "active_outlets": [3],
        "visited_outlets": [1],
        "coverage": [1 / 3],
    }
)
OUTLETS = pd.DataFrame(
    {
        "territory_id": ["T1", "T1", "T1"],
        "latitude": [19.0, 19.02, 19.05],
        "longitude": [72.8, 72.82, 72.85],
    }
)


def build_route() -> route_map.RouteMap:
    return route_map.build_route_map(
        CALLS, OUTLETS, TERRITORIES, NO_BOUNDARIES, TERRITORIES_REPORT,
        "Asia/Kolkata", "₹",
    )  # fmt: skip


def route_layer(built: route_map.RouteMap) -> dict:
    layers = [
        child
        for child in built.map._children.values()
        if isinstance(child, route_map.RouteLayer)
    ]
    assert len(layers) == 1
    return json.loads(layers[0].route_json)


def test_calls_in_stop_order():
    result = route_map.order_calls(CALLS, "Asia/Kolkata")

    assert list(result["outlet_id"]) == ["o1", "o2", "o4", "o3", "o5"]
    assert list(result["stop"]) == [1, 2, 3, pd.NA, pd.NA]
    assert list(result["kind"]) == [
        "on plan",
        "off beat",
        "on plan",
        "missed",
        "missed",
    ]
    assert list(result["located"]) == [True, True, True, True, False]
    assert result["local_check_in"].iloc[0] == pd.Timestamp(
        "2026-03-02 09:10", tz="Asia/Kolkata"
    )
    assert (result["stop_latitude"].iloc[2], result["stop_longitude"].iloc[2]) == (
        19.10,
        72.90,
    )


def test_stops_carry_names_as_text():
    built = build_route()

    result = route_layer(built)["stops"]

    assert built.unlocated == 1
    assert [stop["number"] for stop in result] == [1, 2, 3, None]
    assert result[0]["name"] == HOSTILE
    assert result[0]["label"] == "09:10–09:30 · on plan · order ₹1,250"
    assert result[1]["label"] == "10:00–10:15 · off beat · no order"
    assert result[3]["label"] == "planned, not visited"
    assert [stop["colour"] for stop in result] == [
        route_map.ON_PLAN_COLOUR,
        route_map.OFF_BEAT_COLOUR,
        route_map.ON_PLAN_COLOUR,
        route_map.MISSED_COLOUR,
    ]


def test_route_map_has_no_raw_names():
    rendered = build_route().map.get_root().render()

    assert HOSTILE not in rendered
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in rendered


def stop_click(index: int, longitude: float, latitude: float) -> dict:
    return {
        "last_active_drawing": {
            "properties": {"call": index},
            "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
        }
    }


def test_click_on_stop_finds_its_call():
    result = route_map.clicked_call(build_route(), stop_click(1, 72.82, 19.02))

    assert list(result["outlet_id"]) == ["o2"]


@pytest.mark.parametrize(
    "state",
    [None, stop_click(4, 72.82, 19.02), stop_click(1, 72.8, 19.0)],
    ids=["nothing clicked", "index past the end", "coordinates of another stop"],
)
def test_click_beside_stops_finds_none(state):
    assert route_map.clicked_call(build_route(), state).empty


def test_calls_table():
    ordered = route_map.order_calls(CALLS, "Asia/Kolkata")

    result = map_details.calls_table(ordered)

    expected = pd.DataFrame(
        {
            "Stop": ["1", "2", "3", "", ""],
            "Time": ["09:10", "10:00", "11:30", "", ""],
            "Outlet": [HOSTILE, "Second", "Only a fix", "Missed shop", "Lost"],
            "Call": ["On plan", "Off beat", "On plan", "Missed", "Missed"],
            "Order value": [1250.0, 0.0, 0.0, 0.0, 0.0],
        }
    )
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)


def test_call_facts_of_visit():
    ordered = route_map.order_calls(CALLS, "Asia/Kolkata")

    result = map_details.call_facts(ordered.iloc[1], "₹")

    assert dict(zip(result["Figure"], result["Value"])) == {
        "Outlet": "Second",
        "Outlet ID": "o2",
        "Call": "Off beat",
        "Check-in": "10:00",
        "Check-out": "10:15",
        "Productive": "No",
        "Order value": "₹0",
        "No-order reason": "stock full",
        # 12.5 m rounds a half away from zero, as the day's table shows it.
        "Check-in distance": "13 m",
    }


def test_call_facts_of_missed_call_without_location():
    ordered = route_map.order_calls(CALLS, "Asia/Kolkata")

    result = map_details.call_facts(ordered.iloc[4])

    assert dict(zip(result["Figure"], result["Value"])) == {
        "Outlet": "Lost",
        "Outlet ID": "o5",
        "Call": "Missed",
        "On the map": "no, the outlet and the check-in have no usable location",
    }


def test_outlet_facts():
    outlet = {
        "outlet_id": "o1",
        "outlet_name": HOSTILE,
        "territory_id": "T1",
        "status": "neglected",
        "channel": None,
        "outlet_class": "A",
        "last_visit_date": date(2026, 2, 1),
        "days_since_visit": 35,
        "visits": 0,
        "order_value": 0.0,
    }

    result = map_details.outlet_facts(outlet, {"T1": "Mumbai <North>"}, "₹")

    assert dict(zip(result["Figure"], result["Value"])) == {
        "Outlet": HOSTILE,
        "Outlet ID": "o1",
        "Status": STATUS_LABELS["neglected"],
        "Territory": "Mumbai <North>",
        "Channel": "",
        "Class": "A",
        "Last visit": "2026-02-01 (35 days ago)",
        "Visits in period": "0",
        "Order value": "₹0",
    }


def test_territory_facts():
    row = {
        "territory_id": "T1", "territory_name": "Mumbai & Co", "active_outlets": 40,
        "visited_outlets": 30, "coverage": 0.75, "skipped_outlets": 4,
        "unplanned_outlets": 2, "neglected_outlets": 3, "not_due_outlets": 1,
        "visits": 55, "strike_rate": 0.6, "beat_compliance": float("nan"),
        "order_value": 12345.6,
    }  # fmt: skip

    result = map_details.territory_facts(row, "₹")

    assert list(result["Value"]) == [
        "Mumbai & Co", "T1", "40", "30", "75%", "4", "2", "3", "1", "55", "60%",
        "–", "₹12,346",
    ]  # fmt: skip


def test_last_visits_table():
    visits = pd.DataFrame(
        {
            "visit_id": ["v2", "v1"],
            "visit_date": [date(2026, 3, 3), date(2026, 2, 20)],
            "check_in": [datetime(2026, 3, 2, 20, 0), datetime(2026, 2, 20, 6, 0)],
            "check_out": [None, None],
            "rep_id": ["r1", "r9"],
            "rep_name": ["Asha <A>", None],
            "productive": [1, 0],
            "order_value": [99.5, 0.0],
            "no_order_reason": [None, "closed"],
        }
    )

    result = map_details.last_visits_table(visits, "Asia/Kolkata")

    expected = pd.DataFrame(
        {
            "Date": [date(2026, 3, 3), date(2026, 2, 20)],
            "Time": ["01:30", "11:30"],
            "Rep": ["Asha <A>", "r9"],
            "Productive": ["Yes", "No"],
            "Order value": [99.5, 0.0],
            "No-order reason": [None, "closed"],
        }
    )
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)


def test_stop_names_never_run_as_template_code():
    code = "{{ 'template' ~ ' ran' }}{% if true %}{% endif %}"
    calls = CALLS.assign(outlet_name=code)
    territories = TERRITORIES.assign(territory_name=code)

    built = route_map.build_route_map(
        calls, OUTLETS, territories, NO_BOUNDARIES, TERRITORIES_REPORT, "UTC"
    )
    rendered = built.map.get_root().render()

    assert "template ran" not in rendered
    assert route_layer(built)["stops"][0]["name"] == code


def test_swapped_outlet_stays_out_of_hull():
    swapped = pd.DataFrame(
        {"territory_id": ["T1"], "latitude": [72.8137], "longitude": [19.0411]}
    )
    outlets = pd.concat([OUTLETS, swapped], ignore_index=True)

    built = route_map.build_route_map(
        CALLS, outlets, TERRITORIES, NO_BOUNDARIES, TERRITORIES_REPORT,
        "Asia/Kolkata", "₹",
    )  # fmt: skip

    page = built.map.get_root().render()
    assert "19.05" in page
    assert "72.8137" not in page
