"""The SQLite cache: round trips, upserts, replacement, and files it must never trust or destroy."""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

from services.cache import CACHE_FILE_NAME, BarStore
from services.models import Bar, BarSeries, Interval, MarketSession, Quote, day_ts


def series(symbol: str, days: range, base: float = 100.0, adj: bool = True) -> BarSeries:
    bars = [
        Bar(
            day_ts(date(2026, 1, d)),
            base + d,
            base + d + 1,
            base + d - 1,
            base + d + 0.5,
            1000.0 * d,
            (base + d) * 0.98 if adj else math.nan,
        )
        for d in days
    ]
    return BarSeries.from_bars(symbol, Interval.DAILY, bars)


def test_bars_round_trip_exactly(tmp_path: Path) -> None:
    store = BarStore.in_dir(tmp_path)
    s = series("IWM", range(2, 20))
    store.save_bars(s)
    assert store.load_bars("IWM", Interval.DAILY) == s
    assert list(store.load_bars("IWM", Interval.DAILY).adj_close) == list(s.adj_close)
    no_adj = series("^RUT", range(2, 5), adj=False)
    store.save_bars(no_adj)
    assert all(math.isnan(x) for x in store.load_bars("^RUT", Interval.DAILY).adj_close)
    assert store.last_ts("IWM", Interval.DAILY) == day_ts(date(2026, 1, 19))
    assert store.last_ts("SPY", Interval.DAILY) is None
    assert len(store.load_tail("IWM", Interval.DAILY, 5)) == 5
    store.close()
    # A new process sees the same data.
    again = BarStore.in_dir(tmp_path)
    assert again.load_bars("IWM", Interval.DAILY) == s and again.notice is None


def test_upsert_keeps_old_bars_and_replace_drops_them(tmp_path: Path) -> None:
    store = BarStore.in_dir(tmp_path)
    store.save_bars(series("IWM", range(2, 10)))
    store.save_bars(series("IWM", range(8, 12), base=200.0))
    got = store.load_bars("IWM", Interval.DAILY)
    assert len(got) == 10 and got.close[0] == 102.5 and got.close[-1] == 211.5
    store.save_bars(series("IWM", range(5, 7), base=300.0), replace=True)
    assert [b.day.day for b in store.load_bars("IWM", Interval.DAILY)] == [5, 6]


def test_quotes_round_trip(tmp_path: Path) -> None:
    store = BarStore.in_dir(tmp_path)
    q = Quote(
        "SPY",
        645.09,
        656.82,
        650.0,
        654.85,
        644.82,
        9.6e7,
        datetime(2026, 11, 23, 21, tzinfo=UTC),
        MarketSession.CLOSED,
        date(2026, 11, 23),
    )
    at = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    store.save_quote(q, at)
    got = store.load_quotes(["SPY", "IWM"])
    assert set(got) == {"SPY"} and got["SPY"].quote == q and got["SPY"].fetched_at == at


def test_prune_forgets_old_intraday_bars_only(tmp_path: Path) -> None:
    store = BarStore.in_dir(tmp_path)
    store.save_bars(series("IWM", range(2, 10)))
    intraday = BarSeries.from_bars(
        "IWM", Interval.MINUTE_5, [Bar(1_700_000_000 + 300 * i, 1, 1, 1, 1) for i in range(10)]
    )
    store.save_bars(intraday)
    store.prune(Interval.MINUTE_5, 1_700_000_000 + 300 * 5)
    assert len(store.load_bars("IWM", Interval.MINUTE_5)) == 5
    assert len(store.load_bars("IWM", Interval.DAILY)) == 8


def test_a_corrupt_file_is_moved_aside_not_deleted(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILE_NAME
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    store = BarStore.in_dir(tmp_path)
    assert store.notice is not None and "moved aside" in store.notice
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(CACHE_FILE_NAME + ".unusable-")]
    assert len(kept) == 1 and kept[0].read_bytes() == garbage
    store.save_bars(series("IWM", range(2, 4)))
    assert len(store.load_bars("IWM", Interval.DAILY)) == 2
    assert store.integrity_check() == "ok"


def test_a_foreign_sqlite_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILE_NAME
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.execute("INSERT INTO notes VALUES ('precious')")
    db.commit()
    db.close()
    store = BarStore.in_dir(tmp_path)
    assert store.notice is not None and "foreign" in store.notice
    kept = next(
        p for p in tmp_path.iterdir() if ".unusable-" in p.name and not p.name.endswith(("-wal", "-shm"))
    )
    assert sqlite3.connect(kept).execute("SELECT body FROM notes").fetchone() == ("precious",)


def test_two_stores_on_one_file_share_it(tmp_path: Path) -> None:
    a, b = BarStore.in_dir(tmp_path), BarStore.in_dir(tmp_path)
    a.save_bars(series("IWM", range(2, 6)))
    b.save_bars(series("SPY", range(2, 6)))
    assert len(b.load_bars("IWM", Interval.DAILY)) == 4 and len(a.load_bars("SPY", Interval.DAILY)) == 4
    assert a.integrity_check() == "ok"
