"""Build the territory map: outlets coloured by status or by neglect, territory
outlines and a legend, as a folium map that needs no CDN.

This module never imports streamlit, so tests build and inspect maps directly.

The outlets travel as one compact payload (pages/map_payload.py) that
pages/outlet_layers.js unpacks in the browser. Zoomed out, it groups them in
grid cells. Zoomed in, once the view has DETAIL_LIMIT outlets or fewer, it
draws each one. The server builds the same map for every zoom level, so
panning and zooming send the server nothing.

Leaflet 1.9.4 comes from the PyPI package django-js-lib-leaflet (its files are
the same bytes as npm's leaflet@1.9.4; Django itself is not needed). The map
embeds leaflet.js, leaflet.css and outlet_layers.js as data: URLs, so the
browser loads them from the page itself. Only the base-map tiles come from
the network, from two settings read from the environment:

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
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import folium
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement
from folium.template import Template

from metrics.status import STATUSES
from pages.map_outlines import outline_bounds, territory_outlines
from pages.map_payload import COORDINATE_SCALE, drawing_order, encode_outlets

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
# Shares of outlets without a visit in their neglect window, in five equal
# bins: ColorBrewer's single-hue "Oranges" (Cynthia Brewer, colorbrewer2.org),
# light to dark, which reads in grey scale too.
NEGLECT_SHARE_COLOURS = ("#feedde", "#fdbe85", "#fd8d3c", "#e6550d", "#a63603")
OVERDUE_COLOUR = "#e6550d"
OTHER_OUTLET_COLOUR = "#999999"

MODES = ("status", "neglect")

DEFAULT_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILES_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
    " contributors"
)
LEAFLET_PACKAGE = "js_lib_leaflet"
LEAFLET_FOLDER = Path("static") / "js_lib_leaflet"
LAYERS_SCRIPT = Path(__file__).resolve().parent / "outlet_layers.js"

# Later statuses are drawn on top: the outlets that need action stay visible
# where thousands of unplanned or not-due outlets crowd a city.
DRAW_ORDER = ("not_due", "unplanned", "visited", "neglected", "skipped")
OUTLINE_COLOUR = "#3A3A3A"
# The browser draws outlets one by one once the view, padded by a fifth on
# each side, has at most this many. Headless Chromium on a 2-core machine
# takes about 0.1 s to draw 3,000.
DETAIL_LIMIT = 3_000
# Pairs of characters that start Jinja code: {{, {% and {#.
JINJA_START = re.compile(r"\{(?=[{%#])")
# The first view covers this share of the outlets in the middle of each axis,
# so that one outlet with wrong coordinates does not zoom the map out.
VIEW_QUANTILES = (0.01, 0.99)
# An outlet looks swapped when its swapped place lies within this many times
# the outlets' median distance from their median point (at least
# SWAP_MIN_RADIUS_DEG degrees) and its stored place does not.
SWAP_SPREAD_FACTOR = 5.0
SWAP_MIN_RADIUS_DEG = 1.0
SWAP_MIN_OUTLETS = 3
# Zoom level of the first view when all outlets stand on one spot (15 shows streets).
VIEW_MAX_ZOOM = 15
VIEW_PADDING_PX = 24


class LeafletMissingError(RuntimeError):
    """Leaflet's files are not installed beside the application."""


@dataclass(frozen=True)
class LeafletAssets:
    """Leaflet's script and stylesheet and Beatboard's layers as data: URLs,
    ready for folium's links."""

    script_url: str
    stylesheet_url: str
    layers_url: str


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


