"""Settings: a TOML file in the platform config dir (or --config FILE), each option overridable on the
command line. Anything wrong is one `ConfigError` line naming the file, the key and the problem."""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

from services.breakout import BreakoutRules

APP_NAME = "breakout-monitor"
DEFAULT_SYMBOLS = ("IWM", "SPY", "^RUT", "^GSPC", "^TNX", "^VIX")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_SYMBOL_RE = re.compile(r"^\^?[A-Z0-9][A-Z0-9.=\-]{0,14}$")


class ConfigError(Exception):
    """Bad configuration or command-line input; the message is one line for the user."""


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def default_log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True, slots=True)
class Settings:
    """Every option, validated."""

    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    """The watchlist. The first two get full quote cards and indicator readouts (the thesis pair,
    IWM and SPY); the others go in the compact strip."""
    refresh: float = 15.0
    """Seconds between quote polls while a market session is open."""
    cache_dir: Path = field(default_factory=default_cache_dir)
    use_cache: bool = True
    log_dir: Path = field(default_factory=default_log_dir)
    log_level: str = "INFO"
    breakout: BreakoutRules = field(default_factory=BreakoutRules)
    config_path: Path | None = None
    """The file these settings were read from (None: defaults only)."""


# ---------------------------------------------------------------------- validators
def symbol(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f'{where}: expected a symbol such as "IWM" or "^RUT", got {value!r}')
    text = value.strip().upper()
    if not _SYMBOL_RE.match(text):
        raise ConfigError(f"{where}: {value!r} is not a valid ticker symbol")
    return text


def symbol_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(f"{where}: expected a non-empty list of symbols")
    out = tuple(dict.fromkeys(symbol(v, where) for v in value))
    if len(out) > 12:
        raise ConfigError(f"{where}: at most 12 symbols fit on the dashboard, got {len(out)}")
    return out


def number(value: object, where: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or not lo <= v <= hi:
        raise ConfigError(f"{where}: {v:g} is out of range ({lo:g} to {hi:g})")
    return v


def integer(value: object, where: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(f"{where}: {value} is out of range ({lo} to {hi})")
    return value


def number_list(value: object, where: str, lo: float, hi: float) -> tuple[float, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(f"{where}: expected a non-empty list of numbers")
    out = tuple(number(v, where, lo, hi) for v in value)
    if list(out) != sorted(out) or len(set(out)) != len(out):
        raise ConfigError(f"{where}: targets must be distinct and in ascending order")
    return out


def path(value: object, where: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a path")
    return Path(value).expanduser()


def log_level(value: object, where: str) -> str:
    if not isinstance(value, str) or value.upper() not in LOG_LEVELS:
        raise ConfigError(f"{where}: expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return value.upper()


_TOP: dict[str, Callable[[object, str], object]] = {
    "symbols": symbol_list,
    "refresh": lambda v, w: number(v, w, 1.0, 3600.0),
    "cache_dir": path,
    "log_dir": path,
    "log_level": log_level,
}
_BREAKOUT: dict[str, Callable[[object, str], object]] = {
    "symbol": symbol,
    "level": lambda v, w: number(v, w, 0.0001, 1e9),
    "targets": lambda v, w: number_list(v, w, 0.0001, 1e9),
    "testing_band_pct": lambda v, w: number(v, w, 0.0, 50.0),
    "confirm_closes": lambda v, w: integer(v, w, 1, 100),
    "fail_buffer_pct": lambda v, w: number(v, w, 0.0, 50.0),
}


def _suggest(key: str, known: Mapping[str, object]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


CLI_FLAGS = {
    "symbols": "--symbols",
    "refresh": "--refresh",
    "cache_dir": "--cache-dir",
    "log_level": "--log-level",
    "log_dir": "--log-dir",
    "breakout.testing_band_pct": "--testing-band-pct",
    "breakout.confirm_closes": "--confirm-closes",
    "breakout.fail_buffer_pct": "--fail-buffer-pct",
    "breakout.symbol": "--breakout-symbol",
    "breakout.level": "--level",
    "breakout.targets": "--targets",
}


def _apply(settings: Settings, data: Mapping[str, Any], where: Callable[[str], str]) -> Settings:
    """Validate `data` (TOML-shaped) onto `settings`; `where(key)` names a key in error messages."""
    top: dict[str, Any] = {}
    rules = settings.breakout
    for key, value in data.items():
        if key == "breakout":
            if not isinstance(value, dict):
                raise ConfigError(f"{where('breakout')}: must be a table ([breakout])")
            changes: dict[str, Any] = {}
            for bkey, bvalue in value.items():
                check = _BREAKOUT.get(bkey)
                if check is None:
                    raise ConfigError(f"{where('breakout.' + bkey)}: unknown key{_suggest(bkey, _BREAKOUT)}")
                changes[bkey] = check(bvalue, where("breakout." + bkey))
            rules = replace(rules, **changes)
            continue
        check = _TOP.get(key)
        if check is None:
            raise ConfigError(f"{where(key)}: unknown key{_suggest(key, {**_TOP, 'breakout': 0})}")
        top[key] = check(value, where(key))
    if rules.targets and rules.targets[0] <= rules.level:
        raise ConfigError(
            f"{where('breakout.targets')}: targets must be above the level ({rules.level:g}), got "
            + ", ".join(f"{t:g}" for t in rules.targets)
        )
    return replace(settings, **top, breakout=rules)


def load_settings(config_file: Path | None, overrides: Mapping[str, Any]) -> Settings:
    """Read the config file (the explicit one, else the default one if it exists), then apply the
    command-line overrides (keys as in the file, breakout ones spelt "breakout.level")."""
    settings = Settings()
    explicit = config_file is not None
    cfg_path = config_file if config_file is not None else default_config_path()
    if explicit or cfg_path.exists():
        try:
            raw = cfg_path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{cfg_path}: cannot read the config file ({exc.strerror or exc})") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ConfigError(f"{cfg_path}: not a UTF-8 text file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{cfg_path}: invalid TOML: {exc}") from None
        settings = _apply(settings, data, lambda key: f"{cfg_path}: {key}")
        settings = replace(settings, config_path=cfg_path)
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        if key.startswith("breakout."):
            nested.setdefault("breakout", {})[key.split(".", 1)[1]] = value
        else:
            nested[key] = value
    use_cache = nested.pop("use_cache", True)
    settings = _apply(settings, nested, lambda key: CLI_FLAGS.get(key, key))
    return replace(settings, use_cache=bool(use_cache))
