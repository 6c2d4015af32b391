"""Building the territory map from hand-made outlets reports."""

import base64
import json
import logging
from datetime import date

import branca
import folium
import numpy as np
import pandas as pd
import pytest

from metrics.status import STATUSES
from pages import outlet_map
from pages.map_payload import OutletPayload, decode_outlets

HOSTILE = "<img src=x onerror=alert(1)>"
# Jinja code that would print "template ran" if it were ever evaluated.
TEMPLATE_CODE = "{{ 'template' ~ ' ran' }}{% if true %}{% endif %}{# c #}"

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
    status, latitude, longitude) rows. The other columns get fixed values;
    outlets other than visited and not due are overdue."""
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
    frame["overdue"] = ~frame["status"].isin(["visited", "not_due"])
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
    options.setdefault("period_end", date(2026, 3, 8))
    return outlet_map.build_outlet_map(
        outlets, TERRITORIES, boundaries, TERRITORIES_REPORT, **options
    )


def children(built: outlet_map.OutletMap, kind: type) -> list:
    return [child for child in built.map._children.values() if isinstance(child, kind)]


def outlines(built: outlet_map.OutletMap) -> list[dict]:
    """The features of the map's territory outline layer."""
    layers = [
        child
        for child in children(built, folium.GeoJson)
        if child.layer_name == "Territories"
    ]
    assert len(layers) == 1
    return layers[0].data["features"]


def drawn(built: outlet_map.OutletMap) -> pd.DataFrame:
    """The outlets of the map's payload, unpacked as the browser does, with
    the outlet_id of each from the map's index."""
    payload = built.layer.payload
    unpacked = decode_outlets(
        OutletPayload(payload["count"], payload["data"], tuple(payload["territories"]))
    )
    unpacked.insert(0, "label", list(built.layer.drawn_index))
    return unpacked


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
    assert sorted(FIVE_OUTLETS.loc[built.layer.drawn_index, "outlet_id"]) == [
        "o1",
        "o2",
    ]


def test_legend_html_shows_labels_and_counts():
    legends = children(build(FIVE_OUTLETS), outlet_map.Legend)

    assert len(legends) == 1
    assert ">Skipped</span>" in legends[0].html
    assert ">2</span>" in legends[0].html
    assert "background:#D55E00" in legends[0].html


def test_outlets_are_one_compact_layer():
    built = build(FIVE_OUTLETS)
    layers = children(built, outlet_map.OutletLayer)

    assert len(layers) == 1
    assert layers[0].payload["count"] == 4
    assert layers[0].payload["periodEnd"] == "2026-03-08"
    assert children(built, folium.CircleMarker) == []


def test_payload_carries_each_outlet():
    result = drawn(build(FIVE_OUTLETS)).set_index("label").sort_index()

    expected = pd.DataFrame(
        {
            "latitude": [19.00, 19.01, 19.03, 18.52],
            "longitude": [72.80, 72.82, 72.83, 73.85],
            "outlet_name": ["Shop 1", "Shop 2", "Shop 4", "Shop 5"],
            "territory": [
                "Mumbai <North>",
                "Mumbai <North>",
                "Mumbai <North>",
                "Pune & Co",
            ],
            "status": ["visited", "skipped", "neglected", "not_due"],
            "overdue": [False, True, True, False],
        },
        index=pd.Index([0, 1, 3, 4], name="label"),
    )
    pd.testing.assert_frame_equal(result[expected.columns], expected)
    assert list(result["days_since_visit"]) == [6, 6, 6, 6]


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

    result = list(outlets.loc[build(outlets).layer.drawn_index, "outlet_id"])

    assert result == ["o2", "o4", "o3", "o5", "o1"]


@pytest.mark.parametrize(
    "name",
    [
        HOSTILE,
        "<script>alert(2)</script>",
        'O\'Brien & "Sons" `tick`',
        "किराना स्टोर",
        "Fish &amp; Chips",
        TEMPLATE_CODE,
        "",
    ],
)
def test_payload_keeps_name_exactly(name):
    outlets = outlets_report([("o1", name, "T1", "visited", 19.0, 72.8)])

    result = drawn(build(outlets))["outlet_name"].iloc[0]

    assert result == name


