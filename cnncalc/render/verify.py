"""`cnncalc verify` for people (a rich table and the memory account) and for programs (JSON)."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cnncalc.render.grid import Column, Grid
from cnncalc.units import binary, exact
from cnncalc.verification import TOLERANCE_BYTES, TOLERANCE_FRACTION, LayerCheck, MemoryCheck, Verification


def to_json(verification: Verification) -> str:
    return json.dumps(verification.to_dict(), indent=2) + "\n"


def _shape(dims: tuple[int, ...] | None) -> str:
    return "-" if dims is None else " x ".join(str(d) for d in dims)


def _count(n: int | None) -> str:
    return "-" if n is None else exact(n)


def _verdict(layer: LayerCheck) -> tuple[str, str]:
    """The verdict cell and its style."""
    if layer.ok:
        return "ok", "green"
    return ", ".join(layer.problems) + (" differ" if layer.ran else ""), "bold red"


def layer_table(v: Verification) -> Grid:
    """A `Grid`: rich's `Table` measured and drew every cell of a 16,000-layer run (most of its time)."""
    per = f"batch {v.batch}: MACs for the whole batch; " if v.batch > 1 else ""
    table = Grid(
        f"{v.name}: predicted vs executed (numpy, float32, seed {v.seed})",
        f"{per}convention {v.convention}; params = sizes of the weight arrays; "
        "executed MACs = rows x inner x columns of the matrix products run",
        [Column(heading, justify, no_wrap=True) for heading, justify in (
            ("Layer", "left"), ("Type", "left"), ("Output predicted", "left"), ("Output executed", "left"),
            ("Params predicted", "right"), ("Params in weights", "right"),
            ("MACs predicted", "right"), ("MACs executed", "right"), ("Verdict", "left"),
        )],
    )
    verdict_only = (None,) * 8
    for layer in v.layers:
        params = layer.predicted_params + layer.predicted_buffers
        executed = None if layer.executed_params is None else layer.executed_params + layer.executed_buffers
        verdict, style = _verdict(layer)
        table.add_row(
            layer.name, layer.type,
            _shape(layer.predicted_shape), _shape(layer.executed_shape),
            exact(params) if params else "", _count(executed) if params or executed else "",
            exact(layer.predicted_macs) if layer.predicted_macs else "",
            _count(layer.executed_macs) if layer.predicted_macs or layer.executed_macs else "",
            verdict,
            cell_styles=(*verdict_only, style),
        )
    return table


def _signed(n: int) -> str:
    return ("+" if n >= 0 else "-") + binary(abs(n))


def memory_table(m: MemoryCheck) -> Table:
    """The textbook estimate, the lines it leaves out at the run's fullest layer, and the measurement."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    layer = m.peak_layer
    grid.add_row("predicted inference memory (textbook)", binary(m.textbook_bytes),
                 f"parameters and buffers {binary(m.predicted_weights_bytes)} + the largest layer's inputs "
                 f"and output {binary(m.textbook_layer_bytes)}")
    grid.add_row("+ im2col/padding workspace", _signed(m.workspace_bytes),
                 f"of {layer}, where the run peaks; the textbook model leaves it out "
                 f"(measured {binary(m.measured_workspace_bytes)})")
    grid.add_row("+ activations held for later layers", _signed(m.held_bytes),
                 f"alive during {layer} (shortcuts, branches); the textbook counts one layer at a time")
    grid.add_row(f"+ {layer} inputs and output - the largest", _signed(m.layer_io_bytes - m.textbook_layer_bytes),
                 f"{layer} reads and writes {binary(m.layer_io_bytes)}")
    grid.add_row(Text("= expected peak of live arrays", style="bold"), Text(binary(m.expected_peak_bytes), style="bold"),
                 "")
    verdict = Text("ok", style="green") if m.ok else Text("OUT OF TOLERANCE", style="bold red")
    tolerance = f"±({TOLERANCE_FRACTION:.0%} + {binary(TOLERANCE_BYTES)}) = ±{binary(m.tolerance_bytes)}"
    grid.add_row(Text(f"measured peak ({m.measured_by})", style="bold"), Text(binary(m.measured_peak_bytes), style="bold"),
                 Text.assemble(f"difference {_signed(m.difference_bytes)}, tolerance {tolerance}: ", verdict))
    weights = Text("ok", style="green") if m.weights_ok else Text(
        f"DIFFERENT from the predicted {binary(m.predicted_weights_bytes)}", style="bold red")
    grid.add_row("weight arrays allocated", binary(m.measured_weights_bytes), weights)
    return grid


def summary(v: Verification) -> Text:
    failed = sum(not layer.ok for layer in v.layers)
    if v.ok:
        return Text(f"verify: every check holds ({len(v.layers)} layers and the memory peak; {v.seconds:.2f} s)",
                    style="green")
    what = [f"{failed} layer(s)"] if failed else []
    what += ["the memory peak"] if v.memory is None or not v.memory.ok else []
    return Text(f"verify: FAILED: {' and '.join(what)} differ from the prediction", style="bold red")


def render(v: Verification, console: Console) -> None:
    """The table at its natural width (never squeezed into an 80-column pipe), then the memory account."""
    table = layer_table(v)
    wanted = table.natural_width()
    from cnncalc.render.safe import EncodableFile, unicode_output

    # a non-Unicode standard output gets rich's ASCII boxes and escapes for any other character
    file = console.file if unicode_output(console.file) else EncodableFile(console.file)
    wide = Console(file=file, width=max(console.width, wanted), highlight=False,
                   force_terminal=console.is_terminal, no_color=console.no_color)
    table.print_to(wide)
    wide.print(f"Memory (float32, batch {v.batch}; 1 MiB = 1024 x 1024 B):")
    if v.memory is None:
        wide.print("  not compared: the run stopped at the first layer whose output shape differs")
    else:
        wide.print(memory_table(v.memory))
    wide.print()
    wide.print(summary(v), soft_wrap=True)
