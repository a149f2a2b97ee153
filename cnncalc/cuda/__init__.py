"""CUDA-side memory: a simulation of PyTorch's caching allocator (no GPU, no torch needed).

The allocator's names are loaded on first use: `cnncalc.cuda.gpus` (the GPU table every command's
--gpu option reads) must not cost the allocator's import on every run."""

from typing import Any

__all__ = [
    "AllocatorConfig",
    "BlockInfo",
    "CachingAllocator",
    "CudaOutOfMemory",
    "Event",
    "Peaks",
    "Segment",
    "get_allocation_size",
    "replay",
    "round_size",
    "should_split",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from cnncalc.cuda import allocator

        return getattr(allocator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
