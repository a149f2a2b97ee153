"""The terminal report: a cs231n-style table, the totals, and the memory summary (rich)."""

from __future__ import annotations

from itertools import accumulate, chain, groupby, repeat
from operator import attrgetter, itemgetter

from cnncalc import counting
from cnncalc.memory import DTYPE_BYTES, OPTIMIZER_SLOTS
from cnncalc.render.grid import Column, Grid
from cnncalc.render import cells
from cnncalc.report import Report, Row
from cnncalc.units import binary, exact, short

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md

if TYPE_CHECKING:
    from rich.console import Console


#: scopes that get a subtotal row when they close (blocks); branches and shortcuts only a heading.
_UNTOTALLED = ("branch", "shortcut")


def _open(table: Grid, depth: int, name: str, kind: str) -> None:
    table.add_row("  " * depth + name + "/", kind, "", "", "", "", style="bold")


def _close(table: Grid, depth: int, name: str, kind: str, members: tuple[tuple, int, int],
           collapsed: bool = False) -> None:
    """A subtotal row where the block ends (its members: the rows `start` up to `end`); a collapsed block
    is that one row, named and typed as it."""
    sums, start, end = members
    if start == end or (kind in _UNTOTALLED and not collapsed):
        return
    rows, *running = sums
    activations, params, macs = (totals[end] - totals[start] for totals in running)
    table.add_row(
        "  " * depth + (name if collapsed else f"= {name}"),
        kind if collapsed else "subtotal",
        " x ".join(map(str, rows[end - 1].output_shape)),
        short(activations),
        exact(params) if params else "",
        exact(macs) if macs else "",
        style=None if collapsed else "italic",
    )


def _shown(level: int, depth: int | None) -> bool:
    return depth is None or level < depth


def _shape_text(shape: tuple[int, ...]) -> str:
    return " x ".join(map(str, shape))


def _activations_text(key: tuple[tuple[int, ...], bool, int]) -> str:
    return cells.activations_text(*key)


def _params_text(key: tuple[int, str | None]) -> str:
    return cells.params_text(*key)


def _macs_text(macs: int) -> str:
    return exact(macs) if macs else ""


def _once(make, values) -> list[str]:
    """`make` of each value, called once per distinct value (a network repeats a few shapes and counts)."""
    distinct = list(dict.fromkeys(values))
    return list(map(dict(zip(distinct, map(make, distinct))).__getitem__, values))


def _tails(rows: tuple[Row, ...]) -> list[tuple[str, ...]]:
    """Each row's cells after its name, made once per distinct (type, shape, counts): the rows of a repeat
    share one tuple (drawn once, cnncalc/render/grid.py's `add_rows`), and each cell's text once per
    distinct value a column at a time."""
    keys = list(map(_tail_key, rows))
    distinct = list(dict.fromkeys(keys))
    kinds, shapes, inplace, activations, params, formulas, macs = zip(*distinct) if distinct else ((),) * 7
    tails = zip(kinds, _once(_shape_text, shapes), _once(_activations_text, list(zip(shapes, inplace, activations))),
                _once(_params_text, list(zip(params, formulas))), _once(_macs_text, macs))
    return list(map(dict(zip(distinct, tails)).__getitem__, keys))


#: a row's key in `_tails`, read in C
_tail_key = attrgetter("type", "output_shape", "inplace", "activations", "params", "params_formula", "macs")


def _sums(rows: tuple[Row, ...]) -> tuple:
    """The rows, and the running sums of their activations, params and MACs (from 0): a block's subtotal is
    two lookups a column."""
    return (rows, *(list(accumulate(map(column, rows), initial=0))
                    for column in (_activations_of, _params_of, _macs_of)))


def _relative(names: list[str], block: tuple[str, ...]) -> list[str]:
    """Layer names shown without their block's path, indented by its depth (in C where all have it)."""
    joined = "/".join(block)
    indent = "  " * len(block)
    if not joined:
        return list(map(indent.__add__, names))
    prefix = joined + "/"
    if all(map(str.startswith, names, repeat(prefix))):
        return list(map(indent.__add__, map(itemgetter(slice(len(prefix), None)), names)))
    return [indent + (name[len(prefix):] if name.startswith(prefix) else name) for name in names]


