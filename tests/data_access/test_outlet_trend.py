"""The outlet trend and the outlet flags summarised per territory and week
give the raw numbers, and are counted again whenever a week their neglect
windows read is rebuilt."""

import logging
import shutil
from datetime import date, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access import (
    outlet_trend,
    review_queries,
    schema,
    summaries,
    summary_queries,
)
from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from fixtures.demo import MIN_REPS, generate
from tests.data_access.test_review_summaries import assert_same_frames, logged_queries

TIMEZONE = "Asia/Kolkata"
# Windows of whole weeks, of a part week only, and of both; the longest,
# 56 days, reaches 7 weeks back from a week's last day.
SETTINGS = Settings(
    timezone=TIMEZONE,
    neglect_days=10,
    neglect_days_by_class=(("C", 56), ("A", 5), ("B", 21)),
)
RULE = "10;A=5,B=21,C=56"
FIRST_DAY = date(2026, 1, 5)
LAST_DAY = date(2026, 3, 29)
SPAN = Period(date(2026, 3, 2), LAST_DAY, TIMEZONE)
WEEK = Period(date(2026, 3, 23), LAST_DAY, TIMEZONE)
SCOPES = {
    "everything": Scope(),
    "region": Scope(region_ids=("WEST",)),
    "territory": Scope(territory_ids=("KOL",)),
    "rep": Scope(rep_ids=("R0005",)),
    "nothing": Scope(territory_ids=("NO-SUCH-TERRITORY",)),
}
trend = schema.summary_outlet_trend


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> str:
    """The demo's last 12 weeks, all summarised under SETTINGS, without the
    territory history, whose moved rep would make the territory scope read
    the raw tables."""
    path = tmp_path_factory.mktemp("outlet_trend") / "demo.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    generate(engine, reps=MIN_REPS, weeks=12, end_date=LAST_DAY)
    with engine.begin() as connection:
        connection.execute(schema.rep_territories.delete())
    summaries.build_summaries(engine, FIRST_DAY, LAST_DAY, SETTINGS)
    engine.dispose()
    return str(path)


@pytest.fixture
def engine(demo_file, tmp_path):
    copy = tmp_path / "copy.sqlite"
    shutil.copy(demo_file, copy)
    engine = create_engine(f"sqlite:///{copy}")
    yield engine
    engine.dispose()


def raw_figures(monkeypatch, engine: sa.Engine, scope: Scope) -> pd.DataFrame:
    with monkeypatch.context() as patched:
        patched.setattr(review_queries, "_summaries_cover", lambda *args: False)
        patched.setattr(
            summary_queries,
            "summary_status",
            lambda *args: summary_queries.SummaryStatus(usable=False),
        )
        return review_queries.weekly_outlet_figures(engine, SPAN, scope, SETTINGS)


def counted_weeks(engine: sa.Engine) -> dict[date, str]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(trend.c.week_start, trend.c.neglect_rule).distinct()
        ).all()
    return dict(rows)


@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_trend_matches_raw(engine, monkeypatch, caplog, scope_name):
    scope = SCOPES[scope_name]
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = review_queries.weekly_outlet_figures(engine, SPAN, scope, SETTINGS)

    expected = raw_figures(monkeypatch, engine, scope)
    assert "weekly_outlet_figures_from_trend" in logged_queries(caplog)
    if scope_name == "nothing":
        assert expected.empty
    else:
        assert list(expected["week_index"]) == [0, 1, 2, 3]
        assert expected["overdue_outlets"].sum() > 0
    if scope_name in ("everything", "region", "territory"):
        assert expected["neglected_outlets"].sum() > 0
    assert_same_frames(result, expected)


def test_trend_skips_weeks_reaching_unbuilt_weeks(engine):
    result = counted_weeks(engine)

    # A week's 56-day windows reach the 7 weeks before it, so the first week
    # counted is the eighth one built.
    first_counted = date(2026, 2, 23)
    weeks = pd.date_range(first_counted, date(2026, 3, 23), freq="7D").date
    expected = {week: RULE for week in weeks}
    assert result == expected


def test_rebuilt_week_recounts_later_weeks(engine, monkeypatch):
    # Visits deleted behind the summaries' back in two weeks, then only those
    # weeks rebuilt: the later weeks' own rows are unchanged, but their
    # neglect windows read the two weeks.
    before = review_queries.weekly_outlet_figures(engine, SPAN, Scope(), SETTINGS)
    with engine.begin() as connection:
        connection.execute(
            schema.visits.delete().where(
                schema.visits.c.check_in >= datetime(2026, 3, 1, 18, 30),
                schema.visits.c.check_in < datetime(2026, 3, 15, 18, 30),
            )
        )
    summaries.build_summaries(engine, date(2026, 3, 2), date(2026, 3, 15), SETTINGS)

    result = review_queries.weekly_outlet_figures(engine, SPAN, Scope(), SETTINGS)

    expected = raw_figures(monkeypatch, engine, Scope())
    assert summary_queries.summary_status(engine, SPAN, SETTINGS).usable
    assert result.loc[3, "overdue_outlets"] > before.loc[3, "overdue_outlets"]
    assert_same_frames(result, expected)


