"""An in-process Yahoo Finance for yfinance's real code path.

`FakeYahoo` answers what yfinance 1.7 asks over HTTP: the cookie (`fc.yahoo.com`), the crumb
(`/v1/test/getcrumb`) and the v8 chart (`/v8/finance/chart/{SYMBOL}`), from bars given in the test.
It plugs in as a `requests` transport adapter: hand `fake.session()` to `YahooSource(session=...)`.
Everything else (quoteSummary, v7 quote, the consent pages) gets a 404 and is recorded, so a test can
assert it was never asked for. Nothing sleeps and nothing leaves the process.

    fake = FakeYahoo(clock=lambda: NOW)
    fake.add_daily("IWM", make_daily([200.0, 201.5, 199.0], last_day=date(2026, 2, 11)))
    fake.add_intraday("IWM", make_intraday(date(2026, 2, 12), time(9, 30), [199.5, 200.25]))
    fake.fail("SPY", "429")                     # every SPY chart request, until clear_faults()
    fake.fail("IWM", "503", times=2, range="10y")  # the next two IWM requests with range=10y
    source = YahooSource(cache_dir=tmp_path, session=fake.session(), clock=lambda: NOW)
    ...
    assert [r.query["range"] for r in fake.chart_requests("IWM", history_only=True)] == ["10y"]

The clock decides what is served: daily bars dated after its New York date and intraday bars that
start after it are not served yet, so one static data set plays several days by moving the clock.

`reset_yfinance(cache_dir)` forgets yfinance's process-wide state (session singleton, crumb, cookie,
memoised requests, timezone and cookie caches) so that tests are independent.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.message import Message
from http import HTTPStatus
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo

import requests
import yfinance
import yfinance.base
import yfinance.cache
import yfinance.data
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

NEW_YORK = ZoneInfo("America/New_York")
PRE_OPEN, REGULAR_OPEN, REGULAR_CLOSE, POST_CLOSE = time(4, 0), time(9, 30), time(16, 0), time(20, 0)

VALID_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]
VALID_INTERVALS = ["1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h", "1d", "5d", "1wk", "1mo", "3mo"]
INTRADAY_MINUTES = {"1m": 1, "2m": 2, "5m": 5, "15m": 15, "30m": 30, "60m": 60, "90m": 90, "1h": 60}

CRUMB = "FakeCrumb.b7Q"
COOKIE = (
    "A3=d=AQABBFAKEYAHOO0000&S=AQAAAFAKE; Expires=Mon, 16 May 2033 00:00:00 GMT; "
    "Domain=.yahoo.com; Path=/; SameSite=None; Secure; HttpOnly"
)
"""Yahoo's consent cookie. yfinance caches it and reads it back as `A3`; the expiry stays below 2e9 s
because yfinance takes a larger expiry for milliseconds."""

NOT_FOUND_BODY: dict[str, Any] = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}
"""Yahoo's answer (HTTP 404) for a symbol it does not know."""

HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
    "<hr><center>ATS</center></body></html>"
)
HTML_503 = (
    "<!doctype html><html><head><title>Yahoo</title></head><body><h1>Will be right back...</h1>"
    "<p>Thank you for your patience.</p></body></html>"
)

FAULT_KINDS = frozenset({"429", "500", "502", "503", "timeout", "dns", "garbage", "empty", "nan"})
"""What `FakeYahoo.fail` can inject:

- `429`, `500`, `502`, `503`: that HTTP status (429: Yahoo's plain-text "Too Many Requests"; 500: a JSON
  chart error; 502/503: an HTML page);
- `timeout`: `requests.exceptions.ReadTimeout` is raised, no answer;
- `dns`: `requests.exceptions.ConnectionError` as a failed name resolution raises, no answer;
- `garbage`: HTTP 200 whose body is a truncated chart JSON followed by an HTML 502 page;
- `empty`: HTTP 200 with an empty chart result (meta but no timestamps), as on a weekend;
- `nan`: HTTP 200 with nulls inside the arrays: see `null_pattern`.
"""


def null_pattern(i: int) -> str:
    """Which fields the `nan` fault blanks in row `i` of a chart: "all" (the whole row null, as Yahoo
    sends for a minute without trades), "close" (only the close) or "" (none)."""
    return {1: "all", 2: "close"}.get(i % 4, "")


