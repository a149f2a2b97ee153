"""The pytorch memory model against PyTorch itself: saved-for-backward bytes (unique storages seen by
saved_tensors_hooks) and the peaks the CPU allocator reaches (replayed from torch.profiler)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc import memory
from cnncalc.analysis import analyze
from cnncalc.conventions import get
from cnncalc.errors import Location
from cnncalc.graph import Graph, Node
from cnncalc.layers import KINDS, kinds
from cnncalc.pipeline import analyze_file, analyze_text
from cnncalc.shapes import Shape
from torch_nets import GraphNet, Unsupported, batch_input, inference_peak, saved_bytes, training_peak
from torchvision_models import ORACLED

SPECS = sorted(Path(__file__).parent.parent.joinpath("specs").glob("*.yaml"))
#: the zoo specs rebuilt in torch from the spec here; those in torchvision's layouts are measured on
#: the real torchvision models instead (tests/test_torchvision_zoo.py), not twice
REBUILT = [path for path in SPECS if path.stem not in ORACLED]
#: above this many multiply-accumulates per sample a spec's torch step takes more than a few
#: seconds on 2 cores: its zoo tests are marked slow
QUICK_MACS = 200_000_000


def estimate(analysis, batch, optimizer="adam"):
    return memory.pytorch(analysis, batch=batch, dtype="float32", optimizer=optimizer)


def assert_saved_matches(analysis, batch):
    torch.manual_seed(0)
    model = GraphNet(analysis)
    measured = saved_bytes(model, batch_input(analysis, batch))
    assert estimate(analysis, batch).activations_bytes == pytest.approx(measured, rel=0.01)


def assert_peaks_match(analysis, batch, optimizer="adam"):
    torch.manual_seed(0)
    model = GraphNet(analysis)
    x = batch_input(analysis, batch)
    mem = estimate(analysis, batch, optimizer)
    train, state = training_peak(model, x, optimizer)
    assert mem.optimizer_bytes == state
    assert mem.training_bytes == pytest.approx(train, rel=0.10)
    assert mem.inference_bytes == pytest.approx(inference_peak(model, x), rel=0.10)


# ---------------------------------------------------------------------------------------------
# random chains


#: every elementwise kind (activations, dropout), from the registry: a new one joins the chains at once
ELEMENTWISE = sorted(kind.name for kind in kinds() if kind.inplace)


@st.composite
def chains(draw):
    side = draw(st.integers(6, 20))
    channels = draw(st.integers(1, 6))
    layers, spatial = [], True
    for _ in range(draw(st.integers(1, 7))):
        options = ["conv", "relu_inplace", "bn", *ELEMENTWISE]
        options += ["maxpool", "avgpool", "global_avg", "global_max", "lrn", "flatten"] if spatial else []
        options += ["fc"]
        choice = draw(st.sampled_from(options))
        if choice == "conv":
            k = draw(st.sampled_from([1, 3]))
            layers.append(f"conv: {{filters: {draw(st.integers(1, 8))}, kernel: {k}, padding: {k // 2}, "
                          f"stride: {draw(st.integers(1, 2))}, bias: {str(draw(st.booleans())).lower()}}}")
        elif choice == "relu_inplace":
            layers.append("relu: {inplace: true}")
        elif choice in ("maxpool", "avgpool"):
            layers.append(f"pool: {{kernel: 2, stride: {draw(st.integers(1, 2))}, mode: {choice[:3]}}}")
        elif choice in ("global_avg", "global_max"):
            layers.append(f"global_pool: {choice[7:]}")
            spatial = False
        elif choice == "bn":
            layers.append("batchnorm")
        elif choice == "dropout":
            layers.append(f"dropout: {draw(st.sampled_from([0.0, 0.5]))}")
        elif choice == "lrn":
            layers.append("lrn: 3")
        elif choice == "flatten":
            layers.append("flatten")
            spatial = False
        elif choice == "fc":
            layers.append(f"fc: {draw(st.integers(1, 16))}")
            spatial = False
        else:
            layers.append(choice)
    body = "\n".join(f"  - {line}" for line in layers)
    return f"input: {side}x{side}x{channels}\nlayers:\n{body}\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains(), st.sampled_from([1, 2, 3]))
def test_random_chains_save_what_autograd_saves(text, batch):
    analysis = analyze_text(text, "<chain>", "pytorch")
    if not analysis.ok or (batch == 1 and "batchnorm" in text):
        return  # batch norm refuses one value per channel on vectors; shapes that fail are other tests' job
    try:
        assert_saved_matches(analysis, batch)
    except Unsupported:
        pass


def _outside_the_cpu_model(analysis) -> bool:
    """Corners docs/memory.md names as not followed: convolutions over fewer than 4 positions a
    side; an in-place op on a view (autograd rewrites the base's history)."""
    results = analysis.results
    for result in results[1:]:
        x = result.inputs[0]
        if result.node.type.startswith("conv") and x.spatial and min(x.spatial) < 4:
            return True
        source = result.node.inputs[0]
        if result.node.params.get("inplace") and source > 0 and results[source].node.type == "flatten":
            return True
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains(), st.sampled_from([1, 2, 8]))
def test_random_chains_peak_where_the_allocator_does(text, batch):
    analysis = analyze_text(text, "<chain>", "pytorch")
    if not analysis.ok or (batch == 1 and "batchnorm" in text) or _outside_the_cpu_model(analysis):
        return
    try:
        torch.manual_seed(0)
        model = GraphNet(analysis)
    except Unsupported:
        return
    if not any(True for _ in model.parameters()):
        return  # nothing to train
    x = batch_input(analysis, batch)
    mem = estimate(analysis, batch, "sgd")
    try:
        train, _ = training_peak(model, x, "sgd")
    except RuntimeError as error:
        # an in-place ReLU overwriting an output that the op before it saved: PyTorch refuses
        assert "inplace" in str(error) and "relu: {inplace: true}" in text
        return
    assert mem.training_bytes == pytest.approx(train, rel=0.05), text
    assert mem.inference_bytes == pytest.approx(inference_peak(model, x), rel=0.05), text


