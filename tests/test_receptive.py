"""cnncalc/receptive.py against the impulse test on real tensors (numpy executor) and published values."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc import executor
from cnncalc.analysis import Analysis, analyze
from cnncalc.forward import Weights
from cnncalc.pipeline import analyze_file, analyze_text
from cnncalc.receptive import fields, last_map
from cnncalc.shapes import Shape

SPECS = sorted(Path(__file__).parent.parent.joinpath("specs").glob("*.yaml"))
#: a perturbation that moves every output it reaches, in float32, through small positive weights
BUMP = 1.0


def _positive(weights: Weights) -> Weights:
    """Positive weights scaled by their fan-in, so no path cancels another and activations stay
    small (tanh and sigmoid in their linear range); batch norm as the identity at inference."""
    params = {}
    for key, value in weights.params.items():
        if key == "bias" or key == "beta":
            params[key] = np.zeros_like(value)  # a constant hides small changes and moves no field
            continue
        fan_in = max(1, value.size // value.shape[-1]) if value.ndim > 1 else 1
        params[key] = (np.abs(value) + np.float32(0.1)) / np.float32(fan_in)
    buffers = {k: (np.zeros_like(v) if k == "running_mean" else np.ones_like(v)) if k.startswith("running")
               else v for k, v in weights.buffers.items()}
    return Weights(params, buffers)


def truncated(analysis: Analysis, index: int) -> Analysis:
    """The analysis of the graph up to node `index` (its output the network's)."""
    graph = dataclasses.replace(analysis.graph, nodes=analysis.graph.nodes[: index + 1])
    return analyze(graph, analysis.convention)


#: input rows run at once: Inception-v3's branches at batch 76 held 10 GB
CHUNK = 8


def impulse_extents(analysis: Analysis, axis: int) -> list[tuple[int, int] | None]:
    """For each output position along `axis`: the first and last input index along that axis whose
    perturbation changes it (None when none does), found by running the network once per input
    index, each with one slab of the input raised, all weights positive so no path cancels (a few
    indices a run: memory stays that of a small batch)."""
    x_shape = analysis.graph.input
    width = x_shape.spatial[axis]
    plans = {}

    def run(batch: np.ndarray) -> np.ndarray:
        if len(batch) not in plans:
            plans[len(batch)] = executor.plan(analysis, len(batch))
        return executor.execute(plans[len(batch)], given_input=batch, given_weights=weights, measure=False).output

    rng = np.random.default_rng(0)
    weights = [_positive(w) for w in executor.make_weights(executor.plan(analysis, 1), rng)]
    base = np.abs(rng.standard_normal((1, *x_shape.dims), dtype=np.float32)) * np.float32(0.01)
    reference = run(base)
    hit_rows = []
    for start in range(0, width, CHUNK):
        rows = range(start, min(start + CHUNK, width))
        batch = np.repeat(base, len(rows), axis=0)
        for row, i in enumerate(rows):
            index = [row] + [slice(None)] * len(x_shape.dims)
            index[1 + axis] = i
            batch[tuple(index)] += np.float32(BUMP)
        changed = np.abs(run(batch) - reference) > 1e-4 * np.abs(reference) + 1e-30
        other = tuple(a for a in range(1, changed.ndim) if a != 1 + axis)
        hit_rows.append(changed.any(axis=other))
    hits = np.concatenate(hit_rows)  # (input index, output position)
    extents = []
    for position in range(hits.shape[1]):
        rows = np.flatnonzero(hits[:, position])
        extents.append((int(rows[0]), int(rows[-1])) if rows.size else None)
    return extents


def assert_impulse_agrees(analysis: Analysis) -> None:
    """A position whose whole field lies in the image changes exactly for the pixels of its field;
    one at the border, for pixels inside the field's part in the image (padding, dropped rows and
    dilation holes can leave border pixels unread). After upsampling layers (fractional jumps) a
    position's field may sit up to one input step of each such layer off the reported line."""
    found_fields = fields(analysis)
    slack = sum(found_fields[r.node.inputs[0]].axes[0].jump for r in analysis.results[1:]
                if r.node.type in ("upsample", "conv_transpose")
                or r.node.type == "adaptive_pool" and any(w % n for w, n in zip(r.inputs[0].spatial,
                                                                                 r.output.spatial)))
    for axis in range(analysis.graph.input.rank):
        seen = impulse_extents(analysis, axis)
        width = analysis.graph.input.spatial[axis]
        field = found_fields[-1].axes[axis]
        for position, found in enumerate(seen):
            assert found is not None, (axis, position)
            low = field.start + position * field.jump
            high = low + field.size - 1
            if slack:
                assert low - slack <= found[0] and found[1] <= high + slack, (axis, position, found, low, high)
                assert found[1] - found[0] + 1 <= field.size + slack, (axis, position, found, field.size)
            elif low >= 0 and high <= width - 1:
                assert found == (low, high), (axis, position)
            else:
                assert max(low, 0) <= found[0] <= found[1] <= min(high, width - 1), (axis, position, found, low, high)


# ---------------------------------------------------------------------------------------------
# published values: google-research/receptive_field's RECEPTIVE_FIELD_TABLE.md


@pytest.mark.parametrize(("spec", "layer", "size", "jump", "padding"), [
    ("vgg16", "pool5", 212, 32, 90),
    ("alexnet", "pool5", 195, 32, 64),
])
def test_published_fields(spec, layer, size, jump, padding):
    analysis = analyze_file(f"specs/{spec}.yaml")
    found = next(f for f in fields(analysis) if f.name == layer)
    for axis in found.axes:
        assert (axis.size, axis.jump, axis.padding_before) == (size, jump, padding)


def test_the_distill_chain_formula():
    """r0 = 1 + sum (k_l - 1) prod s_i; S0 = prod s_l; P0 = sum p_l prod s_i (dilated k' = d(k-1)+1)."""
    text = ("input: 64x64x1\nlayers:\n  - conv: {filters: 1, kernel: 3, padding: 1}\n"
            "  - pool: {kernel: 2}\n  - conv: {filters: 1, kernel: 3, dilation: 2, padding: 2}\n"
            "  - conv: {filters: 1, kernel: 5, stride: 2, padding: 2}\n")
    last = fields(analyze_text(text, "<chain>"))[-1].axes[0]
    assert last.size == 1 + 2 + 1 * 1 + 4 * 2 + 4 * 2
    assert last.jump == 4
    assert last.padding_before == 1 + 0 + 2 * 2 + 2 * 2


# ---------------------------------------------------------------------------------------------
# the impulse test


@st.composite
def chains(draw):
    side = draw(st.integers(12, 24))
    layers = []
    for _ in range(draw(st.integers(1, 5))):
        choice = draw(st.sampled_from(["conv", "dilated", "pool", "avgpool", "relu", "bn", "upsample",
                                       "transposed"]))
        if choice == "conv":
            k = draw(st.integers(1, 5))
            layers.append(f"conv: {{filters: 2, kernel: {k}, stride: {draw(st.integers(1, 2))}, "
                          f"padding: {draw(st.integers(0, k // 2))}}}")
        elif choice == "dilated":
            layers.append(f"conv: {{filters: 2, kernel: 3, dilation: {draw(st.integers(2, 3))}, padding: 2}}")
        elif choice == "pool":
            layers.append(f"pool: {{kernel: {draw(st.integers(2, 3))}, stride: 2}}")
        elif choice == "avgpool":
            layers.append("pool: {kernel: 3, stride: 1, padding: 1, mode: avg}")
        elif choice == "upsample":
            layers.append("upsample: 2")
        elif choice == "transposed":
            layers.append(f"conv_transpose: {{filters: 2, kernel: {draw(st.integers(2, 4))}, stride: 2}}")
        else:
            layers.append({"relu": "relu", "bn": "batchnorm"}[choice])
    body = "\n".join(f"  - {line}" for line in layers)
    return f"input: {side}x{side}x2\nlayers:\n{body}\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains())
def test_random_chains_agree_with_the_impulse_test(text):
    analysis = analyze_text(text, "<chain>", "pytorch")
    if not analysis.ok or analysis.results[-1].output.is_vector:
        return
    assert_impulse_agrees(analysis)


RESIDUAL = """
input: 20x20x2
layers:
  - conv: {filters: 4, kernel: 3, padding: 1}
  - residual:
      layers:
        - conv: {filters: 4, kernel: 3, padding: 1}
        - relu
        - conv: {filters: 4, kernel: 3, padding: 1}
  - residual:
      layers:
        - conv: {filters: 8, kernel: 3, stride: 2, padding: 1}
        - conv: {filters: 8, kernel: 3, padding: 1}
      shortcut:
        - conv: {filters: 8, kernel: 1, stride: 2}
"""

INCEPTION = """
input: 17x17x3
layers:
  - concat:
      - [conv: {filters: 2, kernel: 1}]
      - [conv: {filters: 2, kernel: 1}, conv: {filters: 2, kernel: 3, padding: 1}]
      - [conv: {filters: 2, kernel: 5, padding: 2}]
      - [pool: {kernel: 3, stride: 1, padding: 1}, conv: {filters: 2, kernel: 1}]
"""


@pytest.mark.parametrize("text", [RESIDUAL, INCEPTION], ids=["residual", "inception"])
def test_graphs_agree_with_the_impulse_test(text):
    analysis = analyze_text(text, "<graph>", "pytorch")
    assert analysis.ok, analysis.diagnostics
    assert_impulse_agrees(analysis)
    assert all(f.misalignment is None for f in fields(analysis))


def test_misaligned_branches_are_reported_with_their_offset():
    text = """
input: 16x16x1
layers:
  - concat:
      - [conv: {filters: 1, kernel: 3, padding: 1}]
      - [conv: {filters: 1, kernel: 3, padding: [0, 2, 0, 2]}]
"""
    merged = fields(analyze_text(text, "<graph>", "pytorch"))[-1]
    assert merged.misalignment is not None and merged.misalignment.offset == 1


def _small_enough(analysis: Analysis, index: int) -> bool:
    return sum(r.inference.macs for r in analysis.results[: index + 1]) < 60_000_000


#: whose layers up to the last map cannot be shrunk below a few hundred million MACs per run
SLOW = {"googlenet_paper"}


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.stem in SLOW else p for p in SPECS],
                         ids=lambda p: p.stem)
