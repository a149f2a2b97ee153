"""`cnncalc export --to pytorch`: the analysed spec as one readable, deterministic Python file.

A `nn.Module` whose attributes are the spec's layer names (made identifiers); every use of a block
definition an instance of one class per definition, whose constructor takes the numbers that
differ between the uses (uses that differ in structure, e.g. a stage repeated 3 or 6 times, get a
class each: Stage, Stage_2); a `repeat:` one attribute per layer and a loop over them in
`forward`; residuals and merges plain forward code; side outputs (`output:`) returned as torchvision
returns its auxiliary heads (`Outputs`, a namedtuple, in training mode; the main output alone, or with
the heads that are not training-only, in eval mode). Each layer's code is its kind's
(`LayerKind.torch_code`); the file imports only torch. `load_weights(path)` reads the arrays
`cnncalc verify --save-weights` writes (keyed by layer name, in the executor's channels-last
layouts) through the table of where each goes.
"""

from __future__ import annotations

import re
from cnncalc.records import dataclass, field

from cnncalc.analysis import Analysis
from cnncalc.exporters import loader, tree
from cnncalc.exporters.naming import Names, class_name, identifier
from cnncalc.exporters.outputs import Outputs
from cnncalc.exporters.tree import Block, Chain, Head, Leaf, Merge, Repeat, Residual
from cnncalc.layers.code import REQUIRED, Construct, repr_value, same
from cnncalc.spec import Spec

INDENT = "    "


@dataclass(eq=False)
class Entry:
    """One attribute of a class's `__init__`: a layer's module or a block's instance."""

    attr: str
    leaf: Leaf | None = None
    child: Scope | None = None
    #: where its literals start in the scope's slot vector
    offset: int = 0


@dataclass(eq=False)
class Scope:
    """The top-level module or one block use: its attributes, forward code and literals."""

    path: tuple[str, ...]
    entries: list[Entry] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)
    #: every literal of the constructors, depth first (a child's own vector inlined)
    values: list = field(default_factory=list)
    #: per literal: (attribute, argument name), the argument name a class parameter is named after
    names: list[tuple[str, str]] = field(default_factory=list)
    #: per literal: its keyword's default (REQUIRED: always written)
    defaults: list = field(default_factory=list)
    variant: Variant | None = None


@dataclass(eq=False)
class Variant:
    """A class: the uses of one block definition that share a structure."""

    class_name: str
    definition: str
    uses: list[Scope] = field(default_factory=list)
    #: (parameter name, the literal positions it gives), in order
    params: list[tuple[str, list[int]]] = field(default_factory=list)
    #: literal position -> parameter name
    given: dict[int, str] = field(default_factory=dict)
    #: literal positions at their keyword's default in every use: left out
    dropped: frozenset[int] = frozenset()

    def settle(self) -> None:
        """Literals that differ between the uses become parameters, one per distinct column of values."""
        columns: dict[tuple, list[int]] = {}
        first = self.uses[0]
        self.dropped = frozenset(i for i in range(len(first.values))
                                 if all(same(use.values[i], use.defaults[i]) for use in self.uses))
        for i in range(len(first.values)):
            column = tuple(_key(use.values[i]) for use in self.uses)
            if len(set(column)) > 1:
                columns.setdefault(column, []).append(i)
        names = Names({"self", "x"})
        for positions in columns.values():
            attr, arg = first.names[positions[0]]
            wanted = arg if arg not in names.taken else f"{attr}_{arg}"
            name = names.claim(identifier(wanted))
            self.params.append((name, positions))
            self.given.update((i, name) for i in positions)


def _key(value):
    """Equality that tells 1 from 1.0 and True (the literals are written as they are)."""
    return (type(value).__name__, value)


