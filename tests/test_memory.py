"""Memory models: the textbook model against the seeds, static memory against PyTorch, and the
report/CLI surface (JSON keys, the per-layer table, the labelled GPU estimate)."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from cnncalc import memory, report
from cnncalc.cli import app
from cnncalc.pipeline import analyze_file, analyze_text
from torch_nets import OPTIMIZERS, GraphNet, batch_input, optimizer_state_bytes

GERON = """
input: 150x100x3
layers:
  - conv: {filters: 200, kernel: 5, stride: 1, padding: same, name: conv}
"""

runner = CliRunner()


def build(text_or_path, convention="strict", **options):
    analysis = analyze_text(text_or_path, "<t>", convention) if "\n" in text_or_path else analyze_file(text_or_path,
                                                                                                        convention)
    return report.build(analysis, report.Options(**options))


def test_textbook_vgg16_activations_are_the_cs231n_sum():
    mem = build("specs/vgg16.yaml").memory
    assert mem.model == "textbook"
    assert mem.activations_bytes == 15_237_608 * 4
    assert f"{mem.activations_bytes / 2**20:.1f}" == "58.1"


def test_textbook_geron_layer_is_11_4_mib_per_instance_and_over_1_gib_at_batch_100():
    one = build(GERON).memory.layers
    conv = next(layer for layer in one if layer.name == "conv")
    assert conv.output_bytes == 200 * 150 * 100 * 4
    assert f"{conv.output_bytes / 2**20:.1f}" == "11.4"
    hundred = next(layer for layer in build(GERON, batch=100).memory.layers if layer.name == "conv")
    assert hundred.output_bytes > 2**30


def test_model_follows_the_convention_and_the_override_wins():
    assert build("specs/lenet5.yaml", "pytorch").memory.model == "pytorch"
    assert build("specs/lenet5.yaml", "pytorch", memory_model="textbook").memory.model == "textbook"
    assert build("specs/lenet5.yaml", "strict", memory_model="pytorch").memory.model == "pytorch"


@pytest.mark.parametrize(("options", "why"), [
    ({"amp": "float16"}, "chosen by --amp; the textbook model has no mixed-precision rule"),
    ({"device": "cuda"}, "chosen by --device cuda; the textbook model has no device rules"),
    ({"amp": "bfloat16", "device": "cuda"},
     "chosen by --amp and --device cuda; the textbook model has no mixed-precision or device rules"),
])
def test_amp_and_cuda_choose_the_pytorch_model_under_a_textbook_convention(options, why):
    """Issue #12: the textbook model (strict's default) has no rule for them; they were silently dropped."""
    chosen = build("specs/lenet5.yaml", "strict", batch=4, **options).memory
    asked = build("specs/lenet5.yaml", "strict", batch=4, memory_model="pytorch", **options).memory
    assert chosen.model == "pytorch" and chosen.model_note == why
    assert chosen.amp == options.get("amp") and chosen.device == options.get("device", "cpu")
    assert chosen.to_dict() == {**asked.to_dict(), "model_note": why}
    assert build("specs/lenet5.yaml", "strict").memory.model_note is None


def test_analyze_with_amp_and_cuda_reports_them_in_table_and_json():
    args = ["analyze", "specs/vgg16.yaml", "--device", "cuda", "--amp", "float16", "-b", "64"]
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.stderr
    assert ("Memory summary, pytorch model (chosen by --amp and --device cuda; the textbook model has no "
            "mixed-precision or device rules), batch 64, float16 activations, float32 weights (amp), device cuda"
            in table.stdout)
    assert "CUDA caching allocator, simulated" in table.stdout and "ESTIMATES" in table.stdout
    data = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    mem = data["memory"]
    assert (mem["model"], mem["amp"], mem["device"]) == ("pytorch", "float16", "cuda")
    assert "gpu_overhead_estimate" in mem and mem["model_note"].startswith("chosen by --amp and --device cuda")
    pytorch = json.loads(runner.invoke(app, [*args, "-f", "json", "--memory-model", "pytorch"]).stdout)["memory"]
    assert mem["training_bytes"] == pytorch["training_bytes"] and pytorch["model_note"] is None
    markdown = runner.invoke(app, [*args, "-f", "markdown"]).stdout
    assert "batch 64, float16 amp (float32 weights), device cuda." in markdown
    assert "Memory (pytorch model, chosen by --amp and --device cuda;" in markdown


@pytest.mark.parametrize("extra", [["--amp", "float16"], ["--device", "cuda"]])
@pytest.mark.parametrize("command", [["analyze"], ["fit", "--memory", "8GiB"]])
def test_textbook_with_amp_or_cuda_is_a_usage_error(command, extra):
    result = runner.invoke(app, [command[0], "specs/lenet5.yaml", *command[1:], "--memory-model", "textbook", *extra])
    assert result.exit_code == 2, result.stdout
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.startswith("--memory-model: error: ") and "[CNN004]" in result.stderr
    assert "help: " in result.stderr and extra[0] in result.stderr


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_optimizer_state_matches_torch(optimizer):
    analysis = analyze_file("specs/lenet5.yaml", "pytorch")
    model = GraphNet(analysis)
    opt = OPTIMIZERS[optimizer](list(model.parameters()))
    out = model(batch_input(analysis, 2))
    out.sum().backward()
    opt.step()
    mem = memory.pytorch(analysis, batch=2, dtype="float32", optimizer=optimizer)
    assert mem.optimizer_bytes == optimizer_state_bytes(opt)
    assert mem.params_bytes == sum(p.numel() * 4 for p in model.parameters()) == mem.gradients_bytes


