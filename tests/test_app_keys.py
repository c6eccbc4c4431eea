"""Every app-wide key under Pilot, at 120x40 and 80x24: views, symbol focus, help, watchlist editing,
export, theme memory, key remaps, and the too-small message."""

from __future__ import annotations

import csv
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes.scripted_source import thesis_source
from textual.command import CommandPalette
from uitools import screen_text, settings_for, wait_for

from tui.app import BreakoutMonitorApp
from tui.config import load_settings
from tui.screens.help import HelpScreen
from tui.screens.prompt import AddSymbolScreen, ConfirmScreen

NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
SIZES = [(120, 40), (80, 24)]


def make_app(tmp_path: Path, **kw: object) -> BreakoutMonitorApp:
    settings = settings_for(
        tmp_path, config_path=tmp_path / "config.toml", export_dir=tmp_path / "exports", **kw
    )
    return BreakoutMonitorApp(settings, thesis_source(), clock=lambda: NOW)


def ready(app: BreakoutMonitorApp) -> bool:
    snap = app.main.snapshot
    return snap is not None and snap.report is not None


def current(app: BreakoutMonitorApp) -> str:
    return str(app.main.query_one("#views").current)  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", SIZES)
async def test_number_keys_switch_views_and_the_title_strip_follows(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: ready(app))
        from tui.screens.main import view_classes

        for view_id, (key, _cls) in view_classes().items():
            await pilot.press(key)
            await pilot.pause()
            assert current(app) == view_id
            title = screen_text(app).splitlines()[0]
            assert f"{key} " in title
            lines = screen_text(app).splitlines()
            assert len(lines) == size[1] and all(len(line) <= size[0] for line in lines)
        await pilot.press("1")
        assert current(app) == "dashboard"


@pytest.mark.parametrize("size", SIZES)
async def test_tab_and_shift_tab_cycle_the_focused_symbol(tmp_path: Path, size: tuple[int, int]) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: ready(app))
        assert app.main.symbol == "IWM"
        card = app.main.query_one("#card-sym-IWM")
        assert card.has_class("-focused")
        await pilot.press("tab")
        assert app.main.symbol == "SPY" and not card.has_class("-focused")
        await pilot.press("tab", "tab")
        assert app.main.symbol == "^GSPC" and app.main.query_one("#mini-sym-GSPC").has_class("-focused")
        await pilot.press("shift+tab")
        assert app.main.symbol == "^RUT"
        await pilot.press("shift+tab", "shift+tab", "shift+tab")
        assert app.main.symbol == "^VIX"  # wraps around the watchlist
        await pilot.press("6")
        await pilot.pause()
        assert screen_text(app).splitlines()[0].rstrip().endswith("^VIX")


async def test_help_lists_the_keys_of_the_current_view_then_the_global_ones(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: ready(app))
        await pilot.press("6", "question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = app.screen.query_one("#help-text").render().plain  # type: ignore[attr-defined]
        view_part, everywhere = text.split("Everywhere")
        assert "Journal keys" in view_part and "Filter" in view_part and "Refresh" not in view_part
        for words in ("Refresh now", "Add a symbol", "Export", "Quit", "Focus the next symbol"):
            assert words in everywhere
        await pilot.press("escape")
        await pilot.press("1", "question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = app.screen.query_one("#help-text").render().plain  # type: ignore[attr-defined]
        assert "Journal keys" not in text and "Filter" not in text


@pytest.mark.parametrize("size", SIZES)
async def test_add_and_remove_a_symbol_are_saved_to_the_config(tmp_path: Path, size: tuple[int, int]) -> None:
    (tmp_path / "config.toml").write_text("# mine\nrefresh = 30\n\n[breakout]\nlevel = 2565\n")
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: ready(app))
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AddSymbolScreen))
        await pilot.press("i", "w", "m", "enter")  # already watched: refused, the prompt stays
        await pilot.pause()
        assert isinstance(app.screen, AddSymbolScreen)
        assert "IWM is already in the watchlist" in screen_text(app)
        for _ in range(3):
            await pilot.press("backspace")
        await pilot.press("q", "q", "q", "enter")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert app.main.symbols[-1] == "QQQ"
        await wait_for(pilot, lambda: "QQQ" in screen_text(app) and "577.70" in screen_text(app))
        await wait_for(pilot, lambda: "QQQ" in (tmp_path / "config.toml").read_text())
        saved = tomllib.loads((tmp_path / "config.toml").read_text())
        assert saved["symbols"][-1] == "QQQ" and saved["refresh"] == 30 and saved["breakout"]["level"] == 2565
        assert (tmp_path / "config.toml").read_text().startswith("# mine\n")

        # d removes the focused symbol, after asking.
        await pilot.press("shift+tab")  # from IWM back to QQQ
        assert app.main.symbol == "QQQ"
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Remove QQQ from the watchlist?" in screen_text(app)
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert "QQQ" in app.main.symbols
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: "QQQ" not in app.main.symbols)
        await wait_for(pilot, lambda: "QQQ" not in (tmp_path / "config.toml").read_text())
        assert app.main.symbol == "IWM"
        assert tomllib.loads((tmp_path / "config.toml").read_text())["symbols"] == [
            "IWM",
            "SPY",
            "^RUT",
            "^GSPC",
            "^TNX",
            "^VIX",
        ]


