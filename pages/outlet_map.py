"""Build the territory map: every active outlet as a dot coloured by its status,
territory outlines and a legend, as a folium map that needs no CDN.

This module never imports streamlit, so tests build and inspect maps directly.

Leaflet 1.9.4 comes from the PyPI package django-js-lib-leaflet (its files are
the same bytes as npm's leaflet@1.9.4; Django itself is not needed). The map
embeds leaflet.js and leaflet.css as data: URLs, so the browser loads them
from the page itself. Only the base-map tiles come from the network, from two
settings read from the environment:

- BEATBOARD_TILES_URL: tile URL template with {z}, {x} and {y} (and {s} for a
  subdomain), default OpenStreetMap's standard tiles.
- BEATBOARD_TILES_ATTRIBUTION: credit shown in the map's corner, as HTML,
  default the OpenStreetMap credit. Set it to the credit that the tile
  server requires.
"""

import base64
import functools
import html
import importlib.util
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import pandas as pd
import shapely
from folium.elements import MacroElement
from folium.template import Template
from folium.utilities import JsCode

from metrics.status import STATUSES

log = logging.getLogger(__name__)

STATUS_LABELS: dict[str, str] = {
    "visited": "Visited",
    "skipped": "Skipped",
    "unplanned": "Unplanned",
    "neglected": "Neglected",
    "not_due": "Not due",
}
# The Okabe-Ito palette, which readers with the common colour-vision
# deficiencies can still distinguish. Grey marks outlets that need nothing.
STATUS_COLOURS: dict[str, str] = {
    "visited": "#009E73",
    "skipped": "#D55E00",
    "unplanned": "#CC79A7",
    "neglected": "#E69F00",
    "not_due": "#999999",
}

DEFAULT_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILES_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
    " contributors"
)
LEAFLET_PACKAGE = "js_lib_leaflet"
LEAFLET_FOLDER = Path("static") / "js_lib_leaflet"

# Later statuses are drawn on top: the outlets that need action stay visible
# where thousands of unplanned or not-due outlets crowd a city.
DRAW_ORDER = ("not_due", "unplanned", "visited", "neglected", "skipped")
OUTLINE_COLOUR = "#3A3A3A"
# Keep it at 10 px or less, because outlets_at relies on Leaflet reporting a
# click on such a marker at the marker's own coordinates.
MARKER_RADIUS_PX = 4
# Coordinates of a clicked marker come back through JSON. This tolerance in
# degrees (about 0.1 mm) only absorbs rounding.
CLICK_TOLERANCE_DEGREES = 1e-9
# The first view covers this share of the outlets in the middle of each axis,
# so that one outlet with wrong coordinates does not zoom the map out.
VIEW_QUANTILES = (0.01, 0.99)
# Zoom level of the first view when all outlets stand on one spot (15 shows streets).
VIEW_MAX_ZOOM = 15
VIEW_PADDING_PX = 24


class LeafletMissingError(RuntimeError):
    """Leaflet's files are not installed beside the application."""


@dataclass(frozen=True)
class LeafletAssets:
    """Leaflet's script and stylesheet as data: URLs, ready for folium's links."""

    script_url: str
    stylesheet_url: str


@dataclass(frozen=True)
class TileSettings:
    """Source of the base-map tiles and the credit that the tile server requires."""

    url: str = DEFAULT_TILES_URL
    attribution: str = DEFAULT_TILES_ATTRIBUTION

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> "TileSettings":
        """Read BEATBOARD_TILES_URL and BEATBOARD_TILES_ATTRIBUTION. Unset or
        empty values keep the OpenStreetMap defaults."""
        url = environ.get("BEATBOARD_TILES_URL", "").strip()
        attribution = environ.get("BEATBOARD_TILES_ATTRIBUTION", "").strip()
        return cls(url or DEFAULT_TILES_URL, attribution or DEFAULT_TILES_ATTRIBUTION)


@dataclass
class OutletMap:
    """A built map and the numbers the page shows beside it.

    status_counts: outlets in scope per shown status, with or without a
    usable location, in STATUSES order. drawn: outlets on the map.
    unlocated: outlets of the shown statuses left off for lack of a usable
    location.
    """

    map: folium.Map
    status_counts: dict[str, int]
    drawn: int
    unlocated: int
    outlined_territories: list[str] = field(default_factory=list)


