"""The breakout engine: is the Russell 2000 breakout real, or a bull trap?

On top of the state machine (`services.breakout`) this module reads the seed's confirmations (a
checklist), its risks, the five-year consolidation range, a verdict in plain words, and the timeline of
events over the whole history (state changes, target hits, retests, risk flags) with the forward
returns after each breakout: a backtest of the rule.

Pure Python over daily closes. Everything is evaluated on completed closes; while the market is open,
the live price only gives the provisional state and the "close above the level" check, labelled live.
"""

from __future__ import annotations

import enum
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from services import indicators as ind
from services.breakout import (
    BreakoutAssessment,
    BreakoutMachine,
    BreakoutRules,
    BreakoutState,
    StateChange,
    summarize,
)
from services.models import BarSeries, ts_day

FORWARD_SESSIONS = (5, 20, 60)
"""Sessions after a breakout at which the backtest reads the watched series' return."""
ABOVE = frozenset({BreakoutState.BREAKOUT, BreakoutState.CONFIRMED})


class EventKind(enum.StrEnum):
    STATE_CHANGE = "state_change"
    TARGET_HIT = "target_hit"
    RETEST = "retest"
    RISK = "risk"


class RiskKind(enum.StrEnum):
    YIELD_SPIKE = "yield_spike"
    DRAWDOWN_WARNING = "drawdown_warning"
    DRAWDOWN_ALARM = "drawdown_alarm"
    BULL_TRAP = "bull_trap"


class RiskLevel(enum.StrEnum):
    CLEAR = "clear"
    WARNING = "warning"
    ALARM = "alarm"
    UNKNOWN = "n/a"


@dataclass(frozen=True, slots=True)
class BreakoutEvent:
    """One event of the timeline, on the watched series' units (IWM prices when running on IWM)."""

    day: date
    kind: EventKind
    symbol: str
    """The watched series."""
    close: float | None
    """The watched series' close that day (None when it has no bar that day)."""
    level: float
    from_state: BreakoutState | None = None
    to_state: BreakoutState | None = None
    target: float | None = None
    risk: RiskKind | None = None
    detail: str = ""
    """The event in words, e.g. "^RUT closed above 2,565 (breakout)"."""
    forward_returns: Mapping[int, float | None] = field(default_factory=dict)
    """Percent return of the watched series N sessions later, for breakout and confirmed changes."""
    subject: str | None = None
    """The series a risk is measured on (^TNX, ^RUT, IWM), when it is a risk."""

    @property
    def key(self) -> str:
        """Stable identity (journal de-duplication): the same event on a refetched history keeps it."""
        what = self.to_state or self.target or self.risk or ""
        key = f"{self.symbol}|{self.level:.6g}|{self.day.isoformat()}|{self.kind.value}|{what}"
        # ^RUT and IWM drawdowns can cross on the same day: the ETF's needs its own identity.
        if self.risk in (RiskKind.DRAWDOWN_WARNING, RiskKind.DRAWDOWN_ALARM) and self.subject != self.symbol:
            key += f"|{self.subject}"
        return key

    def as_json(self) -> dict[str, object]:
        fwd = self.forward_returns
        return {
            "date": self.day.isoformat(),
            "kind": self.kind.value,
            "from_state": self.from_state.value if self.from_state else None,
            "to_state": self.to_state.value if self.to_state else None,
            "close": _r(self.close),
            "level": _r(self.level),
            "target": _r(self.target),
            **{f"fwd_return_{n}": _r(fwd.get(n)) for n in FORWARD_SESSIONS},
            "risk": self.risk.value if self.risk else None,
            "symbol": self.symbol,
            "detail": self.detail,
        }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 6)


# ---------------------------------------------------------------------- the watched series
@dataclass(frozen=True, slots=True)
class Watched:
    """Which series the engine runs on, and in what units."""

    symbol: str
    rules: BreakoutRules
    """The rules in this series' units (level and targets mapped when running on the ETF)."""
    etf_ratio: float
    """ETF price per index point (to show the level and targets in the ETF's price)."""
    ratio_basis: str
    """Where the ratio comes from: "common close 2026-03-06" or "configured"."""
    note: str | None = None
    """Why the engine is not on the configured series, e.g. "^RUT stale: running on IWM"."""