@dataclass(frozen=True)
class OutletLayerData:
    """What the outlet map shows, as plain data, so that a page can cache it
    and build the folium map from it on every run.

    payload and options go to BeatboardMap.addOutlets; outlines is the
    outlines' FeatureCollection; legend the legend's HTML (None for none);
    bounds the first view. status_counts: outlets in scope per shown
    status, with or without a usable location, in STATUSES order (empty in
    neglect mode). outlets: rows of the outlets report, shown or not.
    unlocated: outlets that the layer would show but that have no usable
    location. drawn_index: the outlets report's index labels
    of the outlets on the map in payload order, so a click on outlet i is
    row drawn_index[i]. drawn_units has their longitude and latitude in the
    payload's units (1e-5 degrees). outlined_territories: territory_id
    of each outline. unusable_outlines: the territories whose stored
    boundary could not be drawn (see map_outlines.TerritoryOutlines).
    """

    payload: dict[str, Any]
    options: dict[str, Any]
    outlines: dict[str, Any]
    unusable_outlines: list[str]
    legend: str | None
    bounds: list[list[float]] | None
    status_counts: dict[str, int]
    outlets: int
    unlocated: int
    drawn_index: pd.Index
    drawn_units: np.ndarray
    outlined_territories: list[str]

    @property
    def drawn(self) -> int:
        """Outlets on the map."""
        return len(self.drawn_index)


