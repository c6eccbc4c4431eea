"""The pipeline: source -> store -> engine -> snapshot.

`Monitor` owns the per-symbol state between refreshes. Its async methods run on the event loop but
put every blocking step (SQLite, TA-Lib) in a thread; the source does its own I/O off the loop.
State is only mutated on the loop, after the awaited work returns.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
from bisect import bisect_left
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from services import engine
from services import indicators as ind
from services.breakout import BreakoutAssessment, BreakoutRules
from services.cache import BarStore, CachedQuote, new_lease_holder
from services.market_hours import NEW_YORK
from services.models import (
    Bar,
    BarSeries,
    ErrorKind,
    ExtendedQuote,
    Interval,
    MarketSession,
    Quote,
    SymbolError,
    day_ts,
    ts_day,
)
from services.snapshot import SPARKLINE_POINTS, FeedStatus, Snapshot, SymbolSnapshot
from services.sources.base import MarketDataSource
from services.stream import StreamTick

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")
ReadoutKey = tuple[tuple[int, int, float], bool]
"""What indicators were computed from: the daily series' revision and whether its last bar was live."""

OVERLAP_RTOL = 1e-5
"""Relative difference above which a refetched old bar counts as re-adjusted (split, dividend)."""
INTRADAY_KEEP = timedelta(days=5)
FETCH_LEASE = "yahoo"
"""The cache's lease of the instance that asks Yahoo; other instances on the machine read its writes."""
STREAM_FRESH = timedelta(minutes=2)
"""A streamed price younger than this is live, whatever the last poll said."""
TRANSIENT = frozenset(
    {
        ErrorKind.RATE_LIMITED,
        ErrorKind.TIMEOUT,
        ErrorKind.NETWORK,
        ErrorKind.SERVER_ERROR,
        ErrorKind.BAD_RESPONSE,
    }
)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CycleOutcome:
    """What one refresh step did: which symbols answered and what failed."""

    updated: frozenset[str] = frozenset()
    errors: dict[str, SymbolError] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """True when the step should be retried with backoff: a transient failure, or nothing answered."""
        if any(e.kind in TRANSIENT for e in self.errors.values()):
            return True
        return bool(self.errors) and not self.updated

    def merge(self, other: CycleOutcome) -> CycleOutcome:
        return CycleOutcome(self.updated | other.updated, {**self.errors, **other.errors})


@dataclass(slots=True)
class _SymbolState:
    daily: BarSeries
    intraday: BarSeries | None = None
    quote: Quote | None = None
    quote_at: datetime | None = None
    from_cache: bool = False
    error: SymbolError | None = None
    readout: ind.IndicatorReadout | None = None
    readout_key: ReadoutKey | None = None
    streamed_at: datetime | None = None
    """When a streamed tick last moved the quote (the values are live even while polls fail)."""


def _bars_agree(old: BarSeries, fresh: BarSeries) -> bool:
    """Do the refetched bars agree with the cached ones they overlap? The newest cached bar is left
    out: Yahoo may still correct the last close, which is not a re-adjustment of history."""
    if len(old) < 2 or not fresh:
        return True
    cached = {old.ts[i]: i for i in range(max(0, len(old) - 40), len(old) - 1)}
    for j, t in enumerate(fresh.ts):
        i = cached.get(t)
        if i is None:
            continue
        if not math.isclose(old.close[i], fresh.close[j], rel_tol=OVERLAP_RTOL):
            return False
        a, b = old.adj_close[i], fresh.adj_close[j]
        if not (math.isnan(a) or math.isnan(b)) and not math.isclose(a, b, rel_tol=OVERLAP_RTOL):
            return False
    return True


class TickEffect(enum.Enum):
    IGNORED = "ignored"
    APPLIED = "applied"
    NEW_DAY = "new_day"
    """A tick of a later trading day: poll now (the roll needs the closed day's final bar)."""


