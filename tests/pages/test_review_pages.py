"""The Monday review on the demo company, through AppTest: the first screen
names the reps the demo was built to expose, and two clicks lead from an
exception to the visits behind it."""

import json
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from streamlit.elements.widgets.button import ButtonMixin
from streamlit.testing.v1 import AppTest

import metrics.review
from fixtures.demo import STORY, build_demo_database
from pages import shared
from pages.formatting import markdown_text

DASHBOARD = str(Path(__file__).resolve().parents[2] / "dashboard.py")
END_DATE = date(2026, 3, 1)  # a Sunday; the default week is 02-23 to 03-01
SEED = 7
# The exceptions table shows this many lines before it scrolls.
FIRST_SCREEN_LINES = 10


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    path = tmp_path_factory.mktemp("review_demo") / "demo.sqlite"
    build_demo_database(path, seed=SEED, end_date=END_DATE)
    return f"sqlite:///{path}"


@pytest.fixture
def overview(monkeypatch, demo_url) -> AppTest:
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", demo_url)
    app = AppTest.from_file(DASHBOARD, default_timeout=180)
    app.run()
    # pages/errors.py turns a page's exception into an st.error line.
    assert not app.exception
    assert not app.error
    return app


def exceptions_table(app: AppTest):
    return app.dataframe(key="exceptions_table").value


def open_line(app: AppTest, rep_name: str, kind: str) -> AppTest:
    """Select the exception line of rep and kind, then press the open button."""
    table = exceptions_table(app)
    row = table.index[(table["rep_name"] == rep_name) & (table["kind"] == kind)][0]
    app.session_state["exceptions_table"] = {
        "selection": {"rows": [int(row)], "columns": [], "cells": []}
    }
    app.run()
    app.button(key="open_exception_rep").click().run()
    return app


def test_first_screen_names_the_story_reps(overview):
    first_screen = exceptions_table(overview).head(FIRST_SCREEN_LINES)

    result = set(first_screen["rep_name"])

    story = {*STORY.skipping_reps, *STORY.home_logging_reps}
    assert story <= result


def test_exceptions_are_costliest_first(overview):
    table = exceptions_table(overview)

    priced = table["value_at_risk"].dropna()
    assert list(priced) == sorted(priced, reverse=True)
    assert table.loc[0, "kind"] == "skipped outlets"
    assert table.loc[0, "message"].endswith("against a team median of 3%.")


def test_tiles_show_change_and_thirteen_weeks(overview):
    labels = [metric.label for metric in overview.metric]

    assert labels == [
        "Visits", "Strike rate", "Beat compliance", "Skipped outlets", "Revenue at risk",
        "Coverage", "Neglected outlets", "Order value", "Time in market", "Off-site visits",
        "Productive visits", "Orders", "Average order value", "Lines per call",
        "Return value", "Planned calls", "Calls on plan", "Planned outlets",
        "Off-beat visits",
    ]  # fmt: skip
    for metric in overview.metric:
        assert metric.proto.delta, metric.label
        assert len(metric.proto.chart_data) == 13, metric.label


def test_skipped_outlets_tile_says_it_sums_reps(overview):
    tiles = {metric.label: metric for metric in overview.metric}

    result = tiles["Skipped outlets"].proto.help

    assert result.startswith("Summed over reps:")
    assert "An outlet skipped by two reps counts twice" in result


def test_threshold_note_lists_conditions(overview):
    result = overview.text[0].value

    off_beat = (
        "Off-beat visits: 25% of visits or more, and at least 2 times the team median."
    )
    assert off_beat in result
    assert "Skipped outlets: 20% of planned outlets or more" in result


def test_downloads_are_offered(overview):
    buttons = [element for element in overview.get("download_button")]

    assert [button.proto.label for button in buttons] == [
        "Exceptions (CSV)",
        "Reps (CSV)",
        "Skipped outlets (CSV)",
        "All three (XLSX)",
        "Printable summary (HTML)",
    ]


def test_downloads_build_files_when_pressed(monkeypatch, demo_url):
    # Outside a server, AppTest registers no file of a download button, so
    # the files are built here from the data the page passed.
    offered = {}
    download_button = ButtonMixin.download_button

    def record(self, label, data, *args, **kwargs):
        offered[label] = data
        return download_button(self, label, data, *args, **kwargs)

    monkeypatch.setattr(ButtonMixin, "download_button", record)
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", demo_url)
    app = AppTest.from_file(DASHBOARD, default_timeout=180)
    app.run()
    exceptions = exceptions_table(app)

    csv_lines = offered["Exceptions (CSV)"]().decode("utf-8-sig").split("\r\n")
    register_lines = offered["Skipped outlets (CSV)"]().decode("utf-8-sig")
    workbook = offered["All three (XLSX)"]()
    summary = offered["Printable summary (HTML)"]()
    assert not app.exception
    assert csv_lines[0].startswith("Rep id,Rep,What")
    assert len([line for line in csv_lines[1:] if line]) == len(exceptions)
    assert register_lines.startswith("Rep id,Rep,Outlet id")
    assert workbook[:2] == b"PK"
    assert "Skipped outlets" in summary