@dataclass
class OutletMap:
    """A built map and the data it was built from."""

    map: folium.Map
    layer: OutletLayerData

    @property
    def drawn(self) -> int:
        """Outlets on the map."""
        return self.layer.drawn

    @property
    def outlets(self) -> int:
        """Rows of the outlets report the map was built from, shown or not."""
        return self.layer.outlets

    @property
    def unlocated(self) -> int:
        """Outlets that the layer would show but that have no usable location."""
        return self.layer.unlocated

    @property
    def status_counts(self) -> dict[str, int]:
        """Outlets in scope per shown status, as in the legend."""
        return self.layer.status_counts

    @property
    def outlined_territories(self) -> list[str]:
        """territory_id of each outline on the map."""
        return self.layer.outlined_territories

    @property
    def unusable_outlines(self) -> list[str]:
        """Territories whose stored boundary could not be drawn."""
        return self.layer.unusable_outlines


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
    """Read Leaflet's script and stylesheet from the installed package, and
    Beatboard's layers script from beside this module.

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
        layers_url=_data_url("text/javascript", LAYERS_SCRIPT.read_bytes()),
    )


COORDINATES = ("latitude", "longitude")


def degrees(values: pd.Series) -> pd.Series:
    """Return coordinates as floats, with NaN for anything but a number.

    SQLite keeps a text value written into a REAL column as text, so another
    program can leave '18,97' or '' there. Text counts as no coordinate even
    when it reads as a number, as in the SQL of Data health, which counts
    such outlets among those without coordinates.
    """
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    is_number = values.map(
        lambda value: isinstance(value, numbers.Real) and not isinstance(value, bool)
    ).astype(bool)
    return pd.to_numeric(values.where(is_number), errors="coerce").astype(float)


def has_usable_location(latitude: pd.Series, longitude: pd.Series) -> pd.Series:
    """True where an outlet's own coordinates can be drawn: both present,
    latitude in -90..90, longitude in -180..180, and not exactly (0, 0).

    A swap that stays in range passes this test, so looks_swapped finds it
    by comparing the outlet with the others.
    """
    lat = degrees(latitude)
    lng = degrees(longitude)
    in_range = lat.between(-90, 90) & lng.between(-180, 180)
    at_null_island = (lat == 0) & (lng == 0)
    return in_range & ~at_null_island


def looks_swapped(latitude: pd.Series, longitude: pd.Series) -> pd.Series:
    """True where an outlet's latitude and longitude look swapped: the place
    as stored lies far from the other outlets, and the swapped place lies
    among them.

    "Among them" means within SWAP_SPREAD_FACTOR times the median distance
    of the usable locations from their median point, and at least
    SWAP_MIN_RADIUS_DEG degrees. Distances are plain degrees, which is
    enough to tell a swap from a real place. With fewer than
    SWAP_MIN_OUTLETS usable locations nothing is flagged, because the
    median point is then no reference. When most outlets are swapped, the
    correctly placed ones are flagged instead.
    """
    lat = degrees(latitude).to_numpy()
    lng = degrees(longitude).to_numpy()
    usable = has_usable_location(latitude, longitude).to_numpy()
    flagged = np.zeros(len(lat), dtype=bool)
    if usable.sum() < SWAP_MIN_OUTLETS:
        return pd.Series(flagged, index=latitude.index)

    centre_lat = np.median(lat[usable])
    centre_lng = np.median(lng[usable])
    distance = np.hypot(lat - centre_lat, lng - centre_lng)
    swapped_distance = np.hypot(lng - centre_lat, lat - centre_lng)
    radius = max(
        SWAP_SPREAD_FACTOR * float(np.median(distance[usable])), SWAP_MIN_RADIUS_DEG
    )
    swapped_in_range = np.abs(lng) <= 90
    flagged = (
        usable & swapped_in_range & (distance > radius) & (swapped_distance <= radius)
    )
    return pd.Series(flagged, index=latitude.index)


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


# Map elements


def safe_json(value: Any) -> str:
    """Serialise data for a map script as JSON that is inert where it lands.

    <, >, & and ' become JSON escapes, so the script cannot end an HTML
    element or attribute. A { before {, % or # becomes \\u007b, because
    those pairs start Jinja code and branca reads parts of a rendered map as
    a Jinja template again. JSON itself never writes these pairs outside a
    string, so the escape lands only inside strings, where it is valid.
    """
    text = (
        json.dumps(value)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )
    return JINJA_START.sub(r"\\u007b", text)


class _VerbatimText(Element):
    """Text that branca inserts as it is instead of reading it as a template."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ScriptElement(MacroElement):
    """A MacroElement whose rendered script goes into the page verbatim.

    branca 0.8.2's MacroElement.render turns each rendered script into a new
    Jinja template, so a {{ ... }} in a name would run as template code on
    the server, and parsing a payload of megabytes takes about a second.
    Subclasses define only a script macro.
    """

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        script = self._template.module.__dict__["script"]
        figure.script.add_child(
            _VerbatimText(script(self, kwargs)), name=self.get_name()
        )
        for child in self._children.values():
            child.render(**kwargs)


class Legend(ScriptElement):
    """A Leaflet control in the map's corner that shows fixed HTML."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "topright"});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", "beatboard-legend");
            div.innerHTML = {{ this.html_json }};
            L.DomEvent.disableClickPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, legend: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.html = legend
        self.html_json = safe_json(legend)


class FocusWithoutScroll(ScriptElement):
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


class OutletLayer(ScriptElement):
    """The outlets of a payload, drawn by BeatboardMap.addOutlets in the browser."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        BeatboardMap.addOutlets(
            {{ this._parent.get_name() }},
            {{ this.payload_json }},
            {{ this.options_json }}
        );
        {% endmacro %}
        """
    )

    def __init__(self, payload: dict[str, Any], layer_options: dict[str, Any]) -> None:
        super().__init__()
        self._name = "OutletLayer"
        self.payload = payload
        self.payload_json = safe_json(payload)
        self.options_json = safe_json(layer_options)


class KeepView(ScriptElement):
    """Reopen the map where the viewer left it in this browser tab, as long as
    the key stays the same (the page keys it by database and scope)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        BeatboardMap.keepView({{ this._parent.get_name() }}, {{ this.key_json }});
        {% endmacro %}
        """
    )

    def __init__(self, key: str) -> None:
        super().__init__()
        self._name = "KeepView"
        self.key_json = safe_json(key)


def legend_box(rows: Sequence[str], title: str | None = None) -> str:
    """Wrap legend rows in the legend's white box, under an optional title."""
    heading = (
        f'<div style="font-weight:600;margin-bottom:4px">{html.escape(title)}</div>'
        if title
        else ""
    )
    return (
        '<div style="background:rgba(255,255,255,0.92);padding:6px 10px;'
        "border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,0.3);font:12px sans-serif;"
        'max-width:240px">' + heading + "".join(rows) + "</div>"
    )


def legend_row(colour: str, label: str, count: str = "", shape: str = "50%") -> str:
    """Build one legend row: a swatch (round unless shape sets another
    radius), the label and an optional count."""
    return (
        '<div style="display:flex;align-items:center;gap:6px;margin:2px 0">'
        f'<span style="display:inline-block;width:12px;height:12px;border-radius:{shape};'
        f'background:{colour};border:1px solid #ffffff;flex:none"></span>'
        f"<span>{html.escape(label)}</span>"
        f'<span style="margin-left:auto;padding-left:12px">{html.escape(count)}</span></div>'
    )


def legend_html(counts: Mapping[str, int]) -> str:
    """Build the status legend: a row per status with its colour, label and count."""
    return legend_box(
        [
            legend_row(STATUS_COLOURS[status], STATUS_LABELS[status], f"{count:,}")
            for status, count in counts.items()
        ]
    )


def neglect_legend_html(overdue: int, located: int, window: str) -> str:
    """Build the neglect legend: the colour of each share bin, and the totals."""
    bins = len(NEGLECT_SHARE_COLOURS)
    rows = [
        legend_row(colour, f"{100 * i // bins}–{100 * (i + 1) // bins} %", shape="2px")
        for i, colour in enumerate(NEGLECT_SHARE_COLOURS)
    ]
    rows.append(
        '<div style="margin-top:4px">'
        f"{overdue:,} of {located:,} outlets on the map had no visit in "
        f"{html.escape(window)}."
        "</div>"
    )
    rows.append(legend_row(OVERDUE_COLOUR, "Outlet without a visit (zoomed in)"))
    rows.append(legend_row(OTHER_OUTLET_COLOUR, "Outlet visited in that time"))
    return legend_box(rows, title="Share of outlets without a visit")


# Building


def base_map(tiles: TileSettings, assets: LeafletAssets) -> folium.Map:
    """Create an empty map that loads Leaflet and Beatboard's layers from data:
    URLs instead of CDNs."""
    # Quarter zoom steps let the first view fill the map instead of leaving
    # up to half of it empty. One canvas draws every outline and outlet, so a
    # click reaches the shape drawn on top, wherever it is.
    base = folium.Map(
        location=[0, 0],
        zoom_start=2,
        tiles=None,
        control_scale=True,
        zoom_snap=0.25,
        prefer_canvas=True,
    )
    # jQuery, Bootstrap and awesome-markers are left out: nothing here uses them.
    base.default_js = [
        ("leaflet", assets.script_url),
        ("beatboard_layers", assets.layers_url),
    ]
    base.default_css = [("leaflet_css", assets.stylesheet_url)]
    base_tiles = folium.TileLayer(
        tiles=tiles.url, attr=tiles.attribution, name="Base map"
    )
    base_tiles.add_to(base)
    FocusWithoutScroll().add_to(base)
    return base


def _outline_style(feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "color": OUTLINE_COLOUR,
        "weight": 2,
        "fillOpacity": 0.04,
        "dashArray": "6 4",
    }


def add_outlines(base: folium.Map, outlines: dict[str, Any]) -> None:
    """Draw the territory outlines, with the territory's name and coverage on hover."""
    if not outlines["features"]:
        return
    folium.GeoJson(
        outlines,
        name="Territories",
        style_function=_outline_style,
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "coverage"], labels=False, localize=False
        ),
    ).add_to(base)


