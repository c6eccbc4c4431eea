"""Small modal questions: a symbol to add to the watchlist, a yes/no before removing one."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.config import ConfigError, symbol

PROMPT_CSS = """
{name} {{
    align: center middle;
}}
{name} > Vertical {{
    width: 60;
    max-width: 100%;
    height: auto;
    border: round $accent;
    background: $surface;
    padding: 0 1;
}}
{name} .-error {{
    color: $error;
}}
"""


class AddSymbolScreen(ModalScreen[str | None]):
    """Asks for a ticker; answers it validated and upper-cased, or None when cancelled."""

    DEFAULT_CSS = PROMPT_CSS.format(name="AddSymbolScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel"),
    ]

    def __init__(self, existing: list[str]) -> None:
        super().__init__()
        self.existing = existing

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Add a symbol to the watchlist"
            box.border_subtitle = "enter adds · esc cancels"
            yield Input(placeholder="e.g. QQQ, ^DJI, IWM", id="symbol")
            yield Static("", id="why", classes="-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            sym = symbol(event.value, "symbol")
        except ConfigError as exc:
            self.query_one("#why", Static).update(str(exc).removeprefix("symbol: "))
            return
        if sym in self.existing:
            self.query_one("#why", Static).update(f"{sym} is already in the watchlist")
            return
        self.dismiss(sym)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: y or enter says yes, n or escape says no."""

    DEFAULT_CSS = PROMPT_CSS.format(name="ConfirmScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_subtitle = "y yes · n no"
            yield Static(self.question)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
