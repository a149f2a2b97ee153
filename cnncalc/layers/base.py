"""What every layer kind provides: the declared protocol (`LayerKind`), the values its stages
exchange (`Inference` with its `Geometry`, `MemoryRule`) and the registry `KINDS`.

A layer kind is a class with a name, a table of keys (`Param`s, cnncalc/layers/values.py), and
`infer`, which maps input shapes to the output shape, the layer's counts and, for windowed kinds,
the resolved geometry. Everything else (reports, memory, the executor, lint, the test oracle) reads
those results through the hooks declared on `LayerKind`; nothing else knows a kind's formulas.
"""

from __future__ import annotations

from collections.abc import Mapping
from cnncalc.records import dataclass
from types import MappingProxyType

from cnncalc.conventions import Convention
from cnncalc.cpu import Cpu
from cnncalc.notes import Note  # noqa: F401  (re-exported: layer kinds attach notes to their inferences)
from cnncalc.rule import Rule
from cnncalc.shapes import Shape
from cnncalc.layers.words import WORD_MODULES
from cnncalc.layers.values import (  # noqa: F401  (re-exported: the kinds import their parsers from here)
    FUNCTIONAL,
    REQUIRED,
    any_case,
    Param,
    MAX_DIM,
    PADDING_WORDS,
    integer,
    integers,
    padding,
    boolean,
    fraction,
    number,
    choice,
    text,
    per_axis,
    need_spatial,
    product_formula,
)

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md

if TYPE_CHECKING:
    from typing import Any, ClassVar

    from cnncalc.layers.code import TorchCode  # the code export's values: imported by `torch_code`, where used
    from fractions import Fraction  # built by the kinds' field_steps only, not on analyze's path
    from cnncalc.forward import ForwardResult, Run, Weights


