"""The price chart of view 2: candles or a close line, SMA 50/200, volume, the breakout lines and the
range band, drawn by plotext from a `ChartFrame` (services/chart_data.py did every computation).

plotext rebuilds the whole picture on each render (tens of milliseconds), so `show()` asks for a repaint
only when the frame's key or the style changed, and `render()` reuses the last picture while the key,
the size, the theme and NO_COLOR are all the same.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

from plotext._dict import color_codes
from rich.color import Color as RichColor
from rich.color import ColorType
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.content import Content
from textual_plotext import PlotextPlot

from services.chart_data import ChartFrame, ChartLayout, ChartStyle, LevelKind, layout

PlotextColor = str | int | tuple[int, int, int]

PART_CSS = {
    "up": "$success",
    "down": "$error",
    "line": "$foreground",
    "sma-fast": "$primary",
    "sma-slow": "$text-secondary",
    "level": "$warning",
    "target": "$success",
    "range": "$text-muted",
    "volume": "$foreground-muted",
}
"""Each part's colour, a theme variable (a component class, so app CSS may override it)."""
LEVEL_PART = {
    LevelKind.LEVEL: "level",
    LevelKind.TARGET: "target",
    LevelKind.RANGE_HIGH: "range",
    LevelKind.RANGE_LOW: "range",
}
WICK = "│"
BODY = "sd"
"""plotext's full block."""
BODY_DOWN_MONO = "░"
"""Without colour (NO_COLOR) a falling candle's body is shaded, so rising and falling still differ."""
RANGE_MARKER = "┄"
RIGHT_AXIS = 2
"""plotext's right y axis by number (its type stubs want a number for `ylim` and `yticks`)."""


def plotext_color(color: RichColor | None) -> PlotextColor:
    """A Rich colour as plotext takes it: a terminal palette number stays one (ANSI themes keep the
    terminal's own colours), anything else as RGB."""
    if color is None or color.is_default:
        return "default"
    if color.type in (ColorType.STANDARD, ColorType.EIGHT_BIT) and color.number is not None:
        return color.number
    r, g, b = color.get_truecolor()
    return (r, g, b)


