"""Each viewer sees only their scope on every page: sign-in, the no-access
page, demo mode's "View as", tampered links and shared caches."""

import logging
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from pages import map_details
from pages.formatting import markdown_text
from tests import two_teams
from tests.database import sqlite_database
from tests.pages.viewers import (
    DASHBOARD,
    demo_app,
    found_markers,
    page_errors,
    page_paths,
    record_downloads,
    signed_in_app,
)

DEFAULT_PAGE = "pages/overview.py"
REP_PAGE = "pages/rep_performance.py"
TERRITORY_PAGE = "pages/territory_comparison.py"
MAP_PAGE = "pages/territory_map.py"


@pytest.fixture(scope="module")
def company_url(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("two_teams_pages")
    sqlite_database(folder, two_teams.company_rows()).dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


@pytest.fixture
def database(monkeypatch, company_url) -> str:
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", company_url)
    monkeypatch.delenv("BEATBOARD_ACCESS_CONTACT", raising=False)
    return company_url


def open_page(app, page: str | None = None, **params: str):
    """Run the dashboard for the week with the given link parameters, then the page.

    The first run opens the default page: AppTest runs a page file on its own
    when its first run names it, unlike a running server.
    """
    app.query_params["week"] = two_teams.WEEK
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    if page is not None and page != DEFAULT_PAGE:
        app.switch_page(page).run()
    return app


def rep_ids(app) -> list[str]:
    """The rep ids of the page's first table, sorted: the rep page lists reps
    costliest first, and these tests check who is listed."""
    return sorted(app.dataframe[0].value["rep_id"])


# Signing in


def test_signed_out_sees_only_sign_in(database):
    app = signed_in_app(None)

    app.run()

    assert page_errors(app) == []
    assert [title.value for title in app.title] == ["Beatboard"]
    assert [button.label for button in app.button] == ["Sign in"]
    assert len(app.dataframe) == 0
    assert len(app.metric) == 0
    assert len(app.sidebar) == 0


def test_sign_in_with_broken_setup_says_so(database):
    app = signed_in_app(None)
    app.run()

    # AppTest's secrets do not reach st.login, which finds no [auth] section.
    # The rerun names another page, because AppTest reruns the default page's
    # file on its own.
    app.switch_page(REP_PAGE)
    app.button(key="sign_in_default").click().run()

    assert len(app.exception) == 0
    result = [error.value for error in app.error]
    expected = [
        "Sign-in is not set up correctly, so nobody can sign in. Ask the person who "
        "runs Beatboard to check the [auth] section of its secrets; the server log "
        "names the missing setting."
    ]
    assert result == expected
    assert len(app.dataframe) == 0


def test_user_without_login_flag_is_signed_out(database):
    app = signed_in_app(None)
    # AppTest's default user: an e-mail without is_logged_in, which a real
    # session never has once sign-in is configured.
    app.user = {"email": two_teams.ADMIN}

    app.run()

    assert [button.label for button in app.button] == ["Sign in"]
    assert len(app.dataframe) == 0


def test_named_providers_get_one_button_each(database):
    app = signed_in_app(None)
    app.secrets["auth"] = {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "change-me",
        "google": {"client_id": "beatboard", "client_secret": "change-me"},
        "microsoft": {"client_id": "beatboard", "client_secret": "change-me"},
    }

    app.run()

    result = [button.label for button in app.button]
    expected = ["Sign in with google", "Sign in with microsoft"]
    assert result == expected


def test_unknown_email_gets_no_access(database):
    app = signed_in_app(two_teams.STRANGER)

    app.run()

    assert [title.value for title in app.title] == ["Beatboard"]
    result = [warning.value for warning in app.warning]
    expected = [
        markdown_text(
            "You are signed in as stranger@two.example, but you have no access to "
            "Beatboard. Ask an administrator: Ada Admin <admin@two.example> to add "
            "this e-mail address to the users table with your role."
        )
    ]
    assert result == expected
    assert [button.label for button in app.button] == ["Sign out"]
    assert len(app.dataframe) == 0
    assert len(app.metric) == 0
    assert len(app.sidebar) == 0
    assert found_markers(app, two_teams.markers(two_teams.TEAM_A)) == []


def test_no_access_page_names_configured_contact(database, monkeypatch):
    monkeypatch.setenv("BEATBOARD_ACCESS_CONTACT", "sales-ops@two.example")
    app = signed_in_app(two_teams.STRANGER)

    app.run()

    result = app.warning[0].value
    expected = markdown_text(
        "You are signed in as stranger@two.example, but you have no access to "
        "Beatboard. Ask sales-ops@two.example to add this e-mail address to the "
        "users table with your role."
    )
    assert result == expected


def test_email_matches_users_row_without_case(database):
    app = signed_in_app("Lead.A@Two.Example")

    open_page(app, REP_PAGE)

    assert rep_ids(app) == ["rep-a1", "rep-a2"]


def test_email_matching_two_rows_sees_no_access(monkeypatch, tmp_path):
    # Two rows for lead A's address that differ only in case, one of them an
    # administrator: neither may be picked at random.
    rows = two_teams.company_rows()
    rows["users"].append(
        {"user_id": "LEAD.A@two.example", "name": "Shadow", "role": "admin"}
    )
    sqlite_database(tmp_path, rows).dispose()
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", f"sqlite:///{tmp_path / 'sfa.sqlite'}")
    app = signed_in_app(two_teams.LEAD_A)

    app.run()

    result = app.warning[0].value
    expected = markdown_text(
        "You are signed in as lead.a@two.example, but your Beatboard access is "
        "incomplete, so you have no access yet. Ask an administrator: Shadow "
        "<LEAD.A@two.example>, Ada Admin <admin@two.example> to fix your entry in "
        "the users table."
    )
    assert result == expected
    assert len(app.dataframe) == 0
    assert len(app.sidebar) == 0


def test_incomplete_users_row_sees_no_access(database):
    app = signed_in_app(two_teams.BROKEN_HEAD)

    app.run()

    assert "your Beatboard access is incomplete" in app.warning[0].value
    assert len(app.dataframe) == 0
    assert len(app.sidebar) == 0


def test_unverified_email_sees_no_access(database):
    app = signed_in_app(two_teams.ADMIN)
    app.user["email_verified"] = False

    app.run()

    assert "has not verified the e\\-mail address" in app.warning[0].value
    assert len(app.dataframe) == 0


def test_removed_users_row_locks_open_session(database, tmp_path, monkeypatch):
    folder = tmp_path / "changing"
    folder.mkdir()
    engine = sqlite_database(folder, two_teams.company_rows())
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", f"sqlite:///{folder / 'sfa.sqlite'}")
    app = signed_in_app(two_teams.LEAD_A)
    open_page(app, REP_PAGE)
    assert rep_ids(app) == ["rep-a1", "rep-a2"]

    with engine.begin() as connection:
        connection.execute(
            sa.text("DELETE FROM users WHERE user_id = :id"), {"id": two_teams.LEAD_A}
        )
    engine.dispose()
    app.run()

    assert "you have no access to Beatboard" in app.warning[0].value
    assert len(app.dataframe) == 0


def test_signed_in_sidebar_names_viewer(database):
    app = signed_in_app(two_teams.LEAD_A)

    open_page(app)

    captions = [caption.value for caption in app.sidebar.caption]
    assert "Signed in as Lena Lead, line manager" in captions
    assert [button.label for button in app.sidebar.button] == ["Sign out"]


# What each role sees


@pytest.mark.parametrize(
    "viewer",
    [
        two_teams.ADMIN,
        two_teams.LEAD_A,
        two_teams.LEAD_B,
        two_teams.LEAD_S,
        two_teams.HEAD_N,
        two_teams.HEAD_S,
    ],
)
def test_rep_page_lists_viewer_reps(database, viewer):
    app = signed_in_app(viewer)

    open_page(app, REP_PAGE)

    assert page_errors(app) == []
    assert rep_ids(app) == two_teams.VISIBLE_REPS[viewer]


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        # The outlet of no territory makes the Unassigned row, shown as blank.
        (two_teams.ADMIN, ["", "ter-a", "ter-b", "ter-s"]),
        (two_teams.LEAD_A, ["ter-a"]),
        (two_teams.LEAD_B, ["ter-a", "ter-b"]),
        (two_teams.HEAD_N, ["ter-a", "ter-b"]),
        (two_teams.HEAD_S, ["ter-s"]),
    ],
)
def test_territory_page_lists_viewer_territories(database, viewer, expected):
    app = signed_in_app(viewer)

    open_page(app, TERRITORY_PAGE)

    assert page_errors(app) == []
    result = sorted(app.dataframe[0].value["territory_id"].fillna(""))
    assert result == expected


