"""Data sources, cache, indicators, breakout engine and refresh scheduling. Never imports Textual."""
