"""The event journal: de-duplication, ordering and filters, the "while you were away" digest, sharing one
file between instances, surviving a restart and a SIGKILL, and files it must never trust or destroy."""

from __future__ import annotations

import logging
import os
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import services.journal as journal_module
from services.cache import BarStore
from services.journal import (
    APPLICATION_ID,
    JOURNAL_FILE_NAME,
    SCHEMA_VERSION,
    Journal,
    JournalEntry,
    JournalError,
)

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)  # a session close


def entry(
    n: int, *, kind: str = "state_change", at: datetime | None = None, key: str | None = None
) -> JournalEntry:
    return JournalEntry(
        key=key or f"^RUT|2565|{n}|{kind}",
        at=at if at is not None else T0 + timedelta(hours=n),
        kind=kind,
        title=f"^RUT event {n}",
        payload={"n": n, "close": 2571.3 + n, "levels": [2565, 2600], "note": "über 2,565"},
    )


def keys(entries: list[JournalEntry]) -> list[str]:
    return [e.key for e in entries]


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def moved_aside(tmp_path: Path) -> list[Path]:
    """The main files of every moved-aside journal (not their -wal / -shm companions)."""
    return sorted(
        p
        for p in tmp_path.iterdir()
        if p.name.startswith(JOURNAL_FILE_NAME + ".unusable-")
        and not p.name.endswith(("-wal", "-shm", "-journal"))
    )