@pytest.mark.parametrize(
    ("viewer", "shown", "hidden"),
    [
        (
            two_teams.LEAD_A,
            ["Alder Chemist", "Alder Grocer", "Alder Kiosk"],
            ["Birch Grocer", "Cedar Grocer"],
        ),
        (
            two_teams.HEAD_S,
            ["Cedar Chemist", "Cedar Grocer"],
            ["Alder Grocer", "Birch Grocer"],
        ),
        (two_teams.ADMIN, ["Alder Grocer", "Birch Grocer", "Cedar Grocer"], []),
    ],
)
def test_map_shows_viewer_outlets(database, viewer, shown, hidden):
    app = signed_in_app(viewer)

    open_page(app, MAP_PAGE)

    assert page_errors(app) == []
    assert found_markers(app, set(shown)) == shown
    assert found_markers(app, set(hidden)) == []


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        (two_teams.LEAD_A, ["Alder Vale (ter-a)"]),
        (two_teams.HEAD_N, ["Alder Vale (ter-a)", "Birch Vale (ter-b)"]),
    ],
)
def test_territory_filter_lists_viewer_territories(database, viewer, expected):
    app = signed_in_app(viewer)

    open_page(app)

    assert app.selectbox(key="territory").options == expected


def test_rep_filter_lists_line_manager_reps(database):
    app = signed_in_app(two_teams.LEAD_A)

    open_page(app)

    result = app.selectbox(key="rep").options
    expected = ["Amy Alder (rep-a1)", "Arun Ash (rep-a2)"]
    assert result == expected


