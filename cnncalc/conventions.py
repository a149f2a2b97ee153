"""Shape conventions: how each framework rounds, pads and checks sliding windows.

The facts come from the frameworks' sources (see docs/conventions.md); each convention is one row
of data here, and `window.py` is the only code that reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Rounding = Literal["exact", "floor", "ceil"]


@dataclass(frozen=True, slots=True)
class Convention:
    name: str
    summary: str
    #: conv output when (W + P - K_eff) / S is not whole: "exact" is an error, "floor" drops rows.
    conv_rounding: Rounding
    #: pooling output when the division is not whole and the layer does not say `ceil: true`.
    pool_rounding: Rounding
    #: when a ceil-mode pool drops a last window that would start in the right padding.
    pool_clip: Literal["always", "if_padded"]
    #: where the odd pixel of 'same' padding goes, and whether 'same' allows strides > 1.
    same_extra: Literal["after", "before"]
    same_allows_stride: bool
    #: largest pooling padding: "half" = P <= K//2 (PyTorch), "below_kernel" = P < K (Caffe).
    pool_pad_limit: Literal["half", "below_kernel", "none"]
    memory_model: Literal["textbook", "pytorch"]


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention(
            "strict",
            "cs231n: a non-integral (W - F + 2P)/S + 1 is an error; 'same' = ceil(W/S), extra pad after",
            "exact", "exact", "always", "after", True, "half", "textbook",
        ),
        Convention(
            "pytorch",
            "PyTorch: floor silently; 'same' only with stride 1; ceil pools drop windows starting in the padding",
            "floor", "floor", "always", "after", False, "half", "pytorch",
        ),
    )
}

DEFAULT = CONVENTIONS["strict"]


def get(name: str) -> Convention:
    return CONVENTIONS[name]