class _SameAsClose:
    def __repr__(self) -> str:
        return "SAME_AS_CLOSE"


SAME_AS_CLOSE: Any = _SameAsClose()


@dataclass(frozen=True, slots=True)
class FakeBar:
    """One bar as the test feeds it. A field of None or NaN is sent as JSON null, as Yahoo does.

    `when` is the session date of a daily bar (sent stamped 09:30 New York, as Yahoo stamps them) or the
    aware start time of an intraday bar."""

    when: date | datetime
    open: float | None
    high: float | None
    low: float | None
    close: float | None
    volume: float | None = 0
    adjclose: Any = SAME_AS_CLOSE
    """Daily only: the dividend-adjusted close (default: the close)."""

    @property
    def adj(self) -> float | None:
        return self.close if self.adjclose is SAME_AS_CLOSE else self.adjclose

    @property
    def day(self) -> date:
        return self.when.astimezone(NEW_YORK).date() if isinstance(self.when, datetime) else self.when

    @property
    def ts(self) -> int:
        if isinstance(self.when, datetime):
            return int(self.when.timestamp())
        return ny_ts(self.when, REGULAR_OPEN)

    def complete(self) -> bool:
        """All four prices present and finite (what a consumer may keep)."""
        return all(_finite(x) for x in (self.open, self.high, self.low, self.close))


def ny_ts(day: date, at: time) -> int:
    """Epoch seconds of a New York wall-clock time."""
    return int(datetime.combine(day, at, NEW_YORK).timestamp())


def weekdays_ending(last_day: date, n: int) -> list[date]:
    """The `n` weekdays up to and including `last_day`, oldest first (holidays ignored)."""
    out: list[date] = []
    d = last_day
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d -= timedelta(days=1)
    return out[::-1]


def make_daily(
    closes: Sequence[float],
    last_day: date,
    *,
    volume: float = 1_000_000,
    adj_ratio: float | None = None,
) -> list[FakeBar]:
    """Weekday daily bars ending on `last_day`: open = previous close, high/low half a point outside.
    With `adj_ratio`, the adjusted close is `close * adj_ratio` (else it equals the close)."""
    bars = []
    prev = closes[0]
    for day, c in zip(weekdays_ending(last_day, len(closes)), closes, strict=True):
        adj = SAME_AS_CLOSE if adj_ratio is None else c * adj_ratio
        bars.append(FakeBar(day, prev, max(prev, c) + 0.5, min(prev, c) - 0.5, c, volume, adj))
        prev = c
    return bars


def make_intraday(
    day: date, start: time, closes: Sequence[float], *, minutes: int = 5, volume: float = 10_000
) -> list[FakeBar]:
    """Consecutive intraday bars from `start` (New York) on `day`: open = previous close."""
    first = datetime.combine(day, start, NEW_YORK)
    bars = []
    prev = closes[0]
    for i, c in enumerate(closes):
        when = first + timedelta(minutes=minutes * i)
        bars.append(FakeBar(when, prev, max(prev, c) + 0.05, min(prev, c) - 0.05, c, volume))
        prev = c
    return bars


def _finite(x: Any) -> bool:
    return x is not None and not isinstance(x, bool) and math.isfinite(float(x))


def _num(x: Any) -> float | None:
    return float(x) if _finite(x) else None


def _int(x: Any) -> int | None:
    return int(x) if _finite(x) else None


def _months_back(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 - months, 12)
    m += 1
    for day in range(d.day, 0, -1):
        with contextlib.suppress(ValueError):
            return date(y, m, day)
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the fake received, with what it answered."""

    method: str
    host: str
    path: str
    query: dict[str, str]
    status: int | None
    """HTTP status sent, or None when the fake raised instead (timeout, DNS)."""
    fault: str | None
    """The injected fault that shaped the answer, if any."""

    @property
    def symbol(self) -> str | None:
        """The chart request's symbol (None for other endpoints)."""
        if "/v8/finance/chart/" not in self.path:
            return None
        return self.path.split("/v8/finance/chart/", 1)[1].upper()

    @property
    def is_chart(self) -> bool:
        return self.symbol is not None

    @property
    def is_tz_lookup(self) -> bool:
        """yfinance's timezone probe (`range=1d&interval=1d`, no `events`), not a history request."""
        return self.is_chart and "events" not in self.query