def etf_ratio(index: BarSeries, etf: BarSeries) -> tuple[float, date] | None:
    """ETF close / index close on their latest common session, with that session."""
    if not index or not etf:
        return None
    common = set(index.ts[-60:]) & set(etf.ts[-60:])
    if not common:
        common = set(index.ts) & set(etf.ts)
    if not common:
        return None
    t = max(common)
    i = index.close[bisect_left(index.ts, t)]
    e = etf.close[bisect_left(etf.ts, t)]
    return (e / i, ts_day(t)) if i > 0 else None


def choose_watched(rules: BreakoutRules, index: BarSeries, etf: BarSeries, index_failing: bool) -> Watched:
    """Run on the index (^RUT) unless it is missing or stale; then on the ETF (IWM) with each level mapped
    by the ratio of their latest common closes (or the configured `iwm_per_rut` without one).

    Args:
        rules: the configured rule, in index points.
        index: completed daily closes of the index.
        etf: completed daily closes of the ETF.
        index_failing: the source reports an error for the index (its data is stale).
    """
    found = etf_ratio(index, etf)
    ratio, basis = (
        (found[0], f"common close {found[1]:%Y-%m-%d}") if found else (rules.iwm_per_rut, "configured")
    )
    lag = _sessions_after(etf, index.ts[-1]) if index and etf else 0
    # One session behind can be a timing difference between the feeds; two, or one while the source
    # reports an error for the index, is a stale index.
    stale = lag >= 2 or (lag >= 1 and index_failing)
    if index and not stale:
        return Watched(rules.symbol, rules, ratio, basis)
    if not etf:
        return Watched(rules.symbol, rules, ratio, basis, f"no data for {rules.symbol} or {rules.etf}")
    why = "missing" if not index else f"stale (last close {ts_day(index.ts[-1]):%Y-%m-%d})"
    mapped = replace(
        rules,
        symbol=rules.etf,
        level=rules.level * ratio,
        targets=tuple(t * ratio for t in rules.targets),
    )
    note = f"{rules.symbol} {why}: engine on {rules.etf}, levels x {ratio:.4f} ({basis})"
    return Watched(rules.etf, mapped, ratio, basis, note)


def _sessions_after(series: BarSeries, ts: int) -> int:
    return len(series) - bisect_left(series.ts, ts + 1)


# ---------------------------------------------------------------------- timeline
@dataclass(frozen=True, slots=True)
class Timeline:
    """The engine run over the whole history of completed closes."""

    machine: BreakoutMachine
    days: tuple[date, ...]
    events: tuple[BreakoutEvent, ...]
    episode_start: int | None
    """Index (in `days`) of the close that began the latest breakout episode (None: never broke out)."""
    assessment: BreakoutAssessment
    """The recorded state at the last close (no live price)."""
    range: RangeInfo | None
    """The consolidation range of the completed closes."""


def _dd_series(series: BarSeries, window: int) -> dict[date, float]:
    """Drawdown (percent, >= 0) of each close from the highest close of the trailing `window` sessions."""
    out: dict[date, float] = {}
    q: deque[tuple[int, float]] = deque()
    closes = series.close
    for i, c in enumerate(closes):
        while q and q[-1][1] <= c:
            q.pop()
        q.append((i, c))
        while q[0][0] <= i - window:
            q.popleft()
        out[ts_day(series.ts[i])] = (1.0 - c / q[0][1]) * 100.0
    return out


def _change_series(series: BarSeries, sessions: int, scale: float) -> dict[date, float]:
    """Change of each close over `sessions` sessions, times `scale` (100 turns ^TNX percent into bp)."""
    c = series.close
    return {ts_day(series.ts[i]): (c[i] - c[i - sessions]) * scale for i in range(sessions, len(c))}


