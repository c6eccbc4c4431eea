"""Market-data sources: Yahoo (live), demo (generated) and replay (CSV)."""
