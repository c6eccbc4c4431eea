"""A process that writes to the cache, for tests that kill it or run two of it at once.

    python tests/fakes/cache_writer.py write DB ROUND [--stall open|bars|replace] [--stall-at STEP]
    python tests/fakes/cache_writer.py concurrent DB WHO SECONDS
    python tests/fakes/cache_writer.py lease DB SENTINEL TIMES
    python tests/fakes/cache_writer.py hold DB TTL

Every write is announced on stdout before it starts ("begin ...") and after it committed
("commit ..."), one flushed line each, so the test knows what must be in the file after a kill and
which single write may or may not be. `--stall` freezes the process in the middle of one write's
transaction and says so ("stalled ..."): a kill then lands there for sure. The values written are
functions of the names on those lines (`batch`, `replacement`, `quote_of`), so the test can check
them exactly. `concurrent` and `lease` wait for a line on stdin before starting, so that two
processes really run at the same time.
"""

from __future__ import annotations

import math
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.cache import BarStore, new_lease_holder
from services.models import Bar, BarSeries, Interval, MarketSession, Quote

BATCH = 40
"""Bars per batch: batch `i` of round `r` covers minutes [(r * 100_000 + i) * BATCH, ... + BATCH)."""
BASE_TS = 1_700_000_000
REPLACED = "REPL"
"""The daily series every round replaces whole, with a length that changes from one generation to the next."""
QUOTED = "Q"
LEASE = "yahoo"
STALL_S = 60.0


def say(line: str) -> None:
    print(line, flush=True)


def batch(symbol: str, key: int) -> BarSeries:
    """Batch `key` of `symbol`: minute bars whose every column encodes (key, position)."""
    bars = []
    for j in range(BATCH):
        price = 100.0 + key % 100_000 + j / 64
        bars.append(
            Bar(
                BASE_TS + (key * BATCH + j) * 60,
                price,
                price + 1.0,
                price - 0.5,
                price + 0.25,
                float(key * BATCH + j),
                math.nan if j % 5 == 0 else price / 2,
            )
        )
    return BarSeries.from_bars(symbol, Interval.MINUTE_1, bars)


def batch_of_ts(ts: int) -> int:
    """Which batch key wrote the bar at `ts`."""
    return (ts - BASE_TS) // 60 // BATCH


def replacement(gen: int, n: int | None = None) -> BarSeries:
    """Generation `gen` of the replaced series: every bar carries `gen` as its volume."""
    n = 2_000 + (gen % 5) * 300 if n is None else n
    bars = [
        Bar(BASE_TS + j * 86_400, 50.0 + j / 8, 51.0 + j / 8, 49.0 + j / 8, 50.5 + gen % 1000, gen)
        for j in range(n)
    ]
    return BarSeries.from_bars(REPLACED, Interval.DAILY, bars)


def quote_of(k: int) -> Quote:
    return Quote(
        QUOTED,
        100.0 + k / 8,
        99.0,
        99.5,
        101.0 + k / 8,
        98.0,
        float(k),
        datetime.fromtimestamp(BASE_TS + k, UTC),
        MarketSession.REGULAR,
        date(2026, 11, 23),
    )


def fetched_at(k: int) -> datetime:
    return datetime.fromtimestamp(BASE_TS + k, UTC)


class _Stalling(BarSeries):
    """A series that, iterated inside save_bars' transaction, says so halfway and then hangs."""

    __slots__ = ("said",)
    said: str

    def __iter__(self) -> Iterator[Bar]:
        for i, bar in enumerate(super().__iter__()):
            if i == len(self) // 2:
                say(f"stalled {self.said}")
                time.sleep(STALL_S)
            yield bar


def stalling(series: BarSeries, said: str) -> BarSeries:
    s = _Stalling(
        series.symbol,
        series.interval,
        series.ts,
        series.open,
        series.high,
        series.low,
        series.close,
        series.volume,
        series.adj_close,
    )
    s.said = said
    return s


class _StallingConnection(sqlite3.Connection):
    """Hangs just before the cache's first creation commits: the id is written after the tables."""

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.startswith("PRAGMA application_id ="):
            say("stalled open")
            time.sleep(STALL_S)
        return super().execute(sql, *args)


