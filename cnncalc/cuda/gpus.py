"""GPUs by name: the memory the driver reports, the compute capability, and what that implies.

`memory_bytes` is `torch.cuda.get_device_properties(0).total_memory` (cudaDeviceProp.totalGlobalMem),
APPROXIMATELY: it is taken from the "GPU 0 has a total capacity of ... GiB" figure PyTorch's
out-of-memory message prints on these boards (two decimals), so it is within about 10 MiB of a given
board and driver (ECC on or off, driver reservations and board variants move it by more). It is
less than the marketing size: an "80 GB" H100 reports about 79.1 GiB.

The CUDA context (driver state, the kernels of PyTorch, cuBLAS and cuDNN that lazy loading brings
in, the libraries' handles) lives outside the caching allocator, so no `torch.cuda.memory_*`
counter sees it. Its size is an ESTIMATE by generation, with CUDA's lazy module loading (the
default since CUDA 11.7): it depends on driver, CUDA, PyTorch and which kernels ran. A measured
figure replaces it (benchmarks/cuda_memory.py records `mem_get_info` before and after a step).

The cuBLAS workspace is exact for PyTorch's default CUBLAS_WORKSPACE_CONFIG: ":4096:2:16:8" (2 x 4 MiB
+ 8 x 16 KiB = 8 MiB + 128 KiB), except on sm_90 (Hopper), where PyTorch allocates 32 MiB
(aten/src/ATen/cuda/CublasHandlePool.cpp, `parseChosenWorkspaceSize`; PRs #89027, #120925).
"""

from __future__ import annotations

from cnncalc.records import dataclass, replace

from cnncalc.errors import Location, UsageError

GiB = 2**30
MiB = 2**20

#: PyTorch's default cuBLAS workspace, per (handle, stream), allocated through the caching allocator
CUBLAS_WORKSPACE_DEFAULT = 4096 * 1024 * 2 + 16 * 1024 * 8
CUBLAS_WORKSPACE_SM90 = 4096 * 8 * 1024
#: cuBLASLt's own workspace (CUBLASLT_WORKSPACE_SIZE, 1024 KiB by default), when addmm takes the Lt path
CUBLASLT_WORKSPACE = 1024 * 1024

#: the CUDA context by generation (major compute capability): an estimate, see the module docstring
CONTEXT_BY_MAJOR = {7: 300 * MiB, 8: 400 * MiB, 9: 500 * MiB}
#: when no GPU is named (--device cuda alone): the middle of the 300-800 MB LLMem measured
CONTEXT_UNKNOWN = 512 * MiB


def cublas_workspace(capability: tuple[int, int] | None) -> int:
    return CUBLAS_WORKSPACE_SM90 if capability == (9, 0) else CUBLAS_WORKSPACE_DEFAULT


@dataclass(frozen=True, slots=True)
class Gpu:
    name: str
    description: str
    #: what the driver reports (approximately: see the module docstring)
    memory_bytes: int
    capability: tuple[int, int]

    @property
    def generation(self) -> str:
        return _GENERATIONS.get(self.capability, "")

    @property
    def context_bytes(self) -> int:
        """An estimate of the CUDA context (outside the allocator's counters)."""
        return CONTEXT_BY_MAJOR.get(self.capability[0], CONTEXT_UNKNOWN)

    @property
    def cublas_workspace_bytes(self) -> int:
        return cublas_workspace(self.capability)

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "memory_bytes": self.memory_bytes,
                "memory_note": "approximately what the driver reports (totalGlobalMem)",
                "compute_capability": f"{self.capability[0]}.{self.capability[1]}",
                "generation": self.generation, "context_bytes_estimate": self.context_bytes,
                "cublas_workspace_bytes": self.cublas_workspace_bytes}


_GENERATIONS = {(7, 0): "Volta", (7, 5): "Turing", (8, 0): "Ampere", (8, 6): "Ampere", (8, 9): "Ada Lovelace",
                (9, 0): "Hopper"}


def _gib(value: float) -> int:
    return int(value * GiB)


GPUS: dict[str, Gpu] = {g.name: g for g in (
    Gpu("t4", "NVIDIA Tesla T4 (16 GB)", _gib(14.75), (7, 5)),
    Gpu("v100-16gb", "NVIDIA Tesla V100 16 GB", _gib(15.77), (7, 0)),
    Gpu("v100-32gb", "NVIDIA Tesla V100 32 GB", _gib(31.74), (7, 0)),
    Gpu("a10", "NVIDIA A10 (24 GB)", _gib(22.18), (8, 6)),
    Gpu("l4", "NVIDIA L4 (24 GB)", _gib(22.05), (8, 9)),
    Gpu("rtx3090", "NVIDIA GeForce RTX 3090 (24 GB)", _gib(23.69), (8, 6)),
    Gpu("rtx4090", "NVIDIA GeForce RTX 4090 (24 GB)", _gib(23.64), (8, 9)),
    Gpu("a100-40gb", "NVIDIA A100 40 GB (SXM4)", _gib(39.39), (8, 0)),
    Gpu("a100-80gb", "NVIDIA A100 80 GB (SXM4)", _gib(79.15), (8, 0)),
    Gpu("h100", "NVIDIA H100 80 GB HBM3 (SXM5)", _gib(79.11), (9, 0)),
    Gpu("h200", "NVIDIA H200 141 GB HBM3e (SXM)", _gib(139.81), (9, 0)),
)}


def with_memory(board: Gpu | None, memory: int) -> Gpu:
    """The GPU (or, none named, a generic one: default cuBLAS workspace, the middle context estimate)
    with `memory` bytes: `fit`'s budget, on which the allocator is replayed."""
    if board is None:
        board = Gpu("cuda", "a CUDA GPU (none named)", memory, (0, 0))
    return replace(board, memory_bytes=memory)


def gpu(name: str, where: str = "--gpu") -> Gpu:
    """The GPU of this name (any letter case); an unknown name is a usage error listing the known ones."""
    found = GPUS.get(name.strip().lower())
    if found is None:
        raise UsageError(f"unknown GPU {name!r}", Location(where),
                         hint="use one of " + ", ".join(GPUS), code="CNN502")
    return found
