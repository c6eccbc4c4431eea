"""What view 2's price chart draws, worked out without Textual or plotext so it can be tested plainly.

`build_frame()` picks the bars of a time frame and what goes over them; `layout()` fits that to a plot of
a given size in cells (bar period, axis ranges, tick labels, which lines are on the chart). The widget
only turns a layout into plotext calls, so the same data and size always give the same picture.

Time frames and their bars:

- 1D: today's intraday bars (5-minute), from `SymbolSnapshot.intraday`. None there (an index Yahoo sends
  no intraday for, or a closed market after the day rolled) gives a `reason` instead of a plot.
- 5D: the last 5 daily bars. The snapshot carries only today's intraday bars, so a 5-day intraday chart
  cannot be drawn from it; only when the intraday series does span several sessions are its bars of
  the last 5 sessions used instead.
- 1M, 6M, 1Y: the last 21, 126 and 252 daily bars.
- 5Y: the last 260 weekly bars, resampled from the daily ones (1,260 daily candles would be a smear).

SMA 50 and SMA 200 are TA-Lib's over the FULL daily history, then read at each bar of the window (at a
week's last session for weekly bars), so the overlay is right at the left edge; None where history is
too short. Intraday frames have no SMA overlay (a 50-day average is not a 5-minute series).

Pan is an offset in bars (of the frame's own period) from the latest: 0 shows the latest bars, larger
values older ones, clamped to what the history holds. Intraday frames do not pan.

Fitting: a candle needs a column of its own, so candles that do not fit one per column are merged into
the next coarser period (5-minute -> 15 -> 30 -> hourly; daily -> weekly -> monthly): 1Y is weekly
candles below ~250 columns, 5Y monthly. A line keeps the frame's bars (braille has two points a column).
Levels, targets and SMA values near the bars widen the price axis; those far away would squash the bars
and are named at the chart's edge instead ("▲ target 3,000 +21.4 %"). Volume takes the bottom fifth of
the plot when it is tall enough to be read, and is left out below that.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from services.breakout import BreakoutRules
from services.engine import consolidation_range
from services.formatting import is_index
from services.market_hours import NEW_YORK
from services.models import BarSeries, ts_day

if TYPE_CHECKING:
    from services.snapshot import Snapshot


class TimeFrame(enum.Enum):
    D1 = "1D"
    D5 = "5D"
    M1 = "1M"
    M6 = "6M"
    Y1 = "1Y"
    Y5 = "5Y"

    @property
    def label(self) -> str:
        return self.value

    def next(self) -> TimeFrame:
        """The frame `t` goes to: 1D, 5D, 1M, 6M, 1Y, 5Y, then 1D again."""
        members = list(TimeFrame)
        return members[(members.index(self) + 1) % len(members)]


class ChartStyle(enum.StrEnum):
    CANDLES = "candles"
    LINE = "line"

    def toggled(self) -> ChartStyle:
        return ChartStyle.LINE if self is ChartStyle.CANDLES else ChartStyle.CANDLES


class BarPeriod(enum.StrEnum):
    """What one drawn bar spans, in words for the header ("weekly candles")."""

    MIN5 = "5-minute"
    MIN15 = "15-minute"
    MIN30 = "30-minute"
    HOUR = "hourly"
    DAY = "daily"
    WEEK = "weekly"
    MONTH = "monthly"

    @property
    def is_intraday(self) -> bool:
        return self in _SECONDS


_SECONDS = {BarPeriod.MIN5: 300, BarPeriod.MIN15: 900, BarPeriod.MIN30: 1800, BarPeriod.HOUR: 3600}
COARSER = {
    BarPeriod.MIN5: BarPeriod.MIN15,
    BarPeriod.MIN15: BarPeriod.MIN30,
    BarPeriod.MIN30: BarPeriod.HOUR,
    BarPeriod.DAY: BarPeriod.WEEK,
    BarPeriod.WEEK: BarPeriod.MONTH,
}
"""The next bar period when candles do not fit one per column (a candle needs a column of its own)."""

WINDOW_BARS = {TimeFrame.D5: 5, TimeFrame.M1: 21, TimeFrame.M6: 126, TimeFrame.Y1: 252, TimeFrame.Y5: 260}
"""Bars shown per frame (sessions; weeks for 5Y). 1D shows all of today's intraday bars."""
INTRADAY_DAYS = 5
SMA_FAST, SMA_SLOW = 50, 200
DEFAULT_RANGE_YEARS = BreakoutRules().range_years

