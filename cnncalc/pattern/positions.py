"""Where a piece of pattern text is in the file or command line it came from.

The AST's spans are offsets into the pattern text; a `Locator` turns them into `Location`s, so
an error in a pattern written inside a YAML scalar (plain, quoted, block or folded) points at
the exact line and column of the file, and one from `--pattern` at the column of the option.
"""

from __future__ import annotations

from cnncalc.records import dataclass

from cnncalc.errors import Location
from cnncalc.yamlsource import YNode


@dataclass(frozen=True, slots=True)
class Locator:
    """Maps an offset in the pattern text to a `Location` in the file (or command line) it came from.

    `segments` are (offset in the pattern, line, column) where each source line's part begins.
    """

    path: str
    segments: tuple[tuple[int, int, int], ...]

    def at(self, offset: int, width: int = 1) -> Location:
        start, line, col = self.segments[0]
        for seg in self.segments:
            if seg[0] <= offset:
                start, line, col = seg
        return Location(self.path, line, col).shifted(offset - start, max(width, 1))

    @classmethod
    def for_text(cls, path: str, text: str) -> Locator:
        segments, offset = [], 0
        for number, line in enumerate(text.split("\n"), start=1):
            segments.append((offset, number, 1))
            offset += len(line) + 1
        return cls(path, tuple(segments))

    @classmethod
    def for_scalar(cls, node: YNode, source: str | None) -> Locator:
        """Positions inside a YAML scalar: exact for one-line plain or quoted scalars; for block and
        folded scalars, each source line is matched against the scalar's text."""
        loc, value = node.loc, node.text
        if loc.end_line == loc.line and loc.end_col is not None and "\n" not in value:
            quoted = (loc.end_col - loc.col) == len(value) + 2
            return cls(loc.path, ((0, loc.line, loc.col + quoted),))
        if source is None:
            return cls(loc.path, ((0, loc.line, loc.col),))
        return cls(loc.path, _scalar_segments(node, source) or ((0, loc.line, loc.col),))


def _scalar_segments(node: YNode, source: str) -> tuple[tuple[int, int, int], ...]:
    loc, value = node.loc, node.text
    lines = source.splitlines()
    segments, cursor = [], 0
    for index in range(loc.line - 1, len(lines)):
        start = loc.col - 1 if index == loc.line - 1 else 0
        part = lines[index][start:]
        stripped = part.lstrip()
        col = start + len(part) - len(stripped) + 1
        if index == loc.line - 1 and stripped[:1] in ("|", ">"):
            continue
        if index == loc.line - 1 and stripped[:1] in ("'", '"'):
            stripped, col = stripped[1:], col + 1
        while cursor < len(value) and value[cursor].isspace():
            cursor += 1
        common = 0
        while common < min(len(stripped), len(value) - cursor) and stripped[common] == value[cursor + common]:
            common += 1
        if common:
            segments.append((cursor, index + 1, col))
            cursor += common
        if cursor >= len(value.rstrip()):
            break
    return tuple(segments)


def width(span: tuple[int, int]) -> tuple[int, int]:
    """(offset, width) for `Locator.at`."""
    return span[0], max(span[1] - span[0], 1)