# ---------------------------------------------------------------------- append and entries
def test_append_returns_only_new_entries_and_keeps_the_first(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    journal = Journal(tmp_path / JOURNAL_FILE_NAME, clock=clock)
    a, b = entry(1), entry(2)
    new = journal.append([a, b])
    assert keys(new) == [a.key, b.key]
    assert all(e.recorded_at == clock.now for e in new)
    assert new[0] == JournalEntry(a.key, a.at, a.kind, a.title, a.payload, clock.now)

    clock.now += timedelta(minutes=5)
    b_again = JournalEntry(b.key, b.at + timedelta(days=1), b.kind, "a different title", {"other": 1})
    c = entry(3)
    c_again = JournalEntry(c.key, c.at, c.kind, "the same key twice in one batch", {})
    new = journal.append([b_again, c, c_again])
    assert keys(new) == [c.key] and new[0].title == c.title and new[0].recorded_at == clock.now
    assert journal.append([a, b, c]) == []
    assert journal.append([]) == []

    stored = journal.entries()
    assert keys(stored) == [c.key, b.key, a.key]
    kept_b = stored[1]
    assert kept_b.title == b.title and kept_b.at == b.at and kept_b.payload == b.payload
    assert kept_b.recorded_at == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


def test_append_hands_back_entries_as_they_read_back(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    e = JournalEntry("k", T0, "alert", "tuple payload", {"pair": (1, 2), "nested": {"x": [1.5, None]}})
    new = journal.append([e])
    assert new[0].payload == {"pair": [1, 2], "nested": {"x": [1.5, None]}}
    assert new == journal.entries()


def test_a_payload_that_is_not_json_stores_nothing(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    bad = JournalEntry("bad", T0, "alert", "bad", {"when": T0})
    with pytest.raises(ValueError, match="bad"):
        journal.append([entry(1), bad])
    assert journal.entries() == []


def test_one_append_is_one_transaction(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    unstorable = JournalEntry("bad", T0, "alert", object(), {})  # type: ignore[arg-type]
    with pytest.raises(sqlite3.Error):
        journal.append([entry(1), entry(2), unstorable])  # fails at the third row
    assert journal.entries() == []
    assert keys(journal.append([entry(1)])) == [entry(1).key]  # and the journal is still usable


def test_entries_newest_first_with_filters(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    # Appended out of order; two pairs share an `at` (ties: the later appended comes first).
    journal.append(
        [
            entry(3, kind="risk"),
            entry(1, kind="state_change"),
            entry(2, kind="target_hit"),
            entry(4, kind="alert"),
            entry(5, kind="retest", at=T0 + timedelta(hours=2)),
        ]
    )
    journal.append([entry(6, kind="alert", at=T0 + timedelta(hours=4))])
    by_n = {e.payload["n"]: e for e in journal.entries()}
    assert [e.payload["n"] for e in journal.entries()] == [6, 4, 3, 5, 2, 1]

    def ns(**kw: object) -> list[object]:
        return [e.payload["n"] for e in journal.entries(**kw)]  # type: ignore[arg-type]

    assert ns(since=T0 + timedelta(hours=2)) == [6, 4, 3]  # exclusive
    assert ns(until=T0 + timedelta(hours=2)) == [5, 2, 1]  # inclusive
    assert ns(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3)) == [3, 5, 2]
    assert ns(kinds={"alert", "retest"}) == [6, 4, 5]
    assert ns(kinds=["risk"]) == [3]
    assert ns(kinds=()) == []
    assert ns(kinds=["no such kind"]) == []
    assert ns(limit=2) == [6, 4]
    assert ns(limit=0) == []
    assert ns(kinds=["alert", "state_change"], until=T0 + timedelta(hours=3), limit=1) == [1]
    # The filters take any zone; they compare instants.
    eastern = timezone(timedelta(hours=-5))
    assert ns(since=(T0 + timedelta(hours=3)).astimezone(eastern)) == [6, 4]
    assert by_n[1].at.tzinfo is UTC and by_n[1].recorded_at is not None
    with pytest.raises(ValueError):
        journal.entries(limit=-1)
    with pytest.raises(TypeError):
        journal.entries(kinds="alert")


# ---------------------------------------------------------------------- durability
def test_the_journal_survives_a_restart(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    journal.append([entry(n, kind=k) for n, k in enumerate(("state_change", "alert", "risk"))])
    journal.mark_seen(T0 + timedelta(minutes=30))
    before = journal.entries()
    journal.close()

    again = Journal.in_dir(tmp_path)
    assert again.notice is None
    after = again.entries()
    assert after == before and len(after) == 3
    assert [e.payload for e in after] == [e.payload for e in before]
    assert after[0].payload == {"n": 2, "close": 2573.3, "levels": [2565, 2600], "note": "über 2,565"}
    assert [e.recorded_at for e in after] == [e.recorded_at for e in before]
    assert again.last_seen() == T0 + timedelta(minutes=30)
    assert keys(again.digest()) == keys(before[:2][::-1])


def test_the_file_is_a_wal_journal_synced_in_full(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    journal.append([entry(1)])
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    raw = sqlite3.connect(tmp_path / JOURNAL_FILE_NAME)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID != 0x42524B4F
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1
    raw.close()


CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from datetime import UTC, datetime, timedelta
from pathlib import Path
from services.journal import Journal, JournalEntry

journal = Journal(Path(sys.argv[2]))
t0 = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)
i = 0
while True:
    journal.append(
        [JournalEntry(f"{i}|{j}", t0 + timedelta(seconds=i), "alert", f"batch {i}", {"pad": "x" * 2000})
         for j in range(3)]
    )
    print(i, flush=True)
    i += 1
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_killed_writer_loses_no_committed_entry(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_FILE_NAME
    wanted = 41
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ROOT), str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    out = b""
    deadline = time.monotonic() + 60
    try:
        while out.count(b"\n") < wanted:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"child reported only {out.decode().count(chr(10))} appends in 60 s"
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                assert chunk, (
                    f"child exited early: {proc.wait()} {proc.stderr.read() if proc.stderr else ''!r}"
                )
                out += chunk
        os.kill(proc.pid, signal.SIGKILL)  # mid-append, most likely: it appends in a tight loop
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    out += proc.stdout.read()
    proc.stdout.close()
    if proc.stderr:
        proc.stderr.close()
    reported = [int(line) for line in out.decode().splitlines() if line.strip().isdigit()]
    assert len(reported) >= wanted
    assert Path(f"{path}-wal").exists()  # the kill left a WAL behind: reopening must recover it

    journal = Journal(path)
    assert journal.notice is None
    assert journal.integrity_check() == "ok"
    stored = set(keys(journal.entries()))
    assert {f"{i}|{j}" for i in reported for j in range(3)} <= stored
    # One append is one transaction: a batch is there whole or not at all.
    batches = {k.split("|")[0] for k in stored}
    assert len(stored) == 3 * len(batches)
    journal.close()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()


# ---------------------------------------------------------------------- digest
def test_digest_is_exactly_what_happened_since_the_user_last_looked(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    assert journal.last_seen() is None and journal.digest() == []
    journal.append([entry(n) for n in (4, 1, 3, 2, 5)])
    assert journal.digest() == []  # first run: nothing to catch up on

    seen = T0 + timedelta(hours=2)  # entry 2 happened exactly then: already seen
    journal.mark_seen(seen)
    assert journal.last_seen() == seen and journal.last_seen().tzinfo is UTC  # type: ignore[union-attr]
    assert [e.payload["n"] for e in journal.digest()] == [3, 4, 5]

    journal.mark_seen(T0)  # older: ignored
    assert journal.last_seen() == seen
    assert [e.payload["n"] for e in journal.digest()] == [3, 4, 5]

    journal.mark_seen((T0 + timedelta(hours=4)).astimezone(timezone(timedelta(hours=9))))
    assert journal.last_seen() == T0 + timedelta(hours=4)
    assert [e.payload["n"] for e in journal.digest()] == [5]
    journal.append([entry(7), entry(6)])
    assert [e.payload["n"] for e in journal.digest()] == [5, 6, 7]
    journal.mark_seen(T0 + timedelta(days=1))
    assert journal.digest() == []


def test_digest_ties_keep_append_order(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    journal.mark_seen(T0)
    at = T0 + timedelta(minutes=1)
    journal.append([entry(2, at=at), entry(1, at=at)])
    journal.append([entry(3, at=at)])
    assert [e.payload["n"] for e in journal.digest()] == [2, 1, 3]


def test_an_instance_with_an_older_clock_cannot_rewind_last_seen(tmp_path: Path) -> None:
    a, b = Journal.in_dir(tmp_path), Journal.in_dir(tmp_path)
    a.mark_seen(T0 + timedelta(hours=3))
    b.mark_seen(T0 + timedelta(hours=1))
    assert a.last_seen() == b.last_seen() == T0 + timedelta(hours=3)
    b.mark_seen(T0 + timedelta(hours=5))
    assert a.last_seen() == T0 + timedelta(hours=5)


# ---------------------------------------------------------------------- sharing
def test_two_instances_share_one_file_without_duplicates(tmp_path: Path) -> None:
    a, b = Journal.in_dir(tmp_path), Journal.in_dir(tmp_path)
    new_a = a.append([entry(n) for n in range(0, 6)])
    new_b = b.append([entry(n) for n in range(3, 9)])
    assert keys(new_a) == keys([entry(n) for n in range(0, 6)])
    assert keys(new_b) == keys([entry(n) for n in range(6, 9)])
    assert keys(a.entries()) == keys(b.entries()) == keys([entry(n) for n in range(8, -1, -1)])
    assert a.integrity_check() == "ok"


def test_concurrent_appends_from_two_instances_store_each_key_once(tmp_path: Path) -> None:
    a, b = Journal.in_dir(tmp_path), Journal.in_dir(tmp_path)
    new: dict[str, list[JournalEntry]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def writer(name: str, journal: Journal) -> None:
        try:
            for n in range(60):
                new[name] += journal.append([entry(n), entry(n + 1)])
        except BaseException as exc:
            errors.append(exc)

    # Two threads per instance: the instances contend through SQLite's locks, the threads of one
    # instance through its connection lock.
    threads = [
        threading.Thread(target=writer, args=(name, j))
        for name, j in (("a", a), ("b", b), ("a", a), ("b", b))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    everything = {entry(n).key for n in range(61)}
    # Each key was new for exactly one append across both instances.
    assert sorted(keys(new["a"] + new["b"])) == sorted(everything)
    assert set(keys(a.entries())) == set(keys(b.entries())) == everything
    assert len(a.entries()) == 61


# ---------------------------------------------------------------------- files we must not trust or destroy
def test_a_garbage_file_is_moved_aside_with_its_wal_not_deleted(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_FILE_NAME
    garbage = b"this is not a database" * 100
    wal = b"nor is this a write-ahead log" * 10
    path.write_bytes(garbage)
    Path(f"{path}-wal").write_bytes(wal)
    journal = Journal(path)
    assert journal.notice is not None and "moved aside" in journal.notice
    (kept,) = moved_aside(tmp_path)
    assert kept.name in journal.notice
    assert kept.read_bytes() == garbage
    assert Path(f"{kept}-wal").read_bytes() == wal
    journal.append([entry(1)])
    assert keys(journal.entries()) == [entry(1).key] and journal.integrity_check() == "ok"
    journal.close()
    assert Journal(path).notice is None  # the rebuilt file is ours


@pytest.mark.parametrize("owner", ["plain", "breakout-monitor cache"])
def test_a_foreign_sqlite_file_is_moved_aside_byte_for_byte(tmp_path: Path, owner: str) -> None:
    path = tmp_path / JOURNAL_FILE_NAME
    if owner == "plain":
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE notes (body TEXT)")
        db.execute("INSERT INTO notes VALUES ('precious')")
        db.commit()
        db.close()
    else:
        BarStore(path).close()  # the cache's own file, put at the journal's path by mistake
    original = path.read_bytes()
    journal = Journal(path)
    assert journal.notice is not None and "foreign" in journal.notice
    (kept,) = moved_aside(tmp_path)
    assert kept.read_bytes() == original
    if owner == "plain":
        assert sqlite3.connect(kept).execute("SELECT body FROM notes").fetchone() == ("precious",)
    journal.append([entry(1)])
    assert len(journal.entries()) == 1


def test_two_moves_in_the_same_second_keep_both_files(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_FILE_NAME
    for text in (b"first garbage" * 50, b"second garbage" * 50):
        path.write_bytes(text)
        Journal(path).close()
    assert sorted(p.read_bytes() for p in moved_aside(tmp_path)) == sorted(
        [b"first garbage" * 50, b"second garbage" * 50]
    )


def test_a_journal_from_a_newer_version_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_FILE_NAME
    Journal(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    original = path.read_bytes()
    with pytest.raises(JournalError, match="newer"):
        Journal(path)
    assert path.read_bytes() == original and moved_aside(tmp_path) == []


def test_a_locked_journal_is_not_mistaken_for_a_bad_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / JOURNAL_FILE_NAME
    first = Journal(path)
    first.append([entry(1)])
    monkeypatch.setattr(journal_module, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a long write
    try:
        with pytest.raises(JournalError, match="locked"):
            Journal(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert moved_aside(tmp_path) == []
    assert keys(Journal(path).entries()) == [entry(1).key]


def test_an_unreadable_row_is_skipped_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / JOURNAL_FILE_NAME
    journal = Journal(path)
    journal.mark_seen(T0)
    journal.append([entry(n) for n in range(1, 6)])
    raw = sqlite3.connect(path)
    raw.execute("UPDATE entries SET payload = '{not json' WHERE key = ?", (entry(5).key,))
    raw.execute("UPDATE entries SET payload = '[1, 2]' WHERE key = ?", (entry(3).key,))
    raw.execute("UPDATE entries SET at = 'yesterday' WHERE key = ?", (entry(4).key,))
    raw.commit()
    raw.close()
    with caplog.at_level(logging.WARNING, logger="services.journal"):
        assert keys(journal.entries()) == [entry(2).key, entry(1).key]
        assert keys(journal.entries(limit=2)) == [entry(2).key, entry(1).key]  # limit counts good rows
        assert keys(journal.digest()) == [entry(1).key, entry(2).key]
    assert entry(5).key in caplog.text and entry(3).key in caplog.text


def test_in_memory_journal_keeps_nothing_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    journal = Journal(None)
    new = journal.append([entry(1), entry(1)])
    assert keys(new) == [entry(1).key] and new[0].recorded_at is not None
    assert journal.entries() == new
    journal.mark_seen(T0)
    assert keys(journal.digest()) == [entry(1).key] and journal.notice is None
    journal.close()
    assert list(tmp_path.iterdir()) == []
    assert keys(Journal(None).entries()) == []


# ---------------------------------------------------------------------- times
def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    naive = datetime(2026, 3, 2, 16, 0)
    with pytest.raises(ValueError, match="naive"):
        JournalEntry("k", naive, "alert", "t", {})
    with pytest.raises(ValueError, match="naive"):
        JournalEntry("k", T0, "alert", "t", {}, recorded_at=naive)
    with pytest.raises(TypeError):
        JournalEntry("k", date(2026, 3, 2), "alert", "t", {})  # type: ignore[arg-type]
    journal = Journal.in_dir(tmp_path)
    for call in (
        lambda: journal.mark_seen(naive),
        lambda: journal.entries(since=naive),
        lambda: journal.entries(until=naive),
    ):
        with pytest.raises(ValueError, match="naive"):
            call()
    assert journal.last_seen() is None
    naive_clock = Journal(tmp_path / "other.sqlite3", clock=lambda: naive)
    with pytest.raises(ValueError, match="naive"):
        naive_clock.append([entry(1)])
    assert naive_clock.entries() == []


def test_aware_times_are_kept_as_utc(tmp_path: Path) -> None:
    eastern = timezone(timedelta(hours=-5))
    local_close = datetime(2026, 3, 2, 16, 0, 0, 123457, tzinfo=eastern)
    e = JournalEntry("k", local_close, "alert", "t", {})
    assert e.at == local_close and e.at.tzinfo is UTC and e.at.hour == 21
    journal = Journal.in_dir(tmp_path)
    journal.append([e])
    journal.close()
    (back,) = Journal.in_dir(tmp_path).entries()
    assert back.at == local_close and back.at.tzinfo is UTC  # microseconds survive the epoch float
