"""Exceptions a line manager should act on, one sentence each.

Each rule compares a rep's figure with the team median or with the rep's
previous period; the thresholds are settings.
"""

from dataclasses import dataclass

import pandas as pd

from metrics import kpi


@dataclass(frozen=True)
class Thresholds:
    """When a figure becomes an exception.

    skip_share: share of planned outlets skipped, at or above which a rep is
        listed when it is also at least skip_share_over_median times the
        team median.
    strike_rate_drop: fall in strike rate, in fraction points, against the
        previous period (0.15 is 15 points).
    off_site_share: share of a rep's visits with a usable fix that were
        logged off-site.
    compliance_floor: beat compliance below which a rep is listed.
    """

    skip_share: float = 0.2
    skip_share_over_median: float = 2.0
    strike_rate_drop: float = 0.15
    off_site_share: float = 0.1
    compliance_floor: float = 0.7
    min_visits: int = 5


def _percent(value: float) -> str:
    return f"{value:.0%}"


def rep_exceptions(
    current: pd.DataFrame, previous: pd.DataFrame | None, thresholds: Thresholds = Thresholds()
) -> pd.DataFrame:
    """List exceptions per rep: rep_id, rep_name, kind, severity, message.

    current and previous are reps reports; severity orders the list (the
    larger the figure's distance from its comparison, the higher).
    """
    rows: list[dict] = []
    skip_share = kpi.ratio(current["skipped_outlets"], current["planned_outlets"])
    median_skip = float(skip_share.median()) if skip_share.notna().any() else 0.0
    for index, rep in current.iterrows():
        share = skip_share.loc[index]
        if (
            pd.notna(share)
            and share >= thresholds.skip_share
            and share >= thresholds.skip_share_over_median * median_skip
        ):
            rows.append(
                _exception(
                    rep, "skipped outlets", share - median_skip,
                    f"{rep['rep_name']} skipped {rep['skipped_outlets']} of "
                    f"{rep['planned_outlets']} planned outlets ({_percent(share)}) "
                    f"against a team median of {_percent(median_skip)}.",
                )
            )
        compliance = rep["beat_compliance"]
        if pd.notna(compliance) and compliance < thresholds.compliance_floor:
            rows.append(
                _exception(
                    rep, "beat compliance", thresholds.compliance_floor - compliance,
                    f"{rep['rep_name']} made {rep['calls_on_plan']} of {rep['planned_calls']} "
                    f"planned calls on the planned day ({_percent(compliance)}), below "
                    f"the {_percent(thresholds.compliance_floor)} floor.",
                )
            )
        with_fix = rep["visits"] - rep.get("visits_without_fix", 0)
        if with_fix >= thresholds.min_visits and rep["off_site_visits"] / with_fix >= thresholds.off_site_share:
            rows.append(
                _exception(
                    rep, "off-site visits", rep["off_site_visits"] / with_fix,
                    f"{rep['off_site_visits']} of {with_fix} visits by {rep['rep_name']} "
                    "were logged more than the off-site distance from the outlet.",
                )
            )
    if previous is not None:
        rows.extend(_strike_rate_drops(current, previous, thresholds))
    columns = ["rep_id", "rep_name", "kind", "severity", "message"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("severity", ascending=False, kind="stable").reset_index(drop=True)


def _strike_rate_drops(current: pd.DataFrame, previous: pd.DataFrame, thresholds: Thresholds) -> list[dict]:
    merged = current.merge(
        previous[["rep_id", "strike_rate", "visits"]], on="rep_id", suffixes=("", "_before")
    )
    rows = []
    for _, rep in merged.iterrows():
        if rep["visits"] < thresholds.min_visits or rep["visits_before"] < thresholds.min_visits:
            continue
        drop = rep["strike_rate_before"] - rep["strike_rate"]
        if pd.notna(drop) and drop >= thresholds.strike_rate_drop:
            rows.append(
                _exception(
                    rep, "strike rate", drop,
                    f"{rep['rep_name']}'s strike rate fell from "
                    f"{_percent(rep['strike_rate_before'])} to {_percent(rep['strike_rate'])}.",
                )
            )
    return rows


def _exception(rep: pd.Series, kind: str, severity: float, message: str) -> dict:
    return {
        "rep_id": rep["rep_id"],
        "rep_name": rep["rep_name"],
        "kind": kind,
        "severity": float(severity),
        "message": message,
    }
