"""GPUs by name (cnncalc/cuda/gpus.py) and `--gpu` on analyze and fit."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from typer.testing import CliRunner

from cnncalc import fitting as fit, report
from cnncalc.cli import app
from cnncalc.cuda.gpus import CUBLAS_WORKSPACE_DEFAULT, GPUS, gpu
from cnncalc.errors import UsageError
from cnncalc.pipeline import analyze_text

runner = CliRunner()
GiB = 2**30
NAMES = ("t4", "v100-16gb", "v100-32gb", "a10", "l4", "rtx3090", "rtx4090", "a100-40gb", "a100-80gb", "h100", "h200")


def test_the_table_has_the_eleven_gpus_with_plausible_figures():
    assert tuple(GPUS) == NAMES
    for board in GPUS.values():
        marketed = int(re.search(r"(\d+) GB", board.description).group(1))
        # the driver reports less than the marketed size (GB or, on GDDR boards, GiB), by less than 12 %
        assert 0.88 * marketed * 10**9 < board.memory_bytes < marketed * GiB
        assert board.capability in ((7, 0), (7, 5), (8, 0), (8, 6), (8, 9), (9, 0))
        assert 256 * 2**20 <= board.context_bytes <= 1024 * 2**20
    assert gpu("h100").cublas_workspace_bytes == gpu("H200").cublas_workspace_bytes == 32 * 2**20
    assert gpu("rtx4090").cublas_workspace_bytes == CUBLAS_WORKSPACE_DEFAULT == 2 * 4 * 2**20 + 8 * 16 * 2**10
    assert gpu("v100-32gb").memory_bytes > gpu("v100-16gb").memory_bytes
    assert gpu("h200").memory_bytes > gpu("h100").memory_bytes > gpu("a100-40gb").memory_bytes
    assert gpu("a100-80gb").to_dict()["compute_capability"] == "8.0"


def test_an_unknown_gpu_lists_the_known_ones():
    with pytest.raises(UsageError) as error:
        gpu("rtx5090")
    assert error.value.code == "CNN502" and all(name in error.value.hint for name in NAMES)
    for command in (["analyze", "specs/lenet5.yaml"], ["fit", "specs/lenet5.yaml"]):
        result = runner.invoke(app, [*command, "--gpu", "rtx5090"])
        assert result.exit_code == 2
        assert "--gpu: error: unknown GPU 'rtx5090' [CNN502]" in result.stderr and "h200" in result.stderr


def test_analyze_gpu_implies_cuda_and_reports_allocated_and_reserved():
    args = ["analyze", "specs/resnet18.yaml", "--gpu", "a100-40gb", "-b", "8", "--optimizer", "adam"]
    data = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    mem = data["memory"]
    assert mem["device"] == "cuda" and "gpu_overhead_estimate" in mem
    cuda = mem["cuda"]
    assert cuda["gpu"]["name"] == "a100-40gb" and cuda["context_bytes_estimate"] == gpu("a100-40gb").context_bytes
    for mode in ("training", "inference"):
        peak = cuda[mode]
        assert peak["requested_bytes"] <= peak["allocated_bytes"] <= peak["reserved_bytes"]
        assert cuda[mode + "_with_workspace_estimate"]["reserved_bytes"] >= peak["reserved_bytes"] * 0.9
    assert cuda["cublas_workspaces"] == {"training": 2, "inference": 1}
    assert cuda["cudnn_workspace_band_bytes"]["low"] == 0 < cuda["cudnn_workspace_band_bytes"]["high"]
    assert "exact" in cuda and "estimated" in cuda
    # the exact figures of the pytorch model are those of --device cuda without a GPU named
    plain = json.loads(runner.invoke(app, [*args[:2], "--device", "cuda", *args[4:], "-f", "json"]).stdout)["memory"]
    assert plain["training_bytes"] == mem["training_bytes"] and plain["cuda"]["gpu"] is None
    table = runner.invoke(app, args).stdout
    assert "CUDA caching allocator, simulated (a100-40gb;" in table and "training allocated / reserved" in table


def test_fit_gpu_answers_with_the_batch_the_headroom_and_the_assumptions():
    args = ["fit", "specs/resnet50.yaml", "--gpu", "rtx4090", "--optimizer", "adam", "--amp", "bfloat16"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("largest batch for training (bfloat16 amp) in 23.6")
    assert any(x.startswith("needs = the caching allocator's reserved peak") and "rtx4090" in x for x in lines)
    assert any(x.startswith("headroom at the answer: ") for x in lines)
    data = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    assert data["budget_bytes"] == gpu("rtx4090").memory_bytes and data["gpu"]["name"] == "rtx4090"
    assert data["headroom_bytes"] == data["budget_bytes"] - data["needed_bytes"] >= 0
    assert data["needed_bytes"] <= data["budget_bytes"] < data["next_bytes"]
    assert data["device"] == "cuda" and "reserved peak" in data["criterion"]
    # consistent with analyze at the answer: its reserved training peak plus the context estimate
    at = json.loads(runner.invoke(app, ["analyze", "specs/resnet50.yaml", "--gpu", "rtx4090", "--optimizer", "adam",
                                        "--amp", "bfloat16", "-b", str(data["batch"]), "-f", "json"]).stdout)
    cuda = at["memory"]["cuda"]
    assert data["needed_bytes"] == cuda["training"]["reserved_bytes"] + cuda["context_bytes_estimate"]
    # --memory, given, is the budget (a GPU shared with others)
    shared = json.loads(runner.invoke(app, [*args, "--memory", "12GiB", "-f", "json"]).stdout)
    assert shared["budget_bytes"] == 12 * GiB and 0 < shared["batch"] < data["batch"]


def test_fit_needs_a_budget():
    result = runner.invoke(app, ["fit", "specs/lenet5.yaml"])
    assert result.exit_code == 2 and "--memory SIZE or --gpu NAME" in result.stderr


def test_fit_gpu_is_monotone_in_the_gpu_and_each_answer_is_exact():
    spec = "specs/resnet18.yaml"
    analysis = analyze_text(open(spec).read(), spec, None)
    answers = []
    for name in ("t4", "a10", "a100-40gb"):
        options = report.Options(optimizer="adam", device="cuda", gpu=gpu(name))
        result = fit.fit(analysis, options, gpu(name).memory_bytes)
        assert result.needed_bytes <= result.budget_bytes < result.next_bytes
        answers.append(result.batch)
    assert answers == sorted(answers) and answers[0] > 0
    # inference too, and smaller batches need no more than larger ones, far enough apart
    options = report.Options(optimizer="adam", device="cuda", gpu=gpu("t4"))
    needs = [fit.needed(analysis, dataclasses.replace(options, batch=b), "infer") for b in (1, 8, 64, 256)]
    assert needs == sorted(needs)


def test_fit_on_cuda_fits_exactly_when_the_simulated_allocator_does_not_run_out():
    """The criterion: the step's events replayed on the budget less the context raise no out-of-memory
    (PyTorch's allocator releases its cache and retries before it fails); the next batch's do."""
    from cnncalc import memory
    from cnncalc.cuda.allocator import CudaOutOfMemory, replay
    from cnncalc.cuda.step import training_events
    from cnncalc.layers.base import MemoryContext
    from cnncalc.liveness import rules

    spec = "specs/resnet18.yaml"
    analysis = analyze_text(open(spec).read(), spec, None)
    board = gpu("t4")
    result = fit.fit(analysis, report.Options(optimizer="adam", device="cuda", gpu=board), board.memory_bytes)
    capacity = board.memory_bytes - board.context_bytes

    def events(batch):
        ctx = MemoryContext(batch, 4, 4, True, "cuda")
        return training_events(analysis, ctx, rules(analysis, ctx), "adam", memory.OPTIMIZER_SLOTS["adam"], True,
                               board.cublas_workspace_bytes)[0]

    fitting = replay(events(result.batch), capacity)
    assert result.needed_bytes == fitting.reserved + board.context_bytes <= board.memory_bytes
    with pytest.raises(CudaOutOfMemory):
        replay(events(result.batch + 1), capacity)
    assert result.next_bytes == replay(events(result.batch + 1)).reserved + board.context_bytes > board.memory_bytes
    # analyze --gpu t4 at the answer and one above: the same replays, the second flagged
    at = report.build(analysis, report.Options(batch=result.batch, optimizer="adam", device="cuda", gpu=board))
    above = report.build(analysis, report.Options(batch=result.batch + 1, optimizer="adam", device="cuda", gpu=board))
    assert not at.memory.cuda.training.oom and above.memory.cuda.training.oom
    assert at.memory.cuda.to_dict()["training"]["out_of_memory"] is False
    assert result.to_dict()["headroom_after_allocated_bytes"] == (
        board.memory_bytes - board.context_bytes - at.memory.cuda.training.allocated)