def _add_rows(table: Grid, rows: tuple[Row, ...], depth: int | None = None) -> None:
    """Rows in execution order, a heading when a block starts and a subtotal when it ends; blocks
    nested `depth` levels deep or more are folded into one row each (torchinfo's depth)."""
    tails = _tails(rows)
    if not any(map(_block_of, rows)):  # no blocks (a chain, a repeat of unnamed layers): one run, in C
        table.add_rows(list(map(_name_of, rows)), tails)
        return
    sums = _sums(rows)
    # the open blocks as (name, kind, index of their first row): a block's members are the rows from there on
    open_scopes: list[tuple[str, str, int]] = []
    position = 0
    for block, group in groupby(rows, _block_of):  # the scopes change only where the block does
        names = list(map(_name_of, group))
        first = rows[position]
        shared = 0
        while shared < len(open_scopes) and shared < len(block) and open_scopes[shared][0] == block[shared]:
            shared += 1
        while len(open_scopes) > shared:
            name, kind, start = open_scopes.pop()
            _end(table, len(open_scopes), name, kind, (sums, start, position), depth)
        for level in range(shared, len(block)):
            kind = first.block_kinds[level] if level < len(first.block_kinds) else ""
            if _shown(level, depth):
                _open(table, level, block[level], kind)
            open_scopes.append((block[level], kind, position))
        if _shown(len(block) - 1, depth):
            table.add_rows(_relative(names, block) if block else names, tails[position:position + len(names)])
        position += len(names)
    while open_scopes:
        name, kind, start = open_scopes.pop()
        _end(table, len(open_scopes), name, kind, (sums, start, len(rows)), depth)


_block_of = attrgetter("block")
_params_of = attrgetter("params")
_macs_of = attrgetter("macs")
_activations_of = attrgetter("activations")
_name_of = attrgetter("name")


def _end(table: Grid, level: int, name: str, kind: str, members: tuple[tuple, int, int], depth: int | None) -> None:
    if _shown(level, depth):
        _close(table, level, name, kind, members)
    elif level == depth:
        _close(table, level, name, kind, members, collapsed=True)


def layer_table(report: Report, depth: int | None = None) -> Grid:
    table = Grid(report.name, counting.caption(report), [
        Column("Layer", no_wrap=True),
        Column("Type", no_wrap=True),
        Column("Output [H x W x C]", no_wrap=True),
        Column("Activations", justify="right"),
        Column("Params", justify="right"),
        Column("MACs", justify="right"),
    ])
    _add_rows(table, report.rows, depth)
    t = report.totals
    table.add_section()
    table.add_row("Total", "", "", short(t.activations), exact(t.params), exact(t.macs), style="bold")
    return table


def _outputs_lines(report: Report) -> list[str]:
    """Per output (networks with side outputs only): its layer and the params and MACs that feed it alone."""
    if not report.heads:
        return []
    batch = report.options.batch
    heads = "; ".join(
        f"{h.name} ({h.layer}{', training only' if h.training_only else ''}) {exact(h.params)} params, "
        f"{exact(h.macs * batch)} MACs" for h in report.heads)
    running = [h.name for h in report.heads if not h.training_only]
    left_out = [h.name for h in report.heads if h.training_only]
    line = f"inference runs {', '.join(running)}"
    if left_out:
        line += f"; training-only heads left out of inference memory and MACs: {', '.join(left_out)}"
    return [f"Outputs: {heads}", f"  ({line})"]


def summary(report: Report):
    """The totals and the textbook memory lines under the layer table, as rich Text."""
    from rich.text import Text

    return Text(summary_text(report))


def summary_text(report: Report) -> str:
    opts = report.options
    size = DTYPE_BYTES[opts.dtype]
    m = report.memory
    t = report.totals
    batch = f" x batch {opts.batch}" if opts.batch > 1 else ""
    slots = OPTIMIZER_SLOTS[opts.optimizer]
    lines = [
        f"Params: {exact(t.params)} trainable"
        + (f", {exact(t.buffers)} non-trainable (batch-norm running statistics)" if t.buffers else ""),
        counting.summary_line(report, exact, short),
        *_outputs_lines(report),
    ]
    if m.model != "textbook":
        return "\n".join(lines)
    lines += [
        "",
        f"Memory, {m.model} model ({opts.dtype}, {size} B/element; 1 MiB = 1024 x 1024 B):",
        f"  forward activations  {short(t.activations)} x {size} B{batch} = {binary(m.activations_bytes)}"
        + (" / image" if not batch else ""),
        f"  parameters           {short(t.params)} x {size} B = {binary(m.params_bytes)}",
        f"  inference            parameters + largest layer (inputs + output){batch} = {binary(m.inference_bytes)}",
        f"  training             2 x activations (values + gradients) + parameters x {2 + slots} "
        f"(weights, gradients, {opts.optimizer} x {slots}) = {binary(m.training_bytes)}",
    ]
    return "\n".join(lines)


#: wider than any table cnncalc prints: tables keep their natural width, never squeezed to 80 columns
NATURAL_WIDTH = 400


def print_report(report: Report, depth: int | None = None) -> None:
    """`cnncalc analyze`'s table on standard output: written here when rich would write it without
    colour (a pipe, a file: cnncalc/render/plain.py), through rich otherwise (a terminal)."""
    from cnncalc.render import plain

    if not plain.is_plain():
        from rich.console import Console

        render(report, Console(highlight=False), depth)
        return
    from cnncalc import collector

    with collector.paused():  # as in `render`
        _print_plain(report, depth)


