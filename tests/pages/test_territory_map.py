"""The territory map page, run through AppTest on the map company's week.

st_folium draws in the browser, which AppTest has not got, so a stand-in
records the maps the page draws and returns the click a test sets.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import folium
import pandas as pd
import pytest
import sqlalchemy as sa
import streamlit_folium
from streamlit.testing.v1 import AppTest

from metrics.status import STATUSES
from pages import kept_map, outlet_map
from pages.formatting import markdown_text
from pages.map_payload import OutletPayload, decode_outlets
from tests.database import sqlite_database
from tests.pages.map_company import HOSTILE, ROWS, UNLOCATED, WEEK

DASHBOARD = str(Path(__file__).resolve().parents[2] / "dashboard.py")
MAP_PAGE = "pages/territory_map.py"
HINT = (
    "Zoom in to see single outlets; click an outlet or a territory to see its "
    "details beside the map."
)


class FakeFolium:
    """Stands in for st_folium: keeps each map drawn and returns `state`."""

    def __init__(self) -> None:
        self.maps: list[Any] = []
        self.state: dict | None = None

    def __call__(self, figure: Any, **options: Any) -> dict | None:
        self.maps.append(figure)
        return self.state

    def outlets(self) -> pd.DataFrame:
        """The outlets of the last map's payload, as the browser unpacks them."""
        layers = [
            child
            for child in self.maps[-1]._children.values()
            if isinstance(child, outlet_map.OutletLayer)
        ]
        assert len(layers) == 1
        payload = layers[0].payload
        return decode_outlets(
            OutletPayload(
                payload["count"], payload["data"], tuple(payload["territories"])
            )
        )

    def click_outlet(self, name: str) -> None:
        """Set the state of a click on the outlet called name in the last map."""
        outlets = self.outlets()
        index = int(outlets.index[outlets["outlet_name"] == name][0])
        place = [outlets["longitude"].iloc[index], outlets["latitude"].iloc[index]]
        self.state = {
            "last_active_drawing": {
                "type": "Feature",
                "properties": {"outlet": index},
                "geometry": {"type": "Point", "coordinates": place},
            }
        }