def run_timeline(
    watched: BarSeries,
    rules: BreakoutRules,
    *,
    etf: BarSeries | None = None,
    index: BarSeries | None = None,
    yields: BarSeries | None = None,
) -> Timeline:
    """Every event over the history of completed closes, oldest first.

    A risk flag raises an event when it turns on, and re-arms once its measure is back below half its
    threshold, so a value hovering at the threshold is one event, not one per day.

    Args:
        watched: completed daily bars of the series the engine runs on.
        rules: the rules in that series' units.
        etf: the ETF (IWM) for its drawdown risk; index: the index (^RUT) for its drawdown risk
            (each may be the watched series itself or absent).
        yields: the 10-year yield (^TNX, in percent) for the yield-spike risk.
    """
    sym = rules.symbol
    days = tuple(ts_day(t) for t in watched.ts)
    closes, lows = watched.close, watched.low
    machine = BreakoutMachine(rules)
    events: list[BreakoutEvent] = []
    changes: list[StateChange] = []
    episode_start: int | None = None
    hit: set[float] = set()
    risk_series: list[tuple[RiskKind, str, dict[date, float], float]] = []
    if yields:
        spike = _change_series(yields, rules.yield_window, 100.0)
        risk_series.append((RiskKind.YIELD_SPIKE, yields.symbol, spike, rules.yield_spike_bp))
    for s in (index, etf):
        if s:
            dd = _dd_series(s, rules.high_window)
            risk_series.append((RiskKind.DRAWDOWN_WARNING, s.symbol, dd, rules.drawdown_warn_pct))
            risk_series.append((RiskKind.DRAWDOWN_ALARM, s.symbol, dd, rules.drawdown_alarm_pct))
    armed = [True] * len(risk_series)
    for i, (day, close) in enumerate(zip(days, closes, strict=True)):
        before = machine.state
        after = machine.step(close)
        level = rules.level
        if after is not before:
            changes.append(StateChange(day, before, after, close))
        if after is not before and before is not None:
            ev = BreakoutEvent(
                day,
                EventKind.STATE_CHANGE,
                sym,
                close,
                level,
                before,
                after,
                detail=f"{sym} {after.value} at {close:,.2f} (level {level:,.2f})",
            )
            events.append(ev)
            if after is BreakoutState.FAILED and episode_start is not None:
                n = i - episode_start
                if n <= rules.bull_trap_sessions:
                    events.append(
                        BreakoutEvent(
                            day,
                            EventKind.RISK,
                            sym,
                            close,
                            level,
                            risk=RiskKind.BULL_TRAP,
                            detail=f"bull trap: {sym} below {_lv(level)} {_sessions(n)} after "
                            f"the {days[episode_start].isoformat()} breakout",
                        )
                    )
        if after in ABOVE and before not in ABOVE:
            episode_start = i
            hit = set()
        elif after in ABOVE and before in ABOVE and lows[i] <= level <= close:
            events.append(
                BreakoutEvent(
                    day,
                    EventKind.RETEST,
                    sym,
                    close,
                    level,
                    detail=f"retest: low {lows[i]:,.2f} touched {level:,.2f}, closed above at {close:,.2f}",
                )
            )
        if after in ABOVE:
            for t in rules.targets:
                if close >= t and t not in hit:
                    hit.add(t)
                    events.append(
                        BreakoutEvent(
                            day,
                            EventKind.TARGET_HIT,
                            sym,
                            close,
                            level,
                            target=t,
                            detail=f"target {t:,.2f} hit: {sym} closed at {close:,.2f}",
                        )
                    )
        for k, (kind, rsym, values, threshold) in enumerate(risk_series):
            v = values.get(day)
            if v is None:
                continue
            if armed[k] and v >= threshold:
                armed[k] = False
                events.append(
                    BreakoutEvent(
                        day,
                        EventKind.RISK,
                        sym,
                        close,
                        level,
                        risk=kind,
                        detail=_risk_words(kind, rsym, v, rules),
                        subject=rsym,
                    )
                )
            elif not armed[k] and v < threshold / 2.0:
                armed[k] = True
    for j, ev in enumerate(events):
        if ev.kind is EventKind.STATE_CHANGE and ev.to_state in ABOVE:
            i = bisect_left(days, ev.day)
            fwd = {
                n: ((closes[i + n] / closes[i] - 1.0) * 100.0 if i + n < len(closes) else None)
                for n in FORWARD_SESSIONS
            }
            events[j] = replace(ev, forward_returns=fwd)
    return Timeline(
        machine,
        days,
        tuple(events),
        episode_start,
        summarize(rules, days, closes, machine, changes),
        consolidation_range(watched, rules.range_years),
    )


