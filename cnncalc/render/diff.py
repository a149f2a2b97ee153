"""`cnncalc diff` as a terminal table, JSON (keys in the README) and Markdown for a pull-request comment."""

from __future__ import annotations

import json

from cnncalc.diff import METRICS, Budget, Comparison, Entry, Total, peak_moved
from cnncalc.render.grid import Column, Grid
from cnncalc.units import binary, exact

_MARK = {"same": " ", "changed": "~", "inserted": "+", "removed": "-"}
_LABEL = {"params": "params", "macs": "MACs", "activations": "activations", "memory": "training peak",
          "inference": "inference peak"}


def _signed(n: int) -> str:
    return "0" if n == 0 else ("+" if n > 0 else "-") + exact(abs(n))


def _signed_bytes(n: int) -> str:
    return "0" if n == 0 else ("+" if n > 0 else "-") + binary(abs(n))


def _shape(entry: Entry) -> str:
    a = " x ".join(map(str, entry.a.output_shape)) if entry.a else ""
    b = " x ".join(map(str, entry.b.output_shape)) if entry.b else ""
    return a if a == b else f"{a} -> {b}" if a and b else a or b


def _cells(entry: Entry, batch: int) -> list[str]:
    return [
        _MARK[entry.status],
        entry.a.name if entry.a else "",
        entry.b.name if entry.b else "",
        (entry.b or entry.a).type,
        _shape(entry),
        _signed(entry.delta("params")),
        _signed(entry.delta("macs") * batch),
        _signed(entry.delta("activations") * batch),
        _signed_bytes(entry.delta("memory")),
    ]


_HEADERS = ["", "Layer (A)", "Layer (B)", "Type", "Output", "Δ Params", "Δ MACs", "Δ Activations", "Δ Memory"]


def _shown(comparison: Comparison, everything: bool) -> list[Entry]:
    return [e for e in comparison.entries if everything or e.status != "same"]


def _relative(total: Total) -> str:
    return "" if total.relative is None else f"{total.relative:+.2f}%"


def _total_cells(total: Total) -> list[str]:
    fmt = binary if total.metric in ("memory", "inference") else exact
    delta = _signed_bytes(total.delta) if total.metric in ("memory", "inference") else _signed(total.delta)
    return [_LABEL[total.metric], fmt(total.before), fmt(total.after), delta, _relative(total)]


def _title(comparison: Comparison) -> str:
    a, b = comparison.a, comparison.b
    if a.name == b.name:
        return f"{a.name} ({a.path}) -> {b.name} ({b.path})"
    return f"{a.name} -> {b.name}"


def _summary(comparison: Comparison) -> str:
    c = comparison.counts()
    return (f"{c['inserted']} inserted, {c['removed']} removed, {c['changed']} changed, {c['same']} unchanged "
            f"layers ({len(comparison.a.rows)} -> {len(comparison.b.rows)})")


def _peak_lines(comparison: Comparison) -> list[str]:
    lines = []
    for which in ("training", "inference"):
        moved = peak_moved(comparison, which)
        if moved is not None:
            lines.append(f"{which} peak: {moved[0]} -> {moved[1]}" if moved[0] != moved[1]
                         else f"{which} peak: still {moved[0]}")
    return lines


def _budget_lines(comparison: Comparison, failures: list[tuple[Budget, Total]], budgets: list[Budget]) -> list[str]:
    failed = {id(b) for b, _ in failures}
    lines = []
    for budget in budgets:
        cells = _total_cells(comparison.total(budget.metric))
        change = cells[3] + (f" ({cells[4]})" if cells[4] else "")
        lines.append(f"budget {budget.text}: {'EXCEEDED' if id(budget) in failed else 'ok'}, "
                     f"{cells[0]} changed by {change}")
    return lines


def tables(comparison: Comparison, everything: bool = False) -> tuple[Grid, Grid]:
    batch = comparison.a.options.batch
    caption = ("~ changed, + inserted, - removed" + ("" if everything else "; unchanged layers not shown (--all)")
               + f"; MACs and activations x batch {batch}; memory: new output + saved + gradient bytes")
    layers = Grid(_title(comparison), caption,
                  [Column(h, justify="right" if h.startswith("Δ") else "left", no_wrap=True) for h in _HEADERS])
    for entry in _shown(comparison, everything):
        layers.add_row(*_cells(entry, batch))
    totals = Grid("Totals", _summary(comparison), [Column("", no_wrap=True)] + [
        Column(h, justify="right", no_wrap=True) for h in ("A", "B", "Δ", "Δ %")])
    for total in comparison.totals:
        totals.add_row(*_total_cells(total))
    return layers, totals


