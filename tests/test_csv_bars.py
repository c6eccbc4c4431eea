"""Reading daily bars from Yahoo/yfinance CSV files (services/csv_bars.py)."""

from __future__ import annotations

import errno
import math
import os
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from services.csv_bars import CsvError, find_csv_files, read_bars_csv
from services.models import Interval, day_ts

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def write(tmp_path: Path, name: str, text: str, newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode())
    return path


def error_of(path: Path) -> str:
    with pytest.raises(CsvError) as info:
        read_bars_csv(path)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    assert isinstance(info.value, ValueError)
    return message


# ---------------------------------------------------------------------------------------------- layouts


def test_yfinance_auto_adjusted_layout(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "iwm.csv",
        "Date,Close,High,Low,Open,Volume\n"
        "2024-01-02,200.5,201.0,198.25,199.0,1000\n"
        "2024-01-03,197.0,200.0,196.5,199.5,2500\n",
    )
    symbol, bars = read_bars_csv(path)
    assert symbol == "IWM"
    assert bars.symbol == "IWM" and bars.interval is Interval.DAILY
    assert len(bars) == 2
    first = bars[0]
    assert first.ts == day_ts(date(2024, 1, 2))
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        199.0,
        201.0,
        198.25,
        200.5,
        1000.0,
    )
    assert math.isnan(first.adj_close)
    assert bars[1].day == date(2024, 1, 3) and bars[1].close == 197.0 and bars[1].volume == 2500.0


def test_classic_yahoo_layout_with_adj_close(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "^RUT.csv",
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "1990-01-02,168.31,169.96,168.22,169.95,169.90,162070000\n"
        "1990-01-03,169.96,170.80,169.96,170.79,170.70,192330000\n",
    )
    symbol, bars = read_bars_csv(path)
    assert symbol == "^RUT"
    b = bars[1]
    assert b.ts == day_ts(date(1990, 1, 3))  # before 1970 would be negative: keyed the same way
    assert (b.open, b.high, b.low, b.close, b.adj_close, b.volume) == (
        169.96,
        170.80,
        169.96,
        170.79,
        170.70,
        192330000.0,
    )


def test_yfinance_multi_header_layout_takes_symbol_from_ticker_row(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "download.csv",
        "Price,Close,High,Low,Open,Volume\n"
        "Ticker,^RUT,^RUT,^RUT,^RUT,^RUT\n"
        "Date,,,,,\n"
        "2025-09-08,2394.88,2398.13,2378.82,2395.64,5211500000\n"
        "2025-09-09,2381.82,2393.98,2370.20,2393.55,4798350000\n",
        newline="\r\n",  # yfinance on Windows, as in the real files
    )
    symbol, bars = read_bars_csv(path)
    assert symbol == "^RUT" and bars.symbol == "^RUT"
    assert [b.day for b in bars] == [date(2025, 9, 8), date(2025, 9, 9)]
    assert bars[0].open == 2395.64 and bars[0].close == 2394.88 and bars[0].volume == 5211500000.0


def test_multi_header_without_date_row_and_lowercase_ticker(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.csv",
        "Price,Open,High,Low,Close\nTicker,iwm,iwm,iwm,iwm\n2024-01-02,1,2,0.5,1.5\n",
    )
    symbol, bars = read_bars_csv(path)
    assert symbol == "IWM" and len(bars) == 1 and bars[0].close == 1.5


def test_multi_header_with_several_tickers_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "both.csv",
        "Price,Close,Close,High,High,Low,Low,Open,Open\n"
        "Ticker,^RUT,^GSPC,^RUT,^GSPC,^RUT,^GSPC,^RUT,^GSPC\n"
        "Date,,,,,,,,\n"
        "2025-09-08,1,2,1,2,1,2,1,2\n",
    )
    assert error_of(path) == (
        f"{path}:2: the Ticker row names several symbols (^RUT, ^GSPC); save one symbol per file"
    )


def test_columns_in_any_order_with_loose_header_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "spy.csv",
        "\ufeff  DATE ,volume,  adj   close ,CLOSE,low,Open, High ,Dividends,Stock Splits\n"
        "2024-01-02, 10 ,4.5,5.0,3.0,4.0,6.0,0.0,0.0\n",
    )
    symbol, bars = read_bars_csv(path)
    b = bars[0]
    assert symbol == "SPY"
    assert (b.open, b.high, b.low, b.close, b.adj_close, b.volume) == (4.0, 6.0, 3.0, 5.0, 4.5, 10.0)


