"""Test-only: the real torchvision models, the oracle of the zoo specs written in their layout, and
what PyTorch measures on them, as one JSON line (run in a subprocess by tests/test_torchvision_zoo.py,
so that the big models' weights, gradients and Adam state never stay in the pytest process).

`import torchvision` fails on this torch build's missing compiled ops ("operator torchvision::nms does
not exist", raised while torchvision registers its meta kernels); the models need none of those ops,
so the module that registers them is replaced by an empty one before the import. That is done here
and nowhere else.

`python tests/torchvision_models.py NAME BATCH [SIZE] [peaks]`: one line of JSON with the conv/linear/pool
output shapes, conv + linear MACs (forward hooks, bias excluded), params, saved-for-backward bytes
and, with `peaks`, the training (Adam) and inference peaks the CPU allocator reached; where PyTorch
refuses to train the model at that batch, `refused` holds its message instead of the training numbers."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import torch
from torch import nn

#: the zoo specs checked against torchvision.models.<name>(weights=None, **arguments), spec stem = model name
MODELS = {
    "vgg16_bn": {}, "resnext50_32x4d": {}, "wide_resnet50_2": {}, "mnasnet1_0": {}, "efficientnet_b0": {},
    "mobilenet_v3_large": {}, "mobilenet_v3_small": {}, "shufflenet_v2_x1_0": {}, "regnet_y_400mf": {},
    "convnext_tiny": {}, "efficientnet_v2_s": {},
    # the default build, AuxLogits included (a training-only output of the spec)
    "inception_v3": {"init_weights": False},
}
ORACLED = tuple(MODELS)
#: input side where it is not 224
SIZES = {"inception_v3": 299, "efficientnet_v2_s": 384}

#: torch module -> the name the shape trace uses; cnncalc's types map onto the same names
TRACED = {nn.Conv2d: "conv", nn.Linear: "linear", nn.MaxPool2d: "pool", nn.AvgPool2d: "pool",
          nn.AdaptiveAvgPool2d: "pool", nn.AdaptiveMaxPool2d: "pool"}


def torchvision_models():
    """torchvision.models, imported with the stand-in for its meta registrations (the one place)."""
    if "torchvision" not in sys.modules:
        sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
    import torchvision

    return torchvision.models


class BothOutputs(nn.Module):
    """A model with an auxiliary head (Inception-v3 in training mode returns (logits, aux_logits)):
    both outputs in one small tensor, so that one backward reaches both heads, as a loss over both."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        out = self.model(x)
        return torch.cat([out[0], out[1]], 1) if isinstance(out, tuple) else out


def build(name: str) -> nn.Module:
    """torchvision.models.<name>(weights=None), its random initialisation seeded."""
    torch.manual_seed(0)
    return BothOutputs(getattr(torchvision_models(), name)(weights=None, **MODELS[name]))


def _channels_last(shape: tuple[int, ...]) -> list[int]:
    """(C, H, W) -> [H, W, C] as cnncalc writes shapes; (F,) stays."""
    return [*shape[1:], shape[0]] if len(shape) > 1 else list(shape)


def _macs(module: nn.Module, output: torch.Tensor) -> int:
    per_sample = output[0].numel()
    if isinstance(module, nn.Conv2d):
        return per_sample * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
    if isinstance(module, nn.Linear):
        return per_sample * module.in_features
    return 0


def trace(model: nn.Module, size: int = 224) -> tuple[list[tuple[str, list[int]]], int]:
    """The traced modules' (name, output shape) in execution order, and the conv + linear MACs per sample."""
    rows: list[tuple[str, list[int]]] = []
    macs = [0]

    def hook(module, _inputs, output):
        shape = tuple(output.shape[1:])
        # a linear layer's output is channels-last already (ConvNeXt's MLP runs on permuted maps)
        rows.append((TRACED[type(module)], list(shape) if isinstance(module, nn.Linear) else _channels_last(shape)))
        macs[0] += _macs(module, output)

    handles = [m.register_forward_hook(hook) for m in model.modules() if type(m) in TRACED]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for handle in handles:
        handle.remove()
    return rows, macs[0]


def measure(name: str, batch: int, peaks: bool, size: int | None = None) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    from torch_nets import inference_peak, saved_bytes, training_peak

    model = build(name)
    size = size or SIZES.get(name, 224)
    rows, macs = trace(model, size)
    x = torch.randn(batch, 3, size, size)
    result = {"name": name, "batch": batch, "trace": rows, "macs": macs,
              "params": sum(p.numel() for p in model.parameters())}
    try:
        result["saved"] = saved_bytes(model, x)
        if peaks:
            result["train"], result["optimizer"] = training_peak(model, x, "adam")
    except ValueError as error:
        # a training step PyTorch refuses (Inception-v3 at batch 1: "Expected more than 1 value per
        # channel when training"): what it says, and inference still measured
        result["refused"] = str(error)
    if peaks:
        result["infer"] = inference_peak(model, x)
    return result


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[3:] if a.isdigit()]
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]), "peaks" in sys.argv[3:], *sizes)), flush=True)
