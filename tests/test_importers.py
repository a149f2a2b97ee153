"""`cnncalc import` (cnncalc/importers/): ONNX graphs and PyTorch modules to specs.

The outside truth is torchvision: its classifiers exported by torch.onnx.export must import with
torchvision's parameter counts, the MACs, parameters and shapes of the shipped zoo specs layer by
layer, and every shape the graph states. Small graphs built with onnx.helper cover each mapping and
each error case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import numpy as np  # noqa: E402

from cnncalc import pipeline  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402
from cnncalc.importers import onnx_import, reader  # noqa: E402
from cnncalc.report import build  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from zoo_onnx import MODERN, TRAINING_EXPORT, ZOO  # noqa: E402


# -- the torchvision zoo ---------------------------------------------------------------------------

def _export_zoo(out: Path, *flags: str) -> Path:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "zoo_onnx.py"), *flags, str(out)], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> Path:
    """Every zoo model exported once per session, in a subprocess (tests/zoo_onnx.py)."""
    return _export_zoo(tmp_path_factory.mktemp("zoo_onnx"))


@pytest.fixture(scope="session")
def exported_modern(tmp_path_factory) -> Path:
    """The newer zoo models (zoo_onnx.MODERN), exported only when their slow checks run."""
    return _export_zoo(tmp_path_factory.mktemp("zoo_onnx_modern"), "--modern")


def counted_rows(analysis) -> tuple[list, dict]:
    """(params, MACs, output shape) of every layer that counts or changes a shape, and the totals.

    Identity layers are left out on both sides: the exporter drops dropout and keeps torchvision's
    adaptive pools as 1x1 windows where the shipped specs have no layer."""
    report = build(analysis, pipeline.report_options()).to_dict()
    shapes = {layer["name"]: layer["output_shape"] for layer in report["layers"]}
    rows = []
    for layer in report["layers"][1:]:
        same = [shapes[name] for name in layer["inputs"]] == [layer["output_shape"]]
        if layer["params"] or layer["macs"] or layer["type"] in ("add", "concat") or not same:
            rows.append((layer["params"], layer["macs"], tuple(layer["output_shape"])))
    return rows, report["totals"]


@pytest.mark.parametrize("model", list(ZOO))
def test_a_torchvision_model_imports_with_the_zoo_specs_numbers(exported, model):
    imported = onnx_import.import_file(str(exported / f"{model}.onnx"))
    ours = pipeline.analyze_text(imported.text, f"{model}.yaml")
    assert ours.ok
    shipped = pipeline.analyze_file(str(ROOT / "specs" / f"{ZOO[model]}.yaml"))
    rows, totals = counted_rows(ours)
    shipped_rows, shipped_totals = counted_rows(shipped)
    assert totals["params"] == json.loads((exported / "params.json").read_text())[model]
    assert totals["macs"] == shipped_totals["macs"]
    assert rows == shipped_rows
    assert imported.opaque == 0


@pytest.mark.slow
@pytest.mark.parametrize("model", list(MODERN))
def test_a_newer_torchvision_model_imports_with_the_zoo_specs_numbers(exported_modern, model):
    imported = onnx_import.import_file(str(exported_modern / f"{model}.onnx"))
    ours = pipeline.analyze_text(imported.text, f"{model}.yaml")
    assert ours.ok
    rows, totals = counted_rows(ours)
    shipped_rows, shipped_totals = counted_rows(pipeline.analyze_file(str(ROOT / "specs" / f"{model}.yaml")))
    assert totals["params"] == json.loads((exported_modern / "params.json").read_text())[model]
    assert totals["macs"] == shipped_totals["macs"]
    assert rows == shipped_rows
    assert imported.opaque == 0


@pytest.mark.parametrize("model", list(ZOO))
def test_import_torch_gives_the_spec_of_the_onnx_path(exported, model):
    assert_same_spec_by_torch_and_by_file(exported, model)


@pytest.mark.slow
@pytest.mark.parametrize("model", [name for name in MODERN if name not in TRAINING_EXPORT])
def test_import_torch_of_a_newer_model_gives_the_spec_of_the_onnx_path(exported_modern, model):
    """Inception-v3's ONNX file is a training export (its aux head); --torch exports in eval mode."""
    assert_same_spec_by_torch_and_by_file(exported_modern, model)


def assert_same_spec_by_torch_and_by_file(exported: Path, model: str) -> None:
    by_torch = (exported / f"{model}.torch.yaml").read_text()
    by_file = onnx_import.import_file(str(exported / f"{model}.onnx")).text
    body = lambda text: [line for line in text.splitlines() if not line.startswith(("#", "name:"))]  # noqa: E731
    assert body(by_torch) == body(by_file)


