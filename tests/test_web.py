"""`breakout-monitor web`: the flags and the served command, the address checks, and the real thing — a
server subprocess that a websocket client and headless Chromium (Debian's `chromium` driven by Playwright,
no browser download) connect to, see prices in, switch the view of, and that Ctrl+C stops cleanly."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import tui.web
from tui.cli import main, parse
from tui.web import served_arguments, served_command

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PRICE_AFTER_IWM = re.compile(r"IWM[^\n]*(\n[^\n]*)??\b\d{1,3}(,\d{3})*\.\d{2}\b")
"""IWM followed by a decimal price on the same line (chart header) or the next (quote card)."""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """An empty config file: the tests never read the user's own."""
    path = tmp_path / "config.toml"
    path.write_text("")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------------------- flags


def test_web_listens_on_localhost_port_8000_unless_told_otherwise(config: Path) -> None:
    args = parse(["web", "--demo", "--config", str(config)]).args
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    args = parse(["web", "--host", "0.0.0.0", "--port=9001", "--config", str(config)]).args
    assert (args.host, args.port) == ("0.0.0.0", 9001)


def test_the_served_command_is_this_program_with_the_source_and_settings_flags_typed() -> None:
    web_argv = [
        "--replay", "data dir/IWM.csv", "other",
        "--host", "0.0.0.0",
        "--as-of", "2025-12-01",
        "--port=9000",
        "--cache-dir", "/tmp/x y",
        "--set", "theme=nord",
    ]  # fmt: skip
    words = shlex.split(served_command(web_argv))
    assert words == [
        "exec", sys.executable, "-m", "tui",
        "--replay", "data dir/IWM.csv", "other",
        "--as-of", "2025-12-01",
        "--cache-dir", "/tmp/x y",
        "--set", "theme=nord",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "web_argv",
    [
        ["--demo", "bulltrap", "--port", "9000", "--level", "2550", "--symbols", "IWM,SPY"],
        ["--replay", "a.csv", "b", "--as-of", "2025-12-01", "--host=::1", "--speed", "2"],
        ["--no-cache", "--host", "localhost", "--refresh", "30", "--set", "alerts.desktop=osc777"],
        ["--demo", "--port=8001", "--targets", "2600,3000", "--log-level", "DEBUG"],
    ],
)
def test_the_served_app_parses_exactly_the_settings_the_web_command_got(
    web_argv: list[str], config: Path
) -> None:
    web_argv = [*web_argv, "--config", str(config)]
    served, web = parse(served_arguments(web_argv)), parse(["web", *web_argv])
    assert served.command == "run"
    assert served.settings == web.settings
    assert {k: v for k, v in vars(web.args).items() if k not in ("host", "port")} == vars(served.args)


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("breakout-monitor: error: ")
    return lines[0]


@pytest.mark.parametrize("port", ["0", "65536", "-1", "http", "80.5", ""])
def test_a_bad_port_is_one_line_and_exit_2(
    port: str, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["web", "--demo", "--config", str(config), "--port", port]) == 2
    assert "--port" in one_error_line(capsys)


@pytest.mark.parametrize(
    ("host", "said"),
    [
        ("", "not a host name"),
        ("bad host", "not a host name"),
        ("under_score", "not a host name"),
        ("x-.example", "not a host name"),
        ("192.0.2.1", "not an address of this machine"),  # TEST-NET-1: nobody's address
    ],
)
def test_a_bad_host_is_one_line_and_exit_2(
    host: str, said: str, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["web", "--demo", "--config", str(config), "--log-dir", str(tmp_path), "--host", host]
    assert main([*argv, "--port", str(free_port())]) == 2
    assert said in one_error_line(capsys)


def test_an_abbreviated_flag_is_refused_as_the_served_app_would_not_understand_it(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["web", "--dem", "--config", str(config)]) == 2
    assert "--dem" in one_error_line(capsys)


def test_a_port_in_use_is_one_line_and_exit_2_before_serving(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tui.web.MonitorServer, "serve", lambda self: pytest.fail("served"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for host in ("127.0.0.1", "localhost"):
            argv = ["web", "--demo", "--config", str(config), "--log-dir", str(tmp_path)]
            assert main([*argv, "--host", host, "--port", str(port)]) == 2
            assert f"port {port} on {host} is already in use" in one_error_line(capsys)


def test_a_bad_replay_file_is_one_line_and_exit_2_before_serving(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tui.web.MonitorServer, "serve", lambda self: pytest.fail("served"))
    bad = tmp_path / "IWM.csv"
    bad.write_text("not,a,price,file\n1,2\n")
    argv = ["web", "--replay", str(bad), "--config", str(config), "--log-dir", str(tmp_path)]
    assert main([*argv, "--port", str(free_port())]) == 2
    one_error_line(capsys)


@dataclass
class Served:
    command: str
    host: str
    port: int


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Served]:
    """Record what would be served instead of serving it (the real server runs in the tests below)."""
    calls: list[Served] = []

    def serve(self: tui.web.MonitorServer) -> None:
        calls.append(Served(self.command, self.host, self.port))

    monkeypatch.setattr(tui.web.MonitorServer, "serve", serve)
    return calls


@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("::", True), ("127.0.0.1", False),
                                              ("localhost", False), ("::1", False)])  # fmt: skip
