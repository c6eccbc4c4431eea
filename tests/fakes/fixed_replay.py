"""A fixed replay for snapshot tests: Yahoo-format CSVs written from a formula, the same on every run.

Two years of weekday sessions ending Friday 2026-11-20: ^RUT ranges under 2,565 then breaks out in
the last weeks; IWM follows it at about 0.099 x; SPY and ^GSPC rise gently; ^TNX and ^VIX drift. The
prices are made up (no third-party data is stored in the repository).
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

LAST_DAY = date(2026, 11, 20)
SESSIONS = 520


def _days() -> list[date]:
    days: list[date] = []
    d = LAST_DAY
    while len(days) < SESSIONS:
        if d.weekday() < 5:
            days.append(d)
        d -= timedelta(days=1)
    return days[::-1]


def _range(i: int) -> float:
    return 2320.0 + 160.0 * math.sin(i / 23.0) + 25.0 * math.sin(i / 3.1)


def _rut(i: int) -> float:
    """A range of 2,150-2,480 with a slow wave, then a climb to 2,640 over the last 25 sessions."""
    start = SESSIONS - 25
    if i < start:
        return _range(i)
    return _range(start) + (2640.0 - _range(start)) * (i - start) / 24 + 12.0 * math.sin(i / 1.7)


def _series(symbol: str) -> list[float]:
    n = range(SESSIONS)
    if symbol == "^RUT":
        return [_rut(i) for i in n]
    if symbol == "IWM":
        return [_rut(i) * 0.0990 + 0.4 * math.sin(i / 5.0) for i in n]
    if symbol == "^GSPC":
        return [5600.0 + i * 2.4 + 60.0 * math.sin(i / 17.0) for i in n]
    if symbol == "SPY":
        return [(5600.0 + i * 2.4 + 60.0 * math.sin(i / 17.0)) / 10.03 for i in n]
    if symbol == "^TNX":
        return [4.2 + 0.3 * math.sin(i / 40.0) for i in n]
    return [16.0 + 3.0 * math.sin(i / 9.0) for i in n]  # ^VIX


def write_fixed_replay(folder: Path) -> Path:
    """Write one CSV per default symbol into `folder`; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    days = _days()
    for symbol in ("IWM", "SPY", "^RUT", "^GSPC", "^TNX", "^VIX"):
        closes = _series(symbol)
        etf = not symbol.startswith("^")
        lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
        prev = closes[0]
        for i, (d, c) in enumerate(zip(days, closes, strict=True)):
            hi, lo = max(prev, c) * 1.004, min(prev, c) * 0.996
            vol = int(20_000_000 + 5_000_000 * math.sin(i / 7.0)) if etf else 0
            lines.append(f"{d.isoformat()},{prev:.2f},{hi:.2f},{lo:.2f},{c:.2f},{c:.2f},{vol}")
            prev = c
        (folder / f"{symbol}.csv").write_text("\n".join(lines) + "\n")
    return folder
