"""Cells of the loader's files: how the text of each column becomes a value.

Cells of an XLSX sheet are turned into the same text first, so both formats
follow the same rules.

A parser takes the stripped text of a non-empty cell and returns the value to
store, or raises CellError whose message is the reason, worded to follow the
column name and the cell text ("check_in '2026-13-01' is not a valid ...").
Empty cells never reach a parser: they are missing values.
"""

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import shapely
import sqlalchemy as sa

Parser = Callable[[str], Any]

DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
# Plain decimal notation with an optional exponent. float() alone would also
# take "nan", "inf" and "1_000".
DECIMAL_PATTERN = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
INTEGER_PATTERN = re.compile(r"[+-]?\d+")
# PostgreSQL's INTEGER is 4 bytes; a larger value would fail inside the load.
INTEGER_RANGE = range(-(2**31), 2**31)

TRUE_TEXTS = frozenset({"true", "1"})
FALSE_TEXTS = frozenset({"false", "0"})
ROLES = ("admin", "regional_head", "line_manager")
EVERY_N_WEEKS = {1: "weekly", 2: "fortnightly", 4: "four-weekly"}
BOUNDARY_TYPES = ("Polygon", "MultiPolygon")
# An outline whose area is below this share of its perimeter squared is a
# line that floating-point rounding gave an area: three points on a slanted
# line enclose about 1e-15 square degrees. A square gives 1/16 and a strip
# 10 m wide and 100 km long about 2.5e-5, so no real outline comes near it.
MIN_AREA_PER_PERIMETER_SQUARED = 1e-9

# Columns that must hold a value in every row, besides the primary key.
REQUIRED_COLUMNS: dict[str, frozenset[str]] = {
    "visits": frozenset({"check_in", "rep_id", "outlet_id"}),
    "orders": frozenset({"ordered_at", "value"}),
    "beats": frozenset({"rep_id", "weekday", "start_date"}),
    "users": frozenset({"role"}),
    "territory_boundaries": frozenset({"geojson"}),
    "rep_territories": frozenset({"territory_id"}),
}

# NOT NULL columns that are optional in a file: an empty cell stores the
# column's server default, because the column cannot hold NULL.
EMPTY_CELL_DEFAULTS: dict[tuple[str, str], Any] = {
    ("reps", "active"): True,
    ("outlets", "active"): True,
    ("beats", "every_n_weeks"): 1,
}


class CellError(ValueError):
    """A cell whose text cannot be stored; the message is the reason."""


def time_zone(name: str) -> ZoneInfo:
    """Return the IANA time zone called name, such as Asia/Kolkata."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a key such as "America" names a folder of the database.
        raise ValueError(
            f"time zone {name!r} is not an IANA time zone name; "
            "use a name such as Asia/Kolkata or UTC"
        ) from None


def parse_text(text: str) -> str:
    """Return the text; PostgreSQL text cannot hold a NUL character."""
    if "\x00" in text:
        raise CellError("contains a NUL character; remove it from the file")
    return text


def parse_date(text: str) -> date:
    """Parse a calendar date written YYYY-MM-DD."""
    if DATE_PATTERN.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise CellError("is not a valid date; expected YYYY-MM-DD such as 2026-03-02")


def parse_timestamp(text: str, zone: ZoneInfo) -> datetime:
    """Parse an ISO 8601 timestamp into a naive UTC datetime.

    A timestamp without an offset is a local time in zone. An ambiguous local
    time (the repeated hour when clocks go back) is read as the first of the
    two, and a time skipped when clocks go forward is read with the offset
    before the change, which is zoneinfo's rule for fold=0.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CellError(
            "is not a valid timestamp; expected ISO 8601 such as 2026-03-02T09:15:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        # A time in year 1 or 9999 whose offset moves it out of that range.
        raise CellError(
            "is out of range; expected a time from 0001-01-02 to 9999-12-30"
        ) from None


def parse_float(text: str) -> float:
    """Parse a decimal number such as 12.9716 or -250."""
    if not DECIMAL_PATTERN.fullmatch(text) or not math.isfinite(float(text)):
        raise CellError("is not a number; expected a decimal number such as 12.9716")
    return float(text)


def parse_whole_number(text: str) -> int:
    """Parse a whole number written in digits, of any size."""
    if not INTEGER_PATTERN.fullmatch(text):
        raise CellError("is not a whole number; expected digits such as 3")
    return int(text)


def parse_integer(text: str) -> int:
    """Parse a whole number written in digits that an integer column holds."""
    value = parse_whole_number(text)
    if value not in INTEGER_RANGE:
        raise CellError(
            "is out of range for an integer column; "
            f"expected {INTEGER_RANGE.start} to {INTEGER_RANGE.stop - 1}"
        )
    return value