def test_resnet_stages_become_blocks_and_repeats(exported):
    text = onnx_import.import_file(str(exported / "resnet50.onnx")).text
    assert "  bottleneck:\n" in text and "  bottleneck_projection:\n" in text
    assert "filters: 4 * $filters" in text
    assert "      times: 5\n" in text  # layer3's five identity bottlenecks
    assert text.count("- bottleneck_projection") == 3 + 1  # the uses, and none written out
    densenet = onnx_import.import_file(str(exported / "densenet121.onnx")).text
    assert [f"      times: {n}" in densenet for n in (6, 12, 24, 16)] == [True] * 4


def test_every_layer_shape_is_the_graphs_and_a_difference_is_cnn704(exported):
    """The importer compares every layer with the graph's shape; here, independently, every conv's
    output in the graph against the imported spec's, and a wrong expectation must fail the check."""
    from cnncalc.importers import check

    path = str(exported / "resnet18.onnx")
    graph = reader.read_graph(reader.load_model(path), path)
    convs = [reader.channels_last(graph.shape(n.output[0]), "", path) for n in graph.nodes if n.op_type == "Conv"]
    imported = onnx_import.import_file(path)
    analysis = pipeline.analyze_text(imported.text, "r.yaml")
    ours = [r.output.dims for r in analysis.results if r.node.type == "conv"]
    assert sorted(ours) == sorted(convs) and len(ours) == 20
    with pytest.raises(CnnCalcError) as error:
        check.check(imported.text, "r.onnx", [((1, 2, 3), "node 0")] * imported.layers)
    assert error.value.code == "CNN704" and "the graph says 1x2x3" in error.value.message


def test_input_sets_the_size_of_the_graphs_input():
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])
    model = make(nodes, [_weight("w", 8, 3, 3, 3)], inputs=[x])
    text = onnx_import.import_model(model, "m.onnx", input_dims=(32, 30)).text
    assert "input: 32x30x3\n" in text
    analysis = pipeline.analyze_text(text, "m.yaml")
    assert analysis.results[-1].output.dims == (30, 28, 8)


# -- small graphs, one mapping each ----------------------------------------------------------------

def _weight(name: str, *dims: int):
    return numpy_helper.from_array(np.random.default_rng(0).standard_normal(dims).astype(np.float32), name)


def make(nodes, inits=(), shape=(1, 3, 16, 16), out_shape=None, inputs=None, value_info=()):
    graph = helper.make_graph(
        nodes, "g", inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, out_shape)], list(inits),
        value_info=list(value_info))
    custom = [helper.make_opsetid("my.ops", 1)] if any(n.domain == "my.ops" for n in nodes) else []
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), *custom])


def imported(model, **options) -> str:
    return onnx_import.import_model(model, "m.onnx", **options).text


def layers_of(text: str) -> list[str]:
    return text.split("\nlayers:\n")[1].splitlines()


def test_conv_settings_and_asymmetric_pads_map_to_the_spec_padding():
    conv = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], pads=[0, 1, 1, 2], strides=[2, 1],
                            dilations=[1, 2], group=1)
    text = imported(make([conv], [_weight("w", 8, 3, 3, 3)]))
    assert layers_of(text) == ["  - conv: {filters: 8, kernel: 3, stride: [2, 1], padding: [0, 1, 1, 2], "
                               "dilation: [1, 2], bias: false}"]


def test_a_zero_pad_folds_into_the_next_conv_and_depthwise_is_recognised():
    pads = numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 2, 2], dtype=np.int64), "p")
    nodes = [helper.make_node("Pad", ["x", "p"], ["xp"], mode="constant"),
             helper.make_node("Conv", ["xp", "w", "b"], ["y"], kernel_shape=[3, 3], group=3)]
    text = imported(make(nodes, [pads, _weight("w", 6, 1, 3, 3), _weight("b", 6)]))
    assert layers_of(text) == ["  - depthwise: {kernel: 3, padding: [1, 2, 1, 2], multiplier: 2}"]


def _torch_exported(module, shape, folding: bool, path: Path):
    torch = pytest.importorskip("torch")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), torch.zeros(shape), str(path), dynamo=False, do_constant_folding=folding)
    return reader.load_model(str(path))


@pytest.mark.parametrize("pad, expected", [
    ((0, 1, 0, 1), "  - conv: {filters: 4, kernel: 3, padding: [0, 1, 0, 1]}"),
    ((2, 0, 1, 3), "  - conv: {filters: 4, kernel: 3, padding: [1, 3, 2, 0]}"),
])
def test_a_computed_pad_folds_into_the_next_conv_as_the_constant_one(pad, expected, tmp_path):
    """nn.ZeroPad2d exported without constant folding computes its pads (ConstantOfShape, Concat,
    Reshape, Slice, Transpose, Cast ...): evaluated, it imports as the folded export does."""
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.ZeroPad2d(pad), torch.nn.Conv2d(3, 4, 3))
    computed = imported(_torch_exported(module, (1, 3, 8, 8), False, tmp_path / "computed.onnx"))
    folded = imported(_torch_exported(module, (1, 3, 8, 8), True, tmp_path / "folded.onnx"))
    assert layers_of(computed) == layers_of(folded) == [expected]


