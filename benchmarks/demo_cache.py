"""A bar cache as a live run leaves it (every symbol's daily history and its last quote), filled from the
demo market: run.py's offline start-up row and refresh_cost.py's live path start from it.

Imports the app's services only when called: run.py itself stays a light harness."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path


async def fill_demo_cache(cache_dir: Path, today: date | None = None) -> None:
    from services.cache import BarStore
    from services.models import Interval
    from services.sources.demo import DEMO_SYMBOLS, DemoSource

    source = DemoSource("breakout", today=today)
    history = await source.history(DEMO_SYMBOLS, Interval.DAILY)
    quotes = await source.quotes(DEMO_SYMBOLS)
    store = BarStore.in_dir(cache_dir)
    try:
        for series in history.bars.values():
            store.save_bars(series)
        for quote in quotes.quotes.values():
            store.save_quote(quote, datetime.now(UTC))
    finally:
        store.close()
