"""The breakout panel: the watched index against the level, its state, and the targets."""

from __future__ import annotations

from textual.content import Content

from services import formatting as fmt
from services.breakout import BreakoutAssessment, BreakoutState
from services.engine import BreakoutReport, RiskLevel
from services.snapshot import Snapshot
from widgets.text_block import TextBlock

STATE_STYLE = {
    BreakoutState.INSIDE: "bold $text on $panel",
    BreakoutState.TESTING: "bold $text on $warning",
    BreakoutState.BREAKOUT: "bold $text on $accent",
    BreakoutState.CONFIRMED: "bold $text on $success",
    BreakoutState.FAILED: "bold $text on $error",
}
STATE_MEANING = {
    BreakoutState.INSIDE: ("still inside the range", "inside range"),
    BreakoutState.TESTING: ("testing the level from below", "testing level"),
    BreakoutState.BREAKOUT: ("closed above the level", "above level"),
    BreakoutState.CONFIRMED: ("held above the level", "held above"),
    BreakoutState.FAILED: ("bull trap: fell back below", "bull trap"),
}
WIDE = 40
RECENT_CHANGES = 3
BreakoutData = tuple[BreakoutAssessment | None, str | None, tuple[str, float] | None, BreakoutReport | None]
CHECK_MARK = {True: ("✓", "$success"), False: ("✗", "$error"), None: ("·", "$text-muted")}
RISK_MARK = {
    RiskLevel.CLEAR: ("ok", "$success"),
    RiskLevel.WARNING: ("!!", "bold $warning"),
    RiskLevel.ALARM: ("!!!", "bold $error"),
    RiskLevel.UNKNOWN: ("·", "$text-muted"),
}


SHORT_LABEL = {
    "close_above_level": "above level",
    "rsi_bullish": "RSI 50-70",
    "above_sma_50": "above SMA50",
    "macd_bullish": "MACD>signal",
    "sp_confirming": "S&P confirms",
    "relative_strength": "IWM/SPY>SMA",
    "breakout_volume": "volume",
}


def report_lines(report: BreakoutReport, width: int) -> list[Content]:
    """The checklist, the risks and the range."""
    wide = width >= WIDE
    lines: list[Content] = []
    for c in report.checks:
        mark, style = CHECK_MARK[c.passed]
        label = c.label if wide else SHORT_LABEL.get(c.name, c.label)[:13]
        value = c.value + (f" ({c.flag})" if c.flag else "")
        lines.append(
            Content.assemble(
                (mark, style), " ", (f"{label:<18}" if wide else f"{label:<14}"), (value, "$text-muted")
            )
        )
    raised = [r for r in report.risks if r.raised]
    if raised:
        for r in raised:
            mark, style = RISK_MARK[r.level]
            lines.append(Content.assemble((f"{mark:<3}", style), " ", (r.value, "bold")))
    else:
        known = [r for r in report.risks if r.level is not RiskLevel.UNKNOWN]
        lines.append(Content.assemble(("ok ", "$success"), f"no risk flags ({len(known)} watched)"))
    rng = report.range
    if rng is not None:
        years = f"{rng.years:.0f}y" if rng.years >= 1 else f"{rng.years * 12:.0f}mo"
        text = f"range {years} {rng.low:,.0f}-{rng.high:,.0f}, at {rng.position_pct:.0f} %"
        if wide:
            text += f"; suggested level {rng.suggested_level:,.0f}"
        lines.append(Content.assemble((text, "$text-muted")))
    return lines


