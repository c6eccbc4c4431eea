"""'While you were away': the journal's events since the user last looked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from services.journal import JournalEntry
from services.market_hours import NEW_YORK

KIND_STYLE = {
    "state_change": "bold",
    "target_hit": "$success",
    "retest": "$text",
    "risk": "$error",
    "alert": "$warning",
}


def digest_lines(entries: Sequence[JournalEntry]) -> list[Content]:
    lines = []
    for e in entries:
        when = e.at.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M ET")
        lines.append(
            Content.assemble(
                (when, "$text-muted"), "  ", (f"{e.kind:<12}", KIND_STYLE.get(e.kind, "")), " ", e.title
            )
        )
    return lines


class DigestScreen(ModalScreen[None]):
    """Shown at start-up, or on coming back after a long idle, when the journal has news."""

    DEFAULT_CSS = """
    DigestScreen {
        align: center middle;
    }
    DigestScreen > VerticalScroll {
        width: 90%;
        max-width: 110;
        height: auto;
        max-height: 80%;
        border: round $accent;
        border-title-style: bold;
        padding: 0 1;
        background: $surface;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,space", "dismiss", "Close", id="digest.close"),
        Binding("j", "scroll_down", "Down", show=False, id="digest.down"),
        Binding("k", "scroll_up", "Up", show=False, id="digest.up"),
    ]

    def __init__(self, entries: Sequence[JournalEntry]) -> None:
        super().__init__()
        self.entries = list(entries)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            n = len(self.entries)
            box.border_title = f"While you were away: {n} event{'s' if n != 1 else ''}"
            box.border_subtitle = "esc / enter to close"
            for line in digest_lines(self.entries):
                yield Static(line)

    def action_scroll_down(self) -> None:
        self.query_one(VerticalScroll).scroll_down()

    def action_scroll_up(self) -> None:
        self.query_one(VerticalScroll).scroll_up()
