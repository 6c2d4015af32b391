"""KPI figures built from the database's counts, and the report command."""
