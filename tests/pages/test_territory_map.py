"""The territory map page, run through AppTest on the map company's week."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics.status import STATUSES
from pages import outlet_map
from tests.database import sqlite_database
from tests.pages.map_company import ROWS, UNLOCATED, WEEK

DASHBOARD = str(Path(__file__).resolve().parents[2] / "dashboard.py")
MAP_PAGE = "pages/territory_map.py"


def database_url(folder: Path, rows: dict) -> str:
    sqlite_database(folder, rows).dispose()
    return f"sqlite:///{folder / 'sfa.sqlite'}"


@pytest.fixture(scope="module")
def map_company_url(tmp_path_factory):
    return database_url(tmp_path_factory.mktemp("map"), ROWS)


def map_page(monkeypatch, url: str) -> AppTest:
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", url)
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.query_params["week"] = WEEK
    app.run()
    return app.switch_page(MAP_PAGE).run()


def test_map_page_notes_outlets_without_location(monkeypatch, map_company_url):
    app = map_page(monkeypatch, map_company_url)

    assert not app.exception
    assert app.title[0].value == "Territory map"
    assert app.multiselect(key="map_status").value == list(STATUSES)
    captions = [caption.value for caption in app.caption]
    assert (
        f"{UNLOCATED} outlets have no usable location and are not on the map. "
        "Click an outlet to see its details below the map."
    ) in captions


def test_map_page_without_statuses_says_choose_one(monkeypatch, map_company_url):
    app = map_page(monkeypatch, map_company_url)

    app.multiselect(key="map_status").set_value([]).run()

    assert not app.exception
    assert [info.value for info in app.info][-1] == (
        "Choose at least one status to show outlets on the map."
    )


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (
            ["skipped"],
            (
                "3 outlets have no usable location and are not on the map. "
                "Click an outlet to see its details below the map."
            ),
        ),
        (["neglected"], "Click an outlet to see its details below the map."),
    ],
)
def test_map_page_note_counts_shown_statuses(
    monkeypatch, map_company_url, statuses, expected
):
    app = map_page(monkeypatch, map_company_url)

    app.multiselect(key="map_status").set_value(statuses).run()

    assert not app.exception
    assert app.caption[-1].value == expected


def test_map_page_without_outlets_says_so(monkeypatch, tmp_path):
    rows = {key: value for key, value in ROWS.items() if key != "outlets"}
    rows["beat_outlets"] = []
    app = map_page(monkeypatch, database_url(tmp_path, rows))

    assert not app.exception
    assert [info.value for info in app.info][-1] == (
        "No active outlets in this selection. Choose another region, territory or rep."
    )


def test_map_page_without_leaflet_says_run_make_setup(monkeypatch, map_company_url):
    def missing_leaflet() -> outlet_map.LeafletAssets:
        raise outlet_map.LeafletMissingError("Leaflet's files are missing")

    monkeypatch.setattr(outlet_map, "leaflet_assets", missing_leaflet)
    app = map_page(monkeypatch, map_company_url)

    assert not app.exception
    assert app.error[0].value == (
        "The map cannot load Leaflet because its files are not installed. "
        "Run `make setup`, then restart the dashboard."
    )
