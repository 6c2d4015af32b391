"""The review queries against the hand-computed week of review_company."""

import logging
from datetime import date, datetime

import pandas as pd
import pytest

from data_access import review_queries, summaries
from data_access.filters import Period, Scope, Settings
from tests.database import fill_database, sqlite_database
from tests.review_company import ROWS

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
SETTINGS = Settings()


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = sqlite_database(tmp_path_factory.mktemp("review"), ROWS)
    yield engine
    engine.dispose()


def records(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Rows as tuples, missing values as None, so they compare with literals."""
    shown = frame[columns].astype(object).where(frame[columns].notna(), None)
    return [tuple(row) for row in shown.itertuples(index=False)]


def test_time_in_market_per_rep(engine):
    result = review_queries.rep_time_in_market(engine, WEEK, Scope(), SETTINGS)

    expected = [("r1", 3, 18000.0), ("r2", 1, 900.0)]
    assert records(result, ["rep_id", "working_days", "time_in_market_s"]) == expected


def test_rep_days_span_first_check_in_to_last_check_out(engine):
    result = review_queries.rep_days(engine, WEEK, Scope(rep_ids=("r1",)), SETTINGS)

    expected = [
        (
            date(2026, 3, 2),
            1,
            1,
            0,
            datetime(2026, 3, 2, 9, 0),
            datetime(2026, 3, 2, 9, 30),
            1800.0,
        ),
        # o3 has no check-out, so the day ends at o4's check-out.
        (
            date(2026, 3, 4),
            2,
            0,
            1,
            datetime(2026, 3, 4, 10, 0),
            datetime(2026, 3, 4, 11, 30),
            5400.0,
        ),
        # o1's check-out is before its check-in, so that visit ends at 11:00.
        (
            date(2026, 3, 5),
            2,
            1,
            0,
            datetime(2026, 3, 5, 8, 0),
            datetime(2026, 3, 5, 11, 0),
            10800.0,
        ),
    ]
    columns = [
        "visit_date",
        "visits",
        "productive_visits",
        "off_site_visits",
        "first_check_in",
        "last_check_out",
        "time_in_market_s",
    ]
    assert records(result, columns) == expected


def test_rep_call_list_day_by_day(engine):
    result = review_queries.rep_call_list(engine, WEEK, Scope(), SETTINGS, "r1")

    expected = [
        (date(2026, 3, 2), "o1", 1, "v1", 1, 250.0, None),
        (date(2026, 3, 2), "o2", 1, None, 0, 0.0, None),
        (date(2026, 3, 2), "o3", 1, None, 0, 0.0, date(2026, 3, 4)),
        (date(2026, 3, 2), "o6", 1, None, 0, 0.0, None),
        (date(2026, 3, 4), "o3", 0, "v3", 0, 0.0, None),
        (date(2026, 3, 4), "o4", 1, "v4", 0, 0.0, None),
        (date(2026, 3, 5), "o5", 0, "v5", 1, 80.0, None),
        (date(2026, 3, 5), "o1", 0, "v6", 0, 0.0, None),
    ]
    columns = [
        "call_date",
        "outlet_id",
        "planned",
        "visit_id",
        "productive",
        "order_value",
        "other_visit_date",
    ]
    assert records(result, columns) == expected
    assert round(result.loc[5, "distance_m"]) == 1112


def test_rep_call_list_of_rep_outside_scope_is_empty(engine):
    result = review_queries.rep_call_list(
        engine, WEEK, Scope(rep_ids=("r2",)), SETTINGS, "r1"
    )

    assert result.empty
    assert "call_date" in result.columns


def test_calls_at_risk_with_order_history(engine):
    result = review_queries.calls_at_risk(engine, WEEK, Scope(), SETTINGS)

    expected = [
        ("r1", "o4", "off_site", 1, None, 1, 150.0, 4, 1050.0),
        ("r1", "o2", "skipped", 1, date(2026, 3, 2), 2, 400.0, 4, 1050.0),
        ("r1", "o6", "skipped", 1, date(2026, 3, 2), 0, 0.0, 4, 1050.0),
    ]
    columns = [
        "rep_id",
        "outlet_id",
        "kind",
        "calls",
        "first_plan_date",
        "outlet_productive_visits",
        "outlet_order_value",
        "territory_productive_visits",
        "territory_order_value",
    ]
    assert records(result, columns) == expected


def test_calls_at_risk_follow_the_scope(engine):
    result = review_queries.calls_at_risk(
        engine, WEEK, Scope(rep_ids=("r2",)), SETTINGS
    )

    assert result.empty


def test_calls_at_risk_of_outlet_without_territory(tmp_path):
    # o9 has no territory_id. Its skip is listed, with no history to price it.
    rows = {
        **ROWS,
        "outlets": [*ROWS["outlets"], {"outlet_id": "o9", "name": "Shop 9"}],
        "beat_outlets": [*ROWS["beat_outlets"], {"beat_id": "b1", "outlet_id": "o9"}],
    }
    engine = sqlite_database(tmp_path, rows)

    result = review_queries.calls_at_risk(engine, WEEK, Scope(), SETTINGS)
    weekly = review_queries.weekly_skipped_calls(engine, WEEK, Scope(), SETTINGS)
    engine.dispose()

    skipped = result[result["kind"] == "skipped"]
    expected = [
        ("r1", "o2", 1, 2, 400.0),
        ("r1", "o6", 1, 0, 0.0),
        ("r1", "o9", 1, 0, 0.0),
    ]
    columns = [
        "rep_id",
        "outlet_id",
        "calls",
        "outlet_productive_visits",
        "outlet_order_value",
    ]
    assert records(skipped, columns) == expected
    # o2 at its own 400 / 2, o6 at T1's 1,050 / 4; o9 has no price.
    weekly_columns = ["week_index", "skipped_calls", "revenue_at_risk"]
    assert records(weekly, weekly_columns) == [(0, 3, 462.5)]


def test_consecutive_missed_calls_and_last_visit(engine):
    result = review_queries.skip_details(engine, WEEK, Scope(), SETTINGS)

    expected = [
        # Missed on 02-23 and 03-02 since the visit of 02-16.
        ("r1", "o2", 2, False, date(2026, 2, 16), "shop closed", date(2026, 2, 16)),
        # Never visited: every Monday since the beat started on 01-05, inside
        # the lookback, so the count is exact.
        ("r1", "o6", 9, False, None, None, None),
    ]
    columns = [
        "rep_id",
        "outlet_id",
        "consecutive_missed_calls",
        "missed_since_lookback_start",
        "rep_last_visit_date",
        "reason_at_last_visit",
        "last_visit_date",
    ]
    assert records(result, columns) == expected


def test_consecutive_missed_calls_stop_at_the_lookback(tmp_path):
    # A weekly beat running since 2025 with no visit: the count stops at the
    # 13-week lookback, 13 Mondays from 2025-12-08 to 2026-03-02.
    rows = {
        "outlets": [{"outlet_id": "o1", "territory_id": "T1"}],
        "reps": [{"rep_id": "r1", "territory_id": "T1"}],
        "territories": [{"territory_id": "T1"}],
        "beats": [
            {
                "beat_id": "b1",
                "rep_id": "r1",
                "weekday": 1,
                "every_n_weeks": 1,
                "start_date": "2025-06-02",
            }
        ],
        "beat_outlets": [{"beat_id": "b1", "outlet_id": "o1"}],
    }
    engine = sqlite_database(tmp_path, rows)

    result = review_queries.skip_details(engine, WEEK, Scope(), SETTINGS)
    engine.dispose()

    expected = [("r1", "o1", 13, True)]
    columns = [
        "rep_id",
        "outlet_id",
        "consecutive_missed_calls",
        "missed_since_lookback_start",
    ]
    assert records(result, columns) == expected


def test_weekly_figures_need_whole_weeks(engine):
    with pytest.raises(ValueError, match="10 days long; use whole weeks"):
        review_queries.weekly_rep_figures(
            engine, Period(date(2026, 3, 2), date(2026, 3, 11)), Scope(), SETTINGS
        )


def test_weekly_rep_figures(engine):
    span = Period(date(2026, 2, 23), date(2026, 3, 8))

    result = review_queries.weekly_rep_figures(engine, span, Scope(), SETTINGS)

    # Week 0 (02-23): r1 planned o1, o2, o3, o6 on Monday, r2 o3 on Tuesday,
    # nothing visited. Week 1 is the week of the module docstring: r1 planned
    # 5 outlets and r2 1; the orders of 250 (4 lines) and 80 (1 line) are
    # linked to the week's visits.
    expected = [
        (0, 0, 0, 0, 0, 0, 5, 0, 5, 5, 0.0),
        (1, 6, 2, 5, 1, 3, 6, 3, 6, 2, 18900.0),
    ]
    columns = [
        "week_index",
        "visits",
        "productive_visits",
        "order_lines",
        "off_site_visits",
        "off_beat_visits",
        "planned_calls",
        "calls_on_plan",
        "planned_outlets",
        "skipped_outlets",
        "time_in_market_s",
    ]
    assert records(result, columns) == expected


def test_weekly_skipped_calls_price_each_week(engine):
    span = Period(date(2026, 2, 23), date(2026, 3, 8))

    result = review_queries.weekly_skipped_calls(engine, span, Scope(), SETTINGS)

    # In week 0 the history is 12-29 to 02-22: o2 sold 400 in 2 visits, o3
    # 500 in 1, T1 1,050 in 4. o1 and o6 sold nothing, so their calls take
    # T1's 262.5: 262.5 + 200 + 2 x 500 + 262.5. Week 1 skips o2 and o6.
    expected = [(0, 5, 1725.0), (1, 2, 462.5)]
    columns = ["week_index", "skipped_calls", "revenue_at_risk"]
    assert records(result, columns) == expected


def test_weekly_skipped_calls_without_order_history(engine):
    # The beats' first week: r1 skips the 4 outlets of its Monday beat and r2
    # o3 on Tuesday. No order came before, so none of the 5 calls has a price.
    span = Period(date(2026, 1, 5), date(2026, 1, 11))

    result = review_queries.weekly_skipped_calls(engine, span, Scope(), SETTINGS)

    expected = [(0, 5, None)]
    columns = ["week_index", "skipped_calls", "revenue_at_risk"]
    assert records(result, columns) == expected


@pytest.fixture(scope="module")
def summarised_engine(tmp_path_factory):
    """review_company with summaries of its weeks from 2025-11-10 on, so the
    trend's weeks from 2026-01-05 on have their 8 history weeks built."""
    engine = sqlite_database(tmp_path_factory.mktemp("review_summarised"), ROWS)
    summaries.build_summaries(engine, date(2025, 11, 10), WEEK.end, SETTINGS)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        # As in the two tests above, from the rows the build stored per rep.
        (
            Period(date(2026, 2, 23), date(2026, 3, 8)),
            [(0, 5, 1725.0), (1, 2, 462.5)],
        ),
        (Period(date(2026, 1, 5), date(2026, 1, 11)), [(0, 5, None)]),
    ],
    ids=["priced", "without_order_history"],
)
def test_weekly_skipped_calls_from_stored_risk(
    summarised_engine, caplog, span, expected
):
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = review_queries.weekly_skipped_calls(
        summarised_engine, span, Scope(), SETTINGS
    )

    columns = ["week_index", "skipped_calls", "revenue_at_risk"]
    assert records(result, columns) == expected
    assert "query weekly_skipped_calls_from_stored_risk" in caplog.text


