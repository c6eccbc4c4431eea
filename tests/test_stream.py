"""The Yahoo quote stream: decoding frames, and a connection loop that survives whatever the streamer
does (clean closes, drops, refusals, silence) without busy-looping or leaking tasks."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes.yahoo_stream import DEFAULT_TIME_MS, FakeYahooStream, pricing_frame, wrap_payload

from services.backoff import Backoff
from services.models import MarketSession
from services.stream import (
    QuoteStream,
    StreamProbe,
    StreamState,
    StreamStatus,
    StreamTick,
    decode_frame,
    probe_stream,
)

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------ decoding
def test_a_yahoo_frame_decodes_to_a_tick() -> None:
    frame = pricing_frame(
        "IWM",
        247.44,
        time_ms=DEFAULT_TIME_MS,
        market_hours=1,
        previous_close=245.1,
        change=2.34,
        change_percent=0.9547,
        day_high=248.02,
        day_low=244.9,
        open_price=245.5,
        day_volume=31_204_500,
        exchange="PCX",
    )
    tick = decode_frame(frame)
    assert tick == StreamTick(
        symbol="IWM",
        price=247.44,  # float32 on the wire, shown as sent
        time=datetime(2026, 2, 13, 16, 30, tzinfo=UTC),
        session=MarketSession.REGULAR,
        previous_close=245.1,
        change=2.34,
        change_pct=0.9547,
        day_high=248.02,
        day_low=244.9,
        open_price=245.5,
        day_volume=31_204_500.0,
    )
    assert decode_frame(frame.encode()) == tick  # a binary frame reads the same


@pytest.mark.parametrize(
    ("market_hours", "session"),
    [(0, MarketSession.PRE), (1, MarketSession.REGULAR), (2, MarketSession.POST), (3, None)],
)
def test_market_hours_give_the_session(market_hours: int, session: MarketSession | None) -> None:
    tick = decode_frame(pricing_frame("IWM", 247.44, market_hours=market_hours))
    assert tick is not None and tick.session is session


def test_time_in_seconds_is_accepted_and_a_missing_time_is_the_arrival_time() -> None:
    tick = decode_frame(pricing_frame("^RUT", 2565.12, time_ms=DEFAULT_TIME_MS // 1000))
    assert tick is not None and tick.time == datetime(2026, 2, 13, 16, 30, tzinfo=UTC)
    arrived = datetime(2026, 2, 13, 16, 31, 5, tzinfo=UTC)
    tick = decode_frame(pricing_frame("^RUT", 2565.12, time_ms=0), received_at=arrived)
    assert tick is not None and tick.time == arrived and tick.price == 2565.12


def test_fields_yahoo_did_not_send_are_none() -> None:
    tick = decode_frame(pricing_frame("^RUT", 2565.12))
    assert tick is not None
    assert (tick.previous_close, tick.change, tick.change_pct, tick.day_volume) == (None, None, None, None)
    assert (tick.day_high, tick.day_low, tick.open_price) == (None, None, None)


GARBAGE: list[str | bytes] = [
    "",
    b"",
    "not json",
    b"\xff\xfe\x00",
    "[1, 2]",
    json.dumps({"type": "pricing"}),
    json.dumps({"type": "pricing", "message": "!!! not base64 !!!"}),
    json.dumps({"type": "heartbeat", "message": base64.b64encode(b"x").decode()}),
    wrap_payload(b"\xff\xff\xff\xff\xff"),  # base64, not protobuf
    wrap_payload(b""),  # an empty PricingData: no symbol
    pricing_frame("", 247.44),
    pricing_frame("IWM", math.nan),
    pricing_frame("IWM", math.inf),
    pricing_frame("IWM", 0.0),
    pricing_frame("IWM", -1.5),
]


@pytest.mark.parametrize("frame", GARBAGE)
def test_unreadable_frames_give_no_tick(frame: str | bytes) -> None:
    assert decode_frame(frame) is None


def test_importing_and_decoding_do_not_import_yfinance_or_websockets() -> None:
    """Start-up cost: the module is imported on the start-up path; yfinance costs ~1 s to import."""
    code = (
        "import sys, base64, json, struct\n"
        "import services.stream as s\n"
        "assert 'websockets' not in sys.modules and 'yfinance' not in sys.modules\n"
        # PricingData{id: "IWM", price: 247.44}, hand-encoded: field 1 string, field 2 float32
        "payload = b'\\n\\x03IWM\\x15' + struct.pack('<f', 247.44)\n"
        "frame = json.dumps({'type': 'pricing', 'message': base64.b64encode(payload).decode()})\n"
        "assert s.decode_frame(frame).price == 247.44\n"
        "assert 'yfinance' not in sys.modules, sorted(m for m in sys.modules if 'yfinance' in m)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------------------------ the loop
@pytest.fixture
async def fake() -> AsyncIterator[FakeYahooStream]:
    async with FakeYahooStream() as f:
        yield f


class Harness:
    """A QuoteStream running against the fake, with everything it told its caller."""

    def __init__(self, fake: FakeYahooStream, symbols: list[str], **kwargs: object) -> None:
        self.ticks: list[StreamTick] = []
        self.statuses: list[StreamStatus] = []
        kwargs.setdefault("backoff", Backoff(base_s=0.02, cap_s=0.05, rng=random.Random(3)))
        self.stream = QuoteStream(
            symbols,
            self.ticks.append,
            connect=fake.connect,
            on_status=self.statuses.append,
            **kwargs,  # type: ignore[arg-type]
        )
        self.task: asyncio.Task[None] | None = None

    def start(self) -> Harness:
        self.task = asyncio.create_task(self.stream.run())
        return self

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task

    def states(self) -> list[StreamState]:
        return [s.state for s in self.statuses]

    def errors(self) -> list[str]:
        return [s.error for s in self.statuses if s.error is not None]


async def until(cond: Callable[[], bool], limit: float = 3.0) -> None:
    async with asyncio.timeout(limit):
        while not cond():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


def stream_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if "QuoteStream" in t.get_coro().__qualname__]  # type: ignore[union-attr]


async def test_subscribes_on_connect_and_delivers_ticks(fake: FakeYahooStream) -> None:
    h = Harness(fake, ["IWM", "^RUT"]).start()
    try:
        await fake.wait_until(lambda: fake.subscribes == [["IWM", "^RUT"]])
        await until(lambda: h.stream.status.state is StreamState.LIVE)
        await fake.tick("IWM", 247.44, previous_close=245.1)
        await until(lambda: len(h.ticks) == 1)
        assert h.ticks[0].symbol == "IWM" and h.ticks[0].price == 247.44
        status = h.stream.status
        assert status.healthy and status.ticks == 1 and status.last_tick_at is not None
        assert status.error is None and status.reconnects == 0
        assert h.states()[:2] == [StreamState.CONNECTING, StreamState.LIVE]
    finally:
        await h.stop()


async def test_garbage_frames_are_skipped_and_counted(fake: FakeYahooStream) -> None:
    h = Harness(fake, ["IWM"]).start()
    try:
        await until(lambda: h.stream.status.state is StreamState.LIVE)
        for frame in GARBAGE:
            await fake.send_raw(frame)
        await fake.tick("SPY", 690.1)  # readable, but not subscribed
        await fake.tick("IWM", 247.44)
        await until(lambda: len(h.ticks) == 1)
        assert [t.price for t in h.ticks] == [247.44]
        assert h.stream.status.skipped == len(GARBAGE)
        assert fake.accepted == 1  # garbage does not cost the connection
    finally:
        await h.stop()


async def test_heartbeat_resends_the_subscription(fake: FakeYahooStream) -> None:
    h = Harness(fake, ["IWM", "SPY"], heartbeat_s=0.03).start()
    try:
        await fake.wait_until(lambda: len(fake.subscribes) >= 4)
        assert all(s == ["IWM", "SPY"] for s in fake.subscribes)
        assert fake.accepted == 1
    finally:
        await h.stop()


async def test_clean_close_reconnects_and_resubscribes(fake: FakeYahooStream) -> None:
    h = Harness(fake, ["IWM"]).start()
    try:
        await fake.wait_until(lambda: len(fake.open) == 1 and fake.subscribes == [["IWM"]])
        await fake.close_all(1000)
        await fake.wait_until(lambda: fake.accepted == 2 and len(fake.subscribes) == 2)
        assert fake.subscribes == [["IWM"], ["IWM"]]
        assert "stream closed by Yahoo (1000)" in h.errors()
        assert StreamState.DOWN in h.states()
        await until(lambda: h.stream.status.state is StreamState.LIVE)
        assert h.stream.status.reconnects == 1
    finally:
        await h.stop()


async def test_a_server_that_closes_at_once_is_not_hammered(fake: FakeYahooStream) -> None:
    fake.close_on_connect = True
    beats = 0

    async def heartbeat() -> None:
        nonlocal beats
        while True:
            await asyncio.sleep(0.01)
            beats += 1

    other = asyncio.create_task(heartbeat())
    # Delays 0.025-0.05, 0.05-0.1, 0.1-0.2, then 0.2-0.4 s: at most ~7 attempts in a second.
    h = Harness(fake, ["IWM"], backoff=Backoff(base_s=0.05, cap_s=0.4, rng=random.Random(5))).start()
    try:
        await asyncio.sleep(1.0)
        assert 2 <= fake.accepted <= 8  # reconnecting, with growing delays despite "successful" opens
        assert beats >= 20  # the loop yields: another task kept running
        assert "stream closed by Yahoo (1000)" in h.errors()
    finally:
        other.cancel()
        await h.stop()


async def test_dropped_connection_reconnects_and_ticks_resume(fake: FakeYahooStream) -> None:
    h = Harness(fake, ["IWM"]).start()
    try:
        await until(lambda: h.stream.status.state is StreamState.LIVE and len(fake.open) == 1)
        await fake.tick("IWM", 247.44)
        await until(lambda: len(h.ticks) == 1)
        fake.drop_all()
        await fake.wait_until(
            lambda: fake.accepted == 2 and len(fake.subscribes) == 2 and len(fake.open) == 1
        )
        await fake.tick("IWM", 247.9)
        await until(lambda: len(h.ticks) == 2)
        assert [t.price for t in h.ticks] == [247.44, 247.9]
        assert "stream connection lost (no close frame)" in h.errors()
        status = h.stream.status
        assert status.state is StreamState.LIVE and status.healthy and status.error is None
    finally:
        await h.stop()


async def test_silence_in_session_reconnects(fake: FakeYahooStream) -> None:
    h = Harness(fake, ["IWM"], silence_s=0.1, market_open=lambda: True).start()
    try:
        await fake.wait_until(lambda: fake.accepted >= 2)
        assert StreamState.SILENT in h.states()
        assert "no ticks for 0.1 s during the session" in h.errors()
        silent = h.states().index(StreamState.SILENT)
        assert h.states()[silent + 1] is StreamState.DOWN
    finally:
        await h.stop()


async def test_silence_while_the_market_is_closed_is_normal(fake: FakeYahooStream) -> None:
    h = Harness(fake, ["IWM"], silence_s=0.05, market_open=lambda: False).start()
    try:
        await until(lambda: h.stream.status.state is StreamState.LIVE)
        await asyncio.sleep(0.3)  # six silence windows
        status = h.stream.status
        assert fake.accepted == 1 and status.state is StreamState.LIVE and status.healthy
        assert StreamState.SILENT not in h.states()
    finally:
        await h.stop()


async def test_not_healthy_in_session_before_the_first_tick(fake: FakeYahooStream) -> None:
    h = Harness(fake, ["IWM"], market_open=lambda: True).start()
    try:
        await until(lambda: h.stream.status.state is StreamState.LIVE)
        assert not h.stream.status.healthy
        await fake.tick("IWM", 247.44)
        await until(lambda: h.stream.status.healthy)
        assert h.statuses[-1].healthy  # the flip was reported
    finally:
        await h.stop()


async def test_refused_handshakes_back_off_with_growing_delays(fake: FakeYahooStream) -> None:
    fake.refuse(503)
    h = Harness(fake, ["IWM"], backoff=Backoff(base_s=0.01, cap_s=10, rng=random.Random(7))).start()
    try:
        await until(lambda: h.stream.status.reconnects >= 4)
        downs = [s for s in h.statuses if s.state is StreamState.DOWN]
        assert len(downs) >= 4
        assert all(s.error == "stream connection failed: HTTP 503" and not s.healthy for s in downs)
        assert all(s.retry_at is not None for s in downs)
        delays = [(s.retry_at - s.since).total_seconds() for s in downs if s.retry_at is not None]
        assert delays == sorted(delays) and delays[-1] > delays[0] * 3
        assert fake.accepted == 0
        fake.accept()
        await until(lambda: h.stream.status.state is StreamState.LIVE)
        assert h.stream.status.retry_at is None
    finally:
        await h.stop()


async def test_cancel_closes_the_socket_and_leaves_no_task(fake: FakeYahooStream) -> None:
    h = Harness(fake, ["IWM"], heartbeat_s=0.02).start()
    await fake.wait_until(lambda: len(fake.subscribes) >= 2)  # the heartbeat task is running
    assert len(stream_tasks()) == 2  # run() and its sender
    await h.stop()
    assert h.stream.status.state is StreamState.STOPPED and h.statuses[-1].state is StreamState.STOPPED
    assert stream_tasks() == []
    await fake.wait_until(lambda: fake.client_closes == [1000])


async def test_cancel_while_down_stops_at_once(fake: FakeYahooStream) -> None:
    fake.refuse(503)
    h = Harness(fake, ["IWM"], backoff=Backoff(base_s=30, cap_s=60)).start()
    await until(lambda: h.stream.status.state is StreamState.DOWN)
    async with asyncio.timeout(1):
        await h.stop()
    assert stream_tasks() == [] and h.stream.status.state is StreamState.STOPPED


async def test_set_symbols_changes_the_live_subscription_and_later_ones(fake: FakeYahooStream) -> None:
    h = Harness(fake, ["IWM", "SPY"]).start()
    try:
        await fake.wait_until(lambda: fake.subscribes == [["IWM", "SPY"]])
        h.stream.set_symbols(["SPY", "^RUT"])
        await fake.wait_until(lambda: len(fake.subscribes) == 2)
        assert fake.unsubscribes == [["IWM"]] and fake.subscribes[-1] == ["SPY", "^RUT"]
        await fake.tick("IWM", 247.44)  # a late tick for the dropped symbol
        await fake.tick("^RUT", 2565.12)
        await until(lambda: len(h.ticks) == 1)
        assert [t.symbol for t in h.ticks] == ["^RUT"]
        fake.drop_all()
        await fake.wait_until(lambda: len(fake.subscribes) == 3)
        assert fake.subscribes[-1] == ["SPY", "^RUT"]
    finally:
        await h.stop()


# ------------------------------------------------------------------------------------ doctor
async def test_probe_reports_latency(fake: FakeYahooStream) -> None:
    fake.quotes_on_subscribe = {"IWM": 247.44}
    probe = await probe_stream(["IWM"], connect=fake.connect, timeout_s=2)
    assert probe.error is None
    assert probe.connected_s is not None and probe.first_tick_s is not None
    assert 0 <= probe.connected_s <= probe.first_tick_s < 2
    await fake.wait_until(lambda: fake.client_closes == [1000])  # it hangs up after


async def test_probe_reports_a_refusal(fake: FakeYahooStream) -> None:
    fake.refuse(503)
    probe = await probe_stream(["IWM"], connect=fake.connect, timeout_s=2)
    assert probe == StreamProbe(
        connected_s=None, first_tick_s=None, error="stream connection failed: HTTP 503"
    )


async def test_probe_reports_no_tick(fake: FakeYahooStream) -> None:
    probe = await probe_stream(["IWM"], connect=fake.connect, timeout_s=0.1)
    assert probe.connected_s is not None and probe.first_tick_s is None
    assert probe.error == "no tick within 0.1 s (is the market closed?)"


async def test_probe_of_a_missing_server_reports_an_error(tmp_path: Path) -> None:
    from websockets.asyncio.client import unix_connect

    def connect() -> object:
        return unix_connect(str(tmp_path / "nothing"), uri="ws://localhost/?version=2", open_timeout=1)

    probe = await probe_stream(["IWM"], connect=connect, timeout_s=1)  # type: ignore[arg-type]
    assert probe.connected_s is None and probe.error is not None
    assert probe.error.startswith("stream connection failed: ")
