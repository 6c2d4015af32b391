"""Every page reads visits and orders only within dates.

The SQL that each page sends is recorded through SQLAlchemy's
before_cursor_execute event. A read of the visits or orders table must be
bounded by its timestamp on both sides (check_in or ordered_at), or look rows
up by visit_id from a set that is bounded so, or read one row of the
timestamp index (a MIN, MAX or LIMIT 1 probe). Anything else would read a
table's whole history, which at a national company's size is tens of
millions of rows.
"""

import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.elements.lib import policies
from streamlit.testing.v1 import AppTest

from data_access import summaries
from data_access.engine import create_engine
from data_access.filters import Settings
from fixtures.demo import MIN_REPS, generate
from pages import shared

DASHBOARD = str(Path(__file__).resolve().parents[2] / "dashboard.py")
LAST_DAY = date(2026, 3, 29)
PAGES = [
    "pages/overview.py",
    "pages/rep_performance.py",
    "pages/territory_map.py",
    "pages/territory_comparison.py",
    "pages/data_health.py",
]
TIMESTAMPS = {"visits": "check_in", "orders": "ordered_at"}
TABLE_REFERENCE = re.compile(
    r"\b(?:FROM|JOIN)\s+(visits|orders)\b(?:\s+AS\s+(\w+))?", re.IGNORECASE
)


def unbounded_reads(statement: str) -> list[str]:
    """Name each reference to visits or orders in statement that has no date bound."""
    problems = []
    for match in TABLE_REFERENCE.finditer(statement):
        table, alias = match.group(1).lower(), match.group(2) or match.group(1)
        column = re.escape(f"{alias}.{TIMESTAMPS[table]}")
        bounded = re.search(rf"{column}\s*>=?", statement) and re.search(
            rf"{column}\s*<", statement
        )
        by_visit_id = re.search(
            rf"{re.escape(alias)}\.visit_id\s*=|=\s*{re.escape(alias)}\.visit_id",
            statement,
        )
        probe = re.search(
            rf"(max|min)\({column}\)|ORDER BY {column}( DESC)?\s+LIMIT"
            rf"|EXISTS \(SELECT {re.escape(alias)}\.\w+\s+FROM {table}\)",
            statement,
            re.IGNORECASE,
        )
        if not (bounded or by_visit_id or probe):
            problems.append(f"{table} AS {alias}")
    return problems


def test_rule_finds_unbounded_reads():
    statements = {
        "SELECT count(*) FROM visits": ["visits AS visits"],
        "SELECT * FROM orders AS o WHERE o.ordered_at < ?": ["orders AS o"],
        "SELECT * FROM visits WHERE visits.check_in >= ? AND visits.check_in < ?": [],
        "SELECT * FROM orders JOIN v ON orders.visit_id = v.visit_id": [],
        "SELECT max(visits.check_in) FROM visits": [],
        "SELECT EXISTS (SELECT orders.order_id \nFROM orders) AS orders": [],
        "SELECT EXISTS (SELECT visits.visit_id FROM visits WHERE visits.latitude > 0)": [
            "visits AS visits"
        ],
    }

    result = {statement: unbounded_reads(statement) for statement in statements}

    assert result == statements


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    path = tmp_path_factory.mktemp("bounds") / "demo.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    generate(engine, reps=MIN_REPS, weeks=3, end_date=LAST_DAY)
    summaries.build_summaries(
        engine, date(2026, 3, 9), LAST_DAY, Settings(timezone="Asia/Kolkata")
    )
    engine.dispose()
    return f"sqlite:///{path}"


@pytest.fixture
def recorded_sql():
    # Cached loaders would answer a page from an earlier test without SQL.
    shared.clear_cached_results()
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    yield statements
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    "query",
    [
        {"week": "2026-03-23"},
        {"period": "range", "from": "2026-03-09", "to": "2026-03-29"},
    ],
    ids=["week", "three_weeks"],
)
def test_page_reads_within_dates(monkeypatch, database_url, recorded_sql, page, query):
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", database_url)
    monkeypatch.setenv("BEATBOARD_TIMEZONE", "Asia/Kolkata")
    app = AppTest.from_file(DASHBOARD, default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    app.switch_page(page).run()

    assert not app.exception
    reads = [s for s in recorded_sql if re.search(r"\b(visits|orders)\b", s)]
    assert reads, "the page read no visits or orders"
    result = {
        statement[:300]: problems
        for statement in recorded_sql
        if (problems := unbounded_reads(statement))
    }
    assert result == {}


def test_range_link_dates_without_defaults(monkeypatch, database_url):
    # Streamlit logs a warning with a stack when a widget gets a value both
    # from its argument and from the session state, as a link's dates are.
    defaults = {}
    check = policies.check_session_state_rules

    def recording(default_value, key, writes_allowed=True):
        defaults[key] = default_value
        return check(default_value, key, writes_allowed)

    monkeypatch.setattr(policies, "check_session_state_rules", recording)
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", database_url)
    app = AppTest.from_file(DASHBOARD, default_timeout=120)
    for key, value in {
        "period": "range",
        "from": "2026-03-09",
        "to": "2026-03-29",
    }.items():
        app.query_params[key] = value
    app.run()

    assert not app.exception
    assert (defaults["from"], defaults["to"]) == (None, None)
    assert [widget.value for widget in app.sidebar.date_input] == [
        date(2026, 3, 9),
        date(2026, 3, 29),
    ]
