"""Cached query results are computed once per key and each caller gets a copy
that it may change without changing what the next caller gets."""

from streamlit.testing.v1 import AppTest


def changed_copies_script():
    import pandas as pd
    import streamlit as st

    from pages.shared import cached_copies

    calls = st.session_state.setdefault("calls", [])

    @cached_copies
    def report(week: str) -> pd.DataFrame:
        calls.append(week)
        return pd.DataFrame({"rep_id": ["R1", "R2"], "visits": [4, 7]})

    @cached_copies
    def headline(week: str) -> dict:
        calls.append(week)
        return {"visits": 11, "by_rep": pd.Series([4, 7], index=["R1", "R2"])}

    first = report("2026-03-23")
    first["visits"] = 0
    first.loc[0, "rep_id"] = "changed"
    first["extra"] = 1
    second = report("2026-03-23")
    figures = headline("2026-03-23")
    figures["visits"] = 0
    figures["by_rep"]["R1"] = 0
    again = headline("2026-03-23")

    st.session_state["second"] = second
    st.session_state["again"] = again
    st.session_state["same_object"] = first is second


def test_cached_copies_keep_cached_frame():
    app = AppTest.from_function(changed_copies_script, default_timeout=30)

    app.run()

    second = app.session_state["second"]
    assert app.session_state["calls"] == ["2026-03-23", "2026-03-23"]
    assert not app.session_state["same_object"]
    assert second["rep_id"].tolist() == ["R1", "R2"]
    assert second["visits"].tolist() == [4, 7]
    assert list(second.columns) == ["rep_id", "visits"]
    again = app.session_state["again"]
    assert again["visits"] == 11
    assert again["by_rep"].tolist() == [4, 7]
