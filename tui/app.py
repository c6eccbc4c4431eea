"""The Textual app: key bindings, the command palette, and the main screen."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from services.sources.base import MarketDataSource
from services.stream import Connector
from tui.config import ConfigError, Settings, default_config_path, save_top_level
from tui.logs import log_file_path
from tui.screens.digest import DigestScreen
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen, view_classes
from tui.screens.prompt import AddSymbolScreen, ConfirmScreen

log = logging.getLogger(__name__)

MAX_SYMBOLS = 12


def utc_now() -> datetime:
    return datetime.now(UTC)


def _view_bindings() -> list[BindingType]:
    return [
        Binding(
            key,
            f"show_view('{view_id}')",
            str(getattr(cls, "view_title", view_id)),
            show=False,
            id=f"view.{view_id}",
        )
        for view_id, (key, cls) in view_classes().items()
    ]


class BreakoutMonitorApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "breakout-monitor"
    BINDINGS: ClassVar[list[BindingType]] = [
        *_view_bindings(),
        Binding("tab", "cycle_symbol(1)", "Next symbol", show=False, priority=True, id="symbol.next"),
        Binding(
            "shift+tab",
            "cycle_symbol(-1)",
            "Previous symbol",
            show=False,
            priority=True,
            id="symbol.previous",
        ),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("r", "refresh", "Refresh", id="feed.refresh"),
        Binding("p", "pause", "Pause", id="feed.pause"),
        Binding("p", "resume", "Resume", id="feed.resume"),
        Binding("e", "export", "Export", show=False, id="app.export"),
        Binding("a", "add_symbol", "Add symbol", show=False, id="watchlist.add"),
        Binding("d", "remove_symbol", "Remove symbol", show=False, id="watchlist.remove"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        settings: Settings,
        source: MarketDataSource,
        *,
        clock: Callable[[], datetime] = utc_now,
        as_of: Callable[[], datetime | None] | None = None,
        stream_connect: Connector | None = None,
    ) -> None:
        """`stream_connect` opens the quote stream's connection (default: Yahoo's streamer)."""
        super().__init__()
        self.settings = settings
        self.source = source
        self.clock = clock
        self.main = MainScreen(settings, source, clock=clock, as_of=as_of, stream_connect=stream_connect)
        self._theme_ready = False
        self.theme = settings.theme
        if settings.keys:
            self.set_keymap(dict(settings.keys))

    @property
    def config_path(self) -> Path:
        return self.settings.config_path or default_config_path()

    def on_mount(self) -> None:
        self.push_screen(self.main)
        self._theme_ready = True

    async def on_key(self) -> None:
        await self.main.come_back()

    async def on_app_focus(self) -> None:
        await self.main.come_back()

    # ------------------------------------------------------------------ remembered choices
    def watch_theme(self, theme: str) -> None:
        """A theme picked in the palette is written to the config, so the next start uses it."""
        if self._theme_ready and theme != self.settings.theme:
            self.settings = _replace(self.settings, theme=theme)
            self.run_worker(self._save({"theme": theme}, f"theme {theme}"), group="save-config")

    async def _save(self, values: dict[str, object], what: str) -> None:
        try:
            await asyncio.to_thread(save_top_level, self.config_path, values)
        except ConfigError as exc:
            log.warning("%s", exc)
            self.notify(f"{what} not remembered: {exc}", severity="warning", timeout=10)
            return
        self.notify(f"{what} saved to {self.config_path}", timeout=4)

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pause":
            return not self.main.paused
        if action == "resume":
            return self.main.paused
        return True

    def _back_to_main(self) -> None:
        while self.screen is not self.main and len(self.screen_stack) > 1:
            self.pop_screen()

    def action_show_view(self, view: str) -> None:
        self._back_to_main()
        self.main.show_view(view)

    def action_cycle_symbol(self, step: int) -> None:
        if self.screen is self.main:
            self.main.cycle_symbol(step)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen | DigestScreen):
            return
        view_keys: dict[str, tuple[list[str], str]] = {}
        app_keys: dict[str, tuple[list[str], str]] = {}
        for active in self.screen.active_bindings.values():
            b = active.binding
            if not active.enabled or b.id is None:
                continue
            target = app_keys if active.node is self or active.node is self.screen else view_keys
            keys, _ = target.setdefault(b.id, ([], b.description))
            shown = self.get_key_display(b)
            if shown not in keys:
                keys.append(shown)
        title = self.main.view_title() if self.screen is self.main else "This screen"
        self.push_screen(
            HelpScreen(
                [(", ".join(k), bid, d) for bid, (k, d) in view_keys.items()],
                [(", ".join(k), bid, d) for bid, (k, d) in app_keys.items()]
                + [("ctrl+p", "command_palette", "Command palette")],
                view_title=title,
                log_file=log_file_path(self.settings.log_dir),
                log_level=self.settings.log_level,
            )
        )

    def action_refresh(self) -> None:
        self.main.refresh_feed()
        self.notify("Refreshing...", timeout=2)

    def action_pause(self) -> None:
        self.main.set_paused(True)
        self.refresh_bindings()

    def action_resume(self) -> None:
        self.main.set_paused(False)
        self.refresh_bindings()

    def action_export(self) -> None:
        self.run_worker(self._export(), group="export", exclusive=True)

    async def _export(self) -> None:
        """An SVG of the screen as it is now and a CSV of the focused symbol's bars and indicators."""
        from services.export import export_stem, write_bars_csv

        snap = self.main.snapshot
        sym = self.main.symbol
        stem = export_stem(sym, self.clock().astimezone())
        folder = self.settings.export_dir
        try:
            await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
            svg = self.save_screenshot(f"{self.main.current_view.id}-{stem}.svg", str(folder))
            written = [Path(svg).name]
            shown = snap.symbols.get(sym) if snap is not None else None
            if shown is not None and shown.daily:
                csv_path = folder / f"{stem}.csv"
                await asyncio.to_thread(write_bars_csv, shown.daily, csv_path, shown.provisional)
                written.append(csv_path.name)
        except OSError as exc:
            self.notify(f"export failed: {exc.strerror or exc} ({folder})", severity="error", timeout=10)
            return
        self.notify(f"saved {' and '.join(written)} in {folder}", title="Export", timeout=8)

    def action_add_symbol(self) -> None:
        if len(self.main.symbols) >= MAX_SYMBOLS:
            self.notify(f"the watchlist holds at most {MAX_SYMBOLS} symbols", severity="warning")
            return
        self.push_screen(AddSymbolScreen(self.main.symbols), self._added)

    async def _added(self, sym: str | None) -> None:
        if sym is not None:
            await self._set_watchlist([*self.main.symbols, sym], f"added {sym}")

    def action_remove_symbol(self) -> None:
        sym = self.main.symbol
        if len(self.main.symbols) <= 1:
            self.notify("the watchlist cannot be empty", severity="warning")
            return
        self.push_screen(ConfirmScreen(f"Remove {sym} from the watchlist?"), partial(self._removed, sym))

    async def _removed(self, sym: str, yes: bool | None) -> None:
        if yes:
            await self._set_watchlist([s for s in self.main.symbols if s != sym], f"removed {sym}")

    async def _set_watchlist(self, symbols: list[str], what: str) -> None:
        await self.main.set_watchlist(symbols)
        self.settings = _replace(self.settings, symbols=tuple(symbols))
        self.run_worker(self._save({"symbols": symbols}, f"watchlist ({what})"), group="save-config")

    # ------------------------------------------------------------------ palette
    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for view_id, (key, cls) in view_classes().items():
            name = str(getattr(cls, "view_title", view_id))
            yield SystemCommand(
                f"View: {name}",
                f"Show the {name.lower()} view ({key})",
                partial(self.action_show_view, view_id),
            )
        for sym in self.main.symbols:
            yield SystemCommand(
                f"Symbol: {sym}",
                f"Focus {sym} in the chart and tables (tab)",
                partial(self._palette_focus, sym),
            )
        yield SystemCommand("Refresh now", "Fetch quotes at once (r)", self.action_refresh)
        if self.main.paused:
            yield SystemCommand("Resume", "Resume polling (p)", self.action_resume)
        else:
            yield SystemCommand("Pause", "Stop polling; keep the last values (p)", self.action_pause)
        yield SystemCommand(
            "Next symbol", "Focus the next symbol (tab)", partial(self.action_cycle_symbol, 1)
        )
        yield SystemCommand(
            "Previous symbol", "Focus the previous symbol (shift+tab)", partial(self.action_cycle_symbol, -1)
        )
        yield SystemCommand("Add symbol", "Add a symbol to the watchlist (a)", self.action_add_symbol)
        yield SystemCommand(
            "Remove symbol", f"Remove {self.main.symbol} from the watchlist (d)", self.action_remove_symbol
        )
        yield SystemCommand(
            "Export", f"Save an SVG of the screen and a CSV of {self.main.symbol} (e)", self.action_export
        )
        view = self.main.current_view
        for binding in getattr(view, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.show:
                yield SystemCommand(
                    f"{self.main.view_title()}: {binding.description}",
                    f"({self.get_key_display(binding)})",
                    partial(self._run_view_action, binding.action),
                )
        yield SystemCommand("Help", "Every key and what it does (?)", self.action_help)
        yield from super().get_system_commands(screen)

    def _palette_focus(self, sym: str) -> None:
        self.main.focus_symbol(sym)

    async def _run_view_action(self, action: str) -> None:
        await self.run_action(action, self.main.current_view)


def _replace(settings: Settings, **changes: object) -> Settings:
    from dataclasses import replace

    return replace(settings, **changes)  # type: ignore[arg-type]


def all_binding_ids() -> set[str]:
    """Every binding id a `[keys]` table may remap."""
    classes: list[type] = [BreakoutMonitorApp, HelpScreen, DigestScreen, AddSymbolScreen, ConfirmScreen]
    classes += [cls for _key, cls in view_classes().values()]
    ids = {
        b.id
        for cls in classes
        for b in getattr(cls, "BINDINGS", [])
        if isinstance(b, Binding) and b.id is not None
    }
    return ids
