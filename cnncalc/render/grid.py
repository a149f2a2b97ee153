"""A table of one-line plain-text cells, drawn as rich draws its `Table` but some thirty times faster.

rich measures and wraps every cell through its general layout machinery (a few hundred microseconds
a cell), which made printing ResNet-50's two 250-row tables slower than analysing the network. The
cells of cnncalc's reports are single lines that never need wrapping, so their widths are their
lengths and each row is one string. `Grid` draws those tables segment for segment as `rich.table.Table`
would (same box characters and substitutions, padding, justification and styles), lets rich draw the
title and caption, and hands the whole table to rich when the fast layout does not apply: a table
wider than the console, a column with nothing in it, or a cell rich would change (line breaks, control
characters, trailing spaces).
Cells are plain text, never console markup: a layer named `[red]x` prints as `[red]x`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain, repeat

from cnncalc.records import dataclass
from cnncalc.render.runs import (ASCII_GONE, ONE_CELL, PAD, RUN, Run, clean_firsts, formatted, formatted_lines,
                                 plain_texts, plain_widths, run_lines, tail_template)

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md

if TYPE_CHECKING:  # rich's console is imported where a grid is drawn through it (~40 ms): see plain_lines
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.segment import Segment
    from rich.style import Style
    from rich.table import Table

#: unstyled lines joined into one segment (or one piece of `plain_lines`) at most: cnncalc/render/runs.py
_RUN = RUN

#: tables of more rows are printed a few thousand lines at a time (`Grid.print_to`)
_PRINTED_WHOLE = 2 * _RUN
#: segments per print of a large table: about 4 runs of `_RUN` lines, and their line ends
_SEGMENTS_PRINTED = 8

#: padding rich's Table puts either side of a cell (its default `padding=(0, 1)`)
_PAD = PAD

#: `add_rows`' runs of fewer rows are added as rows (each first cell joined to its tail in C, all tested and
#: measured at once when drawn): a run's own bookkeeping costs more than a few rows' (a block's layers
#: between its heading and subtotal); in a grid of _FLAT_ROWS rows or more every run stays a run (a tuple a
#: row is memory a million-row table does not spend)
_RUN_ROWS = 32
_FLAT_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class Column:
    """A column's heading and how its cells line up."""

    header: str
    justify: str = "left"  # "left" or "right"
    #: only used when rich draws the table (too wide for the console): may rich wrap this column?
    no_wrap: bool = False


