"""Data health figures: shares, weekly trend, rows in words, the KPI note."""

import math
from datetime import date, datetime

import pandas as pd
import pytest

from data_access.filters import Settings
from data_access.health_queries import AFFECTED_COLUMNS, KIND_TABLES
from metrics.health import (
    describe_rows,
    health_table,
    rules,
    set_aside_note,
    weekly_trend,
)


def counts_frame(affected: dict[str, int], checked: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": list(KIND_TABLES),
            "table_name": list(KIND_TABLES.values()),
            "affected": [affected.get(kind, 0) for kind in KIND_TABLES],
            "checked": [checked[table] for table in KIND_TABLES.values()],
        }
    )


def test_rules_follow_kinds():
    result = [rule.kind for rule in rules(Settings())]

    assert result == list(KIND_TABLES)


def test_rules_use_settings():
    settings = Settings(duplicate_window_s=90, max_speed_kmh=80.5)

    result = {rule.kind: rule.finds for rule in rules(settings)}

    assert "less than 90 s after" in result["duplicate_visit"]
    assert "at more than 80.5 km/h" in result["impossible_travel"]


def test_rules_name_usable_order_bounds():
    result = {rule.kind: rule.finds for rule in rules(Settings())}

    assert "beyond 1,000,000,000,000 either way" in result["order_value_unusable"]
    assert "from 0 to 100,000" in result["order_line_count_unusable"]


def test_health_table_shares():
    counts = counts_frame(
        {
            "duplicate_visit": 3,
            "return_order": 2,
            "rep_without_manager": 1,
            "beat_never_runs": 1,
            "beat_outlet_unknown_reference": 2,
        },
        {
            "visits": 120,
            "orders": 40,
            "outlets": 0,
            "reps": 8,
            "beats": 20,
            "beat_outlets": 50,
        },
    )

    table = health_table(counts, Settings()).set_index("kind")

    assert table.loc["duplicate_visit", "problem"] == "Duplicate visits"
    assert table.loc["duplicate_visit", "share"] == 0.025
    assert table.loc["return_order", "share"] == 0.05
    assert table.loc["rep_without_manager", "share"] == 0.125
    assert table.loc["gps_at_zero", "share"] == 0.0
    assert math.isnan(table.loc["outlet_without_coordinates", "share"])
    assert table.loc["beat_never_runs", "share"] == 0.05
    assert table.loc["beat_outlet_unknown_reference", "share"] == 0.04


def test_weekly_trend_has_a_column_per_week():
    weeks = pd.DataFrame(
        [
            (date(2026, 3, 9), "duplicate_visit", 1),
            (date(2026, 3, 9), "gps_at_zero", 0),
            (date(2026, 3, 2), "duplicate_visit", 4),
            (date(2026, 3, 2), "gps_at_zero", 2),
            # The trend lists kinds in KIND_TABLES order, whatever the frame's order.
            (date(2026, 3, 2), "check_out_before_check_in", 5),
        ],
        columns=["week_start", "kind", "affected"],
    )

    trend = weekly_trend(weeks)

    assert list(trend.columns) == [date(2026, 3, 2), date(2026, 3, 9)]
    assert list(trend.loc["duplicate_visit"]) == [4, 1]
    assert list(trend.loc["gps_at_zero"]) == [2, 0]
    # A kind missing from a week counts 0 there.
    assert list(trend.loc["check_out_before_check_in"]) == [5, 0]
    assert list(trend.index) == [
        "duplicate_visit",
        "check_out_before_check_in",
        "gps_at_zero",
    ]
    assert trend.index.name == "kind"
    assert str(trend.dtypes.unique()[0]) == "int64"


def affected(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=AFFECTED_COLUMNS)


