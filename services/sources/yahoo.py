"""Yahoo Finance through yfinance: the live source.

Rules this module keeps, each learnt from yfinance's behaviour:
- every yfinance call runs on ONE worker thread (yfinance keeps process-wide state: a session singleton,
  a crumb, caches), never on the event loop;
- every `Ticker` gets the app's own session, and a new `Ticker` is made per request: a long-lived
  `Ticker` (and its `fast_info`) memoises prices;
- `yf.download` is not used: it only loops over `Ticker.history`, swallows per-symbol errors into the
  log and draws a progress bar unless told `progress=False`;
- errors are raised (`hide_exceptions = False`) and classified here: rate limit, unknown symbol (Yahoo's
  own 404), timeout, network, server error, malformed answer. An empty frame is "no data" (stale),
  never "delisted";
- history is asked for by range (`period="1mo"`, ...), never by start date or "max": those make
  yfinance insist on a timezone lookup, and a failed lookup would stick for the process's lifetime;
- yfinance's fallback to the rate-limited quoteSummary (`.info`) endpoint is switched off;
- yfinance's tz/cookie cache lives in the app's cache dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import queue
import shutil
import tempfile
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from services.market_hours import NEW_YORK, MarketHours, SessionEvent
from services.models import (
    Bar,
    BarSeries,
    ErrorKind,
    ExtendedQuote,
    HistoryResult,
    Interval,
    MarketSession,
    Quote,
    QuoteResult,
    SourceKind,
    SymbolError,
    day_ts,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 10.0
HISTORY_OVERLAP_DAYS = 7
"""Bars refetched before the newest cached one, to catch Yahoo's late corrections and re-adjustments."""
FULL_HISTORY_PERIOD = "10y"
CLOSE_SETTLE = timedelta(minutes=20)
"""Yahoo's final daily bar settles a little after the close; the daily refetch waits this long."""

# (calendar days covered, Yahoo range) from the smallest up: the tail request asks for the least that
# covers the gap since the newest cached bar.
_TAIL_PERIODS = ((28, "1mo"), (88, "3mo"), (180, "6mo"), (360, "1y"), (725, "2y"), (1820, "5y"))


@dataclass(frozen=True, slots=True)
class RequestRecord:
    at: float
    """time.monotonic() of the answer."""
    url: str
    status: int | None
    """HTTP status, or None when no answer came (timeout, DNS, refused)."""
    error: str | None


