"""`cnncalc verify`: every shipped spec passes, the report's shape (table and JSON), and failure paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc import report
from cnncalc.cli import app
from cnncalc.pipeline import analyze_file

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
#: Specs whose weights alone exceed this are marked slow (VGG-16: 528 MiB of weights to draw).
SLOW_PARAMS = 20_000_000
#: Smaller specs that still take over 3 s to verify on a 2-core machine (DenseNet-121: 121 layers of concat).
SLOW_SPECS = {"densenet121"}


def _spec_param(path: Path):
    """The spec under the convention its comments ask for: strict when every size works out, else
    pytorch (ResNet's stem floors 112.5 to 112); the biggest are marked slow."""
    analysis = analyze_file(str(path), "strict")
    convention = "strict" if analysis.ok else "pytorch"
    params = report.build(analyze_file(str(path), convention), report.Options()).totals.params
    marks = [pytest.mark.slow] if params > SLOW_PARAMS or path.stem in SLOW_SPECS else []
    return pytest.param(path, convention, marks=marks, id=path.stem)


def invoke(*args: str):
    return CliRunner().invoke(app, ["verify", *args])


@pytest.mark.parametrize("spec, convention", [_spec_param(p) for p in SPECS])
def test_every_shipped_spec_verifies_at_batch_1(spec, convention):
    result = invoke(str(spec), "--format", "json", "--convention", convention)
    assert result.exit_code == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] and data["batch"] == 1
    assert all(layer["ok"] for layer in data["layers"])
    assert data["memory"]["ok"]


def _spec_with_marks(path: Path):
    """The spec alone, with _spec_param's `slow` mark (the biggest ones)."""
    return pytest.param(path, marks=_spec_param(path).marks, id=path.stem)


@pytest.mark.parametrize("spec", [_spec_with_marks(p) for p in SPECS])
def test_every_shipped_spec_verifies_with_no_options(spec):
    """`cnncalc verify SPEC` uses the spec's own `convention:` (ResNet-18's stem floors 112.5 under
    pytorch), as analyze and fit do: issue #12, CNN201 on every spec that says `convention: pytorch`."""
    result = invoke(str(spec))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "verify: every check holds" in result.stdout


def test_an_explicit_convention_still_outranks_the_spec():
    result = invoke(str(ROOT / "specs/resnet18.yaml"), "--convention", "strict")
    assert result.exit_code == 1 and "[CNN201]" in result.stderr and "112.5" in result.stderr


def test_the_textbook_figures_are_the_textbook_models_under_any_convention():
    """ResNet-18 says `convention: pytorch`, whose default memory model is pytorch's; verify labels its
    prediction "textbook" and must take it from the textbook model."""
    result = invoke(str(ROOT / "specs/resnet18.yaml"), "--format", "json")
    assert result.exit_code == 0, result.stderr
    memory = json.loads(result.stdout)["memory"]
    textbook = report.build(analyze_file(str(ROOT / "specs/resnet18.yaml")),
                            report.Options(memory_model="textbook")).memory
    assert memory["textbook_inference_bytes"] == textbook.inference_bytes
    assert memory["textbook_largest_layer_bytes"] == textbook.peak_layer_bytes


def test_table_shows_predicted_and_executed_side_by_side():
    result = invoke(str(ROOT / "specs/lenet5.yaml"), "--batch", "2")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for heading in ("Output predicted", "Output executed", "Params in weights", "MACs executed", "Verdict"):
        assert heading in out
    # C3 at batch 2: 2 x 240,000 MACs, counted from the matrix product
    assert out.count("480,000") == 2
    assert "im2col/padding workspace" in out and "measured peak (numpy allocator)" in out
    assert "verify: every check holds" in out


def test_json_report_pairs_every_number():
    result = invoke(str(ROOT / "specs/lenet5.yaml"), "--format", "json", "--seed", "3", "--batch", "3")
    data = json.loads(result.stdout)
    assert (data["seed"], data["batch"], data["dtype"]) == (3, 3, "float32")
    c1 = data["layers"][0]
    assert c1["output_shape"] == {"predicted": [28, 28, 6], "executed": [28, 28, 6]}
    assert c1["params"] == {"predicted": 156, "executed": 156}
    assert c1["macs"] == {"predicted": 3 * 117_600, "executed": 3 * 117_600}
    memory = data["memory"]
    assert memory["expected_peak_bytes"] == (memory["weights_bytes"]["predicted"] + memory["layer_io_bytes"]
                                             + memory["held_bytes"] + memory["workspace_bytes"]["predicted"])
    assert abs(memory["difference_bytes"]) <= memory["tolerance_bytes"]


def test_a_wrong_mac_count_fails_the_run(monkeypatch):
    from cnncalc.forward import ForwardResult
    from cnncalc.layers import KINDS

    fc = type(KINDS["fc"])
    real = fc.forward
    monkeypatch.setattr(fc, "forward", lambda self, p, i, run: ForwardResult(real(self, p, i, run).output, 1))
    result = invoke(str(ROOT / "specs/lenet5.yaml"))
    assert result.exit_code == 1
    assert "MACs differ" in result.stdout and "verify: FAILED: 2 layer(s)" in result.stdout


def test_too_little_memory_is_refused_with_the_estimate():
    result = invoke(str(ROOT / "specs/lenet5.yaml"), "--batch", "4", "--max-memory", "100KiB")
    assert result.exit_code == 1
    assert "[CNN600]" in result.stderr and "needs an estimated" in result.stderr
    assert "batch 1 needs about" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("size", ["lots", "12 parsecs", "-3GiB", "0", "0GiB"])
def test_unreadable_max_memory_is_a_usage_error(size):
    result = invoke(str(ROOT / "specs/lenet5.yaml"), "--max-memory", size)
    assert result.exit_code == 2
    assert result.stderr.startswith("cnncalc: error: --max-memory") and "[CNN601]" in result.stderr


def test_an_invalid_spec_reports_its_diagnostics_and_runs_nothing(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("input: 10x10x3\nlayers:\n  - conv: {filters: 4, kernel: 3, stride: 2}\n")
    result = invoke(str(spec))
    assert result.exit_code == 1
    assert "[CNN201]" in result.stderr and result.stdout == ""


def test_the_progress_bar_is_redrawn_a_few_times_not_once_per_layer(monkeypatch):
    from rich.progress import Progress

    from cnncalc.commands import verify as command

    drawn = []
    monkeypatch.setattr(Progress, "refresh", lambda self: drawn.append(1))
    with command._progress_bar(5_000) as on_layer:
        for done in range(5_000):
            on_layer(done, 5_000, f"relu{done}")
        on_layer(5_000, 5_000, "")
    assert 2 <= len(drawn) < 500  # the first layer, one every 0.1 s, and the end
