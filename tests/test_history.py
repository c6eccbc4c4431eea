"""View 5 and `history`: calendar-year returns of small caps against large caps.

Expected values are worked out here by hand or with plain pandas, never taken from services.history.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from textual import events
from textual.app import App, ComposeResult
from uitools import screen_text

from services.csv_bars import read_bars_csv
from services.history import Basis, YearReturn, compare_years, history_from_snapshot, year_returns
from services.models import Bar, BarSeries, ErrorKind, Interval, SourceKind, SymbolError, day_ts
from services.snapshot import FeedStatus, Snapshot, SymbolSnapshot
from tui.cli import main
from tui.screens.history_view import HistoryView
from widgets.year_returns_chart import YearReturnsChart
from widgets.year_returns_table import YearReturnsTable

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "daily"
JOHNVB21 = SHARED / "johnvb21-market-simulator"
GORO = SHARED / "goro2030-autoresearch"
NOW = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)


# ---------------------------------------------------------------------- helpers
def series(symbol: str, rows: list[tuple[date, float] | tuple[date, float, float]]) -> BarSeries:
    """Daily bars from (day, close) or (day, close, adj_close) rows."""
    bars = []
    for row in rows:
        d, c = row[0], row[1]
        adj = row[2] if len(row) == 3 else math.nan
        bars.append(Bar(day_ts(d), c, c, c, c, 0.0, adj))
    return BarSeries.from_bars(symbol, Interval.DAILY, bars)


def pct(a: float, b: float) -> float:
    return (b / a - 1.0) * 100.0


def by_year(years: list[YearReturn]) -> dict[int, YearReturn]:
    return {y.year: y for y in years}


def sym_snap(s: BarSeries, *, provisional: bool = False, error: SymbolError | None = None) -> SymbolSnapshot:
    return SymbolSnapshot(
        symbol=s.symbol,
        quote=None,
        daily=s,
        intraday=None,
        indicators=None,
        provisional=provisional,
        stale=False,
        updated_at=None,
        error=error,
    )


def snapshot_of(*snaps: SymbolSnapshot) -> Snapshot:
    status = FeedStatus(SourceKind.REPLAY, "replay: test", None, None, None, False, None)
    return Snapshot(as_of=NOW, status=status, symbols={s.symbol: s for s in snaps}, breakout=None)


# ---------------------------------------------------------------------- services: how a year is measured
def test_a_year_runs_from_the_last_close_of_the_year_before_and_the_ends_are_partial() -> None:
    # 2019 starts on 12-30 (no close of 2018: partial, measured from its first close); 2020 and 2021 are
    # whole; 2022 stops on 06-30, before its last session (partial).
    small = series(
        "^RUT",
        [
            (date(2019, 12, 30), 100.0),
            (date(2019, 12, 31), 110.0),
            (date(2020, 1, 2), 111.0),
            (date(2020, 7, 1), 90.0),
            (date(2020, 12, 31), 132.0),
            (date(2021, 12, 31), 99.0),
            (date(2022, 1, 3), 100.0),
            (date(2022, 6, 30), 120.0),
        ],
    )
    large = series(
        "^GSPC",
        [
            (date(2019, 12, 30), 200.0),
            (date(2019, 12, 31), 210.0),
            (date(2020, 1, 2), 205.0),
            (date(2020, 7, 1), 190.0),
            (date(2020, 12, 31), 231.0),
            (date(2021, 12, 31), 277.2),
            (date(2022, 1, 3), 270.0),
            (date(2022, 6, 30), 249.48),
        ],
    )
    got = by_year(year_returns(small, large, Basis.PRICE))
    assert sorted(got) == [2019, 2020, 2021, 2022]
    y19, y20, y21, y22 = got[2019], got[2020], got[2021], got[2022]
    assert (y19.small, y19.large) == (pytest.approx(10.0), pytest.approx(5.0))
    assert y19.partial and y19.start == date(2019, 12, 30) and y19.end == date(2019, 12, 31)
    assert (y20.small, y20.large) == (pytest.approx(20.0), pytest.approx(10.0))  # 110 -> 132, 210 -> 231
    assert not y20.partial and y20.start == date(2019, 12, 31) and y20.end == date(2020, 12, 31)
    assert y20.spread == pytest.approx(10.0) and y20.small_led
    assert (y21.small, y21.large) == (pytest.approx(-25.0), pytest.approx(20.0))
    assert not y21.partial and not y21.small_led and y21.spread == pytest.approx(-45.0)
    assert (y22.small, y22.large) == (pytest.approx(pct(99.0, 120.0)), pytest.approx(-10.0))
    assert y22.partial and y22.end == date(2022, 6, 30)
    assert y20.basis is Basis.PRICE and (y20.small_symbol, y20.large_symbol) == ("^RUT", "^GSPC")


def test_year_boundaries_follow_the_last_weekday_of_december() -> None:
    # 31 Dec 2022 and 2023 fall on a weekend: Fri 30 Dec 2022 and Fri 29 Dec 2023 close those years.
    rows = [
        (date(2021, 12, 31), 100.0),
        (date(2022, 12, 30), 90.0),
        (date(2023, 1, 3), 91.0),
        (date(2023, 12, 29), 99.0),
        (date(2024, 1, 2), 100.0),
        (date(2024, 12, 30), 101.0),  # Mon 30 Dec 2024: 31 Dec (Tue) is still to come
    ]
    small = series("^RUT", rows)
    large = series("^GSPC", [(d, c * 2) for d, c in rows])
    got = by_year(year_returns(small, large, Basis.PRICE))
    assert not got[2022].partial and got[2022].small == pytest.approx(-10.0)
    assert not got[2023].partial and got[2023].small == pytest.approx(10.0)
    assert got[2023].start == date(2022, 12, 30)
    assert got[2024].partial and got[2024].small == pytest.approx(pct(99.0, 101.0))
    # A lone first close has nothing to measure: 2021 is not listed.
    assert 2021 not in got
    # The same year ending on its last session, 31 Dec 2024, is whole.
    more = series("^RUT", [*rows, (date(2024, 12, 31), 110.0)])
    more_large = series("^GSPC", [*((d, c * 2) for d, c in rows), (date(2024, 12, 31), 220.0)])
    assert not by_year(year_returns(more, more_large, Basis.PRICE))[2024].partial


def test_only_common_dates_count() -> None:
    # ^GSPC lacks a mid-year day (ignored: both series skip it) and 31 Dec 2020 (both then end 2020 on
    # 30 Dec, so 2020 and 2021 are partial); ^RUT lacks 2 Jan 2020 (the first common date is 3 Jan).
    small = series(
        "^RUT",
        [
            (date(2019, 12, 31), 100.0),
            (date(2020, 1, 3), 101.0),
            (date(2020, 6, 1), 50.0),
            (date(2020, 12, 30), 120.0),
            (date(2020, 12, 31), 130.0),
            (date(2021, 12, 31), 144.0),
        ],
    )
    large = series(
        "^GSPC",
        [
            (date(2019, 12, 31), 200.0),
            (date(2020, 1, 2), 999.0),
            (date(2020, 1, 3), 201.0),
            (date(2020, 12, 30), 220.0),
            (date(2021, 12, 31), 242.0),
        ],
    )
    got = by_year(year_returns(small, large, Basis.PRICE))
    assert sorted(got) == [2020, 2021]  # 2019: a lone first close
    assert got[2020].small == pytest.approx(20.0) and got[2020].large == pytest.approx(10.0)
    assert got[2020].end == date(2020, 12, 30) and got[2020].partial
    assert got[2021].small == pytest.approx(20.0) and got[2021].large == pytest.approx(10.0)
    assert got[2021].start == date(2020, 12, 30) and got[2021].partial
    assert year_returns(small, series("^GSPC", [(date(2018, 1, 2), 1.0)]), Basis.PRICE) == []


def test_total_basis_uses_the_adjusted_close_and_chains_bars_without_one() -> None:
    # IWM pays a dividend in 2021: its close falls, its adjusted close does not. The last bar (today's,
    # built from a quote) has no adjusted close: it is chained on by the close's change (+10 %).
    iwm = series(
        "IWM",
        [
            (date(2020, 12, 31), 200.0, 190.0),
            (date(2021, 6, 1), 190.0, 190.0),
            (date(2021, 12, 31), 220.0, 228.0),
            (date(2022, 3, 1), 242.0),
        ],
    )
    spy = series(
        "SPY",
        [
            (date(2020, 12, 31), 400.0, 380.0),
            (date(2021, 6, 1), 400.0, 399.0),
            (date(2021, 12, 31), 418.0, 418.0),
            (date(2022, 3, 1), 376.2, 376.2),
        ],
    )
    got = by_year(year_returns(iwm, spy, Basis.TOTAL))
    assert got[2021].small == pytest.approx(20.0)  # 190 -> 228 adjusted (the close says +10 %)
    assert got[2021].large == pytest.approx(10.0)  # 380 -> 418
    assert got[2022].small == pytest.approx(10.0) and got[2022].large == pytest.approx(-10.0)
    assert got[2021].basis is Basis.TOTAL
    # Files without an Adj Close column at all (yfinance auto-adjusted): the closes are used.
    plain = series("IWM", [(date(2020, 12, 31), 50.0), (date(2021, 12, 31), 60.0)])
    plain_spy = series("SPY", [(date(2020, 12, 31), 100.0), (date(2021, 12, 31), 105.0)])
    y = year_returns(plain, plain_spy, Basis.TOTAL)[0]
    assert (y.small, y.large, y.partial) == (pytest.approx(20.0), pytest.approx(5.0), False)


def _pair_rows(start: float) -> list[tuple[date, float]]:
    return [(date(2020, 12, 31), start), (date(2021, 12, 31), start * 1.1)]


def test_the_pair_is_the_indices_when_both_have_data_else_the_etfs() -> None:
    rut, gspc = series("^RUT", _pair_rows(2000.0)), series("^GSPC", _pair_rows(4000.0))
    iwm = series("IWM", [(date(2020, 12, 31), 200.0, 200.0), (date(2021, 12, 31), 210.0, 230.0)])
    spy = series("SPY", [(date(2020, 12, 31), 400.0, 400.0), (date(2021, 12, 31), 420.0, 440.0)])
    both = compare_years({"^RUT": rut, "^GSPC": gspc, "IWM": iwm, "SPY": spy})
    assert (both.pair.small, both.pair.large, both.pair.basis) == ("^RUT", "^GSPC", Basis.PRICE)
    assert both.note is None and both.describe_pair() == "^RUT vs ^GSPC, price returns"
    empty_rut = BarSeries("^RUT", Interval.DAILY)
    etfs = compare_years({"^RUT": empty_rut, "^GSPC": gspc, "IWM": iwm, "SPY": spy})
    assert (etfs.pair.small, etfs.pair.basis) == ("IWM", Basis.TOTAL)
    assert etfs.years[0].small == pytest.approx(15.0) and etfs.years[0].large == pytest.approx(10.0)
    assert etfs.summary() == "small caps led in 1 of 1 full year"
    none = compare_years({"^RUT": rut, "IWM": iwm}, reasons={})
    assert none.years == () and none.note is not None
    assert "^GSPC (not watched)" in none.note and "SPY (not watched)" in none.note
    assert "^RUT (" not in none.note


def test_indices_with_only_months_of_data_give_way_to_the_etfs_full_years() -> None:
    # Yahoo's ^RUT/^GSPC from September only (a partial year); IWM/SPY back to 2020.
    rut = series("^RUT", [(date(2021, 9, 1), 2000.0), (date(2021, 12, 31), 2200.0)])
    gspc = series("^GSPC", [(date(2021, 9, 1), 4000.0), (date(2021, 12, 31), 4100.0)])
    iwm = series("IWM", [(date(2020, 12, 31), 200.0, 200.0), (date(2021, 12, 31), 210.0, 230.0)])
    spy = series("SPY", [(date(2020, 12, 31), 400.0, 400.0), (date(2021, 12, 31), 420.0, 440.0)])
    got = compare_years({"^RUT": rut, "^GSPC": gspc, "IWM": iwm, "SPY": spy})
    assert (got.pair.small, got.pair.basis) == ("IWM", Basis.TOTAL)
    assert [(y.year, y.partial) for y in got.years] == [(2021, False)]
    # With no full year anywhere, the indices' partial year is still shown.
    only = compare_years({"^RUT": rut, "^GSPC": gspc})
    assert only.pair.small == "^RUT" and only.years[0].partial


def test_the_json_record_rounds_to_hundredths_of_a_percent() -> None:
    small = series("^RUT", [(date(2010, 12, 31), 3.0), (date(2011, 12, 30), 4.0)])
    large = series("^GSPC", [(date(2010, 12, 31), 300000.0), (date(2011, 12, 30), 299990.0)])
    doc = year_returns(small, large, Basis.PRICE)[0].as_json()
    assert doc == {
        "year": 2011,
        "small": 33.33,
        "large": 0.0,  # -0.0033 %: never "-0.0"
        "spread": 33.34,
        "small_symbol": "^RUT",
        "large_symbol": "^GSPC",
        "basis": "price",
        "partial": False,
        "start": "2010-12-31",
        "end": "2011-12-30",
    }
    assert str(doc["large"]) == "0.0"


def test_todays_live_bar_keeps_its_year_partial_or_is_left_out() -> None:
    rows = [(date(2025, 12, 31), 100.0), (date(2026, 6, 1), 105.0), (date(2026, 12, 31), 120.0)]
    rut = series("^RUT", rows)
    gspc = series("^GSPC", [(d, c * 10) for d, c in rows])
    # 31 Dec 2026 is the year's last session, but still in progress: the year is not over.
    snap = snapshot_of(sym_snap(rut, provisional=True), sym_snap(gspc, provisional=True))
    live = history_from_snapshot(snap.symbols)
    assert live.years[-1].small == pytest.approx(20.0) and live.years[-1].partial
    done = history_from_snapshot(snap.symbols, include_live=False)
    assert done.years[-1].small == pytest.approx(5.0) and done.years[-1].end == date(2026, 6, 1)
    # Not provisional: the year is whole.
    closed = history_from_snapshot(snapshot_of(sym_snap(rut), sym_snap(gspc)).symbols)
    assert not closed.years[-1].partial


# ---------------------------------------------------------------------- `history` on replay CSVs
@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(f'log_dir = "{tmp_path / "logs"}"\ncache_dir = "{tmp_path / "cache"}"\n')
    return p


def weekdays(start: date, end: date) -> list[date]:
    out, d = [], start
    while d <= end:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def pandas_years(small: pd.Series, large: pd.Series) -> pd.DataFrame:
    """Year returns done the plain way: common dates, each year's last close over the previous year's
    (the first year from its first close), partial when not spanning the year's last business days."""
    df = pd.concat({"small": small, "large": large}, axis=1, join="inner").dropna()
    years = df.index.year
    last = df.groupby(years).last()
    last_day = pd.Series(df.index, index=df.index).groupby(years).last()
    base = last.shift(1)
    base.iloc[0] = df.iloc[0]
    out = (last / base - 1.0) * 100.0
    out["spread"] = out["small"] - out["large"]
    # The year's last business day (Mon-Fri), from pandas' own calendar arithmetic.
    year_end = pd.Series([pd.Timestamp(f"{y}-01-01") + pd.offsets.BYearEnd(0) for y in last.index])
    complete = last_day.to_numpy() >= year_end.to_numpy()
    partial = ~complete
    partial[0] = True
    # A year after an incomplete one does not start from its predecessor's last session.
    for i in range(1, len(partial)):
        partial[i] = partial[i] or not complete[i - 1]
    out["partial"] = partial
    return out