def test_volume_is_optional(tmp_path: Path) -> None:
    path = write(tmp_path, "^tnx.csv", "Date,Open,High,Low,Close\n2024-01-02,4.1,4.2,4.0,4.13\n")
    symbol, bars = read_bars_csv(path)
    assert symbol == "^TNX"
    assert bars[0].volume == 0.0 and bars[0].close == 4.13 and math.isnan(bars[0].adj_close)


def test_empty_or_null_volume_reads_as_zero(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.csv",
        "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,\n2024-01-03,1,2,0.5,1.5,null\n",
    )
    _, bars = read_bars_csv(path)
    assert [b.volume for b in bars] == [0.0, 0.0]


def test_dates_with_time_and_offset_suffix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.csv",
        "Date,Open,High,Low,Close,Volume,Dividends,Stock Splits\n"
        "2024-01-02 00:00:00-05:00,1,2,0.5,1.5,10,0,0\n"
        "2024-01-03T00:00:00,1,2,0.5,1.5,10,0,0\n",
    )
    _, bars = read_bars_csv(path)
    assert [b.ts for b in bars] == [day_ts(date(2024, 1, 2)), day_ts(date(2024, 1, 3))]


def test_holiday_rows_without_prices_are_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.csv",
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-01,null,null,null,null,null,null\n"
        "2024-01-02,1,2,0.5,1.5,1.4,10\n"
        "2024-01-03,,,,,,\n"
        "2024-01-04,NaN,NaN,NaN,NaN,NaN,0\n"
        "2024-01-05,1,2,0.5,1.6,1.5,10\n"
        "\n"
        ",,,,,,\n",
    )
    _, bars = read_bars_csv(path)
    assert [b.day for b in bars] == [date(2024, 1, 2), date(2024, 1, 5)]


# ------------------------------------------------------------------------------------------------ errors


def test_missing_required_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "Date,Close,High,Volume\n2024-01-02,1,2,3\n")
    assert error_of(path) == (
        f"{path}:1: missing required column(s) Open, Low (found: Date, Close, High, Volume); "
        "expected a header row such as Date,Open,High,Low,Close,Adj Close,Volume"
    )


def test_file_without_header_row(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "2024-01-02,1,2,0.5,1.5\n")
    message = error_of(path)
    assert message.startswith(f"{path}:1: missing required column(s) Date, Open, High, Low, Close (found: ")


def test_duplicate_column(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "Date,Open,High,Low,Close,close\n2024-01-02,1,2,0.5,1.5,1.5\n")
    assert error_of(path) == f"{path}:1: column Close appears twice in the header"


def test_unparsable_date(tmp_path: Path) -> None:
    path = write(
        tmp_path, "a.csv", "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n01/03/2024,1,2,0.5,1.5\n"
    )
    assert error_of(path) == f"{path}:3: unparsable date '01/03/2024' (expected YYYY-MM-DD)"


def test_impossible_date(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "Date,Open,High,Low,Close\n2024-02-30,1,2,0.5,1.5\n")
    assert error_of(path) == f"{path}:2: unparsable date '2024-02-30' (expected YYYY-MM-DD)"


def test_duplicate_date(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.csv",
        "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n2024-01-03,1,2,0.5,1.5\n2024-01-03,1,2,0.5,1.6\n",
    )
    assert error_of(path) == f"{path}:4: duplicate date 2024-01-03 (also on line 3)"


def test_dates_out_of_order(tmp_path: Path) -> None:
    path = write(
        tmp_path, "a.csv", "Date,Open,High,Low,Close\n2024-01-03,1,2,0.5,1.5\n2024-01-02,1,2,0.5,1.5\n"
    )
    assert error_of(path) == (
        f"{path}:3: date 2024-01-02 comes after 2024-01-03 (line 2); rows must be in ascending date order"
    )


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("0", "Low is 0 on 2024-01-02; prices must be greater than zero"),
        ("-1.5", "Low is -1.5 on 2024-01-02; prices must be greater than zero"),
        ("abc", "non-numeric Low 'abc' on 2024-01-02"),
        ("inf", "non-finite Low 'inf' on 2024-01-02"),
    ],
)
def test_bad_price(tmp_path: Path, cell: str, problem: str) -> None:
    path = write(tmp_path, "a.csv", f"Date,Open,High,Low,Close\n2024-01-02,1,2,{cell},1.5\n")
    assert error_of(path) == f"{path}:2: {problem}"