@pytest.mark.parametrize(
    "query",
    [
        "rep_time_in_market",
        "rep_days",
        "calls_at_risk",
        "skip_details",
        "skip_runs",
    ],
)
def test_postgres_matches_sqlite(engine, fresh_postgres_url, query):
    postgres = fill_database(fresh_postgres_url, ROWS)
    function = getattr(review_queries, query)

    result = function(postgres, WEEK, Scope(), SETTINGS)
    postgres.dispose()

    expected = function(engine, WEEK, Scope(), SETTINGS)
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)


@pytest.mark.parametrize(
    "query",
    [
        "weekly_rep_figures",
        "weekly_order_figures",
        "weekly_outlet_figures",
        "weekly_skipped_calls",
    ],
)
def test_weekly_postgres_matches_sqlite(engine, fresh_postgres_url, query):
    postgres = fill_database(fresh_postgres_url, ROWS)
    span = Period(date(2026, 2, 23), date(2026, 3, 8))
    function = getattr(review_queries, query)

    result = function(postgres, span, Scope(), SETTINGS)
    postgres.dispose()

    expected = function(engine, span, Scope(), SETTINGS)
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)


def test_rep_call_list_postgres_matches_sqlite(engine, fresh_postgres_url):
    postgres = fill_database(fresh_postgres_url, ROWS)

    result = review_queries.rep_call_list(postgres, WEEK, Scope(), SETTINGS, "r1")
    postgres.dispose()

    expected = review_queries.rep_call_list(engine, WEEK, Scope(), SETTINGS, "r1")
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)


