"""Weekly data health counts equal health_counts run on each week alone.

Three weeks, Monday 2026-03-02 to Sunday 2026-03-22, in Asia/Kolkata
(UTC+05:30), so a local midnight falls at 18:30 UTC. "Now" is Wednesday
2026-03-11 12:00 UTC. Each case sits near a week boundary:

- a2 resends a1 70 s later, across the midnight that starts week 2.
- b1 (Mumbai) and b2 (Delhi, 20 minutes later) fall on two dates, so b2 is
  not impossible travel. b4 is, because b3 is on the same date.
- Order x1 is dated 10 minutes after r3's visit f1, but on the next date.
- Asha (r1) moved from T1 to T2 on Monday 03-09, the first day of week 2.
"""

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from data_access.health_queries import DATED_KINDS, health_counts, weekly_health_counts
from fixtures.demo import MIN_REPS, generate
from tests.database import fill_database, sqlite_database

SETTINGS = Settings(timezone="Asia/Kolkata")
SPAN = Period(date(2026, 3, 2), date(2026, 3, 22), "Asia/Kolkata")
WEEK_STARTS = [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
NOW = datetime(2026, 3, 11, 12, 0)

MUMBAI_O1 = (19.0, 72.8)
MUMBAI_O2 = (19.0, 72.9)
PUNE_O3 = (18.52, 73.85)
DELHI_O8 = (28.6, 77.2)


def visit(visit_id, rep_id, outlet_id, check_in, fix, check_out=None):
    latitude, longitude = fix
    return {
        "visit_id": visit_id, "rep_id": rep_id, "outlet_id": outlet_id,
        "check_in": check_in, "check_out": check_out,
        "latitude": latitude, "longitude": longitude,
    }  # fmt: skip


def order(order_id, rep_id, outlet_id, ordered_at, value, visit_id=None):
    return {
        "order_id": order_id, "rep_id": rep_id, "outlet_id": outlet_id,
        "ordered_at": ordered_at, "value": value, "visit_id": visit_id,
        "line_count": 1,
    }  # fmt: skip


ROWS = {
    "regions": [{"region_id": "W", "name": "West"}],
    "territories": [
        {"territory_id": "T1", "name": "Mumbai", "region_id": "W"},
        {"territory_id": "T2", "name": "Pune", "region_id": "W"},
    ],
    "reps": [
        {"rep_id": "r1", "name": "Asha", "territory_id": "T2", "manager_id": "m1"},
        {"rep_id": "r2", "name": "Bilal", "territory_id": "T1", "manager_id": "m1"},
        {"rep_id": "r3", "name": "Chen", "territory_id": "T2", "manager_id": "m2"},
    ],
    "rep_territories": [
        {
            "rep_id": "r1",
            "territory_id": "T1",
            "valid_from": "2026-01-01",
            "valid_to": "2026-03-08",
        },
        {"rep_id": "r1", "territory_id": "T2", "valid_from": "2026-03-09"},
    ],  # fmt: skip
    "outlets": [
        {"outlet_id": "o1", "territory_id": "T1", "latitude": 19.0, "longitude": 72.8},
        {"outlet_id": "o2", "territory_id": "T1", "latitude": 19.0, "longitude": 72.9},
        {
            "outlet_id": "o3",
            "territory_id": "T2",
            "latitude": 18.52,
            "longitude": 73.85,
        },
        {"outlet_id": "o8", "territory_id": "T1", "latitude": 28.6, "longitude": 77.2},
    ],  # fmt: skip
    "visits": [
        # Sunday 23:59:30 local, and its resend on Monday 00:00:40.
        visit("a1", "r1", "o1", "2026-03-08 18:29:30", MUMBAI_O1),
        visit("a2", "r1", "o1", "2026-03-08 18:30:40", MUMBAI_O1),
        # Sunday 23:50 in Mumbai, then Monday 00:10 in Delhi.
        visit("b1", "r2", "o1", "2026-03-08 18:20:00", MUMBAI_O1),
        visit("b2", "r2", "o8", "2026-03-08 18:40:00", DELHI_O8),
        # Tuesday 09:30 in Mumbai, then 10:00 in Delhi.
        visit("b3", "r2", "o1", "2026-03-10 04:00:00", MUMBAI_O1),
        visit("b4", "r2", "o8", "2026-03-10 04:30:00", DELHI_O8),
        # Check-ins after now. c3 is at Monday 00:01 local, just inside week 3.
        visit("c1", "r3", "o3", "2026-03-12 05:00:00", PUNE_O3),
        visit("c2", "r3", "o3", "2026-03-17 05:00:00", PUNE_O3),
        visit("c3", "r3", "o3", "2026-03-15 18:31:00", PUNE_O3),
        # d1: Monday 00:05 local of week 1, without a fix. d2: Sunday 23:55
        # local, the day before the span, at (0, 0). d3: Sunday 23:59 local
        # of week 3, at (0, 0). d4: Monday 00:01 local after the span, out of
        # range.
        visit("d1", "r3", "o3", "2026-03-01 18:35:00", (None, None)),
        visit("d2", "r3", "o3", "2026-03-01 18:25:00", (0.0, 0.0)),
        visit("d3", "r3", "o3", "2026-03-22 18:29:00", (0.0, 0.0)),
        visit("d4", "r3", "o3", "2026-03-22 18:31:00", (95.0, 73.85)),
        # e1 is 13.5 hours long, e2 checked out 20 minutes before checking
        # in, e3 names an unknown rep and e4 has latitude and longitude
        # swapped.
        visit(
            "e1", "r2", "o2", "2026-03-03 04:00:00", MUMBAI_O2, "2026-03-03 17:30:00"
        ),
        visit(
            "e2", "r2", "o2", "2026-03-04 05:00:00", MUMBAI_O2, "2026-03-04 04:40:00"
        ),
        visit("e3", "r9", "o2", "2026-03-13 06:00:00", MUMBAI_O2),
        visit("e4", "r2", "o2", "2026-03-18 06:00:00", (72.9, 19.0)),
        # Sunday 23:55 local of week 1.
        visit("f1", "r3", "o3", "2026-03-08 18:25:00", PUNE_O3),
    ],  # fmt: skip
    "orders": [
        # Monday 00:05 local: r3's visit f1 was on Sunday.
        order("x1", "r3", "o3", "2026-03-08 18:35:00", 40.0),
        # Linked to a1 of week 1. r1's only check-in on Monday is a2, a
        # resend of a1, so r1 made no visit on the order's date.
        order("x2", "r1", "o1", "2026-03-09 05:00:00", 25.0, "a1"),
        # A return at Sunday 23:59 local of week 2, on a day r2 made no visit.
        order("x3", "r2", "o2", "2026-03-15 18:29:00", -20.0),
        # No rep, an unknown outlet and a visit_id that names no visit.
        order("x4", None, "o9", "2026-03-16 03:00:00", 15.0, "v404"),
        # Monday 00:01 local after the span.
        order("x5", "r2", "o2", "2026-03-22 18:31:00", 10.0),
    ],
}

SCOPES = {
    "everything": Scope(),
    "territory-T1": Scope(territory_ids=("T1",)),
    "territory-T2": Scope(territory_ids=("T2",)),
    "region": Scope(region_ids=("W",)),
    "reps": Scope(rep_ids=("r1", "r3")),
    "manager": Scope(manager_id="m1"),
}

# Affected rows of each kind in weeks 1, 2 and 3, by scope name. Dated kinds
# that are not listed count 0 in every week.
EXPECTED = {
    "everything": {
        "duplicate_visit": [0, 1, 0],
        "check_out_before_check_in": [1, 0, 0],
        "long_visit": [1, 0, 0],
        # c1 and e3 in week 2, then c3, c2, e4 and d3 in week 3.
        "future_check_in": [0, 2, 4],
        "visit_without_gps": [1, 0, 0],
        "gps_at_zero": [0, 0, 1],
        "gps_swapped": [0, 0, 1],
        "impossible_travel": [0, 1, 0],
        "visit_unknown_reference": [0, 1, 0],
        "order_without_visit": [0, 2, 1],
        "order_unknown_outlet": [0, 0, 1],
        "order_unknown_rep": [0, 0, 1],
        "return_order": [0, 1, 0],
        # x1 and x3, and x2 beside the resend a2.
        "order_off_visit_day": [0, 3, 0],
    },
    # Asha's resend a2 falls on her first day in T2, so T1 has no duplicate.
    # Her order x2 is still in T1 through its outlet o1.
    "territory-T1": {
        "check_out_before_check_in": [1, 0, 0],
        "long_visit": [1, 0, 0],
        "future_check_in": [0, 0, 1],
        "gps_swapped": [0, 0, 1],
        "impossible_travel": [0, 1, 0],
        "order_without_visit": [0, 1, 0],
        "return_order": [0, 1, 0],
        "order_off_visit_day": [0, 2, 0],
    },
    "territory-T2": {
        "duplicate_visit": [0, 1, 0],
        "future_check_in": [0, 1, 3],
        "visit_without_gps": [1, 0, 0],
        "gps_at_zero": [0, 0, 1],
        "order_without_visit": [0, 1, 0],
        "order_off_visit_day": [0, 2, 0],
    },
}


def per_week(engine, scope: Scope) -> pd.DataFrame:
    """Run health_counts on each week alone, in the frame of weekly_health_counts."""
    frames = []
    for week_start in WEEK_STARTS:
        week = Period(week_start, week_start + timedelta(days=6), SPAN.timezone)
        counts = health_counts(engine, week, scope, SETTINGS, now=NOW)
        dated = counts[counts["kind"].isin(DATED_KINDS)]
        frames.append(
            pd.DataFrame(
                {
                    "week_start": week_start,
                    "kind": dated["kind"].to_list(),
                    "affected": dated["affected"].astype("int64").to_list(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def by_kind(weekly: pd.DataFrame) -> dict[str, list[int]]:
    """Map each kind with an affected row in some week to its weekly counts."""
    table = weekly.pivot(index="kind", columns="week_start", values="affected")
    return {
        kind: [int(count) for count in table.loc[kind]]
        for kind in DATED_KINDS
        if table.loc[kind].sum() > 0
    }


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = sqlite_database(tmp_path_factory.mktemp("weekly_health"), ROWS)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_weekly_counts_equal_each_week(engine, scope_name):
    scope = SCOPES[scope_name]

    result = weekly_health_counts(engine, SPAN, scope, SETTINGS, now=NOW)

    expected = per_week(engine, scope)
    pd.testing.assert_frame_equal(result, expected)


@pytest.mark.parametrize("scope_name", list(EXPECTED))
def test_weekly_counts_at_boundaries(engine, scope_name):
    weekly = weekly_health_counts(engine, SPAN, SCOPES[scope_name], SETTINGS, now=NOW)

    result = by_kind(weekly)

    assert result == EXPECTED[scope_name]


def test_weekly_counts_frame(engine):
    result = weekly_health_counts(engine, SPAN, Scope(), SETTINGS, now=NOW)

    assert list(result.columns) == ["week_start", "kind", "affected"]
    assert list(result["week_start"].unique()) == WEEK_STARTS
    assert list(result["kind"][: len(DATED_KINDS)]) == list(DATED_KINDS)
    assert str(result["affected"].dtype) == "int64"


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2026, 3, 3), date(2026, 3, 9)), (date(2026, 3, 2), date(2026, 3, 12))],
    ids=["starts-on-tuesday", "part-of-a-week"],
)
def test_span_of_partial_weeks_is_rejected(engine, start, end):
    span = Period(start, end, SPAN.timezone)

    with pytest.raises(
        ValueError, match="is not whole weeks starting on ISO weekday 1"
    ):
        weekly_health_counts(engine, span, Scope(), SETTINGS, now=NOW)


@pytest.mark.parametrize("scope_name", ["everything", "territory-T1", "territory-T2"])
def test_postgres_weekly_counts_equal_each_week(engine, fresh_postgres_url, scope_name):
    scope = SCOPES[scope_name]
    postgres = fill_database(fresh_postgres_url, ROWS)
    try:
        result = weekly_health_counts(postgres, SPAN, scope, SETTINGS, now=NOW)
        expected_on_postgres = per_week(postgres, scope)
    finally:
        postgres.dispose()

    pd.testing.assert_frame_equal(result, expected_on_postgres)
    assert by_kind(result) == EXPECTED[scope_name]


# The demo company's last 8 weeks, ending Sunday 2026-03-01.
DEMO_SPAN = Period(date(2026, 1, 5), date(2026, 3, 1), "Asia/Kolkata")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("weekly_health_demo") / "demo.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    generate(engine, reps=MIN_REPS, weeks=9, end_date=DEMO_SPAN.end)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("scope", [Scope(), Scope(territory_ids=("KOL",))])
def test_demo_weekly_counts_equal_each_week(demo, scope):
    now = datetime(2026, 2, 25, 12, 0)

    result = weekly_health_counts(demo, DEMO_SPAN, scope, SETTINGS, now=now)

    frames = []
    for back in range(8):
        week = Period(
            DEMO_SPAN.start + timedelta(weeks=back),
            DEMO_SPAN.start + timedelta(weeks=back, days=6),
            DEMO_SPAN.timezone,
        )
        counts = health_counts(demo, week, scope, SETTINGS, now=now)
        dated = counts[counts["kind"].isin(DATED_KINDS)]
        frames.append(
            pd.DataFrame(
                {
                    "week_start": week.start,
                    "kind": dated["kind"].to_list(),
                    "affected": dated["affected"].astype("int64").to_list(),
                }
            )
        )
    expected = pd.concat(frames, ignore_index=True)
    pd.testing.assert_frame_equal(result, expected)
    # The demo company has dirty data in every week, so the equality above
    # compares non-zero counts.
    assert (result.groupby("week_start")["affected"].sum() > 0).all()
