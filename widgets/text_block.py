"""A block of text lines that repaints line by line: only the lines whose text changed."""

from __future__ import annotations

from collections.abc import Sequence

from textual.containers import Vertical
from textual.content import Content

from widgets.text_line import TextLine


class TextBlock(Vertical):
    """Shows a list of lines; each is its own `TextLine`, so a live value moving on one line repaints
    that line, not the whole panel (what a slow SSH link pays for)."""

    DEFAULT_CSS = """
    TextBlock {
        height: auto;
    }
    """

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.query_children(TextLine))

    def lines(self, width: int) -> list[Content]:
        """The lines to show at a content width of `width` columns (subclasses word them)."""
        return []

    def update_lines(self) -> None:
        """Show `lines()` for the current width: call after new data; done on mount and resize."""
        self.show_lines(self.lines(self.content_region.width or self.size.width))

    def on_mount(self) -> None:
        self.update_lines()

    def on_resize(self) -> None:
        self.update_lines()

    def show_lines(self, lines: Sequence[Content]) -> None:
        current = list(self.query_children(TextLine))
        for line, content in zip(current, lines, strict=False):
            line.show(content)
        if len(lines) > len(current):
            self.mount_all(TextLine(content) for content in lines[len(current) :])
        elif len(lines) < len(current):
            for line in current[len(lines) :]:
                line.remove()