# ---------------------------------------------------------------------------------------------
# residual and concat graphs, built node by node


def graph_of(input_shape: Shape, layers: list[tuple[str, dict, tuple[int, ...]]]) -> Graph:
    """layers: (kind, params, inputs); params are completed from the kind's defaults."""
    nodes = [Node(0, "input", None, {}, (), Location())]
    for index, (word, params, inputs) in enumerate(layers, start=1):
        kind = KINDS[word]
        full = {p.name: p.default for p in kind.params} | params
        nodes.append(Node(index, f"{word}{index}", kind, full, inputs, Location()))
    return Graph("test", input_shape, tuple(nodes))


def residual_net() -> Graph:
    conv = lambda c, s=1: {"filters": c, "kernel": 3, "padding": 1, "stride": s, "bias": False}  # noqa: E731
    return graph_of(Shape((16, 16), 3), [
        ("conv", conv(8), (0,)), ("batchnorm", {}, (1,)), ("relu", {"inplace": True}, (2,)),       # 1-3 stem
        ("conv", conv(8), (3,)), ("batchnorm", {}, (4,)), ("relu", {"inplace": True}, (5,)),       # 4-6
        ("conv", conv(8), (6,)), ("batchnorm", {}, (7,)), ("add", {}, (8, 3)),                     # 7-9
        ("relu", {"inplace": True}, (9,)),                                                         # 10
        ("conv", conv(16, 2), (10,)), ("batchnorm", {}, (11,)), ("relu", {}, (12,)),               # 11-13
        ("conv", conv(16), (13,)), ("batchnorm", {}, (14,)),                                       # 14-15
        ("conv", {"filters": 16, "kernel": 1, "stride": 2, "bias": False}, (10,)),                 # 16 downsample
        ("batchnorm", {}, (16,)), ("add", {}, (15, 17)), ("relu", {}, (18,)),                      # 17-19
        ("global_pool", {"mode": "avg"}, (19,)), ("fc", {"units": 10}, (20,)),                     # 20-21
    ])


