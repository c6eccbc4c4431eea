"""What the monitor writes to real terminals: tmux's and screen's TERMs, a 16-colour terminal, and
`--low-bandwidth` (16 colours, no flashes), in a real pseudo-terminal on the offline demo."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux ptys")

READY = b"iShares Russell 2000 ETF"
EXTENDED_COLOURS = re.compile(rb"\x1b\[[0-9;]*[34]8;[25];")
"""A 256-colour or truecolour SGR sequence (38;5;N / 48;2;R;G;B ...)."""
ANY_COLOUR = re.compile(rb"\x1b\[[0-9;]*(?:3[0-7]|4[0-7]|9[0-7]|10[0-7])[;m]")
"""A foreground or background colour from the 16-colour palette."""


def run_demo(tmp_path: Path, term: str, *args: str, seconds: float = 4.0) -> bytes:
    """Everything the demo writes in its first `seconds` after the dashboard is up (it ticks every
    second); then it is asked to quit with `q`."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLORTERM", "TEXTUAL_COLOR_SYSTEM")}
    env.update(TERM=term, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    cmd = [sys.executable, "-m", "tui", "--demo", "--cache-dir", str(tmp_path / "c")]
    cmd += ["--log-dir", str(tmp_path / "l"), *args]
    proc = subprocess.Popen(
        cmd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(slave)
    out = bytearray()
    try:
        deadline, ready_at = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            if ready_at is None and READY in out:
                ready_at = time.monotonic()
                deadline = ready_at + seconds
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
        assert ready_at is not None, out[-2000:]
        os.write(master, b"q")
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    assert b"Traceback" not in out
    return bytes(out)


@pytest.mark.parametrize("term", ["tmux-256color", "screen-256color", "xterm-256color"])
def test_under_tmux_and_screen_terms_the_dashboard_draws_in_256_colours(tmp_path: Path, term: str) -> None:
    out = run_demo(tmp_path, term)
    assert b"Indicators, daily" in out and b"Breakout" in out
    assert EXTENDED_COLOURS.search(out)


@pytest.mark.parametrize("term", ["screen", "xterm"])
def test_a_16_colour_terminal_gets_the_16_colour_palette_only(tmp_path: Path, term: str) -> None:
    out = run_demo(tmp_path, term)
    assert b"Indicators, daily" in out
    assert not EXTENDED_COLOURS.search(out)
    assert ANY_COLOUR.search(out)


def test_low_bandwidth_writes_16_colours_and_fewer_bytes_than_the_default(tmp_path: Path) -> None:
    normal = run_demo(tmp_path / "normal", "tmux-256color", seconds=5)
    low = run_demo(tmp_path / "low", "tmux-256color", "--low-bandwidth", seconds=5)
    assert not EXTENDED_COLOURS.search(low) and ANY_COLOUR.search(low)
    assert b"Indicators, daily" in low
    # Both drew the same dashboard and ticked for the same time: the 16-colour sequences are shorter.
    assert len(low) < len(normal), (len(low), len(normal))
