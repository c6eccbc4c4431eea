"""The cache under stress: kill -9 mid-write, files it must not trust, two instances on one file.

The killing and the concurrency use real processes (tests/fakes/cache_writer.py) and check the file
afterwards with plain sqlite3, read-only, so that BarStore's own view cannot hide a problem.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fakes import cache_writer as w

from services.cache import CACHE_FILE_NAME, BarStore, CacheError
from services.models import Bar, BarSeries, Interval

WRITER = Path(w.__file__)
needs_sigkill = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL on this platform")


# ---------------------------------------------------------------------- processes
class Writer:
    """One cache_writer.py process, its stdout read line by line."""

    def __init__(self, *args: object) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WRITER), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []

    def read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"writer ended early: {self.stderr()}")
        self.lines.append(line.strip())
        return self.lines[-1]

    def read_until(self, pred: str | int) -> None:
        """Up to the line starting with `pred`, or `pred` lines."""
        while True:
            line = self.read()
            if (isinstance(pred, str) and line.startswith(pred)) or len(self.lines) == pred:
                return

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL, then collect every line it managed to print (a pipe keeps them after death)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.lines += self.rest()

    def finish(self) -> None:
        """Its remaining lines, once it exited cleanly, having written nothing to stderr."""
        self.lines += self.rest()
        assert self.proc.wait(timeout=60) == 0
        assert self.proc.stderr is not None
        err = self.proc.stderr.read()
        assert not err.strip(), err

    def rest(self) -> list[str]:
        # Through the same reader as `read`: communicate() would skip what it has buffered already.
        assert self.proc.stdout is not None
        return [ln.strip() for ln in self.proc.stdout.read().splitlines()]

    def stderr(self) -> str:
        self.proc.kill()
        return self.proc.communicate(timeout=30)[1]


@pytest.fixture
def writers() -> Iterator[list[Writer]]:
    started: list[Writer] = []
    yield started
    for wr in started:  # none outlives its test, even a failed one
        if wr.proc.poll() is None:
            wr.proc.kill()
        wr.proc.communicate(timeout=30)


def read_only(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def rows_of(con: sqlite3.Connection, symbol: str) -> list[tuple[Any, ...]]:
    return con.execute(
        "SELECT ts, open, high, low, close, volume, adj_close FROM bars WHERE symbol = ? ORDER BY ts",
        (symbol,),
    ).fetchall()


def as_rows(series: BarSeries) -> list[tuple[Any, ...]]:
    return [
        (b.ts, b.open, b.high, b.low, b.close, b.volume, None if math.isnan(b.adj_close) else b.adj_close)
        for b in series
    ]


# ---------------------------------------------------------------------- kill -9
@dataclass
class Expected:
    """What the writers' "commit" lines promise is in the file, and the one write that may be."""

    batches: dict[str, set[int]] = field(default_factory=dict)
    quote: int | None = None
    replaced: int | None = None
    in_flight: tuple[str, str, int] | None = None
    """(kind, symbol, key) of a write begun and not confirmed: all of it or none of it is there."""

    def learn(self, lines: list[str], stalled: bool) -> None:
        self.in_flight = None
        for line in lines:
            kind, *rest = line.split()
            if kind not in ("begin", "commit"):
                continue
            what, sym, key = rest[0], rest[1], int(rest[2])
            if kind == "begin":
                self.in_flight = (what, sym, key)
                continue
            self.in_flight = None
            if what == "bars":
                self.batches.setdefault(sym, set()).add(key)
            elif what == "quote":
                self.quote = key
            else:
                self.replaced = key
        if stalled:  # it hung inside that write's transaction: the write cannot have committed
            assert self.in_flight is not None
            self.in_flight = (*self.in_flight[:2], -1)

    def verify(self, db: Path) -> None:
        """Plain sqlite3 first, read-only, then BarStore."""
        con = read_only(db)
        try:
            self.check_file(con)
        finally:
            con.close()
        self.verify_usable(db)

    def check_file(self, con: sqlite3.Connection) -> None:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        if not con.execute("SELECT name FROM sqlite_master WHERE name = 'bars'").fetchall():
            # killed while creating the cache: nothing can have been committed
            assert not self.batches and self.quote is None and self.replaced is None
            return
        flight = self.in_flight or ("", "", -1)
        written = {r[0] for r in con.execute("SELECT DISTINCT symbol FROM bars")}
        for sym in (written | self.batches.keys()) - {w.REPLACED, "PROBE"}:
            keys = self.batches.get(sym, set())
            got = rows_of(con, sym)
            present = {w.batch_of_ts(r[0]) for r in got}
            maybe = {flight[2]} if flight[:2] == ("bars", sym) else set()
            assert keys <= present <= keys | maybe, f"{sym}: lost or stray batches"
            assert got == [row for k in sorted(present) for row in as_rows(w.batch(sym, k))]
        row = con.execute("SELECT fetched_at FROM quotes WHERE symbol = ?", (w.QUOTED,)).fetchone()
        quoted = None if row is None else int(row[0]) - w.BASE_TS
        assert quoted in {self.quote} | ({flight[2]} if flight[0] == "quote" else set())
        got = rows_of(con, w.REPLACED)
        gens = {int(r[5]) for r in got}
        allowed = {self.replaced} | ({flight[2]} if flight[0] == "replace" else set())
        assert len(gens) <= 1, "a replaced series mixes two generations"
        gen = gens.pop() if gens else None
        assert gen in allowed, f"replaced series of generation {gen}, expected one of {allowed}"
        if gen is not None:
            assert got == as_rows(w.replacement(gen)), "replaced series not whole"

    def verify_usable(self, db: Path) -> None:
        store = BarStore(db)
        try:
            assert store.notice is None, store.notice
            if self.quote is not None:
                cached = store.load_quotes([w.QUOTED])[w.QUOTED]
                k = int(cached.fetched_at.timestamp()) - w.BASE_TS
                assert cached.quote == w.quote_of(k)
            probe = w.batch("PROBE", 0)
            store.save_bars(probe, replace=True)
            assert store.load_bars("PROBE", Interval.MINUTE_1) == probe
        finally:
            store.close()


