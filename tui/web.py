"""`breakout-monitor web`: the same monitor in a browser tab, served by textual-serve.

textual-serve runs an HTTP server whose page holds a terminal emulator (xterm.js); every browser tab that
connects starts one copy of the monitor as a child process (`python -m tui` with the source and settings
flags given to `web`) and relays its screen and keys over a websocket. Nothing is served but that one
command. It binds to 127.0.0.1 unless `--host` says otherwise, because there is no password: anyone who
can reach the port sees the monitor and can use its keys.

The server is textual-serve's own, with these changes for a monitor left running on a small server:
the page's addresses come from the address the browser used (so an SSH tunnel on another local port or
a wildcard `--host` works); a page of another site cannot open a session (the websocket's Origin must
be the server's own); the start-up banner is one line; Ctrl+C / SIGTERM / SIGHUP end every session at
once instead of waiting up to a minute for open tabs; log records go to the monitor's log file.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import re
import shlex
import signal
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from aiohttp.web_runner import GracefulExit
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from tui.cli import Invocation, UsageError, check_keys, open_source
from tui.config import APP_NAME

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S = 5.0
"""How long a browser session's app gets to quit once its tab closes or the server stops; then it is
killed."""

_SERVER_FLAGS = ("--host", "--port")
_SERVER_FLAGS_WITH_VALUE = tuple(f"{flag}=" for flag in _SERVER_FLAGS)
_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")
"""A DNS name (RFC 1123 labels), checked before the resolver is asked."""


@dataclass(frozen=True)
class ListenAddress:
    """Where the server will listen: `--host` resolved, and whether every address is this machine's
    loopback (nobody else can connect)."""

    host: str
    port: int
    sockaddrs: tuple[tuple[int, tuple[Any, ...]], ...]
    """(address family, socket address) pairs, as the server will bind them."""

    @property
    def loopback_only(self) -> bool:
        return all(ipaddress.ip_address(addr[0].split("%", 1)[0]).is_loopback for _f, addr in self.sockaddrs)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def served_arguments(web_argv: Sequence[str]) -> list[str]:
    """The arguments of `web` minus the server's own (--host, --port): the source and settings flags
    that the served monitor gets, in the order and spelling the user typed them. The `web` parser
    accepts no abbreviated flags, so `--host X` and `--host=X` are the only spellings to drop."""
    out: list[str] = []
    tokens = iter(web_argv)
    for token in tokens:
        if token in _SERVER_FLAGS:
            next(tokens, None)  # its value
        elif not token.startswith(_SERVER_FLAGS_WITH_VALUE):
            out.append(token)
    return out


def served_command(web_argv: Sequence[str]) -> str:
    """The shell command textual-serve starts for each browser session: this same program, by the same
    Python, with the user's source and settings flags. `exec` so that the app is the server's direct
    child: its quit and its exit reach the server without a shell in between."""
    return "exec " + shlex.join([sys.executable, "-m", "tui", *served_arguments(web_argv)])


def resolve_listen_address(host: str, port: int) -> ListenAddress:
    """Resolve `--host` as the server will (an IP literal as is, a name through the resolver) and bind
    each address once, so that a port already in use, a privileged port or an address that is not this
    machine's is a one-line error before anything starts. Raises UsageError."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is None and not _HOST_NAME.fullmatch(host):
        raise UsageError(f"--host {host!r}: not a host name or IP address")
    if ip is not None:  # no resolver call for a literal address
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        sockaddrs: list[tuple[int, tuple[Any, ...]]] = [(family, (host, port))]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        except OSError as exc:
            raise UsageError(f"--host {host}: cannot resolve it ({exc.strerror or exc})") from None
        sockaddrs = list(dict.fromkeys((info[0], info[4]) for info in infos))
    for bind_family, sockaddr in sockaddrs:
        _try_bind(bind_family, sockaddr, host, port)
    return ListenAddress(host, port, tuple(sockaddrs))


def _try_bind(family: int, sockaddr: tuple[Any, ...], host: str, port: int) -> None:
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # The same options asyncio's server uses, so that a port in TIME_WAIT is not reported busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            probe.bind(sockaddr)
        except OSError as exc:
            raise UsageError(_bind_problem(exc, host, port)) from None


def _bind_problem(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use (another server?): choose another with --port"
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port} (ports below 1024 need root): choose one above 1023"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"--host {host} is not an address of this machine"
    return f"cannot listen on {host} port {port}: {exc.strerror or exc}"


def _what_is_served(inv: Invocation) -> str:
    if inv.args.demo is not None:
        return f"the {inv.args.demo} demo"
    if inv.args.replay is not None:
        return "the replay"
    return "live Yahoo data"


