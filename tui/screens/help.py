"""The help screen: the keys of the current view, then the keys that work everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

EXPLANATIONS = {
    "view.dashboard": "Dashboard: quotes, indicators and the breakout panel.",
    "view.chart": "Chart of the focused symbol: candles or line, SMAs, level, targets, range.",
    "view.indicators": "Indicators of every symbol, daily and weekly.",
    "view.strength": "Relative strength: IWM/SPY and ^RUT/^GSPC.",
    "view.history": "History: calendar-year returns, small caps against large caps.",
    "view.journal": "Journal: every event and alert, newest first.",
    "symbol.next": "Focus the next symbol of the watchlist.",
    "symbol.previous": "Focus the previous symbol of the watchlist.",
    "app.help": "This help.",
    "feed.refresh": "Refresh now, even while paused (the history too, when due).",
    "feed.pause": "Pause polling; the screen keeps the last values.",
    "feed.resume": "Resume polling, with an immediate refresh.",
    "app.export": "Export: an SVG of the screen and a CSV of the focused symbol (export_dir).",
    "watchlist.add": "Add a symbol to the watchlist (saved to the config).",
    "watchlist.remove": "Remove the focused symbol from the watchlist (asks first).",
    "app.quit": "Quit (the cache keeps everything fetched).",
    "command_palette": "Command palette: every view, action, symbol and theme by name.",
}

Keys = Sequence[tuple[str, str, str]]


def _lines(keys: Keys) -> list[Content]:
    width = max((len(k) for k, _, _ in keys), default=8)
    width = min(max(width, 8), 16)
    return [
        Content.assemble((f"{key:>{width}}", "bold $accent"), "   ", EXPLANATIONS.get(bid, description))
        for key, bid, description in keys
    ]


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 92;
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
        Binding("j", "scroll('down')", "Down", show=False, id="help.down"),
        Binding("k", "scroll('up')", "Up", show=False, id="help.up"),
    ]

    def __init__(
        self,
        view_keys: Keys,
        app_keys: Keys = (),
        *,
        view_title: str = "",
        log_file: Path | None = None,
        log_level: str = "",
    ) -> None:
        """Each key: (key as shown, binding id, short description) of an active binding."""
        super().__init__()
        self.log_file = log_file
        self.log_level = log_level
        self.view_keys = list(view_keys)
        self.app_keys = list(app_keys)
        self.view_title = view_title

    def compose(self) -> ComposeResult:
        lines: list[Content] = []
        if self.view_keys:
            lines.append(Content.styled(f"{self.view_title} keys", "bold underline"))
            lines += _lines(self.view_keys)
            lines.append(Content(""))
        if self.app_keys:
            lines.append(Content.styled("Everywhere", "bold underline"))
            lines += _lines(self.app_keys)
            lines.append(Content(""))
        if self.log_file is not None:
            level = f" (level {self.log_level}, --log-level changes it)" if self.log_level else ""
            lines.append(Content.assemble(("Log file: ", "bold"), str(self.log_file), (level, "$text-muted")))
        else:
            lines.append(Content.styled("Log file: none (the log directory is not writable)", "$warning"))
        lines.append(
            Content.styled("escape, ? or q closes this help. Keys are remapped in [keys].", "$text-muted")
        )
        with VerticalScroll() as scroll:
            scroll.border_title = f"Keys · {self.view_title}" if self.view_title else "Keys"
            yield Static(Content("\n").join(lines), id="help-text")

    def action_close(self) -> None:
        self.dismiss()

    def action_scroll(self, where: str) -> None:
        box = self.query_one(VerticalScroll)
        (box.scroll_down if where == "down" else box.scroll_up)()
