"""The replay source: real CSV history played back as if live (services/sources/replay.py)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services.csv_bars import CsvError
from services.models import ErrorKind, Interval, MarketSession, SourceKind, day_ts
from services.sources.base import MarketDataSource
from services.sources.replay import PLAYBACK_SESSIONS, ReplaySource

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# (date, open, high, low, close, volume): AAA trades every weekday 2024-01-02..09.
AAA_ROWS = [
    ("2024-01-02", 10.0, 11.0, 9.5, 10.5, 1000),
    ("2024-01-03", 10.5, 12.0, 10.25, 11.75, 2000),
    ("2024-01-04", 11.75, 12.5, 11.0, 11.25, 1500),
    ("2024-01-05", 11.25, 11.5, 10.75, 11.0, 1200),
    ("2024-01-08", 11.0, 13.0, 11.0, 12.5, 3000),
    ("2024-01-09", 12.5, 12.75, 12.0, 12.25, 2500),
]
# (date, open, high, low, close, adj close, volume): BBB has gaps and one more date at the end.
BBB_ROWS = [
    ("2024-01-03", 100.0, 102.0, 99.0, 101.0, 100.0, 50),
    ("2024-01-05", 101.0, 103.0, 100.5, 102.5, 101.5, 60),
    ("2024-01-08", 102.5, 104.0, 102.0, 103.5, 102.5, 70),
    ("2024-01-10", 103.5, 105.0, 103.0, 104.5, 103.5, 80),
]
ALL_DAYS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10"]


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    aaa = tmp_path / "aaa.csv"  # yfinance auto-adjusted layout, symbol from the file name
    aaa.write_text(
        "Date,Close,High,Low,Open,Volume\n"
        + "".join(f"{r[0]},{r[4]},{r[2]},{r[3]},{r[1]},{r[5]}\n" for r in AAA_ROWS)
    )
    bbb = tmp_path / "data.csv"  # yfinance multi-header layout, symbol from the Ticker row
    bbb.write_text(
        "Price,Adj Close,Close,High,Low,Open,Volume\n"
        "Ticker,BBB,BBB,BBB,BBB,BBB,BBB\n"
        "Date,,,,,,\n" + "".join(f"{r[0]},{r[5]},{r[4]},{r[2]},{r[3]},{r[1]},{r[6]}\n" for r in BBB_ROWS)
    )
    return [aaa, bbb]


def weekday_file(path: Path, n: int, first: date = date(2020, 1, 1)) -> list[date]:
    days: list[date] = []
    day = first
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    path.write_text("Date,Open,High,Low,Close\n" + "".join(f"{x},1,2,0.5,1.5\n" for x in days))
    return days


# ------------------------------------------------------------------------------------------- opening


def test_implements_the_protocol(files: list[Path]) -> None:
    source: MarketDataSource = ReplaySource.open(files)
    assert source.kind is SourceKind.REPLAY
    assert source.label == "replay: 2 files, AAA BBB"


def test_open_a_folder(files: list[Path]) -> None:
    source = ReplaySource.open([files[0].parent])
    assert set(source.symbols) == {"AAA", "BBB"}
    assert source.first_day == d("2024-01-02") and source.last_day == d("2024-01-10")


def test_label_is_short_with_many_symbols(tmp_path: Path) -> None:
    for name in "ABCDEFGH":
        weekday_file(tmp_path / f"{name}.csv", 3)
    assert ReplaySource.open([tmp_path]).label == "replay: 8 files, A B C D E F +2"


def test_standing_still_starts_at_the_last_date(files: list[Path]) -> None:
    source = ReplaySource.open(files)
    assert source.as_of == d("2024-01-10")
    assert source.at_end
    assert source.next_poll(datetime.now(UTC)) is None


def test_as_of_on_a_weekend_lands_on_the_friday(files: list[Path]) -> None:
    source = ReplaySource.open(files, as_of=d("2024-01-07"))  # a Sunday
    assert source.as_of == d("2024-01-05")
    assert not source.at_end


def test_as_of_on_a_date_and_after_the_data(files: list[Path]) -> None:
    assert ReplaySource.open(files, as_of=d("2024-01-03")).as_of == d("2024-01-03")
    late = ReplaySource.open(files, as_of=d("2030-01-01"))
    assert late.as_of == d("2024-01-10") and late.at_end


def test_as_of_before_every_file(files: list[Path]) -> None:
    with pytest.raises(ValueError) as info:
        ReplaySource.open(files, as_of=d("2023-12-29"))
    assert str(info.value) == (
        "--as-of 2023-12-29 is before the first bar of every replay file (the earliest is 2024-01-02)"
    )


def test_as_of_before_one_file_only_is_fine(files: list[Path]) -> None:
    source = ReplaySource.open(files, as_of=d("2024-01-02"))  # BBB starts on the 3rd
    assert source.as_of == d("2024-01-02")


def test_playback_without_as_of_starts_a_year_back(tmp_path: Path) -> None:
    days = weekday_file(tmp_path / "x.csv", 300)
    source = ReplaySource.open([tmp_path / "x.csv"], speed=5)
    assert PLAYBACK_SESSIONS == 252
    assert source.as_of == days[-1 - 252]
    # Shorter than a year: from the first date.
    short = tmp_path / "short"
    short.mkdir()
    few = weekday_file(short / "y.csv", 10)
    assert ReplaySource.open([short], speed=5).as_of == few[0]


@pytest.mark.parametrize("speed", [-1.0, math.nan, math.inf])
def test_bad_speed(files: list[Path], speed: float) -> None:
    with pytest.raises(ValueError) as info:
        ReplaySource.open(files, speed=speed)
    assert str(info.value) == f"--speed must be zero or a positive number of bars per second, got {speed}"


def test_same_symbol_in_two_files(files: list[Path], tmp_path: Path) -> None:
    other = tmp_path / "more" / "BBB.csv"
    other.parent.mkdir()
    other.write_text("Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n")
    with pytest.raises(CsvError) as info:
        ReplaySource.open([*files, other])
    assert str(info.value) == f"{other}: symbol BBB is also in {files[1]}; replay one file per symbol"


def test_bad_file_and_missing_path(files: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Open,High,Low,Close\n2024-01-02,1,2,abc,1.5\n")
    with pytest.raises(CsvError) as info:
        ReplaySource.open([files[0], bad])
    assert str(info.value) == f"{bad}:2: non-numeric Low 'abc' on 2024-01-02"
    with pytest.raises(CsvError) as info:
        ReplaySource.open([tmp_path / "nowhere"])
    assert str(info.value) == f"{tmp_path / 'nowhere'}: no such file or folder"


# ------------------------------------------------------------------------------------------- playback


async def test_speed_playback_advances_one_date_per_quotes_call(files: list[Path]) -> None:
    now = datetime.now(UTC)
    source = ReplaySource.open(files, as_of=d("2024-01-05"), speed=2.0)
    assert source.next_poll(now) == 0.5
    seen = []
    for _ in range(6):
        result = await source.quotes(["AAA", "BBB"])
        seen.append((source.as_of, result.quotes["AAA"].trading_day, result.quotes["BBB"].trading_day))
    assert seen == [
        (d("2024-01-05"), d("2024-01-05"), d("2024-01-05")),  # the first call shows the start
        (d("2024-01-08"), d("2024-01-08"), d("2024-01-08")),
        (d("2024-01-09"), d("2024-01-09"), d("2024-01-08")),  # BBB has no bar on the 9th
        (d("2024-01-10"), d("2024-01-09"), d("2024-01-10")),  # AAA's data ended on the 9th
        (d("2024-01-10"), d("2024-01-09"), d("2024-01-10")),  # never past the end
        (d("2024-01-10"), d("2024-01-09"), d("2024-01-10")),
    ]
    assert source.at_end
    assert source.next_poll(now) is None


async def test_next_poll_while_playing_and_at_the_end(files: list[Path]) -> None:
    now = datetime.now(UTC)
    source = ReplaySource.open(files, as_of=d("2024-01-09"), speed=4.0)
    assert source.next_poll(now) == 0.25
    await source.quotes(["AAA"])
    assert source.next_poll(now) == 0.25
    await source.quotes(["AAA"])
    assert source.at_end and source.next_poll(now) is None


async def test_standing_still_never_advances(files: list[Path]) -> None:
    source = ReplaySource.open(files, as_of=d("2024-01-03"))
    for _ in range(3):
        await source.quotes(["AAA"])
    assert source.as_of == d("2024-01-03")
    assert source.next_poll(datetime.now(UTC)) is None


async def test_history_follows_the_cursor(files: list[Path]) -> None:
    source = ReplaySource.open(files, as_of=d("2024-01-05"), speed=1.0)
    result = await source.history(["AAA", "BBB"], Interval.DAILY)
    assert not result.errors
    assert [b.day.isoformat() for b in result.bars["AAA"]] == [r[0] for r in AAA_ROWS[:4]]
    assert [b.day.isoformat() for b in result.bars["BBB"]] == ["2024-01-03", "2024-01-05"]
    await source.quotes(["AAA"])
    await source.quotes(["AAA"])  # -> 2024-01-08
    result = await source.history(["AAA", "BBB"], Interval.DAILY, since={"AAA": d("2024-01-04"), "BBB": None})
    assert [b.day.isoformat() for b in result.bars["AAA"]] == ["2024-01-04", "2024-01-05", "2024-01-08"]
    assert [b.day.isoformat() for b in result.bars["BBB"]] == ["2024-01-03", "2024-01-05", "2024-01-08"]


async def test_history_bar_values_come_from_the_files(files: list[Path]) -> None:
    source = ReplaySource.open(files)
    result = await source.history(["BBB"], Interval.DAILY)
    bars = result.bars["BBB"]
    assert bars.interval is Interval.DAILY and len(bars) == len(BBB_ROWS)
    for bar, row in zip(bars, BBB_ROWS, strict=True):
        assert bar.ts == day_ts(d(row[0]))
        assert (bar.open, bar.high, bar.low, bar.close, bar.adj_close, bar.volume) == row[1:]


async def test_history_errors(files: list[Path]) -> None:
    source = ReplaySource.open(files, as_of=d("2024-01-02"))
    result = await source.history(["AAA", "BBB", "ZZZ"], Interval.DAILY)
    assert list(result.bars) == ["AAA"]
    assert result.errors["BBB"].kind is ErrorKind.NO_DATA
    assert result.errors["BBB"].message == "no bar on or before 2024-01-02 in the replay files"
    assert result.errors["ZZZ"].kind is ErrorKind.UNKNOWN_SYMBOL
    assert result.errors["ZZZ"].message == "not in the replay files"
    for interval in (Interval.MINUTE_5, Interval.MINUTE_1):
        intraday = await source.history(["AAA", "ZZZ"], interval)
        assert not intraday.bars
        assert intraday.errors["AAA"].kind is ErrorKind.NO_DATA
        assert intraday.errors["AAA"].message == "replay has daily bars only"
        assert intraday.errors["ZZZ"].kind is ErrorKind.UNKNOWN_SYMBOL


async def test_quote_fields(files: list[Path]) -> None:
    source = ReplaySource.open(files, as_of=d("2024-01-06"))  # Saturday -> Friday the 5th
    result = await source.quotes(["AAA", "BBB"])
    assert result.intraday == {} and result.errors == {}
    q = result.quotes["AAA"]
    row, prev = AAA_ROWS[3], AAA_ROWS[2]
    assert q.symbol == "AAA"
    assert q.last == row[4]
    assert q.prev_close == prev[4]
    assert q.day_open == row[1]
    assert q.day_high == row[2]
    assert q.day_low == row[3]
    assert q.volume == row[5]
    assert q.trading_day == d("2024-01-05")
    assert q.time == datetime(2024, 1, 5, 21, 0, tzinfo=UTC)  # 16:00 EST
    assert q.time.tzinfo is not None and q.time.utcoffset() == timedelta(0)
    assert q.session is MarketSession.CLOSED
    b = result.quotes["BBB"]
    assert (b.last, b.prev_close, b.day_open, b.day_high, b.day_low, b.volume) == (
        BBB_ROWS[1][4],
        BBB_ROWS[0][4],  # the previous bar in the file, two days earlier
        BBB_ROWS[1][1],
        BBB_ROWS[1][2],
        BBB_ROWS[1][3],
        BBB_ROWS[1][6],
    )


async def test_first_bar_has_no_prev_close_and_summer_time(tmp_path: Path) -> None:
    path = tmp_path / "^tnx.csv"
    path.write_text("Date,Open,High,Low,Close\n2024-07-01,4.4,4.5,4.3,4.47\n")
    source = ReplaySource.open([path])
    q = (await source.quotes(["^TNX"])).quotes["^TNX"]
    assert q.prev_close is None and q.change is None
    assert q.last == 4.47 and q.volume == 0.0
    assert q.time == datetime(2024, 7, 1, 20, 0, tzinfo=UTC)  # 16:00 EDT


async def test_quote_errors(files: list[Path]) -> None:
    source = ReplaySource.open(files, as_of=d("2024-01-02"))
    result = await source.quotes(["AAA", "BBB", "ZZZ"])
    assert list(result.quotes) == ["AAA"]
    assert result.errors["BBB"].kind is ErrorKind.NO_DATA
    assert result.errors["BBB"].message == "no bar on or before 2024-01-02 in the replay files"
    assert result.errors["ZZZ"].kind is ErrorKind.UNKNOWN_SYMBOL


async def test_static_answers(files: list[Path]) -> None:
    source = ReplaySource.open(files, speed=1.0)
    now = datetime.now(UTC)
    assert source.session_at(now) is MarketSession.CLOSED
    assert source.history_due(now, None) is False
    assert source.history_due(now, now - timedelta(days=3)) is False
    await source.aclose()


async def test_cursor_walks_the_union_of_all_dates(files: list[Path]) -> None:
    source = ReplaySource.open(files, as_of=d("2024-01-02"), speed=100.0)
    walked = []
    while True:
        await source.quotes(["AAA"])
        walked.append(source.as_of.isoformat())
        if source.at_end:
            break
    assert walked == ALL_DAYS


# ------------------------------------------------------------------------------------------- real files


async def test_replay_real_files(tmp_path: Path) -> None:
    folder = SHARED_DATA / "daily" / "flippe2-blank-app"
    if not folder.is_dir():
        pytest.skip(f"real Yahoo data not available at {folder}")
    source = ReplaySource.open([folder], as_of=d("2026-01-01"))  # New Year's Day: market closed
    assert source.label == "replay: 4 files, ^GSPC ^RUT ^TNX ^VIX"
    assert source.as_of == d("2025-12-31")
    result = await source.quotes(["^RUT", "^TNX", "IWM"])
    assert result.quotes["^RUT"].trading_day == d("2025-12-31")
    assert 2000 < result.quotes["^RUT"].last < 3000
    assert 3 < result.quotes["^TNX"].last < 6  # percent
    assert result.errors["IWM"].kind is ErrorKind.UNKNOWN_SYMBOL
    history = await source.history(["^RUT"], Interval.DAILY)
    assert history.bars["^RUT"][-1].day == d("2025-12-31")
    assert history.bars["^RUT"][0].day == d("2025-09-08")
