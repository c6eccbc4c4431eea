"""Only the cells that changed go to the terminal.

Textual repaints a widget's dirty lines in full: a price moving from 256.82 to 256.69 rewrites the
whole line of its widget, each run of text with its complete colour sequence. Over a slow SSH link that
is most of the bytes. `ScreenDiff` keeps what the terminal shows, cell by cell, and turns each of
Textual's partial updates into the runs of cells that really differ (as curses does): a cursor move and
the new characters, with a colour sequence only where the style changes.

A full update (first paint, resize, another screen) is written as Textual made it and re-seeds the
copy, so anything that disturbed the terminal is repaired by the next full repaint, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from rich.cells import get_character_cell_size
from rich.color import ColorSystem
from rich.console import Console
from rich.style import Style
from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate
from textual.strip import Strip

Cell = tuple[str, Style | None]
"""A character (the empty string for the right half of a wide one) and its style."""

BLANK: Cell = (" ", None)

MERGE_GAP = 4
"""Unchanged cells between two changed runs that are rewritten rather than skipped: a cursor move is
6 to 8 bytes, a few plain cells cost less."""


class CellUpdate(CompositorUpdate):
    """The bytes for the changed cells (a renderable `App._display` writes as it writes Textual's own)."""

    def __init__(self, sequence: str) -> None:
        self.sequence = sequence

    def render_segments(self, console: Console) -> str:
        return self.sequence


def _cells(strip: Iterable[tuple[str, Style | None, object]]) -> list[Cell]:
    cells: list[Cell] = []
    append = cells.append
    for text, style, control in strip:
        if control:
            continue
        if text.isascii():
            cells.extend((ch, style) for ch in text)
            continue
        for ch in text:
            width = get_character_cell_size(ch)
            if width == 0:
                if cells:  # a combining mark joins the character before it
                    prev, prev_style = cells[-1]
                    cells[-1] = (prev + ch, prev_style)
                continue
            append((ch, style))
            if width == 2:
                append(("", style))
    return cells


class ScreenDiff:
    """A copy of the terminal's cells and the smallest update that brings the terminal to a new frame."""

    def __init__(self) -> None:
        self._rows: list[list[Cell]] = []
        self._codes: dict[Style, str | None] = {}
        self._current = "\x00"

    def forget(self) -> None:
        """The terminal's content is unknown (cleared, resized, written by someone else)."""
        self._rows = []

    def update(
        self, update: object, width: int, height: int, color_system: ColorSystem | None
    ) -> object | None:
        """What to write for Textual's `update`: itself for a full update (after copying it), a
        `CellUpdate` of the changed cells for a partial one, or None when no cell changed."""
        if isinstance(update, LayoutUpdate):
            self._seed(update, width, height)
            return update
        if not isinstance(update, ChopsUpdate) or len(self._rows) != height:
            self.forget()  # an update of a kind this copy cannot follow: no longer knows the screen
            return update
        if any(len(row) != width for row in self._rows):
            self.forget()
            return update
        return self._reduce(update, color_system)

    def _seed(self, update: LayoutUpdate, width: int, height: int) -> None:
        rows = [[BLANK] * width for _ in range(height)]
        region = update.region
        for y, line in enumerate(update.strips, region.y):
            if not 0 <= y < height:
                continue
            cells: list[Cell] = []
            for strip in line:
                cells.extend(_cells(strip))
            x0 = region.x
            row = rows[y]
            for i, cell in enumerate(cells[: max(0, width - x0)]):
                row[x0 + i] = cell
        self._rows = rows

    def _reduce(self, update: ChopsUpdate, color_system: ColorSystem | None) -> CellUpdate | None:
        out: list[str] = []
        runs = 0
        rows = self._rows
        self._current = "\x00"  # the terminal's colours now: unknown until this update sets them
        chops: Sequence[Mapping[int, Strip | None]] = update.chops
        for y, x1, x2 in update.spans:
            if not 0 <= y < len(rows):
                continue
            row = rows[y]
            changed: list[int] = []
            for end, (x, strip) in zip(update.chop_ends[y], chops[y].items(), strict=False):
                if strip is None or x > x2 or end <= x1:
                    continue
                # Textual writes each chop from its start to the end of the span: the same cells here.
                cells = _cells(strip)[: min(end, x2) - x]
                stop = min(x + len(cells), len(row))
                cells = cells[: stop - x]
                if row[x:stop] == cells:
                    continue
                for i, cell in enumerate(cells, x):
                    if row[i] != cell:
                        changed.append(i)
                        row[i] = cell
            if changed:
                runs += self._write_runs(out, y, row, changed, color_system)
        if not runs:
            return None
        out.append("\x1b[0m")
        return CellUpdate("".join(out))

    def _write_runs(
        self, out: list[str], y: int, row: list[Cell], changed: list[int], color_system: ColorSystem | None
    ) -> int:
        changed.sort()
        spans: list[list[int]] = []
        for i in changed:
            if spans and i - spans[-1][1] <= MERGE_GAP + 1:
                spans[-1][1] = i + 1
            else:
                spans.append([i, i + 1])
        for span in spans:
            start, stop = span
            while start > 0 and row[start][0] == "":  # never start inside a wide character
                start -= 1
            while stop < len(row) and row[stop][0] == "":
                stop += 1
            out.append(f"\x1b[{y + 1};{start + 1}H")
            current = self._current  # a cursor move keeps the colours: no need to set them again
            for ch, style in row[start:stop]:
                if ch == "":
                    continue
                codes = self._sgr(style, color_system)
                if codes is None:  # a link: written as Rich writes it
                    assert style is not None
                    out.append(style.render(ch, color_system=color_system))
                    current = "\x00"
                    continue
                if codes != current:
                    out.append(f"\x1b[0;{codes}m" if codes else "\x1b[0m")
                    current = codes
                out.append(ch)
            self._current = current
        return len(spans)

    def _sgr(self, style: Style | None, color_system: ColorSystem | None) -> str | None:
        """The style's SGR parameters ("" for none); None for a style with a link."""
        if style is None:
            return ""
        try:
            return self._codes[style]
        except KeyError:
            pass
        codes: str | None
        if style.link:
            codes = None
        elif color_system is None:  # no colour at all (not a tty): attributes only
            codes = Style(
                bold=style.bold,
                dim=style.dim,
                italic=style.italic,
                underline=style.underline,
                reverse=style.reverse,
                strike=style.strike,
            )._make_ansi_codes(ColorSystem.STANDARD)
        else:
            codes = style._make_ansi_codes(color_system)
        if len(self._codes) > 4096:  # styles carry per-cell metadata: keep the memo bounded
            self._codes.clear()
        self._codes[style] = codes
        return codes