def test_a_computed_pad_before_a_pool_is_a_zero_pad_layer(tmp_path):
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.ZeroPad2d((0, 1, 0, 1)), torch.nn.MaxPool2d(2))
    text = imported(_torch_exported(module, (1, 3, 8, 8), False, tmp_path / "m.onnx"))
    assert layers_of(text) == ["  - zero_pad: {padding: [0, 1, 0, 1]}", "  - pool: {kernel: 2, stride: 2}"]


@pytest.mark.parametrize("build, expected", [
    (lambda: [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])], "silu"),
    (lambda: [helper.make_node("HardSigmoid", ["x"], ["s"], alpha=1 / 6, beta=0.5),
              helper.make_node("Mul", ["s", "x"], ["y"])], "hardswish"),
    (lambda: [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], "relu6"),
    (lambda: [helper.make_node("LeakyRelu", ["x"], ["y"], alpha=0.2)], "leaky_relu: {negative_slope: 0.2}"),
    (lambda: [helper.make_node("Elu", ["x"], ["y"], alpha=0.5)], "elu: {alpha: 0.5}"),
    (lambda: [helper.make_node("PRelu", ["x", "slope"], ["y"])], "prelu: {num_parameters: 3}"),
    (lambda: [helper.make_node("Softmax", ["x"], ["y"], axis=1)], "softmax"),
    (lambda: [helper.make_node("LRN", ["x"], ["y"], size=5, alpha=1e-4, beta=0.75, bias=2.0)], "lrn: {size: 5, k: 2.0}"),
    (lambda: [helper.make_node("Div", ["x", "sqrt2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
              helper.make_node("Add", ["e", "one"], ["a"]), helper.make_node("Mul", ["x", "a"], ["m"]),
              helper.make_node("Mul", ["m", "half"], ["y"])], "gelu"),
    (lambda: [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                               ceil_mode=1, count_include_pad=1)],
     "pool: {kernel: 3, stride: 2, padding: 1, mode: avg, ceil: true}"),
    (lambda: [helper.make_node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=1)], "global_pool: {mode: avg}"),
    (lambda: [helper.make_node("GlobalMaxPool", ["x"], ["y"])], "global_pool: {mode: max}"),
    (lambda: [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest")],
     "upsample: {scale: 2, mode: nearest}"),
    (lambda: [helper.make_node("ConvTranspose", ["x", "wt"], ["y"], kernel_shape=[4, 4], strides=[2, 2],
                               pads=[1, 1, 1, 1])], "conv_transpose: {filters: 5, kernel: 4, stride: 2, padding: 1, bias: false}"),
    (lambda: [helper.make_node("BatchNormalization", ["x", "bn_g", "bn_b", "bn_m", "bn_v"], ["y"], epsilon=1e-3)],
     "batchnorm: {eps: 0.001}"),
])
def test_each_op_maps_to_its_layer_kind(build, expected):
    constants = [numpy_helper.from_array(np.array(v, dtype=np.float32), n) for n, v in (
        ("lo", 0.0), ("hi", 6.0), ("sqrt2", 1.4142135), ("one", 1.0), ("half", 0.5),
        ("scales", [1, 1, 2, 2]), ("slope", np.ones((3, 1, 1))), ("bn_g", np.ones(3)), ("bn_b", np.ones(3)),
        ("bn_m", np.ones(3)), ("bn_v", np.ones(3)))]
    text = imported(make(build(), [*constants, _weight("wt", 3, 5, 4, 4)]))
    assert layers_of(text) == [f"  - {expected}"]


def test_gemm_and_matmul_add_are_fc_and_flatten_before_them_goes():
    nodes = [helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("Gemm", ["f", "w", "b"], ["g"], transB=1),
             helper.make_node("MatMul", ["g", "w2"], ["m"]), helper.make_node("Add", ["m", "b2"], ["y"])]
    text = imported(make(nodes, [_weight("w", 10, 768), _weight("b", 10), _weight("w2", 10, 4), _weight("b2", 4)]))
    assert layers_of(text) == ["  - fc: {units: 10}", "  - fc: {units: 4}"]
    report = pipeline.analyze_text(text, "t.yaml")
    assert sum(r.inference.params for r in report.results) == 768 * 10 + 10 + 10 * 4 + 4


