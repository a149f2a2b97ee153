"""The executor's plan (ownership, liveness, workspace), its refusal of runs that cannot fit, its
measurements, and the rule that `analyze` and `lint` never import numpy."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc import executor, report
from cnncalc.errors import CnnCalcError
from cnncalc.pipeline import analyze_file, analyze_text
from cnncalc.verification import compare

ROOT = Path(__file__).resolve().parent.parent


def analysis_of(spec: dict, convention: str = "strict"):
    analysis = analyze_text(yaml.safe_dump(spec, sort_keys=False), "<test>", convention)
    assert analysis.ok, analysis.diagnostics
    return analysis


def run_in_subprocess(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


# ---------------------------------------------------------------------------------------------
# numpy stays out of analyze and lint


def test_analyze_and_lint_never_import_numpy():
    result = run_in_subprocess("""
        import sys
        from typer.testing import CliRunner
        from cnncalc.cli import app
        runner = CliRunner()
        commands = {c.name or c.callback.__name__ for c in app.registered_commands}
        assert runner.invoke(app, ["analyze", "specs/vgg16.yaml", "--format", "json"]).exit_code == 0
        if "lint" in commands:
            runner.invoke(app, ["lint", "specs/vgg16.yaml"])
        import cnncalc.executor, cnncalc.verification, cnncalc.forward  # the plan side is numpy-free too
        print(sorted(m for m in sys.modules if m == "numpy" or m.startswith("numpy.")))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_an_absurd_input_is_refused_before_numpy_is_even_imported(tmp_path):
    spec = tmp_path / "absurd.yaml"
    spec.write_text("name: absurd\ninput: 200000x200000x3\nlayers:\n  - conv: {filters: 64, kernel: 3}\n")
    result = run_in_subprocess(f"""
        import sys
        from typer.testing import CliRunner
        from cnncalc.cli import app
        result = CliRunner().invoke(app, ["verify", {str(spec)!r}])
        print(result.exit_code)
        print("numpy" in sys.modules)
        print(result.output)
    """)
    code, numpy_loaded, *output = result.stdout.splitlines()
    text = "\n".join(output)
    assert (code, numpy_loaded) == ("1", "False"), result.stdout + result.stderr
    assert "[CNN600]" in text and "input: 200000x200000x3" in text
    assert "needs an estimated" in text and "more than --max-memory" in text
    assert "a smaller input" in text


def test_refusal_names_the_estimate_and_the_batch_that_would_fit():
    the_plan = executor.plan(analyze_file(str(ROOT / "specs/lenet5.yaml")), 64)
    with pytest.raises(executor.MemoryRefused) as caught:
        executor.refuse_if_too_big(the_plan, 100_000, 270_000)
    error = caught.value
    assert error.code == "CNN600" and error.loc == the_plan.analysis.graph.nodes[0].loc  # the `input:` line
    assert "batch 64" in error.message and "of which" in error.message
    assert "batch 1 needs about" in error.hint