def test_batchnorm_buffers_include_pytorch_batch_counter():
    text = "input: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel: 3}\n  - batchnorm\n"
    analysis = analyze_text(text, "<t>", "pytorch")
    model = GraphNet(analysis)
    mem = memory.pytorch(analysis, batch=1, dtype="float32", optimizer="sgd")
    assert mem.buffers_bytes == sum(b.untyped_storage().nbytes() for b in model.buffers()) == 2 * 4 * 4 + 8


def test_dtype_scales_saved_bytes_except_int64_indices():
    text = "input: 8x8x4\nlayers:\n  - conv: {filters: 4, kernel: 3, padding: 1}\n  - relu\n  - pool: 2\n"
    analysis = analyze_text(text, "<t>", "pytorch")
    full = memory.pytorch(analysis, batch=2, dtype="float32", optimizer="sgd")
    half = memory.pytorch(analysis, batch=2, dtype="bfloat16", optimizer="sgd")
    indices = 8 * 2 * 4 * 4 * 4
    assert half.activations_bytes - indices == (full.activations_bytes - indices) // 2


def test_bf16_saved_bytes_match_torch():
    text = "input: 8x8x4\nlayers:\n  - conv: {filters: 4, kernel: 3, padding: 1}\n  - relu\n  - pool: 2\n  - fc: 5\n"
    analysis = analyze_text(text, "<t>", "pytorch")
    from torch_nets import saved_bytes

    model = GraphNet(analysis).to(torch.bfloat16)
    measured = saved_bytes(model, batch_input(analysis, 3).to(torch.bfloat16))
    assert memory.pytorch(analysis, batch=3, dtype="bfloat16", optimizer="sgd").activations_bytes == measured


def test_amp_keeps_fp32_master_weights_and_state():
    analysis = analyze_file("specs/lenet5.yaml", "pytorch")
    amp = memory.pytorch(analysis, batch=4, dtype="float32", optimizer="adam", amp="float16")
    fp32 = memory.pytorch(analysis, batch=4, dtype="float32", optimizer="adam")
    assert amp.params_bytes == fp32.params_bytes and amp.optimizer_bytes == fp32.optimizer_bytes
    # half-precision activations, plus the fp16 weight copies autocast makes and conv/linear save
    weights = 5 * 5 * 6 + 5 * 5 * 6 * 16 + 5 * 5 * 16 * 120 + 120 * 84 + 84 * 10
    assert amp.activations_bytes == fp32.activations_bytes // 2 + 2 * weights


def test_json_keeps_the_contract_and_adds_peaks():
    result = runner.invoke(app, ["analyze", "specs/lenet5.yaml", "-c", "pytorch", "-f", "json", "--batch", "8"])
    assert result.exit_code == 0
    mem = json.loads(result.stdout)["memory"]
    for key in ("params_bytes", "activations_bytes", "inference_bytes", "training_bytes"):
        assert isinstance(mem[key], int)
    assert mem["training_peak"]["phase"] in ("forward", "backward", "optimizer step")
    assert sum(layer["saved_bytes"] for layer in mem["layers"]) == mem["activations_bytes"]
    assert "gpu_overhead_estimate" not in mem


def test_cuda_overheads_are_a_separate_labelled_estimate():
    base = runner.invoke(app, ["analyze", "specs/lenet5.yaml", "-c", "pytorch", "-f", "json"])
    cuda = runner.invoke(app, ["analyze", "specs/lenet5.yaml", "-c", "pytorch", "-f", "json", "--device", "cuda"])
    estimate = json.loads(cuda.stdout)["memory"]["gpu_overhead_estimate"]
    assert estimate["total_bytes"] >= estimate["context_bytes"] > 0 and "estimate" in estimate["note"]
    table = runner.invoke(app, ["analyze", "specs/lenet5.yaml", "-c", "pytorch", "--device", "cuda"]).stdout
    assert "ESTIMATE" in table
    # the exact figures do not absorb the estimate (cuda differs only by the dropout mask and foreach rules)
    assert json.loads(cuda.stdout)["memory"]["params_bytes"] == json.loads(base.stdout)["memory"]["params_bytes"]


def test_table_shows_a_memory_row_with_a_bar_per_layer_and_the_summary():
    out = runner.invoke(app, ["analyze", "specs/vgg16.yaml", "--memory-model", "pytorch", "--optimizer", "adam"]).stdout
    assert "Saved for backward" in out and "\u2588" * 20 in out
    for label in ("parameters", "gradients", "optimizer state (adam)", "saved activations", "workspace/temporaries",
                  "training peak", "inference peak"):
        assert label in out
    assert "MiB" in out or "GiB" in out


def test_relu_inplace_key_aliases_storage():
    text = "input: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel: 3}\n  - relu: {inplace: true}\n"
    analysis = analyze_text(text, "<t>", "pytorch")
    layers = memory.pytorch(analysis, batch=1, dtype="float32", optimizer="sgd").layers
    assert layers[-1].output_bytes == 0
