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
