"""Only the cells that changed go to the terminal (tui.cell_diff), and the terminal still ends up showing
exactly the new frame: checked by playing the bytes into a small terminal model."""

from __future__ import annotations

import re

from rich.color import ColorSystem
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.geometry import Region
from textual.strip import Strip

from tui.cell_diff import CellUpdate, ScreenDiff

W, H = 20, 3
GREEN = Style(color="green", bgcolor="black")
RED = Style(color="red", bgcolor="black", bold=True)


class Terminal:
    """Enough of a terminal for these bytes: cursor moves, SGR, newlines and characters. Each cell keeps
    its character and the SGR parameters in force when it was written."""

    def __init__(self) -> None:
        self.cells = [[(" ", "")] * W for _ in range(H)]
        self.x = self.y = 0
        self.sgr = ""

    def feed(self, data: str) -> None:
        for m in re.finditer(r"\x1b\[(\d+);(\d+)H|\x1b\[([0-9;]*)m|\n|\r|[^\x1b\n\r]", data):
            token = m.group(0)
            if m.group(1):
                self.y, self.x = int(m.group(1)) - 1, int(m.group(2)) - 1
            elif token.endswith("m") and token.startswith("\x1b"):
                params = m.group(3) or "0"
                self.sgr = params.removeprefix("0;") if params != "0" else ""
            elif token == "\n":
                self.y += 1
            elif token == "\r":
                self.x = 0
            else:
                self.cells[self.y][self.x] = (token, self.sgr)
                self.x += 1

    @property
    def text(self) -> list[str]:
        return ["".join(ch for ch, _ in row) for row in self.cells]


def strips(*lines: list[Segment]) -> list[Strip]:
    return [Strip(segments).crop_extend(0, W, None) for segments in lines]


def full(lines: list[Strip]) -> LayoutUpdate:
    return LayoutUpdate([[line] for line in lines], Region(0, 0, W, H))


def partial(lines: list[Strip], rows: list[int]) -> ChopsUpdate:
    """What Textual's compositor sends when `rows` are dirty: the whole width of each."""
    chops = [{0: line} for line in lines]
    return ChopsUpdate(chops, [(y, 0, W) for y in rows], [[W] for _ in lines])


def play(term: Terminal, update: object) -> int:
    console = Console(color_system="256", force_terminal=True)
    assert isinstance(update, LayoutUpdate | ChopsUpdate | CellUpdate)
    data = update.render_segments(console)
    term.feed(data)
    return len(data.encode())


def codes(style: Style) -> str:
    return style._make_ansi_codes(ColorSystem.EIGHT_BIT)


def frame(price: str, change: str, change_style: Style = GREEN) -> list[Strip]:
    return strips(
        [Segment("IWM ", Style(bold=True)), Segment(price, RED)],
        [Segment(change, change_style)],
        [Segment("vol 1.2M")],
    )


def test_a_moved_price_rewrites_only_its_changed_digits_and_the_screen_is_the_new_frame() -> None:
    diff, term = ScreenDiff(), Terminal()
    first = frame("256.82", "-0.43  -0.17 %")
    play(term, diff.update(full(first), W, H, ColorSystem.EIGHT_BIT))
    assert term.text[0].startswith("IWM 256.82")

    second = frame("256.69", "-0.56  -0.22 %")
    textual_bytes = len(partial(second, [0, 1]).render_segments(Console(color_system="256")).encode())
    update = diff.update(partial(second, [0, 1]), W, H, ColorSystem.EIGHT_BIT)
    assert isinstance(update, CellUpdate)
    sent = play(term, update)

    assert term.text == [line.text for line in second]
    assert term.cells[0][8] == ("6", codes(RED))  # the new digit in the price's own colours
    assert term.cells[1][3] == ("5", codes(GREEN))
    assert sent < textual_bytes, (sent, textual_bytes)
    assert "IWM" not in update.sequence  # unchanged text is not sent again


def test_a_frame_that_changes_nothing_sends_nothing() -> None:
    diff = ScreenDiff()
    lines = frame("256.82", "-0.43")
    diff.update(full(lines), W, H, ColorSystem.EIGHT_BIT)
    assert diff.update(partial(frame("256.82", "-0.43"), [0, 1, 2]), W, H, ColorSystem.EIGHT_BIT) is None


def test_a_style_change_alone_is_sent() -> None:
    diff, term = ScreenDiff(), Terminal()
    play(term, diff.update(full(frame("256.82", "+0.10")), W, H, ColorSystem.EIGHT_BIT))
    update = diff.update(partial(frame("256.82", "+0.10", RED), [1]), W, H, ColorSystem.EIGHT_BIT)
    play(term, update)
    assert [cell[1] for cell in term.cells[1][:5]] == [codes(RED)] * 5


def test_wide_characters_are_rewritten_whole() -> None:
    diff, term = ScreenDiff(), Terminal()
    before = strips([Segment("a"), Segment("界", GREEN), Segment("b")], [], [])
    after = strips([Segment("a"), Segment("界", RED), Segment("b")], [], [])
    play(term, diff.update(full(before), W, H, ColorSystem.EIGHT_BIT))
    update = diff.update(partial(after, [0]), W, H, ColorSystem.EIGHT_BIT)
    assert isinstance(update, CellUpdate)
    assert "界" in update.sequence and "\x1b[1;2H" in update.sequence  # starts at the character's first cell


def test_a_resized_screen_is_passed_through_until_a_full_frame_seeds_the_copy() -> None:
    diff = ScreenDiff()
    diff.update(full(frame("1", "2")), W, H, ColorSystem.EIGHT_BIT)
    chops = partial(frame("3", "4"), [0])
    assert diff.update(chops, W + 5, H, ColorSystem.EIGHT_BIT) is chops  # the copy no longer fits
    again = partial(frame("5", "6"), [0])
    assert diff.update(again, W, H, ColorSystem.EIGHT_BIT) is again  # forgotten: Textual's own update
    layout = full(frame("7", "8"))
    assert diff.update(layout, W, H, ColorSystem.EIGHT_BIT) is layout
    assert isinstance(diff.update(partial(frame("9", "8"), [0]), W, H, ColorSystem.EIGHT_BIT), CellUpdate)


def test_colours_are_set_once_for_several_runs_of_the_same_style() -> None:
    diff, term = ScreenDiff(), Terminal()
    play(term, diff.update(full(frame("256.82", "-0.43  -0.17 %")), W, H, ColorSystem.EIGHT_BIT))
    update = diff.update(partial(frame("256.82", "-0.53  -0.27 %"), [1]), W, H, ColorSystem.EIGHT_BIT)
    assert isinstance(update, CellUpdate)
    assert update.sequence.count(codes(GREEN)) == 1  # two runs, one colour sequence
    play(term, update)
    assert term.text[1].startswith("-0.53  -0.27 %")
