"""The runs of `Grid.add_rows` (cnncalc/render/grid.py): rows that differ only in their first cell, a
repeat's layers, drawn as their first cells and the shared text of the other cells."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import repeat

#: first cells tested at once (joined: a few hundred KiB)
_TESTED = 65536

#: padding rich's Table puts either side of a cell (its default `padding=(0, 1)`)
PAD = " "


class Run:
    """Rows of `Grid.add_rows`: their first cells, and per row its tail (the other cells, a shared tuple)."""

    __slots__ = ("firsts", "tails")

    def __init__(self, firsts: Sequence[str], tails: Sequence[tuple[str, ...]]) -> None:
        self.firsts = firsts
        self.tails = tails


def clean_firsts(firsts: Sequence[str]) -> bool:
    """`Grid._clean` for a run's first cells, tested in C a few thousand at a time: joined by NULs, one cell ends
    in a space when " \0" occurs, and a NUL of a cell's own shows in their count."""
    for start in range(0, len(firsts), _TESTED):
        chunk = firsts[start:start + _TESTED]
        try:
            joined = "\0".join(chunk) + "\0"
        except TypeError:  # a cell that is not a str
            return False
        if " \0" in joined or not joined.isascii() or joined.count("\0") != len(chunk) \
                or not joined.replace("\0", "").isprintable():
            return False
    return True


def _head_template(width: int, to_right: bool, left: str) -> str:
    """A run's row as a `%` template of (first cell, tail text): the left edge, the first cell justified, then
    its tail's text."""
    left = left.replace("%", "%%")
    return f"{left}{PAD}%{'' if to_right else '-'}{width}s%s"


#: rows per piece of `run_lines` (a piece is one string: `plain.write_lines` writes a few dozen at once)
_JOINED = 256


def run_lines(firsts: Sequence[str], tails: Sequence[tuple[str, ...]], count: int, width: int, to_right: bool,
               left: str, tail_texts: dict[int, str]) -> Iterator[str]:
    """The first `count` rows of a run, a few hundred a piece. A line is the left edge, its first cell
    justified and its tail's text; where a piece's rows share one tail (a repeat of one layer) the piece
    is their justified cells joined by the tail, a newline and the next left edge: one `join` where a
    million rows took a `%` each. Other pieces are a `%` a row."""
    start = left + PAD
    justify = str.rjust if to_right else str.ljust
    head = _head_template(width, to_right, left)
    for offset in range(0, count, _JOINED):
        end = min(offset + _JOINED, count)
        cells, own = firsts[offset:end], tails[offset:end]
        if own.count(own[0]) == len(own):
            tail = tail_texts[id(own[0])]
            yield start + (tail + "\n" + start).join(map(justify, cells, repeat(width))) + tail
        else:
            yield from map(head.__mod__, zip(cells, map(tail_texts.__getitem__, map(id, own))))


def tail_template(inner: list[int], right: list[bool], edges: tuple[str, str, str]) -> str:
    """What follows a run row's first cell as a `%` template of its tail (plain text, a character a cell:
    `add_rows` tested it): the other cells justified between their dividers, and the row's end."""
    _, vertical, end = (edge.replace("%", "%%") for edge in edges)
    return "".join(f"{PAD}{vertical}{PAD}%{'' if to_right else '-'}{width}s"
                   for width, to_right in zip(inner[1:], right[1:])) + PAD + end
