"""Beatboard: entry point and router of the dashboard.

Run with `python serve.py` (see there for why not `streamlit run`). This file registers the pages, draws
the shared filters (period, region, territory, rep) in the sidebar, keeps
them in the URL so a view can be shared as a link, and stores the resulting
view for the page that runs.
"""

import logging
from datetime import date, timedelta
from pathlib import Path

import streamlit as st

from data_access import queries, summary_queries
from data_access.filters import FIRST_DATE, LAST_DATE, Period, Scope, week_containing

# Registers the "beatboard" Plotly template as the default of every chart.
from pages import (
    errors,
    identity,
    theme,  # noqa: F401
)
from pages.connection import (
    DatabaseURLError,
    load_data_notice,
    load_settings,
    open_database,
)
from pages.formatting import markdown_text
from pages.shared import VIEW_KEY, View, draw_freshness

log = logging.getLogger("beatboard")

PLURALS = {"Territory": "territories"}
# Two years: a year and the year before it. Query time and memory grow with the
# days of a period, so a link must not ask for centuries and tie up the server.
# Measured in AppTest on the demo company (48 reps, 2 cores), the Overview took
# 24 s for one year and 39 s for two.
MAX_PERIOD_DAYS = 731
ICON = Path(__file__).resolve().parent / "assets" / "beatboard.png"

PAGES = [
    # url_path differs from the file name on purpose: AppTest (Streamlit 1.67)
    # also reads pages/ as a classic multipage folder, and a page whose url_path
    # equals its file name then reruns without this script, so without the view.
    # A server started with `streamlit run` does the same until a session has
    # run this script, which serve.py prevents.
    # Streamlit serves the default page at the app's root only, so its url_path
    # is never a route. The url_path must still be unique among the pages.
    st.Page(
        "pages/overview.py",
        title="Overview",
        icon=":material/dashboard:",
        url_path="overview-at-root",
        default=True,
    ),
    st.Page(
        "pages/rep_performance.py",
        title="Rep performance",
        icon=":material/groups:",
        url_path="reps",
    ),
    st.Page(
        "pages/territory_map.py",
        title="Territory map",
        icon=":material/map:",
        url_path="map",
    ),
    st.Page(
        "pages/territory_comparison.py",
        title="Territory comparison",
        icon=":material/leaderboard:",
        url_path="territories",
    ),
    st.Page(
        "pages/data_health.py",
        title="Data health",
        icon=":material/health_and_safety:",
        url_path="health",
    ),
]


def _open_overview() -> None:
    """Send the browser to the Overview at the app's root, with the link's filters."""
    st.switch_page(PAGES[0], query_params=st.query_params.to_dict())


# A link to /home would otherwise open Streamlit's "Page not found" dialog
# before the Overview, because the default page has no route but the root.
# This hidden page takes /home and sends the browser on to the root.
HOME_REDIRECT = st.Page(
    _open_overview, title="Overview", url_path="home", visibility="hidden"
)
NAVIGATION = [*PAGES, HOME_REDIRECT]


@st.cache_data(ttl=600, show_spinner=False)
def _filter_options(
    _engine, database_key: str, timezone: str, duplicate_window_s: float, scope: Scope
) -> dict:
    """Regions, territories, reps and the visit date range in the viewer's scope,
    for the filter widgets. The scope is part of the cache key, so viewers with
    different scopes never share these lists."""
    return {
        "regions": queries.region_list(_engine, scope),
        "territories": queries.territory_list(_engine, scope),
        "reps": queries.rep_list(_engine, scope),
        "date_range": queries.visit_date_range(
            _engine, scope, timezone, duplicate_window_s
        ),
        "presence": queries.data_presence(_engine),
    }


def _week_label(start: date) -> str:
    end = start + timedelta(days=6)
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d} · {start:%d %b} – {end:%d %b %Y}"


def _from_url(key: str, allowed, label: str, parse=str):
    """Seed a filter's widget state from the URL once per session.

    A value that is malformed or not among the allowed ones is dropped with a
    message, so a stale or edited link still opens the nearest valid view. The
    message repeats only the link's own text: it reads the same for an id that
    does not exist and for one outside the viewer's scope.
    """
    seeded = st.session_state.setdefault("_seeded_from_url", set())
    if key in seeded:
        return
    seeded.add(key)
    text = st.query_params.get(key)
    if text is None:
        return
    try:
        value = parse(text)
    except (ValueError, OverflowError):  # a week at 9999-12-31 ends past date.max
        value = None
    if value is None or (allowed is not None and value not in allowed):
        st.sidebar.warning(
            f"The link's {label} {markdown_text(repr(text))} is not available here, "
            "so it is ignored."
        )
        return
    st.session_state[key] = value