def breakout_lines(
    b: BreakoutAssessment | None,
    note: str | None,
    proxy: tuple[str, float] | None,
    width: int,
    report: BreakoutReport | None = None,
) -> list[Content]:
    """The panel's lines for a content area `width` columns wide."""
    if b is None or b.state is None or b.close is None:
        return [Content.assemble((note or "waiting for data", "$text-muted"))]
    wide = width >= WIDE
    r = b.rules
    lines: list[Content] = []
    meaning = STATE_MEANING[b.state][0 if wide else 1]
    lines.append(
        Content.assemble((f" {b.state.value.upper()} ", STATE_STYLE[b.state]), "  ", (meaning, "bold"))
    )
    if report is not None:
        passed = f"{report.passed} of {len(report.checks)} checks pass"
        n_risks = sum(1 for x in report.risks if x.raised)
        flags = f"; {n_risks} risk flag{'s' if n_risks != 1 else ''}" if n_risks else "; no risk flags"
        lines.append(Content.assemble((passed, "bold"), (flags, "bold $error" if n_risks else "")))
    if note:
        lines.append(Content.assemble((note, "$warning")))
    if b.state_since is not None:
        since = f"since {b.state_since.isoformat()}"
        if wide:
            since += f", {b.sessions_in_state} session{'s' if b.sessions_in_state != 1 else ''}"
        lines.append(Content.assemble((since, "$text-muted")))
    if b.state in (BreakoutState.BREAKOUT, BreakoutState.CONFIRMED):
        above = f"{b.closes_above} close{'s' if b.closes_above != 1 else ''} at/above the level"
        if b.state is BreakoutState.BREAKOUT:
            above += f", confirms at {r.confirm_closes}"
        lines.append(Content.assemble((above, "$text-muted")))
    if b.provisional_state is not None and b.provisional_state is not b.state:
        lines.append(
            Content.assemble(
                ("intraday ", "$text-muted"),
                (f" {b.provisional_state.value.upper()} ", STATE_STYLE[b.provisional_state]),
                (" until the close" if wide else "", "$text-muted"),
            )
        )
    ref, pts, pct = b.reference_price, b.distance_points, b.distance_pct
    assert ref is not None and pts is not None and pct is not None
    if b.live_price is not None:
        when = "live"
    elif b.close_day is None:
        when = ""
    else:
        when = f"close {b.close_day.isoformat()}" if wide else f"close {b.close_day:%m-%d}"
    lines.append(
        Content.assemble((f"{r.symbol} ", "bold"), (f"{ref:,.2f}", "bold"), (f"  {when}", "$text-muted"))
    )
    num_w = 7 if wide else 6

    def row(label: str, value: float, points: float, pct_: float, reached: bool) -> Content:
        if reached:
            tail: tuple[str, str] = ("reached", "$success")
        elif wide:
            tail = (
                f"{fmt.signed(points, 1):>9} pts {fmt.percent(pct_):>9}",
                "$success" if points >= 0 else "$error",
            )
        else:
            tail = (f"{fmt.percent(pct_):>9}", "$success" if points >= 0 else "$error")
        return Content.assemble((f"{label:<7}", "$text-muted"), (f"{value:>{num_w},.0f}", "bold"), "  ", tail)

    lines.append(row("level", r.level, pts, pct, False))
    for t in b.target_distances():
        lines.append(row("target", t.target, t.points, t.pct, t.points <= 0))
    if proxy is not None:
        etf, ratio = proxy
        sep, nd = (" / ", 2) if wide else ("/", 1)
        levels = sep.join(f"{x * ratio:,.{nd}f}" for x in (r.level, *r.targets))
        lines.append(Content.assemble((f"in {etf} ", "$text-muted"), levels))
    if report is not None:
        lines.extend(report_lines(report, width))
    recent = [c for c in reversed(b.changes) if c.from_state is not None][:RECENT_CHANGES]
    if recent:
        lines.append(Content.assemble(("recent changes", "$text-muted")))
        for c in recent:
            lines.append(
                Content.assemble(
                    (c.day.isoformat() if wide else f"{c.day:%m-%d}", "$text-muted"),
                    "  ",
                    (c.to_state.value, "bold"),
                    (f" at {c.close:,.2f}" if wide else f" {c.close:,.0f}", "$text-muted"),
                )
            )
    return lines


class BreakoutPanel(TextBlock):
    DEFAULT_CSS = """
    BreakoutPanel {
        height: auto;
        border: round $accent;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Breakout"
        self._data: BreakoutData = (None, None, None, None)

    def lines(self, width: int) -> list[Content]:
        b, note, proxy, report = self._data
        return breakout_lines(b, note, proxy, width, report)

    def show(self, snap: Snapshot) -> None:
        b = snap.breakout
        title = f"Breakout · {b.rules.symbol} vs {b.rules.level:,.0f}" if b is not None else "Breakout"
        if title != self.border_title:  # Textual repaints the whole panel on every assignment
            self.border_title = title
        self._data = (b, snap.breakout_note, snap.proxy, snap.report)
        self.update_lines()