def write(db: Path, rnd: int, stall: str | None, stall_at: int) -> None:
    if stall == "open":
        real_connect = sqlite3.connect
        sqlite3.connect = lambda *a, **k: real_connect(*a, factory=_StallingConnection, **k)  # type: ignore[assignment]
    say("opening")
    store = BarStore(db)
    say("ready")
    step = 0
    while True:
        key = rnd * 100_000 + step
        stall_here = stall is not None and step == stall_at
        sym = f"B{rnd}"
        say(f"begin bars {sym} {key}")
        series = batch(sym, key)
        store.save_bars(stalling(series, f"bars {sym} {key}") if stall_here and stall == "bars" else series)
        say(f"commit bars {sym} {key}")
        if step % 3 == 2:
            say(f"begin quote {QUOTED} {key}")
            store.save_quote(quote_of(key), fetched_at(key))
            say(f"commit quote {QUOTED} {key}")
        if step % 4 == 3 or (stall_here and stall == "replace"):
            big = stall_here and stall == "replace"
            series = replacement(key, 20_000 if big else None)
            say(f"begin replace {REPLACED} {key} {len(series)}")
            store.save_bars(stalling(series, f"replace {REPLACED} {key}") if big else series, replace=True)
            say(f"commit replace {REPLACED} {key} {len(series)}")
        step += 1


def concurrent(db: Path, who: int, seconds: float) -> None:
    """Write for `seconds` against another process doing the same: own symbols, a shared one, the lease."""
    store = BarStore(db)
    holder = new_lease_holder()
    say("ready")
    sys.stdin.readline()
    end = time.monotonic() + seconds
    step = 0
    while step < 20 or time.monotonic() < end:  # a slow machine still writes enough to compare
        key = who * 100_000 + step
        for sym in (f"C{who}", "SHARED"):  # SHARED: both write the same table pages, different keys
            store.save_bars(batch(sym, key))
            say(f"commit bars {sym} {key}")
        store.save_quote(quote_of(key), fetched_at(key))
        if store.try_lease(LEASE, holder, ttl_s=0.05):
            say(f"lease {holder}")
        step += 1
    store.close()
    say("done")


def lease(db: Path, sentinel: Path, times: int) -> None:
    """Take the lease `times` times; while holding it, own `sentinel` exclusively (O_EXCL proves it)."""
    store = BarStore(db)
    me = new_lease_holder()
    say("ready")
    sys.stdin.readline()
    for i in range(times):
        while not store.try_lease(LEASE, me, ttl_s=30.0):
            time.sleep(0.001)
        try:
            fd = os.open(sentinel, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            say("overlap")  # the other process is inside although we hold the lease
            return
        for _ in range(3):
            if store.lease_holder(LEASE) != me:
                say("lost")
            time.sleep(0.001)
        os.close(fd)
        os.unlink(sentinel)
        store.release_lease(LEASE, me)
        say(f"held {i}")
        time.sleep(0.002)  # let the other one in
    store.close()
    say("done")


def hold(db: Path, ttl_s: float) -> None:
    """Take the lease and hang, as a holder that froze or was killed without releasing it."""
    store = BarStore(db)
    me = new_lease_holder()
    now = time.time()
    taken = store.try_lease(LEASE, me, ttl_s=ttl_s, now=now)
    say(f"held {me}|{now + ttl_s!r}" if taken else "refused")
    time.sleep(STALL_S)


def main(argv: list[str]) -> None:
    mode, db = argv[0], Path(argv[1])
    if mode == "write":
        stall = argv[argv.index("--stall") + 1] if "--stall" in argv else None
        stall_at = int(argv[argv.index("--stall-at") + 1]) if "--stall-at" in argv else 0
        write(db, int(argv[2]), stall, stall_at)
    elif mode == "concurrent":
        concurrent(db, int(argv[2]), float(argv[3]))
    elif mode == "lease":
        lease(db, Path(argv[2]), int(argv[3]))
    elif mode == "hold":
        hold(db, float(argv[2]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