class Exporter:
    def __init__(self, spec: Spec, analysis: Analysis):
        self.spec, self.analysis = spec, analysis
        self.variants: dict[tuple, Variant] = {}
        self.class_names = Names()

    # -- building scopes --------------------------------------------------------------------------

    def scope(self, chain: Chain, path: tuple[str, ...], outputs: Outputs | None = None) -> Scope:
        scope = Scope(path)
        attrs = Names({"x"})
        refs: dict[int, str] = {}
        self._collect(chain, scope, attrs, refs)
        scope.forward = Forward(refs, outputs).body(chain)
        return scope

    def _collect(self, chain: Chain, scope: Scope, attrs: Names, refs: dict[int, str]) -> None:
        for part in chain.parts:
            if isinstance(part, Leaf):
                if part.code.module is not None:
                    relative = part.name.split("/")[len(scope.path):]
                    entry = Entry(attrs.claim(identifier("_".join(relative))), leaf=part, offset=len(scope.values))
                    self._add(scope, entry, part.code.module.slots(), part.code.module.defaults())
                    refs[id(part)] = f"self.{entry.attr}"
            elif isinstance(part, Block):
                child = self.block(part)
                entry = Entry(attrs.claim(identifier("_".join(part.path[len(scope.path):]))), child=child,
                              offset=len(scope.values))
                self._add(scope, entry, tuple((name, v) for name, v in zip(child.names, child.values)),
                          (REQUIRED,) * len(child.values))
                refs[id(part)] = f"self.{entry.attr}"
            elif isinstance(part, Residual):
                self._collect(part.body, scope, attrs, refs)
                self._collect(part.shortcut, scope, attrs, refs)
            elif isinstance(part, Merge):
                for branch in part.branches:
                    self._collect(branch, scope, attrs, refs)
            elif isinstance(part, Repeat):
                for iteration in part.iterations:
                    self._collect(iteration, scope, attrs, refs)
            elif isinstance(part, Head):
                self._collect(part.body, scope, attrs, refs)

    @staticmethod
    def _add(scope: Scope, entry: Entry, slots, defaults) -> None:
        scope.entries.append(entry)
        scope.defaults.extend(defaults)
        for name, value in slots:
            # a child's literal is named after the child's own parameter (or its argument)
            scope.names.append(name if isinstance(name, tuple) else (entry.attr, name))
            scope.values.append(value)

    def block(self, block: Block) -> Scope:
        scope = self.scope(block.body, block.path)
        signature = (block.definition, tuple(_shape_of(e) for e in scope.entries), tuple(scope.forward))
        variant = self.variants.get(signature)
        if variant is None:
            variant = Variant(self.class_names.claim(class_name(block.definition, "Block")), block.definition)
            self.variants[signature] = variant
        variant.uses.append(scope)
        scope.variant = variant
        return scope

    # -- writing ----------------------------------------------------------------------------------

    def source(self) -> str:
        chain = tree.build(self.spec, self.analysis)
        helpers = dict.fromkeys(h for leaf in tree.leaves(chain) for h in leaf.code.helpers)
        # a block class must not take the name of a helper class the file defines
        self.class_names.taken.update(re.findall(r"^class (\w+)", "\n".join(helpers), flags=re.MULTILINE))
        outputs = Outputs.of(self.analysis, self.class_names)
        top = self.scope(chain, (), outputs)
        for variant in self.variants.values():  # children first: a class is registered before its users
            variant.settle()
        name = self.class_names.claim(class_name(self.spec.name))
        classes = [_class(v) for v in self.variants.values()]
        layers, weights = _tables(top)
        shape = self.analysis.graph.input
        parts = [_header(self.spec, self.analysis, outputs is not None), loader.SOURCE, *helpers, *classes,
                 *([outputs.definition()] if outputs else []), _top_class(name, top, (shape.channels, *shape.spatial)),
                 _layers_table(layers), _weights_table(weights)]
        return "\n\n\n".join(p.strip("\n") for p in parts) + "\n"


def _shape_of(entry: Entry):
    if entry.leaf is not None:
        return entry.attr, entry.leaf.code.module.template()
    return entry.attr, id(entry.child.variant)


# -- forward code ---------------------------------------------------------------------------------


