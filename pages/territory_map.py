"""Territory map: the active outlets in scope coloured by status, the share of
neglected outlets, or one rep's day route, over the territory outlines, with
the clicked outlet or territory described beside the map.

The map is built once per filter choice and then left alone: panning and
zooming happen in the browser and send nothing back, and a click reruns the
page with cached data only (see pages/outlet_map.py). Tiles come from
BEATBOARD_TILES_URL and BEATBOARD_TILES_ATTRIBUTION; everything else loads
without the internet.
"""

import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from data_access.filters import Period, Scope, Settings
from metrics import reports
from metrics.status import STATUSES
from pages import kept_map, map_details, outlet_map, route_map
from pages.formatting import markdown_text, money_column
from pages.shared import (
    CACHE_SECONDS,
    View,
    current_view,
    load_in_background,
    load_outlet_last_visits,
    load_rep_call_list,
    load_reps_report,
    load_territories,
    load_territories_report,
    load_territory_boundaries,
    stop_with_error,
)

log = logging.getLogger(__name__)

LAYERS = {
    "status": "Outlet status",
    "neglect": "Neglected outlets",
    "route": "Day route",
}
MAP_HEIGHT_PX = 620
# Widths of the map and of the details panel beside it.
PANEL_SPLIT = [5, 2]
# Prepared maps the server keeps, for all sessions. One entry is about 2.5 MB
# at 200,000 outlets.
LAYER_CACHE_ENTRIES = 16
# Only the clicked feature comes back from the browser, so panning and
# zooming never rerun the page.
RETURNED_OBJECTS = ["last_active_drawing"]
# Widget key of the status and neglect layers' map.
MAP_KEY = "territory_map"


def choose_layer() -> str:
    """Draw the layer switch, whose choice the URL keeps as map_layer."""
    return st.segmented_control(
        "Layer",
        options=list(LAYERS),
        format_func=LAYERS.get,
        default="status",
        required=True,
        key="map_layer",
        bind="query-params",
    )


def choose_statuses() -> list[str]:
    """Draw the status filter, whose choice the URL keeps as map_status."""
    return st.multiselect(
        "Statuses shown",
        options=list(STATUSES),
        default=list(STATUSES),
        format_func=outlet_map.STATUS_LABELS.get,
        key="map_status",
        bind="query-params",
    )


def neglect_window(settings: Settings) -> str:
    """Describe the neglect window: 'the last 28 days', or the class windows."""
    if not settings.neglect_days_by_class:
        return f"the last {settings.neglect_days} days"
    classes = ", ".join(
        f"{name} {days}" for name, days in settings.neglect_days_by_class
    )
    return f"their class's window (days: {classes}; others {settings.neglect_days})"


