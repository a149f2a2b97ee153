"""What every layer kind provides, and the parsers for the values its keys accept.

A layer kind is a class with a name, a table of keys (`Param`s), and `infer`, which maps input
shapes to the output shape and the layer's counts. Everything else (reports, memory, the
executor) reads those results; nothing else knows a kind's formulas.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from cnncalc.conventions import Convention
from cnncalc.cpu import Cpu
from cnncalc.errors import ShapeError, SpecError
from cnncalc.notes import Note  # noqa: F401  (re-exported: layer kinds attach notes to their inferences)
from cnncalc.shapes import Shape
from cnncalc.yamlsource import YNode

REQUIRED = object()


def any_case(words) -> str:
    """A JSON Schema pattern matching these words in any letter case (no inline flags: editors use
    JavaScript regexes), for the `schema` each value parser carries (see cnncalc/schema.py)."""
    def letters(word: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)

    return "^(" + "|".join(letters(w) for w in words) + ")$"


@dataclass(frozen=True, slots=True)
class Param:
    """One key a layer accepts: its parser, its default (or REQUIRED) and a line of documentation."""

    name: str
    parse: Callable[[YNode], Any]
    default: Any = REQUIRED
    doc: str = ""


@dataclass(frozen=True, slots=True)
class Inference:
    """What a layer does to one sample: output shape, parameters, multiply-accumulates."""

    output: Shape
    params: int = 0
    params_formula: str = ""
    #: non-trainable state, e.g. batch norm running mean and variance.
    buffers: int = 0
    #: multiply-accumulates, bias excluded (the convention of torchvision's GFLOPS).
    macs: int = 0
    #: the extra additions of a bias, one per biased output (added with --count-bias).
    bias_macs: int = 0
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class Context:
    convention: Convention
    #: "conv1 (conv)": how error messages name the layer.
    label: str
    #: names of the nodes this layer reads, in order (merges name them in shape errors).
    input_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MemoryContext:
    """What a layer's memory rule needs beyond its shapes: one batch, element sizes, the mode."""

    batch: int
    #: bytes per activation element (the autocast dtype under --amp)
    act_bytes: int
    #: bytes per parameter element (fp32 master weights under --amp)
    param_bytes: int
    #: forward for training (autograd records) or inference (eval + no_grad)
    training: bool = True
    device: str = "cpu"
    amp: bool = False
    #: the CPU whose kernels' transients the rules describe (cnncalc/cpu.py)
    cpu: Cpu = Cpu()

    def activation(self, shape: Shape) -> int:
        """Bytes of one activation tensor of this shape for the whole batch."""
        return self.batch * shape.numel * self.act_bytes


@dataclass(frozen=True, slots=True)
class MemoryRule:
    """What one layer does to memory in PyTorch eager, in bytes for the context's batch.

    The liveness simulation (cnncalc/liveness.py) reads only these fields, so a layer kind's
    memory behaviour is declared once, next to its shape rule.
    """

    #: the output shares input 0's storage: a view (flatten) or an in-place op (relu inplace).
    aliases_input: bool = False
    #: autograd keeps the input storages for backward (conv, linear, batch norm, pooling).
    saves_inputs: bool = False
    #: autograd keeps the output storage (relu, sigmoid, tanh, softmax).
    saves_output: bool = False
    #: new tensors that exist only for backward: max-pool indices, dropout noise, BN statistics.
    extra_saved: int = 0
    #: extra_saved as the separate tensors it is, when more than one (the CUDA allocator rounds
    #: each); () = one tensor
    extra_saved_tensors: tuple[int, ...] = ()
    #: transient bytes while the forward runs (kernel scratch), freed when the op returns.
    forward_scratch: int = 0
    #: the forward's transient bytes in training when autograd records nothing for the op (no
    #: input or parameter needs a gradient), so what it would save dies at once; None = as above
    unrecorded_scratch: int | None = None
    #: transient bytes while the backward runs, on top of the gradients it produces.
    backward_scratch: int = 0
    #: the same when the input needs no gradient (a network's first layer): only parameter
    #: gradients are computed; None = as `backward_scratch`
    param_backward_scratch: int | None = None
    #: saved only when an input needs a gradient (linear keeps its weight for the input's gradient;
    #: under autocast that weight is a half-precision copy, not the parameter)
    saved_with_input_grad: int = 0
    #: under autocast the op runs in half precision, casting a float32 input (conv, linear).
    casts_input: bool = False
    #: under autocast the op computes (and returns) float32 whatever its input (LRN's pow and
    #: avg_pool3d; softmax on CUDA). Ops with neither flag keep their input's dtype.
    output_float32: bool = False
    #: the input gradients are the output gradient itself or views of it (flatten, add, cat).
    grad_is_view: bool = False
    #: element counts of the trainable parameter tensors, as PyTorch holds them (weight, bias).
    param_tensors: tuple[int, ...] = ()
    #: bytes of the non-trainable buffers (BN running statistics and its int64 batch counter).
    buffer_bytes: int = 0
    #: an estimate of the cuDNN workspace on a GPU (kept apart from the exact figures).
    cudnn_workspace: int = 0