def fit_view(
    base: folium.Map, bounds: list[list[float]] | None, view_key: str | None = None
) -> None:
    """Open the map on bounds. With a view_key, the browser then restores the
    view the viewer left under that key in this tab."""
    if bounds is not None:
        base.fit_bounds(
            bounds, padding=(VIEW_PADDING_PX, VIEW_PADDING_PX), max_zoom=VIEW_MAX_ZOOM
        )
    if view_key is not None:
        KeepView(view_key).add_to(base)


def located_bounds(located: pd.DataFrame) -> list[list[float]] | None:
    """South-west and north-east corners around the located outlets.

    "lower" and "higher" quantiles pick real outlets, so a few outlets give
    their exact extremes and only large sets lose their strays.
    """
    if located.empty:
        return None
    low, high = VIEW_QUANTILES
    latitude = located["latitude"].astype(float)
    longitude = located["longitude"].astype(float)
    return [
        [latitude.quantile(low, "lower"), longitude.quantile(low, "lower")],
        [latitude.quantile(high, "higher"), longitude.quantile(high, "higher")],
    ]


def _layer_payload(
    outlets: pd.DataFrame,
    order: np.ndarray,
    territory_names: dict[str, str],
    period_end: str,
    neglect_window: str,
) -> dict[str, Any]:
    payload = encode_outlets(outlets, territory_names, order)
    return {
        "count": payload.count,
        "data": payload.data,
        "territories": list(payload.territory_names),
        "statusLabels": [STATUS_LABELS[status] for status in STATUSES],
        "periodEnd": period_end,
        "neglectWindow": neglect_window,
    }


