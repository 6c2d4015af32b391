"""Draw a folium map through streamlit-folium's component, rendered once.

st_folium renders the whole map to HTML and JavaScript on every run of the
page, and then scans that text with regular expressions. The territory map's
script carries every outlet: 1.8 million characters for a company of 155,000
outlets, where this took about 0.1 s of each rerun that only redraws the same
map (cProfile, 2 shared cores). prepare_map computes once the arguments that
st_folium sends to its component, and draw_prepared_map sends them again.

NOTE: prepare_map and draw_prepared_map repeat the steps of st_folium in
streamlit-folium 0.27.4 (pinned in requirements.txt) and call its private
component function. tests/pages/test_kept_map.py checks that they send the
same arguments as st_folium; rerun it after an upgrade.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import branca
import folium
import folium.elements
import streamlit as st
import streamlit_folium

# The d3 builds that st_folium loads for a colour map (branca's ColorMap).
D3_V4_URL = "https://d3js.org/d3.v4.min.js"
D3_V3_URL = "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js"


@dataclass(frozen=True)
class PreparedMap:
    """A folium map and the component arguments that st_folium derives from it.

    key is the map's widget key on the page, and component_key the key
    st_folium derives from it and the script. script is the map's Leaflet
    JavaScript, header and html its page parts, and map_id the name of its
    div. defaults is the component's value before any click, and css_links
    and js_links are the files it loads (here data: URLs).
    """

    map: folium.Map
    key: str
    component_key: str
    script: str
    header: str
    html: str
    map_id: str
    defaults: dict[str, Any]
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]


def prepare_map(
    folium_map: folium.Map, key: str, returned_objects: Sequence[str]
) -> PreparedMap:
    """Render a map once, as st_folium(map, key=key, ...) does before it draws
    the component.

    Rendering renames the map's elements, so the map must not be rendered or
    drawn elsewhere afterwards.
    """
    folium_map.get_root().render()
    folium_map.render()
    # st_folium reads html and header before the script, which renames elements.
    html = streamlit_folium._get_html(folium_map)
    header = streamlit_folium._get_header(folium_map)
    script = streamlit_folium._get_map_string(folium_map)
    map_id = streamlit_folium.get_full_id(folium_map)

    south_west, north_east = folium_map.get_bounds()
    every_default = {
        "last_clicked": None,
        "last_object_clicked": None,
        "last_object_clicked_count": None,
        "last_object_clicked_tooltip": None,
        "last_object_clicked_popup": None,
        "all_drawings": None,
        "last_active_drawing": None,
        "bounds": {
            "_southWest": {"lat": south_west[0], "lng": south_west[1]},
            "_northEast": {"lat": north_east[0], "lng": north_east[1]},
        },
        "zoom": folium_map.options.get("zoom"),
        "last_circle_radius": None,
        "last_circle_polygon": None,
        "selected_layers": None,
        "selected_tags": None,
        "last_geocoder_result": None,
    }
    defaults = {
        name: value for name, value in every_default.items() if name in returned_objects
    }

    css_links: list[str] = []
    js_links: list[str] = []
    for element in _elements(folium_map):
        if isinstance(element, branca.colormap.ColorMap):
            js_links[:0] = [D3_V4_URL, D3_V3_URL]
        css_links.extend(href for _, href in getattr(element, "default_css", []))
        js_links.extend(src for _, src in getattr(element, "default_js", []))
    return PreparedMap(
        map=folium_map,
        key=key,
        # The key's hash scans the whole script, so it is computed once too.
        component_key=streamlit_folium.generate_js_hash(script, key, False),
        script=script,
        header=header,
        html=html,
        map_id=map_id,
        defaults=defaults,
        css_links=tuple(dict.fromkeys(css_links)),
        js_links=tuple(dict.fromkeys(js_links)),
    )


def _elements(element: Any) -> Iterator[Any]:
    # The elements that st_folium collects CSS and script links from.
    if isinstance(element, (branca.colormap.ColorMap, folium.elements.JSCSSMixin)):
        yield element
    for child in getattr(element, "_children", {}).values():
        yield from _elements(child)


def draw_prepared_map(
    prepared: PreparedMap, height: int, returned_objects: Sequence[str]
) -> dict | None:
    """Draw a prepared map across its container, as st_folium(map, key=key,
    height=height, use_container_width=True, returned_objects=...) draws
    it, and return the component's value: the returned_objects of the
    viewer's last interaction, or the defaults."""
    component_key = prepared.component_key

    def keep_value() -> None:
        st.session_state[prepared.key] = st.session_state.get(component_key, {})

    return streamlit_folium._component_func(
        script=prepared.script,
        header=prepared.header,
        html=prepared.html,
        id=prepared.map_id,
        key=component_key,
        height=height,
        width=None,
        returned_objects=list(returned_objects),
        default=prepared.defaults,
        zoom=None,
        center=None,
        feature_group=None,
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=list(prepared.css_links),
        js_links=list(prepared.js_links),
        on_change=keep_value,
        wrap_longitude=False,
    )
