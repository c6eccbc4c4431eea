"""A brief highlight of a price that just moved: green up, red down, gone at the next update or after a
second and a half without one."""

from __future__ import annotations

from collections.abc import Callable

from textual.timer import Timer
from textual.widget import Widget

FLASH_SECONDS = 1.5
"""Longer than the fastest update cadence (the demo's second): when updates come that fast the flash
ends with the next one, in the same frame, instead of costing a frame of its own."""
UP_STYLE = "bold $text on $success-muted"
DOWN_STYLE = "bold $text on $error-muted"


class PriceFlash:
    """Owned by a widget; `style` is the price's style now. One one-shot timer at most, none at rest.
    Off when the app's animations are off (`--low-bandwidth`, or TEXTUAL_ANIMATIONS=none)."""

    def __init__(self, owner: Widget, repaint: Callable[[], None]) -> None:
        self.owner = owner
        self.repaint = repaint
        self.style = "bold"
        self._shown: float | None = None
        self._timer: Timer | None = None

    def update(self, last: float | None) -> None:
        """Call with each new price before painting it."""
        before, self._shown = self._shown, last
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if last is None or before is None or last == before or self.owner.app.animation_level == "none":
            self.style = "bold"  # a flash under way ends with this update's repaint
            return
        self.style = UP_STYLE if last > before else DOWN_STYLE
        self._timer = self.owner.set_timer(FLASH_SECONDS, self._end)

    @property
    def active(self) -> bool:
        return self._timer is not None

    def _end(self) -> None:
        self._timer = None
        self.style = "bold"
        self.repaint()
