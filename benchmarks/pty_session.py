"""A program running in a real pseudo-terminal, watched the way a user over SSH would see it.

The child is a session leader with the pty as its controlling terminal (so closing the master sends it
SIGHUP, as a dropped SSH link does), sized with TIOCSWINSZ. A reader thread drains the master, counts
the bytes and feeds a pyte screen, so "text X is on screen" can be timed to the chunk that painted it.
CPU and RSS are those of the whole process tree (psutil).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import psutil
import pyte

ScreenTest = Callable[[list[str]], bool]
"""A predicate on the screen's lines (each exactly `cols` characters)."""


@dataclass(frozen=True)
class Window:
    """What a program did over a measured stretch of wall time."""

    seconds: float
    cpu_pct: float
    """CPU time of the process tree over the window, in percent of one core."""
    cpu_source: str
    """"schedstat" (per-thread nanoseconds) or "ticks" (10 ms steps, when a thread ended meanwhile)."""
    bytes_per_s: float
    """Bytes written to the terminal per second."""
    chunks_per_s: float
    """Reads of the pty master per second: roughly the frames the program wrote."""
    peak_rss_mb: float
    """Largest RSS of the process tree sampled during the window, MiB."""
    end_rss_mb: float
    """RSS of the process tree at the end of the window, MiB."""
    exited: bool
    """The program ended before the window did (the figures cover less than the window)."""


@dataclass(frozen=True)
class Exit:
    """How a program ended after a hang-up or a signal."""

    seconds: float | None
    """From the hang-up (or signal) to the process's exit; None when it had not exited by the deadline."""
    returncode: int | None
    cpu_pct_while_waiting: float
    """CPU of the tree between the hang-up and the exit (or the deadline): a spinning app shows here."""

    def describe(self) -> str:
        if self.seconds is None:
            return f"still running (CPU {self.cpu_pct_while_waiting:.0f} % while waiting)"
        if self.returncode is not None and self.returncode < 0:
            how = f"killed by {signal.Signals(-self.returncode).name}"
        else:
            how = f"exit {self.returncode}"
        return f"{self.seconds:.2f} s ({how})"


