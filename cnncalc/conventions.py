"""Shape conventions: how each framework rounds, pads and checks sliding windows.

The facts come from the frameworks' sources (see docs/conventions.md); each convention is one row
of data here, and `window.py` is the only code that reads it.
"""

from __future__ import annotations

from cnncalc.records import dataclass

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md

if TYPE_CHECKING:  # annotations only (strings here): no typing subscription at import
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
    #: whether a pool without `ceil:` rounds up (Caffe's round_mode defaults to CEIL).
    pool_ceil_default: bool = False
    #: the padding words convolutions accept ('same' family, 'valid', Keras' 'causal').
    padding_words: tuple[str, ...] = ("same", "valid", "same_upper", "same_lower", "causal")
    #: the padding words pools accept (PyTorch and Caffe pools take numbers only).
    pool_padding_words: tuple[str, ...] = ("same", "valid", "same_upper", "same_lower")
    #: padding when a layer gives none: "zero", or "auto" = SAS's automatic ceil(W/S) padding.
    implicit_padding: Literal["zero", "auto"] = "zero"
    #: (mode, rank) of the pools that compare the *unpadded* input with the window: PyTorch 2.13's
    #: avg_pool3d raises "input image smaller than kernel size" (its max pools and 1-D/2-D average
    #: pools compare only the output size, found by testing torch itself).
    pools_compare_unpadded: tuple[tuple[str, int], ...] = ()


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
            padding_words=("same", "valid"), pool_padding_words=(), pools_compare_unpadded=(("avg", 3),),
        ),
        Convention(
            "tensorflow",
            "tf.nn: floor (VALID); 'same' = ceil(W/S) with the odd pad pixel after; pools have no ceil mode",
            "floor", "floor", "always", "after", True, "none", "textbook",
            padding_words=("same", "valid"), pool_padding_words=("same", "valid"),
        ),
        Convention(
            "keras",
            "Keras 3 (TF backend): like tensorflow, plus 'causal' (all padding before) for 1-D convolutions",
            "floor", "floor", "always", "after", True, "none", "textbook",
            padding_words=("same", "valid", "causal"), pool_padding_words=("same", "valid"),
        ),
        Convention(
            "onnx",
            "ONNX: floor; auto_pad same_upper (odd pixel at the end) or same_lower (at the beginning); "
            "ceil_mode pools drop windows starting in the padding",
            "floor", "floor", "always", "after", True, "none", "textbook",
            padding_words=("same_upper", "same_lower", "valid"),
            pool_padding_words=("same_upper", "same_lower", "valid"),
        ),
        Convention(
            "caffe",
            "Caffe: convolutions floor; pools ceil by default (round_mode CEIL), clipped only when padded; "
            "pool padding below the kernel; numbers only",
            "floor", "floor", "if_padded", "after", True, "below_kernel", "textbook",
            pool_ceil_default=True, padding_words=(), pool_padding_words=(),
        ),
        Convention(
            "sas",
            "SAS Deep Learning: omitted padding is automatic, output = ceil(W/S) (convolutions pad the odd "
            "pixel after; pools shrink their last windows); given padding floors",
            "floor", "floor", "always", "after", True, "none", "textbook",
            padding_words=(), pool_padding_words=(), implicit_padding="auto",
        ),
    )
}

DEFAULT = CONVENTIONS["strict"]


def get(name: str) -> Convention:
    return CONVENTIONS[name]


#: padding words that ask for 'same'-style padding (output = ceil(W/S)); "auto" is SAS's omitted padding.
SAME_WORDS = ("same", "same_upper", "same_lower", "auto")