def _extend_path(path: BarSeries, price: float, when: datetime) -> BarSeries:
    """Today's intraday path with a streamed price: the current bar's close (and range) move, or a new
    bar starts; bars are `step` seconds long as the poll delivered them."""
    step = int(path.ts[-1] - path.ts[-2]) if len(path) >= 2 else 300
    step = step if step > 0 else 300
    ts = int(when.timestamp()) // step * step
    last = path.last
    assert last is not None
    if ts < last.ts:
        return path
    if ts == last.ts:
        bar = Bar(ts, last.open, max(last.high, price), min(last.low, price), price, last.volume)
    else:
        bar = Bar(ts, price, price, price, price, 0.0)
    return path.upsert(bar)


def ny_day(ts: float) -> date:
    """The New York date of an intraday timestamp."""
    return datetime.fromtimestamp(ts, UTC).astimezone(NEW_YORK).date()


def latest_day(path: BarSeries) -> BarSeries:
    """The bars of the path's last New York day: before the open Yahoo's one-day range also holds the
    previous session, which is not today's path."""
    if not path:
        return path
    day = ny_day(path.ts[-1])
    start = datetime.combine(day, datetime.min.time(), NEW_YORK)
    return path.since(int(start.timestamp()))


def keep_newer_streamed(polled: Quote, shown: Quote) -> Quote:
    """A poll answers with the last complete bar's price, often older than the last streamed tick: the
    newer price (and its extended-hours one) stays; the poll brings the rest (open, volume, range)."""
    if polled.trading_day != shown.trading_day:
        return polled
    out = polled
    if shown.time > polled.time and shown.session is polled.session is MarketSession.REGULAR:
        highs = [x for x in (polled.day_high, shown.day_high) if x is not None]
        lows = [x for x in (polled.day_low, shown.day_low) if x is not None]
        out = replace(
            out,
            last=shown.last,
            time=shown.time,
            day_high=max(highs) if highs else None,
            day_low=min(lows) if lows else None,
            volume=max(polled.volume or 0.0, shown.volume or 0.0) or polled.volume,
        )
    sx, px = shown.extended, polled.extended
    if sx is not None and sx.session is polled.session and (px is None or sx.time > px.time):
        out = replace(out, extended=sx)
    return out


def reconcile_quote(q: Quote, daily: BarSeries) -> Quote:
    """Make a quote agree with the daily history it sits on.

    The previous close is the close of the session before the quote's day, taken from the history when
    the history reaches that day (Yahoo's chart metadata gives the quote's own close before the open,
    which would show a change of zero). Outside the regular session the day's open, high, low and
    volume are those of the completed daily bar.
    """
    if not daily:
        return q
    day = day_ts(q.trading_day)
    changes: dict[str, object] = {}
    i = bisect_left(daily.ts, day)
    if i < len(daily) and daily.ts[i] == day:
        if i > 0:
            changes["prev_close"] = daily.close[i - 1]
        if q.session is not MarketSession.REGULAR:
            bar = daily[i]
            changes.update(
                day_open=bar.open, day_high=bar.high, day_low=bar.low, volume=bar.volume or q.volume
            )
    elif i == len(daily) and q.session is MarketSession.REGULAR and day - daily.ts[-1] <= 4 * 86400:
        changes["prev_close"] = daily.close[-1]  # today's bar is not in the history yet
    return replace(q, **changes) if changes else q  # type: ignore[arg-type]