def _to_url(values: dict[str, object]) -> None:
    """Write the current filters into the URL so the view can be shared."""
    for key, value in values.items():
        text = None if value is None else str(value)
        if text is None:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != text:
            st.query_params[key] = text


def _link_date(text: str) -> date:
    """Parse a link's date; raise ValueError outside the dates a Period supports."""
    day = date.fromisoformat(text)
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(f"date {day} is outside {FIRST_DATE} to {LAST_DATE}")
    return day


def _period_filter(
    date_range: queries.VisitDates | None, week_start: int, timezone: str
) -> Period:
    """Draw the week or date-range picker and return the chosen period: by
    default the week of the last visit that is not a resend."""
    last_day = date_range.last if date_range else date.today()
    first_day = date_range.first if date_range else last_day - timedelta(weeks=12)
    last_week = week_containing(last_day, week_start, timezone).start
    first_week = week_containing(first_day, week_start, timezone).start
    default_week = last_week
    if date_range:
        default_week = week_containing(date_range.last_kept, week_start, timezone).start
    week_count = (last_week - first_week).days // 7 + 1
    weeks = [last_week - timedelta(weeks=offset) for offset in range(week_count)]

    _from_url("period", ("week", "range"), "period type")
    # A date inside a week opens that week.
    _from_url(
        "week",
        weeks,
        "week",
        lambda text: (
            week_containing(date.fromisoformat(text), week_start, timezone).start
        ),
    )
    _from_url("from", None, "start date", _link_date)
    _from_url("to", None, "end date", _link_date)
    if (
        st.session_state.get("period") == "range"
        and "from" in st.session_state
        and "to" not in st.session_state
    ):
        # A link with a start date and no valid end date: show the 7 days from it.
        st.session_state["to"] = st.session_state["from"] + timedelta(days=6)
        st.sidebar.info(
            f"The link has a start date but no valid end date, so the period is "
            f"the 7 days from {st.session_state['from']}."
        )
    if (
        st.session_state.get("period") == "range"
        and "to" in st.session_state
        and "from" not in st.session_state
    ):
        # A link with an end date and no valid start date: show the 7 days up to it.
        st.session_state["from"] = max(
            st.session_state["to"] - timedelta(days=6), FIRST_DATE
        )
        st.sidebar.info(
            f"The link has an end date but no valid start date, so the period is "
            f"the 7 days up to {st.session_state['to']}."
        )

    mode = st.sidebar.radio(
        "Period",
        ["week", "range"],
        key="period",
        horizontal=True,
        format_func={"week": "Week", "range": "Date range"}.get,
    )
    if mode == "week":
        st.session_state.setdefault("week", default_week)
        start = st.sidebar.selectbox("Week", weeks, key="week", format_func=_week_label)
        # The week stays in the URL even when it is the latest, so a link shows
        # the same week after a newer one starts.
        _to_url({"period": None, "week": start, "from": None, "to": None})
        return Period(start, start + timedelta(days=6), timezone)

    # The defaults go through the session state, as a link's dates do: a
    # widget given both a value and a state logs a warning with a stack.
    st.session_state.setdefault("from", default_week)
    st.session_state.setdefault("to", default_week + timedelta(days=6))
    start = st.sidebar.date_input("From", key="from")
    end = st.sidebar.date_input("To", key="to")
    if end < start:
        st.sidebar.warning(
            f"'To' ({end}) is before 'From' ({start}); showing {start} alone."
        )
        end = start
    if (end - start).days >= MAX_PERIOD_DAYS:
        start = end - timedelta(days=MAX_PERIOD_DAYS - 1)
        st.sidebar.warning(
            f"A period covers at most {MAX_PERIOD_DAYS} days, so this view shows "
            f"{start} to {end}."
        )
    _to_url({"period": "range", "week": None, "from": start, "to": end})
    return Period(start, end, timezone)


def _choice(
    label: str, frame, id_column: str, name_column: str, key: str
) -> str | None:
    """Draw a selectbox of ids shown with their names; None means all."""
    names = dict(zip(frame[id_column], frame[name_column].fillna(frame[id_column])))
    _from_url(key, names, label.lower())
    if st.session_state.get(key) is not None and st.session_state[key] not in names:
        # An earlier choice outside the narrower options above it: show all.
        st.session_state[key] = None
    return st.sidebar.selectbox(
        label,
        list(names),
        index=None,
        key=key,
        placeholder="All " + PLURALS.get(label, f"{label.lower()}s"),
        format_func=lambda value: f"{names.get(value, value)} ({value})",
    )