def _layer_options(mode: str) -> dict[str, Any]:
    return {
        "mode": mode,
        "detailLimit": DETAIL_LIMIT,
        "statusColours": [STATUS_COLOURS[status] for status in STATUSES],
        "shareColours": list(NEGLECT_SHARE_COLOURS),
        "overdueColour": OVERDUE_COLOUR,
        "otherColour": OTHER_OUTLET_COLOUR,
    }


def prepare_outlet_layer(
    outlets: pd.DataFrame,
    territories: pd.DataFrame,
    boundaries: pd.DataFrame,
    territories_report: pd.DataFrame,
    statuses: Sequence[str] = STATUSES,
    mode: str = "status",
    period_end: date | None = None,
    neglect_window: str = "the last 28 days",
) -> OutletLayerData:
    """Prepare the outlet map's data from the outlets report's outlets.

    outlets is the outlets report with its map columns (latitude, longitude,
    overdue); territories the territory list (territory_id, territory_name);
    boundaries the stored outlines (territory_id, geojson);
    territories_report gives each outline's coverage.

    In "status" mode the map shows the outlets of the given statuses by
    status. In "neglect" mode it shows every outlet, and groups them by the
    share without a visit in the neglect window, which neglect_window
    describes ("the last 28 days"). period_end, the period's last date,
    dates the last visits in popups. Outlines and the first view use every
    located outlet.
    """
    if mode not in MODES:
        raise ValueError(f"map mode {mode!r} is unknown; use one of {MODES}")
    if not all(pd.api.types.is_float_dtype(outlets[c]) for c in COORDINATES):
        outlets = outlets.assign(**{c: degrees(outlets[c]) for c in COORDINATES})
    # Swapped coordinates would put an outlet in another part of the world,
    # often in the sea, and stretch the outlines and the first view with it.
    usable = has_usable_location(
        outlets["latitude"], outlets["longitude"]
    ) & ~looks_swapped(outlets["latitude"], outlets["longitude"])
    located = outlets.loc[usable, ["territory_id", "latitude", "longitude"]]
    if mode == "status":
        shown = outlets["status"].isin(list(statuses))
    else:
        shown = pd.Series(True, index=outlets.index)
    territory_names = dict(
        zip(territories["territory_id"], territories["territory_name"].fillna(""))
    )

    outlines = territory_outlines(located, territories, boundaries, territories_report)
    positions = np.flatnonzero((usable & shown).to_numpy())
    order = drawing_order(outlets, positions, DRAW_ORDER)
    end = period_end.isoformat() if period_end else ""
    payload = _layer_payload(outlets, order, territory_names, end, neglect_window)

    counts = status_counts(outlets, statuses) if mode == "status" else {}
    legend = legend_html(counts) if counts else None
    if mode == "neglect" and len(order):
        overdue = int(outlets["overdue"].to_numpy(dtype=bool)[order].sum())
        legend = neglect_legend_html(overdue, len(order), neglect_window)
    places = outlets[["longitude", "latitude"]].to_numpy(dtype=float)[order]
    return OutletLayerData(
        payload=payload,
        options=_layer_options(mode),
        outlines=outlines.collection,
        unusable_outlines=outlines.unusable,
        legend=legend,
        bounds=located_bounds(located) or outline_bounds(outlines.collection),
        status_counts=counts,
        outlets=len(outlets),
        unlocated=int((~usable & shown).sum()),
        drawn_index=outlets.index[order],
        drawn_units=np.round(places * COORDINATE_SCALE).astype(np.int64),
        outlined_territories=[
            territories["territory_id"].iloc[feature["properties"]["territory"]]
            for feature in outlines.collection["features"]
        ],
    )