class Forward:
    """The forward code of one scope: `x` threads through a chain; a residual keeps its input in
    `identity`, each branch of a merge has its own variable; a repeat loops over its layers; a side
    output's head keeps its result in a variable of its own (under `if self.training:` when the head is
    training-only) until the scope returns the outputs."""

    def __init__(self, refs: dict[int, str], outputs: Outputs | None = None):
        self.refs = refs
        # the names forward code reads besides its own variables: a head must not shadow them
        self.live: set[str] = {"x", "self", "torch", "nn"}
        self.outputs = outputs
        if outputs is not None:
            self.live.update(n for n in (outputs.every, outputs.inference) if n)
        #: the side outputs' variables by the outputs' graph names
        self.heads: dict[str, str] = {}
        #: inside `if self.training:` (a training-only head's code)
        self.guarded = False

    def body(self, chain: Chain) -> list[str]:
        lines: list[str] = []
        out = self.chain(chain, "x", "x", lines, "")
        if self.outputs is None:
            return lines + [f"return {out}"]
        return lines + self.outputs.returns({self.outputs.fields[0][0]: out, **self.heads})

    def _fresh(self, wanted: str) -> str:
        name, n = wanted, 1
        while name in self.live:
            n += 1
            name = f"{wanted}_{n}"
        self.live.add(name)
        return name

    def chain(self, chain: Chain, given: str, out: str, lines: list[str], pad: str) -> str:
        """Append the lines computing `chain` from variable `given` into `out`; the variable holding
        the result (`given` itself for an empty chain)."""
        current = given
        for part in chain.parts:
            if isinstance(part, Leaf):
                lines.append(f"{pad}{out} = {self.call(part, (current,))}")
            elif isinstance(part, Block):
                lines.append(f"{pad}{out} = {self.refs[id(part)]}({current})")
            elif isinstance(part, Residual):
                self.residual(part, current, out, lines, pad)
            elif isinstance(part, Merge):
                self.merge(part, current, out, lines, pad)
            elif isinstance(part, Repeat):
                self.repeat(part, current, out, lines, pad)
            elif isinstance(part, Head):
                self.head(part, current, lines, pad)
                continue  # the main path goes on from the tensor the head read
            current = out
        return current

    def head(self, part: Head, current: str, lines: list[str], pad: str) -> None:
        guard = part.training_only and not self.guarded
        if guard:  # as torchvision's `if self.AuxLogits is not None and self.training`
            lines.append(f"{pad}if self.training:")
            pad += INDENT
            self.guarded = True
        variable = self._fresh(identifier(part.name.rsplit("/", 1)[-1]))
        end = self.chain(part.body, current, variable, lines, pad)
        if end != variable:  # an empty head: the tensor it read
            lines.append(f"{pad}{variable} = {end}")
        self.heads[part.name] = variable
        if guard:
            self.guarded = False

    def call(self, leaf: Leaf, inputs: tuple[str, ...]) -> str:
        return leaf.code.call.format(module=self.refs.get(id(leaf), ""), x=inputs[0], inputs=", ".join(inputs),
                                     sum=" + ".join(inputs), **{f"x{i}": name for i, name in enumerate(inputs)})

    def residual(self, part: Residual, current: str, out: str, lines: list[str], pad: str) -> None:
        kept = self._fresh("identity")
        lines.append(f"{pad}{kept} = {current}")
        body = self.chain(part.body, current, out, lines, pad)
        shortcut = self.chain(part.shortcut, kept, kept, lines, pad)
        lines.append(f"{pad}{out} = {self.call(part.add, (body, shortcut))}")
        self.live.discard(kept)

    def merge(self, part: Merge, current: str, out: str, lines: list[str], pad: str) -> None:
        if part.split:
            return self.split(part, current, out, lines, pad)
        names = [self._fresh(f"branch{i}") if branch.parts else current for i, branch in enumerate(part.branches, 1)]
        ends = [self.chain(branch, current, name, lines, pad) for branch, name in zip(part.branches, names)]
        lines.append(f"{pad}{out} = {self.call(part.merge, tuple(ends))}")
        self.live.difference_update(n for n in names if n != current)

    def split(self, part: Merge, current: str, out: str, lines: list[str], pad: str) -> None:
        """The channel groups in one call, as torchvision's ShuffleNetV2 takes them (`x.chunk(2, dim=1)`):
        one ONNX Split, which `cnncalc import` reads back as the split (slices `x[:, a:b]` export as
        Slices whose bounds are computed), then each branch from its group."""
        sizes = [branch.parts[0].result.output.channels for branch in part.branches]
        names = [self._fresh(f"branch{i}") for i in range(1, len(sizes) + 1)]
        taken = f"{current}.chunk({len(sizes)}, dim=1)" if len(set(sizes)) == 1 else \
            f"torch.split({current}, {list(sizes)}, dim=1)"
        lines.append(f"{pad}{', '.join(names)}{',' if len(names) == 1 else ''} = {taken}")
        ends = [self.chain(Chain(branch.parts[1:]), name, name, lines, pad)
                for branch, name in zip(part.branches, names)]
        lines.append(f"{pad}{out} = {self.call(part.merge, tuple(ends))}")
        self.live.difference_update(names)

    def repeat(self, part: Repeat, current: str, out: str, lines: list[str], pad: str) -> None:
        """A loop over the iterations' modules when there are several; the layers written out when
        there is one, or when an iteration holds a repeat of its own."""
        columns = [tree.module_parts(iteration) for iteration in part.iterations]
        if len(part.iterations) < 2 or not columns[0] or any(tree.written_out(i) for i in part.iterations) \
                or len({tuple(_call_of(p) for p in column) for column in columns}) > 1:
            for iteration in part.iterations:
                current = self.chain(iteration, current, out, lines, pad)
            return
        if current != out:
            lines.append(f"{pad}{out} = {current}")
        variables = [self._fresh(_loop_name(self.refs[id(p)])) for p in columns[0]]
        rows = [", ".join(self.refs[id(p)] for p in column) for column in columns]
        head = ", ".join(variables)
        if len(variables) == 1:
            lines.append(f"{pad}for {head} in (")
            lines.extend(f"{pad}{INDENT}{row}," for row in rows)
        else:
            lines.append(f"{pad}for {head} in (")
            lines.extend(f"{pad}{INDENT}({row})," for row in rows)
        lines.append(f"{pad}):")
        saved = dict(self.refs)
        self.refs.update((id(p), v) for p, v in zip(columns[0], variables))
        self.chain(part.iterations[0], out, out, lines, pad + INDENT)
        self.refs = saved
        self.live.difference_update(variables)


