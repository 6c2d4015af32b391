"""The territory comparison page through AppTest on tests/comparison_company.py:
the ranking, the drill-down from region to outlet and back, links that
restore a view, and the messages for empty or incomplete data."""

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.proto.Metric_pb2 import Metric
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from metrics import reports
from metrics.reports import OUTLET_COLUMNS, REP_COLUMNS, TERRITORY_COLUMNS
from tests.comparison_company import PREVIOUS_WEEK, ROWS, WEEK
from tests.database import sqlite_database

DASHBOARD = str(Path(__file__).resolve().parents[2] / "dashboard.py")
PAGE = "pages/territory_comparison.py"
THIS_WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("comparison_pages")
    sqlite_database(folder, ROWS).dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


@pytest.fixture(scope="module")
def engine(database_url):
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def open_link(**params: str) -> AppTest:
    """Open a link: the dashboard with these URL parameters, then this page."""
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    for key, value in {"week": WEEK, **params}.items():
        app.query_params[key] = value
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception
    assert not app.error
    return app


@pytest.fixture
def open_page(monkeypatch, database_url):
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", database_url)
    return open_link


@pytest.fixture(scope="module")
def week_page(database_url):
    """The page for the compared week, shared by the tests that only read it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BEATBOARD_DATABASE_URL", database_url)
        yield open_link()


def click_row(app: AppTest, table: int, row: int) -> None:
    """Click a row of the table-th st.dataframe, as the browser reports it.

    NOTE: AppTest has no call for a row click, so this sends the selection
    event through AppTest._run, which is private; an upgrade may rename it.
    """
    frame = app.dataframe[table]
    states = app._tree.get_widget_states()
    selection = {"selection": {"rows": [row], "columns": [], "cells": []}}
    states.widgets.append(
        WidgetState(id=frame.proto.id, string_value=json.dumps(selection))
    )
    app._run(states)
    assert not app.exception
    assert not app.error


def tiles(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def records(frame: pd.DataFrame, key: str, columns: list[str]) -> dict:
    """Rows keyed by key (missing keys read "Unassigned"), NaN as None, for ==."""
    keys = frame[key].astype(object).where(frame[key].notna(), "Unassigned")
    values = frame[columns].astype(object).where(frame[columns].notna(), None)
    return dict(zip(keys, values.to_dict("records")))


def report_of(
    engine, kind: str, scope: Scope | None = None, period: Period = THIS_WEEK
) -> pd.DataFrame:
    scope = Scope() if scope is None else scope
    builders = {
        "territories": reports.territories_report,
        "reps": reports.reps_report,
        "outlets": reports.outlets_report,
    }
    return builders[kind](engine, period, scope, Settings())


def test_tiles_show_changes_as_overview(open_page, monkeypatch):
    monkeypatch.setenv("BEATBOARD_CURRENCY_SYMBOL", "₹")
    app = open_page()

    result = {metric.label: metric.proto for metric in app.metric}

    assert result["Order value"].body == "₹250"
    assert result["Order value"].delta == "+₹170"
    assert result["Order value"].color == Metric.MetricColor.GREEN
    # The same number of reps: grey and without an arrow, as on the Overview.
    assert result["Reps"].delta == "+0"
    assert result["Reps"].color == Metric.MetricColor.GRAY
    assert result["Reps"].direction == Metric.MetricDirection.NONE


def test_totals_add_up_to_headline(week_page):
    app = week_page

    result = tiles(app)

    expected = {
        "Reps": "5",
        "Active outlets": "11",
        "Coverage": "64%",
        "Strike rate": "57%",
        "Order value": "250",
        "Beat compliance": "71%",
    }
    assert result == expected


def test_ranking_is_weakest_first(week_page):
    app = week_page

    table = app.dataframe[0].value

    assert list(table["territory_id"].fillna("Unassigned")) == [
        "T3",
        "007",
        "12.1",
        "T4",
        "Unassigned",
    ]
    assert list(table["rank"]) == [1, 2, 3, 4, 5]
    # The page shows a ratio's change in percentage points.
    assert list(table["change_coverage"]) == [0.0, 25.0, 100.0, 100.0, 100.0]


def test_ranking_table_matches_territories_report(week_page, engine):
    app = week_page

    result = records(
        app.dataframe[0].value.dropna(subset=["territory_id"]),
        "territory_id",
        TERRITORY_COLUMNS,
    )

    expected = records(
        report_of(engine, "territories"), "territory_id", TERRITORY_COLUMNS
    )
    assert result == expected


def test_team_size_beside_raw_figures(week_page):
    app = week_page

    table = records(
        app.dataframe[0].value,
        "territory_id",
        ["reps", "outlets_per_rep", "planned_calls_per_rep"],
    )

    assert table["007"] == {
        "reps": 2,
        "outlets_per_rep": 2.0,
        "planned_calls_per_rep": 2.0,
    }
    assert table["T3"] == {
        "reps": 0,
        "outlets_per_rep": None,
        "planned_calls_per_rep": None,
    }
    assert any(caption.value.startswith("No reps in Lakes") for caption in app.caption)


def test_chart_axes_keep_codes_as_categories(week_page):
    app = week_page

    charts = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    ranking = charts[0]["layout"]["yaxis"]

    assert ranking["type"] == "category"
    assert ranking["categoryarray"] == [
        "Lakes (T3)",
        "Harbour (007)",
        "Hills (12.1)",
        "Plains (T4)",
        "Unassigned",
    ]
    heatmap = charts[-1]
    assert heatmap["layout"]["yaxis"]["categoryarray"] == ranking["categoryarray"]
    assert heatmap["data"][0]["z"][1][-3:] == [0.25, 0.5, 0.75]


def test_regions_pool_their_territories(open_page):
    app = open_page(compare="regions", rank_by="strike_rate")

    table = records(
        app.dataframe[0].value,
        "region_id",
        ["territories", "visits", "productive_visits", "strike_rate"],
    )

    assert list(table) == ["Unassigned", "N", "S"]
    assert table["N"] == {
        "territories": 2,
        "visits": 5,
        "productive_visits": 3,
        "strike_rate": 0.6,
    }
    assert table["S"] == {
        "territories": 1,
        "visits": 0,
        "productive_visits": 0,
        "strike_rate": None,
    }
    assert table["Unassigned"] == {
        "territories": 1,
        "visits": 2,
        "productive_visits": 1,
        "strike_rate": 0.5,
    }


def click_bar(app: AppTest, position: int) -> None:
    """Click the bar of the ranking chart whose customdata is position, as
    the browser reports a clicked point."""
    chart = app.get("plotly_chart")[0]
    point = {"customdata": position, "curve_number": 0}
    selection = {"selection": {"points": [point], "box": [], "lasso": []}}
    states = app._tree.get_widget_states()
    states.widgets.append(
        WidgetState(id=chart.proto.id, string_value=json.dumps(selection))
    )
    app._run(states)
    assert not app.exception
    assert not app.error


def test_bar_click_opens_territory(week_page, open_page):
    # The bars follow the table's rows, weakest first.
    table = week_page.dataframe[0].value
    app = open_page()

    click_bar(app, 1)

    assert app.query_params["territory"] == table["territory_id"].iloc[1]
    # The page now lists that territory's reps.
    assert "rep_id" in app.dataframe[0].value.columns


def test_drill_down_and_back_up(open_page, engine):
    app = open_page()

    click_row(app, 0, 1)  # Harbour (007)

    assert dict(app.query_params) == {"week": WEEK, "region": "N", "territory": "007"}
    territory = report_of(engine, "territories").set_index("territory_id").loc["007"]
    assert tiles(app) == {
        "Reps": "2",
        "Active outlets": f"{territory['active_outlets']}",
        "Coverage": f"{territory['coverage']:.0%}",
        "Strike rate": f"{territory['strike_rate']:.0%}",
        "Order value": f"{territory['order_value']:.0f}",
        "Beat compliance": f"{territory['beat_compliance']:.0%}",
    }
    reps = report_of(engine, "reps", Scope(territory_ids=("007",)))
    assert records(app.dataframe[0].value, "rep_id", REP_COLUMNS) == records(
        reps, "rep_id", REP_COLUMNS
    )

    click_row(app, 0, 0)  # Asha (001)

    assert dict(app.query_params) == {
        "week": WEEK,
        "region": "N",
        "territory": "007",
        "rep": "001",
    }
    rep = reps.set_index("rep_id").loc["001"]
    assert tiles(app) == {
        "Visits": f"{rep['visits']}",
        "Strike rate": f"{rep['strike_rate']:.0%}",
        "Order value": f"{rep['order_value']:.0f}",
        "Beat compliance": f"{rep['beat_compliance']:.0%}",
        "Skipped outlets": f"{rep['skipped_outlets']}",
    }
    outlets = report_of(engine, "outlets", Scope(rep_ids=("001",)))
    assert records(app.dataframe[0].value, "outlet_id", OUTLET_COLUMNS) == records(
        outlets, "outlet_id", OUTLET_COLUMNS
    )

    click_row(app, 0, 3)  # Shop 4

    assert "**Shop 4** (o4): skipped, never visited" in app.markdown[-1].value

    app.button(key="comparison_up_2").click().run()  # back to Harbour

    assert dict(app.query_params) == {"week": WEEK, "region": "N", "territory": "007"}
    assert list(app.dataframe[0].value["rep_id"]) == ["001", "002"]

    app.button(key="comparison_up_1").click().run()  # back to North

    assert dict(app.query_params) == {"week": WEEK, "region": "N"}
    assert list(app.dataframe[0].value["territory_id"]) == ["007", "12.1"]

    app.button(key="comparison_up_0").click().run()  # back to every territory

    assert dict(app.query_params) == {"week": WEEK}
    assert len(app.dataframe[0].value) == 5


def test_drill_down_keeps_period(open_page):
    app = open_page(week=PREVIOUS_WEEK)

    click_row(app, 0, 0)  # Hills (12.1): no visits the week before

    assert app.query_params["week"] == PREVIOUS_WEEK
    assert tiles(app)["Coverage"] == "0%"


def test_link_restores_filters(open_page):
    app = open_page(
        week=PREVIOUS_WEEK, region="N", territory="12.1", rank_by="strike_rate"
    )

    assert app.session_state["week"] == date(2026, 2, 23)
    assert app.session_state["region"] == "N"
    assert app.session_state["territory"] == "12.1"
    assert dict(app.query_params) == {
        "week": PREVIOUS_WEEK,
        "region": "N",
        "territory": "12.1",
        "rank_by": "strike_rate",
    }
    assert list(app.dataframe[0].value["rep_id"]) == ["010"]

    app.button(key="comparison_up_1").click().run()  # back to North

    assert app.selectbox(key="rank_by").value == "strike_rate"
    table = app.dataframe[0].value
    # The week before, Hills had no visits, so no strike rate to rank.
    assert list(table["territory_id"]) == ["007", "12.1"]
    assert list(table["strike_rate"].fillna(-1)) == [0.5, -1]


def test_back_up_keeps_ranking_choices(open_page):
    app = open_page(compare="regions", rank_by="strike_rate")
    click_row(app, 0, 1)  # North: the Compare switch is not drawn there
    click_row(app, 0, 0)  # a territory of North: neither picker is drawn

    app.button(key="comparison_up_0").click().run()  # back to every region

    assert app.selectbox(key="rank_by").value == "strike_rate"
    assert app.radio(key="compare").value == "regions"
    assert dict(app.query_params) == {
        "week": WEEK,
        "rank_by": "strike_rate",
        "compare": "regions",
    }
    assert list(app.dataframe[0].value["region_id"].fillna("Unassigned")) == [
        "Unassigned",
        "N",
        "S",
    ]


def test_link_with_unknown_values_opens_nearest_view(monkeypatch, database_url):
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", database_url)
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    for key, value in {
        "week": "2026-13-01",
        "territory": "T9",
        "rep": "R9",
        "rank_by": "bogus",
    }.items():
        app.query_params[key] = value

    app.run()
    warnings = [warning.value for warning in app.sidebar.warning]
    app.switch_page(PAGE).run()

    assert warnings == [
        "The link's week '2026\\-13\\-01' is not available here, so it is ignored.",
        "The link's territory 'T9' is not available here, so it is ignored.",
        "The link's rep 'R9' is not available here, so it is ignored.",
    ]
    assert not app.exception
    assert not app.error
    assert (
        app.main.warning[0].value
        == "The link's ranking 'bogus' is not available here, so it is ignored."
    )
    assert app.session_state["week"] == date(2026, 3, 2)
    assert len(app.dataframe[0].value) == 5


def test_week_link_inside_a_week_opens_it(open_page):
    app = open_page(week="2026-02-25")

    assert app.session_state["week"] == date(2026, 2, 23)


def test_range_with_only_start_date(monkeypatch, database_url):
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", database_url)
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.query_params["period"] = "range"
    app.query_params["from"] = "2026-02-23"

    app.run()
    notes = [info.value for info in app.sidebar.info]
    app.switch_page(PAGE).run()

    assert notes == [
        "The link has a start date but no valid end date, so the period is the 7 days from 2026-02-23."
    ]
    assert not app.exception
    assert not app.error
    assert app.query_params["to"] == "2026-03-01"
    assert tiles(app)["Order value"] == "80"


def test_range_with_only_end_date(monkeypatch, database_url):
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", database_url)
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.query_params["period"] = "range"
    app.query_params["to"] = "2026-03-01"

    app.run()
    notes = [info.value for info in app.sidebar.info]
    warnings = [warning.value for warning in app.sidebar.warning]
    app.switch_page(PAGE).run()

    assert notes == [
        "The link has an end date but no valid start date, so the period is the 7 days up to 2026-03-01."
    ]
    assert warnings == []
    assert not app.exception
    assert not app.error
    assert app.query_params["from"] == "2026-02-23"
    assert tiles(app)["Order value"] == "80"


def test_empty_period_shows_message(open_page):
    app = open_page(
        period="range",
        **{"from": "2026-01-05", "to": "2026-01-11"},
        rank_by="strike_rate",
    )

    assert app.main.info[0].value.startswith("No visits in this period")
    assert tiles(app)["Coverage"] == "0%"
    captions = [caption.value for caption in app.caption]
    assert "5 of 5 have no strike rate in this period and are not ranked." in captions


def test_territory_without_reps(open_page):
    app = open_page(territory="T3")

    assert app.main.info[0].value.startswith("This territory has no reps")
    assert list(app.dataframe[0].value["status"]) == [
        "unplanned",
        "unplanned",
        "unplanned",
    ]


def test_rep_without_territory(open_page):
    app = open_page(rep="099")

    assert app.main.info[0].value.startswith("This rep has no territory")
    assert tiles(app)["Visits"] == "1"
    assert tiles(app)["Order value"] == "30"


def test_unassigned_row_explains_itself(open_page):
    app = open_page()

    click_row(app, 0, 4)

    assert app.main.info[0].value.startswith("The Unassigned group has no territory")
    assert dict(app.query_params) == {"week": WEEK}


def test_unassigned_bar_explains_itself(open_page):
    app = open_page()

    click_bar(app, 4)

    assert app.main.info[0].value.startswith("The Unassigned group has no territory")
    assert dict(app.query_params) == {"week": WEEK}


def test_unassigned_reps_open_their_figures(open_page):
    app = open_page()

    unassigned = app.dataframe[1].value
    assert list(unassigned["rep_id"]) == ["099"]

    click_row(app, 1, 0)

    assert dict(app.query_params) == {"week": WEEK, "rep": "099"}
    assert tiles(app)["Visits"] == "1"


def test_overview_counts_the_same_outlets(monkeypatch, database_url):
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", database_url)
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.query_params["week"] = WEEK

    app.run()

    # Outlet o11 has no territory: it counts here as on the comparison page.
    assert tiles(app)["Coverage"] == "64%"


def test_territory_named_unassigned(monkeypatch, tmp_path):
    # A listed territory whose id is "Unassigned" gets its own row, apart from
    # the group of reps and outlets without a territory, in table and charts.
    rows = {
        "territories": [{"territory_id": "Unassigned", "name": None}],
        "reps": [
            {"rep_id": "r1", "name": "Asha", "territory_id": "Unassigned"},
            {"rep_id": "r2", "name": "Bilal", "territory_id": None},
        ],
        "outlets": [
            {"outlet_id": "o1", "territory_id": "Unassigned"},
            {"outlet_id": "o2", "territory_id": "Unassigned"},
            {"outlet_id": "o3", "territory_id": None},
        ],
        "visits": [
            {"visit_id": "v1", "rep_id": "r1", "outlet_id": "o1",
             "check_in": "2026-03-02 09:00:00"},
            {"visit_id": "v2", "rep_id": "r2", "outlet_id": "o3",
             "check_in": "2026-03-03 09:00:00"},
            {"visit_id": "p1", "rep_id": "r2", "outlet_id": "o3",
             "check_in": "2026-02-24 09:00:00"},
        ],
    }  # fmt: skip
    sqlite_database(tmp_path, rows).dispose()
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", f"sqlite:///{tmp_path / 'sfa.sqlite'}")

    app = open_link()

    table = app.dataframe[0].value
    assert list(table["territory_id"].fillna("<missing>")) == [
        "Unassigned",
        "<missing>",
    ]
    assert list(table["coverage"]) == [0.5, 1.0]
    assert list(table["previous_coverage"]) == [0.0, 1.0]
    charts = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    assert charts[0]["layout"]["yaxis"]["categoryarray"] == [
        "Unassigned (Unassigned)",
        "Unassigned",
    ]
    heatmap = charts[-1]["data"][0]["z"]
    assert [row[-1] for row in heatmap] == [0.5, 1.0]
    assert [row[-2] for row in heatmap] == [0.0, 1.0]
    labels = [expander.label for expander in app.expander]
    assert "Unassigned: 1 rep and 1 outlet without a territory" in labels


def test_tables_show_missing_values_blank(week_page):
    result = [table.proto.placeholder for table in week_page.dataframe]

    assert result
    assert set(result) == {""}


def change_column(app: AppTest, kpi_name: str) -> dict:
    """Return the column config of the ranked table's change column."""
    return json.loads(app.dataframe[0].proto.columns)[f"change_{kpi_name}"]


def test_ratio_change_in_signed_points(open_page):
    app = open_page(rank_by="strike_rate")
    table = app.dataframe[0].value
    column = change_column(app, "strike_rate")

    result = table["change_strike_rate"]

    expected = ((table["strike_rate"] - table["previous_strike_rate"]) * 100).round()
    pd.testing.assert_series_equal(result, expected + 0.0, check_names=False)
    assert column["label"] == "Change"
    assert column["type_config"]["format"] == "%+.0f pts"
    assert "percentage points" in column["help"]


def test_money_change_signed_with_symbol(open_page, monkeypatch):
    monkeypatch.setenv("BEATBOARD_CURRENCY_SYMBOL", "₹")
    app = open_page(rank_by="order_value")
    table = app.dataframe[0].value
    column = change_column(app, "order_value")

    result = table["change_order_value"]

    expected = (table["order_value"] - table["previous_order_value"]).round()
    pd.testing.assert_series_equal(result, expected + 0.0, check_names=False)
    assert column["label"] == "Change (₹)"
    assert column["type_config"]["format"] == "%+,.0f"
