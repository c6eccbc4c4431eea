"""The app under Pilot: what is on screen, and what every key does."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from fakes.scripted_source import ScriptedSource, daily_series
from textual.command import CommandPalette
from textual.widgets import ContentSwitcher
from uitools import screen_text, settings_for, wait_for

from services.market_hours import NEW_YORK
from services.models import ErrorKind
from tui.app import BreakoutMonitorApp
from tui.screens.help import HelpScreen
from widgets.feed_banner import FeedBanner

NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def scripted(poll: float | None = None) -> ScriptedSource:
    return ScriptedSource(
        {
            "IWM": daily_series("IWM", [230.0 + i * 0.1 for i in range(260)], date(2026, 11, 23)),
            "SPY": daily_series("SPY", [600.0 + i * 0.2 for i in range(260)], date(2026, 11, 23)),
            "^RUT": daily_series("^RUT", [2400.0] * 257 + [2566.0, 2570.0, 2575.0], date(2026, 11, 23)),
            "^GSPC": daily_series("^GSPC", [6000.0 + i for i in range(260)], date(2026, 11, 23)),
            "^TNX": daily_series("^TNX", [4.0 + i * 0.001 for i in range(260)], date(2026, 11, 23)),
            "^VIX": daily_series("^VIX", [18.0] * 260, date(2026, 11, 23)),
        },
        poll=poll,
        now=NOW,
    )


def make_app(tmp_path: Path, source: ScriptedSource) -> BreakoutMonitorApp:
    return BreakoutMonitorApp(settings_for(tmp_path), source, clock=lambda: NOW)


def ready(app: BreakoutMonitorApp) -> bool:
    snap = app.main.snapshot
    return snap is not None and all(s.indicators is not None for s in list(snap.symbols.values())[:2])


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_dashboard_shows_quotes_indicators_breakout_and_status(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    app = make_app(tmp_path, scripted())
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: ready(app))
        await pilot.pause()
        text = screen_text(app)
        assert "IWM" in text and "SPY" in text
        assert "255.90" in text and "651.80" in text  # last prices of the scripted series
        for sym in ("^RUT", "^GSPC", "^TNX", "^VIX"):
            assert sym in text
        assert "4.26 %" in text  # ^TNX is a yield, in percent
        assert "RSI 14" in text and "SMA 200" in text and "MACD" in text
        assert "Breakout" in text and "CONFIRMED" in text and "2,600" in text
        assert "scripted" in text and "REG" in text  # status bar: source and session
        assert "1 Dash" in text.splitlines()[0] and "Quit" in text.splitlines()[-1]  # view strip, footer
        lines = text.splitlines()
        assert len(lines) == size[1] and all(len(line) <= size[0] for line in lines)
        # Every panel ends (bottom border included) above the status bar: nothing is cut off.
        status_row = app.main.query_one("#status").region.y
        for panel in ("#readouts", "#breakout", "#cards", "#strip"):
            assert app.main.query_one(panel).region.bottom <= status_row, panel


async def test_help_lists_every_key_and_closes(tmp_path: Path) -> None:
    app = make_app(tmp_path, scripted())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: ready(app))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        lines = app.screen.query_one("#help-text").render().plain.splitlines()  # type: ignore[attr-defined]
        for key, words in (
            ("1", "Dashboard"),
            ("?", "help"),
            ("r", "Refresh now"),
            ("p", "Pause"),
            ("q", "Quit"),
        ):
            assert any(line.split()[:1] == [key] and words in line for line in lines if line.strip()), key
        assert any(
            line.split()[:1] == ["ctrl+p"] and "Command palette" in line for line in lines if line.strip()
        )
        assert "Refresh now" in screen_text(app)  # and it is really on screen
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)


async def test_a_screen_on_top_holds_the_ticks_and_closing_it_draws_the_latest(tmp_path: Path) -> None:
    """Help is a modal: the dashboard shows dimmed behind it, so a tick drawn there would repaint the
    whole terminal. Ticks wait while it is open; closing it draws the latest at once."""
    src = scripted(poll=0.05)
    app = BreakoutMonitorApp(settings_for(tmp_path), src)  # the real clock: the poll must come due
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: ready(app))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        src.prices["IWM"] = 261.37
        calls = len(src.quote_calls)
        await wait_for(pilot, lambda: len(src.quote_calls) > calls + 3)
        await wait_for(pilot, lambda: app.main.snapshot.symbols["IWM"].quote.last == 261.37)  # type: ignore[union-attr]
        await pilot.pause()
        assert "261.37" not in screen_text(app)  # not behind the help screen either
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        await wait_for(pilot, lambda: "261.37" in screen_text(app), limit=0.5)  # before the next tick


async def test_refresh_pause_and_resume_keys(tmp_path: Path) -> None:
    src = scripted()
    app = make_app(tmp_path, src)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: ready(app))
        calls = len(src.quote_calls)
        await pilot.press("r")
        await wait_for(pilot, lambda: len(src.quote_calls) > calls)
        await pilot.press("p")
        await wait_for(pilot, lambda: "PAUSED" in screen_text(app))
        assert "Resume" in screen_text(app) and app.main.paused
        await pilot.press("p")
        await wait_for(pilot, lambda: "PAUSED" not in screen_text(app))
        assert "Pause" in screen_text(app) and not app.main.paused


async def test_palette_dashboard_and_quit_keys(tmp_path: Path) -> None:
    app = make_app(tmp_path, scripted())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: ready(app))
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        await pilot.press("1")
        await pilot.pause()
        assert app.main.query_one("#views", ContentSwitcher).current == "dashboard"
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_a_source_error_shows_as_stale_not_as_a_crash(tmp_path: Path) -> None:
    src = scripted(poll=0.05)
    app = BreakoutMonitorApp(settings_for(tmp_path), src)  # the real clock: the poll must come due
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: ready(app))
        src.prices["IWM"] = 300.0
        src.quote_errors["IWM"] = ErrorKind.RATE_LIMITED
        await wait_for(pilot, lambda: "stale" in screen_text(app))
        text = screen_text(app)
        assert "255.90" in text and "300.00" not in text  # the last good price stays
        assert "scripted rate_limited" in text  # what went wrong, in the card and the banner
        banner = app.main.query_one(FeedBanner)
        assert banner.display and banner.region.height == 1
        assert banner.text.startswith("IWM: scripted rate_limited — retry")
        assert banner.text.endswith("; showing the last good values")
        # The banner sits on the line above the status bar, inside the screen.
        assert banner.region.bottom == app.main.query_one("#status").region.y
        del src.quote_errors["IWM"]
        await wait_for(pilot, lambda: "300.00" in screen_text(app), limit=15)
        assert "stale" not in screen_text(app)
        await wait_for(pilot, lambda: not banner.display)
        assert banner.text == ""


@pytest.mark.parametrize(
    ("scenario", "state", "size"),
    [("breakout", "CONFIRMED", (120, 40)), ("bulltrap", "FAILED", (80, 24)), ("range", "INSIDE", (120, 40))],
)
async def test_demo_dashboard_renders_iwm_spy_and_the_scenario_state(
    tmp_path: Path, scenario: str, state: str, size: tuple[int, int]
) -> None:
    from services.sources.demo import DemoSource

    day = date(2026, 11, 24)
    source = DemoSource(scenario, today=day)
    app = BreakoutMonitorApp(settings_for(tmp_path), source)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: ready(app))
        await pilot.pause()
        snap = app.main.snapshot
        assert snap is not None
        text = screen_text(app)
        # An independent demo instance played to the same minute gives the prices on screen.
        # (Played to the minute of the quote on screen, not the source's current minute: the next tick
        # may already be under way.)
        shown = snap.symbols["IWM"].quote
        assert shown is not None
        opening = datetime.combine(shown.trading_day, time(9, 30), NEW_YORK)
        minute = int((shown.time - opening).total_seconds() // 60)
        twin = DemoSource(scenario, today=day)
        twin.advance(minute - 1)
        expected = await twin.quotes(["IWM", "SPY"])
        for sym in ("IWM", "SPY"):
            q = snap.symbols[sym].quote
            assert (
                q is not None and q.last == expected.quotes[sym].last and q.time == expected.quotes[sym].time
            )
            assert sym in text and f"{q.last:,.2f}" in text
        assert state in text and f"demo: {scenario}" in text and "REG" in text
        assert "RSI 14" in text and "MACD" in text


async def test_replay_with_speed_plays_the_bars_forward(tmp_path: Path) -> None:
    from services.sources.replay import ReplaySource

    folder = tmp_path / "csv"
    folder.mkdir()
    days = []
    d = date(2025, 1, 2)
    while len(days) < 80:
        if d.weekday() < 5:
            days.append(d)
        d = date.fromordinal(d.toordinal() + 1)
    for sym, base in (("IWM", 200.0), ("SPY", 500.0)):
        rows = [
            f"{day},{base + i},{base + i + 1},{base + i - 1},{base + i + 0.5},{1000 + i}"
            for i, day in enumerate(days)
        ]
        (folder / f"{sym}.csv").write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")
    source = ReplaySource.open([folder], as_of=days[40], speed=50.0)
    app = BreakoutMonitorApp(settings_for(tmp_path, symbols=("IWM", "SPY")), source)

    def shown_day() -> date | None:
        snap = app.main.snapshot
        q = snap.symbols["IWM"].quote if snap is not None else None
        return q.trading_day if q is not None else None

    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: shown_day() == days[40])
        await wait_for(pilot, lambda: shown_day() == days[-1])  # played to the end...
        await pilot.pause()
        assert f"{200.0 + 79 + 0.5:,.2f}" in screen_text(app)
        assert "nothing scheduled" in screen_text(app)  # ...and then at rest
