"""cnncalc/render/plain.py and `Grid.plain_lines`: the report written without rich's console is, byte
for byte, what rich writes to an output it gives no colour (rich is the reference: a pipe or a file)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from cnncalc.pipeline import report_file
from cnncalc.render import plain
from cnncalc.render.grid import Column, Grid
from cnncalc.render.table import NATURAL_WIDTH, layer_table, memory_table, print_report, render


class Pipe(io.StringIO):
    """Standard output redirected to a file: no terminal, UTF-8."""

    encoding = "utf-8"

    def isatty(self) -> bool:
        return False


def rich_centred(text: str, width: int) -> str:
    """A table's title or caption as rich's Table (and `Grid`) render it: the table's width, centred."""
    console = Console(file=io.StringIO(), width=NATURAL_WIDTH, color_system=None)
    options = console.options.update(width=width, highlight=False, height=None, justify="center")
    return "".join(segment.text for segment in console.render(Text(text, style="table.title"), options))


ASCII_TEXT = st.text(st.sampled_from("ab cd  efghij\n-=x "), min_size=1, max_size=120)  # a grid has no empty title


@settings(max_examples=300, deadline=None)
@given(ASCII_TEXT, st.integers(1, 40))
def test_titles_and_captions_wrap_and_centre_as_richs(text, width):
    assert "".join(line + "\n" for line in plain.centred(text, width)) == rich_centred(text, width)


def test_text_that_is_not_printable_ascii_is_left_to_rich():
    assert plain.centred("caf\u00e9", 10) is None and plain.centred("a\tb", 10) is None
    assert plain.text_lines("a\x1b[2Jb") is None and plain.text_lines("a\nb") == ["a", "b"]


def rich_printed(grid: Grid) -> str:
    out = io.StringIO()
    grid.print_to(Console(file=out, width=NATURAL_WIDTH, highlight=False, color_system=None))
    return out.getvalue()


@pytest.mark.parametrize("spec", ["resnet18", "googlenet", "lenet5", "unet_small"])
@pytest.mark.parametrize("table", [layer_table, memory_table])
def test_the_tables_of_shipped_specs_are_richs(spec, table):
    grid = table(report_file(f"specs/{spec}.yaml"))
    assert "".join(line + "\n" for line in grid.plain_lines(NATURAL_WIDTH)) == rich_printed(grid)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.text(st.sampled_from("ab 1\u2588"), min_size=1, max_size=9).map(str.strip)
                         .filter(bool), min_size=3, max_size=3), max_size=6),
       st.text(st.sampled_from("Tt le"), max_size=30), st.text(st.sampled_from("cap tion \n"), max_size=80),
       st.sets(st.integers(0, 5)))
def test_a_grid_is_richs(rows, title, caption, sections):
    grid = Grid(title, caption, [Column("Name"), Column("N", justify="right"), Column("x")])
    for index, row in enumerate(rows):
        grid.add_row(*row, style="bold" if index % 2 else None)
        if index in sections:
            grid.add_section()
    lines = grid.plain_lines(NATURAL_WIDTH)
    if lines is not None:  # None where rich's Table draws it (an empty column)
        assert "".join(line + "\n" for line in lines) == rich_printed(grid)


def test_a_grid_too_wide_or_with_an_odd_title_is_left_to_rich():
    grid = Grid("t", "", [Column("a")])
    grid.add_row("x" * 500)
    assert grid.plain_lines(NATURAL_WIDTH) is None
    named = Grid("caf\u00e9", "", [Column("a")])
    named.add_row("x")
    assert named.plain_lines(NATURAL_WIDTH) is None


@pytest.mark.parametrize("spec, convention, depth, device", [("vgg16", None, None, "cpu"), ("resnet18", None, 1, "cpu"),
                                                             ("googlenet", None, None, "cpu"),
                                                             ("mobilenet_v2", "pytorch", None, "cuda")])
def test_the_whole_report_is_what_rich_writes(spec, convention, depth, device, monkeypatch):
    from cnncalc.pipeline import report_options

    report = report_file(f"specs/{spec}.yaml", convention, report_options(device=device))
    theirs = Pipe()
    render(report, Console(file=theirs, highlight=False), depth)
    ours = Pipe()
    monkeypatch.setattr("sys.stdout", ours)
    assert plain.is_plain()
    print_report(report, depth)
    assert ours.getvalue() == theirs.getvalue()


def test_a_terminal_or_forced_colour_is_richs(monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    assert plain.is_plain(Pipe())
    terminal = Pipe()
    terminal.isatty = lambda: True
    assert not plain.is_plain(terminal)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert not plain.is_plain(Pipe())
    ascii_pipe = Pipe()
    ascii_pipe.encoding = "ascii"
    monkeypatch.delenv("FORCE_COLOR")
    assert not plain.is_plain(ascii_pipe)


@given(st.lists(st.integers(0, 30), min_size=1, max_size=8))
def test_the_plain_box_draws_richs_heavy_head(widths):
    from rich import box

    ours, theirs = plain.Box(), box.HEAVY_HEAD
    assert [ours.get_top(widths), ours.get_row(widths, "head"), ours.get_row(widths, "row"), ours.get_bottom(widths)] \
        == [theirs.get_top(widths), theirs.get_row(widths, "head"), theirs.get_row(widths, "row"),
            theirs.get_bottom(widths)]
    for part in ("head", "mid", "foot"):
        for side in ("left", "vertical", "right"):
            assert getattr(ours, f"{part}_{side}") == getattr(theirs, f"{part}_{side}")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(" ab-=(,)"), max_size=40))
def test_words_are_rich_s_words_without_the_pattern(line):
    """plain._words finds the matches of rich's divide_line pattern in printable ASCII (whose only
    whitespace is the space) with str methods."""
    import re

    assert plain._words(line) == [(m.start(), m.group(0)) for m in re.finditer(r"\s*\S+\s*", line)]


@pytest.mark.parametrize("times", [3, 40])
@pytest.mark.parametrize("large", [False, True])
def test_a_blocks_rows_as_rows_or_as_a_run_are_richs(times, large, tmp_path, monkeypatch):
    """A block's layer rows are added as rows when few, as a run of shared tails from grid._RUN_ROWS on
    (always in a grid of _FLAT_ROWS rows or more): either way the table is what rich prints."""
    from cnncalc.render import grid as grid_module

    assert 3 < grid_module._RUN_ROWS <= 40
    if large:
        monkeypatch.setattr(grid_module, "_FLAT_ROWS", 2)
    spec = tmp_path / "block.yaml"
    spec.write_text("input: 8x8x3\nblocks:\n  stack:\n    layers:\n      - conv: {filters: 4, kernel: 1}\n"
                    f"      - repeat: {{times: {times}, layers: [relu]}}\nlayers:\n  - stack\n  - stack\n")
    grid = layer_table(report_file(str(spec)))
    assert "".join(line + "\n" for line in grid.plain_lines(NATURAL_WIDTH)) == rich_printed(grid)
