"""SQLite cache of bars and last quotes, so start-up paints at once and only the missing tail is fetched.

One file in the platform cache dir, WAL journal: readers never block the writer. Bars are keyed by
(symbol, interval, ts). All methods block: call them from a worker thread, never from the event loop.

Durability: every write method is one transaction, so a process killed at any moment (kill -9, the
OOM killer, a dropped SSH session taking tmux down) leaves exactly the writes that returned, each whole.
`synchronous = NORMAL` in WAL mode does not fsync at each commit: a power loss or an OS crash may lose
the last few transactions (never the file's consistency). That is the right trade for a cache: what
is lost is refetched.

Files it must not trust are moved aside with a notice, never deleted: a corrupt or truncated file,
random bytes, another program's SQLite file, an older schema. A cache written by a newer
breakout-monitor is left alone (that version may be running now) and this one runs without a cache.

Several instances on one machine share the file. Writes wait for each other (busy timeout); a wait
longer than that timeout raises CacheError, like every other failure of the file. A fetch lease
(`try_lease`) lets one instance talk to Yahoo while the others read what it saved.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import threading
import time
import uuid
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from services.models import BarSeries, ExtendedQuote, Interval, MarketSession, Quote

log = logging.getLogger(__name__)

CACHE_FILE_NAME = "breakout-monitor.sqlite3"
APPLICATION_ID = 0x42524B4F  # "BRKO": tells our cache from any other SQLite file at the same path
SCHEMA_VERSION = 1
"""Bumped only for changes older code cannot live with (a changed column or key). Adding a table
with CREATE TABLE IF NOT EXISTS is not one: the `leases` table came that way, so an older instance
still running during an upgrade keeps sharing the file instead of moving it aside."""

DEFAULT_BUSY_TIMEOUT_S = 10.0
"""How long a write waits for another instance's write before giving up with CacheError."""

_TABLES = {
    "bars": """CREATE TABLE IF NOT EXISTS bars (
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
    ) WITHOUT ROWID""",
    "quotes": """CREATE TABLE IF NOT EXISTS quotes (
        symbol     TEXT PRIMARY KEY,
        data       TEXT NOT NULL,
        fetched_at REAL NOT NULL
    )""",
    # Who may fetch from Yahoo now; `expires_at` in epoch seconds, so a killed holder's lease lapses.
    "leases": """CREATE TABLE IF NOT EXISTS leases (
        name       TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        expires_at REAL NOT NULL
    )""",
}

# Result codes (low byte of the extended code) that mean "the file itself is bad": move it aside.
_BROKEN_FILE = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_NOT_WRITABLE = {sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM}


class CacheError(Exception):
    """The cache cannot be used now (unwritable directory, disk full, held too long by another
    instance, closed...). The message is one line, fit for the status bar."""


class _UnusableFileError(Exception):
    """The file at the cache path is not a cache we can use: move it aside and start a new one."""


@dataclass(frozen=True, slots=True)
class CachedQuote:
    quote: Quote
    fetched_at: datetime


def new_lease_holder() -> str:
    """A holder name unique to this process and call, for `BarStore.try_lease`."""
    return f"pid {os.getpid()} {uuid.uuid4().hex[:8]}"


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _result_code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _quote_to_json(q: Quote) -> str:
    x = q.extended
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
            "extended": None
            if x is None
            else {"price": x.price, "time": x.time.isoformat(), "session": x.session.value},
        }
    )


def _quote_from_json(text: str) -> Quote:
    d = json.loads(text)
    x = d.get("extended")
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
        extended=None
        if x is None
        else ExtendedQuote(float(x["price"]), datetime.fromisoformat(x["time"]), MarketSession(x["session"])),
    )