def _sessions(n: int) -> str:
    return f"{n} session{'s' if n != 1 else ''}"


def _risk_words(kind: RiskKind, symbol: str, value: float, rules: BreakoutRules) -> str:
    if kind is RiskKind.YIELD_SPIKE:
        return f"yields +{value:.0f} bp in {rules.yield_window} sessions ({symbol})"
    if kind is RiskKind.DRAWDOWN_ALARM:
        return f"{symbol} {value:.1f} % below its 52-week high (alarm at {rules.drawdown_alarm_pct:g} %)"
    return f"{symbol} {value:.1f} % below its 52-week high (warning at {rules.drawdown_warn_pct:g} %)"


# ---------------------------------------------------------------------- checklist and risks
@dataclass(frozen=True, slots=True)
class Check:
    """One confirmation: passed (None: not enough data to say), with the value it was read from."""

    name: str
    label: str
    passed: bool | None
    value: str
    flag: str | None = None
    """A caution beside a pass or fail, e.g. "overbought"."""

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "label": self.label,
            "passed": self.passed,
            "value": self.value,
            "flag": self.flag,
        }


@dataclass(frozen=True, slots=True)
class Risk:
    name: str
    label: str
    level: RiskLevel
    value: str
    words: str = ""
    """How the verdict names it when raised, e.g. "yields +31 bp in 20 days"."""

    @property
    def raised(self) -> bool:
        return self.level in (RiskLevel.WARNING, RiskLevel.ALARM)

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "label": self.label, "level": self.level.value, "value": self.value}


@dataclass(frozen=True, slots=True)
class RangeInfo:
    """The consolidation range: high and low of daily closes over the trailing years."""

    years: float
    """Years of history the range actually spans (less than configured on a short history)."""
    low: float
    low_day: date
    high: float
    high_day: date
    position_pct: float
    """Where the latest close sits in the range: 0 at the low, 100 at the high."""

    @property
    def suggested_level(self) -> float:
        return self.high

    def as_json(self) -> dict[str, object]:
        return {
            "years": _r(self.years),
            "low": _r(self.low),
            "low_date": self.low_day.isoformat(),
            "high": _r(self.high),
            "high_date": self.high_day.isoformat(),
            "position_pct": _r(self.position_pct),
            "suggested_level": _r(self.suggested_level),
        }


def consolidation_range(watched: BarSeries, years: float) -> RangeInfo | None:
    if not watched:
        return None
    last = ts_day(watched.ts[-1])
    start = _years_before(last, years)
    i = bisect_left(watched.ts, int(watched.ts[-1] - (last - start).days * 86400))
    closes = watched.close[i:]
    hi = max(range(len(closes)), key=closes.__getitem__)
    lo = min(range(len(closes)), key=closes.__getitem__)
    span = (last - ts_day(watched.ts[i])).days / 365.25
    width = closes[hi] - closes[lo]
    pos = (closes[-1] - closes[lo]) / width * 100.0 if width > 0 else 100.0
    return RangeInfo(
        span, closes[lo], ts_day(watched.ts[i + lo]), closes[hi], ts_day(watched.ts[i + hi]), pos
    )


def _years_before(d: date, years: float) -> date:
    whole = int(years)
    try:
        start = d.replace(year=d.year - whole)
    except ValueError:  # 29 February
        start = d.replace(year=d.year - whole, day=28)
    return start - timedelta(days=round((years - whole) * 365.25))


def _pct(a: float, b: float) -> float:
    return (a / b - 1.0) * 100.0


def _sma(values: Sequence[float], n: int) -> float | None:
    return sum(values[-n:]) / n if len(values) >= n else None


def _aligned_ratio(a: BarSeries, b: BarSeries) -> list[float]:
    """a/b on the sessions both have, oldest first."""
    bmap = {t: c for t, c in zip(b.ts, b.close, strict=True)}
    return [c / bmap[t] for t, c in zip(a.ts, a.close, strict=True) if t in bmap]


@dataclass(frozen=True, slots=True)
class EngineInputs:
    """What the engine reads, all daily bars oldest first (the last bar may be today's, in progress)."""

    watched: BarSeries
    watched_readout: ind.IndicatorReadout | None
    etf: BarSeries | None = None
    market: BarSeries | None = None
    """SPY (or ^GSPC): the S&P 500 validation."""
    market_readout: ind.IndicatorReadout | None = None
    index: BarSeries | None = None
    yields: BarSeries | None = None
    index_symbol: str = "^RUT"
    """The configured index (the watched series may be its ETF when the index is missing)."""