def test_a_view_whose_size_is_computed_from_shape_nodes_is_a_flatten():
    """x.view(x.size(0), -1) exports Shape -> Gather -> Unsqueeze -> Concat -> Reshape: only sizes."""
    ints = lambda name, values: numpy_helper.from_array(np.array(values, dtype=np.int64), name)  # noqa: E731
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Shape", ["r"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
             helper.make_node("Concat", ["n1", "minus1"], ["size"], axis=0),
             helper.make_node("Reshape", ["r", "size"], ["f"]),
             helper.make_node("Gemm", ["f", "w"], ["y"], transB=1)]
    model = make(nodes, [ints("zero", 0), ints("axes", [0]), ints("minus1", [-1]), _weight("w", 10, 768)])
    assert layers_of(imported(model)) == ["  - relu", "  - fc: {units: 10, bias: false}"]


def _params(text: str) -> int:
    return build(pipeline.analyze_text(text, "m.yaml"), pipeline.report_options()).to_dict()["totals"]["params"]


def test_a_tied_weight_is_said_per_layer_with_the_models_parameter_count():
    """A weight two layers read directly (a module called twice, tied linears): the spec counts it per
    layer; the comment names the layers and gives the model's count, the graph's distinct parameters."""
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["a"], kernel_shape=[1, 1]),
             helper.make_node("Relu", ["a"], ["r"]),
             helper.make_node("Conv", ["r", "w", "b"], ["c"], kernel_shape=[1, 1]),
             helper.make_node("Flatten", ["c"], ["f"]),
             helper.make_node("Gemm", ["f", "fc"], ["g"], transB=1),
             helper.make_node("Transpose", ["tied"], ["t1"], perm=[1, 0]),
             helper.make_node("MatMul", ["g", "t1"], ["m"]),
             helper.make_node("Transpose", ["tied"], ["t2"], perm=[1, 0]),
             helper.make_node("MatMul", ["m", "t2"], ["y"])]
    weights = [_weight("w", 3, 3, 1, 1), _weight("b", 3), _weight("fc", 8, 48), _weight("tied", 8, 8)]
    result = onnx_import.import_model(make(nodes, weights, shape=(1, 3, 4, 4)), "m.onnx")
    distinct = sum(int(np.prod(w.dims)) for w in weights)
    assert result.shared_params == 9 + 3 + 64
    assert _params(result.text) - result.shared_params == distinct
    assert "# Tied weights: 'w' (9 params) is shared by the layers conv1, conv2;" in result.text
    assert "# Tied weights: 'tied' (64 params) is shared by the layers fc2, fc3;" in result.text
    assert f"# The model's parameters: {distinct:,} (the spec's total {distinct + 76:,} less 76" in result.text
    assert any(note.startswith("Tied weights: 'b' (3 params)") for note in result.notes)


def test_shared_initialisers_through_identity_nodes_are_one_weight():
    nodes = [helper.make_node("Identity", ["w"], ["w_shared"]),
             helper.make_node("Conv", ["x", "w"], ["a"], kernel_shape=[1, 1]),
             helper.make_node("Relu", ["a"], ["r"]),
             helper.make_node("Conv", ["r", "w_shared"], ["y"], kernel_shape=[1, 1])]
    result = onnx_import.import_model(make(nodes, [_weight("w", 3, 3, 1, 1)]), "m.onnx")
    assert layers_of(result.text) == ["  - conv: {filters: 3, kernel: 1}", "  - relu",
                                      "  - conv: {filters: 3, kernel: 1}"]
    assert result.shared_params == 0 and not any("Tied" in note for note in result.notes)  # a merge, not a tie