def main_elements(app: AppTest) -> list:
    """List the main area's elements in the order the page draws them."""
    elements = []
    blocks = [app.main]
    while blocks:
        node = blocks.pop(0)
        children = getattr(node, "children", None)
        if children:
            blocks[:0] = [children[index] for index in sorted(children)]
        else:
            elements.append(node)
    return elements


def test_open_button_above_exceptions(overview):
    overview.session_state["exceptions_table"] = {
        "selection": {"rows": [2], "columns": [], "cells": []}
    }
    overview.run()

    elements = main_elements(overview)
    keys = [getattr(element, "key", None) for element in elements]

    assert keys.index("open_exception_rep") < keys.index("exceptions_table")
    # The selected line's whole sentence shows beside the button.
    line = exceptions_table(overview).iloc[2]
    captions = [element.value for element in overview.caption]
    assert markdown_text(line["message"]) in captions


def test_rep_table_costliest_first(overview):
    app = overview.switch_page("pages/rep_performance.py").run()

    table = app.dataframe(key="rep_table")

    at_risk = list(table.value["revenue_at_risk"].dropna())
    assert at_risk == sorted(at_risk, reverse=True)
    assert table.value["rep_name"].iloc[0] == "Nitin Khanna"
    changes = [name for name in table.value.columns if name.endswith("_change")]
    assert changes == [
        "visits_change",
        "strike_rate_change",
        "beat_compliance_change",
        "skipped_outlets_change",
        "order_value_change",
    ]
    # Undefined ratios show as blank cells, not as the word None.
    assert table.proto.placeholder == ""


def test_rep_table_rerun_reuses_its_rows(overview, monkeypatch):
    matched = []
    rep_changes = metrics.review.rep_changes

    def counted(*arguments, **options):
        matched.append(1)
        return rep_changes(*arguments, **options)

    monkeypatch.setattr(metrics.review, "rep_changes", counted)
    # Another test may have left the table of the same week in the cache.
    shared.clear_cached_results()
    app = overview.switch_page("pages/rep_performance.py").run()
    first = app.dataframe(key="rep_table").value

    app.run()

    assert len(matched) == 1
    assert not app.exception
    assert app.dataframe(key="rep_table").value.equals(first)


def test_threshold_note_shows_the_thresholds_decimals(monkeypatch, demo_url):
    # A rule of 12.5 % flags 12.6 %, which "13%" or "12%" would misstate.
    monkeypatch.setenv("BEATBOARD_EXCEPTION_OFF_BEAT_SHARE", "0.125")
    monkeypatch.setenv("BEATBOARD_EXCEPTION_STRIKE_RATE_DROP", "0.145")
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", demo_url)
    app = AppTest.from_file(DASHBOARD, default_timeout=180)
    app.run()

    result = app.text[0].value

    assert "Off-beat visits: 12.5% of visits or more" in result
    assert "Strike rate: 14.5 points below the previous period" in result
    assert "Skipped outlets: 20% of planned outlets or more" in result


def test_resend_week_is_listed_but_not_opened(monkeypatch, demo_url, tmp_path):
    # A resend 60 s after a visit of the default week's last minute falls on
    # the Monday after it.
    path = tmp_path / "resend_week.sqlite"
    shutil.copy(demo_url.removeprefix("sqlite:///"), path)
    with sqlite3.connect(path) as connection:
        rep_id, outlet_id = connection.execute(
            "SELECT rep_id, outlet_id FROM visits LIMIT 1"
        ).fetchone()
        for visit_id, check_in in [
            ("V-LATE", "2026-03-01 23:59:30.000000"),
            ("V-RESEND", "2026-03-02 00:00:30.000000"),
        ]:
            connection.execute(
                "INSERT INTO visits (visit_id, rep_id, outlet_id, check_in) "
                "VALUES (?, ?, ?, ?)",
                (visit_id, rep_id, outlet_id, check_in),
            )
    connection.close()
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("BEATBOARD_TIMEZONE", "UTC")
    app = AppTest.from_file(DASHBOARD, default_timeout=180)
    app.run()

    week = app.sidebar.selectbox(key="week")
    assert not app.exception
    assert week.value == date(2026, 2, 23)
    assert week.options[0].startswith("2026-W10")


def test_rep_table_empty_territory_warns(monkeypatch, demo_url, tmp_path):
    path = tmp_path / "empty_territory.sqlite"
    shutil.copy(demo_url.removeprefix("sqlite:///"), path)
    with sqlite3.connect(path) as connection:
        region = connection.execute("SELECT region_id FROM regions").fetchone()[0]
        connection.execute(
            "INSERT INTO territories (territory_id, name, region_id) "
            "VALUES ('NEW', 'New territory', ?)",
            (region,),
        )
    connection.close()
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", f"sqlite:///{path}")
    app = AppTest.from_file(DASHBOARD, default_timeout=180)
    app.query_params["territory"] = "NEW"
    app.run()

    app = app.switch_page("pages/rep_performance.py").run()

    assert not app.exception
    assert [warning.value for warning in app.warning] == [
        "No reps in the chosen scope. Widen the region, territory or rep filter."
    ]


