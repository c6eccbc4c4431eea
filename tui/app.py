"""The Textual app: key bindings, the command palette, and the main screen."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import ContentSwitcher

from services.sources.base import MarketDataSource
from tui.config import Settings
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen


def utc_now() -> datetime:
    return datetime.now(UTC)


class BreakoutMonitorApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "breakout-monitor"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show_view('dashboard')", "Dashboard", id="view.dashboard"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("r", "refresh", "Refresh", id="feed.refresh"),
        Binding("p", "pause", "Pause", id="feed.pause"),
        Binding("p", "resume", "Resume", id="feed.resume"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        settings: Settings,
        source: MarketDataSource,
        *,
        clock: Callable[[], datetime] = utc_now,
        as_of: Callable[[], datetime | None] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.source = source
        self.clock = clock
        self.main = MainScreen(settings, source, clock=clock, as_of=as_of)

    def on_mount(self) -> None:
        self.push_screen(self.main)

    async def on_key(self) -> None:
        await self.main.come_back()

    async def on_app_focus(self) -> None:
        await self.main.come_back()

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pause":
            return not self.main.paused
        if action == "resume":
            return self.main.paused
        return True

    def action_show_view(self, view: str) -> None:
        if self.screen is not self.main:
            self.pop_screen()
        self.main.query_one("#views", ContentSwitcher).current = view

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        keys = []
        seen = set()
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.id in seen or not self.check_action(binding.action.split("(")[0], ()):
                continue
            seen.add(binding.id)
            keys.append((self.get_key_display(binding), binding.id or "", binding.description))
        keys.append(("ctrl+p", "command_palette", "Command palette"))
        self.push_screen(HelpScreen(keys))

    def action_refresh(self) -> None:
        self.main.refresh_feed()
        self.notify("Refreshing...", timeout=2)

    def action_pause(self) -> None:
        self.main.set_paused(True)
        self.refresh_bindings()

    def action_resume(self) -> None:
        self.main.set_paused(False)
        self.refresh_bindings()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield SystemCommand("Dashboard", "Show the dashboard (1)", lambda: self.action_show_view("dashboard"))
        yield SystemCommand("Refresh now", "Fetch quotes at once (r)", self.action_refresh)
        if self.main.paused:
            yield SystemCommand("Resume", "Resume polling (p)", self.action_resume)
        else:
            yield SystemCommand("Pause", "Stop polling; keep the last values (p)", self.action_pause)
        yield SystemCommand("Help", "Every key and what it does (?)", self.action_help)
        yield from super().get_system_commands(screen)