class RequestLedger:
    """Every HTTP request yfinance makes through our session: to classify failures by the status Yahoo
    actually sent, and to count requests per minute."""

    def __init__(self, keep: int = 2000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self.total = 0

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)
            self.total += 1

    def mark(self) -> int:
        with self._lock:
            return self.total

    def since(self, mark: int) -> list[RequestRecord]:
        with self._lock:
            n = self.total - mark
            return list(self._records)[-n:] if n > 0 else []

    def per_minute(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        with self._lock:
            return sum(1 for r in self._records if now - r.at <= 60.0)


def _instrument(session: Any, ledger: RequestLedger) -> None:
    """Wrap `session.request` (works for requests and curl_cffi sessions alike) to record each answer."""
    if getattr(session, "_breakout_monitor_ledger", None) is ledger:
        return
    inner = session.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        try:
            response = inner(method, url, *args, **kwargs)
        except Exception as exc:
            ledger.add(RequestRecord(time.monotonic(), url, None, type(exc).__name__))
            raise
        ledger.add(RequestRecord(time.monotonic(), url, int(response.status_code), None))
        return response

    session.request = request
    session._breakout_monitor_ledger = ledger


def _default_session() -> Any:
    """The session yfinance would make itself (browser TLS fingerprint via curl_cffi), but ours."""
    try:
        from curl_cffi import requests as curl_requests

        return curl_requests.Session(impersonate="chrome")
    except ImportError:  # pragma: no cover - curl_cffi is a dependency; yfinance falls back the same way
        import requests

        return requests.Session()


_TIMEOUT_NAMES = {"Timeout", "TimeoutError", "ReadTimeout", "ConnectTimeout", "TimeoutException"}
_NETWORK_NAMES = {"ConnectionError", "DNSError", "ProxyError", "SSLError", "gaierror", "ConnectError"}


def classify_failure(symbol: str, exc: BaseException | None, records: Sequence[RequestRecord]) -> SymbolError:
    """Turn what went wrong during one symbol's request into a `SymbolError` a user can read."""
    chart = [r for r in records if "/v8/finance/chart/" in r.url] or list(records)
    statuses = [r.status for r in chart if r.status is not None]
    last = statuses[-1] if statuses else None
    names = {c.__name__ for c in type(exc).__mro__} if exc is not None else set()
    if "YFRateLimitError" in names or 429 in statuses:
        return SymbolError(symbol, ErrorKind.RATE_LIMITED, "rate-limited by Yahoo (HTTP 429)")
    if names & _TIMEOUT_NAMES or any(r.error in _TIMEOUT_NAMES for r in records):
        return SymbolError(symbol, ErrorKind.TIMEOUT, "Yahoo did not answer in time")
    if last == 404:
        return SymbolError(symbol, ErrorKind.UNKNOWN_SYMBOL, f"Yahoo does not know {symbol} (HTTP 404)")
    if last is not None and last >= 500:
        return SymbolError(symbol, ErrorKind.SERVER_ERROR, f"Yahoo server error (HTTP {last})")
    if names & _NETWORK_NAMES or (last is None and records and records[-1].error is not None):
        return SymbolError(symbol, ErrorKind.NETWORK, f"cannot reach Yahoo ({_network_reason(exc, records)})")
    if exc is None or "YFPricesMissingError" in names or "YFTzMissingError" in names:
        if last is not None and 400 <= last < 500:
            return SymbolError(symbol, ErrorKind.BAD_RESPONSE, f"Yahoo refused the request (HTTP {last})")
        return SymbolError(symbol, ErrorKind.NO_DATA, "no data from Yahoo (empty answer)")
    if isinstance(exc, ValueError | KeyError | TypeError | IndexError):
        return SymbolError(symbol, ErrorKind.BAD_RESPONSE, "malformed answer from Yahoo")
    return SymbolError(symbol, ErrorKind.BAD_RESPONSE, _one_line(exc))


def _network_reason(exc: BaseException | None, records: Sequence[RequestRecord]) -> str:
    """A few words a user can act on; the library's full message goes to the log."""
    text = (
        f"{type(exc).__name__ if exc else ''} {exc or ''} {' '.join(r.error or '' for r in records)}".lower()
    )
    return network_words(text) or "connection failed"


def network_words(text: str) -> str | None:
    """What a network error's text says, in a user's words (DNS, refused, TLS); None when it says
    none of these. Shared by the HTTP source and the quote stream."""
    text = text.lower()
    if any(k in text for k in ("resolv", "dns", "name or service", "gaierror", "nodename")):
        return "DNS lookup failed"
    if "refused" in text:
        return "connection refused"
    if "ssl" in text or "certificate" in text:
        return "TLS error"
    return None


def _one_line(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def tail_period(newest_cached: date | None, today: date) -> str:
    """The smallest Yahoo range that covers the gap since the newest cached bar, plus an overlap."""
    if newest_cached is None:
        return FULL_HISTORY_PERIOD
    gap = (today - newest_cached).days + HISTORY_OVERLAP_DAYS
    for days, period in _TAIL_PERIODS:
        if gap <= days:
            return period
    return FULL_HISTORY_PERIOD


def _frame_to_series(symbol: str, interval: Interval, frame: Any) -> BarSeries:
    """A yfinance DataFrame to bars: rows with a NaN or non-positive price are dropped here, so a NaN
    can never reach TA-Lib."""
    bars: list[Bar] = []
    has_adj = "Adj Close" in frame.columns
    has_vol = "Volume" in frame.columns
    # Plain tuples: named ones rename "Adj Close" (not an identifier) to "_4", losing the column.
    for stamp, row in zip(frame.index, frame.itertuples(index=False, name=None), strict=True):
        rec = dict(zip(frame.columns, row, strict=True))
        o, h, lo, c = (_num(rec.get(k)) for k in ("Open", "High", "Low", "Close"))
        ts = day_ts(stamp.date()) if interval is Interval.DAILY else int(stamp.timestamp())
        adj = _num(rec.get("Adj Close")) if has_adj else math.nan
        vol = _num(rec.get("Volume")) if has_vol else 0.0
        bars.append(Bar(ts, o, h, lo, c, 0.0 if math.isnan(vol) else vol, adj))
    return BarSeries.from_bars(symbol, interval, bars)


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _had_corporate_action(frame: Any, after: date) -> bool:
    """A split or dividend dated after `after`, the newest cached bar. One on or before it was in the
    answer that brought that bar, so the cache already holds the re-adjusted history: flagging it would
    refetch the full history on every load for a month after each dividend."""
    later = [stamp.date() > after for stamp in frame.index]
    for col in ("Dividends", "Stock Splits"):
        if col in frame.columns and any(
            is_later and value != 0 for is_later, value in zip(later, frame[col].fillna(0), strict=True)
        ):
            return True
    return False


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    to_py = getattr(value, "to_pydatetime", None)
    dt = to_py() if to_py is not None else value
    if isinstance(dt, datetime):
        return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)
    return None


def _session_from_meta(meta: Mapping[str, Any], now: datetime) -> MarketSession:
    """Session from the chart's currentTradingPeriod: used until the exchange calendar has loaded."""
    periods = meta.get("currentTradingPeriod") or {}
    for key, session in (
        ("pre", MarketSession.PRE),
        ("regular", MarketSession.REGULAR),
        ("post", MarketSession.POST),
    ):
        p = periods.get(key) or {}
        start, end = _utc(p.get("start")), _utc(p.get("end"))
        if start is not None and end is not None and start <= now < end:
            return session
    return MarketSession.CLOSED


def utc_now() -> datetime:
    return datetime.now(UTC)


class DaemonWorker(Executor):
    """`ThreadPoolExecutor(max_workers=1)` on a daemon thread: calls run one at a time, in order.

    The interpreter joins a ThreadPoolExecutor's threads before the process ends, so a request hanging on
    a dead network (the 10 s timeout, several times over with yfinance's retries) would keep a monitor
    that has already closed its cache and journal alive. A daemon thread is dropped at exit instead."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._closed = False
        self._thread: threading.Thread | None = None

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if self._closed:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: Future[T] = Future()
        self._jobs.put((future, partial(fn, *args, **kwargs)))
        if self._thread is None:  # started by the first call: a source never used costs no thread
            self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
            self._thread.start()
        return future

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, call = job
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while queued
            try:
                future.set_result(call())
            except BaseException as exc:
                future.set_exception(exc)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._closed = True
        if cancel_futures:
            with contextlib.suppress(queue.Empty):
                while (job := self._jobs.get_nowait()) is not None:
                    job[0].cancel()
        self._jobs.put(None)
        if wait and self._thread is not None:
            self._thread.join()


class YahooSource:
    """Live quotes and history from Yahoo Finance via yfinance."""

    kind = SourceKind.YAHOO
    label = "Yahoo Finance"

    def __init__(
        self,
        *,
        cache_dir: Path | None,
        refresh_s: float = 15.0,
        extended_refresh_s: float = 60.0,
        session: Any = None,
        clock: Callable[[], datetime] = utc_now,
        hours_loader: Callable[[], MarketHours] | None = MarketHours.load,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        intraday_interval: Interval = Interval.MINUTE_5,
    ) -> None:
        """
        Args:
            cache_dir: where yfinance keeps its timezone and cookie cache (None: a private temporary
                folder removed on close).
            refresh_s: seconds between quote polls during the regular session.
            extended_refresh_s: seconds between polls before the open and after the close (thin
                trading, and the daily bars do not move).
            session: an HTTP session to use (requests or curl_cffi); default a curl_cffi session.
            clock: the current time, UTC-aware.
            hours_loader: builds the exchange calendar (None: derive sessions from Yahoo's answers).
            timeout_s: per-request timeout.
            intraday_interval: bar length of today's intraday path.
        """
        self._cache_dir = cache_dir
        self._tmp_dir: str | None = None
        self.refresh_s = refresh_s
        self.extended_refresh_s = max(refresh_s, extended_refresh_s)
        self._session = session
        self._clock = clock
        self._hours_loader = hours_loader
        self.hours: MarketHours | None = None
        self._last_periods: Mapping[str, Any] | None = None
        self._timeout_s = timeout_s
        self._intraday_interval = intraday_interval
        self.ledger = RequestLedger()
        self._executor = DaemonWorker("yfinance")
        self._ready = False
        self._yf: Any = None

    # ------------------------------------------------------------------ plumbing (worker thread only)
    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _ensure_ready(self) -> None:
        if self._ready:
            return
        import yfinance  # 1 s of imports, kept off the start-up path
        import yfinance.base
        import yfinance.data

        # yfinance trips pandas' deprecation warnings on every request (nothing a user can act on),
        # and its import installs a filter that shows them: ours goes in front, after that import.
        warnings.filterwarnings("ignore", module=r"yfinance(\..*)?$")
        if self._cache_dir is None:
            self._tmp_dir = tempfile.mkdtemp(prefix="breakout-monitor-yf-")
            yf_dir = Path(self._tmp_dir)
        else:
            yf_dir = self._cache_dir / "yfinance"
        yf_dir.mkdir(parents=True, exist_ok=True)
        yfinance.set_tz_cache_location(str(yf_dir))
        yfinance.config.debug.hide_exceptions = False
        yfinance.config.network.retries = 0  # our scheduler retries, with backoff
        # On a failed timezone lookup yfinance falls back to quoteSummary (`.info`), Yahoo's most
        # rate-limited endpoint, up to twice per process: mark both attempts as spent.
        if hasattr(yfinance.base, "_tz_info_fetch_ctr"):
            yfinance.base._tz_info_fetch_ctr = 2
        if self._session is None:
            self._session = _default_session()
        _instrument(self._session, self.ledger)
        if self._hours_loader is not None and self.hours is None:
            try:
                self.hours = self._hours_loader()
            except Exception:  # the calendar is a refinement; Yahoo's own trading periods still work
                log.exception("market calendar unavailable")
        self._yf = yfinance
        self._ready = True

    def _forget_memoised_answers(self) -> None:
        """Called after a failed request. yfinance memoises its timezone probe (`YfData.cache_get`, an
        lru_cache) whatever Yahoo answered: a 502/503 page or a truncated body kept there would fail every
        later request of that symbol, without asking Yahoo again, for the process's lifetime."""
        with contextlib.suppress(AttributeError):
            self._yf.data.YfData.cache_get.cache_clear()

    def _fetch(self, symbol: str, **kwargs: Any) -> Any:
        """One chart request on a fresh Ticker; raises what yfinance raised."""
        ticker = self._yf.Ticker(symbol, session=self._session)
        frame = ticker.history(auto_adjust=False, timeout=self._timeout_s, **kwargs)
        self._remember_periods(ticker.history_metadata)
        return frame

    def _remember_periods(self, meta: Mapping[str, Any]) -> None:
        """Keep the trading periods of Yahoo's latest answer: the session when no calendar loaded."""
        self._last_periods = meta.get("currentTradingPeriod") or self._last_periods

    # ------------------------------------------------------------------ history
    async def history(
        self,
        symbols: Sequence[str],
        interval: Interval,
        since: Mapping[str, date | None] | None = None,
    ) -> HistoryResult:
        return await self._run(lambda: self._history_sync(list(symbols), interval, dict(since or {})))

    def _history_sync(
        self, symbols: list[str], interval: Interval, since: dict[str, date | None]
    ) -> HistoryResult:
        self._ensure_ready()
        today = self._clock().astimezone(NEW_YORK).date()
        bars: dict[str, BarSeries] = {}
        errors: dict[str, SymbolError] = {}
        adjusted: set[str] = set()
        for symbol in symbols:
            start = since.get(symbol)
            if interval is Interval.DAILY:
                period = tail_period(start, today)
                kwargs: dict[str, Any] = {"period": period, "interval": "1d", "actions": True}
            else:
                kwargs = {"period": "5d", "interval": interval.value, "prepost": True, "actions": False}
            mark = self.ledger.mark()
            try:
                frame = self._fetch(symbol, **kwargs)
            except Exception as exc:
                self._forget_memoised_answers()
                errors[symbol] = classify_failure(symbol, exc, self.ledger.since(mark))
                log.info(
                    "history %s %s: %s (%s)", symbol, interval.value, errors[symbol].message, _one_line(exc)
                )
                continue
            series = _frame_to_series(symbol, interval, frame)
            if not series:
                errors[symbol] = classify_failure(symbol, None, self.ledger.since(mark))
                continue
            if start is not None and interval is Interval.DAILY and _had_corporate_action(frame, start):
                adjusted.add(symbol)
            bars[symbol] = series
        return HistoryResult(bars, errors, frozenset(adjusted))

    # ------------------------------------------------------------------ quotes
    async def quotes(self, symbols: Sequence[str]) -> QuoteResult:
        return await self._run(lambda: self._quotes_sync(list(symbols)))

    def _quotes_sync(self, symbols: list[str]) -> QuoteResult:
        self._ensure_ready()
        quotes: dict[str, Quote] = {}
        intraday: dict[str, BarSeries] = {}
        errors: dict[str, SymbolError] = {}
        for symbol in symbols:
            mark = self.ledger.mark()
            ticker = self._yf.Ticker(symbol, session=self._session)
            frame: Any = None
            try:
                frame = ticker.history(
                    period="1d",
                    interval=self._intraday_interval.value,
                    prepost=True,
                    actions=False,
                    auto_adjust=False,
                    timeout=self._timeout_s,
                )
            except Exception as exc:
                self._forget_memoised_answers()
                records = self.ledger.since(mark)
                names = {c.__name__ for c in type(exc).__mro__}
                answered = bool(records) and records[-1].status == 200
                if "YFPricesMissingError" not in names or not answered:
                    errors[symbol] = classify_failure(symbol, exc, records)
                    log.info("quote %s: %s (%s)", symbol, errors[symbol].message, _one_line(exc))
                    continue
                # No bars (a weekend, a holiday morning), but Yahoo's answer still carries the quote
                # in its metadata, which yfinance stored before raising.
            quote = self._quote_from_meta(symbol, ticker.history_metadata, frame)
            if quote is None:
                errors[symbol] = classify_failure(symbol, None, self.ledger.since(mark))
                continue
            quotes[symbol] = quote
            if frame is not None:
                path = _frame_to_series(symbol, self._intraday_interval, frame)
                if path:
                    intraday[symbol] = path
        return QuoteResult(quotes, intraday, errors)

    def _quote_from_meta(self, symbol: str, meta: Mapping[str, Any], frame: Any) -> Quote | None:
        last = _num(meta.get("regularMarketPrice"))
        struck = _utc(meta.get("regularMarketTime"))
        if math.isnan(last) or last <= 0 or struck is None:
            return None
        prev = _num(meta.get("previousClose", meta.get("chartPreviousClose")))
        now = self._clock()
        self._remember_periods(meta)
        session = self.hours.session_at(now) if self.hours is not None else _session_from_meta(meta, now)
        day_open: float | None = None
        if frame is not None and len(frame) and "Open" in frame.columns:
            regular = [
                _num(o)
                for stamp, o in zip(frame.index, frame["Open"], strict=True)
                if _in_regular(stamp, meta)
            ]
            regular = [o for o in regular if not math.isnan(o)]
            day_open = regular[0] if regular else None

        def opt(key: str) -> float | None:
            v = _num(meta.get(key))
            return None if math.isnan(v) else v

        extended = (
            _extended_from_frame(frame, meta, session, struck)
            if session in (MarketSession.PRE, MarketSession.POST)
            else None
        )
        return Quote(
            symbol=symbol,
            last=last,
            prev_close=None if math.isnan(prev) else prev,
            day_open=day_open,
            day_high=opt("regularMarketDayHigh"),
            day_low=opt("regularMarketDayLow"),
            volume=opt("regularMarketVolume"),
            time=struck,
            session=session,
            trading_day=struck.astimezone(NEW_YORK).date(),
            extended=extended,
        )

    # ------------------------------------------------------------------ cadence
    def session_at(self, now: datetime) -> MarketSession | None:
        """From the exchange calendar; without one, from the trading periods of Yahoo's last answer (so
        that today's unfinished bar is still recognised as unfinished); None before any answer."""
        if self.hours is not None:
            return self.hours.session_at(now)
        if self._last_periods is not None:
            return _session_from_meta({"currentTradingPeriod": self._last_periods}, now)
        return None

    def session_event(self, now: datetime) -> SessionEvent | None:
        return self.hours.session_event(now) if self.hours is not None else None

    def next_poll(self, now: datetime) -> float | None:
        """Fast in the regular session, slow before and after it, and while the market is closed
        nothing until the next pre-market (the daily bar's refetch after the close falls in the
        after-hours polls: see `history_due`)."""
        if self.hours is None:
            return self.refresh_s
        session = self.hours.session_at(now)
        if session is MarketSession.REGULAR:
            return self.refresh_s
        if session.is_open:
            return self.extended_refresh_s
        change = self.hours.next_change(now)
        if change is None:
            return None
        return max(self.refresh_s, (change - now).total_seconds() + 1.0)

    def history_due(self, now: datetime, last_fetch: datetime | None) -> bool:
        if last_fetch is None:
            return True
        if self.hours is None:
            return now - last_fetch > timedelta(hours=12)
        close = self.hours.last_close(now)
        return close is not None and last_fetch < close + CLOSE_SETTLE <= now

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
        with contextlib.suppress(Exception):
            if self._session is not None:
                self._session.close()


def _extended_from_frame(
    frame: Any, meta: Mapping[str, Any], session: MarketSession, regular_time: datetime
) -> ExtendedQuote | None:
    """The last extended-hours trade in today's bars (requested with prepost=True): after the
    regular price's time, outside the regular session."""
    if frame is None or not len(frame) or "Close" not in frame.columns:
        return None
    for stamp, close in zip(reversed(frame.index), reversed(list(frame["Close"])), strict=True):
        price, when = _num(close), _utc(stamp)
        if when is None or math.isnan(price) or price <= 0:
            continue
        if _in_regular(stamp, meta) or when <= regular_time - timedelta(minutes=1):
            return None  # the newest trade is the regular one: nothing traded since
        return ExtendedQuote(price, when, session)
    return None


def _in_regular(stamp: Any, meta: Mapping[str, Any]) -> bool:
    periods = meta.get("currentTradingPeriod") or {}
    reg = periods.get("regular") or {}
    start, end = _utc(reg.get("start")), _utc(reg.get("end"))
    when = _utc(stamp)
    if start is None or end is None or when is None:
        return True
    # Compare times of day: the bars may be of the last session while the period is today's.
    s_local, e_local, w_local = (x.astimezone(NEW_YORK).time() for x in (start, end, when))
    return s_local <= w_local < e_local
