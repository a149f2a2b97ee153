"""`cnncalc import --torch module.path:factory`: build the nn.Module, export it to ONNX in memory and
import that graph.

The user's model is neither changed nor moved: the export runs on a deep copy (so that `eval()` and
the exporter's tracing touch nothing of the caller's), on the CPU, under no_grad, with the
TorchScript exporter (`dynamo=False`) and no constant folding, which keeps BatchNormalization nodes.
Weights are the model's own: ONNX needs values to write, and a factory builds the model anyway.
"""

from __future__ import annotations

import importlib
import io
import sys

from cnncalc.errors import EXIT_USAGE, Location
from cnncalc.importers.errors import BAD_FACTORY, ImportFailed, MissingExtra


class BadFactory(ImportFailed):
    exit_code = EXIT_USAGE
    code = BAD_FACTORY


def _torch():
    try:
        import torch
    except ImportError:
        raise MissingExtra("cnncalc import --torch needs torch, which is not installed", Location("cnncalc"),
                           hint='install it with pip install "cnncalc[torch]"') from None
    return torch


def build_module(target: str):
    """The nn.Module `module.path:factory` returns (the factory called with no arguments)."""
    torch = _torch()
    where = Location("--torch")
    module_name, colon, attribute = target.partition(":")
    if not colon or not module_name or not attribute:
        raise BadFactory(f"--torch {target!r} is not module.path:factory", where,
                         hint="e.g. --torch torchvision.models:resnet18")
    if "." not in sys.path and "" not in sys.path:
        sys.path.insert(0, "")  # a module of the current directory, as `python -m` finds it
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - any failure of the user's import is this one error
        raise BadFactory(f"cannot import {module_name!r}: {type(error).__name__}: {error}", where,
                         hint="check the module path and that it imports") from None
    factory = module
    for part in attribute.split("."):
        factory = getattr(factory, part, None)
        if factory is None:
            raise BadFactory(f"{module_name!r} has no {attribute!r}", where, hint="name a function or class in it")
    try:
        model = factory() if callable(factory) and not isinstance(factory, torch.nn.Module) else factory
    except Exception as error:  # noqa: BLE001
        raise BadFactory(f"{target}() fails: {type(error).__name__}: {error}", where,
                         hint="the factory must build the model with no arguments") from None
    if not isinstance(model, torch.nn.Module):
        raise BadFactory(f"{target} gives a {type(model).__name__}, not an nn.Module", where,
                         hint="name a function that returns the model")
    return model


def to_onnx_bytes(model, input_dims: tuple[int, ...]) -> bytes:
    """The ONNX file of a copy of `model` in eval mode for one sample of `input_dims` (channels last)."""
    import copy
    import warnings

    torch = _torch()
    twin = copy.deepcopy(model).to("cpu").eval()
    channels, *spatial = (input_dims[-1], *input_dims[:-1])
    example = torch.zeros((1, channels, *spatial))
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(twin, (example,), buffer, dynamo=False, do_constant_folding=False)
        except Exception as error:  # noqa: BLE001 - the exporter's failures are one located error here
            raise ImportFailed(f"torch.onnx.export fails on this model: {type(error).__name__}: "
                               f"{str(error).splitlines()[0][:300] if str(error) else ''}", Location("--torch"),
                               code="CNN701", hint="the model has an op the TorchScript exporter cannot write") from None
    return buffer.getvalue()
