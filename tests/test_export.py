"""`cnncalc export --to pytorch` (cnncalc/exporters/) against PyTorch itself.

For every shipped spec the exported file is imported and built, and PyTorch's own figures are
compared with cnncalc's: the parameter count (`model.parameters()`), the conv + linear MACs
measured by forward hooks from the tensors PyTorch produced (bias excluded), every layer's output
shape, and, with the weights `verify --save-weights` writes loaded by the file's `load_weights`,
the numpy executor's output to 1e-4. One exported module per spec serves every check.
"""

from __future__ import annotations

import glob
import importlib.util
import math
import os
import sys

import numpy as np
import pytest
import torch
from torch import nn

from cnncalc import executor, pipeline
from cnncalc.exporters import pytorch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "specs", "*.yaml")))
#: above this many MACs the numpy executor takes seconds: those specs run in CI only (slow)
SLOW_MACS = 400_000_000
GOLDEN = os.path.join(ROOT, "tests", "golden", "export_depthwise_separable.py")


def _analysed(path: str):
    source = pipeline.resolve_source(pipeline.Request.of(os.path.join(ROOT, path)))
    return source.spec(), pipeline.analyze_source(source)


def _macs_of(path: str) -> int:
    return sum(r.inference.macs for r in _analysed(path)[1].results[1:])


def _params(path):
    marks = [pytest.mark.slow] if _macs_of(path) > SLOW_MACS else []
    return pytest.param(path, marks=marks, id=os.path.basename(path))


def load_module(source: str, tmp_path, name: str = "exported"):
    """Import the exported text as a module of its own (as a user would import model.py)."""
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"cnncalc_export_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def network_class(module):
    """The exported network: the class that carries `input_shape`."""
    return next(v for v in vars(module).values() if isinstance(v, type) and hasattr(v, "input_shape"))


def torch_shape(shape) -> tuple[int, ...]:
    """cnncalc's channels-last (*spatial, C) as PyTorch's (C, *spatial)."""
    return (shape.channels, *shape.spatial)


def nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))


class Hooks:
    """Per named module: its output shape; per conv / linear call: MACs from the tensors PyTorch made."""

    def __init__(self, model: nn.Module, layers: dict[str, str]):
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.macs = 0
        self.handles = []
        for name, path in layers.items():
            self.handles.append(model.get_submodule(path).register_forward_hook(self._shape(name)))
        for module in model.modules():
            if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
                                   nn.ConvTranspose3d, nn.Linear)):
                self.handles.append(module.register_forward_hook(self._count))

    def _shape(self, name):
        def hook(module, args, out):
            self.shapes[name] = tuple(out.shape[1:])
        return hook

    def _count(self, module, args, out):
        (x,) = args
        if isinstance(module, nn.Linear):
            self.macs += module.in_features * module.out_features * out.shape[0]
        elif isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            # every input element meets out_channels/groups * prod(kernel) weights
            self.macs += x.numel() * module.out_channels // module.groups * math.prod(module.kernel_size)
        else:
            self.macs += out.numel() * module.in_channels // module.groups * math.prod(module.kernel_size)

    def remove(self):
        for handle in self.handles:
            handle.remove()


def _executed(analysis, tmp_path):
    """The executor's run on seeded weights and input at batch 1, saved as `verify --save-weights` does."""
    execution = executor.execute(executor.plan(analysis, 1), seed=0, measure=False, keep_weights=True)
    weights = tmp_path / "weights.npz"
    np.savez(weights, **execution.arrays())
    return execution, weights


@pytest.mark.parametrize("path", [_params(p) for p in SPECS])
def test_exported_model_reproduces_cnncalc(path, tmp_path):
    spec, analysis = _analysed(path)
    source = pytorch.export(spec, analysis)
    assert pytorch.export(*_analysed(path)) == source, "the export is not deterministic"
    module = load_module(source, tmp_path)
    model = network_class(module)().eval()

    results = analysis.results[1:]
    assert sum(p.numel() for p in model.parameters()) == sum(r.inference.params for r in results)

    execution, weights = _executed(analysis, tmp_path)
    model.load_weights(weights)
    hooks = Hooks(model, module.LAYERS)
    with torch.no_grad():
        out = model(nchw(execution.input))
    hooks.remove()

    counted = {"conv", "fc"}
    expected_macs = sum(r.inference.macs for r in results
                        if r.node.kind.family in counted or r.node.type == "conv_transpose")
    assert hooks.macs == expected_macs
    by_name = {r.node.name: torch_shape(r.output) for r in results}
    assert hooks.shapes == {name: by_name[name] for name in module.LAYERS}
    assert set(module.LAYERS) == {r.node.name for r in results if not r.node.kind.merge}

    expected = torch.from_numpy(execution.output)
    got = out.movedim(1, -1) if out.ndim > 2 else out
    scale = max(1.0, float(expected.abs().max()))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4 * scale)