def run_web(inv: Invocation, web_argv: Sequence[str]) -> int:
    """Check everything that would stop the served app (keys, replay files, the address), then serve
    until Ctrl+C, SIGTERM or SIGHUP. Returns 0; bad input raises UsageError."""
    args = inv.args
    check_keys(inv.settings)
    if args.replay is not None:  # a bad CSV is an error here, not a blank browser tab later
        asyncio.run(open_source(inv).aclose())
    address = resolve_listen_address(args.host, args.port)
    if not address.loopback_only:
        print(
            f"{APP_NAME}: warning: listening on {args.host}, not only this machine: anyone who can reach "
            f"port {args.port} can see and use the monitor (there is no password)",
            file=sys.stderr,
        )
    server = MonitorServer(
        served_command(web_argv),
        host=args.host,
        port=args.port,
        banner=f"{APP_NAME}: serving {_what_is_served(inv)} on {address.url} (Ctrl+C stops)",
    )
    try:
        server.serve()
    except OSError as exc:  # lost a race for the port since the check
        raise UsageError(_bind_problem(exc, args.host, args.port)) from None
    return 0


class AppSession(AppService):
    """The app process of one browser tab. textual-serve's `stop()` returns once the app has closed its
    output, which is before the process has finished its own shutdown (journal, cache): `end()` waits
    for the exit too, and kills an app that does not quit in time."""

    async def end(self, timeout_s: float) -> None:
        process = self._process  # textual-serve keeps no public handle on it
        try:
            async with asyncio.timeout(timeout_s):
                await self.stop()
                if process is not None:
                    await process.wait()
        except TimeoutError:
            if process is not None and process.returncode is None:
                log.warning("the app of a browser session did not quit within %g s: killed", timeout_s)
                process.kill()
                await process.wait()


class MonitorServer(Server):
    """textual-serve's server with the changes listed in the module doc."""

    def __init__(self, command: str, *, host: str, port: int, banner: str) -> None:
        super().__init__(command, host=host, port=port, title=APP_NAME)
        self.banner = banner
        self._sessions: set[asyncio.Task[Any]] = set()
        self._stopping = False

    def initialize_logging(self) -> None:
        """Nothing: the records go to the monitor's log file (set up by the command line); textual-serve
        would print them, and every HTTP request, on the console."""

    def serve(self, debug: bool = False) -> None:
        loop = asyncio.new_event_loop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, self.request_exit)
        web.run_app(
            self._make_app(),
            host=self.host,
            port=self.port,
            handle_signals=False,
            loop=loop,
            print=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        )

    def request_exit(self) -> None:
        if self._stopping:  # a second Ctrl+C while the sessions end: they are bounded already
            return
        self._stopping = True
        raise GracefulExit()

    async def on_startup(self, app: web.Application) -> None:
        print(self.banner, flush=True)

    async def on_shutdown(self, app: web.Application) -> None:
        """End every session now: aiohttp would otherwise wait for each open tab to close its websocket
        (up to the shutdown timeout). A cancelled session tells its app to quit and waits until the
        process has exited, so that the server never leaves one behind."""
        sessions = set(self._sessions)
        for task in sessions:
            task.cancel()
        if sessions:
            await asyncio.wait(sessions, timeout=SHUTDOWN_TIMEOUT_S + 1)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One browser tab: start its app, relay screen and keys until either side closes, then end the
        app (textual-serve's own handler, plus the origin check and the wait for the app's exit)."""
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc.lower() != request.host.lower():
            # A page of another site open in the user's browser could otherwise start a session on
            # this port and read the screen or send keys; browsers always send Origin, other
            # clients may not.
            raise web.HTTPForbidden(text="a session may only be opened from this server's own page")
        task = asyncio.current_task()
        assert task is not None
        # heartbeat: a tab gone without a word (laptop lid shut) ends its session; timeout: a tab that
        # does not answer the close within 2 s does not hold up the server's stop.
        websocket = web.WebSocketResponse(heartbeat=15, timeout=2.0)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)

        async def close_websocket() -> None:  # the app said it exited
            await websocket.close()

        session = AppSession(
            self.command,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=close_websocket,
            download_manager=self.download_manager,
        )
        self._sessions.add(task)
        try:
            await websocket.prepare(request)
            await session.start(width, height)
            await self._process_messages(websocket, session)
        except asyncio.CancelledError:  # the server is stopping (on_shutdown)
            pass
        except Exception:
            log.exception("browser session failed")
        finally:
            await session.end(SHUTDOWN_TIMEOUT_S)
            await websocket.close()
            self._sessions.discard(task)
        return websocket

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The page, with the script and websocket addresses the browser used to reach it (its Host
        header). textual-serve writes --host:--port into them, which fails through an SSH tunnel on
        another local port and on a wildcard host such as 0.0.0.0."""
        secure = request.scheme == "https"
        origin = f"{request.scheme}://{request.host}"
        socket_origin = f"{'wss' if secure else 'ws'}://{request.host}"
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": socket_origin + str(request.app.router["websocket"].url_for()),
            "config": {"static": {"url": f"{origin}/static/"}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)
