"""The review's figures: time in market, revenue at risk, the register, a
rep's calls and the weekly headline, each against literal values."""

import math
from datetime import date, datetime

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
    result = review.time_in_market_minutes(pd.Series([18000.0, 900.0, 0.0]), pd.Series([3, 1, 0]))

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
        pd.concat([calls, history([(2, 400.0, 4, 1050.0), (0, 0.0, 4, 1050.0), (1, 90.0, 5, 500.0)])], axis=1)
    )

    # 2 calls x 200 + 1 call x 262.5 for r1; 3 calls x 90 for r2.
    assert list(priced["value_at_risk"]) == [400.0, 262.5, 270.0]


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    engine = sqlite_database(tmp_path_factory.mktemp("review_metrics"), ROWS)
    settings = Settings()
    frames = {
        "reps": reports.reps_report(engine, WEEK, Scope(), settings),
        "time": review_queries.rep_time_in_market(engine, WEEK, Scope(), settings),
        "calls": review_queries.calls_at_risk(engine, WEEK, Scope(), settings),
        "details": review_queries.skip_details(engine, WEEK, Scope(), settings),
        "call_list": review_queries.rep_call_list(engine, WEEK, Scope(), settings, "r1"),
        "rep_days": review_queries.rep_days(engine, WEEK, Scope(rep_ids=("r1",)), settings),
    }
    engine.dispose()
    return frames


def test_register_costliest_first(company):
    result = review.build_register(review.price_calls(company["calls"]), company["details"])

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
        {"consecutive_missed_calls": [13, 2], "missed_since_lookback_start": [True, False]}
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
