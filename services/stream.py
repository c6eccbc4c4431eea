"""Live quotes from Yahoo's WebSocket streamer, with our own connection loop.

Yahoo's streamer (`wss://streamer.finance.yahoo.com/?version=2`) takes `{"subscribe": [symbols]}` and
answers with JSON text frames `{"type": "pricing", "message": "<base64 of a protobuf PricingData>"}`.
yfinance re-sends the subscription every 15 s as a heartbeat, and so do we.

yfinance's own `AsyncWebSocket.listen()` is not used: after a clean close by the server it spins at
100 % CPU without yielding, and after an abnormal close it never reconnects. The loop here:
- reconnects after every kind of end (clean close, dropped connection, refused handshake, timeout) with
  capped exponential backoff and jitter; the backoff resets only once a connection has proved itself
  (delivered a tick, or stayed open for `silence_s`), so a server that accepts and closes at once is
  not hammered;
- re-subscribes on every connection and re-sends the subscription every `heartbeat_s`;
- treats `silence_s` without a tick during the session as a dead stream (silence is normal while the
  market is closed);
- drops any frame it cannot read (counted, logged at debug) and never lets one reach the caller.

Neither websockets nor yfinance is imported until a stream starts: importing yfinance costs ~1 s, so
its generated protobuf module is loaded straight from yfinance's directory, without the package.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import enum
import importlib
import importlib.util
import json
import logging
import math
import struct
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from services.backoff import Backoff
from services.models import MarketSession
from services.sources.yahoo import network_words

log = logging.getLogger(__name__)

YAHOO_STREAM_URL = "wss://streamer.finance.yahoo.com/?version=2"
CONNECT_TIMEOUT_S = 20.0
"""Longest wait for a connection (TCP, TLS and the WebSocket handshake) before it counts as failed."""
CLOSE_TIMEOUT_S = 5.0
"""Longest wait for the closing handshake; the connection is abandoned after it."""

_MARKET_HOURS = {0: MarketSession.PRE, 1: MarketSession.REGULAR, 2: MarketSession.POST}
"""Yahoo's `market_hours` field. Proto3 cannot tell 0 from "not sent", so a missing field reads as PRE."""
_SECONDS_LIMIT = 1e11
"""Yahoo's `time` is epoch milliseconds; anything below this is taken for seconds (1e11 s is year 5138)."""


class StreamState(enum.StrEnum):
    """Where the stream is, for the status bar."""

    CONNECTING = "connecting"
    """Opening a connection (the first one or a retry)."""
    LIVE = "live"
    """Connected and subscribed."""
    SILENT = "silent"
    """Connected but no tick for `silence_s` during the session: being closed, a reconnect follows."""
    DOWN = "down"
    """Not connected; the next attempt is at `retry_at`."""
    STOPPED = "stopped"
    """`run()` has ended (cancelled) or has not started."""


@dataclass(frozen=True, slots=True)
class StreamTick:
    """One price from the streamer. Optional fields are None when Yahoo did not send them."""

    symbol: str
    """As Yahoo spells it (the subscribed symbol, e.g. "IWM", "^RUT")."""
    price: float
    time: datetime
    """When the price was set (UTC); the arrival time when Yahoo sent none."""
    session: MarketSession | None
    """PRE, REGULAR or POST from Yahoo's `market_hours`; None for a value it does not document."""
    previous_close: float | None
    change: float | None
    """Points against the previous close, as Yahoo computed it."""
    change_pct: float | None
    """Percent against the previous close (1.5 = 1.5 %)."""
    day_high: float | None
    day_low: float | None
    open_price: float | None
    day_volume: float | None
    """Shares traded today; None when Yahoo sent none (indices have no volume)."""


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """What a status bar shows about the stream."""

    state: StreamState
    since: datetime
    """When `state` was entered (UTC)."""
    last_tick_at: datetime | None
    """When the last tick arrived (UTC, arrival time by the stream's clock); None before the first."""
    reconnects: int
    """Connection attempts after the first one (successful or not)."""
    retry_at: datetime | None
    """While DOWN: when the next attempt starts (UTC)."""
    error: str | None
    """One line about the last failure, e.g. "stream closed by Yahoo (1000)"; cleared by the next tick."""
    healthy: bool
    """Connected, and a tick came within `silence_s` or the market is closed."""
    ticks: int
    """Ticks delivered to `on_tick` since the stream was made."""
    skipped: int
    """Frames dropped as unreadable (not JSON, not base64, not protobuf, no symbol, bad price)."""

    @property
    def summary(self) -> str:
        """The status bar's words: "stream live", or how the stream fails while polling carries on."""
        if self.healthy:
            return "stream live"
        return _STATE_WORDS[self.state]


