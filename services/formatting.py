"""Numbers and times as a trader reads them; shared by the dashboard and the `status` command.

ASCII minus signs and plain spaces only: the text must survive tmux, screen and slow SSH links.
"""

from __future__ import annotations

import math
from datetime import datetime

from services.market_hours import NEW_YORK

YIELD_SYMBOLS = frozenset({"^TNX", "^TYX", "^FVX", "^IRX"})
"""Yahoo quotes these in percent (4.13 = 4.13 %); their changes read best in basis points."""
NA = "n/a"

DISPLAY_NAMES = {
    "IWM": "iShares Russell 2000 ETF",
    "SPY": "SPDR S&P 500 ETF",
    "^RUT": "Russell 2000",
    "^GSPC": "S&P 500",
    "^TNX": "10-year yield",
    "^VIX": "volatility",
}


def display_name(symbol: str) -> str:
    return DISPLAY_NAMES.get(symbol, "")


def is_index(symbol: str) -> bool:
    """Yahoo spells indices with a caret: ^RUT, ^GSPC, ^TNX, ^VIX."""
    return symbol.startswith("^")


def is_yield(symbol: str) -> bool:
    return symbol in YIELD_SYMBOLS


def price(symbol: str, value: float | None) -> str:
    """2,476.76 for an index, 245.39 for an ETF, 4.13 % for a yield."""
    if value is None or not math.isfinite(value):
        return NA
    if is_yield(symbol):
        return f"{value:.2f} %"
    return f"{value:,.2f}"


def signed(value: float, decimals: int = 2, thousands: bool = True) -> str:
    text = f"{abs(value):,.{decimals}f}" if thousands else f"{abs(value):.{decimals}f}"
    return ("-" if value < 0 and text.strip("0.,") else "+") + text


def change(symbol: str, points: float | None, pct: float | None) -> str:
    """ "+1.23 +0.50 %" or, for a yield, "+3.1 bp"."""
    if points is None or not math.isfinite(points):
        return NA
    if is_yield(symbol):
        return f"{signed(points * 100.0, 1)} bp"
    pct_text = NA if pct is None or not math.isfinite(pct) else f"{signed(pct, 2)} %"
    return f"{signed(points, 2)}  {pct_text}"


def percent(value: float | None, decimals: int = 2) -> str:
    if value is None or not math.isfinite(value):
        return NA
    return f"{signed(value, decimals)} %"


def volume(value: float | None) -> str:
    """10.6M, 980K, 1.23B; "n/a" when unknown."""
    if value is None or not math.isfinite(value):
        return NA
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= div:
            return f"{value / div:.1f}{suffix}"
    return f"{value:.0f}"


def clock_et(when: datetime | None, now: datetime | None = None) -> str:
    """ "10:26 ET" when `when` is today in New York, else "Nov 21 16:00 ET"."""
    if when is None:
        return NA
    local = when.astimezone(NEW_YORK)
    if now is not None and local.date() == now.astimezone(NEW_YORK).date():
        return local.strftime("%H:%M ET")
    return local.strftime("%b %d %H:%M ET")


def clock_local(when: datetime | None) -> str:
    """Time of day in the user's own time zone (the status bar), seconds included."""
    if when is None:
        return NA
    return when.astimezone().strftime("%H:%M:%S")


def age(seconds: float) -> str:
    """A duration in the largest sensible unit: "45 s", "3 min", "2 h", "4 d"."""
    s = max(0.0, seconds)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s // 60:.0f} min"
    if s < 86400 * 2:
        return f"{s // 3600:.0f} h"
    return f"{s // 86400:.0f} d"


def countdown(seconds: float) -> str:
    """Time left to the minute, rounded up so it never says "0 min" before the moment: "14 min",
    "2 h 14 min", "2 d 14 h"."""
    minutes = max(0, math.ceil(seconds / 60.0))
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def session_countdown(verb: str, at: datetime, now: datetime, early_close: bool = False) -> str:
    """ "closes 16:00 ET in 2 h 14 min", "opens Mon 09:30 ET in 2 d 14 h" (the weekday when not today)."""
    local = at.astimezone(NEW_YORK)
    same_day = local.date() == now.astimezone(NEW_YORK).date()
    when = local.strftime("%H:%M ET") if same_day else local.strftime("%a %H:%M ET")
    early = " (early close)" if early_close else ""
    return f"{verb} {when}{early} in {countdown((at - now).total_seconds())}"
