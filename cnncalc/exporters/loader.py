"""The weight loader every exported PyTorch file carries, as text: it reads the .npz that
`cnncalc verify --save-weights` writes with the standard library and torch alone (an .npz is a zip
of .npy files), and puts each array where the file's WEIGHTS table says, in PyTorch's layout."""

from __future__ import annotations

#: what the loader imports beside torch (the header writes them at the top of the file)
IMPORTS = "import ast\nimport zipfile\n"

SOURCE = '''
_DTYPES = {"<f4": torch.float32, "<f8": torch.float64, "<f2": torch.float16}


def _read_npy(data: bytes) -> torch.Tensor:
    """One .npy file (format 1, 2 or 3): a dict header, then the array's bytes in C order."""
    if data[:6] != b"\\x93NUMPY":
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
'''
