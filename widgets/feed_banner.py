"""The fault banner: what is wrong with the feed and when the next retry is, above the status bar.

Hidden while all is well. While a retry is pending it counts down once a second (the only thing on
screen that does, and only during a fault); otherwise it holds still.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget

from services.snapshot import FeedStatus


def retry_words(seconds: float) -> str:
    """ "retry in 40 s", "retry in 3 min", "retrying now"."""
    s = math.ceil(seconds)
    if s <= 0:
        return "retrying now"
    if s < 120:
        return f"retry in {s} s"
    return f"retry in {math.ceil(s / 60)} min"


def banner_text(st: FeedStatus | None, now: datetime) -> str | None:
    """One line, e.g. "rate-limited by Yahoo (HTTP 429) — retry in 40 s"; None when nothing is wrong."""
    if st is None or not st.error:
        return None
    text = st.error
    if st.paused:
        return f"{text} — paused, p resumes"
    if st.retrying and st.next_refresh is not None:
        text += f" — {retry_words((st.next_refresh - now).total_seconds())}"
        if st.stream_live:
            text += "; prices still streaming"
        else:
            text += "; showing the last good values"
    return text


class FeedBanner(Widget):
    DEFAULT_CSS = """
    FeedBanner {
        height: 1;
        display: none;
        background: $error-muted;
        color: $text;
        padding: 0 1;
    }
    FeedBanner.-shown { display: block; }
    """

    def __init__(self, *, id: str | None = None, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._status: FeedStatus | None = None
        self._text: str | None = None
        self._ticker: Timer | None = None

    @property
    def text(self) -> str:
        """What the banner says ("" while hidden)."""
        return self._text or ""

    def show(self, st: FeedStatus) -> None:
        self._status = st
        self._paint()
        counting = bool(st.error) and st.retrying and st.next_refresh is not None and not st.paused
        if counting and self._ticker is None:
            self._ticker = self.set_interval(1.0, self._paint)
        elif not counting and self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def on_resize(self) -> None:
        self._paint()

    def _paint(self) -> None:
        text = banner_text(self._status, self._clock())
        room = self.size.width - 4  # padding and the "! " mark
        if text is not None and room > 0 and len(text) > room:
            text = text.split("; ")[0]  # the retry time matters more than the reassurance
        if text == self._text:
            return
        self._text = text
        self.set_class(text is not None, "-shown")
        self.refresh()

    def render(self) -> Content:
        return Content.assemble(("! ", "bold"), self._text or "")
