"""Settings: a TOML file in the platform config dir (or --config FILE), each option overridable on the
command line. Anything wrong is one `ConfigError` line naming the file, the key and the problem."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

from services.alerts import DESKTOP_MODES, AlertSettings
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


def default_data_dir() -> Path:
    """User data that is not a cache (the event journal)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_export_dir() -> Path:
    """Where `e` writes screenshots and CSVs: a visible folder in the home directory, not a hidden one."""
    return Path.home() / "breakout-monitor-exports"


def default_log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True, slots=True)
class Settings:
    """Every option, validated."""

    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    """The watchlist. The first two get full quote cards and indicator readouts (the thesis pair,
    IWM and SPY); the others go in the compact strip."""
    refresh: float = 15.0
    """Seconds between quote polls during the regular session."""
    extended_refresh: float = 60.0
    """Seconds between quote polls in pre-market and after-hours (none while the market is closed)."""
    stream: bool = True
    """Live quotes by Yahoo's WebSocket streamer; polling fills in the bars and takes over while the
    stream is down."""
    low_bandwidth: bool = False
    """For mosh and slow links: 10 frames a second at most, no animations or price flashes, 16 colours."""
    cache_dir: Path = field(default_factory=default_cache_dir)
    use_cache: bool = True
    log_dir: Path = field(default_factory=default_log_dir)
    log_level: str = "INFO"
    data_dir: Path = field(default_factory=default_data_dir)
    """Where the event journal lives (user data: deleting the cache never loses it)."""
    digest_idle_minutes: float = 60.0
    """After this long without a key press or focus, coming back shows "while you were away"."""
    breakout: BreakoutRules = field(default_factory=BreakoutRules)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    theme: str = "textual-dark"
    """A Textual built-in theme; chosen in the app (command palette) and remembered here."""
    export_dir: Path = field(default_factory=default_export_dir)
    keys: tuple[tuple[str, str], ...] = ()
    """Key remaps from the `[keys]` table: (binding id, keys), e.g. ("feed.refresh", "f5,r")."""
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


