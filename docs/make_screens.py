"""Regenerate the README's screenshots: each view at 120x40, as SVG written by the app itself.

    python docs/make_screens.py

Runs on the fixed replay of the snapshot tests (made-up prices from a formula, tests/fakes/fixed_replay.py),
with a fixed clock, so the pictures only change when the look does.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.fixed_replay import write_fixed_replay  # noqa: E402

from services.sources.replay import ReplaySource  # noqa: E402
from tui.app import BreakoutMonitorApp  # noqa: E402
from tui.cli import replay_as_of  # noqa: E402
from tui.config import Settings  # noqa: E402

OUT = ROOT / "docs" / "screens"
VIEWS = {"1": "dashboard", "2": "chart", "3": "indicators", "4": "strength", "5": "history", "6": "journal"}


async def main() -> None:
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        source = ReplaySource.open([write_fixed_replay(t / "replay")])
        settings = Settings(use_cache=False, cache_dir=t / "c", log_dir=t / "l", data_dir=t / "d")
        app = BreakoutMonitorApp(
            settings, source, clock=lambda: datetime(2026, 11, 24, 15, tzinfo=UTC), as_of=replay_as_of(source)
        )
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(500):
                snap = app.main.snapshot
                if snap is not None and snap.report is not None:
                    break
                await pilot.pause(0.02)
            await pilot.pause(0.5)
            OUT.mkdir(parents=True, exist_ok=True)
            for key, name in VIEWS.items():
                await pilot.press(key)
                if name == "chart":
                    await pilot.press("tab", "tab")  # ^RUT
                await pilot.pause(0.3)
                app.save_screenshot(f"{name}.svg", str(OUT))
                print(OUT / f"{name}.svg")
                if name == "chart":
                    await pilot.press("shift+tab", "shift+tab")


if __name__ == "__main__":
    asyncio.run(main())
