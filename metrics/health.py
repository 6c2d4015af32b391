"""Data health figures: what each rule finds, the share of rows it affects,
its weekly trend, the affected rows in words, and the note a KPI shows about
the rows it leaves out.

The counts come from data_access.health_queries; this module only divides,
reshapes and words them.
"""

import math
from dataclasses import dataclass

import pandas as pd

from data_access.csv_cells import MAX_LINE_COUNT, MAX_ORDER_VALUE
from data_access.filters import Settings
from data_access.health_queries import KIND_TABLES
from metrics import kpi
from metrics.rounding import half_up, plural


@dataclass(frozen=True)
class Rule:
    """One kind of dirty data.

    label: the problem as the page lists it.
    finds: which rows the rule flags, in the settings' terms.
    effect: what the KPIs do with those rows.
    """

    kind: str
    label: str
    finds: str
    effect: str


def rules(settings: Settings) -> list[Rule]:
    """Return every rule in page order, worded with the settings' thresholds."""
    window = _number(settings.duplicate_window_s)
    off_site = _number(settings.off_site_m)
    hours = _number(settings.max_visit_hours)
    speed = _number(settings.max_speed_kmh)
    return [
        Rule(
            "duplicate_visit",
            "Duplicate visits",
            f"A visit by the same rep to the same outlet less than {window} s after "
            "the previous check-in (offline sync resends a visit under a new id).",
            "Excluded: counted once in visits and every visit KPI.",
        ),
        Rule(
            "check_out_before_check_in",
            "Check-out before check-in",
            "A visit whose check_out is earlier than its check_in.",
            "Counted as a visit; time in market takes its check-in as its end.",
        ),
        Rule(
            "long_visit",
            "Visits longer than allowed",
            f"A visit whose check_out is more than {hours} hours after its check_in.",
            "Counted as a visit, and in time in market as recorded.",
        ),
        Rule(
            "future_check_in",
            "Check-in in the future",
            "A visit checked in later than the moment the page was loaded.",
            "Counted in the week of its check-in.",
        ),
        Rule(
            "visit_without_gps",
            "Visits without a GPS fix",
            "A visit with no latitude or no longitude.",
            "Counted as a visit, never judged off-site.",
        ),
        Rule(
            "gps_at_zero",
            "GPS fix at (0, 0)",
            "A visit whose fix is exactly latitude 0, longitude 0, which a phone "
            "reports when it has no fix.",
            "Counted as a visit, never judged off-site.",
        ),
        Rule(
            "gps_out_of_range",
            "GPS fix out of range",
            "A visit whose latitude is outside -90 to 90 or longitude outside "
            "-180 to 180. The loader rejects these; other systems may write them.",
            "Counted as a visit, never judged off-site.",
        ),
        Rule(
            "gps_swapped",
            "Latitude and longitude swapped",
            f"A fix more than {off_site} m from its outlet, or out of range, that "
            f"lies within {off_site} m once latitude and longitude are swapped.",
            "Counted as an off-site visit when the fix is in range.",
        ),
        Rule(
            "impossible_travel",
            "Faster than a vehicle",
            f"A visit reached from the rep's previous visit of the day at more than "
            f"{speed} km/h, measured between usable fixes and check-in times. "
            f"Jumps shorter than {off_site} m are GPS noise and never flagged.",
            "Counted as a visit.",
        ),
        Rule(
            "visit_unknown_reference",
            "Visits with an unknown rep or outlet",
            "A visit whose rep_id is not in reps or whose outlet_id is not in "
            "outlets. The loader rejects these; other systems may write them.",
            "Unknown rep: in no rep's figures. Unknown outlet: never off-site.",
        ),
        Rule(
            "order_without_visit",
            "Orders without a visit",
            "An order whose visit_id is empty or names no visit, and that no "
            "visit by its rep to its outlet on its date links to.",
            "Counted in order value; makes no visit productive.",
        ),
        Rule(
            "order_unknown_outlet",
            "Orders for an unknown outlet",
            "An order whose outlet_id is empty or not in outlets.",
            "Counted in its rep's order value; in no outlet's figures.",
        ),
        Rule(
            "order_unknown_rep",
            "Orders for an unknown rep",
            "An order whose rep_id (or, when empty, its visit's rep) is missing "
            "or not in reps.",
            "Left out of every rep's order value; counted for its outlet.",
        ),
        Rule(
            "return_order",
            "Returns (negative value)",
            "An order with a value below 0.",
            "Reported apart as return value; never nets off order value.",
        ),
        Rule(
            "order_value_unusable",
            "Orders with an unusable value",
            "An order whose value is NaN, an infinity, text such as 'abc', or a "
            f"number beyond {MAX_ORDER_VALUE:,} either way, such as 1e308. The "
            "loader rejects these; other systems may write them.",
            "Left out of orders, order value, return value, productive visits "
            "and lines per call.",
        ),
        Rule(
            "order_line_count_unusable",
            "Orders with an unusable line count",
            "An order whose line_count is not a whole number from 0 to "
            f"{MAX_LINE_COUNT:,}, such as -5, 2.5 or the text 'abc'. The loader "
            "rejects these; other systems may write them. A missing line_count, "
            "which the loader stores for an empty cell, is not listed and adds "
            "no lines either.",
            "Adds no lines to lines per call, but its visit still counts as "
            "productive, so lines per call may read low. Counted in orders and "
            "order value.",
        ),
        Rule(
            "order_off_visit_day",
            "Orders outside any visit day",
            "An order of a rep who made no visit on the order's local date; a "
            "resend after midnight, even one the order names, is dated by the "
            "visit it repeats.",
            "Counted in order value on its own date.",
        ),
        Rule(
            "outlet_without_coordinates",
            "Outlets without coordinates",
            "An active outlet whose latitude or longitude is missing, out of "
            "range or (0, 0).",
            "Cannot be placed on the map; its visits are never judged off-site.",
        ),
        Rule(
            "outlet_without_territory",
            "Outlets without a territory",
            "An active outlet whose territory_id is empty or not in territories.",
            "In no territory's figures; only the whole-company view shows it.",
        ),
        Rule(
            "rep_without_manager",
            "Reps without a manager",
            "An active rep whose manager_id is empty.",
            "No line manager sees the rep.",
        ),
        Rule(
            "rep_without_territory",
            "Reps without a territory",
            "An active rep whose territory_id is empty or not in territories.",
            "The rep's visits and orders count for no territory.",
        ),
        Rule(
            "beat_never_runs",
            "Beats that never run",
            "A beat of a rep in scope whose weekday is outside 1 (Monday) to 7 "
            "(Sunday), whose every_n_weeks is 0 or below, whose start_date is "
            "not a finite date, or whose end_date is before its "
            "first run date (the first date on its weekday on or after "
            "start_date). The loader rejects all but an end_date from start_date "
            "to the day before the first run date; other systems may write "
            "them. Correct the value in the beats table.",
            "Plans no call, so visits to its outlets count as off-beat and its "
            "outlets are never skipped. While its dates overlap the period, its "
            "outlets do not count as unplanned either.",
        ),
        Rule(
            "beat_unknown_rep",
            "Beats for an unknown rep",
            "A beat whose rep_id is empty or not in reps. The loader rejects an "
            "empty rep_id but accepts one not in reps; other systems may write "
            "either. No rep puts such a beat in a scope, so only the "
            "whole-company view lists it. Correct the rep_id in the beats table "
            "or add the rep.",
            "Its calls are in no rep's or territory's planned calls or beat "
            "compliance, but its outlets still count as planned, and as skipped "
            "when it runs and nobody visits them.",
        ),
        Rule(
            "beat_outlet_unknown_reference",
            "Beat outlets with an unknown beat or outlet",
            "A beat_outlets row whose beat_id is not in beats or whose outlet_id "
            "is not in outlets. The loader accepts these, and other systems may "
            "write them. A row is in the scope of its beat's rep, so a row with "
            "an unknown beat, or a beat for an unknown rep, is listed only in "
            "the whole-company view.",
            "Plans no call. An outlet whose only beat_outlets rows name unknown "
            "beats is on no beat, so it counts as unplanned unless visited.",
        ),
        Rule(
            "outlet_invalid_active",
            "Outlets with an invalid active value",
            "An outlet whose active value is stored as neither true (1) nor false "
            "(0), such as 2 or the text 'true'. The loader writes only 1 or 0; "
            "other systems may write these.",
            "Counted as inactive: off the map, the outlets report and coverage, "
            "and never planned; visits to it still count.",
        ),
        Rule(
            "rep_invalid_active",
            "Reps with an invalid active value",
            "A rep whose active value is stored as neither true (1) nor false (0), "
            "such as 2 or the text 'false'. The loader writes only 1 or 0; other "
            "systems may write these.",
            "Counted as inactive: in the reps report only for a period with the "
            "rep's visits, planned calls or orders.",
        ),
    ]


