"""period_sql.is_resend, the one-visit test of a resend, against the
de-duplication of PeriodSQL.flagged_visits, on both engines."""

import random
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from data_access import health_queries, schema
from data_access.dialect import seconds_before
from data_access.filters import Period, Scope, Settings
from data_access.period_sql import PeriodSQL, is_resend
from tests.database import fill_database

WINDOW_S = 120
PERIOD = Period(date(2026, 3, 2), date(2026, 3, 8), "UTC")


def random_visits(count: int) -> list[dict]:
    """Visits of 3 reps at 4 outlets, many within the window of the one
    before, some at the same instant, some a few milliseconds apart."""
    generator = random.Random(11)
    moment = datetime(2026, 3, 1, 23, 50)
    rows = []
    for number in range(count):
        step = generator.choice(
            [0, 0.004, 30, 90.5, 90.7, 90.9, 119.999, 120, 120.001, 200, 3_600]
        )
        moment += timedelta(seconds=step)
        rows.append(
            {
                "visit_id": f"v{generator.randrange(10_000):04d}-{number}",
                "rep_id": generator.choice(["r1", "r2", "r3"]),
                "outlet_id": generator.choice(["o1", "o2", "o3", "o4"]),
                "check_in": moment,
            }
        )
    return rows


def company(count: int) -> dict:
    return {
        "territories": [{"territory_id": "T1", "name": "Mumbai"}],
        "reps": [
            {"rep_id": rep, "name": rep, "territory_id": "T1"}
            for rep in ("r1", "r2", "r3")
        ],
        "outlets": [
            {"outlet_id": outlet, "name": outlet, "territory_id": "T1"}
            for outlet in ("o1", "o2", "o3", "o4")
        ],
        "visits": random_visits(count),
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sfa.sqlite'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    engine = fill_database(url, company(600))
    yield engine
    engine.dispose()


# The default window, and a fraction of a second that the lower bound of
# seconds_before rounds up.
@pytest.mark.parametrize("window_s", [WINDOW_S, 90.7])
def test_resend_test_matches_flagged_visits(engine, window_s):
    flagged = PeriodSQL(PERIOD, Settings(duplicate_window_s=window_s)).flagged_visits
    visits = schema.visits
    in_period = sa.and_(
        visits.c.check_in >= PERIOD.utc_start, visits.c.check_in < PERIOD.utc_end
    )
    with engine.connect() as connection:
        expected = set(
            connection.execute(
                sa.select(flagged.c.visit_id).where(
                    flagged.c.starts_visit == 0,
                    flagged.c.check_in >= PERIOD.utc_start,
                    flagged.c.check_in < PERIOD.utc_end,
                )
            ).scalars()
        )
        result = set(
            connection.execute(
                sa.select(visits.c.visit_id).where(
                    in_period, is_resend(visits, window_s)
                )
            ).scalars()
        )

    assert len(expected) > 10
    assert result == expected


def test_seconds_before_is_a_lower_bound(engine):
    visits = schema.visits
    bound = seconds_before(visits.c.check_in, 90).label("bound")
    with engine.connect() as connection:
        rows = connection.execute(sa.select(visits.c.check_in, bound).limit(20)).all()

    for check_in, bound_value in rows:
        if isinstance(bound_value, str):
            bound_value = datetime.fromisoformat(bound_value)
        exact = check_in - timedelta(seconds=90)
        assert bound_value <= exact
        assert exact - bound_value < timedelta(milliseconds=1)


def visits_at_o1(*check_ins: tuple[str, str]) -> list[dict]:
    """Rows of visits by r1 at o1, from (visit_id, check_in) pairs."""
    return [
        {"visit_id": visit_id, "rep_id": "r1", "outlet_id": "o1", "check_in": at}
        for visit_id, at in check_ins
    ]


def test_order_beside_resend_is_without_visit(tmp_path):
    # The order of 2026-03-03 has no visit_id, and r1's only check-in at o1
    # that date resends the visit of 23:59:30 the day before.
    rows = company(0)
    rows["visits"] = visits_at_o1(
        ("v1", "2026-03-02T23:59:30"),
        ("v2", "2026-03-03T00:00:30"),
    )
    rows["orders"] = [
        {"order_id": "s1", "rep_id": "r1", "outlet_id": "o1", "ordered_at": "2026-03-03T10:00:00", "value": 50.0},
    ]  # fmt: skip
    engine = fill_database(f"sqlite:///{tmp_path / 'sfa.sqlite'}", rows)
    day = Period(date(2026, 3, 3), date(2026, 3, 3), "UTC")

    affected = health_queries.affected_rows(
        engine, day, Scope(), Settings(), kinds=("order_without_visit",)
    )
    engine.dispose()

    assert affected["record_id"].tolist() == ["s1"]


@pytest.mark.parametrize(
    ("engine_name", "first_day"),
    [
        ("sqlite", date(2026, 3, 3)),
        ("postgresql", date(2026, 3, 3)),
        # 731 days, the longest period a page reads: SQLite limits the depth
        # of an expression to 1,000.
        ("sqlite", date(2024, 3, 5)),
    ],
)
def test_order_naming_resend_is_off_visit_day(
    tmp_path, request, engine_name, first_day
):
    # s1 names v2, which resends the visit of 23:59:30 the day before and is
    # r1's only check-in on 2026-03-03. s2 names v4, a resend of v3 on the
    # same day, and s3 the kept visit v5 of a day without a midnight resend.
    rows = company(0)
    rows["visits"] = visits_at_o1(
        ("v1", "2026-03-02T23:59:30"),
        ("v2", "2026-03-03T00:00:30"),
        ("v3", "2026-03-04T09:00:00"),
        ("v4", "2026-03-04T09:01:00"),
        ("v5", "2026-03-05T09:00:00"),
    )
    rows["orders"] = [
        {"order_id": "s1", "visit_id": "v2", "rep_id": "r1", "outlet_id": "o1", "ordered_at": "2026-03-03T00:05:00", "value": 50.0},
        {"order_id": "s2", "visit_id": "v4", "rep_id": "r1", "outlet_id": "o1", "ordered_at": "2026-03-04T09:05:00", "value": 50.0},
        {"order_id": "s3", "visit_id": "v5", "rep_id": "r1", "outlet_id": "o1", "ordered_at": "2026-03-05T09:05:00", "value": 50.0},
    ]  # fmt: skip
    if engine_name == "sqlite":
        url = f"sqlite:///{tmp_path / 'sfa.sqlite'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    engine = fill_database(url, rows)
    days = Period(first_day, date(2026, 3, 5), "UTC")

    try:
        affected = health_queries.affected_rows(
            engine, days, Scope(), Settings(), kinds=("order_off_visit_day",)
        )
        counts = health_queries.health_counts(engine, days, Scope(), Settings())
    finally:
        engine.dispose()

    assert affected["record_id"].tolist() == ["s1"]
    off_day = counts.loc[counts["kind"] == "order_off_visit_day", "affected"]
    assert off_day.tolist() == [1]
