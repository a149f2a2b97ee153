"""A simulation of PyTorch's CUDA caching allocator, for one device and one stream.

It follows `DeviceCachingAllocator` in c10/cuda/CUDACachingAllocator.cpp (github.com/pytorch/pytorch)
rule by rule; the C++ names stay in comments so each rule can be checked against the source. Stats
carry torch.cuda.memory_stats()' keys ("allocated_bytes.all.peak", ...) so that a measurement on a GPU
can be compared key by key. Addresses are synthetic (segments laid out in creation order, never
reused): they only break ties between free blocks of one size, as `BlockComparatorSize` does.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Iterable
from cnncalc.records import dataclass
from typing import Literal, NamedTuple

MiB = 1024 * 1024
K_MIN_BLOCK_SIZE = 512  # kMinBlockSize: every size is rounded to a multiple of it
K_SMALL_SIZE = 1 * MiB  # kSmallSize: the largest request served from the small pool
K_SMALL_BUFFER = 2 * MiB  # kSmallBuffer: small requests are packed into segments of this size
K_LARGE_BUFFER = 20 * MiB  # kLargeBuffer: requests between 1 and 10 MiB share segments of this size
K_MIN_LARGE_ALLOC = 10 * MiB  # kMinLargeAlloc: from this size on, a request gets a segment of its own
K_ROUND_LARGE = 2 * MiB  # kRoundLarge: such own segments are rounded up to a multiple of it
SIZE_MAX = 2**64 - 1  # std::numeric_limits<size_t>::max(): AllocatorConfig's "unlimited"
ROUNDUP_INTERVALS = 16  # kRoundUpPowerOfTwoIntervals: [1 MiB, 2 MiB), [2, 4), ... up to 32 GiB and beyond
_ONE_EXA_BYTE = 2**60  # NativeCachingAllocator::allocate refuses anything larger outright
_FIRST_ADDRESS = 1 << 40  # synthetic; cudaMalloc'd segments are at least 2 MiB aligned, as here


@dataclass(frozen=True, slots=True)
class AllocatorConfig:
    """The PYTORCH_CUDA_ALLOC_CONF options that move blocks, with AllocatorConfig's defaults. Sizes in bytes
    (the variable takes max_split_size_mb, max_non_split_rounding_mb). `roundup_power2_divisions`: one count
    for all sizes ("roundup_power2_divisions:4") or 16, one per power-of-2 interval from 1 MiB (the list
    form, expanded); 0 or 1 is plain rounding to 512 B."""

    max_split_size: int = SIZE_MAX
    max_non_split_rounding: int = K_LARGE_BUFFER
    roundup_power2_divisions: int | tuple[int, ...] = 0

    def __post_init__(self) -> None:
        divisions = self.roundup_power2_divisions
        if isinstance(divisions, int):
            divisions = (divisions,) * ROUNDUP_INTERVALS
            object.__setattr__(self, "roundup_power2_divisions", divisions)
        if len(divisions) != ROUNDUP_INTERVALS or any(d < 0 or d & (d - 1) for d in divisions):
            raise ValueError("roundup_power2_divisions: one power of 2 (or 0) per interval, 16 intervals")
        # parseMaxSplitSize / parseMaxNonSplitRoundingSize refuse values below kLargeBuffer
        if self.max_split_size < K_LARGE_BUFFER or self.max_non_split_rounding < K_LARGE_BUFFER:
            raise ValueError("max_split_size and max_non_split_rounding must be at least 20 MiB")

    def divisions_for(self, size: int) -> int:
        """AllocatorConfig::roundup_power2_divisions(size): the count of the interval `size` falls in."""
        index = (size.bit_length() - 1) - (K_SMALL_SIZE.bit_length() - 1)  # log2(size) - log2(1 MiB)
        return self.roundup_power2_divisions[min(max(index, 0), ROUNDUP_INTERVALS - 1)]  # type: ignore[index]


DEFAULT_CONFIG = AllocatorConfig()


def roundup_power2_next_division(size: int, divisions: int) -> int:
    """The next of `divisions` equal steps between the powers of 2 around `size` (1200, 4 -> 1280)."""
    if size & (size - 1) == 0:
        return size
    power2_floor = 1 << (size.bit_length() - 1)
    step = power2_floor >> (divisions.bit_length() - 1)
    if step == 0:
        return power2_floor << 1
    floor = size & ~(step - 1)
    return size if floor == size else floor + step


def round_size(size: int, config: AllocatorConfig = DEFAULT_CONFIG) -> int:
    """round_size: the block size a request of `size` bytes takes."""
    if size < K_MIN_BLOCK_SIZE:
        return K_MIN_BLOCK_SIZE
    divisions = config.divisions_for(size)
    # the power-of-2 steps apply only where they are coarser than 512 B
    if divisions > 1 and size > K_MIN_BLOCK_SIZE * divisions:
        return roundup_power2_next_division(size, divisions)
    return -(-size // K_MIN_BLOCK_SIZE) * K_MIN_BLOCK_SIZE


def get_allocation_size(rounded: int) -> int:
    """get_allocation_size: the size of the segment cudaMalloc'd when no cached block fits."""
    if rounded <= K_SMALL_SIZE:
        return K_SMALL_BUFFER
    if rounded < K_MIN_LARGE_ALLOC:
        return K_LARGE_BUFFER
    return -(-rounded // K_ROUND_LARGE) * K_ROUND_LARGE


def should_split(block_size: int, rounded: int, small: bool, config: AllocatorConfig = DEFAULT_CONFIG) -> bool:
    """should_split: a small-pool remainder is kept from 512 B on, a large-pool one only above 1 MiB
    (smaller slack stays inside the block and counts as allocated), and never for oversize requests."""
    remaining = block_size - rounded
    if small:
        return remaining >= K_MIN_BLOCK_SIZE
    return rounded < config.max_split_size and remaining > K_SMALL_SIZE


class CudaOutOfMemory(Exception):
    """What torch raises as torch.OutOfMemoryError, as data: the request, the segment it needed, and
    the device's state after every cached segment that could be released was released."""

    def __init__(self, size: int, alloc_size: int, capacity: int, allocated: int, reserved: int):
        self.size, self.alloc_size, self.capacity, self.allocated, self.reserved = (
            size, alloc_size, capacity, allocated, reserved)
        super().__init__(
            f"CUDA out of memory. Tried to allocate {alloc_size} bytes. The device holds {capacity} "
            f"bytes; {allocated} are allocated and {reserved - allocated} reserved but unallocated."
        )


@dataclass(frozen=True, slots=True)
class BlockInfo:
    """One block of a segment, as torch.cuda.memory_snapshot() lists it."""

    address: int
    size: int
    requested_size: int  # 0 for a free block
    allocated: bool


@dataclass(frozen=True, slots=True)
class Segment:
    """One cudaMalloc'd segment and the blocks it is split into, in address order."""

    address: int
    total_size: int
    is_large: bool
    blocks: tuple[BlockInfo, ...]


@dataclass(eq=False, slots=True)
class _Block:
    ptr: int
    size: int
    small: bool
    allocated: bool = False
    requested: int = 0
    prev: _Block | None = None
    next: _Block | None = None

    def is_split(self) -> bool:
        return self.prev is not None or self.next is not None


class _Pool:
    """BlockPool::blocks: the cached free blocks of one pool, ordered by (size, address)."""

    def __init__(self, small: bool):
        self.small = small
        self._keys: list[tuple[int, int]] = []
        self._blocks: dict[int, _Block] = {}

    def insert(self, block: _Block) -> None:
        bisect.insort(self._keys, (block.size, block.ptr))
        self._blocks[block.ptr] = block

    def erase(self, block: _Block) -> None:
        del self._keys[bisect.bisect_left(self._keys, (block.size, block.ptr))]
        del self._blocks[block.ptr]

    def lower_bound(self, size: int) -> _Block | None:
        """The smallest cached block of at least `size` bytes, the lowest address among equals."""
        i = bisect.bisect_left(self._keys, (size, -1))
        return self._blocks[self._keys[i][1]] if i < len(self._keys) else None

    def ordered(self) -> list[_Block]:
        return [self._blocks[ptr] for _, ptr in self._keys]


_METRICS = ("current", "peak", "allocated", "freed")  # a c10 Stat, in memory_stats()' order


class _Stat:
    __slots__ = ("allocated", "current", "freed", "peak")

    def __init__(self) -> None:
        self.current = self.peak = self.allocated = self.freed = 0

    def change(self, amount: int) -> None:
        """increase_stat / decrease_stat: only an increase can raise the peak."""
        self.current += amount
        if amount > 0:
            self.peak = max(self.peak, self.current)
            self.allocated += amount
        else:
            self.freed -= amount


_POOL_STATS = ("allocation", "segment", "active", "inactive_split", "allocated_bytes", "reserved_bytes",
               "active_bytes", "inactive_split_bytes", "requested_bytes")
_COUNTERS = ("num_alloc_retries", "num_ooms", "num_sync_all_streams", "num_device_alloc", "num_device_free")


class CachingAllocator:
    """One device's DeviceCachingAllocator. `capacity`: the bytes cudaMalloc may hand out in all (None:
    unlimited), checked as alloc_block checks a memory fraction (reserved + new segment > capacity fails).
    `malloc` returns a handle (the block's address; 0 for 0 bytes, torch's nullptr) for `free`."""

    def __init__(self, capacity: int | None = None, config: AllocatorConfig = DEFAULT_CONFIG):
        self.capacity = capacity
        self.config = config
        self._pools = {True: _Pool(small=True), False: _Pool(small=False)}
        self._blocks: dict[int, _Block] = {}  # every block, free or not, by address
        self._next_address = _FIRST_ADDRESS
        self._stats = {(name, pool): _Stat() for name in _POOL_STATS for pool in ("all", "small_pool", "large_pool")}
        self._stats.update({(name, ""): _Stat() for name in ("oversize_allocations", "oversize_segments")})
        self._counters = dict.fromkeys(_COUNTERS, 0)

    def malloc(self, size: int) -> int:
        """DeviceCachingAllocator::malloc; raises CudaOutOfMemory when the device cannot hold it."""
        if size < 0:
            raise ValueError(f"cannot allocate {size} bytes")
        if size == 0:
            return 0
        rounded = round_size(size, self.config)
        pool = self._pools[rounded <= K_SMALL_SIZE]  # get_pool: kSmallSize itself is still small
        alloc_size = get_allocation_size(rounded)
        if size >= _ONE_EXA_BYTE:  # checked in NativeCachingAllocator::allocate, before any of this
            raise self._out_of_memory(size, alloc_size)
        block = self._get_free_block(pool, rounded) or self._new_segment(pool, rounded, alloc_size)
        if block is None:
            self._counters["num_ooms"] += 1
            raise self._out_of_memory(size, alloc_size)
        split = should_split(block.size, rounded, pool.small, self.config)
        return self._alloc_found_block(block, pool, rounded, size, split).ptr

    def free(self, handle: int) -> None:
        """DeviceCachingAllocator::free (one stream: no events to wait for, the block is cached at once)."""
        if handle == 0:
            return
        block = self._blocks.get(handle)
        if block is None or not block.allocated:
            raise ValueError(f"invalid device pointer: {handle:#x}")
        block.allocated = False
        self._change(("allocation", 1), ("allocated_bytes", block.size), small=block.small, sign=-1)
        self._count_oversize("oversize_allocations", block.size, -1)
        self._free_block(block)

    def empty_cache(self) -> None:
        """emptyCache -> release_cached_blocks: every fully free segment goes back to the device."""
        self._release_cached_blocks()

    def reset_peak_stats(self) -> None:
        """resetPeakStats: every peak restarts from the current value (torch.cuda.reset_peak_memory_stats)."""
        for stat in self._stats.values():
            stat.peak = stat.current

    def stats(self) -> dict[str, int]:
        """The statistics under torch.cuda.memory_stats()' keys."""
        out: dict[str, int] = {}
        for (name, pool), stat in self._stats.items():
            for metric in _METRICS:
                out[f"{name}.{pool}.{metric}" if pool else f"{name}.{metric}"] = getattr(stat, metric)
        out.update(self._counters)
        # DeviceStats::max_split_size is an int64_t: SIZE_MAX reads -1
        out["max_split_size"] = -1 if self.config.max_split_size == SIZE_MAX else self.config.max_split_size
        return out

    def snapshot(self) -> tuple[Segment, ...]:
        """The segments and their blocks, in address order (torch.cuda.memory_snapshot())."""
        segments = []
        for head in sorted((b for b in self._blocks.values() if b.prev is None), key=lambda b: b.ptr):
            blocks: list[BlockInfo] = []
            node: _Block | None = head
            while node is not None:
                blocks.append(BlockInfo(node.ptr, node.size, node.requested if node.allocated else 0, node.allocated))
                node = node.next
            segments.append(Segment(head.ptr, sum(b.size for b in blocks), not head.small, tuple(blocks)))
        return tuple(segments)

    def _get_free_block(self, pool: _Pool, rounded: int) -> _Block | None:
        """get_free_block: best fit, but a cached block of max_split_size or more is kept for requests of
        that size, and given to them only if it is less than max_non_split_rounding larger."""
        block = pool.lower_bound(rounded)
        if block is None:
            return None
        max_split = self.config.max_split_size
        if rounded < max_split and block.size >= max_split:
            return None
        if rounded >= max_split and block.size >= rounded + self.config.max_non_split_rounding:
            return None
        pool.erase(block)
        return block

    def _new_segment(self, pool: _Pool, rounded: int, alloc_size: int) -> _Block | None:
        """malloc's fallback when no cached block fits: cudaMalloc; if the device is full, release the
        oversize cached blocks that would do and try again; then every whole cached segment, and retry."""
        block = self._alloc_block(pool, alloc_size, is_retry=False)
        if block is None and self._release_available_cached_blocks(pool, rounded):
            block = self._alloc_block(pool, alloc_size, is_retry=False)
        if block is None and self._release_cached_blocks():
            block = self._alloc_block(pool, alloc_size, is_retry=True)
        return block

    def _out_of_memory(self, size: int, alloc_size: int) -> CudaOutOfMemory:
        capacity = SIZE_MAX if self.capacity is None else self.capacity
        allocated, reserved = self._current("allocated_bytes"), self._current("reserved_bytes")
        return CudaOutOfMemory(size, alloc_size, capacity, allocated, reserved)

    def _alloc_block(self, pool: _Pool, alloc_size: int, is_retry: bool) -> _Block | None:
        """alloc_block: cudaMalloc a new segment, or fail when the device has no room for it."""
        if is_retry:
            self._counters["num_alloc_retries"] += 1
        if self.capacity is not None and self._current("reserved_bytes") + alloc_size > self.capacity:
            return None
        block = _Block(self._next_address, alloc_size, pool.small)
        self._next_address += alloc_size
        self._blocks[block.ptr] = block
        self._change(("segment", 1), ("reserved_bytes", alloc_size), small=pool.small)
        self._count_oversize("oversize_segments", alloc_size, 1)
        self._counters["num_device_alloc"] += 1
        return block

    def _alloc_found_block(self, block: _Block, pool: _Pool, rounded: int, size: int, split: bool) -> _Block:
        """alloc_found_block: carve `rounded` bytes off the front of `block`, the rest stays cached."""
        already_split = block.is_split()
        if split:
            remaining = block
            block = _Block(remaining.ptr, rounded, pool.small, prev=remaining.prev, next=remaining)
            if block.prev is not None:
                block.prev.next = block
            remaining.prev = block
            remaining.ptr += rounded
            remaining.size -= rounded
            self._blocks[block.ptr] = block
            self._blocks[remaining.ptr] = remaining
            pool.insert(remaining)
            if already_split:  # an inactive split block shrinks by `rounded`
                self._change(("inactive_split_bytes", rounded), small=pool.small, sign=-1)
            else:  # a new inactive split block: the remainder of a block that was whole
                self._change(("inactive_split_bytes", remaining.size), ("inactive_split", 1), small=pool.small)
        elif already_split:  # an inactive split block becomes active as it is
            self._change(("inactive_split_bytes", block.size), ("inactive_split", 1), small=pool.small, sign=-1)
        block.allocated = True
        block.requested = size
        self._change(("allocation", 1), ("allocated_bytes", block.size), ("active", 1), ("active_bytes", block.size),
                     ("requested_bytes", size), small=pool.small)
        self._count_oversize("oversize_allocations", block.size, 1)
        return block

    def _free_block(self, block: _Block) -> None:
        """free_block: merge with free neighbours of the same segment, then cache the result."""
        pool = self._pools[block.small]
        original_size, requested = block.size, block.requested
        net_blocks = net_bytes = 0
        for candidate in (block.prev, block.next):
            subsumed = self._try_merge_blocks(block, candidate, pool)
            if subsumed:
                net_blocks, net_bytes = net_blocks - 1, net_bytes - subsumed
        pool.insert(block)
        if block.is_split():
            net_blocks, net_bytes = net_blocks + 1, net_bytes + block.size
        self._change(("inactive_split", net_blocks), ("inactive_split_bytes", net_bytes), small=block.small)
        self._change(("active", 1), ("active_bytes", original_size), ("requested_bytes", requested),
                     small=block.small, sign=-1)

    def _try_merge_blocks(self, dst: _Block, src: _Block | None, pool: _Pool) -> int:
        """try_merge_blocks: `dst` absorbs a free neighbour; returns the bytes absorbed (0: none)."""
        if src is None or src.allocated:
            return 0
        pool.erase(src)
        if dst.prev is src:  # [src dst]
            del self._blocks[dst.ptr]
            dst.ptr, dst.prev = src.ptr, src.prev
            if dst.prev is not None:
                dst.prev.next = dst
            self._blocks[dst.ptr] = dst
        else:  # [dst src]
            del self._blocks[src.ptr]
            dst.next = src.next
            if dst.next is not None:
                dst.next.prev = dst
        dst.size += src.size
        return src.size

    def _release_available_cached_blocks(self, pool: _Pool, rounded: int) -> bool:
        """release_available_cached_blocks: only with a max_split_size, release the smallest oversize
        block that covers the request, else oversize blocks from the largest down until they do."""
        max_split = self.config.max_split_size
        if max_split == SIZE_MAX:
            return False
        key = max(rounded, max_split)
        block = pool.lower_bound(key)
        if block is not None:
            self._release_block(block)
            return True
        released = 0
        for block in reversed(pool.ordered()):
            if released >= key or block.size < max_split:
                break
            self._release_block(block)
            released += block.size
        return released >= key

    def _release_cached_blocks(self) -> bool:
        """release_cached_blocks: synchronize_and_free_events, then release_blocks on both pools."""
        self._counters["num_sync_all_streams"] += 1
        for pool in (self._pools[False], self._pools[True]):
            for block in pool.ordered():
                if not block.is_split():  # a whole free segment; split ones stay
                    self._release_block(block)
        return True

    def _release_block(self, block: _Block) -> None:
        """release_block: cudaFree a whole cached segment."""
        self._pools[block.small].erase(block)
        del self._blocks[block.ptr]
        self._change(("segment", 1), ("reserved_bytes", block.size), small=block.small, sign=-1)
        self._count_oversize("oversize_segments", block.size, -1)
        self._counters["num_device_free"] += 1

    def _change(self, *changes: tuple[str, int], small: bool, sign: int = 1) -> None:
        """for_each_selected_stat_type: each change goes to "all" and to the block's own pool."""
        for name, amount in changes:
            if amount:
                self._stats[name, "all"].change(sign * amount)
                self._stats[name, "small_pool" if small else "large_pool"].change(sign * amount)

    def _count_oversize(self, name: str, size: int, sign: int) -> None:
        if size >= self.config.max_split_size:
            self._stats[name, ""].change(sign)

    def _current(self, name: str) -> int:
        return self._stats[name, "all"].current


class Event(NamedTuple):
    """One step of a liveness simulation: tensor `tensor` is allocated with `size` bytes, or freed."""

    op: Literal["alloc", "free"]
    tensor: Hashable
    size: int = 0


@dataclass(frozen=True, slots=True)
class Peaks:
    """What a replay reached: the peaks of torch.cuda.max_memory_allocated(), max_memory_reserved()
    and of the requested bytes, and the segments held at the end."""

    allocated: int
    reserved: int
    requested: int
    segments: tuple[Segment, ...]


def replay(events: Iterable[Event], capacity: int | None = None, config: AllocatorConfig = DEFAULT_CONFIG) -> Peaks:
    """Run `events` through a fresh allocator. A device too small raises CudaOutOfMemory."""
    allocator = CachingAllocator(capacity, config)
    live: dict[Hashable, int] = {}
    for op, tensor, size in events:
        if op == "alloc":
            if tensor in live:
                raise ValueError(f"tensor {tensor!r} is allocated twice")
            live[tensor] = allocator.malloc(size)
        elif op == "free":
            if tensor not in live:
                raise ValueError(f"tensor {tensor!r} is freed but not allocated")
            allocator.free(live.pop(tensor))
        else:
            raise ValueError(f"unknown event {op!r}: expected 'alloc' or 'free'")
    stats = allocator.stats()
    return Peaks(stats["allocated_bytes.all.peak"], stats["reserved_bytes.all.peak"],
                 stats["requested_bytes.all.peak"], allocator.snapshot())
