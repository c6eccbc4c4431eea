"""The command line: `status` against replay data checked field by field, and bad input of every
kind ending in one line and exit code 2."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from refcalc import ref_macd, ref_rsi, ref_sma

from tui.cli import main

AS_OF = date(2026, 3, 4)


def weekdays(end: date, n: int) -> list[date]:
    out, d = [], end
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d -= timedelta(days=1)
    return out[::-1]


def make_rows(
    n: int, start: float, step: float, wiggle: float
) -> list[tuple[float, float, float, float, int]]:
    rows = []
    for i in range(n):
        c = start + step * i + wiggle * math.sin(i / 3.0)
        o = c - wiggle * 0.3 * math.cos(i)
        rows.append((o, max(o, c) + 1.0, min(o, c) - 1.0, c, 1_000_000 + 1000 * i))
    return rows


@pytest.fixture
def replay_dir(tmp_path: Path) -> tuple[Path, dict[str, list[date]], dict[str, list[tuple[float, ...]]]]:
    folder = tmp_path / "data"
    folder.mkdir()
    days = weekdays(date(2026, 3, 6), 300)
    rows = {"IWM": make_rows(300, 200.0, 0.15, 3.0), "SPY": make_rows(300, 550.0, 0.3, 5.0)}
    rut = [2400.0 + 50 * math.sin(i / 9.0) for i in range(300)]
    # ... then 2,570 and 2,580 on the two sessions up to the as-of date, and higher after it.
    i_asof = days.index(AS_OF)
    rut[i_asof - 1], rut[i_asof], rut[i_asof + 1], rut[i_asof + 2] = 2570.0, 2580.0, 2600.0, 2610.0
    rows["^RUT"] = [(c - 5, c + 10, c - 10, c, 0) for c in rut]
    # Three layouts: classic Yahoo (IWM), yfinance auto-adjusted (SPY), yfinance multi-header (^RUT).
    with (folder / "IWM.csv").open("w") as f:
        f.write("Date,Open,High,Low,Close,Adj Close,Volume\n")
        for d, (o, h, lo, c, v) in zip(days, rows["IWM"], strict=True):
            f.write(f"{d},{o},{h},{lo},{c},{c * 0.97},{v}\n")
    with (folder / "SPY.csv").open("w") as f:
        f.write("Date,Close,High,Low,Open,Volume\n")
        for d, (o, h, lo, c, v) in zip(days, rows["SPY"], strict=True):
            f.write(f"{d},{c},{h},{lo},{o},{v}\n")
    with (folder / "rut_download.csv").open("w") as f:
        f.write("Price,Close,High,Low,Open,Volume\nTicker,^RUT,^RUT,^RUT,^RUT,^RUT\nDate,,,,,\n")
        for d, (o, h, lo, c, v) in zip(days, rows["^RUT"], strict=True):
            f.write(f"{d},{c},{h},{lo},{o},{v}\n")
    return folder, {"days": days}, rows  # type: ignore[return-value]


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(f'log_dir = "{tmp_path / "logs"}"\ncache_dir = "{tmp_path / "cache"}"\n')
    return p


def test_status_json_on_replay_field_by_field(
    replay_dir, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, meta, rows = replay_dir
    days = meta["days"]
    rc = main(
        ["status", "--replay", str(folder), "--as-of", AS_OF.isoformat(), "--json", "--config", str(cfg)]
    )
    out = capsys.readouterr().out
    assert rc == 0
    doc = json.loads(out)
    assert doc["as_of"] == "2026-03-04T16:00:00-05:00"
    assert doc["source"] == "replay"
    assert list(doc["symbols"]) == ["IWM", "SPY", "^RUT", "^GSPC", "^TNX", "^VIX"]
    i = days.index(AS_OF)
    for sym in ("IWM", "SPY"):
        got = doc["symbols"][sym]
        _o, h, lo, c, v = rows[sym][i]
        prev = rows[sym][i - 1][3]
        assert got["last"] == pytest.approx(c) and got["prev_close"] == pytest.approx(prev)
        # Derived values are rounded to 6 decimals in the JSON.
        assert got["change"] == pytest.approx(c - prev, abs=5e-7)
        assert got["change_pct"] == pytest.approx((c / prev - 1) * 100, abs=5e-7)
        assert (got["day_high"], got["day_low"], got["volume"]) == (pytest.approx(h), pytest.approx(lo), v)
        assert got["time"] == "2026-03-04T21:00:00+00:00" and got["session"] == "CLOSED"
        assert got["stale"] is False
        closes = [r[3] for r in rows[sym][: i + 1]]
        ind = got["indicators"]
        assert ind["sma_50"] == pytest.approx(ref_sma(closes, 50), abs=5e-7)
        assert ind["sma_200"] == pytest.approx(ref_sma(closes, 200), abs=5e-7)
        assert ind["rsi_14"] == pytest.approx(ref_rsi(closes), rel=1e-6, abs=5e-7)
        macd, signal, _ = ref_macd(closes)
        assert ind["macd"] == pytest.approx(macd, rel=1e-6, abs=5e-7)
        assert ind["macd_signal"] == pytest.approx(signal, rel=1e-6, abs=5e-7)
        assert ind["macd_hist"] == pytest.approx(macd - signal, rel=1e-5, abs=1e-6)
    rut = doc["symbols"]["^RUT"]
    assert rut["last"] == 2580.0 and rut["volume"] == 0
    for sym in ("^GSPC", "^TNX", "^VIX"):  # not in the files: nulls, and still exit code 0
        assert doc["symbols"][sym]["last"] is None and doc["symbols"][sym]["indicators"]["rsi_14"] is None
    b = doc["breakout"]
    assert {k: b[k] for k in ("symbol", "level", "close", "state", "distance_pct", "targets")} == {
        "symbol": "^RUT",
        "level": 2565.0,
        "close": 2580.0,
        "state": "breakout",  # two closes above by the as-of date; the later ones must not leak in
        "distance_pct": pytest.approx((2580 / 2565 - 1) * 100, abs=5e-7),
        "targets": [2600.0, 3000.0],
    }
    assert b["watched_symbol"] == "^RUT" and b["watched_note"] is None
    assert b["checklist"][0] == {
        "name": "close_above_level",
        "label": "^RUT above 2,565",
        "passed": True,
        "value": "close 2,580.00 +0.58 %",
        "flag": None,
    }
    assert len(b["checklist"]) == 7 and b["checks_total"] == 7
    assert b["verdict"].startswith("BREAKOUT, not yet confirmed (2 of 3 closes)")


def test_status_text_and_exit_code_one_without_any_data(replay_dir, cfg: Path, capsys) -> None:
    folder = replay_dir[0]
    assert main(["status", "--replay", str(folder), "--as-of", AS_OF.isoformat(), "--config", str(cfg)]) == 0
    text = capsys.readouterr().out
    assert "replay" in text and "IWM" in text and "Breakout ^RUT vs 2,565: BREAKOUT" in text
    assert "RSI" in text and "SMA50" in text
    rc = main(["status", "--replay", str(folder), "--symbols", "AAA,BBB", "--json", "--config", str(cfg)])
    assert rc == 1
    assert json.loads(capsys.readouterr().out)["symbols"]["AAA"]["last"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--demo", "moon"], "invalid choice: 'moon'"),
        (["--as-of", "2026-01-02"], "--as-of and --speed apply to --replay only"),
        (["--refresh", "soon"], "argument --refresh: invalid float value: 'soon'"),
        (["--refresh", "0"], "--refresh: 0 is out of range"),
        (["--level", "2700"], "--targets: targets must be above the level (2700)"),
        (["--symbols", "IWM,S P Y"], "--symbols: 'S P Y' is not a valid ticker symbol"),
        (["--replay", "nowhere.csv"], "nowhere.csv: no such file or folder"),
        (["--demo", "--replay", "x.csv"], "not allowed with argument"),
        (["status", "--json", "--speed", "2"], "--as-of and --speed apply to --replay only"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_two(args: list[str], message: str, cfg: Path, capsys) -> None:
    assert main([*args, "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("breakout-monitor: error: ") and message in err
    assert "Traceback" not in err


def test_bad_csv_and_bad_as_of(tmp_path: Path, cfg: Path, capsys) -> None:
    bad = tmp_path / "IWM.csv"
    bad.write_text("Date,Open,High,Low,Close,Volume\n2024-01-03,1,2,1,2,10\n2024-01-02,1,2,1,2,10\n")
    assert main(["--replay", str(bad), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "IWM.csv:3:" in err and "ascending date order" in err and err.count("\n") == 1
    assert main(["status", "--replay", str(bad), "--as-of", "2024-02-30", "--config", str(cfg)]) == 2
    assert "not a date (YYYY-MM-DD): '2024-02-30'" in capsys.readouterr().err


def test_the_installed_entry_point_never_prints_a_traceback(tmp_path: Path, cfg: Path) -> None:
    bad_cfg = tmp_path / "bad.toml"
    bad_cfg.write_text("refresh = 'x'\n")
    for args in (["--bogus"], ["--config", str(bad_cfg)], ["status", "--replay", str(tmp_path / "none")]):
        proc = subprocess.run(
            [sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr and proc.stdout == ""


def test_the_command_line_offers_exactly_the_demo_scenarios() -> None:
    # tui.cli keeps its own copy so that the start-up path does not import the demo module.
    from services.sources.demo import DEMO_SCENARIOS
    from tui.cli import DEMO_SCENARIOS as OFFERED

    assert OFFERED == DEMO_SCENARIOS


# ---------------------------------------------------------------------- events --json
def expected_events(days: list[date], closes: list[float], level: float = 2565.0) -> list[dict[str, object]]:
    """The rule as the issue states it (band 1 %, 3 closes, no fail buffer, targets 2,600 and 3,000),
    written independently of services.breakout: state changes and target hits with forward returns."""
    out: list[dict[str, object]] = []
    state, run, hit = None, 0, set()
    for i, (d, c) in enumerate(zip(days, closes, strict=True)):
        if c >= level:
            run += 1
            new = "confirmed" if run >= 3 else "breakout"
        else:
            run = 0
            if state in ("breakout", "confirmed", "failed"):
                new = "failed"
            else:
                new = "testing" if c >= level * 0.99 else "inside"
        if state is not None and new != state:
            fwd = {n: None for n in (5, 20, 60)}
            if new in ("breakout", "confirmed"):
                fwd = {
                    n: ((closes[i + n] / c - 1) * 100 if i + n < len(closes) else None) for n in (5, 20, 60)
                }
            out.append({"date": d.isoformat(), "kind": "state_change", "from_state": state, "to_state": new,
                        "close": c, "level": level, "target": None,
                        **{f"fwd_return_{n}": v for n, v in fwd.items()}})  # fmt: skip
        if new in ("breakout", "confirmed") and state not in ("breakout", "confirmed"):
            hit = set()
        if new in ("breakout", "confirmed"):
            for t in (2600.0, 3000.0):
                if c >= t and t not in hit:
                    hit.add(t)
                    none = dict.fromkeys(("from_state", "to_state", *(f"fwd_return_{n}" for n in FWD)))
                    out.append({"date": d.isoformat(), "kind": "target_hit", "close": c, "level": level,
                                "target": t, **none})  # fmt: skip
        state = new
    return out


def _compare(got: list[dict[str, object]], want: list[dict[str, object]]) -> None:
    mine = [{k: e[k] for k in want[0]} for e in got if e["kind"] in ("state_change", "target_hit")]
    assert len(mine) == len(want)
    for g, w in zip(mine, want, strict=True):
        for k, v in w.items():
            assert g[k] == (pytest.approx(v, abs=1e-6) if isinstance(v, float) else v), (w["date"], k)


def test_events_json_on_a_replay_matches_an_independent_computation(replay_dir, cfg: Path, capsys) -> None:
    folder, days, rows = replay_dir
    rc = main(["events", "--replay", str(folder), "--json", "--config", str(cfg)])
    got = json.loads(capsys.readouterr().out)
    assert rc == 0
    want = expected_events(days["days"], [r[3] for r in rows["^RUT"]])
    assert any(e["to_state"] == "confirmed" for e in want) and any(e["kind"] == "target_hit" for e in want)
    _compare(got, want)
    # --from / --to cut the list, not the forward returns.
    rc = main(["events", "--replay", str(folder), "--json", "--config", str(cfg), "--from", "2026-03-04"])
    cut = json.loads(capsys.readouterr().out)
    assert cut and all(e["date"] >= "2026-03-04" for e in cut)
    assert cut == [e for e in got if e["date"] >= "2026-03-04"]


FWD = (5, 20, 60)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "daily"


@pytest.mark.skipif(not (SHARED / "flippe2-blank-app" / "^RUT.csv").exists(), reason="../shared/data absent")
def test_events_json_on_the_real_russell_2000(cfg: Path, capsys) -> None:
    from services.csv_bars import read_bars_csv

    folder = SHARED / "flippe2-blank-app"
    _sym, rut = read_bars_csv(folder / "^RUT.csv")
    from services.models import ts_day

    want = expected_events([ts_day(t) for t in rut.ts], list(rut.close))
    rc = main(["events", "--replay", str(folder), "--json", "--config", str(cfg)])
    got = json.loads(capsys.readouterr().out)
    assert rc == 0
    _compare(got, want)
    # The real December 2025 bull trap: one close above 2,565, failed the next session.
    trap = [e for e in got if e["kind"] == "risk" and e["risk"] == "bull_trap"]
    assert [e["date"] for e in trap] == ["2025-12-12"]


def test_low_bandwidth_from_the_flag_or_the_config_sets_textual_up_before_it_is_imported(
    tmp_path: Path,
) -> None:
    from tui.cli import LOW_BANDWIDTH_ENV, parse

    cfg = tmp_path / "config.toml"
    cfg.write_text("low_bandwidth = true\n")
    assert parse(["--demo", "--low-bandwidth"]).settings.low_bandwidth
    assert parse(["--demo", "--config", str(cfg)]).settings.low_bandwidth
    assert not parse(["--demo"]).settings.low_bandwidth
    # In a fresh interpreter, as `breakout-monitor --low-bandwidth` starts: Textual then reads them.
    probe = (
        "import os, sys; from tui import cli\n"
        "inv = cli.parse(sys.argv[1:]); cli.low_bandwidth_terminal()\n"
        "import textual.constants as k\n"
        "print(k.MAX_FPS, k.COLOR_SYSTEM, k.TEXTUAL_ANIMATIONS)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL_")}
    out = subprocess.run(
        [sys.executable, "-c", probe, "--demo", "--low-bandwidth"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.split()
    assert out == [LOW_BANDWIDTH_ENV["TEXTUAL_FPS"], "standard", "none"]
