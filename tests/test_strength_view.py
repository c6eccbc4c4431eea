"""View 4 under Pilot: the pairs' headers, the frame key, panning, and no redraw for nothing new."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fakes.scripted_source import daily_series
from textual.app import App, ComposeResult
from uitools import screen_text

from services.models import Bar, BarSeries, SourceKind
from services.snapshot import FeedStatus, Snapshot, SymbolSnapshot
from tui.screens.strength_view import StrengthView
from widgets.ratio_chart import RatioChart

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
LAST = date(2026, 11, 23)
N = 400
IWM = [200.0 * 1.001**i for i in range(N)]
SPY = [600.0] * N
RUT = [2500.0 * 0.999**i for i in range(N)]
GSPC = [6000.0] * N


def series(**closes: list[float]) -> dict[str, BarSeries]:
    names = {"IWM": "IWM", "SPY": "SPY", "RUT": "^RUT", "GSPC": "^GSPC"}
    return {names[k]: daily_series(names[k], v, LAST) for k, v in closes.items()}


def snapshot(bars: dict[str, BarSeries], provisional: tuple[str, ...] = ()) -> Snapshot:
    symbols = {
        sym: SymbolSnapshot(sym, None, b, None, None, sym in provisional, False, None, None)
        for sym, b in bars.items()
    }
    status = FeedStatus(SourceKind.DEMO, "scripted", None, None, None, False, None)
    return Snapshot(NOW, status, symbols, None)


def full() -> dict[str, BarSeries]:
    return series(IWM=IWM, SPY=SPY, RUT=RUT, GSPC=GSPC)


class Host(App[None]):
    """The view with the room it gets inside the app: title above, status bar and footer below."""

    CSS = "Screen { padding: 3 1 4 1; }"

    def __init__(self, snap: Snapshot) -> None:
        super().__init__()
        self.snap = snap

    def compose(self) -> ComposeResult:
        yield StrengthView(list(self.snap.symbols), id="strength")

    def on_mount(self) -> None:
        view = self.query_one(StrengthView)
        view.focus()
        view.show(self.snap, NOW)


def header(app: App[object], i: int) -> str:
    line = next(ln for ln in screen_text(app).splitlines() if ln.strip().startswith(("IWM/", "^RUT/")[i]))
    return line.strip()


def builds(app: App[object]) -> list[int]:
    return [c.builds for c in app.query(RatioChart)]


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_headers_show_ratio_sma_trend_and_change(size: tuple[int, int]) -> None:
    app = Host(snapshot(full()))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        text = screen_text(app)
        lines = text.splitlines()
        assert len(lines) == size[1] and all(len(ln) <= size[0] for ln in lines)
        etf, index = header(app, 0), header(app, 1)
        ratio = [a / b for a, b in zip(IWM, SPY, strict=True)]
        sma = sum(ratio[-50:]) / 50
        assert etf.startswith(f"IWM/SPY {ratio[-1]:.4f}")
        assert "small caps leading" in etf
        # 6M: 126 sessions of change: IWM x 1.001**126, SPY flat.
        assert f"+{(1.001**126 - 1) * 100:.2f} % over 6M" in etf
        idx = [a / b for a, b in zip(RUT, GSPC, strict=True)]
        assert index.startswith(f"^RUT/^GSPC {idx[-1]:.4f}")
        assert "small caps lagging" in index
        assert f"-{(1 - 0.999**126) * 100:.2f} % over 6M" in index
        if size == (120, 40):
            assert f"SMA 50 {sma:.4f}" in etf
            assert f"IWM +{(1.001**126 - 1) * 100:.2f} %" in etf and "SPY +0.00 %" in etf
            assert "to 2026-11-23" in etf
        view = app.query_one(StrengthView)
        prices = [c for c in app.query(RatioChart) if c.has_class("strength-prices")]
        ratios = [c for c in app.query(RatioChart) if c.has_class("strength-ratio")]
        # At 80x24 only the ratio charts have room; the header carries the rest.
        assert all(c.display == (size == (120, 40)) for c in prices)
        assert all(c.display and c.size.height >= 5 for c in ratios)
        assert view.frame.value == "6M"


async def test_t_cycles_the_frame_and_vim_keys_pan() -> None:
    app = Host(snapshot(full()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(StrengthView)
        await pilot.press("t")
        await pilot.pause()
        assert view.frame.value == "1Y"
        assert f"+{(1.001**252 - 1) * 100:.2f} % over 1Y" in header(app, 0)
        await pilot.press("h")  # a quarter of 1Y older
        await pilot.pause()
        assert view.pan_offset == 63
        assert "63 sessions back" in screen_text(app)
        back = daily_series("IWM", IWM, LAST).ts[-64]
        assert f"to {datetime.fromtimestamp(back, UTC).date().isoformat()}" in header(app, 0)
        await pilot.press("g")  # the oldest 1Y window of 400 sessions
        await pilot.pause()
        assert view.pan_offset == N - 253
        await pilot.press("h")  # already the oldest
        assert view.pan_offset == N - 253
        await pilot.press("l")
        assert view.pan_offset == N - 253 - 63
        await pilot.press("G")
        await pilot.pause()
        assert view.pan_offset == 0 and "to 2026-11-23" in header(app, 0)
        await pilot.press("t")
        await pilot.pause()
        # 2Y is longer than the 400 sessions there are: all of them are shown, and said so.
        assert view.frame.value == "2Y" and "over 399 sessions" in header(app, 0)
        for want in ("5Y", "1M"):
            await pilot.press("t")
            assert view.frame.value == want
        await pilot.pause()
        assert "over 1M" in header(app, 0)
        assert view.cycle_frame().value == "3M"


async def test_the_same_snapshot_or_a_live_tick_redraws_nothing() -> None:
    bars = full()
    app = Host(snapshot(bars))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(StrengthView)
        before = builds(app)
        assert before == [1, 1, 1, 1]
        view.show(snapshot(bars), NOW)
        await pilot.pause()
        assert builds(app) == before
        # Today's bar, in progress: the view reads completed closes only.
        ts = int(datetime(2026, 11, 24, tzinfo=UTC).timestamp())
        live = {
            s: b.upsert(Bar(ts, b.close[-1], b.close[-1] * 1.02, b.close[-1], b.close[-1] * 1.01))
            for s, b in bars.items()
        }
        view.show(snapshot(live, provisional=tuple(live)), NOW)
        await pilot.pause()
        assert builds(app) == before
        # The close: a new completed bar redraws every chart once.
        view.show(snapshot(live), NOW)
        await pilot.pause()
        assert builds(app) == [b + 1 for b in before]
        assert "to 2026-11-24" in header(app, 0)
        # A smaller terminal: the ratio charts are built again at their new size, the prices hidden;
        # then nothing more while the data and the size stay.
        drawn = builds(app)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        resized = builds(app)
        assert resized[1] > drawn[1] and resized[3] > drawn[3]
        assert not any(c.display for c in app.query(RatioChart) if c.has_class("strength-prices"))
        view.show(snapshot(live), NOW)
        await pilot.pause()
        assert builds(app) == resized


async def test_a_missing_series_is_said_not_drawn() -> None:
    bars = series(IWM=IWM, SPY=SPY, RUT=RUT)
    app = Host(snapshot(bars))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "small caps leading" in header(app, 0)
        assert header(app, 1) == "^RUT/^GSPC  n/a: ^GSPC not in the watchlist"
        text = screen_text(app)
        assert text.count("n/a: ^GSPC not in the watchlist") == 2  # the header and the chart
        assert builds(app) == [0, 1, 0, 0]  # only the visible ratio chart of IWM/SPY was built
