"""View 6, the journal: every event and alert, newest first, filterable by kind; on top, what happened
while the user was away (the digest of this start)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from services.journal import JournalEntry
from services.snapshot import Snapshot
from tui.screens.digest import digest_lines
from tui.screens.view import MonitorView
from widgets.text_line import TextLine

KIND_FILTERS: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("all", None),
    ("state changes", ("state_change",)),
    ("targets", ("target_hit",)),
    ("retests", ("retest",)),
    ("risks", ("risk",)),
    ("alerts", ("alert",)),
)


class JournalView(MonitorView):
    view_title = "Journal"
    DEFAULT_CSS = """
    JournalView > #journal-head {
        height: 1;
        background: $boost;
    }
    JournalView > VerticalScroll {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    JournalView #journal-digest {
        border-bottom: solid $primary-darken-2;
        margin-bottom: 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "next_filter", "Filter", id="journal.filter"),
        Binding("j", "move('down')", "Down", show=False, id="journal.down"),
        Binding("k", "move('up')", "Up", show=False, id="journal.up"),
        Binding("g", "move('home')", "Newest", show=False, id="journal.top"),
        Binding("G", "move('end')", "Oldest", show=False, id="journal.bottom"),
    ]

    def __init__(self, symbols: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(list(symbols), id=id)
        self.entries: list[JournalEntry] = []
        """Newest first, as the journal gives them."""
        self.away: list[JournalEntry] = []
        """What the user missed before this start (oldest first)."""
        self.filter_index = 0
        self._shown_key: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield TextLine(id="journal-head")
        with VerticalScroll():
            yield Static(id="journal-digest")
            yield Static(id="journal-list")

    # ------------------------------------------------------------------ data in
    def show_entries(self, entries: Sequence[JournalEntry], away: Sequence[JournalEntry]) -> None:
        self.entries, self.away = list(entries), list(away)
        self._dirty = True
        if self.display and self.is_mounted:
            self._draw()

    def update_view(self, snap: Snapshot, now: datetime) -> None:
        self._draw()

    def on_show(self) -> None:
        self._draw()

    @property
    def filter_name(self) -> str:
        return KIND_FILTERS[self.filter_index][0]

    def shown_entries(self) -> list[JournalEntry]:
        kinds = KIND_FILTERS[self.filter_index][1]
        return [e for e in self.entries if kinds is None or e.kind in kinds]

    def _draw(self) -> None:
        key = (id(self.entries), id(self.away), self.filter_index)
        if key == self._shown_key or not self.is_mounted:
            return
        self._shown_key = key
        shown = self.shown_entries()
        head = Content.assemble(
            (f" {len(shown)} of {len(self.entries)} entries", "bold"),
            ("  filter: ", "$text-muted"),
            (self.filter_name, "bold $accent"),
            ("  (f: next filter, j/k scroll)", "$text-muted"),
        )
        self.query_one("#journal-head", TextLine).show(head)
        digest = self.query_one("#journal-digest", Static)
        if self.away:
            n = len(self.away)
            title = Content.assemble((f"While you were away: {n} event{'s' if n != 1 else ''}", "bold"))
            digest.update(Content("\n").join([title, *digest_lines(self.away)]))
            digest.display = True
        else:
            digest.display = False
        lines = (
            digest_lines(shown) if shown else [Content.styled("no entries of this kind yet", "$text-muted")]
        )
        self.query_one("#journal-list", Static).update(Content("\n").join(lines))

    # ------------------------------------------------------------------ keys
    def action_next_filter(self) -> None:
        self.filter_index = (self.filter_index + 1) % len(KIND_FILTERS)
        self._draw()

    def action_move(self, where: str) -> None:
        scroll = self.query_one(VerticalScroll)
        {
            "down": scroll.scroll_down,
            "up": scroll.scroll_up,
            "home": scroll.scroll_home,
            "end": scroll.scroll_end,
        }[where]()