def boolean(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    return value


def choice(options: tuple[str, ...]) -> Callable[[object, str], str]:
    def check(value: object, where: str) -> str:
        if not isinstance(value, str) or value not in options:
            raise ConfigError(f"{where}: expected one of {', '.join(options)}, got {value!r}")
        return value

    return check


def argv(value: object, where: str) -> tuple[str, ...]:
    """A command as an argument list: a shell string would invite quoting bugs and injection."""
    if isinstance(value, str):
        raise ConfigError(
            f'{where}: expected an argument list such as ["notify-send", "breakout"], not a string'
        )
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of non-empty strings")
    return tuple(value)


def path(value: object, where: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a path")
    return Path(value).expanduser()


def theme(value: object, where: str) -> str:
    from textual.theme import BUILTIN_THEMES

    if not isinstance(value, str) or value not in BUILTIN_THEMES:
        raise ConfigError(f"{where}: expected a theme ({', '.join(BUILTIN_THEMES)}), got {value!r}")
    return value


_KEY_RE = re.compile(r"^[a-z0-9_+\-]+$")


def key_list(value: object, where: str) -> str:
    """Textual key names separated by commas: "f5", "ctrl+r", "j,down"."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f'{where}: expected keys such as "f5" or "ctrl+r,r", got {value!r}')
    keys = [k.strip() for k in value.split(",")]
    for k in keys:
        if not k or not _KEY_RE.match(k):
            raise ConfigError(f"{where}: {k!r} is not a key name (e.g. r, f5, ctrl+r, question_mark)")
    return ",".join(keys)


def log_level(value: object, where: str) -> str:
    if not isinstance(value, str) or value.upper() not in LOG_LEVELS:
        raise ConfigError(f"{where}: expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return value.upper()


_TOP: dict[str, Callable[[object, str], object]] = {
    "symbols": symbol_list,
    "refresh": lambda v, w: number(v, w, 1.0, 3600.0),
    "extended_refresh": lambda v, w: number(v, w, 1.0, 3600.0),
    "stream": boolean,
    "low_bandwidth": boolean,
    "cache_dir": path,
    "data_dir": path,
    "log_dir": path,
    "digest_idle_minutes": lambda v, w: number(v, w, 1.0, 100000.0),
    "log_level": log_level,
    "theme": theme,
    "export_dir": path,
}
_BREAKOUT: dict[str, Callable[[object, str], object]] = {
    "symbol": symbol,
    "level": lambda v, w: number(v, w, 0.0001, 1e9),
    "targets": lambda v, w: number_list(v, w, 0.0001, 1e9),
    "testing_band_pct": lambda v, w: number(v, w, 0.0, 50.0),
    "confirm_closes": lambda v, w: integer(v, w, 1, 100),
    "fail_buffer_pct": lambda v, w: number(v, w, 0.0, 50.0),
    "etf": symbol,
    "iwm_per_rut": lambda v, w: number(v, w, 1e-6, 1e6),
    "market": symbol,
    "yields": symbol,
    "rsi_bull_low": lambda v, w: number(v, w, 0.0, 100.0),
    "rsi_bull_high": lambda v, w: number(v, w, 0.0, 100.0),
    "market_return_sessions": lambda v, w: integer(v, w, 1, 1000),
    "rs_sma": lambda v, w: integer(v, w, 2, 1000),
    "volume_sessions": lambda v, w: integer(v, w, 1, 1000),
    "yield_spike_bp": lambda v, w: number(v, w, 0.1, 1000.0),
    "yield_window": lambda v, w: integer(v, w, 1, 1000),
    "drawdown_warn_pct": lambda v, w: number(v, w, 0.1, 99.0),
    "drawdown_alarm_pct": lambda v, w: number(v, w, 0.1, 99.0),
    "high_window": lambda v, w: integer(v, w, 2, 5000),
    "bull_trap_sessions": lambda v, w: integer(v, w, 1, 1000),
    "range_years": lambda v, w: number(v, w, 0.1, 50.0),
}
_ALERTS: dict[str, Callable[[object, str], object]] = {
    "toast": boolean,
    "bell": boolean,
    "desktop": choice(DESKTOP_MODES),
    "cooldown_s": lambda v, w: number(v, w, 0.0, 86400.0),
    "command": argv,
    "command_timeout_s": lambda v, w: number(v, w, 0.1, 600.0),
}
_TABLES: dict[str, dict[str, Callable[[object, str], object]]] = {"breakout": _BREAKOUT, "alerts": _ALERTS}
FREE_TABLES = {"keys": key_list}
"""Tables whose keys are not fixed here: `[keys]` is keyed by binding ids, checked by the app."""


def _suggest(key: str, known: Mapping[str, object]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


CLI_FLAGS = {
    "low_bandwidth": "--low-bandwidth",
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
"""The dedicated flag of a key; every other key is set with `--set KEY=VALUE` (a TOML value)."""


def _apply(settings: Settings, data: Mapping[str, Any], where: Callable[[str], str]) -> Settings:
    """Validate `data` (TOML-shaped) onto `settings`; `where(key)` names a key in error messages."""
    top: dict[str, Any] = {}
    tables: dict[str, Any] = {"breakout": settings.breakout, "alerts": settings.alerts}
    keys = dict(settings.keys)
    for key, value in data.items():
        if key in FREE_TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"{where(key)}: must be a table ([{key}])")
            for tkey, tvalue in value.items():
                keys[tkey] = key_list(tvalue, where(f"{key}.{tkey}"))
            continue
        if key in _TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"{where(key)}: must be a table ([{key}])")
            known = _TABLES[key]
            changes: dict[str, Any] = {}
            for tkey, tvalue in value.items():
                check = known.get(tkey)
                if check is None:
                    raise ConfigError(f"{where(key + '.' + tkey)}: unknown key{_suggest(tkey, known)}")
                changes[tkey] = check(tvalue, where(key + "." + tkey))
            tables[key] = replace(tables[key], **changes)
            continue
        check = _TOP.get(key)
        if check is None:
            raise ConfigError(f"{where(key)}: unknown key{_suggest(key, {**_TOP, **_TABLES})}")
        top[key] = check(value, where(key))
    rules: BreakoutRules = tables["breakout"]
    if rules.targets and rules.targets[0] <= rules.level:
        raise ConfigError(
            f"{where('breakout.targets')}: targets must be above the level ({rules.level:g}), got "
            + ", ".join(f"{t:g}" for t in rules.targets)
        )
    if rules.rsi_bull_low >= rules.rsi_bull_high:
        raise ConfigError(f"{where('breakout.rsi_bull_low')}: must be below rsi_bull_high")
    if rules.drawdown_warn_pct >= rules.drawdown_alarm_pct:
        raise ConfigError(f"{where('breakout.drawdown_warn_pct')}: must be below drawdown_alarm_pct")
    return replace(settings, **top, breakout=rules, alerts=tables["alerts"], keys=tuple(keys.items()))


def _split_key(key: str) -> tuple[str, str]:
    """("breakout", "level") from "breakout.level"; binding ids have dots: "keys.feed.refresh"."""
    for table in FREE_TABLES:
        if key.startswith(table + "."):
            return table, key[len(table) + 1 :]
    table, _, leaf = key.rpartition(".")
    return table, leaf


def parse_set(text: str) -> tuple[str, Any]:
    """`--set breakout.yield_spike_bp=30` or `--set 'alerts.command=["notify-send","x"]'`: a key as in
    the file and a TOML value (a bare word is taken as a string)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text}: expected KEY=VALUE, e.g. breakout.yield_spike_bp=30")
    table, leaf = _split_key(key)
    known = _TABLES.get(table) if table else _TOP
    if table not in FREE_TABLES and (known is None or leaf not in known):
        raise ConfigError(f"--set {key}: unknown key")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


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
        table, leaf = _split_key(key)
        if table:
            nested.setdefault(table, {})[leaf] = value
        else:
            nested[key] = value
    use_cache = nested.pop("use_cache", True)
    settings = _apply(settings, nested, lambda key: CLI_FLAGS.get(key, f"--set {key}"))
    return replace(settings, use_cache=bool(use_cache))


# ---------------------------------------------------------------------- writing back
def _toml_value(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    raise TypeError(f"cannot write {value!r} as TOML")


def save_top_level(config_path: Path, values: Mapping[str, object]) -> None:
    """Set top-level keys (`symbols`, `theme`) in the config file, keeping every other line as written.

    The edit is checked before it is written (the file must parse and mean the same apart from these
    keys), and written atomically: a failure leaves the old file untouched and raises ConfigError.
    """
    try:
        text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
        before = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{config_path}: not updated, cannot read it ({exc})") from None
    lines = text.splitlines(keepends=True)
    first_table = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("[")), len(lines))
    for key, value in values.items():
        assignment = f"{key} = {_toml_value(value)}\n"
        start = next((i for i in range(first_table) if re.match(rf"\s*{re.escape(key)}\s*=", lines[i])), None)
        if start is None:
            at = first_table
            while at > 0 and not lines[at - 1].strip():  # above the blank lines before the first table
                at -= 1
            if at and not lines[at - 1].endswith("\n"):
                lines[at - 1] += "\n"
            lines.insert(at, assignment)
            first_table += 1
            continue
        end = start + 1  # a multi-line array ends where the lines so far parse on their own
        while end < first_table:
            try:
                tomllib.loads("".join(lines[start:end]))
                break
            except tomllib.TOMLDecodeError:
                end += 1
        lines[start:end] = [assignment]
        first_table -= end - start - 1
    new_text = "".join(lines)
    after = tomllib.loads(new_text)
    expected = {**before, **{k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}}
    if after != expected:
        raise ConfigError(f"{config_path}: not updated, the edit would change other settings")
    try:
        config_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=config_path.parent, prefix=".config-", suffix=".toml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(new_text)
                f.flush()
                os.fsync(f.fileno())
            if config_path.exists():
                os.chmod(tmp, config_path.stat().st_mode & 0o777)
            os.replace(tmp, config_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise ConfigError(f"{config_path}: not updated ({exc.strerror or exc})") from None