def test_hostile_names_never_reach_html_raw():
    outlets = outlets_report([("o1", HOSTILE, "T1", "visited", 19.0, 72.8)])
    territories = TERRITORIES.assign(territory_name=[HOSTILE, "<script>x</script>"])

    built = outlet_map.build_outlet_map(
        outlets, territories, BOUNDARIES, TERRITORIES_REPORT
    )
    rendered = built.map.get_root().render()

    assert HOSTILE not in rendered
    assert "<script>x" not in rendered
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in rendered
    assert (
        outlines(built)[0]["properties"]["name"] == "&lt;img src=x onerror=alert(1)&gt;"
    )


def test_names_never_run_as_template_code():
    outlets = outlets_report([("o1", TEMPLATE_CODE, "T1", "visited", 19.0, 72.8)])
    territories = TERRITORIES.assign(territory_name=[TEMPLATE_CODE, TEMPLATE_CODE])

    built = outlet_map.build_outlet_map(
        outlets, territories, BOUNDARIES, TERRITORIES_REPORT
    )
    rendered = built.map.get_root().render()

    assert "template ran" not in rendered
    assert "\\u007b{ \\u0027template\\u0027 ~ " in rendered
    assert "}}\\u007b% if true %}\\u007b% endif %}\\u007b# c #}" in rendered
    assert outlines(built)[0]["properties"]["name"] == (
        "&#123;&#123; &#x27;template&#x27; ~ &#x27; ran&#x27; &#125;&#125;"
        "&#123;% if true %&#125;&#123;% endif %&#125;&#123;# c #&#125;"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", '"plain"'),
        ("<b>&'", '"\\u003cb\\u003e\\u0026\\u0027"'),
        ("{{ x }}", '"\\u007b{ x }}"'),
        ("{% x %}{# y #}", '"\\u007b% x %}\\u007b# y #}"'),
        ({"a": {"b": [1, {"c": "{"}]}}, '{"a": {"b": [1, {"c": "{"}]}}'),
    ],
)
def test_safe_json(value, expected):
    result = outlet_map.safe_json(value)

    assert result == expected
    assert json.loads(result) == value


def test_territory_names_are_escaped_in_outlines():
    outlets = outlets_report([("o1", "Shop", "T1", "visited", 19.0, 72.8)])

    built = build(outlets)

    assert outlines(built)[0]["properties"]["name"] == "Mumbai &lt;North&gt;"
    assert built.layer.payload["territories"] == ["Mumbai <North>"]


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
        # Swapped but in range: usable on its own, and looks_swapped then
        # compares it with the other outlets.
        (72.8, 19.0, True),
    ],
)
def test_usable_location(latitude, longitude, expected):
    result = outlet_map.has_usable_location(
        pd.Series([latitude], dtype=object), pd.Series([longitude], dtype=object)
    )

    assert bool(result.iloc[0]) is expected


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        # Mumbai as stored, and the same place with the coordinates swapped,
        # which lands in the Barents Sea.
        (19.02, 72.81, False),
        (72.81, 19.02, True),
        # Another real place far from the others whose swap lands nowhere near
        # them: kept as it is.
        (51.5, -0.12, False),
        # Swapped, but out of range once swapped back: not a swap.
        (45.0, 120.0, False),
    ],
)
def test_swapped_location_among_others(latitude, longitude, expected):
    others = [(19.0, 72.8), (19.01, 72.82), (19.03, 72.83), (18.52, 73.85)]
    latitudes = pd.Series([lat for lat, _ in others] + [latitude])
    longitudes = pd.Series([lng for _, lng in others] + [longitude])

    result = outlet_map.looks_swapped(latitudes, longitudes)

    assert list(result) == [False, False, False, False, expected]


def test_swapped_location_needs_others():
    latitudes = pd.Series([72.81, 19.0])
    longitudes = pd.Series([19.02, 72.8])

    result = outlet_map.looks_swapped(latitudes, longitudes)

    assert list(result) == [False, False]


