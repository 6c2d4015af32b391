"""Packing the map's outlets into the compact payload and reading it back."""

import base64
import zlib

import numpy as np
import pandas as pd
import pytest

from pages import map_payload


def outlets(rows: list[tuple]) -> pd.DataFrame:
    """Outlets from (name, territory_id, status, latitude, longitude,
    days_since_visit, overdue) rows."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "outlet_name",
            "territory_id",
            "status",
            "latitude",
            "longitude",
            "days_since_visit",
            "overdue",
        ],
    )
    frame["days_since_visit"] = pd.array(frame["days_since_visit"], dtype="Int64")
    return frame


MIXED = outlets(
    [
        ("Kirana <1>", "T1", "visited", 19.076091, 72.877656, 0, False),
        (None, "T2", "neglected", -33.868820, 151.209296, 40, True),
        ("किराना स्टोर 🛒", None, "not_due", 51.5, -0.1275, None, True),
        ("Bazaar", "T9", "skipped", -89.99999, -179.99999, 70_000, True),
    ]
)


def test_round_trip_keeps_every_column():
    payload = map_payload.encode_outlets(MIXED, {"T1": "Mumbai & Co", "T2": ""})

    result = map_payload.decode_outlets(payload)

    expected = pd.DataFrame(
        {
            "latitude": [19.07609, -33.86882, 51.5, -89.99999],
            "longitude": [72.87766, 151.2093, -0.1275, -179.99999],
            "outlet_name": ["Kirana <1>", "", "किराना स्टोर 🛒", "Bazaar"],
            "territory": ["Mumbai & Co", "T2", "", "T9"],
            "days_since_visit": pd.array([0, 40, None, 65_534], dtype="Int64"),
            "status": ["visited", "neglected", "not_due", "skipped"],
            "overdue": [False, True, True, True],
        }
    )
    assert payload.count == 4
    assert payload.territory_names == ("Mumbai & Co", "T2", "", "T9")
    pd.testing.assert_frame_equal(result, expected)


def test_order_picks_and_orders_outlets():
    payload = map_payload.encode_outlets(MIXED, {}, order=np.array([3, 0]))

    result = map_payload.decode_outlets(payload)

    assert list(result["outlet_name"]) == ["Bazaar", "Kirana <1>"]
    assert list(result["latitude"]) == [-89.99999, 19.07609]


def test_empty_payload():
    payload = map_payload.encode_outlets(MIXED.iloc[0:0], {})

    result = map_payload.decode_outlets(payload)

    assert payload.count == 0
    assert result.empty
    assert zlib.decompress(base64.b64decode(payload.data)) == b""


def test_layout_of_the_columns():
    one = outlets([("Ab", "T1", "skipped", 0.00002, -0.00001, 3, True)])

    payload = map_payload.encode_outlets(one, {})
    raw = zlib.decompress(base64.b64decode(payload.data))

    expected = (
        (2).to_bytes(4, "little", signed=True)
        + (-1).to_bytes(4, "little", signed=True)
        + (2).to_bytes(4, "little")
        + (0).to_bytes(4, "little")
        + (3).to_bytes(2, "little")
        + bytes([1 + map_payload.OVERDUE_FLAG])
        + b"Ab"
    )
    assert raw == expected


def test_unknown_status_is_rejected():
    frame = MIXED.assign(status=["visited", "closed", "visited", "visited"])

    with pytest.raises(ValueError, match=r"unknown outlet status \['closed'\]"):
        map_payload.encode_outlets(frame, {})


def test_drawing_order_by_status_then_place():
    frame = outlets(
        [
            ("a", "T1", "skipped", 19.2, 72.8, 1, True),
            ("b", "T1", "visited", 19.1, 72.8, 1, False),
            ("c", "T1", "skipped", 19.0, 72.9, 1, True),
            ("d", "T1", "visited", 19.0, 72.8, 1, False),
            ("e", "T1", "not_due", 19.5, 72.8, 1, False),
        ]
    )

    result = map_payload.drawing_order(
        frame, np.array([0, 1, 2, 3]), ("not_due", "visited", "skipped")
    )

    assert list(frame["outlet_name"].iloc[result]) == ["d", "b", "c", "a"]


def test_national_payload_stays_small():
    rng = np.random.default_rng(11)
    size = 20_000
    frame = pd.DataFrame(
        {
            "outlet_name": [f"Shop {i} General Stores" for i in range(size)],
            "territory_id": rng.choice(["T1", "T2", "T3"], size),
            "status": rng.choice(["visited", "skipped", "not_due"], size),
            "latitude": 8 + rng.random(size) * 28,
            "longitude": 68 + rng.random(size) * 29,
            "days_since_visit": pd.array(rng.integers(0, 60, size), dtype="Int64"),
            "overdue": rng.random(size) < 0.3,
        }
    )
    order = map_payload.drawing_order(
        frame, np.arange(size), ("not_due", "visited", "skipped")
    )

    payload = map_payload.encode_outlets(frame, {}, order)

    # Random places all over India compress worst; real outlets cluster in towns.
    assert len(payload.data) < 30 * size
    assert (
        map_payload.decode_outlets(payload)["outlet_name"].iloc[0].startswith("Shop ")
    )