def _data_url(media_type: str, content: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"


def _inline_images(stylesheet: str, folder: Path) -> str:
    """Replace url(images/NAME.png) in Leaflet's CSS by data: URLs, because a
    stylesheet loaded from a data: URL cannot resolve relative paths."""

    def inline(match: re.Match[str]) -> str:
        image = folder / match.group(1)
        if not image.is_file():
            return match.group(0)
        return f"url({_data_url('image/png', image.read_bytes())})"

    return re.sub(r"url\((images/[A-Za-z0-9_.-]+\.png)\)", inline, stylesheet)


@functools.cache
def leaflet_assets(package: str = LEAFLET_PACKAGE) -> LeafletAssets:
    """Read Leaflet's script and stylesheet from the installed package.

    Raises LeafletMissingError when the package or its files are missing.
    """
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    folder = Path(locations[0]) / LEAFLET_FOLDER if locations else None
    script = folder / "leaflet.js" if folder else None
    stylesheet = folder / "leaflet.css" if folder else None
    if script is None or not script.is_file() or not stylesheet.is_file():
        raise LeafletMissingError(
            f"Leaflet's files are missing (Python package {package!r}, from "
            "django-js-lib-leaflet in requirements.txt); run `make setup`"
        )

    css = _inline_images(stylesheet.read_text(encoding="utf-8"), folder)
    return LeafletAssets(
        script_url=_data_url("text/javascript", script.read_bytes()),
        stylesheet_url=_data_url("text/css", css.encode("utf-8")),
    )


def has_usable_location(latitude: pd.Series, longitude: pd.Series) -> pd.Series:
    """True where an outlet can be drawn: both coordinates present, latitude in
    -90..90, longitude in -180..180, and not exactly (0, 0).

    Swapped coordinates stay as they are: they are left off only when out of
    range, because a swap cannot be distinguished from a real place.
    """
    lat = pd.to_numeric(latitude, errors="coerce").astype(float)
    lng = pd.to_numeric(longitude, errors="coerce").astype(float)
    in_range = lat.between(-90, 90) & lng.between(-180, 180)
    at_null_island = (lat == 0) & (lng == 0)
    return in_range & ~at_null_island


def status_counts(
    outlets: pd.DataFrame, statuses: Sequence[str] = STATUSES
) -> dict[str, int]:
    """Count the outlets of each status, in STATUSES order, for the given statuses."""
    counts = outlets["status"].value_counts()
    return {
        status: int(counts.get(status, 0)) for status in STATUSES if status in statuses
    }


def describe_last_visit(
    last_visit_date: pd.Series, days_since_visit: pd.Series
) -> pd.Series:
    """Describe each outlet's last visit: '2026-05-04 (3 days ago)', or 'none'."""
    days = pd.Series(days_since_visit, index=last_visit_date.index).astype("Int64")
    ago = days.map(_days_ago, na_action="ignore")
    day = pd.to_datetime(last_visit_date, errors="coerce").dt.strftime("%Y-%m-%d")
    visited = day.notna() & days.notna()
    text = day.astype(str) + " (" + ago.astype(str) + ")"
    return text.where(visited, "none")


def _days_ago(days: int) -> str:
    if days == 0:
        return "today"
    if days == 1:
        return "1 day ago"
    return f"{days} days ago"


def _escaped(values: pd.Series) -> pd.Series:
    """HTML-escape text, because folium's popups and tooltips insert property
    values as HTML. Missing values become empty text."""
    return values.astype(object).where(values.notna(), "").astype(str).map(html.escape)


def outlet_features(
    outlets: pd.DataFrame, territory_names: Mapping[str, str]
) -> dict[str, Any]:
    """Build a GeoJSON FeatureCollection of points, one per outlet given.

    Text properties (name, territory, channel) are HTML-escaped. The caller
    passes only outlets with a usable location.
    """
    territory = (
        outlets["territory_id"].map(territory_names).fillna(outlets["territory_id"])
    )
    columns = {
        "outlet_id": _escaped(outlets["outlet_id"]),
        "name": _escaped(outlets["outlet_name"]),
        "status": outlets["status"],
        "status_label": outlets["status"].map(STATUS_LABELS),
        "last_visit": describe_last_visit(
            outlets["last_visit_date"], outlets["days_since_visit"]
        ),
        "territory": _escaped(territory),
        "channel": _escaped(outlets["channel"]),
    }
    properties = pd.DataFrame(columns).to_dict("records")
    coordinates = zip(
        outlets["longitude"].astype(float), outlets["latitude"].astype(float)
    )
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lng, lat]},
            "properties": feature_properties,
        }
        for (lng, lat), feature_properties in zip(coordinates, properties)
    ]
    return {"type": "FeatureCollection", "features": features}


