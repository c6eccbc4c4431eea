"""Snapshot tests: the picture is the contract. A fixed replay (made-up prices from a formula), a fixed
clock and a fixed time zone, so the screen is the same on every run.

After an intended change of the look: `pytest tests/test_snapshots.py --snapshot-update`, then look at
the new SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fakes.fixed_replay import write_fixed_replay
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from uitools import settings_for, wait_for

from services.sources.replay import ReplaySource
from tui.app import BreakoutMonitorApp
from tui.cli import replay_as_of

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local times (the status bar's "updated") in one zone whatever the machine's."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def replay_app(tmp_path: Path) -> BreakoutMonitorApp:
    source = ReplaySource.open([write_fixed_replay(tmp_path / "replay")])
    return BreakoutMonitorApp(settings_for(tmp_path), source, clock=lambda: NOW, as_of=replay_as_of(source))


async def until_ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, BreakoutMonitorApp)

    def ready() -> bool:
        snap = app.main.snapshot
        return (
            snap is not None
            and snap.report is not None
            and all(s.indicators is not None for s in snap.symbols.values())
        )

    await wait_for(pilot, ready)
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_dashboard(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(replay_app(tmp_path), terminal_size=size, run_before=until_ready)


def test_breakout_panel(snap_compare: Any, tmp_path: Path) -> None:
    """The panel alone, as wide as on a 120-column dashboard, tall enough for every line."""
    from widgets.breakout_panel import BreakoutPanel

    source_app = replay_app(tmp_path)

    class PanelApp(App[None]):
        def compose(self) -> ComposeResult:
            yield BreakoutPanel()

    async def show(pilot: Pilot[Any]) -> None:
        async with source_app.run_test(size=(120, 40)) as inner:
            await until_ready(inner)
            snap = source_app.main.snapshot
        assert snap is not None
        pilot.app.query_one(BreakoutPanel).show(snap)
        await pilot.pause(0.1)

    assert snap_compare(PanelApp(), terminal_size=(60, 36), run_before=show)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_chart(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    """View 2 on the fixed replay: ^RUT's daily candles through the level, with SMAs and targets."""

    async def chart_of_rut(pilot: Pilot[Any]) -> None:
        await until_ready(pilot)
        await pilot.press("2", "tab", "tab")  # IWM -> SPY -> ^RUT
        await pilot.pause(0.2)

    assert snap_compare(replay_app(tmp_path), terminal_size=size, run_before=chart_of_rut)