def test_week_without_trend_counts_from_outlet_weeks(engine, monkeypatch, caplog):
    with engine.begin() as connection:
        connection.execute(trend.delete().where(trend.c.week_start == SPAN.start))
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = review_queries.weekly_outlet_figures(engine, SPAN, Scope(), SETTINGS)

    expected = raw_figures(monkeypatch, engine, Scope())
    names = logged_queries(caplog)
    assert "weekly_outlet_figures_from_trend" not in names
    assert "weekly_outlet_figures_from_summaries" in names
    assert_same_frames(result, expected)


def test_other_neglect_windows_count_from_outlet_weeks(engine, caplog):
    settings = Settings(timezone=TIMEZONE)
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = review_queries.weekly_outlet_figures(engine, SPAN, Scope(), settings)

    assert logged_queries(caplog)[-1] == "weekly_outlet_figures_from_summaries"
    assert len(result) == 4


def test_unassigned_outlets_count_in_whole_trend(engine, monkeypatch):
    outlets = schema.outlets
    with engine.begin() as connection:
        chosen = (
            sa.select(outlets.c.outlet_id)
            .where(outlets.c.active.is_(True))
            .order_by(outlets.c.outlet_id)
            .limit(40)
        )
        connection.execute(
            outlets.update()
            .where(outlets.c.outlet_id.in_(chosen))
            .values(territory_id=None)
        )
    summaries.build_summaries(engine, FIRST_DAY, LAST_DAY, SETTINGS)

    result = {
        name: review_queries.weekly_outlet_figures(engine, SPAN, scope, SETTINGS)
        for name, scope in SCOPES.items()
    }

    expected = {
        name: raw_figures(monkeypatch, engine, scope) for name, scope in SCOPES.items()
    }
    with engine.connect() as connection:
        unassigned = connection.execute(
            sa.select(sa.func.sum(trend.c.active_outlets)).where(
                trend.c.territory_id.is_(None), trend.c.week_start == SPAN.start
            )
        ).scalar()
    assert unassigned == 40
    for name, frame in expected.items():
        assert_same_frames(result[name], frame)


def test_load_refresh_keeps_the_neglect_windows(engine):
    moment = datetime(2026, 3, 10, 6, 0)

    summaries.refresh_after_load(engine, moment, moment, {"visits"})

    assert set(counted_weeks(engine).values()) == {RULE}
    assert len(counted_weeks(engine)) == 5


def test_command_takes_neglect_windows(engine, capsys):
    url = engine.url.render_as_string(hide_password=False)

    exit_code = summaries.main(
        ["--db", url, "--from", "2026-03-23", "--to", "2026-03-29",
         "--timezone", TIMEZONE, "--neglect-days", "14",
         "--neglect-days-by-class", "A=7, B=35"]
    )  # fmt: skip

    # Every week is counted again under the new windows, which reach 4 weeks
    # back, so from the fifth week built on.
    assert exit_code == 0, capsys.readouterr().err
    weeks = pd.date_range(date(2026, 2, 2), date(2026, 3, 23), freq="7D").date
    assert counted_weeks(engine) == {week: "14;A=7,B=35" for week in weeks}


def test_command_rejects_a_bad_class_window(capsys):
    with pytest.raises(SystemExit) as stopped:
        summaries.main(
            ["--db", "sqlite://", "--from", "2026-03-23", "--to", "2026-03-29",
             "--neglect-days-by-class", "A:14"]
        )  # fmt: skip

    assert stopped.value.code == 2
    assert (
        "neglect_days_by_class entry 'A:14' is not CLASS=DAYS; write it like "
        "A=14,B=28,C=56" in capsys.readouterr().err
    )


def test_command_rejects_a_class_listed_twice(capsys):
    # The rule text sorts the windows, so the trend counted under A=60 would
    # serve a dashboard that lists A=60 first and therefore uses A=14.
    with pytest.raises(SystemExit) as stopped:
        summaries.main(
            ["--db", "sqlite://", "--from", "2026-03-23", "--to", "2026-03-29",
             "--neglect-days-by-class", "A=14,B=28,A=60"]
        )  # fmt: skip

    assert stopped.value.code == 2
    assert (
        "neglect_days_by_class: class A has 2 neglect windows (14, 60 days); "
        "give each outlet_class one window" in capsys.readouterr().err
    )


def test_refresh_command_names_the_neglect_windows():
    result = summary_queries.refresh_command(SPAN, SETTINGS)

    assert result == (
        ".venv/bin/python -m data_access.summaries --db URL --from 2026-03-02 --to 2026-03-29 "
        "--timezone Asia/Kolkata --neglect-days 10 "
        "--neglect-days-by-class C=56,A=5,B=21"
    )


