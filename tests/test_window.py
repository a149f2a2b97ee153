"""cnncalc/window.py: the sliding-window arithmetic of convolutions and pools, one axis at a time."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.conventions import get
from cnncalc.errors import ShapeError
from cnncalc.window import (
    Axis,
    NonIntegralError,
    fix_options,
    output_axis,
    resolve_padding,
    slide,
    slide_all,
    split_same,
    whole_settings,
)


def test_axis_arithmetic_shows_the_users_numbers():
    axis = Axis(size=10, kernel=3, stride=2)
    assert axis.span == 7 and axis.exact == Fraction(9, 2)
    assert axis.arithmetic() == "(10 - 3 + 2*0)/2 + 1 = 4.5"
    assert Axis(10, 3, 1, 1, 0, 1).arithmetic() == "(10 - 3 + 0 + 1)/1 + 1 = 9"
    assert Axis(10, 3, 1, dilation=2).k_eff == 5


@pytest.mark.parametrize(("rounding", "expected"), [("floor", (4, 1)), ("ceil", (5, 0))])
def test_slide_rounds_as_the_convention_says(rounding, expected):
    outcome = slide(Axis(10, 3, 2), rounding)
    assert (outcome.size, outcome.dropped) == expected
    assert slide(Axis(10, 3, 2), "exact") is None


def test_ceil_mode_drops_a_last_window_that_starts_in_the_right_padding():
    # PyTorch: MaxPool1d(2, 2, padding=1, ceil_mode=True) on 5 -> 3 windows, not 4
    assert slide(Axis(5, 2, 2, 1, 1, 1), "ceil").size == 3
    assert slide(Axis(5, 2, 2, 1, 1, 1), "ceil").clipped


def test_a_non_integral_size_names_the_nearest_fixes():
    with pytest.raises(NonIntegralError) as caught:
        output_axis(Axis(10, 3, 2), 0, 2, "conv1", "exact", "always")
    assert caught.value.code == "CNN201"
    found = {key: [value for value, _ in options] for key, options in whole_settings(Axis(10, 3, 2)).items()}
    assert found == {"padding": [(0, 1)], "stride": [1], "input": [9, 11], "kernel": [2, 4]}
    assert fix_options(Axis(10, 3, 2))[0].startswith("padding 0 before and 1 after")


def test_a_kernel_larger_than_the_padded_input_is_refused_in_every_convention():
    with pytest.raises(ShapeError) as caught:
        slide_all("c", (2, 2), (3, 3), (1, 1), (1, 1), ((0, 0), (0, 0)), "floor", "always")
    assert caught.value.code == "CNN202"


@given(st.integers(1, 64), st.integers(1, 7), st.integers(1, 4), st.integers(1, 3))
def test_same_padding_gives_ceil_of_w_over_s(size, kernel, stride, dilation):
    before, after = split_same(size, kernel, stride, dilation, "after")
    assert after - before in (0, 1)
    assert slide(Axis(size, kernel, stride, dilation, before, after), "floor").size == -(-size // stride)
    assert split_same(size, kernel, stride, dilation, "before") == (after, before)


def test_resolve_padding_reads_every_form_of_the_spec():
    strict = get("strict")
    one = (1, 1)
    assert resolve_padding(1, (8, 8), (3, 3), one, one, strict, "c") == ((1, 1), (1, 1))
    assert resolve_padding((1, 2), (8, 8), (3, 3), one, one, strict, "c") == ((1, 1), (2, 2))
    assert resolve_padding((0, 1, 2, 3), (8, 8), (3, 3), one, one, strict, "c") == ((0, 1), (2, 3))
    assert resolve_padding("valid", (8, 8), (3, 3), one, one, strict, "c") == ((0, 0), (0, 0))
    assert resolve_padding("causal", (8,), (3,), (1,), (2,), strict, "c") == ((4, 0),)
    with pytest.raises(ShapeError) as caught:
        resolve_padding((1, 2, 3), (8, 8), (3, 3), one, one, strict, "c")
    assert caught.value.code == "CNN206"