def _print_plain(report: Report, depth: int | None) -> None:
    rich_console: list = []  # made only for a part plain.py leaves to rich

    def wide():
        if not rich_console:
            from rich.console import Console

            rich_console.append(_wide(Console(highlight=False))[0])
        return rich_console[0]

    _emit(layer_table(report, depth), wide)
    _emit_text(summary_text(report), wide)
    _emit(memory_table(report), wide)
    _emit_text(memory_summary_text(report), wide)


def _emit(table: Grid, wide) -> None:
    from cnncalc.render import plain

    lines = table.plain_lines(NATURAL_WIDTH)
    if lines is None:
        table.print_to(wide())
    else:
        plain.write_lines(lines)


def _emit_text(text: str, wide) -> None:
    from cnncalc.render import plain

    lines = plain.text_lines(text)
    if lines is None:
        from rich.text import Text

        wide().print(Text(text), soft_wrap=True)
    else:
        plain.write_lines(lines)


def _wide(console: Console) -> tuple[Console, bool]:
    """A console as wide as any table (tables keep their natural width, never squeezed to 80 columns)
    and whether it writes ASCII (a standard output that cannot encode the block characters)."""
    from rich.console import Console

    from cnncalc.render.safe import EncodableFile, unicode_output

    # a standard output that cannot encode the block characters (PYTHONIOENCODING=ascii, latin-1)
    # gets '#' bars, rich's ASCII boxes, and backslash escapes for any other character
    plain = not unicode_output(console.file)
    # Tables are not expanded, so a generous width costs nothing and saves measuring them twice.
    return Console(file=EncodableFile(console.file) if plain else console.file, width=max(console.width, NATURAL_WIDTH),
                   highlight=False, force_terminal=console.is_terminal, no_color=console.no_color), plain


def render(report: Report, console: Console, depth: int | None = None) -> None:
    """Print the table at its natural width (never squeezed into an 80-column pipe) and the summary;
    `depth`: block levels shown before blocks fold into one row (None: all)."""
    from cnncalc import collector

    with collector.paused():  # a grid row per layer, no cycles among them (cnncalc/collector.py): a third of the time
        _render(report, console, depth)


def _render(report: Report, console: Console, depth: int | None) -> None:
    table = layer_table(report, depth)
    wide, plain = _wide(console)
    table.print_to(wide)
    del table  # a million-layer table's rows are freed before the memory table's are made
    wide.print(summary(report), soft_wrap=True)
    memory_table(report, ascii=plain).print_to(wide)
    wide.print(memory_summary(report), soft_wrap=True)


BAR_WIDTH = 20