class LayerKind:
    """Base of all layer kinds. Subclasses set the class variables and implement `infer`."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    params: ClassVar[tuple[Param, ...]] = ()
    #: the key a scalar value sets, e.g. `fc: 84` means `fc: {units: 84}`.
    shorthand: ClassVar[str | None] = None
    #: works in place in the textbook memory model (activation functions, dropout).
    inplace: ClassVar[bool] = False
    #: how many inputs the layer reads (0 = any number >= 2, for merges).
    arity: ClassVar[int] = 1
    summary: ClassVar[str] = ""

    def memory_rule(self, p: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape,
                    ctx: MemoryContext) -> MemoryRule:
        """PyTorch's memory behaviour. The default: a merge (add, concat) saves nothing and passes
        views of its gradient back; any other layer keeps its inputs and makes a new output."""
        if self.arity == 0:
            return MemoryRule(grad_is_view=True)
        return MemoryRule(saves_inputs=ctx.training)

    def infer(self, p: Mapping[str, Any], inputs: tuple[Shape, ...], ctx: Context) -> Inference:
        raise NotImplementedError

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


# ---------------------------------------------------------------------------------------------
# value parsers: each takes the YAML node and returns a Python value or raises at its location


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 2**63)


MAX_DIM = 10**7


def integer(minimum: int = 1, maximum: int = MAX_DIM) -> Callable[[YNode], int]:
    def parse(node: YNode) -> int:
        if not _is_int(node.value):
            raise SpecError(f"expected a whole number, got {node.text or type(node.value).__name__!r}", node.loc,
                            hint=f"write a whole number of at least {minimum}")
        value = int(node.value)
        if value < minimum:
            word = "positive" if minimum == 1 else f"at least {minimum}"
            raise SpecError(f"{value} is not allowed here: the value must be {word}", node.loc,
                            hint=f"use a whole number of at least {minimum}")
        if value > maximum:
            raise SpecError(f"{value:,} is larger than cnncalc's limit of {maximum:,}", node.loc,
                            hint="use a realistic size", code="CNN003")
        return value

    parse.schema = {"type": "integer", "minimum": minimum, "maximum": maximum}
    return parse


def integers(minimum: int = 1, lengths: tuple[int, ...] = (1, 2, 3)) -> Callable[[YNode], int | tuple[int, ...]]:
    """A whole number, or a list of them (one per spatial axis)."""
    one = integer(minimum)

    def parse(node: YNode) -> int | tuple[int, ...]:
        if node.is_sequence:
            if len(node.value) not in lengths:
                allowed = " or ".join(str(n) for n in lengths)
                raise SpecError(f"expected a list of {allowed} numbers, got {len(node.value)}", node.loc)
            return tuple(one(item) for item in node.value)
        return one(node)

    parse.schema = {
        "anyOf": [one.schema, {"type": "array", "items": one.schema, "minItems": min(lengths), "maxItems": max(lengths)}]
    }
    return parse


#: the padding words the spec format knows; each convention accepts a subset (conventions.py).
PADDING_WORDS = ("same", "valid", "same_upper", "same_lower", "causal")


def padding(node: YNode) -> int | str | tuple[int, ...]:
    """An int, [h, w], [top, bottom, left, right] (any rank: per-axis or before/after pairs), 'same', 'valid'."""
    if isinstance(node.value, str):
        word = node.value.lower()
        if word in PADDING_WORDS:
            return word
        raise SpecError(f"unknown padding {node.value!r}", node.loc,
                        hint="use a number, a list, or one of " + ", ".join(f"'{w}'" for w in PADDING_WORDS))
    return _padding_numbers(node)


_padding_numbers = integers(0, (1, 2, 3, 4, 6))
padding.schema = {
    "anyOf": [
        *_padding_numbers.schema["anyOf"],
        {"type": "string", "pattern": any_case(PADDING_WORDS)},
    ]
}


def boolean(node: YNode) -> bool:
    if isinstance(node.value, bool):
        return node.value
    raise SpecError(f"expected true or false, got {node.text!r}", node.loc, hint="write true or false")


boolean.schema = {"type": "boolean"}


def fraction(node: YNode) -> float:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise SpecError(f"expected a number in [0, 1), got {node.text!r}", node.loc, hint="e.g. 0.5")
    return float(value)


fraction.schema = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}


def number(minimum: float = 0.0) -> Callable[[YNode], float]:
    def parse(node: YNode) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= minimum:
            raise SpecError(f"expected a number of at least {minimum}, got {node.text!r}", node.loc)
        return float(value)

    parse.schema = {"type": "number", "minimum": minimum}
    return parse


def choice(*options: str) -> Callable[[YNode], str]:
    def parse(node: YNode) -> str:
        value = node.text if node.is_scalar else None
        if isinstance(value, str) and value.lower() in options:
            return value.lower()
        raise SpecError(f"expected one of {', '.join(options)}; got {node.text or 'a collection'!r}", node.loc,
                        hint=f"use {' or '.join(options)}")

    parse.schema = {"type": "string", "pattern": any_case(options)}
    return parse


def text(node: YNode) -> str:
    if not node.is_scalar or node.value is None or node.text == "":
        raise SpecError("expected a name", node.loc)
    return node.text


text.schema = {"type": ["string", "number"]}


def per_axis(value: int | tuple[int, ...], rank: int, key: str, label: str) -> tuple[int, ...]:
    """Broadcast an int to every spatial axis, or check that a list has one entry per axis."""
    if isinstance(value, int):
        return (value,) * rank
    if len(value) == rank:
        return tuple(value)
    if len(value) == 1:
        return (value[0],) * rank
    raise ShapeError(f"{label}: `{key}` has {len(value)} values but the input has {rank} spatial axes",
                     hint=f"give one value or {rank}", code="CNN206")


def need_spatial(shape: Shape, label: str) -> None:
    if shape.is_vector:
        raise ShapeError(f"{label}: needs a feature map but its input is a vector of {shape.channels}",
                         hint="move this layer before the first fc/flatten", code="CNN206")


def product_formula(factors: tuple[int, ...]) -> str:
    return "*".join(str(f) for f in factors)


KINDS: dict[str, LayerKind] = {}


def register(cls: type[LayerKind]) -> type[LayerKind]:
    kind = cls()
    for key in (cls.name, *cls.aliases):
        KINDS[key] = kind
    return cls


