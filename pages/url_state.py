"""Keep a page's own choices (such as the KPI a ranking uses) in the URL, the
way dashboard.py keeps the sidebar filters there, so a copied link restores
them.

A choice is read from the URL before its widget is drawn whenever the
session has no state for it, and written back after every run. The URL
parameter has the widget's key as its name.
"""

from collections.abc import Collection

import streamlit as st

from pages.formatting import markdown_text


def seed_from_url(key: str, allowed: Collection[str], label: str) -> None:
    """Set the widget state `key` from the URL parameter `key` when the session
    has none: on its first run, and after runs that did not draw the widget.

    Streamlit drops the state of a widget that a run does not draw, such as
    the ranking's pickers while a drill-down shows one territory, but the URL
    keeps the choice, so going back up restores it from there. A value that
    is not among allowed is dropped with a warning naming it, so an old or
    edited link still opens the nearest valid view.
    """
    if key in st.session_state:
        return
    text = st.query_params.get(key)
    if text is None:
        return
    if text not in allowed:
        st.warning(
            f"The link's {label} {markdown_text(repr(text))} is not available here, "
            "so it is ignored."
        )
        return
    st.session_state[key] = text


def write_to_url(key: str, value: str, default: str) -> None:
    """Write a choice to the URL, leaving the default out to keep links short."""
    if value == default:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != value:
        st.query_params[key] = value
