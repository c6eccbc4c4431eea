"""`breakout-monitor status` as plain text: the dashboard's snapshot, one line per fact."""

from __future__ import annotations

from services import formatting as fmt
from services import indicators as ind
from services.breakout import BreakoutAssessment
from services.engine import FORWARD_SESSIONS, BreakoutEvent, BreakoutReport, Check, Risk
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


CHECK_MARK = {True: "[x]", False: "[ ]", None: "[-]"}
RISK_MARK = {"clear": "ok  ", "warning": "WARN", "alarm": "ALRM", "n/a": "n/a "}


def check_line(c: Check) -> str:
    flag = f" ({c.flag})" if c.flag else ""
    return f"{CHECK_MARK[c.passed]} {c.label:<22} {c.value}{flag}"


def risk_line(r: Risk) -> str:
    return f"{RISK_MARK[r.level.value]} {r.label:<22} {r.value}"


def report_lines(report: BreakoutReport, proxy: tuple[str, float] | None) -> list[str]:
    lines = [f"Verdict: {report.verdict}"]
    if report.watched.note:
        lines.append(f"  note: {report.watched.note}")
    lines.append("Checklist:")
    lines.extend("  " + check_line(c) for c in report.checks)
    lines.append("Risks:")
    lines.extend("  " + risk_line(r) for r in report.risks)
    rng = report.range
    r = report.watched.rules
    if rng is not None:
        lines.append(
            f"Range ({rng.years:.1f} y of closes): {rng.low:,.2f} ({rng.low_day}) to {rng.high:,.2f}"
            f" ({rng.high_day}); now at {rng.position_pct:.0f} % of it;"
            f" suggested level {rng.suggested_level:,.2f} (configured {r.level:,.2f})"
        )
    if proxy is not None:
        etf, ratio = proxy
        levels = ", ".join(f"{x * ratio:,.2f}" for x in (r.level, *r.targets))
        lines.append(f"In {etf}: level and targets {levels} (x {ratio:.4f})")
    return lines


def render_events(events: list[BreakoutEvent], snap: Snapshot) -> str:
    """The `events` timeline as a table, then the backtest summary of the forward returns."""
    b = snap.breakout
    head = "breakout-monitor events"
    if b is not None:
        head += f" | {b.rules.symbol} level {b.rules.level:,.2f}"
    if snap.report is not None and snap.report.watched.note:
        head += f" | {snap.report.watched.note}"
    out = [head]
    if not events:
        out.append("no events in this period")
        return "\n".join(out)
    fwd_head = "".join(f"{f'fwd {n}':>9}" for n in FORWARD_SESSIONS)
    out.append(
        f"{'date':<10}  {'kind':<12} {'from':<9} {'to':<9} {'close':>10} {'level':>9}{fwd_head}  detail"
    )

    def num(v: float | None, w: int) -> str:
        return f"{v:>{w},.2f}" if v is not None else f"{'':>{w}}"

    for e in events:
        fwd = "".join(
            f"{fmt.percent(e.forward_returns.get(n)):>9}"
            if e.forward_returns.get(n) is not None
            else f"{'':>9}"
            for n in FORWARD_SESSIONS
        )
        what = e.detail
        out.append(
            f"{e.day.isoformat():<10}  {e.kind.value:<12} {(e.from_state or ''):<9} {(e.to_state or ''):<9}"
            f" {num(e.close, 10)} {num(e.level, 9)}{fwd}  {what}"
        )
    ups = [e for e in events if e.forward_returns]
    for n in FORWARD_SESSIONS:
        vals = [v for e in ups if (v := e.forward_returns.get(n)) is not None]
        if vals:
            avg = sum(vals) / len(vals)
            wins = sum(1 for v in vals if v > 0)
            signals = f"{len(vals)} breakout/confirmed signal{'s' if len(vals) != 1 else ''}"
            out.append(
                f"after {signals}, {n} sessions on: mean {fmt.percent(avg)}, {wins} of {len(vals)} positive"
            )
    return "\n".join(out)


def render_status(snap: Snapshot) -> str:
    st = snap.status
    session = f" | {st.session.value}" if st.session is not None else ""
    as_of = snap.as_of.astimezone().isoformat(timespec="seconds")
    out = [f"breakout-monitor | {st.source_label}{session} | as of {as_of}"]
    for s in snap.symbols.values():
        out.extend(_symbol_lines(s, snap))
    if snap.breakout is not None:
        out.extend(breakout_lines(snap.breakout, snap.breakout_note))
    if snap.report is not None:
        out.extend(report_lines(snap.report, snap.proxy))
    if st.error:
        out.append(f"errors: {st.error}")
    return "\n".join(out)
