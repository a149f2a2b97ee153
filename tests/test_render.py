"""Rendered reports: golden files for the table (CNNCALC_UPDATE_GOLDEN=1 rewrites them), a check that
the printed columns add up to the printed totals, and the JSON contract checked with a JSON Schema."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console

from cnncalc.pipeline import report_file
from cnncalc.render import machine
from cnncalc.render.table import render

GOLDEN = Path(__file__).parent / "golden"
SPECS = ["lenet5", "vgg16", "alexnet", "cs231n_simple"]


def rendered(name: str) -> str:
    out = io.StringIO()
    render(report_file(f"specs/{name}.yaml"), Console(file=out, width=100, color_system=None))
    return out.getvalue()


@pytest.mark.parametrize("name", SPECS)
def test_table_matches_golden(name):
    text = rendered(name)
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("CNNCALC_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("│┃").split("│")]


def _number(cell: str) -> int:
    value = cell.rsplit("=", 1)[-1].strip().replace(",", "")
    return int(value) if value.isdigit() else 0


@pytest.mark.parametrize("name", SPECS)
def test_printed_columns_sum_to_printed_totals(name):
    layer_table = rendered(name).split("└", 1)[0]  # the memory table follows the layer table
    lines = [l for l in layer_table.splitlines() if l.startswith("│")]
    body, total = lines[:-1], _cells(lines[-1])
    assert total[0] == "Total"
    for column in (4, 5):  # Params, MACs
        assert sum(_number(_cells(l)[column]) for l in body) == _number(total[column])


CONTRACT = {
    "type": "object",
    "required": ["name", "convention", "batch", "dtype", "layers", "totals", "memory"],
    "properties": {
        "name": {"type": "string"},
        "convention": {"type": "string"},
        "batch": {"type": "integer", "minimum": 1},
        "dtype": {"type": "string"},
        "layers": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "type", "output_shape", "params", "macs", "activations"],
                "properties": {
                    "name": {"type": "string"},
                    "type": {"type": "string"},
                    "output_shape": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1},
                    "params": {"type": "integer", "minimum": 0},
                    "macs": {"type": "integer", "minimum": 0},
                    "activations": {"type": "integer", "minimum": 0},
                },
            },
        },
        "totals": {
            "type": "object",
            "required": ["params", "macs", "flops", "activations"],
            "additionalProperties": {"type": "integer"},
        },
        "memory": {
            "type": "object",
            "required": ["params_bytes", "activations_bytes", "inference_bytes", "training_bytes"],
        },
    },
}


@pytest.mark.parametrize("spec", sorted(Path("specs").glob("*.yaml")), ids=lambda p: p.stem)
def test_json_follows_the_contract(spec):
    data = json.loads(machine.to_json(report_file(str(spec))))
    jsonschema.validate(data, CONTRACT)
    assert data["layers"][0]["type"] == "input"
    totals = data["totals"]
    assert totals["flops"] == 2 * totals["macs"]
    for key in ("params", "macs", "activations"):
        assert sum(layer[key] for layer in data["layers"]) == totals[key]


def test_batch_scales_counts_but_not_params():
    one = report_file("specs/lenet5.yaml").to_dict()
    from cnncalc.report import Options

    eight = report_file("specs/lenet5.yaml", options=Options(batch=8)).to_dict()
    assert eight["totals"]["params"] == one["totals"]["params"]
    assert eight["totals"]["macs"] == 8 * one["totals"]["macs"]
    assert eight["totals"]["activations"] == 8 * one["totals"]["activations"]
    assert eight["memory"]["activations_bytes"] == 8 * one["memory"]["activations_bytes"]


def test_csv_has_a_row_per_layer_and_a_total():
    text = machine.to_csv(report_file("specs/lenet5.yaml"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[-1]["name"] == "total"
    assert sum(int(r["params"]) for r in rows[:-1]) == int(rows[-1]["params"]) == 61_706


def test_markdown_table():
    text = machine.to_markdown(report_file("specs/lenet5.yaml"))
    assert "| C1 | conv | 28x28x6 |" in text
    assert "| **Total** |" in text and "61,706" in text


ALL_SPECS = sorted(p.stem for p in (Path(__file__).parent.parent / "specs").glob("*.yaml"))


def _memory_table_rows(text: str) -> list[list[str]]:
    table = text.split("Memory per layer", 1)[1]
    return [_cells(line) for line in table.splitlines() if line.startswith("│")]


@pytest.mark.parametrize("model", ["textbook", "pytorch"])
@pytest.mark.parametrize("name", ALL_SPECS)
def test_memory_table_total_column_counts_each_storage_once_and_sums_to_the_training_peak(name, model):
    from cnncalc.render.table import memory_table
    from cnncalc.report import Options
    from cnncalc.units import binary

    report = report_file(f"specs/{name}.yaml", options=Options(memory_model=model))
    m = report.memory
    held = [m.held_at_peak(layer) for layer in m.layers]
    assert all(value >= 0 for value in held)
    rest = m.training_bytes - m.params_bytes - m.buffers_bytes - m.optimizer_bytes - sum(held)
    if model == "pytorch":  # the transient workspace at the peak's moment
        assert 0 <= rest <= m.workspace_bytes
    else:  # the textbook model counts the parameters' gradients in the summary, not per layer
        assert rest == m.gradients_bytes
    out = io.StringIO()
    Console(file=out, width=400, color_system=None).print(memory_table(report))
    rows = _memory_table_rows(out.getvalue())
    assert [row[4] for row in rows[:-1]] == [binary(value) for value in held]
    assert rows[-1][0] == "Total" and rows[-1][4] == binary(sum(held))
    caption = " ".join(out.getvalue().split("└", 1)[1].split())
    assert f"column {binary(sum(held))} + " in caption and f"= training peak {binary(m.training_bytes)}" in caption \
        if model == "pytorch" else f"= training {binary(m.training_bytes)}" in caption


def test_vgg16_relu1_counts_its_output_once():
    from cnncalc.report import Options

    layers = {x.name: x for x in report_file("specs/vgg16.yaml", options=Options(memory_model="pytorch")).memory.layers}
    relu1 = layers["relu1"]
    assert relu1.output_bytes == relu1.saved_bytes == 224 * 224 * 64 * 4  # one storage, its output
    assert relu1.held_at_peak_bytes == relu1.output_bytes  # not 3 x 12.2 MiB = 36.8 MiB


@pytest.mark.parametrize("spec", ["resnet18", "googlenet", "lenet5"])
def test_streamed_json_is_json_dumps_of_the_report(spec):
    from cnncalc.render import machine

    rep = report_file(f"specs/{spec}.yaml")
    out = io.StringIO()
    machine.write_json(rep, out)
    assert out.getvalue() == machine.to_json(rep) == json.dumps(rep.to_dict(), indent=2) + "\n"