@needs_sigkill
def test_killed_at_any_moment_the_cache_keeps_every_committed_write_whole(
    tmp_path: Path, writers: list[Writer]
) -> None:
    db = tmp_path / CACHE_FILE_NAME
    expected = Expected()
    # (stall, kill after): hung inside the very first creation of the file, after n lines of
    # steady writing, or hung halfway through a 20,000-bar replace or a batch.
    rounds: list[tuple[str | None, int | str]] = [
        ("open", "stalled"),
        (None, 9),
        ("replace", "stalled"),
        (None, 31),
        ("bars", "stalled"),
        (None, 70),
        ("replace", "stalled"),
    ]
    for rnd, (stall, kill_after) in enumerate(rounds):
        args: list[object] = ["write", db, rnd]
        if stall is not None:
            args += ["--stall", stall, "--stall-at", 5 + rnd]
        wr = Writer(*args)
        writers.append(wr)
        wr.read_until(kill_after)
        wr.kill()
        expected.learn(wr.lines, stalled=stall in ("bars", "replace"))
        if stall == "replace":
            assert expected.in_flight is not None and expected.in_flight[0] == "replace"
        expected.verify(db)
    assert expected.replaced is not None and len(expected.batches) == len(rounds) - 1


# ---------------------------------------------------------------------- files it must not trust
def moved_aside(cache_dir: Path) -> list[Path]:
    return sorted(p for p in cache_dir.iterdir() if ".unusable-" in p.name)


def series(symbol: str, n: int) -> BarSeries:
    return BarSeries.from_bars(
        symbol,
        Interval.DAILY,
        [Bar(1_700_006_400 + 86_400 * i, 10.0 + i, 11.0 + i, 9.0 + i, 10.5 + i) for i in range(n)],
    )


def filled_cache(cache_dir: Path) -> Path:
    store = BarStore.in_dir(cache_dir)
    for i in range(30):
        store.save_bars(series(f"S{i}", 200))
    store.close()
    return cache_dir / CACHE_FILE_NAME


def assert_rebuilt(store: BarStore, kept: Path, content: bytes) -> None:
    """The notice names the kept file, which holds exactly what was there; the new cache works."""
    assert store.notice is not None and kept.name in store.notice and "\n" not in store.notice
    assert kept.read_bytes() == content
    store.save_bars(series("IWM", 3))
    assert len(store.load_bars("IWM", Interval.DAILY)) == 3 and store.integrity_check() == "ok"


