"""The event journal: every breakout event and alert, kept for good, and the "while you were away" digest.

The journal is user data, not cache: its own SQLite file (`JOURNAL_FILE_NAME`) in the data directory the
caller passes, so clearing the cache never loses it. WAL with ``synchronous = FULL``: a commit is on disk
when `Journal.append` returns, and a process killed at any moment leaves every committed entry intact.
Several app instances may share the file; a busy timeout makes one wait for the other's write instead of
failing. All methods block: call them from a worker thread, never from the event loop.

Times are stored as UTC epoch seconds (floats) and come back as UTC-aware datetimes; naive datetimes are
refused, because guessing their zone would misplace an event by hours.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

JOURNAL_FILE_NAME = "journal.sqlite3"
APPLICATION_ID = 0x42524B4A  # "BRKJ": tells the journal from the cache (0x42524B4F) and any other SQLite file
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 10.0
"""How long a write waits for another instance's write before giving up."""

# The journal's own files that must travel with it when it is moved aside: a stray hot "-journal" or
# "-wal" left next to a rebuilt file would be replayed into it.
_COMPANIONS = ("", "-wal", "-shm", "-journal")

# seq records insertion order (AUTOINCREMENT: never reused), the tie-break when two entries share `at`.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT    NOT NULL UNIQUE,
    at          REAL    NOT NULL,
    kind        TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    recorded_at REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_at ON entries (at, seq);
CREATE TABLE IF NOT EXISTS state (
    name  TEXT PRIMARY KEY,
    value REAL NOT NULL
);
"""

# The database header (https://sqlite.org/fileformat.html#the_database_header): read before SQLite opens
# the file, see Journal._sniff.
_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100
_APP_ID_OFFSET = 68

_COLUMNS = "seq, key, at, kind, title, payload, recorded_at"
_LAST_SEEN = "last_seen"


class JournalError(Exception):
    """The journal cannot be opened (unreadable directory, locked by another process for too long, a
    file written by a newer version...). Its file, if any, was left untouched."""


class _UnusableFileError(Exception):
    """The file at the path is not a journal this version can use and may be moved aside."""


def utc_now() -> datetime:
    """The current time, UTC-aware (the default clock)."""
    return datetime.now(UTC)


def _require_aware(value: datetime, name: str) -> datetime:
    """`value` converted to UTC.

    Raises:
        ValueError: `value` is naive.
        TypeError: `value` is not a datetime.
    """
    if not isinstance(value, datetime):
        # A bare date (an event's session day) would otherwise fail later with an obscure AttributeError.
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, not naive {value.isoformat()}")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journalled event or alert."""

    key: str
    """Unique identity, e.g. ``"^RUT|2565|2026-03-02|state_change|breakout"``: appending the same key
    again keeps the first entry (a refetched history re-detects the same events)."""
    at: datetime
    """When the event happened (for a close: that session's close time), UTC."""
    kind: str
    """``"state_change"``, ``"target_hit"``, ``"retest"``, ``"risk"``, ``"alert"``..."""
    title: str
    """One line for lists, e.g. ``"^RUT BREAKOUT at 2,571.30"``."""
    payload: Mapping[str, object] = field(hash=False)
    """JSON-able details. Entries read back carry the decoded JSON (tuples come back as lists)."""
    recorded_at: datetime | None = None
    """When the journal stored the entry (UTC); set by the journal, None before."""

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("a journal entry needs a non-empty key")
        if not self.kind:
            raise ValueError(f"journal entry {self.key!r} needs a non-empty kind")
        # Normalised to UTC so every entry compares and prints alike; object.__setattr__ because frozen.
        object.__setattr__(self, "at", _require_aware(self.at, "at"))
        if self.recorded_at is not None:
            object.__setattr__(self, "recorded_at", _require_aware(self.recorded_at, "recorded_at"))


def _encode_payload(entry: JournalEntry) -> str:
    try:
        return json.dumps(dict(entry.payload), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"payload of journal entry {entry.key!r} is not JSON-able: {exc}") from exc


