"""The status bar: source, market session and the time to the next open/close, stream or polling,
last update, next refresh, and what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget

from services import formatting as fmt
from services.models import SourceKind
from services.snapshot import FeedStatus

FAST_CADENCE_S = 5.0
"""Below this, the bar says "every N s" instead of clock times that would change at every tick."""


NARROW = 100
"""Below this width the bar shortens the source's name and its words (80 columns must hold the
session, its countdown, the stream and the times)."""


def status_content(st: FeedStatus | None, now: datetime | None = None, width: int = NARROW) -> Content:
    if st is None:
        return Content.assemble(("starting...", "$text-muted"))
    narrow = width < NARROW
    label = "Yahoo" if narrow and st.source is SourceKind.YAHOO else st.source_label
    parts: list[tuple[str, str] | str] = [(label, "bold"), "  "]
    if st.session is not None:
        parts += [(st.session.value, "bold")]
    ev = st.session_event
    if ev is not None and now is not None:
        countdown = fmt.session_countdown(ev.verb, ev.at, now, ev.early_close)
        if narrow:
            countdown = countdown.replace(" ET", "").replace(" (early close)", "*")
        parts += [" ", (countdown, "$text-muted")]
    if st.stream is not None:
        words = st.stream.removeprefix("stream down, ") if narrow else st.stream
        parts += ["  ", (words, "$success" if st.stream_live else "$warning")]
    if st.paused:
        parts += ["  ", (" PAUSED ", "bold $text on $warning"), (" p resumes", "$text-muted")]
    cadence = None
    if st.next_refresh is not None and st.last_update is not None and not st.retrying:
        cadence = (st.next_refresh - st.last_update).total_seconds()
    if cadence is not None and 0 < cadence < FAST_CADENCE_S and not st.paused and st.last_update is not None:
        # To the minute: a clock to the second would repaint the bar at every tick.
        every = f"{cadence:.1f}".rstrip("0").rstrip(".")  # "1", "0.5", "2.5"
        parts += ["  ", (f"live, every {every} s", "$text-muted"), ("  updated ", "$text-muted")]
        parts += [st.last_update.astimezone().strftime("%H:%M")]
    else:
        if st.last_update is not None:
            parts += ["  ", ("updated ", "$text-muted"), fmt.clock_local(st.last_update)]
        if st.next_refresh is not None and not st.paused and not (narrow and not st.retrying):
            # Narrow: the next routine poll gives way; a retry time (a fault) is always shown.
            label = "retry " if st.retrying else "next "
            parts += [
                "  ",
                (label, "$warning" if st.retrying else "$text-muted"),
                fmt.clock_local(st.next_refresh),
            ]
        elif st.next_refresh is None and not st.paused and st.last_update is not None:
            parts += ["  ", ("at rest: nothing scheduled", "$text-muted")]
    if st.requests_per_minute:
        parts += ["  ", (f"{st.requests_per_minute} req/min", "$text-muted")]
    if st.notice:
        parts += ["  ", (st.notice, "$warning")]
    # What is wrong (st.error) is the banner's line, just above: not repeated here.
    return Content.assemble(*parts)


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(id=id)
        self._content = status_content(None)
        self._status: FeedStatus | None = None
        self._clock = clock or (lambda: datetime.now(UTC))
        self._minute: Timer | None = None

    @property
    def text(self) -> str:
        return self._content.plain

    def show(self, st: FeedStatus) -> None:
        self._status = st
        self._paint()
        # The countdown to the open/close changes once a minute, also when no data moves: a minute
        # tick while it is shown, none otherwise.
        if st.session_event is not None and self._minute is None:
            self._minute = self.set_interval(60.0, self._paint)
        elif st.session_event is None and self._minute is not None:
            self._minute.stop()
            self._minute = None

    def on_resize(self) -> None:
        self._paint()

    def _paint(self) -> None:
        content = status_content(self._status, self._clock(), self.size.width or NARROW)
        if content.plain == self._content.plain and content.spans == self._content.spans:
            return
        self._content = content
        self.refresh()

    def render(self) -> Content:
        return self._content
