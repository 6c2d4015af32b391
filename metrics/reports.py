"""The reps, territories and outlets reports: the figures every page and the
report command show, built from the database's counts.

Ratios of a territory are pooled from its summed counts, never averaged over
reps.
"""

import pandas as pd
import sqlalchemy as sa

from data_access import queries, summary_queries
from data_access.filters import Period, Scope, Settings
from data_access.outlet_trend import neglect_lookback_start
from metrics import kpi
from metrics.status import (
    STATUSES,
    days_since_visit,
    is_neglected,
    last_visit_timestamps,
    outlet_status,
)

REP_COLUMNS = [
    "rep_id",
    "rep_name",
    "territory_id",
    "visits",
    "productive_visits",
    "strike_rate",
    "planned_calls",
    "calls_on_plan",
    "beat_compliance",
    "planned_outlets",
    "skipped_outlets",
    "off_beat_visits",
    "order_value",
    "orders",
    "average_order_value",
    "lines_per_call",
    "return_value",
    "off_site_visits",
]

TERRITORY_COLUMNS = [
    "territory_id",
    "territory_name",
    "region_id",
    "active_outlets",
    "visited_outlets",
    "coverage",
    "skipped_outlets",
    "unplanned_outlets",
    "neglected_outlets",
    "not_due_outlets",
    "visits",
    "productive_visits",
    "strike_rate",
    "beat_compliance",
    "order_value",
]

# The rep figures a territory sums over its reps.
REP_SUMS = [
    "visits",
    "productive_visits",
    "planned_calls",
    "calls_on_plan",
    "order_value",
]

OUTLET_COLUMNS = [
    "outlet_id",
    "outlet_name",
    "territory_id",
    "status",
    "last_visit_date",
    "days_since_visit",
    "visits",
    "order_value",
]


def build_reps_report(activity: pd.DataFrame) -> pd.DataFrame:
    """Build the reps report: active reps, plus inactive reps with any activity.

    activity is the frame of queries.rep_activity; extra columns it carries
    (manager_id, visits_without_fix, ...) are kept after the report columns.
    """
    did_something = (
        (activity["visits"] > 0)
        | (activity["planned_calls"] > 0)
        | (activity["order_rows"] > 0)
    )
    report = activity[activity["active"] | did_something].copy()
    report["strike_rate"] = kpi.strike_rate(
        report["productive_visits"], report["visits"]
    )
    report["beat_compliance"] = kpi.beat_compliance(
        report["calls_on_plan"], report["planned_calls"]
    )
    report["average_order_value"] = kpi.average_order_value(
        report["order_value"], report["orders"]
    )
    report["lines_per_call"] = kpi.lines_per_call(
        report["order_lines"], report["productive_visits"]
    )
    extra = [column for column in report.columns if column not in REP_COLUMNS]
    return report[REP_COLUMNS + extra].reset_index(drop=True)


def build_outlets_report(
    activity: pd.DataFrame, period: Period, settings: Settings
) -> pd.DataFrame:
    """Build the outlets report: every active outlet in scope with its status.

    activity is the frame of queries.outlet_activity; its extra columns
    (channel, outlet_class, latitude, longitude, planned, on_beat) are kept
    after the report columns for the map.
    """
    # The pages build this report on every rerun, cached query or not, so the
    # dates are parsed once and the neglect test runs once for two columns.
    last_visits = last_visit_timestamps(activity["last_visit_date"])
    neglected = is_neglected(last_visits, activity["outlet_class"], period, settings)

    report = activity.copy(deep=False)
    report["status"] = outlet_status(report, period, settings, neglected=neglected)
    report["days_since_visit"] = days_since_visit(last_visits, period)
    # Overdue whatever the status: no visit in the neglect window. Without
    # beat plans every unvisited outlet is "unplanned", and this still shows
    # which outlets had no visit for weeks.
    report["overdue"] = neglected
    extra = [column for column in report.columns if column not in OUTLET_COLUMNS]
    return report[OUTLET_COLUMNS + extra].reset_index(drop=True)


def build_territories_report(
    territories: pd.DataFrame, rep_activity: pd.DataFrame, outlets_report: pd.DataFrame
) -> pd.DataFrame:
    """Build the territories report from rep counts and outlet statuses.

    Visit and order figures sum the rows of rep_activity whose territory_id
    is the territory: one row per rep (queries.rep_activity), or one per rep
    and territory of the day for reps who moved
    (territory_history.territory_rep_activity). Outlet figures count the
    territory's active outlets.
    """
    rep_sums = (
        rep_activity.groupby("territory_id", dropna=False)[REP_SUMS].sum().reset_index()
    )
    status_counts = (
        pd.crosstab(outlets_report["territory_id"], outlets_report["status"])
        .reindex(columns=list(STATUSES), fill_value=0)
        .rename(columns={status: f"{status}_outlets" for status in STATUSES})
        .reset_index()
    )
    overdue_counts = (
        outlets_report.groupby("territory_id")["overdue"]
        .sum()
        .rename("overdue_outlets")
        .reset_index()
    )
    return _territory_rows(territories, rep_sums, status_counts, overdue_counts)