_STATE_WORDS = {
    StreamState.CONNECTING: "stream connecting, polling",
    StreamState.LIVE: "stream connected, polling",  # connected, no tick yet during the session
    StreamState.SILENT: "stream silent, polling",
    StreamState.DOWN: "stream down, polling",
    StreamState.STOPPED: "stream stopped, polling",
}


class StreamConnection(Protocol):
    """What the loop needs from a WebSocket connection (websockets' `ClientConnection` fits)."""

    async def send(self, message: str) -> None: ...

    async def recv(self) -> str | bytes: ...

    async def close(self) -> None: ...


Connector = Callable[[], Awaitable[Any]]
"""Opens one connection and returns it (a `StreamConnection`); raises when it cannot."""


def utc_now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------- decoding
_pricing_data: Any = None


def _pricing_data_class() -> Any:
    """yfinance's generated `PricingData` message class, loaded on first use.

    `import yfinance.pricing_pb2` would run yfinance/__init__ (pandas and all, ~1 s); the generated module
    needs only protobuf, so it is executed from yfinance's directory on its own. Protobuf hands back the
    same class either way, so it does not clash with yfinance importing it later.
    """
    global _pricing_data
    if _pricing_data is not None:
        return _pricing_data
    module = sys.modules.get("yfinance.pricing_pb2")
    if module is None:
        with contextlib.suppress(Exception):
            spec = importlib.util.find_spec("yfinance")  # finds the package without importing it
            if spec is not None and spec.submodule_search_locations:
                path = Path(next(iter(spec.submodule_search_locations))) / "pricing_pb2.py"
                gen = importlib.util.spec_from_file_location("_yfinance_pricing_pb2", path)
                if gen is not None and gen.loader is not None:
                    candidate = importlib.util.module_from_spec(gen)
                    gen.loader.exec_module(candidate)
                    module = candidate
    if module is None:  # an unusual install (zipped, frozen): pay for the package import
        module = importlib.import_module("yfinance.pricing_pb2")
    _pricing_data = module.PricingData
    return _pricing_data


def _float32(x: float) -> float:
    """The shortest decimal that is the same float32: Yahoo sends float32, so 247.44 arrives as
    247.44000244140625 and would show that way."""
    if not math.isfinite(x):
        return x
    try:
        packed = struct.pack("<f", x)
        for digits in range(13):
            r = round(x, digits)
            if struct.pack("<f", r) == packed:
                return r
    except (OverflowError, struct.error):
        pass
    return x


def _price(x: float) -> float | None:
    """A price field: None unless finite and positive (proto3 sends nothing for 0)."""
    x = _float32(float(x))
    return x if math.isfinite(x) and x > 0 else None


def _tick_time(raw: int, received_at: datetime | None) -> datetime:
    if raw > 0:
        seconds = raw / 1000.0 if raw >= _SECONDS_LIMIT else float(raw)
        with contextlib.suppress(OverflowError, OSError, ValueError):
            return datetime.fromtimestamp(seconds, UTC)
    return received_at if received_at is not None else utc_now()