def _tree(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return []


def tree_cpu_seconds(proc: psutil.Process) -> float:
    """User + system CPU seconds of `proc` (reaped children included) and its live descendants, as
    the kernel reports them in clock ticks (10 ms steps)."""
    total = 0.0
    for p in _tree(proc):
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += float(t.user + t.system)
            if p is proc:
                total += float(t.children_user + t.children_system)
    return total


def tree_thread_cpu_seconds(proc: psutil.Process) -> float:
    """CPU seconds of the live threads of the tree, to the nanosecond (/proc/PID/task/TID/schedstat).
    Misses threads that have exited: compare with `tree_cpu_seconds` before trusting a difference."""
    total_ns = 0
    for p in _tree(proc):
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{p.pid}/task"):
                with (
                    contextlib.suppress(OSError, ValueError, IndexError),
                    open(f"/proc/{p.pid}/task/{tid}/schedstat") as f,
                ):
                    total_ns += int(f.read().split()[0])
    return total_ns / 1e9


def window_cpu_seconds(ticks: tuple[float, float], exact: tuple[float, float]) -> tuple[float, str]:
    """CPU spent between two readings: the per-thread nanosecond figure when it accounts for all the
    tick-counted time (no thread ended in between), else the 10 ms tick figure."""
    d_ticks, d_exact = ticks[1] - ticks[0], exact[1] - exact[0]
    # each tick reading truncates user and system time to 10 ms: a delta may be 20 ms off either way
    if d_exact >= 0 and d_ticks <= d_exact + 0.025:
        return d_exact, "schedstat"
    return d_ticks, "ticks"


def tree_rss_bytes(proc: psutil.Process) -> int:
    total = 0
    for p in _tree(proc):
        with contextlib.suppress(psutil.Error):
            total += int(p.memory_info().rss)
    return total


class PtySession:
    """One run of `cmd` in a fresh pty of `cols` x `rows`."""

    def __init__(
        self,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str | None = None,
        cols: int = 120,
        rows: int = 40,
    ) -> None:
        self.cmd = list(cmd)
        self.cols, self.rows = cols, rows
        self._lock = threading.Lock()
        self._screen = pyte.Screen(cols, rows)
        self._stream = pyte.ByteStream(self._screen)
        self._bytes = 0
        self._chunks = 0
        self._stop = threading.Event()
        self._watch: ScreenTest | None = None
        self._watch_hit: float | None = None
        self.hit_lines: list[str] | None = None
        """The screen as it was when the last `wait_for` test came true."""
        self._peak_rss = 0

        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self._master: int | None = master
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            self.cmd,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,  # setsid: the child leads its own session...
            # ...and takes the pty as its controlling terminal, so a closed master means SIGHUP.
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
            close_fds=True,
        )
        os.close(slave)
        self.ps = psutil.Process(self.proc.pid)
        self._reader = threading.Thread(target=self._read, name=f"pty-{self.proc.pid}", daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ reading the terminal
    def _read(self) -> None:
        master = self._master
        assert master is not None
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.1)
                if not ready:
                    continue
                data = os.read(master, 65536)
            except OSError:  # EIO: every slave fd is closed (the child exited)
                break
            if not data:
                break
            now = time.monotonic()
            with self._lock:
                self._bytes += len(data)
                self._chunks += 1
                with contextlib.suppress(Exception):  # pyte must not kill the reader on odd sequences
                    self._stream.feed(data)
                if self._watch is not None and self._watch_hit is None:
                    lines = self._screen.display
                    if self._watch(lines):
                        self._watch_hit, self.hit_lines = now, lines

    @property
    def bytes_written(self) -> int:
        with self._lock:
            return self._bytes

    def screen_lines(self) -> list[str]:
        with self._lock:
            return list(self._screen.display)

    def screen_text(self) -> str:
        return "\n".join(self.screen_lines())

    # ------------------------------------------------------------------ measuring
    def wait_for(self, test: ScreenTest, timeout: float) -> float | None:
        """Seconds from the start until the chunk that made `test` true was read; None on timeout or
        when the program exited first."""
        with self._lock:
            self._watch, self._watch_hit, self.hit_lines = test, None, None
            lines = self._screen.display
            if test(lines):
                self._watch_hit, self.hit_lines = time.monotonic(), lines
        deadline = self.started + timeout
        try:
            while time.monotonic() < deadline:
                with self._lock:
                    hit = self._watch_hit
                if hit is not None:
                    return hit - self.started
                if self.proc.poll() is not None:
                    return None
                self._sample_rss()
                time.sleep(0.01)
            return None
        finally:
            with self._lock:
                self._watch = None

    def _sample_rss(self) -> None:
        self._peak_rss = max(self._peak_rss, tree_rss_bytes(self.ps))

    @property
    def peak_rss_mb(self) -> float:
        """Largest tree RSS sampled so far (during waits and windows), MiB."""
        return self._peak_rss / 2**20

    def sleep(self, seconds: float) -> None:
        """Wait, sampling RSS a few times a second."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0 and self.proc.poll() is None:
            self._sample_rss()
            time.sleep(min(0.25, left))

    def measure(self, seconds: float) -> Window:
        """CPU, bytes and RSS over the next `seconds` of wall time."""
        b0, n0 = self.bytes_written, self._chunks
        c0, x0, w0 = tree_cpu_seconds(self.ps), tree_thread_cpu_seconds(self.ps), time.monotonic()
        peak = 0
        end = w0 + seconds
        while (left := end - time.monotonic()) > 0 and self.proc.poll() is None:
            peak = max(peak, tree_rss_bytes(self.ps))
            time.sleep(min(0.5, left))
        c1, x1, w1 = tree_cpu_seconds(self.ps), tree_thread_cpu_seconds(self.ps), time.monotonic()
        cpu, source = window_cpu_seconds((c0, c1), (x0, x1))
        end_rss = tree_rss_bytes(self.ps)
        peak = max(peak, end_rss)
        self._peak_rss = max(self._peak_rss, peak)
        w = w1 - w0
        return Window(
            seconds=w,
            cpu_pct=100.0 * cpu / w,
            cpu_source=source,
            bytes_per_s=(self.bytes_written - b0) / w,
            chunks_per_s=(self._chunks - n0) / w,
            peak_rss_mb=peak / 2**20,
            end_rss_mb=end_rss / 2**20,
            exited=self.proc.poll() is not None,
        )

    # ------------------------------------------------------------------ ending
    def send(self, text: str) -> None:
        if self._master is not None:
            os.write(self._master, text.encode())

    def _wait_exit(self, t0: float, cpu0: float, deadline_s: float) -> Exit:
        try:
            self.proc.wait(deadline_s)
            seconds: float | None = time.monotonic() - t0
        except subprocess.TimeoutExpired:
            seconds = None
        spent = time.monotonic() - t0
        cpu = 100.0 * (tree_cpu_seconds(self.ps) - cpu0) / spent if seconds is None else 0.0
        return Exit(seconds, self.proc.returncode, cpu)

    def hang_up(self, deadline_s: float = 10.0) -> Exit:
        """Close the terminal under the program (as a dead SSH session does) and time its exit."""
        self._stop.set()
        self._reader.join()
        cpu0 = tree_cpu_seconds(self.ps)
        t0 = time.monotonic()
        self._close_master()
        return self._wait_exit(t0, cpu0, deadline_s)

    def terminate(self, deadline_s: float = 10.0) -> Exit:
        """SIGTERM to the program (the session leader only, as `kill PID` does) and time its exit."""
        cpu0 = tree_cpu_seconds(self.ps)
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        return self._wait_exit(t0, cpu0, deadline_s)

    def quit_with(self, keys: str, deadline_s: float = 10.0) -> Exit:
        """Send `keys` (e.g. the app's quit key) and time the exit."""
        cpu0 = tree_cpu_seconds(self.ps)
        t0 = time.monotonic()
        self.send(keys)
        return self._wait_exit(t0, cpu0, deadline_s)

    def _close_master(self) -> None:
        if self._master is not None:
            os.close(self._master)
            self._master = None

    def close(self) -> None:
        """Make sure the whole process group is gone and the pty closed (idempotent)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._stop.set()
        self._reader.join()
        self._close_master()

    def __enter__(self) -> PtySession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
