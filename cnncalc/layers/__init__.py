"""The registry of layer kinds. Importing this package registers every kind."""

from cnncalc.layers import conv, dense, elementwise, norm, pool  # noqa: F401  (registration)
from cnncalc.layers import conv_transpose, merge, resample  # noqa: F401  (registration: graph and resampling kinds)
from cnncalc.layers.base import KINDS, LayerKind

__all__ = ["KINDS", "LayerKind"]