def inception_net() -> Graph:
    conv = lambda c, k: {"filters": c, "kernel": k, "padding": k // 2}  # noqa: E731
    return graph_of(Shape((16, 16), 3), [
        ("conv", conv(8, 3), (0,)), ("relu", {}, (1,)), ("lrn", {"size": 3}, (2,)),                  # 1-3
        ("pool", {"kernel": 2, "stride": 2}, (3,)),                                                 # 4
        ("conv", conv(4, 1), (4,)), ("relu", {}, (5,)),                                             # 5-6 branch 1
        ("conv", conv(4, 1), (4,)), ("relu", {}, (7,)), ("conv", conv(6, 3), (8,)), ("relu", {}, (9,)),  # 7-10
        ("conv", conv(2, 1), (4,)), ("relu", {}, (11,)), ("conv", conv(3, 5), (12,)), ("relu", {}, (13,)),  # 11-14
        ("pool", {"kernel": 3, "stride": 1, "padding": 1}, (4,)), ("conv", conv(3, 1), (15,)),      # 15-16
        ("relu", {}, (16,)),                                                                        # 17
        ("concat", {}, (6, 10, 14, 17)),                                                            # 18
        ("pool", {"kernel": 2, "stride": 2, "mode": "avg"}, (18,)), ("dropout", {"rate": 0.5}, (19,)),  # 19-20
        ("fc", {"units": 10}, (20,)),                                                               # 21
    ])


@pytest.mark.parametrize("build", [residual_net, inception_net])
@pytest.mark.parametrize("batch", [1, 8])
def test_graphs_save_what_autograd_saves(build, batch):
    analysis = analyze(build(), get("pytorch"))
    assert analysis.ok and analysis.complete
    assert_saved_matches(analysis, batch)


@pytest.mark.parametrize("build", [residual_net, inception_net])
@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_graph_peaks_match_the_allocator(build, batch, optimizer):
    assert_peaks_match(analyze(build(), get("pytorch")), batch, optimizer)


def test_a_residual_branch_keeps_its_input_alive_at_inference():
    analysis = analyze(residual_net(), get("pytorch"))
    chain_only = memory.pytorch(analysis, batch=4, dtype="float32", optimizer="sgd")
    # the stem output (node 3) is alive while conv4..bn8 run: at least two 8-channel maps at once
    two_maps = 2 * 4 * 16 * 16 * 8 * 4
    assert chain_only.peak_layer_bytes >= two_maps


# ---------------------------------------------------------------------------------------------
# the shipped zoo


def _macs(path: Path) -> int:
    analysis = analyze_file(str(path))
    return sum(r.inference.macs for r in analysis.results[1:]) if analysis.complete else 0


def _zoo_params():
    for path in REBUILT:
        marks = [pytest.mark.slow] if _macs(path) > QUICK_MACS else []
        for batch in (1, 8):
            yield pytest.param(path, batch, marks=marks, id=f"{path.stem}-{batch}")


@functools.lru_cache(maxsize=None)
def measured_in_a_subprocess(path: Path, batch: int) -> dict:
    """torch's figures for a zoo spec, from a process of its own (tests/torch_nets.py): in this one a
    big model's weights, gradients and Adam state would stay resident after the test."""
    root = Path(__file__).parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root.parent), str(root), os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, str(root / "torch_nets.py"), str(path), str(batch)],
                         capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    if "unsupported" in found:
        pytest.skip(f"no plain torch equivalent: {found['unsupported']}")
    return found


@pytest.mark.parametrize(("path", "batch"), list(_zoo_params()))
def test_zoo_saved_bytes(path, batch):
    measured = measured_in_a_subprocess(path, batch)
    assert estimate(analyze_file(str(path)), batch).activations_bytes == pytest.approx(measured["saved"], rel=0.01)


@pytest.mark.parametrize(("path", "batch"), list(_zoo_params()))
def test_zoo_peaks(path, batch):
    measured = measured_in_a_subprocess(path, batch)
    mem = estimate(analyze_file(str(path)), batch)
    assert mem.optimizer_bytes == measured["state"]
    assert mem.training_bytes == pytest.approx(measured["train"], rel=0.10)
    assert mem.inference_bytes == pytest.approx(measured["infer"], rel=0.10)


