"""The registry of layer kinds. Importing this package registers every kind.

`KINDS` (word -> kind, aliases included) is the single source of what kinds exist; the lists other
modules need are derived from it here, through the declarations of `LayerKind`.
"""

from cnncalc.layers import conv, dense, elementwise, norm, pool  # noqa: F401  (registration)
from cnncalc.layers import conv_transpose, merge, resample  # noqa: F401  (registration: graph and resampling kinds)
from cnncalc.layers import activations, block_parts, channels  # noqa: F401  (registration: the kinds of modern CNNs, issue #14)
from cnncalc.layers.base import KINDS, LayerKind, NoTorchEquivalent


def kinds() -> tuple[LayerKind, ...]:
    """Every registered kind once, in registration order (aliases share their kind)."""
    return tuple({id(kind): kind for kind in KINDS.values()}.values())


def construct_kinds() -> tuple[LayerKind, ...]:
    """The merges that are also spec constructs (`- concat: [[...], [...]]`), in registration order."""
    return tuple(kind for kind in kinds() if kind.construct is not None)


def kind_rules() -> tuple:
    """The documentation of the codes the kinds raise (`LayerKind.rules`), each rule once."""
    return tuple({rule.code: rule for kind in kinds() for rule in kind.rules}.values())


__all__ = ["KINDS", "LayerKind", "NoTorchEquivalent", "construct_kinds", "kind_rules", "kinds"]