def test_extra_fields(tmp_path: Path) -> None:
    # A decimal comma splits a cell in two: the row is longer than the header.
    path = write(tmp_path, "a.csv", "Date,Open,High,Low,Close\n2024-01-02,1,2,1,5,1.5\n")
    assert error_of(path) == f"{path}:2: row has 6 fields but the header has 5"
    # Trailing empty cells are harmless.
    ok = write(tmp_path, "b.csv", "Date,Open,High,Low,Close\n2024-01-02,1,2,1,1.5,,\n")
    assert len(read_bars_csv(ok)[1]) == 1


def test_bad_adj_close_and_volume(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,1,2,0.5,1.5,x,1\n")
    assert error_of(path) == f"{path}:2: non-numeric Adj Close 'x' on 2024-01-02"
    path = write(tmp_path, "b.csv", "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,-3\n")
    assert error_of(path) == f"{path}:2: Volume is -3 on 2024-01-02; it must be zero or more"
    path = write(tmp_path, "c.csv", "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,lots\n")
    assert error_of(path) == f"{path}:2: non-numeric Volume 'lots' on 2024-01-02"


def test_some_prices_missing_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.csv",
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,1,2,0.5,1.5,1.5,1\n"
        "2024-01-03,null,2,,1.5,1.5,1\n",
    )
    assert error_of(path) == f"{path}:3: missing Open, Low on 2024-01-03 while other prices are present"


def test_short_row(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2\n")
    assert error_of(path) == f"{path}:2: row has 3 field(s) but the header has 6"


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "")
    assert error_of(path) == (
        f"{path}: empty file (expected a header row such as Date,Open,High,Low,Close,Adj Close,Volume)"
    )
    blank = write(tmp_path, "b.csv", "\n\n  \n")
    assert error_of(blank).startswith(f"{blank}: empty file")


def test_header_without_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "Date,Open,High,Low,Close\n\n")
    assert error_of(path) == f"{path}: no data rows after the header"
    multi = write(tmp_path, "m.csv", "Price,Close,High,Low,Open\nTicker,X,X,X,X\nDate,,,,\n")
    assert error_of(multi) == f"{multi}: no data rows after the header"


def test_only_holiday_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "Date,Open,High,Low,Close\n2024-01-01,null,null,null,null\n")
    assert error_of(path) == f"{path}: no bars: all 1 data row(s) have empty or null prices"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    assert error_of(path) == f"{path}: cannot read the file: No such file or directory"


def test_unreadable_file(tmp_path: Path) -> None:
    # A folder cannot be read as a file: an OSError on every platform, also when running as root.
    path = tmp_path / "folder.csv"
    path.mkdir()
    message = error_of(path)
    assert message.startswith(f"{path}: cannot read the file: ")
    if sys.platform != "win32":
        assert message == f"{path}: cannot read the file: {os.strerror(errno.EISDIR)}"


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root ignores file permissions")
def test_file_without_read_permission(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n")
    path.chmod(0)
    try:
        assert error_of(path) == f"{path}: cannot read the file: {os.strerror(errno.EACCES)}"
    finally:
        path.chmod(0o600)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n2024-01-03,1,2,0.5,1.5 \u00e9\n".encode("latin-1")
    )
    assert error_of(path) == f"{path}:3: not UTF-8 text (byte 0xe9); save the file as UTF-8 CSV"