def test_swapped_outlet_is_left_off_and_counted():
    outlets = outlets_report(
        [
            ("o1", "Shop 1", "T1", "visited", 19.00, 72.80),
            ("o2", "Shop 2", "T1", "skipped", 19.01, 72.82),
            ("o3", "Swapped", "T1", "unplanned", 72.81, 19.02),
            ("o4", "Shop 4", "T1", "neglected", 19.03, 72.83),
        ]
    )

    built = build(outlets, boundaries=NO_BOUNDARIES)
    hull = outlines(built)[0]["geometry"]["coordinates"][0]

    assert built.drawn == 3
    assert built.unlocated == 1
    assert built.status_counts["unplanned"] == 1
    assert max(latitude for _, latitude in hull) == 19.03
    assert built.layer.bounds == [[19.0, 72.8], [19.03, 72.83]]


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
    assert sorted(outlets.loc[built.layer.drawn_index, "outlet_id"]) == ["o1", "o6"]
    assert built.status_counts["neglected"] == 2


def test_neglect_mode_draws_every_located_outlet():
    built = build(FIVE_OUTLETS, mode="neglect", statuses=["visited"])
    legends = children(built, outlet_map.Legend)

    assert built.drawn == 4
    assert built.unlocated == 1
    assert built.status_counts == {}
    assert built.layer.options["mode"] == "neglect"
    assert (
        "2 of 4 outlets on the map had no visit in the last 28 days." in legends[0].html
    )


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="map mode 'heat' is unknown"):
        build(FIVE_OUTLETS, mode="heat")


def test_stored_boundary_is_the_outline():
    features = outlines(build(FIVE_OUTLETS))

    assert [feature["properties"]["territory"] for feature in features] == [0]
    assert features[0]["properties"]["source"] == "boundary"
    assert json.loads(json.dumps(features[0]["geometry"])) == T1_BOUNDARY
    assert (
        features[0]["properties"]["coverage"] == "Coverage 25% (1 of 4 active outlets)"
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
    outline = outlines(built)[0]

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

    geometry = outlines(build(outlets, boundaries=NO_BOUNDARIES))[0]["geometry"]

    assert geometry["type"] == "LineString"
    assert sorted(tuple(point) for point in geometry["coordinates"]) == [
        (73.8, 18.5),
        (73.9, 18.5),
    ]


@pytest.mark.parametrize(
    "places",
    [[(18.5, 73.8)], [(18.5, 73.8), (18.5, 73.8)]],
    ids=["one outlet", "two outlets at one place"],
)
def test_territory_at_one_place_has_no_outline(places):
    outlets = outlets_report(
        [
            (f"o{i}", "Alone", "T2", "visited", lat, lng)
            for i, (lat, lng) in enumerate(places)
        ]
    )

    built = build(outlets, boundaries=NO_BOUNDARIES)

    assert built.outlined_territories == []


THREE_T1_OUTLETS = outlets_report(
    [
        ("o1", "A", "T1", "visited", 19.0, 72.8),
        ("o2", "B", "T1", "visited", 19.1, 72.8),
        ("o3", "C", "T1", "visited", 19.1, 72.9),
    ]
)


def test_invalid_boundary_falls_back_to_hull(caplog):
    boundaries = pd.DataFrame(
        {
            "territory_id": ["T1", "T2"],
            "geojson": ["{not json", '{"type": "Point", "coordinates": [1, 2]}'],
        }
    )
    with caplog.at_level(logging.WARNING, logger="pages.map_outlines"):
        built = build(THREE_T1_OUTLETS, boundaries=boundaries)

    assert [feature["properties"]["source"] for feature in outlines(built)] == ["hull"]
    assert built.outlined_territories == ["T1"]
    assert built.unusable_outlines == ["Mumbai <North> (T1)", "Pune & Co (T2)"]
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0].startswith("territory T1: stored outline is not valid GeoJSON")
    assert (
        messages[1]
        == "territory T2: stored outline is a Point, not a Polygon or MultiPolygon"
    )