def build_territories_report_from_counts(
    territories: pd.DataFrame,
    counts: summary_queries.TerritoryCounts,
    period: Period,
    settings: Settings,
) -> pd.DataFrame:
    """Build the territories report from counts aggregated per territory.

    counts.outlet_flags contains one row per combination of outlet facts with
    the number of outlets that share it. The status rule of metrics.status
    classifies each combination, so every outlet gets the status that the
    outlets report gives it.
    """
    flags = counts.outlet_flags.copy()
    flags["status"] = outlet_status(flags, period, settings)
    flags["overdue"] = is_neglected(
        flags["last_visit_date"], flags["outlet_class"], period, settings
    )
    status_counts = (
        flags.pivot_table(
            index="territory_id",
            columns="status",
            values="outlets",
            aggfunc="sum",
            fill_value=0,
        )
        .reindex(columns=list(STATUSES), fill_value=0)
        .rename(columns={status: f"{status}_outlets" for status in STATUSES})
        .rename_axis(columns=None)
        .reset_index()
    )
    flags["overdue_outlets"] = flags["outlets"].where(flags["overdue"], 0)
    overdue_counts = (
        flags.groupby("territory_id")["overdue_outlets"].sum().reset_index()
    )
    return _territory_rows(territories, counts.rep_sums, status_counts, overdue_counts)


def _territory_rows(
    territories: pd.DataFrame,
    rep_sums: pd.DataFrame,
    status_counts: pd.DataFrame,
    overdue_counts: pd.DataFrame,
) -> pd.DataFrame:
    """Join the per-territory counts onto the territory list and add the ratios."""
    report = territories[["territory_id", "territory_name", "region_id"]].merge(
        status_counts, on="territory_id", how="left"
    )
    report = report.merge(overdue_counts, on="territory_id", how="left")
    report = report.merge(rep_sums, on="territory_id", how="left")
    count_columns = [f"{status}_outlets" for status in STATUSES] + [
        "visits",
        "productive_visits",
        "planned_calls",
        "calls_on_plan",
        "overdue_outlets",
    ]
    report[count_columns] = report[count_columns].fillna(0).astype("int64")
    report["order_value"] = report["order_value"].fillna(0.0).astype(float)

    report["active_outlets"] = report[[f"{status}_outlets" for status in STATUSES]].sum(
        axis=1
    )
    report["coverage"] = kpi.coverage(
        report["visited_outlets"], report["active_outlets"]
    )
    report["strike_rate"] = kpi.strike_rate(
        report["productive_visits"], report["visits"]
    )
    report["beat_compliance"] = kpi.beat_compliance(
        report["calls_on_plan"], report["planned_calls"]
    )
    extra = ["planned_calls", "calls_on_plan", "overdue_outlets"]
    return report[TERRITORY_COLUMNS + extra].reset_index(drop=True)


def reps_report(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Compute the reps report: one row per rep in scope, report columns first."""
    with summary_queries.sharing_counts():
        activity = summary_queries.read_rep_activity(engine, period, scope, settings)
    return build_reps_report(activity)


def outlets_report(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Compute the outlets report: every active outlet in scope with its status."""
    with summary_queries.sharing_counts():
        activity = summary_queries.read_outlet_activity(engine, period, scope, settings)
    return build_outlets_report(activity, period, settings)


def territories_report(
    engine: sa.Engine, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    """Compute the territories report: outlet statuses and pooled rep figures.

    The database counts per territory, from the summary tables when they
    cover the period, so no per-outlet or per-rep rows are fetched. With a
    rep_territories history, a rep's visits, planned calls and orders count
    for the territory the rep belonged to on their dates.
    """
    # The report's queries check the summaries of overlapping periods, the
    # week and its neglect windows. Sharing the raw counts and catalog reads
    # cut a national region's week on PostgreSQL from 42 statements to 27,
    # and their time from 0.18 to 0.10 s (load 5).
    with summary_queries.sharing_counts():
        counts = summary_queries.read_territory_counts(
            engine, period, scope, settings, neglect_lookback_start(period, settings)
        )
    return build_territories_report_from_counts(
        queries.territory_list(engine, scope), counts, period, settings
    )
