"""Side outputs (`output:`, auxiliary heads) through every stage: the spec with positions, the graph
(which head each layer feeds), counts per head, the JSON, the renderers, the executor; PyTorch
(torchvision's InceptionAux, and GraphNet with the executor's weights) as the oracle.
The memory of heads against the CPU allocator is in tests/test_liveness.py."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from cnncalc import executor, graph, memory, pipeline, report
from cnncalc.errors import CnnCalcError
from torch_nets import GraphNet

AUX = """
    name: aux-demo
    input: 16x16x3
    layers:
      - conv: {filters: 8, kernel: 3, padding: 1}
      - relu
      - output:
          name: aux
          training_only: true
          layers:
            - global_pool: avg
            - fc: 5
      - conv: {filters: 16, kernel: 3, stride: 2, padding: 1}
      - relu
      - global_pool: avg
      - fc: 10
"""


def analysis_of(text: str, convention: str = "pytorch"):
    analysis = pipeline.analyze_text(textwrap.dedent(text), "t.yaml", convention)
    assert analysis.ok, analysis.diagnostics
    return analysis


def error_of(text: str) -> CnnCalcError:
    with pytest.raises(CnnCalcError) as caught:
        pipeline.analyze_text(textwrap.dedent(text), "t.yaml", "pytorch")
    return caught.value


# ---------------------------------------------------------------------------------------------
# spec and graph


def test_the_head_branches_off_and_the_main_path_goes_on_from_the_branch_point():
    g = graph.build(pipeline.parse(textwrap.dedent(AUX), "t.yaml"))
    names = [n.name for n in g.nodes]
    assert names == ["input", "conv1", "relu1", "aux/global_pool1", "aux/fc1", "conv2", "relu2",
                     "global_pool1", "fc1"]
    assert g.nodes[3].inputs == (2,) and g.nodes[5].inputs == (2,)  # both read relu1
    assert [n.head for n in g.nodes] == [None, None, None, "aux", "aux", None, None, None, None]
    assert [n.training_only for n in g.nodes[3:5]] == [True, True]
    assert [(o.name, o.node, o.training_only) for o in g.outputs] == [("main", 8, False), ("aux", 4, True)]
    assert g.output_nodes(training=False) == (8,)
    assert (g.side_outputs[0].loc.line, g.side_outputs[0].loc.col) == (7, 5)
    assert g.nodes[3].block_kinds == ("training-only output",)


def test_heads_in_a_repeated_block_get_the_repeat_suffix():
    g = graph.build(pipeline.parse(textwrap.dedent("""
        input: 8x8x4
        layers:
          - repeat:
              times: 2
              layers:
                - conv: {filters: 4, kernel: 3, padding: 1}
                - output: {name: side, layers: [global_pool: avg]}
          - fc: 3
    """), "t.yaml"))
    assert [o.name for o in g.outputs] == ["main", "side_1", "side_2"]
    assert [n.head for n in g.nodes if n.head] == ["side_1", "side_2"]


@pytest.mark.parametrize("item, message, code", [
    ("output: {layers: [relu]}", "output needs 'name'", "CNN105"),
    ("output: {name: aux}", "output needs 'layers'", "CNN105"),
    ("output: {name: aux, layers: []}", "at least one layer", "CNN105"),
    ("output: {name: main, layers: [relu]}", "network's own output", "CNN106"),
    ("output: {name: aux, layers: [relu], trainig_only: true}", "trainig_only", "CNN102"),
    ("output: {name: aux, layers: [relu], training_only: 3}", "true or false", None),
    ("output: {name: relu1, layers: [relu]}", "two layers are named 'relu1'", "CNN106"),
])
def test_a_bad_output_is_refused_where_it_is_written(item, message, code):
    error = error_of(f"""
        input: 8x8x4
        layers:
          - relu
          - {item}
          - fc: 3
    """)
    assert message in str(error) and (code is None or error.code == code)
    assert error.loc.line == 5


def test_a_side_output_cannot_end_the_network():
    error = error_of("""
        input: 8x8x4
        layers:
          - relu
          - output: {name: aux, layers: [fc: 3]}
    """)
    assert "ends the network" in str(error) and error.loc.line == 5


# ---------------------------------------------------------------------------------------------
# counts and the JSON


def test_every_head_is_counted_and_the_heads_sum_to_the_totals():
    analysis = analysis_of(AUX)
    built = report.build(analysis, report.Options(batch=2))
    data = built.to_dict()
    assert [(h["name"], h["layer"], h["params"]) for h in data["outputs"]] == [
        ("main", "fc1", 224 + 1168 + 170), ("aux", "aux/fc1", 45)]
    assert sum(h["params"] for h in data["outputs"]) == data["totals"]["params"]
    assert sum(h["macs"] for h in data["outputs"]) == data["totals"]["macs"]
    assert sum(h["saved_bytes"] for h in data["outputs"]) == data["memory"]["activations_bytes"]
    assert data["outputs"][1]["saved_bytes"] == 2 * 8 * 4  # fc saves its 8-vector input (the pool saves nothing)
    assert data["inference_totals"] == {"params": 1562, "macs": data["outputs"][0]["macs"],
                                        "flops": data["outputs"][0]["flops"], "outputs": ["main"]}
    heads = {layer["name"]: (layer["head"], layer["training_only"]) for layer in data["layers"]}
    assert heads["aux/fc1"] == ("aux", True) and heads["conv1"] == ("main", False)
    json.dumps(data)


def test_a_network_without_heads_keeps_its_json_keys():
    data = report.build(analysis_of("input: 8x8x3\nlayers: [conv: {filters: 4, kernel: 3}, fc: 2]"),
                        report.Options()).to_dict()
    assert "outputs" not in data and "inference_totals" not in data and "head" not in data["layers"][1]


def _torchvision():
    """torchvision without its compiled ops (their registration fails on this torch build)."""
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import torchvision  # noqa: F401
    from torchvision.models import inception

    return inception


INCEPTION_AUX = """
    input: 17x17x768
    convention: pytorch
    defaults: {conv: {bias: false}, batchnorm: {eps: 0.001}}
    layers:
      - output:
          name: aux
          training_only: true
          layers:
            - pool: {kernel: 5, stride: 3, mode: avg}
            - conv: {filters: 128, kernel: 1}
            - batchnorm
            - relu
            - conv: {filters: 768, kernel: 5}
            - batchnorm
            - relu
            - global_pool: avg
            - fc: 1000
      - conv: {filters: 8, kernel: 1}