def _decode_row(row: tuple[object, ...]) -> JournalEntry:
    """A stored row as an entry; ValueError, TypeError or OverflowError when the row is damaged."""
    _seq, key, at, kind, title, payload, recorded_at = row
    if not isinstance(key, str) or not isinstance(kind, str) or not isinstance(title, str):
        raise TypeError("key, kind or title is not text")
    if not isinstance(at, int | float) or not isinstance(recorded_at, int | float):
        raise TypeError("at or recorded_at is not a number")
    if not isinstance(payload, str):
        raise TypeError("payload is not text")
    data = json.loads(payload)
    if not isinstance(data, dict):
        raise TypeError(f"payload is a JSON {type(data).__name__}, not an object")
    return JournalEntry(
        key=key,
        at=datetime.fromtimestamp(at, UTC),
        kind=kind,
        title=title,
        payload=data,
        recorded_at=datetime.fromtimestamp(recorded_at, UTC),
    )


def _primary_code(exc: sqlite3.Error) -> int:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF


class Journal:
    """The journal. Thread-safe: one connection guarded by a lock."""

    def __init__(self, path: Path | None, *, clock: Callable[[], datetime] = utc_now) -> None:
        """Open (or create) the journal at `path`.

        Args:
            path: The SQLite file; None keeps the journal in memory (demo and replay runs keep nothing).
            clock: Returns the current UTC time; stamps `JournalEntry.recorded_at`.

        Raises:
            JournalError: The journal cannot be opened and nothing was moved aside (see the class).
        """
        self.path = path
        self.notice: str | None = None
        """Set when the file found at `path` was unusable and was moved aside (shown in the status bar)."""
        self._clock = clock
        self._lock = threading.Lock()
        if path is None:
            self._db = self._connect(":memory:")
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(f"cannot create journal directory {path.parent}: {exc.strerror}") from exc
        self._db = self._open_file(path)

    @classmethod
    def in_dir(cls, data_dir: Path) -> Journal:
        """The journal file `JOURNAL_FILE_NAME` in `data_dir` (created when missing)."""
        return cls(data_dir / JOURNAL_FILE_NAME)

    # ------------------------------------------------------------------ opening
    def _open_file(self, path: Path) -> sqlite3.Connection:
        for _attempt in range(3):
            identity = self._identity(path)
            try:
                self._sniff(path)
                return self._connect(str(path))
            except _UnusableFileError as exc:
                reason = str(exc)
            # Another instance may have moved the same bad file aside and created a fresh journal since
            # we looked: moving that one aside would hide its entries, so look again instead.
            if identity is not None and self._identity(path) != identity:
                continue
            moved = self._move_aside(path, reason)
            self.notice = f"journal {path.name} was unusable ({reason}); moved aside to {moved.name}"
            log.warning(self.notice)
        try:
            return self._connect(str(path))
        except _UnusableFileError as exc:
            raise JournalError(f"journal {path} is still unusable after moving files aside: {exc}") from exc

    @staticmethod
    def _sniff(path: Path) -> None:
        """Refuse, from its header alone, a file that is certainly not our journal.

        SQLite is never let near such a file: closing a connection to a file that is not a database
        deletes the -wal next to it, which may be all that is left of a journal whose header was damaged.

        Raises:
            _UnusableFileError: The file is not an SQLite database, or one of another application.
            JournalError: The file cannot be read.
        """
        try:
            with path.open("rb") as f:
                head = f.read(_HEADER_SIZE)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise JournalError(f"cannot read journal {path}: {exc.strerror}") from exc
        if not head:
            return  # an empty file is an empty database to SQLite
        if not head.startswith(_SQLITE_MAGIC):
            raise _UnusableFileError("file is not a database")
        if len(head) == _HEADER_SIZE:
            app_id = int.from_bytes(head[_APP_ID_OFFSET : _APP_ID_OFFSET + 4], "big")
            if app_id not in (0, APPLICATION_ID):
                raise _UnusableFileError(
                    f"not a breakout-monitor journal (foreign SQLite file, application_id {app_id:#x})"
                )

    @staticmethod
    def _identity(path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def _connect(self, where: str) -> sqlite3.Connection:
        """A checked connection.

        Raises:
            _UnusableFileError: The file is foreign or damaged and may be moved aside.
            JournalError: Any other failure (the file is left alone).
        """
        try:
            db = sqlite3.connect(where, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open journal {where}: {exc}") from exc
        try:
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._check_and_create(db)
            if where != ":memory:":
                mode = str(db.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
                if mode != "wal":
                    # Still durable (rollback journal), only readers may wait for writers.
                    log.warning("journal %s: WAL unavailable, using journal_mode %s", where, mode)
            # FULL: the WAL is synced on every commit, so a power cut cannot take back an appended entry.
            db.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            db.close()
            # Only a file SQLite itself calls foreign or damaged is moved aside. "Locked", "busy", "I/O
            # error" or "read-only" are about this moment, not the file: moving it would hide the user's
            # journal for nothing.
            if _primary_code(exc) in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
                raise _UnusableFileError(str(exc)) from exc
            raise JournalError(f"cannot open journal {where}: {exc}") from exc
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _check_and_create(db: sqlite3.Connection) -> None:
        """Refuse a file that is not our journal, then create the schema: all in one write transaction,
        so a second instance starting at the same moment sees either nothing or the whole schema, and a
        foreign file is never written to."""
        db.execute("BEGIN IMMEDIATE")
        try:
            app_id = int(db.execute("PRAGMA application_id").fetchone()[0])
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if app_id == 0 and tables:
                raise _UnusableFileError("not a breakout-monitor journal (foreign SQLite file)")
            if app_id not in (0, APPLICATION_ID):
                raise _UnusableFileError(
                    f"not a breakout-monitor journal (foreign SQLite file, application_id {app_id:#x})"
                )
            if app_id == APPLICATION_ID and version > SCHEMA_VERSION:
                # A newer version's journal is the user's data in a format we cannot read: leave it be.
                raise JournalError(
                    f"journal schema version {version} is newer than this version's {SCHEMA_VERSION}; "
                    "upgrade breakout-monitor"
                )
            if app_id == APPLICATION_ID and version != SCHEMA_VERSION:
                raise _UnusableFileError(f"journal schema version {version}, expected {SCHEMA_VERSION}")
            # Statement by statement: executescript() would commit the transaction opened above.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    @staticmethod
    def _move_aside(path: Path, reason: str) -> Path:
        """Never delete a file we did not write: rename it (and its companions) next to itself."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = path.with_name(f"{path.name}.unusable-{stamp}")
        n = 1
        # A rename onto an existing name would silently replace an earlier moved-aside file.
        while any(Path(f"{target}{s}").exists() for s in _COMPANIONS):
            target = path.with_name(f"{path.name}.unusable-{stamp}-{n}")
            n += 1
        for suffix in _COMPANIONS:
            src = Path(f"{path}{suffix}")
            try:
                src.rename(Path(f"{target}{suffix}"))
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise JournalError(
                    f"journal {path} is unusable ({reason}) and cannot be moved aside: {exc}"
                ) from exc
        log.warning("journal %s moved aside to %s: %s", path, target, reason)
        return target

    # ------------------------------------------------------------------ life cycle
    def close(self) -> None:
        """Close the connection (idempotent). Every appended entry is already on disk."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def integrity_check(self) -> str:
        """SQLite's own verdict on the file: ``"ok"`` when sound."""
        with self._lock:
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    # ------------------------------------------------------------------ entries
    def append(self, entries: Iterable[JournalEntry]) -> list[JournalEntry]:
        """Store the entries whose key is not in the journal yet, in one transaction.

        Args:
            entries: The events and alerts to keep. A key already stored (or repeated in `entries`) keeps
                its first entry.

        Returns:
            The entries that were new, in input order, as stored: `recorded_at` set and the payload as it
            will be read back.

        Raises:
            ValueError: A payload is not JSON-able; nothing was stored.
        """
        batch = list(entries)
        if not batch:
            return []
        # Encoded before the transaction, so one bad payload stores nothing rather than half a batch.
        encoded = [_encode_payload(e) for e in batch]
        recorded_at = _require_aware(self._clock(), "clock()")
        stamp = recorded_at.timestamp()
        new: list[JournalEntry] = []
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for entry, payload in zip(batch, encoded, strict=True):
                    cur = self._db.execute(
                        "INSERT OR IGNORE INTO entries (key, at, kind, title, payload, recorded_at)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (entry.key, entry.at.timestamp(), entry.kind, entry.title, payload, stamp),
                    )
                    if cur.rowcount == 1:
                        new.append(replace(entry, payload=json.loads(payload), recorded_at=recorded_at))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return new

    def entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Collection[str] | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Stored entries, newest first by `at` (ties: the later appended first).

        Args:
            since: Only entries with ``at > since`` (exclusive).
            until: Only entries with ``at <= until`` (inclusive).
            kinds: Only these kinds (an empty collection matches nothing); None for all.
            limit: At most this many entries; None for all.

        Returns:
            The matching entries. A row that cannot be decoded is skipped and logged, never raised.

        Raises:
            ValueError: `since` or `until` is naive, or `limit` is negative.
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        where: list[str] = []
        args: list[object] = []
        if since is not None:
            where.append("at > ?")
            args.append(_require_aware(since, "since").timestamp())
        if until is not None:
            where.append("at <= ?")
            args.append(_require_aware(until, "until").timestamp())
        if kinds is not None:
            if isinstance(kinds, str):
                # A str is a Collection[str] of its letters: kinds="risk" would silently match nothing.
                raise TypeError("kinds must be a collection of kinds, not a str")
            wanted = sorted(set(kinds))
            if not wanted:
                return []
            where.append(f"kind IN ({','.join('?' * len(wanted))})")
            args.extend(wanted)
        sql = f"SELECT {_COLUMNS} FROM entries"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._read(sql + " ORDER BY at DESC, seq DESC", args, limit)

    def _read(self, sql: str, args: Iterable[object], limit: int | None) -> list[JournalEntry]:
        """Run a SELECT of `_COLUMNS`, skipping rows that do not decode. The limit is counted in decoded
        rows (not with SQL LIMIT), so a damaged row does not shorten the list."""
        out: list[JournalEntry] = []
        if limit == 0:
            return out
        with self._lock:
            for row in self._db.execute(sql, tuple(args)):
                try:
                    out.append(_decode_row(row))
                except (ValueError, TypeError, OverflowError, OSError) as exc:
                    log.warning("journal: skipping unreadable entry seq=%s key=%r: %s", row[0], row[1], exc)
                    continue
                if limit is not None and len(out) >= limit:
                    break
        return out

    # ------------------------------------------------------------------ digest
    def last_seen(self) -> datetime | None:
        """When the user last looked (UTC); None on a fresh journal."""
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE name = ?", (_LAST_SEEN,)).fetchone()
        if row is None:
            return None
        try:
            return datetime.fromtimestamp(row[0], UTC)
        except (ValueError, TypeError, OverflowError, OSError) as exc:
            log.warning("journal: unreadable last_seen %r: %s", row[0], exc)
            return None

    def mark_seen(self, at: datetime) -> None:
        """Record that the user has seen everything up to `at`.

        Never moves backwards: a second instance with a slower clock, or a stale caller, cannot rewind it
        (decided inside SQLite in one statement, so two instances cannot race). To lose nothing, take
        `at` just before reading `digest` and mark it after showing the digest.

        Args:
            at: UTC-aware time.

        Raises:
            ValueError: `at` is naive.
        """
        stamp = _require_aware(at, "at").timestamp()
        with self._lock:
            # A damaged (non-numeric) value is replaced rather than compared: text sorts above numbers.
            self._db.execute(
                "INSERT INTO state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value ="
                " CASE WHEN typeof(value) IN ('integer', 'real') AND value >= excluded.value"
                " THEN value ELSE excluded.value END",
                (_LAST_SEEN, stamp),
            )

    def digest(self) -> list[JournalEntry]:
        """The "while you were away" list: entries with ``at > last_seen()``, oldest first.

        Empty when the user has never looked (first run: nothing to catch up on). Read in one statement,
        so an instance marking seen meanwhile cannot split it.
        """
        return self._read(
            f"SELECT {_COLUMNS} FROM entries"
            " WHERE at > (SELECT value FROM state WHERE name = ?"
            " AND typeof(value) IN ('integer', 'real')) ORDER BY at, seq",
            (_LAST_SEEN,),
            None,
        )
