"""SQL layer: schema, engines, the loader and the scoped, date-bounded queries."""
