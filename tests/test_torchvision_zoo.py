"""The zoo specs written in torchvision's layouts against the real torchvision models
(`torchvision.models.<name>(weights=None)`, tests/torchvision_models.py): params exactly, conv + linear
MACs from forward hooks (bias excluded) within 0.1 %, every conv/linear/pool output shape in order,
saved-for-backward bytes (saved_tensors_hooks) within 1 %, and the training (Adam) and inference peaks
of the CPU allocator within 10 % at batch 1 (2 for Inception-v3, FIRST_BATCH) and 8. At batch 8 the big models run at a smaller image
(SIZE_AT_8: a quarter of the pixels, so a batch-8 step costs two batch-1 steps on CI's two cores);
the spec is analysed at the same size; the full-size batch-8 numbers are compared with a recorded oracle
in tests/test_torchvision_peaks.py.

The torch side runs in a subprocess per model and batch (the weights, gradients and Adam state of
VGG-16-BN alone are 2.2 GB), which inherits the ISA and thread settings of tests/conftest.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from cnncalc import memory, pipeline, report
from torchvision_models import ORACLED

HERE = Path(__file__).resolve().parent
SPECS = HERE.parent / "specs"
#: the image side at batch 8 of the models whose full-size batch-8 step takes a minute on two cores
SIZE_AT_8 = {"vgg16_bn": 112, "wide_resnet50_2": 112, "resnext50_32x4d": 112,
             "convnext_tiny": 112, "efficientnet_v2_s": 192}
#: the smallest batch PyTorch can train: Inception-v3's AuxLogits batch-normalises a 1x1 map, which
#: needs two samples ("Expected more than 1 value per channel when training"), and needs its 299 px
FIRST_BATCH = {"inception_v3": 2}
#: cnncalc types -> the names of the torch modules the trace records (torchvision_models.TRACED)
TRACED = {"conv": "conv", "depthwise": "conv", "fc": "linear", "pool": "pool", "adaptive_pool": "pool",
          "global_pool": "pool"}
#: pools that torchvision computes with a function, not a module (no hook sees them)
FUNCTIONAL_POOLS = {
    "mnasnet1_0": lambda layer: layer["type"] == "global_pool",  # x.mean([2, 3])
    "inception_v3": lambda layer: layer["name"].startswith("Mixed_"),  # F.avg_pool2d / F.max_pool2d in branches
    "shufflenet_v2_x1_0": lambda layer: layer["type"] == "global_pool",  # x.mean([2, 3])
}
#: models whose blocks run the shortcut's projection before the body (RegNet: proj(x) + f(x)): the
#: traced shapes are compared as multisets
UNORDERED = {"regnet_y_400mf"}


@lru_cache(maxsize=None)
def measured(name: str, batch: int, size: int | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")]))
    sizes = [str(size)] if size else []
    run = subprocess.run([sys.executable, str(HERE / "torchvision_models.py"), name, str(batch), *sizes, "peaks"],
                         capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@lru_cache(maxsize=None)
def analysis(name: str, size: int | None = None):
    if size is None:
        result = pipeline.analyze_file(str(SPECS / f"{name}.yaml"))
    else:
        text = re.sub(r"(?m)^input: \d+x\d+x3", f"input: {size}x{size}x3", (SPECS / f"{name}.yaml").read_text())
        result = pipeline.analyze_text(text, f"{name}.yaml")
    assert result.ok, [d.message for d in result.diagnostics if d.severity == "error"]
    return result


def cnncalc_trace(name: str) -> list[tuple[str, list[int]]]:
    """What the hooks see at inference: training-only heads (Inception-v3's AuxLogits) do not run."""
    data = report.build(analysis(name), report.Options()).to_dict()
    layers = [layer for layer in data["layers"] if layer["type"] in TRACED and not layer.get("training_only")]
    if name in FUNCTIONAL_POOLS:
        functional = FUNCTIONAL_POOLS[name]
        layers = [layer for layer in layers if TRACED[layer["type"]] != "pool" or not functional(layer)]
    return [(TRACED[layer["type"]], layer["output_shape"]) for layer in layers]


def _batches():
    for name in ORACLED:
        first = FIRST_BATCH.get(name, 1)
        yield pytest.param(name, first, None, id=f"{name}-{first}")
        size = SIZE_AT_8.get(name)
        marks = [pytest.mark.slow] if size else []
        yield pytest.param(name, 8, size, marks=marks, id=f"{name}-8" + (f"-at-{size}" if size else ""))


@pytest.mark.parametrize("name", ORACLED)
def test_params_macs_and_shapes_equal_torchvision(name):
    torch_side = measured(name, FIRST_BATCH.get(name, 1), None)  # the same measurement as the first memory test
    data = report.build(analysis(name), report.Options()).to_dict()
    assert data["totals"]["params"] == torch_side["params"]
    # the hooks run at inference: the MACs of the heads that run there
    inference_macs = sum(layer["macs"] for layer in data["layers"] if not layer.get("training_only"))
    assert inference_macs == pytest.approx(torch_side["macs"], rel=0.001)
    theirs = [(kind, list(shape)) for kind, shape in torch_side["trace"]]
    mine = cnncalc_trace(name)
    if name in UNORDERED:
        theirs, mine = sorted(theirs), sorted(mine)
    assert len(mine) == len(theirs)
    for position, (row, torch_row) in enumerate(zip(mine, theirs)):
        assert row == torch_row, f"traced layer {position}"


@pytest.mark.parametrize(("name", "batch", "size"), list(_batches()))
def test_saved_bytes_and_peaks_match_torchvision(name, batch, size):
    torch_side = measured(name, batch, size)
    mem = memory.pytorch(analysis(name, size), batch=batch, dtype="float32", optimizer="adam")
    # training holds every head (AuxLogits too); inference leaves training-only heads out, as eval() does
    assert mem.activations_bytes == pytest.approx(torch_side["saved"], rel=0.01)
    assert mem.optimizer_bytes == torch_side["optimizer"]
    assert mem.training_bytes == pytest.approx(torch_side["train"], rel=0.10)
    assert mem.inference_bytes == pytest.approx(torch_side["infer"], rel=0.10)


@pytest.mark.slow
def test_inception_v3_cannot_train_at_batch_1_and_cnncalc_says_so():
    """AuxLogits batch-normalises a 1x1 map: at batch 1 one value per channel, which PyTorch refuses to
    train; cnncalc reports CNN207 there (analyze, report JSON), and inference at batch 1 still matches."""
    torch_side = measured("inception_v3", 1)
    assert "Expected more than 1 value per channel when training" in torch_side["refused"]
    data = report.build(analysis("inception_v3"), report.Options(batch=1)).to_dict()
    assert [(w["code"], w["line"]) for w in data["warnings"]] == [("CNN207", 42)]
    assert "AuxLogits/conv1/batchnorm1" in data["warnings"][0]["message"]
    assert report.build(analysis("inception_v3"), report.Options(batch=2)).to_dict()["warnings"] == []
    mem = memory.pytorch(analysis("inception_v3"), batch=1, dtype="float32", optimizer="adam")
    assert mem.inference_bytes == pytest.approx(torch_side["infer"], rel=0.10)


def test_every_oracled_model_is_a_shipped_spec():
    assert all((SPECS / f"{name}.yaml").is_file() for name in ORACLED)
