"""CUDA-side memory: a simulation of PyTorch's caching allocator (no GPU, no torch needed)."""

from cnncalc.cuda.allocator import (
    AllocatorConfig,
    BlockInfo,
    CachingAllocator,
    CudaOutOfMemory,
    Event,
    Peaks,
    Segment,
    get_allocation_size,
    replay,
    round_size,
    should_split,
)

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