def _scope_filters(options: dict, viewer_scope: Scope) -> Scope:
    """Draw the region, territory and rep pickers, whose options are already
    limited to the viewer's scope, and return the choice within that scope."""
    territories = options["territories"]
    reps = options["reps"]
    region = _choice("Region", options["regions"], "region_id", "region_name", "region")
    if region is not None:
        territories = territories[territories["region_id"] == region]
        reps = reps[reps["territory_id"].isin(territories["territory_id"])]
    territory = _choice(
        "Territory", territories, "territory_id", "territory_name", "territory"
    )
    if territory is not None:
        reps = reps[reps["territory_id"] == territory]
    rep = _choice("Rep", reps, "rep_id", "rep_name", "rep")
    _to_url({"region": region, "territory": territory, "rep": rep})
    return viewer_scope.narrowed(
        region_ids=(region,) if region else None,
        territory_ids=(territory,) if territory else None,
        rep_ids=(rep,) if rep else None,
    )


def _banners(view: View, viewer: identity.Viewer) -> None:
    if view.is_demo:
        st.info(
            "Demo data: a generated company, not real figures. To show your own, set "
            "[connections.sfa] url in .streamlit/secrets.toml or BEATBOARD_DATABASE_URL.",
            icon=":material/science:",
        )
    identity.draw_viewer_banner(viewer)
    draw_freshness(view)
    notice = load_data_notice()
    if notice:
        st.caption(notice)


def main() -> None:
    # A local icon: a Material icon name would make the browser fetch a web font.
    st.set_page_config(page_title="Beatboard", page_icon=str(ICON), layout="wide")
    try:
        engine, database_key, is_demo = open_database()
        settings = load_settings(demo=is_demo)
    except (DatabaseURLError, ValueError) as error:
        _stop_before_pages(f"The dashboard cannot start: {error}")

    viewer = _viewer(engine, database_key)
    page = st.navigation(NAVIGATION)
    if page is HOME_REDIRECT:
        _open_overview()
    with errors.logged_for_viewer(viewer.user_id, page.title):
        _draw(page, viewer, engine, database_key, is_demo, settings)


def _stop_before_pages(message: str) -> None:
    """Show one sentence and stop, with the page menu hidden: the viewer may not
    be known yet, so no page may run."""
    st.navigation(NAVIGATION, position="hidden")
    st.error(message)
    st.stop()


def _viewer(engine, database_key: str) -> identity.Viewer:
    """Return who is looking; stop with the sign-in or no-access page otherwise."""
    try:
        viewer = identity.resolve_viewer(engine)
    except Exception:
        log.exception("could not read the users table from %s", database_key)
        _stop_before_pages(
            "Could not read the users table, so nobody can be shown any data. Check "
            "that the database is a Beatboard database and the server is running; "
            "details are in the server log."
        )
    if isinstance(viewer, identity.AccessDenied):
        st.navigation(NAVIGATION, position="hidden")
        identity.draw_access_denied(viewer)
    return viewer


def _draw(
    page, viewer: identity.Viewer, engine, database_key: str, is_demo: bool, settings
) -> None:
    """Draw the sidebar filters for the viewer's scope, then run the page."""
    try:
        options = _filter_options(
            engine,
            database_key,
            settings.timezone,
            settings.duplicate_window_s,
            viewer.scope,
        )
    except Exception:
        log.exception("could not read the filter options from %s", database_key)
        st.error(
            "Could not read the database. Check that the configured URL points at a "
            "Beatboard database and that the server is running; details are in the "
            "server log."
        )
        st.stop()

    st.sidebar.title("Beatboard")
    identity.draw_view_as_picker(viewer)
    period = _period_filter(
        options["date_range"], settings.week_start, settings.timezone
    )
    scope = _scope_filters(options, viewer.scope)
    view = View(
        engine=engine,
        database_key=database_key,
        period=period,
        scope=scope,
        settings=settings,
        is_demo=is_demo,
        presence=tuple(sorted(options["presence"].items())),
    )
    st.session_state[VIEW_KEY] = view
    try:
        with summary_queries.sharing_counts():
            _banners(view, viewer)
            page.run()
    finally:
        # A page must never run on a view left from an earlier run.
        st.session_state.pop(VIEW_KEY, None)


main()
