"""The breakout panel: the watched index against the level, its state, and the targets."""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget

from services import formatting as fmt
from services.breakout import BreakoutAssessment, BreakoutState
from services.snapshot import Snapshot

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
BreakoutData = tuple[BreakoutAssessment | None, str | None, tuple[str, float] | None]


def breakout_content(
    b: BreakoutAssessment | None,
    note: str | None,
    proxy: tuple[str, float] | None,
    width: int,
    height: int = 0,
) -> Content:
    """The panel's text for a content area of `width` x `height` (extra rows list recent changes)."""
    if b is None or b.state is None or b.close is None:
        return Content.assemble((note or "waiting for data", "$text-muted"))
    wide = width >= WIDE
    r = b.rules
    lines: list[Content] = []
    meaning = STATE_MEANING[b.state][0 if wide else 1]
    lines.append(
        Content.assemble((f" {b.state.value.upper()} ", STATE_STYLE[b.state]), "  ", (meaning, "bold"))
    )
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
    spare = height - len(lines) - 1
    recent = [c for c in reversed(b.changes) if c.from_state is not None][: max(0, spare)]
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
    return Content("\n").join(lines)


class BreakoutPanel(Widget):
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
        self._data: BreakoutData = (None, None, None)
        self._content = breakout_content(None, None, None, 0)

    def _update(self) -> None:
        """Repaint only when the text changes: the live price moves every tick, the text less often."""
        b, note, proxy = self._data
        region = self.content_region
        content = breakout_content(b, note, proxy, region.width or self.size.width, region.height)
        if content.plain != self._content.plain or content.spans != self._content.spans:
            self._content = content
            # Only an auto-height panel changes the layout when its text grows or shrinks.
            height = self.styles.height
            self.refresh(layout=height is None or height.is_auto)

    def show(self, snap: Snapshot) -> None:
        b = snap.breakout
        if b is not None:
            self.border_title = f"Breakout · {b.rules.symbol} vs {b.rules.level:,.0f}"
        self._data = (b, snap.breakout_note, snap.proxy)
        self._update()

    def on_resize(self) -> None:
        self._update()

    @property
    def text(self) -> str:
        return self._content.plain

    def render(self) -> Content:
        return self._content
