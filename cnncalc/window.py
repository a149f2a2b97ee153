"""Sliding-window arithmetic shared by convolution and pooling, one spatial axis at a time.

Output size per axis: (W - K_eff + P_before + P_after) / S + 1 with K_eff = D(K - 1) + 1,
rounded as the convention says. When it does not work out, the errors carry the arithmetic
with the user's numbers and the nearest settings that would fit.
"""

from __future__ import annotations

from cnncalc.records import dataclass

from cnncalc.conventions import SAME_WORDS, Convention
from cnncalc.errors import ShapeError
from cnncalc.notes import Note
from cnncalc.shapes import axis_name

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md

if TYPE_CHECKING:  # imported where used, by the error paths: a spec that fits never needs it (5 ms)
    from fractions import Fraction

    from cnncalc.conventions import Rounding


@dataclass(frozen=True, slots=True)
class Axis:
    """One spatial axis of a sliding window."""

    size: int
    kernel: int
    stride: int
    dilation: int = 1
    pad_before: int = 0
    pad_after: int = 0

    @property
    def k_eff(self) -> int:
        return self.dilation * (self.kernel - 1) + 1

    @property
    def span(self) -> int:
        """How far the window can travel: W + P_before + P_after - K_eff."""
        return self.size + self.pad_before + self.pad_after - self.k_eff

    @property
    def exact(self) -> Fraction:
        from fractions import Fraction

        return Fraction(self.span, self.stride) + 1

    def arithmetic(self) -> str:
        """The formula with the user's numbers, e.g. `(10 - 3 + 2*0)/2 + 1 = 4.5`."""
        k = str(self.kernel) if self.dilation == 1 else f"{self.dilation}*({self.kernel} - 1) - 1"
        if self.pad_before == self.pad_after:
            pad = f"2*{self.pad_before}"
        else:
            pad = f"{self.pad_before} + {self.pad_after}"
        return f"({self.size} - {k} + {pad})/{self.stride} + 1 = {format_fraction(self.exact)}"


class NonIntegralError(ShapeError):
    """(W - K + 2P)/S + 1 is not a whole number under a convention that requires it."""

    code = "CNN201"

    def __init__(self, message: str, axis: Axis, axis_index: int):
        self.axis = axis
        self.axis_index = axis_index
        self.fixes = fix_options(axis)
        super().__init__(message, hint=self.compose_hint())

    def compose_hint(self, network_inputs: str | None = None) -> str:
        """`network_inputs` (found by the analysis, e.g. "223x223x3 (conv1 then gives 54x54x96) or ...")
        replaces the layer-local input suggestion."""
        fixes = [f for f in self.fixes if not (network_inputs and f.startswith("a layer input"))]
        if network_inputs:
            fixes.insert(0, f"a network input of {network_inputs}, every layer then fits")
        return "use " + ", or ".join(fixes) + "; or " + floor_option(self.axis) if fixes else floor_option(self.axis)


def format_fraction(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}".rstrip("0")


@dataclass(frozen=True, slots=True)
class AxisOutcome:
    size: int
    #: input rows/columns never reached by a window (floor rounding), or 0.
    dropped: int = 0
    #: a ceil-mode pool whose last window was removed by the clip rule.
    clipped: bool = False