def boundary_geometry(text: str, territory_id: str) -> dict[str, Any] | None:
    """Parse a stored outline: a GeoJSON Polygon or MultiPolygon, or a Feature
    holding one. Returns None, and logs why, when the text is not one."""
    try:
        parsed = json.loads(text)
        if isinstance(parsed, dict) and parsed.get("type") == "Feature":
            parsed = parsed.get("geometry")
        geometry = shapely.geometry.shape(parsed)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as error:
        log.warning(
            "territory %s: stored outline is not valid GeoJSON: %s", territory_id, error
        )
        return None

    if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
        log.warning(
            "territory %s: stored outline is a %s, not a Polygon or MultiPolygon",
            territory_id,
            geometry.geom_type,
        )
        return None
    return shapely.geometry.mapping(geometry)


def hull_geometry(longitude: pd.Series, latitude: pd.Series) -> dict[str, Any] | None:
    """Return the convex hull of outlet locations as GeoJSON: a Polygon, or a
    LineString when the outlets lie on one line; None for fewer than two places."""
    points = shapely.MultiPoint(
        list(zip(longitude.astype(float), latitude.astype(float)))
    )
    hull = points.convex_hull
    if hull.geom_type not in ("Polygon", "LineString"):
        return None
    return shapely.geometry.mapping(hull)


def describe_coverage(report_row: Mapping[str, Any] | None) -> str:
    """Describe a territory's coverage: 'Coverage 62% (31 of 50 active outlets)'."""
    if report_row is None or not report_row.get("active_outlets"):
        return "Coverage: no active outlets"
    return (
        f"Coverage {report_row['coverage']:.0%} "
        f"({report_row['visited_outlets']} of {report_row['active_outlets']} active outlets)"
    )


def territory_outlines(
    located_outlets: pd.DataFrame,
    territories: pd.DataFrame,
    boundaries: pd.DataFrame,
    territories_report: pd.DataFrame,
) -> dict[str, Any]:
    """Build a FeatureCollection with one outline per territory that has one.

    The stored boundary is used when it is valid, and otherwise the convex hull
    of the territory's located outlets. Properties: territory_id, territory
    (HTML-escaped name), coverage (text), source ('boundary' or 'hull').
    """
    stored = dict(zip(boundaries["territory_id"], boundaries["geojson"]))
    report_rows = territories_report.set_index("territory_id").to_dict("index")
    outlets_by_territory = dict(list(located_outlets.groupby("territory_id")))

    features = []
    for territory_id, name in zip(
        territories["territory_id"], territories["territory_name"]
    ):
        geometry = None
        source = "boundary"
        if territory_id in stored:
            geometry = boundary_geometry(stored[territory_id], territory_id)
        if geometry is None and territory_id in outlets_by_territory:
            own = outlets_by_territory[territory_id]
            geometry = hull_geometry(own["longitude"], own["latitude"])
            source = "hull"
        if geometry is None:
            continue

        label = name if isinstance(name, str) and name else territory_id
        properties = {
            "territory_id": territory_id,
            "territory": html.escape(str(label)),
            "coverage": describe_coverage(report_rows.get(territory_id)),
            "source": source,
        }
        features.append(
            {"type": "Feature", "geometry": geometry, "properties": properties}
        )
    return {"type": "FeatureCollection", "features": features}


class StatusLegend(MacroElement):
    """A Leaflet control in the map's corner: one swatch, label and count per status."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "topright"});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", "beatboard-legend");
            div.innerHTML = {{ this.html|tojson }};
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, counts: Mapping[str, int]) -> None:
        super().__init__()
        self._name = "StatusLegend"
        self.counts = dict(counts)
        self.html = legend_html(self.counts)


class FocusWithoutScroll(MacroElement):
    """Make a click on the map focus it without scrolling the page.

    Leaflet 1.9.4 focuses the map on mousedown for its keyboard controls. In
    Streamlit's iframe that focus scrolls the outer page whenever the map is
    not fully in view, so the mouseup lands elsewhere and the click on an
    outlet is lost. focus({preventScroll: true}) keeps the page still.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            if (!map.keyboard) { return; }
            map.keyboard.disable();
            map.keyboard._onMouseDown = function () {
                if (!this._focused) {
                    this._map._container.focus({preventScroll: true});
                }
            };
            map.keyboard.enable();
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "FocusWithoutScroll"


