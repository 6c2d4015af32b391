"""serve.py imports the modules of pages/ when the server starts, and never a
page script, which runs only inside a page run."""

import re
import subprocess
import sys
from pathlib import Path

import serve

REPOSITORY = Path(__file__).resolve().parents[1]


def run_python(code: str) -> str:
    """Run code in a new interpreter in the repository and return its output."""
    finished = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    )
    return finished.stdout


def test_page_scripts_are_the_navigation_pages():
    dashboard = (REPOSITORY / "dashboard.py").read_text(encoding="utf-8")

    result = set(re.findall(r'"pages/(\w+)\.py"', dashboard))

    assert result == serve.PAGE_SCRIPTS


def test_import_page_modules_leaves_out_page_scripts():
    serve.import_page_modules()

    imported = {name.removeprefix("pages.") for name in sys.modules}
    assert "shared" in imported
    assert "map_details" in imported
    assert "psycopg" in sys.modules
    assert not serve.PAGE_SCRIPTS & imported
    assert "__init__" not in imported


def test_start_imports_no_component_module():
    # A new interpreter, because other tests import the map's modules.
    code = (
        "import sys, serve; serve.import_page_modules(); "
        "print('streamlit_folium' in sys.modules, 'folium' in sys.modules)"
    )

    result = run_python(code)

    assert result.split() == ["False", "True"]


def test_prepare_process_freezes_startup_objects():
    # A new interpreter, whose startup objects no other test has frozen.
    code = (
        "import gc, sys, serve; before = gc.get_freeze_count(); "
        "serve.prepare_process(); "
        "print(before, gc.get_freeze_count(), 'pages.shared' in sys.modules)"
    )

    result = run_python(code)

    before, after, imported = result.split()
    assert before == "0"
    assert int(after) > 10_000
    assert imported == "True"


def test_first_charts_leave_no_import_to_pages():
    # A chart like the Overview's trend and the comparison's bubbles, after
    # the server's start, must import no module in the page run.
    code = (
        "import sys, serve; serve.prepare_process(); "
        "import pandas as pd, plotly.express as px, plotly.graph_objects as go, "
        "plotly.io, plotly.tools; before = set(sys.modules); "
        "weeks = pd.Series(pd.to_datetime(['2026-02-02', '2026-02-09'])); "
        "trend = go.Figure(go.Scatter(x=weeks, y=pd.Series([3.0, 4.0]))); "
        "frame = pd.DataFrame({'x': [0.5], 'y': [0.4], 'name': ['North']}); "
        "bubbles = px.scatter(frame, x='x', y='y', size='y', color='name'); "
        "[plotly.io.to_json(plotly.tools.return_figure_from_figure_or_data("
        "figure, validate_figure=True), validate=False) "
        "for figure in (trend, bubbles)]; "
        "print(sorted(set(sys.modules) - before))"
    )

    result = run_python(code)

    assert result.strip() == "[]"