def check_against(got: list[dict[str, object]], want: pd.DataFrame) -> None:
    assert [g["year"] for g in got] == list(want.index)
    for g in got:
        w = want.loc[g["year"]]
        for k in ("small", "large", "spread"):
            assert g[k] == pytest.approx(w[k], abs=0.0051), (g["year"], k)
        assert g["partial"] is bool(w["partial"]), g["year"]


def write_yahoo(path: Path, days: list[date], closes: list[float], adj: list[float] | None) -> None:
    with path.open("w") as f:
        if adj is None:  # yfinance auto-adjusted layout
            f.write("Date,Close,High,Low,Open,Volume\n")
            for d, c in zip(days, closes, strict=True):
                f.write(f"{d},{c},{c + 1},{c - 1},{c},1000\n")
        else:
            f.write("Date,Open,High,Low,Close,Adj Close,Volume\n")
            for d, c, a in zip(days, closes, adj, strict=True):
                f.write(f"{d},{c},{c + 1},{c - 1},{c},{a},1000\n")


def test_history_json_on_a_replay_of_etfs_is_total_return(tmp_path: Path, cfg: Path, capsys) -> None:
    folder = tmp_path / "etfs"
    folder.mkdir()
    days = weekdays(date(2019, 6, 3), date(2022, 3, 15))
    n = len(days)
    iwm = [150 + 30 * math.sin(i / 40) + i * 0.02 for i in range(n)]
    # A steady dividend drag: the adjusted close rises 3 % a year more than the close.
    iwm_adj = [c * 0.9 * (1.03 ** (i / 252)) for i, c in enumerate(iwm)]
    spy = [300 + 40 * math.cos(i / 55) + i * 0.05 for i in range(n)]
    write_yahoo(folder / "IWM.csv", days, iwm, iwm_adj)
    write_yahoo(folder / "SPY.csv", days, spy, None)
    rc = main(["history", "--replay", str(folder), "--json", "--config", str(cfg)])
    got = json.loads(capsys.readouterr().out)
    assert rc == 0
    idx = pd.to_datetime(days)
    want = pandas_years(pd.Series(iwm_adj, index=idx), pd.Series(spy, index=idx))
    check_against(got, want)
    assert [g["year"] for g in got] == [2019, 2020, 2021, 2022]
    assert [g["partial"] for g in got] == [True, False, False, True]
    assert all(
        g["basis"] == "total" and (g["small_symbol"], g["large_symbol"]) == ("IWM", "SPY") for g in got
    )
    # The price return would differ: the adjusted close was really used.
    price_2020 = (iwm[days.index(date(2020, 12, 31))] / iwm[days.index(date(2019, 12, 31))] - 1) * 100
    assert abs(got[1]["small"] - price_2020) > 1.0
    # The text table names the pair and basis and marks the partial years.
    assert main(["history", "--replay", str(folder), "--config", str(cfg)]) == 0
    text = capsys.readouterr().out
    assert "IWM vs SPY, total returns" in text
    assert any(line.startswith("2019*") for line in text.splitlines())
    assert any(line.startswith("2022*") and "to 2022-03-15" in line for line in text.splitlines())