# Rules the loader applies to files, which never reach the database.
LOADER_RULES = [
    "A file row with an invalid type, a value out of range (latitude, longitude, "
    "weekday, every_n_weeks), a missing required value or an id that appears "
    "twice in one file (such as an outlet listed twice) is rejected.",
    "A visit whose rep or outlet is neither in the files nor in the database is "
    "rejected.",
]

HEALTH_TABLE_COLUMNS = [
    "kind",
    "problem",
    "table_name",
    "affected",
    "checked",
    "share",
    "effect",
]


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def health_table(counts: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Build one row per rule: the problem, its table, affected and checked rows, share.

    counts is the frame of health_queries.health_counts. share is affected /
    checked, undefined (NaN) when no row of the table was checked.
    """
    by_kind = {rule.kind: rule for rule in rules(settings)}
    table = counts.copy()
    table["problem"] = [by_kind[kind].label for kind in table["kind"]]
    table["effect"] = [by_kind[kind].effect for kind in table["kind"]]
    table["share"] = kpi.ratio(table["affected"], table["checked"])
    return table[HEALTH_TABLE_COLUMNS].reset_index(drop=True)


def weekly_trend(weekly_counts: pd.DataFrame) -> pd.DataFrame:
    """Arrange affected rows per kind and week: a row per kind, a column per week.

    weekly_counts is the frame of health_queries.weekly_health_counts
    (week_start, kind, affected). Columns are the weeks' first days in order,
    and rows are the kinds it counts, in KIND_TABLES order. A kind missing
    from a week counts 0 there.
    """
    table = weekly_counts.pivot(index="kind", columns="week_start", values="affected")
    kinds = [kind for kind in KIND_TABLES if kind in table.index]
    trend = table.reindex(index=kinds, columns=sorted(table.columns)).fillna(0)
    trend.columns.name = None
    return trend.astype("int64")


def describe_rows(rows: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Describe the affected rows as an administrator reads them.

    rows is the frame of health_queries.affected_rows. Columns: problem,
    table_name, record_id, rep_id, outlet_id, local_time (in the business
    time zone), latitude, longitude, detail (the figure behind the flag).
    """
    labels = {rule.kind: rule.label for rule in rules(settings)}
    local_time = (
        pd.to_datetime(rows["happened_at"], utc=True)
        .dt.tz_convert(settings.timezone)
        .dt.tz_localize(None)
    )
    details = [
        _detail(
            row.kind,
            row.measure,
            row.related_id,
            row.latitude,
            row.longitude,
            record_id=row.record_id,
            outlet_id=row.outlet_id,
        )
        for row in rows.itertuples()
    ]
    return pd.DataFrame(
        {
            "problem": [labels[kind] for kind in rows["kind"]],
            "table_name": [KIND_TABLES[kind] for kind in rows["kind"]],
            "record_id": rows["record_id"],
            "rep_id": rows["rep_id"],
            "outlet_id": rows["outlet_id"],
            "local_time": local_time,
            "latitude": rows["latitude"],
            "longitude": rows["longitude"],
            "detail": details,
        }
    )


def _detail(
    kind: str,
    measure: float,
    related_id: object,
    latitude: float,
    longitude: float,
    *,
    record_id: object,
    outlet_id: object,
) -> str:
    """Word the figure behind one flag in a few words."""
    has_measure = measure is not None and not math.isnan(measure)
    related = None if related_id is None or pd.isna(related_id) else str(related_id)
    if kind == "duplicate_visit":
        return f"resend of visit {related}"
    if kind == "check_out_before_check_in" and has_measure:
        return f"check-out {half_up(abs(measure)):,.0f} min before check-in"
    if kind == "long_visit" and has_measure:
        return f"{half_up(measure, 1):,.1f} hours long"
    if kind == "future_check_in" and has_measure:
        return f"{half_up(measure, 1):,.1f} hours after the page loaded"
    if kind == "gps_swapped" and has_measure:
        return f"({longitude}, {latitude}) is {half_up(measure):,.0f} m from the outlet"
    if kind == "impossible_travel":
        speed = (
            f"{half_up(measure):,.0f} km/h" if has_measure else "at the same instant"
        )
        return f"{speed} from visit {related}"
    if kind == "order_without_visit" and related is not None:
        return f"visit_id {related} names no visit"
    if kind == "order_value_unusable":
        return (
            f"value is {_stored_number(related)}; store the order's value in the "
            f"company's currency, at most {MAX_ORDER_VALUE:,} either way"
        )
    if kind == "order_line_count_unusable":
        return (
            f"line_count is {related}; store the number of lines on the order, "
            f"from 0 to {MAX_LINE_COUNT:,}"
        )
    if kind in KIND_TABLES and KIND_TABLES[kind] == "orders" and has_measure:
        return f"value {half_up(measure, 2):,.2f}"
    if kind in ("outlet_without_territory", "rep_without_territory") and related:
        return f"territory_id {related} is not in territories"
    if kind == "beat_never_runs":
        return _beat_fault(related, measure if has_measure else None)
    if kind == "beat_unknown_rep" and related is not None and related.strip():
        return (
            f"rep_id {related} is not in reps; correct the beat's rep_id or add the rep"
        )
    if kind == "beat_unknown_rep":
        return "rep_id is empty; set the beat's rep_id to a rep in reps"
    if kind == "beat_outlet_unknown_reference" and related is not None:
        return _beat_outlet_fault(related.split(), record_id, outlet_id)
    if kind in ("outlet_invalid_active", "rep_invalid_active"):
        return (
            f"active is {related}, read as inactive; store 1 (active) or 0 (inactive)"
        )
    return ""


def _stored_number(literal: str | None) -> str:
    """Word a stored number, given as an SQL literal, alike on both engines.

    SQLite's quote() writes 1e308 as 1.0e+308 and infinity as Inf, and
    PostgreSQL's text cast as 1e+308 and Infinity. Text that is no number,
    such as 'abc', keeps its quotes. A number gets the fewest digits, from
    15 to 17, that give it back, so 1000000000000.0002 does not read as the
    limit 1000000000000.
    """
    try:
        number = float(literal or "")
    except ValueError:
        return str(literal)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    for digits in (15, 16):
        text = f"{number:.{digits}g}"
        if float(text) == number:
            return text
    return f"{number:.17g}"


def _beat_fault(column: str | None, value: float | None) -> str:
    """Word the column that stops a beat from running, with its value."""
    if column == "weekday" and value is not None:
        return f"weekday {value:.0f} is outside 1 (Monday) to 7 (Sunday)"
    if column == "every_n_weeks" and value is not None:
        return f"every_n_weeks is {value:.0f}; use 1, 2 or 4"
    if column == "start_date":
        return "start_date is not a finite date; use the beat's first date"
    if value is not None:
        days = f"{value:.0f} {plural(round(value), 'day')}"
        return f"end_date is before the first run date, {days} after start_date"
    return "end_date is before start_date"


def _beat_outlet_fault(columns: list[str], beat_id: object, outlet_id: object) -> str:
    """Word the unknown beat_id or outlet_id of a beat_outlets row, and the fix."""
    faults = []
    additions = []
    if "beat_id" in columns:
        faults.append(f"beat_id {beat_id} is not in beats")
        additions.append("the beat")
    if "outlet_id" in columns:
        faults.append(f"outlet_id {outlet_id} is not in outlets")
        additions.append("the outlet")
    return (
        f"{' and '.join(faults)}; remove the row from beat_outlets or add "
        f"{' and '.join(additions)}"
    )


def set_aside_note(counts: dict[str, int]) -> str | None:
    """Word the note a KPI shows about the rows it leaves out; None when none are.

    counts is the dict of health_queries.set_aside_counts, such as
    {"duplicate_visits": 3} -> "3 duplicate visits excluded".
    """
    parts = []
    duplicates = counts.get("duplicate_visits", 0)
    if duplicates:
        visits = plural(duplicates, "visit")
        parts.append(f"{duplicates:,} duplicate {visits} excluded")
    without_fix = counts.get("visits_without_fix", 0)
    if without_fix:
        parts.append(
            f"{without_fix:,} {plural(without_fix, 'visit')} without a usable GPS "
            "fix or outlet coordinates not judged off-site"
        )
    without_rep = counts.get("orders_without_rep", 0)
    if without_rep:
        parts.append(
            f"{without_rep:,} {plural(without_rep, 'order')} with no known rep "
            "left out of rep order value"
        )
    without_value = counts.get("orders_without_value", 0)
    if without_value:
        parts.append(
            f"{without_value:,} {plural(without_value, 'order')} with an unusable "
            "value left out of every order figure"
        )
    if not parts:
        return None
    return "; ".join(parts) + ". See Data health for the rows."
