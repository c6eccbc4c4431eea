"""Daily bars from CSV files as Yahoo Finance and yfinance write them (for `--replay`).

Three layouts are read (see `/work/shared/data/README.md` on developer machines):

1. yfinance with `auto_adjust=True`: ``Date,Close,High,Low,Open,Volume``;
2. classic Yahoo download: ``Date,Open,High,Low,Close,Adj Close,Volume``;
3. yfinance multi-header: ``Price,Close,High,...`` then ``Ticker,^RUT,^RUT,...`` then ``Date,,,...``
   then the data rows.

Columns may come in any order; header names are matched case-insensitively and ignoring surrounding
and repeated whitespace. Unknown columns (``Dividends``, ``Stock Splits``, ...) are ignored.

Standard library only: this runs on the start-up path, before numpy or pandas are imported.
Every problem raises `CsvError` whose message is one line, ``<path>:<line>: <problem>``, so that the
CLI can print it and exit without a traceback.
"""

from __future__ import annotations

import csv
import io
import math
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from services.models import BarSeries, Interval, ts_day

__all__ = ["CsvError", "find_csv_files", "read_bars_csv"]

REQUIRED_COLUMNS = ("date", "open", "high", "low", "close")
_PRICE_COLUMNS = ("open", "high", "low", "close")
_DISPLAY = {
    "date": "Date",
    "open": "Open",
    "high": "High",
    "low": "Low",
    "close": "Close",
    "adj close": "Adj Close",
    "volume": "Volume",
}
_KNOWN = frozenset(_DISPLAY)
# Yahoo exported holidays as rows of "null"; pandas writes missing values as "" or "NaN".
_MISSING = frozenset({"", "null", "nan", "none", "n/a", "na"})
_EXPECTED_HEADER = "Date,Open,High,Low,Close,Adj Close,Volume"
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class CsvError(ValueError):
    """A CSV file that cannot be read as daily bars; `str()` is one line for the user.

    Attributes:
        path: The file (or folder) at fault.
        line: The 1-based physical line number, or None when the problem is the whole file.
        problem: The problem in words, without the location.
    """

    def __init__(self, path: Path | str, problem: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        # Escape any line break (from an OS error text or an odd file name) so the message stays one line.
        self.problem = _one_line(problem)
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{_one_line(where)}: {self.problem}")


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _show(cell: str, limit: int = 40) -> str:
    """A cell quoted for a message: repr() escapes line breaks, long cells are cut."""
    text = cell if len(cell) <= limit else cell[:limit] + "..."
    return repr(text)


def _norm(name: str) -> str:
    # "  Adj   Close " / "adj_close" / "ADJ CLOSE" all mean the same column.
    return " ".join(name.replace("_", " ").split()).lower()


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise CsvError(path, f"cannot read the file: {reason}") from exc
    try:
        # utf-8-sig: Excel saves CSVs with a byte-order mark; it must not stick to the first header name.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.start + 1].hex()
        raise CsvError(path, f"not UTF-8 text (byte 0x{bad}); save the file as UTF-8 CSV", line) from exc


def _parse_date(cell: str) -> date | None:
    """`YYYY-MM-DD`, optionally followed by a time and offset (`2024-01-02 00:00:00-05:00`)."""
    text = cell.strip()
    if len(text) > 10 and text[10] in " T":
        text = text[:10]
    # date.fromisoformat also takes "20240102" and ISO week dates: insist on the dashed form.
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def read_bars_csv(path: Path) -> tuple[str, BarSeries]:
    """Read one symbol's daily bars from a Yahoo/yfinance CSV file.

    Args:
        path: The CSV file. Its name gives the symbol (`^RUT.csv` -> `^RUT`, `iwm.csv` -> `IWM`) unless
            a yfinance `Ticker` header row names it.

    Returns:
        (symbol, series): the series is daily (`Interval.DAILY`), oldest first, each bar keyed by
        `day_ts(date)` (00:00 UTC of the session date). Prices are as in the file (the `Close` column as
        given); `adj_close` is NaN when the file has no `Adj Close` column; volume is 0.0 when the file
        has no `Volume` column or the cell is empty. Rows whose prices are all empty/null/NaN (Yahoo's
        holiday rows) are skipped.

    Raises:
        CsvError: The file is unreadable, not UTF-8, empty, lacks a required column (Date, Open, High,
            Low, Close), or has a bad row: unparsable date, duplicate or descending date, non-numeric,
            non-finite, zero or negative price, negative volume, some but not all prices missing.
    """
    text = _decode(path)
    reader = csv.reader(io.StringIO(text, newline=""))

    try:
        header = next(row for row in reader if any(c.strip() for c in row))
    except StopIteration:
        raise CsvError(path, f"empty file (expected a header row such as {_EXPECTED_HEADER})") from None
    except csv.Error as exc:
        raise CsvError(path, f"malformed CSV: {exc}", reader.line_num) from None
    header_line = reader.line_num
    names = [_norm(c) for c in header]

    symbol = path.stem.strip().upper()
    pending: list[str] | None = None  # a data row read while looking for the multi-header rows
    pending_line = 0
    if names and names[0] == "price":
        # yfinance multi-header: the first column (labelled "Price") holds the dates.
        names[0] = "date"
        tickers: list[str] = []
        ticker_line = 0
        try:
            for row in reader:
                first = _norm(row[0]) if row else ""
                if first == "ticker":
                    tickers = [c.strip() for c in row[1:] if c.strip()]
                    ticker_line = reader.line_num
                elif first in ("date", "") and not any(c.strip() for c in row[1:]):
                    continue  # yfinance's "Date,,,,," row, or a blank line
                else:
                    pending, pending_line = row, reader.line_num
                    break
        except csv.Error as exc:
            raise CsvError(path, f"malformed CSV: {exc}", reader.line_num) from None
        if tickers:
            distinct = list(dict.fromkeys(tickers))
            if len(distinct) > 1:
                raise CsvError(
                    path,
                    f"the Ticker row names several symbols ({', '.join(distinct)}); save one symbol per file",
                    ticker_line,
                )
            symbol = distinct[0].upper()

    col: dict[str, int] = {}
    for i, name in enumerate(names):
        if name not in _KNOWN:
            continue
        if name in col:
            raise CsvError(path, f"column {_DISPLAY[name]} appears twice in the header", header_line)
        col[name] = i
    missing = [_DISPLAY[n] for n in REQUIRED_COLUMNS if n not in col]
    if missing:
        found = ", ".join(c.strip() for c in header if c.strip()) or "nothing"
        raise CsvError(
            path,
            f"missing required column(s) {', '.join(missing)} (found: {found}); "
            f"expected a header row such as {_EXPECTED_HEADER}",
            header_line,
        )

    i_date = col["date"]
    price_cols = [(col[n], _DISPLAY[n]) for n in _PRICE_COLUMNS]
    i_open, i_high, i_low, i_close = (i for i, _ in price_cols)
    i_adj = col.get("adj close")
    if i_adj is not None:
        price_cols.append((i_adj, "Adj Close"))
    i_vol = col.get("volume")
    shape = _Shape(
        width=len(header), needed=max(col.values()) + 1, i_date=i_date, prices=price_cols, i_vol=i_vol
    )

    ts: array[int] = array("q")
    opens: array[float] = array("d")
    highs: array[float] = array("d")
    lows: array[float] = array("d")
    closes: array[float] = array("d")
    adjs: array[float] = array("d")
    volume: array[float] = array("d")
    prev_t = -(2**62)
    prev_line = 0
    rows_seen = 0
    width = len(header)
    nan = math.nan
    inf = math.inf

    def rows() -> Iterator[tuple[int, list[str]]]:
        # The first data row may already have been read while skipping the multi-header rows.
        if pending is not None:
            yield pending_line, pending
        for row in reader:
            yield reader.line_num, row

    try:
        for line, row in rows():
            if not row:
                continue  # a blank line
            # Fast path for the well-formed row (~8,700 rows for ^GSPC since 1990 must parse in a few
            # tens of ms); anything unusual falls through to `_careful_row`, which finds the exact problem.
            try:
                if len(row) != width:
                    raise IndexError
                o = float(row[i_open])
                h = float(row[i_high])
                lo = float(row[i_low])
                c = float(row[i_close])
                a = nan if i_adj is None else float(row[i_adj])
                v = 0.0 if i_vol is None else float(row[i_vol])
                if not (
                    0 < o < inf
                    and 0 < h < inf
                    and 0 < lo < inf
                    and 0 < c < inf
                    and 0 <= v < inf
                    and (i_adj is None or 0 < a < inf)
                ):
                    raise ValueError
                cell = row[i_date]
                if len(cell) != 10:
                    cell = cell.strip()
                    if len(cell) > 10 and cell[10] in " T":
                        cell = cell[:10]
                if len(cell) != 10 or cell[4] != "-" or cell[7] != "-":
                    raise ValueError
                day = date.fromisoformat(cell)
            except (ValueError, IndexError):
                if not any(x.strip() for x in row):
                    continue  # a line of empty cells
                rows_seen += 1
                parsed = _careful_row(path, line, row, shape)
                if parsed is None:
                    continue  # Yahoo's holiday rows: no prices at all
                day, (o, h, lo, c, a), v = parsed
            else:
                rows_seen += 1
            t = (day.toordinal() - _EPOCH_ORDINAL) * 86400  # == day_ts(day), without a datetime
            if t <= prev_t:
                prev_day = ts_day(prev_t)
                if t == prev_t:
                    raise CsvError(path, f"duplicate date {day} (also on line {prev_line})", line)
                raise CsvError(
                    path,
                    f"date {day} comes after {prev_day} (line {prev_line}); "
                    "rows must be in ascending date order",
                    line,
                )
            ts.append(t)
            opens.append(o)
            highs.append(h)
            lows.append(lo)
            closes.append(c)
            adjs.append(a)
            volume.append(v)
            prev_t, prev_line = t, line
    except csv.Error as exc:
        raise CsvError(path, f"malformed CSV: {exc}", reader.line_num) from None

    if not ts:
        if rows_seen:
            raise CsvError(path, f"no bars: all {rows_seen} data row(s) have empty or null prices")
        raise CsvError(path, "no data rows after the header")
    series = BarSeries(symbol, Interval.DAILY, ts, opens, highs, lows, closes, volume, adjs)
    return symbol, series


@dataclass(frozen=True, slots=True)
class _Shape:
    """Where the columns are, for `_careful_row`."""

    width: int
    needed: int
    i_date: int
    prices: list[tuple[int, str]]
    """(index, display name) of Open, High, Low, Close and, when present, Adj Close."""
    i_vol: int | None


def _careful_row(
    path: Path, line: int, row: list[str], shape: _Shape
) -> tuple[date, tuple[float, float, float, float, float], float] | None:
    """Parse a row the fast path refused: the values, None for a row without prices, or the exact error.

    Returns:
        (day, (open, high, low, close, adj_close), volume); adj_close is NaN without an Adj Close column,
        volume 0.0 without a Volume column or when its cell is empty/null/NaN.
    """
    if len(row) < shape.needed:
        raise CsvError(path, f"row has {len(row)} field(s) but the header has {shape.width}", line)
    if len(row) > shape.width and any(c.strip() for c in row[shape.width :]):
        raise CsvError(path, f"row has {len(row)} fields but the header has {shape.width}", line)
    cells = [row[i].strip() for i, _ in shape.prices]
    absent = [c.lower() in _MISSING for c in cells]
    if all(absent):
        return None
    day = _parse_date(row[shape.i_date])
    if day is None:
        raise CsvError(
            path, f"unparsable date {_show(row[shape.i_date].strip())} (expected YYYY-MM-DD)", line
        )
    if any(absent):
        gone = ", ".join(name for (_, name), a in zip(shape.prices, absent, strict=True) if a)
        raise CsvError(path, f"missing {gone} on {day} while other prices are present", line)
    values: list[float] = []
    for (_, name), cell in zip(shape.prices, cells, strict=True):
        try:
            value = float(cell)
        except ValueError:
            raise CsvError(path, f"non-numeric {name} {_show(cell)} on {day}", line) from None
        if not math.isfinite(value):
            raise CsvError(path, f"non-finite {name} {_show(cell)} on {day}", line)
        if value <= 0:
            raise CsvError(path, f"{name} is {cell} on {day}; prices must be greater than zero", line)
        values.append(value)
    if len(values) == 4:
        values.append(math.nan)
    vol = 0.0
    if shape.i_vol is not None and shape.i_vol < len(row):
        vcell = row[shape.i_vol].strip()
        if vcell.lower() not in _MISSING:
            try:
                vol = float(vcell)
            except ValueError:
                raise CsvError(path, f"non-numeric Volume {_show(vcell)} on {day}", line) from None
            if not math.isfinite(vol) or vol < 0:
                raise CsvError(path, f"Volume is {vcell} on {day}; it must be zero or more", line)
    return day, (values[0], values[1], values[2], values[3], values[4]), vol


def find_csv_files(paths: Sequence[Path]) -> list[Path]:
    """The CSV files named by `paths`, in the order given.

    Args:
        paths: Files and folders. A file is taken as is (whatever its extension); a folder contributes
            its `*.csv` files (extension matched case-insensitively, not recursive, sorted by name).
            A file named twice (also via its folder) is listed once, at its first place.

    Raises:
        CsvError: A path does not exist, or a folder holds no CSV file.
    """
    out: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            out.append(p)

    for path in paths:
        if path.is_dir():
            try:
                found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
            except OSError as exc:
                raise CsvError(path, f"cannot list the folder: {exc.strerror or exc}") from exc
            if not found:
                raise CsvError(path, "folder has no .csv files")
            for p in found:
                add(p)
        elif path.exists():
            add(path)
        else:
            raise CsvError(path, "no such file or folder")
    return out