def slide(axis: Axis, rounding: Rounding, clip: str = "always") -> AxisOutcome | None:
    """Output size of one axis, or None when the division is not whole under 'exact' rounding."""
    if rounding == "ceil":
        out = -(-axis.span // axis.stride) + 1
        clipped = False
        if (clip == "always" or axis.pad_before or axis.pad_after) and (out - 1) * axis.stride >= axis.size + axis.pad_before:
            out -= 1
            clipped = True
        return AxisOutcome(out, 0, clipped)
    quotient, remainder = divmod(axis.span, axis.stride)
    if remainder and rounding == "exact":
        return None
    return AxisOutcome(quotient + 1, remainder)


def _fits(axis: Axis) -> bool:
    return axis.span >= 0 and axis.span % axis.stride == 0


def _nearest(values_below, values_above, make) -> list[tuple[int, Axis]]:
    """The nearest value on each side (lower first) whose axis fits: [(value, axis), ...]."""
    found = []
    for values in (values_below, values_above):
        for value in values:
            candidate = make(value)
            if candidate is not None and _fits(candidate):
                found.append((value, candidate))
                break
    return found


def whole_settings(axis: Axis) -> dict[str, list[tuple[int | tuple[int, int], Axis]]]:
    """The nearest settings of this axis that make the output whole, one on each side where both exist
    (lower first): padding (before, after), stride, layer input, kernel; each with the axis it gives."""
    a = axis
    total = a.pad_before + a.pad_after
    fixes: dict[str, list] = {}
    padding = _nearest(range(total - 1, max(total - 2 * a.stride, 0) - 1, -1),
                       range(total + 1, total + 2 * a.stride + 1),
                       lambda t: Axis(a.size, a.kernel, a.stride, a.dilation, t // 2, t - t // 2))
    if padding:
        fixes["padding"] = [((t // 2, t - t // 2), candidate) for t, candidate in padding]
    reach = range(1, a.stride + 1)
    options = {
        "stride": lambda v: Axis(a.size, a.kernel, v, a.dilation, a.pad_before, a.pad_after),
        "input": lambda v: Axis(v, a.kernel, a.stride, a.dilation, a.pad_before, a.pad_after),
        "kernel": lambda v: Axis(a.size, v, a.stride, a.dilation, a.pad_before, a.pad_after),
    }
    current = {"stride": a.stride, "input": a.size, "kernel": a.kernel}
    for name, make in options.items():
        value = current[name]
        found = _nearest((value - d for d in reach if value - d >= 1), (value + d for d in reach), make)
        if found:
            fixes[name] = found
    return fixes


def _output(axis: Axis) -> str:
    return f"output {axis.span // axis.stride + 1}"


def _padding_text(before: int, after: int) -> str:
    return f"{before}" if before == after else f"{before} before and {after} after"


def fix_options(axis: Axis) -> list[str]:
    """Concrete settings that make this axis whole, each with the output it gives, the nearest value on
    each side where both exist: padding, stride, kernel, layer input."""
    fixes = whole_settings(axis)
    parts = []
    if "padding" in fixes:
        parts.append("padding " + " or ".join(f"{_padding_text(*pad)} ({_output(c)})" for pad, c in fixes["padding"]))
    for name in ("stride", "kernel"):
        if name in fixes:
            parts.append(f"{name} " + " or ".join(f"{value} ({_output(c)})" for value, c in fixes[name]))
    if "input" in fixes:
        parts.append("a layer input of " + " or ".join(f"{w} ({c.arithmetic()})" for w, c in fixes["input"]))
    return parts


def floor_option(axis: Axis) -> str:
    remainder = axis.span % axis.stride
    return (f"--convention pytorch floors it to {axis.span // axis.stride + 1} "
            f"(the last {remainder} row(s)/column(s) are dropped)")


def check_fits(axis: Axis, axis_index: int, rank: int, what: str) -> None:
    """A kernel larger than the padded input is an error in every convention (not called for ceil-mode
    pools, which keep one window there, as PyTorch's do)."""
    if axis.span < 0:
        name = axis_name(rank, axis_index)
        raise ShapeError(
            f"{what}: the {name} window ({axis.k_eff}) is larger than the padded input "
            f"({axis.size} + {axis.pad_before + axis.pad_after} = {axis.size + axis.pad_before + axis.pad_after})",
            hint=f"use a kernel of at most {axis.size + axis.pad_before + axis.pad_after}, more padding, "
            "or remove a downsampling layer before this one",
            code="CNN202",
        )


def output_axis(axis: Axis, axis_index: int, rank: int, what: str, rounding: Rounding, clip: str) -> AxisOutcome:
    if rounding != "ceil":
        check_fits(axis, axis_index, rank, what)
    outcome = slide(axis, rounding, clip)
    if outcome is None:
        name = axis_name(rank, axis_index)
        raise NonIntegralError(
            f"{what}: output {name} {axis.arithmetic()} is not an integer, so the hyperparameters do not fit",
            axis,
            axis_index,
        )
    if outcome.size < 1:
        raise ShapeError(
            f"{what}: the output {axis_name(rank, axis_index)} would be {outcome.size}",
            hint="use a smaller kernel or stride, or a larger input",
            code="CNN202",
        )
    return outcome


def split_same(size: int, kernel: int, stride: int, dilation: int, extra: str) -> tuple[int, int]:
    """TF's and ONNX's rule: pad max((ceil(W/S) - 1)*S + K_eff - W, 0) in all, the odd pixel `extra`
    ("after", "before", or "all_after" for pools that only shrink their last windows, as SAS's do)."""
    k_eff = dilation * (kernel - 1) + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + k_eff - size, 0)
    small, big = total // 2, total - total // 2
    if extra == "all_after":
        return (0, total)
    return (small, big) if extra == "after" else (big, small)


def effective_padding(padding: int | str | tuple[int, ...] | None, convention: Convention) -> int | str | tuple[int, ...]:
    """The padding a layer uses: what it gives, or the convention's default when it gives none
    (0, or "auto" for SAS, whose layers pad automatically to ceil(W/S))."""
    if padding is None:
        return "auto" if convention.implicit_padding == "auto" else 0
    return padding


def _check_vocabulary(word: str, convention: Convention, pooling: bool, label: str) -> None:
    allowed = convention.pool_padding_words if pooling else convention.padding_words
    if word == "auto" or word in allowed:
        return
    what = "pools" if pooling else "convolutions"
    words = ", ".join(f"'{w}'" for w in allowed)
    raise ShapeError(
        f"{label}: padding '{word}' is not a padding word of the {convention.name} convention",
        hint=(f"{convention.name} {what} accept {words} or numbers" if allowed
              else f"{convention.name} {what} take padding as numbers only")
        + "; or choose the convention that uses this word (--convention)",
        code="CNN205",
    )


def _word_padding(
    word: str, spatial, kernel, stride, dilation, convention: Convention, label: str, pooling: bool
) -> tuple[tuple[int, int], ...]:
    _check_vocabulary(word, convention, pooling, label)
    rank = len(spatial)
    if word == "valid":
        return ((0, 0),) * rank
    if word == "causal":
        if rank != 1:
            raise ShapeError(f"{label}: padding 'causal' is for inputs with one spatial axis, not {rank}",
                             hint="use 'same' or numbers", code="CNN206")
        return ((dilation[0] * (kernel[0] - 1), 0),)
    if word == "same" and not convention.same_allows_stride and any(s > 1 for s in stride):
        raise ShapeError(
            f"{label}: padding 'same' with stride {max(stride)} is not supported under the "
            f"{convention.name} convention",
            hint="give the padding as numbers, or use --convention strict (same = ceil(W/S))",
            code="CNN205",
        )
    extra = {"same_upper": "after", "same_lower": "before"}.get(word, convention.same_extra)
    if word == "auto" and pooling:
        extra = "all_after"
    return tuple(split_same(w, k, s, d, extra) for w, k, s, d in zip(spatial, kernel, stride, dilation))


def resolve_padding(
    padding: int | str | tuple[int, ...] | None,
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    convention: Convention,
    label: str,
    pooling: bool = False,
) -> tuple[tuple[int, int], ...]:
    """(before, after) per axis from the spec's padding value (None = the convention's default)."""
    rank = len(spatial)
    padding = effective_padding(padding, convention)
    if isinstance(padding, str):
        return _word_padding(padding, spatial, kernel, stride, dilation, convention, label, pooling)
    if isinstance(padding, int):
        return ((padding, padding),) * rank
    if len(padding) == 1:
        return ((padding[0], padding[0]),) * rank
    if len(padding) == rank:
        return tuple((p, p) for p in padding)
    if len(padding) == 2 * rank:
        return tuple((padding[2 * i], padding[2 * i + 1]) for i in range(rank))
    raise ShapeError(
        f"{label}: padding has {len(padding)} values but the input has {rank} spatial axes",
        hint=f"give 1, {rank} (one per axis) or {2 * rank} (before/after per axis) values",
        code="CNN206",
    )


@dataclass(frozen=True, slots=True)
class Slide:
    """The result of sliding a window over every spatial axis."""

    spatial: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    dropped: tuple[int, ...]
    clipped: tuple[bool, ...]


def slide_all(
    label: str,
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    pads: tuple[tuple[int, int], ...],
    rounding: Rounding,
    clip: str,
) -> Slide:
    rank = len(spatial)
    axes = [Axis(w, k, s, d, pb, pa) for w, k, s, d, (pb, pa) in zip(spatial, kernel, stride, dilation, pads)]
    if rounding != "ceil":
        for i, axis in enumerate(axes):
            check_fits(axis, i, rank, label)
    outcomes = [
        output_axis(Axis(w, k, s, d, pb, pa), i, rank, label, rounding, clip)
        for i, (w, k, s, d, (pb, pa)) in enumerate(zip(spatial, kernel, stride, dilation, pads))
    ]
    return Slide(
        tuple(o.size for o in outcomes),
        pads,
        tuple(o.dropped for o in outcomes),
        tuple(o.clipped for o in outcomes),
    )


def slide_notes(label: str, spatial: tuple[int, ...], slide: Slide, padding: object) -> list:
    """Warnings about a window that works but loses or invents pixels."""
    notes = []
    rank = len(spatial)
    lost = [f"{dropped} of {spatial[i]} along the {axis_name(rank, i)}" for i, dropped in enumerate(slide.dropped) if dropped]
    if lost:
        notes.append(Note(
            "CNN301",
            f"{label}: output rounded down; the last input positions are never covered by a window "
            f"({', '.join(lost)})",
            "adjust padding, stride or input size so that (W - F + 2P)/S + 1 is whole",
        ))
    if padding in SAME_WORDS and any(before != after for before, after in slide.pads):
        pads = ", ".join(f"{b}/{a}" for b, a in slide.pads)
        notes.append(Note(
            "CNN302",
            f"{label}: 'same' padding is asymmetric here (before/after per axis: {pads})",
            "cuDNN pads symmetrically (SAS forceEqualPadding): prefer odd kernels, or inputs divisible by the stride",
        ))
    return notes
