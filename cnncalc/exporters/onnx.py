"""`cnncalc export --to onnx`: the exported PyTorch module (cnncalc/exporters/pytorch.py) run through
torch.onnx.export, PyTorch's TorchScript exporter (no constant folding, so BatchNormalization nodes
stay and every initialiser is a parameter or buffer by its module path). Needs torch, imported only
here and only when asked for."""

from __future__ import annotations

import importlib.util
import types
import warnings

from cnncalc.errors import Location, UsageError


def _need(package: str) -> None:
    if importlib.util.find_spec(package) is None:
        raise UsageError(f"cnncalc export --to onnx needs {package}, which is not installed", Location("cnncalc"),
                         hint="install torch and onnx (pip install torch onnx)", code="CNN611")


def module_of(source: str, name: str = "cnncalc_exported") -> types.ModuleType:
    """The exported source as a module object (it is cnncalc's own text: no user code runs)."""
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102  (text cnncalc wrote)
    return module


def network(module: types.ModuleType):
    """The module's network: the class that carries `input_shape` (the last one the file defines)."""
    return [v for v in vars(module).values() if isinstance(v, type) and hasattr(v, "input_shape")][-1]


def _distinct(model) -> None:
    """PyTorch's initialisation gives every batch norm the same ones and zeros, which the exporter
    would share through Identity nodes (one initialiser for many tensors): a small positive offset
    per element makes every tensor its own (variances stay positive)."""
    import torch

    with torch.no_grad():
        for tensor in (*model.parameters(), *model.buffers()):
            if tensor.is_floating_point():
                tensor.add_(torch.rand_like(tensor) * 1e-3)


def _lrn_as_one_node(model) -> None:
    """nn.LocalResponseNorm is a Python composite (pad, avg_pool, pow, a size check that the tracer turns
    into an `If`): each one is swapped, in this throwaway copy only, for a function whose symbolic is
    ONNX's own LRN node (the same formula: x / (bias + alpha / size * sum of squares) ^ beta)."""
    import torch
    from torch import nn

    class LRN(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, size, alpha, beta, k):
            return nn.functional.local_response_norm(x, size, alpha, beta, k)

        @staticmethod
        def symbolic(g, x, size, alpha, beta, k):
            return g.op("LRN", x, size_i=size, alpha_f=alpha, beta_f=beta, bias_f=k)

    class OneNode(nn.Module):
        def __init__(self, lrn: nn.LocalResponseNorm):
            super().__init__()
            self.settings = (lrn.size, lrn.alpha, lrn.beta, lrn.k)

        def forward(self, x):
            return LRN.apply(x, *self.settings)

    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.LocalResponseNorm):
                setattr(parent, name, OneNode(child))


def output_names(model, sample) -> list[str]:
    """"output" for the main output; in eval mode a network with side outputs that are not
    training-only returns a namedtuple of the main output and those: each an output of the graph
    too, named after its field (training-only heads do not run in eval mode: they are not in the graph)."""
    import torch

    with torch.no_grad():
        result = model(sample)
    return ["output", *getattr(result, "_fields", ())[1:]]


def write(source: str, path: str, weights: str | None = None) -> None:
    """Build the exported model (with `weights` loaded when given, else PyTorch's seeded initialisation)
    and write it as ONNX to `path`, for one sample of the spec's input shape."""
    _need("torch")
    import torch

    torch.manual_seed(0)
    model = network(module_of(source))().eval()
    if weights is not None:
        model.load_weights(weights)
    else:
        _distinct(model)
    _lrn_as_one_node(model)
    sample = torch.zeros(1, *model.input_shape)
    try:
        with warnings.catch_warnings():
            # the TorchScript exporter on purpose: it keeps BatchNormalization nodes and names every
            # initialiser after its module path (torch 2.9+ warns that it is no longer the default)
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(model, (sample,), path, dynamo=False, do_constant_folding=False,
                              input_names=["input"], output_names=output_names(model, sample))
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}", Location(path)) from None
