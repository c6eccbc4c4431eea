"""Configuration: the TOML file, command-line overrides, and one clear line for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.cli import parse
from tui.config import ConfigError, Settings, load_settings


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text)
    return p


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui.config.default_config_path", lambda: tmp_path / "absent.toml")
    s = load_settings(None, {})
    assert s == Settings(config_path=None, cache_dir=s.cache_dir, log_dir=s.log_dir)
    assert s.symbols == ("IWM", "SPY", "^RUT", "^GSPC", "^TNX", "^VIX")
    assert (s.breakout.level, s.breakout.targets, s.refresh) == (2565.0, (2600.0, 3000.0), 15.0)


def test_file_values_then_command_line_overrides(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        'symbols = ["iwm", "SPY", "^RUT"]\nrefresh = 30\ncache_dir = "~/bm-cache"\n'
        "[breakout]\nlevel = 2500\ntargets = [2600, 2800]\nconfirm_closes = 2\n",
    )
    s = load_settings(cfg, {})
    assert s.symbols == ("IWM", "SPY", "^RUT") and s.refresh == 30.0
    assert s.cache_dir == Path("~/bm-cache").expanduser() and s.config_path == cfg
    assert (s.breakout.level, s.breakout.targets, s.breakout.confirm_closes) == (2500.0, (2600.0, 2800.0), 2)
    o = load_settings(cfg, {"refresh": 5.0, "breakout.level": 2565.0, "use_cache": False})
    assert (
        o.refresh == 5.0 and o.breakout.level == 2565.0 and o.breakout.confirm_closes == 2 and not o.use_cache
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("refresh = 10\ncolour = 'red'\n", "colour: unknown key"),
        ("[breakout]\nlevl = 3\n", "breakout.levl: unknown key (did you mean 'level'?)"),
        ('refresh = "fast"\n', "refresh: expected a number, got 'fast'"),
        ("refresh = 0\n", "refresh: 0 is out of range (1 to 3600)"),
        ("refresh = true\n", "refresh: expected a number, got True"),
        ('symbols = ["IWM", "b@d"]\n', "symbols: 'b@d' is not a valid ticker symbol"),
        ("symbols = []\n", "symbols: expected a non-empty list of symbols"),
        (
            "[breakout]\ntargets = [3000, 2600]\n",
            "breakout.targets: targets must be distinct and in ascending order",
        ),
        (
            "[breakout]\ntargets = [2500]\n",
            "breakout.targets: targets must be above the level (2565), got 2500",
        ),
        ("[breakout]\nconfirm_closes = 2.5\n", "breakout.confirm_closes: expected a whole number, got 2.5"),
        ("breakout = 3\n", "breakout: must be a table"),
        ("refresh = [\n", "invalid TOML"),
        ('log_level = "LOUD"\n', "log_level: expected one of DEBUG, INFO, WARNING, ERROR, got 'LOUD'"),
    ],
)
def test_each_mistake_is_one_line_naming_file_key_and_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, {})
    msg = str(info.value)
    assert msg.startswith(str(cfg)) and expected in msg and "\n" not in msg


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent\.toml: cannot read the config file \(No such file"):
        load_settings(tmp_path / "absent.toml", {})
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"refresh = 10 # caf\xe9\n")
    with pytest.raises(ConfigError, match="not a UTF-8 text file"):
        load_settings(bad, {})


def test_command_line_mistakes_name_the_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui.config.default_config_path", lambda: tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match=r"^--refresh: 0\.5 is out of range"):
        load_settings(None, {"refresh": 0.5})
    with pytest.raises(ConfigError, match=r"^--targets: targets must be above the level"):
        load_settings(None, {"breakout.level": 2700.0})
    with pytest.raises(ConfigError, match=r"^--symbols: '\$\$\$' is not a valid ticker symbol"):
        load_settings(None, {"symbols": ["IWM", "$$$"]})


def test_every_option_can_be_set_on_the_command_line(tmp_path: Path) -> None:
    from tui.cli import parse

    inv = parse(
        [
            "--config", str(write(tmp_path, "")),
            "--symbols", "IWM,SPY", "--refresh", "30", "--cache-dir", str(tmp_path / "c"),
            "--log-dir", str(tmp_path / "l"), "--log-level", "debug", "--no-cache",
            "--breakout-symbol", "IWM", "--level", "250", "--targets", "260,300",
            "--testing-band-pct", "2", "--confirm-closes", "5", "--fail-buffer-pct", "0.5",
        ]
    )  # fmt: skip
    s = inv.settings
    assert s.symbols == ("IWM", "SPY") and s.refresh == 30.0 and not s.use_cache
    assert (s.cache_dir, s.log_dir, s.log_level) == (tmp_path / "c", tmp_path / "l", "DEBUG")
    b = s.breakout
    assert (b.symbol, b.level, b.targets) == ("IWM", 250.0, (260.0, 300.0))
    assert (b.testing_band_pct, b.confirm_closes, b.fail_buffer_pct) == (2.0, 5, 0.5)


# A valid value for every key of the file: each is set with `--set` and must come out in the settings.
SET_VALUES = {
    "symbols": ('["IWM","QQQ"]', ("IWM", "QQQ")),
    "refresh": ("30", 30.0),
    "extended_refresh": ("120", 120.0),
    "stream": ("false", False),
    "low_bandwidth": ("true", True),
    "cache_dir": ("/tmp/c", Path("/tmp/c")),
    "data_dir": ("/tmp/d", Path("/tmp/d")),
    "log_dir": ("/tmp/l", Path("/tmp/l")),
    "log_level": ("debug", "DEBUG"),
    "digest_idle_minutes": ("15", 15.0),
    "theme": ("nord", "nord"),
    "export_dir": ("/tmp/e", Path("/tmp/e")),
    "breakout.symbol": ("^RUT", "^RUT"),
    "breakout.level": ("2500", 2500.0),
    "breakout.targets": ("[2600, 2700]", (2600.0, 2700.0)),
    "breakout.testing_band_pct": ("2", 2.0),
    "breakout.confirm_closes": ("4", 4),
    "breakout.fail_buffer_pct": ("0.5", 0.5),
    "breakout.etf": ("IWM", "IWM"),
    "breakout.iwm_per_rut": ("0.1", 0.1),
    "breakout.market": ("VOO", "VOO"),
    "breakout.yields": ("^TYX", "^TYX"),
    "breakout.rsi_bull_low": ("45", 45.0),
    "breakout.rsi_bull_high": ("75", 75.0),
    "breakout.market_return_sessions": ("10", 10),
    "breakout.rs_sma": ("30", 30),
    "breakout.volume_sessions": ("20", 20),
    "breakout.yield_spike_bp": ("30", 30.0),
    "breakout.yield_window": ("15", 15),
    "breakout.drawdown_warn_pct": ("8", 8.0),
    "breakout.drawdown_alarm_pct": ("25", 25.0),
    "breakout.high_window": ("200", 200),
    "breakout.bull_trap_sessions": ("5", 5),
    "breakout.range_years": ("3", 3.0),
    "alerts.toast": ("false", False),
    "alerts.bell": ("false", False),
    "alerts.desktop": ("osc777", "osc777"),
    "alerts.cooldown_s": ("60", 60.0),
    "alerts.command": ('["notify-send", "breakout"]', ("notify-send", "breakout")),
    "alerts.command_timeout_s": ("5", 5.0),
}


def test_every_key_of_the_file_can_be_set_with_set(tmp_path: Path) -> None:
    import tui.config as config

    file_keys = set(config._TOP) | {f"{t}.{k}" for t, keys in config._TABLES.items() for k in keys}
    assert file_keys == set(SET_VALUES)
    argv = ["--config", str(write(tmp_path, ""))]
    for key, (text, _) in SET_VALUES.items():
        argv += ["--set", f"{key}={text}"]
    s = parse(argv).settings
    for key, (_, expected) in SET_VALUES.items():
        table, _, leaf = key.rpartition(".")
        holder = getattr(s, table) if table else s
        assert getattr(holder, leaf) == expected, key


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("breakout.nope=1", "--set breakout.nope: unknown key"),
        ("level", "--set level: expected KEY=VALUE"),
        ("alerts.desktop=osc8", "--set alerts.desktop: expected one of osc9, osc777, both, off, got 'osc8'"),
        ("alerts.command=notify-send", "--set alerts.command: expected an argument list"),
        ("breakout.yield_window=0", "--set breakout.yield_window: 0 is out of range (1 to 1000)"),
        ("breakout.drawdown_warn_pct=30", "breakout.drawdown_warn_pct: must be below drawdown_alarm_pct"),
    ],
)
def test_bad_set_values_are_one_line_errors(tmp_path: Path, item: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse(["--config", str(write(tmp_path, "")), "--set", item])
    assert message in str(exc.value) and "\n" not in str(exc.value)
