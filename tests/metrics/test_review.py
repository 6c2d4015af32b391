"""The review's figures: time in market, revenue at risk, the register, a
rep's calls and the weekly headline, each against literal values."""

import math
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from data_access import review_queries
from data_access.filters import Period, Scope, Settings
from metrics import reports, review
from tests.database import sqlite_database
from tests.review_company import ROWS

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))


def history(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=[
            "outlet_productive_visits",
            "outlet_order_value",
            "territory_productive_visits",
            "territory_order_value",
        ],
    )


def test_time_in_market_minutes_per_working_day():
    result = review.time_in_market_minutes(
        pd.Series([18000.0, 900.0, 0.0]), pd.Series([3, 1, 0])
    )

    assert result.iloc[0] == 100.0
    assert result.iloc[1] == 15.0
    assert math.isnan(result.iloc[2])


def test_expected_call_value_falls_back_to_territory():
    frame = history([(2, 400.0, 4, 1050.0), (0, 0.0, 4, 1050.0), (0, 0.0, 0, 0.0)])

    result = review.expected_call_value(frame)

    assert list(result["expected_value"].iloc[:2]) == [200.0, 262.5]
    # Neither the outlet nor its territory sold anything: the value is unknown.
    assert math.isnan(result["expected_value"].iloc[2])
    assert list(result["value_basis"]) == ["outlet", "territory", "none"]


def test_revenue_at_risk_of_skipped_calls():
    calls = pd.DataFrame(
        {
            "rep_id": ["r1", "r1", "r2"],
            "outlet_id": ["o2", "o6", "o9"],
            "kind": ["skipped", "skipped", "skipped"],
            "calls": [2, 1, 3],
        }
    )
    priced = review.price_calls(
        pd.concat(
            [
                calls,
                history(
                    [(2, 400.0, 4, 1050.0), (0, 0.0, 4, 1050.0), (1, 90.0, 5, 500.0)]
                ),
            ],
            axis=1,
        )
    )

    # 2 calls x 200 + 1 call x 262.5 for r1; 3 calls x 90 for r2.
    assert list(priced["value_at_risk"]) == [400.0, 262.5, 270.0]


def test_headline_counts_unpriced_skips():
    calls = pd.DataFrame(
        {
            "rep_id": ["r1", "r1", "r2", "r2"],
            "outlet_id": ["o2", "o6", "o9", "o10"],
            "kind": ["skipped", "skipped", "skipped", "off_site"],
            "calls": [2, 1, 3, 1],
        }
    )
    # o6 and its territory had no productive visit in the history weeks.
    # Nor had o10, but an off-site visit is not a skipped outlet.
    no_orders = (0, 0.0, 0, 0.0)
    priced = review.price_calls(
        pd.concat(
            [
                calls,
                history(
                    [(2, 400.0, 4, 1050.0), no_orders, (1, 90.0, 5, 500.0), no_orders]
                ),
            ],
            axis=1,
        )
    )
    counts = ["skipped_outlets", "planned_outlets", "visits"]
    counts += ["visits_without_fix", "off_site_visits", "off_beat_visits"]
    reps_report = pd.DataFrame({"rep_id": ["r1", "r2", "r3"]}).assign(
        **dict.fromkeys(counts, 1)
    )
    time_in_market = pd.DataFrame(
        {"rep_id": ["r1"], "working_days": [1], "time_in_market_s": [60.0]}
    )
    rep_review = review.build_rep_review(reps_report, time_in_market, priced)

    assert list(rep_review["unpriced_skipped_outlets"]) == [1, 0, 0]
    # The priced skip of r1 still counts; the unpriced one is left out.
    assert list(rep_review["revenue_at_risk"]) == [400.0, 270.0, 0.0]
    note = review.unpriced_note({"unpriced_skipped_outlets": 1.0})
    assert note.startswith(
        "1 skipped outlet has no price, so revenue at risk leaves it out"
    )
    assert review.unpriced_note({"unpriced_skipped_outlets": 0.0}) is None


