"""`cnncalc verify` for people (a rich table and the memory account) and for programs (JSON)."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cnncalc.units import binary, exact
from cnncalc.verify import TOLERANCE_BYTES, TOLERANCE_FRACTION, LayerCheck, MemoryCheck, Verification


def to_json(verification: Verification) -> str:
    return json.dumps(verification.to_dict(), indent=2) + "\n"


def _shape(dims: tuple[int, ...] | None) -> str:
    return "-" if dims is None else " x ".join(str(d) for d in dims)


def _count(n: int | None) -> str:
    return "-" if n is None else exact(n)


def _verdict(layer: LayerCheck) -> Text:
    if layer.ok:
        return Text("ok", style="green")
    return Text(", ".join(layer.problems) + (" differ" if layer.ran else ""), style="bold red")


def layer_table(v: Verification) -> Table:
    per = f"batch {v.batch}: MACs for the whole batch; " if v.batch > 1 else ""
    table = Table(
        title=f"{v.name}: predicted vs executed (numpy, float32, seed {v.seed})",
        caption=f"{per}convention {v.convention}; params = sizes of the weight arrays; "
        "executed MACs = rows x inner x columns of the matrix products run",
        header_style="bold",
    )
    for column, justify in (
        ("Layer", "left"), ("Type", "left"), ("Output predicted", "left"), ("Output executed", "left"),
        ("Params predicted", "right"), ("Params in weights", "right"),
        ("MACs predicted", "right"), ("MACs executed", "right"), ("Verdict", "left"),
    ):
        table.add_column(column, justify=justify, no_wrap=True)
    for layer in v.layers:
        params = layer.predicted_params + layer.predicted_buffers
        executed = None if layer.executed_params is None else layer.executed_params + layer.executed_buffers
        table.add_row(
            layer.name, layer.type,
            _shape(layer.predicted_shape), _shape(layer.executed_shape),
            exact(params) if params else "", _count(executed) if params or executed else "",
            exact(layer.predicted_macs) if layer.predicted_macs else "",
            _count(layer.executed_macs) if layer.predicted_macs or layer.executed_macs else "",
            _verdict(layer),
        )
    return table


def _signed(n: int) -> str:
    return ("+" if n >= 0 else "-") + binary(abs(n))


def memory_lines(m: MemoryCheck) -> list[str]:
    tolerance = f"±({TOLERANCE_FRACTION:.0%} + {binary(TOLERANCE_BYTES)}) = ±{binary(m.tolerance_bytes)}"
    weights = binary(m.measured_weights_bytes) + (
        "" if m.weights_ok else f" (predicted {binary(m.predicted_weights_bytes)}: DIFFERENT)"
    )
    verdict = "ok" if m.ok else "OUT OF TOLERANCE"
    return [
        f"  predicted inference memory (textbook)   {binary(m.textbook_bytes):>12}  = parameters and buffers "
        f"{binary(m.predicted_weights_bytes)} + the largest layer's inputs + output {binary(m.textbook_layer_bytes)}",
        f"  + im2col/padding workspace              {_signed(m.workspace_bytes):>12}  of {m.peak_layer}: "
        f"the textbook model leaves it out (measured {binary(m.measured_workspace_bytes)})",
        f"  + activations held for later layers     {_signed(m.held_bytes):>12}  alive during {m.peak_layer} "
        "(residual shortcuts; the textbook counts one layer at a time)",
        f"  + {m.peak_layer} inputs + output vs the largest {_signed(m.layer_io_bytes - m.textbook_layer_bytes):>8}"
        f"  ({binary(m.layer_io_bytes)}: the run peaks at {m.peak_layer})",
        f"  = expected peak of live arrays          {binary(m.expected_peak_bytes):>12}",
        f"  measured peak (tracemalloc)             {binary(m.measured_peak_bytes):>12}  difference "
        f"{_signed(m.difference_bytes)}, tolerance {tolerance}: {verdict}",
        f"  weight arrays allocated                 {weights:>12}",
    ]


def summary(v: Verification) -> Text:
    lines = [f"Memory (float32, batch {v.batch}; 1 MiB = 1024 x 1024 B):"]
    if v.memory is None:
        lines.append("  not compared: the run stopped at the first layer whose output shape differs")
    else:
        lines.extend(memory_lines(v.memory))
    failed = sum(not layer.ok for layer in v.layers)
    memory_failed = v.memory is None or not v.memory.ok
    lines.append("")
    if v.ok:
        lines.append(f"verify: every check holds ({len(v.layers)} layers and the memory peak; {v.seconds:.2f} s)")
    else:
        what = [f"{failed} layer(s)"] if failed else []
        what += ["the memory peak"] if memory_failed else []
        lines.append(f"verify: FAILED: {' and '.join(what)} differ from the prediction")
    return Text("\n".join(lines), style=None if v.ok else "bold")


def render(v: Verification, console: Console) -> None:
    """The table at its natural width (never squeezed into an 80-column pipe), then the memory account."""
    table = layer_table(v)
    wanted = console.measure(table, options=console.options.update(width=10_000)).maximum
    wide = Console(file=console.file, width=max(console.width, wanted), highlight=False,
                   force_terminal=console.is_terminal, no_color=console.no_color)
    wide.print(table)
    wide.print(summary(v), soft_wrap=True)