def _call_of(part) -> str:
    """How a module is applied: what a loop needs to be the same in every iteration."""
    return part.code.call if isinstance(part, Leaf) else "{module}({x})"


def _loop_name(ref: str) -> str:
    """self.conv1 -> conv, self.fc_2 -> fc: the loop variable of a repeated attribute."""
    return re.sub(r"_?\d+$", "", ref.removeprefix("self.")).strip("_") or "layer"


# -- the classes ------------------------------------------------------------------------------------


def _init_lines(scope: Scope, value, dropped) -> list[str]:
    """`self.attr = ...` for every entry; `value(i)` writes the scope's literal i, the keywords of
    the literals in `dropped` (at their default) left out."""
    lines = []
    for entry in scope.entries:
        if entry.leaf is not None:
            construct: Construct = entry.leaf.code.module
            count = len(construct.slots())
            left_out = frozenset(i for i in range(count) if entry.offset + i in dropped)
            text = construct.template(left_out).format(
                *(value(entry.offset + i) for i in range(count) if i not in left_out))
        else:
            variant = entry.child.variant
            args = [f"{name}={value(entry.offset + positions[0])}" for name, positions in variant.params]
            text = f"{variant.class_name}({', '.join(args)})"
            if len(text) + len(entry.attr) + 16 > 110:  # one argument a line
                text = f"{variant.class_name}(" + "".join(f"\n{INDENT}{a}," for a in args) + "\n)"
        lines.append(f"self.{entry.attr} = {text}")
    return lines


def _method(signature: str, body: list[str], doc: str = "") -> str:
    lines = [f"{INDENT}def {_wrapped(signature)}:"]
    if doc:
        lines.append(f'{INDENT * 2}"""{doc}"""')
    lines += [f"{INDENT * 2}{line}" if line else "" for text in body for line in text.split("\n")]
    return "\n".join(lines)


def _wrapped(signature: str, width: int = 100) -> str:
    """A long parameter list one parameter a line."""
    if len(signature) + len(INDENT) + 5 <= width:
        return signature
    name, params = signature.split("(", 1)
    inner = "".join(f"\n{INDENT * 2}{p.strip()}," for p in params.removesuffix(")").split(","))
    return f"{name}({inner}\n{INDENT})"


