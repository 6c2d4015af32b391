"""Figures of the weekly review: time in market, revenue at risk, the
skipped-outlet register, a rep's week day by day and the week-by-week headline.

Revenue at risk is what tells lost coverage apart from weak demand: an outlet
that was not visited could not order, so its usual order is at risk.
"""

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd

from data_access.filters import Period, week_containing
from data_access.review_queries import HISTORY_WEEKS, LOOKBACK_WEEKS
from metrics import kpi
from metrics.summary import headline

REVENUE_AT_RISK_METHOD = (
    "Revenue at risk is an estimate: each planned call of an outlet that the rep "
    "did not visit in the period, priced at that outlet's average order value per "
    f"productive visit in the {HISTORY_WEEKS} weeks before the period, or at its "
    "territory's average when the outlet had no productive visit then."
)

# Outcomes of a rep's calls, as the day-by-day view shows them.
ON_PLAN = "visited on plan"
ANOTHER_DAY = "visited another day"
SKIPPED = "skipped"
OFF_BEAT = "off-beat visit"


def time_in_market_minutes(
    time_in_market_s: pd.Series, working_days: pd.Series
) -> pd.Series:
    """Average time in market per working day, in minutes.

    A rep-day's time in market runs from the first check-in to the last
    check-out (check-in where check-out is missing). Summed seconds divided
    by working days (days with at least one visit); undefined without one.
    """
    return kpi.ratio(time_in_market_s, working_days) / 60


def expected_call_value(history: pd.DataFrame) -> pd.DataFrame:
    """Price one call of each outlet: expected_value and value_basis.

    expected_value is the outlet's order value per productive visit in the
    history weeks (basis 'outlet'). An outlet without such a visit gets its
    territory's average (basis 'territory'). When the territory has none
    either, the value is unknown: NaN, basis 'none'. history needs the columns outlet_productive_visits,
    outlet_order_value, territory_productive_visits, territory_order_value.
    """
    outlet_average = kpi.ratio(
        history["outlet_order_value"], history["outlet_productive_visits"]
    )
    territory_average = kpi.ratio(
        history["territory_order_value"], history["territory_productive_visits"]
    )
    basis = np.select(
        [outlet_average.notna(), territory_average.notna()],
        ["outlet", "territory"],
        default="none",
    )
    return pd.DataFrame(
        {
            "expected_value": outlet_average.fillna(territory_average),
            "value_basis": basis,
        },
        index=history.index,
    )


def revenue_at_risk(calls: pd.Series, expected_value: pd.Series) -> pd.Series:
    """Missed calls times the value one call of the outlet is expected to bring."""
    return pd.to_numeric(calls).astype(float) * expected_value.astype(float)


def price_calls(calls: pd.DataFrame) -> pd.DataFrame:
    """Price each row of review_queries.calls_at_risk.

    Adds expected_value and value_basis (see expected_call_value) and
    value_at_risk = calls times expected_value.
    """
    priced = pd.concat([calls, expected_call_value(calls)], axis=1)
    priced["value_at_risk"] = revenue_at_risk(priced["calls"], priced["expected_value"])
    return priced