def legend_html(counts: Mapping[str, int]) -> str:
    """Build the legend's HTML: a row per status with its colour, label and count."""
    rows = [
        '<div style="display:flex;align-items:center;gap:6px;margin:2px 0">'
        f'<span style="display:inline-block;width:12px;height:12px;border-radius:50%;'
        f'background:{STATUS_COLOURS[status]};border:1px solid #ffffff"></span>'
        f"<span>{html.escape(STATUS_LABELS[status])}</span>"
        f'<span style="margin-left:auto;padding-left:12px">{count:,}</span></div>'
        for status, count in counts.items()
    ]
    return (
        '<div style="background:rgba(255,255,255,0.92);padding:6px 10px;'
        'border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,0.3);font:12px sans-serif">'
        + "".join(rows)
        + "</div>"
    )


def _outlet_style() -> JsCode:
    """Leaflet style function colouring each dot by its status property."""
    colours = json.dumps(STATUS_COLOURS)
    return JsCode(
        f"""function (feature) {{
            var colours = {colours};
            return {{
                stroke: true, color: "#ffffff", weight: 1, opacity: 0.9, fill: true,
                fillColor: colours[feature.properties.status] || "#000000",
                fillOpacity: 0.9
            }};
        }}"""
    )


def _outline_style(feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "color": OUTLINE_COLOUR,
        "weight": 2,
        "fillOpacity": 0.04,
        "dashArray": "6 4",
    }


def _draw_rank(status: pd.Series) -> pd.Series:
    ranks = {value: rank for rank, value in enumerate(DRAW_ORDER)}
    return status.map(ranks).fillna(len(DRAW_ORDER))


def _view_bounds(
    located: pd.DataFrame, outlines: dict[str, Any]
) -> list[list[float]] | None:
    """South-west and north-east corners of the first view: the located
    outlets, or the territory outlines when no outlet has a location."""
    if located.empty:
        if not outlines["features"]:
            return None
        shapes = shapely.GeometryCollection(
            [
                shapely.geometry.shape(feature["geometry"])
                for feature in outlines["features"]
            ]
        )
        west, south, east, north = shapes.bounds
        return [[south, west], [north, east]]

    # "lower" and "higher" pick real outlets, so a few outlets give their
    # exact extremes and only large sets lose their strays.
    low, high = VIEW_QUANTILES
    latitude = located["latitude"].astype(float)
    longitude = located["longitude"].astype(float)
    return [
        [latitude.quantile(low, "lower"), longitude.quantile(low, "lower")],
        [latitude.quantile(high, "higher"), longitude.quantile(high, "higher")],
    ]


def _base_map(tiles: TileSettings, assets: LeafletAssets) -> folium.Map:
    """Create an empty map that loads Leaflet from data: URLs instead of CDNs."""
    # Quarter zoom steps let the first view fill the map instead of leaving
    # up to half of it empty.
    base = folium.Map(
        location=[0, 0], zoom_start=2, tiles=None, control_scale=True, zoom_snap=0.25
    )
    # jQuery, Bootstrap and awesome-markers are left out: nothing here uses them.
    base.default_js = [("leaflet", assets.script_url)]
    base.default_css = [("leaflet_css", assets.stylesheet_url)]
    base_tiles = folium.TileLayer(
        tiles=tiles.url, attr=tiles.attribution, name="Base map"
    )
    base_tiles.add_to(base)
    FocusWithoutScroll().add_to(base)
    return base


def _add_outlines(base: folium.Map, outlines: dict[str, Any]) -> None:
    if not outlines["features"]:
        return
    folium.GeoJson(
        outlines,
        name="Territories",
        style_function=_outline_style,
        tooltip=folium.GeoJsonTooltip(
            fields=["territory", "coverage"], labels=False, localize=False
        ),
    ).add_to(base)