# A rep with one outlet on a weekly Monday beat since 2025-06-02, for the
# edges of the lookback and of the local day.
ONE_OUTLET_ROWS = {
    "outlets": [
        {"outlet_id": "o1", "territory_id": "T1"},
        {"outlet_id": "o2", "territory_id": "T1"},
    ],
    "reps": [{"rep_id": "r1", "territory_id": "T1"}],
    "territories": [{"territory_id": "T1"}],
    "beats": [
        {
            "beat_id": "b1",
            "rep_id": "r1",
            "weekday": 1,
            "every_n_weeks": 1,
            "start_date": "2025-06-02",
        }
    ],
    "beat_outlets": [{"beat_id": "b1", "outlet_id": "o1"}],
}
KOLKATA_WEEK = Period(date(2026, 3, 2), date(2026, 3, 8), "Asia/Kolkata")
KOLKATA = Settings(timezone="Asia/Kolkata")


@pytest.mark.parametrize(
    ("check_in", "expected"),
    [
        # 00:15 in Kolkata on 2025-12-08, the lookback's first day. The 12
        # Mondays after it are missed, and the count is exact.
        ("2025-12-07T18:45:00", ("r1", "o1", 12, False, date(2025, 12, 8))),
        # 23:45 in Kolkata the day before, so all 13 Mondays are missed.
        ("2025-12-07T18:15:00", ("r1", "o1", 13, True, date(2025, 12, 7))),
    ],
)
def test_skip_details_at_lookback_start(tmp_path, check_in, expected):
    visit = {"visit_id": "v1", "rep_id": "r1", "outlet_id": "o1", "check_in": check_in}
    engine = sqlite_database(tmp_path, {**ONE_OUTLET_ROWS, "visits": [visit]})

    details = review_queries.skip_details(engine, KOLKATA_WEEK, Scope(), KOLKATA)
    engine.dispose()

    columns = [
        "rep_id",
        "outlet_id",
        "consecutive_missed_calls",
        "missed_since_lookback_start",
        "rep_last_visit_date",
    ]
    result = records(details, columns)
    assert result == [expected]


