"""View 4, relative strength: are small caps leading large caps? IWM/SPY and ^RUT/^GSPC.

Each pair gets a header line (the ratio at the window's last close, its SMA 50, the trend in words, the
ratio's change over the frame, each price's change) and its charts: both prices rebased to 100 on the
frame's first session, and the ratio with its SMA 50. Wide terminals show the two charts side by side;
a narrow but tall one stacks them; at 80x24 only the ratio chart stays (the header carries the rest).

`t` cycles the frame (1M ... 5Y), `h` / `l` pan a quarter of the frame older / newer, `g` / `G` jump to
the oldest / latest window. Everything is drawn from completed closes, so a live tick redraws nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.content import Content

from services import formatting as fmt
from services.breakout import BreakoutRules
from services.relative_strength import (
    DEFAULT_FRAME,
    LARGE_CAP_INDEX,
    SMA_PERIOD,
    PairHistory,
    RelativeTrend,
    StrengthFrame,
    StrengthWindow,
    Unavailable,
    clamp_offset,
    pair_key,
    read_pair,
    window,
)
from services.snapshot import Snapshot
from tui.screens.view import MonitorView
from widgets.ratio_chart import ChartPanel, RatioChart
from widgets.text_line import TextLine

SIDE_BY_SIDE_WIDTH = 100
"""From this view width the price and ratio charts sit side by side (each ~50 columns)."""
STACKED_HEIGHT = 35
"""Below SIDE_BY_SIDE_WIDTH, from this view height each pair stacks its two charts (8 rows each)."""
TREND_STYLE = {
    RelativeTrend.LEADING: "bold $success",
    RelativeTrend.LAGGING: "bold $error",
    RelativeTrend.MIXED: "bold $warning",
}
# The chart's line colours (widgets/ratio_chart.py), so the header doubles as its legend.
SMALL_CAPS_STYLE = "$primary"
LARGE_CAPS_STYLE = "$foreground-muted"
SMA_STYLE = "$warning"

Segment = tuple[str, str]


def ratio_text(value: float | None) -> str:
    """0.3805 for IWM/SPY; two decimals for a ratio above 10."""
    if value is None:
        return fmt.NA
    return f"{value:,.2f}" if abs(value) >= 10 else f"{value:.4f}"


def _fit(segments: Sequence[tuple[int, Segment]], width: int) -> Content:
    """The segments that fit in `width` columns, dropping the least important (highest rank) first."""
    kept = list(segments)
    for rank in sorted({r for r, _s in segments}, reverse=True):
        if sum(len(text) for _r, (text, _st) in kept) <= width or rank == 0:
            break
        kept = [(r, s) for r, s in kept if r != rank]
    return Content.assemble(*(s for _r, s in kept))


def header_content(pair: tuple[str, str], data: StrengthWindow | Unavailable | None, width: int) -> Content:
    """One pair's header line, worded to fit `width` columns."""
    name = (f"{pair[0]}/{pair[1]}", "bold")
    if data is None:
        return Content.assemble(name, ("  waiting for data", "$text-muted"))
    if isinstance(data, Unavailable):
        return _fit([(0, name), (0, (f"  {fmt.NA}: {data.reason}", "$text-muted"))], width)
    w = data
    trend: Segment = (
        (f"  {w.trend.value}", TREND_STYLE[w.trend])
        if w.trend is not None
        else (f"  trend {fmt.NA}", "$text-muted")
    )
    span = w.frame.value if w.sessions == w.frame.sessions else f"{w.sessions} sessions"
    segments: list[tuple[int, Segment]] = [
        (0, name),
        (0, (f" {ratio_text(w.ratio_now)}", f"bold {SMALL_CAPS_STYLE}")),
        (1, (f"  SMA {SMA_PERIOD}", SMA_STYLE)),
        (1, (f" {ratio_text(w.sma_now)}", "" if w.sma_now is not None else "$text-muted")),
        (0, trend),
        (0, (f"  {fmt.percent(w.change_pct)}", "bold")),
        (0, (f" over {span}", "$text-muted")),
        (2, (f"  {w.numerator} {fmt.percent(w.numerator_change_pct)}", SMALL_CAPS_STYLE)),
        (2, (f"  {w.denominator} {fmt.percent(w.denominator_change_pct)}", LARGE_CAPS_STYLE)),
        (3, (f"  to {w.end_day.isoformat()}", "$text-muted")),
    ]
    return _fit(segments, width)


def frame_content(frame: StrengthFrame, offset: int, width: int) -> Content:
    """The frame line: every frame with the current one marked, and where the window ends."""
    parts: list[Segment] = [(" frame ", "$text-muted")]
    for f in StrengthFrame:
        parts.append((f" {f.value} ", "bold $text on $accent" if f is frame else "$text-muted"))
    where = "up to the latest close" if offset == 0 else f"ending {offset} sessions back (G: latest)"
    parts.append((f"   {where}", "" if offset == 0 else "$warning"))
    if width >= SIDE_BY_SIDE_WIDTH:
        parts.append(("   t frame  h/l older/newer  g/G oldest/latest", "$text-muted"))
    return Content.assemble(*parts)