def build_register(
    priced_calls: pd.DataFrame, skip_details: pd.DataFrame
) -> pd.DataFrame:
    """Build the skipped-outlet register, costliest skips first.

    priced_calls is price_calls() of calls_at_risk; its 'skipped' rows are
    the skipped outlets, and skip_details adds their consecutive missed
    calls, last visits and reason. Columns: those of calls_at_risk with
    calls renamed planned_calls, expected_value, value_basis,
    revenue_at_risk, and the skip_details columns. Sorted by revenue at
    risk, then by consecutive missed calls.
    """
    skipped = priced_calls[priced_calls["kind"] == "skipped"].drop(columns="kind")
    skipped = skipped.rename(
        columns={"calls": "planned_calls", "value_at_risk": "revenue_at_risk"}
    )
    register = skipped.merge(skip_details, on=["rep_id", "outlet_id"], how="left")
    # skip_details dates visits without removing duplicates. An offline resend
    # that crossed midnight into the period can therefore hide a skipped pair
    # from it, and such a pair counts at least the period's missed calls.
    register["consecutive_missed_calls"] = (
        register["consecutive_missed_calls"]
        .fillna(register["planned_calls"])
        .astype("int64")
    )
    register["missed_since_lookback_start"] = (
        register["missed_since_lookback_start"]
        .astype("boolean")
        .fillna(False)
        .astype(bool)
    )
    return register.sort_values(
        ["revenue_at_risk", "consecutive_missed_calls", "rep_id", "outlet_id"],
        ascending=[False, False, True, True],
        kind="stable",
    ).reset_index(drop=True)


def describe_consecutive(register: pd.DataFrame) -> pd.Series:
    """Consecutive missed calls as text: '4', or '13+' when the lookback found no visit."""
    counts = register["consecutive_missed_calls"].astype(int).astype(str)
    return counts.where(~register["missed_since_lookback_start"], counts + "+")


def build_rep_review(
    reps_report: pd.DataFrame, time_in_market: pd.DataFrame, priced_calls: pd.DataFrame
) -> pd.DataFrame:
    """Add the review's figures to the reps report, one row per rep.

    Adds working_days, time_in_market_s and time_in_market_min. Adds
    revenue_at_risk, the value at risk of the rep's skipped outlets,
    unpriced_skipped_outlets, those of them without a price, and
    off_site_value_at_risk, that of the rep's off-site visits without an
    order, which may not have happened. Adds the shares skip_share (skipped
    / planned outlets), off_site_share (off-site visits / visits with a
    usable fix) and off_beat_share (off-beat visits / visits).
    """
    review = reps_report.merge(time_in_market, on="rep_id", how="left")
    review["working_days"] = review["working_days"].fillna(0).astype("int64")
    review["time_in_market_s"] = review["time_in_market_s"].fillna(0.0)
    review["time_in_market_min"] = time_in_market_minutes(
        review["time_in_market_s"], review["working_days"]
    )

    for kind, column in (
        ("skipped", "revenue_at_risk"),
        ("off_site", "off_site_value_at_risk"),
    ):
        rows = priced_calls[priced_calls["kind"] == kind]
        review[column] = value_by_rep(review["rep_id"], rows)
    skipped = priced_calls[priced_calls["kind"] == "skipped"]
    unpriced = skipped.loc[skipped["value_at_risk"].isna(), "rep_id"].value_counts()
    review["unpriced_skipped_outlets"] = (
        review["rep_id"].map(unpriced).fillna(0).astype("int64")
    )

    review["skip_share"] = kpi.ratio(
        review["skipped_outlets"], review["planned_outlets"]
    )
    with_fix = review["visits"] - review["visits_without_fix"]
    review["off_site_share"] = kpi.ratio(review["off_site_visits"], with_fix)
    review["off_beat_share"] = kpi.ratio(review["off_beat_visits"], review["visits"])
    return review


def value_by_rep(rep_ids: pd.Series, priced: pd.DataFrame) -> pd.Series:
    """Sum value_at_risk of priced calls per rep: 0 for a rep without calls,
    NaN for a rep whose calls none could be priced (no order history at all)."""
    by_rep = priced.groupby("rep_id")["value_at_risk"].sum(min_count=1)
    # fill_value applies only to reps missing from by_rep, so an unpriced
    # rep stays NaN. Series.isin took 10 to 50 ms of Python per call for a
    # national week's strings, where reindex matches them by hash.
    value = by_rep.astype(float).reindex(rep_ids, fill_value=0.0)
    return pd.Series(value.to_numpy(), index=rep_ids.index)


