"""Territories and regions side by side: pooled group figures, team size,
the change against another period and the weekly coverage trend.

Every group sums the counts of its members and computes its ratios from
those sums, never by averaging the members' ratios. Reps and outlets that
belong to no listed territory, and territories without a region, form an
"Unassigned" group, so the groups of a table always add up to the headline
figures of the same reps and outlets.
"""

from datetime import date, timedelta

import pandas as pd

from metrics import kpi
from metrics.reports import TERRITORY_COLUMNS
from metrics.status import STATUSES

UNASSIGNED = "Unassigned"

OUTLET_COUNTS = [f"{status}_outlets" for status in STATUSES] + ["overdue_outlets"]
REP_COUNTS = ["visits", "productive_visits", "planned_calls", "calls_on_plan"]
# Summed over the members of a group; every ratio below is built from them.
GROUP_COUNTS = ["active_outlets", *OUTLET_COUNTS, *REP_COUNTS, "order_value", "reps"]
RATIOS = [
    "coverage",
    "strike_rate",
    "beat_compliance",
    "outlets_per_rep",
    "planned_calls_per_rep",
]
# The territories report's columns, then the team-load figures beside them.
TERRITORY_GROUP_COLUMNS = [
    *TERRITORY_COLUMNS,
    "planned_calls",
    "calls_on_plan",
    "overdue_outlets",
    "reps",
    "outlets_per_rep",
    "planned_calls_per_rep",
    "is_unassigned",
]
REGION_GROUP_COLUMNS = [
    "region_id",
    "territories",
    *[
        column
        for column in TERRITORY_GROUP_COLUMNS
        if column not in ("territory_id", "territory_name", "region_id")
    ],
]


def outlets_per_rep(active_outlets: pd.Series, reps: pd.Series) -> pd.Series:
    """Active outlets a group has for each of its reps: active outlets / reps.

    A thin team has many outlets per rep, so its low coverage is a staffing
    question rather than an effort question. Undefined for a group without reps.
    """
    return kpi.ratio(active_outlets, reps)


def planned_calls_per_rep(planned_calls: pd.Series, reps: pd.Series) -> pd.Series:
    """Planned calls in the period for each rep of a group: planned calls / reps.

    Undefined for a group without reps.
    """
    return kpi.ratio(planned_calls, reps)


