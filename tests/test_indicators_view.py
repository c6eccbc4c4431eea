"""View 3, Indicators, under Pilot: every symbol x frame on screen at 120x40 and 80x24, the as-of
date and the incomplete-bar flag, the vim keys, colours by state, and no recomputation for a snapshot
that did not change."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fakes.scripted_source import daily_series
from textual.app import App, ComposeResult
from textual.color import Color
from uitools import screen_text

from services import indicator_matrix as im
from services.models import Bar, BarSeries, MarketSession, SourceKind
from services.snapshot import FeedStatus, Snapshot, SymbolSnapshot
from tui.screens.indicators_view import IndicatorsView
from widgets.indicator_matrix import CURSOR_MARK, IndicatorMatrix

SYMBOLS = ["IWM", "SPY", "^RUT", "^GSPC", "^TNX", "^VIX"]
LAST_DAY = date(2026, 11, 23)  # a Monday
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Monday evening in New York
IWM_CLOSES = [230.0 + i * 0.1 for i in range(260)]
TNX_CLOSES = [4.0 + i * 0.002 for i in range(260)]


def series() -> dict[str, BarSeries]:
    return {
        "IWM": daily_series("IWM", IWM_CLOSES, LAST_DAY),
        "SPY": daily_series("SPY", [600.0 + i * 0.2 for i in range(260)], LAST_DAY),
        "^RUT": daily_series("^RUT", [2400.0] * 257 + [2566.0, 2570.0, 2575.0], LAST_DAY),
        "^GSPC": daily_series("^GSPC", [6000.0 + i for i in range(260)], LAST_DAY),
        "^TNX": daily_series("^TNX", TNX_CLOSES, LAST_DAY),
        "^VIX": daily_series("^VIX", [18.0] * 260, LAST_DAY),
    }


def snapshot(bars: dict[str, BarSeries], provisional: bool = False) -> Snapshot:
    symbols = {
        s: SymbolSnapshot(s, None, b, None, None, provisional, False, None, None) for s, b in bars.items()
    }
    status = FeedStatus(SourceKind.DEMO, "scripted", MarketSession.CLOSED, NOW, None, False, None)
    return Snapshot(NOW, status, symbols, None)


class ViewApp(App[None]):
    def compose(self) -> ComposeResult:
        yield IndicatorsView(SYMBOLS, id="indicators")

    def on_mount(self) -> None:
        self.query_one(IndicatorsView).focus()

    @property
    def view(self) -> IndicatorsView:
        return self.query_one(IndicatorsView)


def row_lines(text: str, symbol: str) -> list[str]:
    """The table rows of `symbol` (the cursor mark stripped)."""
    return [
        line.strip().removeprefix(CURSOR_MARK)
        for line in text.splitlines()
        if line.strip().removeprefix(CURSOR_MARK).split()[:1] == [symbol]
    ]


def cursor_row(text: str) -> list[str]:
    """(symbol, frame) of the row the cursor is on."""
    marked = [line for line in text.splitlines() if line.lstrip().startswith(CURSOR_MARK)]
    assert len(marked) == 1, text
    return marked[0].strip().removeprefix(CURSOR_MARK).split()[:2]


@pytest.mark.parametrize(("size", "daily", "weekly"), [((120, 40), "daily", "weekly"), ((80, 24), "D", "W")])
async def test_every_symbol_on_both_frames_with_the_as_of_date(
    size: tuple[int, int], daily: str, weekly: str
) -> None:
    app = ViewApp()
    async with app.run_test(size=size) as pilot:
        app.view.show(snapshot(series()), NOW)
        await pilot.pause()
        text = screen_text(app)
        for sym in SYMBOLS:
            frames = [line.split()[1].rstrip("*") for line in row_lines(text, sym)]
            assert frames == [daily, weekly], (sym, text)
        assert "as of 2026-11-23" in text
        assert "incomplete" not in text.split("\n")[0]  # Monday's close is final
        assert weekly + "*" in text  # but the week has four sessions to come
        for header in ("RSI", "SMA 50", "SMA 200", "MACD", "cross", "%B"):
            assert header in text, header
        lines = text.splitlines()
        assert len(lines) == size[1] and all(len(line) <= size[0] for line in lines)

        # Values, computed here: IWM's closes rise 0.10 a session.
        iwm_daily = row_lines(text, "IWM")[0]
        sma_50 = sum(IWM_CLOSES[-50:]) / 50
        assert f"{sma_50:,.2f}" in iwm_daily
        assert f"+{(IWM_CLOSES[-1] / sma_50 - 1) * 100:.1f} %" in iwm_daily
        assert "100.0" in iwm_daily  # RSI of a series that never fell
        tnx_daily = row_lines(text, "^TNX")[0]
        tnx_sma_50 = sum(TNX_CLOSES[-50:]) / 50
        assert f"{tnx_sma_50:.2f} %" in tnx_daily  # a yield, in percent
        assert f"+{(TNX_CLOSES[-1] - tnx_sma_50) * 100:.1f} bp" in tnx_daily  # the gap in basis points
        assert "n/a" in row_lines(text, "IWM")[1]  # 53 weeks: no weekly SMA 200
        assert "n/a: IWM weekly SMA 200 needs 200 weeks, has 53" in text
        if size[0] >= 120:
            assert "signal" in text and "hist" in text and "ATR" in text


async def test_incomplete_flag_while_todays_bar_is_provisional() -> None:
    app = ViewApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.view.show(snapshot(series(), provisional=True), NOW)
        await pilot.pause()
        text = screen_text(app)
        assert "today's bar incomplete" in text
        for sym in SYMBOLS:
            assert [line.split()[1] for line in row_lines(text, sym)] == ["D*", "W*"]


async def test_vim_keys_move_the_cursor_and_focus_moves_it_to_the_symbol() -> None:
    app = ViewApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.view.show(snapshot(series()), NOW)
        await pilot.pause()
        assert cursor_row(screen_text(app)) == ["IWM", "daily"]  # the focused symbol
        steps = [
            ("j", ["IWM", "weekly*"]),
            ("j", ["SPY", "daily"]),
            ("k", ["IWM", "weekly*"]),
            ("G", ["^VIX", "weekly*"]),
            ("j", ["^VIX", "weekly*"]),  # the bottom stays the bottom
            ("g", ["IWM", "daily"]),
            ("k", ["IWM", "daily"]),
        ]
        for key, expected in steps:
            await pilot.press(key)
            await pilot.pause()
            assert cursor_row(screen_text(app)) == expected, key
        app.view.set_symbol("^TNX")  # what tab does
        await pilot.pause()
        assert cursor_row(screen_text(app)) == ["^TNX", "daily"]
        await pilot.click(IndicatorMatrix, offset=(3, 3))  # below the header: IWM D, IWM W, SPY D
        await pilot.pause()
        assert cursor_row(screen_text(app)) == ["SPY", "daily"]
        assert app.focused is app.view  # the table never takes the keys away from the view


async def test_cursor_scrolls_the_rows_on_a_short_terminal() -> None:
    app = ViewApp()
    async with app.run_test(size=(80, 10)) as pilot:
        app.view.show(snapshot(series()), NOW)
        await pilot.pause()
        assert "^VIX" not in screen_text(app)
        await pilot.press("G")
        await pilot.pause()
        text = screen_text(app)
        assert cursor_row(text) == ["^VIX", "W*"]
        assert "RSI" in text  # the column headings stay
        await pilot.press("g")
        await pilot.pause()
        assert cursor_row(screen_text(app)) == ["IWM", "D"]


async def test_h_and_l_scroll_sideways_when_the_table_is_wider_than_the_screen() -> None:
    app = ViewApp()
    async with app.run_test(size=(50, 24)) as pilot:
        app.view.show(snapshot(series()), NOW)
        await pilot.pause()
        before = screen_text(app)
        assert "%B" not in before  # off to the right
        for _ in range(6):
            await pilot.press("l")
        await pilot.pause()
        after = screen_text(app)
        assert "%B" in after
        assert row_lines(after, "IWM") and row_lines(after, "^VIX")  # symbol column stays
        for _ in range(6):
            await pilot.press("h")
        await pilot.pause()
        assert screen_text(app) == before


async def test_values_are_coloured_by_state() -> None:
    app = ViewApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.view.show(snapshot(series()), NOW)
        await pilot.pause()
        strips = app.screen._compositor.render_strips()
        iwm = next(s for s in strips if s.text.strip().removeprefix(CURSOR_MARK).startswith("IWM"))
        colours = {seg.text.strip(): seg.style.color for seg in iwm if seg.text.strip() and seg.style}
        success = Color.parse(app.theme_variables["success"]).rich_color
        warning = Color.parse(app.theme_variables["warning"]).rich_color
        sma_50 = sum(IWM_CLOSES[-50:]) / 50
        assert colours[f"{sma_50:,.2f}"] == success  # close above SMA 50
        assert colours["100.0"] == warning  # RSI overbought


async def test_the_same_snapshot_is_not_recomputed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    compute = im.symbol_matrix

    def counting(
        s: SymbolSnapshot, as_of: datetime, is_session: im.SessionCheck | None = None
    ) -> im.SymbolMatrix:
        calls.append(s.symbol)
        return compute(s, as_of, is_session)

    monkeypatch.setattr(im, "symbol_matrix", counting)
    app = ViewApp()
    async with app.run_test(size=(120, 40)) as pilot:
        bars = series()
        snap = snapshot(bars)
        app.view.show(snap, NOW)
        await pilot.pause()
        assert sorted(calls) == sorted(SYMBOLS)
        text = screen_text(app)
        app.view.show(snap, NOW)
        app.view.show(snapshot(series()), NOW)  # equal content, new objects
        await pilot.pause()
        assert len(calls) == len(SYMBOLS) and screen_text(app) == text
        last = bars["IWM"][-1]
        bars["IWM"] = bars["IWM"].upsert(Bar(last.ts, last.open, 300.0, last.low, 299.0))
        app.view.show(snapshot(bars), NOW)
        await pilot.pause()
        assert calls[len(SYMBOLS) :] == ["IWM"]
        closes = [*IWM_CLOSES[:-1], 299.0]
        sma_50 = sum(closes[-50:]) / 50
        assert f"+{(299.0 / sma_50 - 1) * 100:.1f} %" in row_lines(screen_text(app), "IWM")[0]
