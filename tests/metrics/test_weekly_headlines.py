"""The 13-week trend counts each week exactly as the reports count that week,
so a tile's change and its trend line agree with the week's own figures."""

import math
from datetime import date, timedelta

import pytest

from data_access import review_queries
from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from fixtures.demo import build_demo_database
from metrics import comparison, reports, review
from metrics.summary import HEADLINE_FIELDS
from tests.database import sqlite_database
from tests.review_company import ROWS

FIELDS = [
    *HEADLINE_FIELDS,
    *review.REP_TOTALS,
    "average_order_value",
    "lines_per_call",
    "revenue_at_risk",
    "time_in_market_min",
]


def week_headline(engine, week: Period, scope: Scope, settings: Settings) -> dict:
    """The review headline of one week, computed from its reports."""
    reps_report = reports.reps_report(engine, week, scope, settings)
    outlets_report = reports.outlets_report(engine, week, scope, settings)
    territories_report = reports.territories_report(engine, week, scope, settings)
    groups = comparison.territory_groups(
        territories_report, reps_report, outlets_report
    )
    rep_review = review.build_rep_review(
        reps_report,
        review_queries.rep_time_in_market(engine, week, scope, settings),
        review.price_calls(review_queries.calls_at_risk(engine, week, scope, settings)),
    )
    return review.review_headline(rep_review, groups)


def trend(engine, span: Period, scope: Scope, settings: Settings):
    arguments = (engine, span, scope, settings)
    return review.weekly_headlines(
        span.start,
        review_queries.weekly_rep_figures(*arguments),
        review_queries.weekly_order_figures(*arguments),
        review_queries.weekly_outlet_figures(*arguments),
        review_queries.weekly_skipped_calls(*arguments),
    )


def assert_same_figures(result: dict, expected: dict) -> None:
    for field in FIELDS:
        if isinstance(expected[field], float) and math.isnan(expected[field]):
            assert math.isnan(result[field]), field
        else:
            assert result[field] == pytest.approx(expected[field]), field


@pytest.mark.parametrize("week_index", [0, 1])
def test_trend_week_equals_its_reports(tmp_path, week_index):
    engine = sqlite_database(tmp_path, ROWS)
    settings = Settings(neglect_days_by_class=(("A", 7), ("C", 56)))
    span = Period(date(2026, 2, 23), date(2026, 3, 8))
    weeks = trend(engine, span, Scope(), settings)
    first_day = span.start + timedelta(weeks=week_index)
    week = Period(first_day, first_day + timedelta(days=6))

    expected = week_headline(engine, week, Scope(), settings)
    engine.dispose()

    assert_same_figures(weeks.iloc[week_index].to_dict(), expected)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("weekly_demo") / "demo.sqlite"
    build_demo_database(path, seed=7, end_date=date(2026, 3, 1))
    engine = create_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    "scope",
    [Scope(), Scope(territory_ids=("KOL",)), Scope(rep_ids=("R0005",))],
    ids=["everything", "territory", "rep"],
)
def test_demo_trend_weeks_equal_their_reports(demo, scope):
    settings = Settings()
    span = review.trend_span(
        date(2026, 3, 1), settings.week_start, 13, settings.timezone
    )
    weeks = trend(demo, span, scope, settings)

    # The first week has no order history, a middle week and the last week.
    for week_index in (0, 6, 12):
        start = span.start + timedelta(weeks=week_index)
        expected = week_headline(
            demo, Period(start, start + timedelta(days=6)), scope, settings
        )
        assert_same_figures(weeks.iloc[week_index].to_dict(), expected)


def test_trend_weeks_start_on_the_configured_weekday(demo):
    settings = Settings(week_start=7)
    span = review.trend_span(
        date(2026, 2, 28), settings.week_start, 13, settings.timezone
    )

    weeks = trend(demo, span, Scope(territory_ids=("MUM",)), settings)

    assert span.start.isoweekday() == 7
    assert [day.isoweekday() for day in weeks["week_start"]] == [7] * 13
    start = weeks["week_start"].iloc[-1]
    expected = week_headline(
        demo,
        Period(start, start + timedelta(days=6)),
        Scope(territory_ids=("MUM",)),
        settings,
    )
    assert_same_figures(weeks.iloc[-1].to_dict(), expected)