def test_a_truncated_cache_is_moved_aside_whole(tmp_path: Path) -> None:
    path = filled_cache(tmp_path)
    half = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(half)
    store = BarStore.in_dir(tmp_path)
    [kept] = moved_aside(tmp_path)
    assert_rebuilt(store, kept, half)
    assert store.load_bars("S0", Interval.DAILY) == series("S0", 0)


def test_a_cache_with_a_damaged_page_is_moved_aside_at_start(tmp_path: Path) -> None:
    """The header is fine, so opening works: only a check at start finds it, rather than a read
    failing later in the middle of a session."""
    path = filled_cache(tmp_path)
    damaged = bytearray(path.read_bytes())
    page = 4096
    damaged[page * 5 : page * 6] = random.Random(3).randbytes(page)
    path.write_bytes(bytes(damaged))
    store = BarStore.in_dir(tmp_path)
    [kept] = moved_aside(tmp_path)
    assert_rebuilt(store, kept, bytes(damaged))


def test_random_bytes_are_moved_aside_whole(tmp_path: Path) -> None:
    noise = random.Random(7).randbytes(16_384)
    (tmp_path / CACHE_FILE_NAME).write_bytes(noise)
    store = BarStore.in_dir(tmp_path)
    [kept] = moved_aside(tmp_path)
    assert_rebuilt(store, kept, noise)


def test_a_foreign_wal_file_is_kept_with_its_last_writes(tmp_path: Path) -> None:
    """Another program's WAL-mode database, its newest row still only in the -wal file."""
    other = tmp_path / "other"
    other.mkdir()
    src = other / "notes.db"
    con = sqlite3.connect(src)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE notes (body TEXT)")
    con.commit()
    con.execute("INSERT INTO notes VALUES ('precious')")
    con.commit()
    for suffix in ("", "-wal"):  # copied while open: the main file alone has not even the table
        shutil.copyfile(f"{src}{suffix}", tmp_path / f"{CACHE_FILE_NAME}{suffix}")
    con.close()
    assert sqlite3.connect(f"file:{tmp_path / CACHE_FILE_NAME}?immutable=1", uri=True).execute(
        "SELECT COUNT(*) FROM sqlite_master WHERE name = 'notes'"
    ).fetchone() == (0,)
    store = BarStore.in_dir(tmp_path)
    assert store.notice is not None and "foreign" in store.notice
    kept = moved_aside(tmp_path)[0]
    assert kept.name in store.notice
    assert sqlite3.connect(kept).execute("SELECT body FROM notes").fetchall() == [("precious",)]
    assert store.integrity_check() == "ok" and store.load_bars("IWM", Interval.DAILY) == series("IWM", 0)
    tables = sqlite3.connect(tmp_path / CACHE_FILE_NAME).execute("SELECT name FROM sqlite_master").fetchall()
    assert ("notes",) not in tables


def test_a_cache_of_a_newer_version_is_left_alone(tmp_path: Path) -> None:
    """A newer breakout-monitor may be running on it: run without a cache rather than pull it away."""
    path = filled_cache(tmp_path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 2")
    con.close()
    before = path.read_bytes()
    with pytest.raises(CacheError) as err:
        BarStore.in_dir(tmp_path)
    assert "newer" in str(err.value) and "\n" not in str(err.value)
    assert moved_aside(tmp_path) == [] and path.read_bytes() == before


def test_a_cache_of_an_older_version_is_moved_aside(tmp_path: Path) -> None:
    path = filled_cache(tmp_path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 0")
    con.close()
    before = path.read_bytes()
    store = BarStore.in_dir(tmp_path)
    [kept] = moved_aside(tmp_path)
    assert_rebuilt(store, kept, before)


def test_two_bad_files_in_one_second_are_both_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "strftime", lambda fmt, *args: "20261124-093000")  # the same second
    path = tmp_path / CACHE_FILE_NAME
    path.write_bytes(b"first" * 100)
    BarStore(path).close()
    path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"second" * 100)
    BarStore(path).close()
    kept = [p.read_bytes() for p in moved_aside(tmp_path) if not p.name.endswith(("-wal", "-shm"))]
    assert sorted(kept) == sorted([b"first" * 100, b"second" * 100])