def test_only_a_host_beyond_loopback_prints_the_one_line_warning(
    host: str,
    warned: bool,
    served: list[Served],
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    argv = ["web", "--demo", "--config", str(config), "--log-dir", str(tmp_path)]
    assert main([*argv, "--host", host, "--port", str(port)]) == 0
    err = capsys.readouterr().err.splitlines()
    if warned:
        assert len(err) == 1, err
        assert err[0].startswith("breakout-monitor: warning: listening on ")
        assert f"anyone who can reach port {port} can see" in err[0]
    else:
        assert err == []
    assert [(s.host, s.port) for s in served] == [(host, port)]
    assert shlex.split(served[0].command)[1:] == [sys.executable, "-m", "tui", "--demo", "--config",
                                                  str(config), "--log-dir", str(tmp_path)]  # fmt: skip


# ------------------------------------------------------------------------------ the server, for real


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    output: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def stop_like_ctrl_c(self, whole_group: bool) -> int:
        """SIGINT as a terminal's Ctrl+C sends it (to the whole foreground group: the server and the apps
        it started), or to the server alone (`kill -INT`, where the apps must be ended by the server)."""
        if whole_group:
            os.killpg(self.process.pid, signal.SIGINT)
        else:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=15)

    def group_is_gone(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return True
        return False


@pytest.fixture
def start_server(tmp_path: Path, config: Path) -> Iterator[Callable[..., Server]]:
    """Start `python -m tui web` in its own process group (so that the test can Ctrl+C it, and kill it
    and every app it started, whatever happens), and wait until its port accepts connections."""
    started: list[Server] = []
    env = dict(os.environ)
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        env[name] = str(tmp_path / "xdg" / name.lower())

    def start(*source: str) -> Server:
        port = free_port()
        output = tmp_path / f"server-{port}.out"
        with output.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "tui", "web", *source, "--port", str(port), "--config", str(config),
                 "--cache-dir", str(tmp_path / "cache"), "--log-dir", str(tmp_path / "logs")],
                cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        server = Server(process, port, output)
        started.append(server)
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"the server ended: {server.text()}"
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return server
            assert time.monotonic() < deadline, f"the server did not listen within 30 s: {server.text()}"
            time.sleep(0.1)

    yield start
    for server in started:
        if not server.group_is_gone():
            os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)


