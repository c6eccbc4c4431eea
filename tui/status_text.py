"""`breakout-monitor status` as plain text: the dashboard's snapshot, one line per fact."""

from __future__ import annotations

from services import formatting as fmt
from services import indicators as ind
from services.breakout import BreakoutAssessment
from services.snapshot import Snapshot, SymbolSnapshot


def _symbol_lines(s: SymbolSnapshot, snap: Snapshot) -> list[str]:
    q = s.quote
    if q is None:
        why = s.error.message if s.error else "no data"
        return [f"{s.symbol:<6} {why}"]
    flags = " STALE" if s.stale else ""
    # An index's "volume" on Yahoo is not the index's own; only an ETF's volume means something.
    volume = "" if fmt.is_index(s.symbol) else f"  vol {fmt.volume(q.volume)}"
    line = (
        f"{s.symbol:<6} {fmt.price(s.symbol, q.last):>10}  {fmt.change(s.symbol, q.change, q.change_pct):<20}"
        f" H {fmt.price(s.symbol, q.day_high)}  L {fmt.price(s.symbol, q.day_low)}"
        f"{volume}  {fmt.clock_et(q.time, snap.as_of)}  {q.session.value}{flags}"
    )
    lines = [line]
    r = s.indicators
    if r is not None:
        words = [ind.rsi_words(r), ind.sma_words(r, 50), ind.sma_words(r, 200), ind.macd_words(r)]
        lines.append("       " + " | ".join(words))
    if s.error is not None:
        lines.append(f"       {s.error.message}")
    return lines


def breakout_lines(b: BreakoutAssessment, note: str | None) -> list[str]:
    r = b.rules
    head = f"Breakout {r.symbol} vs {r.level:,.0f}"
    if b.state is None or b.close is None:
        return [f"{head}: {note or 'no data'}"]
    since = f" since {b.state_since.isoformat()}" if b.state_since else ""
    lines = [
        f"{head}: {b.state.value.upper()}{since}; close {b.close:,.2f} on {b.close_day}"
        f" ({fmt.signed(b.close - r.level, 2)} pts, {fmt.percent(b.close_distance_pct)})"
    ]
    if b.provisional_state is not None and b.live_price is not None:
        lines.append(f"  intraday {b.live_price:,.2f}: {b.provisional_state.value} (intraday, not confirmed)")
    for t in b.target_distances():
        lines.append(f"  target {t.target:,.0f}: {fmt.signed(t.points, 2)} pts to go ({fmt.percent(t.pct)})")
    return lines


def render_status(snap: Snapshot) -> str:
    st = snap.status
    session = f" | {st.session.value}" if st.session is not None else ""
    as_of = snap.as_of.astimezone().isoformat(timespec="seconds")
    out = [f"breakout-monitor | {st.source_label}{session} | as of {as_of}"]
    for s in snap.symbols.values():
        out.extend(_symbol_lines(s, snap))
    if snap.breakout is not None:
        out.extend(breakout_lines(snap.breakout, snap.breakout_note))
    if st.error:
        out.append(f"errors: {st.error}")
    return "\n".join(out)