def test_describe_rows_in_words():
    rows = affected(
        [
            (
                "duplicate_visit",
                "v2",
                "r1",
                "o1",
                datetime(2026, 3, 2, 3, 31),
                19.0,
                72.8,
                None,
                "v1",
            ),
            (
                "check_out_before_check_in",
                "v3",
                "r1",
                "o2",
                datetime(2026, 3, 2, 4),
                19.0,
                72.9,
                -20.0,
                None,
            ),
            (
                "long_visit",
                "v4",
                "r1",
                "o8",
                datetime(2026, 3, 2, 4, 30),
                None,
                None,
                13.5,
                None,
            ),
            (
                "gps_swapped",
                "v8",
                "r1",
                "o2",
                datetime(2026, 3, 4, 3, 30),
                72.9,
                19.0,
                12.4,
                None,
            ),
            (
                "impossible_travel",
                "v4",
                "r1",
                "o8",
                datetime(2026, 3, 2, 4, 30),
                28.6,
                77.2,
                2306.65,
                "v3",
            ),
            (
                "impossible_travel",
                "v5",
                "r1",
                "o9",
                datetime(2026, 3, 2, 4, 30),
                28.6,
                77.2,
                None,
                "v4",
            ),
            (
                "order_without_visit",
                "d",
                "r1",
                "o1",
                datetime(2026, 3, 2, 10, 30),
                None,
                None,
                25.0,
                "v404",
            ),
            (
                "return_order",
                "h",
                "r1",
                "o1",
                datetime(2026, 3, 3, 3, 35),
                None,
                None,
                -75.0,
                None,
            ),
            ("rep_without_territory", "r3", "r3", None, None, None, None, None, "T9"),
            ("rep_without_manager", "r2", "r2", None, None, None, None, None, "T1"),
        ]
    )

    described = describe_rows(rows, Settings(timezone="Asia/Kolkata"))

    assert list(described["detail"]) == [
        "resend of visit v1",
        "check-out 20 min before check-in",
        "13.5 hours long",
        "(19.0, 72.9) is 12 m from the outlet",
        "2,307 km/h from visit v3",
        "at the same instant from visit v4",
        "visit_id v404 names no visit",
        "value -75.00",
        "territory_id T9 is not in territories",
        "",
    ]
    assert list(described["problem"][:2]) == [
        "Duplicate visits",
        "Check-out before check-in",
    ]
    assert described["local_time"].iloc[0] == pd.Timestamp("2026-03-02 09:01")
    assert pd.isna(described["local_time"].iloc[-1])
    assert list(described["table_name"][-3:]) == ["orders", "reps", "reps"]


def test_beat_details_name_the_fault():
    rows = affected(
        [
            ("beat_never_runs", "b2", "r1", None, None, None, None, 9.0, "weekday"),
            (
                "beat_never_runs",
                "b3",
                "r1",
                None,
                None,
                None,
                None,
                0.0,
                "every_n_weeks",
            ),
            ("beat_never_runs", "b4", "r2", None, None, None, None, None, "end_date"),
            ("beat_never_runs", "b5", "r2", None, None, None, None, 1.0, "end_date"),
            ("beat_never_runs", "b6", "r2", None, None, None, None, 4.0, "end_date"),
        ]
    )

    described = describe_rows(rows, Settings())

    assert list(described["detail"]) == [
        "weekday 9 is outside 1 (Monday) to 7 (Sunday)",
        "every_n_weeks is 0; use 1, 2 or 4",
        "end_date is before start_date",
        "end_date is before the first run date, 1 day after start_date",
        "end_date is before the first run date, 4 days after start_date",
    ]
    assert set(described["table_name"]) == {"beats"}
    assert set(described["problem"]) == {"Beats that never run"}


def test_beat_reference_details_name_value():
    rows = affected(
        [
            ("beat_unknown_rep", "b3", "r9", None, None, None, None, None, "r9"),
            ("beat_unknown_rep", "b4", None, None, None, None, None, None, None),
            ("beat_unknown_rep", "b6", "", None, None, None, None, None, " "),
            (
                "beat_outlet_unknown_reference",
                "b1",
                "r1",
                "o98",
                None,
                None,
                None,
                None,
                "outlet_id",
            ),
            (
                "beat_outlet_unknown_reference",
                "b404",
                None,
                "o2",
                None,
                None,
                None,
                None,
                "beat_id",
            ),
            (
                "beat_outlet_unknown_reference",
                "b405",
                None,
                "o96",
                None,
                None,
                None,
                None,
                "beat_id outlet_id",
            ),
        ]
    )

    described = describe_rows(rows, Settings())

    assert described["detail"].tolist() == [
        "rep_id r9 is not in reps; correct the beat's rep_id or add the rep",
        "rep_id is empty; set the beat's rep_id to a rep in reps",
        "rep_id is empty; set the beat's rep_id to a rep in reps",
        "outlet_id o98 is not in outlets; remove the row from beat_outlets or add "
        "the outlet",
        "beat_id b404 is not in beats; remove the row from beat_outlets or add "
        "the beat",
        "beat_id b405 is not in beats and outlet_id o96 is not in outlets; remove "
        "the row from beat_outlets or add the beat and the outlet",
    ]
    assert described["problem"].tolist() == [
        "Beats for an unknown rep",
        "Beats for an unknown rep",
        "Beats for an unknown rep",
        "Beat outlets with an unknown beat or outlet",
        "Beat outlets with an unknown beat or outlet",
        "Beat outlets with an unknown beat or outlet",
    ]
    assert described["table_name"].tolist() == [
        "beats",
        "beats",
        "beats",
        "beat_outlets",
        "beat_outlets",
        "beat_outlets",
    ]