# Reps report figures the headline sums over reps beyond metrics.summary's.
REP_TOTALS = (
    "planned_outlets",
    "off_beat_visits",
    "off_site_visits",
    "order_lines",
    "return_value",
)


def review_headline(
    rep_review: pd.DataFrame, territory_groups: pd.DataFrame
) -> dict[str, float]:
    """Compute a period's headline with revenue at risk, time in market and
    every figure of the reps report, pooled over the reps in scope.

    Time in market is pooled: all reps' seconds over all their working days.
    Average order value and lines per call are pooled the same way (see
    pooled_order_ratios).
    """
    figures = headline(rep_review, territory_groups)
    # Unknown only when no skipped call could be priced, as in weekly_headlines.
    at_risk = rep_review["revenue_at_risk"]
    if at_risk.notna().all() or at_risk.gt(0).any():
        figures["revenue_at_risk"] = float(at_risk.sum())
    else:
        figures["revenue_at_risk"] = float("nan")
    days = pd.Series([rep_review["working_days"].sum()])
    seconds = pd.Series([rep_review["time_in_market_s"].sum()])
    figures["time_in_market_min"] = float(time_in_market_minutes(seconds, days).iloc[0])
    for name in REP_TOTALS:
        figures[name] = float(rep_review[name].sum())
    # The Overview states it beside the headline. The 13-week trend does
    # not count it.
    figures["unpriced_skipped_outlets"] = float(
        rep_review["unpriced_skipped_outlets"].sum()
    )
    ratios = pooled_order_ratios(pd.DataFrame([figures]))
    figures.update({name: float(ratios[name].iloc[0]) for name in ratios})
    return figures


def trend_risk_note(revenue: pd.Series) -> str | None:
    """Explain the weeks drawn without a bar in the revenue at risk trend,
    or return None when every week has a bar.

    A week's revenue at risk is 0 when no planned outlet went unvisited,
    and NaN when none of its skipped outlets had a price (see
    weekly_headlines).
    """
    has_bar = revenue > 0
    if has_bar.all():
        return None
    any_unpriced = revenue.isna().any()
    any_without_skips = (revenue == 0).any()
    if any_unpriced and any_without_skips:
        reason = "had no skipped outlet, or none with a price"
    elif any_unpriced:
        reason = "had skipped outlets, but none with a price"
    else:
        reason = "had no skipped outlet"
    if has_bar.any():
        note = f"A week without a bar {reason}."
    elif len(revenue) == 1:
        note = f"The week has no revenue at risk, because it {reason}."
    else:
        note = (
            f"None of these {len(revenue)} weeks has revenue at risk, because "
            f"each {reason}."
        )
    if any_unpriced:
        note += (
            " An outlet is priced only when it or its territory had a productive "
            f"visit in the {HISTORY_WEEKS} weeks before the week."
        )
    return note


def unpriced_note(figures: dict[str, float]) -> str | None:
    """Describe how many skipped outlets revenue at risk leaves out for want
    of a price. Return None when every skipped outlet has a price."""
    count = int(figures.get("unpriced_skipped_outlets", 0))
    if count == 0:
        return None
    if count == 1:
        outlets, them = "1 skipped outlet has", "it"
    else:
        outlets, them = f"{count:,} skipped outlets have", "them"
    return (
        f"{outlets} no price, so revenue at risk leaves {them} out: neither "
        "the outlet nor its territory, if it has one, had a productive visit "
        f"in the {HISTORY_WEEKS} weeks before the period. Rep performance "
        f"lists {them} with Priced from: none."
    )


def pooled_order_ratios(totals: pd.DataFrame) -> pd.DataFrame:
    """Compute average_order_value and lines_per_call from summed counts.

    totals needs order_value, orders, order_lines and productive_visits,
    summed over reps, so the ratios weigh each order and productive visit
    once, as a territory's ratios do. NaN where orders or productive visits
    are 0.
    """
    return pd.DataFrame(
        {
            "average_order_value": kpi.average_order_value(
                totals["order_value"], totals["orders"]
            ),
            "lines_per_call": kpi.lines_per_call(
                totals["order_lines"], totals["productive_visits"]
            ),
        },
        index=totals.index,
    )


