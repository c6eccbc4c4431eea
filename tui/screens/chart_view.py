"""View 2, the chart: the focused symbol in candles or a line, over a time frame, with its SMAs, the
breakout level and targets (in the ETF's price on the ETF), the range band and volume.

Keys: c candles/line, t the next time frame, h / l a quarter of the window older / newer, g the oldest
bars, G the latest. j / k are not bound: a chart has no rows to move through, and zooming is what t does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.timer import Timer

from services import formatting as fmt
from services.breakout import BreakoutRules
from services.chart_data import (
    BarPeriod,
    ChartFrame,
    ChartKey,
    ChartStyle,
    LevelKind,
    LevelSpec,
    TimeFrame,
    build_frame,
    chart_key,
    level_spec,
    pan_step,
)
from services.models import ts_day
from services.snapshot import Snapshot, SymbolSnapshot
from tui.screens.view import MonitorView
from widgets.price_chart import PART_CSS, PriceChart
from widgets.text_line import TextLine

LIVE_REDRAW_S = 5.0
"""A chart whose only change is the live bars is redrawn at most this often."""

WIDE_HEADER = 100
"""From this width the header names its lines in full ("SMA 50", "level/targets", "5y range")."""
OLDEST = 1 << 30
"""A pan past any history: `build_frame` clamps it to the oldest window."""


def header_content(
    symbol: str,
    frame: TimeFrame,
    style: ChartStyle,
    chart: ChartFrame | None,
    period: BarPeriod | None,
    snap: SymbolSnapshot | None,
    width: int,
    volume_shown: bool,
) -> Content:
    """The chart's one-line header: symbol, frame, what a bar is, the last price, what each line is, and
    where the window ends when it is not at the latest bars."""
    wide = width >= WIDE_HEADER
    parts: list[tuple[str, str] | str] = [(symbol, "bold"), "  ", (frame.label, "bold $accent"), " "]
    what = "candles" if style is ChartStyle.CANDLES else "line"
    if period is not None:
        what = f"{period.value} {what}" if wide else f"{_short(period)} {what}"
    parts.append((what, "$text-muted"))
    q = snap.quote if snap is not None else None
    daily = snap.daily if snap is not None else None
    last = q.last if q is not None else (daily.close[-1] if daily else None)
    parts += ["  ", (fmt.price(symbol, last), "bold")]
    if q is not None and q.change_pct is not None:
        pct = q.change_pct
        parts += [" ", (fmt.percent(pct), "$success" if pct >= 0 else "$error")]
    if chart is not None and chart.ts:
        if chart.pan > 0:  # the window does not end at the latest bar: say where it ends
            parts += ["  ", (f"to {ts_day(chart.ts[-1]):%Y-%m-%d}", "bold $warning")]
        parts.append("  ")
        parts += _legend(chart, wide, volume_shown)
    head = Content.assemble(*parts)
    note = chart.levels_note if chart is not None else None
    if note and len(head.plain) + len(note) + 2 <= width - 2:  # the header's padding
        head = Content.assemble(head, " ", (note, "$text-muted"))
    return head


def _short(period: BarPeriod) -> str:
    return {
        BarPeriod.MIN5: "5m",
        BarPeriod.MIN15: "15m",
        BarPeriod.MIN30: "30m",
        BarPeriod.HOUR: "1h",
        BarPeriod.DAY: "daily",
        BarPeriod.WEEK: "weekly",
        BarPeriod.MONTH: "monthly",
    }[period]


def _legend(chart: ChartFrame, wide: bool, volume_shown: bool) -> list[tuple[str, str] | str]:
    """Only what is drawn: each entry in its line's colour."""
    out: list[tuple[str, str] | str] = []

    def entry(mark: str, text: str, part: str) -> None:
        out.extend([(mark, PART_CSS[part]), (text + " ", "$text-muted")])

    if chart.sma_fast is not None and any(v is not None for v in chart.sma_fast):
        entry("━", "SMA 50" if wide else "50", "sma-fast")
    if chart.sma_slow is not None and any(v is not None for v in chart.sma_slow):
        entry("━", "SMA 200" if wide else "200", "sma-slow")
    kinds = {lv.kind for lv in chart.levels}
    if LevelKind.LEVEL in kinds:
        entry("─", "level" if wide else "lvl", "level")
    if LevelKind.TARGET in kinds:
        entry("─", "targets" if wide else "tgt", "target")
    band = next((lv for lv in chart.levels if lv.kind is LevelKind.RANGE_HIGH), None)
    if band is not None:
        entry("┄", band.label.split()[0] + (" range" if wide else ""), "range")
    if volume_shown:
        entry("█", "volume" if wide else "vol", "volume")
    return out


