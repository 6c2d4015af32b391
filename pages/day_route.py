"""Mark off-site check-ins on the map of a rep's day.

pages/route_map.py draws each stop at its outlet. A visit logged far from
its outlet also gets a dark dot where the phone checked in and a dashed line
to the outlet, which shows at a glance the stops logged from elsewhere. This
module never imports streamlit.
"""

import html

import folium
import pandas as pd

from pages.formatting import count
from pages.outlet_map import (
    Legend,
    fit_view,
    has_usable_location,
    legend_box,
    legend_row,
)

OFF_SITE_COLOUR = "#1B1B1B"


def off_site_calls(calls: pd.DataFrame, off_site_m: float) -> pd.DataFrame:
    """Select the visits whose check-in fix lies farther than off_site_m from
    the outlet and that can be drawn, because both places are usable."""
    distance = pd.to_numeric(calls["distance_m"], errors="coerce").astype(float)
    drawable = has_usable_location(calls["latitude"], calls["longitude"]) & (
        has_usable_location(calls["outlet_latitude"], calls["outlet_longitude"])
    )
    return calls[calls["visit_id"].notna() & (distance > off_site_m) & drawable]


def describe_off_site(call: pd.Series) -> str:
    """Tooltip text: 'Stop 3, Gupta Hotel: checked in 9,812 m from the outlet'."""
    name = "" if pd.isna(call["outlet_name"]) else str(call["outlet_name"])
    stop = "" if pd.isna(call.get("stop")) else f"Stop {int(call['stop'])}, "
    return (
        f"{stop}{name}: checked in {count(float(call['distance_m']))} m from the outlet"
    )


def tooltip_html(text: str) -> str:
    """Escape text for a folium tooltip, which Leaflet shows as HTML and folium
    writes into a JavaScript template literal: besides HTML's special
    characters, the backtick, dollar sign and backslash become entities, and
    so do braces, because branca renders the element as a Jinja template once
    more and a {{ ... }} in a name would run on the server."""
    escaped = html.escape(text)
    entities = (
        ("\\", "&#92;"),
        ("`", "&#96;"),
        ("$", "&#36;"),
        ("{", "&#123;"),
        ("}", "&#125;"),
    )
    for character, entity in entities:
        escaped = escaped.replace(character, entity)
    return escaped


def mark_off_site_check_ins(
    route: folium.Map, calls: pd.DataFrame, off_site_m: float
) -> int:
    """Add a dot at each off-site check-in and a dashed line to its outlet.

    calls are the day's calls in stop order (route_map.RouteMap.calls).
    Tooltips are HTML-escaped, because Leaflet shows them as HTML. Returns
    the number of check-ins marked, and adds a legend row when there is one.
    """
    marked = off_site_calls(calls, off_site_m)
    for _, call in marked.iterrows():
        fix = [float(call["latitude"]), float(call["longitude"])]
        outlet = [float(call["outlet_latitude"]), float(call["outlet_longitude"])]
        text = tooltip_html(describe_off_site(call))
        folium.PolyLine(
            [outlet, fix],
            color=OFF_SITE_COLOUR,
            weight=2,
            dash_array="6 6",
            opacity=0.8,
        ).add_to(route)
        folium.CircleMarker(
            fix,
            radius=6,
            color="#FFFFFF",
            weight=1,
            fill=True,
            fill_color=OFF_SITE_COLOUR,
            fill_opacity=0.95,
            tooltip=text,
        ).add_to(route)
    if len(marked):
        Legend(legend_box([legend_row(OFF_SITE_COLOUR, "Off-site check-in")])).add_to(
            route
        )
        fit_view(route, _bounds_with_check_ins(calls, marked))
    return len(marked)


def _bounds_with_check_ins(
    calls: pd.DataFrame, marked: pd.DataFrame
) -> list[list[float]]:
    """Corners around the located stops and the off-site check-ins, so the
    first view shows where each off-site visit was logged."""
    latitudes, longitudes = [marked["latitude"]], [marked["longitude"]]
    if "located" in calls:
        located = calls[calls["located"]]
        latitudes.append(located["stop_latitude"])
        longitudes.append(located["stop_longitude"])
    latitude = pd.concat(latitudes).astype(float)
    longitude = pd.concat(longitudes).astype(float)
    return [[latitude.min(), longitude.min()], [latitude.max(), longitude.max()]]
