"""The dashboard's pages and the helpers they share."""