def _add_outlets(base: folium.Map, features: dict[str, Any]) -> None:
    """Add all outlets as one GeoJSON layer of circle markers, because one
    folium object per outlet takes seconds to render for ten thousand outlets."""
    if not features["features"]:
        return
    folium.GeoJson(
        features,
        name="Outlets",
        marker=folium.CircleMarker(radius=MARKER_RADIUS_PX),
        style=_outlet_style(),
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False, localize=False),
        popup=folium.GeoJsonPopup(
            fields=[
                "name",
                "outlet_id",
                "status_label",
                "last_visit",
                "territory",
                "channel",
            ],
            aliases=[
                "Outlet",
                "Outlet ID",
                "Status",
                "Last visit",
                "Territory",
                "Channel",
            ],
            localize=False,
        ),
    ).add_to(base)


def build_outlet_map(
    outlets: pd.DataFrame,
    territories: pd.DataFrame,
    boundaries: pd.DataFrame,
    territories_report: pd.DataFrame,
    statuses: Sequence[str] = STATUSES,
    tiles: TileSettings = TileSettings(),
    assets: LeafletAssets | None = None,
) -> OutletMap:
    """Build the map of the outlets report's outlets of the given statuses.

    outlets is the outlets report with its map columns (channel, latitude,
    longitude); territories the territory list (territory_id, territory_name);
    boundaries the stored outlines (territory_id, geojson); territories_report
    gives each outline's coverage. Outlines and the first view use every
    located outlet, whatever the status filter. Raises LeafletMissingError
    when Leaflet's files are not installed.
    """
    assets = assets or leaflet_assets()
    usable = has_usable_location(outlets["latitude"], outlets["longitude"])
    located = outlets[usable]
    selected = outlets["status"].isin(list(statuses))
    territory_names = dict(
        zip(territories["territory_id"], territories["territory_name"])
    )

    base = _base_map(tiles, assets)
    outlines = territory_outlines(located, territories, boundaries, territories_report)
    _add_outlines(base, outlines)
    drawn = outlets[usable & selected].sort_values(
        "status", key=_draw_rank, kind="stable"
    )
    _add_outlets(base, outlet_features(drawn, territory_names))
    counts = status_counts(outlets, statuses)
    if counts:
        StatusLegend(counts).add_to(base)
    bounds = _view_bounds(located, outlines)
    if bounds is not None:
        base.fit_bounds(
            bounds, padding=(VIEW_PADDING_PX, VIEW_PADDING_PX), max_zoom=VIEW_MAX_ZOOM
        )

    return OutletMap(
        map=base,
        status_counts=counts,
        drawn=len(drawn),
        unlocated=int((~usable & selected).sum()),
        outlined_territories=[
            feature["properties"]["territory_id"] for feature in outlines["features"]
        ],
    )


def outlets_at(
    outlets: pd.DataFrame,
    clicked: Mapping[str, Any] | None,
    statuses: Sequence[str] = STATUSES,
) -> pd.DataFrame:
    """Find the drawn outlets at a clicked point, none when the click hit no outlet.

    Leaflet 1.9.4 reports a click on a circle marker of radius 10 px or less
    at the marker's own coordinates, so outlets at the same place all match.
    """
    if not clicked or clicked.get("lat") is None or clicked.get("lng") is None:
        return outlets.iloc[0:0]
    usable = has_usable_location(outlets["latitude"], outlets["longitude"])
    latitude = pd.to_numeric(outlets["latitude"], errors="coerce")
    longitude = pd.to_numeric(outlets["longitude"], errors="coerce")
    at_point = ((latitude - float(clicked["lat"])).abs() <= CLICK_TOLERANCE_DEGREES) & (
        (longitude - float(clicked["lng"])).abs() <= CLICK_TOLERANCE_DEGREES
    )
    return outlets[usable & at_point & outlets["status"].isin(list(statuses))]


def outlet_details(
    outlets: pd.DataFrame, territory_names: Mapping[str, str]
) -> pd.DataFrame:
    """Build the table of clicked outlets for the page: plain text and numbers,
    never HTML, because the page shows them in a data grid."""
    return pd.DataFrame(
        {
            "Outlet": outlets["outlet_name"],
            "Status": outlets["status"].map(STATUS_LABELS),
            "Last visit": outlets["last_visit_date"],
            "Days since visit": outlets["days_since_visit"],
            "Visits in period": outlets["visits"],
            "Order value": outlets["order_value"].astype(float),
            "Territory": outlets["territory_id"]
            .map(territory_names)
            .fillna(outlets["territory_id"]),
            "Channel": outlets["channel"],
            "Outlet ID": outlets["outlet_id"],
        }
    ).reset_index(drop=True)
