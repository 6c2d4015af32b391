"""Territory map: every active outlet in scope coloured by its status for the
period, the territory outlines with their coverage, and the clicked outlet's
details below the map.

Tiles come from BEATBOARD_TILES_URL and BEATBOARD_TILES_ATTRIBUTION (see
pages/outlet_map.py); everything else loads without the internet.
"""

import logging
import os

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from metrics.status import STATUSES
from pages import outlet_map
from pages.formatting import money_column
from pages.shared import (
    View,
    current_view,
    load_outlets_report,
    load_territories,
    load_territories_report,
    load_territory_boundaries,
    stop_with_error,
)

log = logging.getLogger(__name__)

MAP_HEIGHT_PX = 620


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


def build_map(
    view: View, outlets: pd.DataFrame, statuses: list[str]
) -> outlet_map.OutletMap:
    """Build the map from the view's territories, outlines and coverage."""
    return outlet_map.build_outlet_map(
        outlets,
        load_territories(view),
        load_territory_boundaries(view),
        load_territories_report(view),
        statuses=statuses,
        tiles=outlet_map.TileSettings.from_environment(os.environ),
    )


def draw_map(built: outlet_map.OutletMap) -> dict | None:
    """Draw the map and return the coordinates of the last click on an object.

    Only clicks rerun the page: panning and zooming stay in the browser.
    """
    state = st_folium(
        built.map,
        key="territory_map",
        height=MAP_HEIGHT_PX,
        use_container_width=True,
        returned_objects=["last_object_clicked"],
    )
    notes = []
    if built.unlocated:
        if built.unlocated == 1:
            notes.append("1 outlet has no usable location and is not on the map.")
        else:
            notes.append(
                f"{built.unlocated:,} outlets have no usable location "
                "and are not on the map."
            )
    if built.drawn:
        notes.append("Click an outlet to see its details below the map.")
    if notes:
        st.caption(" ".join(notes))
    return (state or {}).get("last_object_clicked")


def draw_details(view: View, clicked_outlets: pd.DataFrame) -> None:
    """Show the clicked outlet (or the outlets sharing its location) as a table."""
    if clicked_outlets.empty:
        return
    st.subheader("Selected outlet")
    territories = load_territories(view)
    names = dict(zip(territories["territory_id"], territories["territory_name"]))
    st.dataframe(
        outlet_map.outlet_details(clicked_outlets, names),
        hide_index=True,
        column_config={
            "Last visit": st.column_config.DateColumn("Last visit"),
            "Order value": money_column("Order value", view.settings.currency_symbol),
        },
    )


view = current_view()
st.title("Territory map")
st.caption(
    f"{view.period.start:%d %b %Y} to {view.period.end:%d %b %Y} · {view.scope.label}"
)

outlets = load_outlets_report(view)
if outlets.empty:
    st.info(
        "No active outlets in this selection. Choose another region, territory or rep."
    )
    st.stop()

statuses = choose_statuses()
if not statuses:
    st.info("Choose at least one status to show outlets on the map.")
if not view.has("beats"):
    st.caption(
        "This database has no beat plans, so every outlet without a visit shows as unplanned."
    )

try:
    built = build_map(view, outlets, statuses)
except outlet_map.LeafletMissingError as error:
    log.error("territory map: %s", error)
    stop_with_error(
        "The map cannot load Leaflet because its files are not installed. "
        "Run `make setup`, then restart the dashboard."
    )
clicked = draw_map(built)
draw_details(view, outlet_map.outlets_at(outlets, clicked, statuses))
