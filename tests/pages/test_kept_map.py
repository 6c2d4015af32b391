"""A prepared map sends streamlit-folium's component what st_folium sends."""

from typing import Any

import branca
import folium
import pytest
import streamlit_folium

from pages import kept_map
from tests.pages.test_outlet_map import FIVE_OUTLETS, NO_BOUNDARIES, build

RETURNED = ["last_active_drawing"]


class ComponentCalls:
    """A fake of streamlit-folium's component function that records its arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **arguments: Any) -> dict:
        self.calls.append(arguments)
        return {"last_active_drawing": None}


@pytest.fixture
def component(monkeypatch) -> ComponentCalls:
    calls = ComponentCalls()
    monkeypatch.setattr(streamlit_folium, "_component_func", calls)
    return calls


def sent_by_st_folium(component: ComponentCalls, folium_map: folium.Map) -> dict:
    streamlit_folium.st_folium(
        folium_map,
        key="territory_map",
        height=620,
        use_container_width=True,
        returned_objects=RETURNED,
    )
    return component.calls[-1]


def sent_when_prepared(component: ComponentCalls, folium_map: folium.Map) -> dict:
    prepared = kept_map.prepare_map(folium_map, "territory_map", RETURNED)
    kept_map.draw_prepared_map(prepared, 620, RETURNED)
    return component.calls[-1]


def without_callback(arguments: dict[str, Any]) -> dict[str, Any]:
    """Drop on_change from the arguments, because it is a new closure on every call."""
    return {name: value for name, value in arguments.items() if name != "on_change"}


@pytest.mark.parametrize("mode", ["status", "neglect"])
def test_prepared_map_matches_st_folium(component, mode):
    expected = sent_by_st_folium(component, build(FIVE_OUTLETS, mode=mode).map)
    result = sent_when_prepared(component, build(FIVE_OUTLETS, mode=mode).map)

    assert without_callback(result) == without_callback(expected)
    assert "BeatboardMap.addOutlets" in result["script"]


def test_map_without_outlines_matches_st_folium(component):
    expected = sent_by_st_folium(
        component, build(FIVE_OUTLETS, boundaries=NO_BOUNDARIES).map
    )
    result = sent_when_prepared(
        component, build(FIVE_OUTLETS, boundaries=NO_BOUNDARIES).map
    )

    assert without_callback(result) == without_callback(expected)


def test_colour_map_loads_d3_as_st_folium(component):
    def coloured() -> folium.Map:
        built = build(FIVE_OUTLETS).map
        branca.colormap.LinearColormap(["#ffffff", "#000000"]).add_to(built)
        return built

    expected = sent_by_st_folium(component, coloured())
    result = sent_when_prepared(component, coloured())

    assert result["js_links"] == expected["js_links"]
    assert result["js_links"][:2] == [kept_map.D3_V4_URL, kept_map.D3_V3_URL]


def test_prepared_map_sent_twice_unchanged(component):
    prepared = kept_map.prepare_map(build(FIVE_OUTLETS).map, "territory_map", RETURNED)
    kept_map.draw_prepared_map(prepared, 620, RETURNED)
    kept_map.draw_prepared_map(prepared, 620, RETURNED)

    first, second = component.calls
    assert without_callback(first) == without_callback(second)