def checklist(
    inputs: EngineInputs, rules: BreakoutRules, reference: float, live: bool, timeline: Timeline
) -> list[Check]:
    """The seed's seven confirmations, each with its value."""
    level = rules.level
    r = inputs.watched_readout
    sym = rules.symbol
    checks: list[Check] = []
    what = "live" if live else "close"
    checks.append(
        Check(
            "close_above_level",
            f"{sym} above {_lv(level)}",
            reference >= level,
            f"{what} {reference:,.2f} {ind_pct(_pct(reference, level))}",
        )
    )
    if r is None or r.rsi_14 is None:
        checks.append(Check("rsi_bullish", "RSI 14 in 50-70", None, "n/a: short history"))
    else:
        rsi = r.rsi_14
        ok = rules.rsi_bull_low <= rsi < rules.rsi_bull_high
        flag = "overbought" if rsi >= rules.rsi_bull_high else None
        checks.append(
            Check(
                "rsi_bullish",
                f"RSI 14 in {rules.rsi_bull_low:g}-{rules.rsi_bull_high:g}",
                ok,
                f"{ind.rsi_shown(rsi, 1)}",
                flag,
            )
        )
    if r is None or r.sma_50 is None:
        checks.append(Check("above_sma_50", "above SMA 50", None, "n/a: short history"))
    else:
        checks.append(
            Check(
                "above_sma_50",
                "above SMA 50",
                r.close > r.sma_50,
                f"{r.sma_50:,.2f} {ind_pct(_pct(r.close, r.sma_50))}",
            )
        )
    if r is None or r.macd is None or r.macd_signal is None:
        checks.append(Check("macd_bullish", "MACD > signal", None, "n/a: short history"))
    else:
        cross = r.last_cross
        when = ""
        if cross is not None and cross.bullish:
            when = f", bull cross {cross.day.isoformat()}"
        elif cross is not None:
            when = f", bear cross {cross.day.isoformat()}"
        checks.append(
            Check(
                "macd_bullish",
                "MACD > signal",
                r.macd > r.macd_signal,
                f"{r.macd:+.2f}/{r.macd_signal:+.2f}{when}",
            )
        )
    checks.append(_market_check(inputs, rules))
    checks.append(_relative_strength_check(inputs, rules))
    checks.append(_volume_check(inputs, rules, timeline))
    return checks


def _lv(x: float) -> str:
    """A level as people say it: 2,565 for the index, 253.94 for the ETF."""
    return f"{x:,.0f}" if x >= 1000 else f"{x:,.2f}"


def ind_pct(p: float) -> str:
    return f"{p:+.2f} %"


def _market_check(inputs: EngineInputs, rules: BreakoutRules) -> Check:
    m, mr = inputs.market, inputs.market_readout
    n = rules.market_return_sessions
    label = "S&P confirms"
    if not m:
        return Check("sp_confirming", label, None, f"n/a: no {rules.market} close that day")
    if mr is None or mr.sma_50 is None or len(m) <= n:
        return Check("sp_confirming", label, None, f"n/a: short {rules.market} history")
    ret = _pct(m.close[-1], m.close[-1 - n])
    above = m.close[-1] > mr.sma_50
    return Check(
        "sp_confirming",
        label,
        above and ret > 0,
        f"{m.symbol} {'>' if above else '<'} SMA 50, {ret:+.2f} % in {n}d",
    )


def _relative_strength_check(inputs: EngineInputs, rules: BreakoutRules) -> Check:
    etf, m = inputs.etf, inputs.market
    label = f"{rules.etf}/{rules.market} > SMA {rules.rs_sma}"
    if not etf or not m:
        return Check("relative_strength", label, None, f"n/a: no {rules.etf}/{rules.market} close that day")
    # Twice the SMA's span of each is enough to find its sessions in common, and keeps this per-tick
    # check from walking decades of history.
    ratio = _aligned_ratio(etf.tail(2 * rules.rs_sma), m.tail(2 * rules.rs_sma))
    sma = _sma(ratio, rules.rs_sma)
    if sma is None:
        return Check("relative_strength", label, None, "n/a")
    return Check(
        "relative_strength",
        label,
        ratio[-1] > sma,
        f"{ratio[-1]:.4f} vs {sma:.4f}",
    )