def _class(variant: Variant) -> str:
    first = variant.uses[0]
    params = "".join(f", {name}" for name, _ in variant.params)

    def value(i: int) -> str:
        return variant.given.get(i) or repr_value(first.values[i])

    uses = len(variant.uses)
    doc = f"Block `{variant.definition}` of the spec ({uses} use{'s' if uses > 1 else ''})."
    init = _method(f"__init__(self{params})", ["super().__init__()", *_init_lines(first, value, variant.dropped)])
    forward = _method("forward(self, x)", first.forward)
    return f'class {variant.class_name}(nn.Module):\n{INDENT}"""{doc}"""\n\n{init}\n\n{forward}\n'


def _top_class(name: str, top: Scope, input_shape: tuple[int, ...]) -> str:
    dropped = frozenset(i for i, (v, d) in enumerate(zip(top.values, top.defaults)) if same(v, d))
    init = _method("__init__(self)", ["super().__init__()",
                                      *_init_lines(top, lambda i: repr_value(top.values[i]), dropped)])
    forward = _method("forward(self, x)", top.forward)
    load = _method("load_weights(self, path)", ["load_weights(self, path, WEIGHTS)", "return self"],
                   "Load what `cnncalc verify --save-weights` wrote: an .npz (or a mapping) of arrays by layer name.")
    return (f'class {name}(nn.Module):\n{INDENT}"""The spec\'s network over NCHW tensors."""\n\n'
            f"{INDENT}#: one sample's shape, as PyTorch orders it (C, *spatial)\n"
            f"{INDENT}input_shape = {repr_value(input_shape)}\n\n{init}\n\n{forward}\n\n{load}\n")


# -- the tables -------------------------------------------------------------------------------------


def _tables(top: Scope) -> tuple[list[tuple[str, str]], list[tuple]]:
    """(cnncalc layer name, module path) per layer with a module, and the weight table's rows."""
    layers: list[tuple[str, str]] = []
    weights: list[tuple] = []

    def walk(scope: Scope, prefix: str) -> None:
        for entry in scope.entries:
            path = prefix + entry.attr
            if entry.child is not None:
                walk(entry.child, path + ".")
                continue
            leaf = entry.leaf
            layers.append((leaf.name, path))
            for load in leaf.code.weights:
                weights.append((f"{path}.{load.target}", f"{leaf.name}/{load.source}", load.order, load.rows))

    walk(top, "")
    return layers, weights


def _layers_table(layers) -> str:
    rows = "".join(f"\n{INDENT}{name!r}: {path!r}," for name, path in layers)
    return ("#: cnncalc's layer name -> the module that computes it (layers with no module are forward code)\n"
            f"LAYERS = {{{rows}\n}}\n")


def _weights_table(weights) -> str:
    rows = "".join(f"\n{INDENT}({target!r}, {source!r}, {repr_value(order)}, {repr_value(rows)}),"
                   for target, source, order, rows in weights)
    return ("#: (tensor, array in the weights file, axis order, channels-last dims its rows flatten) per tensor\n"
            f"WEIGHTS = ({rows}\n)\n")


def _header(spec: Spec, analysis: Analysis, side_outputs: bool = False) -> str:
    shape = analysis.graph.input
    nchw = "N x " + " x ".join(str(d) for d in (shape.channels, *shape.spatial))
    extra = "; collections, for the outputs' namedtuple" if side_outputs else ""
    doc = (f'"""{spec.name}: written by `cnncalc export --to pytorch`.\n\n'
           f"Input: {nchw} (cnncalc's {shape} is channels-last; PyTorch's tensors are channels-first).\n"
           f"Convention: {analysis.convention.name}. Imports only torch (and, for load_weights, the standard "
           f"library's ast and zipfile{extra}).\n"
           '"""\n')
    imports = loader.IMPORTS + ("from collections import namedtuple\n" if side_outputs else "")
    return f"{doc}\n{imports}\nimport torch\nfrom torch import nn\n"


def export(spec: Spec, analysis: Analysis) -> str:
    """The Python source of the spec's network as a torch `nn.Module`."""
    return Exporter(spec, analysis).source()
