"""Pages on summaries that another program made stale, through AppTest: the
Overview and the territory comparison show the same change for a week while
another week of the Overview's trend is stale."""

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from data_access import schema, summary_queries
from data_access.engine import create_engine
from data_access.filters import Period, Settings
from fixtures.demo import MIN_REPS, build_demo_database
from metrics import review

DASHBOARD = str(Path(__file__).resolve().parents[2] / "dashboard.py")
COMPARISON_PAGE = "pages/territory_comparison.py"
TIMEZONE = "Asia/Kolkata"
SETTINGS = Settings(timezone=TIMEZONE)
END_DATE = date(2026, 3, 1)  # a Sunday
WEEK = Period(date(2026, 2, 23), END_DATE, TIMEZONE)
# The first week of WEEK's 13-week trend. It lies beyond the 8 weeks of
# order history and the 4-week neglect window that a read of WEEK, or of
# the week before it, reaches back to.
STALE_WEEK = Period(date(2025, 12, 1), date(2025, 12, 7), TIMEZONE)


def edit_without_rebuilding(engine: sa.Engine) -> None:
    """Negate every third order value of the week before WEEK in place, which
    keeps its row counts, and delete a visit of STALE_WEEK, which changes them."""
    orders = schema.orders
    visits = schema.visits
    previous = WEEK.previous()
    with engine.begin() as connection:
        order_ids = connection.execute(
            sa.select(orders.c.order_id)
            .where(
                orders.c.ordered_at >= previous.utc_start,
                orders.c.ordered_at < previous.utc_end,
                orders.c.value > 0,
            )
            .order_by(orders.c.order_id)
        ).scalars()
        negated = list(order_ids)[::3]
        connection.execute(
            orders.update()
            .where(orders.c.order_id.in_(negated))
            .values(value=-orders.c.value)
        )
        visit_id = connection.execute(
            sa.select(sa.func.min(visits.c.visit_id)).where(
                visits.c.check_in >= STALE_WEEK.utc_start,
                visits.c.check_in < STALE_WEEK.utc_end,
            )
        ).scalar_one()
        connection.execute(visits.delete().where(visits.c.visit_id == visit_id))


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    path = tmp_path_factory.mktemp("stale_summaries") / "demo.sqlite"
    build_demo_database(
        path, reps=MIN_REPS, end_date=END_DATE, summary_settings=SETTINGS
    )
    engine = create_engine(f"sqlite:///{path}")
    edit_without_rebuilding(engine)
    engine.dispose()
    return f"sqlite:///{path}"


def order_value_change(app: AppTest) -> str:
    tiles = {metric.label: metric for metric in app.metric}
    return tiles["Order value"].proto.delta


def open_page(page: str | None) -> AppTest:
    app = AppTest.from_file(DASHBOARD, default_timeout=180)
    app.query_params["week"] = str(WEEK.start)
    app.run()
    if page is not None:
        app.switch_page(page).run()
    assert not app.exception
    assert not app.error
    return app


def test_edits_leave_previous_week_usable(database_url):
    engine = create_engine(database_url)
    span = review.trend_span(WEEK.end, SETTINGS.week_start, 13, TIMEZONE)

    trend = summary_queries.summary_status(engine, span, SETTINGS)
    stale_week = summary_queries.summary_status(engine, STALE_WEEK, SETTINGS)
    previous = summary_queries.summary_status(engine, WEEK.previous(), SETTINGS)
    engine.dispose()

    assert span.start == STALE_WEEK.start
    assert trend.stale
    assert stale_week.stale
    assert previous.usable
    assert WEEK.previous().start - STALE_WEEK.start > timedelta(weeks=8)


def test_overview_and_comparison_show_same_change(monkeypatch, database_url):
    monkeypatch.setenv("BEATBOARD_DATABASE_URL", database_url)
    monkeypatch.setenv("BEATBOARD_TIMEZONE", TIMEZONE)

    overview = order_value_change(open_page(None))
    comparison = order_value_change(open_page(COMPARISON_PAGE))

    assert overview is not None
    assert overview == comparison