def test_every_shipped_spec_agrees_with_the_impulse_test(path):
    """At the last map before the network becomes a vector (or its last layer), on a smaller input
    where the spec is too large to run once per input row."""
    analysis = analyze_file(str(path))
    found = fields(analysis)
    index = last_map(analysis, found)
    index = len(found) - 1 if index is None else index
    sub = truncated(analysis, index)
    if not _small_enough(sub, index):
        sub = _shrunk(sub)
    assert_impulse_agrees(sub)


def _shrunk(analysis: Analysis) -> Analysis:
    """The same layers on the smallest square input from 32 up that they accept (the field does
    not depend on the input size, except through `same` padding)."""
    shape = analysis.graph.input
    for side in range(32, max(shape.spatial) + 1):
        graph = dataclasses.replace(analysis.graph, input=Shape((side,) * shape.rank, shape.channels))
        smaller = analyze(graph, analysis.convention)
        if smaller.ok and smaller.complete and not smaller.results[-1].output.is_vector:
            return smaller
    return analysis


# ---------------------------------------------------------------------------------------------
# the command


def test_rf_prints_the_published_values_in_every_format(cli):
    import json

    table = cli("rf", "specs/vgg16.yaml")
    assert table.exit_code == 0 and "pool5" in table.stdout and "212" in table.stdout
    data = json.loads(cli("rf", "specs/vgg16.yaml", "-f", "json").stdout)
    pool5 = next(layer for layer in data["layers"] if layer["layer"] == "pool5")
    assert (pool5["size"], pool5["jump"], pool5["padding_before"]) == ([212, 212], [32, 32], [90, 90])
    markdown = cli("rf", "specs/vgg16.yaml", "-f", "markdown").stdout.splitlines()
    assert markdown[1].startswith("|---") and len({line.count(" | ") for line in markdown[2:]}) == 1


