"""Writing the watchlist and theme back into the user's config file without losing anything in it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tui.config import ConfigError, load_settings, save_top_level

CONFIG = """\
# my monitor
symbols = [
    "IWM",   # the ETF
    "SPY",
]
refresh = 30  # seconds

[breakout]
level = 2565
targets = [2600, 3000]

[keys]
"feed.refresh" = "f5"
"""


def test_a_multiline_watchlist_is_replaced_and_everything_else_kept(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    save_top_level(cfg, {"symbols": ("IWM", "SPY", "QQQ")})
    text = cfg.read_text()
    assert text.startswith('# my monitor\nsymbols = ["IWM", "SPY", "QQQ"]\nrefresh = 30  # seconds\n')
    assert text.endswith(CONFIG[CONFIG.index("\n[breakout]") :])
    s = load_settings(cfg, {})
    assert s.symbols == ("IWM", "SPY", "QQQ") and s.refresh == 30 and s.breakout.level == 2565
    assert dict(s.keys) == {"feed.refresh": "f5"}


def test_a_missing_key_goes_above_the_first_table(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    save_top_level(cfg, {"theme": "nord"})
    data = tomllib.loads(cfg.read_text())
    assert data["theme"] == "nord" and "theme" not in data["breakout"]
    assert load_settings(cfg, {}).theme == "nord"


def test_no_file_yet_creates_one(tmp_path: Path) -> None:
    cfg = tmp_path / "sub" / "config.toml"
    save_top_level(cfg, {"symbols": ["IWM"], "theme": "dracula"})
    assert tomllib.loads(cfg.read_text()) == {"symbols": ["IWM"], "theme": "dracula"}


def test_an_unreadable_file_is_left_alone(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("symbols = [\n")  # broken: the user is editing it
    with pytest.raises(ConfigError, match="not updated"):
        save_top_level(cfg, {"symbols": ["IWM"]})
    assert cfg.read_text() == "symbols = [\n"


def test_keys_table_and_theme_are_validated(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[keys]\n"feed.refresh" = "ctrl+r, f5"\n')
    assert dict(load_settings(cfg, {}).keys) == {"feed.refresh": "ctrl+r,f5"}
    cfg.write_text('[keys]\n"feed.refresh" = "ctrl r"\n')
    with pytest.raises(ConfigError, match=r"keys\.feed\.refresh: 'ctrl r' is not a key name"):
        load_settings(cfg, {})
    cfg.write_text('theme = "neon"\n')
    with pytest.raises(ConfigError, match="theme: expected a theme"):
        load_settings(cfg, {})


def test_a_key_can_be_remapped_from_the_command_line(tmp_path: Path) -> None:
    from tui.cli import parse

    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    s = parse(["--config", str(cfg), "--set", "keys.feed.refresh=f5"]).settings
    assert dict(s.keys) == {"feed.refresh": "f5"}


def test_an_unknown_binding_id_in_keys_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.cli import main

    cfg = tmp_path / "config.toml"
    cfg.write_text('[keys]\n"feed.refressh" = "f5"\n')
    assert main(["--config", str(cfg), "--demo"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"breakout-monitor: error: {cfg}: keys.feed.refressh: no such binding (did you mean 'feed.refresh'?)"
    ]