LEVEL_MARGIN = 0.35
"""A level, target or SMA value within this fraction of the bars' own price span beyond it is brought on
the chart (the axis widens for it); one further away would squash the bars, so it is named instead."""
PAD = 0.04
VOLUME_MIN_ROWS = 18
"""Volume bars are drawn only on a canvas at least this tall: their 20 % strip is then 4 rows or more."""
VOLUME_SHARE = 0.2
AXIS_ROWS = 3
"""Rows plotext takes besides the canvas: the top and bottom frame lines and the x labels."""
AXIS_COLS = 2
"""Columns plotext takes besides the canvas and the y labels: the left and right frame lines."""
MIN_CANVAS = (10, 4)


class LevelKind(enum.StrEnum):
    LEVEL = "level"
    TARGET = "target"
    RANGE_HIGH = "range_high"
    RANGE_LOW = "range_low"


@dataclass(frozen=True, slots=True)
class Level:
    """A horizontal line, in the charted symbol's price."""

    kind: LevelKind
    value: float
    label: str
    """E.g. "level 2,565", "target 297.00", "5y high 2,466"."""


@dataclass(frozen=True, slots=True)
class LevelSpec:
    """The breakout rule's lines in index points, and the ratio that puts them in the ETF's price."""

    index: str
    etf: str
    level: float
    targets: tuple[float, ...]
    ratio: float
    """ETF price per index point (IWM per ^RUT point)."""
    ratio_basis: str
    """Where the ratio comes from, e.g. "common close 2026-03-06" or "configured"."""
    range_years: float = DEFAULT_RANGE_YEARS


def level_spec(rules: BreakoutRules, snap: Snapshot | None = None) -> LevelSpec:
    """The rule's lines and the ratio the snapshot maps them by: the same numbers the breakout panel
    shows as "in IWM 253.96 / ...".

    The rule is the engine's own when it runs on the index (its report carries the configured rule),
    else `rules`. The ratio is the engine's (its report), else the panel's proxy, else the configured
    `iwm_per_rut`.
    """
    ratio, basis = rules.iwm_per_rut, "configured"
    if snap is not None and snap.report is not None:
        w = snap.report.watched
        if w.rules.symbol != w.rules.etf:  # on the ETF, the report's rule is already mapped to it
            rules = w.rules
        ratio, basis = w.etf_ratio, w.ratio_basis
    elif snap is not None and snap.proxy is not None and snap.proxy[0] == rules.etf:
        ratio, basis = snap.proxy[1], "breakout panel"
    return LevelSpec(rules.symbol, rules.etf, rules.level, rules.targets, ratio, basis, rules.range_years)


class ChartSource(Protocol):
    """What the chart reads of a symbol: `SymbolSnapshot` has it."""

    @property
    def symbol(self) -> str: ...
    @property
    def daily(self) -> BarSeries: ...
    @property
    def intraday(self) -> BarSeries | None: ...
    @property
    def provisional(self) -> bool: ...


