"""Turns the engine's reports into journal entries and alerts.

The first report of a run is the baseline: its events (the whole history) go into the journal without
an alert, and what the journal holds since the user last looked is the "while you were away" digest.
From then on, a new event, a risk flag turning on, or a change of the intraday (provisional) state
raises an alert. Blocking journal calls run in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, time

from services.alerts import Alert
from services.engine import BreakoutEvent, BreakoutReport, EventKind, RiskKind, RiskLevel
from services.journal import Journal, JournalEntry
from services.market_hours import NEW_YORK

log = logging.getLogger(__name__)

_SEVERITY = {
    "failed": "error",
    "breakout": "warning",
    "confirmed": "information",
}


def event_time(ev: BreakoutEvent) -> datetime:
    """When a close event happened: that session's close, 16:00 New York."""
    return datetime.combine(ev.day, time(16, 0), NEW_YORK).astimezone(UTC)


def entry_of(ev: BreakoutEvent) -> JournalEntry:
    return JournalEntry(
        key=ev.key, at=event_time(ev), kind=ev.kind.value, title=ev.detail, payload=ev.as_json()
    )


def alert_kind(ev: BreakoutEvent) -> str:
    """The cooldown key: a risk by its name, anything else by its kind."""
    if ev.kind is EventKind.RISK and ev.risk is not None:
        name = ev.risk.value
        if ev.risk in (RiskKind.DRAWDOWN_WARNING, RiskKind.DRAWDOWN_ALARM):
            name = "drawdown"
        return f"risk:{name}"
    return ev.kind.value


def alert_of(ev: BreakoutEvent) -> Alert:
    if ev.kind is EventKind.STATE_CHANGE and ev.to_state is not None:
        title = f"{ev.symbol} {ev.to_state.value.upper()}"
        severity = _SEVERITY.get(ev.to_state.value, "information")
    elif ev.kind is EventKind.TARGET_HIT:
        title, severity = f"{ev.symbol} target hit", "information"
    elif ev.kind is EventKind.RETEST:
        title, severity = f"{ev.symbol} retest held", "information"
    else:
        title = "bull trap" if ev.risk is RiskKind.BULL_TRAP else "risk"
        severity = "error" if ev.risk in (RiskKind.BULL_TRAP, RiskKind.DRAWDOWN_ALARM) else "warning"
    return Alert(alert_kind(ev), title, ev.detail, event_time(ev), severity, ev.as_json())


class Sentinel:
    """Watches successive reports; remembers what it has already told."""

    def __init__(self, journal: Journal, clock: Callable[[], datetime]) -> None:
        self.journal = journal
        self.clock = clock
        self._baseline_done = False
        self._events: tuple[BreakoutEvent, ...] | None = None
        self._raised: set[str] = set()
        self._provisional: str | None = None
        self.digest: list[JournalEntry] = []
        """What happened since the user last looked, filled by the first report (oldest first)."""
        self.journal_revision = 0
        """Counts the observations that added entries to the journal: a reader re-reads only then."""

    async def observe(self, report: BreakoutReport) -> list[Alert]:
        """The alerts this report raises (none for the first one, which sets the baseline)."""
        alerts: list[Alert] = []
        if report.events is not self._events:
            entries = [entry_of(e) for e in report.events]
            by_key = {e.key: e for e in report.events}
            new = await asyncio.to_thread(self.journal.append, entries)
            if new:
                self.journal_revision += 1
            if self._baseline_done:
                alerts.extend(alert_of(by_key[n.key]) for n in new if n.key in by_key)
            self._events = report.events
        raised = {r.name for r in report.risks if r.raised}
        now = self.clock()
        # Alerts that are not close events: journaled as alerts, since no event records them.
        live: list[Alert] = []
        if self._baseline_done:
            for r in report.risks:
                if r.name in raised and r.name not in self._raised:
                    severity = "error" if r.level is RiskLevel.ALARM else "warning"
                    live.append(Alert(f"risk:{r.name}", f"risk: {r.label}", r.value, now, severity))
        self._raised = raised
        b = report.assessment
        prov = b.provisional_state.value if b.provisional_state is not None else None
        if (
            self._baseline_done
            and prov != self._provisional
            and prov is not None
            and b.live_price is not None
        ):
            live.append(
                Alert(
                    "intraday",
                    f"{b.rules.symbol} intraday {prov.upper()}",
                    f"{b.rules.symbol} at {b.live_price:,.2f} would be {prov} at the close"
                    " (intraday, not confirmed)",
                    now,
                )
            )
        self._provisional = prov
        if not self._baseline_done:
            self._baseline_done = True
            self.digest = await asyncio.to_thread(self.journal.digest)
            await asyncio.to_thread(self.journal.mark_seen, now)  # `now` was taken before the digest
        if live:
            entries = [
                JournalEntry(
                    f"alert|{a.kind}|{a.at.isoformat()}",
                    a.at,
                    "alert",
                    f"{a.title}: {a.message}",
                    a.as_json(),
                )
                for a in live
            ]
            if await asyncio.to_thread(self.journal.append, entries):
                self.journal_revision += 1
        return alerts + live

    async def catch_up(self) -> list[JournalEntry]:
        """After a long idle: what happened since the user last looked; then it counts as seen."""
        now = self.clock()  # before reading: an event journaled meanwhile stays for the next look
        entries = await asyncio.to_thread(self.journal.digest)
        await asyncio.to_thread(self.journal.mark_seen, now)
        return entries

    async def mark_seen(self) -> None:
        await asyncio.to_thread(self.journal.mark_seen, self.clock())
