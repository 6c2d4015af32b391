"""Region ids that name no row of the regions table, written with SQL by
another program, on SQLite and PostgreSQL.

A territory whose region_id names no region is without a region: it joins
the Unassigned region of the Territory comparison and has a blank region in
the territories report. A regional head whose scope_id names no region gets
an error that names the scope_id, on the pages, under View as and on the
command line, in place of an empty view.
"""

import csv
import io

import pandas as pd
import pytest

from data_access.access import AccessError, scope_for_user
from metrics.report import main
from pages.formatting import markdown_text
from tests import comparison_company, two_teams
from tests.database import empty_database_url, fill_database
from tests.pages.viewers import demo_app, found_markers, signed_in_app

COMPARISON_PAGE = "pages/territory_comparison.py"
REP_PAGE = "pages/rep_performance.py"
GHOST_HEAD = "ghost.head@two.example"
GHOST_HEAD_ERROR = (
    "regional head 'ghost.head@two.example' has scope_id 'NOWHERE', which is not "
    "in the regions table; set it to a region_id of the regions table"
)


def dirty_engine(request, tmp_path, monkeypatch, rows, statement):
    """Fill a database of the requested engine with rows, run statement on it,
    point the dashboard at it and return its engine."""
    url = empty_database_url(request.param, request, tmp_path)
    engine = fill_database(url, rows)
    with engine.begin() as connection:
        connection.exec_driver_sql(statement)
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", url)
    monkeypatch.delenv("BEATBOARD_ACCESS_CONTACT", raising=False)
    return engine


@pytest.fixture(params=["sqlite", "postgres"])
def comparison_engine(request, tmp_path, monkeypatch):
    """The comparison company with territory 12.1 moved to a region that does
    not exist. Region N keeps 007; 12.1 joins T4 in the Unassigned region."""
    engine = dirty_engine(
        request,
        tmp_path,
        monkeypatch,
        comparison_company.ROWS,
        "UPDATE territories SET region_id = 'NOREGION' WHERE territory_id = '12.1'",
    )
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def ghost_engine(request, tmp_path, monkeypatch):
    """The two-teams company with a ghost head: a regional head of a region
    that does not exist."""
    engine = dirty_engine(
        request,
        tmp_path,
        monkeypatch,
        two_teams.company_rows(),
        "INSERT INTO users VALUES "
        f"('{GHOST_HEAD}', 'Gina Ghost', 'regional_head', 'NOWHERE')",
    )
    yield engine
    engine.dispose()


def open_comparison(**params: str):
    app = demo_app()
    app.query_params["week"] = comparison_company.WEEK
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    app.switch_page(COMPARISON_PAGE).run()
    assert not app.exception
    assert not app.error
    return app


def records(frame: pd.DataFrame, key: str, columns: list[str]) -> dict:
    """Rows keyed by key (missing keys read "Unassigned"), NaN as None, for ==."""
    keys = frame[key].astype(object).where(frame[key].notna(), "Unassigned")
    values = frame[columns].astype(object).where(frame[columns].notna(), None)
    return dict(zip(keys, values.to_dict("records")))


def run_report(capsys, engine, report, *options) -> tuple[int, str, str]:
    exit_code = main(
        [
            report,
            "--db",
            engine.url.render_as_string(hide_password=False),
            "--from",
            comparison_company.WEEK,
            "--to",
            "2026-03-08",
            *options,
        ]
    )
    captured = capsys.readouterr()
    return exit_code, captured.out, captured.err


# A territory whose region_id names no region


def test_unknown_region_joins_unassigned(comparison_engine):
    app = open_comparison(compare="regions", rank_by="strike_rate")

    table = records(
        app.dataframe[0].value,
        "region_id",
        ["region_name", "territories", "visits", "productive_visits"],
    )

    assert list(table) == ["Unassigned", "N", "S"]
    assert table["Unassigned"] == {
        "region_name": "Unassigned",
        "territories": 2,
        "visits": 4,
        "productive_visits": 2,
    }
    assert table["N"] == {
        "region_name": "North",
        "territories": 1,
        "visits": 3,
        "productive_visits": 2,
    }


def test_territory_table_blanks_unknown_region(comparison_engine):
    app = open_comparison()

    table = records(
        app.dataframe[0].value, "territory_id", ["region_id", "region_name"]
    )

    assert table["12.1"] == {"region_id": None, "region_name": None}
    assert table["T4"] == {"region_id": None, "region_name": None}
    assert table["007"] == {"region_id": "N", "region_name": "North"}


def test_region_picker_skips_unknown_region(comparison_engine):
    app = open_comparison(region="N")

    picker = app.sidebar.selectbox(key="region")

    assert picker.options == ["North (N)", "South (S)"]
    assert list(app.dataframe[0].value["territory_id"]) == ["007"]


def test_territories_report_blanks_unknown_region(capsys, comparison_engine):
    exit_code, out, err = run_report(capsys, comparison_engine, "territories")

    assert exit_code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    result = {row["territory_id"]: row["region_id"] for row in rows}
    expected = {"007": "N", "12.1": "", "T3": "S", "T4": ""}
    assert result == expected


# A regional head whose scope_id names no region


def test_scope_for_user_rejects_unknown_region(ghost_engine):
    with pytest.raises(AccessError) as raised:
        scope_for_user(ghost_engine, GHOST_HEAD)

    assert str(raised.value) == GHOST_HEAD_ERROR


def test_report_rejects_ghost_head(capsys, ghost_engine):
    exit_code, out, err = run_report(
        capsys, ghost_engine, "reps", "--as-user", GHOST_HEAD
    )

    assert exit_code == 1
    assert out == ""
    assert err == f"error: {GHOST_HEAD_ERROR}\n"


def test_signed_in_ghost_head_denied(ghost_engine):
    app = signed_in_app(GHOST_HEAD)

    app.run()

    result = app.warning[0].value
    expected = markdown_text(
        f"You are signed in as {GHOST_HEAD}, but your Beatboard access is "
        "incomplete, so you have no access yet. Ask an administrator: Ada Admin "
        "<admin@two.example> to fix your entry in the users table. The entry is "
        f"unusable because {GHOST_HEAD_ERROR}."
    )
    assert result == expected
    assert len(app.dataframe) == 0
    assert len(app.sidebar) == 0


def test_view_as_ghost_head_warns(ghost_engine):
    app = demo_app(GHOST_HEAD)
    app.query_params["week"] = two_teams.WEEK

    app.run()
    app.switch_page(REP_PAGE).run()

    result = [warning.value for warning in app.sidebar.warning]
    expected = [
        markdown_text(
            "Gina Ghost (regional head) has an incomplete users row, so this view "
            f"shows no data: {GHOST_HEAD_ERROR}."
        )
    ]
    assert result == expected
    assert found_markers(app, two_teams.markers(two_teams.TEAM_A)) == []
