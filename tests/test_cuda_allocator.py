"""The simulated CUDA caching allocator, rule by rule against c10/cuda/CUDACachingAllocator.cpp.

Every expected number below is worked out by hand from the C++ constants (kMinBlockSize 512 B,
kSmallSize 1 MiB, kSmallBuffer 2 MiB, kMinLargeAlloc 10 MiB, kLargeBuffer 20 MiB, kRoundLarge
2 MiB) and branches (get_free_block, should_split, free_block, release_*), not read off the code.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.cuda import (
    AllocatorConfig,
    CachingAllocator,
    CudaOutOfMemory,
    Event,
    get_allocation_size,
    replay,
    round_size,
    should_split,
)
from cnncalc.cuda.allocator import roundup_power2_next_division

MiB = 1024 * 1024


def stat(allocator: CachingAllocator, key: str) -> int:
    return allocator.stats()[key]


def layout(allocator: CachingAllocator) -> list[list[tuple[int, bool]]]:
    """Each segment as its blocks' (size, allocated), in address order."""
    return [[(b.size, b.allocated) for b in s.blocks] for s in allocator.snapshot()]


# -- round_size -----------------------------------------------------------------------------------


def test_requests_round_up_to_512_bytes():
    assert [round_size(n) for n in (1, 511, 512, 513, 1024, 1025)] == [512, 512, 512, 1024, 1024, 1536]


def test_power2_divisions_follow_the_cpp_example_and_keep_512_byte_rounding_below_their_step():
    assert roundup_power2_next_division(1200, 4) == 1280  # the example in the C++ comment
    four = AllocatorConfig(roundup_power2_divisions=4)
    assert round_size(1200, four) == 1536  # 1200 <= 512 * 4: divisions do not apply yet
    assert round_size(5 * MiB + 1, four) == 6 * MiB  # between 4 and 8 MiB the steps are 1 MiB
    assert round_size(8 * MiB, four) == 8 * MiB  # a power of two stays
    assert round_size(5 * MiB + 1) == 5 * MiB + 512  # default: off


def test_power2_divisions_per_interval_start_at_1_mib():
    per_interval = (0,) * 3 + (2,) + (0,) * 12  # only [8 MiB, 16 MiB) rounds to halves
    config = AllocatorConfig(roundup_power2_divisions=per_interval)
    assert round_size(9 * MiB, config) == 12 * MiB
    assert round_size(5 * MiB + 1, config) == 5 * MiB + 512


def test_config_refuses_what_pytorch_refuses():
    with pytest.raises(ValueError):
        AllocatorConfig(max_split_size=16 * MiB)  # parseMaxSplitSize: at least kLargeBuffer
    with pytest.raises(ValueError):
        AllocatorConfig(roundup_power2_divisions=3)  # not a power of two


# -- pools and segment sizes ----------------------------------------------------------------------


def test_a_1_mib_request_is_small_and_gets_a_2_mib_segment():
    allocator = CachingAllocator()
    allocator.malloc(1 * MiB)
    assert stat(allocator, "segment.small_pool.current") == 1
    assert stat(allocator, "reserved_bytes.small_pool.current") == 2 * MiB
    assert layout(allocator) == [[(1 * MiB, True), (1 * MiB, False)]]


def test_1_mib_plus_1_is_large_and_shares_a_20_mib_segment():
    allocator = CachingAllocator()
    allocator.malloc(1 * MiB + 1)
    assert stat(allocator, "segment.large_pool.current") == 1
    assert stat(allocator, "reserved_bytes.all.current") == 20 * MiB
    assert stat(allocator, "allocated_bytes.all.current") == 1 * MiB + 512
    assert stat(allocator, "requested_bytes.all.current") == 1 * MiB + 1
    assert layout(allocator) == [[(1 * MiB + 512, True), (19 * MiB - 512, False)]]


def test_segment_sizes_at_the_10_mib_boundary():
    assert get_allocation_size(10 * MiB - 512) == 20 * MiB  # < kMinLargeAlloc: kLargeBuffer
    assert get_allocation_size(10 * MiB) == 10 * MiB  # kMinLargeAlloc itself: its own segment
    allocator = CachingAllocator()
    allocator.malloc(10 * MiB)
    assert layout(allocator) == [[(10 * MiB, True)]]


def test_11_mib_plus_1_takes_a_12_mib_segment_whole_and_the_slack_counts_as_allocated():
    allocator = CachingAllocator()
    allocator.malloc(11 * MiB + 1)
    # the remainder 1 MiB - 512 is not above kSmallSize: no split
    assert layout(allocator) == [[(12 * MiB, True)]]
    assert stat(allocator, "allocated_bytes.all.current") == 12 * MiB
    assert stat(allocator, "requested_bytes.all.current") == 11 * MiB + 1


