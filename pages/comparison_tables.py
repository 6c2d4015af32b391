"""The tables of the territory comparison: ranked groups with their change,
the reps, skipped outlets and outlets of a drill-down level, their column
formats and their CSV and XLSX files.

Tables keep raw numbers (ratios as fractions, amounts as numbers), so a
sorted column sorts by value and an exported file can compute with them. The
column formats show them as percentages and amounts in the number format of
the viewer's browser locale.
"""

from collections.abc import Iterable

import numpy as np
import pandas as pd
import streamlit as st

from metrics.comparison import (
    REGION_GROUP_COLUMNS,
    TERRITORY_GROUP_COLUMNS,
    UNASSIGNED,
    with_change,
)
from metrics.reports import OUTLET_COLUMNS, REP_COLUMNS
from metrics.rounding import plural
from pages import exports
from pages.comparison_charts import KPIS, Kpi, group_labels, rank_weakest_first
from pages.formatting import markdown_text, money, money_column, percent_column
from pages.outlet_map import STATUS_LABELS

# The session_state keys of the sidebar filters that dashboard.py draws.
REGION, TERRITORY, REP = "region", "territory", "rep"

# Kinds of the reps and outlets report columns that are not rankable KPIS.
OTHER_KINDS = {
    "planned_outlets": "count",
    "off_beat_visits": "count",
    "orders": "count",
    "average_order_value": "money",
    "lines_per_call": "decimal",
    "return_value": "money",
    "off_site_visits": "count",
    "territories": "count",
    "days_since_visit": "count",
}

ID_COLUMNS = {
    "territory_id": st.column_config.TextColumn("Territory id"),
    "territory_name": st.column_config.TextColumn("Territory"),
    "region_id": st.column_config.TextColumn("Region id"),
    "region_name": st.column_config.TextColumn("Region"),
    "rep_id": st.column_config.TextColumn("Rep id"),
    "rep_name": st.column_config.TextColumn("Rep"),
    "outlet_id": st.column_config.TextColumn("Outlet id"),
    "outlet_name": st.column_config.TextColumn("Outlet"),
}

SKIPPED_COLUMNS = {
    "outlet_id": ID_COLUMNS["outlet_id"],
    "outlet_name": ID_COLUMNS["outlet_name"],
    "outlet_class": st.column_config.TextColumn("Class"),
    "planned_calls": st.column_config.NumberColumn("Planned calls missed"),
    "first_plan_date": st.column_config.DateColumn("First planned", format="localized"),
    "last_plan_date": st.column_config.DateColumn("Last planned", format="localized"),
}


def filter_names(
    territories: pd.DataFrame, reps: pd.DataFrame
) -> dict[tuple[str, str], str]:
    """Map (level, id) to "name (id)" for the regions, territories and reps of
    the drill-down buttons."""
    names: dict[tuple[str, str], str] = {}
    regions = territories.dropna(subset=["region_id"]).drop_duplicates("region_id")
    for level, frame, id_column, name_column in (
        ("region", regions, "region_id", "region_name"),
        ("territory", territories, "territory_id", "territory_name"),
        ("rep", reps, "rep_id", "rep_name"),
    ):
        labels = group_labels(frame[id_column], frame[name_column])
        names.update(
            {(level, key): label for key, label in zip(frame[id_column], labels)}
        )
    return names


def _region_names(territories: pd.DataFrame) -> pd.Series:
    regions = territories.dropna(subset=["region_id"]).drop_duplicates("region_id")
    return regions.set_index("region_id")["region_name"]


def ranked_territories(
    groups: pd.DataFrame,
    previous: pd.DataFrame,
    territories: pd.DataFrame,
    kpi_name: str,
) -> pd.DataFrame:
    """Add the change of kpi_name and labels to territory groups and rank them weakest first."""
    table = with_change(groups, previous, "territory_id", kpi_name)
    table["region_name"] = table["region_id"].map(_region_names(territories))
    table["label"] = group_labels(table["territory_id"], table["territory_name"])
    table["region_label"] = group_labels(table["region_id"], table["region_name"])
    return rank_weakest_first(table, kpi_name, KPIS[kpi_name].better)


def ranked_regions(
    groups: pd.DataFrame,
    previous: pd.DataFrame,
    territories: pd.DataFrame,
    kpi_name: str,
) -> pd.DataFrame:
    """Add the change of kpi_name and labels to region groups and rank them weakest first."""
    table = with_change(groups, previous, "region_id", kpi_name)
    table["region_name"] = table["region_id"].map(_region_names(territories))
    table.loc[table["is_unassigned"], "region_name"] = UNASSIGNED
    table["label"] = group_labels(table["region_id"], table["region_name"])
    return rank_weakest_first(table, kpi_name, KPIS[kpi_name].better)