class PriceChart(PlotextPlot):
    DEFAULT_CSS = """
    PriceChart {
        width: 1fr;
        height: 1fr;
    }
    """ + "\n".join(
        f"PriceChart > .price-chart--{part} {{ color: {var}; }}" for part, var in PART_CSS.items()
    )
    COMPONENT_CLASSES: ClassVar[set[str]] = {f"price-chart--{part}" for part in PART_CSS}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.frame: ChartFrame | None = None
        self.chart_style: ChartStyle = ChartStyle.CANDLES
        self.message = "waiting for data"
        """Shown instead of a plot when there is no frame (a frame with a `reason` shows that)."""
        self.builds = 0
        """How many times plotext has built a picture (tests check nothing is rebuilt needlessly)."""
        self._layout_key: tuple[object, ...] | None = None
        self._layout: ChartLayout | None = None
        self._built_key: tuple[object, ...] | None = None
        self._built = Text()

    def show(self, frame: ChartFrame | None, style: ChartStyle, message: str | None = None) -> bool:
        """Draw `frame` in `style`, or `message` when there is no frame; returns False, and repaints
        nothing, when that is what is drawn already."""
        key = None if frame is None else frame.key
        old = None if self.frame is None else self.frame.key
        if key == old and style is self.chart_style and (message is None or message == self.message):
            return False
        self.frame, self.chart_style = frame, style
        if message is not None:
            self.message = message
        self.refresh()
        return True

    def current_layout(self) -> ChartLayout | None:
        """The frame fitted to the widget's present size (None: a message is shown instead)."""
        frame = self.frame
        if frame is None or not frame.ts:
            return None
        w, h = self.size.width, self.size.height
        key = (frame.key, self.chart_style, w, h)
        if key != self._layout_key:
            self._layout_key = key
            self._layout = layout(frame, self.chart_style, w, h)
        return self._layout

    def render(self) -> RenderResult:
        lay = self.current_layout()
        if lay is None:
            return self._message()
        key = (self._layout_key, self.app.theme, self.app.no_color)
        if key != self._built_key:
            self._built = self._draw(lay)
            self._built_key = key
        return self._built

    def _message(self) -> Content:
        frame = self.frame
        if frame is not None and frame.reason:
            text = frame.reason
        elif frame is not None and frame.ts:
            text = "too small for a chart: enlarge the window"
        else:
            text = self.message
        w, h = self.size.width, self.size.height
        return Content.styled("\n" * max(0, (h - 1) // 2) + text.center(w).rstrip(), "$text-muted")

    def _color(self, part: str) -> PlotextColor:
        return plotext_color(self.get_component_rich_style(f"price-chart--{part}").color)

    def _draw(self, lay: ChartLayout) -> Text:
        self.builds += 1
        plt = self.plt
        plt.clear_figure()
        w, h = lay.size
        plt.plotsize(w, h)
        plt._set_size(w, h)  # what PlotextPlot.render does too (textual-plotext issue 5)
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        plt.xlim(*lay.xlim)
        plt.ylim(*lay.ylim)
        plt.xticks(list(lay.xticks), list(lay.xlabels))
        plt.yticks(list(lay.yticks), list(lay.ylabels))
        x0, x1 = lay.xlim
        if lay.volume is not None:
            # On the right axis, scaled so the tallest bar fills the strip the price axis left free.
            vx, vy = lay.volume_points()
            plt.scatter(vx, vy, marker=BODY, color=self._color("volume"), yside="right")
            plt.ylim(0, lay.volume_top, yside=RIGHT_AXIS)
            plt.yticks([], [], yside=RIGHT_AXIS)
        for lv in lay.lines:
            part = LEVEL_PART[lv.kind]
            if part == "range":
                plt.plot([x0, x1], [lv.value, lv.value], marker=RANGE_MARKER, color=self._color(part))
            else:
                plt.horizontal_line(lv.value, color=self._color(part))
        for sma, part in ((lay.sma_slow, "sma-slow"), (lay.sma_fast, "sma-fast")):
            points = [(i, v) for i, v in enumerate(sma or ()) if v is not None]
            if points:
                plt.plot(
                    [p[0] for p in points], [p[1] for p in points], marker="braille", color=self._color(part)
                )
        if self.chart_style is ChartStyle.CANDLES:
            up, down = self._color("up"), self._color("down")
            down_body = BODY_DOWN_MONO if self.app.no_color else BODY
            cells = lay.candle_points()
            for part, marker, color in (
                ("up_wick", WICK, up),
                ("down_wick", WICK, down),
                ("up_body", BODY, up),
                ("down_body", down_body, down),
            ):
                xs, ys = cells[part]
                if xs:
                    plt.scatter(xs, ys, marker=marker, color=color)
        else:
            plt.plot(
                list(range(len(lay.close))), list(lay.close), marker="braille", color=self._color("line")
            )
        cols = lay.canvas[0]
        for label in lay.labels:
            part = LEVEL_PART[label.kind] if label.kind is not None else "level"
            plt.text(label.text[:cols], x=x0, y=label.value, color=self._color(part), alignment="left")
        # plt.build() would write the picture as ANSI text that Rich then parses back (half the time of a
        # build); the cells are read straight from plotext's matrix instead (plotext is pinned).
        figure: Any = plt  # plotext internals, untyped in textual-plotext's stubs
        figure._set_sizes()
        figure._build_matrix()
        return matrix_text(figure.monitor.matrix)


_STYLES = frozenset(("bold", "dim", "italic", "underline", "strike"))


@lru_cache(maxsize=256)
def _rich_color(value: PlotextColor) -> RichColor | None:
    if isinstance(value, tuple):
        return RichColor.from_rgb(*value)
    if isinstance(value, int):
        return RichColor.from_ansi(value)
    code = color_codes.get(value.strip())
    return None if code is None else RichColor.from_ansi(code)


@lru_cache(maxsize=256)
def _cell_style(fg: PlotextColor, bg: PlotextColor, style: str) -> Style:
    colours = Style(color=_rich_color(fg), bgcolor=_rich_color(bg))
    names = [name for name in style.split() if name in _STYLES]
    return colours + Style.parse(" ".join(names)) if names else colours


def _hashable(value: Any) -> PlotextColor:
    """plotext keeps some RGB colours as lists: a tuple can key the style cache."""
    return tuple(value) if isinstance(value, list) else value


def matrix_text(matrix: Any) -> Text:
    """plotext's cell matrix (row 0 at the bottom) as Rich text, one span per run of equal colours."""
    text = Text(no_wrap=True, end="")
    cols = matrix.cols
    for r in range(matrix.rows - 1, -1, -1):
        markers, fgs, bgs, sts = matrix.marker[r], matrix.fullground[r], matrix.background[r], matrix.style[r]
        start = 0
        for c in range(1, cols + 1):
            if c == cols or fgs[c] != fgs[start] or bgs[c] != bgs[start] or sts[c] != sts[start]:
                style = _cell_style(_hashable(fgs[start]), _hashable(bgs[start]), str(sts[start]))
                text.append("".join(markers[start:c]), style)
                start = c
        if r:
            text.append("\n")
    return text
