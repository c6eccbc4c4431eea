"""The breakout state machine: where the watched index stands against the consolidation level.

Pure Python over daily closes (no numpy), so the panel can be painted before the heavy libraries load.
States are recorded on closes only; a live price during the session gives a provisional state.
"""

from __future__ import annotations

import enum
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from services.models import BarSeries, ts_day


class BreakoutState(enum.StrEnum):
    INSIDE = "inside"
    """Close below the testing band: still inside the consolidation range."""
    TESTING = "testing"
    """Close within `testing_band_pct` below the level."""
    BREAKOUT = "breakout"
    """Close at or above the level, fewer than `confirm_closes` in a row."""
    CONFIRMED = "confirmed"
    """At least `confirm_closes` consecutive closes at or above the level."""
    FAILED = "failed"
    """From breakout/confirmed, a close below the level (less the fail buffer): the bull trap. Sticky
    until the next close at or above the level."""


@dataclass(frozen=True, slots=True)
class BreakoutRules:
    """Every number of the breakout rule (the `[breakout]` config table)."""

    symbol: str = "^RUT"
    level: float = 2565.0
    targets: tuple[float, ...] = (2600.0, 3000.0)
    testing_band_pct: float = 1.0
    confirm_closes: int = 3
    fail_buffer_pct: float = 0.0
    etf: str = "IWM"
    """The ETF that tracks the watched index: its prices are shown beside the level and targets, and the
    engine runs on it (levels mapped) when the index is missing or stale."""
    iwm_per_rut: float = 0.0990
    """ETF price per index point when the two have no common close (IWM/^RUT, Sep 2025 - Mar 2026)."""
    market: str = "SPY"
    """The large-cap series that validates the breakout (the S&P 500 ETF)."""
    yields: str = "^TNX"
    """The 10-year Treasury yield, in percent."""
    rsi_bull_low: float = 50.0
    rsi_bull_high: float = 70.0
    """RSI 14 from `rsi_bull_low` up to (not including) `rsi_bull_high` is bullish; above, overbought."""
    market_return_sessions: int = 20
    """The S&P validation: SPY above its SMA 50 and its return over this many sessions positive."""
    rs_sma: int = 50
    """Relative strength: the IWM/SPY ratio above its own SMA of this many sessions."""
    volume_sessions: int = 50
    """Breakout-day ETF volume is compared with its average over this many sessions before."""
    yield_spike_bp: float = 25.0
    yield_window: int = 20
    """A yield spike: ^TNX up at least `yield_spike_bp` basis points over `yield_window` sessions."""
    drawdown_warn_pct: float = 10.0
    drawdown_alarm_pct: float = 20.0
    high_window: int = 252
    """Drawdowns are measured from the highest close of this many sessions (52 weeks)."""
    bull_trap_sessions: int = 10
    """A failure within this many sessions of the breakout is called a bull trap."""
    range_years: float = 5.0
    """The consolidation range: high and low of the daily closes over this many trailing years."""

    @property
    def band_floor(self) -> float:
        return self.level * (1.0 - self.testing_band_pct / 100.0)

    @property
    def fail_below(self) -> float:
        return self.level * (1.0 - self.fail_buffer_pct / 100.0)


@dataclass(frozen=True, slots=True)
class StateChange:
    day: date
    from_state: BreakoutState | None
    to_state: BreakoutState
    close: float


@dataclass(slots=True)
class BreakoutMachine:
    """Steps through closes one at a time."""

    rules: BreakoutRules
    state: BreakoutState | None = None
    closes_above: int = 0
    """Consecutive closes at or above the level, ending with the latest."""

    def step(self, close: float) -> BreakoutState:
        r = self.rules
        prev = self.state
        if close >= r.level:
            self.closes_above += 1
            self.state = (
                BreakoutState.CONFIRMED if self.closes_above >= r.confirm_closes else BreakoutState.BREAKOUT
            )
        elif prev in (BreakoutState.BREAKOUT, BreakoutState.CONFIRMED):
            if close < r.fail_below:
                self.closes_above = 0
                self.state = BreakoutState.FAILED
            # else: a close inside the fail buffer holds the state, but does not extend the run
        elif prev is BreakoutState.FAILED:
            self.closes_above = 0  # a failed breakout stays failed until a close at or above the level
        else:
            self.closes_above = 0
            self.state = BreakoutState.TESTING if close >= r.band_floor else BreakoutState.INSIDE
        assert self.state is not None
        return self.state

    def peek(self, price: float) -> BreakoutState:
        """The state a close at `price` would give, without recording it (the intraday state)."""
        trial = BreakoutMachine(self.rules, self.state, self.closes_above)
        return trial.step(price)