def test_a_zero_byte_request_allocates_nothing():
    allocator = CachingAllocator()
    assert allocator.malloc(0) == 0  # NativeCachingAllocator::allocate hands out nullptr
    allocator.free(0)
    assert allocator.snapshot() == ()


# -- should_split -----------------------------------------------------------------------------------


def test_small_pool_splits_a_remainder_of_512_bytes():
    allocator = CachingAllocator()
    allocator.malloc(1 * MiB)
    allocator.malloc(1 * MiB - 512)  # best fit: the 1 MiB remainder, leaving 512 B
    assert layout(allocator) == [[(1 * MiB, True), (1 * MiB - 512, True), (512, False)]]
    assert should_split(1024, 512, small=True) and not should_split(1024, 1024, small=True)


def test_small_pool_hands_out_an_exact_fit_whole():
    allocator = CachingAllocator()
    allocator.malloc(1 * MiB)
    allocator.malloc(1 * MiB)
    assert layout(allocator) == [[(1 * MiB, True), (1 * MiB, True)]]
    assert stat(allocator, "inactive_split.all.current") == 0


def test_large_pool_keeps_a_remainder_of_exactly_1_mib_inside_the_block():
    allocator = CachingAllocator()
    allocator.malloc(19 * MiB)  # >= 10 MiB: rounded to a 20 MiB segment, remainder 1 MiB
    assert layout(allocator) == [[(20 * MiB, True)]]
    assert stat(allocator, "allocated_bytes.large_pool.current") == 20 * MiB
    assert stat(allocator, "requested_bytes.large_pool.current") == 19 * MiB


def test_large_pool_splits_a_remainder_of_1_mib_plus_512():
    allocator = CachingAllocator()
    allocator.malloc(19 * MiB - 512)
    assert layout(allocator) == [[(19 * MiB - 512, True), (1 * MiB + 512, False)]]
    assert stat(allocator, "allocated_bytes.all.current") == 19 * MiB - 512
    assert stat(allocator, "inactive_split_bytes.large_pool.current") == 1 * MiB + 512


# -- get_free_block and free_block --------------------------------------------------------------------


def test_best_fit_takes_the_smallest_cached_block_that_fits():
    allocator = CachingAllocator()
    handles = {size: allocator.malloc(size * MiB) for size in (12, 16, 14)}
    for handle in handles.values():
        allocator.free(handle)
    assert allocator.malloc(13 * MiB) == handles[14]
    assert stat(allocator, "segment.all.current") == 3  # nothing new was cudaMalloc'd
    assert stat(allocator, "allocated_bytes.all.current") == 14 * MiB  # 1 MiB of slack: not split


def test_best_fit_between_equal_blocks_takes_the_lower_address():
    allocator = CachingAllocator()
    first, second = allocator.malloc(12 * MiB), allocator.malloc(12 * MiB)
    allocator.free(second)
    allocator.free(first)
    assert allocator.malloc(12 * MiB) == first


def test_freed_neighbours_merge_and_a_larger_request_reuses_the_segment():
    allocator = CachingAllocator()
    a, b, c = (allocator.malloc(4 * MiB) for _ in range(3))
    assert layout(allocator) == [[(4 * MiB, True)] * 3 + [(8 * MiB, False)]]
    allocator.free(b)  # between two allocated blocks: stays alone
    assert layout(allocator) == [[(4 * MiB, True), (4 * MiB, False), (4 * MiB, True), (8 * MiB, False)]]
    allocator.free(a)  # merges with b
    assert layout(allocator) == [[(8 * MiB, False), (4 * MiB, True), (8 * MiB, False)]]
    assert allocator.malloc(8 * MiB) == a  # two 8 MiB blocks: the lower address
    allocator.free(a)
    allocator.free(c)  # merges both ways: the segment is whole again
    assert layout(allocator) == [[(20 * MiB, False)]]
    assert stat(allocator, "inactive_split.all.current") == 0
    allocator.malloc(18 * MiB)
    assert stat(allocator, "num_device_alloc") == 1
    assert layout(allocator) == [[(18 * MiB, True), (2 * MiB, False)]]