"""


def test_inception_v3_aux_logits_params_and_shape_equal_torchvisions():
    """torchvision's InceptionAux (inception.py, after Mixed_6e): 3,326,696 params."""
    inception = _torchvision()
    torch_head = inception.InceptionAux(768, 1000)
    built = report.build(analysis_of(INCEPTION_AUX), report.Options()).to_dict()
    aux = built["outputs"][1]
    assert aux["params"] == sum(p.numel() for p in torch_head.parameters()) == 3_326_696
    with torch.no_grad():
        assert list(torch_head.eval()(torch.randn(1, 768, 17, 17)).shape[1:]) == aux["output_shape"]


# ---------------------------------------------------------------------------------------------
# renderers and the executor


@pytest.mark.parametrize("command", [
    ["analyze", "--format", "table"], ["analyze", "--format", "markdown"], ["analyze", "--format", "csv"],
    ["rf"], ["graph", "--format", "svg"], ["graph", "--format", "dot"], ["graph", "--format", "mermaid"],
    ["expand"],
])
def test_the_renderers_show_the_head(command, tmp_path, cli):
    path = tmp_path / "aux.yaml"
    path.write_text(textwrap.dedent(AUX).replace("input:", "convention: pytorch\ninput:", 1))
    result = cli(*command, str(path))
    assert result.exit_code == 0, result.output
    assert "aux" in result.output and "fc1" in result.output


def test_the_table_names_each_output_and_what_inference_runs(tmp_path, cli):
    path = tmp_path / "aux.yaml"
    path.write_text(textwrap.dedent(AUX).replace("input:", "convention: pytorch\ninput:", 1))
    result = cli("analyze", str(path))
    assert "Outputs: main (fc1) 1,562 params" in result.output
    assert "aux (aux/fc1, training only) 45 params" in result.output
    assert "inference runs main" in result.output


