"""Building the territory map from hand-made outlets reports."""

import html
import json
import logging
from datetime import date

import branca
import folium
import pandas as pd
import pytest

from metrics.status import STATUSES
from pages import outlet_map

HOSTILE = "<img src=x onerror=alert(1)>"

TERRITORIES = pd.DataFrame(
    {
        "territory_id": ["T1", "T2"],
        "territory_name": ["Mumbai <North>", "Pune & Co"],
        "region_id": ["R1", "R1"],
        "region_name": ["West", "West"],
    }
)
TERRITORIES_REPORT = pd.DataFrame(
    {
        "territory_id": ["T1", "T2"],
        "active_outlets": [4, 0],
        "visited_outlets": [1, 0],
        "coverage": [0.25, float("nan")],
    }
)
T1_BOUNDARY = {
    "type": "Polygon",
    "coordinates": [
        [[72.7, 18.9], [72.9, 18.9], [72.9, 19.1], [72.7, 19.1], [72.7, 18.9]]
    ],
}
BOUNDARIES = pd.DataFrame(
    {"territory_id": ["T1"], "geojson": [json.dumps(T1_BOUNDARY)]}
)
NO_BOUNDARIES = pd.DataFrame({"territory_id": [], "geojson": []}, dtype=object)


def outlets_report(rows: list[tuple]) -> pd.DataFrame:
    """An outlets report with map columns from (outlet_id, name, territory_id,
    status, latitude, longitude) rows. The other columns get fixed values."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "outlet_id",
            "outlet_name",
            "territory_id",
            "status",
            "latitude",
            "longitude",
        ],
    )
    frame["last_visit_date"] = [date(2026, 3, 2)] * len(frame)
    frame["days_since_visit"] = pd.array([6] * len(frame), dtype="Int64")
    frame["visits"] = 1
    frame["order_value"] = 10.0
    frame["channel"] = "Grocery"
    frame["outlet_class"] = "B"
    return frame


FIVE_OUTLETS = outlets_report(
    [
        ("o1", "Shop 1", "T1", "visited", 19.00, 72.80),
        ("o2", "Shop 2", "T1", "skipped", 19.01, 72.82),
        ("o3", "Shop 3", "T1", "skipped", None, None),
        ("o4", "Shop 4", "T1", "neglected", 19.03, 72.83),
        ("o5", "Shop 5", "T2", "not_due", 18.52, 73.85),
    ]
)


def build(outlets: pd.DataFrame, **options) -> outlet_map.OutletMap:
    boundaries = options.pop("boundaries", BOUNDARIES)
    return outlet_map.build_outlet_map(
        outlets, TERRITORIES, boundaries, TERRITORIES_REPORT, **options
    )


def layer(built: outlet_map.OutletMap, name: str) -> folium.GeoJson:
    """The map's GeoJSON layer called name."""
    layers = [
        child
        for child in built.map._children.values()
        if isinstance(child, folium.GeoJson) and child.layer_name == name
    ]
    assert len(layers) == 1
    return layers[0]


def outlet_properties(built: outlet_map.OutletMap) -> dict[str, dict]:
    features = layer(built, "Outlets").data["features"]
    return {
        feature["properties"]["outlet_id"]: feature["properties"]
        for feature in features
    }


def test_status_palette_covers_every_status():
    assert tuple(outlet_map.STATUS_COLOURS) == STATUSES
    assert tuple(outlet_map.STATUS_LABELS) == STATUSES


def test_legend_counts_each_status():
    result = build(FIVE_OUTLETS).status_counts

    expected = {
        "visited": 1,
        "skipped": 2,
        "unplanned": 0,
        "neglected": 1,
        "not_due": 1,
    }
    assert result == expected


def test_legend_lists_only_shown_statuses():
    built = build(FIVE_OUTLETS, statuses=["skipped", "visited"])

    assert built.status_counts == {"visited": 1, "skipped": 2}
    assert built.drawn == 2
    assert built.unlocated == 1
    assert sorted(outlet_properties(built)) == ["o1", "o2"]


def test_legend_html_shows_labels_and_counts():
    legends = [
        child
        for child in build(FIVE_OUTLETS).map._children.values()
        if isinstance(child, outlet_map.StatusLegend)
    ]

    assert len(legends) == 1
    assert ">Skipped</span>" in legends[0].html
    assert ">2</span>" in legends[0].html
    assert "background:#D55E00" in legends[0].html