def add_group_ratios(groups: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with every ratio of RATIOS computed from the group's counts."""
    result = groups.copy()
    result["coverage"] = kpi.coverage(
        result["visited_outlets"], result["active_outlets"]
    )
    result["strike_rate"] = kpi.strike_rate(
        result["productive_visits"], result["visits"]
    )
    result["beat_compliance"] = kpi.beat_compliance(
        result["calls_on_plan"], result["planned_calls"]
    )
    result["outlets_per_rep"] = outlets_per_rep(
        result["active_outlets"], result["reps"]
    )
    result["planned_calls_per_rep"] = planned_calls_per_rep(
        result["planned_calls"], result["reps"]
    )
    return result


def _unassigned_counts(
    territories_report: pd.DataFrame,
    reps_report: pd.DataFrame,
    outlets_report: pd.DataFrame,
) -> dict[str, float] | None:
    """Counts of the activity, reps and outlets that belong to no listed territory.

    Visits, planned calls and orders are what the reps report counts beyond
    the listed territories' sums. The territories report counts a rep who
    moved for the territory of each day, so a rep without a territory today
    may already count there, and reading the residual counts them once.
    Reps and outlets are those whose territory_id is missing or not listed.
    """
    territory_ids = territories_report["territory_id"]
    reps = reps_report[~reps_report["territory_id"].isin(territory_ids)]
    outlets = outlets_report[~outlets_report["territory_id"].isin(territory_ids)]
    # NOTE: in a narrowed scope the territories may count a moved rep whom the
    # reps report leaves out, so the residual is clipped at zero there.
    activity = {}
    for column in [*REP_COUNTS, "order_value"]:
        residual = reps_report[column].sum() - territories_report[column].sum()
        # Rounded, so float sums of equal order values leave no stray cents.
        activity[column] = max(round(float(residual), 6), 0.0)
    if reps.empty and outlets.empty and not any(activity.values()):
        return None

    counts = {**activity, "reps": float(len(reps))}
    for status in STATUSES:
        counts[f"{status}_outlets"] = float((outlets["status"] == status).sum())
    counts["overdue_outlets"] = float(outlets["overdue"].sum())
    counts["active_outlets"] = float(len(outlets))
    return counts


def territory_groups(
    territories_report: pd.DataFrame,
    reps_report: pd.DataFrame,
    outlets_report: pd.DataFrame,
) -> pd.DataFrame:
    """Extend the territories report with team size and an Unassigned row.

    Adds reps (rows of the reps report in the territory: its active reps and
    any inactive rep who worked in the period), outlets_per_rep and
    planned_calls_per_rep. The Unassigned row contains the reps and outlets whose
    territory_id is missing or not in the report, and the visits, planned
    calls and orders that no listed territory counts. It exists only when
    there are such reps, outlets or activity, and it has no territory_id and
    is_unassigned true. Column sums therefore equal the reps and outlets
    reports' totals.
    """
    rep_counts = reps_report.groupby("territory_id").size().rename("reps").reset_index()
    groups = territories_report.merge(rep_counts, on="territory_id", how="left")
    groups["reps"] = groups["reps"].fillna(0).astype("int64")
    groups["is_unassigned"] = False

    counts = _unassigned_counts(territories_report, reps_report, outlets_report)
    if counts is not None:
        unassigned = pd.DataFrame(
            [
                {
                    "territory_id": None,
                    "territory_name": UNASSIGNED,
                    "region_id": None,
                    **counts,
                    "is_unassigned": True,
                }
            ]
        )
        groups = pd.concat([groups, unassigned], ignore_index=True)

    return _typed(add_group_ratios(groups))[TERRITORY_GROUP_COLUMNS]


def region_groups(territory_groups: pd.DataFrame) -> pd.DataFrame:
    """Pool the figures of each region's territories into one row per region.

    Territories without a region_id, and the Unassigned territory group, form
    the Unassigned region (region_id missing, is_unassigned true). Column
    territories counts the listed territories of each region.
    """
    keyed = territory_groups.assign(
        region_key=territory_groups["region_id"].fillna(""),
        territories=(~territory_groups["is_unassigned"]).astype("int64"),
    )
    summed = (
        keyed.groupby("region_key", sort=True)[[*GROUP_COUNTS, "territories"]]
        .sum()
        .reset_index()
    )
    summed["is_unassigned"] = summed["region_key"] == ""
    summed["region_id"] = summed["region_key"].where(~summed["is_unassigned"], None)
    # Listed regions first, in id order; the Unassigned group last.
    summed = summed.sort_values(["is_unassigned", "region_key"], kind="stable")
    return _typed(add_group_ratios(summed))[REGION_GROUP_COLUMNS].reset_index(drop=True)


def _typed(groups: pd.DataFrame) -> pd.DataFrame:
    counts = [column for column in GROUP_COUNTS if column != "order_value"]
    if "territories" in groups.columns:
        counts.append("territories")
    result = groups.copy()
    result[counts] = result[counts].astype("int64")
    result["order_value"] = result["order_value"].astype(float)
    result["is_unassigned"] = result["is_unassigned"].astype(bool)
    return result


def group_totals(groups: pd.DataFrame) -> dict[str, float]:
    """Sum the counts of every row of a group table and pool its ratios."""
    totals = groups[GROUP_COUNTS].sum().to_frame().T
    figures = add_group_ratios(totals).iloc[0]
    return {name: float(figures[name]) for name in [*GROUP_COUNTS, *RATIOS]}


def with_change(
    current: pd.DataFrame, previous: pd.DataFrame, key: str, column: str
) -> pd.DataFrame:
    """Return current with previous_<column> and change_<column> against previous.

    Rows match on key and is_unassigned, so the Unassigned rows (key missing)
    match each other and never a listed group whose id is "Unassigned". The
    change is current minus previous, so a ratio's change is a fraction of one
    (0.05 is 5 points). It is missing where either value is.
    """
    match = ["_match", "is_unassigned"]
    earlier = previous[[key, "is_unassigned", column]].rename(
        columns={column: f"previous_{column}"}
    )
    earlier = earlier.assign(_match=earlier[key].fillna("")).drop(columns=key)
    result = current.assign(_match=current[key].fillna(""))
    result = result.merge(earlier, on=match, how="left").drop(columns="_match")
    result[f"change_{column}"] = result[column] - result[f"previous_{column}"]
    return result


def trend_weeks(last_day: date, week_start: int, weeks: int) -> list[date]:
    """List the first days of the `weeks` weeks that end with the week containing last_day."""
    offset = (last_day.isoweekday() - week_start) % 7
    last_week = last_day - timedelta(days=offset)
    return [last_week - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]


def weekly_coverage(
    visited: pd.DataFrame, groups: pd.DataFrame, weeks: list[date]
) -> pd.DataFrame:
    """Compute the coverage of each territory group in each week.

    visited has territory_id, week_start and visited_outlets (distinct active
    outlets visited by anyone that week); groups is a territory_groups table,
    whose active_outlets are the denominators. Visited outlets whose
    territory_id is missing or not in groups count for the group without a
    territory_id (the Unassigned group), as they do in territory_groups.
    Rows follow groups; columns are the weeks in order. A week without visits
    has coverage 0, and a group without active outlets has none.
    """
    # Rows are matched by position, because an id such as "Unassigned" may
    # also name a listed territory.
    positions = pd.RangeIndex(len(groups))
    missing_id = groups["territory_id"].isna().to_numpy()
    listed = dict(zip(groups["territory_id"][~missing_id], positions[~missing_id]))
    position_of_visit = visited["territory_id"].map(listed)
    if missing_id.any():
        position_of_visit = position_of_visit.fillna(positions[missing_id][0])
    counts = (
        visited.assign(position=position_of_visit)
        .dropna(subset=["position"])
        .astype({"position": "int64"})
        .groupby(["position", "week_start"])["visited_outlets"]
        .sum()
        .unstack("week_start")
        .reindex(index=positions, columns=weeks)
        .fillna(0)
    )
    active = groups["active_outlets"].set_axis(positions)
    shares = counts.apply(lambda week: kpi.coverage(week, active))
    shares.index = groups["territory_id"]
    shares.columns.name = "week_start"
    return shares
