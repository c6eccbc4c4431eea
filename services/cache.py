"""SQLite cache of bars and last quotes, so start-up paints at once and only the missing tail is fetched.

One file in the platform cache dir, WAL journal (readers never block the writer, and a process killed
mid-write leaves the last committed state intact). Bars are keyed by (symbol, interval, ts). All methods
block: call them from a worker thread, never from the event loop.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import time
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from services.models import BarSeries, Interval, MarketSession, Quote

log = logging.getLogger(__name__)

CACHE_FILE_NAME = "breakout-monitor.sqlite3"
APPLICATION_ID = 0x42524B4F  # "BRKO": tells our cache from any other SQLite file at the same path
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bars (
    symbol    TEXT    NOT NULL,
    interval  TEXT    NOT NULL,
    ts        INTEGER NOT NULL,
    open      REAL    NOT NULL,
    high      REAL    NOT NULL,
    low       REAL    NOT NULL,
    close     REAL    NOT NULL,
    adj_close REAL,
    volume    REAL    NOT NULL,
    PRIMARY KEY (symbol, interval, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quotes (
    symbol     TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    fetched_at REAL NOT NULL
);
"""


class CacheError(Exception):
    """The cache file cannot be used (unreadable directory, disk full...)."""


@dataclass(frozen=True, slots=True)
class CachedQuote:
    quote: Quote
    fetched_at: datetime


def _quote_to_json(q: Quote) -> str:
    return json.dumps(
        {
            "symbol": q.symbol,
            "last": q.last,
            "prev_close": q.prev_close,
            "day_open": q.day_open,
            "day_high": q.day_high,
            "day_low": q.day_low,
            "volume": q.volume,
            "time": q.time.isoformat(),
            "session": q.session.value,
            "trading_day": q.trading_day.isoformat(),
        }
    )


def _quote_from_json(text: str) -> Quote:
    d = json.loads(text)
    return Quote(
        symbol=d["symbol"],
        last=float(d["last"]),
        prev_close=d["prev_close"],
        day_open=d["day_open"],
        day_high=d["day_high"],
        day_low=d["day_low"],
        volume=d["volume"],
        time=datetime.fromisoformat(d["time"]),
        session=MarketSession(d["session"]),
        trading_day=date.fromisoformat(d["trading_day"]),
    )


class BarStore:
    """The cache. Thread-safe: one connection guarded by a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.notice: str | None = None
        """Set when the file found at `path` was unusable and was moved aside (shown in the status bar)."""
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"cannot create cache directory {path.parent}: {exc.strerror}") from exc
        try:
            self._db = self._connect()
        except sqlite3.DatabaseError as exc:
            moved = self._move_aside(str(exc))
            self.notice = f"cache {path.name} was unreadable ({exc}); moved aside to {moved.name}, rebuilding"
            log.warning(self.notice)
            self._db = self._connect()

    @classmethod
    def in_dir(cls, cache_dir: Path) -> BarStore:
        return cls(cache_dir / CACHE_FILE_NAME)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout = 10000")
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if app_id == 0 and tables:
                raise sqlite3.DatabaseError("not a breakout-monitor cache (foreign SQLite file)")
            if app_id not in (0, APPLICATION_ID):
                raise sqlite3.DatabaseError(f"not a breakout-monitor cache (application_id {app_id:#x})")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if tables and version != SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"cache schema version {version}, expected {SCHEMA_VERSION}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _move_aside(self, reason: str) -> Path:
        """Never delete a file we did not write: rename it (and its WAL files) next to itself."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.unusable-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                src.rename(Path(str(target) + suffix))
        log.warning("cache %s moved aside to %s: %s", self.path, target, reason)
        return target

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ bars
    def load_bars(self, symbol: str, interval: Interval, since_ts: int | None = None) -> BarSeries:
        """Cached bars of one symbol, oldest first (from `since_ts` inclusive when given)."""
        sql = (
            "SELECT ts, open, high, low, close, volume, adj_close FROM bars WHERE symbol = ? AND interval = ?"
        )
        args: tuple[object, ...] = (symbol, interval.value)
        if since_ts is not None:
            sql += " AND ts >= ?"
            args += (since_ts,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY ts", args).fetchall()
        cols = list(zip(*rows, strict=True)) if rows else [(), (), (), (), (), (), ()]
        return BarSeries(
            symbol,
            interval,
            array("q", cols[0]),
            array("d", cols[1]),
            array("d", cols[2]),
            array("d", cols[3]),
            array("d", cols[4]),
            array("d", cols[5]),
            array("d", (math.nan if v is None else v for v in cols[6])),
        )

    def load_tail(self, symbol: str, interval: Interval, n: int) -> BarSeries:
        """The newest `n` cached bars (what a sparkline needs at start-up), oldest first."""
        with self._lock:
            row = self._db.execute(
                "SELECT ts FROM bars WHERE symbol = ? AND interval = ? ORDER BY ts DESC LIMIT 1 OFFSET ?",
                (symbol, interval.value, max(0, n - 1)),
            ).fetchone()
        return self.load_bars(symbol, interval, None if row is None else int(row[0]))

    def last_ts(self, symbol: str, interval: Interval) -> int | None:
        with self._lock:
            row = self._db.execute(
                "SELECT MAX(ts) FROM bars WHERE symbol = ? AND interval = ?", (symbol, interval.value)
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    @staticmethod
    def _rows(series: BarSeries) -> Iterable[tuple[object, ...]]:
        for b in series:
            adj = None if math.isnan(b.adj_close) else b.adj_close
            yield (series.symbol, series.interval.value, b.ts, b.open, b.high, b.low, b.close, adj, b.volume)

    def save_bars(self, series: BarSeries, replace: bool = False) -> None:
        """Upsert the bars in one transaction; with `replace`, drop every cached bar of that symbol and
        interval first (after a split or dividend re-adjusted the whole history)."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                if replace:
                    self._db.execute(
                        "DELETE FROM bars WHERE symbol = ? AND interval = ?",
                        (series.symbol, series.interval.value),
                    )
                self._db.executemany(
                    "INSERT OR REPLACE INTO bars VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self._rows(series)
                )
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def prune(self, interval: Interval, before_ts: int) -> None:
        """Forget bars of `interval` older than `before_ts` (old intraday paths)."""
        with self._lock:
            self._db.execute("DELETE FROM bars WHERE interval = ? AND ts < ?", (interval.value, before_ts))

    # ------------------------------------------------------------------ quotes
    def save_quote(self, quote: Quote, fetched_at: datetime) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO quotes VALUES (?, ?, ?)",
                (quote.symbol, _quote_to_json(quote), fetched_at.timestamp()),
            )

    def load_quotes(self, symbols: Iterable[str]) -> dict[str, CachedQuote]:
        wanted = list(symbols)
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        with self._lock:
            rows = self._db.execute(
                f"SELECT data, fetched_at FROM quotes WHERE symbol IN ({marks})", wanted
            ).fetchall()
        out: dict[str, CachedQuote] = {}
        for data, fetched_at in rows:
            try:
                q = _quote_from_json(data)
            except (ValueError, KeyError, TypeError):
                continue  # a row we cannot read is simply not painted; the next fetch replaces it
            out[q.symbol] = CachedQuote(q, datetime.fromtimestamp(fetched_at, UTC))
        return out

    def integrity_check(self) -> str:
        with self._lock:
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])
