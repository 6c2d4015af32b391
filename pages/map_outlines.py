"""Territory outlines for the map: the stored boundary of a territory, or the
convex hull of its located outlets when it has none."""

import html
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from data_access.csv_cells import outline_problem
from metrics.rounding import percent_text

log = logging.getLogger(__name__)


def boundary_geometry(text: str, territory_id: str) -> dict[str, Any] | None:
    """Parse a stored outline: a GeoJSON Polygon or MultiPolygon, or a Feature
    containing one, as two-dimensional GeoJSON. Returns None, and logs why,
    when the text is not one or csv_cells.outline_problem finds a problem.
    Another program may have written it, so the loader's checks are made
    again here."""
    try:
        parsed = json.loads(text)
        if isinstance(parsed, dict) and parsed.get("type") == "Feature":
            parsed = parsed.get("geometry")
        geometry = shapely.force_2d(shapely.geometry.shape(parsed))
        # RecursionError: json nests arrays as deep as the text does.
        # OverflowError: json reads a 400-digit number as an int, which no
        # float can hold. ShapelyError: an unknown type, such as a
        # FeatureCollection, or coordinates that GEOS rejects.
    except (
        TypeError,
        ValueError,
        AttributeError,
        KeyError,
        IndexError,
        RecursionError,
        OverflowError,
        shapely.errors.ShapelyError,
    ) as error:
        log.warning(
            "territory %s: stored outline is not valid GeoJSON: %s", territory_id, error
        )
        return None

    problem = outline_problem(geometry)
    if problem is None:
        return shapely.geometry.mapping(geometry)
    log.warning("territory %s: stored outline %s", territory_id, problem)
    return None


def hull_geometry(longitude: pd.Series, latitude: pd.Series) -> dict[str, Any] | None:
    """Return the convex hull of outlet locations as GeoJSON: a Polygon, or a
    LineString when the outlets lie on one line; None for fewer than two places."""
    coordinates = np.column_stack(
        [longitude.to_numpy(dtype=float), latitude.to_numpy(dtype=float)]
    )
    if len(coordinates) < 2:
        return None
    # The hull of a line through the points is the hull of the points, and
    # one line is much faster to build than a point per outlet.
    hull = shapely.linestrings(coordinates).convex_hull
    if hull.geom_type not in ("Polygon", "LineString"):
        return None
    return shapely.geometry.mapping(hull)


def inert_html(text: str) -> str:
    """HTML-escape text for a folium tooltip, with { and } as character
    references. branca reads a rendered map element as a Jinja template once
    more, so a {{ ... }} left in data would run as template code on the
    server; the references show the same characters."""
    return html.escape(text).replace("{", "&#123;").replace("}", "&#125;")


def describe_coverage(report_row: Mapping[str, Any] | None) -> str:
    """Describe a territory's coverage: 'Coverage 62% (31 of 50 active outlets)'."""
    if report_row is None or not report_row.get("active_outlets"):
        return "Coverage: no active outlets"
    return (
        f"Coverage {percent_text(report_row['coverage'])} "
        f"({report_row['visited_outlets']} of {report_row['active_outlets']} active outlets)"
    )


@dataclass(frozen=True)
class TerritoryOutlines:
    """The outlines to draw, and the territories whose stored boundary could
    not be used.

    collection: a GeoJSON FeatureCollection, one feature per territory with
    an outline. Properties: territory (the row's position in territories, an
    id that needs no escaping), name (see inert_html), coverage (text),
    source ('boundary' or 'hull'). unusable: 'name (territory_id)' of each
    territory with a stored boundary that boundary_geometry rejected, in
    territory order. The map draws the hull of such a territory's outlets,
    or no outline when none of them has a location.
    """

    collection: dict[str, Any]
    unusable: list[str]


def territory_outlines(
    located_outlets: pd.DataFrame,
    territories: pd.DataFrame,
    boundaries: pd.DataFrame,
    territories_report: pd.DataFrame,
) -> TerritoryOutlines:
    """Outline each territory: its stored boundary when that is valid, and
    otherwise the convex hull of the territory's located outlets."""
    stored = dict(zip(boundaries["territory_id"], boundaries["geojson"]))
    report_rows = territories_report.set_index("territory_id").to_dict("index")
    places = located_outlets[["territory_id", "longitude", "latitude"]]
    outlets_by_territory = dict(list(places.groupby("territory_id")))

    features = []
    unusable = []
    for position, (territory_id, name) in enumerate(
        zip(territories["territory_id"], territories["territory_name"])
    ):
        label = name if isinstance(name, str) and name else territory_id
        geometry = None
        source = "boundary"
        if territory_id in stored:
            geometry = boundary_geometry(stored[territory_id], territory_id)
            if geometry is None:
                unusable.append(f"{label} ({territory_id})")
        if geometry is None and territory_id in outlets_by_territory:
            own = outlets_by_territory[territory_id]
            geometry = hull_geometry(own["longitude"], own["latitude"])
            source = "hull"
        if geometry is None:
            continue

        properties = {
            "territory": position,
            "name": inert_html(str(label)),
            "coverage": describe_coverage(report_rows.get(territory_id)),
            "source": source,
        }
        features.append(
            {"type": "Feature", "geometry": geometry, "properties": properties}
        )
    return TerritoryOutlines(
        {"type": "FeatureCollection", "features": features}, unusable
    )


def outline_bounds(outlines: dict[str, Any]) -> list[list[float]] | None:
    """South-west and north-east corners around every outline, or None without any."""
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