def comparison_table(ranked: pd.DataFrame, kpi_name: str, compare: str) -> pd.DataFrame:
    """Select the columns of the ranked table: rank, names, the KPI with its
    previous value and change, then every other figure of the group."""
    if compare == "regions":
        names = ["rank", "region_id", "region_name", "territories"]
        figures = REGION_GROUP_COLUMNS
    else:
        names = ["rank", "territory_id", "territory_name", "region_id", "region_name"]
        figures = TERRITORY_GROUP_COLUMNS
    chosen = [kpi_name, f"previous_{kpi_name}", f"change_{kpi_name}"]
    rest = [
        column
        for column in figures
        if column not in names and column not in chosen and column != "is_unassigned"
    ]
    return ranked[names + chosen + rest].reset_index(drop=True)


def drill_targets(
    ranked: pd.DataFrame, compare: str
) -> list[dict[str, str | None] | None]:
    """List the filters a click on each row sets, None for an Unassigned row."""
    if compare == "regions":
        return [
            None if unassigned else {REGION: region, TERRITORY: None, REP: None}
            for region, unassigned in zip(ranked["region_id"], ranked["is_unassigned"])
        ]
    return [
        None
        if unassigned
        else {
            # A region_id without a row in the regions table is no filter option.
            REGION: region if pd.notna(region_name) else None,
            TERRITORY: territory,
            REP: None,
        }
        for territory, region, region_name, unassigned in zip(
            ranked["territory_id"],
            ranked["region_id"],
            ranked["region_name"],
            ranked["is_unassigned"],
        )
    ]


def _kpi_column(kpi: Kpi, label: str, symbol: str, help: str | None = None):
    if kpi.kind == "ratio":
        return percent_column(label, help)
    if kpi.kind == "money":
        return money_column(label, symbol, help)
    if kpi.kind == "decimal":
        return st.column_config.NumberColumn(label, help=help, format="%.1f")
    return st.column_config.NumberColumn(label, help=help, format="localized")


def column_config(symbol: str, kpi_name: str) -> dict:
    """Build the formats of the ranked table: every KPI by its kind, the chosen one's change."""
    config = {"rank": st.column_config.NumberColumn("Rank", help="1 is the weakest.")}
    config.update(ID_COLUMNS)
    config["territories"] = st.column_config.NumberColumn("Territories")
    for name, kpi in KPIS.items():
        config[name] = _kpi_column(kpi, kpi.label, symbol, kpi.help)
    kpi = KPIS[kpi_name]
    config[f"previous_{kpi_name}"] = _kpi_column(kpi, "Previous period", symbol)
    config[f"change_{kpi_name}"] = _change_column(kpi, symbol)
    return config


# printf formats (sprintf-js in Streamlit 1.67) of a change, which give it a
# sign as the tiles and the ranking chart do: +3 pts, -1,200, +0.4, +2. The
# "," flag adds thousands separators whatever the browser's locale.
CHANGE_FORMATS = {
    "ratio": "%+.0f pts",
    "money": "%+,.0f",
    "decimal": "%+,.1f",
    "count": "%+,.0f",
}
# Decimals each format of CHANGE_FORMATS shows.
CHANGE_DECIMALS = {"ratio": 0, "money": 0, "decimal": 1, "count": 0}


def _change_column(kpi: Kpi, symbol: str) -> st.column_config.NumberColumn:
    label = "Change"
    help_text = "Against the previous period of the same length."
    if kpi.kind == "ratio":
        help_text = (
            "Against the previous period of the same length, in percentage points."
        )
    if kpi.kind == "money" and symbol:
        # A printf prefix would put the symbol before the sign (₹-1,200), so
        # the symbol goes in the label, as in the other columns of amounts.
        label = f"Change ({symbol})"
    return st.column_config.NumberColumn(
        label, help=help_text, format=CHANGE_FORMATS[kpi.kind]
    )


def screen_table(table: pd.DataFrame, kpi_name: str) -> pd.DataFrame:
    """Return the comparison table as the page shows it: a ratio's change in
    percentage points, because a printf format cannot scale a fraction, and
    every change rounded as its format shows it.

    A change that rounds to zero shows as +0, never -0, as on the tiles.
    Rows that differ by less than the shown precision sort as ties. The
    downloads keep the exact change, a ratio's as a fraction.

    NOTE: a change of exactly half a unit rounds away from zero here, as the
    browser rounds the table's other columns. The tiles and the chart's
    hover round it to even, as Python formats the figures beside them, so
    12.5 points shows as +13 here and +12 there.
    """
    kind = KPIS[kpi_name].kind
    change = f"change_{kpi_name}"
    points = table[change] * 100 if kind == "ratio" else table[change]
    # Half away from zero, as the browser rounds the other columns (2.25 to
    # 2.3, where pandas rounds to even). Adding 0.0 turns -0.0 into 0.0,
    # which printf shows as +0.
    scale = 10 ** CHANGE_DECIMALS[kind]
    rounded = np.sign(points) * np.floor(points.abs() * scale + 0.5) / scale + 0.0
    return table.assign(**{change: rounded})


def rep_table(reps: pd.DataFrame) -> pd.DataFrame:
    """Select the reps report's columns, in its order."""
    return reps[REP_COLUMNS].reset_index(drop=True)