def run_machine(
    days: Sequence[date], closes: Sequence[float], rules: BreakoutRules
) -> tuple[BreakoutMachine, list[StateChange]]:
    """Feed every close; return the machine at the end and each state change with its day."""
    machine = BreakoutMachine(rules)
    changes: list[StateChange] = []
    for day, close in zip(days, closes, strict=True):
        before = machine.state
        after = machine.step(close)
        if after is not before:
            changes.append(StateChange(day, before, after, close))
    return machine, changes


@dataclass(frozen=True, slots=True)
class TargetDistance:
    target: float
    points: float
    """target minus the reference price (positive: still to go)."""
    pct: float


@dataclass(frozen=True, slots=True)
class BreakoutAssessment:
    """Everything the breakout panel shows."""

    rules: BreakoutRules
    close: float | None
    """The last recorded daily close of the watched series."""
    close_day: date | None
    state: BreakoutState | None
    state_since: date | None
    closes_above: int
    live_price: float | None = None
    """The intraday price while the session is open (None once the close is recorded)."""
    provisional_state: BreakoutState | None = None
    """The state the live price would give if it were the close: "intraday, not confirmed"."""
    changes: tuple[StateChange, ...] = field(default=())
    """The latest state changes, oldest first."""
    sessions_in_state: int = 0
    """Closes recorded since the state began, the first one included."""

    @property
    def reference_price(self) -> float | None:
        return self.live_price if self.live_price is not None else self.close

    @property
    def distance_points(self) -> float | None:
        p = self.reference_price
        return None if p is None else p - self.rules.level

    @property
    def distance_pct(self) -> float | None:
        p = self.reference_price
        return None if p is None else (p / self.rules.level - 1.0) * 100.0

    @property
    def close_distance_pct(self) -> float | None:
        return None if self.close is None else (self.close / self.rules.level - 1.0) * 100.0

    def target_distances(self) -> tuple[TargetDistance, ...]:
        p = self.reference_price
        if p is None:
            return ()
        return tuple(TargetDistance(t, t - p, (t / p - 1.0) * 100.0) for t in self.rules.targets)

    def with_live(self, price: float) -> BreakoutAssessment:
        """This recorded state with today's live price: the state a close at `price` would give
        ("intraday, not confirmed"). Cheap: one step of the machine, nothing re-run."""
        if self.state is None:
            return self
        machine = BreakoutMachine(self.rules, self.state, self.closes_above)
        return replace(self, live_price=price, provisional_state=machine.peek(price))


def summarize(
    rules: BreakoutRules,
    days: Sequence[date],
    closes: Sequence[float],
    machine: BreakoutMachine,
    changes: Sequence[StateChange],
) -> BreakoutAssessment:
    """The recorded state after `machine` has stepped through `closes` (on `days`), making `changes`."""
    since = changes[-1].day if changes else None
    in_state = len(days) - bisect_left(days, since) if since is not None else 0
    return BreakoutAssessment(
        rules=rules,
        close=closes[-1] if closes else None,
        close_day=days[-1] if days else None,
        state=machine.state,
        state_since=since,
        closes_above=machine.closes_above,
        changes=tuple(changes[-20:]),
        sessions_in_state=in_state,
    )


def assess(
    daily: BarSeries, rules: BreakoutRules, live_price: float | None = None, provisional: bool = False
) -> BreakoutAssessment:
    """Assess the watched series.

    Args:
        daily: daily bars of the watched symbol, oldest first.
        rules: the level, targets and thresholds.
        live_price: the latest traded price.
        provisional: True when `daily`'s last bar is today's bar still in progress; it is then left out
            of the recorded state and `live_price` gives the provisional state instead.
    """
    n = len(daily) - (1 if provisional and len(daily) > 0 else 0)
    days = [ts_day(t) for t in daily.ts[:n]]
    closes = list(daily.close[:n])
    machine, changes = run_machine(days, closes, rules)
    recorded = summarize(rules, days, closes, machine, changes)
    return recorded.with_live(live_price) if provisional and live_price is not None else recorded