def test_postgres_trend_matches_raw(fresh_postgres_url, monkeypatch, caplog):
    postgres = create_engine(fresh_postgres_url)
    generate(postgres, reps=MIN_REPS, weeks=12, end_date=LAST_DAY)
    with postgres.begin() as connection:
        connection.execute(schema.rep_territories.delete())
    summaries.build_summaries(postgres, FIRST_DAY, LAST_DAY, SETTINGS)
    caplog.set_level(logging.INFO, logger="data_access.queries")
    try:
        result = {
            name: review_queries.weekly_outlet_figures(postgres, SPAN, scope, SETTINGS)
            for name, scope in SCOPES.items()
        }
        expected = {
            name: raw_figures(monkeypatch, postgres, scope)
            for name, scope in SCOPES.items()
        }
    finally:
        postgres.dispose()

    assert "weekly_outlet_figures_from_trend" in logged_queries(caplog)
    for name, frame in expected.items():
        assert_same_frames(result[name], frame)


# Outlet flags of a week, stored for the territories report


def outlet_flags(engine: sa.Engine, scope: Scope, use_summaries: bool) -> pd.DataFrame:
    return summary_queries._territory_outlet_flags(
        engine,
        WEEK,
        scope,
        SETTINGS,
        use_summaries,
        outlet_trend.neglect_lookback_start(WEEK, SETTINGS),
    )


@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_stored_flags_match_raw(engine, caplog, scope_name):
    scope = SCOPES[scope_name]
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = outlet_flags(engine, scope, use_summaries=True)

    expected = outlet_flags(engine, scope, use_summaries=False)
    assert "territory_outlet_flags_from_stored" in logged_queries(caplog)
    assert (len(expected) > 0) == (scope_name != "nothing")
    pd.testing.assert_frame_equal(result, expected)


def test_rebuilt_week_recounts_later_flags(engine, caplog):
    before = outlet_flags(engine, Scope(), use_summaries=True)
    with engine.begin() as connection:
        connection.execute(
            schema.visits.delete().where(
                schema.visits.c.check_in >= datetime(2026, 3, 1, 18, 30),
                schema.visits.c.check_in < datetime(2026, 3, 15, 18, 30),
            )
        )
    summaries.build_summaries(engine, date(2026, 3, 2), date(2026, 3, 15), SETTINGS)
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = outlet_flags(engine, Scope(), use_summaries=True)

    expected = outlet_flags(engine, Scope(), use_summaries=False)
    assert "territory_outlet_flags_from_stored" in logged_queries(caplog)
    assert not result.equals(before)
    pd.testing.assert_frame_equal(result, expected)


def test_rebuilt_week_rewrites_later_skips(engine, monkeypatch):
    with engine.begin() as connection:
        connection.execute(
            schema.visits.delete().where(
                schema.visits.c.check_in >= datetime(2026, 3, 1, 18, 30),
                schema.visits.c.check_in < datetime(2026, 3, 15, 18, 30),
            )
        )
    summaries.build_summaries(engine, date(2026, 3, 2), date(2026, 3, 15), SETTINGS)

    result = review_queries.weekly_skipped_calls(engine, SPAN, Scope(), SETTINGS)

    with monkeypatch.context() as patched:
        patched.setattr(review_queries, "_summaries_cover", lambda *args: False)
        expected = review_queries.weekly_skipped_calls(engine, SPAN, Scope(), SETTINGS)
    assert summary_queries.skipped_calls_cover(engine, SPAN)
    assert expected["revenue_at_risk"].sum() > 0
    assert_same_frames(result, expected)


@pytest.mark.parametrize(
    ("by_class", "expected"),
    [
        ((), "28"),
        ((("A", 28),), "28"),
        ((("C", 56), ("A", 28), ("B", 14)), "28;B=14,C=56"),
    ],
)
def test_neglect_rule_leaves_out_default_windows(by_class, expected):
    settings = Settings(neglect_days=28, neglect_days_by_class=by_class)

    result = outlet_trend.neglect_rule(settings)

    assert result == expected


def test_default_class_window_reads_stored_trend(engine, monkeypatch, caplog):
    # The build counted under RULE. A class D given the default 10 days
    # counts as the default does, so the stored rows serve these settings.
    settings = Settings(
        timezone=TIMEZONE,
        neglect_days=10,
        neglect_days_by_class=(("A", 5), ("B", 21), ("C", 56), ("D", 10)),
    )
    caplog.set_level(logging.INFO, logger="data_access.queries")

    result = review_queries.weekly_outlet_figures(engine, SPAN, Scope(), settings)

    with monkeypatch.context() as patched:
        patched.setattr(review_queries, "_summaries_cover", lambda *args: False)
        expected = review_queries.weekly_outlet_figures(engine, SPAN, Scope(), settings)
    assert "weekly_outlet_figures_from_trend" in logged_queries(caplog)
    assert_same_frames(result, expected)
