"""The counting numpy allocator verify measures with: it counts array buffers (their nbytes, as numpy
allocates, reallocates and frees them), never Python objects, and tracemalloc stays the fallback."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import yaml

from cnncalc import array_memory, executor, report
from cnncalc.pipeline import analyze_text
from cnncalc.verification import compare


@pytest.fixture
def meter():
    if array_memory.numpy_handler() is None:
        pytest.skip("numpy's memory handler cannot be installed here")
    m = array_memory.meter(True)
    m.start()
    yield m
    m.stop()


def test_the_handler_is_numpys_own_allocator_underneath():
    handler = array_memory.numpy_handler()
    assert handler is not None  # numpy >= 1.22 with ctypes: the supported installs
    with handler.installed():
        from numpy._core.multiarray import get_handler_name

        assert get_handler_name() == "cnncalc_counting" and get_handler_name(np.empty(3)) == "cnncalc_counting"
    assert get_handler_name() == "default_allocator"


def test_arrays_are_counted_and_python_objects_are_not(meter):
    x = np.ones((100, 10), dtype=np.float32)
    assert meter.current() == x.nbytes == 4000
    kept = [[i] * 10 for i in range(10_000)]  # ~1 MB of Python objects
    assert meter.current() == 4000
    y = x * 2
    assert meter.current() == 8000  # (the 0-d array numpy made of the scalar 2 is freed already)
    del y
    assert meter.current() == 4000 and meter.read_peak() >= 8000
    meter.reset_peak()
    assert meter.read_peak() == 4000 and meter.overall() >= 8000
    del kept


def test_views_cost_nothing_and_the_buffer_is_freed_with_its_last_view(meter):
    x = np.zeros((64, 64), dtype=np.float32)
    view = x.reshape(-1)[::2]
    del x
    assert meter.current() == 64 * 64 * 4
    del view
    assert meter.current() == 0


def test_large_zeroed_arrays_calloc_releases_the_gil_inside_numpy(meter):
    # numpy's calloc releases the GIL itself: the counter calls it with the GIL held (an abort otherwise)
    big = np.zeros((1024, 1024), dtype=np.float32)
    assert meter.current() == big.nbytes
    del big
    assert meter.current() == 0


def test_reallocated_arrays_count_their_new_size(meter):
    x = np.ones(1000, dtype=np.uint8)
    x.resize(5000, refcheck=False)
    assert meter.current() == 5000
    del x
    assert meter.current() == 0


def test_arrays_from_before_the_run_do_not_count_when_freed():
    before = np.ones(10_000, dtype=np.uint8)
    m = array_memory.meter(True)
    m.start()
    try:
        during = np.ones(100, dtype=np.uint8)
        del before
        gc.collect()
        assert m.current() == 100
    finally:
        m.stop()
    del during  # freed after the run through the counting handler: no crash, no count
    assert m.current() == 0


def test_paused_blocks_are_left_out(meter):
    with meter.paused():
        copy = np.ones(1000, dtype=np.uint8)
    assert meter.current() == 0
    del copy
    assert meter.current() == 0


def analysis_of(text: str):
    analysis = analyze_text(text, "<test>", "strict")
    assert analysis.ok, analysis.diagnostics
    return analysis


def verified(analysis, batch: int = 1):
    the_plan = executor.plan(analysis, batch)
    execution = executor.execute(the_plan, seed=0)
    return execution, compare(report.build(analysis, report.Options(batch)), the_plan, execution, 0.0)


def test_a_long_relu_chain_measures_its_one_array_not_its_records():
    """Issue #19: 400 relus on 8x8x3 measured 286 KiB (Python records) against 768 B; 4,000 measured
    393 KiB and failed. Only the one 768 B activation (and numpy's transient 0-d scalars) counts."""
    execution, result = verified(analysis_of("input: 8x8x3\nlayers:\n  - repeat: {times: 4000, layers: [relu]}\n"))
    assert execution.measured_by == array_memory.NUMPY_ALLOCATOR
    memory = result.memory
    assert result.ok and memory.expected_peak_bytes == 768
    assert 768 <= memory.measured_peak_bytes <= 768 + 64, memory


def test_the_im2col_workspace_is_measured_exactly():
    spec = {"input": "16x16x8", "layers": [{"conv": {"filters": 8, "kernel": 3, "padding": 1}}]}
    execution, result = verified(analysis_of(yaml.safe_dump(spec)), batch=2)
    (conv,) = result.layers
    # the padded copy (2 x 18 x 18 x 8) dies into the im2col matrix (2 x 16 x 16 x 72) before the product
    cols = 2 * 16 * 16 * 72 * 4
    assert conv.predicted_workspace_bytes == cols + 2 * 18 * 18 * 8 * 4 - 2 * 16 * 16 * 8 * 4
    assert abs(conv.measured_workspace_bytes - conv.predicted_workspace_bytes) <= 64
    assert result.ok


def test_tracemalloc_is_the_fallback(monkeypatch):
    monkeypatch.setattr(array_memory, "numpy_handler", lambda: None)
    execution, result = verified(analysis_of("input: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel: 3}\n  - relu\n"))
    assert execution.measured_by == array_memory.TRACEMALLOC == result.memory.measured_by
    assert result.ok, result.memory


def test_an_unmeasured_run_says_so():
    the_plan = executor.plan(analysis_of("input: 4x4x1\nlayers: [relu]\n"), 1)
    execution = executor.execute(the_plan, measure=False)
    assert execution.measured_by == "" and execution.peak_bytes == 0


# The handler's cache of large freed buffers (array_memory.BlockCache): fresh pages cost the kernel 0.15-3 s
# per GB to fault in; a run reuses its freed buffers instead, and what is counted stays the live arrays.

MIB = 1024 * 1024


def test_the_cache_gives_the_best_fit_within_twice_the_request_and_keeps_at_most_twice_its_largest():
    cache = array_memory.BlockCache()
    released = []
    for pointer, size in ((1, 10 * MIB), (2, 30 * MIB), (3, 12 * MIB)):
        cache.keep(pointer, size, lambda p, s: released.append(p))
    assert cache.take(40 * MIB) == 0  # nothing as large
    assert cache.take(5 * MIB) == 1  # 10 MiB is within twice 5 MiB; 12 would fit too, 10 fits best
    assert cache.lent == {1: 10 * MIB} and cache.take(5 * MIB) == 0  # 12 MiB is more than twice 5 MiB
    assert cache.take(11 * MIB) == 3 and cache.take(16 * MIB) == 2
    assert not cache.kept and cache.kept_bytes == 0 and released == []
    for pointer in range(10, 14):  # 4 x 30 MiB: 120 MiB, more than twice the largest: the oldest go
        cache.keep(pointer, 30 * MIB, lambda p, s: released.append(p))
    assert released == [10, 11] and [p for p, _ in cache.kept] == [12, 13] and cache.kept_bytes == 60 * MIB
    cache.release_all(lambda p, s: released.append(p))
    assert released == [10, 11, 12, 13] and not cache.kept and cache.kept_bytes == 0


def test_a_run_reuses_its_freed_buffers_and_counts_what_it_asks_for(meter):
    handler = array_memory.numpy_handler()
    big = np.ones(8 * MIB, dtype=np.uint8)
    address = big.ctypes.data
    del big
    assert meter.current() == 0 and handler.cache.kept_bytes == 8 * MIB  # free, and kept
    smaller = np.empty(5 * MIB, dtype=np.uint8)
    assert smaller.ctypes.data == address and meter.current() == 5 * MIB and handler.cache.kept_bytes == 0
    small = np.empty(MIB // 2, dtype=np.uint8)  # below the cache's smallest: numpy's own malloc
    assert meter.current() == 5 * MIB + MIB // 2
    del small, smaller
    assert meter.current() == 0 and handler.cache.lent == {}


def test_the_cache_is_released_when_the_run_ends():
    handler = array_memory.numpy_handler()
    if handler is None:
        pytest.skip("numpy's memory handler cannot be installed here")
    m = array_memory.meter(True)
    m.start()
    kept_past_the_run = np.ones(6 * MIB, dtype=np.uint8)
    np.ones(16 * MIB, dtype=np.uint8)  # freed at once: kept
    reused = np.empty(9 * MIB, dtype=np.uint8)
    assert handler.cache.lent and handler.cache.kept_bytes == 0
    m.stop()
    assert not handler.cache.enabled and not handler.cache.kept
    del reused, kept_past_the_run  # freed after the run: released, with their true sizes
    assert handler.cache.lent == {} and not handler.cache.kept


def test_an_unmeasured_run_keeps_freed_buffers_too(monkeypatch):
    handler = array_memory.numpy_handler()
    if handler is None:
        pytest.skip("numpy's memory handler cannot be installed here")
    kept = []
    keep = array_memory.BlockCache.keep
    monkeypatch.setattr(array_memory.BlockCache, "keep", lambda self, *args: (kept.append(args[1]), keep(self, *args)))
    the_plan = executor.plan(analysis_of("input: 64x64x64\nlayers:\n  - conv: {filters: 64, kernel: 3, padding: 1}\n"
                                         "  - conv: {filters: 64, kernel: 3, padding: 1}\n"), 2)
    execution = executor.execute(the_plan, measure=False)
    assert execution.complete and kept  # the first conv's im2col matrix was kept, for the second's
    assert not handler.cache.enabled and not handler.cache.kept


OUT_OF_ADDRESS_SPACE = """
import resource
import numpy as np
from cnncalc import array_memory
MIB = 2**20
handler = array_memory.numpy_handler()
meter = array_memory.meter(True)
meter.start()
size = int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmSize"))) * 1024
resource.setrlimit(resource.RLIMIT_AS, (size + 900 * MIB, resource.RLIM_INFINITY))  # (~100 MiB of it for threads')
first = np.ones(500 * MIB, np.uint8)
del first
assert handler.cache.kept_bytes == 500 * MIB
second = np.ones(600 * MIB, np.uint8)  # no kept buffer fits, and 500 + 600 MiB do not: the kept one goes
assert handler.cache.kept_bytes == 0 and meter.current() == 600 * MIB
del second
zeroed = np.zeros(700 * MIB, np.uint8)  # calloc: never a kept buffer; 600 + 700 MiB do not fit: the kept go
assert handler.cache.kept_bytes == 0 and meter.current() == 700 * MIB and not zeroed[::4096].any()
meter.stop()
print("ok")
"""


def test_kept_buffers_are_released_when_memory_runs_out():
    import os
    import subprocess
    import sys

    if array_memory.numpy_handler() is None or not os.path.exists("/proc/self/status"):
        pytest.skip("needs numpy's memory handler and /proc")
    done = subprocess.run([sys.executable, "-c", OUT_OF_ADDRESS_SPACE], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.stdout.strip() == "ok", done.stderr


def test_reused_buffers_give_the_same_values(monkeypatch):
    """np.empty's buffer is reused dirty: a forward that relied on fresh (zeroed) pages would differ."""
    spec = ("input: 48x48x32\nlayers:\n  - conv: {filters: 32, kernel: 3, padding: 1}\n  - relu\n"
            "  - conv: {filters: 32, kernel: 3, padding: 2, dilation: 2}\n  - pool: {kernel: 2}\n"
            "  - conv: {filters: 64, kernel: 3, padding: 1}\n  - conv: {filters: 64, kernel: 1}\n")
    the_plan = executor.plan(analysis_of(spec), 8)  # the im2col matrices of the first two: 21 MiB each
    reused = []
    take = array_memory.BlockCache.take
    monkeypatch.setattr(array_memory.BlockCache, "take", lambda self, size: reused.append(take(self, size)) or reused[-1])
    cached = executor.execute(the_plan, measure=True)
    assert any(reused)
    monkeypatch.setattr(array_memory.BlockCache, "keep", lambda self, pointer, size, release: release(pointer, size))
    reused.clear()
    fresh = executor.execute(the_plan, measure=True)
    assert not any(reused)
    assert np.array_equal(cached.output, fresh.output) and cached.peak_bytes == fresh.peak_bytes
