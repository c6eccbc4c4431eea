"""The footer rebuilds only when its keys change, and switching views for weeks leaks nothing."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from pathlib import Path

from fakes.scripted_source import thesis_source
from textual.widgets._footer import FooterKey
from uitools import screen_text, settings_for, wait_for

from tui.app import BreakoutMonitorApp

NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def footer_keys_alive() -> int:
    gc.collect()
    return sum(isinstance(o, FooterKey) for o in gc.get_objects())


async def test_switching_views_and_help_leaves_no_old_footer_keys_alive(tmp_path: Path) -> None:
    app = BreakoutMonitorApp(settings_for(tmp_path), thesis_source(), clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "255.90" in screen_text(app))
        await pilot.pause(0.2)
        for _ in range(3):  # every view and the help once, so each footer has been built
            for key in "234561":
                await pilot.press(key)
                await pilot.pause(0.05)
        await pilot.press("question_mark")
        await pilot.pause(0.1)
        await pilot.press("escape")
        await pilot.pause(0.2)
        before = footer_keys_alive()
        for _ in range(10):
            for key in "234561":
                await pilot.press(key)
                await pilot.pause(0.05)
            await pilot.press("question_mark")
            await pilot.pause(0.05)
            await pilot.press("escape")
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        after = footer_keys_alive()
        assert after <= before + 2, (before, after)  # Textual's own Footer: + ~14 keys per round
        bottom = screen_text(app).splitlines()[-1]
        assert "Help" in bottom and "Quit" in bottom