def test_skip_details_skip_visit_in_period(tmp_path):
    # A visit on Wednesday of the week, off the Monday plan, is a visit to
    # the outlet in the period, so o1 is not skipped.
    visit = {
        "visit_id": "v1",
        "rep_id": "r1",
        "outlet_id": "o1",
        "check_in": "2026-03-04T05:00:00",
    }
    engine = sqlite_database(tmp_path, {**ONE_OUTLET_ROWS, "visits": [visit]})

    result = review_queries.skip_details(engine, KOLKATA_WEEK, Scope(), KOLKATA)
    engine.dispose()

    assert len(result) == 0


# r1 works at o1 in the morning, checks in at o2 a minute before midnight in
# Kolkata, and the phone resends that visit 90 s later, after midnight.
MIDNIGHT_RESEND_ROWS = {
    **ONE_OUTLET_ROWS,
    "visits": [
        {"visit_id": "v1", "rep_id": "r1", "outlet_id": "o1",
         "check_in": "2026-03-03T03:30:00", "check_out": "2026-03-03T03:50:00"},
        {"visit_id": "v2", "rep_id": "r1", "outlet_id": "o2",
         "check_in": "2026-03-03T18:29:00", "check_out": "2026-03-03T18:29:50"},
        {"visit_id": "v3", "rep_id": "r1", "outlet_id": "o2",
         "check_in": "2026-03-03T18:30:30", "check_out": "2026-03-03T19:00:00"},
    ],
}  # fmt: skip


def test_time_in_market_drops_resend_after_midnight(tmp_path):
    engine = sqlite_database(tmp_path, MIDNIGHT_RESEND_ROWS)

    time_in_market = review_queries.rep_time_in_market(
        engine, KOLKATA_WEEK, Scope(), KOLKATA
    )
    days = review_queries.rep_days(engine, KOLKATA_WEEK, Scope(), KOLKATA)
    engine.dispose()

    # One working day, 03-03, runs from 09:00 to 23:59:50 in Kolkata. v3 is a
    # duplicate of v2, so neither its date nor its check-out counts.
    result = records(time_in_market, ["rep_id", "working_days", "time_in_market_s"])
    assert result == [("r1", 1, 53990.0)]
    result_days = records(days, ["rep_id", "visit_date", "visits", "time_in_market_s"])
    assert result_days == [("r1", date(2026, 3, 3), 2, 53990.0)]


@pytest.mark.parametrize("query", ["rep_time_in_market", "skip_details", "skip_runs"])
def test_edge_cases_postgres_matches_sqlite(tmp_path, fresh_postgres_url, query):
    # The rows combine the resend after midnight with o1's last visit on the
    # lookback's first day, so o1 is skipped in the week.
    rows = {
        **MIDNIGHT_RESEND_ROWS,
        "visits": [
            *MIDNIGHT_RESEND_ROWS["visits"][1:],
            {"visit_id": "v4", "rep_id": "r1", "outlet_id": "o1",
             "check_in": "2025-12-07T18:45:00"},
        ],
    }  # fmt: skip
    sqlite_engine = sqlite_database(tmp_path, rows)
    postgres = fill_database(fresh_postgres_url, rows)
    function = getattr(review_queries, query)

    result = function(postgres, KOLKATA_WEEK, Scope(), KOLKATA)
    expected = function(sqlite_engine, KOLKATA_WEEK, Scope(), KOLKATA)
    postgres.dispose()
    sqlite_engine.dispose()

    assert len(expected) == 1
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)
