"""cnncalc's CUDA memory model against a GPU measurement (tests/data/cuda_memory.json, written by
benchmarks/cuda_memory.py on a CUDA machine) when there is one; the predictions' internal consistency
and the benchmark's dry run always.

No measurement exists yet (no GPU was available when the model was written): the comparison test
says so by skipping with its reason; every other test runs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc import memory
from cnncalc.cuda.gpus import gpu
from cnncalc.pipeline import analyze_file

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "cuda_memory.json"
#: how close the model must come to the measurement: allocated within 3 %, reserved within 8 %, of the
#: band between no cuDNN workspace and the explicit-GEMM family's
TOLERANCE = {"allocated_bytes": 0.03, "reserved_bytes": 0.08}


def _bench():
    spec = importlib.util.spec_from_file_location("cuda_memory_bench", ROOT / "benchmarks" / "cuda_memory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _outside_band(measured: int, low: int, high: int) -> float:
    """How far (relative to the measurement) a measured peak lies outside the predicted band."""
    if low <= measured <= high:
        return 0.0
    return min(abs(measured - low), abs(measured - high)) / measured


def misses(data: dict) -> tuple[list[str], int]:
    """The figures outside tolerance, and how many figures were compared."""
    measured = [r for r in data["rows"] if r["status"] == "ok"]
    found = []
    for row in measured:
        p, m = row["predicted"], row["measured"]
        for key, tolerance in TOLERANCE.items():
            band = (p[key], p[key.replace("_bytes", "_bytes_high")])  # packing can put "high" below "low"
            off = _outside_band(m[key], min(band), max(band))
            if off > tolerance:
                found.append(f"{row['spec']} {row['mode']} {row['optimizer']} {row['amp']} b{row['batch']} {key}: "
                              f"measured {m[key]:,}, predicted {p[key]:,}..{p[key.replace('_bytes', '_bytes_high')]:,}"
                              f" ({off:.1%} outside)")
    return found, 2 * len(measured)


def test_the_model_against_the_gpu_measurement():
    if not DATA.exists():
        pytest.skip(f"{DATA.relative_to(ROOT)} is absent: no GPU measurement exists yet; run "
                    "`python benchmarks/cuda_memory.py` on a CUDA machine to write it")
    data = json.loads(DATA.read_text())
    assert not data["dry_run"], "the measurement file holds a dry run's predictions, not a measurement"
    found, compared = misses(data)
    assert compared, "the measurement file has no successful measurement"
    assert not found, f"{len(found)} of {compared} figures outside tolerance:\n" + "\n".join(found[:40])


def test_the_comparison_uses_the_band_and_the_tolerances():
    predicted = {"allocated_bytes": 1000, "allocated_bytes_high": 1100, "reserved_bytes": 2000,
                 "reserved_bytes_high": 2000}
    rows = [{"spec": "x", "mode": "train", "optimizer": "sgd", "amp": None, "batch": b, "status": status,
             "predicted": predicted, "measured": measured} for b, status, measured in (
        (1, "ok", {"allocated_bytes": 1050, "reserved_bytes": 2150}),  # inside the band; reserved 7 % off
        (2, "ok", {"allocated_bytes": 1140, "reserved_bytes": 1800}),  # 3.5 % above the band; 11 % below
        (3, "oom", None))]
    found, compared = misses({"rows": rows})
    assert compared == 4 and len(found) == 2
    assert "b2 allocated_bytes" in found[0] and "b2 reserved_bytes" in found[1]
    assert _outside_band(1000, 900, 1100) == 0 and _outside_band(800, 900, 1100) == 0.125


@pytest.mark.parametrize(("spec", "optimizer", "amp"), [
    ("lenet5", "sgd", None), ("resnet18", "adam", None), ("resnet18", "adam", "bfloat16"),
    ("mobilenet_v2", "momentum", None), ("vgg11", "sgd", "float16"),
])
def test_predictions_are_consistent(spec, optimizer, amp):
    """requested <= allocated <= reserved, the band's high end above its low end where it matters, growth with
    the batch (the benchmark's batches, far enough apart for segment packing not to reverse them)."""
    analysis = analyze_file(str(ROOT / "specs" / f"{spec}.yaml"))
    previous = None
    for batch in (1, 8, 64):
        mem = memory.pytorch(analysis, batch=batch, dtype="float32", optimizer=optimizer, device="cuda", amp=amp,
                             gpu=gpu("a100-80gb"))
        cuda = mem.cuda
        for low, high in ((cuda.training, cuda.training_high), (cuda.inference, cuda.inference_high)):
            assert low.requested <= low.allocated <= low.reserved
            assert high.requested >= low.requested  # the workspaces only add requests
        # the liveness simulation's tensors are all there, less the step counters (CPU tensors), plus at
        # most the cuBLAS workspaces
        counters = mem.optimizer_bytes - memory.OPTIMIZER_SLOTS[optimizer] * mem.params_bytes
        workspaces = cuda.cublas_workspaces_training * cuda.cublas_workspace_bytes
        assert mem.training_bytes - counters <= cuda.training.requested <= mem.training_bytes - counters + workspaces
        assert mem.inference_bytes <= cuda.inference.requested <= mem.inference_bytes + cuda.cublas_workspace_bytes
        figures = (cuda.training.allocated, cuda.training.reserved, cuda.inference.allocated, cuda.inference.reserved)
        if previous is not None:
            assert all(now >= before for now, before in zip(figures, previous)), (batch, figures, previous)
        previous = figures


def test_the_benchmark_dry_run_writes_predictions_without_torch(tmp_path):
    out = tmp_path / "cuda_memory.json"
    code = ("import runpy, sys; sys.argv = ['cuda_memory.py', '--dry-run', '--specs', 'lenet5', 'text_cnn', "
            f"'--batches', '1,8', '--gpu', 'h100', '--out', {str(out)!r}]; "
            "runpy.run_path('benchmarks/cuda_memory.py', run_name='__main__'); "
            "assert 'torch' not in sys.modules, 'the dry run imported torch'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "| lenet5 | train | sgd |" in result.stdout and "written to" in result.stdout
    data = json.loads(out.read_text())
    assert data["dry_run"] is True and data["device"]["gpu"]["name"] == "h100"
    bench = _bench()
    assert len(data["rows"]) == 2 * len(bench.CONFIGS) * 2
    for row in data["rows"]:
        assert row["status"] == "dry run" and row["measured"] is None
        p = row["predicted"]
        assert p["requested_bytes"] <= p["allocated_bytes"] <= p["reserved_bytes"]
        assert p["cublas_workspace_bytes"] == 32 * 2**20 and p["context_bytes_estimate"] == gpu("h100").context_bytes
    # the predictions are cnncalc's own figures for that measurement
    row = next(r for r in data["rows"] if (r["spec"], r["mode"], r["optimizer"], r["amp"], r["batch"])
               == ("lenet5", "train", "adam", "bfloat16", 8))
    mem = memory.pytorch(analyze_file(str(ROOT / "specs" / "lenet5.yaml")), batch=8, dtype="float32",
                         optimizer="adam", device="cuda", amp="bfloat16", gpu=gpu("h100"))
    assert row["predicted"]["allocated_bytes"] == mem.cuda.training.allocated
    assert row["predicted"]["reserved_bytes_high"] == mem.cuda.training_high.reserved


def test_the_benchmark_names_gpus_as_the_table_does():
    bench = _bench()
    names = {"NVIDIA H200": "h200", "NVIDIA H100 80GB HBM3": "h100", "NVIDIA A100-SXM4-40GB": "a100-40gb",
             "NVIDIA A100-SXM4-80GB": "a100-80gb", "NVIDIA A100 80GB PCIe": "a100-80gb", "Tesla T4": "t4",
             "Tesla V100-SXM2-16GB": "v100-16gb", "Tesla V100-SXM2-32GB": "v100-32gb", "NVIDIA A10": "a10",
             "NVIDIA A10G": "a10", "NVIDIA L4": "l4", "NVIDIA GeForce RTX 3090": "rtx3090",
             "NVIDIA GeForce RTX 4090": "rtx4090", "NVIDIA RTX A6000": None}
    assert {name: bench.table_name(name) for name in names} == names
    assert "zfnet" not in bench.zoo() and "resnet50" in bench.zoo()
