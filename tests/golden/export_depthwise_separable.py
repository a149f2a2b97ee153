"""Depthwise-separable example: written by `cnncalc export --to pytorch`.

Input: N x 2 x 6 x 6 (cnncalc's 6x6x2 is channels-last; PyTorch's tensors are channels-first).
Convention: strict. Imports only torch (and, for load_weights, the standard library's ast and zipfile).
"""

import ast
import zipfile

import torch
from torch import nn


_DTYPES = {"<f4": torch.float32, "<f8": torch.float64, "<f2": torch.float16}


def _read_npy(data: bytes) -> torch.Tensor:
    """One .npy file (format 1, 2 or 3): a dict header, then the array's bytes in C order."""
    if data[:6] != b"\x93NUMPY":
        raise ValueError("not an .npy array")
    width = 2 if data[6] == 1 else 4
    start = 8 + width
    length = int.from_bytes(data[8:start], "little")
    header = ast.literal_eval(data[start:start + length].decode("latin1"))
    if header["fortran_order"] or header["descr"] not in _DTYPES:
        raise ValueError(f"unsupported array layout {header}")
    flat = torch.frombuffer(bytearray(data[start + length:]), dtype=_DTYPES[header["descr"]])
    return flat.reshape(header["shape"])


def read_npz(path) -> dict:
    """The arrays of an .npz file by name, as tensors."""
    with zipfile.ZipFile(path) as archive:
        return {entry.removesuffix(".npy"): _read_npy(archive.read(entry)) for entry in archive.namelist()}


def _arranged(array: torch.Tensor, order: tuple, rows: tuple) -> torch.Tensor:
    """An array in the executor's channels-last layout, in PyTorch's: rows that flatten a
    channels-last map (H, W, C) reordered as PyTorch flattens (C, H, W), then the axes permuted."""
    if rows:
        rank = len(rows) - 1
        array = array.reshape(*rows, -1).permute(rank, *range(rank), rank + 1).reshape(array.shape)
    return array.permute(*order) if order else array


def load_weights(model: nn.Module, path, table=None) -> nn.Module:
    """Copy every array of the weights file (or of a mapping of names to arrays) into the model's
    tensor the table names."""
    arrays = read_npz(path) if isinstance(path, (str, bytes)) or hasattr(path, "__fspath__") else path
    state = model.state_dict()
    for target, source, order, rows in WEIGHTS if table is None else table:
        if source not in arrays:
            raise KeyError(f"{path} has no array {source!r} (for {target})")
        value = _arranged(torch.as_tensor(arrays[source]), order, rows)
        if tuple(value.shape) != tuple(state[target].shape):
            raise ValueError(f"{source}: shape {tuple(value.shape)} does not fit {target} {tuple(state[target].shape)}")
        with torch.no_grad():
            state[target].copy_(value)
    return model


class Regular(nn.Module):
    """Block `regular` of the spec (1 use)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, kernel_size=3, bias=False)

    def forward(self, x):
        x = self.conv1(x)
        return x


class Separable(nn.Module):
    """Block `separable` of the spec (1 use)."""

    def __init__(self):
        super().__init__()
        self.depthwise1 = nn.Conv2d(2, 2, kernel_size=3, groups=2, bias=False)
        self.conv1 = nn.Conv2d(2, 4, kernel_size=1, bias=False)

    def forward(self, x):
        x = self.depthwise1(x)
        x = self.conv1(x)
        return x


class DepthwiseSeparableExample(nn.Module):
    """The spec's network over NCHW tensors."""

    #: one sample's shape, as PyTorch orders it (C, *spatial)
    input_shape = (2, 6, 6)

    def __init__(self):
        super().__init__()
        self.branch1_regular = Regular()
        self.branch2_separable = Separable()

    def forward(self, x):
        branch1 = self.branch1_regular(x)
        branch2 = self.branch2_separable(x)
        x = torch.cat([branch1, branch2], dim=1)
        return x

    def load_weights(self, path):
        """Load what `cnncalc verify --save-weights` wrote: an .npz (or a mapping) of arrays by layer name."""
        load_weights(self, path, WEIGHTS)
        return self


#: cnncalc's layer name -> the module that computes it (layers with no module are forward code)
LAYERS = {
    'branch1/regular/conv1': 'branch1_regular.conv1',
    'branch2/separable/depthwise1': 'branch2_separable.depthwise1',
    'branch2/separable/conv1': 'branch2_separable.conv1',
}


#: (tensor, array in the weights file, axis order, channels-last dims its rows flatten) per tensor
WEIGHTS = (
    ('branch1_regular.conv1.weight', 'branch1/regular/conv1/kernel', (3, 2, 0, 1), ()),
    ('branch2_separable.depthwise1.weight', 'branch2/separable/depthwise1/kernel', (3, 2, 0, 1), ()),
    ('branch2_separable.conv1.weight', 'branch2/separable/conv1/kernel', (3, 2, 0, 1), ()),
)
