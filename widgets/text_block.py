"""A block of text lines that repaints line by line: only the lines whose text changed."""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
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
        dirty: list[Region] = []
        for y, (old, line) in enumerate(zip(self._lines, new, strict=True)):
            if old.plain == line.plain and old.spans == line.spans:
                continue
            self._lines[y] = line
            self._strips.pop(y, None)
            dirty.append(Region(0, y, width, 1))
        if dirty:
            self.refresh(*dirty)

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
            line = self._lines[y] if y < len(self._lines) else None
            strip = self._strips[y] = render_one_line(self, line)
        return strip


def render_one_line(widget: Widget, line: Content | None) -> Strip:
    """`line` as the widget shows it at its width: Content's own segments, cropped or padded (one line,
    never wrapped, no links or selection; Visual.to_strips does much more, at several times the cost)."""
    base = widget.visual_style
    width = widget.size.width
    if line is None:
        return Strip.blank(width, base.rich_style)
    if line.cell_length > width and line.plain.isascii():
        # Too long: cut at the last space that fits, as a wrapped first line would, not mid-word.
        cut = line.plain.rfind(" ", 0, width + 1)
        if cut > 0:
            line = line[:cut]
    parts = line.render(base, end="", parse_style=widget._get_style)
    segments = [Segment(text, style.rich_style if style else None) for text, style in parts]
    return Strip(segments).crop_extend(0, width, base.rich_style)