@pytest.mark.parametrize(
    ("geojson", "reason"),
    [
        (
            '{"type": "Polygon", "coordinates": '
            "[[[NaN, 19.0], [72.9, 19.0], [72.9, 19.1], [NaN, 19.0]]]}",
            "not valid GeoJSON",
        ),
        (
            '{"type": "Polygon", "coordinates": '
            "[[[Infinity, 19.0], [72.9, 19.0], [72.9, 19.1], [72.7, 19.0]]]}",
            "not a finite number",
        ),
        ("[" * 100_000 + "]" * 100_000, "not valid GeoJSON"),
        ('{"type": "Polygon", "coordinates": []}', "has no coordinates"),
        (
            '{"type": "Polygon", "coordinates": '
            "[[[72.7, 19.0], [72.9, 19.0], [72.7, 19.0]]]}",
            "encloses no area",
        ),
        # Points on a slanted line, to which rounding gives an area of 9e-16.
        (
            '{"type": "Polygon", "coordinates": '
            "[[[77.0, 28.0], [77.1, 28.1], [77.2, 28.2], [77.0, 28.0]]]}",
            "encloses no area",
        ),
        ('{"type": "FeatureCollection", "features": []}', "not valid GeoJSON"),
        (
            '{"type": "Polygon", "coordinates": '
            f"[[[{'9' * 400}, 19.0], [72.9, 19.0], [72.9, 19.1], [72.7, 19.0]]]}}",
            "not valid GeoJSON",
        ),
        (
            '{"type": "Polygon", "coordinates": '
            "[[[1e308, 19.0], [72.9, 19.0], [72.9, 19.1], [1e308, 19.0]]]}",
            "longitude outside -180 to 180",
        ),
    ],
)
def test_unusable_boundary_gives_hull(geojson, reason, caplog):
    boundaries = pd.DataFrame({"territory_id": ["T1"], "geojson": [geojson]})
    with caplog.at_level(logging.WARNING, logger="pages.map_outlines"):
        built = build(THREE_T1_OUTLETS, boundaries=boundaries)

    assert [feature["properties"]["source"] for feature in outlines(built)] == ["hull"]
    assert reason in caplog.records[0].getMessage()
    assert built.unusable_outlines == ["Mumbai <North> (T1)"]


def test_boundary_heights_are_dropped():
    # A third coordinate, here NaN, is a height that the map does not draw.
    geojson = (
        '{"type": "Polygon", "coordinates": [[[72.7, 18.9, NaN], [72.9, 18.9, NaN], '
        "[72.9, 19.1, NaN], [72.7, 18.9, NaN]]]}"
    )
    boundaries = pd.DataFrame({"territory_id": ["T1"], "geojson": [geojson]})

    built = build(THREE_T1_OUTLETS, boundaries=boundaries)

    [outline] = outlines(built)
    assert outline["properties"]["source"] == "boundary"
    assert {len(point) for point in outline["geometry"]["coordinates"][0]} == {2}
    assert built.unusable_outlines == []


def test_text_coordinates_are_unlocated():
    # What SQLite returns when another program wrote text into the REAL
    # columns: the values stay text, in a column of Python objects.
    outlets = outlets_report(
        [
            ("o1", "A", "T1", "visited", 19.0, 72.8),
            ("o2", "B", "T1", "skipped", "18,97", "72,87"),
            ("o3", "C", "T1", "skipped", "", ""),
            ("o4", "D", "T1", "neglected", "19.1", " 72.9 "),
            ("o5", "E", "T1", "visited", 19.1, 72.9),
        ]
    )
    assert outlets["latitude"].dtype == object

    built = build(outlets, boundaries=NO_BOUNDARIES)

    assert built.drawn == 2
    assert built.unlocated == 3
    assert sorted(drawn(built)["outlet_name"]) == ["A", "E"]


def test_empty_report_gives_empty_map():
    empty = FIVE_OUTLETS.iloc[0:0]

    built = build(empty, boundaries=NO_BOUNDARIES)
    rendered = built.map.get_root().render()

    assert built.drawn == 0
    assert built.unlocated == 0
    assert built.status_counts == dict.fromkeys(STATUSES, 0)
    assert built.outlined_territories == []
    assert built.layer.payload["count"] == 0
    assert "L.map(" in rendered


