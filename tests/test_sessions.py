"""Market sessions from the real NYSE calendar (exchange-calendars), and how the status bar counts down
to the next open or close."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from textual.app import App, ComposeResult
from uitools import screen_text

from services import formatting as fmt
from services.market_hours import NEW_YORK, MarketHours
from services.models import BarSeries, ExtendedQuote, Interval, MarketSession, Quote, SourceKind
from services.snapshot import FeedStatus, SymbolSnapshot
from widgets.quote_card import QuoteCard
from widgets.status_bar import status_content


def ny(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), NEW_YORK).astimezone(UTC)


@pytest.fixture(scope="module")
def xnys() -> MarketHours:
    return MarketHours.load()


WED, THANKSGIVING, BLACK_FRIDAY, MON = (date(2026, 11, d) for d in (25, 26, 27, 30))


@pytest.mark.parametrize(
    ("now", "session", "verb", "at", "early"),
    [
        (ny(WED, 3, 59), MarketSession.CLOSED, "opens", ny(WED, 9, 30), False),
        (ny(WED, 8), MarketSession.PRE, "opens", ny(WED, 9, 30), False),
        (ny(WED, 10), MarketSession.REGULAR, "closes", ny(WED, 16), False),
        (ny(WED, 17), MarketSession.POST, "opens", ny(BLACK_FRIDAY, 9, 30), False),
        (ny(THANKSGIVING, 11), MarketSession.CLOSED, "opens", ny(BLACK_FRIDAY, 9, 30), False),
        (ny(BLACK_FRIDAY, 10), MarketSession.REGULAR, "closes", ny(BLACK_FRIDAY, 13), True),
        (ny(BLACK_FRIDAY, 14), MarketSession.POST, "opens", ny(MON, 9, 30), False),
        (ny(date(2026, 11, 28), 12), MarketSession.CLOSED, "opens", ny(MON, 9, 30), False),
    ],
)
def test_sessions_and_the_next_open_or_close_on_the_real_calendar(
    xnys: MarketHours, now: datetime, session: MarketSession, verb: str, at: datetime, early: bool
) -> None:
    assert xnys.session_at(now) is session
    ev = xnys.session_event(now)
    assert ev is not None
    assert (ev.verb, ev.at, ev.early_close) == (verb, at, early)


def test_after_hours_end_four_hours_after_an_early_close(xnys: MarketHours) -> None:
    assert xnys.session_at(ny(BLACK_FRIDAY, 16, 59)) is MarketSession.POST
    assert xnys.session_at(ny(BLACK_FRIDAY, 17)) is MarketSession.CLOSED


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 min"),
        (59 * 60 + 1, "1 h"),
        (14 * 60, "14 min"),
        (2 * 3600 + 14 * 60, "2 h 14 min"),
        (47 * 3600 + 59 * 60, "47 h 59 min"),
        (2 * 86400 + 14 * 3600 + 5, "2 d 14 h"),
        (3 * 86400, "3 d"),
    ],
)
def test_countdown_rounds_up_to_the_minute(seconds: float, words: str) -> None:
    assert fmt.countdown(seconds) == words


def status(xnys: MarketHours, now: datetime) -> FeedStatus:
    return FeedStatus(
        source=SourceKind.YAHOO,
        source_label="Yahoo Finance",
        session=xnys.session_at(now),
        last_update=now - timedelta(seconds=5),
        next_refresh=now + timedelta(seconds=10),
        paused=False,
        error=None,
        session_event=xnys.session_event(now),
        stream="stream live",
        stream_live=True,
    )


def test_the_status_bar_names_the_session_and_counts_down(xnys: MarketHours) -> None:
    now = ny(WED, 13, 46)
    text = status_content(status(xnys, now), now).plain
    assert "Yahoo Finance  REG closes 16:00 ET in 2 h 14 min" in text
    assert "stream live" in text

    now = ny(THANKSGIVING, 12)
    text = status_content(status(xnys, now), now).plain
    assert "CLOSED opens Fri 09:30 ET in 21 h 30 min" in text

    now = ny(BLACK_FRIDAY, 12, 30)
    text = status_content(status(xnys, now), now).plain
    assert "REG closes 13:00 ET (early close) in 30 min" in text

    now = ny(BLACK_FRIDAY, 20)
    text = status_content(status(xnys, now), now).plain
    assert "CLOSED opens Mon 09:30 ET in 2 d 13 h" in text


def card_snapshot(extended: ExtendedQuote | None, session: MarketSession) -> SymbolSnapshot:
    day = date(2026, 11, 23)
    q = Quote(
        symbol="IWM",
        last=247.44,
        prev_close=251.82,
        day_open=251.0,
        day_high=251.86,
        day_low=247.16,
        volume=46.8e6,
        time=ny(day, 16),
        session=session,
        trading_day=day,
        extended=extended,
    )
    return SymbolSnapshot("IWM", q, BarSeries("IWM", Interval.DAILY), None, None, False, False, None, None)


class CardApp(App[None]):
    def __init__(self, snap: SymbolSnapshot, now: datetime) -> None:
        super().__init__()
        self.snap, self.now = snap, now

    def compose(self) -> ComposeResult:
        yield QuoteCard("IWM")

    def on_mount(self) -> None:
        self.query_one(QuoteCard).show(self.snap, self.now)


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        (70, ["247.44   -4.38  -1.74 %  close", "POST 248.10 +0.66 +0.27 %"]),
        (60, ["247.44   -1.74 %  close", "POST 248.10 +0.66 +0.27 %"]),
        (40, ["247.44  -1.74 %  close", "POST 248.10"]),
    ],
)
async def test_after_hours_the_card_shows_the_extended_price_beside_the_regular_close(
    width: int, expected: list[str]
) -> None:
    now = ny(date(2026, 11, 23), 17, 45)
    ext = ExtendedQuote(248.10, ny(date(2026, 11, 23), 17, 42), MarketSession.POST)
    app = CardApp(card_snapshot(ext, MarketSession.POST), now)
    async with app.run_test(size=(width, 10)) as pilot:
        await pilot.pause()
        top = screen_text(app)  # what is on the screen, not what the lines hold: nothing cut off
        for words in expected:
            assert words in top, top


async def test_in_the_regular_session_the_card_shows_no_extended_price() -> None:
    app = CardApp(card_snapshot(None, MarketSession.REGULAR), ny(date(2026, 11, 23), 15))
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        top = screen_text(app)  # what is on the screen, not what the lines hold: nothing cut off
        assert "REG" in top and "close" not in top and "POST" not in top


def test_at_80_columns_the_status_bar_shortens_its_words(xnys: MarketHours) -> None:
    now = ny(WED, 13, 46)
    st = status(xnys, now)
    text = status_content(st, now, width=80).plain
    assert text.startswith("Yahoo  REG closes 16:00 in 2 h 14 min  stream live  updated")
    assert "next" not in text and len(text) <= 78
    down = status_content(replace(st, stream="stream down, polling", stream_live=False), now, width=80).plain
    assert "  polling  " in down and "stream down" not in down
    retry = status_content(replace(st, retrying=True), now, width=80).plain
    assert "retry " in retry  # a fault's retry time always stays