def test_invalid_active_detail_names_value():
    rows = affected(
        [
            (
                "outlet_invalid_active",
                "o9",
                None,
                "o9",
                None,
                None,
                None,
                None,
                "'true'",
            ),
            ("rep_invalid_active", "r9", "r9", None, None, None, None, None, "2"),
        ]
    )

    described = describe_rows(rows, Settings())

    assert described["detail"].tolist() == [
        "active is 'true', read as inactive; store 1 (active) or 0 (inactive)",
        "active is 2, read as inactive; store 1 (active) or 0 (inactive)",
    ]
    assert described["problem"].tolist() == [
        "Outlets with an invalid active value",
        "Reps with an invalid active value",
    ]
    assert described["table_name"].tolist() == ["outlets", "reps"]


def test_unusable_line_count_detail_names_value():
    rows = affected(
        [
            (
                "order_line_count_unusable",
                "A",
                "r1",
                "o1",
                None,
                None,
                None,
                9.5,
                stored,
            )
            for stored in ["-5", "'abc'", "2.5", "9223372036854775807"]
        ]
    )

    described = describe_rows(rows, Settings())

    fix = "store the number of lines on the order, from 0 to 100,000"
    assert described["detail"].tolist() == [
        f"line_count is -5; {fix}",
        f"line_count is 'abc'; {fix}",
        f"line_count is 2.5; {fix}",
        f"line_count is 9223372036854775807; {fix}",
    ]
    assert set(described["problem"]) == {"Orders with an unusable line count"}
    assert set(described["table_name"]) == {"orders"}


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        # As SQLite's quote() writes them.
        ("1.0e+308", "1e+308"),
        ("-1.0e+15", "-1e+15"),
        ("1.23456789012345671872e+15", "1234567890123456.8"),
        # Just above the limit of 1e12, which 15 digits would show.
        ("1000000000000.0002", "1000000000000.0002"),
        ("Inf", "Infinity"),
        ("-Inf", "-Infinity"),
        ("'NaN'", "'NaN'"),
        ("'abc'", "'abc'"),
        ("X'00'", "X'00'"),
        # As PostgreSQL's text cast writes them.
        ("1e+308", "1e+308"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("NaN", "NaN"),
    ],
)
def test_unusable_value_detail_names_value(stored, shown):
    rows = affected(
        [("order_value_unusable", "A", "r1", "o1", None, None, None, None, stored)]
    )

    described = describe_rows(rows, Settings())

    assert described["detail"].tolist() == [
        f"value is {shown}; store the order's value in the company's currency, "
        "at most 1,000,000,000,000 either way"
    ]
    assert described["problem"].tolist() == ["Orders with an unusable value"]
    assert described["table_name"].tolist() == ["orders"]


def test_row_details_round_a_half_away_from_zero():
    # Each measure is a half stored exactly, which format() would round to
    # the even neighbour: 12 m, 2.2 hours, 0 min, -0.12.
    rows = affected(
        [
            ("gps_swapped", "v8", "r1", "o2", None, 72.9, 19.0, 12.5, None),
            ("long_visit", "v4", "r1", "o8", None, None, None, 2.25, None),
            (
                "check_out_before_check_in",
                "v3",
                "r1",
                "o2",
                None,
                None,
                None,
                -0.5,
                None,
            ),
            ("return_order", "h", "r1", "o1", None, None, None, -0.125, None),
        ]
    )

    result = describe_rows(rows, Settings(timezone="Asia/Kolkata"))["detail"]

    assert result.tolist() == [
        "(19.0, 72.9) is 13 m from the outlet",
        "2.3 hours long",
        "check-out 1 min before check-in",
        "value -0.13",
    ]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        (
            {"duplicate_visits": 0, "visits_without_fix": 0, "orders_without_rep": 0},
            None,
        ),
        (
            {"duplicate_visits": 3, "visits_without_fix": 0, "orders_without_rep": 0},
            "3 duplicate visits excluded. See Data health for the rows.",
        ),
        (
            {"duplicate_visits": 1, "visits_without_fix": 1, "orders_without_rep": 2},
            "1 duplicate visit excluded; 1 visit without a usable GPS fix or outlet "
            "coordinates not judged off-site; 2 orders with no known rep left out "
            "of rep order value. See Data health for the rows.",
        ),
        (
            {"duplicate_visits": 0, "orders_without_value": 1},
            "1 order with an unusable value left out of every order figure. "
            "See Data health for the rows.",
        ),
    ],
)
def test_set_aside_note(counts, expected):
    assert set_aside_note(counts) == expected