def test_error_message_is_one_line_even_for_odd_cells(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", 'Date,Open,High,Low,Close\n2024-01-02,"1\n2",2,0.5,1.5\n')
    message = error_of(path)
    assert message == f"{path}:3: non-numeric Open '1\\n2' on 2024-01-02"


def test_csv_error_attributes(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "Date,Open,High,Low,Close\n2024-01-02,1,2,abc,1.5\n")
    with pytest.raises(CsvError) as info:
        read_bars_csv(path)
    assert info.value.path == path and info.value.line == 2
    assert info.value.problem == "non-numeric Low 'abc' on 2024-01-02"


# ------------------------------------------------------------------------------------------------- speed


def test_large_file_parses_quickly(tmp_path: Path) -> None:
    start = date(1990, 1, 1).toordinal()
    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    for i in range(9000):
        d = date.fromordinal(start + i).isoformat()
        p = 100.0 + (i % 97) * 0.731
        lines.append(f"{d},{p:.12f},{p + 1.5:.12f},{p - 1.25:.12f},{p + 0.5:.12f},{p + 0.25:.12f},{1000 + i}")
    path = write(tmp_path, "big.csv", "\n".join(lines) + "\n")
    read_bars_csv(path)  # warm the OS cache
    t0 = time.perf_counter()
    _, bars = read_bars_csv(path)
    elapsed = time.perf_counter() - t0
    assert len(bars) == 9000
    # ~45 ms on a slow CI machine; the bound only catches a regression to a slow path.
    assert elapsed < 0.5


# ------------------------------------------------------------------------------------------- find files


def test_find_csv_files(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    for name in ("b.csv", "A.CSV", "notes.txt", "sub/c.csv"):
        (folder / name).write_text("x")
    single = tmp_path / "single.txt"
    single.write_text("x")
    found = find_csv_files([single, folder, folder / "b.csv"])
    assert found == [single, folder / "A.CSV", folder / "b.csv"]


def test_find_csv_files_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(CsvError) as info:
        find_csv_files([missing])
    assert str(info.value) == f"{missing}: no such file or folder"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    with pytest.raises(CsvError) as info:
        find_csv_files([empty])
    assert str(info.value) == f"{empty}: folder has no .csv files"


# ------------------------------------------------------------------------------------------- real files


@pytest.fixture
def daily() -> Path:
    folder = SHARED_DATA / "daily"
    if not folder.is_dir():
        pytest.skip(f"real Yahoo data not available at {folder}")
    return folder


def test_real_classic_yahoo_files(daily: Path) -> None:
    symbol, gspc = read_bars_csv(daily / "johnvb21-market-simulator" / "^GSPC.csv")
    assert symbol == "^GSPC" and len(gspc) == 8741
    assert gspc[0].day == date(1990, 1, 2) and gspc[0].close == pytest.approx(359.69)
    assert gspc[-1].day == date(2024, 9, 12) and gspc[-1].close == pytest.approx(5595.76, abs=0.01)
    symbol, rut = read_bars_csv(daily / "johnvb21-market-simulator" / "^RUT.csv")
    assert symbol == "^RUT" and len(rut) == 8741 and rut[-1].close == pytest.approx(2129.43, abs=0.01)
    assert rut[-1].adj_close == rut[-1].close  # an index has no dividends


def test_real_multi_header_files(daily: Path) -> None:
    folder = daily / "flippe2-blank-app"
    symbol, rut = read_bars_csv(folder / "^RUT.csv")
    assert symbol == "^RUT" and len(rut) == 125
    assert rut[0].day == date(2025, 9, 8) and rut[-1].day == date(2026, 3, 6)
    assert rut[-1].close == pytest.approx(2525.30, abs=0.01)
    assert math.isnan(rut[-1].adj_close)
    symbol, tnx = read_bars_csv(folder / "^TNX.csv")
    assert symbol == "^TNX" and tnx[-1].close == pytest.approx(4.133, abs=0.001)  # percent
    assert all(b.volume == 0.0 for b in tnx)


def test_real_iwm_files_differ_by_a_constant_ratio(daily: Path) -> None:
    symbol, auto = read_bars_csv(daily / "goro2030-autoresearch" / "IWM.csv")
    assert symbol == "IWM" and len(auto) == 6497
    assert auto[0].day == date(2000, 5, 26) and auto[-1].day == date(2026, 3, 27)
    assert auto[-1].close == pytest.approx(243.10, abs=0.01)
    _, classic = read_bars_csv(daily / "johnvb21-market-simulator" / "IWM.csv")
    assert len(classic) == 6112 and classic[-1].day == date(2024, 9, 12)
    by_ts = {b.ts: b for b in auto}
    # auto-adjusted Close / classic Adj Close: both dividend-adjusted, as of different download dates.
    ratios = [by_ts[b.ts].close / b.adj_close for b in classic]
    assert len(ratios) == len(classic)
    assert max(ratios) / min(ratios) - 1 < 1e-5
    assert ratios[0] == pytest.approx(0.98085, abs=1e-4)


def test_real_files_parse_fast(daily: Path) -> None:
    path = daily / "johnvb21-market-simulator" / "^GSPC.csv"
    read_bars_csv(path)
    t0 = time.perf_counter()
    read_bars_csv(path)
    assert time.perf_counter() - t0 < 0.5  # ~45 ms measured; a generous bound against flaky CI
