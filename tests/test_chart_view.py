"""View 2, the chart, under Pilot at the sizes the app gives it (118x33 of 120x40, 78x17 of 80x24): the
header, the keys (c t h l g G), the breakout lines on the index and the ETF only, and no plotext rebuild
for a snapshot that changes nothing drawn."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime

import pytest
from fakes.scripted_source import daily_series
from textual.app import App, ComposeResult
from textual.color import Color
from uitools import screen_text, wait_for

from services.chart_data import ChartStyle, TimeFrame
from services.models import Bar, BarSeries, Interval, MarketSession, SourceKind, ts_day
from services.snapshot import FeedStatus, Snapshot, SymbolSnapshot
from tui.screens import chart_view
from tui.screens.chart_view import ChartView
from widgets.price_chart import PriceChart

SYMBOLS = ["IWM", "SPY", "^RUT"]
LAST_DAY = date(2026, 11, 20)  # a Friday
NOW = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
SESSIONS = 1400  # more than five years: the 5Y frame is full
IWM = [200.0 + 20.0 * math.sin(i / 40.0) + 0.03 * i for i in range(SESSIONS)]
RATIO = 0.1
"""IWM per ^RUT point in these series (and the snapshot's proxy)."""
VIEW_SIZE = {(120, 40): (118, 33), (80, 24): (78, 17)}


def series() -> dict[str, BarSeries]:
    return {
        "IWM": daily_series("IWM", IWM, LAST_DAY),
        "SPY": daily_series("SPY", [600.0 + 0.1 * i for i in range(SESSIONS)], LAST_DAY),
        "^RUT": daily_series("^RUT", [c / RATIO for c in IWM], LAST_DAY),
    }


def snapshot(bars: dict[str, BarSeries], as_of: datetime = NOW) -> Snapshot:
    symbols = {s: SymbolSnapshot(s, None, b, None, None, False, False, None, None) for s, b in bars.items()}
    status = FeedStatus(SourceKind.DEMO, "scripted", MarketSession.CLOSED, as_of, None, False, None)
    return Snapshot(as_of, status, symbols, None, proxy=("IWM", RATIO))


class ViewApp(App[None]):
    def __init__(self, view_size: tuple[int, int]) -> None:
        super().__init__()
        self.view_size = view_size

    def compose(self) -> ComposeResult:
        yield ChartView(SYMBOLS, id="chart")

    def on_mount(self) -> None:
        view = self.query_one(ChartView)
        view.styles.width, view.styles.height = self.view_size
        view.focus()

    @property
    def view(self) -> ChartView:
        return self.query_one(ChartView)

    @property
    def plot(self) -> PriceChart:
        return self.query_one(PriceChart)


def header(app: ViewApp) -> str:
    return screen_text(app).splitlines()[0]


def chart_text(app: ViewApp) -> str:
    return "\n".join(screen_text(app).splitlines()[1:])


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_header_and_a_legible_chart_at_both_sizes(size: tuple[int, int]) -> None:
    app = ViewApp(VIEW_SIZE[size])
    async with app.run_test(size=size) as pilot:
        app.view.show(snapshot(series()), NOW)
        await pilot.pause()
        head = header(app)
        assert head.split()[:2] == ["IWM", "1Y"], head
        assert "weekly candles" in head  # 252 daily candles cannot have a column each: weeks do
        assert f"{IWM[-1]:,.2f}" in head
        assert app.view.frame is TimeFrame.Y1 and app.view.style is ChartStyle.CANDLES
        text = chart_text(app)
        lines = text.splitlines()
        width, height = VIEW_SIZE[size]
        assert all(len(line.rstrip()) <= width for line in lines)
        # Date labels: month names, and the year where January starts.
        labels = lines[height - 2].split()
        assert "2026" in labels and "Jul" in labels, labels
        # Price labels on the left axis, round numbers.
        ticks = [m.group(1) for line in lines if (m := re.match(r"\s*(\S+)[┤├]", line))]
        assert len(ticks) >= 3 and all(t.replace(",", "").isdigit() for t in ticks), ticks
        values = [int(t.replace(",", "")) for t in ticks]
        assert values == sorted(values, reverse=True) and len(set(values)) == len(values)
        # The breakout lines in IWM's price.
        assert "level 256.50" in text or "▲ level 256.50" in text
        # Volume under the prices only where it can be read (IWM is an ETF).
        assert ("volume" in head or "vol" in head.split()) is (size == (120, 40))


async def test_keys_toggle_style_cycle_frames_and_pan() -> None:
    app = ViewApp(VIEW_SIZE[(120, 40)])
    days = [ts_day(t) for t in series()["IWM"].ts]
    async with app.run_test(size=(120, 40)) as pilot:
        app.view.show(snapshot(series()), NOW)
        await pilot.pause()
        await pilot.press("c")
        assert app.view.style is ChartStyle.LINE and "daily line" in header(app)
        await pilot.press("c")
        assert app.view.style is ChartStyle.CANDLES and "candles" in header(app)

        await pilot.press("h")  # a quarter of a year older
        assert app.view.pan == 63
        assert f"to {days[-1 - 63].isoformat()}" in header(app)
        await pilot.press("l")
        assert app.view.pan == 0 and " to " not in header(app)
        await pilot.press("g")
        assert app.view.pan == SESSIONS - 252
        assert f"to {days[251].isoformat()}" in header(app)  # the first 252 sessions
        await pilot.press("G")
        assert app.view.pan == 0 and " to " not in header(app)

        await pilot.press("t")
        assert app.view.frame is TimeFrame.Y5 and header(app).split()[1] == "5Y"
        assert "weekly" in header(app) or "monthly" in header(app)
        await pilot.press("t")
        assert app.view.frame is TimeFrame.D1
        assert "no intraday bars for IWM today" in chart_text(app)
        await pilot.press("t")
        assert app.view.frame is TimeFrame.D5 and "daily candles" in header(app)
        assert app.view.chart is not None and len(app.view.chart) == 5
        for _ in range(3):
            await pilot.press("t")
        assert app.view.frame is TimeFrame.Y1
        app.view.cycle_frame()
        app.view.toggle_style()
        await pilot.pause()
        assert app.view.frame is TimeFrame.Y5 and app.view.style is ChartStyle.LINE
        assert "5Y weekly line" in header(app)


async def test_not_rebuilt_when_nothing_drawn_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart_view, "LIVE_REDRAW_S", 0.5)
    app = ViewApp(VIEW_SIZE[(120, 40)])
    bars = series()
    async with app.run_test(size=(120, 40)) as pilot:
        app.view.show(snapshot(bars), NOW)
        await pilot.pause()
        builds = app.plot.builds
        assert builds == 1
        frame = app.view.chart
        renders = 0
        render = app.plot.render

        def counted() -> object:
            nonlocal renders
            renders += 1
            return render()

        app.plot.render = counted  # type: ignore[method-assign]
        # The same snapshot, then a new one with the same bars (a refresh that found nothing new).
        app.view.show(snapshot(bars), NOW)
        later = datetime(2026, 11, 21, 3, 5, tzinfo=UTC)
        app.view.show(snapshot(series(), as_of=later), later)
        await pilot.pause()
        assert app.plot.builds == builds and app.view.chart is frame
        assert renders == 0  # not even repainted
        # Another symbol's new bar is not this chart's business either.
        moved = dict(bars, SPY=daily_series("SPY", [600.0 + 0.1 * i for i in range(SESSIONS + 1)], LAST_DAY))
        app.view.show(snapshot(moved), NOW)
        await pilot.pause()
        assert app.plot.builds == builds
        # A new IWM bar is: the header at once, the picture within LIVE_REDRAW_S of the last drawing
        # (plotext redraws everything: a ticking market does not redraw it every second).
        grown = dict(bars, IWM=daily_series("IWM", [*IWM, IWM[-1] + 1.0], date(2026, 11, 23)))
        app.view.show(snapshot(grown), NOW)
        await pilot.pause()
        assert f"{IWM[-1] + 1.0:,.2f}" in header(app)
        await wait_for(pilot, lambda: app.plot.builds == builds + 1, limit=3)
        assert renders >= 1
        # So is a new size, and the header follows it.
        assert "SMA 50" in header(app)
        app.view.styles.width = 78
        await pilot.pause()
        assert app.plot.builds == builds + 2
        await pilot.pause(0.2)
        assert "━50" in header(app) and "SMA 50" not in header(app)


