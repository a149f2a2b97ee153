"""Machine-readable renderings of a report: JSON (the public contract), CSV and Markdown."""

from __future__ import annotations

import csv
import io

from cnncalc import counting
from cnncalc.render import jsontext
from cnncalc.report import Report
from cnncalc.units import binary, exact

CSV_COLUMNS = ("name", "type", "output_shape", "params", "non_trainable", "macs", "activations", "output_elements")


def to_json(report: Report) -> str:
    return jsontext.dumps(report.to_dict()) + "\n"


def write_json(report: Report, stream) -> None:
    """`stream.write(to_json(report))`, written in pieces (a million-layer report is ~700 MB of JSON)."""
    jsontext.write(report.to_dict(lazy=True), stream)


def _shape(dims: list[int]) -> str:
    return "x".join(str(d) for d in dims)


#: the columns `--backward` adds after CSV_COLUMNS
BACKWARD_COLUMNS = ("flops", "backward_input_macs", "backward_weight_macs")


def to_csv(report: Report, backward: bool = False) -> str:
    data = report.to_dict()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    extra = BACKWARD_COLUMNS if backward else ()
    writer.writerow(CSV_COLUMNS + extra)
    for layer in data["layers"]:
        writer.writerow([
            layer["name"], layer["type"], _shape(layer["output_shape"]), layer["params"],
            layer["non_trainable"], layer["macs"], layer["activations"], layer["output_elements"],
        ] + [layer[key] for key in extra])
    totals = data["totals"]
    writer.writerow(["total", "", "", totals["params"], totals["non_trainable"], totals["macs"],
                     totals["activations"], ""] + [totals[key] for key in extra])
    return out.getvalue()


def _precision(report: Report) -> str:
    """float32; or float16 amp (fp32 weights), device cuda: what the memory figures assume."""
    m = report.memory
    text = f"{m.amp} amp (float32 weights)" if m.amp else report.options.dtype
    return text + (f", device {m.device}" if m.device != "cpu" else "")


def to_markdown(report: Report) -> str:
    data = report.to_dict()
    lines = [
        f"# {report.name}",
        "",
        f"Convention `{report.convention}`, batch {report.options.batch}, {_precision(report)}. "
        + counting.markdown_line(report),
        "",
        "| Layer | Type | Output | Activations | Params | MACs |",
        "|---|---|---|---:|---:|---:|",
    ]
    for layer in data["layers"]:
        lines.append(
            f"| {layer['name']} | {layer['type']} | {_shape(layer['output_shape'])} | "
            f"{exact(layer['activations'])} | {exact(layer['params'])} | {exact(layer['macs'])} |"
        )
    t = data["totals"]
    lines.append(f"| **Total** | | | {exact(t['activations'])} | {exact(t['params'])} | {exact(t['macs'])} |")
    m = data["memory"]
    model = f"{m['model']} model, {m['model_note']}; " if m.get("model_note") else ""
    lines += [
        "",
        f"FLOPs: {exact(t['flops'])}. Memory ({model}1 MiB = 1024 x 1024 bytes): forward activations "
        f"{binary(m['activations_bytes'])}, parameters {binary(m['params_bytes'])}, "
        f"inference {binary(m['inference_bytes'])}, training ({report.options.optimizer}) "
        f"{binary(m['training_bytes'])}.",
        "",
    ]
    return "\n".join(lines)