def _decode(frame: str | bytes, received_at: datetime | None) -> StreamTick | str:
    """The tick in `frame`, or why there is none."""
    try:
        wrapper = json.loads(frame)
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        return "not JSON"
    if not isinstance(wrapper, dict):
        return "not a JSON object"
    kind = wrapper.get("type")
    if kind is not None and kind != "pricing":
        return f"not a pricing message (type {kind!r})"
    message = wrapper.get("message")
    if not isinstance(message, str) or not message:
        return "no message"
    try:
        payload = base64.b64decode(message, validate=True)
    except (binascii.Error, ValueError):
        return "message is not base64"
    try:
        data = _pricing_data_class()()
        data.ParseFromString(payload)
    except Exception:  # protobuf's DecodeError, or anything its C extension raises on junk
        return "message is not a PricingData protobuf"
    symbol = str(data.id).strip()
    if not symbol:
        return "no symbol"
    price = _price(data.price)
    if price is None:
        return f"{symbol}: unusable price {data.price!r}"
    previous_close = _price(data.previous_close)
    change: float | None = _float32(float(data.change))
    change_pct: float | None = _float32(float(data.change_percent))
    # Proto3 drops zeros: a zero change is believable only when Yahoo also sent the close it is from.
    if change is not None and (not math.isfinite(change) or (change == 0 and previous_close is None)):
        change = None
    if change_pct is not None and (
        not math.isfinite(change_pct) or (change_pct == 0 and previous_close is None)
    ):
        change_pct = None
    volume = float(data.day_volume)
    return StreamTick(
        symbol=symbol,
        price=price,
        time=_tick_time(int(data.time), received_at),
        session=_MARKET_HOURS.get(int(data.market_hours)),
        previous_close=previous_close,
        change=change,
        change_pct=change_pct,
        day_high=_price(data.day_high),
        day_low=_price(data.day_low),
        open_price=_price(data.open_price),
        day_volume=volume if volume > 0 else None,
    )


def decode_frame(frame: str | bytes, *, received_at: datetime | None = None) -> StreamTick | None:
    """The tick in one streamer frame, or None when the frame is unreadable. Never raises.

    Args:
        frame: a text (or binary) frame as received.
        received_at: the tick's time when Yahoo sent none (default: now).
    """
    try:
        result = _decode(frame, received_at)
    except Exception:  # a frame must never break the stream
        log.debug("stream frame could not be decoded", exc_info=True)
        return None
    return result if isinstance(result, StreamTick) else None


