"""A brief highlight of a price that just moved: green up, red down, gone after a second."""

from __future__ import annotations

from collections.abc import Callable

from textual.timer import Timer
from textual.widget import Widget

FLASH_SECONDS = 1.0
UP_STYLE = "bold $text on $success-muted"
DOWN_STYLE = "bold $text on $error-muted"


class PriceFlash:
    """Owned by a widget; `style` is the price's style now. One one-shot timer at most, none at rest."""

    def __init__(self, owner: Widget, repaint: Callable[[], None]) -> None:
        self.owner = owner
        self.repaint = repaint
        self.style = "bold"
        self._shown: float | None = None
        self._timer: Timer | None = None

    def update(self, last: float | None) -> None:
        """Call with each new price before painting it."""
        if last is not None and self._shown is not None and last != self._shown:
            self.style = UP_STYLE if last > self._shown else DOWN_STYLE
            if self._timer is not None:
                self._timer.stop()
            self._timer = self.owner.set_timer(FLASH_SECONDS, self._end)
        self._shown = last

    @property
    def active(self) -> bool:
        return self._timer is not None

    def _end(self) -> None:
        self._timer = None
        self.style = "bold"
        self.repaint()