def test_default_max_memory_is_a_share_of_available_memory(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       32000000 kB\nMemAvailable:   24000000 kB\n")
    assert executor.available_memory(str(meminfo)) == 24_000_000 * 1024
    assert executor.available_memory(str(tmp_path / "missing")) is None
    assert executor.default_max_memory() > 0


def test_a_kind_without_a_forward_is_refused_with_its_location(monkeypatch):
    from cnncalc.layers import KINDS, LayerKind

    analysis = analysis_of({"input": "8x8x3", "layers": [{"conv": {"filters": 4, "kernel": 3}}, "tanh"]})
    # a kind that does not implement the declared `forward` keeps LayerKind's default
    monkeypatch.delattr(type(KINDS["tanh"]), "apply")
    monkeypatch.setattr(type(KINDS["tanh"]), "forward", LayerKind.forward)
    assert not KINDS["tanh"].executable
    with pytest.raises(CnnCalcError) as caught:
        executor.plan(analysis, 1)
    assert caught.value.code == "CNN603" and "tanh" in caught.value.message


# ---------------------------------------------------------------------------------------------
# the plan


def test_chain_plan_works_in_place_frees_early_and_predicts_im2col():
    the_plan = executor.plan(analyze_file(str(ROOT / "specs/lenet5.yaml")), 2)
    steps = {s.node.name: s for s in the_plan.steps}
    assert steps["tanh1"].aliases_input and steps["tanh1"].overwritable == (True,)
    assert not steps["C1"].aliases_input
    assert steps["C1"].frees == (0,)  # the input dies as soon as C1 has read it
    assert all(s.held_bytes == 0 for s in the_plan.steps)  # a chain holds nothing for later
    # C1: 5x5 kernel over a 32x32x1 input, 28x28 outputs: im2col = 2 x 784 x 25 floats, no padding
    assert steps["C1"].workspace_bytes == 2 * 28 * 28 * 25 * 4
    # C1 reads 32x32x1 and writes 28x28x6
    assert steps["C1"].io_bytes == 2 * (32 * 32 + 28 * 28 * 6) * 4
    assert the_plan.params_bytes == 61_706 * 4


def test_pointwise_convolution_needs_no_im2col_copy():
    the_plan = executor.plan(analysis_of({"input": "8x8x16", "layers": [{"conv": {"filters": 4, "kernel": 1}}]}), 1)
    assert the_plan.steps[0].workspace_bytes == 0


def test_vgg_expected_peak_is_textbook_plus_the_conv1_2_im2col():
    analysis = analyze_file(str(ROOT / "specs/vgg16.yaml"))
    the_plan = executor.plan(analysis, 1)
    textbook = report.build(analysis, report.Options()).memory.inference_bytes
    peak = the_plan.peak_step
    assert peak.node.name == "conv2"
    # 224x224 positions x (3x3x64) columns, plus the 226x226x64 padded copy beyond the 224x224x64 output
    workspace = (224 * 224 * 576 + 226 * 226 * 64 - 224 * 224 * 64) * 4
    assert peak.workspace_bytes == workspace
    assert the_plan.peak_bytes == textbook + workspace


# ---------------------------------------------------------------------------------------------
# execution and measurement


@st.composite
def chains(draw):
    """Small random conv/pool/activation chains over 2-D inputs."""
    size = draw(st.integers(6, 20))
    layers = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["conv", "pool", "relu", "batchnorm", "softmax", "lrn"]))
        if kind == "conv":
            layers.append({"conv": {"filters": draw(st.integers(1, 8)), "kernel": draw(st.integers(1, 3)),
                                    "padding": "same", "groups": 1}})
        elif kind == "pool":
            layers.append({"pool": {"kernel": 2, "stride": 1, "mode": draw(st.sampled_from(["max", "avg"]))}})
        else:
            layers.append(kind)
    return {"input": f"{size}x{size}x{draw(st.integers(1, 4))}", "layers": layers}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains(), st.integers(1, 3))
def test_measured_peak_matches_the_plan_within_tolerance(spec, batch):
    analysis = analysis_of(spec, "pytorch")
    the_plan = executor.plan(analysis, batch)
    execution = executor.execute(the_plan, seed=1)
    result = compare(report.build(analysis, report.Options(batch)), the_plan, execution, 0.0)
    assert result.memory is not None and result.memory.ok, result.memory
    assert all(layer.ok for layer in result.layers)


def test_same_seed_same_numbers_and_weights_sized_as_predicted():
    analysis = analysis_of({"input": "10x10x3", "layers": [{"conv": {"filters": 4, "kernel": 3}}, "relu",
                                                             {"batchnorm": {}}, {"fc": 5}]})
    the_plan = executor.plan(analysis, 2)
    first = executor.execute(the_plan, seed=7, measure=False, keep_weights=True)
    second = executor.execute(the_plan, seed=7, measure=False)
    other = executor.execute(the_plan, seed=8, measure=False)
    assert (first.output == second.output).all() and not (first.output == other.output).all()
    conv, _, norm, fc = first.weights
    assert conv.params["kernel"].shape == (3, 3, 3, 4) and conv.params["bias"].shape == (4,)
    assert set(norm.params) == {"gamma", "beta"} and set(norm.buffers) == {"running_mean", "running_var"}
    assert fc.params["kernel"].shape == (8 * 8 * 4, 5)


def test_a_wrong_output_shape_stops_the_run(monkeypatch):
    from cnncalc.forward import ForwardResult
    from cnncalc.layers import KINDS

    analysis = analysis_of({"input": "8x8x3", "layers": [{"pool": 2}, "relu", {"fc": 3}]})
    pool = type(KINDS["pool"])
    real = pool.forward
    monkeypatch.setattr(pool, "forward", lambda self, p, inputs, run: ForwardResult(real(self, p, inputs, run).output[:, :3]))
    the_plan = executor.plan(analysis, 1)
    execution = executor.execute(the_plan)
    assert not execution.complete and len(execution.layers) == 1
    result = compare(report.build(analysis, report.Options()), the_plan, execution, 0.0)
    assert [layer.problems for layer in result.layers] == [("shape",), ("not run",), ("not run",)]
    assert result.memory is None and not result.ok


def test_progress_is_reported_for_every_layer():
    calls = []
    the_plan = executor.plan(analyze_file(str(ROOT / "specs/lenet5.yaml")), 1)
    executor.execute(the_plan, on_layer=lambda done, total, name: calls.append((done, total, name)), measure=False)
    assert calls[0] == (0, 12, "C1") and calls[-1] == (12, 12, "")
