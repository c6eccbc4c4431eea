"""A one-line text widget that repaints only when its text really changed."""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget


class TextLine(Widget):
    """One line of styled text. `show()` skips the repaint when the content is unchanged: Textual
    repaints a widget's whole region on every update, even for identical text."""

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

    def render(self) -> Content:
        return self._content