@pytest.mark.parametrize(("path", "batch"), [p for p in _zoo_params() if p.values[1] == 1]
                         + [pytest.param(SPECS[0], 3, id="alexnet-3")])
def test_zoo_saved_bytes_under_autocast(path, batch):
    """--amp bfloat16 against torch.autocast on the CPU: half-precision activations, a half copy of
    every weight and of every float32 input that a conv or linear casts (the network input, LRN's
    float32 output), float32 LRN internals."""
    analysis = analyze_file(str(path))
    torch.manual_seed(0)
    try:
        model = GraphNet(analysis)
    except Unsupported as missing:
        pytest.skip(f"no plain torch equivalent: {missing}")
    measured = saved_bytes(model, batch_input(analysis, batch), autocast=torch.bfloat16)
    estimate = memory.pytorch(analysis, batch=batch, dtype="float32", optimizer="adam", amp="bfloat16")
    assert estimate.activations_bytes == pytest.approx(measured, rel=0.01)


@pytest.mark.parametrize("build", [residual_net, inception_net])
def test_graphs_save_what_autocast_saves(build):
    analysis = analyze(build(), get("pytorch"))
    torch.manual_seed(0)
    measured = saved_bytes(GraphNet(analysis), batch_input(analysis, 4), autocast=torch.bfloat16)
    estimate = memory.pytorch(analysis, batch=4, dtype="float32", optimizer="adam", amp="bfloat16")
    assert estimate.activations_bytes == pytest.approx(measured, rel=0.01)


def test_vgg16_saved_bytes_match_the_published_measurement():
    """memory.md B2: 69.96 MiB at batch 1 for torchvision's VGG-16, whose AdaptiveAvgPool2d(7) keeps
    its 7x7x512 input (100,352 B) that the spec's plain chain does not have."""
    mem = estimate(analyze_file("specs/vgg16.yaml", "pytorch"), 1)
    assert (mem.activations_bytes + 7 * 7 * 512 * 4) / 2**20 == pytest.approx(69.96, abs=0.005)


# ---------------------------------------------------------------------------------------------
# side outputs (auxiliary heads): loss = main + 0.4 * aux, every head's tensors kept until backward


@st.composite
def nets_with_a_head(draw):
    """A conv trunk, a head branching off after a random layer (training-only or not), the trunk going on."""
    side, channels = draw(st.integers(8, 16)), draw(st.integers(1, 4))
    trunk = [f"conv: {{filters: {draw(st.integers(1, 8))}, kernel: 3, padding: 1, stride: {draw(st.integers(1, 2))}}}"
             for _ in range(draw(st.integers(1, 3)))]
    trunk = [line for conv in trunk for line in (conv, draw(st.sampled_from(["relu", "batchnorm", "tanh"])))]
    head = draw(st.sampled_from([
        ["global_pool: avg", f"fc: {draw(st.integers(1, 6))}"],
        [f"conv: {{filters: {draw(st.integers(1, 6))}, kernel: 1}}", "relu", "flatten", "fc: 3"],
        ["pool: {kernel: 2, stride: 2}", f"conv: {{filters: {draw(st.integers(1, 6))}, kernel: 1}}"],
    ]))
    at = draw(st.integers(1, len(trunk)))
    training_only = str(draw(st.booleans())).lower()
    output = [f"output: {{name: aux, training_only: {training_only}, layers: [{', '.join('{' + h + '}' for h in head)}]}}"]
    tail = ["conv: {filters: 4, kernel: 3, padding: 1}", "relu", "global_pool: avg", "fc: 5"]
    body = "\n".join(f"  - {line}" for line in [*trunk[:at], *output, *trunk[at:], *tail])
    return f"input: {side}x{side}x{channels}\nlayers:\n{body}\n"


def _head_net(text, batch):
    analysis = analyze_text(text, "<net>", "pytorch")
    assert analysis.ok, text
    if batch == 1 and "batchnorm" in text:
        return analysis, None
    torch.manual_seed(0)
    return analysis, GraphNet(analysis)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nets_with_a_head(), st.sampled_from([1, 2, 4]))