async def test_levels_on_the_index_and_its_etf_only() -> None:
    app = ViewApp(VIEW_SIZE[(120, 40)])
    async with app.run_test(size=(120, 40)) as pilot:
        app.view.show(snapshot(series()), NOW)
        app.view.set_symbol("^RUT")
        await pilot.pause()
        head, text = header(app), chart_text(app)
        assert head.startswith(" ^RUT") or head.split()[0] == "^RUT"
        assert "level 2,565" in text and "target 2,600" in text
        assert "level" in head and "vol" not in head  # index volume is never drawn
        app.view.set_symbol("SPY")
        await pilot.pause()
        head, text = header(app), chart_text(app)
        assert head.split()[0] == "SPY"
        assert "level" not in text and "target" not in text and "level" not in head
        assert "volume" in head  # SPY is an ETF


async def test_a_symbol_without_data_says_so() -> None:
    app = ViewApp(VIEW_SIZE[(80, 24)])
    async with app.run_test(size=(80, 24)) as pilot:
        bars = series()
        del bars["SPY"]
        app.view.show(snapshot(bars), NOW)
        app.view.set_symbol("SPY")
        await pilot.pause()
        assert "no data for SPY" in chart_text(app)
        assert "n/a" in header(app)


def intraday_bars() -> BarSeries:
    """Today's regular session in 5-minute bars: 09:30-15:55 New York (14:30-20:55 UTC in November)."""
    start = int(datetime(2026, 11, 20, 14, 30, tzinfo=UTC).timestamp())
    bars = [
        Bar(start + 300 * i, 233.0 + i * 0.01, 233.1 + i * 0.01, 232.9 + i * 0.01, 233.05 + i * 0.01, 5e4)
        for i in range(78)
    ]
    return BarSeries.from_bars("IWM", Interval.MINUTE_5, bars)


