"""A block of text lines that repaints line by line: only the lines whose text changed."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.visual import Visual
from textual.widget import Widget


class TextBlock(Widget):
    """Shows a list of lines as one widget that marks only its changed lines dirty: a live value moving
    on one line repaints that line (what a slow SSH link pays for), and the screen keeps one widget per
    panel rather than one per line (Textual's per-frame cost grows with the widgets in the dirty area)."""

    DEFAULT_CSS = """
    TextBlock {
        height: auto;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: list[Content] = []
        self._strips: dict[int, Strip] = {}
        """Rendered lines by row, dropped when a line changes or the widget repaints as a whole."""

    @property
    def text(self) -> str:
        return "\n".join(line.plain for line in self._lines)

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
        new = list(lines)
        if len(new) != len(self._lines):
            self._lines = new
            self.refresh(layout=True)
            return
        width = self.size.width
        for y, (old, line) in enumerate(zip(self._lines, new, strict=True)):
            if old.plain == line.plain and old.spans == line.spans:
                continue
            self._lines[y] = line
            self._strips.pop(y, None)
            self.refresh(Region(0, y, width, 1))

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> TextBlock:
        if repaint and not regions:  # a whole repaint (resize, theme, styles): render every line anew
            self._strips.clear()
        super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
        return self

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return max((line.cell_length for line in self._lines), default=0)

    def render_line(self, y: int) -> Strip:
        strip = self._strips.get(y)
        if strip is None:
            width = self.size.width
            if y < len(self._lines):
                rendered = Visual.to_strips(self, self._lines[y], width, 1, self.visual_style)
                strip = rendered[0] if rendered else Strip.blank(width, self.visual_style.rich_style)
            else:
                strip = Strip.blank(width, self.visual_style.rich_style)
            self._strips[y] = strip
        return strip