def test_the_html_report_shows_the_head(tmp_path, cli):
    path = tmp_path / "aux.yaml"
    path.write_text(textwrap.dedent(AUX).replace("input:", "convention: pytorch\ninput:", 1))
    out = tmp_path / "r.html"
    result = cli("report", str(path), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "aux/fc1" in out.read_text()


def test_the_executor_runs_every_head_and_keeps_its_output_as_pytorch_computes_it():
    text = AUX.replace("training_only: true", "training_only: false")
    analysis = analysis_of(text)
    plan = executor.plan(analysis, 2)
    x = np.random.default_rng(1).standard_normal((2, 16, 16, 3)).astype(np.float32)
    run = executor.execute(plan, 0, measure=False, keep_weights=True, given_input=x.copy())
    assert run.complete and [name for name, _ in run.side_outputs] == ["aux"]
    net = GraphNet(analysis, run.weights).double().eval()
    with torch.no_grad():
        main, aux = net(torch.from_numpy(np.moveaxis(x, -1, 1).astype(np.float64)))
    np.testing.assert_allclose(run.output, main.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(run.side_outputs[0][1], aux.numpy(), rtol=1e-4, atol=1e-5)


def test_the_textbook_inference_leaves_a_training_only_head_out():
    big = """
        input: 16x16x3
        layers:
          - conv: {filters: 4, kernel: 3, padding: 1}
          - output: {name: aux, training_only: %s, layers: [conv: {filters: 64, kernel: 3, padding: 1}]}
          - fc: 2
    """
    options = report.Options(memory_model="textbook")
    kept, dropped = (report.build(analysis_of(big % flag, "strict"), options).memory for flag in ("false", "true"))
    assert kept.inference_bytes == kept.params_bytes + 16 * 16 * (4 + 64) * 4  # the head's conv is the largest
    assert dropped.inference_bytes == dropped.params_bytes + 16 * 16 * (3 + 4) * 4  # conv1 is, without it
    assert kept.training_bytes == dropped.training_bytes


def test_the_schema_knows_the_output_construct():
    import jsonschema
    import yaml

    from cnncalc.schema import spec_schema

    validator = jsonschema.Draft7Validator(spec_schema())
    assert not list(validator.iter_errors(yaml.safe_load(textwrap.dedent(AUX))))
    wrong = yaml.safe_load(textwrap.dedent(AUX).replace("training_only: true", "trainig_only: true"))
    assert any("trainig_only" in e.message for e in validator.iter_errors(wrong))


# ---------------------------------------------------------------------------------------------
# Inception-v3 with AuxLogits against torchvision's own model

INCEPTION_V3 = Path(__file__).parent / "data" / "outputs" / "inception_v3.yaml"


def test_inception_v3_with_its_aux_head_has_torchvisions_params_per_output():
    """torchvision inception_v3(weights=None, aux_logits=True): 27,161,264 params, AuxLogits 3,326,696."""
    inception = _torchvision()
    model = inception.inception_v3(weights=None, aux_logits=True, init_weights=False)
    data = report.build(analysis_of(INCEPTION_V3.read_text()), report.Options()).to_dict()
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters()) == 27_161_264
    aux = {h["name"]: h for h in data["outputs"]}["AuxLogits"]
    assert aux["params"] == sum(p.numel() for p in model.AuxLogits.parameters())
    assert data["inference_totals"]["params"] == 27_161_264 - aux["params"]


MEASURE = """
import json, sys, types
sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
import torch
from torchvision.models import inception_v3
from torch_nets import saved_bytes

class Outputs(torch.nn.Module):
    '''(logits, aux_logits) in training, as GraphNet returns (main, *heads).'''
    def __init__(self, model):
        super().__init__()
        self.model = model
    def forward(self, x):
        out = self.model(x)
        return (out.logits, out.aux_logits) if self.training else out

torch.manual_seed(0)
model = Outputs(inception_v3(weights=None, aux_logits=True, init_weights=False))
print(json.dumps({"saved": saved_bytes(model, torch.randn(2, 3, 299, 299))}))
"""


@pytest.mark.slow
def test_inception_v3_with_its_aux_head_saves_what_torchvisions_model_saves():
    """Measured once by hand on the same model (PyTorch 2.13 CPU, batch 2, sgd): training peak
    374,503,000 B in both, inference peak 138,595,864 B against the allocator's 138,596,376 B."""
    done = subprocess.run([sys.executable, "-c", MEASURE], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).parent)
    assert done.returncode == 0, done.stderr[-3000:]
    measured = json.loads(done.stdout.splitlines()[-1])["saved"]
    analysis = analysis_of(INCEPTION_V3.read_text())
    estimate = memory.pytorch(analysis, batch=2, dtype="float32", optimizer="sgd")
    assert estimate.activations_bytes == pytest.approx(measured, rel=0.01)