PRICE_REASON = (
    " An outlet is priced only when it or its territory had a productive visit "
    "in the 8 weeks before the week."
)
TREND_RISK_NOTES = [
    ([1.0, 2.0], None),
    ([0.0, 2.0], "A week without a bar had no skipped outlet."),
    (
        [math.nan, 2.0],
        "A week without a bar had skipped outlets, but none with a price."
        + PRICE_REASON,
    ),
    (
        [0.0, math.nan, 2.0],
        "A week without a bar had no skipped outlet, or none with a price."
        + PRICE_REASON,
    ),
    (
        [0.0, 0.0],
        "None of these 2 weeks has revenue at risk, because each had no skipped "
        "outlet.",
    ),
    (
        [math.nan, math.nan, math.nan],
        "None of these 3 weeks has revenue at risk, because each had skipped "
        "outlets, but none with a price." + PRICE_REASON,
    ),
    ([0.0], "The week has no revenue at risk, because it had no skipped outlet."),
]


@pytest.mark.parametrize(("revenue", "expected"), TREND_RISK_NOTES)
def test_trend_risk_note_explains_blank_weeks(revenue, expected):
    result = review.trend_risk_note(pd.Series(revenue, dtype=float))

    assert result == expected


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    engine = sqlite_database(tmp_path_factory.mktemp("review_metrics"), ROWS)
    settings = Settings()
    frames = {
        "reps": reports.reps_report(engine, WEEK, Scope(), settings),
        "time": review_queries.rep_time_in_market(engine, WEEK, Scope(), settings),
        "calls": review_queries.calls_at_risk(engine, WEEK, Scope(), settings),
        "details": review_queries.skip_details(engine, WEEK, Scope(), settings),
        "call_list": review_queries.rep_call_list(
            engine, WEEK, Scope(), settings, "r1"
        ),
        "rep_days": review_queries.rep_days(
            engine, WEEK, Scope(rep_ids=("r1",)), settings
        ),
    }
    engine.dispose()
    return frames


def test_register_costliest_first(company):
    result = review.build_register(
        review.price_calls(company["calls"]), company["details"]
    )

    expected = [
        ("r1", "o6", 1, 262.5, "territory", 262.5, 9, False),
        ("r1", "o2", 1, 200.0, "outlet", 200.0, 2, False),
    ]
    columns = [
        "rep_id",
        "outlet_id",
        "planned_calls",
        "expected_value",
        "value_basis",
        "revenue_at_risk",
        "consecutive_missed_calls",
        "missed_since_lookback_start",
    ]
    assert [tuple(row) for row in result[columns].itertuples(index=False)] == expected


def test_consecutive_calls_as_text_mark_a_lower_bound():
    register = pd.DataFrame(
        {
            "consecutive_missed_calls": [13, 2],
            "missed_since_lookback_start": [True, False],
        }
    )

    result = list(review.describe_consecutive(register))

    assert result == ["13+", "2"]


def test_rep_review_adds_revenue_at_risk_and_time_in_market(company):
    result = review.build_rep_review(
        company["reps"], company["time"], review.price_calls(company["calls"])
    ).set_index("rep_id")

    assert result.loc["r1", "revenue_at_risk"] == 462.5
    assert result.loc["r1", "off_site_value_at_risk"] == 150.0
    assert result.loc["r1", "time_in_market_min"] == 100.0
    assert result.loc["r1", "skip_share"] == 0.4
    assert result.loc["r1", "off_beat_share"] == 0.6
    assert result.loc["r2", "revenue_at_risk"] == 0.0
    assert result.loc["r2", "time_in_market_min"] == 15.0
    assert math.isnan(result.loc["r3", "time_in_market_min"])


def test_review_headline_pools_time_in_market(company):
    rep_review = review.build_rep_review(
        company["reps"], company["time"], review.price_calls(company["calls"])
    )
    territories = pd.DataFrame(
        {
            "active_outlets": [6],
            "visited_outlets": [5],
            "neglected_outlets": [0],
            "overdue_outlets": [0],
        }
    )

    result = review.review_headline(rep_review, territories)

    assert result["revenue_at_risk"] == 462.5
    # 18,900 s over 4 working days.
    assert result["time_in_market_min"] == 78.75
    assert result["off_site_visits"] == 1.0
    assert result["visits"] == 6.0


def test_call_outcomes_of_a_week(company):
    result = review.call_outcomes(company["call_list"], "UTC", 300.0)

    expected = [
        ("o1", review.ON_PLAN, 1, 30.0, False),
        ("o2", review.SKIPPED, None, None, False),
        ("o3", review.ANOTHER_DAY, None, None, False),
        ("o6", review.SKIPPED, None, None, False),
        ("o3", review.OFF_BEAT, 1, None, False),
        ("o4", review.ON_PLAN, 2, 30.0, True),
        ("o5", review.OFF_BEAT, 1, 40.0, False),
        # Check-out before check-in: the duration is unknown.
        ("o1", review.OFF_BEAT, 2, None, False),
    ]
    columns = ["outlet_id", "outcome", "visit_order", "duration_min", "off_site"]
    shown = result[columns].astype(object).where(result[columns].notna(), None)
    assert [tuple(row) for row in shown.itertuples(index=False)] == expected


