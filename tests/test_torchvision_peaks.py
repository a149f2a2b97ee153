"""The zoo's torchvision models at full size and batch 8 against a recorded oracle.

tests/test_torchvision_zoo.py measures torchvision live, but its batch-8 step runs the big models at a
reduced image size (SIZE_AT_8): a full-size step takes about a minute each on two cores. The full-size
numbers were measured once by benchmarks/record_torchvision_peaks.py (the CPU allocator's training (Adam)
and inference peaks, saved_tensors_hooks' bytes) into tests/data/torchvision_peaks.json, with the
machine they depend on: oneDNN's instruction set and PyTorch's threads. cnncalc is analysed for that CPU
(`cpu.Cpu`, a modelled parameter), not for the host running the test, so the comparison holds on any
machine; no torch is needed."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

from cnncalc import cpu, memory, pipeline
from torchvision_models import ORACLED, SIZES

HERE = Path(__file__).resolve().parent
RECORDED = json.loads((HERE / "data" / "torchvision_peaks.json").read_text())
MACHINE = RECORDED["machine"]


@lru_cache(maxsize=None)
def analysis(name: str):
    result = pipeline.analyze_file(str(HERE.parent / "specs" / f"{name}.yaml"))
    assert result.ok
    return result


def test_the_recording_names_its_machine_and_its_models():
    assert {"torch", "cpu_model", "isa", "threads", "batch", "recorded"} <= set(MACHINE)
    assert MACHINE["isa"] in cpu.ISAS and MACHINE["threads"] >= 1
    assert set(RECORDED["models"]) <= set(ORACLED)
    # recorded at the specs' own (full) size
    assert all(measured["size"] == SIZES.get(name, 224) for name, measured in RECORDED["models"].items())


@pytest.mark.parametrize("name", ORACLED)
def test_full_size_batch_8_matches_the_recorded_allocator(name):
    if name not in RECORDED["models"]:
        pytest.skip("not recorded yet: run benchmarks/record_torchvision_peaks.py (it resumes the file)")
    measured = RECORDED["models"][name]
    recorded_cpu = cpu.Cpu(MACHINE["isa"], MACHINE["threads"], "given")
    mem = memory.pytorch(analysis(name), batch=MACHINE["batch"], dtype="float32", optimizer="adam", cpu=recorded_cpu)
    assert mem.params_bytes == 4 * measured["params"]
    assert mem.optimizer_bytes == measured["optimizer"]
    assert mem.activations_bytes == pytest.approx(measured["saved"], rel=0.01)
    assert mem.training_bytes == pytest.approx(measured["train"], rel=0.10)
    assert mem.inference_bytes == pytest.approx(measured["infer"], rel=0.10)
