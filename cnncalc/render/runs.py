"""How `Grid` (cnncalc/render/grid.py) tests and draws many plain rows at once, in C: the runs of
`Grid.add_rows` (rows that differ only in their first cell, a repeat's layers, drawn as their first cells
and the shared text of the other cells), and rows of plain cells, tested a column at a time and drawn a
`%` a row."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import filterfalse, repeat

#: first cells tested at once (joined: a few hundred KiB)
_TESTED = 65536

#: padding rich's Table puts either side of a cell (its default `padding=(0, 1)`)
PAD = " "

#: unstyled lines joined into one segment at most: long enough that rich's per-segment cost vanishes,
#: short enough that a million-row table is not also held as a million separate strings
RUN = 1024

#: str.translate's table that deletes the printable ASCII characters
ASCII_GONE = dict.fromkeys(range(0x20, 0x7F))
#: characters of one terminal cell besides printable ASCII, in rich's count too (tests/test_render_grid.py):
#: box drawing and block elements (the memory table's bars), measured without importing rich.cells
ONE_CELL = frozenset(map(chr, range(0x2500, 0x25A0)))


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


def formatted(rows: list[tuple[str, ...]], start: int, special: dict[int, tuple[int, ...]], columns: int) -> bool:
    """Whether rows from index `start` on are all drawn by one `%` each: cells of every column
    whose widths are their lengths (no row of `special`)."""
    if special and any(start <= index < start + len(rows) for index in special):
        return False
    return set(map(len, rows)) <= {columns}


def formatted_lines(rows: list[tuple[str, ...]], start: int, last: int, sections: set[int], section: str,
                     template: str, bottom: str) -> Iterator[str]:
    """The lines of rows from index `start` on, `RUN` to a piece, each row a `%` in C: the section
    lines after theirs, the table's last row with the bottom edges."""
    for offset in range(0, len(rows), RUN):
        chunk = rows[offset:offset + RUN]
        first = start + offset
        lines = list(map(template.__mod__, chunk))
        if first + len(chunk) - 1 == last:
            lines[-1] = bottom % chunk[-1]
        for index in sorted((index for index in sections if first <= index < first + len(chunk) and index != last),
                            reverse=True):
            lines.insert(index - first + 1, section)
        yield "\n".join(lines)


def plain_widths(rows: list[tuple[str, ...]], columns: int) -> list[int] | None:
    """The widest cell of each column of `rows`, or None where a row is not one cell a column or a cell is
    not drawn as it is, `len` cells wide: tested a column at a time in C. Joined by NULs, a cell ends in
    a space where " \0" occurs (and a NUL of a cell's own shows in their count); printable text has nothing
    to escape and no other whitespace; printable ASCII and box and block characters are a cell each."""
    if not rows:
        return [0] * columns
    if set(map(len, rows)) != {columns}:
        return None
    widths = []
    for column in zip(*rows):
        distinct = list(dict.fromkeys(column))  # a column repeats a few texts: each tested and measured once
        if not plain_texts(distinct):
            return None
        widths.append(max(map(len, distinct)))
    return widths


def plain_texts(texts: list[str]) -> bool:
    """Whether every text is drawn as it is, `len` cells wide, tested at once in C: printable (nothing to
    escape, no whitespace but the space), none ending in a space, printable ASCII or box and block
    characters. Joined by NULs, a text ends in a space where " \0" occurs (a NUL of its own shows in their count)."""
    if not texts:
        return True
    try:
        joined = "\0".join(texts) + "\0"
    except TypeError:  # a cell that is not a str
        return False
    if " \0" in joined or joined.count("\0") != len(texts):
        return False
    if not joined.replace("\0", "").isprintable():
        return False
    if joined.isascii():
        return True
    wide = "".join(filterfalse(str.isascii, texts))  # the few texts that are not ASCII (the memory bars)
    return ONE_CELL.issuperset(wide) or ONE_CELL.issuperset(wide.translate(ASCII_GONE))
