"""Hostile values are data, never code: names with HTML, script or Markdown
show as text, and link parameters carrying SQL change nothing."""

import re

import pytest
import sqlalchemy as sa

from pages.formatting import markdown_text
from tests import two_teams
from tests.database import sqlite_database
from tests.pages.viewers import (
    REPOSITORY,
    demo_app,
    found_markers,
    nodes,
    page_errors,
    page_paths,
    signed_in_app,
)

DEFAULT_PAGE = "pages/overview.py"
REP_PAGE = "pages/rep_performance.py"

# Elements whose values the browser shows as plain text: table cells and the
# options of pickers. Everything else may render Markdown or HTML.
PLAIN_TEXT_TYPES = {"dataframe", "arrow_data_frame", "text", "code", "json"}
OPTION_TYPES = {"selectbox", "multiselect"}

SQL_PAYLOADS = [
    "ter-a' OR '1'='1",
    "x'); DROP TABLE reps; --",
    "1 UNION SELECT user_id, role FROM users --",
    "<script>alert('link')</script>",
]


def markup_texts(app) -> list[str]:
    """Text of every element part that the browser may render as Markdown or HTML."""
    texts = []
    for node in nodes(app):
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", "")
        if proto is None or not hasattr(proto, "SerializeToString"):
            continue
        if kind in PLAIN_TEXT_TYPES:
            continue
        if kind in OPTION_TYPES:
            texts += [proto.label, proto.help]
            continue
        texts.append(proto.SerializeToString().decode("utf-8", errors="replace"))
    return texts


def raw_hostile(app, values) -> list[str]:
    """The hostile values that appear unescaped where Markdown or HTML renders."""
    texts = markup_texts(app)
    return sorted(value for value in values if any(value in text for text in texts))


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("hostile")
    sqlite_database(folder, two_teams.hostile_rows()).dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


@pytest.fixture
def hostile_database(monkeypatch, hostile_url) -> str:
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", hostile_url)
    return hostile_url


def open_page(app, page: str, **params: str):
    app.query_params["week"] = two_teams.WEEK
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    if page != DEFAULT_PAGE:
        app.switch_page(page).run()
    return app


# Names


@pytest.mark.parametrize("page", page_paths())
@pytest.mark.parametrize(
    "make_app",
    [lambda: demo_app(), lambda: signed_in_app(two_teams.LEAD_A, name="Lena")],
    ids=["demo-admin", "signed-in-line-manager"],
)
def test_hostile_names_never_render_as_markup(hostile_database, page, make_app):
    app = make_app()

    open_page(app, page)

    assert page_errors(app) == []
    assert raw_hostile(app, two_teams.HOSTILE_NAMES) == []


def test_hostile_rep_name_shows_as_text_in_table(hostile_database):
    app = demo_app()

    open_page(app, REP_PAGE)

    names = set(app.dataframe[0].value["rep_name"])
    assert two_teams.HOSTILE_REP in names


def test_hostile_territory_name_shows_as_option_text(hostile_database):
    app = demo_app()

    open_page(app, DEFAULT_PAGE)

    options = app.selectbox(key="territory").options
    assert f"{two_teams.HOSTILE_TERRITORY} (ter-a)" in options


def test_hostile_user_name_escaped_in_sidebar(hostile_database):
    rows = two_teams.hostile_rows()
    name = next(
        row["name"] for row in rows["users"] if row["user_id"] == two_teams.LEAD_A
    )
    app = signed_in_app(two_teams.LEAD_A)

    open_page(app, DEFAULT_PAGE)

    captions = [caption.value for caption in app.sidebar.caption]
    assert f"Signed in as {markdown_text(name + ', line manager')}" in captions


def test_markdown_text_escapes_markup():
    result = markdown_text(
        "<b>Shop</b> [x](javascript:alert(1)) :red[y] $z$ **w**\n# h"
    )

    expected = (
        "\\<b\\>Shop\\</b\\> \\[x\\]\\(javascript\\:alert\\(1\\)\\) \\:red\\[y\\] "
        "\\$z\\$ \\*\\*w\\*\\* \\# h"
    )
    assert result == expected


def test_markdown_text_breaks_autolinks():
    result = markdown_text("https://evil.example WWW.evil.example me@evil.example")

    expected = (
        "https\u2060\\://evil\\.example WWW\u2060\\.evil\\.example "
        "me@\u2060evil\\.example"
    )
    assert result == expected


def test_pages_never_allow_unsafe_html():
    sources = [
        REPOSITORY / "dashboard.py",
        *sorted((REPOSITORY / "pages").glob("*.py")),
    ]

    result = [
        f"{path.name}: {match.group(0)}"
        for path in sources
        for match in re.finditer(
            r"unsafe_allow_html\s*=\s*True|st\.html\(|components\.html\(",
            path.read_text(encoding="utf-8"),
        )
    ]

    assert result == []


# Link parameters


def link_parameters() -> list[tuple[str, str]]:
    """(parameter, page) for every URL parameter the dashboard or a page reads.

    dashboard.py's filters apply to every page, so they are tried on the rep
    page; a page's own parameters are tried on that page.
    """
    found: dict[str, str] = {}
    for path in [
        REPOSITORY / "dashboard.py",
        *sorted((REPOSITORY / "pages").glob("*.py")),
    ]:
        text = path.read_text(encoding="utf-8")
        page = REP_PAGE if path.name == "dashboard.py" else f"pages/{path.name}"
        names = re.findall(r'_from_url\(\s*"(\w+)"', text)
        # The key is a _choice call's last argument, on any of its lines.
        for arguments in re.findall(r"_choice\(([^()]*)\)", text):
            names += re.findall(r'"(\w+)"\s*,?\s*$', arguments)
        names += re.findall(r'query_params\.get\(\s*"(\w+)"', text)
        names += re.findall(r'(?:seed_from_url|write_to_url)\(\s*"(\w+)"', text)
        for bind in re.finditer(r'bind\s*=\s*"query-params"', text):
            window = text[max(0, bind.start() - 600) : bind.end() + 200]
            keys = re.findall(r'key\s*=\s*"(\w+)"', window)
            if keys:
                names.append(keys[-1] if bind.start() > 600 else keys[0])
        for name in names:
            found.setdefault(name, page)
    return sorted(found.items())


LINK_PARAMETERS = link_parameters()


def test_link_parameters_are_found():
    result = {name for name, _ in LINK_PARAMETERS}

    expected = {
        "period",
        "week",
        "from",
        "to",
        "region",
        "territory",
        "rep",
        "map_status",
    }
    assert expected <= result


@pytest.fixture(scope="module")
def company_url(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("injection")
    sqlite_database(folder, two_teams.company_rows()).dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


def table_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        counts = {
            table: connection.execute(
                sa.text(f"SELECT count(*) FROM {table}")
            ).scalar_one()
            for table in ("reps", "users", "visits", "orders")
        }
    engine.dispose()
    return counts


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
@pytest.mark.parametrize(("key", "page"), LINK_PARAMETERS)
def test_hostile_link_parameter_changes_nothing(
    monkeypatch, company_url, key, page, payload
):
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", company_url)
    before = table_counts(company_url)
    app = signed_in_app(two_teams.LEAD_A)
    app.query_params[key] = payload

    open_page(app, page)

    assert page_errors(app) == []
    assert found_markers(app, two_teams.FOREIGN[two_teams.LEAD_A]) == []
    assert raw_hostile(app, [payload]) == []
    assert table_counts(company_url) == before
    if page == REP_PAGE:
        assert list(app.dataframe[0].value["rep_id"]) == ["rep-a1", "rep-a2"]