def _volume_check(inputs: EngineInputs, rules: BreakoutRules, timeline: Timeline) -> Check:
    etf = inputs.etf
    label = "breakout volume"
    n = rules.volume_sessions
    if timeline.episode_start is None:
        return Check("breakout_volume", label, None, "no breakout yet")
    day = timeline.days[timeline.episode_start]
    if not etf:
        return Check("breakout_volume", label, None, f"n/a: no {rules.etf} close that day")
    i = bisect_left(etf.ts, int(inputs.watched.ts[timeline.episode_start]))
    if i >= len(etf) or ts_day(etf.ts[i]) != day or i < n:
        return Check("breakout_volume", label, None, f"n/a for {day.isoformat()}")
    avg = sum(etf.volume[i - n : i]) / n
    vol = etf.volume[i]
    if avg <= 0 or vol <= 0:
        return Check("breakout_volume", label, None, f"no {etf.symbol} volume")
    x = vol / avg
    return Check("breakout_volume", label, x >= 1.0, f"{x:.2f}x {n}d avg ({etf.symbol} {day.isoformat()})")


def risks(inputs: EngineInputs, rules: BreakoutRules, timeline: Timeline) -> list[Risk]:
    out: list[Risk] = []
    y = inputs.yields
    n = rules.yield_window
    if not y or len(y) <= n:
        out.append(
            Risk("yield_spike", "10-year yield spike", RiskLevel.UNKNOWN, f"n/a: no {rules.yields} data")
        )
    else:
        bp = (y.close[-1] - y.close[-1 - n]) * 100.0
        lvl = RiskLevel.WARNING if bp >= rules.yield_spike_bp else RiskLevel.CLEAR
        out.append(
            Risk(
                "yield_spike",
                "10-year yield spike",
                lvl,
                f"yields {bp:+.0f} bp in {n}d ({y.symbol} {y.close[-1]:.2f} %)",
                f"yields {bp:+.0f} bp in {n} days",
            )
        )
    for sym, s in ((inputs.index_symbol, inputs.index), (rules.etf, inputs.etf)):
        name = f"drawdown_{sym.lstrip('^').lower()}"
        if not s:
            out.append(Risk(name, f"{sym} drawdown", RiskLevel.UNKNOWN, f"n/a: no {sym} close that day"))
            continue
        hi = max(s.close[-rules.high_window :])
        dd = (1.0 - s.close[-1] / hi) * 100.0
        lvl = (
            RiskLevel.ALARM
            if dd >= rules.drawdown_alarm_pct
            else RiskLevel.WARNING
            if dd >= rules.drawdown_warn_pct
            else RiskLevel.CLEAR
        )
        out.append(
            Risk(
                name,
                f"{s.symbol} drawdown",
                lvl,
                f"{s.symbol} {dd:.1f} % below 52w high {hi:,.2f}",
                f"{s.symbol} {dd:.0f} % off its high",
            )
        )
    m = timeline.machine
    trap = RiskLevel.CLEAR
    value = "no failed breakout"
    words = ""
    if m.state is BreakoutState.FAILED:
        fails = [e for e in timeline.events if e.kind is EventKind.STATE_CHANGE]
        failed_at = fails[-1].day if fails else None
        traps = [e for e in timeline.events if e.risk is RiskKind.BULL_TRAP and e.day == failed_at]
        if traps:
            start = timeline.days[timeline.episode_start] if timeline.episode_start is not None else None
            n = bisect_left(timeline.days, traps[-1].day) - (timeline.episode_start or 0)
            value = f"bull trap: failed {_sessions(n)} after the breakout"
            value += f" of {start:%b %d}" if start else ""
            trap, words = RiskLevel.ALARM, "bull trap"
        else:
            trap, value, words = RiskLevel.WARNING, "failed breakout: back below the level", "failed breakout"
    out.append(Risk("bull_trap", "bull trap", trap, value, words))
    return out


