"""A brief highlight of a price that just moved: green up, red down, gone at the next update or after a
second and a half without one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.widget import Widget

FLASH_SECONDS = 1.5
"""Longer than the fastest update cadence (the demo's second): when updates come that fast the flash
ends with the next one, in the same frame, instead of costing a frame of its own."""
UP_STYLE = "bold $text on $success-muted"
DOWN_STYLE = "bold $text on $error-muted"


class PriceFlash:
    """Owned by a widget; `style` is the price's style now. At most one pending call on the event loop
    (a plain `call_later`: a Textual timer is a task, created and cancelled at every tick), none at rest.
    Off when the app's animations are off (`--low-bandwidth`, or TEXTUAL_ANIMATIONS=none)."""

    def __init__(self, owner: Widget, repaint: Callable[[], None]) -> None:
        self.owner = owner
        self.repaint = repaint
        self.style = "bold"
        self._shown: float | None = None
        self._pending: asyncio.TimerHandle | None = None

    def update(self, last: float | None) -> None:
        """Call with each new price before painting it."""
        before, self._shown = self._shown, last
        self.cancel()
        if last is None or before is None or last == before or self.owner.app.animation_level == "none":
            self.style = "bold"  # a flash under way ends with this update's repaint
            return
        self.style = UP_STYLE if last > before else DOWN_STYLE
        self._pending = asyncio.get_running_loop().call_later(FLASH_SECONDS, self._end)

    def cancel(self) -> None:
        """Drop the pending end of the flash (the owner calls this when it is unmounted)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    @property
    def active(self) -> bool:
        return self._pending is not None

    def _end(self) -> None:
        self._pending = None
        self.style = "bold"
        if self.owner.is_attached:
            self.repaint()
