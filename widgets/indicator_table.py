"""Indicator readouts of the thesis pair side by side: RSI 14, SMA 50/200, MACD 12/26/9 with their
states in words. The wording shortens with the column width so it stays legible at 80x24."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content

from services import formatting as fmt
from services import indicators as ind
from services.snapshot import SymbolSnapshot
from widgets.text_block import TextBlock

LABEL_WIDTH = 9
ZONE_STYLE = {
    ind.RsiZone.BULLISH: "$success",
    ind.RsiZone.BEARISH: "$error",
    ind.RsiZone.OVERBOUGHT: "$warning",
    ind.RsiZone.OVERSOLD: "$warning",
}
Cell = tuple[str, str]


def _num(value: float | None) -> str:
    return fmt.NA if value is None else f"{value:,.2f}"


def _signed_style(value: float | None) -> str:
    if value is None:
        return "$text-muted"
    return "$success" if value > 0 else "$error"


def cells(s: SymbolSnapshot, width: int) -> list[Cell]:
    """The column of one symbol: (text, style) per row, worded to fit `width` characters."""
    r = s.indicators
    if r is None:
        msg = "computing..." if s.daily else (s.error.message if s.error else "no daily history")
        return [(msg[:width], "$text-muted")] + [("", "")] * 5
    long = width >= 26
    zone = r.rsi_zone
    rsi = (
        (fmt.NA, "$text-muted")
        if zone is None or r.rsi_14 is None
        else (f"{ind.rsi_shown(r.rsi_14, 1)} {zone.value}", ZONE_STYLE[zone])
    )
    rows: list[Cell] = [rsi]
    for sma in (r.sma_50, r.sma_200):
        pct = r.distance_pct(sma)
        if pct is None:
            rows.append((fmt.NA, "$text-muted"))
        elif long:
            rows.append(
                (f"{_num(sma)} {'above' if pct >= 0 else 'below'} by {abs(pct):.1f} %", _signed_style(pct))
            )
        else:
            rows.append((f"{fmt.percent(pct, 1)} {_num(sma)}", _signed_style(pct)))
    if r.macd is None or r.macd_signal is None or r.macd_hist is None:
        rows.append((fmt.NA, "$text-muted"))
    elif long:
        rows.append(
            (
                f"{_num(r.macd)} sig {_num(r.macd_signal)} h {fmt.signed(r.macd_hist)}",
                _signed_style(r.macd_hist),
            )
        )
    else:
        rows.append((f"{_num(r.macd)} h {fmt.signed(r.macd_hist)}", _signed_style(r.macd_hist)))
    cross = r.last_cross
    words = ind.macd_words(r).removeprefix("MACD ")
    if not long and cross is not None and cross.sessions_ago <= 21:
        words = f"{'bull' if cross.bullish else 'bear'} cross {cross.sessions_ago}d"
        if len(words) + 4 <= width:
            words += " ago"
    rows.append((words, "$text-muted" if cross is None else ("$success" if cross.bullish else "$error")))
    as_of = r.as_of.isoformat()
    if r.provisional:
        as_of += " live" if not long else " (today, live)"
    rows.append((as_of, "$text-muted"))
    return rows


def table_lines(snaps: Sequence[SymbolSnapshot], width: int) -> list[Content]:
    labels = ["RSI 14", "SMA 50", "SMA 200", "MACD", "", "as of"]
    n = max(1, len(snaps))
    col = max(8, (width - LABEL_WIDTH) // n)
    columns = [cells(s, col - 1) for s in snaps]
    lines = [Content.assemble(" " * LABEL_WIDTH, *[(f"{s.symbol:<{col}}", "bold") for s in snaps])]
    for i, label in enumerate(labels):
        parts: list[Cell | str] = [(f"{label:<{LABEL_WIDTH}}", "$text-muted")]
        for c in columns:
            text, style = c[i]
            parts.append((f"{text[: col - 1]:<{col}}", style))
        lines.append(Content.assemble(*parts))
    return lines


class IndicatorTable(TextBlock):
    """One line per indicator: a live MACD moving repaints its own line only."""

    DEFAULT_CSS = """
    IndicatorTable {
        height: auto;
        border: round $primary;
        padding: 0 1;
    }
    """

    def __init__(self, symbols: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.symbols = list(symbols)
        self.border_title = "Indicators, daily"
        self._snaps: dict[str, SymbolSnapshot] = {}

    def lines(self, width: int) -> list[Content]:
        snaps = [self._snaps[s] for s in self.symbols if s in self._snaps]
        if not snaps:
            return [Content.assemble(("waiting for data", "$text-muted"))]
        return table_lines(snaps, width)

    def show(self, snaps: Sequence[SymbolSnapshot]) -> None:
        self._snaps = {s.symbol: s for s in snaps}
        self.update_lines()
