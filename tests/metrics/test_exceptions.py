"""Exceptions: one sentence per rep and kind, costliest first."""

import pandas as pd
import pytest

from metrics.exceptions import Thresholds, rep_exceptions

COLUMNS = [
    "rep_id", "rep_name", "visits", "visits_without_fix", "planned_outlets",
    "skipped_outlets", "skip_share", "revenue_at_risk", "off_site_visits",
    "off_site_share", "off_site_value_at_risk", "strike_rate", "order_value",
    "orders", "average_order_value", "off_beat_visits", "off_beat_share",
    "planned_calls", "calls_on_plan", "beat_compliance",
]  # fmt: skip
CURRENT = pd.DataFrame(
    [
        (
            "a",
            "Asha",
            40,
            0,
            50,
            19,
            0.38,
            5000.0,
            0,
            0.0,
            0.0,
            0.5,
            2000.0,
            20,
            100.0,
            0,
            0.0,
            50,
            30,
            0.6,
        ),
        (
            "b",
            "Bilal",
            40,
            0,
            50,
            3,
            0.06,
            800.0,
            1,
            0.025,
            50.0,
            0.6,
            2400.0,
            24,
            100.0,
            0,
            0.0,
            50,
            47,
            0.94,
        ),
        (
            "c",
            "Chen",
            42,
            2,
            50,
            3,
            0.06,
            700.0,
            9,
            0.225,
            1200.0,
            0.6,
            2400.0,
            24,
            100.0,
            0,
            0.0,
            50,
            47,
            0.94,
        ),
        (
            "d",
            "Dora",
            40,
            0,
            50,
            2,
            0.04,
            400.0,
            0,
            0.0,
            0.0,
            0.35,
            1400.0,
            14,
            100.0,
            0,
            0.0,
            50,
            48,
            0.96,
        ),
        (
            "e",
            "Esha",
            40,
            0,
            50,
            3,
            0.06,
            600.0,
            0,
            0.0,
            0.0,
            0.62,
            2500.0,
            25,
            100.0,
            16,
            0.4,
            50,
            47,
            0.94,
        ),
    ],
    columns=COLUMNS,
)
PREVIOUS = pd.DataFrame(
    {"rep_id": ["a", "d"], "visits": [40, 41], "strike_rate": [0.55, 0.61]}
)
REGISTER = pd.DataFrame(
    {
        "rep_id": ["a", "a", "b"],
        "outlet_id": ["o9", "o7", "o1"],
        "outlet_name": ["Shop 9", "Shop 7", "Shop 1"],
        "consecutive_missed_calls": [4, 2, 1],
        "missed_since_lookback_start": [False, False, False],
        "revenue_at_risk": [300.0, 200.0, 800.0],
    }
)


def test_exceptions_costliest_first():
    result = rep_exceptions(CURRENT, PREVIOUS, REGISTER, off_site_m=300.0)

    expected = [
        ("a", "skipped outlets", 5000.0,
         "Asha skipped 19 of 50 planned outlets (38%) against a team median of 6%."),
        ("c", "off-site check-ins", 1200.0,
         "9 of 40 visits by Chen were logged more than 300 m from the outlet (23%)."),
        # (61% - 35%) x 40 visits x 100 per order.
        ("d", "strike rate", 1040.0,
         "Dora's strike rate fell from 61% to 35% (team median 60%)."),
        ("a", "skipped in a row", 300.0,
         "Asha missed Shop 9 on 4 planned calls in a row."),
        ("e", "off-beat visits", None,
         "Esha made 16 of 40 visits off the beat (40%) against a team median of 0%."),
        ("a", "beat compliance", None,
         "Asha made 30 of 50 planned calls on the planned day (60%), below the 70% floor."),
    ]  # fmt: skip
    values = (
        result["value_at_risk"]
        .round(6)
        .astype(object)
        .where(result["value_at_risk"].notna(), None)
    )
    assert (
        list(zip(result["rep_id"], result["kind"], values, result["message"]))
        == expected
    )


def test_strike_rate_far_below_team_median_without_history():
    result = rep_exceptions(CURRENT, None, REGISTER.iloc[0:0], off_site_m=300.0)

    lines = result[result["kind"] == "strike rate"]
    assert list(lines["message"]) == [
        "Dora's strike rate was 35% against a team median of 60%."
    ]
    # (60% - 35%) x 40 visits x 100 per order.
    assert lines["value_at_risk"].round(6).tolist() == [1000.0]


def test_many_outlets_missed_in_a_row_make_one_line():
    register = pd.DataFrame(
        {
            "rep_id": ["a", "a", "a"],
            "outlet_id": ["o9", "o7", "o8"],
            "outlet_name": ["Shop 9", "Shop 7", None],
            "consecutive_missed_calls": [4, 13, 5],
            "missed_since_lookback_start": [False, True, False],
            "revenue_at_risk": [300.0, 200.0, 100.0],
        }
    )

    result = rep_exceptions(CURRENT, PREVIOUS, register, off_site_m=300.0)

    lines = result[result["kind"] == "skipped in a row"]
    assert list(lines["message"]) == [
        "Asha missed 3 outlets on 4 or more planned calls in a row; "
        "the longest run is at least 13 calls at Shop 7."
    ]
    assert list(lines["value_at_risk"]) == [600.0]


def test_unpriced_run_has_no_value():
    # The outlet had no order history, so what the run cost is unknown, not 0.
    register = REGISTER.assign(revenue_at_risk=[float("nan"), 200.0, 800.0])

    result = rep_exceptions(CURRENT, PREVIOUS, register, off_site_m=300.0)

    lines = result[result["kind"] == "skipped in a row"]
    assert list(lines["rep_id"]) == ["a"]
    assert lines["value_at_risk"].isna().all()


def test_thresholds_are_settings():
    thresholds = Thresholds(skip_share=0.5, compliance_floor=0.5, off_beat_share=0.5)

    result = rep_exceptions(CURRENT, PREVIOUS, REGISTER, 300.0, thresholds)

    assert list(result["kind"]) == [
        "off-site check-ins",
        "strike rate",
        "skipped in a row",
    ]


def test_quiet_team_has_no_exceptions():
    quiet = CURRENT[CURRENT["rep_id"] == "b"]

    result = rep_exceptions(quiet, None, REGISTER.iloc[0:0], off_site_m=300.0)

    assert result.empty
    assert list(result.columns) == [
        "rep_id",
        "rep_name",
        "kind",
        "value_at_risk",
        "severity",
        "message",
    ]


def test_thresholds_from_text():
    result = Thresholds.from_mapping({"skip_share": "0.25", "consecutive_skips": "3"})

    assert result == Thresholds(skip_share=0.25, consecutive_skips=3)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"skip_shares": "0.2"}, "unknown exception threshold 'skip_shares'"),
        ({"skip_share": "a lot"}, "skip_share='a lot' is not a number"),
        (
            {"off_site_share": "1.5"},
            "off_site_share=1.5 is invalid; use a fraction from 0 to 1",
        ),
        (
            {"consecutive_skips": "0"},
            "consecutive_skips=0 is invalid; use a whole number of 1 or more",
        ),
        (
            {"consecutive_skips": "2.5"},
            "consecutive_skips=2.5 is invalid; use a whole number",
        ),
    ],
)
def test_invalid_thresholds_are_rejected(values, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        Thresholds.from_mapping(values)