# ---------------------------------------------------------------------- the report
HEADLINES = {
    BreakoutState.INSIDE: "INSIDE the range",
    BreakoutState.TESTING: "TESTING the level",
    BreakoutState.BREAKOUT: "BREAKOUT, not yet confirmed",
    BreakoutState.CONFIRMED: "CONFIRMED breakout",
    BreakoutState.FAILED: "FAILED breakout",
}


@dataclass(frozen=True, slots=True)
class BreakoutReport:
    """Everything the breakout panel shows and `status --json` prints under "breakout"."""

    assessment: BreakoutAssessment
    watched: Watched
    checks: tuple[Check, ...]
    risks: tuple[Risk, ...]
    range: RangeInfo | None
    verdict: str
    events: tuple[BreakoutEvent, ...]

    @property
    def passed(self) -> int:
        return sum(1 for c in self.checks if c.passed)

    def as_json(self) -> dict[str, object]:
        b = self.assessment
        w = self.watched
        return {
            "watched_symbol": w.symbol,
            "watched_note": w.note,
            "etf_ratio": _r(w.etf_ratio),
            "verdict": self.verdict,
            "provisional_state": b.provisional_state.value if b.provisional_state else None,
            "checks_passed": self.passed,
            "checks_total": len(self.checks),
            "checklist": [c.as_json() for c in self.checks],
            "risks": [r.as_json() for r in self.risks],
            "range": self.range.as_json() if self.range else None,
            "recent_events": [e.as_json() for e in self.events[-10:]],
        }


def verdict(b: BreakoutAssessment, checks: Sequence[Check], risk_list: Iterable[Risk]) -> str:
    """E.g. "CONFIRMED breakout — 6 of 7 checks pass; risk: yields +31 bp in 20 days"."""
    if b.state is None:
        return "no data"
    head = HEADLINES[b.state]
    if b.state is BreakoutState.BREAKOUT:
        head += f" ({b.closes_above} of {b.rules.confirm_closes} closes)"
    raised = [r for r in risk_list if r.raised]
    if b.state is BreakoutState.FAILED and any(
        r.name == "bull_trap" and r.level is RiskLevel.ALARM for r in raised
    ):
        head = "FAILED breakout: bull trap"
    passed = sum(1 for c in checks if c.passed)
    text = f"{head} — {passed} of {len(checks)} checks pass"
    named = [r.words for r in raised if r.name != "bull_trap"]
    text += "; risk: " + ", ".join(named) if named else "; no risk flags"
    if b.provisional_state is not None and b.provisional_state is not b.state:
        text += f" (intraday {b.provisional_state.value.upper()}, not confirmed)"
    return text


def aligned(series: BarSeries | None, watched: BarSeries) -> BarSeries | None:
    """`series` cut at the watched series' last day, and only if it has a bar that day: a check must
    never mix today's ^RUT with last year's SPY (replays of files with different ends do that)."""
    if not series or not watched:
        return None
    last = watched.ts[-1]  # daily bars are stamped 00:00 UTC of their day
    # Per snapshot: the usual case (both end on the same day) costs no copy.
    cut = series if series.ts[-1] <= last else series.until(last)
    return cut if cut and cut.ts[-1] == last else None


def build_report(
    inputs: EngineInputs,
    watched: Watched,
    assessment: BreakoutAssessment,
    timeline: Timeline,
) -> BreakoutReport:
    """Assemble the report. `assessment` and `timeline` are on completed closes; the reference price
    for "close above the level" is the live price while the session is open. The other series count
    only where they have a bar on the watched series' last day."""
    w = inputs.watched
    inputs = replace(
        inputs,
        etf=aligned(inputs.etf, w),
        market=aligned(inputs.market, w),
        index=aligned(inputs.index, w),
        yields=aligned(inputs.yields, w),
    )
    if inputs.market is None:
        inputs = replace(inputs, market_readout=None)
    rules = watched.rules
    ref = assessment.reference_price
    checks = checklist(inputs, rules, ref, assessment.live_price is not None, timeline) if ref else []
    risk_list = risks(inputs, rules, timeline)
    rng = timeline.range
    return BreakoutReport(
        assessment,
        watched,
        tuple(checks),
        tuple(risk_list),
        rng,
        verdict(assessment, checks, risk_list),
        timeline.events,
    )
