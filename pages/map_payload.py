"""Pack the outlets the map draws into a compact, compressed payload.

The browser receives one base64 string in place of a GeoJSON feature per
outlet. It contains the zlib-compressed bytes of these little-endian columns,
one value per outlet, in this order:

| column | type | meaning |
| --- | --- | --- |
| latitude step | int32 | change from the previous outlet, in 1e-5 degrees |
| longitude step | int32 | the same for longitude |
| name length | uint32 | bytes of the outlet's UTF-8 name |
| territory | uint32 | index into OutletPayload.territory_names |
| days since visit | uint16 | NO_VISIT when never visited up to the period's end |
| code | uint8 | status index in STATUSES, plus OVERDUE_FLAG |

followed by the names' UTF-8 bytes, one after another. The columns with
4-byte values come first, so the browser can read each as a typed array
without copying. pages/outlet_layers.js reads this layout; decode_outlets
reads it back in Python for the tests.

Rounding to 1e-5 degrees moves an outlet by at most about 0.8 m. Sorted
outlets make small steps, which zlib compresses well: 200,000 outlets with
their names take about 2 MB of base64.
"""

import base64
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metrics.status import STATUSES

COORDINATE_SCALE = 100_000
NO_VISIT = 65_535
OVERDUE_FLAG = 8
# zlib's fastest level: level 6 makes the payload of 200,000 outlets about
# 15 % smaller but takes five times longer.
COMPRESSION_LEVEL = 1


@dataclass(frozen=True)
class OutletPayload:
    """The outlets of one map as the browser receives them.

    count: outlets in the payload. data: base64 text of the compressed
    columns. territory_names: the territory of each outlet, by index.
    """

    count: int
    data: str
    territory_names: tuple[str, ...]


def _territory_codes(
    territory_id: pd.Series, territory_names: dict[str, str]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Index each outlet's territory into a list of names; an id without a
    name stands for itself, and a missing id becomes an empty name."""
    ids = territory_id.astype(object).where(territory_id.notna(), "")
    categories = pd.Index(pd.unique(ids.to_numpy()))
    codes = categories.get_indexer(ids)
    names = tuple(
        str(territory_names.get(value) or value) if value != "" else ""
        for value in categories
    )
    return codes, names


def _steps(degrees: np.ndarray) -> np.ndarray:
    units = np.round(degrees * COORDINATE_SCALE).astype(np.int64)
    return np.diff(units, prepend=0).astype("<i4")


def _name_bytes(names: pd.Series, order: np.ndarray) -> tuple[np.ndarray, bytes]:
    """Return the UTF-8 byte length of each name in order, and the names' bytes
    one after another. Arrow stores strings in exactly this way, so the bytes
    come out of its buffers without a Python loop; a missing name is empty."""
    values = pa.array(names.astype("str").array)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = pc.fill_null(values.take(pa.array(order)), "").cast(pa.large_string())
    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int64, count=len(values) + 1, offset=values.offset * 8
    )
    data = data_buffer.to_pybytes() if data_buffer is not None else b""
    return np.diff(offsets).astype("<u4"), data[offsets[0] : offsets[-1]]


def encode_outlets(
    outlets: pd.DataFrame,
    territory_names: dict[str, str],
    order: np.ndarray | None = None,
) -> OutletPayload:
    """Pack outlets with a usable location, at the positions of order (all, as
    given, by default). The browser draws later outlets on top of earlier ones.

    outlets needs the outlets report's columns outlet_name, territory_id,
    status, days_since_visit and overdue, and latitude and longitude in range.
    Raises ValueError for a status outside STATUSES.
    """
    if order is None:
        order = np.arange(len(outlets))
    status_codes = pd.Index(list(STATUSES)).get_indexer(outlets["status"])
    if (status_codes < 0).any():
        unknown = sorted(set(outlets["status"][status_codes < 0].astype(str)))
        raise ValueError(f"unknown outlet status {unknown}; use one of {STATUSES}")
    overdue = np.where(outlets["overdue"].to_numpy(dtype=bool), OVERDUE_FLAG, 0)
    codes = (status_codes + overdue).astype(np.uint8)

    # A real count never reaches NO_VISIT: 65,534 days is 179 years.
    days = pd.array(outlets["days_since_visit"], dtype="Int64").fillna(-1)
    days = days.to_numpy(dtype=np.int64)
    days = np.where(days < 0, NO_VISIT, np.minimum(days, NO_VISIT - 1))
    territories, territory_list = _territory_codes(
        outlets["territory_id"], territory_names
    )
    name_lengths, names = _name_bytes(outlets["outlet_name"], order)

    columns = [
        _steps(outlets["latitude"].to_numpy(dtype=float)[order]),
        _steps(outlets["longitude"].to_numpy(dtype=float)[order]),
        name_lengths,
        territories[order].astype("<u4"),
        days[order].astype("<u2"),
        codes[order],
    ]
    raw = b"".join(column.tobytes() for column in columns) + names
    data = base64.b64encode(zlib.compress(raw, COMPRESSION_LEVEL)).decode("ascii")
    return OutletPayload(len(order), data, territory_list)


def decode_outlets(payload: OutletPayload) -> pd.DataFrame:
    """Unpack a payload as the browser does: latitude, longitude, outlet_name,
    territory, days_since_visit (missing when never visited), status, overdue."""
    n = payload.count
    raw = zlib.decompress(base64.b64decode(payload.data))

    def column(dtype: str, start: int) -> np.ndarray:
        return np.frombuffer(raw, dtype=dtype, count=n, offset=start)

    lengths = column("<u4", 8 * n)
    ends = np.cumsum(lengths, dtype=np.int64) + 19 * n
    starts = ends - lengths
    days = column("<u2", 16 * n).astype("int64")
    codes = column("u1", 18 * n)
    return pd.DataFrame(
        {
            "latitude": np.cumsum(column("<i4", 0), dtype=np.int64) / COORDINATE_SCALE,
            "longitude": np.cumsum(column("<i4", 4 * n), dtype=np.int64)
            / COORDINATE_SCALE,
            "outlet_name": [
                raw[start:end].decode("utf-8") for start, end in zip(starts, ends)
            ],
            "territory": [payload.territory_names[i] for i in column("<u4", 12 * n)],
            "days_since_visit": pd.array(
                np.where(days == NO_VISIT, None, days), dtype="Int64"
            ),
            "status": [STATUSES[code & 7] for code in codes],
            "overdue": (codes & OVERDUE_FLAG) != 0,
        }
    )


def drawing_order(
    outlets: pd.DataFrame, positions: np.ndarray, draw_order: Sequence[str]
) -> np.ndarray:
    """Sort the outlets at positions by status as in draw_order (later drawn on
    top) and by place within a status, which keeps the coordinate steps
    small. A status missing from draw_order sorts first."""
    rank = pd.Index(list(draw_order)).get_indexer(outlets["status"])
    keys = (
        outlets["longitude"].to_numpy(dtype=float)[positions],
        outlets["latitude"].to_numpy(dtype=float)[positions],
        rank[positions],
    )
    return positions[np.lexsort(keys)]