def test_a_residual_and_a_concat_become_constructs():
    nodes = [helper.make_node("Conv", ["x", "w"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["r"]),
             helper.make_node("Add", ["r", "x"], ["s"]),
             helper.make_node("MaxPool", ["s"], ["p"], kernel_shape=[1, 1]),
             helper.make_node("Concat", ["s", "p"], ["y"], axis=1)]
    text = imported(make(nodes, [_weight("w", 3, 3, 3, 3)]))
    assert layers_of(text) == [
        "  - residual:", "      layers:", "        - conv: {filters: 3, kernel: 3, padding: 1, bias: false}",
        "        - relu",
        "  - concat:", "      - []", "      - - pool: {kernel: 1, stride: 1}"]


def test_a_projection_shortcut_is_the_shorter_branch_whichever_input_of_the_add_it_is():
    """RegNet adds proj(x) + f(x): the residual's layers are f, its shortcut the projection."""
    nodes = [helper.make_node("Conv", ["x", "wp"], ["p"], kernel_shape=[1, 1]),
             helper.make_node("Conv", ["x", "w1"], ["a"], kernel_shape=[1, 1]),
             helper.make_node("Relu", ["a"], ["r"]),
             helper.make_node("Conv", ["r", "w2"], ["f"], kernel_shape=[1, 1]),
             helper.make_node("Add", ["p", "f"], ["y"])]
    text = imported(make(nodes, [_weight("wp", 6, 3, 1, 1), _weight("w1", 4, 3, 1, 1), _weight("w2", 6, 4, 1, 1)]))
    assert layers_of(text) == ["  - residual:", "      layers:", "        - conv: {filters: 4, kernel: 1}",
                               "        - relu", "        - conv: {filters: 6, kernel: 1}",
                               "      shortcut:", "        - conv: {filters: 6, kernel: 1}"]


def test_a_flat_concat_of_branches_that_fork_again_is_nested_concats():
    """torch.onnx writes InceptionE's cat(b1, cat(c1(s), c2(s)), ...) as one Concat(b1, c1, c2): the
    inputs that share s are one branch ending in a concat of their own (each layer once)."""
    nodes = [helper.make_node("Relu", ["x"], ["a"]),
             helper.make_node("Conv", ["x", "w"], ["s"], kernel_shape=[1, 1]),
             helper.make_node("Conv", ["s", "w1"], ["c1"], kernel_shape=[1, 3], pads=[0, 1, 0, 1]),
             helper.make_node("Conv", ["s", "w2"], ["c2"], kernel_shape=[3, 1], pads=[1, 0, 1, 0]),
             helper.make_node("Concat", ["a", "c1", "c2"], ["y"], axis=1)]
    weights = [_weight("w", 4, 3, 1, 1), _weight("w1", 5, 4, 1, 3), _weight("w2", 6, 4, 3, 1)]
    text = imported(make(nodes, weights))
    assert layers_of(text) == [
        "  - concat:", "      - - relu", "      - - conv: {filters: 4, kernel: 1}",
        "        - concat:", "            - - conv: {filters: 5, kernel: [1, 3], padding: [0, 1]}",
        "            - - conv: {filters: 6, kernel: [3, 1], padding: [1, 0]}"]
    assert _params(text) == sum(int(np.prod(w.dims)) for w in weights)


def _two_outputs(training: bool):
    """A main path and a head on its first layer's result, the head's nodes in a module scope /Aux/."""
    outputs = ["n", "running_mean", "running_var"] if training else ["n"]  # as torch.onnx writes a training one
    bn = helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], outputs, training_mode=int(training))
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]), bn,
             helper.make_node("Relu", ["n"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"], name="/Aux/pool/GlobalAveragePool"),
             helper.make_node("Flatten", ["p"], ["f"], name="/Aux/Flatten"),
             helper.make_node("Gemm", ["f", "fa"], ["aux"], transB=1, name="/Aux/fc/Gemm"),
             helper.make_node("Conv", ["r", "w2"], ["y"], kernel_shape=[3, 3])]
    inits = [_weight("w", 4, 3, 1, 1), *(_weight(n, 4) for n in "sbmv"), _weight("fa", 10, 4),
             _weight("w2", 2, 4, 3, 3)]
    value = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)  # noqa: E731
    graph = helper.make_graph(nodes, "g", [value("x", [2, 3, 8, 8])], [value("y", None), value("aux", None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("training", [True, False])
def test_a_second_output_is_a_side_output_training_only_in_a_training_export(training):
    result = onnx_import.import_model(_two_outputs(training), "m.onnx")
    head = ["  - output:", "      name: Aux", *(["      training_only: true"] if training else []), "      layers:",
            "        - global_pool: {mode: avg}", "        - fc: {units: 10, bias: false}"]
    assert layers_of(result.text) == ["  - conv: {filters: 4, kernel: 1}", "  - batchnorm", "  - relu",
                                      *head, "  - conv: {filters: 2, kernel: 3}"]
    report = build(pipeline.analyze_text(result.text, "m.yaml"), pipeline.report_options()).to_dict()
    assert [(o["name"], o["training_only"], o["params"]) for o in report["outputs"]] == [
        ("main", False, 12 + 8 + 72), ("Aux", training, 40)]
    assert any("side output 'Aux'" in note for note in result.notes)


def test_layernorm2d_and_a_channels_last_block_are_layernorm_permutes_and_per_position_fcs():
    """torchvision's ConvNeXt: LayerNorm2d is Transpose -> LayerNormalization -> Transpose; CNBlock's
    MLP runs channels last between two permutes; its layer scale is a Mul by a (C, 1, 1) constant."""
    last, first = [0, 2, 3, 1], [0, 3, 1, 2]
    nodes = [helper.make_node("Transpose", ["x"], ["t0"], perm=last),
             helper.make_node("LayerNormalization", ["t0", "g0", "b0"], ["l0"], axis=-1, epsilon=1e-6),
             helper.make_node("Transpose", ["l0"], ["n"], perm=first),
             helper.make_node("Conv", ["n", "dw", "dwb"], ["d"], kernel_shape=[7, 7], pads=[3, 3, 3, 3], group=3),
             helper.make_node("Transpose", ["d"], ["t1"], perm=last),
             helper.make_node("LayerNormalization", ["t1", "g1", "b1"], ["l1"], axis=-1, epsilon=1e-6),
             helper.make_node("Transpose", ["w1"], ["w1t"], perm=[1, 0]),
             helper.make_node("MatMul", ["l1", "w1t"], ["m1"]),
             helper.make_node("Add", ["fb1", "m1"], ["a1"]),
             helper.make_node("Gelu", ["a1"], ["g"], domain=""),
             helper.make_node("Transpose", ["w2"], ["w2t"], perm=[1, 0]),
             helper.make_node("MatMul", ["g", "w2t"], ["m2"]),
             helper.make_node("Transpose", ["m2"], ["t2"], perm=first),
             helper.make_node("Mul", ["gamma", "t2"], ["scaled"]),
             helper.make_node("Add", ["scaled", "n"], ["y"])]
    weights = [*(_weight(n, 3) for n in ("g0", "b0", "dwb", "g1", "b1")), _weight("dw", 3, 1, 7, 7),
               _weight("w1", 12, 3), _weight("fb1", 12), _weight("w2", 3, 12), _weight("gamma", 3, 1, 1)]
    model = make(nodes, weights)
    model.opset_import[0].version = 20  # Gelu
    text = imported(model)
    assert layers_of(text) == [
        "  - layernorm", "  - residual:", "      layers:", "        - depthwise: {kernel: 7, padding: 3}",
        "        - permute: {to: channels_last}", "        - layernorm",
        "        - fc: {units: 12, per_position: true}", "        - gelu",
        "        - fc: {units: 3, bias: false, per_position: true}", "        - permute: {to: channels_first}",
        "        - layer_scale"]
    assert "  layernorm: {eps: 1e-06}" in text
    assert _params(text) == sum(int(np.prod(w.dims)) for w in weights)


def test_a_negative_transpose_perm_and_a_reshaped_layer_scale_as_cnncalc_export_writes_them():
    """x.permute(0, -1, 1, 2) is perm [0, -1, 1, 2] (ONNX's shape inference reads no negative axis); the
    LayerScale's (C,) parameter is viewed as (C, 1, 1) by a Reshape before its Mul."""
    nodes = [helper.make_node("Transpose", ["x"], ["t0"], perm=[0, 2, 3, 1]),
             helper.make_node("LayerNormalization", ["t0", "g", "b"], ["l"], axis=-1),
             helper.make_node("Transpose", ["l"], ["n"], perm=[0, -1, 1, 2]),
             helper.make_node("Reshape", ["gamma", "c11"], ["gamma3"]),
             helper.make_node("Mul", ["gamma3", "n"], ["y"])]
    shape = numpy_helper.from_array(np.array([3, 1, 1], dtype=np.int64), "c11")
    text = imported(make(nodes, [_weight("g", 3), _weight("b", 3), _weight("gamma", 3), shape]))
    assert layers_of(text) == ["  - layernorm", "  - layer_scale"]
    assert _params(text) == 9


def test_a_squeeze_excitation_gate_is_a_multiply():
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["p"]),
             helper.make_node("Conv", ["p", "w1", "b1"], ["c1"], kernel_shape=[1, 1]),
             helper.make_node("Relu", ["c1"], ["r"]),
             helper.make_node("Conv", ["r", "w2", "b2"], ["c2"], kernel_shape=[1, 1]),
             helper.make_node("Sigmoid", ["c2"], ["s"]),
             helper.make_node("Mul", ["x", "s"], ["y"])]
    weights = [_weight("w1", 2, 3, 1, 1), _weight("b1", 2), _weight("w2", 3, 2, 1, 1), _weight("b2", 3)]
    text = imported(make(nodes, weights))
    assert layers_of(text) == ["  - multiply:", "      - []", "      - - global_pool: {mode: avg}",
                               "        - conv: {filters: 2, kernel: 1}", "        - relu",
                               "        - conv: {filters: 3, kernel: 1}", "        - sigmoid"]


def test_a_channel_split_merged_again_is_a_split_and_a_shuffle_is_channel_shuffle():
    sizes = numpy_helper.from_array(np.array([2, 2], dtype=np.int64), "sizes")
    shape5 = numpy_helper.from_array(np.array([1, 2, 2, 16, 16], dtype=np.int64), "shape5")
    shape4 = numpy_helper.from_array(np.array([1, 4, 16, 16], dtype=np.int64), "shape4")
    nodes = [helper.make_node("Split", ["x", "sizes"], ["a", "b"], axis=1),
             helper.make_node("Relu", ["b"], ["r"]),
             helper.make_node("Concat", ["a", "r"], ["c"], axis=1),
             helper.make_node("Reshape", ["c", "shape5"], ["c5"]),
             helper.make_node("Transpose", ["c5"], ["t"], perm=[0, 2, 1, 3, 4]),
             helper.make_node("Reshape", ["t", "shape4"], ["y"])]
    text = imported(make(nodes, [sizes, shape5, shape4], shape=(1, 4, 16, 16)))
    assert layers_of(text) == ["  - split:", "      - []", "      - - relu", "  - channel_shuffle: {groups: 2}"]


def test_slices_that_cover_the_channels_are_channel_slices():
    ints = lambda name, values: numpy_helper.from_array(np.array(values, dtype=np.int64), name)  # noqa: E731
    nodes = [helper.make_node("Slice", ["x", "s1", "e1", "axes"], ["a"]),
             helper.make_node("Slice", ["x", "zero", "s1", "axes"], ["b"]),
             helper.make_node("Relu", ["a"], ["r"]),
             helper.make_node("Concat", ["b", "r"], ["y"], axis=1)]
    model = make(nodes, [ints("zero", [0]), ints("s1", [1]), ints("e1", [4]), ints("axes", [1])], shape=(1, 4, 8, 8))
    assert layers_of(imported(model)) == ["  - split:", "      sections: [1, 3]", "      branches:", "        - []",
                                          "        - - relu"]


def test_slice_bounds_computed_from_the_shape_are_evaluated():
    """x.chunk(2, dim=1) as torch.onnx writes it: bounds (C + 1) / 2 * 1 and * 2 from Shape(x)."""
    ints = lambda name, values: numpy_helper.from_array(np.array(values, dtype=np.int64), name)  # noqa: E731
    nodes = [helper.make_node("Relu", ["x"], ["x1"]),
             helper.make_node("Shape", ["x1"], ["s"]), helper.make_node("Gather", ["s", "one"], ["c"], axis=0),
             helper.make_node("Add", ["c", "one_v"], ["c1"]), helper.make_node("Div", ["c1", "two"], ["half"]),
             helper.make_node("Mul", ["half", "one_v"], ["end0"]), helper.make_node("Mul", ["half", "two"], ["end1"]),
             helper.make_node("Slice", ["x1", "zero", "end0", "axes"], ["a"]),
             helper.make_node("Slice", ["x1", "end0", "end1", "axes"], ["b"]),
             helper.make_node("Relu", ["b"], ["r"]), helper.make_node("Concat", ["a", "r"], ["y"], axis=1)]
    constants = [ints("one", 1), ints("one_v", [1]), ints("two", [2]), ints("zero", [0]), ints("axes", [1])]
    text = imported(make(nodes, constants, shape=(1, 6, 8, 8)))
    assert layers_of(text) == ["  - relu", "  - split:", "      - []", "      - - relu"]


# -- errors: located, with codes, never a traceback -------------------------------------------------

def _dynamic():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", 16])
    return make([helper.make_node("Relu", ["x"], ["y"])], inputs=[x])


def _control_flow():
    branch = helper.make_graph([helper.make_node("Relu", ["x"], ["z"])], "b", [],
                               [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 3, 16, 16])])
    cond = numpy_helper.from_array(np.array(True), "c")
    return make([helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch)], [cond])