def test_empty_cache_releases_only_fully_free_segments():
    allocator = CachingAllocator()
    kept = allocator.malloc(4 * MiB)
    allocator.free(allocator.malloc(4 * MiB))  # same 20 MiB segment, still split by `kept`
    allocator.free(allocator.malloc(18 * MiB))  # too big for the 16 MiB left there: a whole 18 MiB segment
    allocator.free(allocator.malloc(1000))  # a whole 2 MiB small segment
    assert stat(allocator, "reserved_bytes.all.current") == 40 * MiB
    allocator.empty_cache()
    assert stat(allocator, "reserved_bytes.all.current") == 20 * MiB
    assert stat(allocator, "num_device_free") == 2
    assert layout(allocator) == [[(4 * MiB, True), (16 * MiB, False)]]
    allocator.free(kept)
    allocator.empty_cache()
    assert allocator.snapshot() == () and stat(allocator, "reserved_bytes.all.peak") == 40 * MiB


def test_freeing_an_unknown_handle_is_refused():
    allocator = CachingAllocator()
    handle = allocator.malloc(512)
    allocator.free(handle)
    with pytest.raises(ValueError, match="invalid device pointer"):
        allocator.free(handle)


# -- a full device --------------------------------------------------------------------------------


def test_a_full_device_releases_cached_segments_and_retries():
    allocator = CachingAllocator(capacity=40 * MiB)
    for handle in [allocator.malloc(12 * MiB), allocator.malloc(12 * MiB)]:
        allocator.free(handle)
    allocator.malloc(30 * MiB)  # 24 + 30 > 40: release both cached 12 MiB segments, then retry
    assert stat(allocator, "reserved_bytes.all.current") == 30 * MiB
    assert stat(allocator, "num_alloc_retries") == 1
    assert stat(allocator, "num_device_free") == 2
    assert stat(allocator, "num_ooms") == 0


def test_out_of_memory_is_raised_as_data_after_releasing_what_it_could():
    allocator = CachingAllocator(capacity=40 * MiB)
    allocator.malloc(24 * MiB)
    allocator.free(allocator.malloc(1000))  # a cached small segment, released on the way
    with pytest.raises(CudaOutOfMemory) as raised:
        allocator.malloc(20 * MiB)
    oom = raised.value
    assert (oom.size, oom.alloc_size, oom.capacity) == (20 * MiB, 20 * MiB, 40 * MiB)
    assert (oom.allocated, oom.reserved) == (24 * MiB, 24 * MiB)
    assert stat(allocator, "num_ooms") == 1 and stat(allocator, "num_alloc_retries") == 1
    assert "CUDA out of memory" in str(oom)
    allocator.malloc(16 * MiB)  # the allocator is still usable


# -- max_split_size ------------------------------------------------------------------------------------

SPLIT_40 = AllocatorConfig(max_split_size=40 * MiB)


def test_an_oversize_cached_block_is_not_given_to_a_smaller_request():
    allocator = CachingAllocator(config=SPLIT_40)
    allocator.free(allocator.malloc(64 * MiB))
    allocator.malloc(12 * MiB)
    assert stat(allocator, "segment.all.current") == 2
    assert stat(allocator, "oversize_segments.current") == 1


def test_an_oversize_request_takes_a_cached_block_less_than_20_mib_larger_whole():
    allocator = CachingAllocator(config=SPLIT_40)
    allocator.free(allocator.malloc(64 * MiB))
    allocator.malloc(50 * MiB)  # 64 < 50 + 20: given, and never split (50 >= max_split_size)
    assert layout(allocator) == [[(64 * MiB, True)]]
    assert stat(allocator, "oversize_allocations.current") == 1


def test_an_oversize_request_refuses_a_cached_block_20_mib_larger():
    allocator = CachingAllocator(config=SPLIT_40)
    allocator.free(allocator.malloc(64 * MiB))
    allocator.malloc(44 * MiB)  # 64 >= 44 + max_non_split_rounding: a new segment
    assert layout(allocator) == [[(64 * MiB, False)], [(44 * MiB, True)]]


def test_a_full_device_first_releases_one_oversize_block_that_covers_the_request():
    allocator = CachingAllocator(capacity=100 * MiB, config=SPLIT_40)
    allocator.free(allocator.malloc(64 * MiB))
    allocator.malloc(12 * MiB)  # not from the oversize block: a new segment; 76 MiB reserved
    allocator.malloc(30 * MiB)  # 76 + 30 > 100: release the 64 MiB block, cudaMalloc again
    assert stat(allocator, "reserved_bytes.all.current") == 42 * MiB
    assert stat(allocator, "num_device_free") == 1
    assert stat(allocator, "num_alloc_retries") == 0  # not the retry after release_cached_blocks
    assert stat(allocator, "num_sync_all_streams") == 0


