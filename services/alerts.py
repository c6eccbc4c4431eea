"""Alerts for breakout events: a toast, the terminal bell, desktop notifications and an external command.

Desktop notifications are OSC 9 / OSC 777 escapes written to the terminal, so they reach the user's own
desktop over SSH. Inside tmux they are wrapped in a DCS passthrough (tmux >= 3.3 also needs
``set -g allow-passthrough on``). The app's callbacks are injected, so this module never imports Textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

log = logging.getLogger(__name__)

DESKTOP_MODES = ("osc9", "osc777", "both", "off")
SEVERITIES = ("information", "warning", "error")
MAX_TEXT = 200
"""Longest title or body put in an escape: terminals and notification daemons truncate anyway."""

# C0 (includes ESC and BEL), DEL and C1: any of them could end the escape early or start a new one.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# ConEmu / Windows Terminal read "OSC 9;<digits>;" as a command (9;4 is the progress bar), not a message.
_OSC9_COMMAND = re.compile(r"\d+;")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """How alerts are delivered (the ``[alerts]`` config table)."""

    toast: bool = True
    bell: bool = True
    desktop: str = "osc9"
    """One of `DESKTOP_MODES`."""
    cooldown_s: float = 300.0
    """Per alert kind; 0 disables the cooldown."""
    command: tuple[str, ...] = ()
    """Argument list (never a shell string) of a command that gets the alert as JSON on stdin."""
    command_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.desktop not in DESKTOP_MODES:
            raise ValueError(f"desktop must be one of {', '.join(DESKTOP_MODES)}, not {self.desktop!r}")
        if self.cooldown_s < 0:
            raise ValueError(f"cooldown_s must be >= 0, not {self.cooldown_s}")
        if self.command_timeout_s <= 0:
            raise ValueError(f"command_timeout_s must be > 0, not {self.command_timeout_s}")


@dataclass(frozen=True, slots=True)
class Alert:
    """One event worth telling the user about."""

    kind: str
    """The cooldown key: "state_change", "target_hit", "retest", "risk:<flag>", "intraday"."""
    title: str
    message: str
    at: datetime
    """UTC-aware time of the event."""
    severity: str = "information"
    """"information", "warning" or "error" (the words of Textual's notify)."""
    payload: Mapping[str, object] = field(default_factory=dict)
    """The event as JSON-able data."""

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("Alert.at must be timezone-aware")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {self.severity!r}")

    def as_json(self) -> dict[str, object]:
        """Returns the alert as a JSON-able dict: kind, title, message, at (ISO 8601), severity, event."""
        return {
            "kind": self.kind,
            "title": self.title,
            "message": self.message,
            "at": self.at.isoformat(),
            "severity": self.severity,
            "event": dict(self.payload),
        }


def sanitize(text: str, limit: int = MAX_TEXT) -> str:
    """Returns `text` without control characters, cut to `limit` characters (ending in "…" if cut)."""
    clean = _CONTROL.sub("", text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def osc9(message: str) -> str:
    """Returns the OSC 9 notification escape (iTerm2, WezTerm, kitty, Windows Terminal...) for `message`."""
    text = sanitize(message)
    if _OSC9_COMMAND.match(text):
        text = "alert: " + text
    return f"\x1b]9;{text}\x07"


def osc777(title: str, body: str) -> str:
    """Returns the OSC 777 notification escape (urxvt, foot, Ghostty, VTE...) for `title` and `body`."""
    # The title is a middle field: a ";" in it would shift the body. The body is last and may keep them.
    return f"\x1b]777;notify;{sanitize(title).replace(';', ',')};{sanitize(body)}\x07"


def tmux_passthrough(seq: str) -> str:
    """Returns `seq` wrapped so tmux hands it to the outer terminal instead of swallowing it."""
    return "\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def desktop_sequences(alert: Alert, mode: str, in_tmux: bool) -> list[str]:
    """Returns the escapes to write for `alert` in desktop `mode`: osc9 before osc777, [] when "off".

    Raises:
        ValueError: `mode` is not one of `DESKTOP_MODES`.
    """
    return [seq for _, seq in _named_sequences(alert, mode, in_tmux)]


def _named_sequences(alert: Alert, mode: str, in_tmux: bool) -> list[tuple[str, str]]:
    if mode not in DESKTOP_MODES:
        raise ValueError(f"desktop mode must be one of {', '.join(DESKTOP_MODES)}, not {mode!r}")
    seqs = []
    if mode in ("osc9", "both"):
        title = sanitize(alert.title)
        seqs.append(("osc9", osc9(f"{title}: {alert.message}" if title else alert.message)))
    if mode in ("osc777", "both"):
        seqs.append(("osc777", osc777(alert.title, alert.message)))
    return [(name, tmux_passthrough(seq) if in_tmux else seq) for name, seq in seqs]


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one alert."""

    alert: Alert
    sent: tuple[str, ...]
    """Channels that delivered without error: "toast", "bell", "osc9", "osc777", "command"."""
    suppressed: bool
    """True when the cooldown held the alert back (`sent` is then ())."""
    command_error: str | None = None
    """One line saying why the command failed, or None."""


class AlertDispatcher:
    """Delivers alerts over the configured channels, at most one per kind per cooldown."""

    def __init__(
        self,
        settings: AlertSettings,
        *,
        toast: Callable[[Alert], None] | None = None,
        bell: Callable[[], None] | None = None,
        write: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
        in_tmux: bool | None = None,
    ) -> None:
        self.settings = settings
        self._toast = toast
        self._bell = bell
        self._write = write
        self._clock = clock
        self._in_tmux = bool(os.environ.get("TMUX")) if in_tmux is None else in_tmux
        self._last_sent: dict[str, datetime] = {}

    def cooling_down(self, alert: Alert) -> bool:
        """Returns True when an alert of the same kind was sent less than `cooldown_s` ago (by the clock)."""
        last = self._last_sent.get(alert.kind)
        if self.settings.cooldown_s <= 0 or last is None:
            return False
        return self._clock() - last < timedelta(seconds=self.settings.cooldown_s)

    async def deliver(self, alert: Alert) -> Delivery:
        """Sends `alert` on every enabled channel unless its kind is cooling down. Never raises.

        Returns:
            The channels that delivered, whether the cooldown suppressed it, and the command's error.
        """
        if self.cooling_down(alert):
            return Delivery(alert, (), suppressed=True)
        # Recorded before the first await, so a concurrent alert of the same kind is held back too.
        self._last_sent[alert.kind] = self._clock()
        sent: list[str] = []
        if self.settings.toast and self._toast is not None and _call("toast", self._toast, alert):
            sent.append("toast")
        if self.settings.bell and self._bell is not None and _call("bell", self._bell):
            sent.append("bell")
        if self._write is not None:
            for name, seq in _named_sequences(alert, self.settings.desktop, self._in_tmux):
                if _call(name, self._write, seq):
                    sent.append(name)
        error = None
        if self.settings.command:
            error = await self._run_command(alert)
            if error is None:
                sent.append("command")
            else:
                log.warning("%s", error)
        return Delivery(alert, tuple(sent), suppressed=False, command_error=error)

    async def _run_command(self, alert: Alert) -> str | None:
        argv = self.settings.command
        name = sanitize(argv[0])
        data = (json.dumps(alert.as_json(), default=str) + "\n").encode()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError:
            return f"alert command not found: {name}"
        except PermissionError:
            return f"alert command not executable: {name}"
        except OSError as exc:
            return f"alert command could not start: {name}: {sanitize(exc.strerror or str(exc))}"
        timeout = self.settings.command_timeout_s
        try:
            async with asyncio.timeout(timeout):
                _, stderr = await proc.communicate(data)
        except TimeoutError:
            return f"alert command timed out after {timeout:g} s"
        finally:
            # On timeout or cancellation: no stray process, and no zombie.
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):  # it exited in the meantime
                    proc.kill()
                await proc.wait()
        status = await proc.wait()  # already exited: this only narrows the type
        if status == 0:
            return None
        if status < 0:
            return f"alert command killed by signal {-status}"
        lines = [s.strip() for s in stderr.decode(errors="replace").splitlines() if s.strip()]
        detail = f": {sanitize(lines[0])}" if lines else ""
        return f"alert command exited with status {status}{detail}"


def _call(channel: str, fn: Callable[..., None], *args: object) -> bool:
    """Returns True when `fn(*args)` ran; a failing channel is logged and must not stop the others."""
    try:
        fn(*args)
    except Exception:
        log.exception("alert channel %s failed", channel)
        return False
    return True
