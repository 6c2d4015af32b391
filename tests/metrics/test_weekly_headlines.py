"""The 13-week trend counts each week exactly as the reports count that week,
so a tile's change and its trend line agree with the week's own figures."""

import math
from datetime import date, timedelta

import pandas as pd
import pytest

from data_access import review_queries
from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from fixtures.demo import MIN_REPS, build_demo_database
from metrics import comparison, reports, review
from metrics.summary import HEADLINE_FIELDS
from tests.database import fill_database, sqlite_database
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
    figures = review_queries.weekly_figures(engine, span, scope, settings)
    return review.weekly_headlines(span.start, **figures)


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


@pytest.fixture
def stale_demo(tmp_path):
    """The demo with summaries, edited without a rebuild. A visit of the first
    week is deleted, so that week is stale. An order value of the week before
    the last is negated in place, so that week keeps its row counts."""
    path = tmp_path / "demo.sqlite"
    settings = Settings(timezone="Asia/Kolkata")
    build_demo_database(
        path, reps=MIN_REPS, end_date=date(2026, 3, 1), summary_settings=settings
    )
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE orders SET value = -value WHERE order_id = (SELECT min(order_id) "
            "FROM orders WHERE ordered_at BETWEEN '2026-02-17' AND '2026-02-21' "
            "AND value > 0)"
        )
        connection.exec_driver_sql(
            "DELETE FROM visits WHERE visit_id = (SELECT min(visit_id) FROM visits "
            "WHERE check_in BETWEEN '2025-12-02' AND '2025-12-06')"
        )
    yield engine
    engine.dispose()


def test_stale_week_leaves_other_weeks_on_summaries(stale_demo):
    settings = Settings(timezone="Asia/Kolkata")
    span = review.trend_span(date(2026, 3, 1), 1, 13, settings.timezone)
    weeks = trend(stale_demo, span, Scope(), settings)

    # The week before the last reads its summaries, which keep the order value
    # before the edit, as its reports do. The stale first week reads raw rows.
    for week_index in (0, 11, 12):
        start = span.start + timedelta(weeks=week_index)
        week = Period(start, start + timedelta(days=6), settings.timezone)
        expected = week_headline(stale_demo, week, Scope(), settings)
        assert_same_figures(weeks.iloc[week_index].to_dict(), expected)


def _visit_with_order(visit_id: str, outlet_id: str, day: str, value: float) -> dict:
    """Build the rows of a visit by r1 at 09:00 on day and of its order of value."""
    return {
        "visits": {
            "visit_id": visit_id,
            "rep_id": "r1",
            "outlet_id": outlet_id,
            "check_in": f"{day} 09:00:00",
            "check_out": f"{day} 09:20:00",
        },
        "orders": {
            "order_id": f"{visit_id}-order",
            "outlet_id": outlet_id,
            "rep_id": "r1",
            "visit_id": visit_id,
            "ordered_at": f"{day} 09:10:00",
            "value": value,
            "line_count": 1,
        },
    }


# review_company with dirty rows on the skipped outlets. o9 has no territory
# and sold 120 once. o10 and o11 are in TX, which the territories table lacks,
# and o11 sold 90. o6's only visit has a return of -40, and o2's first visit
# a return of -100 beside its order of 100. r2 also plans o2 and o6 on Monday.
_DIRTY_VISITS = [
    _visit_with_order("x9", "o9", "2026-02-03", 120.0),
    _visit_with_order("x11", "o11", "2026-02-04", 90.0),
    _visit_with_order("x6", "o6", "2026-02-05", -40.0),
]
_RETURN_ON_H1 = {
    "order_id": "h1-return",
    "outlet_id": "o2",
    "rep_id": "r1",
    "visit_id": "h1",
    "ordered_at": "2026-02-02 09:12:00",
    "value": -100.0,
    "line_count": 1,
}
DIRTY_ROWS = {
    **ROWS,
    "outlets": [
        *ROWS["outlets"],
        {"outlet_id": "o9", "name": "Shop 9"},
        {"outlet_id": "o10", "name": "Shop 10", "territory_id": "TX"},
        {"outlet_id": "o11", "name": "Shop 11", "territory_id": "TX"},
    ],
    "beats": [
        *ROWS["beats"],
        {
            "beat_id": "b4",
            "rep_id": "r2",
            "name": "Mon",
            "weekday": 1,
            "every_n_weeks": 1,
            "start_date": "2026-01-05",
        },
    ],
    "beat_outlets": [
        *ROWS["beat_outlets"],
        {"beat_id": "b1", "outlet_id": "o9"},
        {"beat_id": "b1", "outlet_id": "o10"},
        {"beat_id": "b4", "outlet_id": "o2"},
        {"beat_id": "b4", "outlet_id": "o6"},
    ],
    "visits": [*ROWS["visits"], *(rows["visits"] for rows in _DIRTY_VISITS)],
    "orders": [
        *ROWS["orders"],
        _RETURN_ON_H1,
        *(rows["orders"] for rows in _DIRTY_VISITS),
    ],
}
DIRTY_SPAN = Period(date(2026, 2, 23), date(2026, 3, 8))


def test_dirty_rows_revenue_at_risk(tmp_path):
    engine = sqlite_database(tmp_path, DIRTY_ROWS)
    settings = Settings()
    weeks = trend(engine, DIRTY_SPAN, Scope(), settings)
    headlines = [
        week_headline(
            engine, Period(start, start + timedelta(days=6)), Scope(), settings
        )
        for start in (date(2026, 2, 23), date(2026, 3, 2))
    ]
    engine.dispose()

    # A return adds nothing to a visit's order value, so o2 is worth 400 / 2
    # and o6, without a productive visit, T1's 1,050 / 4. o9 is priced at its
    # own 120 and o10 at TX's 90. Week 0 adds them to review_company's 1,725
    # with r2's o2 and o6: 1,725 + 120 + 90 + 200 + 262.5. In week 1 r1 skips
    # o2, o6, o9 and o10 and r2 o2 and o6: 2 x (200 + 262.5) + 120 + 90.
    result = list(weeks["revenue_at_risk"])
    assert result == [2397.5, 1135.0]
    assert [headline["revenue_at_risk"] for headline in headlines] == result


def test_dirty_rows_postgres_matches_sqlite(tmp_path, fresh_postgres_url):
    sqlite_engine = sqlite_database(tmp_path, DIRTY_ROWS)
    postgres = fill_database(fresh_postgres_url, DIRTY_ROWS)
    arguments = (DIRTY_SPAN, Scope(), Settings())

    result = review_queries.weekly_skipped_calls(postgres, *arguments)
    expected = review_queries.weekly_skipped_calls(sqlite_engine, *arguments)
    result_trend = trend(postgres, *arguments)
    expected_trend = trend(sqlite_engine, *arguments)
    postgres.dispose()
    sqlite_engine.dispose()

    pd.testing.assert_frame_equal(result, expected)
    assert list(expected_trend["revenue_at_risk"]) == [2397.5, 1135.0]
    columns = ["week_start", "revenue_at_risk"]
    pd.testing.assert_frame_equal(result_trend[columns], expected_trend[columns])
