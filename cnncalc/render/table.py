"""The terminal report: a cs231n-style table, the totals, and the memory summary (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cnncalc.memory import DTYPE_BYTES, OPTIMIZER_SLOTS
from cnncalc.report import Report, Row
from cnncalc.units import binary, exact, short


def _activations(row: Row) -> str:
    if row.inplace:
        return "(in place)"
    if len(row.output_shape) == 1:
        return exact(row.activations)
    return f"{'*'.join(str(d) for d in row.output_shape)} = {short(row.activations)}"


def _params(row: Row) -> str:
    if not row.params:
        return ""
    return f"{row.params_formula} = {exact(row.params)}" if row.params_formula else exact(row.params)


#: scopes that get a subtotal row when they close (blocks); branches and shortcuts only a heading.
_UNTOTALLED = ("branch", "shortcut")


def _local_name(row: Row) -> str:
    prefix = "/".join(row.block)
    return row.name[len(prefix) + 1:] if prefix and row.name.startswith(prefix + "/") else row.name


def _open(table: Table, depth: int, name: str, kind: str) -> None:
    table.add_row("  " * depth + name + "/", kind, "", "", "", "", style="bold")


def _close(table: Table, depth: int, name: str, kind: str, members: list[Row]) -> None:
    if kind in _UNTOTALLED or not members:
        return
    last = members[-1]
    params = sum(r.params for r in members)
    macs = sum(r.macs for r in members)
    table.add_row(
        "  " * depth + f"= {name}",
        "subtotal",
        " x ".join(str(d) for d in last.output_shape),
        short(sum(r.activations for r in members)),
        exact(params) if params else "",
        exact(macs) if macs else "",
        style="italic",
    )


def _add_rows(table: Table, rows: tuple[Row, ...]) -> None:
    """Rows in execution order, a heading when a block starts and a subtotal when it ends."""
    open_scopes: list[tuple[str, str, list[Row]]] = []
    for row in rows:
        shared = 0
        while (shared < len(open_scopes) and shared < len(row.block)
               and open_scopes[shared][0] == row.block[shared]):
            shared += 1
        while len(open_scopes) > shared:
            name, kind, members = open_scopes.pop()
            _close(table, len(open_scopes), name, kind, members)
        for depth in range(shared, len(row.block)):
            kind = row.block_kinds[depth] if depth < len(row.block_kinds) else ""
            _open(table, depth, row.block[depth], kind)
            open_scopes.append((row.block[depth], kind, []))
        for _, _, members in open_scopes:
            members.append(row)
        table.add_row(
            "  " * len(row.block) + _local_name(row),
            row.type,
            " x ".join(str(d) for d in row.output_shape),
            _activations(row),
            _params(row),
            exact(row.macs) if row.macs else "",
        )
    while open_scopes:
        name, kind, members = open_scopes.pop()
        _close(table, len(open_scopes), name, kind, members)


def layer_table(report: Report) -> Table:
    batch = report.options.batch
    per = "per sample, " if batch > 1 else ""
    table = Table(
        title=f"{report.name}",
        caption=(
            f"{per}convention {report.convention}; MACs = multiply-accumulates of conv/fc, "
            + ("bias included" if report.options.count_bias else "bias excluded")
            + "; FLOPs = 2 x MACs"
        ),
        header_style="bold",
    )
    table.add_column("Layer", no_wrap=True)
    table.add_column("Type", no_wrap=True)
    table.add_column("Output [H x W x C]", no_wrap=True)
    table.add_column("Activations", justify="right")
    table.add_column("Params", justify="right")
    table.add_column("MACs", justify="right")
    _add_rows(table, report.rows)
    t = report.totals
    table.add_section()
    table.add_row("Total", "", "", short(t.activations), exact(t.params), exact(t.macs), style="bold")
    return table


def summary(report: Report) -> Text:
    opts = report.options
    size = DTYPE_BYTES[opts.dtype]
    m = report.memory
    t = report.totals
    batch = f" x batch {opts.batch}" if opts.batch > 1 else ""
    slots = OPTIMIZER_SLOTS[opts.optimizer]
    lines = [
        f"Params: {exact(t.params)} trainable"
        + (f", {exact(t.buffers)} non-trainable (batch-norm running statistics)" if t.buffers else ""),
        f"MACs: {exact(t.macs)} ({short(t.macs)})   FLOPs = 2 x MACs = {short(t.flops)}" + (" per sample" if batch else ""),
        "",
        f"Memory, {m.model} model ({opts.dtype}, {size} B/element; 1 MiB = 1024 x 1024 B):",
        f"  forward activations  {short(t.activations)} x {size} B{batch} = {binary(m.activations_bytes)}"
        + (" / image" if not batch else ""),
        f"  parameters           {short(t.params)} x {size} B = {binary(m.params_bytes)}",
        f"  inference            parameters + largest layer (inputs + output){batch} = {binary(m.inference_bytes)}",
        f"  training             2 x activations (values + gradients) + parameters x {2 + slots} "
        f"(weights, gradients, {opts.optimizer} x {slots}) = {binary(m.training_bytes)}",
    ]
    return Text("\n".join(lines))


def render(report: Report, console: Console) -> None:
    """Print the table at its natural width (never squeezed into an 80-column pipe) and the summary."""
    table = layer_table(report)
    wanted = console.measure(table, options=console.options.update(width=10_000)).maximum
    wide = Console(file=console.file, width=max(console.width, wanted), highlight=False,
                   force_terminal=console.is_terminal, no_color=console.no_color)
    wide.print(table)
    wide.print(summary(report), soft_wrap=True)
