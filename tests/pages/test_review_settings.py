"""Settings of the review: per-class neglect windows and exception thresholds,
read from the environment as the dashboard reads them."""

import pandas as pd
import pytest

from metrics.exceptions import Thresholds
from metrics.status import neglect_window_days
from pages.connection import load_settings, load_thresholds, parse_class_windows


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("A=14,B=28,C=56", (("A", 14), ("B", 28), ("C", 56))),
        (" A = 14 , C=56, ", (("A", 14), ("C", 56))),
        ({"A": 14, "C": "56"}, (("A", 14), ("C", 56))),
        ("", ()),
    ],
)
def test_class_windows_from_text_or_table(value, expected):
    assert parse_class_windows(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("A14", "entry 'A14' is not CLASS=DAYS; write it like A=14,B=28,C=56"),
        ("=14", "entry '=14' is not CLASS=DAYS"),
        ("A=two weeks", "class A has 'two weeks' days; use a whole number such as 14"),
    ],
)
def test_invalid_class_windows_are_rejected(value, message):
    with pytest.raises(ValueError, match=message):
        parse_class_windows(value)


def test_class_listed_twice_in_the_environment(monkeypatch):
    monkeypatch.setenv("BEATBOARD_NEGLECT_DAYS_BY_CLASS", "A=60,C=56,A=14")

    with pytest.raises(ValueError) as rejected:
        load_settings()

    assert str(rejected.value) == (
        "neglect_days_by_class: class A has 2 neglect windows (60, 14 days); "
        "give each outlet_class one window"
    )


def test_class_windows_from_the_environment_reach_outlet_status(monkeypatch):
    monkeypatch.setenv("BEATBOARD_NEGLECT_DAYS_BY_CLASS", "A=14,B=28,C=56")
    monkeypatch.setenv("BEATBOARD_NEGLECT_DAYS", "30")

    settings = load_settings()

    assert settings.neglect_days_by_class == (("A", 14), ("B", 28), ("C", 56))
    result = neglect_window_days(pd.Series(["A", "B", "C", "D", None]), settings)
    assert list(result) == [14, 28, 56, 30, 30]


def test_a_zero_day_window_is_rejected(monkeypatch):
    monkeypatch.setenv("BEATBOARD_NEGLECT_DAYS_BY_CLASS", "A=0")

    with pytest.raises(
        ValueError, match="class A: neglect window 0 must be 1 day or more"
    ):
        load_settings()


def test_thresholds_default_without_settings(monkeypatch):
    for name in ("SKIP_SHARE", "CONSECUTIVE_SKIPS"):
        monkeypatch.delenv(f"BEATBOARD_EXCEPTION_{name}", raising=False)

    assert load_thresholds() == Thresholds()


def test_thresholds_from_the_environment(monkeypatch):
    monkeypatch.setenv("BEATBOARD_EXCEPTION_SKIP_SHARE", "0.25")
    monkeypatch.setenv("BEATBOARD_EXCEPTION_CONSECUTIVE_SKIPS", "3")

    result = load_thresholds()

    assert result == Thresholds(skip_share=0.25, consecutive_skips=3)


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, ("Asia/Kolkata", "₹")),
        (
            {"BEATBOARD_TIMEZONE": "Europe/Berlin", "BEATBOARD_CURRENCY_SYMBOL": "€"},
            ("Europe/Berlin", "€"),
        ),
    ],
)
def test_demo_settings_default_to_india(monkeypatch, environment, expected):
    for name in ("BEATBOARD_TIMEZONE", "BEATBOARD_CURRENCY_SYMBOL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    settings = load_settings(demo=True)

    assert (settings.timezone, settings.currency_symbol) == expected


def test_settings_default_outside_demo(monkeypatch):
    for name in ("BEATBOARD_TIMEZONE", "BEATBOARD_CURRENCY_SYMBOL"):
        monkeypatch.delenv(name, raising=False)

    settings = load_settings()

    assert (settings.timezone, settings.currency_symbol) == ("UTC", "")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("OFF_SITE_M", "-1", "off_site_m -1.0 is invalid; use a number of metres above 0"),
        ("OFF_SITE_M", "0", "off_site_m 0.0 is invalid"),
        ("DUPLICATE_WINDOW_S", "nan", "duplicate_window_s nan is invalid; use a number of seconds, 0 or more"),
        ("MAX_VISIT_HOURS", "inf", "max_visit_hours inf is invalid; use a number of hours above 0"),
        ("MAX_SPEED_KMH", "0", "max_speed_kmh 0.0 is invalid; use a number of km/h above 0"),
    ],
)  # fmt: skip
def test_invalid_limit_is_rejected(monkeypatch, name, value, message):
    monkeypatch.setenv(f"BEATBOARD_{name}", value)

    with pytest.raises(ValueError, match=message):
        load_settings()


def test_zero_duplicate_window_is_accepted(monkeypatch):
    monkeypatch.setenv("BEATBOARD_DUPLICATE_WINDOW_S", "0")

    assert load_settings().duplicate_window_s == 0.0
