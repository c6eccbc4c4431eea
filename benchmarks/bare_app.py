"""The reference the benchmark measures breakout-monitor against: a bare Textual app with a header, one
line of static text and a footer, doing nothing. Same interpreter, same Textual, same terminal, so a
ratio against it cancels out most of what a noisy machine adds.

    python benchmarks/bare_app.py
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

READY_TEXT = "bare Textual reference app"
"""What the benchmark waits for on screen: the app's "first text"."""


class BareApp(App[None]):
    TITLE = "bare"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(READY_TEXT)
        yield Footer()


if __name__ == "__main__":
    BareApp().run()