def test_outlets_are_one_geojson_layer_of_circle_markers():
    outlets_layer = layer(build(FIVE_OUTLETS), "Outlets")

    assert isinstance(outlets_layer.marker, folium.CircleMarker)
    assert len(outlets_layer.data["features"]) == 4


def test_outlets_needing_action_are_drawn_last():
    outlets = outlets_report(
        [
            ("o1", "Shop 1", "T1", "skipped", 19.00, 72.80),
            ("o2", "Shop 2", "T1", "not_due", 19.01, 72.81),
            ("o3", "Shop 3", "T1", "visited", 19.02, 72.82),
            ("o4", "Shop 4", "T1", "unplanned", 19.03, 72.83),
            ("o5", "Shop 5", "T1", "neglected", 19.04, 72.84),
        ]
    )

    result = list(outlet_properties(build(outlets)))

    assert result == ["o2", "o4", "o3", "o5", "o1"]


@pytest.mark.parametrize(
    "name",
    [
        HOSTILE,
        "<script>alert(2)</script>",
        'O\'Brien & "Sons"',
        "किराना स्टोर",
        "Fish &amp; Chips",
    ],
)
def test_popup_text_shows_name_exactly(name):
    outlets = outlets_report([("o1", name, "T1", "visited", 19.0, 72.8)])

    result = outlet_properties(build(outlets))["o1"]["name"]

    # Popups insert properties as HTML, so the unescaped property is what shows.
    assert html.unescape(result) == name
    assert "<" not in result
    assert '"' not in result


def test_hostile_name_appears_only_escaped_in_html():
    outlets = outlets_report([("o1", HOSTILE, "T1", "visited", 19.0, 72.8)])
    built = build(outlets)

    rendered = built.map.get_root().render()

    assert HOSTILE not in rendered
    assert "onerror=alert(1)" in rendered
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in rendered


def test_territory_names_are_escaped():
    outlets = outlets_report([("o1", "Shop", "T1", "visited", 19.0, 72.8)])
    built = build(outlets)

    outlines = layer(built, "Territories").data["features"]
    popup_territory = outlet_properties(built)["o1"]["territory"]

    assert outlines[0]["properties"]["territory"] == "Mumbai &lt;North&gt;"
    assert popup_territory == "Mumbai &lt;North&gt;"


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        (19.0, 72.8, True),
        (None, 72.8, False),
        (19.0, None, False),
        (float("nan"), float("nan"), False),
        (0.0, 0.0, False),
        (0.0, 10.0, True),
        (90.0, 180.0, True),
        (90.5, 72.8, False),
        (19.0, -180.5, False),
        # Latitude and longitude swapped: out of range, so left off.
        (-99.13, 19.43, False),
        # Swapped but in range: a real place as far as the map can tell.
        (72.8, 19.0, True),
    ],
)
def test_usable_location(latitude, longitude, expected):
    result = outlet_map.has_usable_location(
        pd.Series([latitude], dtype=object), pd.Series([longitude], dtype=object)
    )

    assert bool(result.iloc[0]) is expected


def test_bad_coordinates_are_left_off_and_counted():
    outlets = outlets_report(
        [
            ("o1", "Shop 1", "T1", "visited", 19.0, 72.8),
            ("o2", "Shop 2", "T1", "skipped", None, None),
            ("o3", "Shop 3", "T1", "skipped", 0.0, 0.0),
            ("o4", "Shop 4", "T1", "neglected", 120.0, 72.8),
            ("o5", "Shop 5", "T1", "neglected", -99.13, 19.43),
            ("o6", "Shop 6", "T2", "not_due", 18.5, 73.9),
        ]
    )

    built = build(outlets)

    assert built.drawn == 2
    assert built.unlocated == 4
    assert sorted(outlet_properties(built)) == ["o1", "o6"]
    assert built.status_counts["neglected"] == 2


