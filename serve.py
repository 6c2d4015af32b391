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

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

DASHBOARD = Path(__file__).resolve().parent / "dashboard.py"


def main(argv: list[str]) -> None:
    """Serve dashboard.py with the streamlit options in argv."""
    # NOTE: a class attribute of Streamlit's, not a documented setting. The
    # browser test of a shared comparison link fails if an upgrade drops it.
    PagesManager.uses_pages_directory = False
    cli.main(["run", str(DASHBOARD), *argv], prog_name="streamlit")


if __name__ == "__main__":
    main(sys.argv[1:])
