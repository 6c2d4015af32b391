"""Tables of the shared SFA database and the indexes the queries rely on.

Identifiers are text. Timestamps are stored as naive UTC values, because SQLite
has no time-zone-aware type; queries convert them to the business time zone.
No foreign keys are declared: real exports contain orders for unknown outlets
and visits by unknown reps, and those rows must load so data health can count
them.
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
    sa.Index("ix_visits_outlet_check_in", "outlet_id", "check_in"),
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

# Load order: a table's rows never depend on a later one, which keeps the
# loader's error messages in the order a person fixes them.
TABLES: dict[str, sa.Table] = {
    table.name: table
    for table in (
        regions,
        territories,
        reps,
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
