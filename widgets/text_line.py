"""A one-line text widget that repaints only when its text really changed."""

from __future__ import annotations

from textual.content import Content
from textual.strip import Strip
from textual.widget import Widget

from widgets.text_block import render_one_line


class TextLine(Widget):
    """One line of styled text. `show()` skips the repaint when the content is unchanged: Textual
    repaints a widget's whole region on every update, even for identical text. The line is rendered
    straight from the content's segments (see `render_one_line`)."""

    DEFAULT_CSS = """
    TextLine {
        height: 1;
        width: 1fr;
    }
    TextLine.-auto {
        width: auto;
    }
    """

    def __init__(
        self, content: Content | str = "", *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._content = Content(content) if isinstance(content, str) else content
        self._strip: Strip | None = None

    @property
    def text(self) -> str:
        """The plain text shown."""
        return self._content.plain

    def show(self, content: Content | str) -> bool:
        """Display `content`; returns False (and repaints nothing) when it is what is already shown."""
        new = Content(content) if isinstance(content, str) else content
        if new.plain == self._content.plain and new.spans == self._content.spans:
            return False
        self._content = new
        self.refresh(layout=self.styles.width is not None and self.styles.width.is_auto)
        return True

    def refresh(self, *args: object, **kwargs: object) -> TextLine:
        self._strip = None  # any repaint (new text, resize, theme) renders the line anew
        super().refresh(*args, **kwargs)  # type: ignore[arg-type]
        return self

    def get_content_width(self, container: object, viewport: object) -> int:
        return self._content.cell_length

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return 1

    def render_line(self, y: int) -> Strip:
        if y != 0:
            return render_one_line(self, None)
        if self._strip is None or self._strip.cell_length != self.size.width:
            self._strip = render_one_line(self, self._content)
        return self._strip
