"""Keep error details out of the browser.

An exception while drawing a page goes to the server log with the viewer's id
and a short reference. The browser shows one sentence with that reference and
nothing of the traceback, the SQL, the connection URL or file paths. The
Streamlit setting client.showErrorDetails = "none" covers whatever escapes
this guard.
"""

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
import streamlit as st

log = logging.getLogger("beatboard.errors")

DATABASE_MESSAGE = (
    "Beatboard lost its connection to the database and could not reconnect; check "
    "that the database server is running, then reload the page (reference {reference})."
)
ERROR_MESSAGE = (
    "This page could not be drawn because of an internal error. Tell the person "
    "who runs Beatboard the reference {reference}; the details are in the server log."
)


def new_reference() -> str:
    """Return a short random reference that ties the browser's message to the log line."""
    return secrets.token_hex(4)


@contextmanager
def logged_for_viewer(viewer_id: str, where: str) -> Iterator[None]:
    """Run the block; log an exception with the viewer's id and the page's
    title (where), and show the reference instead.

    Streamlit's st.stop and st.rerun raise exceptions outside Exception's
    hierarchy, so they pass through unchanged.
    """
    try:
        yield
    except sa.exc.DBAPIError as error:
        reference = new_reference()
        log.exception("error %s on %s for viewer %s", reference, where, viewer_id)
        template = DATABASE_MESSAGE if error.connection_invalidated else ERROR_MESSAGE
        st.error(template.format(reference=reference), icon=":material/error:")
    except Exception:
        reference = new_reference()
        log.exception("error %s on %s for viewer %s", reference, where, viewer_id)
        st.error(ERROR_MESSAGE.format(reference=reference), icon=":material/error:")
