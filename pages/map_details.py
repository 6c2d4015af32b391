"""The tables beside the territory map: a clicked outlet, its last visits, a
clicked territory's figures and a rep's calls of one day.

The functions build tables and the page draws them. Every table contains
plain text and numbers, never HTML. The page shows them in data grids, which
print text as it is, or escapes them for st.table.
"""

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pages.formatting import count, money, percent
from pages.outlet_map import STATUS_LABELS, describe_last_visit


def _text(value: Any) -> str:
    return (
        ""
        if value is None or (not isinstance(value, str) and pd.isna(value))
        else str(value)
    )


def _facts(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["Figure", "Value"])


def outlet_facts(
    outlet: Mapping[str, Any],
    territory_names: Mapping[str, str],
    currency_symbol: str = "",
) -> pd.DataFrame:
    """Describe one row of the outlets report as Figure and Value text."""
    territory_id = _text(outlet["territory_id"])
    territory = territory_names.get(territory_id) or territory_id
    last_visit = describe_last_visit(
        pd.Series([outlet["last_visit_date"]]),
        pd.Series([outlet["days_since_visit"]], dtype="Int64"),
    ).iloc[0]
    return _facts(
        [
            ("Outlet", _text(outlet["outlet_name"])),
            ("Outlet ID", _text(outlet["outlet_id"])),
            ("Status", STATUS_LABELS.get(outlet["status"], _text(outlet["status"]))),
            ("Territory", _text(territory)),
            ("Channel", _text(outlet.get("channel"))),
            ("Class", _text(outlet.get("outlet_class"))),
            ("Last visit", last_visit),
            ("Visits in period", count(outlet["visits"])),
            ("Order value", money(float(outlet["order_value"]), currency_symbol)),
        ]
    )


def last_visits_table(visits: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Describe an outlet's last visits: Date, Time (local check-in), Rep,
    Productive (Yes or No), Order value, No-order reason."""
    check_in = pd.to_datetime(visits["check_in"], errors="coerce", utc=True)
    local = check_in.dt.tz_convert(timezone)
    rep = (
        visits["rep_name"]
        .astype(object)
        .where(visits["rep_name"].notna(), visits["rep_id"])
        .fillna("a rep outside your view")
    )
    return pd.DataFrame(
        {
            "Date": pd.to_datetime(visits["visit_date"]).dt.date,
            "Time": local.dt.strftime("%H:%M"),
            "Rep": rep,
            "Productive": visits["productive"].map({1: "Yes", 0: "No"}),
            "Order value": visits["order_value"].astype(float),
            "No-order reason": visits["no_order_reason"],
        }
    ).reset_index(drop=True)


def territory_facts(row: Mapping[str, Any], currency_symbol: str = "") -> pd.DataFrame:
    """Describe one row of the territories report as Figure and Value text."""
    return _facts(
        [
            ("Territory", _text(row["territory_name"]) or _text(row["territory_id"])),
            ("Territory ID", _text(row["territory_id"])),
            ("Active outlets", count(row["active_outlets"])),
            ("Visited outlets", count(row["visited_outlets"])),
            ("Coverage", percent(row["coverage"])),
            ("Skipped outlets", count(row["skipped_outlets"])),
            ("Unplanned outlets", count(row["unplanned_outlets"])),
            ("Neglected outlets", count(row["neglected_outlets"])),
            ("Not due outlets", count(row["not_due_outlets"])),
            ("Visits", count(row["visits"])),
            ("Strike rate", percent(row["strike_rate"])),
            ("Beat compliance", percent(row["beat_compliance"])),
            ("Order value", money(float(row["order_value"]), currency_symbol)),
        ]
    )


def calls_table(calls: pd.DataFrame) -> pd.DataFrame:
    """Describe a day's calls in stop order: Stop, Time, Outlet, Call, Order value."""
    check_in = calls["local_check_in"]
    return pd.DataFrame(
        {
            "Stop": calls["stop"]
            .astype(object)
            .where(calls["stop"].notna(), "")
            .astype(str),
            "Time": check_in.dt.strftime("%H:%M").where(check_in.notna(), ""),
            "Outlet": calls["outlet_name"]
            .astype(object)
            .where(calls["outlet_name"].notna(), calls["outlet_id"]),
            "Call": calls["kind"].str.capitalize(),
            "Order value": calls["order_value"].astype(float),
        }
    ).reset_index(drop=True)


def call_facts(call: Mapping[str, Any], currency_symbol: str = "") -> pd.DataFrame:
    """Describe one call of the route as Figure and Value text."""
    start = call["local_check_in"]
    end = call["local_check_out"]
    distance = call.get("distance_m")
    rows = [
        ("Outlet", _text(call["outlet_name"]) or _text(call["outlet_id"])),
        ("Outlet ID", _text(call["outlet_id"])),
        ("Call", str(call["kind"]).capitalize()),
    ]
    if call["kind"] != "missed":
        rows += [
            ("Check-in", "" if pd.isna(start) else f"{start:%H:%M}"),
            ("Check-out", "" if pd.isna(end) else f"{end:%H:%M}"),
            ("Productive", "Yes" if call["productive"] else "No"),
            ("Order value", money(float(call["order_value"]), currency_symbol)),
            ("No-order reason", _text(call.get("no_order_reason"))),
            (
                "Check-in distance",
                "no usable fix"
                if distance is None or pd.isna(distance)
                else f"{count(distance)} m",
            ),
        ]
    if not call["located"]:
        rows.append(
            ("On the map", "no, the outlet and the check-in have no usable location")
        )
    return _facts(rows)