def test_a_head_saves_what_autograd_saves_and_counts_its_params(text, batch):
    analysis, model = _head_net(text, batch)
    if model is None:
        return
    mem = estimate(analysis, batch)
    assert mem.params_bytes == 4 * sum(p.numel() for p in model.parameters())
    assert mem.activations_bytes == pytest.approx(saved_bytes(model, batch_input(analysis, batch)), rel=0.01), text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nets_with_a_head(), st.sampled_from([1, 8]))
def test_a_head_peaks_where_the_allocator_does(text, batch):
    analysis, model = _head_net(text, batch)
    if model is None or _outside_the_cpu_model(analysis):
        return
    x = batch_input(analysis, batch)
    mem = estimate(analysis, batch, "sgd")
    train, _ = training_peak(model, x, "sgd")
    assert mem.training_bytes == pytest.approx(train, rel=0.10), text
    assert mem.inference_bytes == pytest.approx(inference_peak(model, x), rel=0.10), text


def test_a_training_only_head_is_left_out_of_inference_only():
    head = """
input: 16x16x3
layers:
  - conv: {filters: 8, kernel: 3, padding: 1}
  - relu
  - output: {name: aux, training_only: %s, layers: [conv: {filters: 64, kernel: 3, padding: 1}]}
  - global_pool: avg
  - fc: 4
"""
    kept, dropped = (estimate(analyze_text(head % flag, "<net>", "pytorch"), 4) for flag in ("false", "true"))
    assert dropped.params_bytes == kept.params_bytes  # the head's weights stay resident, as in eval mode
    assert dropped.training_bytes == kept.training_bytes
    # the kept head's 16x16x64 output is held for the caller at inference; a training-only one never runs
    assert kept.inference_bytes - dropped.inference_bytes >= 4 * 16 * 16 * 64 * 4


AUX_NET = """
input: 16x16x3
layers:
  - conv: {filters: 8, kernel: 3, padding: 1}
  - relu
  - output: {name: aux, training_only: %s, layers: [conv: {filters: 32, kernel: 3, padding: 1}]}
  - conv: {filters: 8, kernel: 3, padding: 1, stride: 2}
  - relu
  - global_pool: avg
  - fc: 4
"""


@pytest.mark.parametrize("training_only", ["true", "false"])
@pytest.mark.parametrize("batch", [1, 8])
def test_a_large_head_is_held_until_backward_and_its_gradient_seeded(training_only, batch):
    """The head's output and its loss gradient dominate this step: a model that forgot either is 30 % short."""
    analysis = analyze_text(AUX_NET % training_only, "<net>", "pytorch")
    torch.manual_seed(0)
    model = GraphNet(analysis)
    x = batch_input(analysis, batch)
    mem = estimate(analysis, batch, "sgd")
    train, _ = training_peak(model, x, "sgd")
    assert mem.training_bytes == pytest.approx(train, rel=0.05)
    assert mem.inference_bytes == pytest.approx(inference_peak(model, x), rel=0.05)


# ---------------------------------------------------------------------------------------------
# stages: the caller of an nn.Sequential holds its input until it returns

STAGED = """
name: staged
input: 16x16x8
blocks:
  expand_project:
    layers:
      - conv: {filters: 48, kernel: 1, bias: false}
      - relu
      - conv: {filters: 8, kernel: 1, bias: false}
layers:
  - conv: {filters: 8, kernel: 3, padding: 1}
  - expand_project: {STAGE}
  - expand_project: {STAGE}
  - global_pool: avg
  - fc: 10
"""


class _Staged(torch.nn.Module):
    """STAGED as torchvision writes such a net: the two blocks' layers in one nn.Sequential, called with
    the stem's output, which this frame keeps until the stage returns. (A block written as a module of
    its own would hold its input too: the stage's blocks are flat here, as cnncalc's block uses are.)"""

    def __init__(self):
        super().__init__()
        nn = torch.nn

        def block():
            return [nn.Conv2d(8, 48, 1, bias=False), nn.ReLU(), nn.Conv2d(48, 8, 1, bias=False)]

        self.stem = nn.Conv2d(8, 8, 3, padding=1)
        self.stage = nn.Sequential(*block(), *block())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))

    def forward(self, x):
        x = self.stem(x)
        x = self.stage(x)
        return self.head(x)