@dataclass
class _Instrument:
    symbol: str
    instrument_type: str
    daily: list[FakeBar] = field(default_factory=list)
    intraday: dict[int, list[FakeBar]] = field(default_factory=dict)
    """Bars by length in minutes."""
    dividends: dict[date, float] = field(default_factory=dict)
    splits: dict[date, tuple[int, int]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    recorded: list[tuple[dict[str, str], int, Any]] = field(default_factory=list)


@dataclass
class _Fault:
    symbol: str | None
    kind: str
    remaining: int | None
    all_hosts: bool
    match: dict[str, str]


class _Reply:
    def __init__(
        self, status: int, body: Any, content_type: str | None = None, cookies: Sequence[str] = ()
    ) -> None:
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
        self.status = status
        self.body = data
        self.content_type = content_type or (
            "text/plain;charset=utf-8" if isinstance(body, str | bytes) else "application/json;charset=utf-8"
        )
        self.cookies = list(cookies)


class YahooAdapter(BaseAdapter):
    """The `requests` transport that hands every request to a `FakeYahoo` instead of a socket."""

    def __init__(self, fake: FakeYahoo) -> None:
        super().__init__()
        self.fake = fake

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        return self.fake.handle(request, timeout)

    def close(self) -> None:
        pass


class FakeYahoo:
    """Yahoo's cookie, crumb and v8 chart endpoints, in process, with injectable faults."""

    def __init__(self, clock: Callable[[], datetime] | datetime) -> None:
        """
        Args:
            clock: "now" for the fake (aware datetime, or a callable returning one): what has traded
                by then is served, and the trading periods in the chart's meta are that day's.
        """
        self.clock: Callable[[], datetime] = (lambda: clock) if isinstance(clock, datetime) else clock
        self.requests: list[RecordedRequest] = []
        """Every request received, in order."""
        self._symbols: dict[str, _Instrument] = {}
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ test API: data
    def _instrument(self, symbol: str) -> _Instrument:
        sym = symbol.upper()
        if sym not in self._symbols:
            self._symbols[sym] = _Instrument(sym, "INDEX" if sym.startswith("^") else "ETF")
        return self._symbols[sym]

    def add_daily(
        self,
        symbol: str,
        bars: Sequence[FakeBar],
        *,
        dividends: Mapping[date, float] | None = None,
        splits: Mapping[date, tuple[int, int]] | None = None,
        instrument_type: str | None = None,
    ) -> None:
        """Serve these daily bars for `symbol` (replacing earlier ones), with dividend amounts and
        splits `(numerator, denominator)` by ex-date. Bars are served as given: feed split-adjusted
        prices as Yahoo would."""
        ins = self._instrument(symbol)
        ins.daily = sorted(bars, key=lambda b: b.ts)
        ins.dividends = dict(dividends or {})
        ins.splits = dict(splits or {})
        if instrument_type is not None:
            ins.instrument_type = instrument_type

    def add_intraday(self, symbol: str, bars: Sequence[FakeBar], *, minutes: int = 5) -> None:
        """Serve these intraday bars for `symbol` at the interval of `minutes` (adding to earlier ones,
        a bar at the same time replaced)."""
        ins = self._instrument(symbol)
        by_ts = {b.ts: b for b in ins.intraday.get(minutes, [])}
        by_ts.update({b.ts: b for b in bars})
        ins.intraday[minutes] = [by_ts[t] for t in sorted(by_ts)]

    def set_meta(self, symbol: str, **fields: Any) -> None:
        """Override fields of the chart's `meta` for `symbol` (a value of None removes the field)."""
        self._instrument(symbol).meta.update(fields)

    def add_recorded(self, symbol: str, path: Path, **match: str) -> None:
        """Answer `symbol`'s chart requests (those whose query has every `match` item, if given) with a
        recorded response file `{"request": ..., "response": {"status": ..., "bodyJson": ...}}`."""
        doc = json.loads(Path(path).read_text())
        response = doc["response"]
        ins = self._instrument(symbol)
        ins.recorded.append((dict(match), int(response.get("status", 200)), response["bodyJson"]))

    # ------------------------------------------------------------------ test API: faults
    def fail(
        self,
        symbol: str | None,
        kind: str,
        *,
        times: int | None = None,
        all_hosts: bool = False,
        **match: str,
    ) -> None:
        """Inject a fault (see `FAULT_KINDS`).

        Args:
            symbol: whose chart requests fail; None: every symbol's.
            kind: one of `FAULT_KINDS`.
            times: how many matching requests fail (None: all, until `clear_faults`). Note that yfinance
                asks again once after an HTTP error >= 400 (with its other cookie strategy), and that
                the first request for a symbol is yfinance's timezone probe (`range=1d&interval=1d`).
            all_hosts: also fail the cookie and crumb requests (a network outage, not a chart fault).
            match: only requests whose query has these items, e.g. `range="10y"`, `interval="5m"`.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        with self._lock:
            self._faults.append(
                _Fault(
                    symbol.upper() if symbol else None,
                    kind,
                    times,
                    all_hosts,
                    {k: str(v) for k, v in match.items()},
                )
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # ------------------------------------------------------------------ test API: what was asked
    def session(self) -> requests.Session:
        """A `requests.Session` whose every request this fake answers."""
        s = requests.Session()
        adapter = YahooAdapter(self)
        s.mount("https://", adapter)
        s.mount("http://", adapter)
        return s

    def chart_requests(
        self, symbol: str | None = None, *, history_only: bool = False
    ) -> list[RecordedRequest]:
        """Chart requests (of `symbol`, if given); `history_only` leaves out yfinance's timezone probes."""
        return [
            r
            for r in list(self.requests)
            if r.is_chart
            and (symbol is None or r.symbol == symbol.upper())
            and not (history_only and r.is_tz_lookup)
        ]

    def requests_to(self, path_fragment: str) -> list[RecordedRequest]:
        """Requests whose path contains `path_fragment`, e.g. "/v10/finance/quoteSummary"."""
        return [r for r in list(self.requests) if path_fragment in r.path]

    # ------------------------------------------------------------------ transport
    def handle(self, request: requests.PreparedRequest, timeout: Any = None) -> requests.Response:
        parts = urlsplit(request.url or "")
        host = (parts.hostname or "").lower()
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        method = (request.method or "GET").upper()
        symbol = path.split("/v8/finance/chart/", 1)[1].upper() if "/v8/finance/chart/" in path else None
        fault = self._take_fault(symbol, query)
        if fault == "timeout":
            self._record(method, host, path, query, None, fault)
            raise requests.exceptions.ReadTimeout(
                f"HTTPSConnectionPool(host='{host}', port=443): Read timed out. (read timeout={timeout})",
                request=request,
            )
        if fault == "dns":
            self._record(method, host, path, query, None, fault)
            raise requests.exceptions.ConnectionError(
                f"HTTPSConnectionPool(host='{host}', port=443): Max retries exceeded with url: {parts.path} "
                f'(Caused by NameResolutionError("<urllib3.connection.HTTPSConnection object>: Failed to '
                f"resolve '{host}' ([Errno -3] Temporary failure in name resolution)\"))",
                request=request,
            )
        reply = self._route(host, path, query, symbol, fault)
        self._record(method, host, path, query, reply.status, fault)
        return _response(request, reply)

    def _record(
        self, method: str, host: str, path: str, query: dict[str, str], status: int | None, fault: str | None
    ) -> None:
        with self._lock:
            self.requests.append(RecordedRequest(method, host, path, query, status, fault))

    def _take_fault(self, symbol: str | None, query: Mapping[str, str]) -> str | None:
        with self._lock:
            for f in self._faults:
                if f.remaining is not None and f.remaining <= 0:
                    continue
                if symbol is None and not f.all_hosts:
                    continue
                if symbol is not None and f.symbol is not None and f.symbol != symbol:
                    continue
                if symbol is None and f.kind in ("empty", "nan"):
                    continue
                if any(query.get(k) != v for k, v in f.match.items()):
                    continue
                if f.remaining is not None:
                    f.remaining -= 1
                return f.kind
        return None

    def _route(
        self, host: str, path: str, query: dict[str, str], symbol: str | None, fault: str | None
    ) -> _Reply:
        if fault in ("429", "500", "502", "503") or (fault == "garbage" and symbol is None):
            return _fault_reply(fault)
        if host == "fc.yahoo.com":
            return _Reply(404, "<html><body>404 Not Found</body></html>", "text/html;charset=utf-8", [COOKIE])
        if path.endswith("/v1/test/getcrumb"):
            return _Reply(200, CRUMB)
        if symbol is not None:
            return self._chart(symbol, query, fault)
        return _Reply(
            404,
            {
                "finance": {
                    "result": None,
                    "error": {"code": "Not Found", "description": "HTTP 404 Not Found"},
                }
            },
        )

    # ------------------------------------------------------------------ the v8 chart
    def _chart(self, symbol: str, q: dict[str, str], fault: str | None) -> _Reply:
        ins = self._symbols.get(symbol)
        if ins is None:
            return _Reply(404, NOT_FOUND_BODY)
        for match, status, body in ins.recorded:
            if all(q.get(k) == v for k, v in match.items()):
                if fault == "garbage":
                    return _garbage(body)
                return _Reply(status, body)
        interval = q.get("interval", "1d").lower()
        if interval not in VALID_INTERVALS:
            return _unprocessable(
                f"Invalid input - interval={interval} is not supported. "
                f"Valid intervals: [{', '.join(VALID_INTERVALS)}]"
            )
        rng = q.get("range")
        if rng is None and "period1" not in q:
            rng = "1mo"
        if rng is not None and rng not in VALID_RANGES and not re.fullmatch(r"[1-9]\d*(d|wk|mo|y)", rng):
            return _unprocessable(f"Invalid input - range={rng} is not supported")
        now = self.clock()
        prepost = q.get("includePrePost", "false").lower() == "true"
        minutes = INTRADAY_MINUTES.get(interval)
        if minutes is None:
            bars = self._select_daily(ins, rng, q, now)
        else:
            bars = self._select_intraday(ins, minutes, rng, q, now, prepost)
        if fault == "empty":
            bars = []
        result: dict[str, Any] = {"meta": self._meta(ins, interval, rng, bars, now, prepost)}
        if bars:
            result["timestamp"] = [b.ts for b in bars]
            events = self._events(ins, bars, q) if minutes is None else {}
            if events:
                result["events"] = events
            blank = [null_pattern(i) if fault == "nan" else "" for i in range(len(bars))]

            def col(name: str, conv: Callable[[Any], Any]) -> list[Any]:
                return [
                    None if blank[i] == "all" or (blank[i] == name) else conv(getattr(b, name))
                    for i, b in enumerate(bars)
                ]

            quote = {
                "open": col("open", _num),
                "high": col("high", _num),
                "low": col("low", _num),
                "close": col("close", _num),
                "volume": col("volume", _int),
            }
            result["indicators"] = {"quote": [quote]}
            if minutes is None:
                adj = [None if blank[i] == "all" else _num(b.adj) for i, b in enumerate(bars)]
                result["indicators"]["adjclose"] = [{"adjclose": adj}]
        else:
            result["indicators"] = {"quote": [{}]}
        body = {"chart": {"result": [result], "error": None}}
        if fault == "garbage":
            return _garbage(body)
        return _Reply(200, body)

    def _select_daily(
        self, ins: _Instrument, rng: str | None, q: Mapping[str, str], now: datetime
    ) -> list[FakeBar]:
        today = now.astimezone(NEW_YORK).date()
        bars = [b for b in ins.daily if b.day <= today]
        if rng is None:
            p1 = int(float(q["period1"]))
            p2 = int(float(q.get("period2") or now.timestamp() + 86400))
            return [b for b in bars if p1 <= b.ts < p2]
        if rng == "max":
            return bars
        if rng == "ytd":
            return [b for b in bars if b.day >= date(today.year, 1, 1)]
        n, unit = _split_range(rng)
        if unit == "d":
            return bars[-n:]
        start = {
            "wk": today - timedelta(weeks=n),
            "mo": _months_back(today, n),
            "y": _months_back(today, 12 * n),
        }[unit]
        return [b for b in bars if b.day > start]

    def _select_intraday(
        self,
        ins: _Instrument,
        minutes: int,
        rng: str | None,
        q: Mapping[str, str],
        now: datetime,
        prepost: bool,
    ) -> list[FakeBar]:
        today = now.astimezone(NEW_YORK).date()
        now_ts = now.timestamp()
        bars = [b for b in ins.intraday.get(minutes, []) if b.ts <= now_ts]
        if not prepost:
            bars = [b for b in bars if _is_regular(b)]
        if rng is None:
            p1 = int(float(q["period1"]))
            p2 = int(float(q.get("period2") or now_ts + 1))
            return [b for b in bars if p1 <= b.ts < p2]
        if rng == "max":
            return bars
        if rng == "ytd":
            return [b for b in bars if b.day >= date(today.year, 1, 1)]
        n, unit = _split_range(rng)
        if unit == "d":
            days = sorted({b.day for b in bars})[-n:]
            return [b for b in bars if b.day in days]
        start = {
            "wk": today - timedelta(weeks=n),
            "mo": _months_back(today, n),
            "y": _months_back(today, 12 * n),
        }[unit]
        return [b for b in bars if b.day > start]

    def _events(self, ins: _Instrument, bars: Sequence[FakeBar], q: Mapping[str, str]) -> dict[str, Any]:
        wanted = q.get("events", "")
        first, last = bars[0].day, bars[-1].day
        events: dict[str, Any] = {}
        if "div" in wanted:
            divs = {d: a for d, a in ins.dividends.items() if first <= d <= last}
            if divs:
                events["dividends"] = {
                    str(ny_ts(d, REGULAR_OPEN)): {"amount": a, "date": ny_ts(d, REGULAR_OPEN)}
                    for d, a in sorted(divs.items())
                }
        if "split" in wanted:
            splits = {d: s for d, s in ins.splits.items() if first <= d <= last}
            if splits:
                events["splits"] = {
                    str(ny_ts(d, REGULAR_OPEN)): {
                        "date": ny_ts(d, REGULAR_OPEN),
                        "numerator": num,
                        "denominator": den,
                        "splitRatio": f"{num}:{den}",
                    }
                    for d, (num, den) in sorted(splits.items())
                }
        return events

    def _state(self, ins: _Instrument, now: datetime) -> dict[str, Any]:
        today = now.astimezone(NEW_YORK).date()
        daily = [b for b in ins.daily if b.day <= today and b.complete()]
        intra: list[FakeBar] = []
        step = 0
        if ins.intraday:
            step = min(ins.intraday)
            intra = [b for b in ins.intraday[step] if b.ts <= now.timestamp() and _is_regular(b)]
        days = [b.day for b in daily[-1:]] + [b.day for b in intra[-1:]]
        if not days:
            return {}
        day = max(days)
        regular = [b for b in intra if b.day == day]
        state: dict[str, Any] = {"day": day}
        if regular:
            opens = [b.open for b in regular if _finite(b.open)]
            highs = [b.high for b in regular if _finite(b.high)]
            lows = [b.low for b in regular if _finite(b.low)]
            closes = [b.close for b in regular if _finite(b.close)]
            state.update(
                open=opens[0] if opens else None,
                high=max(highs) if highs else None,
                low=min(lows) if lows else None,
                price=closes[-1] if closes else None,
                volume=sum(float(b.volume) for b in regular if _finite(b.volume)),
                time=min(regular[-1].ts + 60 * step, ny_ts(day, REGULAR_CLOSE)),
            )
        else:
            bar = daily[-1]
            state.update(
                open=bar.open,
                high=bar.high,
                low=bar.low,
                price=bar.close,
                volume=bar.volume,
                time=ny_ts(day, REGULAR_CLOSE),
            )
        before = [b for b in daily if b.day < day]
        state["prev_close"] = before[-1].close if before else None
        return state

    def _meta(
        self,
        ins: _Instrument,
        interval: str,
        rng: str | None,
        bars: Sequence[FakeBar],
        now: datetime,
        prepost: bool,
    ) -> dict[str, Any]:
        st = self._state(ins, now)
        today = now.astimezone(NEW_YORK).date()
        while today.weekday() >= 5:
            today -= timedelta(days=1)
        regular = _period(today, REGULAR_OPEN, REGULAR_CLOSE)
        daily = [b for b in ins.daily if b.day <= now.astimezone(NEW_YORK).date() and b.complete()]
        year = [b for b in daily if b.day > _months_back(today, 12)]
        meta: dict[str, Any] = {
            "currency": "USD",
            "symbol": ins.symbol,
            "exchangeName": "SNP" if ins.instrument_type == "INDEX" else "PCX",
            "fullExchangeName": "SNP" if ins.instrument_type == "INDEX" else "NYSEArca",
            "instrumentType": ins.instrument_type,
            "firstTradeDate": ins.daily[0].ts if ins.daily else None,
            "regularMarketTime": st.get("time"),
            "hasPrePostMarketData": ins.instrument_type != "INDEX",
            "gmtoffset": regular["gmtoffset"],
            "timezone": regular["timezone"],
            "exchangeTimezoneName": "America/New_York",
            "regularMarketPrice": _num(st.get("price")),
            "fiftyTwoWeekHigh": max((float(b.high) for b in year if _finite(b.high)), default=None),
            "fiftyTwoWeekLow": min((float(b.low) for b in year if _finite(b.low)), default=None),
            "regularMarketDayHigh": _num(st.get("high")),
            "regularMarketDayLow": _num(st.get("low")),
            "regularMarketVolume": _int(st.get("volume")),
            "longName": f"{ins.symbol} (fake)",
            "shortName": f"{ins.symbol} (fake)",
            "chartPreviousClose": None,
            "priceHint": 2,
            "currentTradingPeriod": {
                "pre": _period(today, PRE_OPEN, REGULAR_OPEN),
                "regular": regular,
                "post": _period(today, REGULAR_CLOSE, POST_CLOSE),
            },
            "dataGranularity": interval,
            "range": rng or "",
            "validRanges": list(VALID_RANGES),
        }
        if interval in INTRADAY_MINUTES:
            meta["chartPreviousClose"] = _num(st.get("prev_close"))
            if bars:
                days = sorted({b.day for b in bars})
                regs = [[_period(d, REGULAR_OPEN, REGULAR_CLOSE)] for d in days]
                meta["tradingPeriods"] = (
                    {
                        "pre": [[_period(d, PRE_OPEN, REGULAR_OPEN)] for d in days],
                        "regular": regs,
                        "post": [[_period(d, REGULAR_CLOSE, POST_CLOSE)] for d in days],
                    }
                    if prepost
                    else regs
                )
        else:
            before = [b for b in daily if bars and b.ts < bars[0].ts]
            first = before[-1].close if before else (bars[0].close if bars else None)
            meta["chartPreviousClose"] = _num(first)
        if rng in ("1d", "5d"):
            meta["previousClose"] = _num(st.get("prev_close"))
            meta["scale"] = 3
        for k, v in ins.meta.items():
            if v is None:
                meta.pop(k, None)
            else:
                meta[k] = v
        return {k: v for k, v in meta.items() if v is not None}


def _split_range(rng: str) -> tuple[int, str]:
    m = re.fullmatch(r"(\d+)(d|wk|mo|y)", rng)
    assert m is not None, rng
    return int(m.group(1)), m.group(2)


def _is_regular(b: FakeBar) -> bool:
    if not isinstance(b.when, datetime):
        return True
    t = b.when.astimezone(NEW_YORK).time()
    return REGULAR_OPEN <= t < REGULAR_CLOSE


def _period(day: date, start: time, end: time) -> dict[str, Any]:
    s = datetime.combine(day, start, NEW_YORK)
    offset = s.utcoffset()
    assert offset is not None
    return {
        "timezone": s.tzname(),
        "start": int(s.timestamp()),
        "end": ny_ts(day, end),
        "gmtoffset": int(offset.total_seconds()),
    }


def _unprocessable(description: str) -> _Reply:
    """Yahoo's 422 answer to a chart request it refuses."""
    return _Reply(
        422,
        {"chart": {"result": None, "error": {"code": "Unprocessable Entity", "description": description}}},
    )


def _fault_reply(kind: str | None) -> _Reply:
    if kind == "429":
        return _Reply(429, "Too Many Requests\r\n")
    if kind == "500":
        return _Reply(
            500,
            {
                "chart": {
                    "result": None,
                    "error": {"code": "Internal Server Error", "description": "Internal error"},
                }
            },
        )
    if kind == "502":
        return _Reply(502, HTML_502, "text/html;charset=utf-8")
    if kind == "503":
        return _Reply(503, HTML_503, "text/html;charset=utf-8")
    return _Reply(200, '{"chart":{"res' + HTML_502, "application/json;charset=utf-8")


def _garbage(body: Any) -> _Reply:
    text = json.dumps(body, separators=(",", ":"))
    return _Reply(200, text[: max(1, len(text) // 3)] + HTML_502, "application/json;charset=utf-8")


def _response(request: requests.PreparedRequest, reply: _Reply) -> requests.Response:
    resp = requests.Response()
    resp.status_code = reply.status
    resp.reason = HTTPStatus(reply.status).phrase
    resp.url = request.url or ""
    resp.request = request
    resp._content = reply.body
    resp._content_consumed = True  # type: ignore[attr-defined]
    resp.encoding = "utf-8"
    headers = CaseInsensitiveDict(
        {"Content-Type": reply.content_type, "Content-Length": str(len(reply.body))}
    )
    msg = Message()
    for cookie in reply.cookies:
        msg["Set-Cookie"] = cookie
        headers["Set-Cookie"] = cookie
    resp.headers = headers
    # requests reads Set-Cookie from the raw response's headers into the session's jar.
    resp.raw = SimpleNamespace(_original_response=SimpleNamespace(msg=msg))
    return resp


# ---------------------------------------------------------------------- yfinance's process-wide state
def reset_yfinance(cache_dir: Path) -> None:
    """Forget every piece of state yfinance keeps per process, and point its caches at `cache_dir`:
    the `YfData` session singleton (with its cookie, crumb and cookie strategy), the memoised
    `cache_get` requests, the timezone/cookie/ISIN cache databases and the `.info` fallback counter.
    Call it between tests (and between two "processes" inside one test)."""
    yfinance.data.SingletonMeta._instances.clear()
    yfinance.data.YfData.cache_get.cache_clear()
    for db_manager in (
        yfinance.cache._TzDBManager,
        yfinance.cache._CookieDBManager,
        yfinance.cache._ISINDBManager,
    ):
        db_manager.close_db()
    yfinance.cache._TzCacheManager._tz_cache = None
    yfinance.cache._CookieCacheManager._Cookie_cache = None
    yfinance.cache._ISINCacheManager._isin_cache = None
    cache_dir.mkdir(parents=True, exist_ok=True)
    yfinance.cache.set_cache_location(str(cache_dir))
    yfinance.base._tz_info_fetch_ctr = 0


@contextlib.contextmanager
def isolated_yfinance(cache_dir: Path) -> Iterator[None]:
    """`reset_yfinance` before and after, and yfinance's global config restored afterwards."""
    saved = (yfinance.config.debug.hide_exceptions, yfinance.config.network.retries)
    reset_yfinance(cache_dir)
    try:
        yield
    finally:
        yfinance.config.debug.hide_exceptions, yfinance.config.network.retries = saved
        reset_yfinance(cache_dir)


def forbid_curl_cffi(monkeypatch: Any) -> list[str]:
    """Refuse every request through a curl_cffi session (tests must hand the source a fake session).
    Returns the list of refused requests: a fixture should fail the test if it is not empty, since the
    code under test may well swallow the error."""
    from curl_cffi import requests as curl_requests

    refused: list[str] = []

    def refuse(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        refused.append(f"{method} {url}")
        raise AssertionError(f"a test made a real curl_cffi request: {method} {url}")

    monkeypatch.setattr(curl_requests.Session, "request", refuse)
    return refused


@contextlib.contextmanager
def offline_yfinance(cache_dir: Path, monkeypatch: Any) -> Iterator[list[str]]:
    """What every test of the Yahoo path runs in: yfinance isolated (`isolated_yfinance`) and curl_cffi
    refused. Yields the list of refused curl_cffi requests (a test that provokes one on purpose clears
    it); raises AssertionError afterwards if any is left."""
    refused = forbid_curl_cffi(monkeypatch)
    with isolated_yfinance(cache_dir):
        yield refused
    if refused:
        raise AssertionError(f"the test made real curl_cffi requests: {refused}")