def rep_changes(
    now: pd.DataFrame, before: pd.DataFrame, fields: Sequence[str]
) -> pd.DataFrame:
    """Add each field's change against the previous period as <field>_change.

    now and before are reps reports (or rep reviews) of two periods, matched
    by rep_id. The change is now minus before, in the field's own unit, so a
    ratio changes by a fraction (0.05 is 5 points). It is NaN for a rep
    without a row in before, and where either figure is undefined.
    """
    previous = before.drop_duplicates("rep_id").set_index("rep_id")
    changed = now.copy()
    for field in fields:
        earlier = changed["rep_id"].map(previous[field]).astype(float)
        changed[f"{field}_change"] = changed[field].astype(float) - earlier
    return changed


# One rep's week


def _local_times(values: pd.Series, timezone: str) -> pd.Series:
    """Convert UTC instants, naive or with an offset, to naive local times of
    the business time zone."""
    instants = pd.to_datetime(values, errors="coerce", utc=True)
    return instants.dt.tz_convert(timezone).dt.tz_localize(None)


def call_outcomes(
    calls: pd.DataFrame, timezone: str, off_site_m: float
) -> pd.DataFrame:
    """Describe each row of a rep's call list (review_queries.rep_call_list).

    Adds outcome (visited on plan, visited another day, skipped, off-beat
    visit), visit_order (1, 2, ... by check-in within the day; missing for
    a call without visit), local_check_in, local_check_out, duration_min
    (missing when check-out is missing or before check-in) and off_site.
    """
    frame = calls.copy()
    visited = frame["visit_id"].notna()
    planned = frame["planned"].astype(int) == 1
    frame["outcome"] = np.select(
        [visited & planned, visited, frame["other_visit_date"].notna()],
        [ON_PLAN, OFF_BEAT, ANOTHER_DAY],
        default=SKIPPED,
    )
    frame["local_check_in"] = _local_times(frame["check_in"], timezone)
    frame["local_check_out"] = _local_times(frame["check_out"], timezone)
    duration = (
        frame["local_check_out"] - frame["local_check_in"]
    ).dt.total_seconds() / 60
    frame["duration_min"] = duration.where(duration >= 0)
    frame["off_site"] = pd.to_numeric(frame["distance_m"]).astype(float) > off_site_m

    order = frame[visited].groupby("call_date")["check_in"].rank(method="first")
    frame["visit_order"] = order.reindex(frame.index).astype("Int64")
    return frame


def day_summary(
    outcomes: pd.DataFrame, rep_days: pd.DataFrame, timezone: str
) -> pd.DataFrame:
    """Summarise a rep's calls per day: the plan against what happened.

    outcomes is call_outcomes() of the rep's call list; rep_days is
    review_queries.rep_days for the same rep. One row per date with a call
    or a visit: planned_calls, on_plan, another_day, skipped, off_beat,
    visits, productive_visits, off_site_visits, order_value,
    first_check_in, last_check_out (local), time_in_market_min.
    """
    # A planned call visited twice that day has two rows but is one call.
    first_row = ~outcomes.duplicated(["call_date", "outlet_id"])
    planned = (outcomes["planned"].astype(int) == 1) & first_row
    is_outcome = {
        "on_plan": (outcomes["outcome"] == ON_PLAN) & first_row,
        "another_day": outcomes["outcome"] == ANOTHER_DAY,
        "skipped": outcomes["outcome"] == SKIPPED,
        "off_beat": outcomes["outcome"] == OFF_BEAT,
    }
    counts = pd.DataFrame(
        {
            "call_date": outcomes["call_date"],
            "planned_calls": planned.astype(int),
            **{name: flag.astype(int) for name, flag in is_outcome.items()},
            "order_value": outcomes["order_value"].astype(float),
        }
    )
    summary = counts.groupby("call_date", sort=True).sum().reset_index()

    days = rep_days.rename(columns={"visit_date": "call_date"})[
        [
            "call_date",
            "visits",
            "productive_visits",
            "off_site_visits",
            "first_check_in",
            "last_check_out",
            "time_in_market_s",
        ]
    ]
    summary = summary.merge(days, on="call_date", how="left")
    for name in ("visits", "productive_visits", "off_site_visits"):
        summary[name] = summary[name].fillna(0).astype("int64")
    summary["first_check_in"] = _local_times(summary["first_check_in"], timezone)
    summary["last_check_out"] = _local_times(summary["last_check_out"], timezone)
    summary["time_in_market_min"] = summary.pop("time_in_market_s") / 60
    return summary


