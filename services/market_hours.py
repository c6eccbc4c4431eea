"""US equity market sessions from the NYSE exchange calendar (holidays and early closes included).

Loading imports exchange-calendars and pandas (~0.5 s), so `MarketHours.load()` runs in a worker; the
object it returns answers every question in pure Python from a table of regular session times.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.models import MarketSession

NEW_YORK = ZoneInfo("America/New_York")
PRE_MARKET_START = time(4, 0)
"""Extended hours as Yahoo reports them: pre-market 04:00-09:30 ET, after-hours until 20:00 ET."""
AFTER_HOURS_LENGTH = timedelta(hours=4)


@dataclass(frozen=True, slots=True)
class RegularSession:
    day: date
    open: datetime
    close: datetime

    @property
    def pre_start(self) -> datetime:
        return datetime.combine(self.day, PRE_MARKET_START, NEW_YORK).astimezone(UTC)

    @property
    def is_early_close(self) -> bool:
        """A half day (13:00 ET close: the days around Independence Day, Thanksgiving, Christmas)."""
        return self.close.astimezone(NEW_YORK).time() < time(16, 0)

    @property
    def post_end(self) -> datetime:
        # After-hours last four hours, also after an early (13:00) close.
        return self.close + AFTER_HOURS_LENGTH


class MarketHours:
    """Answers "which session is it?" and "when is the next open/close?" for one exchange."""

    def __init__(self, sessions: Mapping[date, tuple[datetime, datetime]], exchange: str = "XNYS") -> None:
        self.exchange = exchange
        self._days = sorted(sessions)
        self._sessions = [RegularSession(d, *sessions[d]) for d in self._days]
        if not self._sessions:
            raise ValueError("a market calendar needs at least one session")

    @classmethod
    def load(cls, exchange: str = "XNYS") -> MarketHours:
        """Build from exchange-calendars (blocking, ~0.5 s the first time: run it in a worker)."""
        import warnings

        import exchange_calendars  # heavy import kept off the start-up path

        with warnings.catch_warnings():
            # Its schedule code trips pandas' deprecations (nothing a user can act on).
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            cal = exchange_calendars.get_calendar(exchange)
        sessions = {
            day.date(): (o.to_pydatetime(), c.to_pydatetime())
            for day, o, c in zip(cal.schedule.index, cal.opens, cal.closes, strict=True)
        }
        return cls(sessions, exchange)

    def session_of_day(self, d: date) -> RegularSession | None:
        i = bisect_left(self._days, d)
        if i < len(self._days) and self._days[i] == d:
            return self._sessions[i]
        return None

    def _around(self, now: datetime) -> RegularSession | None:
        """The trading day whose extended window [04:00, close + 4 h) contains `now`, if any."""
        local_day = now.astimezone(NEW_YORK).date()
        s = self.session_of_day(local_day)
        if s is not None and s.pre_start <= now < s.post_end:
            return s
        return None

    def session_at(self, now: datetime) -> MarketSession:
        s = self._around(now)
        if s is None:
            return MarketSession.CLOSED
        if now < s.open:
            return MarketSession.PRE
        if now < s.close:
            return MarketSession.REGULAR
        return MarketSession.POST

    def last_close(self, now: datetime) -> datetime | None:
        """The most recent regular-session close at or before `now`."""
        i = bisect_right(self._days, now.astimezone(NEW_YORK).date())
        for s in reversed(self._sessions[max(0, i - 10) : i]):
            if s.close <= now:
                return s.close
        return None

    def next_change(self, now: datetime) -> datetime | None:
        """When `session_at` will next change value (the next 04:00, open, close or after-hours end)."""
        candidates: list[datetime] = []
        i = bisect_left(self._days, now.astimezone(NEW_YORK).date())
        for s in self._sessions[max(0, i - 1) : i + 10]:
            candidates.extend(t for t in (s.pre_start, s.open, s.close, s.post_end) if t > now)
            if candidates:
                return min(candidates)
        return None

    def next_open(self, now: datetime) -> datetime | None:
        """The next regular-session open strictly after `now`."""
        i = bisect_left(self._days, now.astimezone(NEW_YORK).date())
        for s in self._sessions[max(0, i - 1) : i + 15]:
            if s.open > now:
                return s.open
        return None

    def session_event(self, now: datetime) -> SessionEvent | None:
        """What the status bar counts down to: the close while the regular session runs, else the
        next open."""
        s = self._around(now)
        if s is not None and s.open <= now < s.close:
            return SessionEvent("closes", s.close, early_close=s.is_early_close)
        when = self.next_open(now)
        return None if when is None else SessionEvent("opens", when)


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """The next open or close, e.g. ("closes", 2026-11-27 13:00 ET, early_close=True)."""

    verb: str
    """"opens" or "closes"."""
    at: datetime
    early_close: bool = False