def test_a_full_device_releases_oversize_blocks_from_the_largest_down():
    allocator = CachingAllocator(capacity=110 * MiB, config=SPLIT_40)
    allocator.malloc(12 * MiB)
    for handle in [allocator.malloc(48 * MiB), allocator.malloc(44 * MiB)]:
        allocator.free(handle)
    allocator.malloc(60 * MiB)  # no cached block >= 60: release 48, then 44, then cudaMalloc
    assert stat(allocator, "num_device_free") == 2
    assert stat(allocator, "reserved_bytes.all.current") == 72 * MiB
    assert stat(allocator, "num_alloc_retries") == 0


# -- stats ---------------------------------------------------------------------------------------


def test_stats_carry_torch_memory_stats_keys():
    allocator = CachingAllocator()
    allocator.free(allocator.malloc(1))
    stats = allocator.stats()
    for key in ("allocated_bytes.all.peak", "reserved_bytes.large_pool.current", "requested_bytes.small_pool.freed",
                "active.all.current", "inactive_split_bytes.all.peak", "segment.small_pool.allocated",
                "oversize_allocations.peak", "num_alloc_retries", "num_ooms", "num_device_alloc"):
        assert key in stats
    assert stats["max_split_size"] == -1  # SIZE_MAX read as an int64_t
    assert (stats["allocated_bytes.all.peak"], stats["requested_bytes.all.peak"]) == (512, 1)
    assert (stats["allocated_bytes.all.allocated"], stats["allocated_bytes.all.freed"]) == (512, 512)
    assert stats["reserved_bytes.all.current"] == 2 * MiB


def test_reset_peak_stats_restarts_peaks_from_now():
    allocator = CachingAllocator()
    allocator.free(allocator.malloc(4 * MiB))
    allocator.reset_peak_stats()
    assert stat(allocator, "allocated_bytes.all.peak") == 0
    assert stat(allocator, "reserved_bytes.all.peak") == 20 * MiB


# -- replays ---------------------------------------------------------------------------------------


def alloc(name: str, size: int) -> Event:
    return Event("alloc", name, size)


def free(name: str) -> Event:
    return Event("free", name)


def small_cnn_training_step() -> list[Event]:
    """conv(3->16) - relu - conv(16->32, stride 2) - relu - mean - fc(32->10), batch 32 of 3x32x32
    float32, with the frees PyTorch eager makes (relu saves its output, conv and fc their input)."""
    act1, act2 = 32 * 16 * 32 * 32 * 4, 32 * 32 * 16 * 16 * 4  # 2 MiB, 1 MiB
    return [
        alloc("w1", 16 * 3 * 9 * 4), alloc("w2", 32 * 16 * 9 * 4), alloc("fc", 10 * 32 * 4),
        alloc("x", 32 * 3 * 32 * 32 * 4),
        alloc("a1", act1), alloc("r1", act1), free("a1"),
        alloc("a2", act2), alloc("r2", act2), free("a2"),
        alloc("p", 32 * 32 * 4), alloc("y", 32 * 10 * 4),
        free("y"), alloc("gy", 32 * 10 * 4),
        alloc("g_fc", 10 * 32 * 4), alloc("gp", 32 * 32 * 4), free("gy"), free("p"),
        alloc("g_r2", act2), free("gp"),
        alloc("g_a2", act2), free("g_r2"), free("r2"),
        alloc("g_w2", 32 * 16 * 9 * 4), alloc("g_r1", act1), free("g_a2"),
        alloc("g_a1", act1), free("g_r1"), free("r1"),
        alloc("g_w1", 16 * 3 * 9 * 4), free("g_a1"), free("x"),
    ]


def test_replay_of_a_small_cnn_training_step():
    peaks = replay(small_cnn_training_step())
    # peak when g_a1 is allocated: weights 2048 + 18432 + 1536, x 393216, r1, g_r1, g_a1 (2 MiB each),
    # g_fc 1536, g_w2 18432; requested lacks the rounding of w1 (320 B), fc and g_fc (256 B each)
    assert peaks.allocated == 6_726_656
    assert peaks.requested == 6_725_824
    # g_r2 and g_a2 (1 MiB, the small pool's largest size) find no 1 MiB hole: three small segments
    assert peaks.reserved == 26 * MiB
    assert [[(b.size, b.allocated) for b in s.blocks] for s in peaks.segments] == [
        [(2048, True), (18432, True), (1536, True), (2_075_136, False)],
        [(20 * MiB, False)],
        [(1_054_208, False), (1536, True), (18432, True), (2048, True), (1_020_928, False)],
        [(2 * MiB, False)],
    ]