def test_overview_exceptions_list_viewer_reps(database):
    app = signed_in_app(two_teams.LEAD_S)

    open_page(app)

    assert page_errors(app) == []
    exceptions = app.dataframe[0].value if app.dataframe else None
    if exceptions is not None:
        assert set(exceptions["rep_id"]) <= {"rep-s1", "rep-s2"}
    assert found_markers(app, two_teams.FOREIGN[two_teams.LEAD_S]) == []


@pytest.mark.parametrize("page", page_paths())
def test_line_manager_walks_every_page(database, monkeypatch, page):
    downloads = record_downloads(monkeypatch)
    app = signed_in_app(two_teams.LEAD_A)

    open_page(app, page)

    assert page_errors(app) == []
    assert found_markers(app, two_teams.FOREIGN[two_teams.LEAD_A]) == []
    offered = b"\n".join(downloads)
    leaked = sorted(
        marker
        for marker in two_teams.FOREIGN[two_teams.LEAD_A]
        if marker.encode() in offered
    )
    assert leaked == []


@pytest.mark.parametrize("page", page_paths())
def test_demo_line_manager_walks_every_page(database, page):
    app = demo_app(two_teams.LEAD_A)

    open_page(app, page)

    assert page_errors(app) == []
    assert found_markers(app, two_teams.FOREIGN[two_teams.LEAD_A]) == []


def test_last_visits_label_rep_outside_view():
    visits = pd.DataFrame(
        {
            "visit_id": ["v2", "v1"],
            "visit_date": ["2026-03-04", "2026-03-02"],
            "check_in": ["2026-03-04 12:00:00", "2026-03-02 09:00:00"],
            "check_out": [None, None],
            "rep_id": [None, "rep-a1"],
            "rep_name": [None, "Amy Alder"],
            "productive": [1, 0],
            "order_value": [40.0, 0.0],
            "no_order_reason": [None, None],
        }
    )

    result = list(map_details.last_visits_table(visits, "UTC")["Rep"])

    expected = ["a rep outside your view", "Amy Alder"]
    assert result == expected


# Tampered links