def parse_boolean(text: str) -> bool:
    """Parse true/false or 1/0, in any case."""
    lowered = text.lower()
    if lowered in TRUE_TEXTS:
        return True
    if lowered in FALSE_TEXTS:
        return False
    raise CellError("is not a boolean; expected true, false, 1 or 0")


def parse_weekday(text: str) -> int:
    """Parse an ISO weekday, 1 for Monday to 7 for Sunday."""
    weekday = parse_integer(text)
    if not 1 <= weekday <= 7:
        raise CellError("is out of range; expected 1 (Monday) to 7 (Sunday)")
    return weekday


def parse_every_n_weeks(text: str) -> int:
    """Parse a beat frequency: 1 weekly, 2 fortnightly or 4 four-weekly."""
    every_n_weeks = parse_integer(text)
    if every_n_weeks not in EVERY_N_WEEKS:
        raise CellError(
            "is not a beat frequency; expected 1 (weekly), 2 (fortnightly) "
            "or 4 (four-weekly)"
        )
    return every_n_weeks


def parse_latitude(text: str) -> float:
    """Parse a WGS84 latitude in degrees, -90 to 90.

    A fix at (0, 0) or with latitude and longitude swapped is in range and
    loads: devices do produce those, and data health counts them.
    """
    latitude = parse_float(text)
    if not -90 <= latitude <= 90:
        raise CellError("is out of range; expected a latitude from -90 to 90 degrees")
    return latitude


# The largest order value, or return, in absolute value. Below it a float
# still resolves cents, and a national year's 7 million orders of this size
# sum far inside a float's range. Values of 1e308 made an Overview tile 300
# digits long and a revenue at risk infinite.
MAX_ORDER_VALUE = 1_000_000_000_000


def parse_order_value(text: str) -> float:
    """Parse an order's value, negative for a return, at most MAX_ORDER_VALUE
    in absolute value."""
    value = parse_float(text)
    if not -MAX_ORDER_VALUE <= value <= MAX_ORDER_VALUE:
        raise CellError(
            f"is too large for an order value; expected at most "
            f"{MAX_ORDER_VALUE:,} either way (a misplaced decimal separator?)"
        )
    return value


def parse_longitude(text: str) -> float:
    """Parse a WGS84 longitude in degrees, -180 to 180."""
    longitude = parse_float(text)
    if not -180 <= longitude <= 180:
        raise CellError(
            "is out of range; expected a longitude from -180 to 180 degrees"
        )
    return longitude


# The largest line_count. No real order has this many lines, and the
# summary tables sum a rep's lines of a day in a 32-bit integer column, which
# more than 21,000 such orders of one rep and day would overflow.
MAX_LINE_COUNT = 100_000


def parse_line_count(text: str) -> int:
    """Parse the number of order lines, 0 to MAX_LINE_COUNT."""
    line_count = parse_whole_number(text)
    if line_count < 0:
        raise CellError(f"is negative; expected 0 to {MAX_LINE_COUNT:,} order lines")
    if line_count > MAX_LINE_COUNT:
        raise CellError(
            f"is too large for a line count; expected at most {MAX_LINE_COUNT:,} "
            "order lines"
        )
    return line_count


def parse_role(text: str) -> str:
    """Parse a user role, written exactly as admin, regional_head or line_manager."""
    if text not in ROLES:
        raise CellError("is not a role; expected admin, regional_head or line_manager")
    return text


