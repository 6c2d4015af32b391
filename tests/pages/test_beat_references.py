"""Beat plans that name rows which do not exist, as another program may write
them: a beat whose rep is not in reps or is empty, and beat_outlets rows whose
beat or outlet is not in beats or outlets. The loader accepts all of them but
the empty rep. Their calls count for no rep, and Data health lists them with
the fix."""

from datetime import date

import pytest

from data_access.filters import Period, Scope, Settings
from metrics import reports
from tests.data_access.test_skip_details import beat
from tests.database import empty_database_url, fill_database
from tests.pages.viewers import demo_app, page_errors

SETTINGS = Settings()
WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
ADMIN = "admin@example.com"
LEAD_1 = "lead1@example.com"

# R1 (LEAD_1's rep) visits O1 on Monday 03-02, as B1 plans. B2 plans R2 only
# at the unknown outlet O97. B3's rep R9 is not in reps and B4 has no rep.
# O2 is only on the unknown beat B404, O3 only on B3.
ROWS = {
    "territories": [{"territory_id": "T1", "name": "North"}],
    "reps": [
        {"rep_id": "R1", "name": "Asha", "territory_id": "T1", "manager_id": LEAD_1},
        {
            "rep_id": "R2",
            "name": "Bilal",
            "territory_id": "T1",
            "manager_id": "lead2@example.com",
        },
    ],
    "outlets": [
        {"outlet_id": f"O{number}", "name": f"Kiosk {number}", "territory_id": "T1"}
        for number in (1, 2, 3)
    ],
    "beats": [
        beat("B1", "R1", weekday=1, every=1, start="2026-01-05"),
        beat("B2", "R2", weekday=1, every=1, start="2026-01-05"),
        beat("B3", "R9", weekday=2, every=1, start="2026-01-06"),
        beat("B4", None, weekday=3, every=1, start="2026-01-07"),
    ],
    "beat_outlets": [
        {"beat_id": beat_id, "outlet_id": outlet_id}
        for beat_id, outlet_id in [
            ("B1", "O1"),
            ("B1", "O98"),
            ("B2", "O97"),
            ("B3", "O3"),
            ("B404", "O2"),
            ("B405", "O96"),
        ]
    ],
    "visits": [
        {
            "visit_id": "V1",
            "rep_id": "R1",
            "outlet_id": "O1",
            "check_in": "2026-03-02 09:00:00",
        }
    ],
    "users": [
        {"user_id": ADMIN, "name": "Ada Admin", "role": "admin"},
        {"user_id": LEAD_1, "name": "Lena Lead", "role": "line_manager"},
    ],
}


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path, monkeypatch):
    url = empty_database_url(request.param, request, tmp_path)
    engine = fill_database(url, ROWS)
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", url)
    monkeypatch.setenv("BEATBOARD_TIMEZONE", SETTINGS.timezone)
    yield engine
    engine.dispose()


def health_page(view_as: str):
    app = demo_app(view_as)
    app.query_params["week"] = WEEK.start.isoformat()
    app.run()
    app.switch_page("pages/data_health.py").run()
    return app


def test_reports_plan_no_call_for_unknown_references(engine):
    reps = reports.reps_report(engine, WEEK, Scope(), SETTINGS)
    outlets = reports.outlets_report(engine, WEEK, Scope(), SETTINGS)
    territories = reports.territories_report(engine, WEEK, Scope(), SETTINGS)

    result = dict(zip(reps["rep_id"], reps["planned_calls"]))

    assert result == {"R1": 1, "R2": 0}
    # B3 still plans O3 on Tuesday 03-03, and no rep visits O3, so it is skipped.
    statuses = dict(zip(outlets["outlet_id"], outlets["status"]))
    assert statuses == {"O1": "visited", "O2": "unplanned", "O3": "skipped"}
    assert territories.loc[0, "planned_calls"] == 1


def test_data_health_lists_beat_references(engine):
    app = health_page(ADMIN)
    summary = app.dataframe[0].value.set_index("problem")

    app.selectbox(key="health_problem").set_value("beat_unknown_rep").run()
    beat_rows = app.dataframe[1].value
    app.selectbox(key="health_problem").set_value("beat_outlet_unknown_reference").run()
    beat_outlet_rows = app.dataframe[1].value

    assert page_errors(app) == []
    assert summary.loc["Beats for an unknown rep", "affected"] == 2
    assert summary.loc["Beats for an unknown rep", "share"] == pytest.approx(2 / 4)
    problem = "Beat outlets with an unknown beat or outlet"
    assert summary.loc[problem, "affected"] == 4
    assert summary.loc[problem, "share"] == pytest.approx(4 / 6)
    assert list(zip(beat_rows["record_id"], beat_rows["detail"])) == [
        ("B3", "rep_id R9 is not in reps; correct the beat's rep_id or add the rep"),
        ("B4", "rep_id is empty; set the beat's rep_id to a rep in reps"),
    ]
    assert set(beat_rows["table_name"]) == {"beats"}
    assert list(zip(beat_outlet_rows["record_id"], beat_outlet_rows["detail"])) == [
        (
            "B1",
            "outlet_id O98 is not in outlets; remove the row from beat_outlets or "
            "add the outlet",
        ),
        (
            "B2",
            "outlet_id O97 is not in outlets; remove the row from beat_outlets or "
            "add the outlet",
        ),
        (
            "B404",
            "beat_id B404 is not in beats; remove the row from beat_outlets or add "
            "the beat",
        ),
        (
            "B405",
            "beat_id B405 is not in beats and outlet_id O96 is not in outlets; "
            "remove the row from beat_outlets or add the beat and the outlet",
        ),
    ]
    assert list(beat_outlet_rows["rep_id"].fillna("")) == ["R1", "R2", "", ""]
    assert set(beat_outlet_rows["table_name"]) == {"beat_outlets"}


def test_line_manager_sees_own_beat_references(engine):
    app = health_page(LEAD_1)
    summary = app.dataframe[0].value.set_index("problem")

    app.selectbox(key="health_problem").set_value("beat_outlet_unknown_reference").run()
    rows = app.dataframe[1].value

    # Only R1's beat B1 and its two rows are checked: the beats without a
    # known rep and the rows without a known beat belong to no line manager's team.
    assert page_errors(app) == []
    assert summary.loc["Beats for an unknown rep", "affected"] == 0
    problem = "Beat outlets with an unknown beat or outlet"
    assert summary.loc[problem, "affected"] == 1
    assert summary.loc[problem, "share"] == pytest.approx(1 / 2)
    assert list(zip(rows["record_id"], rows["outlet_id"])) == [("B1", "O98")]
    captions = [caption.value for caption in app.caption]
    assert any(caption.endswith("and 2 beat_outlets rows.") for caption in captions)
