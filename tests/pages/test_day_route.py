"""Off-site check-ins on the map of a rep's day."""

from datetime import date, datetime

import folium
import pandas as pd

from pages import day_route, route_map

HOSTILE = "<img src=x onerror=alert(1)>"
CALL_COLUMNS = [
    "call_date", "outlet_id", "outlet_name", "outlet_class", "outlet_latitude",
    "outlet_longitude", "planned", "visit_id", "check_in", "check_out",
    "latitude", "longitude", "distance_m", "productive", "order_value",
    "no_order_reason", "other_visit_date",
]  # fmt: skip


def call(outlet_id, name, visit_id, check_in, fix, distance_m) -> dict:
    row = dict.fromkeys(CALL_COLUMNS)
    row.update(
        call_date=date(2026, 3, 4),
        outlet_id=outlet_id,
        outlet_name=name,
        outlet_latitude=19.0,
        outlet_longitude=72.83,
        planned=1,
        visit_id=visit_id,
        check_in=check_in,
        latitude=fix[0],
        longitude=fix[1],
        distance_m=distance_m,
        productive=0,
        order_value=0.0,
    )
    return row


CALLS = pd.DataFrame(
    [
        call("o4", HOSTILE, "v4", datetime(2026, 3, 4, 11, 0), (19.01, 72.83), 1111.95),
        call("o3", "On site", "v3", datetime(2026, 3, 4, 10, 0), (19.0, 72.8301), 10.5),
        # Far away but without a usable fix: data health counts it, the map cannot.
        call("o7", "No fix", "v7", datetime(2026, 3, 4, 12, 0), (0.0, 0.0), None),
        call("o8", "Missed", None, None, (None, None), None),
    ],
    columns=CALL_COLUMNS,
)


def built_route() -> route_map.RouteMap:
    return route_map.build_route_map(
        CALLS,
        pd.DataFrame(
            {"territory_id": ["T1"], "latitude": [19.0], "longitude": [72.83]}
        ),
        pd.DataFrame({"territory_id": ["T1"], "territory_name": ["Mumbai"]}),
        pd.DataFrame({"territory_id": [], "geojson": []}, dtype=object),
        pd.DataFrame(
            {
                "territory_id": ["T1"],
                "active_outlets": [4],
                "visited_outlets": [2],
                "coverage": [0.5],
            }
        ),
        "UTC",
    )


def markers(route: folium.Map) -> list[folium.CircleMarker]:
    return [
        child
        for child in route._children.values()
        if isinstance(child, folium.CircleMarker)
    ]


def test_only_drawable_off_site_visits_are_marked():
    result = day_route.off_site_calls(CALLS, 300.0)

    assert list(result["visit_id"]) == ["v4"]


def test_off_site_check_in_gets_a_dot_and_a_line():
    built = built_route()

    result = day_route.mark_off_site_check_ins(built.map, built.calls, 300.0)

    assert result == 1
    dots = markers(built.map)
    assert [dot.location for dot in dots] == [[19.01, 72.83]]
    lines = [
        child
        for child in built.map._children.values()
        if isinstance(child, folium.PolyLine)
    ]
    assert [line.locations for line in lines] == [[[19.0, 72.83], [19.01, 72.83]]]


def test_off_site_tooltip_is_escaped():
    built = built_route()
    day_route.mark_off_site_check_ins(built.map, built.calls, 300.0)

    result = built.map.get_root().render()

    assert HOSTILE not in result
    assert "Stop 2, &lt;img src=x onerror=alert(1)&gt;: checked in 1,112 m" in result


def test_describe_off_site_names_the_stop():
    row = pd.Series({"outlet_name": "Shop 4", "stop": 2, "distance_m": 1111.95})

    result = day_route.describe_off_site(row)

    assert result == "Stop 2, Shop 4: checked in 1,112 m from the outlet"


def test_day_without_off_site_visits_is_unchanged():
    built = built_route()
    before = len(built.map._children)

    result = day_route.mark_off_site_check_ins(built.map, built.calls, 5000.0)

    assert result == 0
    assert len(built.map._children) == before


def test_tooltip_text_cannot_leave_the_template_literal():
    result = day_route.tooltip_html("Shop `${alert(1)}` \\u0060 <b>")

    assert result == "Shop &#96;&#36;&#123;alert(1)&#125;&#96; &#92;u0060 &lt;b&gt;"


def test_tooltip_text_cannot_run_as_a_template():
    built = built_route()
    calls = built.calls.copy()
    calls.loc[calls["visit_id"] == "v4", "outlet_name"] = "{{ 'template' ~ ' ran' }}"

    day_route.mark_off_site_check_ins(built.map, calls, 300.0)

    result = built.map.get_root().render()
    assert "template ran" not in result
    assert "&#123;&#123; &#x27;template&#x27; ~ &#x27; ran&#x27; &#125;&#125;" in result