@pytest.mark.parametrize(
    ("key", "value", "label"),
    [
        ("territory", "ter-s", "territory"),
        ("territory", "ter-b", "territory"),
        ("region", "reg-s", "region"),
        ("rep", "rep-b2", "rep"),
        ("rep", "rep-s1", "rep"),
    ],
)
@pytest.mark.parametrize("page", page_paths())
def test_link_outside_scope_shows_message_not_data(database, page, key, value, label):
    app = signed_in_app(two_teams.LEAD_A)
    app.query_params[key] = value

    open_page(app)
    warnings = [warning.value for warning in app.sidebar.warning]
    landing = found_markers(app, two_teams.FOREIGN[two_teams.LEAD_A])
    if page != DEFAULT_PAGE:
        app.switch_page(page).run()

    expected = [
        f"The link's {label} {markdown_text(repr(value))} is not available here, "
        "so it is ignored."
    ]
    assert warnings == expected
    assert landing == []
    assert page_errors(app) == []
    assert found_markers(app, two_teams.FOREIGN[two_teams.LEAD_A]) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"period": "range", "from": "0001-01-01", "to": "9999-12-31"},
            [
                "The link's start date '0001\\-01\\-01' is not available here, "
                "so it is ignored.",
                "The link's end date '9999\\-12\\-31' is not available here, "
                "so it is ignored.",
            ],
        ),
        (
            {"week": "9999-12-31"},
            [
                "The link's week '9999\\-12\\-31' is not available here, "
                "so it is ignored."
            ],
        ),
    ],
)
def test_link_date_out_of_range_is_ignored(database, params, expected):
    app = signed_in_app(two_teams.LEAD_A)

    open_page(app, **params)
    result = [warning.value for warning in app.sidebar.warning]
    app.switch_page(REP_PAGE).run()

    assert result == expected
    assert page_errors(app) == []
    assert rep_ids(app) == two_teams.VISIBLE_REPS[two_teams.LEAD_A]


def test_link_range_longer_than_limit_is_cut(database):
    app = signed_in_app(two_teams.LEAD_A)

    open_page(app, period="range", **{"from": "1900-01-01", "to": two_teams.WEEK_END})

    result = [warning.value for warning in app.sidebar.warning]
    expected = [
        "A period covers at most 731 days, so this view shows 2024-03-08 to 2026-03-08."
    ]
    assert result == expected
    assert app.query_params["from"] == "2024-03-08"
    assert page_errors(app) == []


def test_missing_and_hidden_territory_read_the_same(database):
    hidden = signed_in_app(two_teams.LEAD_A)
    missing = signed_in_app(two_teams.LEAD_A)

    open_page(hidden, territory="ter-s")
    open_page(missing, territory="ter-zz")

    result = hidden.sidebar.warning[0].value.replace("ter\\-s", "ID")
    expected = missing.sidebar.warning[0].value.replace("ter\\-zz", "ID")
    assert result == expected


def test_link_inside_scope_narrows(database):
    app = signed_in_app(two_teams.HEAD_N)

    open_page(app, REP_PAGE, territory="ter-b")

    assert rep_ids(app) == ["rep-b1"]


# Demo mode


def test_demo_mode_starts_as_administrator(database):
    app = demo_app()

    open_page(app, REP_PAGE)

    assert app.selectbox(key="view_as").value == two_teams.ADMIN
    assert rep_ids(app) == two_teams.VISIBLE_REPS[two_teams.ADMIN]


def test_demo_picker_lists_users_with_roles(database):
    app = demo_app()

    open_page(app)

    picker = app.selectbox(key="view_as")
    result = picker.options
    expected = [
        "Ada Admin (administrator)",
        "Bruno Broken (regional head)",
        "Nora North (regional head)",
        "Sanjay South (regional head)",
        "Boris Boss (line manager)",
        "Lena Lead (line manager)",
        "Sunita Senior (line manager)",
    ]
    assert result == expected


def test_demo_view_as_changes_scope(database):
    app = demo_app()
    open_page(app, REP_PAGE)

    app.selectbox(key="view_as").set_value(two_teams.HEAD_S).run()

    assert rep_ids(app) == ["rep-s1", "rep-s2"]
    assert found_markers(app, two_teams.FOREIGN[two_teams.HEAD_S]) == []


def test_demo_incomplete_row_shows_nothing(database):
    app = demo_app(two_teams.BROKEN_HEAD)

    open_page(app, REP_PAGE)

    assert "has an incomplete users row" in app.sidebar.warning[0].value
    assert found_markers(app, two_teams.markers(two_teams.TEAM_A)) == []