def test_call_outcomes_in_local_time(company):
    result = review.call_outcomes(company["call_list"], "Asia/Kolkata", 300.0)

    assert result.loc[0, "local_check_in"] == datetime(2026, 3, 2, 14, 30)


def test_day_summary_plan_against_visits(company):
    outcomes = review.call_outcomes(company["call_list"], "UTC", 300.0)

    result = review.day_summary(outcomes, company["rep_days"], "UTC")

    expected = [
        (date(2026, 3, 2), 4, 1, 1, 2, 0, 1, 250.0, 30.0),
        (date(2026, 3, 4), 1, 1, 0, 0, 1, 2, 0.0, 90.0),
        (date(2026, 3, 5), 0, 0, 0, 0, 2, 2, 80.0, 180.0),
    ]
    columns = [
        "call_date",
        "planned_calls",
        "on_plan",
        "another_day",
        "skipped",
        "off_beat",
        "visits",
        "order_value",
        "time_in_market_min",
    ]
    assert [tuple(row) for row in result[columns].itertuples(index=False)] == expected


def test_day_summary_call_visited_twice():
    # o1 was planned on Monday and visited twice that day. o2 was skipped.
    outcomes = pd.DataFrame(
        {
            "call_date": [date(2026, 3, 2)] * 3,
            "outlet_id": ["o1", "o1", "o2"],
            "planned": [1, 1, 1],
            "outcome": [review.ON_PLAN, review.ON_PLAN, review.SKIPPED],
            "order_value": [0.0, 120.0, 0.0],
        }
    )
    rep_days = pd.DataFrame(
        {
            "visit_date": [date(2026, 3, 2)],
            "visits": [2],
            "productive_visits": [1],
            "off_site_visits": [0],
            "first_check_in": [datetime(2026, 3, 2, 9, 0)],
            "last_check_out": [datetime(2026, 3, 2, 11, 0)],
            "time_in_market_s": [7200.0],
        }
    )

    result = review.day_summary(outcomes, rep_days, "UTC")

    columns = ["planned_calls", "on_plan", "skipped", "visits", "order_value"]
    expected = [(2, 1, 1, 2, 120.0)]
    assert [tuple(row) for row in result[columns].itertuples(index=False)] == expected


def test_trend_span_ends_with_the_week_of_the_last_day():
    result = review.trend_span(date(2027, 1, 2), week_start=1, weeks=13, timezone="UTC")

    assert (result.start, result.end) == (date(2026, 10, 5), date(2027, 1, 3))


def test_trend_span_with_weeks_starting_sunday():
    result = review.trend_span(date(2027, 1, 2), week_start=7, weeks=2, timezone="UTC")

    assert (result.start, result.end) == (date(2026, 12, 20), date(2027, 1, 2))


# Every figure of the reps report, week by week

TREND_SPAN = Period(date(2026, 2, 23), date(2026, 3, 8))
REPORT_COUNTS = [
    "visits",
    "productive_visits",
    "planned_calls",
    "calls_on_plan",
    "planned_outlets",
    "skipped_outlets",
    "off_beat_visits",
    "order_value",
    "orders",
    "return_value",
    "off_site_visits",
]
REPORT_RATIOS = [
    "strike_rate",
    "beat_compliance",
    "average_order_value",
    "lines_per_call",
]
# Week 0 (02-23): nothing visited or ordered, so the visit and order ratios
# are undefined. Week 1 is the week of review_company: 2 productive visits of
# 6, 3 of 6 planned calls on plan, orders of 250 (4 lines) and 80 (1 line),
# a return of 30.
WEEK_FIGURES = {
    0: {
        "visits": 0, "productive_visits": 0, "planned_calls": 5, "calls_on_plan": 0,
        "planned_outlets": 5, "skipped_outlets": 5, "off_beat_visits": 0,
        "order_value": 0.0, "orders": 0, "return_value": 0.0, "off_site_visits": 0,
        "strike_rate": None, "beat_compliance": 0.0, "average_order_value": None,
        "lines_per_call": None,
    },
    1: {
        "visits": 6, "productive_visits": 2, "planned_calls": 6, "calls_on_plan": 3,
        "planned_outlets": 6, "skipped_outlets": 2, "off_beat_visits": 3,
        "order_value": 330.0, "orders": 2, "return_value": -30.0, "off_site_visits": 1,
        "strike_rate": 2 / 6, "beat_compliance": 0.5, "average_order_value": 165.0,
        "lines_per_call": 2.5,
    },
}  # fmt: skip