async def test_a_bad_symbol_is_refused_in_the_prompt(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: ready(app))
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AddSymbolScreen))
        await pilot.press("i", "w", "space", "m", "enter")
        await pilot.pause()
        assert isinstance(app.screen, AddSymbolScreen), app.screen
        assert "'iw m' is not a valid ticker symbol" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert not (tmp_path / "config.toml").exists()


async def test_export_writes_an_svg_and_a_csv_of_the_focused_symbol(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: ready(app))
        await pilot.press("tab", "e")
        await wait_for(pilot, lambda: any(n.title == "Export" for n in app._notifications))
        note = next(n for n in app._notifications if n.title == "Export")
        files = sorted(p.name for p in (tmp_path / "exports").iterdir())
        assert files == ["SPY-20261124-" + files[0].split("-")[2], "dashboard-" + files[1].split("-", 1)[1]]
        assert str(tmp_path / "exports") in note.message
        svg = next((tmp_path / "exports").glob("*.svg")).read_text()
        assert svg.startswith("<svg") and "SPY" in svg
        rows = list(csv.DictReader(next((tmp_path / "exports").glob("*.csv")).open()))
        # 260 closed sessions and today's bar, in progress (the quote's session) and marked so.
        assert len(rows) == 261 and rows[-1]["date"] == "2026-11-24" and rows[-1]["in_progress"] == "1"
        assert rows[-2]["date"] == "2026-11-23" and rows[-2]["in_progress"] == "0"
        assert float(rows[-2]["close"]) == pytest.approx(651.8)
        assert rows[0]["sma_50"] == "" and rows[-2]["sma_50"] != ""  # too short is empty, never 0
        closes = [float(r["close"]) for r in rows[-51:-1]]
        assert float(rows[-2]["sma_50"]) == pytest.approx(sum(closes) / 50, abs=1e-3)


async def test_a_theme_chosen_in_the_app_is_remembered(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: ready(app))
        app.theme = "nord"  # what the palette's "Change theme" does
        await wait_for(pilot, lambda: (tmp_path / "config.toml").exists())
    assert tomllib.loads((tmp_path / "config.toml").read_text())["theme"] == "nord"
    again = make_app(tmp_path, theme=load_settings(tmp_path / "config.toml", {}).theme)
    async with again.run_test(size=(80, 24)) as pilot:
        assert again.theme == "nord"


async def test_a_remapped_key_works_and_the_old_one_does_not(tmp_path: Path) -> None:
    app = make_app(tmp_path, keys=(("view.journal", "f6"), ("app.help", "f1")))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: ready(app))
        await pilot.press("6")
        assert current(app) == "dashboard"
        await pilot.press("f6")
        assert current(app) == "journal"
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = app.screen.query_one("#help-text").render().plain  # type: ignore[attr-defined]
        assert "      f6   Journal" in text or "f6" in text.split("Journal:")[0].splitlines()[-1]


async def test_the_palette_offers_every_view_action_and_symbol(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: ready(app))
        titles = [c.title for c in app.get_system_commands(app.main)]
        from tui.screens.main import view_classes

        for view_id, (_key, cls) in view_classes().items():
            assert f"View: {cls.view_title}" in titles, view_id
        for sym in app.main.symbols:
            assert f"Symbol: {sym}" in titles
        for action in ("Refresh now", "Pause", "Add symbol", "Remove symbol", "Export", "Help", "Theme"):
            assert any(t.startswith(action) for t in titles), action
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"symbol: ^vix")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.main.symbol == "^VIX")


@pytest.mark.parametrize("size", [(79, 24), (80, 23), (40, 10)])
async def test_below_80x24_a_clear_message_and_resizing_back_restores(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: ready(app))
        await pilot.resize_terminal(*size)
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "terminal too small (need 80×24)" in text  # noqa: RUF001
        assert f"now {size[0]}×{size[1]}: enlarge it, or q quits" in text  # noqa: RUF001
        assert "IWM" not in text
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "too small" not in text and "IWM" in text and "Quit" in text
