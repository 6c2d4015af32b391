"""Build the map of one rep's day: the visits in check-in order joined by a
line, and the planned calls the rep missed, over the territory outlines.

This module never imports streamlit. Stops travel to the browser as JSON
that pages/outlet_layers.js draws with BeatboardMap.addRoute; names are set
there as text, never as HTML.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import folium
import numpy as np
import pandas as pd
from folium.template import Template

from pages.formatting import money
from pages.map_outlines import outline_bounds, territory_outlines
from pages.outlet_map import (
    COORDINATE_SCALE,
    LeafletAssets,
    Legend,
    ScriptElement,
    TileSettings,
    add_outlines,
    base_map,
    fit_view,
    has_usable_location,
    leaflet_assets,
    legend_box,
    legend_row,
    looks_swapped,
    safe_json,
)

ON_PLAN_COLOUR = "#0072B2"
OFF_BEAT_COLOUR = "#CC79A7"
MISSED_COLOUR = "#D55E00"
ROUTE_LINE_COLOUR = "#0072B2"
DEFAULT_TILES = TileSettings()


@dataclass
class RouteMap:
    """A built route map and the calls it shows.

    calls: the day's calls in stop order, visits by check-in and then the
    missed planned calls. Beside the columns of the rep's call list it has
    stop (the number on the map, missing for a missed call), kind ('on
    plan', 'off beat' or 'missed'), local_check_in, local_check_out and
    located. Only located calls are on the map, so a click on stop i is row
    located_calls.iloc[i]. unlocated counts the others. unusable_outlines:
    the territories whose stored boundary could not be drawn (see
    map_outlines.TerritoryOutlines).
    """

    map: folium.Map
    calls: pd.DataFrame
    unlocated: int
    stop_units: np.ndarray
    unusable_outlines: list[str]

    @property
    def located_calls(self) -> pd.DataFrame:
        """The calls drawn on the map, in the order of their stop indices."""
        return self.calls[self.calls["located"]]


class RouteLayer(ScriptElement):
    """The stops of one rep's day, drawn by BeatboardMap.addRoute in the browser."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        BeatboardMap.addRoute({{ this._parent.get_name() }}, {{ this.route_json }});
        {% endmacro %}
        """
    )

    def __init__(self, route: dict[str, Any]) -> None:
        super().__init__()
        self._name = "RouteLayer"
        self.route_json = safe_json(route)


def _local_times(values: pd.Series, timezone: str) -> pd.Series:
    """UTC instants, naive or with an offset, as local times in the business
    time zone."""
    instants = pd.to_datetime(values, errors="coerce", utc=True)
    return instants.dt.tz_convert(timezone)


def order_calls(calls: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Put one day's calls in stop order and describe each one.

    Visits come first by check-in time and get stop numbers from 1; missed
    planned calls (no visit_id) follow by outlet. A stop is placed at the
    outlet, or at the check-in fix when the outlet has no usable location.
    located says whether either is usable.
    """
    frame = calls.copy()
    frame["local_check_in"] = _local_times(frame["check_in"], timezone)
    frame["local_check_out"] = _local_times(frame["check_out"], timezone)
    visited = frame["visit_id"].notna()
    frame["kind"] = np.where(
        ~visited,
        "missed",
        np.where(frame["planned"].astype(int) == 1, "on plan", "off beat"),
    )
    frame = frame.assign(_missed=~visited).sort_values(
        ["_missed", "check_in", "outlet_id"], kind="stable", na_position="last"
    )
    frame = frame.drop(columns="_missed").reset_index(drop=True)
    stop_numbers = np.where(frame["visit_id"].notna(), frame.index + 1, np.nan)
    frame["stop"] = pd.array(stop_numbers, dtype="Int64")

    outlet_usable = has_usable_location(
        frame["outlet_latitude"], frame["outlet_longitude"]
    )
    fix_usable = has_usable_location(frame["latitude"], frame["longitude"])
    frame["stop_latitude"] = np.where(
        outlet_usable, frame["outlet_latitude"], frame["latitude"]
    )
    frame["stop_longitude"] = np.where(
        outlet_usable, frame["outlet_longitude"], frame["longitude"]
    )
    frame["located"] = outlet_usable | (fix_usable & frame["visit_id"].notna())
    return frame


def describe_call(call: Mapping[str, Any], currency_symbol: str = "") -> str:
    """Describe a call in one line for its tooltip, such as
    '09:12–09:40 · on plan · order 1,250'."""
    if call["kind"] == "missed":
        return "planned, not visited"
    start = call["local_check_in"]
    end = call["local_check_out"]
    times = "time unknown" if pd.isna(start) else f"{start:%H:%M}"
    if pd.notna(start) and pd.notna(end) and end >= start:
        times += f"–{end:%H:%M}"
    parts = [times, str(call["kind"])]
    if call["order_value"] > 0:
        parts.append(f"order {money(call['order_value'], currency_symbol)}")
    elif call["kind"] != "missed":
        parts.append("no order")
    return " · ".join(parts)


def route_stops(calls: pd.DataFrame, currency_symbol: str = "") -> list[dict[str, Any]]:
    """Describe the located calls for the browser: place, number, colour, text."""
    colours = {"on plan": ON_PLAN_COLOUR, "off beat": OFF_BEAT_COLOUR}
    stops = []
    for call in calls[calls["located"]].to_dict("records"):
        stops.append(
            {
                "lat": float(call["stop_latitude"]),
                "lng": float(call["stop_longitude"]),
                "number": None if pd.isna(call["stop"]) else int(call["stop"]),
                "colour": colours.get(call["kind"], MISSED_COLOUR),
                "name": ""
                if pd.isna(call["outlet_name"])
                else str(call["outlet_name"]),
                "label": describe_call(call, currency_symbol),
            }
        )
    return stops


def route_legend_html() -> str:
    """Build the route legend: what the numbered stops and rings mean."""
    return legend_box(
        [
            legend_row(ON_PLAN_COLOUR, "Visit on plan"),
            legend_row(OFF_BEAT_COLOUR, "Visit off the beat"),
            legend_row(MISSED_COLOUR, "Planned, not visited"),
        ]
    )


def build_route_map(
    calls: pd.DataFrame,
    outlets: pd.DataFrame,
    territories: pd.DataFrame,
    boundaries: pd.DataFrame,
    territories_report: pd.DataFrame,
    timezone: str,
    currency_symbol: str = "",
    tiles: TileSettings = DEFAULT_TILES,
    assets: LeafletAssets | None = None,
) -> RouteMap:
    """Build the map of one rep's calls of one day.

    calls has the rows of the rep's call list for that day. outlets is the
    outlets report, whose located outlets give the hull outlines of
    territories without a stored boundary. The map opens on the stops, or
    on the outlines when no stop has a location.
    """
    assets = assets or leaflet_assets()
    ordered = order_calls(calls, timezone)
    # A swapped outlet would stretch its territory's hull across the sea.
    usable = has_usable_location(
        outlets["latitude"], outlets["longitude"]
    ) & ~looks_swapped(outlets["latitude"], outlets["longitude"])
    located_outlets = outlets.loc[usable, ["territory_id", "latitude", "longitude"]]

    base = base_map(tiles, assets)
    outlines = territory_outlines(
        located_outlets, territories, boundaries, territories_report
    )
    add_outlines(base, outlines.collection)
    stops = route_stops(ordered, currency_symbol)
    route = {
        "stops": stops,
        "lineColour": ROUTE_LINE_COLOUR,
        "missedColour": MISSED_COLOUR,
    }
    RouteLayer(route).add_to(base)
    Legend(route_legend_html()).add_to(base)

    located = ordered[ordered["located"]]
    fit_view(base, _stop_bounds(located) or outline_bounds(outlines.collection))
    places = located[["stop_longitude", "stop_latitude"]].to_numpy(dtype=float)
    return RouteMap(
        map=base,
        calls=ordered,
        unlocated=int((~ordered["located"]).sum()),
        stop_units=np.round(places * COORDINATE_SCALE).astype(np.int64),
        unusable_outlines=outlines.unusable,
    )


def _stop_bounds(located: pd.DataFrame) -> list[list[float]] | None:
    if located.empty:
        return None
    latitude = located["stop_latitude"].astype(float)
    longitude = located["stop_longitude"].astype(float)
    return [[latitude.min(), longitude.min()], [latitude.max(), longitude.max()]]


def clicked_call(built: RouteMap, state: Mapping[str, Any] | None) -> pd.DataFrame:
    """Find the clicked stop's call, as a one-row frame; empty when the click
    hit no stop or came from a map built from other data."""
    none = built.calls.iloc[0:0]
    drawing = (state or {}).get("last_active_drawing") or {}
    properties = drawing.get("properties") if isinstance(drawing, dict) else None
    index = properties.get("call") if isinstance(properties, dict) else None
    coordinates = (drawing.get("geometry") or {}).get("coordinates")
    if not isinstance(index, int) or not 0 <= index < len(built.stop_units):
        return none
    if not isinstance(coordinates, list) or len(coordinates) != 2:
        return none
    clicked = np.round(np.array(coordinates, dtype=float) * COORDINATE_SCALE)
    if not (built.stop_units[index] == clicked).all():
        return none
    return built.located_calls.iloc[[index]]
