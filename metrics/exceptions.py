"""Exceptions a line manager should act on: one line per rep and kind, each a
sentence with the rep, the figure and the comparison that makes it an
exception, costliest first.

A rep's figure is compared with the team median (the median over the reps
in view) or with the rep's previous period. The thresholds are settings.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields

import pandas as pd

from metrics import kpi
from metrics.rounding import percent_text, threshold_text

COLUMNS = ["rep_id", "rep_name", "kind", "value_at_risk", "severity", "message"]

SKIPPED_OUTLETS = "skipped outlets"
SKIPPED_IN_A_ROW = "skipped in a row"
OFF_SITE = "off-site check-ins"
STRIKE_RATE = "strike rate"
OFF_BEAT = "off-beat visits"
BEAT_COMPLIANCE = "beat compliance"


@dataclass(frozen=True)
class Thresholds:
    """When a figure becomes an exception. Shares and rates are fractions.

    skip_share: share of planned outlets skipped at or above which a rep is
        listed, when it is also at least skip_share_over_median times the
        team median.
    consecutive_skips: planned calls in a row that a rep missed at one
        outlet before the outlet is listed.
    off_site_share: share of a rep's visits with a usable fix that were
        logged farther than the off-site distance from the outlet.
    strike_rate_drop: fall in strike rate against the previous period, in
        fraction points (0.15 is 15 points).
    strike_rate_gap: strike rate this far below the team median.
    off_beat_share: share of a rep's visits made off the beat, when it is
        also at least skip_share_over_median times the team median.
    compliance_floor: beat compliance below which a rep is listed.
    min_visits: reps with fewer visits (in either period) are not judged
        on strike rate, off-site or off-beat shares.
    """

    skip_share: float = 0.2
    skip_share_over_median: float = 2.0
    consecutive_skips: int = 4
    off_site_share: float = 0.1
    strike_rate_drop: float = 0.15
    strike_rate_gap: float = 0.2
    off_beat_share: float = 0.25
    compliance_floor: float = 0.7
    min_visits: int = 5

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.type is int and (value < 1 or value != int(value)):
                raise ValueError(
                    f"exception threshold {item.name}={value} is invalid; "
                    "use a whole number of 1 or more"
                )
            if item.name == "skip_share_over_median":
                if value < 0:
                    raise ValueError(
                        f"exception threshold {item.name}={value} is invalid; "
                        "use a factor of 0 or more, such as 2"
                    )
            elif item.type is float and not 0 <= value <= 1:
                raise ValueError(
                    f"exception threshold {item.name}={value} is invalid; "
                    "use a fraction from 0 to 1, such as 0.2 for 20%"
                )

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> "Thresholds":
        """Build thresholds from text or numbers by field name; others keep defaults.

        Raises ValueError naming the field for an unknown name or a value
        that is not a number.
        """
        types = {item.name: item.type for item in fields(cls)}
        parsed = {}
        for name, value in values.items():
            if name not in types:
                raise ValueError(
                    f"unknown exception threshold {name!r}; "
                    f"use one of {', '.join(sorted(types))}"
                )
            try:
                number = float(value)
            except (TypeError, ValueError) as error:
                raise ValueError(
                    f"exception threshold {name}={value!r} is not a number"
                ) from error
            if types[name] is int and not number.is_integer():
                raise ValueError(
                    f"exception threshold {name}={value} is invalid; "
                    "use a whole number of 1 or more"
                )
            parsed[name] = types[name](number)
        return cls(**parsed)


def _percent(value: float) -> str:
    return percent_text(value)


def _median(values: pd.Series) -> float:
    defined = values.dropna()
    return float(defined.median()) if not defined.empty else 0.0


def _name(rep: Mapping) -> str:
    name = rep["rep_name"]
    return str(rep["rep_id"]) if name is None or pd.isna(name) else str(name)


def _reps(current: pd.DataFrame, listed: pd.Series) -> Iterator[dict]:
    """Yield the rows of current where listed is true, in order, as dicts.

    Each check selects its candidates with a vectorised test first: a
    national company has 2,000 reps, and building a Series per rep with
    iterrows took about 1.4 s for the six checks.
    """
    yield from current[listed.fillna(False).astype(bool)].to_dict("records")


def rep_exceptions(
    current: pd.DataFrame,
    previous: pd.DataFrame | None,
    register: pd.DataFrame,
    off_site_m: float,
    thresholds: Thresholds = Thresholds(),
) -> pd.DataFrame:
    """List the exceptions of a period: rep_id, rep_name, kind, value_at_risk,
    severity, message.

    current and previous are rep reviews (metrics.review.build_rep_review);
    register is the priced skipped-outlet register of the current period.
    value_at_risk estimates what the exception cost in order value, where an
    estimate applies: revenue at risk of the skipped outlets, the usual
    order of outlets whose off-site visits sold nothing, or the orders a
    lower strike rate lost at the rep's average order value. The list is
    sorted by value_at_risk (lines without one last), then by severity,
    the distance of the figure from its comparison.
    """
    rows = [
        *_skipped_outlets(current, thresholds),
        *_skipped_in_a_row(current, register, thresholds),
        *_off_site(current, off_site_m, thresholds),
        *_strike_rate(current, previous, thresholds),
        *_off_beat(current, thresholds),
        *_beat_compliance(current, thresholds),
    ]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["value_at_risk"] = frame["value_at_risk"].astype(float)
    frame["severity"] = frame["severity"].astype(float)
    return frame.sort_values(
        ["value_at_risk", "severity"],
        ascending=False,
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)


def _line(
    rep: Mapping,
    kind: str,
    value_at_risk: float | None,
    severity: float,
    message: str,
) -> dict:
    return {
        "rep_id": rep["rep_id"],
        "rep_name": _name(rep),
        "kind": kind,
        "value_at_risk": value_at_risk,
        "severity": float(severity),
        "message": message,
    }


def _skipped_outlets(current: pd.DataFrame, thresholds: Thresholds) -> list[dict]:
    median = _median(current["skip_share"])
    shares = current["skip_share"]
    listed = (shares >= thresholds.skip_share) & (
        shares >= thresholds.skip_share_over_median * median
    )
    lines = []
    for rep in _reps(current, listed):
        share = rep["skip_share"]
        message = (
            f"{_name(rep)} skipped {rep['skipped_outlets']} of {rep['planned_outlets']} "
            f"planned outlets ({_percent(share)}) against a team median of "
            f"{_percent(median)}."
        )
        lines.append(
            _line(rep, SKIPPED_OUTLETS, rep["revenue_at_risk"], share - median, message)
        )
    return lines


def _skipped_in_a_row(
    current: pd.DataFrame, register: pd.DataFrame, thresholds: Thresholds
) -> list[dict]:
    long_runs = register[
        register["consecutive_missed_calls"] >= thresholds.consecutive_skips
    ]
    # Each rep's longest run first; among equal runs the costlier, then the
    # register's order, as a stable sort of each rep's outlets would give.
    longest_first = long_runs.sort_values(
        ["consecutive_missed_calls", "revenue_at_risk"],
        ascending=False,
        kind="stable",
    )
    by_rep = long_runs.groupby("rep_id", sort=True)["revenue_at_risk"]
    outlet_counts = by_rep.size()
    # Unknown (NaN) when none of the outlets could be priced.
    values = by_rep.sum(min_count=1)
    names = dict(zip(current["rep_id"], current["rep_name"]))
    lines = []
    for longest in (
        longest_first.drop_duplicates("rep_id")
        .sort_values("rep_id", kind="stable")
        .to_dict("records")
    ):
        rep_id = longest["rep_id"]
        if rep_id not in names:
            continue
        rep = {"rep_id": rep_id, "rep_name": names[rep_id]}
        calls = int(longest["consecutive_missed_calls"])
        at_least = "at least " if longest["missed_since_lookback_start"] else ""
        outlet = (
            longest["outlet_name"]
            if pd.notna(longest["outlet_name"])
            else longest["outlet_id"]
        )
        outlets = int(outlet_counts[rep_id])
        if outlets == 1:
            message = f"{_name(rep)} missed {outlet} on {at_least}{calls} planned calls in a row."
        else:
            message = (
                f"{_name(rep)} missed {outlets} outlets on "
                f"{thresholds.consecutive_skips} or more planned calls in a row; "
                f"the longest run is {at_least}{calls} calls at {outlet}."
            )
        value = float(values[rep_id])
        lines.append(_line(rep, SKIPPED_IN_A_ROW, value, calls, message))
    return lines


def _off_site(
    current: pd.DataFrame, off_site_m: float, thresholds: Thresholds
) -> list[dict]:
    with_fixes = current["visits"] - current["visits_without_fix"]
    listed = (with_fixes >= thresholds.min_visits) & (
        current["off_site_share"] >= thresholds.off_site_share
    )
    lines = []
    for rep in _reps(current, listed):
        with_fix = rep["visits"] - rep["visits_without_fix"]
        share = rep["off_site_share"]
        message = (
            f"{rep['off_site_visits']} of {with_fix} visits by {_name(rep)} were "
            f"logged more than {threshold_text(off_site_m)} m from the outlet "
            f"({_percent(share)})."
        )
        lines.append(
            _line(rep, OFF_SITE, rep["off_site_value_at_risk"], share, message)
        )
    return lines


def _strike_rate(
    current: pd.DataFrame, previous: pd.DataFrame | None, thresholds: Thresholds
) -> list[dict]:
    judged = current["visits"] >= thresholds.min_visits
    median = _median(current.loc[judged, "strike_rate"])
    team_value = kpi.average_order_value(
        pd.Series([current["order_value"].sum()]), pd.Series([current["orders"].sum()])
    ).iloc[0]
    before = {}
    if previous is not None:
        enough = previous[previous["visits"] >= thresholds.min_visits]
        before = dict(zip(enough["rep_id"], enough["strike_rate"]))

    rates = current["strike_rate"]
    fell = current["rep_id"].map(before).astype(float) - rates
    listed = judged & (
        (fell >= thresholds.strike_rate_drop)
        | (median - rates >= thresholds.strike_rate_gap)
    )
    lines = []
    for rep in _reps(current, listed):
        rate = rep["strike_rate"]
        rate_before = before.get(rep["rep_id"], float("nan"))
        if pd.notna(rate_before) and rate_before - rate >= thresholds.strike_rate_drop:
            reference = rate_before
            message = (
                f"{_name(rep)}'s strike rate fell from {_percent(rate_before)} to "
                f"{_percent(rate)} (team median {_percent(median)})."
            )
        elif median - rate >= thresholds.strike_rate_gap:
            reference = median
            message = (
                f"{_name(rep)}'s strike rate was {_percent(rate)} against a team "
                f"median of {_percent(median)}."
            )
        else:
            continue
        order_value = rep["average_order_value"]
        if pd.isna(order_value):
            order_value = team_value
        lost_orders = (reference - rate) * rep["visits"]
        value = lost_orders * order_value if pd.notna(order_value) else None
        lines.append(_line(rep, STRIKE_RATE, value, reference - rate, message))
    return lines


def _off_beat(current: pd.DataFrame, thresholds: Thresholds) -> list[dict]:
    judged = current["visits"] >= thresholds.min_visits
    median = _median(current.loc[judged, "off_beat_share"])
    shares = current["off_beat_share"]
    listed = (
        judged
        & (shares >= thresholds.off_beat_share)
        & (shares >= thresholds.skip_share_over_median * median)
    )
    lines = []
    for rep in _reps(current, listed):
        share = rep["off_beat_share"]
        message = (
            f"{_name(rep)} made {rep['off_beat_visits']} of {rep['visits']} visits "
            f"off the beat ({_percent(share)}) against a team median of "
            f"{_percent(median)}."
        )
        lines.append(_line(rep, OFF_BEAT, None, share - median, message))
    return lines


def _beat_compliance(current: pd.DataFrame, thresholds: Thresholds) -> list[dict]:
    listed = current["beat_compliance"] < thresholds.compliance_floor
    lines = []
    for rep in _reps(current, listed):
        compliance = rep["beat_compliance"]
        message = (
            f"{_name(rep)} made {rep['calls_on_plan']} of {rep['planned_calls']} "
            f"planned calls on the planned day ({_percent(compliance)}), below the "
            f"{_percent(thresholds.compliance_floor)} floor."
        )
        lines.append(
            _line(
                rep,
                BEAT_COMPLIANCE,
                None,
                thresholds.compliance_floor - compliance,
                message,
            )
        )
    return lines
