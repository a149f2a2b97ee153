"""The opt-in tables of `analyze`: per-kind subtotals (`--by-type`) and backward MACs (`--backward`)."""

from __future__ import annotations

from cnncalc import counting
from cnncalc.render.grid import Column, Grid
from cnncalc.report import Report
from cnncalc.units import exact, short


def _per(report: Report) -> str:
    return "per sample; " if report.options.batch > 1 else ""


def by_type_table(report: Report) -> Grid:
    preset = counting.get(report.options.count)
    table = Grid(f"{report.name}: by layer type", f"{_per(report)}MACs and FLOPs counted as `--count {preset.name}`", [
        Column("Type", no_wrap=True),
        Column("Layers", justify="right"),
        Column("Params", justify="right"),
        Column("MACs", justify="right"),
        Column("FLOPs", justify="right"),
        Column("MACs %", justify="right"),
    ])
    kinds = counting.kind_totals(report)
    total = sum(k.macs for k in kinds)
    for k in kinds:
        share = f"{100 * k.macs / total:.1f}" if total else ""
        table.add_row(k.type, exact(k.count), exact(k.params), exact(k.macs), exact(k.flops), share)
    table.add_section()
    table.add_row("Total", exact(sum(k.count for k in kinds)), exact(report.totals.params), exact(total),
                  exact(sum(k.flops for k in kinds)), "100.0" if total else "", style="bold")
    return table


def backward_table(report: Report) -> Grid:
    table = Grid(f"{report.name}: backward MACs", f"{_per(report)}{counting.BACKWARD_CONVENTION}", [
        Column("Layer", no_wrap=True),
        Column("Type", no_wrap=True),
        Column("Forward MACs", justify="right"),
        Column("Input-gradient MACs", justify="right"),
        Column("Weight-gradient MACs", justify="right"),
    ])
    for row in report.rows:
        if row.type in counting.WEIGHTED_TYPES:
            table.add_row(row.name, row.type, exact(row.macs), exact(row.backward.input_grad),
                          exact(row.backward.weight_grad))
    t = report.totals
    table.add_section()
    table.add_row("Total", "", exact(t.macs), exact(t.backward_input), exact(t.backward_weight), style="bold")
    return table


def backward_line(report: Report) -> str:
    t = report.totals
    return (f"Backward MACs: input gradients {short(t.backward_input)} + weight gradients {short(t.backward_weight)}"
            f" = {short(t.backward_input + t.backward_weight)}")


def markdown(report: Report, by_type: bool, backward: bool) -> str:
    """GitHub tables appended to `--format markdown` with --by-type and --backward (counts x batch)."""
    batch = report.options.batch
    lines: list[str] = []
    if by_type:
        lines += ["| Type | Layers | Params | MACs | FLOPs |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {k.type} | {exact(k.count)} | {exact(k.params)} | {exact(k.macs * batch)} | "
                  f"{exact(k.flops * batch)} |" for k in counting.kind_totals(report)]
        lines.append("")
    if backward:
        lines += ["| Layer | Type | Forward MACs | Input-gradient MACs | Weight-gradient MACs |",
                  "|---|---|---:|---:|---:|"]
        weighted = [r for r in report.rows if r.type in counting.WEIGHTED_TYPES]
        lines += [f"| {r.name} | {r.type} | {exact(r.macs * batch)} | {exact(r.backward.input_grad * batch)} | "
                  f"{exact(r.backward.weight_grad * batch)} |" for r in weighted]
        lines.append("")
    return "\n".join(lines)


def emit(report: Report, format: str, by_type: bool, backward: bool) -> None:
    """The opt-in tables after the report: rich tables, or GitHub tables for markdown (JSON has the keys
    always; CSV has neither)."""
    import sys

    if format in ("json", "csv"):
        return
    if format == "markdown":
        sys.stdout.write(markdown(report, by_type, backward))
        return
    from rich.console import Console

    from cnncalc.render.table import NATURAL_WIDTH

    console = Console(highlight=False, width=NATURAL_WIDTH)
    if by_type:
        console.print(by_type_table(report))
    if backward:
        console.print(backward_table(report))
        console.print(backward_line(report), soft_wrap=True)
