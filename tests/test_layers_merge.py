"""add and concat: shapes, and errors that name every branch's shape."""

from __future__ import annotations

import pytest

from cnncalc.conventions import get
from cnncalc.errors import ShapeError
from cnncalc.layers import KINDS
from cnncalc.layers.base import Context
from cnncalc.shapes import Shape


def merge(kind: str, *shapes: Shape, names: tuple[str, ...] = ()):
    return KINDS[kind].infer({}, shapes, Context(get("strict"), f"m ({kind})", names))


def test_add_keeps_the_shape_and_has_no_parameters():
    result = merge("add", Shape((56, 56), 256), Shape((56, 56), 256))
    assert result.output == Shape((56, 56), 256)
    assert (result.params, result.macs) == (0, 0)


def test_add_of_different_shapes_names_each_input():
    with pytest.raises(ShapeError) as error:
        merge("add", Shape((28, 28), 512), Shape((56, 56), 256), names=("block/bn3", "input"))
    assert error.value.code == "CNN204"
    assert "block/bn3 gives 28x28x512" in error.value.message
    assert "input gives 56x56x256" in error.value.message


def test_concat_sums_channels():
    result = merge("concat", Shape((28, 28), 64), Shape((28, 28), 128), Shape((28, 28), 32), Shape((28, 28), 32))
    assert result.output == Shape((28, 28), 256)


def test_concat_of_vectors_works_for_one_max_pooled_features():
    assert merge("concat", Shape((1,), 2), Shape((1,), 2), Shape((1,), 2)).output == Shape((1,), 6)


def test_concat_with_different_spatial_sizes_names_each_branch():
    with pytest.raises(ShapeError) as error:
        merge("concat", Shape((28, 28), 64), Shape((27, 27), 128), names=("b/branch1/conv1", "b/branch2/pool1"))
    assert error.value.code == "CNN204"
    assert "b/branch1/conv1 gives 28x28x64" in error.value.message
    assert "b/branch2/pool1 gives 27x27x128" in error.value.message


def test_a_merge_of_one_input_is_refused():
    with pytest.raises(ShapeError) as error:
        merge("add", Shape((4, 4), 1))
    assert error.value.code == "CNN224"
