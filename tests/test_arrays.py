"""numpy building blocks: window counts, im2col without copies where possible, MAC counting."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import arrays


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 5), st.integers(1, 4), st.integers(1, 3))
def test_windows_count_is_the_floor_formula(width, kernel, stride, dilation):
    k_eff = dilation * (kernel - 1) + 1
    x = np.zeros((1, width, 2), dtype=np.float32)
    if k_eff > width:
        with pytest.raises(ValueError):
            arrays.windows(x, (kernel,), (stride,), (dilation,))
        return
    view = arrays.windows(x, (kernel,), (stride,), (dilation,))
    assert view.shape == (1, (width - k_eff) // stride + 1, 2, kernel)


def test_windows_hold_the_right_taps():
    x = np.arange(10, dtype=np.float32).reshape(1, 10, 1)
    view = arrays.windows(x, (3,), (2,), (2,))  # taps at 0, 2, 4, then every second start
    assert view[0, :, 0, :].tolist() == [[0, 2, 4], [2, 4, 6], [4, 6, 8]]


def test_pointwise_im2col_is_the_input_itself_and_others_copy():
    x = np.ones((2, 5, 5, 3), dtype=np.float32)
    assert np.shares_memory(arrays.im2col(arrays.windows(x, (1, 1), (1, 1), (1, 1))), x)
    cols = arrays.im2col(arrays.windows(x, (3, 3), (1, 1), (1, 1)))
    assert cols.shape == (2 * 3 * 3, 27) and not np.shares_memory(cols, x)


def test_matmul_counts_rows_inner_columns_for_every_stacked_matrix():
    a = np.ones((4, 6, 5), dtype=np.float32)
    b = np.ones((4, 5, 3), dtype=np.float32)
    out, macs = arrays.matmul(a, b)
    assert out.shape == (4, 6, 3) and macs == 4 * 6 * 5 * 3
    with pytest.raises(ValueError):
        arrays.matmul(a, a)


def test_padding_copies_only_when_needed():
    x = np.ones((1, 2, 2, 1), dtype=np.float32)
    assert arrays.pad_spatial(x, ((0, 0), (0, 0))) is x
    padded = arrays.pad_spatial(x, ((1, 0), (0, 2)), -np.inf)
    assert padded.shape == (1, 3, 4, 1) and np.isneginf(padded[0, 0, 0, 0])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 6), st.integers(1, 6), st.integers(1, 3),
       st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=2),
       st.sampled_from([0.0, -np.inf]), st.booleans())
def test_padding_is_numpys_pad_serial_or_split_across_cores(batch, height, width, channels, pads, value, split):
    x = np.random.default_rng(0).standard_normal((batch, height, width, channels), dtype=np.float32)
    old = arrays.PARALLEL_COPY_BYTES
    arrays.PARALLEL_COPY_BYTES = 0 if split else old  # every copy split: the threaded path on tiny arrays
    try:
        padded = arrays.pad_spatial(x, tuple(pads), value)
    finally:
        arrays.PARALLEL_COPY_BYTES = old
    expected = np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=value)
    assert padded.shape == expected.shape and np.array_equal(padded, expected)


@pytest.mark.parametrize("batch", [1, 3])
def test_im2col_split_across_cores_is_the_serial_copy(batch, monkeypatch):
    x = np.random.default_rng(1).standard_normal((batch, 9, 7, 5), dtype=np.float32)
    view = arrays.windows(x, (3, 2), (2, 1), (1, 2))
    serial = np.ascontiguousarray(np.moveaxis(view, 3, -1)).reshape(-1, 3 * 2 * 5)
    monkeypatch.setattr(arrays, "PARALLEL_COPY_BYTES", 0)
    monkeypatch.setattr(arrays, "_cores", lambda: 3)
    assert np.array_equal(arrays.im2col(view), serial)


@pytest.mark.parametrize("rows", [1, 8, arrays.FEW_ROWS, arrays.FEW_ROWS + 1])
def test_products_of_few_rows_are_computed_transposed_with_the_same_values(rows):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((rows, 300), dtype=np.float32)
    b = rng.standard_normal((300, 70), dtype=np.float32)
    out, macs = arrays.matmul(a, b)
    assert out.shape == (rows, 70) and macs == rows * 300 * 70
    assert np.allclose(out, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-4, atol=1e-3)
    assert out.flags.f_contiguous == (rows <= arrays.FEW_ROWS)  # the transpose of the product, a view


def test_an_im2col_product_keeps_the_row_major_layout_its_reshape_needs():
    """A conv's product is reshaped to (N, *out, filters): a transposed result would be copied there."""
    x = np.random.default_rng(3).standard_normal((1, 4, 4, 8), dtype=np.float32)
    cols = arrays.im2col(arrays.windows(x, (3, 3), (1, 1), (1, 1)))
    out, _ = arrays.matmul(cols, np.ones((72, 16), dtype=np.float32))
    assert out.shape == (4, 16) and out.flags.c_contiguous
    assert np.shares_memory(out.reshape(1, 2, 2, 16), out)