def _two_inputs():
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, 16, 16]) for n in ("x", "x2")]
    return make([helper.make_node("Add", ["x", "x2"], ["y"])], inputs=inputs)


def _main_path_output():
    """y = tanh(relu(x)), returning relu(x) as well: a second output with no layer of its own."""
    value = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, None)  # noqa: E731
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Tanh", ["r"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [value("y"), value("r")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _crossing():
    """a = relu(x); b = sigmoid(x); add(a, b) and mul(a, b)... read inside two merges that do not nest."""
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Tanh", ["x"], ["b"]),
             helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Relu", ["a"], ["a2"]),
             helper.make_node("Add", ["s", "a2"], ["y"])]
    return make(nodes)


ERRORS = {
    "custom op": (lambda: make([helper.make_node("MyOp", ["x"], ["y"], domain="my.ops")]), "CNN701", 1,
                  "node 0 (MyOp, inputs: x): a custom op of domain 'my.ops'"),
    "unmapped op": (lambda: make([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Cos", ["r"], ["y"])]),
                    "CNN701", 1, "node 1 (Cos, inputs: r): an op type cnncalc does not map"),
    "dynamic shape": (_dynamic, "CNN702", 1, "has no fixed size (1x3x?x16)"),
    "control flow": (_control_flow, "CNN703", 1, "node 0 is If: control flow"),
    "two inputs": (_two_inputs, "CNN705", 1, "2 inputs"),
    "output of the main path": (_main_path_output, "CNN705", 1, "the graph's output 'r' is not made by a layer"),
    "transpose": (lambda: make([helper.make_node("Transpose", ["x"], ["y"], perm=[0, 1, 3, 2])]), "CNN706", 1,
                  "a Transpose [0, 1, 3, 2] that is not a layout change"),
    "matmul over the width": (lambda: make([helper.make_node("MatMul", ["x", "w"], ["y"])], [_weight("w", 16, 4)]),
                              "CNN706", 1, "a MatMul over the last axis of a channels-first map"),
    "unsupported setting": (lambda: make([helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
                                         [numpy_helper.from_array(np.array(-1.0, dtype=np.float32), "lo"),
                                          numpy_helper.from_array(np.array(1.0, dtype=np.float32), "hi")]),
                            "CNN706", 1, "a Clip to [-1.0, 1.0]"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_unsupported_graphs_give_located_errors_with_codes(case, tmp_path, cli):
    build_model, code, status, message = ERRORS[case]
    path = tmp_path / "m.onnx"
    onnx.save(build_model(), str(path))
    result = cli("import", str(path))
    assert result.exit_code == status
    assert f"{path}: error: " in result.stderr and f"[{code}]" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def test_crossing_branches_are_refused_rather_than_counted_twice():
    with pytest.raises(CnnCalcError) as error:
        imported(_crossing())
    assert error.value.code == "CNN705"


@pytest.mark.parametrize("content, code, status", [
    (None, "CNN001", 2), (b"not a protobuf at all \xff\xfe", "CNN700", 2), ("truncated", "CNN700", 2),
    (b"", "CNN700", 2)])
def test_unreadable_files_are_usage_errors(tmp_path, cli, content, code, status):
    path = tmp_path / "m.onnx"
    if content == "truncated":
        whole = make([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])],
                     [_weight("w", 8, 3, 3, 3)]).SerializeToString()
        path.write_bytes(whole[: len(whole) // 2])
    elif content is not None:
        path.write_bytes(content)
    result = cli("import", str(path))
    assert result.exit_code == status and f"[{code}]" in result.stderr and "Traceback" not in result.stderr


def test_keep_unknown_records_an_opaque_layer_and_says_so(tmp_path, cli):
    nodes = [helper.make_node("Conv", ["x", "w"], ["a"], kernel_shape=[1, 1]),
             helper.make_node("MyOp", ["a"], ["b"], domain="my.ops"),
             helper.make_node("Relu", ["b"], ["y"])]
    value_info = [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 8, 8, 8])]
    path = tmp_path / "m.onnx"
    onnx.save(make(nodes, [_weight("w", 8, 3, 1, 1)], value_info=value_info), str(path))
    out = tmp_path / "m.yaml"
    result = cli("import", str(path), "--keep-unknown", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert "1 opaque (no counts" in result.stderr and "MyOp" in result.stderr
    text = out.read_text()
    assert "  - opaque: {shape: 8x8x8, op: MyOp}" in text
    analysis = pipeline.analyze_text(text, "m.yaml")
    assert [r.output.dims for r in analysis.results[1:]] == [(16, 16, 8), (8, 8, 8), (8, 8, 8)]


def test_import_torch_leaves_the_model_as_it_was():
    torch = pytest.importorskip("torch")
    from cnncalc.importers import torch_source

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU()).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data = torch_source.to_onnx_bytes(model, (8, 8, 3))
    assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    text = onnx_import.import_model(reader.parse_model(data, "m"), "m").text
    assert layers_of(text) == ["  - conv: {filters: 4, kernel: 3}", "  - batchnorm", "  - relu"]


@pytest.mark.parametrize("target, message", [
    ("no_colon", "is not module.path:factory"), ("no_such_module_xyz:f", "cannot import 'no_such_module_xyz'"),
    ("json:no_such_factory", "'json' has no 'no_such_factory'"), ("json:dumps", "dumps() fails")])
def test_bad_torch_factories_are_located_usage_errors(cli, target, message):
    pytest.importorskip("torch")
    result = cli("import", "--torch", target)
    assert result.exit_code == 2 and "[CNN707]" in result.stderr and message in result.stderr


def test_analyze_and_lint_import_neither_onnx_nor_numpy():
    code = ("import sys\nfrom cnncalc.cli import main\nsys.argv=['cnncalc','{0}','specs/resnet18.yaml']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "bad=[m for m in ('onnx','numpy','torch') if m in sys.modules]\nassert not bad, bad\n")
    for command in ("analyze", "lint"):
        done = subprocess.run([sys.executable, "-c", code.format(command)], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0, done.stderr[-2000:]