def text_lines(comparison: Comparison, failures, budgets) -> list[str]:
    return _peak_lines(comparison) + _budget_lines(comparison, failures, budgets)


def to_json(comparison: Comparison, failures: list[tuple[Budget, Total]], budgets: list[Budget]) -> str:
    a, b = comparison.a, comparison.b
    batch = a.options.batch

    def side(entry: Entry, metric: str) -> dict:
        scale = batch if metric in ("macs", "activations") else 1
        return {"a": entry.value(entry.a, metric) * scale, "b": entry.value(entry.b, metric) * scale,
                "delta": entry.delta(metric) * scale}

    layers = [{
        "status": e.status,
        "a": e.a.name if e.a else None,
        "b": e.b.name if e.b else None,
        "type": (e.b or e.a).type,
        "output_shape_a": list(e.a.output_shape) if e.a else None,
        "output_shape_b": list(e.b.output_shape) if e.b else None,
        **{("memory_bytes" if m == "memory" else m): side(e, m) for m in METRICS},
    } for e in comparison.entries]
    hunks = [{"status": status, "layers": len(run), "a": [r.a.name for r in run if r.a],
              "b": [r.b.name for r in run if r.b]} for status, run in comparison.hunks() if status != "same"]
    failed = {id(x) for x, _ in failures}
    data = {
        "a": {"name": a.name, "path": a.path},
        "b": {"name": b.name, "path": b.path},
        "options": {"batch": batch, "dtype": a.options.dtype, "count": a.options.count,
                    "memory_model": a.memory.model},
        "summary": comparison.counts(),
        "layers": layers,
        "hunks": hunks,
        "totals": {t.metric: {"a": t.before, "b": t.after, "delta": t.delta, "relative_percent": t.relative}
                   for t in comparison.totals},
        "peaks": {which: {"a": moved[0], "b": moved[1], "moved": moved[0] != moved[1]}
                  for which in ("training", "inference") if (moved := peak_moved(comparison, which))},
        "budgets": [{"budget": x.text, "metric": x.metric, "limit": x.limit, "relative": x.relative,
                     "exceeded": id(x) in failed} for x in budgets],
    }
    return json.dumps(data, indent=2) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(comparison: Comparison, failures, budgets, everything: bool = False) -> str:
    batch = comparison.a.options.batch
    lines = [f"### cnncalc diff: {_md(_title(comparison))}", "",
             _summary(comparison) + f"; batch {batch}, {comparison.a.options.dtype}, "
             f"{comparison.a.memory.model} memory model.", "",
             "| | A | B | Δ | Δ % |", "|---|---:|---:|---:|---:|"]
    lines += ["| " + " | ".join(_md(c) for c in _total_cells(t)) + " |" for t in comparison.totals]
    shown = _shown(comparison, everything)
    if shown:
        lines += ["", "| " + " | ".join(h or "±" for h in _HEADERS) + " |",
                  "|" + "|".join("---:" if h.startswith("Δ") else "---" for h in _HEADERS) + "|"]
        lines += ["| " + " | ".join(_md(c) or " " for c in _cells(e, batch)) + " |" for e in shown]
    extra = text_lines(comparison, failures, budgets)
    if extra:
        lines += [""] + [f"- {_md(line)}" for line in extra]
    return "\n".join(lines) + "\n"


def emit(comparison: Comparison, failures, budgets, format: str, everything: bool = False) -> None:
    import sys

    if format == "json":
        sys.stdout.write(to_json(comparison, failures, budgets))
        return
    if format == "markdown":
        sys.stdout.write(to_markdown(comparison, failures, budgets, everything))
        return
    from rich.console import Console

    from cnncalc.render.table import NATURAL_WIDTH

    console = Console(highlight=False, width=NATURAL_WIDTH)
    for table in tables(comparison, everything):
        console.print(table)
    for line in text_lines(comparison, failures, budgets):
        console.print(line, soft_wrap=True)