def test_a_directory_at_the_cache_path_is_an_error_and_stays(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILE_NAME
    path.mkdir()
    (path / "keep.txt").write_text("mine")
    with pytest.raises(CacheError) as err:
        BarStore(path)
    assert "directory" in str(err.value) and "\n" not in str(err.value)
    assert (path / "keep.txt").read_text() == "mine" and sorted(tmp_path.iterdir()) == [path]


def test_a_cache_directory_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(CacheError) as err:
        BarStore.in_dir(tmp_path / "file" / "cache")
    assert "cannot create cache directory" in str(err.value) and "\n" not in str(err.value)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "cache"
    d.mkdir()
    d.chmod(0o500)
    try:
        if os.access(d, os.W_OK):
            pytest.skip("permissions do not bind this user (root)")
        yield d
    finally:
        d.chmod(0o700)


def test_an_unwritable_cache_directory_is_one_line(read_only_dir: Path) -> None:
    with pytest.raises(CacheError) as err:
        BarStore.in_dir(read_only_dir)
    assert str(read_only_dir) in str(err.value) and "\n" not in str(err.value)
    assert list(read_only_dir.iterdir()) == []


def test_a_bad_file_in_an_unwritable_directory_stays_where_it_is(read_only_dir: Path) -> None:
    read_only_dir.chmod(0o700)
    (read_only_dir / CACHE_FILE_NAME).write_bytes(b"garbage" * 100)
    read_only_dir.chmod(0o500)
    with pytest.raises(CacheError) as err:
        BarStore.in_dir(read_only_dir)
    assert "moved aside" in str(err.value) and "\n" not in str(err.value)
    assert [p.name for p in read_only_dir.iterdir()] == [CACHE_FILE_NAME]
    assert (read_only_dir / CACHE_FILE_NAME).read_bytes() == b"garbage" * 100


# ---------------------------------------------------------------------- closing
def test_close_twice_is_fine_and_a_late_call_is_a_cache_error(tmp_path: Path) -> None:
    store = BarStore.in_dir(tmp_path)
    store.close()
    store.close()
    for late in (
        lambda: store.load_bars("IWM", Interval.DAILY),
        lambda: store.save_bars(series("IWM", 2)),
        lambda: store.load_quotes(["IWM"]),
        lambda: store.try_lease("yahoo", "me", 10.0),
        lambda: store.integrity_check(),
    ):
        with pytest.raises(CacheError, match="closed"):
            late()


# ---------------------------------------------------------------------- two instances
def test_one_lease_holder_at_a_time_between_two_stores(tmp_path: Path) -> None:
    a, b = BarStore.in_dir(tmp_path), BarStore.in_dir(tmp_path)
    t = 1_800_000_000.0
    assert a.lease_holder("yahoo", now=t) is None
    assert a.try_lease("yahoo", "A", 10.0, now=t)
    assert not b.try_lease("yahoo", "B", 10.0, now=t + 1)
    assert b.lease_holder("yahoo", now=t + 1) == "A"
    # A re-acquiring extends: B is still refused past A's first expiry.
    assert a.try_lease("yahoo", "A", 10.0, now=t + 8)
    assert not b.try_lease("yahoo", "B", 10.0, now=t + 12)
    # Expired: B takes over, and A is refused until B lets go.
    assert b.try_lease("yahoo", "B", 10.0, now=t + 18)
    assert a.lease_holder("yahoo", now=t + 18) == "B"
    assert not a.try_lease("yahoo", "A", 10.0, now=t + 19)
    a.release_lease("yahoo", "A")  # not A's to release
    assert a.lease_holder("yahoo", now=t + 19) == "B"
    b.release_lease("yahoo", "B")
    assert a.lease_holder("yahoo", now=t + 19) is None
    assert a.try_lease("yahoo", "A", 10.0, now=t + 19)
    # Leases of other names are independent.
    assert b.try_lease("history", "B", 10.0, now=t + 19)


def test_quotes_fetched_since_gives_only_what_is_fresh(tmp_path: Path) -> None:
    fetcher, reader = BarStore.in_dir(tmp_path), BarStore.in_dir(tmp_path)
    fetcher.save_quote(w.quote_of(10), w.fetched_at(10))
    fetcher.save_quote(replace(w.quote_of(2), symbol="SPY"), w.fetched_at(2))
    got = reader.quotes_fetched_since([w.QUOTED, "SPY", "IWM"], w.fetched_at(10))
    assert set(got) == {w.QUOTED} and got[w.QUOTED].quote == w.quote_of(10)
    assert got[w.QUOTED].fetched_at == w.fetched_at(10)
    assert set(reader.quotes_fetched_since(["SPY"], w.fetched_at(2))) == {"SPY"}
    with pytest.raises(ValueError):
        reader.quotes_fetched_since(["SPY"], datetime(2026, 1, 1))


@needs_sigkill
def test_two_processes_never_hold_the_lease_together(tmp_path: Path, writers: list[Writer]) -> None:
    db, sentinel = tmp_path / CACHE_FILE_NAME, tmp_path / "inside"
    BarStore(db).close()
    pair = [Writer("lease", db, sentinel, 15) for _ in range(2)]
    writers += pair
    for wr in pair:
        wr.read_until("ready")
    for wr in pair:
        wr.go()
    for wr in pair:
        wr.finish()
        assert "overlap" not in wr.lines and "lost" not in wr.lines
        assert [ln for ln in wr.lines if ln.startswith("held")] == [f"held {i}" for i in range(15)]


@needs_sigkill
def test_a_killed_holders_lease_passes_on_when_it_expires(tmp_path: Path, writers: list[Writer]) -> None:
    db = tmp_path / CACHE_FILE_NAME
    BarStore(db).close()
    wr = Writer("hold", db, 600)
    writers.append(wr)
    wr.read_until("held")
    holder, expires = wr.lines[-1].removeprefix("held ").split("|")
    wr.kill()  # it never releases
    store = BarStore(db)
    before = float(expires) - 1.0
    assert store.lease_holder(w.LEASE, now=before) == holder
    assert not store.try_lease(w.LEASE, "me", 5.0, now=before)
    assert store.try_lease(w.LEASE, "me", 5.0, now=float(expires))
    assert store.lease_holder(w.LEASE, now=float(expires)) == "me"


@needs_sigkill
def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path, writers: list[Writer]) -> None:
    db = tmp_path / CACHE_FILE_NAME
    BarStore(db).close()
    pair = [Writer("concurrent", db, who, 1.5) for who in (1, 2)]
    writers += pair
    for wr in pair:
        wr.read_until("ready")
    for wr in pair:
        wr.go()
    committed: dict[str, set[int]] = {}
    for wr in pair:
        wr.finish()  # exit 0 and nothing on stderr: no "database is locked" escaped
        for line in wr.lines:
            if line.startswith("commit bars"):
                _, _, sym, key = line.split()
                committed.setdefault(sym, set()).add(int(key))
    assert len(committed["C1"]) > 5 and len(committed["C2"]) > 5 and len(committed["SHARED"]) > 10
    con = read_only(db)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    for sym, keys in committed.items():
        assert rows_of(con, sym) == [row for k in sorted(keys) for row in as_rows(w.batch(sym, k))]
    con.close()


def test_a_writer_held_up_too_long_gets_a_one_line_cache_error(tmp_path: Path) -> None:
    store = BarStore.in_dir(tmp_path)
    store.save_bars(series("IWM", 3))
    slow = BarStore(tmp_path / CACHE_FILE_NAME, busy_timeout_s=0.1)
    other = sqlite3.connect(tmp_path / CACHE_FILE_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another instance in the middle of a long write
    try:
        for blocked in (
            lambda: slow.save_bars(series("SPY", 2)),
            lambda: slow.save_quote(w.quote_of(1), w.fetched_at(1)),
            lambda: slow.prune(Interval.MINUTE_5, 0),
            lambda: slow.try_lease("yahoo", "me", 10.0),
        ):
            with pytest.raises(CacheError, match="busy") as err:
                blocked()
            assert "\n" not in str(err.value)
        assert len(slow.load_bars("IWM", Interval.DAILY)) == 3  # reading never waits for a writer
    finally:
        other.execute("ROLLBACK")
        other.close()
    slow.save_bars(series("SPY", 2))
    assert len(store.load_bars("SPY", Interval.DAILY)) == 2