def test_overview_names_unpriced_skips(monkeypatch, demo_url, tmp_path):
    # A new outlet without a territory on a weekly beat is skipped, with no
    # productive visit of its own or of a territory to price it.
    path = tmp_path / "unpriced.sqlite"
    shutil.copy(demo_url.removeprefix("sqlite:///"), path)
    with sqlite3.connect(path) as connection:
        beat = connection.execute(
            "SELECT beat_id FROM beats WHERE every_n_weeks = 1 "
            "AND start_date <= '2026-02-23' "
            "AND (end_date IS NULL OR end_date >= '2026-03-01') ORDER BY beat_id"
        ).fetchone()[0]
        connection.execute(
            "INSERT INTO outlets (outlet_id, name, territory_id, active) "
            "VALUES ('NEW1', 'New kirana', NULL, 1)"
        )
        connection.execute(
            "INSERT INTO beat_outlets (beat_id, outlet_id) VALUES (?, 'NEW1')", (beat,)
        )
    connection.close()
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", f"sqlite:///{path}")
    app = AppTest.from_file(DASHBOARD, default_timeout=180)
    app.run()

    assert not app.exception
    captions = [element.value for element in app.caption]
    assert any(
        caption.startswith(
            "1 skipped outlet has no price, so revenue at risk leaves it"
        )
        for caption in captions
    )


def test_overview_without_unpriced_skips(overview):
    captions = [element.value for element in overview.caption]
    assert not any(
        "has no price" in caption or "have no price" in caption for caption in captions
    )


def test_skip_exception_opens_the_reps_week(overview):
    app = open_line(overview, "Arjun Mehta", "skipped outlets")

    assert not app.exception
    assert not app.error
    assert app.title[0].value == "Rep performance"
    assert app.session_state["rep"] == "R0005"
    assert app.query_params["rep"] == "R0005"
    assert app.subheader[0].value == "Arjun Mehta's week"
    days = app.dataframe[0].value
    assert len(days) == 6
    assert days["skipped"].sum() > 10
    calls = app.dataframe[1].value
    assert set(calls["outcome"]) >= {"visited on plan", "skipped"}
    register = app.dataframe[2].value
    assert len(register) == int(app.metric[3].value)
    assert "rep_id" not in register.columns


def test_off_site_exception_shows_the_off_site_visits(overview):
    app = open_line(overview, "Vikram Rathore", "off-site check-ins")

    assert not app.exception
    assert not app.error
    assert app.session_state["rep"] == "R0023"
    calls = app.dataframe[1].value
    visited = calls[calls["visit_order"].notna()]
    assert visited["off_site"].mean() > 0.5
    assert (visited.loc[visited["off_site"], "distance_m"] > 300).all()


def test_another_day_of_the_week_shows_its_calls(overview):
    app = open_line(overview, "Arjun Mehta", "skipped outlets")

    app.radio(key="review_day").set_value(date(2026, 2, 26)).run()

    assert not app.exception
    assert not app.error
    calls = app.dataframe[1].value
    assert set(calls["local_check_in"].dropna().dt.date) == {date(2026, 2, 26)}


def test_revenue_trend_shows_the_currency(monkeypatch, demo_url):
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", demo_url)
    monkeypatch.setenv("BEATBOARD_CURRENCY_SYMBOL", "₹")
    shared.clear_cached_results()
    app = AppTest.from_file(DASHBOARD, default_timeout=180).run()

    charts = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]

    amounts = charts[-1]
    assert amounts["layout"]["yaxis"]["tickprefix"] == "₹"
    assert amounts["layout"]["yaxis"]["title"]["text"] == "Revenue at risk"
    assert ": ₹%{y:,.0f}" in amounts["data"][0]["hovertemplate"]


def test_revenue_trend_explains_blank_week(overview):
    # The demo's first week has no order history before it to price a skip.
    captions = [element.value for element in overview.caption]

    expected = (
        "A week without a bar had skipped outlets, but none with a price. An "
        "outlet is priced only when it or its territory had a productive visit "
        "in the 8 weeks before the week."
    )
    assert expected in captions


def test_revenue_trend_notes_missing_orders(monkeypatch, demo_url, tmp_path):
    path = tmp_path / "no_orders.sqlite"
    shutil.copy(demo_url.removeprefix("sqlite:///"), path)
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM orders")
    connection.close()
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", f"sqlite:///{path}")
    app = AppTest.from_file(DASHBOARD, default_timeout=180)
    app.run()

    captions = [element.value for element in app.caption]

    assert not app.exception
    assert (
        "Revenue at risk prices skipped calls by the orders before them, and this "
        "database has no orders."
    ) in captions