@pytest.mark.parametrize(("size", "period"), [((120, 40), "5-minute"), ((80, 24), "15m")])
async def test_one_day_is_todays_intraday_path(size: tuple[int, int], period: str) -> None:
    app = ViewApp(VIEW_SIZE[size])
    snap = snapshot(series())
    iwm = snap.symbols["IWM"]
    snap.symbols["IWM"] = SymbolSnapshot(
        "IWM", None, iwm.daily, intraday_bars(), None, False, False, None, None
    )
    async with app.run_test(size=size) as pilot:
        app.view.show(snap, NOW)
        await pilot.pause()
        await pilot.press("t", "t")
        assert app.view.frame is TimeFrame.D1
        assert f"1D {period} candles" in header(app)
        labels = chart_text(app).splitlines()[VIEW_SIZE[size][1] - 2].split()
        assert "10:00" in labels and "14:00" in labels, labels  # New York time
        # h / l / g / G have nothing to pan on a single day.
        await pilot.press("h", "g")
        assert app.view.pan == 0


async def test_colours_are_the_themes() -> None:
    app = ViewApp(VIEW_SIZE[(120, 40)])

    def colours(marker: str) -> set[tuple[int, int, int]]:
        out = set()
        for strip in app.plot.render_lines(app.plot.region.reset_offset):
            for seg in strip:
                if marker in seg.text and seg.style is not None and seg.style.color is not None:
                    out.add(tuple(seg.style.color.get_truecolor()))
        return out

    def theme(name: str) -> tuple[int, int, int]:
        return Color.parse(app.theme_variables[name]).rgb

    async with app.run_test(size=(120, 40)) as pilot:
        app.view.show(snapshot(series()), NOW)
        await pilot.pause()
        assert {theme("success"), theme("error")} <= colours("│")  # rising and falling candles
        assert theme("warning") in colours("─")  # the level
        builds = app.plot.builds
        app.theme = "nord"
        await pilot.pause()
        assert app.plot.builds == builds + 1
        assert {theme("success"), theme("error")} <= colours("│")
        assert Color.parse("#A3BE8C").rgb == theme("success")


async def test_without_colour_falling_candles_are_shaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = ViewApp(VIEW_SIZE[(120, 40)])
    async with app.run_test(size=(120, 40)) as pilot:
        app.view.show(snapshot(series()), NOW)
        await pilot.pause()
        assert app.no_color
        text = chart_text(app)
        assert "░" in text and "█" in text


async def test_a_ticking_market_redraws_the_picture_at_most_every_few_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """plotext redraws the whole chart (~40 ms of the event loop): live bars alone wait for the next
    redraw slot, while the header follows every tick and the user's own changes redraw at once."""
    monkeypatch.setattr(chart_view, "LIVE_REDRAW_S", 60.0)
    app = ViewApp(VIEW_SIZE[(120, 40)])
    bars = series()
    async with app.run_test(size=(120, 40)) as pilot:
        app.view.show(snapshot(bars), NOW)
        await pilot.pause()
        builds = app.plot.builds
        grown = dict(bars, IWM=daily_series("IWM", [*IWM, IWM[-1] + 1.0], date(2026, 11, 23)))
        app.view.show(snapshot(grown), NOW)
        await pilot.pause(0.2)
        assert f"{IWM[-1] + 1.0:,.2f}" in header(app)  # the header at once
        assert app.plot.builds == builds  # the picture later
        app.view.action_cycle_frame()  # the user's choice: drawn now, with the new bar
        await pilot.pause()
        assert app.plot.builds == builds + 1