def strip_terminal_codes(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return re.sub(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|.)", "", text)


@pytest.mark.parametrize("whole_group", [True, False], ids=["ctrl-c-in-terminal", "kill-int-server"])
async def test_each_websocket_session_runs_the_app_and_ctrl_c_stops_the_server_at_once(
    start_server: Callable[..., Server], whole_group: bool
) -> None:
    server = start_server("--demo")
    async with aiohttp.ClientSession() as http:
        # The page points the browser back at the address it used (an SSH tunnel's local port here).
        async with http.get(server.url, headers={"Host": "localhost:9999"}) as response:
            page = await response.text()
        assert 'data-session-websocket-url="ws://localhost:9999/ws"' in page
        assert "http://localhost:9999/static/js/textual.js" in page
        socket_url = f"ws://127.0.0.1:{server.port}/ws?width=120&height=40"
        # A page of another site in the user's browser may not start a session (nor read the screen).
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(socket_url, headers={"Origin": "http://evil.example"})
        assert refused.value.status == 403
        async with http.ws_connect(socket_url, headers={"Origin": f"http://127.0.0.1:{server.port}"}) as ws:
            received, text = b"", ""
            deadline = time.monotonic() + 30
            while not ("IWM" in text and "SPY" in text and re.search(r"\b\d{1,3}\.\d{2}\b", text)):
                assert time.monotonic() < deadline, f"no quotes within 30 s: {text[-2000:]!r}"
                message = await ws.receive(timeout=30)
                assert message.type == aiohttp.WSMsgType.BINARY, (message, server.text())
                received += message.data
                text = strip_terminal_codes(received)
            # Ctrl+C while the session is open; like a browser, the client keeps reading and sees it close.
            stopped = asyncio.ensure_future(asyncio.to_thread(server.stop_like_ctrl_c, whole_group))
            while (await ws.receive(timeout=15)).type == aiohttp.WSMsgType.BINARY:
                pass
            rc = await stopped
    assert rc == 0, server.text()
    assert "Traceback" not in server.text()
    assert server.group_is_gone()


# ------------------------------------------------------------------------------- headless Chromium

HOOK_TERMINAL = """
// textual-serve keeps its xterm.js Terminal in a closure; catch it as the page's client object stores it
// (this.terminal = new Terminal(...), right after this.element = the #terminal div) to read its buffer.
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
    if (this.element && this.element.dataset && this.element.dataset.sessionWebsocketUrl) {
      window.__monitorTerminal = value;
    }
  },
});
"""
READ_SCREEN = """() => {
  const terminal = window.__monitorTerminal;
  if (!terminal) return null;
  const buffer = terminal.buffer.active, rows = [];
  for (let y = 0; y < terminal.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
}"""


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a well-formed PNG whose pixel data decompresses in full."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    idat = b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        chunks[kind] = body
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    channels = {2: 3, 6: 4}[color]
    assert len(zlib.decompress(idat)) == height * (1 + width * channels * depth // 8)
    return width, height


def test_in_headless_chromium_the_app_starts_shows_prices_and_a_key_switches_the_view(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (Debian package `chromium`; .ci/run installs it as root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is absent")
    server = start_server("--demo")
    blocked: list[str] = []

    def local_only(route: Any) -> None:
        # The page asks Google for a web font; the test stays on this machine (the font falls back).
        url = route.request.url
        if url.startswith((server.url, f"ws://127.0.0.1:{server.port}/")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.route("**/*", local_only)
            page.add_init_script(HOOK_TERMINAL)
            page.goto(server.url)

            def screen_when(ready: Callable[[str], bool], what: str) -> str:
                deadline, screen = time.monotonic() + 30, ""
                while time.monotonic() < deadline:
                    screen = page.evaluate(READ_SCREEN) or ""
                    if ready(screen):
                        return screen
                    time.sleep(0.2)
                pytest.fail(f"{what} within 30 s; the screen:\n{screen}\nserver: {server.text()}")

            dashboard = screen_when(lambda s: bool(PRICE_AFTER_IWM.search(s)), "no IWM price")
            title = dashboard.splitlines()[0]
            assert "breakout-monitor" in title and "1 Dash" in title and "· IWM" not in title
            assert "SPY" in dashboard
            # textual-serve shows the terminal (and hides its start dialog) once the app has drawn.
            assert "-first-byte" in page.evaluate("document.body.className")
            page.screenshot(path=tmp_path / "dashboard.png")

            page.locator(".xterm-helper-textarea").focus()  # where xterm.js takes its keys
            page.keyboard.press("2")
            chart = screen_when(
                lambda s: "· IWM" in s.splitlines()[0] and bool(PRICE_AFTER_IWM.search(s)),
                "the chart view did not open with IWM's price",
            )
            assert "iShares Russell 2000 ETF" not in chart  # the dashboard's quote card is gone
            page.screenshot(path=tmp_path / "chart.png")

            for name in ("dashboard.png", "chart.png"):
                data = (tmp_path / name).read_bytes()
                assert png_size(data) == (1400, 900)
                assert len(data) > 30_000, f"{name} is nearly blank ({len(data)} bytes)"

            # Ctrl+C on the server alone, with the tab still open: it ends the session and stops at once.
            assert server.stop_like_ctrl_c(whole_group=False) == 0
            page.wait_for_function("document.body.classList.contains('-closed')", timeout=10_000)
        finally:
            browser.close()
    assert "Traceback" not in server.text()
    assert server.group_is_gone()
    assert all("127.0.0.1" not in url for url in blocked)
