"""Tensor shapes: immutable, channels-last, batch excluded."""

from __future__ import annotations

from cnncalc.records import dataclass
from math import prod


@dataclass(frozen=True, slots=True)
class Shape:
    """A per-sample tensor shape: spatial extents (H, W / L / D, H, W) and channels.

    A vector (the output of `fc` or `flatten`) has no spatial axes: `Shape((), units)`.
    """

    spatial: tuple[int, ...]
    channels: int

    @property
    def dims(self) -> tuple[int, ...]:
        """Channels-last dimensions, as the JSON report lists them: [H, W, C] or [units]."""
        return (*self.spatial, self.channels)

    @property
    def rank(self) -> int:
        """Number of spatial axes: 0 for vectors, 1 for sequences, 2 for images, 3 for volumes."""
        return len(self.spatial)

    @property
    def numel(self) -> int:
        return prod(self.spatial) * self.channels

    @property
    def is_vector(self) -> bool:
        return not self.spatial

    def with_spatial(self, spatial: tuple[int, ...]) -> Shape:
        return Shape(tuple(spatial), self.channels)

    def with_channels(self, channels: int) -> Shape:
        return Shape(self.spatial, channels)

    def __str__(self) -> str:
        return "x".join(str(d) for d in self.dims)


AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def axis_name(rank: int, axis: int) -> str:
    return AXIS_NAMES.get(rank, tuple(f"axis {i}" for i in range(rank)))[axis]
