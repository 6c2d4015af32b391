"""Beats that never run: a weekday outside 1 to 7, every_n_weeks 0 or below,
a start_date of '-infinity', or an end_date before the first run date, as
another program may write them. Such a
beat plans no call on either engine, so visits to its outlets are off-beat.
Every page still draws, Data health lists the beats, and the summaries build."""

from datetime import date

import pytest

from data_access import health_summaries, review_queries, summaries
from data_access.filters import Scope
from metrics import reports
from tests.database import empty_database_url, fill_database
from tests.pages.test_offset_check_ins import ROWS, SETTINGS, WEEK
from tests.pages.viewers import demo_app, page_errors, page_paths, week_page

# B1 runs on Tuesdays with O1, which R1 visits on Tuesday 03-03 (local).
# B2 to B7 never run. R1 visits O2 on Wednesday 03-04 and O3 not at all. B5
# runs on Fridays from Monday 03-02 and ends on Thursday 03-05. B6 would run
# on 03-04 if a negative every_n_weeks counted backwards.
BEATS = (
    "INSERT INTO beats (beat_id, rep_id, weekday, every_n_weeks, start_date, "
    "end_date) VALUES "
    "('B1', 'R1', 2, 1, '2026-01-06', NULL), "
    "('B2', 'R1', 9, 1, '2026-01-06', NULL), "
    "('B3', 'R1', 3, 0, '2026-01-07', NULL), "
    "('B4', 'R1', 4, 1, '2026-03-05', '2026-02-26'), "
    "('B5', 'R1', 5, 1, '2026-03-02', '2026-03-05'), "
    "('B6', 'R1', 3, -2, '2026-01-07', NULL), "
    "('B7', 'R1', 3, 1, '-infinity', NULL)"
)
BEAT_OUTLETS = (
    "INSERT INTO beat_outlets (beat_id, outlet_id) VALUES "
    "('B1', 'O1'), ('B2', 'O2'), ('B3', 'O2'), ('B4', 'O3'), ('B5', 'O3'), "
    "('B6', 'O2'), ('B7', 'O2')"
)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path, monkeypatch):
    url = empty_database_url(request.param, request, tmp_path)
    engine = fill_database(url, ROWS)
    with engine.begin() as connection:
        connection.exec_driver_sql(BEATS)
        connection.exec_driver_sql(BEAT_OUTLETS)
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", url)
    monkeypatch.setenv("BEATBOARD_TIMEZONE", SETTINGS.timezone)
    yield engine
    engine.dispose()


def test_reps_report_plans_only_running_beat(engine):
    report = reports.reps_report(engine, WEEK, Scope(), SETTINGS)

    result = report.loc[
        0, ["visits", "planned_calls", "calls_on_plan", "off_beat_visits"]
    ].to_dict()

    expected = {
        "visits": 2,
        "planned_calls": 1,
        "calls_on_plan": 1,
        "off_beat_visits": 1,
    }
    assert result == expected


def test_outlet_statuses_beside_beats_never_running(engine):
    report = reports.outlets_report(engine, WEEK, Scope(), SETTINGS)

    result = dict(zip(report["outlet_id"], report["status"]))

    # B5's dates overlap the week, so O3 is not unplanned although no beat
    # plans it, and it has no visit in the neglect window.
    expected = {"O1": "visited", "O2": "visited", "O3": "neglected"}
    assert result == expected


def test_skip_details_beside_beats_never_running(engine):
    result = review_queries.skip_details(engine, WEEK, Scope(), SETTINGS)

    assert result.empty


def test_summaries_build_beside_beats_never_running(engine):
    url = engine.url.render_as_string(hide_password=False)
    arguments = ["--db", url, "--from", "2026-03-02", "--to", "2026-03-08"]

    exit_code = summaries.main([*arguments, "--timezone", SETTINGS.timezone])
    covered = health_summaries.health_summaries_cover(engine, WEEK, SETTINGS)
    counts = health_summaries.read_health_counts(engine, WEEK, Scope(), SETTINGS)
    rows = health_summaries.read_affected_rows(
        engine, WEEK, Scope(), SETTINGS, kinds=("beat_never_runs",)
    )

    assert exit_code == 0
    # The beats are counted from the beats table beside the summaries.
    assert covered
    assert counts.set_index("kind").loc["beat_never_runs", "affected"] == 6
    assert list(rows["record_id"]) == ["B2", "B3", "B4", "B5", "B6", "B7"]


@pytest.mark.parametrize("page", page_paths())
def test_page_draws_beside_beats_never_running(engine, page):
    app = week_page(page, WEEK.start)

    assert page_errors(app) == []


def test_data_health_lists_beats_never_running(engine):
    app = week_page("pages/data_health.py", WEEK.start)
    app.selectbox(key="health_problem").set_value("beat_never_runs").run()

    rows = app.dataframe[1].value
    result = list(zip(rows["record_id"], rows["detail"]))

    expected = [
        ("B2", "weekday 9 is outside 1 (Monday) to 7 (Sunday)"),
        ("B3", "every_n_weeks is 0; use 1, 2 or 4"),
        ("B4", "end_date is before start_date"),
        ("B5", "end_date is before the first run date, 4 days after start_date"),
        ("B6", "every_n_weeks is -2; use 1, 2 or 4"),
        ("B7", "start_date is not a finite date; use the beat's first date"),
    ]
    assert page_errors(app) == []
    assert result == expected


def test_rep_week_draws_beside_beats_never_running(engine):
    app = demo_app()
    app.query_params["week"] = WEEK.start.isoformat()
    app.query_params["rep"] = "R1"
    app.run()
    app.switch_page("pages/rep_performance.py").run()

    days = app.dataframe[0].value
    result = days[["call_date", "planned_calls", "off_beat"]].values.tolist()

    expected = [[date(2026, 3, 3), 1, 0], [date(2026, 3, 4), 0, 1]]
    assert page_errors(app) == []
    assert result == expected