ChartKey = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class ChartFrame:
    """The bars of one time frame and everything drawn over them, oldest first."""

    symbol: str
    frame: TimeFrame
    period: BarPeriod
    ts: tuple[int, ...]
    """Bar starts in epoch seconds (daily and weekly bars: 00:00 UTC of their first session)."""
    open: tuple[float, ...]
    high: tuple[float, ...]
    low: tuple[float, ...]
    close: tuple[float, ...]
    volume: tuple[float, ...] | None
    """None for an index (its volume means nothing) or when the series has no volume at all."""
    sma_fast: tuple[float | None, ...] | None
    """SMA 50 of daily closes at each bar (None inside: too little history; None: not drawn)."""
    sma_slow: tuple[float | None, ...] | None
    levels: tuple[Level, ...]
    """Breakout level and targets (index and ETF only), then the range band's high and low."""
    pan: int
    """Bars back from the latest, after clamping."""
    max_pan: int
    provisional: bool
    """The last bar is today's, still in progress."""
    key: ChartKey
    """Equal keys draw equal charts (given the same style and size)."""
    reason: str | None = None
    """Why there is nothing to draw."""
    levels_note: str | None = None
    """How the levels were mapped to the ETF's price, e.g. "^RUT levels x 0.0990"."""

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def last_close(self) -> float | None:
        return self.close[-1] if self.close else None