class Grid:
    """Rows of plain-text cells under a bold header, optional section lines, a title and a caption."""

    def __init__(self, title: str, caption: str, columns: list[Column], header_style: str = "bold") -> None:
        from cnncalc.render.safe import escape

        self._escape = escape
        self.title = escape(title)
        self.caption = caption
        self.columns = columns
        self.header_style = header_style
        #: the rows in order: lists of their cells as `add_row` adds them, and `Run`s of `add_rows`
        self._parts: list[list[tuple[str, ...]] | Run] = []
        self._styles: dict[int, str] = {}  # the styled rows' styles, by row index
        self._count = 0  # rows so far
        #: each column's widest cell so far (measured as rows are added: drawing the table measures nothing)
        self._widest = [0] * len(columns)
        self._unclean = False  # a cell rich would change (unprintable, ending in whitespace): rich draws the table
        #: `add_rows`' rows not yet tested and measured, as (part, offset in it, row index, count): all at once
        #: when the table is drawn (a block's few layers, tested one block at a time, cost more than drawing them)
        self._unverified: list[tuple[list[tuple[str, ...]], int, int, int]] = []
        #: every run's distinct tails, by identity (their widths and texts are made once each)
        self._tails: dict[int, tuple[str, ...]] = {}
        self._tail_lengths: dict[int, tuple[int, ...]] = {}  # and their cells' widths
        #: the cell widths of rows that are not all printable ASCII (whose widths are their lengths), by row index
        self._lengths: dict[int, tuple[int, ...]] = {}
        self._cell_styles: dict[int, tuple[str | None, ...]] = {}  # by row index, for the few rows that have them
        self._section_after: set[int] = set()

    @property
    def rows(self) -> list[tuple[tuple[str, ...], str | None]]:
        """Every row as (cells, style), in order (a run's rows made here: the paths through rich)."""
        self._verify()
        made: list[tuple[tuple[str, ...], str | None]] = []
        index = 0
        for part in self._parts:
            if type(part) is list:
                made.extend(zip(part, map(self._styles.get, range(index, index + len(part)))))
                index += len(part)
            else:
                index += len(part.firsts)
                made.extend(((first, *tail), None) for first, tail in zip(part.firsts, part.tails))
        return made

    def add_row(self, *cells: str, style: str | None = None, cell_styles: tuple[str | None, ...] | None = None) -> None:
        """`style`: the whole row's; `cell_styles`: one per cell (None: none), over the row's, as a rich
        `Text(cell, style=...)` in a rich table (a verdict in green or red)."""
        # a cell is one line of inert text: a name's newline, ESC or U+202E is written as an escape
        # (printable ASCII, nearly every cell, has nothing to escape: tested in C, not by the regex)
        index = self._count
        self._count += 1
        if style is not None:
            self._styles[index] = style
        if cell_styles is not None and any(cell_styles):
            self._cell_styles[index] = tuple(cell_styles)
        self._rows_part().append(self._checked(cells, index))

    def _rows_part(self) -> list[tuple[str, ...]]:
        """The list the next rows join (a new one after a run)."""
        parts = self._parts
        if not parts or type(parts[-1]) is not list:
            parts.append([])
        return parts[-1]

    def _checked(self, cells: tuple, index: int) -> tuple[str, ...]:
        """Row `index` as it is drawn, tested and measured."""
        try:
            joined = "".join(cells)  # the whole row tested at once, in C
        except TypeError:  # a cell that is not a str
            joined = "\n"
        if joined.isascii() and joined.isprintable():
            # printable ASCII's only whitespace is the space: a cell ends in one where " \0" occurs
            self._unclean = self._unclean or " \0" in "\0".join(cells) + "\0"
            self._measured(tuple(map(len, cells)))
            return cells
        escape = self._escape
        row = tuple(cell if type(cell) is str and cell.isascii() and cell.isprintable() else escape(cell)
                    for cell in cells)
        self._lengths[index] = lengths = tuple(map(_cell_len, row))
        self._unclean = self._unclean or not all(text.isprintable() and not text[-1:].isspace() for text in row)
        self._measured(lengths)
        return row

    def _measured(self, lengths: Sequence[int]) -> None:
        """A row's cell widths into each column's widest (a short row's missing cells are empty, as in rich;
        cells beyond the columns are never drawn)."""
        widest = self._widest
        if len(lengths) == len(widest):
            self._widest = list(map(max, widest, lengths))
        else:
            self._widest = [max(width, length) for width, length in zip(widest, (*lengths, *widest))]

    def add_rows(self, firsts: Sequence[str], tails: Sequence[tuple[str, ...]]) -> None:
        """Unstyled rows `(firsts[i], *tails[i])`, as `add_row` adds them, where the tails are a few tuples
        shared by identity (a repeat's layers differ in their names only): each distinct tail's widths and
        text are made once, and a row is drawn as its first cell and its tail's text, in C. Rows that are
        not drawn as they are, a character a cell (`_plain_texts`), are added one by one. Fewer than
        _RUN_ROWS rows in a grid of fewer than _FLAT_ROWS are added as rows (`_add_flat`)."""
        if len(firsts) < _RUN_ROWS and self._count < _FLAT_ROWS:
            self._add_flat(list(map(tuple.__add__, zip(firsts), tails)))
            return
        new = {ident: tail for ident, tail in zip(map(id, tails), tails) if ident not in self._tails} \
            if len(self._tails) else dict(zip(map(id, tails), tails))
        added = list(new.values())
        if not (set(map(len, added)) <= {len(self.columns) - 1} and plain_texts(list(chain.from_iterable(added)))
                and clean_firsts(firsts)):
            for first, tail in zip(firsts, tails):
                self.add_row(first, *tail)
            return
        if not firsts:
            return
        self._tails.update(new)
        lengths = list(map(tuple, map(map, repeat(len), added)))  # plain text: a character a cell
        self._tail_lengths.update(zip(new, lengths))
        if lengths:  # a run's tails have every other column
            self._measured((0, *map(max, *lengths)) if len(lengths) > 1 else (0, *lengths[0]))
        self._widest[0] = max(self._widest[0], max(map(len, firsts)))
        self._parts.append(Run(firsts, tails))
        self._count += len(firsts)

    def _add_flat(self, rows: list[tuple[str, ...]]) -> None:
        """Unstyled rows, as `add_row` adds them one by one, tested and measured later (`_verify`)."""
        part = self._rows_part()
        self._unverified.append((part, len(part), self._count, len(rows)))
        part.extend(rows)
        self._count += len(rows)

    def _verify(self) -> None:
        """`add_rows`' rows tested and measured, all at once a column at a time in C (`_plain_widths`), or
        where a cell is not plain one by one as `add_row` tests them (escaped where it escapes)."""
        if not self._unverified:
            return
        batches, self._unverified = self._unverified, []
        widths = plain_widths(list(chain.from_iterable(part[offset:offset + count]
                                                        for part, offset, _, count in batches)), len(self.columns))
        if widths is not None:
            self._measured(widths)
            return
        for part, offset, start, count in batches:
            for i in range(count):
                part[offset + i] = self._checked(part[offset + i], start + i)

    def add_section(self) -> None:
        """A line under the last row added (as rich's `Table.add_section`)."""
        if self._count:
            self._section_after.add(self._count - 1)

    def natural_width(self) -> int:
        """Columns with their padding and the borders: what rich measures as the table's maximum width."""
        widths = self._widths()
        return sum(widths) + len(widths) + 1

    def print_to(self, console: Console) -> None:
        """`console.print(self)` without rich's cropping pass (two segment copies per line; 40 % of printing
        a 100,000-row table): no line of a grid is wider than the console. The fast layout is used only
        when the table fits, the fallback is a rich Table fitted to the width, and the title and caption
        are wrapped to the table's width."""
        if self._count <= _PRINTED_WHOLE:
            console.print(self, crop=False)
            return
        # A large table is printed in several prints of its segments, with the same bytes: rich holds all
        # that one print renders until it ends, the text three times over (segments, joined, encoded):
        # 50 MB for 100,000 rows, half a gigabyte for a million.
        from rich.segment import Segments

        options = console.options.update(justify=None, overflow=None, height=None, no_wrap=None, markup=None,
                                         highlight=None)  # what `console.print(self)` renders with
        batch: list[Segment] = []
        for segment in console.render(self, options):
            batch.append(segment)
            if len(batch) == _SEGMENTS_PRINTED:
                console.print(Segments(batch), crop=False)
                batch = []
        if batch:
            console.print(Segments(batch), crop=False)

    def as_table(self) -> Table:
        """The same table as a rich `Table` (the fallback, and the reference the tests compare against)."""
        from rich.table import Table  # imported when needed: most tables never fall back (4 ms)
        from rich.text import Text

        table = Table(title=Text(self.title, style="table.title"), caption=Text(self.caption, style="table.caption"),
                      header_style=self.header_style)
        for column in self.columns:
            table.add_column(Text(column.header), justify=column.justify, no_wrap=column.no_wrap)
        for index, (cells, style) in enumerate(self.rows):
            styles = self._cell_styles.get(index, ())
            texts = (Text(cell, style=styles[i]) if i < len(styles) and styles[i] else Text(cell)
                     for i, cell in enumerate(cells))
            table.add_row(*texts, style=style, end_section=index in self._section_after)
        return table

    def fast_layout(self, widths: list[int], max_width: int) -> bool:
        """Whether the table is drawn here, not by rich's Table: it fits, has no empty column (rich draws
        such a column unstyled; rare enough to leave to it) and no cell rich would change."""
        table_width = sum(widths) + len(widths) + 1  # cells with their padding, and the borders
        return table_width <= max_width and min(widths) > 2 * len(_PAD) and self._plain_cells()

    def plain_lines(self, max_width: int) -> Iterator[str] | None:
        """The table's lines (a piece may hold several, joined by newlines) as rich prints them without colour on a UTF-8 output `max_width` wide, title
        and caption included (cnncalc/render/plain.py wraps and centres them as rich does); None where
        rich must draw it (no fast layout, or a title or caption plain.py leaves to rich)."""
        from cnncalc.render.plain import Box, centred

        widths = self._widths()
        if not self.fast_layout(widths, max_width):
            return None
        table_width = sum(widths) + len(widths) + 1
        title = centred(self.title, table_width) if self.title else []
        caption = centred(self.caption, table_width) if self.caption else []
        if title is None or caption is None:
            return None
        return self._plain(Box(), widths, title, caption)

    def _plain(self, drawn, widths: list[int], title: list[str], caption: list[str]) -> Iterator[str]:
        """The lines (what `__rich_console__` yields without a colour system), made as they are written."""
        yield from title
        yield drawn.get_top(widths)
        header = tuple(column.header for column in self.columns)
        yield _plain_row(header, tuple(map(_cell_len, header)), [w - 2 * len(_PAD) for w in widths],
                         [column.justify == "right" for column in self.columns],
                         (drawn.head_left, drawn.head_vertical, drawn.head_right))
        yield drawn.get_row(widths, "head")
        last = self._count - 1
        middle = (drawn.mid_left, drawn.mid_vertical, drawn.mid_right)
        bottom = (drawn.foot_left, drawn.foot_vertical, drawn.foot_right)
        right = [column.justify == "right" for column in self.columns]
        inner = [width - 2 * len(_PAD) for width in widths]
        special, sections = self._lengths, self._section_after
        section = drawn.get_row(widths, "row")
        templates = {edges: _row_template(inner, right, edges) for edges in (middle, bottom)}
        columns = len(self.columns)
        tail_texts = None
        index = 0
        for part in self._parts:
            if type(part) is not list:
                if tail_texts is None:  # each distinct tail's text once: ` | type | shape ... |`, a `%` each in C
                    tail_texts = dict(zip(self._tails, map(tail_template(inner, right, middle).__mod__,
                                                           self._tails.values())))
                firsts, tails = part.firsts, part.tails
                through = len(firsts) - 1 if index + len(firsts) - 1 == last else len(firsts)  # the last row: below
                yield from run_lines(firsts, tails, through, inner[0], right[0], middle[0], tail_texts)
                index += through
                if through == len(firsts):
                    if index - 1 in sections and index - 1 != last:
                        yield section
                    continue
                # the table's last row, with the bottom edges
                yield _plain_row((firsts[-1], *tails[-1]), (len(firsts[-1]), *self._tail_lengths[id(tails[-1])]),
                                 inner, right, bottom)
                index += 1
                continue
            if formatted(part, index, special, columns):
                yield from formatted_lines(part, index, last, sections, section, templates[middle],
                                            templates[bottom])
                index += len(part)
                continue
            for cells in part:
                edges = bottom if index == last else middle
                if index in special or len(cells) != columns:
                    yield _plain_row(cells, special.get(index) or tuple(map(len, cells)), inner, right, edges)
                else:  # printable ASCII of every column: one `%` (its widths are its lengths)
                    yield templates[edges] % cells
                if index in sections and index != last:
                    yield section
                index += 1
        yield drawn.get_bottom(widths)
        yield from caption

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.text import Text

        widths = self._widths()
        table_width = sum(widths) + len(widths) + 1  # cells with their padding, and the borders
        if not self.fast_layout(widths, options.max_width):
            yield from console.render(self.as_table(), options)
            return
        annotation_options = options.update(width=table_width, highlight=False, height=None, justify="center")
        if self.title:
            yield from console.render(Text(self.title, style="table.title"), annotation_options)
        yield from self._body(console, options, widths)
        if self.caption:
            yield from console.render(Text(self.caption, style="table.caption"), annotation_options)

    def _special_lengths(self) -> dict[int, tuple[int, ...]]:
        """The cell widths of the rows whose widths are not their lengths, by index: `add_row`'s, and
        a run's rows whose tail is not ASCII (the memory table's bars)."""
        self._verify()
        wide = {ident for ident, tail in self._tails.items() if tuple(map(len, tail)) != self._tail_lengths[ident]}
        if not wide:
            return self._lengths
        special = dict(self._lengths)
        index = 0
        for part in self._parts:
            if type(part) is not list:
                for first, tail in zip(part.firsts, part.tails):
                    if id(tail) in wide:
                        special[index] = (len(first), *self._tail_lengths[id(tail)])
                    index += 1
            else:
                index += len(part)
        return special

    def _widths(self) -> list[int]:
        """Each column's width with its padding: its widest cell or its heading (measured as rows were added)."""
        self._verify()
        return [max(_cell_len(column.header), widest) + 2 * len(_PAD)
                for column, widest in zip(self.columns, self._widest)]

    def _plain_cells(self) -> bool:
        """True when rich would print every cell as it is (no wrapping, stripping or control codes): the
        rows were tested as they were added, a run's cells as `add_rows` adds them."""
        return not self._unclean and all(column.header.isprintable() and not column.header[-1:].isspace()
                                         for column in self.columns)

    def _body(self, console: Console, options: ConsoleOptions, widths: list[int]) -> RenderResult:
        from rich import box
        from rich.segment import Segment

        drawn = box.HEAVY_HEAD.substitute(options, safe=console.safe_box)
        line = Segment.line()
        yield Segment(drawn.get_top(widths))
        yield line
        header = tuple(column.header for column in self.columns)
        yield from self._row(header, console.get_style(self.header_style), widths,
                             (drawn.head_left, drawn.head_vertical, drawn.head_right))
        yield line
        yield Segment(drawn.get_row(widths, "head"))
        yield line
        last = self._count - 1
        middle = (drawn.mid_left, drawn.mid_vertical, drawn.mid_right)
        plain: list[str] = []  # consecutive unstyled lines, handed to rich as one segment: rich's cost is per segment
        # without a colour system rich writes a styled segment as its bare text: every row is plain text
        colourless = console.color_system is None
        right = [column.justify == "right" for column in self.columns]
        inner = [width - 2 * len(_PAD) for width in widths]
        special = self._special_lengths()
        cell_styles = self._cell_styles
        # a printable ASCII row of every column is one `%` (its widths are its lengths)
        templates = {edges: _row_template(inner, right, edges) for edges in (middle, (drawn.foot_left,
                                                                                       drawn.foot_vertical, drawn.foot_right))}
        columns = len(self.columns)
        for index, (cells, style) in enumerate(self.rows):
            edges = (drawn.foot_left, drawn.foot_vertical, drawn.foot_right) if index == last else middle
            styles = cell_styles.get(index) if cell_styles else None
            if (style is None and styles is None) or colourless:
                if index in special or len(cells) != columns:
                    plain.append(_plain_row(cells, special.get(index) or tuple(map(len, cells)), inner, right, edges))
                else:
                    plain.append(templates[edges] % tuple(cells))
                if len(plain) == _RUN:
                    yield Segment("\n".join(plain))
                    yield line
                    plain.clear()
            else:
                if plain:
                    yield Segment("\n".join(plain))
                    yield line
                    plain.clear()
                yield from self._row(cells, console.get_style(style) if style else None, widths, edges,
                                     self._styles_over(console, style, styles))
                yield line
            if index in self._section_after and index != last:
                plain.append(drawn.get_row(widths, "row"))
        if plain:
            yield Segment("\n".join(plain))
            yield line
        yield Segment(drawn.get_bottom(widths))
        yield line

    @staticmethod
    def _styles_over(console: Console, style: str | None, styles: tuple[str | None, ...] | None) -> list | None:
        """Each cell's style over the row's, as rich combines them; None when no cell has its own."""
        if styles is None:
            return None
        base = console.get_style(style) if style else None
        combined = []
        for cell_style in styles:
            own = console.get_style(cell_style) if cell_style else None
            combined.append(base + own if base is not None and own is not None else own or base)
        return combined

    def _row(self, cells: tuple[str, ...], style: Style | None, widths: list[int],
             edges: tuple[str, str, str], cell_styles: list | None = None) -> RenderResult:
        from rich.segment import Segment

        left, vertical, right = edges
        texts = [self._justified(cell, width - 2 * len(_PAD), column.justify)
                 for cell, width, column in zip(cells, widths, self.columns)]
        if style is None and cell_styles is None:  # one segment for the whole line: the same characters, far less work
            yield Segment(left + vertical.join(_PAD + text + _PAD for text in texts) + right)
            return
        # A styled row keeps rich's segments (padding, text, padding) so terminals get the same bytes.
        yield Segment(left)
        for index, text in enumerate(texts):
            if index:
                yield Segment(vertical)
            yield Segment(_PAD, style)
            yield Segment(text, cell_styles[index] if cell_styles is not None and index < len(cell_styles) else style)
            yield Segment(_PAD, style)
        yield Segment(right)

    @staticmethod
    def _justified(text: str, width: int, justify: str) -> str:
        gap = " " * (width - _cell_len(text))
        return gap + text if justify == "right" else text + gap