def test_stored_boundary_is_the_outline():
    built = build(FIVE_OUTLETS)

    outlines = {
        feature["properties"]["territory_id"]: feature
        for feature in layer(built, "Territories").data["features"]
    }

    assert outlines["T1"]["properties"]["source"] == "boundary"
    assert json.loads(json.dumps(outlines["T1"]["geometry"])) == T1_BOUNDARY
    assert (
        outlines["T1"]["properties"]["coverage"]
        == "Coverage 25% (1 of 4 active outlets)"
    )


def test_hull_outlines_territory_without_boundary():
    outlets = outlets_report(
        [
            ("o1", "Corner SW", "T2", "visited", 18.50, 73.80),
            ("o2", "Corner SE", "T2", "visited", 18.50, 73.90),
            ("o3", "Corner NE", "T2", "visited", 18.60, 73.90),
            ("o4", "Corner NW", "T2", "visited", 18.60, 73.80),
            ("o5", "Inside", "T2", "visited", 18.55, 73.85),
            ("o6", "Off the map", "T2", "visited", 0.0, 0.0),
        ]
    )

    built = build(outlets, boundaries=NO_BOUNDARIES)
    outline = layer(built, "Territories").data["features"][0]

    assert built.outlined_territories == ["T2"]
    assert outline["properties"]["source"] == "hull"
    assert outline["properties"]["coverage"] == "Coverage: no active outlets"
    assert outline["geometry"]["type"] == "Polygon"
    corners = {tuple(point) for point in outline["geometry"]["coordinates"][0]}
    assert corners == {(73.8, 18.5), (73.9, 18.5), (73.9, 18.6), (73.8, 18.6)}


def test_hull_of_two_outlets_is_a_line():
    outlets = outlets_report(
        [
            ("o1", "West", "T2", "visited", 18.5, 73.8),
            ("o2", "East", "T2", "visited", 18.5, 73.9),
        ]
    )

    outline = layer(build(outlets, boundaries=NO_BOUNDARIES), "Territories").data
    geometry = outline["features"][0]["geometry"]

    assert geometry["type"] == "LineString"
    assert [tuple(point) for point in geometry["coordinates"]] == [
        (73.8, 18.5),
        (73.9, 18.5),
    ]


def test_territory_with_one_outlet_has_no_outline():
    outlets = outlets_report([("o1", "Alone", "T2", "visited", 18.5, 73.8)])

    built = build(outlets, boundaries=NO_BOUNDARIES)

    assert built.outlined_territories == []


def test_invalid_boundary_falls_back_to_hull(caplog):
    boundaries = pd.DataFrame(
        {
            "territory_id": ["T1", "T2"],
            "geojson": ["{not json", '{"type": "Point", "coordinates": [1, 2]}'],
        }
    )
    outlets = outlets_report(
        [
            ("o1", "A", "T1", "visited", 19.0, 72.8),
            ("o2", "B", "T1", "visited", 19.1, 72.8),
            ("o3", "C", "T1", "visited", 19.1, 72.9),
        ]
    )

    with caplog.at_level(logging.WARNING, logger="pages.outlet_map"):
        built = build(outlets, boundaries=boundaries)

    outlines = layer(built, "Territories").data["features"]
    assert [feature["properties"]["source"] for feature in outlines] == ["hull"]
    assert built.outlined_territories == ["T1"]
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0].startswith("territory T1: stored outline is not valid GeoJSON")
    assert (
        messages[1]
        == "territory T2: stored outline is a Point, not a Polygon or MultiPolygon"
    )


def test_empty_report_gives_empty_map():
    empty = FIVE_OUTLETS.iloc[0:0]

    built = build(empty, boundaries=NO_BOUNDARIES)
    rendered = built.map.get_root().render()

    assert built.drawn == 0
    assert built.unlocated == 0
    assert built.status_counts == dict.fromkeys(STATUSES, 0)
    assert built.outlined_territories == []
    assert "L.map(" in rendered


def test_map_loads_leaflet_from_data_urls_only():
    built = build(FIVE_OUTLETS)

    # The same walk streamlit-folium makes to collect the links its frame loads.
    def links(element):
        if isinstance(element, branca.element.MacroElement):
            yield from (url for _, url in getattr(element, "default_js", []))
            yield from (url for _, url in getattr(element, "default_css", []))
        for child in getattr(element, "_children", {}).values():
            yield from links(child)

    result = list(links(built.map))

    assert len(result) == 2
    assert result[0].startswith("data:text/javascript;base64,")
    assert result[1].startswith("data:text/css;base64,")