class ChartView(MonitorView):
    view_title = "Chart"
    DEFAULT_CSS = """
    ChartView {
        height: 1fr;
    }
    ChartView > #chart-head {
        height: 1;
        padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "toggle_style", "Candles/Line", id="chart.style"),
        Binding("t", "cycle_frame", "Frame", id="chart.frame"),
        Binding("h", "pan('older')", "Older", show=False, id="chart.older"),
        Binding("l", "pan('newer')", "Newer", show=False, id="chart.newer"),
        Binding("g", "pan('oldest')", "Oldest", show=False, id="chart.oldest"),
        Binding("G", "pan('latest')", "Latest", show=False, id="chart.latest"),
    ]

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        rules: BreakoutRules | None = None,
        frame: TimeFrame = TimeFrame.Y1,
        style: ChartStyle = ChartStyle.CANDLES,
        id: str | None = None,
    ) -> None:
        """`rules` name the index, its ETF, the level and targets (the configured `[breakout]`); while the
        engine runs on the index its report's rule is used, so only the fallback to the ETF needs them."""
        super().__init__(list(symbols), id=id)
        self.rules = rules or BreakoutRules()
        self._frame = frame
        self._style = style
        self._pan = 0
        self._key: ChartKey | None = None
        self._built_for: tuple[object, ...] | None = None
        """What the user chose (symbol, frame, pan, levels) when the chart was last built, and when."""
        self._built_at = 0.0
        self._redraw_timer: Timer | None = None
        self._chart: ChartFrame | None = None
        self._head_key: tuple[object, ...] | None = None

    @property
    def frame(self) -> TimeFrame:
        return self._frame

    @property
    def style(self) -> ChartStyle:
        """Candles or line."""
        return self._style

    @property
    def pan(self) -> int:
        """Bars back from the latest (0: the latest bars)."""
        return self._pan

    @property
    def chart(self) -> ChartFrame | None:
        """The frame drawn last."""
        return self._chart

    def compose(self) -> ComposeResult:
        yield TextLine(id="chart-head")
        yield PriceChart(id="chart-plot")

    # ------------------------------------------------------------------ actions
    def toggle_style(self) -> None:
        self._style = self._style.toggled()
        self._redraw()

    def cycle_frame(self) -> None:
        self._frame = self._frame.next()
        self._pan = 0
        self._redraw()

    def action_toggle_style(self) -> None:
        self.toggle_style()

    def action_cycle_frame(self) -> None:
        self.cycle_frame()

    def action_pan(self, where: str) -> None:
        step = pan_step(self._frame)
        pan = {"older": self._pan + step, "newer": self._pan - step, "oldest": OLDEST, "latest": 0}[where]
        self._pan = max(0, pan)
        self._redraw()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pan" and self._chart is not None and self._chart.max_pan == 0:
            return None  # nothing to pan to (1D, or a history no longer than the window): shown disabled
        return True

    def set_symbol(self, symbol: str) -> None:
        if symbol != self.symbol:
            self._pan = 0
        super().set_symbol(symbol)

    def _redraw(self) -> None:
        self._dirty = True
        if self.display and self.is_mounted:
            self._update()
        self.refresh_bindings()

    # ------------------------------------------------------------------ drawing
    def update_view(self, snap: Snapshot, now: datetime) -> None:
        sym = snap.symbols.get(self.symbol)
        plot = self.query_one(PriceChart)
        if sym is None:
            self._key, self._chart = None, None
            plot.show(None, self._style, f"no data for {self.symbol or 'any symbol'}")
            self._show_header(None)
            return
        spec = level_spec(self.rules, snap)
        key = chart_key(sym, self._frame, self._pan, spec)
        if key != self._key:
            chosen = (self.symbol, self._frame, self._pan, spec)
            wait = self._built_at + LIVE_REDRAW_S - time.monotonic()
            if chosen == self._built_for and wait > 0:
                # Only the live bars moved: plotext redraws the whole picture (~40 ms of the event loop),
                # so a ticking market redraws the chart every few seconds; the header follows each tick.
                if self._redraw_timer is None:
                    self._redraw_timer = self.set_timer(wait, self._redraw_now)
            else:
                self._build(sym, spec)
                self._built_for, self._built_at = chosen, time.monotonic()
        plot.show(self._chart, self._style)
        self._show_header(sym)

    def _redraw_now(self) -> None:
        self._redraw_timer = None
        self._built_at = 0.0
        self._dirty = True
        if self.display and self.is_mounted:
            self._update()

    def _build(self, sym: SymbolSnapshot, spec: LevelSpec) -> None:
        chart = build_frame(sym, self._frame, self._pan, spec)
        could_pan = self._chart is None or self._chart.max_pan > 0
        self._chart, self._pan = chart, chart.pan
        if could_pan != (chart.max_pan > 0):
            self.refresh_bindings()  # h / l / g / G enabled or not (check_action)
        # Keyed on the pan after clamping, so a pan past the oldest bars is not rebuilt on every tick.
        self._key = chart_key(sym, self._frame, self._pan, spec)

    def _show_header(self, sym: SymbolSnapshot | None) -> None:
        lay = self.query_one(PriceChart).current_layout()
        period = lay.period if lay is not None else (self._chart.period if self._chart else None)
        volume_shown = lay is not None and lay.volume is not None
        width = self.size.width or self.app.size.width
        q = sym.quote if sym is not None else None
        key = (
            self.symbol,
            self._frame,
            self._style,
            self._key,
            period,
            volume_shown,
            width,
            (q.last, q.change_pct) if q is not None else None,
            sym.daily.revision if sym is not None else None,
        )
        if key == self._head_key:
            return
        self._head_key = key
        head = header_content(
            self.symbol, self._frame, self._style, self._chart, period, sym, width, volume_shown
        )
        self.query_one("#chart-head", TextLine).show(head)

    def on_resize(self) -> None:
        # The bar period and the volume strip depend on the plot's size.
        if self.snapshot is not None and self.display:
            self._show_header(self.snapshot.symbols.get(self.symbol))