def rep_column_config(symbol: str) -> dict:
    """Build the formats of the reps table."""
    config = {name: ID_COLUMNS[name] for name in ("rep_id", "rep_name")}
    config["territory_id"] = ID_COLUMNS["territory_id"]
    for name in ("visits", "productive_visits", "planned_calls", "calls_on_plan"):
        config[name] = _kpi_column(
            KPIS[name], KPIS[name].label, symbol, KPIS[name].help
        )
    config["strike_rate"] = percent_column("Strike rate", "Productive visits / visits.")
    config["beat_compliance"] = percent_column(
        "Beat compliance", "Planned calls visited on the planned day / planned calls."
    )
    config["skipped_outlets"] = st.column_config.NumberColumn(
        "Skipped outlets",
        help="Planned outlets the rep did not visit on any day of the period.",
    )
    config["planned_outlets"] = st.column_config.NumberColumn("Planned outlets")
    config["off_beat_visits"] = st.column_config.NumberColumn("Off-beat visits")
    config["orders"] = st.column_config.NumberColumn("Orders")
    config["lines_per_call"] = st.column_config.NumberColumn(
        "Lines per call", format="%.1f"
    )
    config["off_site_visits"] = st.column_config.NumberColumn("Off-site visits")
    config["order_value"] = money_column("Order value", symbol)
    config["average_order_value"] = money_column("Average order value", symbol)
    config["return_value"] = money_column(
        "Return value", symbol, "Sum of negative orders (returns)."
    )
    return config


def skipped_table(skipped: pd.DataFrame) -> pd.DataFrame:
    """Select a rep's skipped outlets with the planned calls missed."""
    return skipped[list(SKIPPED_COLUMNS)].reset_index(drop=True)


def outlet_table(outlets: pd.DataFrame) -> pd.DataFrame:
    """Select the outlets report's columns, then channel and outlet_class."""
    return outlets[[*OUTLET_COLUMNS, "channel", "outlet_class"]].reset_index(drop=True)


def outlet_column_config(symbol: str) -> dict:
    """Build the formats of the outlets table."""
    return {
        "outlet_id": ID_COLUMNS["outlet_id"],
        "outlet_name": ID_COLUMNS["outlet_name"],
        "territory_id": ID_COLUMNS["territory_id"],
        "status": st.column_config.TextColumn("Status"),
        "last_visit_date": st.column_config.DateColumn(
            "Last visit", format="localized"
        ),
        "days_since_visit": st.column_config.NumberColumn("Days since visit"),
        "visits": st.column_config.NumberColumn(
            "Visits", help="Visits by anyone in the period."
        ),
        "order_value": money_column("Order value", symbol),
        "channel": st.column_config.TextColumn("Channel"),
        "outlet_class": st.column_config.TextColumn("Class"),
    }


def outlet_summary(outlet: pd.Series, symbol: str) -> str:
    """Describe an outlet in one Markdown line: status, last visit, visits, orders."""
    name = markdown_text(
        outlet["outlet_name"] if pd.notna(outlet["outlet_name"]) else ""
    )
    status = STATUS_LABELS.get(outlet["status"], outlet["status"])
    if pd.isna(outlet["last_visit_date"]):
        last_visit = "never visited"
    else:
        last_visit = (
            f"last visit {outlet['last_visit_date']:%d %b %Y} "
            f"({int(outlet['days_since_visit'])} days before the period's end)"
        )
    visits = int(outlet["visits"])
    if outlet["order_value"] > 0:
        orders = f"orders worth {markdown_text(money(outlet['order_value'], symbol))}"
    else:
        orders = "no orders"
    return (
        f"**{name}** ({markdown_text(outlet['outlet_id'])}): {status.lower()}, "
        f"{last_visit}; {visits} {plural(visits, 'visit')} and {orders} "
        "in the period."
    )


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """Write the table as a CSV file whose text cells cannot run as formulas."""
    return exports.to_csv_bytes(frame)


def xlsx_bytes(frame: pd.DataFrame, sheet: str, symbol: str = "") -> bytes:
    """Write the table as an XLSX workbook of one sheet, numbers as numbers.

    Ratios get a percentage format and amounts the currency symbol; Excel
    shows them with the separators of the reader's own locale.
    """
    return exports.to_xlsx_bytes(
        {sheet: frame}, xlsx_number_formats(frame.columns, symbol)
    )


def xlsx_number_formats(columns: Iterable[str], symbol: str = "") -> dict[str, str]:
    """Map each numeric column of a table to an Excel number format."""
    money_format = f'"{symbol}"#,##0.00' if symbol else "#,##0.00"
    by_kind = {
        "ratio": "0%",
        "money": money_format,
        "count": "#,##0",
        "decimal": "#,##0.0",
    }
    kinds = {name: kpi.kind for name, kpi in KPIS.items()}
    kinds.update(OTHER_KINDS)
    formats = {}
    for column in columns:
        name = column.removeprefix("previous_").removeprefix("change_")
        if name in kinds:
            formats[column] = by_kind[kinds[name]]
    return formats