def test_replay_of_a_wide_first_layer_with_and_without_max_split_size():
    conv, pool = 8 * 64 * 224 * 224 * 4, 8 * 64 * 112 * 112 * 4  # 98 MiB, 24.5 MiB
    events = [alloc("conv", conv), alloc("relu", conv), free("conv"), alloc("pool", pool)]
    default = replay(events)
    assert (default.allocated, default.reserved) == (196 * MiB, 196 * MiB)  # pool splits the cached 98 MiB
    split_64 = replay(events, config=AllocatorConfig(max_split_size=64 * MiB))
    assert split_64.reserved == 222 * MiB  # the 98 MiB block is kept: pool gets 24.5 -> 26 MiB of its own
    assert split_64.segments[-1].blocks[0].size == pool  # and splits it (1.5 MiB > kSmallSize)


def test_replay_on_a_small_device_raises_out_of_memory():
    with pytest.raises(CudaOutOfMemory):
        replay(small_cnn_training_step(), capacity=24 * MiB)
    assert replay(small_cnn_training_step(), capacity=26 * MiB).reserved == 26 * MiB


def test_replay_refuses_inconsistent_events():
    with pytest.raises(ValueError):
        replay([free("x")])
    with pytest.raises(ValueError):
        replay([alloc("x", 8), alloc("x", 8)])


# -- invariants on random sequences ------------------------------------------------------------------

sizes = st.one_of(
    st.integers(1, 2 * MiB),  # around the small pool's limit
    st.integers(1 * MiB, 12 * MiB),  # the shared 20 MiB segments and the 10 MiB boundary
    st.integers(12 * MiB, 96 * MiB),  # own segments, oversize under max_split_size
)
operations = st.lists(st.tuples(st.booleans(), sizes, st.integers(0, 1000)), max_size=60)
configs = st.sampled_from([AllocatorConfig(), AllocatorConfig(max_split_size=40 * MiB),
                           AllocatorConfig(roundup_power2_divisions=4)])


def check_invariants(allocator: CachingAllocator) -> None:
    stats = allocator.stats()
    for pool in ("all", "small_pool", "large_pool"):
        reserved, allocated, requested = (stats[f"{name}_bytes.{pool}.current"]
                                          for name in ("reserved", "allocated", "requested"))
        assert reserved >= allocated >= requested >= 0
        assert stats[f"reserved_bytes.{pool}.peak"] >= stats[f"allocated_bytes.{pool}.peak"]
        assert stats[f"allocated_bytes.{pool}.peak"] >= stats[f"requested_bytes.{pool}.peak"]
    segments = allocator.snapshot()
    for before, after in pairwise(segments):
        assert before.address + before.total_size <= after.address  # segments never overlap
    inactive_split = inactive_split_bytes = 0
    for segment in segments:
        assert sum(b.size for b in segment.blocks) == segment.total_size
        address = segment.address
        for left, right in pairwise(segment.blocks):
            assert left.allocated or right.allocated  # free_block merged every free neighbour
        for block in segment.blocks:
            assert block.address == address and block.size % 512 == 0
            address += block.size
            if not block.allocated and len(segment.blocks) > 1:
                inactive_split, inactive_split_bytes = inactive_split + 1, inactive_split_bytes + block.size
    assert stats["reserved_bytes.all.current"] == sum(s.total_size for s in segments)
    assert stats["allocated_bytes.all.current"] == sum(b.size for s in segments for b in s.blocks if b.allocated)
    assert stats["segment.all.current"] == len(segments)
    # the C++ counts inactive splits incrementally; they must match what the snapshot shows
    assert (stats["inactive_split.all.current"], stats["inactive_split_bytes.all.current"]) == (
        inactive_split, inactive_split_bytes)


@settings(max_examples=150)
@given(operations, configs, st.sampled_from([None, 64 * MiB, 200 * MiB]))
def test_random_sequences_keep_the_invariants(ops, config, capacity):
    allocator = CachingAllocator(capacity, config)
    live: list[int] = []
    for is_alloc, size, pick in ops:
        if is_alloc or not live:
            try:
                live.append(allocator.malloc(size))
            except CudaOutOfMemory as oom:
                assert oom.reserved + oom.alloc_size > oom.capacity
        else:
            allocator.free(live.pop(pick % len(live)))
        check_invariants(allocator)
    for handle in live:
        allocator.free(handle)
    check_invariants(allocator)
    stats = allocator.stats()
    assert stats["allocated_bytes.all.current"] == stats["requested_bytes.all.current"] == 0
    assert stats["active.all.current"] == stats["inactive_split.all.current"] == 0
    allocator.empty_cache()
    assert allocator.snapshot() == () and stats["reserved_bytes.all.peak"] <= (capacity or 2**64)