def parse_geojson(text: str) -> str:
    """Parse a territory outline: a GeoJSON Polygon or MultiPolygon.

    A Feature whose geometry is one of those is accepted and stored as that
    geometry. A Polygon or MultiPolygon is stored as written.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise CellError(
            f"is not valid JSON ({error.msg} at character {error.pos})"
        ) from None

    geometry = document
    if isinstance(document, dict) and document.get("type") == "Feature":
        geometry = document.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") not in BOUNDARY_TYPES:
        raise CellError(
            f"is {_geojson_kind(geometry)}; expected a GeoJSON Polygon or "
            "MultiPolygon, or a Feature with one"
        )
    _check_boundary_coordinates(geometry)
    fix = (
        "correct the outline, or leave the territory without one so that the "
        "map draws the hull of its outlets"
    )
    try:
        problem = outline_problem(shapely.geometry.shape(geometry))
    except (OverflowError, ValueError, shapely.errors.ShapelyError) as error:
        # GEOS may still reject a geometry that passed the checks above.
        raise CellError(f"is not a usable GeoJSON geometry ({error}); {fix}") from None
    if problem is not None:
        raise CellError(f"{problem}; {fix}")

    if geometry is document:
        return text
    return json.dumps(geometry, separators=(",", ":"))


def outline_problem(geometry: shapely.Geometry) -> str | None:
    """Say what keeps a parsed outline off the map, or return None for a
    usable one. The problems: a type other than BOUNDARY_TYPES, no
    coordinates or one that is not a finite number, a point outside -180 to
    180 degrees of longitude or -90 to 90 of latitude, and no area. The
    loader and the map both check stored outlines with it."""
    coordinates = shapely.get_coordinates(geometry)
    if geometry.geom_type not in BOUNDARY_TYPES:
        return f"is a {geometry.geom_type}, not a Polygon or MultiPolygon"
    if geometry.is_empty or not np.isfinite(coordinates).all():
        return "has no coordinates or one that is not a finite number"
    if (np.abs(coordinates) > [180, 90]).any():
        return "has a longitude outside -180 to 180 or a latitude outside -90 to 90"
    if geometry.area <= MIN_AREA_PER_PERIMETER_SQUARED * geometry.length**2:
        return "encloses no area"
    return None


def _geojson_kind(geometry: object) -> str:
    if isinstance(geometry, dict) and isinstance(geometry.get("type"), str):
        return f"a GeoJSON {geometry['type']}"
    if geometry is None:
        return "a Feature without a geometry"
    return "not a GeoJSON object"


def _check_boundary_coordinates(geometry: Mapping[str, Any]) -> None:
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        raise CellError(f"has no coordinates for its {geometry['type']}")
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise CellError("has a polygon without rings; expected [[[lon, lat], ...]]")
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                raise CellError(
                    "has a ring of fewer than 4 positions; a GeoJSON ring needs "
                    "at least 4, the last one repeating the first"
                )
            if not all(_is_position(position) for position in ring):
                raise CellError("has a position that is not [longitude, latitude]")
            # Checked before shapely reads the ring, which warns about NaN.
            if not all(_is_finite(number) for position in ring for number in position):
                raise CellError(
                    "has a coordinate that is not a finite number; expected "
                    "[longitude, latitude] in degrees"
                )


def _is_finite(number: float) -> bool:
    """Test whether a number from json is finite. json reads a 400-digit
    number as an int that no float can hold."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def _is_position(position: object) -> bool:
    return (
        isinstance(position, list)
        and len(position) in (2, 3)
        and all(
            isinstance(number, int | float) and not isinstance(number, bool)
            for number in position
        )
    )


# Columns whose values have rules beyond their SQL type.
COLUMN_PARSERS: dict[tuple[str, str], Parser] = {
    ("beats", "weekday"): parse_weekday,
    ("beats", "every_n_weeks"): parse_every_n_weeks,
    ("orders", "line_count"): parse_line_count,
    ("orders", "value"): parse_order_value,
    ("visits", "latitude"): parse_latitude,
    ("visits", "longitude"): parse_longitude,
    ("outlets", "latitude"): parse_latitude,
    ("outlets", "longitude"): parse_longitude,
    ("users", "role"): parse_role,
    ("territory_boundaries", "geojson"): parse_geojson,
}


def column_parser(column: sa.Column[Any], zone: ZoneInfo) -> Parser:
    """Return the parser for the cells of a table column."""
    special = COLUMN_PARSERS.get((column.table.name, column.name))
    if special is not None:
        return special
    column_type = column.type
    if isinstance(column_type, sa.DateTime):
        return partial(parse_timestamp, zone=zone)
    if isinstance(column_type, sa.Date):
        return parse_date
    if isinstance(column_type, sa.Boolean):
        return parse_boolean
    if isinstance(column_type, sa.Integer):
        return parse_integer
    if isinstance(column_type, sa.Float):
        return parse_float
    if isinstance(column_type, sa.Text):
        return parse_text
    raise TypeError(f"no CSV parser for column {column} of type {column_type}")


def required_columns(table: sa.Table) -> list[str]:
    """Return the columns that need a value in every row, in table order."""
    required = REQUIRED_COLUMNS.get(table.name, frozenset())
    return [
        column.name
        for column in table.columns
        if column.primary_key or column.name in required
    ]


# The tables whose rows check_row checks. It accepts every row of other tables.
ROW_CHECKED_TABLES = frozenset({"beats", "rep_territories"})


def check_row(table_name: str, row: Mapping[str, Any]) -> tuple[str, str] | None:
    """Return (column, reason) for a row whose cells are valid alone but not
    together, or None."""
    if table_name == "beats":
        start_date, end_date = row.get("start_date"), row.get("end_date")
        if start_date is not None and end_date is not None and end_date < start_date:
            return (
                "end_date",
                f"is before start_date {start_date.isoformat()}; "
                "a beat must end on or after its start date",
            )
    if table_name == "rep_territories":
        valid_from, valid_to = row.get("valid_from"), row.get("valid_to")
        if valid_from is not None and valid_to is not None and valid_to < valid_from:
            return (
                "valid_to",
                f"is before valid_from {valid_from.isoformat()}; "
                "a territory assignment must end on or after its first day",
            )
    return None
