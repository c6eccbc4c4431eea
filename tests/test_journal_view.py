"""View 6 under Pilot: the journal's entries newest first, the filter key, scrolling, and the price flash."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes.scripted_source import thesis_source
from uitools import screen_text, settings_for, wait_for

from tui.app import BreakoutMonitorApp
from tui.screens.journal_view import JournalView

NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def lines_with_dates(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln[:4] == "2026" or ln[:4] == "2025"]


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_journal_lists_events_newest_first_and_filters_by_kind(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    app = BreakoutMonitorApp(settings_for(tmp_path), thesis_source(), clock=lambda: NOW)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: bool(app.main.query_one(JournalView).entries))
        await pilot.press("6")
        await wait_for(pilot, lambda: "entries" in screen_text(app))
        view = app.main.query_one(JournalView)
        text = screen_text(app)
        # The scripted ^RUT: a breakout on 11-19, a retest on 11-20, confirmed on 11-23.
        assert f"{len(view.entries)} of {len(view.entries)} entries" in text and "filter: all" in text
        dated = lines_with_dates(text)
        assert "confirmed" in dated[0] and "2026-11-23" in dated[0]
        assert [d[:10] for d in dated] == sorted((d[:10] for d in dated), reverse=True)
        await pilot.press("f")  # state changes only
        await pilot.pause()
        text = screen_text(app)
        assert "filter: state changes" in text and "retest:" not in text
        await pilot.press("f", "f")  # retests
        await pilot.pause()
        text = screen_text(app)
        assert "filter: retests" in text
        assert all("retest" in ln for ln in lines_with_dates(text))
        for _ in range(3):
            await pilot.press("f")
        await pilot.pause()
        assert "filter: all" in screen_text(app)
        await pilot.press("j", "k", "G", "g")  # scrolling never fails on a short list
        assert app.main.current_view is view


async def test_a_moved_price_flashes_then_settles(tmp_path: Path) -> None:
    source = thesis_source()
    app = BreakoutMonitorApp(settings_for(tmp_path), source, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "255.90" in screen_text(app))
        card = app.main.query_one("#card-sym-IWM")
        assert not card.flash.active  # type: ignore[attr-defined]
        source.prices["IWM"] = 256.40
        app.main.refresh_feed()
        await wait_for(pilot, lambda: "256.40" in screen_text(app))
        assert card.flash.active and "success" in card.flash.style  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: not card.flash.active, limit=3)  # type: ignore[attr-defined]
        assert card.flash.style == "bold"  # type: ignore[attr-defined]
        source.prices["IWM"] = 250.00
        app.main.refresh_feed()
        await wait_for(pilot, lambda: "250.00" in screen_text(app))
        assert "error" in card.flash.style  # type: ignore[attr-defined]


async def test_with_animations_off_a_moved_price_does_not_flash(tmp_path: Path) -> None:
    """`--low-bandwidth` (or TEXTUAL_ANIMATIONS=none): a flash costs two frames; the price just changes."""
    source = thesis_source()
    app = BreakoutMonitorApp(settings_for(tmp_path, low_bandwidth=True), source, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.animation_level == "none"
        await wait_for(pilot, lambda: "255.90" in screen_text(app))
        card = app.main.query_one("#card-sym-IWM")
        source.prices["IWM"] = 256.40
        app.main.refresh_feed()
        await wait_for(pilot, lambda: "256.40" in screen_text(app))
        assert not card.flash.active and card.flash.style == "bold"  # type: ignore[attr-defined]
