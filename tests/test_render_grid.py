"""The fast table against rich's own `Table` as the reference: the same cells must print the same bytes,
plain or styled for a terminal, with rich's box substitutions, and through rich itself when too wide."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from cnncalc.pipeline import report_file
from cnncalc.render.grid import Column, Grid
from cnncalc.render.table import layer_table, memory_table


class AsciiFile(io.StringIO):
    """A stream that cannot take box-drawing characters, so rich substitutes ASCII boxes."""

    encoding = "ascii"


CONSOLES = {
    "plain": lambda f: Console(file=f, width=100, color_system=None),
    "terminal": lambda f: Console(file=f, width=200, force_terminal=True, color_system="truecolor"),
    "standard colours": lambda f: Console(file=f, width=200, force_terminal=True, color_system="standard"),
    "legacy windows": lambda f: Console(file=f, width=200, legacy_windows=True, force_terminal=True),
    "narrow": lambda f: Console(file=f, width=30, color_system=None),
}


def printed(renderable, console_name: str, ascii_only: bool = False) -> str:
    out = AsciiFile() if ascii_only else io.StringIO()
    CONSOLES[console_name](out).print(renderable)
    return out.getvalue()


@pytest.mark.parametrize("spec", ["resnet18", "googlenet", "mobilenet_v2", "lenet5"])
@pytest.mark.parametrize("console_name", sorted(CONSOLES))
def test_report_tables_print_as_rich_prints_them(spec, console_name):
    report = report_file(f"specs/{spec}.yaml")
    for grid in (layer_table(report), memory_table(report)):
        assert printed(grid, console_name) == printed(grid.as_table(), console_name)


def test_ascii_consoles_get_rich_s_ascii_box():
    grid = layer_table(report_file("specs/lenet5.yaml"))
    text = printed(grid, "plain", ascii_only=True)
    assert text == printed(grid.as_table(), "plain", ascii_only=True)
    assert "┃" not in text and "|" in text


def test_cells_are_plain_text_not_markup():
    grid = Grid("[red]model :fire:", "", [Column("Layer")])
    grid.add_row("conv[bold]1 of a wide table")
    text = printed(grid, "plain")
    assert "[red]model :fire:" in text and "conv[bold]1 of" in text


def test_a_table_wider_than_the_console_is_left_to_rich():
    grid = Grid("t", "c", [Column("Layer"), Column("Params", justify="right")])
    grid.add_row("a_rather_long_layer_name", "(3*3*64)*128 + 128 = 73,856")
    text = printed(grid, "narrow")
    assert text == printed(grid.as_table(), "narrow")
    assert max(len(line) for line in text.splitlines()) <= 30


cell_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@st.composite
def grids(draw) -> Grid:
    columns = [Column(draw(cell_text), draw(st.sampled_from(["left", "right"])), draw(st.booleans()))
               for _ in range(draw(st.integers(1, 4)))]
    grid = Grid(draw(cell_text), draw(cell_text), columns)
    for _ in range(draw(st.integers(0, 5))):
        grid.add_row(*(draw(cell_text) for _ in columns), style=draw(st.sampled_from([None, "bold", "italic"])))
        if draw(st.booleans()):
            grid.add_section()
    return grid


@settings(max_examples=100, deadline=None)
@given(grids(), st.sampled_from(["plain", "terminal", "narrow"]))
def test_any_grid_prints_as_rich_prints_it(grid, console_name):
    assert printed(grid, console_name) == printed(grid.as_table(), console_name)


@st.composite
def grids_with_cell_styles(draw) -> Grid:
    columns = [Column(draw(cell_text), draw(st.sampled_from(["left", "right"])), draw(st.booleans()))
               for _ in range(draw(st.integers(1, 4)))]
    grid = Grid(draw(cell_text), draw(cell_text), columns)
    styles = st.sampled_from([None, "green", "bold red", "italic"])
    for _ in range(draw(st.integers(0, 5))):
        grid.add_row(*(draw(cell_text) for _ in columns), style=draw(st.sampled_from([None, "bold", "italic"])),
                     cell_styles=draw(st.one_of(st.none(), st.tuples(*(styles for _ in columns)))))
        if draw(st.booleans()):
            grid.add_section()
    return grid


@settings(max_examples=100, deadline=None)
@given(grids_with_cell_styles(), st.sampled_from(sorted(CONSOLES)))
def test_cell_styles_print_as_rich_prints_styled_text(grid, console_name):
    assert printed(grid, console_name) == printed(grid.as_table(), console_name)


@settings(max_examples=100, deadline=None)
@given(grids_with_cell_styles(), st.sampled_from(sorted(CONSOLES)))
def test_print_to_skips_only_a_cropping_that_changes_nothing(grid, console_name):
    out = io.StringIO()
    grid.print_to(CONSOLES[console_name](out))
    assert out.getvalue() == printed(grid, console_name)


def test_a_long_table_prints_as_rich_prints_it():
    # hundreds of unstyled rows go to rich as runs of lines in one segment, between styled ones
    grid = Grid("t", "c", [Column("Layer"), Column("Bytes", justify="right")])
    for i in range(300):
        grid.add_row(f"relu{i}", f"{i * 7:,} B", style="bold" if i % 100 == 99 else None)
        if i % 150 == 0:
            grid.add_section()
    for console_name in ("plain", "terminal"):
        assert printed(grid, console_name) == printed(grid.as_table(), console_name)


@pytest.mark.parametrize("console_name", ["plain", "terminal", "legacy windows", "narrow"])
def test_a_large_table_printed_in_parts_is_the_same_bytes_as_one_print(console_name):
    """print_to prints a table of more than a few thousand rows a few runs at a time (rich would hold all
    of it until the print ends): every byte as one `console.print(grid, crop=False)` writes it."""
    from cnncalc.render import grid as grid_module

    grid = Grid("a long one", "its caption", [Column("Layer"), Column("n", justify="right")])
    for i in range(grid_module._PRINTED_WHOLE + 3 * grid_module._RUN + 7):
        grid.add_row(f"layer{i}", str(i * 7), style="bold" if i % 1500 == 3 else None)
        if i % 2000 == 5:
            grid.add_section()
    grid.add_row("caf\u00e9 \u2192 wide \u4e2d", "1")  # a row whose widths are not its lengths
    whole, parts = io.StringIO(), io.StringIO()
    CONSOLES[console_name](whole).print(grid, crop=False)
    grid.print_to(CONSOLES[console_name](parts))
    assert parts.getvalue() == whole.getvalue() and parts.getvalue().count("\n") > grid_module._PRINTED_WHOLE


ASCII_CELL = st.text(st.sampled_from("ab1-\u2588"), max_size=6)
NAME_CELL = st.text(st.sampled_from("ab1-/_"), max_size=6)  # the first cells of runs: layer names


def _pairs(draw, columns: int):
    """Rows as (first cell, tail): a few tails shared by identity, first cells of any text (or ASCII)."""
    text = draw(st.sampled_from([cell_text, NAME_CELL]))
    shared = [tuple(draw(text) for _ in range(columns - 1)) for _ in range(draw(st.integers(1, 3)))]
    return [(draw(text), shared[draw(st.integers(0, len(shared) - 1))]) for _ in range(draw(st.integers(0, 6)))]


def added(grid: Grid, firsts: list[str], tails: list[tuple[str, ...]], as_run: bool) -> None:
    """`grid.add_rows`, the rows kept as a run or as rows (whatever their number: grid._RUN_ROWS)."""
    from cnncalc.render import grid as grid_module

    saved = grid_module._RUN_ROWS
    grid_module._RUN_ROWS = 0 if as_run else len(firsts) + 1
    try:
        grid.add_rows(firsts, tails)
    finally:
        grid_module._RUN_ROWS = saved


@st.composite
def grids_with_runs(draw) -> tuple[Grid, Grid]:
    """The same table twice: one made row by row, one with `add_rows` runs between rows and sections."""
    columns = [Column(draw(cell_text), draw(st.sampled_from(["left", "right"])), draw(st.booleans()))
               for _ in range(draw(st.integers(2, 4)))]
    title, caption = draw(cell_text), draw(cell_text)
    one, runs = Grid(title, caption, columns), Grid(title, caption, columns)
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            pairs = _pairs(draw, len(columns))
            for first, tail in pairs:
                one.add_row(first, *tail)
            added(runs, [first for first, _ in pairs], [tail for _, tail in pairs], draw(st.booleans()))
        else:
            cells = [draw(cell_text) for _ in columns]
            style = draw(st.sampled_from([None, "bold"]))
            one.add_row(*cells, style=style)
            runs.add_row(*cells, style=style)
        if draw(st.booleans()):
            one.add_section()
            runs.add_section()
    return one, runs


@st.composite
def plain_grids_with_runs(draw) -> tuple[Grid, Grid]:
    """As `grids_with_runs`, of the cells a layer or memory table has (ASCII, the bars' blocks): drawn here."""
    justify = st.sampled_from(["left", "right"])
    columns = [Column(h, draw(justify)) for h in ("Layer", "N", "Bar")]
    one, runs = Grid("t", "c", columns), Grid("t", "c", columns)
    for _ in range(draw(st.integers(1, 4))):
        shared = [(draw(ASCII_CELL), draw(ASCII_CELL)) for _ in range(draw(st.integers(1, 2)))]
        pairs = [(draw(NAME_CELL), shared[draw(st.integers(0, len(shared) - 1))])
                 for _ in range(draw(st.integers(0, 600)))]
        if pairs and draw(st.integers(0, 5)) == 0:  # a first cell rich strips: the run is added row by row
            pairs[draw(st.integers(0, len(pairs) - 1))] = ("x ", shared[0])
        for first, tail in pairs:
            one.add_row(first, *tail)
        added(runs, [first for first, _ in pairs], [tail for _, tail in pairs], draw(st.booleans()))
        if draw(st.booleans()):
            one.add_row("Total", "1", "", style="bold")
            runs.add_row("Total", "1", "", style="bold")
        if draw(st.booleans()):
            one.add_section()
            runs.add_section()
    return one, runs


@settings(max_examples=100, deadline=None)
@given(grids_with_runs(), st.sampled_from(sorted(CONSOLES)))
def test_rows_added_as_runs_print_as_rows_added_one_by_one(pair, console_name):
    one, runs = pair
    assert printed(runs, console_name) == printed(one, console_name) == printed(one.as_table(), console_name)
    assert runs.plain_lines(400) is None and one.plain_lines(400) is None or \
        "\n".join(runs.plain_lines(400)) == "\n".join(one.plain_lines(400))


@settings(max_examples=30, deadline=None)
@given(plain_grids_with_runs())
def test_runs_drawn_in_pieces_are_the_lines_of_their_rows(pair):
    """Runs of one tail are drawn a few hundred rows a piece (`_run_lines`), of several tails row by row."""
    one, runs = pair
    lines, reference = runs.plain_lines(400), one.plain_lines(400)
    assert (lines is None) == (reference is None)
    if lines is not None:
        assert "".join(piece + "\n" for piece in lines) == "".join(line + "\n" for line in reference)
        assert "".join(piece + "\n" for piece in runs.plain_lines(400)) == printed(one.as_table(), "plain")


def test_box_and_block_characters_are_one_cell_as_rich_counts_them():
    from rich.cells import cell_len

    from cnncalc.render import grid, runs

    assert all(cell_len(character) == 1 for character in runs.ONE_CELL)
    for text in ("\u2588" * 3 + "\u258c 1.2 MiB", "", "a\tb", "\u4e2d\u6587 x", "\u2588\u0301"):
        assert grid._cell_len(text) == cell_len(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("a \x00\t\u2588\u2502\u202e\u00a0\u00e9\n"), max_size=4), max_size=5))
def test_cells_are_plain_as_each_cell_is(cells):
    """runs.plain_texts' test of many cells at once in C agrees with its definition cell by cell: printable,
    nothing to escape, no trailing whitespace, a character a cell (ASCII, box and block characters)."""
    from cnncalc.render import runs
    from cnncalc.render.safe import escape

    assert runs.plain_texts(cells) == all(
        cell.isprintable() and not cell[-1:].isspace() and escape(cell) == cell
        and all(c.isascii() or c in runs.ONE_CELL for c in cell) for cell in cells)
    assert runs.plain_texts([*cells, 1]) is False
