"""The help screen: every key of the current view and what it does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

EXPLANATIONS = {
    "view.dashboard": "Dashboard: quotes, indicators and the breakout panel.",
    "app.help": "This help.",
    "feed.refresh": "Refresh now, even while paused (the history too, when due).",
    "feed.pause": "Pause polling; the screen keeps the last values.",
    "feed.resume": "Resume polling, with an immediate refresh.",
    "app.quit": "Quit (the cache keeps everything fetched).",
    "command_palette": "Command palette: search every action by name.",
}


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 84;
        max-width: 100%;
        height: auto;
        max-height: 90%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close help", id="help.close"),
    ]

    def __init__(self, keys: Sequence[tuple[str, str, str]]) -> None:
        """`keys`: (key as shown, binding id, short description) of every active binding."""
        super().__init__()
        self.keys = list(keys)

    def compose(self) -> ComposeResult:
        lines = []
        for key, binding_id, description in self.keys:
            words = EXPLANATIONS.get(binding_id, description)
            lines.append(Content.assemble((f"{key:>8}", "bold $accent"), "   ", words))
        lines.append(Content(""))
        lines.append(Content.assemble(("escape, ? or q closes this help.", "$text-muted")))
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys"
            yield Static(Content("\n").join(lines), id="help-text")

    def action_close(self) -> None:
        self.dismiss()
