"""The spec's graph constructs: `residual`, `concat` and `add` of branches, and reusable
parameterised blocks (`blocks:` at the top of a spec).

A block is expanded where it is used: its `layers:` are copied with every `$param` replaced by
the use's argument (or an integer expression of arguments such as `4 * $width`), then parsed
like any other layers. Expansions with the same arguments are shared, so a block used a
thousand times is parsed once.

A block whose layers (or parameter defaults) read `$in.channels`, `$in.height`, `$in.width` ... (the
shape of the tensor entering the use; the fields and the helpers `max`, `min`, `make_divisible` are
in cnncalc/block_expressions.py) cannot be expanded while the spec is read: shapes do not exist yet.
Its uses stay unexpanded in the spec, as `InputUse`s, and the graph builder expands each when it
reaches it, asking shape inference for the shape of the tensor the use reads (incremental
propagation over the nodes built so far). Those expansions are shared too, per arguments and input
shape; every value keeps its place in the block's text, so errors point there. Blocks that do not
read `$in` are expanded as before, while the spec is read.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from cnncalc.records import dataclass, field

from cnncalc import block_expressions
from cnncalc.errors import LimitError, Location, SpecError
from cnncalc.layers import CONSTRUCTS as CONSTRUCT_MERGES
from cnncalc.limits import MAX_EXPANSIONS
from cnncalc.shapes import Shape
from cnncalc.yamlsource import YNode, make_node

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md
if TYPE_CHECKING:
    from typing import Any

#: merge words that are also constructs, `- concat: [[...], [...]]`: derived from the kind registry
#: (its table of words: the merges' modules are imported when a spec uses one).
MERGES = CONSTRUCT_MERGES
#: the construct of a side branch that ends in a named output (an auxiliary head), the main path going on
#: from where it branched (`- output: {name: aux, training_only: true, layers: [...]}`).
OUTPUT = "output"
#: the name of the network's own output among its outputs; a side output cannot take it.
MAIN_OUTPUT = "main"
#: words that introduce a construct rather than a layer or a block.
CONSTRUCTS = ("repeat", "residual", *MERGES, "split", OUTPUT)
#: how a split's branches are merged
SPLIT_MERGES = ("concat", "add")
MAX_EXPRESSION = block_expressions.MAX_EXPRESSION


@dataclass(frozen=True, slots=True)
class ResidualSpec:
    """output = body(x) + shortcut(x); an empty shortcut is the identity."""

    body: tuple
    shortcut: tuple
    name: str | None
    loc: Location


@dataclass(frozen=True, slots=True)
class MergeSpec:
    """Branches that all read the same input, merged by `concat` (channels) or `add`."""

    kind: str
    branches: tuple[tuple, ...]
    name: str | None
    loc: Location


@dataclass(frozen=True, slots=True)
class SplitSpec:
    """The input's channels split into groups (equal ones, or `sections`), group i feeding branch i
    (ShuffleNetV2's `x.chunk(2, dim=1)`); the branches' outputs merged by `merge` (concat or add)."""

    branches: tuple[tuple, ...]
    #: the channels of each group; None: equal groups, one per branch
    sections: tuple[int, ...] | None
    merge: str
    name: str | None
    loc: Location

    def slice_params(self, index: int) -> dict:
        """The settings of the `channel_slice` that feeds branch `index`."""
        return {"index": index, "groups": len(self.branches), "sections": self.sections}


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """A side branch that reads the current tensor and ends in the named output `name`; the layers after
    it read the same tensor as the branch did. `training_only` heads (Inception-v3's AuxLogits) run in
    training and are left out of inference, as a PyTorch model in eval mode skips them."""

    body: tuple
    name: str
    training_only: bool
    loc: Location


@dataclass(frozen=True, slots=True)
class BlockUse:
    """One use of a named block: its expanded layers, in a scope named after the use."""

    block: str
    body: tuple
    name: str | None
    loc: Location
    #: the PyTorch stage (an nn.Sequential such as torchvision's `features[2]`) this use runs in: its caller
    #: holds the stage's input until the stage's last layer has run (docs/memory.md, "Stages")
    stage: str | None = None


@dataclass(frozen=True, slots=True)
class BlockDef:
    name: str
    #: parameter name -> default node (None when the use must give it), in declared order.
    params: dict[str, YNode | None]
    layers: YNode
    loc: Location


@dataclass(frozen=True, slots=True)
class InputUse:
    """A use of a block that reads `$in` (the shape of its input): kept unexpanded in the spec, because
    that shape is known only once the layers before it are. The graph builder expands it when it reaches
    it: it infers the input's shape, then calls `expand(self, shape, enclosing)` (`expand_input_use` bound to
    the spec builder that read the use), which substitutes the arguments and the shape and parses the
    block's layers (memoised per arguments and input shape); `enclosing` names the block uses around it,
    to refuse one that uses itself."""

    block: str
    #: the use's arguments, defaults filled in (a default may read `$in` too)
    args: dict[str, YNode]
    name: str | None
    loc: Location
    #: how deep the use nests (block uses and constructs around it), carried on to its layers
    depth: int
    expand: Callable[..., tuple] = field(compare=False, repr=False)
    #: as BlockUse.stage
    stage: str | None = None


# ---------------------------------------------------------------------------------------------
# block definitions


def _param_list(node: YNode, block: str) -> dict[str, YNode | None]:
    """`params: [width, stride: 1]`: a bare name is required, a one-key mapping has a default."""
    if node.value is None:
        return {}
    if not node.is_sequence:
        raise SpecError(f"the params of block '{block}' must be a list", node.loc,
                        hint="write params: [width, stride: 1] (a bare name is required, name: value a default)")
    params: dict[str, YNode | None] = {}
    for item in node.value:
        if item.is_mapping and len(item.value) == 1:
            ((name, default),) = item.value.items()
        elif item.is_scalar and isinstance(item.value, str):
            name, default = item.value, None
        else:
            raise SpecError(f"a block parameter is a name or `name: default`, not {item.text or 'this'!r}", item.loc,
                            hint="write params: [width, stride: 1]")
        # [A-Za-z_][A-Za-z0-9_]* without compiling a pattern: an ASCII identifier is exactly that
        if not (name.isascii() and name.isidentifier()) or name == "name":
            raise SpecError(f"'{name}' cannot be a block parameter", item.loc,
                            hint="use letters, digits and _; 'name' is reserved for the use's name", code="CNN220")
        if name in params:
            raise SpecError(f"block '{block}' declares the parameter '{name}' twice", item.loc, code="CNN220")
        params[name] = default
    return params


def parse_blocks(node: YNode | None, layer_kinds) -> dict[str, BlockDef]:
    if node is None or node.value is None:
        return {}
    if not node.is_mapping:
        raise SpecError("blocks must be a mapping of block names to {params, layers}", node.loc)
    return {name: block_def(name, body, node.key_locs[name], layer_kinds) for name, body in node.value.items()}


def block_def(name: str, body: YNode, loc: Location, layer_kinds) -> BlockDef:
    """The block `name: body` of a `blocks:` mapping (`loc`: its name's position), checked."""
    if name.lower() in layer_kinds or name in CONSTRUCTS:
        raise SpecError(f"the block name '{name}' is already a layer type or construct", loc,
                        hint="choose another name, e.g. my_" + name, code="CNN223")
    if not body.is_mapping:
        raise SpecError(f"block '{name}' must be a mapping with `params:` and `layers:`", body.loc)
    for key in body.value:
        if key not in ("params", "layers", "description"):
            raise SpecError(f"unknown key '{key}' in block '{name}'", body.key_locs[key],
                            hint="allowed keys: params, layers, description", code="CNN102")
    if "layers" not in body.value:
        raise SpecError(f"block '{name}' has no `layers:`", loc, code="CNN105",
                        hint="write layers: [...] under the block")
    params = _param_list(body.value["params"], name) if "params" in body.value else {}
    return BlockDef(name, params, body.value["layers"], loc)


def node_reads_input(node: YNode) -> bool:
    """Whether any value under `node` reads a field of `$in`."""
    if node.is_mapping:
        return any(node_reads_input(v) for v in node.value.values())
    if node.is_sequence:
        return any(node_reads_input(v) for v in node.value)
    return isinstance(node.value, str) and block_expressions.reads_input(node.value)


def reads_input(block: BlockDef) -> bool:
    """Whether the block's layers or parameter defaults read `$in` (then each use waits for its input's shape).
    A nested block that reads its own `$in` does not make the block around it wait: its use waits alone."""
    return node_reads_input(block.layers) or any(
        default is not None and node_reads_input(default) for default in block.params.values())


def input_arguments(block: BlockDef, args: dict[str, YNode], shape: Shape) -> dict[str, YNode]:
    """The arguments with each default that reads `$in` computed for this input (a given argument was
    written outside the block, where there is no `$in`)."""
    computed = dict(args)
    for param, default in block.params.items():
        if default is not None and args.get(param) is default and node_reads_input(default):
            others = {name: value for name, value in computed.items() if name != param}
            computed[param] = substitute(default, others, shape)
    return computed


# ---------------------------------------------------------------------------------------------
# substitution of arguments


def expression(text: str, args: dict[str, YNode], loc: Location, shape: Shape | None = None) -> int:
    """The value of e.g. `4 * $width`, `$count - 1` or `$in.channels // 4` for the given arguments and
    (in a use of a block that reads `$in`) the shape of the use's input (cnncalc/block_expressions.py)."""
    return block_expressions.evaluate(text, args, loc, shape)


def _undefined(name: str, args: dict[str, YNode], loc: Location) -> SpecError:
    if name == block_expressions.INPUT:
        return block_expressions.bare_input(loc)
    return block_expressions.undefined(name, args, loc)


def substitute(node: YNode, args: dict[str, YNode], shape: Shape | None = None, at: Location | None = None) -> YNode:
    """A copy of `node` with every `$param` string replaced by its argument, and every expression computed;
    `shape` is the input of the use, for a block that reads `$in` (None otherwise). `at`: the position every
    copied node takes (a library block's layers at its use, `library.at_use`: moved as they are copied,
    not copied twice; equal scalars moved are one node), None to keep each node's own: then what holds
    no `$` is not copied (the node itself: most of a block is `bn`, `relu` and settings written out)."""
    return _substituted(node, args, shape, at, {})


def _substituted(node: YNode, args: dict[str, YNode], shape: Shape | None, at: Location | None,
                 moved: dict) -> YNode:
    value = node.value
    loc = node.loc if at is None else at
    if isinstance(value, dict):
        values = {k: _substituted(v, args, shape, at, moved) for k, v in value.items()}
        if at is None and all(map(_same, values.values(), value.values())):
            return node
        return make_node(values, loc, node.text, node.key_locs if at is None else dict.fromkeys(node.key_locs, at))
    if isinstance(value, tuple):
        items = tuple([_substituted(v, args, shape, at, moved) for v in value])
        if at is None and all(map(_same, items, value)):
            return node
        return make_node(items, loc, node.text)
    if not isinstance(value, str) or "$" not in value:
        return node if at is None else moved_scalar(value, node.text, at, moved)
    name = _whole_reference(value)
    if name is not None:
        if name not in args:
            raise _undefined(name, args, loc)
        return args[name]
    value = expression(value, args, loc, shape)
    return make_node(value, loc, str(value)) if at is None else moved_scalar(value, str(value), at, moved)


def _same(one: YNode, other: YNode) -> bool:
    return one is other


def moved_scalar(value: Any, text: str, at: Location, moved: dict) -> YNode:
    """The scalar `value` written `text` at `at`: one node for equal scalars (`moved`: those of this copy
    so far, computed ones included)."""
    key = (type(value), value, text)
    found = moved.get(key)
    if found is None:
        found = moved[key] = make_node(value, at, text)
    return found


def _whole_reference(value: str) -> str | None:
    """The name of a value that is one whole `$param` (`\\$([A-Za-z_][A-Za-z0-9_]*)`, spaces around it
    allowed), else None; without a pattern to compile (an ASCII identifier is exactly that)."""
    stripped = value.strip()
    name = stripped[1:]
    return name if stripped[:1] == "$" and name.isascii() and name.isidentifier() else None


#: keys every block use takes besides its block's parameters
USE_KEYS = ("name", "stage")


def arguments(block: BlockDef, node: YNode | None, loc: Location) -> tuple[dict[str, YNode], str | None, str | None]:
    """The use's arguments (defaults filled in), its optional `name` and its optional `stage`."""
    given: dict[str, YNode] = {}
    name = stage = None
    if node is not None and node.value is not None:
        if not node.is_mapping:
            raise SpecError(f"block '{block.name}' takes a mapping of arguments, not {node.text or 'a list'!r}",
                            node.loc, hint=f"write {block.name}: {{{', '.join(a + ': ...' for a in block.params)}}}")
        for key, value in node.value.items():
            if key == "name":
                from cnncalc.layers.base import text

                name = text(value)
            elif key == "stage" and key not in block.params:
                from cnncalc.layers.base import text

                stage = text(value)
            elif key in block.params:
                if node_reads_input(value):
                    # inside a block that reads $in it was computed before the use was read: this is outside
                    raise block_expressions.outside_a_block(value.loc)
                given[key] = value
            else:
                from cnncalc.keys import unknown_key

                raise unknown_key(key, node.key_locs[key], (*block.params, *USE_KEYS), f"block '{block.name}'")
    args: dict[str, YNode] = {}
    for param, default in block.params.items():
        if param in given:
            args[param] = given[param]
        elif default is not None:
            args[param] = default
        else:
            raise SpecError(f"block '{block.name}' needs '{param}'", loc, code="CNN105",
                            hint=f"add {param}: ... to this use of {block.name}")
    return args, name, stage


def memo_key(block: str, args: dict[str, YNode]) -> tuple[str, str]:
    return block, repr(sorted((k, _plain(v)) for k, v in args.items()))


def _plain(node: YNode) -> Any:
    return node.plain()


def parsed_outside_blocks(parse, node: YNode) -> Any:
    """`parse(node)`; a value that reads `$in` where no block use gives it one says so (CNN228). Inside a
    block that reads `$in` every such value was computed before the layer was parsed."""
    try:
        return parse(node)
    except SpecError:
        if node_reads_input(node):
            raise block_expressions.outside_a_block(node.loc) from None
        raise


# ---------------------------------------------------------------------------------------------
# uses of blocks (`spec.SpecBuilder.use` finds the block and its arguments)


def refuse_recursion(block: str, enclosing: list[str] | tuple[str, ...], loc: Location) -> None:
    """A block used inside its own expansion (`enclosing`: the blocks being expanded, outermost first)."""
    if block in enclosing:
        chain = " -> ".join([*enclosing[enclosing.index(block):], block])
        raise SpecError(f"block '{block}' uses itself ({chain})", loc, code="CNN221",
                        hint="a block may use other blocks, but not itself")


def expansion(builder, block: BlockDef, args: dict[str, YNode], loc: Location, site: tuple) -> tuple:
    """The items of a use of `block` (that does not read `$in`) at `loc` with these arguments, parsed by the
    spec builder (`spec.SpecBuilder`) once per arguments and `site` (`library.WithLibrary.at_use`: a library
    block's use, whose layers take its position as they are copied)."""
    key = (*memo_key(block.name, args), *site)
    if key in builder.expanded:
        # a use of an empty block still costs a visit in every later walk: it counts as one layer
        builder.count(max(builder.sizes[key], 1), loc)
        return builder.expanded[key]
    if len(builder.expanded) >= MAX_EXPANSIONS:
        raise LimitError(f"the blocks expand in more than {MAX_EXPANSIONS:,} different ways "
                         "(uses with different arguments)", loc,
                         hint="blocks that pass new arguments to several uses of another block "
                         "multiply; use fewer distinct arguments")
    at = loc if site else None
    builder.expanding.append(block.name)
    before, outer = builder.layers, builder.at
    builder.at = at
    try:
        builder.expanded[key] = builder.items(substitute(block.layers, args, at=at))
    finally:
        builder.expanding.pop()
        builder.at = outer
    # everything counted inside was counted `scale` times
    builder.sizes[key] = (builder.layers - before) // builder.scale
    if not builder.sizes[key]:
        builder.count(1, loc)
    return builder.expanded[key]


def input_use(builder, block: BlockDef, args: dict[str, YNode], name: str | None, loc: Location,
              site: tuple = (), stage: str | None = None) -> InputUse:
    """A use of a block that reads `$in`, left for the graph builder, which knows the input's shape
    (`expand_input_use` parses it then). One layer now; its layers count when it is expanded."""
    builder.count(1, loc)
    return InputUse(block.name, args, name, loc, builder.depth, partial(expand_input_use, builder, block=block,
                                                                        site=site), stage)


# ---------------------------------------------------------------------------------------------
# uses of blocks that read `$in`, expanded when the graph builder reaches them


def expand_input_use(builder, use: InputUse, shape: Shape, enclosing: tuple[str, ...],
                     block: BlockDef | None = None, site: tuple = ()) -> tuple:
    """The layers of `use` for an input of this shape, parsed by the spec builder (`spec.SpecBuilder`, which
    made the use) once per arguments and shape. `enclosing`: the block uses the graph builder is inside,
    outermost first; the chain and the nesting depth go on inside the use's layers. `block`: the block as
    the use read it (a library block placed at its use, `library.at_use`, whose defaults are the use's arguments), `site`
    what tells a library block's uses apart (`library.WithLibrary.at_use`)."""
    block = builder.blocks[use.block] if block is None else block
    refuse_recursion(block.name, enclosing, use.loc)
    args = input_arguments(block, use.args, shape)
    name, arguments = memo_key(block.name, args)
    key = (name, f"{arguments} $in={shape.spatial!r},{shape.channels}", *site)
    if key not in builder.expanded:
        if len(builder.expanded) >= MAX_EXPANSIONS:
            raise LimitError(f"the blocks expand in more than {MAX_EXPANSIONS:,} different ways "
                             "(uses with different arguments or input shapes)", use.loc,
                             hint="a block that reads $in is expanded once per input shape; "
                             "use fewer distinct arguments")
        outer = builder.expanding, builder.depth, builder.scale
        builder.expanding, builder.depth, builder.scale = [*enclosing, block.name], use.depth, 1
        try:
            builder.expanded[key] = builder.items(substitute(block.layers, args, shape))
        finally:
            builder.expanding, builder.depth, builder.scale = outer
    return builder.expanded[key]