# Week by week


def trend_span(last_day: date, week_start: int, weeks: int, timezone: str) -> Period:
    """Return the trend's whole weeks: `weeks` weeks ending with the week of last_day."""
    last_week = week_containing(last_day, week_start, timezone)
    first_day = last_week.start - timedelta(weeks=weeks - 1)
    return Period(first_day, last_week.end, timezone)


def weekly_headlines(
    span_start: date,
    rep_weeks: pd.DataFrame,
    order_weeks: pd.DataFrame,
    outlet_weeks: pd.DataFrame,
    skipped_weeks: pd.DataFrame,
) -> pd.DataFrame:
    """Compute the headline figures of every week of the trend, one row per week.

    The inputs are the weekly queries of review_queries over the same span;
    week_index 0 starts on span_start. Columns: week_start and the fields of
    review_headline, with the same definitions, so a week's row equals the
    headline of that week computed from its reports.
    """
    weeks = rep_weeks.merge(outlet_weeks, on="week_index", how="left")
    weeks = weeks.merge(order_weeks, on="week_index", how="left")
    for name in ("order_value", "orders", "return_value"):
        weeks[name] = weeks[name].fillna(0)

    # A week without skipped calls risks nothing; one whose calls none could
    # be priced (no order history before it) has no estimate.
    at_risk = skipped_weeks.set_index("week_index")["revenue_at_risk"]
    has_skips = weeks["week_index"].isin(skipped_weeks["week_index"])
    weeks["revenue_at_risk"] = weeks["week_index"].map(at_risk).where(has_skips, 0.0)

    weeks["strike_rate"] = kpi.strike_rate(weeks["productive_visits"], weeks["visits"])
    weeks["beat_compliance"] = kpi.beat_compliance(
        weeks["calls_on_plan"], weeks["planned_calls"]
    )
    weeks["coverage"] = kpi.coverage(weeks["visited_outlets"], weeks["active_outlets"])
    weeks["time_in_market_min"] = time_in_market_minutes(
        weeks["time_in_market_s"], weeks["working_days"]
    )
    weeks = pd.concat([weeks, pooled_order_ratios(weeks)], axis=1)
    weeks["week_start"] = [
        span_start + timedelta(weeks=int(index)) for index in weeks["week_index"]
    ]
    return weeks.sort_values("week_index").reset_index(drop=True)


__all__ = [
    "ANOTHER_DAY",
    "LOOKBACK_WEEKS",
    "OFF_BEAT",
    "ON_PLAN",
    "REVENUE_AT_RISK_METHOD",
    "SKIPPED",
    "build_register",
    "build_rep_review",
    "call_outcomes",
    "day_summary",
    "describe_consecutive",
    "expected_call_value",
    "pooled_order_ratios",
    "price_calls",
    "rep_changes",
    "revenue_at_risk",
    "review_headline",
    "time_in_market_minutes",
    "trend_risk_note",
    "trend_span",
    "unpriced_note",
    "weekly_headlines",
]