class QueryCounter:
    """Counts the SQL statements every engine of this process sends."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, connection, cursor, statement, *args) -> None:
        self.statements.append(statement)


def map_statements(statements: list[str]) -> list[str]:
    """Leave out the viewer lookup in the users table, which the dashboard
    makes on every run before any page draws.

    NOTE: that lookup is not cached yet, so each rerun queries the users
    table. The map's own data comes from caches.
    """
    return [statement for statement in statements if "FROM users" not in statement]


def database_url(folder: Path, rows: dict) -> str:
    sqlite_database(folder, rows).dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


@pytest.fixture(scope="module")
def map_company_url(tmp_path_factory) -> str:
    return database_url(tmp_path_factory.mktemp("map"), ROWS)


@pytest.fixture
def folium_map(monkeypatch) -> FakeFolium:
    fake = FakeFolium()
    monkeypatch.setattr(streamlit_folium, "st_folium", fake)
    # The outlet layers draw a map prepared once (pages/kept_map.py).
    monkeypatch.setattr(
        kept_map,
        "draw_prepared_map",
        lambda prepared, height, returned_objects: fake(prepared.map, key=prepared.key),
    )
    return fake


@pytest.fixture
def queries() -> Iterator[QueryCounter]:
    counter = QueryCounter()
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", counter)
    yield counter
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", counter)


def map_page(monkeypatch, url: str) -> AppTest:
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", url)
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.query_params["week"] = WEEK
    app.run()
    return app.switch_page(MAP_PAGE).run()


def table_values(app: AppTest) -> list[dict[str, str]]:
    """Each st.table of the page as {figure: value}."""
    return [dict(zip(table.value.index, table.value["Value"])) for table in app.table]


def test_map_page_notes_outlets_without_location(
    monkeypatch, map_company_url, folium_map
):
    app = map_page(monkeypatch, map_company_url)

    assert not app.exception
    assert app.title[0].value == "Territory map"
    assert app.multiselect(key="map_status").value == list(STATUSES)
    captions = [caption.value for caption in app.caption]
    assert (
        f"{UNLOCATED} outlets have no usable location and are not on the map. {HINT}"
        in captions
    )
    assert len(folium_map.maps) == 1
    assert len(folium_map.outlets()) == 8


# T1's stored outline encloses no area and T2's is not JSON; a third row
# outlines a territory that does not exist, which no view shows.
UNUSABLE_OUTLINES = [
    {
        "territory_id": "T1",
        "geojson": '{"type": "Polygon", "coordinates": '
        "[[[72.78, 18.98], [72.86, 18.98], [72.78, 18.98]]]}",
    },
    {"territory_id": "T2", "geojson": "{not json"},
    {"territory_id": "T9", "geojson": "{not json"},
]
UNUSABLE_NOTE = (
    "The stored outlines of 2 territories, "
    + markdown_text("Mumbai <North> (T1)")
    + " and "
    + markdown_text('Pune & "Co" (T2)')
    + ", are not usable GeoJSON polygons, so the map draws the hull of each one's "
    "located outlets, where it has any, instead. Fix them in the "
    "territory_boundaries table; the server log says what is wrong with each."
)


@pytest.mark.parametrize("layer", ["status", "route"])
def test_unusable_outlines_are_named(monkeypatch, tmp_path, folium_map, layer):
    url = database_url(tmp_path, {**ROWS, "territory_boundaries": UNUSABLE_OUTLINES})
    app = map_page(monkeypatch, url)
    app.segmented_control(key="map_layer").set_value(layer).run()

    assert not app.exception
    captions = " ".join(caption.value for caption in app.caption)
    assert UNUSABLE_NOTE in captions
    outlines = [
        child.data
        for child in folium_map.maps[-1]._children.values()
        if isinstance(child, folium.GeoJson) and child.layer_name == "Territories"
    ]
    sources = [feature["properties"]["source"] for feature in outlines[0]["features"]]
    assert sources == ["hull", "hull"]


def test_usable_outlines_give_no_note(monkeypatch, map_company_url, folium_map):
    app = map_page(monkeypatch, map_company_url)

    assert not app.exception
    assert not [c.value for c in app.caption if "stored outline" in c.value]


def test_map_page_without_statuses_says_choose_one(
    monkeypatch, map_company_url, folium_map
):
    app = map_page(monkeypatch, map_company_url)

    app.multiselect(key="map_status").set_value([]).run()

    assert not app.exception
    assert [info.value for info in app.info][-1] == (
        "Choose at least one status to show outlets on the map."
    )


@pytest.mark.parametrize(
    ("statuses", "note", "drawn"),
    [
        (
            ["skipped"],
            f"3 outlets have no usable location and are not on the map. {HINT}",
            3,
        ),
        (["neglected"], HINT, 1),
    ],
)
def test_map_page_note_counts_shown_statuses(
    monkeypatch, map_company_url, folium_map, statuses, note, drawn
):
    app = map_page(monkeypatch, map_company_url)

    app.multiselect(key="map_status").set_value(statuses).run()

    assert not app.exception
    assert note in [caption.value for caption in app.caption]
    assert len(folium_map.outlets()) == drawn


def test_map_page_without_outlets_draws_empty_map(monkeypatch, tmp_path, folium_map):
    rows = {key: value for key, value in ROWS.items() if key != "outlets"}
    rows["beat_outlets"] = []
    app = map_page(monkeypatch, database_url(tmp_path, rows))

    assert not app.exception
    assert [info.value for info in app.info][-1] == (
        "No active outlets in this selection. Choose another region, territory or rep."
    )
    assert folium_map.outlets().empty
    assert "" not in [caption.value for caption in app.caption]


def test_territory_without_usable_location_says_so(monkeypatch, tmp_path, folium_map):
    rows = dict(ROWS)
    rows["outlets"] = [
        outlet
        for outlet in ROWS["outlets"]
        if outlet["outlet_id"] in ("o9", "o10", "o11")
    ]
    rows["beat_outlets"] = [
        link
        for link in ROWS["beat_outlets"]
        if link["outlet_id"] in ("o9", "o10", "o11")
    ]
    rows["visits"] = []
    rows["orders"] = []
    app = map_page(monkeypatch, database_url(tmp_path, rows))

    assert not app.exception
    assert [info.value for info in app.info] == [
        (
            "None of the 3 outlets in this selection has a usable location, so the "
            "map has no outlets to show. Fix their coordinates in the outlet master."
        )
    ]


def test_map_page_without_leaflet_says_run_make_setup(
    monkeypatch, tmp_path, folium_map
):
    def missing_leaflet() -> outlet_map.LeafletAssets:
        raise outlet_map.LeafletMissingError("Leaflet's files are missing")

    monkeypatch.setattr(outlet_map, "leaflet_assets", missing_leaflet)
    # The page keeps each built map for all sessions, and an earlier test may
    # have built the shared company's map with Leaflet present, so this test
    # has a database of its own. Clearing st.cache_resource would also drop
    # earlier tests' database engines without closing their connections.
    app = map_page(monkeypatch, database_url(tmp_path, ROWS))

    assert not app.exception
    assert app.error[0].value == (
        "The map cannot load Leaflet because its files are not installed. "
        "Run `make setup`, then restart the dashboard."
    )


def test_outlet_click_shows_details(monkeypatch, map_company_url, folium_map):
    app = map_page(monkeypatch, map_company_url)

    folium_map.click_outlet(HOSTILE)
    app.run()

    assert not app.exception
    facts = table_values(app)[0]
    assert facts["Outlet"] == markdown_text(HOSTILE)
    assert facts["Outlet ID"] == "o1"
    assert facts["Status"] == "Visited"
    assert facts["Territory"] == markdown_text("Mumbai <North>")
    assert facts["Last visit"] == markdown_text("2026-03-02 (6 days ago)")
    visits = app.dataframe[0].value
    assert list(visits["Rep"]) == ["Asha"]
    assert list(visits["Order value"]) == [125.5]
    assert list(visits["Productive"]) == ["Yes"]


def test_click_reruns_without_new_queries(
    monkeypatch, map_company_url, folium_map, queries
):
    app = map_page(monkeypatch, map_company_url)

    folium_map.click_outlet("Pune 1")
    before_click = len(queries.statements)
    app.run()
    click_statements = map_statements(queries.statements[before_click:])
    before_rerun = len(queries.statements)
    app.run()
    rerun_statements = map_statements(queries.statements[before_rerun:])

    assert not app.exception
    # The only new query reads the clicked outlet's last visits. The same
    # click again, like any rerun with the same filters, runs no query.
    assert len(click_statements) == 1
    assert "last_visit_orders" in click_statements[0]
    assert rerun_statements == []


def test_territory_click_shows_figures(monkeypatch, map_company_url, folium_map):
    app = map_page(monkeypatch, map_company_url)

    folium_map.state = {"last_active_drawing": {"properties": {"territory": 0}}}
    app.run()

    assert not app.exception
    facts = table_values(app)[0]
    assert facts["Territory"] == markdown_text("Mumbai <North>")
    assert facts["Active outlets"] == "5"
    assert facts["Visited outlets"] == "1"
    assert facts["Coverage"] == "20%"
    assert facts["Neglected outlets"] == "1"


def test_neglect_layer_draws_every_outlet(monkeypatch, map_company_url, folium_map):
    app = map_page(monkeypatch, map_company_url)

    app.segmented_control(key="map_layer").set_value("neglect").run()

    assert not app.exception
    assert app.segmented_control(key="map_layer").value == "neglect"
    assert len(app.multiselect) == 0
    outlets = folium_map.outlets()
    assert len(outlets) == 8
    assert sorted(outlets.loc[outlets["overdue"], "outlet_name"]) == sorted(
        [
            'O\'Brien & "Sons"',
            "किराना स्टोर",
            "<script>alert(2)</script>",
            "Pune 2",
            "Pune 3",
        ]
    )


def test_route_layer_lists_calls(monkeypatch, map_company_url, folium_map):
    app = map_page(monkeypatch, map_company_url)
    app.segmented_control(key="map_layer").set_value("route").run()

    assert not app.exception
    assert app.selectbox(key="map_rep").value == "r1"
    assert app.selectbox(key="map_day").value == "2026-03-02"
    calls = app.dataframe[0].value
    assert list(calls["Stop"]) == ["1", ""]
    assert list(calls["Outlet"]) == [HOSTILE, 'O\'Brien & "Sons"']
    assert list(calls["Call"]) == ["On plan", "Missed"]


def test_route_layer_shows_clicked_call(monkeypatch, map_company_url, folium_map):
    app = map_page(monkeypatch, map_company_url)
    app.segmented_control(key="map_layer").set_value("route").run()

    folium_map.state = {
        "last_active_drawing": {
            "properties": {"call": 0},
            "geometry": {"type": "Point", "coordinates": [72.80, 19.00]},
        }
    }
    app.run()

    assert not app.exception
    facts = table_values(app)[0]
    assert facts["Outlet"] == markdown_text(HOSTILE)
    assert facts["Call"] == markdown_text("On plan")
    assert facts["Order value"] == "126"


def test_route_layer_reuses_status_layer_outlets(
    monkeypatch, tmp_path, folium_map, queries
):
    # A database of its own, so that no earlier test has kept its outlets.
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", database_url(tmp_path, ROWS))
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.query_params["week"] = WEEK
    app.run()
    overview_end = len(queries.statements)
    app.switch_page(MAP_PAGE).run()
    status_end = len(queries.statements)
    app.segmented_control(key="map_layer").set_value("route").run()

    assert not app.exception
    status_statements = queries.statements[overview_end:status_end]
    route_statements = queries.statements[status_end:]
    # The outlets report's statement is the only one with last_check_in.
    assert len([text for text in status_statements if "last_check_in" in text]) == 1
    assert not [text for text in route_statements if "last_check_in" in text]