def test_history_without_a_pair_exits_one_naming_what_is_missing(tmp_path: Path, cfg: Path, capsys) -> None:
    f = tmp_path / "IWM.csv"
    days = weekdays(date(2024, 1, 2), date(2024, 3, 1))
    write_yahoo(f, days, [100.0 + i for i in range(len(days))], None)
    assert main(["history", "--replay", str(f), "--json", "--config", str(cfg)]) == 1
    out = capsys.readouterr()
    assert json.loads(out.out) == []
    assert "SPY (no daily data: not in the replay files)" in out.err and out.err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["history", "--bogus"], "unrecognized arguments: --bogus"),
        (["history", "--speed", "2"], "--as-of and --speed apply to --replay only"),
        (["history", "--replay", "nowhere.csv"], "nowhere.csv: no such file or folder"),
    ],
)
def test_history_bad_input_is_one_line_and_exit_code_two(args, message: str, cfg: Path, capsys) -> None:
    assert main([*args, "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("breakout-monitor: error: ") and message in err


def read_close(path: Path, column: str = "Close") -> pd.Series:
    frame = pd.read_csv(path, index_col="Date", parse_dates=True)
    return frame[column]


@pytest.mark.skipif(not (JOHNVB21 / "^RUT.csv").exists(), reason="../shared/data absent")
def test_history_json_on_the_real_russell_2000_since_1990(cfg: Path, capsys) -> None:
    rc = main(["history", "--replay", str(JOHNVB21), "--json", "--config", str(cfg)])
    got = json.loads(capsys.readouterr().out)
    assert rc == 0
    want = pandas_years(read_close(JOHNVB21 / "^RUT.csv"), read_close(JOHNVB21 / "^GSPC.csv"))
    check_against(got, want)
    assert all(g["basis"] == "price" and g["small_symbol"] == "^RUT" for g in got)
    rows = {g["year"]: g for g in got}
    # The years the thesis cites are there: 1990 is partial (the data start on 2 January), 2024 stops
    # on 12 September.
    for year in (1991, 2003, 2020, 2021):
        assert not rows[year]["partial"]
    assert rows[1990]["partial"] and rows[2024]["partial"] and rows[2024]["end"] == "2024-09-12"
    assert rows[2003]["small"] == pytest.approx(45.37, abs=0.005)  # the brief's own example
    led = {y for y, r in rows.items() if r["spread"] > 0 and not r["partial"]}
    assert {1991, 2003, 2020} <= led and 2021 not in led


@pytest.mark.skipif(not (JOHNVB21 / "IWM.csv").exists(), reason="../shared/data absent")
def test_history_json_on_real_etfs_uses_the_adjusted_close(cfg: Path, capsys) -> None:
    files = [str(JOHNVB21 / "IWM.csv"), str(JOHNVB21 / "SPY.csv")]
    rc = main(["history", "--replay", *files, "--json", "--config", str(cfg)])
    got = json.loads(capsys.readouterr().out)
    assert rc == 0
    want = pandas_years(
        read_close(JOHNVB21 / "IWM.csv", "Adj Close"), read_close(JOHNVB21 / "SPY.csv", "Adj Close")
    )
    check_against(got, want)
    assert got[0]["year"] == 2000 and got[0]["partial"] and got[0]["start"] == "2000-05-26"
    assert all(g["basis"] == "total" for g in got)


@pytest.mark.skipif(not (GORO / "IWM.csv").exists(), reason="../shared/data absent")
def test_history_json_on_auto_adjusted_etfs_through_2025(cfg: Path, capsys) -> None:
    rc = main(["history", "--replay", str(GORO), "--json", "--config", str(cfg)])
    got = json.loads(capsys.readouterr().out)
    assert rc == 0
    want = pandas_years(read_close(GORO / "IWM.csv"), read_close(GORO / "SPY.csv"))
    check_against(got, want)
    rows = {g["year"]: g for g in got}
    assert not rows[2024]["partial"] and not rows[2025]["partial"] and rows[2026]["partial"]


# ---------------------------------------------------------------------- the view
# Hand-made years 1990-2024: small caps +20 % in even years and -5 % in odd ones, large caps +8 %
# every year (so small caps led in the even years by 12 pp and lagged in the odd ones by 13 pp). The
# first year starts on 2 January: partial.
SMALL_RET = {y: (20.0 if y % 2 == 0 else -5.0) for y in range(1990, 2025)}
LARGE_RET = 8.0


def last_weekday(y: int) -> date:
    d = date(y, 12, 31)
    while d.weekday() >= 5:
        d -= timedelta(days=1)
    return d


def view_series() -> tuple[BarSeries, BarSeries]:
    small_rows, large_rows = [(date(1990, 1, 2), 100.0)], [(date(1990, 1, 2), 300.0)]
    s, g = 100.0, 300.0
    for y in range(1990, 2025):
        s *= 1 + SMALL_RET[y] / 100
        g *= 1 + LARGE_RET / 100
        small_rows.append((last_weekday(y), s))
        large_rows.append((last_weekday(y), g))
    return series("^RUT", small_rows), series("^GSPC", large_rows)


class HistoryApp(App[None]):
    def __init__(self, symbols: list[str]) -> None:
        super().__init__()
        self.symbols = symbols

    def compose(self) -> ComposeResult:
        yield HistoryView(self.symbols, id="history")


# Reading the chart off the screen. Table and chart sit side by side: a year's screen line is
# "│ 2003 <table> ││ <chart> │"; in the chart the zero axis is the one "│". A bar is a run of eighth
# blocks from the axis outwards; a left bar's outer cell is the complementary left eighth drawn in
# reverse video, so a glyph filling k eighths from the left shows 8 - k filled from the right.
BLOCKS = "▏▎▍▌▋▊▉█"


@dataclass(frozen=True)
class ChartRow:
    year: str
    """The table's year cell on that screen line ("2024*" when partial)."""
    left: str
    """The chart left of the axis."""
    right: str
    """The chart right of the axis, up to the border."""

    @property
    def right_bar(self) -> str:
        return self.right[: len(self.right) - len(self.right.lstrip(BLOCKS))]

    @property
    def left_bar(self) -> str:
        return self.left[len(self.left.rstrip(BLOCKS)) :]

    def eighths(self) -> int:
        """The bar's length in eighths of a cell, positive to the right."""
        if self.right_bar:
            bar = self.right_bar
            return 8 * bar.count("█") + (0 if bar[-1] == "█" else BLOCKS.index(bar[-1]) + 1)
        bar = self.left_bar
        if not bar:
            return 0
        return -(8 * bar.count("█") + (0 if bar[0] == "█" else 8 - (BLOCKS.index(bar[0]) + 1)))


def chart_rows(text: str) -> dict[int, ChartRow]:
    """The chart's part of every screen line that has a year in the table, by that year."""
    rows: dict[int, ChartRow] = {}
    for line in text.splitlines():
        if "││" not in line or not line.startswith("│ "):
            continue
        table, chart = line.split("││", 1)
        year = table[2:].split(" ", 1)[0]
        if not year[:4].isdigit():
            continue
        chart = chart[: chart.rindex("│")]  # the chart's right border
        left, right = chart.split("│")  # one axis per year line
        rows[int(year[:4])] = ChartRow(year, left, right)
    return rows


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_view_shows_the_pair_the_count_and_the_years(size: tuple[int, int]) -> None:
    rut, gspc = view_series()
    snap = snapshot_of(sym_snap(rut), sym_snap(gspc))
    full = range(1991, 2025)  # 1990 is partial
    led = sum(1 for y in full if SMALL_RET[y] > LARGE_RET)
    app = HistoryApp(list(snap.symbols))
    async with app.run_test(size=size) as pilot:
        view = app.query_one(HistoryView)
        view.show(snap, NOW)
        await pilot.pause()
        await pilot.pause()
        text = screen_text(app)
        if size[0] >= 100:
            assert "^RUT vs ^GSPC, price returns" in text
            assert f"small caps led in {led} of {len(full)} full years" in text
        else:
            assert f"led {led} of {len(full)} full years" in text or f"led in {led} of {len(full)}" in text
        # The table opens on the newest years: 2024 (+20 %, led) and 2023 (-5 %).
        lines = text.splitlines()
        row_2024 = next(line for line in lines if "│ 2024 " in line)
        assert "+20.00" in row_2024 and "+8.00" in row_2024 and "+12.00" in row_2024 and "▲" in row_2024
        row_2023 = next(line for line in lines if "│ 2023 " in line)
        assert "-5.00" in row_2023 and "-13.00" in row_2023 and "▲" not in row_2023
        assert "Spread, ^RUT - ^GSPC, pp" in text  # the chart's title
        # On the line of each year the table shows, the chart has that year's bar: right when small
        # caps led (+12 pp), left when they lagged (-13 pp).
        rows = chart_rows(text)
        assert 2024 in rows and 2023 in rows
        for year, row in rows.items():
            if SMALL_RET[year] > LARGE_RET:
                assert row.right_bar and not row.left_bar and "+12.0" in row.right, year
            else:
                assert row.left_bar and not row.right_bar and "-13.0" in row.left, year
        assert rows[2024].eighths() < -rows[2023].eighths()  # 12 pp is shorter than 13 pp
        if size == (120, 40):  # all 35 years fit
            assert "│ 1990*" in text and list(rows) == list(range(1990, 2025))
            return
        assert "│ 1990*" not in text
        await pilot.press("g")  # to the oldest year: the chart scrolls with the table
        await pilot.pause()
        text = screen_text(app)
        assert "│ 1990*" in text and "│ 1991 " in text and "│ 2024 " not in text
        rows = chart_rows(text)
        assert min(rows) == 1990 and rows[1990].right_bar and rows[1991].left_bar
        await pilot.press("j")
        await pilot.pause()
        rows = chart_rows(screen_text(app))
        assert min(rows) == 1991 and rows[1991].left_bar and rows[1992].right_bar
        await pilot.press("G")
        await pilot.pause()
        rows = chart_rows(screen_text(app))
        assert max(rows) == 2024 and rows[2024].right_bar and rows[2023].left_bar


async def test_the_mouse_wheel_over_the_chart_scrolls_the_table_with_it() -> None:
    rut, gspc = view_series()
    app = HistoryApp(["^RUT", "^GSPC"])
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(HistoryView).show(snapshot_of(sym_snap(rut), sym_snap(gspc)), NOW)
        await pilot.pause()
        await pilot.press("g")
        await pilot.pause()
        assert min(chart_rows(screen_text(app))) == 1990
        # Pilot has no public wheel helper in Textual 8.2.8: the one behind click() sends it.
        chart = app.query_one(YearReturnsChart)
        await pilot._post_mouse_events([events.MouseScrollDown], chart, offset=(10, 5))
        await pilot.pause()
        rows = chart_rows(screen_text(app))
        assert min(rows) > 1990 and rows[min(rows)].year == str(min(rows))
        assert all(bool(r.right_bar) == (y % 2 == 0) for y, r in rows.items())
        await pilot._post_mouse_events([events.MouseScrollUp], chart, offset=(10, 5))
        await pilot.pause()
        assert min(chart_rows(screen_text(app))) == 1990


# Spreads chosen so the bars' proportions are known: large caps flat (0 %) every year, so the spread
# is small caps' return. 2001-2007 are whole years; 2008 stops on 30 June (partial).
SPREADS = {2001: 30.0, 2002: 15.0, 2003: -30.0, 2004: -7.5, 2005: 0.1, 2006: -15.0, 2007: 3.75, 2008: -4.0}


def spread_series() -> tuple[BarSeries, BarSeries]:
    days = [last_weekday(2000), *(last_weekday(y) for y in range(2001, 2008)), date(2008, 6, 30)]
    small, level = [(days[0], 100.0)], 100.0
    for d, spread in zip(days[1:], SPREADS.values(), strict=True):
        level *= 1 + spread / 100
        small.append((d, level))
    return series("^RUT", small), series("^GSPC", [(d, 50.0) for d in days])


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_bars_are_as_long_as_their_spread_with_the_value_at_the_end(size: tuple[int, int]) -> None:
    rut, gspc = spread_series()
    app = HistoryApp(["^RUT", "^GSPC"])
    async with app.run_test(size=size) as pilot:
        app.query_one(HistoryView).show(snapshot_of(sym_snap(rut), sym_snap(gspc)), NOW)
        await pilot.pause()
        await pilot.pause()
        text = screen_text(app)
        rows = chart_rows(text)
        assert list(rows) == list(SPREADS)
        e = {y: r.eighths() for y, r in rows.items()}
        # The sides: right for the years small caps led, left for those they lagged.
        assert all((e[y] > 0) == (SPREADS[y] > 0) for y in SPREADS)
        # The scale is the largest |spread|, 30 pp, on either side; the others in proportion (within
        # an eighth of a cell), and a 0.1 pp lead is still visible.
        assert e[2003] == -e[2001]
        assert e[2001] >= 8 * 8  # at least 8 cells at 80 columns
        for year in (2002, 2004, 2006, 2007):
            assert abs(e[year] - e[2001] * SPREADS[year] / 30.0) <= 1, year
        assert 1 <= e[2005] <= 2
        # The longest bar and its value fill the half it is in (to within the one spare cell).
        right = rows[2001].right
        assert right.split() == [rows[2001].right_bar, "+30.0"]
        assert len(right) - len(right.rstrip()) <= 1
        assert rows[2003].left.split()[-2:] == ["-30.0", rows[2003].left_bar]
        assert rows[2007].right.split() == [rows[2007].right_bar, "+3.8"]
        # The partial year: starred in the table and at the bar's value.
        assert rows[2008].year == "2008*" and rows[2008].left.split()[-2] == "-4.0*"
        # The legend over the bars, on the table's header line, and the scale under them.
        legend = next(line for line in text.splitlines() if "│ year " in line)
        assert "◀ ^RUT lagged 0 ^RUT led ▶" in legend
        assert "scale ±30.0 pp" in text


@pytest.mark.skipif(not (JOHNVB21 / "^RUT.csv").exists(), reason="../shared/data absent")
async def test_the_chart_of_the_real_russell_2000_reads_like_its_table() -> None:
    _, rut = read_bars_csv(JOHNVB21 / "^RUT.csv")
    _, gspc = read_bars_csv(JOHNVB21 / "^GSPC.csv")
    want = pandas_years(read_close(JOHNVB21 / "^RUT.csv"), read_close(JOHNVB21 / "^GSPC.csv"))
    app = HistoryApp(["^RUT", "^GSPC"])
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(HistoryView).show(snapshot_of(sym_snap(rut), sym_snap(gspc)), NOW)
        await pilot.pause()
        await pilot.pause()
        rows = chart_rows(screen_text(app))
        assert list(rows) == list(want.index)  # 1990-2024, oldest first, all on screen
        # At 120 columns the chart also labels its rows: the year on the chart's part of each line
        # is the table's.
        for year, row in rows.items():
            assert row.left.split()[0] == row.year, year
        e = {y: r.eighths() for y, r in rows.items()}
        # 2003 (+19.0 pp) reaches right, much further than 1999 (+0.1 pp).
        assert e[2003] > 0 and e[1999] > 0 and e[2003] > 10 * e[1999]
        assert "+19.0" in rows[2003].right
        # 1998 (-30.1 pp, the widest spread) sets the scale; 2021 lagged too.
        assert e[1998] == -max(abs(v) for v in e.values()) and e[2021] < 0
        assert "-30.1" in rows[1998].left and "-13.2" in rows[2021].left
        for year, w in want.iterrows():
            assert (e[year] > 0) == (w["spread"] > 0), year
        assert rows[2024].year == "2024*" and "-12.3*" in rows[2024].left


async def test_the_view_redraws_nothing_for_an_unchanged_snapshot_and_names_a_missing_symbol() -> None:
    rut, gspc = view_series()
    snap = snapshot_of(sym_snap(rut), sym_snap(gspc))
    app = HistoryApp(list(snap.symbols))
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(HistoryView)
        view.show(snap, NOW)
        await pilot.pause()
        await pilot.pause()
        chart = app.query_one(YearReturnsChart)
        shown, builds = view.history, chart.builds
        assert builds >= 1
        view.show(snapshot_of(sym_snap(rut), sym_snap(gspc)), NOW)  # same data, new snapshot object
        await pilot.pause()
        assert view.history is shown and chart.builds == builds
        # A scroll that does not move (already at the oldest year: all fit) costs nothing either.
        await pilot.press("g")
        await pilot.pause()
        assert chart.builds == builds and app.query_one(YearReturnsTable).first_row == 0
        # A resize rebuilds once; the same snapshot after it still costs nothing.
        await pilot.resize_terminal(110, 40)
        await pilot.pause()
        resized = chart.builds
        assert resized > builds
        view.show(snapshot_of(sym_snap(rut), sym_snap(gspc)), NOW)
        await pilot.pause()
        assert chart.builds == resized
        # A watchlist without the S&P and without the ETFs: the view says so instead of drawing.
        err = SymbolError("^RUT", ErrorKind.UNKNOWN_SYMBOL, "not in the replay files")
        view.show(snapshot_of(sym_snap(BarSeries("^RUT", Interval.DAILY), error=err)), NOW)
        await pilot.pause()
        text = screen_text(app)
        assert "^RUT (no daily data: not in the replay files)" in text
        assert "^GSPC (not watched)" in text and "SPY (not watched)" in text
        assert "1991" not in text