def _plain_row(cells: tuple[str, ...], lengths: tuple[int, ...], inner: list[int], right: list[bool],
               edges: tuple[str, str, str]) -> str:
    """An unstyled row as one line of text (what `Grid._row` yields for it as one segment)."""
    left, vertical, end = edges
    texts = [" " * (width - length) + cell if to_right else cell + " " * (width - length)
             for cell, length, width, to_right in zip(cells, lengths, inner, right)]
    return left + _PAD + (_PAD + vertical + _PAD).join(texts) + _PAD + end


def _row_template(inner: list[int], right: list[bool], edges: tuple[str, str, str]) -> str:
    """`_plain_row` as a `%` template, for rows (tuples) of printable ASCII cells, one per column: printf's
    parse costs less a row than `str.format`'s."""
    left, vertical, end = (edge.replace("%", "%%") for edge in edges)
    fields = [f"%{'' if to_right else '-'}{width}s" for width, to_right in zip(inner, right)]
    return left + _PAD + (_PAD + vertical + _PAD).join(fields) + _PAD + end


def _cell_len(text: str) -> int:
    """Terminal cells of `text`: its length when printable ASCII or box and block characters (every
    character one cell), else rich's count."""
    if text.isascii() and text.isprintable() or ONE_CELL.issuperset(text.translate(ASCII_GONE)):
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)