def comparable(figures: dict) -> dict:
    """The report's figures, undefined ratios as None, to compare with literals."""
    names = REPORT_COUNTS + REPORT_RATIOS
    return {
        name: None if pd.isna(figures[name]) else pytest.approx(figures[name])
        for name in names
    }


def pooled_reps_report(report: pd.DataFrame) -> dict:
    """Sum a reps report over its reps and pool its ratios, by plain arithmetic."""
    totals = report[REPORT_COUNTS + ["order_lines"]].sum().to_dict()

    def ratio(numerator: str, denominator: str) -> float:
        if not totals[denominator]:
            return math.nan
        return totals[numerator] / totals[denominator]

    return {
        **totals,
        "strike_rate": ratio("productive_visits", "visits"),
        "beat_compliance": ratio("calls_on_plan", "planned_calls"),
        "average_order_value": ratio("order_value", "orders"),
        "lines_per_call": ratio("order_lines", "productive_visits"),
    }


@pytest.fixture(scope="module")
def trend_company(tmp_path_factory):
    engine = sqlite_database(tmp_path_factory.mktemp("trend_company"), ROWS)
    arguments = (engine, TREND_SPAN, Scope(), Settings())
    weeks = review.weekly_headlines(
        TREND_SPAN.start,
        review_queries.weekly_rep_figures(*arguments),
        review_queries.weekly_order_figures(*arguments),
        review_queries.weekly_outlet_figures(*arguments),
        review_queries.weekly_skipped_calls(*arguments),
    )
    week_reports = [
        reports.reps_report(
            engine, Period(start, start + timedelta(days=6)), Scope(), Settings()
        )
        for start in weeks["week_start"]
    ]
    engine.dispose()
    return weeks, week_reports


@pytest.mark.parametrize("week_index", [0, 1])
def test_trend_week_reps_figures(trend_company, week_index):
    weeks, _ = trend_company

    result = comparable(weeks.iloc[week_index].to_dict())

    expected = WEEK_FIGURES[week_index]
    assert expected == result


@pytest.mark.parametrize("week_index", [0, 1])
def test_pooled_reps_report_matches_trend(trend_company, week_index):
    _, week_reports = trend_company

    result = comparable(pooled_reps_report(week_reports[week_index]))

    expected = WEEK_FIGURES[week_index]
    assert expected == result


def test_headline_pools_reps_figures(trend_company):
    _, week_reports = trend_company
    rep_review = review.build_rep_review(
        week_reports[1],
        pd.DataFrame(columns=["rep_id", "working_days", "time_in_market_s"]),
        pd.DataFrame(columns=["rep_id", "kind", "value_at_risk"]),
    )
    territories = pd.DataFrame(
        {
            "active_outlets": [6],
            "visited_outlets": [5],
            "neglected_outlets": [0],
            "overdue_outlets": [0],
        }
    )

    result = comparable(review.review_headline(rep_review, territories))

    expected = WEEK_FIGURES[1]
    assert expected == result


def test_rep_changes_blank_without_previous_row():
    now = pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r3"],
            "visits": [6, 1, 4],
            "strike_rate": [0.4, 0.0, math.nan],
        }
    )
    before = pd.DataFrame(
        {"rep_id": ["r1", "r3"], "visits": [8, 0], "strike_rate": [0.25, 0.5]}
    )

    result = review.rep_changes(now, before, ["visits", "strike_rate"])

    # r2 has no row in the period before; r3's strike rate is undefined now.
    expected_visits = [-2.0, None, 4.0]
    expected_strike = [pytest.approx(0.15), None, None]
    assert as_literals(result["visits_change"]) == expected_visits
    assert as_literals(result["strike_rate_change"]) == expected_strike
    assert list(result["visits"]) == [6, 1, 4]


def as_literals(values: pd.Series) -> list:
    return [None if pd.isna(value) else value for value in values]
