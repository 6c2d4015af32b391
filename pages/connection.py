"""Which database the dashboard reads, and the business settings it applies.

The URL comes from `.streamlit/secrets.toml` ([connections.sfa] url = ...),
else from the environment variable BEATBOARD_DATABASE_URL. With neither, the
dashboard builds a demo SQLite database under .beatboard/ on first start and
reuses it afterwards. Every database is opened read-only where the engine
allows it (SQLite); a PostgreSQL role should be granted SELECT only.
"""

import logging
import os
from dataclasses import fields
from pathlib import Path

import sqlalchemy as sa
import streamlit as st

from data_access.engine import (
    DatabaseURLError,
    parse_database_url,
    prepare_engine,
    read_only_url,
    url_from_environment,
)
from data_access.filters import Settings, parse_class_windows
from metrics.exceptions import Thresholds

log = logging.getLogger(__name__)

DEMO_DATABASE = Path(__file__).resolve().parent.parent / ".beatboard" / "demo.sqlite"


def _secrets_section(name: str) -> dict:
    """Return a section of secrets.toml as a dict, empty when it is missing."""
    try:
        return dict(st.secrets.get(name, {}))
    except FileNotFoundError:
        return {}
    except Exception as error:  # a malformed secrets.toml raises its parser's errors
        log.error("could not read .streamlit/secrets.toml: %s", error)
        return {}


def configured_url() -> str | None:
    """Return the shared database's URL from secrets.toml or the environment."""
    connection = dict(_secrets_section("connections").get("sfa", {}))
    return connection.get("url") or url_from_environment()


@st.cache_resource(show_spinner="Building the demo database (first start only)...")
def _demo_database() -> Path:
    # Imported here because only the demo path needs the generator.
    from fixtures.demo import build_demo_database

    if not DEMO_DATABASE.exists():
        log.info("building the demo database at %s", DEMO_DATABASE)
        # With its summaries, the demo's Overview opened in about 0.7 s in
        # place of 5 s, for about 4 s more at the first start.
        build_demo_database(DEMO_DATABASE, summary_settings=load_settings(demo=True))
    return DEMO_DATABASE


def open_database() -> tuple[sa.Engine, str, bool]:
    """Open the shared database read-only: (engine, key for caches, is_demo).

    Raises DatabaseURLError with a message for the page when the configured
    URL cannot be used.
    """
    url_text = configured_url()
    is_demo = url_text is None
    if is_demo:
        url = sa.make_url(f"sqlite:///{_demo_database()}")
    else:
        url = parse_database_url(url_text)
    url = read_only_url(url)
    # pool_pre_ping replaces a pooled connection that the server closed (a
    # restart, an idle timeout) before a query uses it.
    connection = st.connection(
        "sfa",
        type="sql",
        url=url.render_as_string(hide_password=False),
        pool_pre_ping=True,
    )
    engine = prepare_engine(connection.engine)
    database_key = url.render_as_string(hide_password=True)
    return engine, database_key, is_demo


# The demo company sells in India, so its times show in Indian time and its
# money in rupees unless the settings configure them.
DEMO_DEFAULTS = {"timezone": "Asia/Kolkata", "currency_symbol": "₹"}


def load_settings(demo: bool = False) -> Settings:
    """Read the business settings from secrets.toml [beatboard] or BEATBOARD_* variables.

    With demo True, the demo company's time zone and currency replace the
    defaults of the settings that are not configured.
    """
    section = _secrets_section("beatboard")
    demo_defaults = DEMO_DEFAULTS if demo else {}

    def setting(name: str, default: str) -> str:
        default = demo_defaults.get(name, default)
        return str(
            section.get(name, os.environ.get(f"BEATBOARD_{name.upper()}", default))
        )

    by_class = section.get(
        "neglect_days_by_class", os.environ.get("BEATBOARD_NEGLECT_DAYS_BY_CLASS", "")
    )
    return Settings(
        timezone=setting("timezone", "UTC"),
        week_start=int(setting("week_start", "1")),
        neglect_days=int(setting("neglect_days", "28")),
        neglect_days_by_class=parse_class_windows(by_class),
        off_site_m=float(setting("off_site_m", "300")),
        duplicate_window_s=float(setting("duplicate_window_s", "120")),
        currency_symbol=setting("currency_symbol", ""),
        max_visit_hours=float(setting("max_visit_hours", "12")),
        max_speed_kmh=float(setting("max_speed_kmh", "120")),
    )


def load_thresholds() -> Thresholds:
    """Exception thresholds from secrets.toml [beatboard.exceptions] or
    BEATBOARD_EXCEPTION_<NAME> variables (such as BEATBOARD_EXCEPTION_SKIP_SHARE=0.25);
    the rest keep their defaults. Raises ValueError for an invalid value."""
    values: dict[str, object] = {}
    for item in fields(Thresholds):
        text = os.environ.get(f"BEATBOARD_EXCEPTION_{item.name.upper()}")
        if text:
            values[item.name] = text
    section = _secrets_section("beatboard").get("exceptions", {})
    values.update(dict(section))
    return Thresholds.from_mapping(values)


def load_data_notice() -> str | None:
    """Return the notice the data's license asks every page to show, if any."""
    section = _secrets_section("beatboard")
    return section.get("data_notice") or os.environ.get("BEATBOARD_DATA_NOTICE") or None


__all__ = [
    "DatabaseURLError",
    "configured_url",
    "load_data_notice",
    "load_settings",
    "load_thresholds",
    "open_database",
    "parse_class_windows",
]
