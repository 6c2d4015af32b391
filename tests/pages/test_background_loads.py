"""Loads started in the background share the page's cache and its errors."""

import time

from streamlit.testing.v1 import AppTest


def cached_twice_script():
    import threading
    import time

    import streamlit as st

    from pages.shared import load_in_background

    computed_on = st.session_state.setdefault("computed_on", [])

    @st.cache_data
    def doubled(value: int) -> int:
        computed_on.append(threading.current_thread().name)
        time.sleep(0.3)
        return value * 2

    load_in_background(lambda: doubled(21))
    # Wait until the background load has started, so the page's own call below
    # overlaps it and must reuse its result instead of computing again.
    deadline = time.monotonic() + 10
    while not computed_on and time.monotonic() < deadline:
        time.sleep(0.01)
    st.session_state["page_thread"] = threading.current_thread().name
    st.write(f"result {doubled(21)}")


def failing_script():
    import streamlit as st

    from pages.shared import load_in_background

    @st.cache_data
    def broken(value: int) -> int:
        raise ValueError(f"no rows for {value}")

    load_in_background(lambda: broken(7))
    st.write(f"result {broken(7)}")


def test_background_load_computes_once():
    app = AppTest.from_function(cached_twice_script, default_timeout=30)

    app.run()

    result = app.session_state["computed_on"]
    assert [element.value for element in app.markdown] == ["result 42"]
    assert len(result) == 1
    assert result[0] != app.session_state["page_thread"]


def test_background_failure_shows_on_page():
    app = AppTest.from_function(failing_script, default_timeout=30)

    app.run()

    assert len(app.exception) == 1
    assert app.markdown.len == 0


def started_once_script():
    import threading
    from datetime import date

    import streamlit as st

    from data_access.filters import Period, Scope, Settings
    from pages.shared import View, load_in_background_once

    view = View(
        None, st.session_state["database_key"], Period(date(2026, 3, 2),
        date(2026, 3, 8)), Scope(), Settings(), False, (),
    )  # fmt: skip
    starts = st.session_state.setdefault("starts", [])
    done = st.session_state.setdefault("done", threading.Event())

    def load() -> None:
        starts.append(threading.current_thread().name)
        if st.session_state["fail"]:
            done.set()
            raise ValueError("no rows")
        done.set()

    done.clear()
    load_in_background_once("test", view, load)
    # Wait for the load, so that the next run finds it finished.
    done.wait(timeout=10)


def run_twice(database_key: str, fail: bool) -> list[str]:
    app = AppTest.from_function(started_once_script, default_timeout=30)
    app.session_state["database_key"] = database_key
    app.session_state["fail"] = fail
    app.run()
    # The load marks itself finished just after done is set.
    time.sleep(0.5)
    app.run()
    return app.session_state["starts"]


def test_finished_loads_start_once():
    result = run_twice("finished", fail=False)

    assert len(result) == 1


def test_failed_load_starts_again():
    result = run_twice("failed", fail=True)

    assert len(result) == 2
