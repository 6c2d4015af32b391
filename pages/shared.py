"""What every page shares: the current view (database, period, scope,
settings) and cached loaders around the data and metrics layers.

The engine is passed to cached functions as `_engine`, so it stays out of the
cache key; `database_key` names the database in the key instead.
"""

from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from data_access import queries
from data_access.filters import Period, Scope, Settings
from metrics import reports

VIEW_KEY = "beatboard_view"
CACHE_SECONDS = 600
CACHE_ENTRIES = 256


@dataclass(frozen=True)
class View:
    """The database and filters a page draws, set by dashboard.py on every run."""

    engine: sa.Engine = field(compare=False, hash=False)
    database_key: str
    period: Period
    scope: Scope
    settings: Settings
    is_demo: bool
    presence: tuple[tuple[str, bool], ...]

    def has(self, kind: str) -> bool:
        """True when the database has this kind of data: beats, orders, boundaries, gps."""
        return dict(self.presence).get(kind, False)

    def at(self, period: Period) -> "View":
        """Return the same view for another period."""
        return View(
            self.engine, self.database_key, period, self.scope, self.settings,
            self.is_demo, self.presence,
        )


def current_view() -> View:
    """Return the view dashboard.py stored for this run; pages call this first."""
    return st.session_state[VIEW_KEY]


@st.cache_data(ttl=CACHE_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _rep_activity(
    _engine: sa.Engine, database_key: str, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    return queries.rep_activity(_engine, period, scope, settings)


@st.cache_data(ttl=CACHE_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _outlet_activity(
    _engine: sa.Engine, database_key: str, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    return queries.outlet_activity(_engine, period, scope, settings)


@st.cache_data(ttl=CACHE_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _territory_list(_engine: sa.Engine, database_key: str, scope: Scope) -> pd.DataFrame:
    return queries.territory_list(_engine, scope)


@st.cache_data(ttl=CACHE_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _skipped_outlet_list(
    _engine: sa.Engine, database_key: str, period: Period, scope: Scope, settings: Settings
) -> pd.DataFrame:
    return queries.skipped_outlet_list(_engine, period, scope, settings)


@st.cache_data(ttl=CACHE_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _territory_boundary_list(
    _engine: sa.Engine, database_key: str, scope: Scope
) -> pd.DataFrame:
    return queries.territory_boundary_list(_engine, scope)


def load_reps_report(view: View) -> pd.DataFrame:
    """Load the reps report of the view's period and scope."""
    activity = _rep_activity(
        view.engine, view.database_key, view.period, view.scope, view.settings
    )
    return reports.build_reps_report(activity)


def load_outlets_report(view: View) -> pd.DataFrame:
    """Load the outlets report with map columns (channel, class, coordinates)."""
    activity = _outlet_activity(
        view.engine, view.database_key, view.period, view.scope, view.settings
    )
    return reports.build_outlets_report(activity, view.period, view.settings)


def load_territories(view: View) -> pd.DataFrame:
    """Territories in scope: territory_id, territory_name, region_id, region_name."""
    return _territory_list(view.engine, view.database_key, view.scope)


def load_territories_report(view: View) -> pd.DataFrame:
    """Load the territories report of the view's period and scope."""
    activity = _rep_activity(
        view.engine, view.database_key, view.period, view.scope, view.settings
    )
    return reports.build_territories_report(
        load_territories(view), activity, load_outlets_report(view)
    )


def load_skipped_outlets(view: View) -> pd.DataFrame:
    """Load every rep's skipped outlets with the planned calls missed."""
    return _skipped_outlet_list(
        view.engine, view.database_key, view.period, view.scope, view.settings
    )


def load_territory_boundaries(view: View) -> pd.DataFrame:
    """Stored territory outlines in scope: territory_id, geojson."""
    return _territory_boundary_list(view.engine, view.database_key, view.scope)


def stop_with_error(message: str) -> None:
    """Show one sentence that tells the viewer what to do, then stop the page."""
    st.error(message)
    st.stop()