@pytest.mark.parametrize("batch", [1, 4])
def test_a_stage_holds_its_input_until_it_returns(batch):
    staged = analyze_text(STAGED.replace("{STAGE}", "{stage: features}"), "staged.yaml", "pytorch")
    flat = analyze_text(STAGED.replace("{STAGE}", "{}"), "flat.yaml", "pytorch")
    assert staged.ok and flat.ok
    assert [n.stages for n in staged.graph.nodes[2:8]] == [("features",)] * 6
    torch.manual_seed(0)
    model, x = _Staged(), torch.randn(batch, 8, 16, 16)
    measured = inference_peak(model, x)
    assert estimate(staged, batch).inference_bytes == measured
    # without the stage the stem's output dies after the first block's first conv: one map less
    assert measured - estimate(flat, batch).inference_bytes == batch * 16 * 16 * 8 * 4
    # in training the first conv saves it anyway
    assert estimate(staged, batch).training_bytes == estimate(flat, batch).training_bytes


@pytest.mark.parametrize("name", ["resnet50", "densenet121", "mobilenet_v3_small"])
def test_the_rules_of_distinct_layers_are_each_layers_own(name):
    """`rules` asks each distinct layer once (ResNet-50's 174 layers are 54, its 53 convolutions 23) and
    both modes share the grouping: every layer's rule is still the one its kind makes for it."""
    from cnncalc import layer_rules, liveness
    from cnncalc.cpu import Cpu
    from cnncalc.layers.base import MemoryContext, MemoryRule

    analysis = analyze_file(Path(__file__).parent.parent / "specs" / f"{name}.yaml")
    layers = liveness.distinct(analysis)
    group_of, firsts = layers
    assert len(group_of) == len(analysis.results) - 1 and len(firsts) < len(group_of)
    assert sorted(set(group_of)) == list(range(len(firsts)))
    if name == "resnet50":
        assert len(firsts) == 54 and sum(r.node.kind.name == "conv" for r in firsts) == 23
    for ctx in (MemoryContext(8, 4, 4, True, "cpu", False, Cpu("avx2", 4)),
                MemoryContext(8, 4, 4, False, "cpu", False, Cpu("avx2", 4)),
                MemoryContext(2, 2, 4, True, "cuda", True)):
        own = tuple(layer_rules._with_counted_params(r.node.kind.memory_rule(r.node.params, r.inputs, r.inference, ctx),
                                                  r.inference.params, r.inference.buffers, ctx)
                    for r in analysis.results[1:])
        assert liveness.rules(analysis, ctx, layers) == liveness.rules(analysis, ctx) == (MemoryRule(), *own)


@pytest.mark.parametrize(("name", "amp"), [("resnet50", False), ("inception_v3", False), ("resnet50", True)])
def test_a_report_s_two_runs_are_each_run_alone(name, amp):
    """`both`: where the inference run takes the training run's storages and wiring (not under autocast, nor
    with Inception-v3's training-only head: those find their own), each run is what it is alone."""
    from cnncalc import liveness
    from cnncalc.cpu import Cpu
    from cnncalc.layers.base import MemoryContext
    from cnncalc.records import replace

    analysis = analyze_file(Path(__file__).parent.parent / "specs" / f"{name}.yaml")
    ctx = MemoryContext(2, 2 if amp else 4, 4, True, "cpu", amp, Cpu("avx2", 4))
    infer_ctx = replace(ctx, training=False)
    rules, infer_rules = liveness.rules(analysis, ctx), liveness.rules(analysis, infer_ctx)
    assert liveness.same_storages(analysis, ctx, rules, infer_rules) == (name == "resnet50" and not amp)
    train, infer = liveness.both(analysis, ctx, infer_ctx, 1000, 500, 4, 64, rules, infer_rules)
    assert train == liveness.training(analysis, ctx, 1000, 4, 64, rules)
    assert infer == liveness.inference(analysis, infer_ctx, 500, infer_rules, detail=False)
    detailed = liveness.inference(analysis, infer_ctx, 500, infer_rules)
    assert (infer.peak, infer.scratch_bytes, infer.peak_transient) == (
        detailed.peak, detailed.scratch_bytes, detailed.peak_transient)
