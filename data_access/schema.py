"""Tables of the shared SFA database and the indexes the queries rely on.

Identifiers are text. Timestamps are stored as naive UTC values, because SQLite
has no time-zone-aware type; queries convert them to the business time zone.
No foreign keys are declared: real exports contain orders for unknown outlets
and reps, and those rows must load so data health can count them. Other
systems may write the shared database too, so the queries never assume that a
reference resolves.
"""

import sqlalchemy as sa

metadata = sa.MetaData()

regions = sa.Table(
    "regions",
    metadata,
    sa.Column("region_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text),
)

territories = sa.Table(
    "territories",
    metadata,
    sa.Column("territory_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("region_id", sa.Text, index=True),
)

reps = sa.Table(
    "reps",
    metadata,
    sa.Column("rep_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("territory_id", sa.Text, index=True),
    sa.Column("manager_id", sa.Text, index=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)

outlets = sa.Table(
    "outlets",
    metadata,
    sa.Column("outlet_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("territory_id", sa.Text, index=True),
    sa.Column("latitude", sa.Float),
    sa.Column("longitude", sa.Float),
    sa.Column("channel", sa.Text),
    sa.Column("outlet_class", sa.Text),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)


def is_active(table: sa.FromClause) -> sa.ColumnElement[bool]:
    """Test whether a reps or outlets row is active, the one reading of the
    active column that every query and frame uses.

    A row is active only when active is stored as true: PostgreSQL's true,
    SQLite's integer 1. SQLite keeps whatever value another program writes,
    and each other value, such as 2, the text 'true' or NULL, reads as
    inactive (has_invalid_active finds them). Text that SQLite converts to
    a number in a column of create_tables, such as '1', is stored as that
    number. PostgreSQL parses the text 'true' into true when it is written,
    so there the same INSERT stores an active row.
    """
    return table.c.active.is_(True)


def has_invalid_active(table: sa.FromClause) -> sa.ColumnElement[bool]:
    """Test whether a reps or outlets row stores an active value that is
    neither true nor false, which is_active reads as inactive.

    PostgreSQL's boolean column with NOT NULL rejects such values, so only
    SQLite stores them.
    """
    active = table.c.active
    return sa.not_(sa.or_(active.is_(True), active.is_(False)))


beats = sa.Table(
    "beats",
    metadata,
    sa.Column("beat_id", sa.Text, primary_key=True),
    sa.Column("rep_id", sa.Text, index=True),
    sa.Column("name", sa.Text),
    # ISO weekday: 1 is Monday, 7 is Sunday.
    sa.Column("weekday", sa.Integer, nullable=False),
    # 1 weekly, 2 fortnightly, 4 four-weekly.
    sa.Column("every_n_weeks", sa.Integer, nullable=False, server_default="1"),
    sa.Column("start_date", sa.Date, nullable=False),
    # Inclusive; NULL means the beat runs on.
    sa.Column("end_date", sa.Date),
)

beat_outlets = sa.Table(
    "beat_outlets",
    metadata,
    sa.Column("beat_id", sa.Text, primary_key=True),
    sa.Column("outlet_id", sa.Text, primary_key=True, index=True),
)

# Which territory a rep belonged to over time. Optional: without a row that
# covers a date, the rep counts for reps.territory_id.
rep_territories = sa.Table(
    "rep_territories",
    metadata,
    sa.Column("rep_id", sa.Text, primary_key=True),
    sa.Column("territory_id", sa.Text, nullable=False, index=True),
    sa.Column("valid_from", sa.Date, primary_key=True),
    # Inclusive; NULL means the rep is still there.
    sa.Column("valid_to", sa.Date),
)

visits = sa.Table(
    "visits",
    metadata,
    sa.Column("visit_id", sa.Text, primary_key=True),
    sa.Column("rep_id", sa.Text),
    sa.Column("outlet_id", sa.Text),
    sa.Column("check_in", sa.DateTime, nullable=False),
    sa.Column("check_out", sa.DateTime),
    sa.Column("latitude", sa.Float),
    sa.Column("longitude", sa.Float),
    sa.Column("no_order_reason", sa.Text),
    sa.Index("ix_visits_check_in", "check_in"),
    sa.Index("ix_visits_rep_check_in", "rep_id", "check_in"),
    # On PostgreSQL the index also stores rep_id, so that skip_details finds a
    # rep's last check-in at each skipped outlet by an index-only scan and not
    # by reading a table page per visit. On the national demo company's week
    # (2,000 reps, PostgreSQL 15, 2-core Xeon at a load average of 3 to 4),
    # that took skip_details from 1.6 s to 0.6 s. For 2.4 million visits the
    # index grew from 72 to 93 MB and took as long to build (1.8 s).
    # SQLAlchemy leaves the option out of SQLite's DDL.
    # NOTE: create_tables leaves an existing index as it is, so a database
    # created earlier gets rep_id in it only when a load into empty tables
    # rebuilds the indexes.
    sa.Index(
        "ix_visits_outlet_check_in",
        "outlet_id",
        "check_in",
        postgresql_include=["rep_id"],
    ),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("order_id", sa.Text, primary_key=True),
    sa.Column("outlet_id", sa.Text),
    sa.Column("rep_id", sa.Text),
    sa.Column("visit_id", sa.Text, index=True),
    sa.Column("ordered_at", sa.DateTime, nullable=False),
    # In the company's currency; negative values are returns.
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("line_count", sa.Integer),
    sa.Index("ix_orders_ordered_at", "ordered_at"),
    sa.Index("ix_orders_outlet_ordered_at", "outlet_id", "ordered_at"),
)

users = sa.Table(
    "users",
    metadata,
    # The login e-mail.
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text),
    # admin, regional_head (scope_id is a region_id) or line_manager.
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("scope_id", sa.Text),
)

territory_boundaries = sa.Table(
    "territory_boundaries",
    metadata,
    sa.Column("territory_id", sa.Text, primary_key=True),
    # A GeoJSON Polygon or MultiPolygon in WGS84 longitude/latitude.
    sa.Column("geojson", sa.Text, nullable=False),
)

# Summary tables, written by `python -m data_access.summaries` and by the
# loader for the dates it touched, never by the dashboard. They hold the
# period queries' counts per rep and day, per rep, outlet and week, per outlet
# and week, and per territory and week, so a multi-week view reads thousands of
# rows in place of millions of visits. Distinct outlets cannot be summed over
# days, hence the weekly tables. summary_weeks records which weeks are built,
# with the settings they were counted under and the raw row counts behind them.

summary_weeks = sa.Table(
    "summary_weeks",
    metadata,
    # First local date of the week; weeks start on the settings' week_start.
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("timezone", sa.Text, nullable=False),
    sa.Column("first_weekday", sa.Integer, nullable=False),
    sa.Column("duplicate_window_s", sa.Float, nullable=False),
    sa.Column("off_site_m", sa.Float, nullable=False),
    # The version of the counting rules the week was built under
    # (data_access.summaries.COUNTING_RULES).
    sa.Column("counting_rules", sa.Integer, nullable=False),
    # Rows of visits and orders in the week when it was built, and the active
    # outlets then: a different count now means the week is stale.
    sa.Column("visit_rows", sa.Integer, nullable=False),
    sa.Column("order_rows", sa.Integer, nullable=False),
    sa.Column("active_outlets", sa.Integer, nullable=False),
    # Naive UTC.
    sa.Column("built_at", sa.DateTime, nullable=False),
)

summary_rep_days = sa.Table(
    "summary_rep_days",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("rep_id", sa.Text, primary_key=True),
    # The rep's territory on that day when it was built (rep_territories
    # history first, else reps.territory_id).
    sa.Column("territory_id", sa.Text),
    *(
        sa.Column(name, sa.Integer, nullable=False)
        for name in (
            "visits",
            "productive_visits",
            "order_lines",
            "off_beat_visits",
            "off_site_visits",
            "visits_without_fix",
            "planned_calls",
            "calls_on_plan",
            "orders",
            "order_rows",
        )
    ),
    sa.Column("order_value", sa.Float, nullable=False),
    sa.Column("return_value", sa.Float, nullable=False),
    # Seconds from the day's first check-in to its last visit end, which is the
    # check-out, or the check-in when the check-out is missing or earlier. It is
    # 0 on a day without visits.
    sa.Column("time_in_market_s", sa.Float, nullable=False),
    sa.Index("ix_summary_rep_days_rep_day", "rep_id", "day"),
)

summary_rep_outlet_weeks = sa.Table(
    "summary_rep_outlet_weeks",
    metadata,
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("rep_id", sa.Text, primary_key=True),
    sa.Column("outlet_id", sa.Text, primary_key=True),
    sa.Column("planned_calls", sa.Integer, nullable=False),
    sa.Column("visits", sa.Integer, nullable=False),
    # The first and last planned dates of the week, NULL without a planned call.
    sa.Column("first_plan_date", sa.Date),
    sa.Column("last_plan_date", sa.Date),
    # Count of kept visits farther than off_site_m metres from the outlet and
    # without a positive linked order. The calls at risk report prices them.
    sa.Column("unproductive_off_site_visits", sa.Integer, nullable=False),
    # A rep's rows of a period in one index range, with the columns that the
    # planned and skipped outlet counts read, so those counts read no table row.
    sa.Index(
        "ix_summary_rep_outlet_weeks_rep_week",
        "rep_id",
        "week_start",
        "outlet_id",
        "planned_calls",
        "visits",
    ),
)

# Per rep and week, the outlets with a planned call of the rep and those of
# them the rep did not visit in the week: summary_rep_outlet_weeks summed per
# rep, for the weekly trend. A week built before this table has no rows.
summary_rep_weeks = sa.Table(
    "summary_rep_weeks",
    metadata,
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("rep_id", sa.Text, primary_key=True),
    sa.Column("planned_outlets", sa.Integer, nullable=False),
    sa.Column("skipped_outlets", sa.Integer, nullable=False),
)

# The skipped planned calls of each rep, outlet and week (the rows of
# summary_rep_outlet_weeks with planned calls and no visit by the rep), with
# the outlet's order history of the weeks from history_start to the week
# before: its productive visits and their positive linked order value. Like
# summary_outlet_trend, a row is deleted when a week from history_start on is
# rebuilt, and counted again once those weeks are all summarised.
summary_skipped_calls = sa.Table(
    "summary_skipped_calls",
    metadata,
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("rep_id", sa.Text, primary_key=True),
    sa.Column("outlet_id", sa.Text, primary_key=True),
    sa.Column("history_start", sa.Date, nullable=False),
    sa.Column("skipped_calls", sa.Integer, nullable=False),
    sa.Column("history_productive_visits", sa.Integer, nullable=False),
    sa.Column("history_order_value", sa.Float, nullable=False),
)

# Per rep and week, the skipped planned calls of summary_skipped_calls and
# their revenue at risk: each outlet's calls times its expected call value,
# summed. A call's expected value is the outlet's order value per productive
# visit in its history weeks, else its territory's in summary_territory_weeks
# over the same weeks, else unknown. revenue_at_risk is NULL when none of the
# rep's skipped outlets has a price. Only reps with a skipped call have a
# row. As for summary_skipped_calls, rebuilding any week from history_start
# to week_start deletes the row, and the next build writes it again.
summary_rep_week_risk = sa.Table(
    "summary_rep_week_risk",
    metadata,
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("rep_id", sa.Text, primary_key=True),
    sa.Column("history_start", sa.Date, nullable=False),
    sa.Column("skipped_calls", sa.Integer, nullable=False),
    sa.Column("revenue_at_risk", sa.Float),
)

summary_outlet_weeks = sa.Table(
    "summary_outlet_weeks",
    metadata,
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("outlet_id", sa.Text, primary_key=True),
    sa.Column("visits", sa.Integer, nullable=False),
    sa.Column("planned_calls", sa.Integer, nullable=False),
    # Positive orders dated in the week, by order date.
    sa.Column("order_value", sa.Float, nullable=False),
    # The week's kept visits with a positive linked order, and the value of
    # those orders, by visit date. This order history prices a skipped call.
    sa.Column("productive_visits", sa.Integer, nullable=False),
    sa.Column("linked_order_value", sa.Float, nullable=False),
    # Local date of the outlet's last kept visit in the week, as the neglect
    # window reads it (a resend has the date of the visit it repeats). It is
    # NULL when no visit was kept in the week.
    sa.Column("last_visit_date", sa.Date),
    # An outlet's weeks in one index range, with the columns that the trend's
    # week flags and the order history of skipped calls read, so those
    # queries seek each outlet's weeks and read no table row.
    sa.Index(
        "ix_summary_outlet_weeks_outlet_week",
        "outlet_id",
        "week_start",
        "visits",
        "planned_calls",
        "last_visit_date",
        "productive_visits",
        "linked_order_value",
    ),
)

summary_territory_weeks = sa.Table(
    "summary_territory_weeks",
    metadata,
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("territory_id", sa.Text, primary_key=True),
    sa.Column("active_outlets", sa.Integer, nullable=False),
    sa.Column("visited_outlets", sa.Integer, nullable=False),
    # Productive visits and their positive linked order value over every
    # outlet of the territory, active or not: the territory's order history
    # that prices a skipped call. Territories with inactive outlets only have
    # rows with active_outlets 0.
    sa.Column("productive_visits", sa.Integer, nullable=False),
    sa.Column("linked_order_value", sa.Float, nullable=False),
)

# The outlet figures of the trend per week and territory, counted for every
# active outlet by the rules of review_queries.weekly_outlet_figures under the
# neglect windows in neglect_rule (outlet_trend.neglect_rule). territory_id is
# NULL for the outlets without a territory. A neglect window reaches into the
# weeks before, from reach_start on: rebuilding any of those weeks deletes
# the row, and the build counts it again once they are all summarised.
summary_outlet_trend = sa.Table(
    "summary_outlet_trend",
    metadata,
    sa.Column("week_start", sa.Date, nullable=False),
    sa.Column("territory_id", sa.Text),
    sa.Column("reach_start", sa.Date, nullable=False),
    sa.Column("neglect_rule", sa.Text, nullable=False),
    *(
        sa.Column(name, sa.Integer, nullable=False)
        for name in (
            "active_outlets",
            "visited_outlets",
            "neglected_outlets",
            "overdue_outlets",
        )
    ),
    sa.Index("ix_summary_outlet_trend_week", "week_start"),
)

# The territories report's outlet facts of each week: the active outlets with
# a territory, counted per territory, class, visited and planned marks, beat
# membership and last visit date since lookback_start (the first day of the
# longest neglect window, see outlet_trend.neglect_lookback_start). Like
# summary_outlet_trend, a row is deleted when a week from lookback_start on
# is rebuilt, and counted again once those weeks are all summarised.
summary_outlet_flags = sa.Table(
    "summary_outlet_flags",
    metadata,
    sa.Column("week_start", sa.Date, nullable=False),
    sa.Column("lookback_start", sa.Date, nullable=False),
    sa.Column("territory_id", sa.Text, nullable=False),
    sa.Column("outlet_class", sa.Text),
    sa.Column("visits", sa.Integer, nullable=False),
    sa.Column("planned", sa.Integer, nullable=False),
    sa.Column("on_beat", sa.Integer, nullable=False),
    sa.Column("last_visit_date", sa.Date),
    sa.Column("outlets", sa.Integer, nullable=False),
    sa.Index("ix_summary_outlet_flags_week", "week_start", "lookback_start"),
)

# Data health per local date: the affected rows of each dated kind except
# future_check_in, per rep, and per outlet for the order kinds (whose scope
# also takes an order placed at an outlet in scope). Counted for the
# unrestricted scope, so a scope is applied when reading. rep_id is NULL for
# an order of no known rep, outlet_id NULL for the visit kinds.
summary_health_days = sa.Table(
    "summary_health_days",
    metadata,
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("rep_id", sa.Text),
    sa.Column("outlet_id", sa.Text),
    sa.Column("affected", sa.Integer, nullable=False),
    sa.Index("ix_summary_health_days_day", "day"),
)

# The weeks whose summary_health_days rows are built, with the data health
# limits they were judged by. A week built before data health was summarised
# has no row here, so its data health is read from the raw tables.
summary_health_weeks = sa.Table(
    "summary_health_weeks",
    metadata,
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("max_visit_hours", sa.Float, nullable=False),
    sa.Column("max_speed_kmh", sa.Float, nullable=False),
)

SUMMARY_TABLES: dict[str, sa.Table] = {
    table.name: table
    for table in (
        summary_weeks,
        summary_rep_days,
        summary_rep_outlet_weeks,
        summary_rep_weeks,
        summary_skipped_calls,
        summary_rep_week_risk,
        summary_outlet_weeks,
        summary_territory_weeks,
        summary_outlet_trend,
        summary_outlet_flags,
        summary_health_days,
        summary_health_weeks,
    )
}

# Load order: a table's rows never depend on a later one, which keeps the
# loader's error messages in the order a person fixes them.
TABLES: dict[str, sa.Table] = {
    table.name: table
    for table in (
        regions,
        territories,
        reps,
        rep_territories,
        outlets,
        beats,
        beat_outlets,
        visits,
        orders,
        users,
        territory_boundaries,
    )
}


def create_tables(engine: sa.Engine) -> None:
    """Create every missing table and index; existing ones are left as they are."""
    metadata.create_all(engine)
