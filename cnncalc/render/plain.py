"""What rich prints for cnncalc's report on an output it writes no colour to (a pipe, a file), written
here without importing rich's console (~40 ms of a run's start-up): the same bytes, held to rich's
own output in tests/test_render_plain.py.

rich writes bare text when it has no colour system: standard output is no terminal, and nothing in
the environment makes it one (FORCE_COLOR, TTY_COMPATIBLE) or makes it Jupyter. `is_plain` says when
that holds and the output is UTF-8; anything this module does not reproduce (text that is not
printable ASCII, which rich measures and may wrap by cells) is left to rich by returning None.
"""

from __future__ import annotations

import os
import sys

#: what makes rich write colour (or Jupyter's HTML) to a stream that is no terminal
_RICH_ENVIRONMENT = ("FORCE_COLOR", "TTY_COMPATIBLE")

#: rich.box.HEAVY_HEAD's eight lines (top, head, head row, mid, row, foot row, foot, bottom), each
#: left edge, horizontal, divider or cross, right edge: drawn here without importing rich (~7 ms of a
#: start-up with `typing`, which nothing else on the way needs); tests/test_render_plain.py holds
#: every line this draws to rich's Box
HEAVY_HEAD = ("┏━┳┓", "┃ ┃┃", "┡━╇┩", "│ ││", "├─┼┤", "├─┼┤", "│ ││", "└─┴┘")


class Box:
    """What a plain table takes of a rich Box: the edges of its header, body and last rows, and its
    horizontal lines (`get_top`, `get_row(widths, "head" | "row")`, `get_bottom`, as rich names them)."""

    __slots__ = ("head_left", "head_vertical", "head_right", "mid_left", "mid_vertical", "mid_right",
                 "foot_left", "foot_vertical", "foot_right", "_lines")

    def __init__(self, lines: tuple[str, ...] = HEAVY_HEAD):
        top, head, head_row, mid, row, _, foot, bottom = lines
        self.head_left, _, self.head_vertical, self.head_right = head
        self.mid_left, _, self.mid_vertical, self.mid_right = mid
        self.foot_left, _, self.foot_vertical, self.foot_right = foot
        self._lines = {"top": top, "head": head_row, "row": row, "bottom": bottom}

    def _line(self, which: str, widths: list[int]) -> str:
        left, horizontal, cross, right = self._lines[which]
        return left + cross.join(horizontal * width for width in widths) + right

    def get_top(self, widths: list[int]) -> str:
        return self._line("top", widths)

    def get_row(self, widths: list[int], level: str = "row") -> str:
        return self._line(level, widths)

    def get_bottom(self, widths: list[int]) -> str:
        return self._line("bottom", widths)


def is_plain(stream=None) -> bool:
    """Whether rich would write `stream` (standard output) as bare UTF-8 text, without colour."""
    import builtins

    from cnncalc.render.safe import unicode_output

    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if isatty is None or isatty() or hasattr(builtins, "get_ipython"):
        return False
    return not any(name in os.environ for name in _RICH_ENVIRONMENT) and unicode_output(stream)


def centred(text: str, width: int) -> list[str] | None:
    """`text` as rich prints a table's title or caption `width` cells wide: each line word-wrapped
    (rich's `divide_line`, words longer than the width folded), stripped at the right and centred,
    padded with spaces to the full width. None for text that is not printable ASCII."""
    lines = text.split("\n")
    if not all(line.isascii() and line.isprintable() for line in lines):
        return None
    centred_lines = []
    for line in lines:
        for piece in _divided(line, width):
            piece = piece.rstrip()[:width]
            left = (width - len(piece)) // 2
            centred_lines.append(" " * left + piece + " " * (width - len(piece) - left))
    return centred_lines


def _divided(line: str, width: int) -> list[str]:
    """`line` cut where rich's `_wrap.divide_line` cuts it (for ASCII, where a character is a cell)."""
    if len(line.rstrip()) <= width:  # every word fits: no cut (nor a word at a time)
        return [line]
    return _cut(line, width) or _folded(line, width)


def _cut(line: str, width: int) -> list[str] | None:
    """`_divided` by `find`, where no word is longer than the width: a line ends before the first word whose
    text (without its trailing spaces) goes past `width` from the line's start; None where one is longer."""
    pieces = []
    start = 0
    lead = len(line) - len(line.lstrip(" "))  # the first word's leading spaces are its own
    end = len(line.rstrip())
    while end - start > width:
        beyond = start + width
        while beyond < end and line[beyond] == " ":  # the first character past the width that is a word's
            beyond += 1
        cut = line.rfind(" ", start, beyond) + 1  # where that word starts
        if cut <= max(start, lead):  # the line's first word: too long, folded
            return None
        pieces.append(line[start:cut])
        start = cut
    pieces.append(line[start:])
    return pieces


def _folded(line: str, width: int) -> list[str]:
    """`_divided` a word at a time, folding words longer than the width as rich does."""
    breaks: list[int] = []
    offset = 0
    for start, text in _words(line):
        length = len(text.rstrip())
        if width - offset >= length:
            offset += len(text)
        elif length > width:  # folded: cut every `width` characters, the last piece starts the line
            pieces = [text[i:i + width] for i in range(0, len(text), width)] or [""]
            for index, piece in enumerate(pieces):
                if start:
                    breaks.append(start)
                if index == len(pieces) - 1:
                    offset = len(piece)
                else:
                    start += len(piece)
        elif offset and start:
            breaks.append(start)
            offset = len(text)
    edges = [0, *breaks, len(line)]
    return [line[a:b] for a, b in zip(edges, edges[1:])]


def _words(line: str) -> list[tuple[int, str]]:
    """(start, text) of each match of rich's `\\s*\\S+\\s*` in `line`, whose only whitespace is the space
    (printable ASCII): found with str methods, not by compiling the pattern in every run that prints a table."""
    words = []
    start, end = 0, len(line)
    while start < end:
        word = start
        while word < end and line[word] == " ":
            word += 1
        if word == end:  # spaces only: no word
            break
        after = line.find(" ", word)
        if after < 0:
            after = end
        while after < end and line[after] == " ":
            after += 1
        words.append((start, line[start:after]))
        start = after
    return words


def write_lines(lines, stream=None) -> None:
    """Each line and its newline, a few dozen lines a write (an item may be several lines joined:
    `Grid.plain_lines`' pieces of a few hundred, so a write stays within a few megabytes)."""
    from itertools import islice

    stream = sys.stdout if stream is None else stream
    lines = iter(lines)
    while chunk := list(islice(lines, 64)):  # taken in C, not a line at a time
        stream.write("\n".join(chunk) + "\n")


def text_lines(text: str) -> list[str] | None:
    """A summary as rich prints it with `soft_wrap=True` (no wrapping, no cropping): its lines as they are;
    None for text that is not printable ASCII or ends with a newline (left to rich)."""
    lines = text.split("\n")
    if text.endswith("\n") or not all(line.isascii() and line.isprintable() for line in lines):
        return None
    return lines