def pan_step(frame: TimeFrame) -> int:
    """Bars one `h` / `l` moves the window: a quarter of it (a week on 1M, a quarter on 1Y)."""
    return max(1, WINDOW_BARS.get(frame, 0) // 4)


def chart_key(source: ChartSource, frame: TimeFrame, pan: int, spec: LevelSpec | None) -> ChartKey:
    """Cheap: compare it with the last one before building a frame. Intraday revisions count only for
    the frames drawn from intraday bars, so a live tick does not rebuild 1Y for a bar it does not show."""
    intraday = source.intraday
    intra = intraday.revision if frame in (TimeFrame.D1, TimeFrame.D5) and intraday is not None else None
    return (source.symbol, frame, pan, source.daily.revision, intra, source.provisional, spec)


# ---------------------------------------------------------------------- building a frame
def build_frame(
    source: ChartSource, frame: TimeFrame, pan: int = 0, spec: LevelSpec | None = None
) -> ChartFrame:
    """The bars of `frame` ending `pan` bars before the latest, with overlays and levels."""
    sym = source.symbol
    levels, note = _levels(source, spec)
    intraday = source.intraday
    if frame is TimeFrame.D1 or (frame is TimeFrame.D5 and intraday and _several_days(intraday)):
        key = chart_key(source, frame, 0, spec)
        if not intraday:
            why = f"no intraday bars for {sym} today (market closed, or none from the source)"
            return _empty(sym, frame, BarPeriod.MIN5, key, levels, note, why)
        bars = intraday if frame is TimeFrame.D1 else _last_days(intraday, INTRADAY_DAYS)
        return ChartFrame(
            symbol=sym,
            frame=frame,
            period=_intraday_period(bars),
            ts=tuple(bars.ts),
            open=tuple(bars.open),
            high=tuple(bars.high),
            low=tuple(bars.low),
            close=tuple(bars.close),
            volume=_volume(sym, bars.volume),
            sma_fast=None,
            sma_slow=None,
            levels=levels,
            pan=0,
            max_pan=0,
            provisional=source.provisional,
            key=key,
            levels_note=note,
        )
    daily = source.daily
    if not daily:
        key = chart_key(source, frame, 0, spec)
        return _empty(sym, frame, BarPeriod.DAY, key, levels, note, f"no daily bars for {sym} yet")
    import numpy as np  # heavy imports stay off the start-up path
    import talib

    closes = np.frombuffer(daily.close, dtype=np.float64)
    sma_fast = talib.SMA(closes, timeperiod=SMA_FAST)
    sma_slow = talib.SMA(closes, timeperiod=SMA_SLOW)
    ts = np.frombuffer(daily.ts, dtype=np.int64)
    if frame is TimeFrame.Y5:
        week = (ts // 86400 + 3) // 7  # Monday-based week number (1970-01-01 was a Thursday)
        starts = np.concatenate(([0], np.flatnonzero(week[1:] != week[:-1]) + 1)).astype(np.int64)
        ends = np.append(starts[1:], len(ts)) - 1
        period = BarPeriod.WEEK
    else:
        starts = ends = np.arange(len(ts), dtype=np.int64)
        period = BarPeriod.DAY
    n = len(ends)
    window = WINDOW_BARS[frame]
    max_pan = max(0, n - window)
    pan = min(max(0, pan), max_pan)
    a, b = max(0, n - window - pan), n - pan
    s, e = starts[a:b], ends[a:b]
    f64 = np.float64
    high = np.maximum.reduceat(np.frombuffer(daily.high, dtype=f64), starts)[a:b]
    low = np.minimum.reduceat(np.frombuffer(daily.low, dtype=f64), starts)[a:b]
    volume = np.add.reduceat(np.frombuffer(daily.volume, dtype=f64), starts)[a:b]
    return ChartFrame(
        symbol=sym,
        frame=frame,
        period=period,
        ts=tuple(int(x) for x in ts[s]),
        open=_floats(np.frombuffer(daily.open, dtype=f64)[s]),
        high=_floats(high),
        low=_floats(low),
        close=_floats(closes[e]),
        volume=_volume(sym, _floats(volume)),
        sma_fast=_optional(sma_fast[e]),
        sma_slow=_optional(sma_slow[e]),
        levels=levels,
        pan=pan,
        max_pan=max_pan,
        provisional=source.provisional,
        key=chart_key(source, frame, pan, spec),
        levels_note=note,
    )


def _empty(
    sym: str,
    frame: TimeFrame,
    period: BarPeriod,
    key: ChartKey,
    levels: tuple[Level, ...],
    note: str | None,
    reason: str,
) -> ChartFrame:
    return ChartFrame(
        sym, frame, period, (), (), (), (), (), None, None, None, levels, 0, 0, False, key, reason, note
    )


def _floats(values: Iterable[float]) -> tuple[float, ...]:
    return tuple(float(x) for x in values)


def _optional(values: Iterable[float]) -> tuple[float | None, ...]:
    return tuple(float(x) if math.isfinite(x) else None for x in values)


def _volume(symbol: str, values: Iterable[float]) -> tuple[float, ...] | None:
    """Index volume is meaningless (^RUT's mostly equals ^GSPC's, ^VIX's is 0): never drawn."""
    vol = _floats(values)
    if is_index(symbol) or not any(x > 0 for x in vol):
        return None
    return vol


def _ny_day(ts: int) -> date:
    return datetime.fromtimestamp(ts, NEW_YORK).date()


def _several_days(series: BarSeries) -> bool:
    return bool(series) and _ny_day(series.ts[0]) != _ny_day(series.ts[-1])


def _last_days(series: BarSeries, days: int) -> BarSeries:
    """The bars of the last `days` New York session days."""
    seen: list[date] = []
    for i in range(len(series) - 1, -1, -1):
        d = _ny_day(series.ts[i])
        if not seen or seen[-1] != d:
            if len(seen) == days:
                return series.since(series.ts[i + 1])
            seen.append(d)
    return series


def _intraday_period(series: BarSeries) -> BarPeriod:
    gaps = [b - a for a, b in zip(series.ts, series.ts[1:], strict=False) if b > a]
    step = min(gaps) if gaps else 300
    for period, seconds in _SECONDS.items():
        if step <= seconds:
            return period
    return BarPeriod.HOUR


def _level_text(value: float, etf: bool) -> str:
    """2,565 for an index level, 253.96 for the ETF."""
    return f"{value:,.2f}" if etf or value < 1000 else f"{value:,.0f}"


def _levels(source: ChartSource, spec: LevelSpec | None) -> tuple[tuple[Level, ...], str | None]:
    """The rule's level and targets (on the index itself, or mapped to the ETF's price; none on other
    symbols), then the range band of the symbol's own completed closes."""
    sym = source.symbol
    out: list[Level] = []
    note: str | None = None
    if spec is not None and sym in (spec.index, spec.etf) and spec.ratio > 0:
        etf = sym == spec.etf and sym != spec.index
        scale = spec.ratio if etf else 1.0
        out.append(
            Level(LevelKind.LEVEL, spec.level * scale, f"level {_level_text(spec.level * scale, etf)}")
        )
        for t in spec.targets:
            out.append(Level(LevelKind.TARGET, t * scale, f"target {_level_text(t * scale, etf)}"))
        if etf:
            note = f"{spec.index} levels x {spec.ratio:.4f}"
    daily = source.daily
    completed = daily.until(daily.ts[-1] - 1) if source.provisional and daily else daily
    rng = consolidation_range(completed, spec.range_years if spec else DEFAULT_RANGE_YEARS)
    if rng is not None and rng.high > rng.low:
        span = f"{rng.years:.0f}y" if rng.years >= 1 else f"{max(1.0, rng.years * 12):.0f}mo"
        digits = 2 if rng.high < 1000 else 0
        out.append(Level(LevelKind.RANGE_HIGH, rng.high, f"{span} high {rng.high:,.{digits}f}"))
        out.append(Level(LevelKind.RANGE_LOW, rng.low, f"{span} low {rng.low:,.{digits}f}"))
    return tuple(out), note


# ---------------------------------------------------------------------- fitting to a plot
@dataclass(frozen=True, slots=True)
class Tick:
    index: int
    label: str
    rank: int
    """0 is labelled first (a new year), higher ranks fill the room left (months, quarters)."""


@dataclass(frozen=True, slots=True)
class Label:
    value: float
    """Where on the price axis (the row it is written on)."""
    text: str
    kind: LevelKind | None
    """The first line's kind, for its colour; None for a note of levels off the chart alone."""


@dataclass(frozen=True, slots=True)
class ChartLayout:
    """A frame fitted to a plot of `size` cells: everything plotext is told, and nothing more."""

    size: tuple[int, int]
    period: BarPeriod
    """The drawn bars' period: coarser than the frame's when candles would not fit one per column."""
    ts: tuple[int, ...]
    open: tuple[float, ...]
    high: tuple[float, ...]
    low: tuple[float, ...]
    close: tuple[float, ...]
    volume: tuple[float, ...] | None
    """None when the frame has none, or the plot is too short for a legible volume strip."""
    volume_top: float
    """The volume axis' top: the highest bar reaches `VOLUME_SHARE` of the height, under the prices."""
    sma_fast: tuple[float | None, ...] | None
    sma_slow: tuple[float | None, ...] | None
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    price_floor: float
    """The lowest price on the axis (above the volume strip, when there is one)."""
    xticks: tuple[int, ...]
    xlabels: tuple[str, ...]
    yticks: tuple[float, ...]
    ylabels: tuple[str, ...]
    """Right-aligned to one width."""
    lines: tuple[Level, ...]
    """Levels on the chart."""
    labels: tuple[Label, ...]
    """Written at the left edge: each line's name on its row (lines sharing a row share a label), and
    the levels off the chart, "▲ target 3,000 +21.4 %" on the top row and "▼ ..." on the lowest price
    row (after a line's label when one is on that row)."""
    canvas: tuple[int, int]
    """Columns and rows of the data area."""

    def row_value(self, row: int, ylim: tuple[float, float] | None = None) -> float:
        """The value plotext puts exactly on canvas row `row` (0 at the bottom)."""
        lo, hi = ylim or self.ylim
        return lo + row * (hi - lo) / (self.canvas[1] - 1)

    def candle_points(self) -> dict[str, tuple[list[int], list[float]]]:
        """Candles as one point per canvas row they cover, grouped by part ("up_wick", "down_wick",
        "up_body", "down_body"): four scatter signals draw every candle, where one plotext signal per
        wick and body would cost a millisecond each. A candle closing at or above its open is "up"."""
        rows = self.canvas[1]
        parts: dict[str, tuple[list[int], list[float]]] = {
            name: ([], []) for name in ("up_wick", "down_wick", "up_body", "down_body")
        }
        for i, (o, h, lw, c) in enumerate(zip(self.open, self.high, self.low, self.close, strict=True)):
            side = "up" if c >= o else "down"
            for part, a, b in (("wick", lw, h), ("body", min(o, c), max(o, c))):
                xs, ys = parts[f"{side}_{part}"]
                for r in range(_row_of(a, self.ylim, rows), _row_of(b, self.ylim, rows) + 1):
                    xs.append(i)
                    ys.append(self.row_value(r))
        return parts

    def volume_points(self) -> tuple[list[int], list[float]]:
        """Volume bars as one point per row from the bottom to each bar's top, on the volume axis
        (0 to `volume_top`); a bar with any volume shows at least one row."""
        xs: list[int] = []
        ys: list[float] = []
        axis = (0.0, self.volume_top)
        for i, v in enumerate(self.volume or ()):
            if v <= 0:
                continue
            for r in range(max(0, _row_of(v, axis, self.canvas[1])) + 1):
                xs.append(i)
                ys.append(self.row_value(r, axis))
        return xs, ys


def layout(frame: ChartFrame, style: ChartStyle, width: int, height: int) -> ChartLayout | None:
    """`frame` fitted to a `width` x `height` plot; None when it is empty or the plot is too small."""
    if not frame.ts or width <= 0 or height <= 0:
        return None
    candles = style is ChartStyle.CANDLES
    lo = min(frame.low) if candles else min(frame.close)
    hi = max(frame.high) if candles else max(frame.close)
    span = hi - lo if hi > lo else max(abs(hi) * 0.01, 0.01)
    reach_lo, reach_hi = lo - LEVEL_MARGIN * span, hi + LEVEL_MARGIN * span
    top, bottom = hi, lo
    for sma in (frame.sma_fast, frame.sma_slow):
        for v in sma or ():
            if v is not None and reach_lo <= v <= reach_hi:
                top, bottom = max(top, v), min(bottom, v)
    lines: list[Level] = []
    above: list[Level] = []
    below: list[Level] = []
    for lv in frame.levels:
        if lv.value > reach_hi:
            above.append(lv)
        elif lv.value < reach_lo:
            below.append(lv)
        else:
            lines.append(lv)
            top, bottom = max(top, lv.value), min(bottom, lv.value)
    if top == bottom:
        top, bottom = top + span / 2, bottom - span / 2
    pad = PAD * (top - bottom)
    price_lo, price_hi = bottom - pad, top + pad
    canvas_rows = height - AXIS_ROWS
    show_volume = frame.volume is not None and canvas_rows >= VOLUME_MIN_ROWS
    ylo = price_lo - (price_hi - price_lo) * VOLUME_SHARE / (1 - VOLUME_SHARE) if show_volume else price_lo
    price_rows = canvas_rows * (1 - VOLUME_SHARE) if show_volume else canvas_rows
    yticks, ylabels = nice_ticks(price_lo, price_hi, max(2, min(8, int(price_rows) // 3)))
    label_w = max((len(s) for s in ylabels), default=0)
    canvas_cols = width - AXIS_COLS - label_w
    if canvas_cols < MIN_CANVAS[0] or canvas_rows < MIN_CANVAS[1]:
        return None
    bars = _Bars.of(frame)
    period = frame.period
    while candles and len(bars.ts) > canvas_cols - 1 and period in COARSER:
        period = COARSER[period]
        bars = bars.grouped(_group_keys(bars.ts, period))
    n = len(bars.ts)
    xlim = (-0.5, n - 0.5)
    col = _column_of(xlim, canvas_cols)
    # At least one date label: plotext gives the canvas the x labels' row only when there are labels, and
    # the rows computed here must be the canvas plotext draws.
    ticks = thin_ticks(tick_candidates(bars.ts, period, frame.frame), col) or [
        Tick(n - 1, _bar_label(bars.ts[-1], period), 0)
    ]
    volume = bars.volume if show_volume else None
    ref = frame.close[-1]
    return ChartLayout(
        size=(width, height),
        period=period,
        ts=bars.ts,
        open=bars.open,
        high=bars.high,
        low=bars.low,
        close=bars.close,
        volume=volume,
        volume_top=max(volume) / (VOLUME_SHARE * 0.9) if volume else 1.0,
        sma_fast=bars.sma_fast,
        sma_slow=bars.sma_slow,
        xlim=xlim,
        ylim=(ylo, price_hi),
        price_floor=price_lo,
        xticks=tuple(t.index for t in ticks),
        xlabels=tuple(t.label for t in ticks),
        yticks=yticks,
        ylabels=tuple(s.rjust(label_w) for s in ylabels),
        lines=tuple(lines),
        labels=_labels(
            lines,
            [_off_chart(lv, ref) for lv in sorted(above, key=lambda x: x.value)],
            [_off_chart(lv, ref) for lv in sorted(below, key=lambda x: -x.value)],
            (ylo, price_hi),
            price_lo,
            canvas_rows,
        ),
        canvas=(canvas_cols, canvas_rows),
    )


def _bar_label(ts: int, period: BarPeriod) -> str:
    if period.is_intraday:
        return datetime.fromtimestamp(ts, NEW_YORK).strftime("%H:%M")
    return f"{ts_day(ts):%b %d}"


def _off_chart(lv: Level, ref: float) -> str:
    return f"{lv.label} {(lv.value / ref - 1.0) * 100.0:+.1f} %" if ref > 0 else lv.label


def _row_of(value: float, ylim: tuple[float, float], rows: int) -> int:
    """The canvas row plotext puts `value` on (its own rounding, see plotext's get_matrix_data)."""
    return math.floor(round(0.5 + (rows - 1) * (value - ylim[0]) / (ylim[1] - ylim[0]), 8))


def _column_of(xlim: tuple[float, float], cols: int) -> Callable[[int], int]:
    def col(i: int) -> int:
        return math.floor(round(0.5 + (cols - 1) * (i - xlim[0]) / (xlim[1] - xlim[0]), 8))

    return col


def _labels(
    lines: Sequence[Level],
    above: Sequence[str],
    below: Sequence[str],
    ylim: tuple[float, float],
    floor: float,
    rows: int,
) -> tuple[Label, ...]:
    by_row: dict[int, tuple[float, list[str], LevelKind | None]] = {}
    for lv in sorted(lines, key=lambda x: x.value):
        r = _row_of(lv.value, ylim, rows)
        if r in by_row:
            by_row[r][1].append(lv.label)
        else:
            by_row[r] = (lv.value, [lv.label], lv.kind)
    texts = {r: " / ".join(names) for r, (_, names, _) in by_row.items()}
    for notes, arrow, value in ((above, "▲", ylim[1]), (below, "▼", floor)):
        if not notes:
            continue
        r = _row_of(value, ylim, rows)
        note = f"{arrow} " + "  ".join(notes)
        if r in by_row:
            texts[r] += "  " + note
        else:
            by_row[r] = (value, [], None)
            texts[r] = note
    return tuple(Label(v, texts[r], kind) for r, (v, _, kind) in sorted(by_row.items()))


def nice_ticks(lo: float, hi: float, count: int) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """About `count` round price ticks between `lo` and `hi` (steps of 1, 2, 2.5 or 5 times a power of
    ten), labelled with as many decimals as the step needs and thousands separators: 2,450 / 2,500,
    253.5 / 254.0, 4.25 / 4.50."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return (), ()
    raw = (hi - lo) / max(1, count)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw * (1 - 1e-9))
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    decimals = next((d for d in range(8) if abs(round(step, d) - step) <= step * 1e-9), 8)
    ticks = tuple(round(k * step, decimals) + 0.0 for k in range(first, last + 1))
    return ticks, tuple(f"{t:,.{decimals}f}" for t in ticks)


@dataclass(frozen=True, slots=True)
class _Bars:
    ts: tuple[int, ...]
    open: tuple[float, ...]
    high: tuple[float, ...]
    low: tuple[float, ...]
    close: tuple[float, ...]
    volume: tuple[float, ...] | None
    sma_fast: tuple[float | None, ...] | None
    sma_slow: tuple[float | None, ...] | None

    @classmethod
    def of(cls, f: ChartFrame) -> _Bars:
        return cls(f.ts, f.open, f.high, f.low, f.close, f.volume, f.sma_fast, f.sma_slow)

    def grouped(self, keys: Sequence[object]) -> _Bars:
        """Consecutive bars with equal keys merged: first open, extremes, last close, summed volume;
        the SMA as of each group's last bar."""
        starts = [i for i in range(len(keys)) if i == 0 or keys[i] != keys[i - 1]]
        ends = [*(s - 1 for s in starts[1:]), len(keys) - 1]
        spans = list(zip(starts, ends, strict=True))
        vol = self.volume
        return _Bars(
            tuple(self.ts[s] for s in starts),
            tuple(self.open[s] for s in starts),
            tuple(max(self.high[s : e + 1]) for s, e in spans),
            tuple(min(self.low[s : e + 1]) for s, e in spans),
            tuple(self.close[e] for e in ends),
            tuple(sum(vol[s : e + 1]) for s, e in spans) if vol is not None else None,
            tuple(self.sma_fast[e] for e in ends) if self.sma_fast is not None else None,
            tuple(self.sma_slow[e] for e in ends) if self.sma_slow is not None else None,
        )


def _group_keys(ts: Sequence[int], period: BarPeriod) -> list[object]:
    if period.is_intraday:
        return [t // _SECONDS[period] for t in ts]
    if period is BarPeriod.WEEK:
        return [(t // 86400 + 3) // 7 for t in ts]
    if period is BarPeriod.MONTH:
        return [(d.year, d.month) for d in map(ts_day, ts)]
    return list(ts)


# ---------------------------------------------------------------------- date labels
def tick_candidates(ts: Sequence[int], period: BarPeriod, frame: TimeFrame) -> list[Tick]:
    """Where a date label may go, and what it says: hours on 1D (New York time), sessions on 5D, weeks
    on 1M, months on 6M and 1Y (a new year labelled with the year), years and quarters on 5Y. Only a
    bar that really starts its hour / week / month is labelled with it."""
    out: list[Tick] = []
    if period.is_intraday:
        local = [datetime.fromtimestamp(t, NEW_YORK) for t in ts]
        several_days = local[0].date() != local[-1].date()
        for i, t in enumerate(local):
            prev = local[i - 1] if i else None
            if several_days:
                if prev is None or prev.date() != t.date():
                    out.append(Tick(i, t.strftime("%b %d"), 0))
            elif prev is None:
                out.append(Tick(i, t.strftime("%H:%M"), 1))
            elif prev.hour != t.hour:
                out.append(Tick(i, t.strftime("%H:%M"), 0 if t.hour % 2 == 0 else 1))
        return out
    days = [ts_day(t) for t in ts]
    if frame is TimeFrame.D5 and period is BarPeriod.DAY:
        return [Tick(i, f"{d:%b %d}", 0) for i, d in enumerate(days)]
    if frame is TimeFrame.M1 and period is BarPeriod.DAY:
        for i, d in enumerate(days):
            if i == 0:
                out.append(Tick(i, f"{d:%b %d}", 1))
            elif d.isocalendar()[:2] != days[i - 1].isocalendar()[:2]:
                out.append(Tick(i, f"{d:%b %d}", 0))
        return out
    yearly = frame is TimeFrame.Y5
    for i in range(1, len(days)):
        d, p = days[i], days[i - 1]
        if (d.year, d.month) == (p.year, p.month):
            continue
        if d.year != p.year:
            out.append(Tick(i, f"{d.year}", 0))
        elif d.month in (4, 7, 10):
            out.append(Tick(i, f"{d:%b}", 1))
        elif not yearly:
            out.append(Tick(i, f"{d:%b}", 2))
    return out


def thin_ticks(candidates: Sequence[Tick], column: Callable[[int], int]) -> list[Tick]:
    """The candidates whose labels do not crowd each other (two columns apart at least), the most
    important first, in bar order."""
    chosen: list[tuple[int, Tick]] = []
    for rank in sorted({c.rank for c in candidates}):
        for c in candidates:
            if c.rank != rank:
                continue
            x = column(c.index)
            if all(abs(x - ox) >= (len(c.label) + len(o.label)) / 2 + 2 for ox, o in chosen):
                chosen.append((x, c))
    return [c for _, c in sorted(chosen, key=lambda xc: xc[1].index)]
