"""Export: the focused symbol's daily bars with their indicators as CSV, for a spreadsheet or a script.

Indicator columns are TA-Lib's, computed over the whole series (as the app shows them); a value without
enough history is an empty cell, never 0. Written to a temporary file and renamed, so a reader never sees
half a file.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

from services.indicators import MACD_FAST, MACD_SIGNAL, MACD_SLOW, RSI_PERIOD, SMA_FAST, SMA_SLOW
from services.models import BarSeries, ts_day

COLUMNS = (
    "date",
    "open",
    "high",
    "low",
    "close",
    "adj_close",
    "volume",
    "rsi_14",
    "sma_50",
    "sma_200",
    "macd",
    "macd_signal",
    "macd_hist",
    "in_progress",
)


def export_stem(symbol: str, at: datetime) -> str:
    """A file name part safe on every filesystem: "RUT-20261124-160000" for ^RUT."""
    safe = re.sub(r"[^A-Za-z0-9.=-]+", "", symbol) or "symbol"
    return f"{safe}-{at.strftime('%Y%m%d-%H%M%S')}"


def _cell(value: float) -> str:
    return "" if value != value else f"{value:.6g}" if abs(value) >= 1e6 else f"{value:.4f}"  # NaN -> ""


def write_bars_csv(daily: BarSeries, path: Path, last_in_progress: bool = False) -> int:
    """Write `daily` with RSI 14, SMA 50/200 and MACD 12/26/9 per bar; returns the number of rows.

    `last_in_progress`: the last bar is today's, not yet closed; its row says so (in_progress = 1), as
    its values will still change.
    """
    import numpy as np
    import talib

    closes = np.frombuffer(daily.close, dtype=np.float64)
    n = len(closes)
    if n:
        rsi = talib.RSI(closes, timeperiod=RSI_PERIOD)
        sma_fast = talib.SMA(closes, timeperiod=SMA_FAST)
        sma_slow = talib.SMA(closes, timeperiod=SMA_SLOW)
        macd, signal, hist = talib.MACD(
            closes, fastperiod=MACD_FAST, slowperiod=MACD_SLOW, signalperiod=MACD_SIGNAL
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".export-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(COLUMNS)
            for i in range(n):
                out.writerow(
                    [
                        ts_day(daily.ts[i]).isoformat(),
                        _cell(daily.open[i]),
                        _cell(daily.high[i]),
                        _cell(daily.low[i]),
                        _cell(daily.close[i]),
                        _cell(daily.adj_close[i]),
                        f"{daily.volume[i]:.0f}" if daily.volume[i] == daily.volume[i] else "",
                        _cell(float(rsi[i])),
                        _cell(float(sma_fast[i])),
                        _cell(float(sma_slow[i])),
                        _cell(float(macd[i])),
                        _cell(float(signal[i])),
                        _cell(float(hist[i])),
                        "1" if last_in_progress and i == n - 1 else "0",
                    ]
                )
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return n