class Monitor:
    """Keeps every watched symbol's data and turns it into snapshots."""

    def __init__(
        self,
        source: MarketDataSource,
        *,
        symbols: Sequence[str],
        rules: BreakoutRules,
        store: BarStore | None = None,
        clock: Clock = utc_now,
        as_of: Callable[[], datetime | None] | None = None,
    ) -> None:
        """
        Args:
            source: where data comes from.
            symbols: the watchlist, in display order.
            rules: the breakout rule (its symbol is fetched even when not in the watchlist).
            store: the cache, or None to run without one.
            clock: the current time, UTC-aware.
            as_of: for a replay, the moment the data describes (None: the clock).
        """
        self.source = source
        self.symbols = list(dict.fromkeys(symbols))
        self.rules = rules
        self.store = store
        self.clock = clock
        self._as_of = as_of
        # The engine reads the index, its ETF, the S&P and the 10-year yield even when they are not shown.
        self.fetch_symbols = list(
            dict.fromkeys([*self.symbols, rules.symbol, rules.etf, rules.market, rules.yields])
        )
        self._state = {s: _SymbolState(BarSeries(s, Interval.DAILY)) for s in self.fetch_symbols}
        self.unknown: set[str] = set()
        """Symbols the source said it does not know: no longer asked for."""
        self.last_history_fetch: datetime | None = None
        self.last_success: datetime | None = None
        self.history_ok = False
        self._engine: _EngineCache | None = None
        self.feed_error: str | None = None
        """A failure of the whole refresh (not of one symbol), set by the refresh loop."""
        self.lease_holder = new_lease_holder()
        self.fetching_instance: str | None = None
        """Another instance holding the fetch lease (this one then reads the cache), else None."""
        self._followed = False

    def set_watchlist(self, symbols: Sequence[str]) -> list[str]:
        """Change the watched symbols (the user added or removed one); returns the newly fetched ones.

        A new symbol needs its history: `history_ok` is cleared so the next forced refresh loads it.
        A removed one keeps its state while the engine still reads it.
        """
        self.symbols = list(dict.fromkeys(symbols))
        engine_symbols = [self.rules.symbol, self.rules.etf, self.rules.market, self.rules.yields]
        fetch = list(dict.fromkeys([*self.symbols, *engine_symbols]))
        added = [s for s in fetch if s not in self._state]
        for sym in added:
            self._state[sym] = _SymbolState(BarSeries(sym, Interval.DAILY))
        self.unknown -= set(added)
        self.fetch_symbols = fetch
        if added:
            self.history_ok = False
        return added

    # ------------------------------------------------------------------ helpers
    def _active(self) -> list[str]:
        return [s for s in self.fetch_symbols if s not in self.unknown]

    async def _store_call(self, fn: Callable[..., T], *args: object) -> T | None:
        """Run a cache call in a thread; a cache failure is logged, never fatal (the data is on screen)."""
        if self.store is None:
            return None
        try:
            return await asyncio.to_thread(fn, *args)
        except Exception:
            log.exception("cache operation %s failed", getattr(fn, "__name__", fn))
            return None

    def _record_errors(self, errors: dict[str, SymbolError]) -> None:
        for sym, err in errors.items():
            if sym in self._state:
                self._state[sym].error = err
            if err.kind is ErrorKind.UNKNOWN_SYMBOL:
                self.unknown.add(sym)

    # ------------------------------------------------------------------ sharing the cache
    async def claim_fetch(self, ttl_s: float) -> bool:
        """True when this instance should ask the source: it holds (or took, or extended) the
        machine's fetch lease, or there is no cache to share. Two monitors on one cache thus never
        both ask Yahoo; the other reads what this one stores (`follow_store`)."""
        store = self.store
        if store is None:
            return True

        def take() -> tuple[bool, str | None]:
            if store.try_lease(FETCH_LEASE, self.lease_holder, ttl_s):
                return True, None
            return False, store.lease_holder(FETCH_LEASE)

        result = await self._store_call(take)
        if result is None:
            return True  # the cache is failing: better to ask Yahoo than to show nothing
        mine, other = result
        if mine and self.fetching_instance is not None:
            self._followed = False
        self.fetching_instance = other
        return mine

    def release_fetch(self) -> None:
        """Give the fetch lease up (blocking: on exit, before the cache closes), so another instance
        takes over at its next poll instead of after the lease runs out."""
        if self.store is not None:
            try:
                self.store.release_lease(FETCH_LEASE, self.lease_holder)
            except Exception:
                log.exception("cannot release the fetch lease")

    async def follow_store(self, fresh_within: timedelta) -> CycleOutcome:
        """Take what the instance holding the fetch lease stored: quotes it fetched within
        `fresh_within`, today's intraday path, and daily bars newer than ours (all of them the first
        time)."""
        store = self.store
        assert store is not None
        symbols = self._active()
        now = self.clock()
        completed = {s: self._completed(s) for s in symbols}
        newest_have = {s: (int(c.ts[-1]) if c else None) for s, c in completed.items()}
        first = not self._followed
        intraday_from = int((now - INTRADAY_KEEP).timestamp())

        def load() -> tuple[dict[str, CachedQuote], dict[str, BarSeries], dict[str, BarSeries]]:
            quotes = store.quotes_fetched_since(symbols, now - fresh_within)
            paths = {s: store.load_bars(s, Interval.MINUTE_5, intraday_from) for s in quotes}
            daily: dict[str, BarSeries] = {}
            for s in symbols:
                newest = store.last_ts(s, Interval.DAILY)
                have = newest_have[s]
                if newest is not None and (first or have is None or newest > have):
                    daily[s] = store.load_bars(s, Interval.DAILY)
            return quotes, paths, daily

        loaded = await self._store_call(load)
        if loaded is None:
            return CycleOutcome()
        quotes, paths, daily = loaded
        self._followed = True
        updated: set[str] = set()
        for sym, series in daily.items():
            if series:
                self._set_daily(sym, series)
                updated.add(sym)
        self.history_ok = True
        for sym, cached in quotes.items():
            st = self._state[sym]
            q = reconcile_quote(cached.quote, st.daily)
            if st.quote == q and not st.from_cache and st.quote_at == cached.fetched_at:
                continue
            st.quote, st.quote_at, st.from_cache, st.error = q, cached.fetched_at, False, None
            path = paths.get(sym)
            if path:
                st.intraday = latest_day(path)
            self._merge_session_bar(st, q)
            updated.add(sym)
        return CycleOutcome(frozenset(updated), {})

    # ------------------------------------------------------------------ start-up paint
    async def paint_from_cache(self) -> bool:
        """Load the last quotes, recent daily closes and today's intraday path from the cache.

        Cheap (no numpy, a few small queries) so that the first price is on screen at once. Returns True
        when anything was found.
        """
        store = self.store
        if store is None:
            return False

        def load() -> tuple[dict[str, CachedQuote], dict[str, BarSeries], dict[str, BarSeries]]:
            quotes = dict(store.load_quotes(self.fetch_symbols))
            daily = {s: store.load_tail(s, Interval.DAILY, SPARKLINE_POINTS + 1) for s in self.fetch_symbols}
            since = int((self.clock() - INTRADAY_KEEP).timestamp())
            intraday = {s: store.load_bars(s, Interval.MINUTE_5, since) for s in self.fetch_symbols}
            return quotes, daily, intraday

        loaded = await self._store_call(load)
        if loaded is None:
            return False
        quotes, daily, intraday = loaded
        found = False
        for sym, st in self._state.items():
            cached = quotes.get(sym)
            if cached is not None:
                st.quote = cached.quote
                st.quote_at = cached.fetched_at
                st.from_cache = True
                found = True
            if daily[sym]:
                st.daily = daily[sym]
                found = True
            path = latest_day(intraday[sym])
            st.intraday = path or None
        return found

    # ------------------------------------------------------------------ history
    async def load_history(self) -> CycleOutcome:
        """Bring daily history up to date: with a cache, fetch only the missing tail (a split or dividend
        found in the tail refetches that symbol in full); without one, fetch everything."""
        symbols = self._active()
        cached: dict[str, BarSeries] = {}
        if self.store is not None:
            store = self.store
            loaded = await self._store_call(lambda: {s: store.load_bars(s, Interval.DAILY) for s in symbols})
            cached = loaded or {}
        since: dict[str, date | None] = {
            s: (ts_day(cached[s].ts[-1]) if cached.get(s) else None) for s in symbols
        }
        result = await self.source.history(symbols, Interval.DAILY, since)
        self.last_history_fetch = self.clock()
        errors = dict(result.errors)
        updated: set[str] = set()
        refetch: list[str] = []
        for sym, fresh in result.bars.items():
            old = cached.get(sym)
            if old and (sym in result.adjusted or not _bars_agree(old, fresh)):
                refetch.append(sym)
                continue
            merged = old.merge(fresh) if old else fresh
            self._set_daily(sym, merged)
            await self._store_call(self._save_completed, fresh, False)
            updated.add(sym)
        if refetch:
            log.info("history re-adjusted for %s: refetching in full", ", ".join(refetch))
            full = await self.source.history(refetch, Interval.DAILY, dict.fromkeys(refetch))
            errors.update(full.errors)
            for sym, series in full.bars.items():
                self._set_daily(sym, series)
                await self._store_call(self._save_completed, series, True)
                updated.add(sym)
        for sym in symbols:
            if sym not in updated and cached.get(sym) and len(self._state[sym].daily) < len(cached[sym]):
                self._set_daily(sym, cached[sym])  # the fetch failed: show the cached history
        self._record_errors(errors)
        for sym in updated:
            st = self._state[sym]
            if st.error is not None and st.error.kind is not ErrorKind.UNKNOWN_SYMBOL and st.quote is None:
                st.error = None
        # Retried (see RefreshLoop) after a transient failure, or when a symbol still has no history at
        # all: an empty answer at start-up must not leave it without bars until tomorrow's refetch.
        self.history_ok = not any(
            e.kind in TRANSIENT
            or (e.kind is ErrorKind.NO_DATA and not cached.get(sym) and sym not in updated)
            for sym, e in errors.items()
        )
        return CycleOutcome(frozenset(updated), errors)

    def _set_daily(self, sym: str, series: BarSeries) -> None:
        """Install fetched history; a live quote's bar for a day the history does not have yet (today,
        in progress) stays on top. Fetched bars always win for the days they cover."""
        st = self._state[sym]
        q = st.quote
        bar = q.session_bar() if q is not None and not st.from_cache else None
        if bar is not None and series and bar.ts > series.ts[-1]:
            series = series.upsert(bar)
        st.daily = series

    def _save_completed(self, series: BarSeries, replace: bool) -> None:
        """Persist fetched daily bars, except today's while its session is still running."""
        assert self.store is not None
        now = self.clock()
        session = self.source.session_at(now)
        if session in (MarketSession.PRE, MarketSession.REGULAR) and series:
            series = series.until(day_ts(now.astimezone(NEW_YORK).date()) - 1)
        self.store.save_bars(series, replace=replace)

    # ------------------------------------------------------------------ quotes
    async def refresh_quotes(self, only: Collection[str] | None = None) -> CycleOutcome:
        """Fetch the latest quotes (of `only` those symbols, when given: a retry asks again only for
        what failed). When a symbol's quotes move on to a new trading day, the day that closed takes
        its final bar from the source's history: the last live quote seen of it may not have been
        the close."""
        symbols = [s for s in self._active() if only is None or s in only]
        result = await self.source.quotes(symbols)
        now = self.clock()
        rolled = False
        for sym, q in result.quotes.items():
            st = self._state.get(sym)
            if st is None:
                continue
            if st.quote is not None and not st.from_cache and q.trading_day > st.quote.trading_day:
                rolled = True
            polled_time = q.time
            if st.quote is not None and st.streamed_at is not None:
                q = keep_newer_streamed(q, st.quote)
            q = reconcile_quote(q, st.daily)
            st.quote, st.quote_at, st.from_cache, st.error = q, now, False, None
            path = result.intraday.get(sym)
            if path:
                st.intraday = latest_day(path)
                if q.time > polled_time and q.session is MarketSession.REGULAR:
                    # The streamed price is newer than the polled bars: the path keeps reaching it.
                    st.intraday = _extend_path(st.intraday, q.last, q.time)
            elif st.intraday is not None and ny_day(st.intraday.ts[-1]) != q.trading_day:
                st.intraday = None  # an answer without bars keeps the day's path, never an old day's
            self._merge_session_bar(st, q)
        self._record_errors(result.errors)
        if self.store is not None and result.quotes:
            store = self.store
            quotes = [
                st.quote for sym in result.quotes if (st := self._state.get(sym)) and st.quote is not None
            ]
            paths = [p for p in result.intraday.values() if p.interval is Interval.MINUTE_5]
            keep_from = int((now - INTRADAY_KEEP).timestamp())

            def save() -> None:
                for q in quotes:
                    store.save_quote(q, now)
                for p in paths:
                    store.save_bars(p)
                store.prune(Interval.MINUTE_5, keep_from)

            await self._store_call(save)
        outcome = CycleOutcome(frozenset(result.quotes), dict(result.errors))
        if rolled:
            outcome = outcome.merge(await self.load_history())
            for st in self._state.values():  # the previous close is now the final one
                if st.quote is not None and not st.from_cache:
                    st.quote = reconcile_quote(st.quote, st.daily)
        return outcome

    # ------------------------------------------------------------------ streamed ticks
    def apply_tick(self, tick: StreamTick) -> TickEffect:
        """Move a symbol's quote to a streamed price. Cheap (no I/O): called for every tick.

        A regular-session tick moves `last`, the day's range and today's bar, and extends today's path
        (its 5-minute bar, or a new one); a pre-market or after-hours tick sets the extended-hours price
        beside the regular close. A tick of a later trading day is not applied: the day's roll (the
        closed day's final bar from the history) is the poll's job, so the caller polls at once.
        """
        st = self._state.get(tick.symbol)
        q = st.quote if st is not None else None
        if st is None or q is None or tick.symbol in self.unknown:
            return TickEffect.IGNORED  # nothing to move yet: the first poll makes the quote
        session = tick.session or self.source.session_at(tick.time)
        day = tick.time.astimezone(NEW_YORK).date()
        if session is MarketSession.REGULAR:
            if day > q.trading_day:
                return TickEffect.NEW_DAY
            if day < q.trading_day or tick.time < q.time:
                return TickEffect.IGNORED  # late or replayed: the quote already knows better
            high = max(x for x in (q.day_high, tick.day_high, tick.price) if x is not None)
            low = min(x for x in (q.day_low, tick.day_low, tick.price) if x is not None)
            new = replace(
                q,
                last=tick.price,
                time=tick.time,
                session=MarketSession.REGULAR,
                day_open=q.day_open if q.day_open is not None else tick.open_price,
                day_high=high,
                day_low=low,
                volume=tick.day_volume if tick.day_volume else q.volume,
                extended=None,
            )
        elif session in (MarketSession.PRE, MarketSession.POST):
            if q.extended is not None and tick.time < q.extended.time:
                return TickEffect.IGNORED
            new = replace(q, session=session, extended=ExtendedQuote(tick.price, tick.time, session))
        else:
            return TickEffect.IGNORED
        if new == q:
            return TickEffect.IGNORED
        st.quote, st.quote_at, st.from_cache = new, self.clock(), False
        st.streamed_at = st.quote_at
        if session is MarketSession.REGULAR:
            self._merge_session_bar(st, new)
        if st.intraday is not None and ny_day(st.intraday.ts[-1]) == day:
            st.intraday = _extend_path(st.intraday, tick.price, tick.time)
        return TickEffect.APPLIED

    @staticmethod
    def _merge_session_bar(st: _SymbolState, q: Quote) -> None:
        """Put the quote's day into the daily series: a live bar replaces today's bar as it moves; outside
        the regular session only a day the history lacks is added (the history wins for its days)."""
        daily = st.daily
        bar = q.session_bar()
        last = daily.last
        if bar is not None:
            live = q.session is MarketSession.REGULAR
            if last is None or bar.ts > last.ts or (live and bar.ts == last.ts):
                st.daily = daily.upsert(bar)
        elif last is not None and last.day == q.trading_day:
            # No open known (an index without intraday bars): move today's existing bar to the quote.
            moved = Bar(
                last.ts,
                last.open,
                max(last.high, q.last),
                min(last.low, q.last),
                q.last,
                last.volume,
                last.adj_close,
            )
            st.daily = daily.upsert(moved)

    # ------------------------------------------------------------------ engine
    def _provisional(self, st: _SymbolState) -> bool:
        q = st.quote
        last = st.daily.last
        return (
            q is not None
            and q.session is MarketSession.REGULAR
            and last is not None
            and last.day == q.trading_day
        )

    async def compute(self) -> None:
        """Recompute indicators where the daily series changed (TA-Lib, in a thread)."""
        todo: list[tuple[_SymbolState, BarSeries, bool, ReadoutKey]] = []
        for st in self._state.values():
            provisional = self._provisional(st)
            key: ReadoutKey = (st.daily.revision, provisional)
            if key != st.readout_key:
                todo.append((st, st.daily, provisional, key))
        if todo:
            await self._compute_readouts(todo)
        await self._compute_engine()

    async def _compute_readouts(self, todo: list[tuple[_SymbolState, BarSeries, bool, ReadoutKey]]) -> None:
        def run() -> list[ind.IndicatorReadout | None]:
            return [ind.compute(series, provisional) for _st, series, provisional, _key in todo]

        readouts = await asyncio.to_thread(run)
        for (st, _series, _prov, key), readout in zip(todo, readouts, strict=True):
            st.readout, st.readout_key = readout, key

    def _completed(self, sym: str) -> BarSeries:
        """A symbol's daily bars without today's bar while it is still in progress."""
        st = self._state[sym]
        return st.daily.until(st.daily.ts[-1] - 1) if self._provisional(st) else st.daily

    def _engine_key(self) -> tuple[object, ...]:
        """What the engine's run depends on: the completed closes (all of them: a re-adjusted history
        changes old closes) and whether the index is failing. Checked every tick, so no series copy."""
        r = self.rules
        key: list[object] = []
        for sym in (r.symbol, r.etf, r.yields):
            st = self._state[sym]
            n = len(st.daily) - (1 if self._provisional(st) else 0)
            key.append((n, st.daily.ts[n - 1] if n else 0, hash(st.daily.close[:n].tobytes())))
        key.append(self._state[r.symbol].error is not None)
        return tuple(key)

    async def _compute_engine(self) -> None:
        """Run the engine over the completed closes when they changed (in a thread: ~30 ms over 35
        years of ^RUT); the live price is applied per snapshot by `breakout_report`."""
        key = self._engine_key()
        if self._engine is not None and self._engine.key == key:
            return
        r = self.rules
        index, etf, yields = self._completed(r.symbol), self._completed(r.etf), self._completed(r.yields)
        st = self._state[r.symbol]
        failing = st.error is not None and st.error.kind is not ErrorKind.NO_DATA

        def run() -> _EngineCache:
            watched = engine.choose_watched(r, index, etf, failing)
            series = etf if watched.symbol == r.etf and watched.symbol != r.symbol else index
            timeline = engine.run_timeline(
                series, watched.rules, etf=etf or None, index=index or None, yields=yields or None
            )
            return _EngineCache(key, watched, timeline)

        self._engine = await asyncio.to_thread(run)

    def breakout_report(self) -> tuple[engine.BreakoutReport | None, BreakoutAssessment | None, str | None]:
        """The engine's report with the live price applied: (report, assessment, note)."""
        cache = self._engine
        r = self.rules
        if cache is None:
            st = self._state[r.symbol]
            note = "waiting for data"
            if not st.daily and st.error is not None:
                note = f"no daily data for {r.symbol}: {st.error.message}"
            return None, None, note
        watched = cache.watched
        st = self._state[watched.symbol]
        assessment = cache.timeline.assessment
        if self._provisional(st) and st.quote is not None:
            assessment = assessment.with_live(st.quote.last)
        if assessment.state is None:
            return None, assessment, watched.note or f"no daily data for {watched.symbol}"
        inputs = engine.EngineInputs(
            watched=st.daily,
            watched_readout=self._readout(watched.symbol),
            etf=self._state[r.etf].daily,
            market=self._state[r.market].daily,
            market_readout=self._readout(r.market),
            index=self._state[r.symbol].daily,
            yields=self._state[r.yields].daily,
            index_symbol=r.symbol,
        )
        report = engine.build_report(inputs, watched, assessment, cache.timeline)
        return report, assessment, watched.note

    def timeline_events(self) -> list[engine.BreakoutEvent]:
        """Every event of the engine's run over the completed closes, oldest first."""
        return list(self._engine.timeline.events) if self._engine is not None else []

    def _readout(self, sym: str) -> ind.IndicatorReadout | None:
        st = self._state[sym]
        if st.readout_key is not None and st.readout_key[0] == st.daily.revision:
            return st.readout
        return None

    # ------------------------------------------------------------------ snapshot
    def is_stale(self, sym: str) -> bool:
        st = self._state[sym]
        if st.quote is None and not st.daily:
            return False  # nothing shown, so nothing stale: the card says "no data"
        if st.from_cache:
            return True
        if st.error is None:
            return False
        # A failed poll does not make streamed prices stale while they keep coming.
        streamed = st.streamed_at
        return streamed is None or (self.clock() - streamed) > STREAM_FRESH

    def error_summary(self) -> str | None:
        errors = [st.error for st in self._state.values() if st.error is not None]
        if self.feed_error is not None:
            return self.feed_error
        if not errors:
            return None
        by_message: dict[str, list[str]] = {}
        for e in errors:
            by_message.setdefault(e.message, []).append(e.symbol)
        parts = []
        for message, syms in sorted(by_message.items(), key=lambda kv: -len(kv[1])):
            who = ", ".join(syms) if len(syms) <= 3 else f"{len(syms)} symbols"
            parts.append(f"{who}: {message}")
        return "; ".join(parts)

    def snapshot(
        self,
        *,
        next_refresh: datetime | None = None,
        paused: bool = False,
        retrying: bool = False,
        notice: str | None = None,
        requests_per_minute: int | None = None,
        stream: str | None = None,
        stream_live: bool = False,
    ) -> Snapshot:
        now = self.clock()
        symbols = {}
        for sym in self.symbols:
            st = self._state[sym]
            symbols[sym] = SymbolSnapshot(
                symbol=sym,
                quote=st.quote,
                daily=st.daily,
                intraday=st.intraday,
                indicators=self._readout(sym),
                provisional=self._provisional(st),
                stale=self.is_stale(sym),
                updated_at=st.quote_at,
                error=st.error,
            )
        report, breakout, note = self.breakout_report()
        proxy = None
        if self._engine is not None:
            w = self._engine.watched
            # The panel shows the configured (index) level in ETF prices whichever series it runs on.
            proxy = (self.rules.etf, w.etf_ratio) if w.symbol == self.rules.symbol else None
        as_of = (self._as_of() if self._as_of is not None else None) or now
        status = FeedStatus(
            source=self.source.kind,
            source_label=self.source.label,
            session=self.source.session_at(now),
            last_update=self.last_success,
            next_refresh=next_refresh,
            paused=paused,
            error=self.error_summary(),
            retrying=retrying,
            notice=notice or (self.store.notice if self.store is not None else None),
            requests_per_minute=requests_per_minute,
            session_event=self.source.session_event(now),
            stream=stream,
            stream_live=stream_live,
        )
        return Snapshot(
            as_of=as_of,
            status=status,
            symbols=symbols,
            breakout=breakout,
            breakout_note=note,
            proxy=proxy,
            report=report,
        )


@dataclass(frozen=True, slots=True)
class _EngineCache:
    key: tuple[object, ...]
    watched: engine.Watched
    timeline: engine.Timeline
