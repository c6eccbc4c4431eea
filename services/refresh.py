"""Refresh scheduling: when to ask the source again, and how to back off when it fails.

One asyncio task drives everything. It re-arms itself only after the previous refresh finished (so
refreshes cannot pile up), sleeps on an event that `refresh_now`, `pause` and `resume` set, and when
nothing can change by itself (a replay standing still) it sleeps without any timer at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from services.backoff import Backoff
from services.models import ErrorKind, MarketSession, SymbolError
from services.monitor import Clock, CycleOutcome, Monitor, TickEffect, utc_now
from services.snapshot import Snapshot
from services.stream import QuoteStream, StreamStatus, StreamTick

log = logging.getLogger(__name__)

MAX_SLEEP_S = 300.0
"""Longest single sleep: a suspended laptop or a changed wall clock is noticed within this."""
STREAM_POLL_S = 60.0
"""The regular-session poll while the stream delivers prices: the poll then only brings the day's bars
and range (and is the fallback the moment the stream fails)."""
TICK_COALESCE_S = 0.5
"""Streamed ticks within this window make one snapshot (a burst of six symbols is one repaint)."""
NEW_DAY_POLL_GAP_S = 60.0
LEASE_MIN_TTL_S = 45.0


class RefreshLoop:
    """Drives a `Monitor`: paints from the cache, then refreshes on the source's cadence for ever."""

    def __init__(
        self,
        monitor: Monitor,
        on_snapshot: Callable[[Snapshot], None],
        *,
        clock: Clock = utc_now,
        backoff: Backoff | None = None,
        max_sleep_s: float = MAX_SLEEP_S,
        requests_per_minute: Callable[[], int] | None = None,
        painted: Callable[[], Awaitable[None]] | None = None,
        lease_ttl_s: float | None = None,
    ) -> None:
        """
        Args:
            monitor: the pipeline to drive.
            on_snapshot: called on the event loop with every new snapshot.
            clock: the current time, UTC-aware.
            backoff: retry delays after failures.
            max_sleep_s: the longest single sleep.
            requests_per_minute: reports the source's request rate for the status bar.
            painted: awaits until the last snapshot is on screen (the UI's next refresh).
            lease_ttl_s: how long the cache's fetch lease lasts (default: three polls, at least 45 s).
        """
        self.monitor = monitor
        self.on_snapshot = on_snapshot
        self.clock = clock
        self.backoff = backoff or Backoff()
        # The history's own retry schedule: quotes may be fine while the history failed, and the
        # history (a bigger request) is then retried on its own backoff, not at every poll.
        self._history_backoff = Backoff(base_s=self.backoff.base_s, cap_s=self.backoff.cap_s)
        self._history_retry_at: datetime | None = None
        self.max_sleep_s = max_sleep_s
        self._requests_per_minute = requests_per_minute
        self._painted = painted
        self.lease_ttl_s = lease_ttl_s
        self._wake = asyncio.Event()
        self._force = False
        self.paused = False
        self.due_at: datetime | None = None
        self.retrying = False
        self.cycles = 0
        self.stream: QuoteStream | None = None
        self._stream_status: StreamStatus | None = None
        self._compute_lock = asyncio.Lock()
        self._tick_task: asyncio.Task[None] | None = None
        self._new_day_poll_at = 0.0
        self._closing = False
        self._retry_only: set[str] | None = None

    # ------------------------------------------------------------------ controls (event loop)
    def refresh_now(self) -> None:
        """Refresh at once (also while paused: an explicit request is honoured)."""
        self._force = True
        self._wake.set()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if not paused:
            self._force = True  # resuming catches up immediately
        self._wake.set()
        self._emit()

    # ------------------------------------------------------------------ the stream (event loop)
    def attach_stream(self, stream: QuoteStream) -> None:
        """Run `stream` alongside the polls (from `run()`); it must deliver to `on_tick` and
        `on_stream_status`."""
        self.stream = stream

    def on_tick(self, tick: StreamTick) -> None:
        if self.paused or self._closing:
            return  # paused means the screen holds still
        effect = self.monitor.apply_tick(tick)
        if effect is TickEffect.APPLIED:
            if self._tick_task is None or self._tick_task.done():
                self._tick_task = asyncio.get_running_loop().create_task(self._emit_ticks())
        elif effect is TickEffect.NEW_DAY:
            loop_now = asyncio.get_running_loop().time()
            if loop_now >= self._new_day_poll_at:
                self._new_day_poll_at = loop_now + NEW_DAY_POLL_GAP_S
                self.refresh_now()

    async def _emit_ticks(self) -> None:
        await asyncio.sleep(TICK_COALESCE_S)
        async with self._compute_lock:
            await self.monitor.compute()
        self._emit()

    def on_stream_status(self, status: StreamStatus) -> None:
        if self._closing:
            return
        was_live = self._stream_status is not None and self._stream_status.healthy
        self._stream_status = status
        if was_live and not status.healthy and self.due_at is not None and not self.paused:
            # The stream failed: polling takes over at its own cadence from now, not after the
            # slow stream-time poll.
            now = self.clock()
            delay = self.monitor.source.next_poll(now)
            if delay is not None and self.due_at > now + timedelta(seconds=delay):
                self.due_at = now + timedelta(seconds=delay)
                self._wake.set()
        self._emit()

    @property
    def stream_live(self) -> bool:
        return self._stream_status is not None and self._stream_status.healthy

    def _stream_words(self) -> str | None:
        if self.stream is None:
            return None
        st = self._stream_status
        return "stream starting" if st is None else st.summary

    def _sharing_words(self) -> str | None:
        other = self.monitor.fetching_instance
        if other is None:
            return None
        who = " ".join(other.split()[:2])  # "pid 1234"
        return f"another monitor ({who}) fetches; reading its cache"

    # ------------------------------------------------------------------ the loop
    def _emit(self) -> None:
        rpm = self._requests_per_minute() if self._requests_per_minute is not None else None
        snap = self.monitor.snapshot(
            next_refresh=None if self.paused else self.due_at,
            paused=self.paused,
            retrying=self.retrying,
            requests_per_minute=rpm,
            stream=self._stream_words(),
            stream_live=self.stream_live,
            notice=self._sharing_words(),
        )
        self.on_snapshot(snap)

    async def _cycle(self, first: bool, forced: bool) -> CycleOutcome:
        m = self.monitor
        outcome = CycleOutcome()
        now = self.clock()
        try:
            ttl = self._lease_ttl(now)
            if not await m.claim_fetch(ttl):
                # Another instance on this machine asks Yahoo: read what it stores instead.
                outcome = await m.follow_store(timedelta(seconds=ttl))
                if first:
                    self._emit()
                async with self._compute_lock:
                    await m.compute()
                m.feed_error = None
                if outcome.updated:
                    m.last_success = self.clock()
                return outcome
            history_retry = not m.history_ok and (
                forced or self._history_retry_at is None or now >= self._history_retry_at
            )
            if first or m.source.history_due(now, m.last_history_fetch) or history_retry:
                outcome = outcome.merge(await m.load_history())
                if m.history_ok:
                    self._history_backoff.reset()
                    self._history_retry_at = None
                else:
                    delay = self._history_backoff.next_delay()
                    self._history_retry_at = self.clock() + timedelta(seconds=delay)
            # When to poll is the source's call (`next_poll`): Yahoo sleeps until the next session, a
            # replay plays its bars while the market it replays is closed.
            # A retry asks again only for the symbols that failed; the others keep their cadence.
            retry_only = self._retry_only if not (first or forced) else None
            outcome = outcome.merge(await m.refresh_quotes(retry_only))
            if first:
                # Prices first: the first computation imports numpy and TA-Lib (~0.4 s), holding the
                # interpreter lock, so it waits until the prices are really on screen.
                self._emit()
                if self._painted is not None:
                    await self._painted()
            async with self._compute_lock:
                await m.compute()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or a dead source must not end the refresh loop
            log.exception("refresh cycle failed")
            m.feed_error = f"refresh failed: {type(exc).__name__}: {exc}"
            err = SymbolError("*", ErrorKind.BAD_RESPONSE, m.feed_error)
            return outcome.merge(CycleOutcome(errors={"*": err}))
        m.feed_error = None
        if outcome.updated:
            m.last_success = self.clock()
        return outcome

    async def run(self) -> None:
        """Run until cancelled (with the stream, when one is attached)."""
        stream_task = None
        if self.stream is not None:
            stream_task = asyncio.get_running_loop().create_task(self.stream.run(), name="quote-stream")
        try:
            await self._run()
        finally:
            self._closing = True  # the stream reports its own shutdown: nobody is listening any more
            for task in (stream_task, self._tick_task):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    def _lease_ttl(self, now: datetime) -> float:
        """How long the fetch lease lasts: a few polls, so that a dead holder is replaced soon and a
        live one is never overtaken between two of its polls."""
        if self.lease_ttl_s is not None:
            return self.lease_ttl_s
        poll = self.monitor.source.next_poll(now) or MAX_SLEEP_S
        return max(LEASE_MIN_TTL_S, 3.0 * min(poll, MAX_SLEEP_S))

    def _next_delay(self, now: datetime) -> float | None:
        delay = self.monitor.source.next_poll(now)
        if (
            delay is not None
            and self.stream_live
            and self.monitor.source.session_at(now) is MarketSession.REGULAR
        ):
            delay = max(delay, STREAM_POLL_S)
        return delay

    async def _run(self) -> None:
        if await self.monitor.paint_from_cache():
            self._emit()
        first = True
        while True:
            now = self.clock()
            forced = self._force
            due = self.due_at is not None and now >= self.due_at
            if first or forced or (due and not self.paused):
                self._force = False
                outcome = await self._cycle(first, forced)
                first = False
                self.cycles += 1
                now = self.clock()
                if outcome.failed:
                    self.retrying = True
                    delay: float | None = self.backoff.next_delay()
                    failed = {s for s, e in outcome.errors.items() if e.kind.retryable}
                    partial = bool(outcome.updated) and failed and "*" not in failed
                    self._retry_only = failed if partial else None
                else:
                    self._retry_only = None
                    self.retrying = False
                    self.backoff.reset()
                    delay = self._next_delay(now)
                self.due_at = None if delay is None else now + timedelta(seconds=delay)
                self._emit()
            await self._sleep(now)

    async def _sleep(self, now: datetime) -> None:
        if self._force:
            return
        timeout: float | None = None
        if self.due_at is not None and not self.paused:
            timeout = min(self.max_sleep_s, max(0.0, (self.due_at - now).total_seconds()))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