class BarStore:
    """The cache. Thread-safe: one connection guarded by a lock."""

    def __init__(self, path: Path, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        """Open the cache at `path`, creating it (and its directory) if needed.

        An unusable file is moved aside (see `notice`) and a new cache started. Raises CacheError,
        with nothing moved, when the path is a directory, the directory is not writable, the file
        belongs to a newer breakout-monitor, or another instance holds it beyond `busy_timeout_s`.
        """
        self.path = path
        self.notice: str | None = None
        """Set when the file found at `path` was unusable and was moved aside (shown in the status bar)."""
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path.is_dir():
            raise CacheError(f"cache path {path} is a directory, not a cache file: move it or pick another")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"cannot create cache directory {path.parent}: {exc.strerror}") from exc
        self._open()

    @classmethod
    def in_dir(cls, cache_dir: Path) -> BarStore:
        return cls(cache_dir / CACHE_FILE_NAME)

    # ------------------------------------------------------------------ opening
    def _open(self) -> None:
        for _ in range(3):
            seen = self._identity()
            try:
                self._db = self._connect()
                return
            except _UnusableFileError as exc:
                if self._identity() != seen:
                    continue  # another instance moved it aside and started anew meanwhile: look again
                if self.notice is not None:  # something keeps putting bad files there: stop here
                    raise CacheError(
                        f"cache {self.path} is unusable again after moving it aside: {exc}"
                    ) from exc
                moved = self._move_aside(str(exc))
                self.notice = (
                    f"cache {self.path.name} was unusable ({exc}); moved aside to {moved.name}, rebuilding"
                )
                log.warning(self.notice)
        raise CacheError(f"cache {self.path} keeps being replaced while this process opens it")

    def _identity(self) -> tuple[int, int] | None:
        """Which file is at the path (device, inode), so we never move aside one we did not check."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(
                self.path, timeout=self._busy_timeout_s, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise self._error(exc, "open") from exc
        try:
            db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            if self._check(db):
                found = db.execute("PRAGMA quick_check(1)").fetchone()[0]
                if found != "ok":
                    raise _UnusableFileError(f"failed its integrity check: {_one_line(found)}")
            # Only now: journal_mode writes to the file, and a file we do not own must stay as it was.
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("cache %s: WAL journal unavailable, using %s", self.path, mode)
            db.execute("PRAGMA synchronous = NORMAL")
            if not self._complete(db):
                # One transaction: a process killed while creating the cache leaves an empty file or
                # a whole schema with its id and version, never tables without an id (= "foreign").
                db.execute("BEGIN IMMEDIATE")
                try:
                    self._check(db)  # another instance may have created it meanwhile
                    for create in _TABLES.values():
                        db.execute(create)
                    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        with suppress(sqlite3.Error):
                            db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            db.close()
            if _result_code(exc) in _BROKEN_FILE:
                raise _UnusableFileError(_one_line(exc)) from exc
            raise self._error(exc, "open") from exc
        except BaseException:
            db.close()
            raise
        return db

    def _check(self, db: sqlite3.Connection) -> bool:
        """Whether the file holds data of ours (False: empty). Raises _UnusableFileError for a file that is
        not our cache, CacheError for one of a newer version."""
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if app_id == 0 and tables:
            raise _UnusableFileError("not a breakout-monitor cache (foreign SQLite file)")
        if app_id not in (0, APPLICATION_ID):
            raise _UnusableFileError(f"not a breakout-monitor cache (application_id {app_id:#x})")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if tables and version > SCHEMA_VERSION:
            # Moving it aside would pull the file from under a newer instance that may be running,
            # and each switch between versions would then throw the other's cache away.
            raise CacheError(
                f"cache {self.path} was written by a newer breakout-monitor (schema {version}, this one "
                f"reads {SCHEMA_VERSION}): upgrade, or move the file aside"
            )
        if tables and version != SCHEMA_VERSION:
            raise _UnusableFileError(f"cache schema version {version}, expected {SCHEMA_VERSION}")
        return bool(tables)

    @staticmethod
    def _complete(db: sqlite3.Connection) -> bool:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = db.execute("PRAGMA user_version").fetchone()[0]
        return tables >= _TABLES.keys() and version == SCHEMA_VERSION

    def _move_aside(self, reason: str) -> Path:
        """Never delete a file we did not write: rename it (and its journal files) next to itself."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.unusable-{stamp}")
        n = 1
        while any(Path(str(target) + s).exists() for s in ("", "-wal", "-shm", "-journal")):
            n += 1  # two in one second: never rename over the first one
            target = self.path.with_name(f"{self.path.name}.unusable-{stamp}-{n}")
        try:
            # Journals first: a journal left behind next to a new file would be replayed into it.
            for suffix in ("-wal", "-shm", "-journal", ""):
                src = Path(str(self.path) + suffix)
                if src.exists():
                    src.rename(Path(str(target) + suffix))
        except OSError as exc:
            raise CacheError(
                f"cache {self.path} is unusable ({reason}) and cannot be moved aside: {exc.strerror}"
            ) from exc
        log.warning("cache %s moved aside to %s: %s", self.path, target, reason)
        return target

    def close(self) -> None:
        """Close the file. Safe to call twice; any later call raises CacheError."""
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                db.close()

    # ------------------------------------------------------------------ plumbing
    def _error(self, exc: sqlite3.Error, doing: str) -> CacheError:
        code = _result_code(exc)
        if code in _BUSY:
            return CacheError(
                f"cache busy: another breakout-monitor kept {self.path.name} locked for over "
                f"{self._busy_timeout_s:g} s ({doing})"
            )
        if code in _NOT_WRITABLE:
            return CacheError(
                f"cannot {doing} cache {self.path}: {_one_line(exc)} (is {self.path.parent} writable?)"
            )
        if code == sqlite3.SQLITE_FULL:
            return CacheError(f"cannot {doing} cache {self.path}: disk full")
        return CacheError(f"cannot {doing} cache {self.path}: {_one_line(exc)}")

    @contextmanager
    def _using(self, doing: str) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; every SQLite failure becomes a one-line CacheError."""
        with self._lock:
            if self._db is None:
                raise CacheError(f"cache {self.path.name} is closed (cannot {doing})")
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise self._error(exc, doing) from exc

    @contextmanager
    def _writing(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One write transaction. IMMEDIATE takes the write lock up front, so a concurrent writer
        waits in the busy handler instead of failing at its first write."""
        with self._using(doing) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    with suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise

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
        with self._using("read bars") as db:
            rows = db.execute(sql + " ORDER BY ts", args).fetchall()
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
        with self._using("read bars") as db:
            row = db.execute(
                "SELECT ts FROM bars WHERE symbol = ? AND interval = ? ORDER BY ts DESC LIMIT 1 OFFSET ?",
                (symbol, interval.value, max(0, n - 1)),
            ).fetchone()
        return self.load_bars(symbol, interval, None if row is None else int(row[0]))

    def last_ts(self, symbol: str, interval: Interval) -> int | None:
        with self._using("read bars") as db:
            row = db.execute(
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
        interval first (after a split or dividend re-adjusted the whole history). Either way a reader,
        or the next start after a kill, sees the old series or the new one whole, never a mix."""
        with self._writing("save bars") as db:
            if replace:
                db.execute(
                    "DELETE FROM bars WHERE symbol = ? AND interval = ?",
                    (series.symbol, series.interval.value),
                )
            db.executemany(
                "INSERT OR REPLACE INTO bars VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self._rows(series)
            )

    def prune(self, interval: Interval, before_ts: int) -> None:
        """Forget bars of `interval` older than `before_ts` (old intraday paths)."""
        with self._writing("prune bars") as db:
            db.execute("DELETE FROM bars WHERE interval = ? AND ts < ?", (interval.value, before_ts))

    # ------------------------------------------------------------------ quotes
    def save_quote(self, quote: Quote, fetched_at: datetime) -> None:
        with self._writing("save a quote") as db:
            db.execute(
                "INSERT OR REPLACE INTO quotes VALUES (?, ?, ?)",
                (quote.symbol, _quote_to_json(quote), fetched_at.timestamp()),
            )

    def load_quotes(self, symbols: Iterable[str]) -> dict[str, CachedQuote]:
        """The last saved quote of each symbol that has one, however old."""
        return self._quotes(list(symbols), None)

    def quotes_fetched_since(self, symbols: Iterable[str], since: datetime) -> dict[str, CachedQuote]:
        """The saved quotes fetched at or after `since` (timezone-aware): what another instance
        holding the fetch lease wrote, for an instance that did not fetch itself."""
        if since.tzinfo is None:
            raise ValueError("quotes_fetched_since needs a timezone-aware datetime")
        return self._quotes(list(symbols), since.timestamp())

    def _quotes(self, wanted: list[str], since: float | None) -> dict[str, CachedQuote]:
        if not wanted:
            return {}
        sql = f"SELECT data, fetched_at FROM quotes WHERE symbol IN ({','.join('?' * len(wanted))})"
        args: list[Any] = list(wanted)
        if since is not None:
            sql += " AND fetched_at >= ?"
            args.append(since)
        with self._using("read quotes") as db:
            rows = db.execute(sql, args).fetchall()
        out: dict[str, CachedQuote] = {}
        for data, fetched_at in rows:
            try:
                q = _quote_from_json(data)
            except (ValueError, KeyError, TypeError):
                continue  # a row we cannot read is simply not painted; the next fetch replaces it
            out[q.symbol] = CachedQuote(q, datetime.fromtimestamp(fetched_at, UTC))
        return out

    # ------------------------------------------------------------------ fetch lease
    def try_lease(self, name: str, holder: str, ttl_s: float, now: float | None = None) -> bool:
        """Take the lease `name` for `ttl_s` seconds if nobody holds it or the holder's time ran
        out; if `holder` holds it already, extend it. True when `holder` holds it afterwards.

        Atomic across processes (one write transaction). `now` is epoch seconds (default: the
        clock); every instance on the machine shares that clock, so expiry means the same to all.
        """
        if ttl_s <= 0:
            raise ValueError(f"lease ttl must be positive, got {ttl_s}")
        at = time.time() if now is None else now
        with self._writing("take the fetch lease") as db:
            row = db.execute("SELECT holder, expires_at FROM leases WHERE name = ?", (name,)).fetchone()
            if row is not None and row[0] != holder and row[1] > at:
                return False
            db.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (name, holder, at + ttl_s))
            return True

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up now, if `holder` holds it (a lease taken over meanwhile stays)."""
        with self._writing("release the fetch lease") as db:
            db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    def lease_holder(self, name: str, now: float | None = None) -> str | None:
        """Who holds the lease `name` at `now` (epoch seconds, default the clock); None if nobody."""
        at = time.time() if now is None else now
        with self._using("read the fetch lease") as db:
            row = db.execute(
                "SELECT holder FROM leases WHERE name = ? AND expires_at > ?", (name, at)
            ).fetchone()
        return None if row is None else str(row[0])

    def integrity_check(self) -> str:
        with self._using("check the cache") as db:
            return str(db.execute("PRAGMA integrity_check").fetchone()[0])
