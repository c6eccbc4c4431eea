"""An in-process Yahoo quote streamer on a Unix socket (the no-network fixture lets those through).

It speaks what `wss://streamer.finance.yahoo.com/?version=2` speaks: the client sends
`{"subscribe": [...]}` / `{"unsubscribe": [...]}`, the server sends text frames
`{"type": "pricing", "message": "<base64 of a protobuf PricingData>"}` built with yfinance's own
generated `PricingData`. It records what clients send and can misbehave on request.

    async with FakeYahooStream() as fake:
        stream = QuoteStream(["IWM"], ticks.append, connect=fake.connect)
        ...
        await fake.wait_until(lambda: fake.subscribes == [["IWM"]])
        await fake.tick("IWM", 247.44)           # to every open connection
        await fake.send_raw("not json")          # garbage
        await fake.close_all(1000)               # clean close by the server
        fake.drop_all()                          # abort the transport: no close frame
        fake.refuse(503)                         # reject handshakes until fake.accept()
        fake.close_on_connect = True             # accept, read the subscription, close
        fake.quotes_on_subscribe = {"IWM": 1.0}  # answer every subscribe with a tick
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from websockets.asyncio.client import ClientConnection, unix_connect
from websockets.asyncio.server import Server, ServerConnection, unix_serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from yfinance.pricing_pb2 import PricingData

URI = "ws://localhost/?version=2"
DEFAULT_TIME_MS = 1_771_000_200_000
"""2026-02-13 16:30:00 UTC (11:30 New York), in Yahoo's epoch milliseconds."""


def pricing_frame(
    symbol: str, price: float, *, time_ms: int = DEFAULT_TIME_MS, market_hours: int = 1, **fields: Any
) -> str:
    """One frame as Yahoo sends it. `fields` are other PricingData fields (previous_close=..., ...)."""
    data = PricingData(id=symbol, price=price, time=time_ms, market_hours=market_hours, **fields)
    return wrap_payload(data.SerializeToString())


def wrap_payload(payload: bytes) -> str:
    """Any bytes in Yahoo's JSON wrapper (to send a message that is base64 but not a PricingData)."""
    return json.dumps({"type": "pricing", "message": base64.b64encode(payload).decode("ascii")})


class FakeYahooStream:
    """The streamer. Use as `async with`; point a client at it with `connect`."""

    def __init__(self) -> None:
        # Unix socket paths are limited to ~100 bytes: pytest's tmp_path can be longer.
        self._dir = Path(tempfile.mkdtemp(prefix="yst"))
        self.path = self._dir / "s"
        self._server: Server | None = None
        self.attempts = 0
        """Handshake requests received, refused ones included."""
        self.accepted = 0
        """Connections opened."""
        self.messages: list[Any] = []
        """Every message clients sent, JSON-decoded when it was JSON."""
        self.client_closes: list[int] = []
        """Close codes of connections the client closed (the server saw its close frame first)."""
        self.open: set[ServerConnection] = set()
        self.close_on_connect = False
        self.quotes_on_subscribe: dict[str, float] = {}
        self._refuse_status: int | None = None

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> FakeYahooStream:
        self._server = await unix_serve(
            self._handler, str(self.path), process_request=self._process_request, ping_interval=None
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        shutil.rmtree(self._dir, ignore_errors=True)

    def connect(self) -> Awaitable[ClientConnection]:
        """The client side, for `QuoteStream(connect=fake.connect)` and `probe_stream(connect=...)`."""
        return unix_connect(str(self.path), uri=URI, open_timeout=2, close_timeout=1, ping_interval=None)

    # ------------------------------------------------------------------ what clients did
    @property
    def subscribes(self) -> list[list[str]]:
        return [m["subscribe"] for m in self.messages if isinstance(m, dict) and "subscribe" in m]

    @property
    def unsubscribes(self) -> list[list[str]]:
        return [m["unsubscribe"] for m in self.messages if isinstance(m, dict) and "unsubscribe" in m]

    async def wait_until(self, cond: Callable[[], bool], limit: float = 3.0) -> None:
        """Wait until `cond()` holds (polling: the client under test owns its own events)."""
        async with asyncio.timeout(limit):
            while not cond():  # noqa: ASYNC110
                await asyncio.sleep(0.005)

    # ------------------------------------------------------------------ misbehaviour
    async def tick(self, symbol: str, price: float, **fields: Any) -> int:
        """Push one tick to every open connection; returns how many got it."""
        return await self.send_raw(pricing_frame(symbol, price, **fields))

    async def send_raw(self, frame: str | bytes) -> int:
        sent = 0
        for ws in list(self.open):
            try:
                await ws.send(frame)
                sent += 1
            except ConnectionClosed:
                pass
        return sent

    async def close_all(self, code: int = 1000, reason: str = "") -> None:
        """Close every open connection with a close frame (1000 = normal)."""
        await asyncio.gather(*(ws.close(code, reason) for ws in list(self.open)))

    def drop_all(self) -> None:
        """Drop every open connection without a close frame (the client sees 1006)."""
        for ws in list(self.open):
            ws.transport.abort()

    def refuse(self, status: int = 503) -> None:
        """Reject every handshake with this HTTP status until `accept()`."""
        self._refuse_status = status

    def accept(self) -> None:
        self._refuse_status = None

    # ------------------------------------------------------------------ server side
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.attempts += 1
        if self._refuse_status is not None:
            return connection.respond(self._refuse_status, "Service Unavailable\n")
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        self.accepted += 1
        self.open.add(ws)
        try:
            if self.close_on_connect:  # take the subscription, then hang up at once
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        self.messages.append(json.loads(await ws.recv()))
                await ws.close(1000)
                return
            async for raw in ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    message = raw
                self.messages.append(message)
                if isinstance(message, dict) and self.quotes_on_subscribe:
                    for symbol in message.get("subscribe", []):
                        if symbol in self.quotes_on_subscribe:
                            await ws.send(pricing_frame(symbol, self.quotes_on_subscribe[symbol]))
        except ConnectionClosed:
            pass
        finally:
            self.open.discard(ws)
            proto = ws.protocol
            if proto.close_rcvd is not None and proto.close_rcvd_then_sent:
                self.client_closes.append(proto.close_rcvd.code)