def view_key(view: View) -> str:
    """Name the database and scope, so the browser keeps the map's position
    while only the period, layer or statuses change."""
    text = f"{view.database_key}|{view.scope!r}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@st.cache_resource(
    ttl=CACHE_SECONDS, max_entries=LAYER_CACHE_ENTRIES, show_spinner=False
)
def _kept_outlets_report(
    _view: View, database_key: str, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    return reports.outlets_report(_view.engine, period, scope, settings)


def load_kept_outlets_report(view: View) -> pd.DataFrame:
    """Load the outlets report with map columns (channel, class, coordinates),
    kept for all sessions without a copy, so callers must not change it.

    pages.shared.load_outlets_report computes the same frame, but
    st.cache_data pickles it into its cache: 0.15 to 0.3 s of a cold run
    for the national company's 152,536 outlets, and a copy on every read.
    """
    return _kept_outlets_report(
        view, view.database_key, view.period, view.scope, view.settings
    )


@dataclass(frozen=True)
class KeptOutletMap:
    """An outlet map built and rendered once for one filter choice, shared by
    every session, so callers must not change it."""

    built: outlet_map.OutletMap
    prepared: kept_map.PreparedMap


@st.cache_resource(
    ttl=CACHE_SECONDS, max_entries=LAYER_CACHE_ENTRIES, show_spinner=False
)
def _kept_outlet_map(
    _view: View,
    database_key: str,
    period: Period,
    scope: Scope,
    settings: Settings,
    statuses: tuple[str, ...],
    mode: str,
    tiles: outlet_map.TileSettings,
) -> KeptOutletMap:
    view = _view
    # The territory queries run while this thread reads the outlets.
    load_in_background(
        lambda: load_territories_report(view),
        lambda: load_territories(view),
        lambda: load_territory_boundaries(view),
    )
    layer = outlet_map.prepare_outlet_layer(
        load_kept_outlets_report(view),
        load_territories(view),
        load_territory_boundaries(view),
        load_territories_report(view),
        statuses=statuses,
        mode=mode,
        period_end=view.period.end,
        neglect_window=neglect_window(view.settings),
    )
    built = outlet_map.draw_outlet_map(layer, tiles=tiles, view_key=view_key(view))
    prepared = kept_map.prepare_map(built.map, MAP_KEY, RETURNED_OBJECTS)
    return KeptOutletMap(built, prepared)


def build_outlet_map(view: View, statuses: list[str], mode: str) -> KeptOutletMap:
    """Build the outlet map of the view, or return the one kept for this filter
    choice, so a rerun that draws the same map neither builds nor renders it."""
    return _kept_outlet_map(
        view,
        view.database_key,
        view.period,
        view.scope,
        view.settings,
        tuple(statuses),
        mode,
        outlet_map.TileSettings.from_environment(os.environ),
    )


def load_clicked_outlets(view: View, labels: tuple[Any, ...]) -> pd.DataFrame:
    """Load the rows of the outlets report with these index labels, in order."""
    return load_kept_outlets_report(view).loc[list(labels)]


def show_map(folium_map: Any, key: str) -> dict | None:
    """Draw a map and return st_folium's state: the feature clicked last."""
    return st_folium(
        folium_map,
        key=key,
        height=MAP_HEIGHT_PX,
        use_container_width=True,
        returned_objects=RETURNED_OBJECTS,
    )


def location_note(unlocated: int, noun: str = "outlet") -> str | None:
    """Say how many items the map leaves off for lack of a usable location."""
    if unlocated == 0:
        return None
    if unlocated == 1:
        return f"1 {noun} has no usable location and is not on the map."
    return f"{unlocated:,} {noun}s have no usable location and are not on the map."


# The note names this many territories with an unusable outline, then counts the rest.
NAMED_OUTLINES = 5


def outline_note(unusable: list[str]) -> str | None:
    """Say which territories' stored outlines the map could not draw, and where
    to fix them. unusable contains 'name (territory_id)' labels."""
    if not unusable:
        return None
    names = [markdown_text(label) for label in unusable[:NAMED_OUTLINES]]
    if len(unusable) > NAMED_OUTLINES:
        names.append(f"{len(unusable) - NAMED_OUTLINES:,} more")
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    if len(unusable) == 1:
        return (
            f"The stored outline of {listed} is not a usable GeoJSON polygon, so the "
            "map draws the hull of its located outlets, if it has any, instead. Fix "
            "it in the territory_boundaries table; the server log says what is "
            "wrong with it."
        )
    return (
        f"The stored outlines of {len(unusable):,} territories, {listed}, are not "
        "usable GeoJSON polygons, so the map draws the hull of each one's located "
        "outlets, where it has any, instead. Fix them in the territory_boundaries "
        "table; the server log says what is wrong with each."
    )


def facts_table(facts: pd.DataFrame) -> None:
    """Show a Figure and Value table, values in full. st.table reads cells as
    Markdown, so the values are escaped to show as the literal text."""
    table = pd.DataFrame(
        {"Value": facts["Value"].map(markdown_text).to_numpy()},
        index=pd.Index(facts["Figure"].to_numpy(), name=None),
    )
    st.table(table, border="horizontal")


# Outlet and neglect layers


def draw_outlet_panel(view: View, clicked: pd.DataFrame) -> None:
    """Describe the clicked outlet, its last visits and any outlet at the same place."""
    outlet = clicked.iloc[0]
    territories = load_territories(view)
    names = dict(zip(territories["territory_id"], territories["territory_name"]))
    symbol = view.settings.currency_symbol
    st.subheader("Outlet")
    facts_table(map_details.outlet_facts(outlet, names, symbol))

    visits = load_outlet_last_visits(view, str(outlet["outlet_id"]))
    st.markdown("**Last visits**")
    if visits.empty:
        st.caption(f"No visit in the 365 days up to {view.period.end:%d %b %Y}.")
    else:
        st.dataframe(
            map_details.last_visits_table(visits, view.settings.timezone),
            hide_index=True,
            width="stretch",
            column_config={"Order value": money_column("Order value", symbol)},
            placeholder="",
        )
    if len(clicked) > 1:
        st.markdown("**Also at this location**")
        others = clicked.iloc[1:]
        st.dataframe(
            pd.DataFrame(
                {
                    "Outlet": others["outlet_name"],
                    "Status": others["status"].map(outlet_map.STATUS_LABELS),
                    "Outlet ID": others["outlet_id"],
                }
            ),
            hide_index=True,
            width="stretch",
            placeholder="",
        )


def draw_territory_panel(view: View, position: int) -> None:
    """Describe the clicked territory's coverage and figures."""
    territories = load_territories(view)
    if not 0 <= position < len(territories):
        return
    territory_id = territories["territory_id"].iloc[position]
    report = load_territories_report(view)
    rows = report[report["territory_id"] == territory_id]
    if rows.empty:
        return
    st.subheader("Territory")
    facts_table(
        map_details.territory_facts(rows.iloc[0], view.settings.currency_symbol)
    )


def draw_outlet_layer(view: View, mode: str) -> None:
    """Draw the status or neglect layer with its filters, notes and panel."""
    statuses = choose_statuses() if mode == "status" else list(STATUSES)
    if mode == "status" and not statuses:
        st.info("Choose at least one status to show outlets on the map.")
    if mode == "status" and not view.has("beats"):
        st.caption(
            "This database has no beat plans, so every outlet without a visit shows as unplanned."
        )
    # The kept map carries the count of outlets, so a cold run reads the
    # outlets report once, without copying it back out of the cache.
    try:
        outlet_layer_map = build_outlet_map(view, statuses, mode)
    except outlet_map.LeafletMissingError as error:
        log.error("territory map: %s", error)
        stop_with_error(
            "The map cannot load Leaflet because its files are not installed. "
            "Run `make setup`, then restart the dashboard."
        )
    built = outlet_layer_map.built
    if built.outlets == 0:
        st.info(
            "No active outlets in this selection. Choose another region, territory or rep."
        )
    if built.drawn == 0 and built.unlocated > 0:
        st.info(
            f"None of the {built.unlocated:,} outlets in this selection has a usable "
            "location, so the map has no outlets to show. Fix their coordinates in the "
            "outlet master."
        )

    map_column, panel_column = st.columns(PANEL_SPLIT, gap="medium")
    with map_column:
        state = kept_map.draw_prepared_map(
            outlet_layer_map.prepared, MAP_HEIGHT_PX, RETURNED_OBJECTS
        )
        notes = [location_note(built.unlocated), outline_note(built.unusable_outlines)]
        if built.drawn:
            notes.append(
                "Zoom in to see single outlets; click an outlet or a territory to see "
                "its details beside the map."
            )
        caption = " ".join(note for note in notes if note)
        if caption:
            st.caption(caption)
    with panel_column:
        labels = outlet_map.clicked_labels(built, state)
        territory = outlet_map.clicked_properties(state).get("territory")
        if len(labels):
            draw_outlet_panel(view, load_clicked_outlets(view, tuple(labels.tolist())))
        elif isinstance(territory, int):
            draw_territory_panel(view, territory)
        else:
            st.caption("Click an outlet or a territory to see its details here.")


# Route layer


def choose_rep(view: View) -> str | None:
    """Draw the rep picker: reps in scope with visits or planned calls."""
    reps = load_reps_report(view)
    reps = reps[(reps["visits"] > 0) | (reps["planned_calls"] > 0)]
    if reps.empty:
        return None
    reps = reps.sort_values(["rep_name", "rep_id"])
    names = dict(zip(reps["rep_id"], reps["rep_name"].fillna(reps["rep_id"])))
    return st.selectbox(
        "Rep",
        list(names),
        format_func=lambda rep_id: f"{names[rep_id]} ({rep_id})",
        key="map_rep",
        bind="query-params",
    )


def choose_day(calls: pd.DataFrame) -> date:
    """Draw the day picker: the days of the period with calls of the rep."""
    days = pd.to_datetime(calls["call_date"]).dt.date
    per_day = days.value_counts().sort_index()
    options = [day.isoformat() for day in per_day.index]
    labels = {
        day.isoformat(): f"{day:%a %d %b} · {calls_on_day} calls"
        for day, calls_on_day in per_day.items()
    }
    chosen = st.selectbox(
        "Day", options, format_func=labels.get, key="map_day", bind="query-params"
    )
    return date.fromisoformat(chosen)


def draw_route_layer(view: View, outlets: pd.DataFrame) -> None:
    """Draw one rep's calls of one day and the call list beside the map."""
    picker_column, day_column = st.columns(2)
    with picker_column:
        rep_id = choose_rep(view)
    if rep_id is None:
        st.info("No rep in this selection has visits or planned calls in the period.")
        return
    calls = load_rep_call_list(view, rep_id)
    if calls.empty:
        st.info("This rep has no visits or planned calls in the period.")
        return
    with day_column:
        day = choose_day(calls)
    day_calls = calls[pd.to_datetime(calls["call_date"]).dt.date == day]

    try:
        built = route_map.build_route_map(
            day_calls,
            outlets,
            load_territories(view),
            load_territory_boundaries(view),
            load_territories_report(view),
            view.settings.timezone,
            view.settings.currency_symbol,
            tiles=outlet_map.TileSettings.from_environment(os.environ),
        )
    except outlet_map.LeafletMissingError as error:
        log.error("territory map: %s", error)
        stop_with_error(
            "The map cannot load Leaflet because its files are not installed. "
            "Run `make setup`, then restart the dashboard."
        )

    map_column, panel_column = st.columns(PANEL_SPLIT, gap="medium")
    with map_column:
        state = show_map(built.map, "route_map")
        notes = [
            location_note(built.unlocated, noun="call"),
            outline_note(built.unusable_outlines),
        ]
        caption = " ".join(note for note in notes if note)
        if caption:
            st.caption(caption)
    with panel_column:
        st.subheader(f"{day:%a %d %b %Y}")
        st.dataframe(
            map_details.calls_table(built.calls),
            hide_index=True,
            width="stretch",
            column_config={
                "Order value": money_column(
                    "Order value", view.settings.currency_symbol
                )
            },
            placeholder="",
        )
        clicked = route_map.clicked_call(built, state)
        if not clicked.empty:
            st.markdown("**Selected call**")
            facts_table(
                map_details.call_facts(clicked.iloc[0], view.settings.currency_symbol)
            )


view = current_view()
st.title("Territory map")
st.caption(
    f"{view.period.start:%d %b %Y} to {view.period.end:%d %b %Y} · {markdown_text(view.scope.label)}"
)
layer = choose_layer()
if layer == "route":
    draw_route_layer(view, load_kept_outlets_report(view))
else:
    draw_outlet_layer(view, layer)