def test_leaflet_stylesheet_has_images_inlined():
    import base64

    stylesheet = outlet_map.leaflet_assets().stylesheet_url.split(",", 1)[1]

    css = base64.b64decode(stylesheet).decode("utf-8")

    assert "url(images/" not in css
    assert "url(data:image/png;base64," in css


def test_missing_leaflet_package_says_run_make_setup():
    with pytest.raises(outlet_map.LeafletMissingError, match="run `make setup`"):
        outlet_map.leaflet_assets("beatboard_no_such_package")


def test_tile_settings_default_to_openstreetmap():
    result = outlet_map.TileSettings.from_environment({"BEATBOARD_TILES_URL": " "})

    assert result.url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert "OpenStreetMap" in result.attribution


def test_tile_settings_from_environment():
    environ = {
        "BEATBOARD_TILES_URL": "https://tiles.example.com/{z}/{x}/{y}.png",
        "BEATBOARD_TILES_ATTRIBUTION": "Example tiles",
    }

    result = outlet_map.TileSettings.from_environment(environ)
    rendered = build(FIVE_OUTLETS, tiles=result).map.get_root().render()

    assert result == outlet_map.TileSettings(
        "https://tiles.example.com/{z}/{x}/{y}.png", "Example tiles"
    )
    assert "https://tiles.example.com/{z}/{x}/{y}.png" in rendered
    assert "tile.openstreetmap.org" not in rendered


def test_last_visit_text():
    last_visit = pd.Series([date(2026, 3, 2), date(2026, 3, 8), date(2026, 3, 7), None])
    days = pd.Series(pd.array([6, 0, 1, pd.NA], dtype="Int64"))

    result = list(outlet_map.describe_last_visit(last_visit, days))

    assert result == [
        "2026-03-02 (6 days ago)",
        "2026-03-08 (today)",
        "2026-03-07 (1 day ago)",
        "none",
    ]


def test_clicked_point_finds_outlets_there():
    outlets = outlets_report(
        [
            ("o1", "Shop 1", "T1", "visited", 19.0, 72.8),
            ("o2", "Same place", "T1", "skipped", 19.0, 72.8),
            ("o3", "Elsewhere", "T1", "visited", 19.1, 72.8),
        ]
    )

    result = outlet_map.outlets_at(outlets, {"lat": 19.0, "lng": 72.8})

    assert list(result["outlet_id"]) == ["o1", "o2"]


def test_clicked_point_ignores_hidden_statuses():
    outlets = outlets_report(
        [
            ("o1", "Shop 1", "T1", "visited", 19.0, 72.8),
            ("o2", "Same place", "T1", "skipped", 19.0, 72.8),
        ]
    )

    result = outlet_map.outlets_at(outlets, {"lat": 19.0, "lng": 72.8}, ["skipped"])

    assert list(result["outlet_id"]) == ["o2"]


@pytest.mark.parametrize(
    "clicked",
    [
        None,
        {},
        {"lat": None, "lng": None},
        {"lat": 19.0005, "lng": 72.8},
        {"lat": 0.0, "lng": 0.0},
    ],
)
def test_click_beside_outlets_finds_none(clicked):
    outlets = outlets_report(
        [
            ("o1", "Shop 1", "T1", "visited", 19.0, 72.8),
            ("o2", "Null island", "T1", "skipped", 0.0, 0.0),
        ]
    )

    result = outlet_map.outlets_at(outlets, clicked)

    assert result.empty


def test_outlet_details_are_plain_text():
    outlets = outlets_report([("o1", HOSTILE, "T1", "neglected", 19.0, 72.8)])

    result = (
        outlet_map.outlet_details(outlets, {"T1": "Mumbai <North>"}).iloc[0].to_dict()
    )

    expected = {
        "Outlet": HOSTILE,
        "Status": "Neglected",
        "Last visit": date(2026, 3, 2),
        "Days since visit": 6,
        "Visits in period": 1,
        "Order value": 10.0,
        "Territory": "Mumbai <North>",
        "Channel": "Grocery",
        "Outlet ID": "o1",
    }
    assert result == expected