class StrengthView(MonitorView):
    """Both pairs: the ETFs (rules.etf / rules.market) and the indices (rules.symbol / ^GSPC)."""

    view_title = "Rel. strength"
    DEFAULT_CSS = """
    StrengthView > #strength-frame {
        height: 1;
        background: $boost;
    }
    StrengthView > .strength-pair {
        height: 1fr;
    }
    StrengthView .strength-charts {
        height: 1fr;
        layout: horizontal;
    }
    StrengthView .strength-charts > .strength-ratio {
        margin-left: 2;
    }
    StrengthView.-stacked .strength-charts {
        layout: vertical;
    }
    StrengthView.-stacked .strength-charts > .strength-ratio,
    StrengthView.-ratio-only .strength-charts > .strength-ratio {
        margin-left: 0;
    }
    StrengthView.-ratio-only .strength-prices {
        display: none;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "cycle_frame", "Frame", id="strength.frame", tooltip="1M, 3M, 6M, 1Y, 2Y, 5Y"),
        Binding("h", "older", "Older", show=False, id="strength.older"),
        Binding("l", "newer", "Newer", show=False, id="strength.newer"),
        Binding("g", "oldest", "Oldest", show=False, id="strength.oldest"),
        Binding("G", "latest", "Latest", show=False, id="strength.latest"),
    ]

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        rules: BreakoutRules | None = None,
        frame: StrengthFrame = DEFAULT_FRAME,
        id: str | None = None,
    ) -> None:
        super().__init__(list(symbols), id=id)
        r = rules or BreakoutRules()
        self.pairs: tuple[tuple[str, str], ...] = ((r.etf, r.market), (r.symbol, LARGE_CAP_INDEX))
        """(small caps, large caps): the ETFs first, then the indices."""
        self._frame = frame
        self._offset = 0
        self._histories: dict[tuple[str, str], tuple[tuple[object, ...], PairHistory | Unavailable]] = {}
        self._shown: dict[tuple[str, str], StrengthWindow | Unavailable] = {}
        self._drawn_key: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield TextLine(id="strength-frame")
        for i, _pair in enumerate(self.pairs):
            with Vertical(classes="strength-pair", id=f"strength-pair-{i}"):
                yield TextLine(classes="strength-header", id=f"strength-header-{i}")
                with Container(classes="strength-charts"):
                    yield RatioChart(ChartPanel.PRICES, classes="strength-prices", id=f"strength-prices-{i}")
                    yield RatioChart(ChartPanel.RATIO, classes="strength-ratio", id=f"strength-ratio-{i}")

    # ------------------------------------------------------------------ state
    @property
    def frame(self) -> StrengthFrame:
        """The time frame shown (`t` cycles it)."""
        return self._frame

    @property
    def pan_offset(self) -> int:
        """Sessions between the windows' last close and the latest one (0: up to date)."""
        return self._offset

    @property
    def windows(self) -> dict[tuple[str, str], StrengthWindow | Unavailable]:
        """What each pair shows now (empty until the first snapshot is drawn)."""
        return dict(self._shown)

    def cycle_frame(self) -> StrengthFrame:
        """The next frame (1M -> 3M -> ... -> 5Y -> 1M), keeping the window's end where it was."""
        self._frame = self._frame.next()
        self._offset = clamp_offset(self._offset, self._max_offset())
        self._redraw()
        return self._frame

    def pan(self, steps: int) -> int:
        """Move the windows `steps` quarter-frames older (positive) or newer (negative), clamped."""
        return self._pan_to(self._offset + steps * self._frame.pan_step)

    def pan_to_oldest(self) -> int:
        return self._pan_to(self._max_offset())

    def pan_to_latest(self) -> int:
        return self._pan_to(0)

    def _pan_to(self, offset: int) -> int:
        self._offset = clamp_offset(offset, self._max_offset())
        self._redraw()
        return self._offset

    def _max_offset(self) -> int:
        """The oldest window of the pair with the longest history (the other stops at its own)."""
        tops = [h.max_offset(self._frame) for _k, h in self._histories.values() if isinstance(h, PairHistory)]
        return max(tops, default=0)

    # ------------------------------------------------------------------ keys
    def action_cycle_frame(self) -> None:
        self.cycle_frame()

    def action_older(self) -> None:
        self.pan(1)

    def action_newer(self) -> None:
        self.pan(-1)

    def action_oldest(self) -> None:
        self.pan_to_oldest()

    def action_latest(self) -> None:
        self.pan_to_latest()

    # ------------------------------------------------------------------ drawing
    def on_resize(self) -> None:
        self._redraw()

    def _apply_layout(self) -> None:
        """Side by side, stacked or ratio only, for the view's size (before any chart is built)."""
        w, h = self.size
        self.set_class(w < SIDE_BY_SIDE_WIDTH and h >= STACKED_HEIGHT, "-stacked")
        self.set_class(w < SIDE_BY_SIDE_WIDTH and h < STACKED_HEIGHT, "-ratio-only")

    def update_view(self, snap: Snapshot, now: datetime) -> None:
        for pair in self.pairs:
            key = pair_key(snap, *pair)
            known = self._histories.get(pair)
            if known is None or known[0] != key:
                self._histories[pair] = (key, read_pair(snap, *pair))
        self._redraw()

    def _redraw(self) -> None:
        """Draw the histories known for the frame and offset; nothing when none of it changed."""
        if not self.is_mounted or not self.size.width:
            return  # not laid out yet: the first resize draws
        width = self.size.width
        key = (tuple(k for k, _h in self._histories.values()), self._frame, self._offset, self.size)
        if key == self._drawn_key:
            return
        self._drawn_key = key
        self._apply_layout()
        self.query_one("#strength-frame", TextLine).show(frame_content(self._frame, self._offset, width))
        for i, pair in enumerate(self.pairs):
            found = self._histories.get(pair)
            data: StrengthWindow | Unavailable | None = None
            if found is not None:
                history = found[1]
                data = (
                    window(history, self._frame, self._offset)
                    if isinstance(history, PairHistory)
                    else history
                )
                self._shown[pair] = data
                self.query_one(f"#strength-prices-{i}", RatioChart).show(data)
                self.query_one(f"#strength-ratio-{i}", RatioChart).show(data)
            self.query_one(f"#strength-header-{i}", TextLine).show(header_content(pair, data, width))
