"""The Textual app: key bindings, the command palette, and the main screen."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import ClassVar

from rich.console import RenderableType
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from services.sources.base import MarketDataSource
from services.stream import Connector
from tui.cell_diff import ScreenDiff
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
        if settings.low_bandwidth:
            self.animation_level = "none"  # no flashes either: each would cost two frames
        self._screen_diff = ScreenDiff()
        self.theme = settings.theme
        if settings.keys:
            self.set_keymap(dict(settings.keys))

    def _display(self, screen: Screen[object], renderable: RenderableType | None) -> None:
        """Write only the cells that changed since the last frame (see `tui.cell_diff`)."""
        if renderable is not None and not self.is_headless and not self.is_inline:
            width, height = self.size
            renderable = self._screen_diff.update(  # type: ignore[assignment]
                renderable, width, height, self.console._color_system
            )
            if renderable is None:
                return  # nothing on the screen changed: not even a synchronised-update pair is sent
        super()._display(screen, renderable)

    @property
    def config_path(self) -> Path:
        return self.settings.config_path or default_config_path()

    def on_mount(self) -> None:
        self.push_screen(self.main)
        self._theme_ready = True
        self._watch_terminal()

    def on_key(self) -> None:
        # Later, not awaited here: the key's own binding is looked up after this handler, on the screen
        # then on top; a digest pushed first would take it (q would not quit, 2 would not switch).
        self.call_later(self.main.come_back)

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
        # No toast: mounting one (and removing it) re-lays out the whole screen; the status bar's
        # "updated" time says when the refresh landed.
        self.main.refresh_feed()

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

    # ------------------------------------------------------------------ shutdown: signals, a lost terminal
    # A dropped SSH link closes the pty: the kernel sends SIGHUP and SIGCONT, reads from the tty then return
    # EOF and writes fail with EIO. Textual 8.2.8 handles none of it: SIGHUP and SIGTERM kill the process
    # (journal and cache left open); with SIGHUP ignored (nohup) its input thread spins at 100 % CPU for ever;
    # and after a stalled link (output blocked, then the hangup) its writer thread dies, the event loop blocks
    # for good on the writer's full queue, and no loop callback or timer can run any more. So the terminal
    # is watched from a thread, which unblocks the loop, and the signal handlers are plain Python ones that
    # restore the default at once: a second signal ends even a stuck process.
    TERMINAL_CHECK_S: ClassVar[float] = 1.0
    """How often the terminal is checked for a hangup that came without a SIGHUP (nohup, a blocked signal)."""
    _shutdown_reason: str | None = None
    _tty_fds: tuple[int, ...] = ()
    _output_silenced = False
    _discarding_frames = False

    def exit(
        self, result: int | None = None, return_code: int = 0, message: RenderableType | None = None
    ) -> None:
        """Every way out (q, ctrl+q, the palette, a signal, a lost terminal) logs why, once."""
        self._note_shutdown("quit")
        super().exit(result, return_code, message)

    def _note_shutdown(self, reason: str) -> None:
        if self._shutdown_reason is None:
            self._shutdown_reason = reason
            log.info("shutting down: %s", reason)

    def _watch_terminal(self) -> None:
        """On a real terminal only (not headless tests, not the web driver, whose stdin is a pipe)."""
        if self.is_headless or sys.__stdin__ is None or not os.isatty(sys.__stdin__.fileno()):
            return
        # fd 0 is read and fd 2 written by Textual's driver; fd 1 is what print() would reach.
        self._tty_fds = tuple(fd for fd in (0, 1, 2) if os.isatty(fd))
        loop = asyncio.get_running_loop()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            signal.signal(signum, signal.SIG_DFL)  # a second one ends the process at once, stuck or not
            if loop.is_closed():  # the app is over: nothing to close cleanly any more
                os.kill(os.getpid(), signum)
                return
            words = "terminal hung up" if signum == signal.SIGHUP else "terminated"
            loop.call_soon_threadsafe(self._shut_down, f"{signal.Signals(signum).name} ({words})")

        for sig in (signal.SIGHUP, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:  # nohup's choice stands; the watch still sees it
                signal.signal(sig, on_signal)
        textual_sigcont = signal.getsignal(signal.SIGCONT)

        def on_sigcont(signum: int, frame: FrameType | None) -> None:
            # A hangup sends SIGCONT too, and Textual would restart application mode on the dead tty: a
            # second input thread, which may outlive the app, spinning. Only a live terminal resumes (ctrl+z).
            if self._terminal_alive() and callable(textual_sigcont):
                textual_sigcont(signum, frame)

        signal.signal(signal.SIGCONT, on_sigcont)
        threading.Thread(target=self._watch, args=(loop,), name="terminal-watch", daemon=True).start()

    def _terminal_alive(self) -> bool:
        # A hung-up tty answers every ioctl with EIO, so isatty() turns False: cheap, and reads nothing.
        return all(os.isatty(fd) for fd in self._tty_fds)

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """The watch thread: a tty check a second, no wake-up of the event loop until the tty is gone."""
        told = False
        while not loop.is_closed():
            time.sleep(self.TERMINAL_CHECK_S)
            if self._terminal_alive():
                continue
            self._silence_terminal()  # every tick: Textual's writer may die after the first look
            if not told:
                told = True
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: the app is over
                    loop.call_soon_threadsafe(self._shut_down, "terminal lost (hung up, no SIGHUP seen)")

    def _silence_terminal(self) -> None:
        """The tty is gone: send what is still written to /dev/null, where it can neither fail nor block."""
        if not self._output_silenced:
            self._output_silenced = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            for fd in (1, 2):  # also spares Python's final flush of stdout an EIO
                if fd in self._tty_fds:
                    os.dup2(devnull, fd)
            os.close(devnull)
        # Textual's writer thread dies at its first EIO; the frames queued after that (30 at most) block the
        # event loop, shutdown included. Take its place and throw them away (Textual 8.2.8 internals, pinned).
        writer: threading.Thread | None = getattr(self._driver, "_writer_thread", None)
        frames: queue.Queue[str | None] | None = getattr(writer, "_queue", None)
        if writer is None or frames is None or writer.is_alive() or self._discarding_frames:
            return
        self._discarding_frames = True

        def discard() -> None:
            while frames.get() is not None:
                pass

        threading.Thread(target=discard, name="discard-output", daemon=True).start()

    def _shut_down(self, reason: str) -> None:
        self._note_shutdown(reason)
        if not self._terminal_alive():
            self._silence_terminal()
        self.exit()


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
