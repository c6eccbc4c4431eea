"""The monitor's command line in live (Yahoo) mode, with Yahoo answered inside the process: for tests that
need a real process (a real terminal, signals), where `FakeYahoo.session()` cannot be handed over.

    python -m fakes.yahoo_main [--hang] -- [breakout-monitor options]

(run from `tests/`, or with `tests/` on PYTHONPATH). Without `--hang`, every request is answered by
`FakeYahoo` from a year of made-up daily bars for the default watchlist, so the cache and the journal are
opened and written as in a live run. With `--hang`, every request hangs as a dead network does: no answer
until the request's own timeout (yfinance passes 10 s), then `ReadTimeout`.

Nothing leaves the process: the quote stream (a WebSocket to Yahoo) is turned off, and any connection or
name lookup other than loopback is refused.
"""

from __future__ import annotations

import ipaddress
import math
import socket
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from requests.adapters import BaseAdapter

from fakes.yahoo_http import NEW_YORK, FakeYahoo, make_daily

WATCHLIST_START = {"IWM": 250.0, "SPY": 680.0, "^RUT": 2550.0, "^GSPC": 6800.0, "^TNX": 4.1, "^VIX": 14.0}
"""The default watchlist and a plausible last close for each."""
SESSIONS = 260


def _refuse_remote_network() -> None:
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def local(host: Any) -> bool:
        if isinstance(host, bytes):
            host = host.decode(errors="replace")
        if host is None or str(host) in ("", "localhost"):
            return True
        try:
            return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
        except ValueError:
            return False

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not local(host):
            raise OSError(f"fakes.yahoo_main: no real network: getaddrinfo({host!r})")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not local(address[0]):
            raise OSError(f"fakes.yahoo_main: no real network: connect({address!r})")
        real_connect(sock, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect  # type: ignore[assignment]


class DeadNetworkAdapter(BaseAdapter):
    """A peer that never answers: each request costs its whole timeout, then raises ReadTimeout."""

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        wait = timeout[-1] if isinstance(timeout, tuple) else timeout
        threading.Event().wait(float(wait) if wait is not None else 3600.0)
        raise requests.exceptions.ReadTimeout(f"no answer from {request.url}", request=request)

    def close(self) -> None:
        pass


def _answering_session() -> requests.Session:
    fake = FakeYahoo(clock=lambda: datetime.now(UTC))
    last_day = datetime.now(NEW_YORK).date() - timedelta(days=1)
    for i, (symbol, last) in enumerate(WATCHLIST_START.items()):
        closes = [last * (1 + 0.03 * math.sin((n + 7 * i) / 15)) for n in range(SESSIONS)]
        fake.add_daily(symbol, make_daily(closes, last_day))
    return fake.session()


def _hanging_session() -> requests.Session:
    session = requests.Session()
    adapter = DeadNetworkAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def main(argv: list[str]) -> int:
    hang = "--hang" in argv[: argv.index("--")] if "--" in argv else "--hang" in argv
    cli_args = argv[argv.index("--") + 1 :] if "--" in argv else [a for a in argv if a != "--hang"]
    _refuse_remote_network()
    session = _hanging_session() if hang else _answering_session()

    from services.sources import yahoo
    from tui.cli import main as cli_main

    plain_init = yahoo.YahooSource.__init__

    def init_with_fake(self: yahoo.YahooSource, **kwargs: Any) -> None:
        kwargs.setdefault("session", session)
        plain_init(self, **kwargs)

    yahoo.YahooSource.__init__ = init_with_fake  # type: ignore[method-assign]
    return cli_main([*cli_args, "--set", "stream=false"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