def test_first_view_ignores_stray_outlets():
    rng = np.random.default_rng(5)
    rows = [
        (
            f"o{i}",
            "Shop",
            "T1",
            "visited",
            19 + rng.random() / 10,
            72.8 + rng.random() / 10,
        )
        for i in range(300)
    ]
    rows.append(("stray", "Stray", "T1", "visited", -33.9, 151.2))

    bounds = build(outlets_report(rows)).layer.bounds

    assert 19.0 <= bounds[0][0] < bounds[1][0] <= 19.1
    assert 72.8 <= bounds[0][1] < bounds[1][1] <= 72.9


def test_view_key_keeps_the_view():
    rendered = build(FIVE_OUTLETS, view_key="abc").map.get_root().render()

    assert "BeatboardMap.keepView(map_" in rendered
    assert '"abc");' in rendered


def test_map_loads_scripts_from_data_urls_only():
    built = build(FIVE_OUTLETS)

    # The same walk streamlit-folium makes to collect the links its frame loads.
    def links(element):
        if isinstance(element, branca.element.MacroElement):
            yield from (url for _, url in getattr(element, "default_js", []))
            yield from (url for _, url in getattr(element, "default_css", []))
        for child in getattr(element, "_children", {}).values():
            yield from links(child)

    result = list(links(built.map))

    assert len(result) == 3
    assert result[0].startswith("data:text/javascript;base64,")
    assert result[1].startswith("data:text/javascript;base64,")
    assert result[2].startswith("data:text/css;base64,")
    layers_script = base64.b64decode(result[1].split(",", 1)[1]).decode("utf-8")
    assert "BeatboardMap" in layers_script
    assert "innerHTML" not in layers_script


def test_leaflet_stylesheet_has_images_inlined():
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


# Clicks


SAME_PLACE = outlets_report(
    [
        ("o1", "Shop 1", "T1", "visited", 19.0, 72.8),
        ("o2", "Same place", "T1", "skipped", 19.0, 72.8),
        ("o3", "Elsewhere", "T1", "visited", 19.1, 72.8),
    ]
)


def click(index: object, longitude: float, latitude: float) -> dict:
    """st_folium's state after a click on an outlet of the payload."""
    return {
        "last_active_drawing": {
            "type": "Feature",
            "properties": {"outlet": index},
            "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
        }
    }


def position_of(built: outlet_map.OutletMap, outlet_id: str) -> int:
    labels = list(built.layer.drawn_index)
    return labels.index(SAME_PLACE.index[SAME_PLACE["outlet_id"] == outlet_id][0])


def test_click_finds_outlet_and_its_neighbours():
    built = build(SAME_PLACE)

    result = outlet_map.clicked_outlets(
        built, SAME_PLACE, click(position_of(built, "o1"), 72.8, 19.0)
    )

    assert list(result["outlet_id"]) == ["o1", "o2"]


def test_click_on_other_outlet_lists_it_first():
    built = build(SAME_PLACE)

    result = outlet_map.clicked_outlets(
        built, SAME_PLACE, click(position_of(built, "o3"), 72.8, 19.1)
    )

    assert list(result["outlet_id"]) == ["o3"]


@pytest.mark.parametrize(
    "state",
    [
        None,
        {},
        {"last_active_drawing": None},
        {"last_active_drawing": {"properties": {"territory": 0}}},
        click(7, 72.8, 19.0),
        click(-1, 72.8, 19.0),
        click("0", 72.8, 19.0),
        click(0, 72.9, 19.0),
        {"last_active_drawing": {"properties": {"outlet": 0}, "geometry": None}},
    ],
    ids=[
        "no state",
        "empty state",
        "nothing clicked",
        "territory",
        "index past the end",
        "negative index",
        "index as text",
        "coordinates of another outlet",
        "no geometry",
    ],
)
def test_click_that_hit_no_outlet_finds_none(state):
    result = outlet_map.clicked_outlets(build(SAME_PLACE), SAME_PLACE, state)

    assert result.empty


def test_clicked_properties_of_territory():
    state = {"last_active_drawing": {"properties": {"territory": 1, "name": "x"}}}

    result = outlet_map.clicked_properties(state)

    assert result == {"territory": 1, "name": "x"}
