"""Machine-readable renderings of a report: JSON (the public contract), CSV and Markdown."""

from __future__ import annotations

import csv
import io
import json

from cnncalc.report import Report
from cnncalc.units import binary, exact

CSV_COLUMNS = ("name", "type", "output_shape", "params", "non_trainable", "macs", "activations", "output_elements")


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def _shape(dims: list[int]) -> str:
    return "x".join(str(d) for d in dims)


def to_csv(report: Report) -> str:
    data = report.to_dict()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for layer in data["layers"]:
        writer.writerow([
            layer["name"], layer["type"], _shape(layer["output_shape"]), layer["params"],
            layer["non_trainable"], layer["macs"], layer["activations"], layer["output_elements"],
        ])
    totals = data["totals"]
    writer.writerow(["total", "", "", totals["params"], totals["non_trainable"], totals["macs"],
                     totals["activations"], ""])
    return out.getvalue()


def to_markdown(report: Report) -> str:
    data = report.to_dict()
    lines = [
        f"# {report.name}",
        "",
        f"Convention `{report.convention}`, batch {report.options.batch}, {report.options.dtype}. "
        "MACs exclude bias unless `--count-bias`; FLOPs = 2 x MACs.",
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
    lines += [
        "",
        f"FLOPs: {exact(t['flops'])}. Memory (1 MiB = 1024 x 1024 bytes): forward activations "
        f"{binary(m['activations_bytes'])}, parameters {binary(m['params_bytes'])}, "
        f"inference {binary(m['inference_bytes'])}, training ({report.options.optimizer}) "
        f"{binary(m['training_bytes'])}.",
        "",
    ]
    return "\n".join(lines)
