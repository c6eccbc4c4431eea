"""The sentinel: the first report is the baseline, later events alert, the journal survives a restart and
the digest holds exactly what happened since the user last looked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fakes.scripted_source import daily_series

from services.breakout import BreakoutRules
from services.engine import EngineInputs, build_report, choose_watched, run_timeline
from services.journal import Journal
from services.models import BarSeries, Interval
from services.sentinel import Sentinel

R = BreakoutRules()
IWM = BarSeries("IWM", Interval.DAILY)


def report(closes: list[float], last_day: date):
    rut = daily_series("^RUT", closes, last_day)
    tl = run_timeline(rut, R)
    return build_report(EngineInputs(rut, None), choose_watched(R, rut, IWM, False), tl.assessment, tl)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_baseline_then_alerts_then_restart_and_digest(tmp_path: Path) -> None:
    clock = Clock()
    base = [2400.0] * 30 + [2550.0]  # ends testing on Mon 2026-03-02
    journal = Journal(tmp_path / "journal.sqlite3")
    s = Sentinel(journal, clock)
    assert await s.observe(report(base, date(2026, 3, 2))) == []  # the baseline alerts nothing
    assert s.digest == []  # a first run has nothing to catch up on
    assert [e.kind for e in journal.entries()] == ["state_change"]  # inside -> testing, journaled
    # Tuesday closes above the level: one state change, one alert.
    clock.now += timedelta(days=1)
    alerts = await s.observe(report([*base, 2570.0], date(2026, 3, 3)))
    assert [(a.kind, a.title) for a in alerts] == [("state_change", "^RUT BREAKOUT")]
    assert alerts[0].payload["to_state"] == "breakout"
    # The same report again raises nothing.
    assert await s.observe(report([*base, 2570.0], date(2026, 3, 3))) == []
    await s.mark_seen()  # the user quits on Tuesday evening
    journal.close()

    # Away Wednesday to Friday: the app restarts on Friday night; Wednesday's close failed the breakout.
    clock.now += timedelta(days=3)
    journal = Journal(tmp_path / "journal.sqlite3")
    assert len(journal.entries()) == 2  # the journal survived the restart
    s2 = Sentinel(journal, clock)
    closes = [*base, 2570.0, 2500.0, 2510.0, 2520.0]
    assert await s2.observe(report(closes, date(2026, 3, 6))) == []  # the baseline again: no alert storm
    got = [(e.kind, e.at.date().isoformat(), e.title) for e in s2.digest]
    assert got == [
        ("state_change", "2026-03-04", "^RUT failed at 2,500.00 (level 2,565.00)"),
        ("risk", "2026-03-04", "bull trap: ^RUT below 2,565 1 session after the 2026-03-03 breakout"),
    ]
    # Seen now: the next look finds nothing new.
    assert journal.digest() == []
    journal.close()


async def test_intraday_state_change_alerts_and_is_journaled(tmp_path: Path) -> None:
    from dataclasses import replace

    from services.breakout import BreakoutMachine

    clock = Clock()
    journal = Journal(None)
    s = Sentinel(journal, clock)
    r = report([2400.0] * 30 + [2550.0], date(2026, 3, 2))
    await s.observe(r)
    b = r.assessment
    m = BreakoutMachine(R, b.state, b.closes_above)
    live = replace(r, assessment=replace(b, live_price=2570.0, provisional_state=m.peek(2570.0)))
    alerts = await s.observe(live)
    assert [(a.kind, a.title) for a in alerts] == [("intraday", "^RUT intraday BREAKOUT")]
    assert "intraday, not confirmed" in alerts[0].message
    assert [e.kind for e in journal.entries(kinds=["alert"])] == ["alert"]


async def test_the_journal_revision_moves_only_when_entries_were_added() -> None:
    clock = Clock()
    base = [2400.0] * 30 + [2550.0]
    s = Sentinel(Journal(None), clock)
    await s.observe(report(base, date(2026, 3, 2)))
    assert s.journal_revision == 1  # the baseline journaled the history
    await s.observe(report(base, date(2026, 3, 2)))  # a new report object, the same events
    assert s.journal_revision == 1  # nothing for the journal view to re-read
    clock.now += timedelta(days=1)
    await s.observe(report([*base, 2570.0], date(2026, 3, 3)))
    assert s.journal_revision == 2
