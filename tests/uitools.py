"""Helpers for driving the app under `App.run_test()`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from textual.app import App
from textual.pilot import Pilot

from tui.config import Settings


def settings_for(tmp_path: Path, **kw: object) -> Settings:
    """Settings that never touch the user's own config, cache or log directories."""
    base = {
        "use_cache": False,
        "cache_dir": tmp_path / "cache",
        "log_dir": tmp_path / "logs",
        "data_dir": tmp_path / "data",
    }
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


def screen_text(app: App[object]) -> str:
    """The text on the terminal, line by line (the top screen, as a user would read it)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


async def wait_for(pilot: Pilot[object], cond: Callable[[], bool], limit: float = 10.0) -> None:
    """Let the app run until `cond()` holds."""
    async with asyncio.timeout(limit):
        while not cond():
            await pilot.pause(0.02)