@pytest.mark.parametrize("page", page_paths())
def test_demo_mode_says_so_on_every_page(database, page):
    app = demo_app()

    open_page(app, page)

    captions = [caption.value for caption in app.caption]
    assert (
        "Demo mode: sign-in is not configured, so anyone can pick whose view to "
        "show under View as. Add an [auth] section to .streamlit/secrets.toml to "
        "require sign-in."
    ) in captions


def test_empty_users_table_shows_everything(monkeypatch, tmp_path):
    rows = two_teams.company_rows()
    rows["users"] = []
    sqlite_database(tmp_path, rows).dispose()
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", f"sqlite:///{tmp_path / 'sfa.sqlite'}")
    app = demo_app()

    open_page(app, REP_PAGE)

    assert [box.key for box in app.sidebar.selectbox if box.key == "view_as"] == []
    assert rep_ids(app) == two_teams.VISIBLE_REPS[two_teams.ADMIN]


# Caches


def test_cached_results_differ_between_viewers(database):
    lead_a = signed_in_app(two_teams.LEAD_A)
    lead_s = signed_in_app(two_teams.LEAD_S)

    open_page(lead_a, REP_PAGE)
    open_page(lead_s, REP_PAGE)
    open_page(signed_in_app(two_teams.LEAD_A), REP_PAGE)

    assert rep_ids(lead_a) == ["rep-a1", "rep-a2"]
    assert rep_ids(lead_s) == ["rep-s1", "rep-s2"]


def test_cached_filter_options_differ_between_viewers(database):
    lead_a = signed_in_app(two_teams.LEAD_A)
    head_s = signed_in_app(two_teams.HEAD_S)

    open_page(lead_a)
    open_page(head_s)

    assert lead_a.selectbox(key="region").options == ["Northland (reg-n)"]
    assert head_s.selectbox(key="region").options == ["Southland (reg-s)"]


# Errors


@pytest.fixture
def broken_database(monkeypatch, tmp_path) -> None:
    """The company without its beats table: every period query fails."""
    engine = sqlite_database(tmp_path, two_teams.company_rows())
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE beats"))
    engine.dispose()
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", f"sqlite:///{tmp_path / 'sfa.sqlite'}")


@pytest.mark.parametrize("page", [REP_PAGE, TERRITORY_PAGE])
def test_page_error_hides_details_and_logs_viewer(
    broken_database, caplog, page, tmp_path
):
    app = signed_in_app(two_teams.LEAD_A)

    with caplog.at_level(logging.ERROR, logger="beatboard.errors"):
        open_page(app, page)

    assert len(app.exception) == 0
    shown = app.error[0].value
    assert shown.startswith(
        "This page could not be drawn because of an internal error."
    )
    for detail in ("Traceback", "SELECT", "beats", "sqlite", str(tmp_path), "/"):
        assert detail not in shown
    records = [record for record in caplog.records if record.name == "beatboard.errors"]
    reference = shown.split("reference ")[1].split(";")[0]
    assert records[-1].getMessage().endswith(f"for viewer {two_teams.LEAD_A}")
    assert reference in records[-1].getMessage()
    assert records[-1].exc_info is not None


# Page files run on their own


def page_files() -> list[str]:
    folder = Path(DASHBOARD).parent / "pages"
    return sorted(
        path.name for path in folder.glob("*.py") if path.name != "__init__.py"
    )


@pytest.mark.parametrize("name", page_files())
def test_page_file_run_alone_shows_no_data(database, name):
    # A new server runs a file of pages/ on its own when its first request
    # names it. Only dashboard.py resolves the viewer, so nothing may show.
    app = AppTest.from_file(
        str(Path(DASHBOARD).parent / "pages" / name), default_timeout=60
    )

    app.run()

    assert len(app.exception) == 0
    assert [error.value for error in app.error] in (
        [],
        ["This page opens from Beatboard's menu. Reload the dashboard's start page."],
    )
    assert len(app.dataframe) == 0
    assert len(app.metric) == 0
    everyone = two_teams.markers(two_teams.TEAM_A, two_teams.TEAM_B, two_teams.TEAM_S)
    assert found_markers(app, everyone) == []
