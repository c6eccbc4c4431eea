"""Alerts: the OSC escapes byte for byte, desktop modes, the per-kind cooldown, and the external command."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services import alerts
from services.alerts import (
    Alert,
    AlertDispatcher,
    AlertSettings,
    desktop_sequences,
    osc9,
    osc777,
    tmux_passthrough,
)

T0 = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
ESC, BEL = "\x1b", "\x07"


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def alert(kind: str = "state_change", title: str = "^RUT BREAKOUT", message: str = "closed above") -> Alert:
    return Alert(kind, title, message, at=T0, payload={"to_state": "breakout", "close": 2571.3})


class Recorder:
    """Every channel's callback, recording what it was given."""

    def __init__(self) -> None:
        self.toasts: list[Alert] = []
        self.bells = 0
        self.written: list[str] = []

    def toast(self, a: Alert) -> None:
        self.toasts.append(a)

    def bell(self) -> None:
        self.bells += 1

    def write(self, seq: str) -> None:
        self.written.append(seq)


def dispatcher(
    settings: AlertSettings, clock: FakeClock | None = None, in_tmux: bool = False
) -> tuple[AlertDispatcher, Recorder]:
    rec = Recorder()
    d = AlertDispatcher(
        settings,
        toast=rec.toast,
        bell=rec.bell,
        write=rec.write,
        clock=clock or FakeClock(),
        in_tmux=in_tmux,
    )
    return d, rec


# --- escapes -------------------------------------------------------------------------------------------


def test_osc_sequences_are_byte_exact() -> None:
    assert osc9("x").encode() == b"\x1b]9;x\x07"
    assert (
        osc777("Title", "body; with semicolons").encode()
        == b"\x1b]777;notify;Title;body; with semicolons\x07"
    )


def test_tmux_passthrough_doubles_every_esc_and_ends_with_st() -> None:
    assert tmux_passthrough(osc9("x")) == "\x1bPtmux;\x1b\x1b]9;x\x07\x1b\\"
    wrapped = tmux_passthrough("\x1b]777;a\x1bb\x07")
    assert wrapped == "\x1bPtmux;\x1b\x1b]777;a\x1b\x1bb\x07\x1b\\"


def test_alert_text_cannot_inject_escapes() -> None:
    evil = "a\x1b]9;pwned\x07b\x9b31mc\x7fd\x00e\x1b\\f\nx"
    assert osc9(evil) == "\x1b]9;a]9;pwnedb31mcde\\fx\x07"
    seq = osc777(evil, evil)
    # Exactly one ESC (the introducer) and one BEL (the terminator): nothing in the text survives as control.
    assert seq.count(ESC) == 1 and seq.count(BEL) == 1 and seq.endswith(BEL)
    assert not any("\x80" <= ch <= "\x9f" for ch in seq)


def test_osc777_title_semicolons_become_commas() -> None:
    assert osc777("a;b;c", "x;y") == "\x1b]777;notify;a,b,c;x;y\x07"


def test_osc9_text_never_starts_with_a_terminal_command() -> None:
    # "9;4;..." is Windows Terminal's progress bar: the text must not be read as one.
    assert not osc9("4;3;50").startswith("\x1b]9;4")
    assert "4;3;50" in osc9("4;3;50")
    (seq,) = desktop_sequences(alert(title="", message="4;1;50"), "osc9", in_tmux=False)
    assert not seq[len("\x1b]9;") :][0].isdigit()


def test_long_text_is_capped() -> None:
    seq = osc9("y" * 5000)
    assert len(seq) <= len("\x1b]9;\x07") + alerts.MAX_TEXT and seq.endswith("…\x07")


def test_osc9_carries_title_and_message() -> None:
    assert desktop_sequences(alert(), "osc9", in_tmux=False) == ["\x1b]9;^RUT BREAKOUT: closed above\x07"]


OSC9 = "\x1b]9;^RUT BREAKOUT: closed above\x07"
OSC777 = "\x1b]777;notify;^RUT BREAKOUT;closed above\x07"


@pytest.mark.parametrize(
    ("mode", "expected", "channels"),
    [
        ("osc9", [OSC9], ("osc9",)),
        ("osc777", [OSC777], ("osc777",)),
        ("both", [OSC9, OSC777], ("osc9", "osc777")),
        ("off", [], ()),
    ],
)
async def test_desktop_modes_write_one_call_per_sequence(
    mode: str, expected: list[str], channels: tuple[str, ...]
) -> None:
    d, rec = dispatcher(AlertSettings(desktop=mode))
    delivery = await d.deliver(alert())
    assert rec.written == expected
    assert delivery.sent == ("toast", "bell", *channels)


async def test_inside_tmux_sequences_are_wrapped() -> None:
    d, rec = dispatcher(AlertSettings(desktop="both"), in_tmux=True)
    await d.deliver(alert())
    assert rec.written == [tmux_passthrough(s) for s in desktop_sequences(alert(), "both", in_tmux=False)]
    assert all(s.startswith("\x1bPtmux;") and s.endswith("\x1b\\") for s in rec.written)


def test_in_tmux_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMUX", "/tmp/tmux-1000/default,123,0")
    assert AlertDispatcher(AlertSettings())._in_tmux is True
    monkeypatch.delenv("TMUX")
    assert AlertDispatcher(AlertSettings())._in_tmux is False


