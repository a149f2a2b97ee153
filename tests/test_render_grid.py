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