@dataclass(frozen=True, slots=True)
class Geometry:
    """A windowed layer's settings as shape inference resolved them, one entry per spatial axis.

    Every later stage (memory rules, the numpy forwards, lint's design rules, `fit`, the torch
    oracle) reads these instead of parsing the spec's `kernel`, `stride` or `padding` again.
    """

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    #: (before, after) per axis: the zeros around the input a window slides over; for a transposed
    #: convolution, what is cut from each side of its output.
    pads: tuple[tuple[int, int], ...]
    groups: int = 1
    #: transposed convolutions: added to one side of the output (OP), per axis.
    output_padding: tuple[int, ...] = ()
    #: the padding word the pads were resolved from ('same', 'valid', 'causal', 'auto' under sas,
    #: ...), or None when the spec gave numbers.
    padding_word: str | None = None
    #: pools: whether the output size is rounded up (ceil mode), and the clip rule that may drop a
    #: last window starting in the right padding ("always", or "if_padded" for Caffe).
    ceil: bool = False
    clip: str = "always"

    @property
    def rank(self) -> int:
        return len(self.kernel)

    @property
    def k_eff(self) -> tuple[int, ...]:
        """The dilated window per axis: D(K - 1) + 1."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    @property
    def symmetric(self) -> bool:
        return all(before == after for before, after in self.pads)

    @property
    def ceil_extra(self) -> tuple[int, ...]:
        """Padding a forward adds after each axis so that rounding up has windows to take (numpy
        counts windows rounding down): S - 1 in ceil mode, else 0."""
        return tuple(s - 1 if self.ceil else 0 for s in self.stride)


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
    #: windowed kinds (convolutions, pools): their resolved settings; None for other kinds.
    geometry: Geometry | None = None


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
    #: a product's backward (MulBackward0): each input is kept when another input needs a
    #: gradient (x * gate saves the gate for x's gradient and x for the gate's).
    saves_operands: bool = False
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


@dataclass(frozen=True, slots=True)
class FieldStep:
    """How one spatial axis maps receptive fields (cnncalc/receptive.py): output y reads `taps`
    neighbouring inputs from y * `step` + `offset` on. A window of effective size K', stride S and
    padding P is (K', S, -P); layers that upsample have steps below 1."""

    taps: int
    step: Fraction
    offset: Fraction


class NoFieldRule(ValueError):
    """A kind that resizes its input without declaring how its receptive field does."""


class NoTorchEquivalent(Exception):
    """No plain torch module computes this layer as cnncalc describes it (for a memory measurement:
    none whose memory matches cnncalc's model), e.g. asymmetric padding or Theano's flags."""


class LayerKind:
    """Base of all layer kinds: the protocol every stage calls, each hook declared here with its default.

    A kind sets the class variables and implements `infer`; the hooks after it default to "nothing to
    do" (no weights, no workspace, no forward). Every list elsewhere that depends on kinds (the spec's
    constructs, the schema, the pattern vocabulary, the rule documentation, the test oracle) is
    derived from the registry `KINDS` through these declarations, never kept by hand.
    """

    # -- identity and keys ------------------------------------------------------------------------
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
    #: an example: the YAML value of `- name: ...` ("" = the bare word) and the `input:` it applies to
    #: (the protocol test builds and checks one layer of every kind from them).
    example: ClassVar[str] = ""
    example_input: ClassVar[str] = "8x8x4"

    # -- graph constructs -------------------------------------------------------------------------
    #: merges that are also spec constructs (`- add: [[branch], [branch]]`, cnncalc/blocks.py): what
    #: the merge does to its branches ("element-wise sum"), for the schema; None: not a construct.
    construct: ClassVar[str | None] = None

    # -- the pattern DSL (cnncalc/pattern/vocabulary.py derives its tables from these) --------------
    #: the setting a lone positional argument gives, CONV(64); None: the shorthand key.
    pattern_positional: ClassVar[str | None] = None
    #: the setting a glued size gives (CONV3, POOL2); None: the word takes no size.
    pattern_size: ClassVar[str | None] = None
    #: the setting a "-N" count gives (CONV3-64, FC-4096); None: the word takes no count.
    pattern_count: ClassVar[str | None] = None
    #: settings of the plain word when nothing else gives them (cs231n's 3x3 same convs, 2x2 pools).
    pattern_defaults: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    # -- documentation and lint -------------------------------------------------------------------
    #: the documentation of the codes only this kind raises (`cnncalc rules`, docs/lint.md, SARIF);
    #: codes of the shared window arithmetic are documented in cnncalc/lint/rules/reported.py.
    rules: ClassVar[tuple[Rule, ...]] = ()
    #: the family lint's design rules group kinds by: "conv" (windowed convolutions), "pool"
    #: (windowed pooling), "fc" (fully connected); None: none of them.
    family: ClassVar[str | None] = None

    # -- shape inference and counts ---------------------------------------------------------------

    def infer(self, p: Mapping[str, Any], inputs: tuple[Shape, ...], ctx: Context) -> Inference:
        """Output shape, parameters, MACs and notes of one sample; windowed kinds add their resolved
        `Geometry`. Raises ShapeError (with a code) when the layer does not fit its inputs."""
        raise NotImplementedError

    @property
    def merge(self) -> bool:
        """Reads any number (>= 2) of inputs."""
        return self.arity == 0

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    # -- receptive field --------------------------------------------------------------------------

    def field_steps(self, p: Mapping[str, Any], inputs: tuple[Shape, ...],
                    inference: Inference) -> tuple[FieldStep, ...] | None:
        """Per spatial axis, how this layer maps receptive fields; None: as they are (the default for
        a kind that keeps the spatial size). A kind that resizes must say how."""
        if inference.output.spatial == inputs[0].spatial:
            return None
        raise NoFieldRule(f"{self.name}: no receptive-field rule for {inputs[0]} -> {inference.output}")

    # -- memory -----------------------------------------------------------------------------------

    def memory_rule(self, p: Mapping[str, Any], inputs: tuple[Shape, ...], inference: Inference,
                    ctx: MemoryContext) -> MemoryRule:
        """PyTorch's memory behaviour. The default: a merge (add, concat) saves nothing and passes
        views of its gradient back; any other layer keeps its inputs and makes a new output."""
        if self.arity == 0:
            return MemoryRule(grad_is_view=True)
        return MemoryRule(saves_inputs=ctx.training)

    # -- numpy execution (cnncalc/executor.py; the contract is described in cnncalc/forward.py) ----

    #: the output always shares input 0's memory (a reshape, an identity): nothing is allocated.
    forward_view: ClassVar[bool] = False

    @property
    def executable(self) -> bool:
        """Whether the kind has a numpy `forward` (`cnncalc verify` refuses specs with other kinds)."""
        return type(self).forward is not LayerKind.forward

    def make_weights(self, p: Mapping[str, Any], inputs: tuple[Shape, ...], inference: Inference, rng) -> Weights:
        """Seeded random arrays in the shapes a framework keeps (channels-last, TensorFlow layouts).
        The default: no weights."""
        from cnncalc.forward import NO_WEIGHTS

        return NO_WEIGHTS

    def forward(self, p: Mapping[str, Any], inputs: tuple, run: Run) -> ForwardResult:
        """The inference computation on channels-last arrays (batch, *spatial, channels): the output
        and the MACs its matrix products executed. `run.inference` is this layer's `infer` result."""
        raise NotImplementedError(f"'{self.name}' has no numpy forward")

    def forward_workspace(self, p: Mapping[str, Any], inputs: tuple[Shape, ...], inference: Inference,
                          batch: int) -> int:
        """Elements the forward holds at its peak beyond its inputs and output (im2col matrices,
        padded copies), for the executor's plan. The default: none."""
        return 0

    # -- the torch oracle (tests only: torch is imported inside the implementations) ---------------

    def torch_module(self, p: Mapping[str, Any], inputs: tuple[Shape, ...], inference: Inference,
                     weights: Weights | None = None):
        """The layer as a torch module over NCHW tensors (merges: called with every input).

        Without `weights`: PyTorch's own module, initialised by torch, for measuring memory; raises
        NoTorchEquivalent where its memory would not be what cnncalc's model describes. With the
        executor's `weights`: loaded in PyTorch's layouts, computing exactly what `forward` computes
        (channels-last flattening, explicit asymmetric padding), for comparing values."""
        raise NoTorchEquivalent(f"'{self.name}' declares no torch equivalent")

    # -- code export (cnncalc/exporters/pytorch.py; values only, no torch imported) -----------------

    def torch_code(self, p: Mapping[str, Any], inputs: tuple[Shape, ...], inference: Inference) -> TorchCode:
        """The layer as PyTorch source for `cnncalc export --to pytorch`: what `torch_module` builds
        with the executor's weights, as text (cnncalc/layers/code.py). Raises NoTorchCode where the
        kind or this setting has none; the exporter reports it at the layer, never skips it."""
        from cnncalc.layers.code import NoTorchCode

        raise NoTorchCode(f"'{self.name}' declares no PyTorch code")

    # -- the JSON schema (cnncalc/schema.py assembles it) ---------------------------------------

    def settings_schema(self, word: str, named: bool) -> dict[str, Any]:
        """The mapping of this kind's keys (with `name` when `named`: a layer in `layers:`)."""
        properties = {p.name: p.schema() for p in self.params}
        if named:
            properties["name"] = {"description": "the layer's name in reports and messages",
                                  "type": ["string", "number"]}
        return {
            "type": "object",
            "description": f"settings of '{word}'",
            "properties": properties,
            "additionalProperties": False,
        }

    def schema(self, word: str) -> dict[str, Any]:
        """The value of `- word: ...` in a layer list: nothing, the shorthand's value, or settings."""
        options: list[dict[str, Any]] = [{"type": "null", "description": "no settings: every key takes its default"},
                                         self.settings_schema(word, named=True)]
        if self.shorthand is not None:
            options.insert(1, {**self.param(self.shorthand).schema(),
                               "description": f"shorthand for {{{self.shorthand}: ...}}"})
        return {"description": f"{word}: {self.summary}".rstrip(": "), "anyOf": options}

    def construct_schema(self, ref: str) -> dict[str, Any] | None:
        """A construct's value: its branches (each a layer list, `ref`), or branches and a name."""
        if self.construct is None:
            return None
        branches = {"description": "branches that all read the same input, each a list of layers ([] = the input)",
                    "type": "array", "minItems": 2, "items": {"$ref": ref}}
        name = {"description": "the construct's name in reports", "type": ["string", "number"]}
        return {
            "description": f"{self.name}: {self.construct} of branches",
            "anyOf": [
                branches,
                {"type": "object", "description": "branches and a name",
                 "properties": {"branches": branches, "name": name},
                 "required": ["branches"], "additionalProperties": False},
            ],
        }

    # -- the pattern DSL --------------------------------------------------------------------------

    def pattern_words(self) -> tuple[str, ...]:
        """The words of the pattern DSL for this kind: its name and aliases upper-cased; merges have
        none (they need branches, which a chain cannot express)."""
        return () if self.merge else tuple(w.upper() for w in (self.name, *self.aliases))

    def pattern_implied(self, size: int) -> tuple[tuple[str, Any], ...]:
        """Settings a glued size implies beside `pattern_size` (CONV3 is stride 1, padding 1); an
        explicit argument may change them."""
        return ()


class Registry(Mapping):
    """Word -> kind, aliases included, in registration order. Its words and the module of each are
    known without importing the kinds (`cnncalc/layers/words.py`, generated from the registry itself);
    a kind's module is imported when one of its words is first looked up, so that a run imports the
    kinds its spec uses, not all of them. `in`, `len` and iterating the words import nothing;
    `values()` and `items()` import every kind."""

    def __init__(self, modules: Mapping[str, str]):
        self._modules = modules
        self._kinds: dict[str, LayerKind] = {}

    def add(self, word: str, kind: LayerKind) -> None:
        self._kinds[word] = kind

    def loaded(self, word: str) -> bool:
        """Whether the word's module is imported: if not, no layer of the run is of its kind."""
        return word in self._kinds

    def __getitem__(self, word: str) -> LayerKind:
        kind = self._kinds.get(word)
        if kind is None:
            if word not in self._modules:
                raise KeyError(word)
            __import__(f"cnncalc.layers.{self._modules[word]}")  # registers its kinds
            kind = self._kinds[word]
        return kind

    def get(self, word: str, default=None):
        kind = self._kinds.get(word)  # the common case first: a spec's words are looked up once a layer
        if kind is None:
            return self[word] if word in self._modules else default
        return kind

    def __contains__(self, word) -> bool:
        return word in self._modules or word in self._kinds

    def __iter__(self):
        yield from self._modules
        yield from (word for word in self._kinds if word not in self._modules)

    def __len__(self) -> int:
        return len(self._modules) + sum(word not in self._modules for word in self._kinds)

    def __repr__(self) -> str:
        return f"Registry({len(self)} words, {len(self._kinds)} loaded)"


KINDS: Registry = Registry(WORD_MODULES)


def register(cls: type[LayerKind]) -> type[LayerKind]:
    kind = cls()
    for key in (cls.name, *cls.aliases):
        KINDS.add(key, kind)
    return cls