def test_bad_settings_and_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="desktop"):
        AlertSettings(desktop="osc99")
    with pytest.raises(ValueError, match="cooldown_s"):
        AlertSettings(cooldown_s=-1)
    with pytest.raises(ValueError, match="command_timeout_s"):
        AlertSettings(command_timeout_s=0)
    with pytest.raises(ValueError, match="timezone"):
        Alert("k", "t", "m", at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="severity"):
        Alert("k", "t", "m", at=T0, severity="fatal")


def test_as_json() -> None:
    assert alert().as_json() == {
        "kind": "state_change",
        "title": "^RUT BREAKOUT",
        "message": "closed above",
        "at": "2026-11-24T21:00:00+00:00",
        "severity": "information",
        "event": {"to_state": "breakout", "close": 2571.3},
    }


# --- cooldown ------------------------------------------------------------------------------------------


async def test_cooldown_is_per_kind_and_expires() -> None:
    clock = FakeClock()
    d, rec = dispatcher(AlertSettings(cooldown_s=300), clock)
    first = await d.deliver(alert("target_hit"))
    assert not first.suppressed and first.sent == ("toast", "bell", "osc9")

    clock.advance(299)
    assert d.cooling_down(alert("target_hit"))
    again = await d.deliver(alert("target_hit"))
    assert again.suppressed and again.sent == () and again.command_error is None
    assert (len(rec.toasts), rec.bells, len(rec.written)) == (1, 1, 1)  # no channel was called

    other = await d.deliver(alert("retest"))
    assert not other.suppressed and (len(rec.toasts), rec.bells, len(rec.written)) == (2, 2, 2)

    clock.advance(1)
    assert not d.cooling_down(alert("target_hit"))
    later = await d.deliver(alert("target_hit"))
    assert not later.suppressed and len(rec.toasts) == 3


async def test_a_suppressed_alert_does_not_restart_the_cooldown() -> None:
    clock = FakeClock()
    d, rec = dispatcher(AlertSettings(cooldown_s=300), clock)
    await d.deliver(alert())
    clock.advance(200)
    assert (await d.deliver(alert())).suppressed
    clock.advance(100)  # 300 s after the one that was sent, 100 s after the suppressed one
    assert not (await d.deliver(alert())).suppressed
    assert len(rec.toasts) == 2


async def test_cooldown_zero_never_suppresses() -> None:
    d, rec = dispatcher(AlertSettings(cooldown_s=0))
    results = [await d.deliver(alert()) for _ in range(3)]
    assert [r.suppressed for r in results] == [False, False, False]
    assert (len(rec.toasts), rec.bells) == (3, 3)


# --- channels failing and the command ------------------------------------------------------------------


def py(script: str, *args: str) -> tuple[str, ...]:
    return (sys.executable, "-c", script, *args)


async def test_a_raising_toast_does_not_stop_the_other_channels(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "stdin.json"
    rec = Recorder()

    def bad_toast(a: Alert) -> None:
        raise RuntimeError("screen gone")

    cmd = py("import sys, pathlib; pathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read())", str(out))
    d = AlertDispatcher(
        AlertSettings(desktop="both", command=cmd),
        toast=bad_toast,
        bell=rec.bell,
        write=rec.write,
        clock=FakeClock(),
        in_tmux=False,
    )
    with caplog.at_level(logging.ERROR, logger="services.alerts"):
        delivery = await d.deliver(alert())
    assert delivery.sent == ("bell", "osc9", "osc777", "command") and delivery.command_error is None
    assert rec.bells == 1 and len(rec.written) == 2 and out.exists()
    assert "screen gone" in caplog.text


async def test_the_command_receives_the_alert_as_json(tmp_path: Path) -> None:
    out = tmp_path / "stdin.json"
    cmd = py("import sys, pathlib; pathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read())", str(out))
    d, _ = dispatcher(AlertSettings(command=cmd))
    a = alert()
    delivery = await d.deliver(a)
    assert delivery.command_error is None and "command" in delivery.sent
    raw = out.read_text()
    assert raw.endswith("\n") and raw.count("\n") == 1
    assert json.loads(raw) == a.as_json()


async def test_a_failing_command_is_reported_with_its_stderr(caplog: pytest.LogCaptureFixture) -> None:
    cmd = py(
        "import sys; sys.stdin.read(); sys.stderr.write('\\nno token configured\\nmore\\n'); sys.exit(3)"
    )
    d, rec = dispatcher(AlertSettings(command=cmd))
    with caplog.at_level(logging.WARNING, logger="services.alerts"):
        delivery = await d.deliver(alert())
    assert delivery.command_error == "alert command exited with status 3: no token configured"
    assert "command" not in delivery.sent and rec.bells == 1
    assert "exited with status 3" in caplog.text


async def test_a_missing_command_is_reported(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-notifier")
    d, _ = dispatcher(AlertSettings(command=(missing, "--flag")))
    delivery = await d.deliver(alert())
    assert delivery.command_error == f"alert command not found: {missing}"
    assert delivery.sent == ("toast", "bell", "osc9")


async def test_a_command_that_hangs_is_killed_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []
    real_exec = asyncio.create_subprocess_exec

    async def spy(*args: Any, **kwargs: Any) -> Any:
        proc = await real_exec(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(alerts.asyncio, "create_subprocess_exec", spy)
    d, _ = dispatcher(AlertSettings(command=py("import time; time.sleep(30)"), command_timeout_s=0.5))
    async with asyncio.timeout(10):  # a command left to run would hold deliver() for 30 s
        delivery = await d.deliver(alert())
    assert delivery.command_error == "alert command timed out after 0.5 s"
    (proc,) = started
    assert proc.returncode == -signal.SIGKILL  # killed and reaped
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)  # not running, not even a zombie