# ---------------------------------------------------------------------------------------- errors
def _span(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s" if seconds < 10 else f"{seconds:.0f} s"


def _network_reason(exc: BaseException) -> str:
    words = network_words(f"{type(exc).__name__} {exc}")
    if words is not None:
        return words
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _connect_failure(exc: BaseException) -> str:
    """One line for a connection that could not be opened."""
    from websockets.exceptions import InvalidStatus

    if isinstance(exc, InvalidStatus):
        return f"stream connection failed: HTTP {exc.response.status_code}"
    if isinstance(exc, TimeoutError):
        return "stream connection failed: timed out"
    if isinstance(exc, OSError):
        return f"stream connection failed: {_network_reason(exc)}"
    return f"stream connection failed: {str(exc) or type(exc).__name__}"


def _connection_end(exc: BaseException) -> str:
    """One line for a connection that ended."""
    from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

    if isinstance(exc, ConnectionClosed):
        rcvd = exc.rcvd
        if rcvd is None:
            return "stream connection lost (no close frame)"
        reason = f": {rcvd.reason}" if rcvd.reason else ""
        if isinstance(exc, ConnectionClosedOK):
            return f"stream closed by Yahoo ({rcvd.code}{reason})"
        return f"stream closed by Yahoo with an error ({rcvd.code}{reason})"
    if isinstance(exc, TimeoutError):
        return "stream connection timed out"
    if isinstance(exc, OSError):
        return f"stream connection lost: {_network_reason(exc)}"
    return f"stream error: {type(exc).__name__}: {exc}" if str(exc) else f"stream error: {type(exc).__name__}"


def _default_connect() -> Awaitable[Any]:
    from websockets.asyncio.client import connect

    # Keepalive pings notice a dead TCP connection that the silence check would only see in session.
    return connect(
        YAHOO_STREAM_URL,
        open_timeout=CONNECT_TIMEOUT_S,
        ping_interval=20,
        ping_timeout=20,
        close_timeout=CLOSE_TIMEOUT_S,
    )


async def _close_quietly(ws: StreamConnection) -> None:
    """Close `ws`; a peer that does not answer is abandoned after CLOSE_TIMEOUT_S."""
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await ws.close()
    except BaseException as exc:  # cancelled or failed half-way: do not leave the socket open
        if not isinstance(exc, asyncio.CancelledError):
            log.debug("closing the stream connection failed", exc_info=True)
        transport = getattr(ws, "transport", None)
        with contextlib.suppress(Exception):
            if transport is not None:
                transport.abort()
        if isinstance(exc, asyncio.CancelledError):
            raise


def _clean(symbols: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for s in symbols:
        s = s.strip()
        if s:
            seen.setdefault(s, None)
    return list(seen)


# ---------------------------------------------------------------------------------------- the stream
class QuoteStream:
    """Keeps one streamer connection alive for ever and hands each decoded tick to `on_tick`."""

    def __init__(
        self,
        symbols: Sequence[str],
        on_tick: Callable[[StreamTick], None],
        *,
        connect: Connector | None = None,
        market_open: Callable[[], bool] = lambda: True,
        heartbeat_s: float = 15.0,
        silence_s: float = 120.0,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = utc_now,
        on_status: Callable[[StreamStatus], None] | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> None:
        """
        Args:
            symbols: Yahoo symbols to subscribe to ("IWM", "^RUT").
            on_tick: called on the event loop with every good tick of a subscribed symbol; keep it cheap.
            connect: opens a connection (default: websockets to YAHOO_STREAM_URL).
            market_open: whether ticks are expected now; silence while it is False is not a fault.
            heartbeat_s: how often the subscription is re-sent on a live connection.
            silence_s: how long without a tick during the session before the stream counts as dead.
            backoff: delays between attempts (default: 2 s doubling to 5 min, with jitter).
            clock: the current time, UTC-aware (for the status only; intervals use the monotonic clock).
            on_status: called on the event loop when the state, error or retry time changes.
            connect_timeout_s: longest wait for one connection attempt.
        """
        self._symbols = _clean(symbols)
        self._wanted = {s.upper() for s in self._symbols}  # to match ticks whatever case Yahoo answers in
        self._on_tick = on_tick
        self._connect: Connector = connect or _default_connect
        self._market_open = market_open
        self._heartbeat_s = heartbeat_s
        self._silence_s = silence_s
        self._backoff = backoff or Backoff(base_s=2.0, cap_s=300.0)
        self._clock = clock
        self._on_status = on_status
        self._connect_timeout_s = connect_timeout_s

        self._state = StreamState.STOPPED
        self._since = clock()
        self._error: str | None = None
        self._retry_at: datetime | None = None
        self._reconnects = 0
        self._ticks = 0
        self._skipped = 0
        self._last_tick_at: datetime | None = None
        self._last_tick_mono: float | None = None
        self._running = False
        self._emitted: tuple[object, ...] | None = None
        self._emitted_healthy = False
        self._tick_errors = 0
        # per connection
        self._subscribed: list[str] = []
        self._proved = False
        self._symbols_changed = asyncio.Event()

    # ------------------------------------------------------------------ public
    @property
    def symbols(self) -> list[str]:
        return list(self._symbols)

    @property
    def status(self) -> StreamStatus:
        return StreamStatus(
            state=self._state,
            since=self._since,
            last_tick_at=self._last_tick_at,
            reconnects=self._reconnects,
            retry_at=self._retry_at,
            error=self._error,
            healthy=self._healthy(),
            ticks=self._ticks,
            skipped=self._skipped,
        )

    def set_symbols(self, symbols: Sequence[str]) -> None:
        """Stream these symbols from now on: the live connection unsubscribes the dropped ones and
        subscribes the new list; every later connection subscribes it."""
        new = _clean(symbols)
        if new == self._symbols:
            return
        self._symbols = new
        self._wanted = {s.upper() for s in new}
        self._symbols_changed.set()  # the connection's sender task does the sending

    async def run(self) -> None:
        """Stream until cancelled. Never raises anything but CancelledError (and RuntimeError when
        called while already running)."""
        if self._running:
            raise RuntimeError("QuoteStream.run() is already running")
        self._running = True
        try:
            first = True
            while True:
                if not first:
                    self._reconnects += 1
                first = False
                try:
                    await self._connection()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug here must not end the stream for the session
                    log.exception("quote stream failed")
                    self._error = _connection_end(exc)
                delay = self._backoff.next_delay()
                now = self._clock()
                self._set_state(StreamState.DOWN, now=now, retry_at=now + timedelta(seconds=delay))
                log.info("quote stream down (%s); retrying in %.1f s", self._error, delay)
                await asyncio.sleep(delay)
        finally:
            self._running = False
            self._set_state(StreamState.STOPPED)

    # ------------------------------------------------------------------ one connection
    async def _connection(self) -> None:
        """Open, subscribe and read one connection until it ends; the reason is left in `_error`."""
        self._set_state(StreamState.CONNECTING)
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                ws: StreamConnection = await self._connect()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._error = _connect_failure(exc)
            log.debug("quote stream connection failed", exc_info=True)
            return
        opened = time.monotonic()
        self._proved = False
        sender: asyncio.Task[None] | None = None
        try:
            self._symbols_changed.clear()
            self._subscribed = list(self._symbols)
            if self._subscribed:
                await ws.send(json.dumps({"subscribe": self._subscribed}))
            self._set_state(StreamState.LIVE)
            sender = asyncio.create_task(self._sender(ws), name="quote-stream-sender")
            await self._read(ws)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._error = _connection_end(exc)
            log.debug("quote stream connection ended", exc_info=True)
        finally:
            if sender is not None:
                sender.cancel()
                await asyncio.wait([sender])
            await _close_quietly(ws)
            self._subscribed = []
        # A connection that stayed up through a silence window with the market closed is no reconnect
        # storm either: overnight Yahoo may close idle connections, and the open must not wait 5 min.
        lived = time.monotonic() - opened
        if not self._proved and self._state is not StreamState.SILENT and lived >= self._silence_s:
            self._backoff.reset()

    async def _read(self, ws: StreamConnection) -> None:
        """Deliver ticks until the connection ends (raises) or falls silent in session (returns)."""
        quiet_since = time.monotonic()
        while True:
            remaining = self._silence_s - (time.monotonic() - quiet_since)
            if remaining <= 0:
                if self._symbols and self._is_market_open():
                    self._error = f"no ticks for {_span(self._silence_s)} during the session"
                    self._set_state(StreamState.SILENT)
                    return
                quiet_since = time.monotonic()  # closed market: silence is normal, look again later
                continue
            timeout = asyncio.timeout(remaining)
            try:
                async with timeout:
                    frame = await ws.recv()
            except TimeoutError:
                if timeout.expired():
                    continue
                raise
            tick = self._decode(frame)
            if tick is not None:
                quiet_since = time.monotonic()
                self._deliver(tick)

    def _decode(self, frame: str | bytes) -> StreamTick | None:
        try:
            result = _decode(frame, self._clock())
        except Exception:
            log.debug("stream frame could not be decoded", exc_info=True)
            result = "decoder error"
        if isinstance(result, str):
            self._skipped += 1
            log.debug("stream frame skipped: %s: %.120r", result, frame)
            return None
        if result.symbol.upper() not in self._wanted:  # a late tick for a symbol just dropped
            log.debug("stream tick for unsubscribed %s dropped", result.symbol)
            return None
        return result

    def _deliver(self, tick: StreamTick) -> None:
        self._ticks += 1
        self._last_tick_at = self._clock()
        self._last_tick_mono = time.monotonic()
        if not self._proved:  # this connection works: forget the failures before it
            self._proved = True
            self._backoff.reset()
            self._error = None
            self._emit()
        elif not self._emitted_healthy:
            self._emit()
        try:
            self._on_tick(tick)
        except Exception:  # the caller's bug must not drop the connection
            self._tick_errors += 1
            if self._tick_errors == 1:
                log.exception("on_tick failed (further failures are logged at debug)")
            else:
                log.debug("on_tick failed", exc_info=True)

    async def _sender(self, ws: StreamConnection) -> None:
        """Heartbeat and subscription changes: every send of a connection after the first."""
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self._heartbeat_s
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, next_beat - loop.time())):
                        await self._symbols_changed.wait()
                if self._symbols_changed.is_set():
                    self._symbols_changed.clear()
                    wanted = list(self._symbols)
                    dropped = [s for s in self._subscribed if s not in wanted]
                    if dropped:
                        await ws.send(json.dumps({"unsubscribe": dropped}))
                    if wanted:
                        await ws.send(json.dumps({"subscribe": wanted}))
                    self._subscribed = wanted
                else:
                    if self._subscribed:
                        await ws.send(json.dumps({"subscribe": self._subscribed}))
                    next_beat = loop.time() + self._heartbeat_s
        except asyncio.CancelledError:
            raise
        except Exception:  # the connection is closing; the reader sees why and reconnects
            log.debug("quote stream send failed", exc_info=True)

    # ------------------------------------------------------------------ status
    def _is_market_open(self) -> bool:
        try:
            return bool(self._market_open())
        except Exception:  # unknown: assume open, so a dead stream is still noticed
            log.debug("market_open() failed", exc_info=True)
            return True

    def _healthy(self) -> bool:
        if self._state is not StreamState.LIVE:
            return False
        if not self._is_market_open():
            return True
        return self._last_tick_mono is not None and time.monotonic() - self._last_tick_mono <= self._silence_s

    def _set_state(
        self, state: StreamState, *, now: datetime | None = None, retry_at: datetime | None = None
    ) -> None:
        if state is not self._state:
            self._state = state
            self._since = now or self._clock()
        self._retry_at = retry_at
        self._emit()

    def _emit(self) -> None:
        status = self.status
        key = (status.state, status.error, status.retry_at, status.reconnects, status.healthy)
        if key == self._emitted:
            return
        self._emitted = key
        self._emitted_healthy = status.healthy
        if self._on_status is None:
            return
        try:
            self._on_status(status)
        except Exception:
            log.exception("on_status failed")


# ---------------------------------------------------------------------------------------- doctor
@dataclass(frozen=True, slots=True)
class StreamProbe:
    """What one trial connection showed (for `breakout-monitor doctor`)."""

    connected_s: float | None
    """Seconds until the connection was open; None when it never opened."""
    first_tick_s: float | None
    """Seconds from the start until the first readable tick; None when none came."""
    error: str | None
    """One line about what went wrong; None on success."""


async def probe_stream(
    symbols: Sequence[str], *, connect: Connector | None = None, timeout_s: float = 10.0
) -> StreamProbe:
    """Connect, subscribe `symbols` and wait for the first tick, within `timeout_s` in all.

    Never raises (but for cancellation); with the market closed no tick may come, which is reported as
    an error line like any other failure.
    """
    connector = connect or _default_connect
    loop = asyncio.get_running_loop()
    start = loop.time()
    connected_s: float | None = None
    ws: StreamConnection | None = None
    deadline = asyncio.timeout(timeout_s)
    try:
        async with deadline:
            ws = await connector()
            connected_s = loop.time() - start
            await ws.send(json.dumps({"subscribe": _clean(symbols)}))
            while True:
                if decode_frame(await ws.recv()) is not None:
                    return StreamProbe(connected_s, loop.time() - start, None)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if isinstance(exc, TimeoutError) and deadline.expired():
            if connected_s is None:
                error = "stream connection failed: timed out"
            else:
                error = f"no tick within {_span(timeout_s)} (is the market closed?)"
        elif connected_s is None:
            error = _connect_failure(exc)
        else:
            error = _connection_end(exc)
        return StreamProbe(connected_s, None, error)
    finally:
        if ws is not None:
            await _close_quietly(ws)