def draw_outlet_map(
    layer: OutletLayerData,
    tiles: TileSettings = TileSettings(),
    assets: LeafletAssets | None = None,
    view_key: str | None = None,
) -> OutletMap:
    """Build the folium map of prepared data. With a view_key, the browser
    reopens the map where the viewer left it under that key. Raises
    LeafletMissingError when Leaflet's files are not installed."""
    base = base_map(tiles, assets or leaflet_assets())
    add_outlines(base, layer.outlines)
    OutletLayer(layer.payload, layer.options).add_to(base)
    if layer.legend is not None:
        Legend(layer.legend).add_to(base)
    fit_view(base, layer.bounds, view_key)
    return OutletMap(base, layer)


def build_outlet_map(
    outlets: pd.DataFrame,
    territories: pd.DataFrame,
    boundaries: pd.DataFrame,
    territories_report: pd.DataFrame,
    statuses: Sequence[str] = STATUSES,
    tiles: TileSettings = TileSettings(),
    assets: LeafletAssets | None = None,
    **options: Any,
) -> OutletMap:
    """Prepare and draw the outlet map in one step; options are those of
    prepare_outlet_layer (mode, period_end, neglect_window) and view_key."""
    view_key = options.pop("view_key", None)
    layer = prepare_outlet_layer(
        outlets, territories, boundaries, territories_report, statuses, **options
    )
    return draw_outlet_map(layer, tiles, assets, view_key)


# Clicks


def clicked_properties(state: Mapping[str, Any] | None) -> dict[str, Any]:
    """Properties of the feature clicked last, from st_folium's returned state;
    empty when nothing was clicked."""
    drawing = (state or {}).get("last_active_drawing") or {}
    properties = drawing.get("properties") if isinstance(drawing, dict) else None
    return properties if isinstance(properties, dict) else {}


def clicked_labels(built: OutletMap, state: Mapping[str, Any] | None) -> pd.Index:
    """Find the index labels of the clicked outlet and the other drawn outlets
    at the same place, the clicked one first, in the outlets report the map
    was built from. The index is empty when the click hit no outlet.

    A click returns the outlet's index in the payload and its coordinates. A
    click whose coordinates differ from that outlet's finds nothing, because
    it came from a map built from other data.
    """
    layer = built.layer
    none = layer.drawn_index[0:0]
    index = clicked_properties(state).get("outlet")
    drawing = (state or {}).get("last_active_drawing") or {}
    coordinates = (drawing.get("geometry") or {}).get("coordinates")
    if not isinstance(index, int) or not 0 <= index < layer.drawn:
        return none
    if not isinstance(coordinates, list) or len(coordinates) != 2:
        return none

    clicked = np.round(np.array(coordinates, dtype=float) * COORDINATE_SCALE)
    if not (layer.drawn_units[index] == clicked).all():
        return none
    same_place = (layer.drawn_units == clicked).all(axis=1)
    same_place[index] = False
    return layer.drawn_index[[index]].append(layer.drawn_index[same_place])


def clicked_outlets(
    built: OutletMap, outlets: pd.DataFrame, state: Mapping[str, Any] | None
) -> pd.DataFrame:
    """Return the rows of outlets (the report the map was built from) that
    clicked_labels finds; the frame is empty when the click hit no outlet."""
    labels = clicked_labels(built, state)
    return outlets.loc[labels] if len(labels) else outlets.iloc[0:0]