def _bar(value: int, largest: int, ascii: bool = False) -> str:
    """A bar of eighth-blocks, so the eye finds the heavy layers ('#'s where the output is not Unicode)."""
    if not largest or not value:
        return ""
    if ascii:
        return "#" * max(1, round(BAR_WIDTH * value / largest))
    eighths = max(1, round(BAR_WIDTH * 8 * value / largest))
    return "\u2588" * (eighths // 8) + ("", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589")[eighths % 8]


def memory_caption(report: Report, held: int) -> str:
    """What the Total column means, with the figures it adds up to."""
    m = report.memory
    lines = ["output = new storage (0 when a view or in place); gradient = buffers its backward allocates"]
    resident = m.params_bytes + m.buffers_bytes + m.optimizer_bytes
    if m.model == "textbook":
        lines += [
            "Total = output + gradient: what the layer adds to training memory, each tensor once "
            "(what it keeps for backward is its output)",
            f"column {binary(held)} + parameters, their gradients, buffers and optimizer state "
            f"{binary(resident + m.gradients_bytes)} = training {binary(m.training_bytes)}",
        ]
        return "\n".join(lines)
    workspace = m.training_bytes - resident - held
    lines += [
        f"Total = the layer's bytes alive at the training peak{_where(m.training_peak)}, each storage once, "
        "at the layer that allocated it (the input's row: the batch; the last layer's: also the loss gradient; "
        "gradient sums where branches meet: the layer whose backward adds them)",
        f"column {binary(held)} + parameters, buffers and optimizer state {binary(resident)} "
        f"+ workspace at that moment {binary(workspace)} = training peak {binary(m.training_bytes)}",
    ]
    return "\n".join(lines)


def memory_table(report: Report, ascii: bool = False) -> Grid:
    m = report.memory
    saved = "saved for backward" if m.model == "pytorch" else "kept for backward"
    columns = [Column(heading, justify="left" if heading == "Layer" else "right", no_wrap=True)
               for heading in ("Layer", "Output", saved.capitalize(), "Gradient", "Total")]
    totals = m.held_at_peak_column()
    held = sum(totals)
    table = Grid(f"Memory per layer, {m.model} model, batch {report.options.batch}",
                 memory_caption(report, held), columns + [Column("", no_wrap=True)])
    layers = m.layers
    outputs, saved_bytes, gradients = (list(map(column, layers)) for column in (_output_bytes, _saved_bytes,
                                                                                _gradient_bytes))
    keys = list(zip(outputs, saved_bytes, gradients, totals))
    table.add_rows(list(map(_name_of, layers)), _figures(keys, max(totals, default=0), ascii))
    table.add_section()
    table.add_row("Total", binary(sum(outputs)), binary(sum(saved_bytes)), binary(sum(gradients)), binary(held), "",
                  style="bold")
    return table


def _figures(keys: list[tuple[int, int, int, int]], largest: int, ascii: bool) -> list[tuple[str, ...]]:
    """Each layer's figures (output, saved, gradient, total bytes) as cells with the total's bar: once per
    distinct figures (a run's rows share one tuple), each size written once (a network repeats a handful)."""
    distinct = list(dict.fromkeys(keys))
    sizes = list(dict.fromkeys(chain.from_iterable(distinct)))
    written = dict(zip(sizes, map(binary, sizes)))
    columns = [map(written.__getitem__, column) for column in zip(*distinct)]
    bars = map(_bar, map(itemgetter(3), distinct), repeat(largest), repeat(ascii))
    return list(map(dict(zip(distinct, zip(*columns, bars))).__getitem__, keys))


_output_bytes = attrgetter("output_bytes")
_saved_bytes = attrgetter("saved_bytes")
_gradient_bytes = attrgetter("gradient_bytes")


def _where(peak) -> str:
    return f" (during {peak.phase}, at {peak.layer})" if peak is not None and peak.layer else ""


def memory_summary(report: Report):
    """The memory summary under the memory table, as rich Text."""
    from rich.text import Text

    return Text(memory_summary_text(report))


def memory_summary_text(report: Report) -> str:
    m = report.memory
    opts = report.options
    precision = f"{opts.amp} activations, float32 weights (amp)" if m.amp else opts.dtype
    rows = [
        ("parameters", m.params_bytes),
        ("non-trainable buffers", m.buffers_bytes),
        ("gradients", m.gradients_bytes),
        (f"optimizer state ({opts.optimizer})", m.optimizer_bytes),
        ("saved activations" if m.model == "pytorch" else "activations", m.activations_bytes),
        ("workspace/temporaries", m.workspace_bytes),
    ]
    model = f"{m.model} model" + (f" ({m.model_note})" if m.model_note else "")
    lines = [f"Memory summary, {model}, batch {opts.batch}, {precision}, device {m.device} "
             "(1 MiB = 1024 x 1024 B):"]
    lines += [f"  {label:<32}{binary(value):>12}" for label, value in rows]
    lines.append(f"  {'training peak':<32}{binary(m.training_bytes):>12}{_where(m.training_peak)}")
    lines.append(f"  {'inference peak':<32}{binary(m.inference_bytes):>12}{_where(m.inference_peak)}")
    if m.cpu is not None:
        lines.append(f"  {'CPU kernels modelled':<32}{m.cpu.describe()}")
    if m.cuda is not None:
        lines += _cuda_lines(m.cuda)
    return "\n".join(lines)


def _cuda_lines(c) -> list[str]:
    """The caching allocator's peaks (simulated, exact under the model's rules) apart from the estimates."""
    gpu = f"{c.gpu.name}; " if c.gpu is not None else ""
    lines = [f"CUDA caching allocator, simulated ({gpu}cuBLAS workspaces of {binary(c.cublas_workspace_bytes)}: "
             f"{c.cublas_workspaces_training} in training, {c.cublas_workspaces_inference} at inference; "
             "no cuDNN workspace):"]
    full = f" OUT OF MEMORY on {binary(c.budget_bytes)} (figures without a limit)" if c.budget_bytes else ""
    for label, peak in (("training", c.training), ("inference", c.inference)):
        lines.append(f"  {label + ' allocated / reserved':<32}{binary(peak.allocated):>12} / {binary(peak.reserved)}"
                     + (full if peak.oom else ""))
    lines.append("ESTIMATES (depend on GPU, driver and cuDNN's choice of algorithm):")
    for label, peak in (("training", c.training_high), ("inference", c.inference_high)):
        lines.append(f"  {label + ', GEMM-family workspaces':<32}{'~' + binary(peak.allocated):>12} / "
                     f"~{binary(peak.reserved)} (largest ~{binary(c.cudnn_workspace_high_bytes)})")
    lines.append(f"  {'CUDA context (outside counters)':<32}{'~' + binary(c.context_bytes):>12}")
    return lines
