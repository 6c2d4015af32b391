"""Start the dashboard: ``python serve.py [streamlit options]``.

This runs ``streamlit run dashboard.py`` with the same options, in this
process, with one difference. Streamlit 1.67 decides once per server, when the
first browser connects, whether to run a folder named pages/ beside the entry
script as classic multipage scripts, and it keeps doing so until a session has
run the entry script's st.navigation. Until then a shared link such as /reps
opens under a "Page not found" dialog, and a path named after a file, such as
/rep_performance, runs that file without dashboard.py, so without the viewer's
scope and filters. dashboard.py declares every page with st.navigation, so
this launcher turns the classic mode off before the server starts.
"""

import gc
import importlib
import sys
import threading
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

REPOSITORY = Path(__file__).resolve().parent
DASHBOARD = REPOSITORY / "dashboard.py"
# The files of pages/ that dashboard.py's st.navigation runs as pages. The
# others are modules that the pages import.
PAGE_SCRIPTS = frozenset(
    {
        "overview",
        "rep_performance",
        "territory_map",
        "territory_comparison",
        "data_health",
    }
)
# Modules of pages/ that declare a Streamlit component when first imported.
# Streamlit 1.67 registers a component only when a page run declares it, so
# one imported at the server's start would never be served. The libraries
# they import are imported at the start instead (LIBRARIES).
DECLARE_COMPONENTS = frozenset({"kept_map"})
LIBRARIES = ("branca", "folium.elements", "psycopg")


def main(argv: list[str]) -> None:
    """Serve dashboard.py with the streamlit options in argv."""
    # NOTE: a class attribute of Streamlit's, not a documented setting. The
    # browser test of a shared comparison link fails if an upgrade drops it.
    PagesManager.uses_pages_directory = False
    # The imports run on a thread, so the server starts listening no later.
    threading.Thread(target=prepare_process, daemon=True).start()
    cli.main(["run", str(DASHBOARD), *argv], prog_name="streamlit")


def prepare_process() -> None:
    """Import the page modules and build the first charts, then keep the
    objects made so far out of the garbage collector's full passes
    (freeze_startup_objects)."""
    import_page_modules()
    build_first_charts()
    freeze_startup_objects()


def build_first_charts() -> None:
    """Build one chart of each kind that the pages draw, from pandas columns,
    and turn it into JSON as st.plotly_chart does.

    plotly imports a trace's classes, and narwhals its pandas support, when
    they are first used. In a test on the 2-core machine of
    docs/benchmarks.md, the first set of these charts took 0.125 s and each
    later set 0.05 s, so the first page with charts would take the
    difference.
    """
    import pandas as pd
    import plotly.express as px
    import plotly.graph_objects as go
    import plotly.io
    import plotly.tools

    weeks = pd.Series(pd.to_datetime(["2026-01-05", "2026-01-12"]))
    values = pd.Series([1.0, 2.0])
    labels = pd.Series(["a", "b"])
    figures = [
        go.Figure(go.Scatter(x=weeks, y=values, mode="lines+markers")),
        go.Figure(go.Bar(x=values, y=labels, orientation="h")),
        go.Figure(go.Heatmap(x=weeks, y=labels, z=[[1.0, 2.0], [2.0, 1.0]])),
        px.scatter(
            pd.DataFrame({"x": values, "y": values, "label": labels}),
            x="x",
            y="y",
            size="y",
            color="label",
            text="label",
            hover_name="label",
        ),
    ]
    for figure in figures:
        checked = plotly.tools.return_figure_from_figure_or_data(
            figure, validate_figure=True
        )
        plotly.io.to_json(checked, validate=False)


def freeze_startup_objects() -> None:
    """Move every object that the process has now to the collector's
    permanent generation, after a last full collection.

    Modules, classes and functions live as long as the process, but each
    full collection scans them all: about 190,000 objects after the imports,
    and 0.1 s a pass. A cold national Overview ran two such passes, one of
    them while its last query's rows were turned into a frame. With the
    startup objects frozen, a full pass took 0.015 to 0.05 s.

    NOTE: the objects of other threads are frozen too. The server starts
    while the imports run, so a viewer's session opened in its first second
    would never be collected once it turned into cyclic garbage.
    """
    gc.collect()
    gc.freeze()


def import_page_modules() -> None:
    """Import the modules of pages/, except DECLARE_COMPONENTS, and
    LIBRARIES, which the first page a viewer opens would import otherwise.

    They took about 0.1 s of the territory map's first run on PostgreSQL,
    the PostgreSQL driver half of it, and a running server imports them
    only once.
    """
    skipped = PAGE_SCRIPTS | DECLARE_COMPONENTS
    for path in sorted((REPOSITORY / "pages").glob("*.py")):
        if path.stem not in skipped and not path.stem.startswith("_"):
            importlib.import_module(f"pages.{path.stem}")
    for name in LIBRARIES:
        try:
            importlib.import_module(name)
        except ImportError:
            # SQLAlchemy names a missing driver when a URL needs it.
            pass


if __name__ == "__main__":
    main(sys.argv[1:])