def test_rf_reads_patterns_and_reports_misalignment(cli):
    result = cli("rf", "--pattern", "INPUT[16x16x1] -> CONV3-4 -> POOL2 -> FC-10", "-f", "json")
    assert result.exit_code == 0
    import json

    layers = json.loads(result.stdout)["layers"]
    assert layers[-1]["covers"] and "size" not in layers[-1]


def test_the_opt_in_field_rules_fire_where_they_should(cli):
    vgg = cli("lint", "specs/vgg16.yaml", "--select", "CNN310,CNN311", "-f", "concise").stdout
    assert "CNN310" in vgg and "212x212" in vgg and "CNN311" in vgg
    assert "CNN31" not in cli("lint", "specs/resnet50.yaml", "-f", "concise").stdout
    assert "CNN310" not in cli("lint", "specs/resnet50.yaml", "--select", "CNN310", "-f", "concise").stdout


def test_misaligned_branches_are_linted(cli, tmp_path):
    spec = tmp_path / "skew.yaml"
    spec.write_text("input: 16x16x1\nlayers:\n  - concat:\n      - [conv: {filters: 1, kernel: 3, padding: 1}]\n"
                    "      - [conv: {filters: 1, kernel: 3, padding: [0, 2, 0, 2]}]\n")
    out = cli("lint", str(spec), "-f", "concise").stdout
    assert "CNN312" in out and "1 px apart" in out


def test_a_squeeze_excitation_gate_leaves_the_field_of_the_map_it_scales():
    """The gate (global_pool, 1x1 convs) sees the whole input but scales whole channels: the product's
    field is the map's, and the branches do not count as misaligned (no CNN312)."""
    text = """input: 14x14x8
layers:
  - conv: {filters: 8, kernel: 3, padding: 1}
  - multiply: [[], [global_pool: avg, conv: {filters: 2, kernel: 1}, relu, conv: {filters: 8, kernel: 1}, sigmoid]]
"""
    found = fields(analyze_text(text, "<se>", "pytorch"))
    assert found[-1].axes == found[1].axes and found[-1].misalignment is None
