"""Alerts and the 'while you were away' digest inside the running app (Pilot)."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fakes.scripted_source import ScriptedSource, daily_series
from textual.widgets import Static
from uitools import screen_text, settings_for, wait_for

from services.alerts import AlertSettings
from services.journal import Journal
from services.models import SourceKind
from tui.app import BreakoutMonitorApp

NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
LAST_DAY = date(2026, 11, 23)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def live_source(rut_tail: list[float]) -> ScriptedSource:
    """A scripted source that claims to be Yahoo, so the app keeps its journal in the data dir."""
    n = 260
    rut = [2400.0] * (n - len(rut_tail)) + rut_tail
    source = ScriptedSource(
        {
            "IWM": daily_series("IWM", [230.0 + i * 0.1 for i in range(n)], LAST_DAY),
            "SPY": daily_series("SPY", [600.0 + i * 0.2 for i in range(n)], LAST_DAY),
            "^RUT": daily_series("^RUT", rut, LAST_DAY),
            "^GSPC": daily_series("^GSPC", [6000.0 + i for i in range(n)], LAST_DAY),
            "^TNX": daily_series("^TNX", [4.0] * n, LAST_DAY),
            "^VIX": daily_series("^VIX", [18.0] * n, LAST_DAY),
        },
        now=NOW,
    )
    source.kind = SourceKind.YAHOO  # type: ignore[misc]
    return source


def make_app(tmp_path: Path, source: ScriptedSource, clock: Clock) -> BreakoutMonitorApp:
    """Alerts on every channel; outside tmux (the escapes are then written bare)."""
    settings = settings_for(
        tmp_path,
        use_cache=True,
        alerts=AlertSettings(toast=True, bell=True, desktop="both", cooldown_s=300),
    )
    return BreakoutMonitorApp(settings, source, clock=clock)


def digest_text(app: BreakoutMonitorApp) -> str:
    return "\n".join(str(s.render()) for s in app.screen.query(Static))


async def test_start_shows_the_events_journaled_since_the_last_look(tmp_path: Path) -> None:
    # The user last looked on Thursday morning; the breakout closed that day and confirmed on Monday.
    with Journal.in_dir(tmp_path / "data") as journal:
        journal.mark_seen(datetime(2026, 11, 19, 14, 0, tzinfo=UTC))
    clock = Clock(NOW)
    app = make_app(tmp_path, live_source([2566.0, 2570.0, 2575.0]), clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "While you were away" in screen_text(app))
        text = screen_text(app)
        # The scripted bars' lows dip 0.1 % under the close: Friday's low touched the level, a retest.
        assert "While you were away: 3 events" in text
        lines = [line for line in digest_text(app).splitlines() if "2026-11" in line]
        assert len(lines) == 3
        assert "2026-11-19 16:00 ET" in lines[0] and "^RUT breakout at 2,566.00" in lines[0]
        assert "2026-11-20 16:00 ET" in lines[1] and "retest" in lines[1]
        assert "2026-11-23 16:00 ET" in lines[2] and "^RUT confirmed at 2,575.00" in lines[2]
        assert app.main.alerts == []  # history is a baseline, told in the digest, not re-alerted
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
    # What was shown now counts as seen: the next start has nothing to tell.
    with Journal.in_dir(tmp_path / "data") as journal:
        assert journal.last_seen() == NOW
        assert journal.digest() == []
        assert {e.kind for e in journal.entries()} == {"state_change", "retest"}


async def test_a_fresh_journal_shows_no_digest(tmp_path: Path) -> None:
    clock = Clock(NOW)
    app = make_app(tmp_path, live_source([2566.0, 2570.0, 2575.0]), clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.main.sentinel is not None and app.main.sentinel._baseline_done)
        await pilot.pause(0.1)
        assert app.screen is app.main
        assert "While you were away" not in screen_text(app)


async def test_crossing_the_level_alerts_in_the_app_and_a_long_idle_brings_the_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TMUX", raising=False)
    clock = Clock(NOW)
    source = live_source([2500.0, 2510.0, 2520.0])  # inside the range at every close
    app = make_app(tmp_path, source, clock)
    bells: list[None] = []
    written: list[str] = []
    app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
    app.main._write_terminal = written.append  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.main.sentinel is not None and app.main.sentinel._baseline_done)
        assert app.main.alerts == [] and bells == [] and written == []

        # Intraday, ^RUT trades through the level: an alert, delivered on every channel, once.
        clock.at = NOW + timedelta(minutes=5)
        source.prices["^RUT"] = 2580.0
        app.main.refresh_feed()
        await wait_for(pilot, lambda: len(app.main.alerts) == 1)
        await pilot.pause()
        alert = app.main.alerts[0]
        assert alert.kind == "intraday" and "BREAKOUT" in alert.title
        assert "2,580.00" in alert.message and "not confirmed" in alert.message
        toasts = [n for n in app._notifications]
        assert any(n.title == alert.title and n.message == alert.message for n in toasts)
        assert bells == [None]
        assert written == [
            f"\x1b]9;{alert.title}: {alert.message}\x07",
            f"\x1b]777;notify;{alert.title};{alert.message}\x07",
        ]
        assert "BREAKOUT" in screen_text(app) and "intraday" in screen_text(app)

        # The same price again: no new alert (nothing changed).
        clock.at = NOW + timedelta(minutes=6)
        app.main.refresh_feed()
        await pilot.pause(0.2)
        assert len(app.main.alerts) == 1

        # The user comes back two hours later (any key): the digest lists the alert they missed.
        clock.at = NOW + timedelta(hours=2)
        await pilot.press("x")
        await wait_for(pilot, lambda: "While you were away" in screen_text(app))
        text = screen_text(app)
        assert "While you were away: 1 event" in text
        assert "intraday BREAKOUT" in digest_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.main)

        # A key a minute later is not a long idle: no digest.
        clock.at = NOW + timedelta(hours=2, minutes=1)
        await pilot.press("x")
        await pilot.pause(0.1)
        assert app.screen is app.main


async def test_a_failing_alert_command_is_reported_and_the_app_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TMUX", raising=False)
    clock = Clock(NOW)
    source = live_source([2500.0, 2510.0, 2520.0])
    command = (sys.executable, "-c", "import sys; sys.stdin.read(); sys.exit(3)")
    settings = settings_for(
        tmp_path,
        use_cache=True,
        alerts=AlertSettings(toast=False, bell=False, desktop="off", command=command),
    )
    app = BreakoutMonitorApp(settings, source, clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.main.sentinel is not None and app.main.sentinel._baseline_done)
        clock.at = NOW + timedelta(minutes=5)
        source.prices["^RUT"] = 2580.0
        app.main.refresh_feed()
        await wait_for(pilot, lambda: any(n.title == "alert command" for n in app._notifications))
        (note,) = [n for n in app._notifications if n.title == "alert command"]
        assert note.message.startswith("alert command exited with status 3") and note.severity == "error"
        # The feed is still running: a later price still reaches the screen.
        source.prices["IWM"] = 261.25
        app.main.refresh_feed()
        await wait_for(pilot, lambda: "261.25" in screen_text(app))


@pytest.mark.parametrize("key", ["q", "2"])
async def test_the_key_that_ends_a_long_idle_still_does_its_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    """Coming back after hours, `q` quits and `2` switches the view (the digest comes up over it)."""
    monkeypatch.delenv("TMUX", raising=False)
    clock = Clock(NOW)
    source = live_source([2500.0, 2510.0, 2520.0])
    app = make_app(tmp_path, source, clock)
    app.bell = lambda: None  # type: ignore[method-assign]
    app.main._write_terminal = lambda text: None  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.main.sentinel is not None and app.main.sentinel._baseline_done)
        clock.at = NOW + timedelta(minutes=5)
        source.prices["^RUT"] = 2580.0
        app.main.refresh_feed()
        await wait_for(pilot, lambda: len(app.main.alerts) == 1)
        clock.at = NOW + timedelta(hours=2)
        await pilot.press(key)
        if key == "q":
            await wait_for(pilot, lambda: app.return_code is not None)
            assert app.return_code == 0
        else:
            await wait_for(pilot, lambda: "While you were away" in screen_text(app))
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is app.main)
            assert app.main.query_one("#views").current != "dashboard"  # type: ignore[attr-defined]
