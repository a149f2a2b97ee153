"""From positioned YAML to a validated `Spec`: the input, and a tree of layers and repeat blocks.

Every key is checked against its layer kind's table; every error names the exact key or value
that is wrong, with the nearest known word when it looks like a typo.
"""

from __future__ import annotations

from collections.abc import Mapping
from cnncalc.records import dataclass

from cnncalc import blocks as graph_constructs
from cnncalc import library
from cnncalc.blocks import BlockUse, InputUse, MergeSpec, OutputSpec, ResidualSpec, SplitSpec
from cnncalc.errors import LimitError, Location, SpecError
from cnncalc.keys import did_you_mean
from cnncalc.keys import unknown_key as _unknown_key
from cnncalc.layers import KINDS, LayerKind
from cnncalc.layers.base import REQUIRED, integer
from cnncalc.limits import MAX_LAYERS, MAX_NESTING, MAX_REPEAT
from cnncalc.inputs import mapping as _mapping
from cnncalc.inputs import parse_input  # noqa: F401  (spec.parse_input: a public name since the first release)
from cnncalc.shapes import Shape
from cnncalc.yamlsource import YNode

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md
if TYPE_CHECKING:
    from typing import Any

#: the top-level keys of a spec with `layers:` (read here) and of one with `pattern:` (read by cnncalc/pattern);
#: the JSON Schema (cnncalc/schema.py) lists the same tuples
TOP_LEVEL_KEYS = ("name", "description", "convention", "input", "defaults", "layers", "blocks")
PATTERN_ONLY_KEYS = ("pattern", "vars")
PATTERN_KEYS = ("name", "description", "convention", "input", "defaults", *PATTERN_ONLY_KEYS)
ALL_TOP_LEVEL_KEYS = TOP_LEVEL_KEYS + PATTERN_ONLY_KEYS


@dataclass(frozen=True, slots=True)
class LayerSpec:
    kind: LayerKind
    #: the kind as the user wrote it (an alias such as `linear` stays visible in messages)
    word: str
    params: dict[str, Any]
    name: str | None
    loc: Location
    param_locs: dict[str, Location]


@dataclass(frozen=True, slots=True)
class RepeatSpec:
    times: int
    body: tuple[LayerSpec | RepeatSpec, ...]
    loc: Location


Item = LayerSpec | RepeatSpec | ResidualSpec | MergeSpec | SplitSpec | BlockUse | InputUse | OutputSpec


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    input: Shape
    input_loc: Location
    items: tuple[Item, ...]
    path: str = "<spec>"
    #: the shape convention the spec was written for (`convention:`); the command line can override it
    convention: str | None = None


# ---------------------------------------------------------------------------------------------
# layers

#: the types of settings whose repr is their value (a layer's settings of these are shared: `SpecBuilder._shared`)
_PLAIN_TYPES = frozenset({int, float, bool, str, type(None)})


def _plain(value: Any) -> bool:
    """Plain data: a number, a bool, a text, None, or a tuple of plain data (`kernel: [3, 5]`, pads per side)."""
    return type(value) in _PLAIN_TYPES or (type(value) is tuple and all(map(_plain, value)))


def _kind(word: str, loc: Location) -> LayerKind:
    kind = KINDS.get(word.lower())
    if kind is None:
        raise SpecError(
            f"unknown layer type '{word}'",
            loc,
            hint=did_you_mean(word, sorted(KINDS) + ["repeat"]) + "known types: " + ", ".join(sorted(KINDS)),
            code="CNN104",
        )
    return kind


#: each kind's settings by name (`LayerKind.param`, without a search per key of every layer)
_BY_NAME: dict[LayerKind, dict[str, Any]] = {}


def _params_by_name(kind: LayerKind) -> dict[str, Any]:
    found = _BY_NAME.get(kind)
    if found is None:  # the first of a name, as `kind.param` finds it
        found = _BY_NAME[kind] = {param.name: param for param in reversed(kind.params)}
    return found


def _params_of(kind: LayerKind, word: str, node: YNode | None, where: str) -> tuple[dict, dict, str | None]:
    """Parse a layer's arguments: a mapping, a scalar for the shorthand key, or nothing."""
    values: dict[str, Any] = {}
    locs: dict[str, Location] = {}
    name = None
    if node is None or node.value is None:
        return values, locs, name
    if not node.is_mapping:
        if kind.shorthand is None:
            raise SpecError(
                f"'{word}' takes a mapping of settings, not {node.text or 'a list'!r}",
                node.loc,
                hint=f"write {word}: {{{', '.join(p.name + ': ...' for p in kind.params[:2])}}}",
            )
        values[kind.shorthand] = graph_constructs.parsed_outside_blocks(kind.param(kind.shorthand).parse, node)
        locs[kind.shorthand] = node.loc
        return values, locs, name
    by_name = _params_by_name(kind)
    for key, value in node.value.items():
        if key == "name" and where == "layer":
            from cnncalc.layers.base import text

            name = text(value)
            continue
        param = by_name.get(key)
        if param is None:
            allowed = tuple(p.name for p in kind.params) + (("name",) if where == "layer" else ())
            raise _unknown_key(key, node.key_locs[key], allowed, f"'{word}'")
        values[key] = graph_constructs.parsed_outside_blocks(param.parse, value)
        locs[key] = value.loc
    return values, locs, name


class SpecBuilder:
    def __init__(self, path: str, defaults: dict[str, dict[str, Any]], blocks: dict | None = None):
        self.path = path
        self.defaults = defaults
        self.blocks: Mapping[str, graph_constructs.BlockDef] = blocks if blocks is not None else {}
        #: blocks being expanded (to refuse a block that uses itself) and finished expansions.
        self.expanding: list[str] = []
        self.expanded: dict[tuple, tuple[Item, ...]] = {}
        #: the layers each finished expansion holds (its body counted once).
        self.sizes: dict[tuple, int] = {}
        #: layers of the graph expanded so far (a shared expansion counted once per use, a repeat's body
        #: `times` times), checked against the layer limit as they are counted, not after the fact.
        self.layers = 0
        #: how many copies of what is being parsed now the graph holds (the enclosing repeats' counts).
        self.scale = 1
        #: enclosing block uses and constructs, checked against the nesting limit.
        self.depth = 0
        #: block name -> whether it reads `$in` (its uses then wait for the graph builder)
        self.reading_input: dict[str, bool] = {}
        #: each kind's distinct settings, one dict each (`_shared`)
        self.shared: dict[tuple, dict[str, Any]] = {}
        #: the position of the library block's use being read (None elsewhere), and what `layer` read there
        self.at: Location | None = None
        self.bases: dict[LayerKind, tuple[dict[str, Any], tuple]] = {}
        self.read_layers: dict[tuple, tuple[Location, YNode | None, LayerSpec]] = {}

    def count(self, layers: int, loc: Location) -> None:
        self.layers += layers * self.scale
        if self.layers > MAX_LAYERS:
            raise LimitError(f"the spec expands to more than {MAX_LAYERS:,} layers", loc,
                             hint="lower the repeat counts or the uses of large blocks")

    def enter(self, loc: Location) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise LimitError(f"block uses and constructs nest more than {MAX_NESTING} levels deep here", loc,
                             hint="flatten the blocks: a block that only wraps another can be left out")

    def layer(self, word: str, key_loc: Location, args: YNode | None) -> LayerSpec:
        """The layer `word: args` at `key_loc`. In a library block's layers (all at its use) the same nodes
        (its `bn`, `relu`: one node each there) give the same layer, read once; a spec's own have their own places."""
        if key_loc is not self.at:
            return self._layer(word, key_loc, args)
        key = (word, id(key_loc), id(args))
        found = self.read_layers.get(key)
        if found is not None and found[0] is key_loc and found[1] is args:  # the very nodes: ids are not reused
            self.count(1, key_loc)
            return found[2]
        made = self._layer(word, key_loc, args)
        self.read_layers[key] = (key_loc, args, made)
        return made

    def _layer(self, word: str, key_loc: Location, args: YNode | None) -> LayerSpec:
        kind = _kind(word, key_loc)
        values, locs, name = _params_of(kind, word, args, "layer")
        base, required = self._base(kind)
        for p in required:
            if p.name not in values:
                raise SpecError(
                    f"'{word}' needs '{p.name}' ({p.doc})",
                    key_loc,
                    hint=f"add {p.name}: ... to this layer, or set it under defaults: {{{kind.name}: ...}}",
                    code="CNN105",
                )
        params = base | values  # the settings given, in the kind's order with the others'
        self.count(1, key_loc)
        return LayerSpec(kind, word, self._shared(kind, params), name, key_loc, locs)

    def _base(self, kind: LayerKind) -> tuple[dict[str, Any], tuple]:
        """A kind's settings where a layer gives none (the spec's `defaults:`, else the kind's own), in its
        order, and those a layer must give (no default at all)."""
        found = self.bases.get(kind)
        if found is None:
            defaults = self.defaults.get(kind.name, {})
            base = {p.name: defaults[p.name] if p.name in defaults else p.default for p in kind.params}
            required = tuple(p for p in kind.params if p.name not in defaults and p.default is REQUIRED)
            found = self.bases[kind] = (base, required)
        return found

    def _shared(self, kind: LayerKind, params: dict[str, Any]) -> dict[str, Any]:
        """One dict for each kind's distinct settings (layers written alike share it, as a repeat's do), so
        that the analysis and the memory rules find equal inferences by identity (ResNet-50: half as many).
        Apart: values of other types (1, 1.0, True), floats and tuples of other reprs (-0.0, (1.0, 2));
        not shared: other values than plain data. (A kind's dicts all have their keys in its order.)"""
        values = tuple(params.values())
        types = tuple(map(type, values))
        if _PLAIN_TYPES.issuperset(types):
            floats = float in types
            key: tuple = (kind, types, tuple(repr(v) if type(v) is float else v for v in values) if floats else values)
        elif all(map(_plain, values)):
            key = (kind, repr(params))
        else:
            return params
        return self.shared.setdefault(key, params)

    def item(self, node: YNode) -> Item:
        """One item; a block use or a construct is one level deeper (checked before parsing inside it)."""
        value = node.value
        if isinstance(value, dict) and len(value) == 1:
            (word,) = value
            loc = node.key_locs[word]
        else:
            word, loc = value, node.loc
        block = isinstance(word, str) and word in self.blocks
        if not block and word not in graph_constructs.CONSTRUCTS:
            return self._item(node, block)
        self.enter(loc)
        try:
            return self._item(node, block)
        finally:
            self.depth -= 1

    def _item(self, node: YNode, block: bool) -> Item:
        """`block`: whether the item's word (a scalar, a mapping's one key) names a block (looked up once)."""
        value = node.value
        if not isinstance(value, (dict, tuple)):
            if not isinstance(value, str):
                raise SpecError(f"a layer must be a name or a mapping, not {node.text!r}", node.loc,
                                hint="write e.g. `- relu` or `- conv: {filters: 64, kernel: 3}`")
            if block:
                return self.use(value, None, node.loc)
            if value in graph_constructs.CONSTRUCTS:
                raise SpecError(f"'{value}' needs its layers", node.loc, code="CNN105",
                                hint=f"write {value}: ... (see docs/spec-format.md)")
            return self.layer(value, node.loc, None)
        if isinstance(value, tuple):
            raise SpecError("a layer must be a name or a mapping, not a list", node.loc,
                            hint="use `repeat: {times: N, layers: [...]}` for a block")
        if len(value) != 1:
            keys = list(value)
            raise SpecError(
                f"a layer item has exactly one key, its type; this one has {len(keys)} ({', '.join(keys)})",
                node.key_locs[keys[1]] if len(keys) > 1 else node.loc,
                hint="put settings inside the type, e.g. `- conv: {filters: 64, kernel: 3, name: c1}`; "
                "a missing '-' can also merge two layers",
            )
        ((word, args),) = value.items()
        loc = node.key_locs[word]
        if word in graph_constructs.CONSTRUCTS:
            return self.construct(word, args, loc)
        if block:
            return self.use(word, args, loc)
        return self.layer(word, loc, args)

    def construct(self, word: str, node: YNode | None, loc: Location) -> Item:
        """`repeat`, `residual`, a merge, `split` or `output` (`word`) with its settings `node`."""
        if word == "repeat":
            return self.repeat(node, loc)
        if word == "residual":
            return self.residual(node, loc)
        if word in graph_constructs.MERGES:
            return self.merge(word, node, loc)
        if word == "split":
            return self.split(node, loc)
        return self.output(node, loc)

    def repeat(self, node: YNode, loc: Location) -> RepeatSpec:
        fields = _mapping(node, "repeat", "repeat: {times: N, layers: [...]}")
        for key in fields:
            if key not in ("times", "layers"):
                raise _unknown_key(key, node.key_locs[key], ("times", "layers"), "repeat")
        for key in ("times", "layers"):
            if key not in fields:
                raise SpecError(f"repeat needs '{key}'", loc, hint="write repeat: {times: N, layers: [...]}",
                                code="CNN105")
        times = graph_constructs.parsed_outside_blocks(integer(0, MAX_REPEAT), fields["times"])
        # the body of `times: 0` is still parsed, so it counts once
        outer, self.scale = self.scale, self.scale * max(times, 1)
        try:
            return RepeatSpec(times, self.items(fields["layers"]), loc)
        finally:
            self.scale = outer

    def residual(self, node: YNode | None, loc: Location) -> ResidualSpec:
        """`residual: [layers]` or `residual: {layers: [...], shortcut: [...], name: ...}`."""
        if node is not None and node.is_sequence:
            body = self.items(node)
            self.count(1, loc)
            return ResidualSpec(body, (), None, loc)
        if node is None or not node.is_mapping:
            raise SpecError("residual needs its layers", loc, code="CNN105",
                            hint="write residual: {layers: [...], shortcut: [...]} (no shortcut = identity)")
        allowed = ("layers", "shortcut", "name")
        for key in node.value:
            if key not in allowed:
                raise _unknown_key(key, node.key_locs[key], allowed, "residual")
        if "layers" not in node.value:
            raise SpecError("residual needs 'layers'", loc, code="CNN105",
                            hint="write residual: {layers: [...], shortcut: [...]} (no shortcut = identity)")
        shortcut = node.value.get("shortcut")
        body = self.items(node.value["layers"])
        rest = self.items(shortcut) if shortcut is not None and shortcut.value is not None else ()
        self.count(1, loc)
        return ResidualSpec(body, rest, self._construct_name(node), loc)

    def merge(self, word: str, node: YNode | None, loc: Location) -> MergeSpec:
        """`concat: [[branch], [branch], ...]` or `concat: {branches: [...], name: ...}` (same for add)."""
        name = None
        if node is not None and node.is_mapping:
            for key in node.value:
                if key not in ("branches", "name"):
                    raise _unknown_key(key, node.key_locs[key], ("branches", "name"), word)
            name = self._construct_name(node)
            node = node.value.get("branches")
        if node is None or not node.is_sequence:
            raise SpecError(f"{word} needs a list of branches, each a list of layers", loc, code="CNN105",
                            hint=f"write {word}: [[conv: ...], [pool: ..., conv: ...]]; [] is the input itself")
        branches = []
        for branch in node.value:
            if not branch.is_sequence:
                raise SpecError(f"each branch of {word} is a list of layers (in brackets, or '- - layer')",
                                branch.loc, hint="wrap a one-layer branch in brackets: [{conv: {...}}]")
            branches.append(self.items(branch))
        if len(branches) < 2:
            raise SpecError(f"{word} needs at least two branches, got {len(branches)}", loc, code="CNN224")
        self.count(1, loc)
        return MergeSpec(word, tuple(branches), name, loc)

    def split(self, node: YNode | None, loc: Location) -> SplitSpec:
        """`split: [[branch], ...]` (equal groups, one per branch) or `split: {branches: [...], groups: N,
        sections: [...], merge: concat|add, name: ...}`."""
        allowed = ("branches", "groups", "sections", "merge", "name")
        fields = node.value if node is not None and node.is_mapping else {}
        for key in fields:
            if key not in allowed:
                raise _unknown_key(key, node.key_locs[key], allowed, "split")
        branch_list = fields.get("branches") if fields else node
        if branch_list is None or not branch_list.is_sequence:
            raise SpecError("split needs a list of branches, each a list of layers", loc, code="CNN105",
                            hint="write split: [[], [conv: ...]] (one branch per channel group; [] passes the group on)")
        branches = self.merge("split", branch_list, loc).branches
        sections = None
        if "sections" in fields:
            if "groups" in fields:
                raise SpecError("split takes `groups` or `sections`, not both", node.key_locs["groups"],
                                code="CNN226", hint="keep sections: [...] for unequal groups, groups: N for equal ones")
            from cnncalc.layers.channels import sections as parse_sections

            sections = parse_sections(fields["sections"])
            counted, where = len(sections), fields["sections"].loc
        elif "groups" in fields:
            counted, where = integer(1)(fields["groups"]), fields["groups"].loc
        else:
            counted, where = len(branches), loc
        if counted != len(branches):
            raise SpecError(f"split into {counted} channel groups has {len(branches)} branches", where, code="CNN226",
                            hint="give one branch per group ([] passes a group on unchanged)")
        word = graph_constructs.SPLIT_MERGES[0]
        if "merge" in fields:
            word = fields["merge"].text.lower() if fields["merge"].is_scalar else ""
            if word not in graph_constructs.SPLIT_MERGES:
                raise SpecError(f"a split merges its branches by concat or add, not {fields['merge'].text!r}",
                                fields["merge"].loc, hint="write merge: concat (the default) or merge: add")
        # the slices feeding the branches (the merge was counted by self.merge)
        self.count(len(branches), loc)
        return SplitSpec(branches, sections, word, self._construct_name(node) if fields else None, loc)

    def output(self, node: YNode | None, loc: Location) -> OutputSpec:
        """`output: {name: aux, training_only: true, layers: [...]}`: a side branch ending in a named output."""
        from cnncalc.layers.values import boolean, text

        example = "output: {name: aux, training_only: true, layers: [...]}"
        fields = _mapping(node, "output", example) if node is not None else {}
        allowed = ("name", "layers", "training_only")
        for key in fields:
            if key not in allowed:
                raise _unknown_key(key, node.key_locs[key], allowed, "output")
        for key in ("name", "layers"):
            if key not in fields:
                raise SpecError(f"output needs '{key}'", loc, code="CNN105", hint=f"write {example}")
        name = text(fields["name"])
        if name == graph_constructs.MAIN_OUTPUT:
            raise SpecError(f"'{name}' is the name of the network's own output", fields["name"].loc,
                            code="CNN106", hint="name the side output after its head, e.g. aux")
        body = self.items(fields["layers"])
        if not body:
            raise SpecError("output needs at least one layer", fields["layers"].loc, code="CNN105",
                            hint="the head's layers end in its output, e.g. layers: [global_pool: avg, fc: 10]")
        training_only = boolean(fields["training_only"]) if "training_only" in fields else False
        return OutputSpec(body, name, training_only, loc)

    def use(self, word: str, node: YNode | None, loc: Location) -> BlockUse | InputUse:
        """A use of the block `word` at `loc` (the spec's own, else the library's: then its layers take the
        use's position, `library.at_use`), expanded once per arguments (and a library block's use site)."""
        if isinstance(self.blocks, library.WithLibrary):
            block, site = self.blocks.at_use(word, loc)
        else:
            block, site = self.blocks[word], ()
        args, name, stage = graph_constructs.arguments(block, node, loc)
        graph_constructs.refuse_recursion(block.name, self.expanding, loc)
        if self._reads_input(block):
            whole = library.layers_at(block, loc) if site else block
            return graph_constructs.input_use(self, whole, args, name, loc, site, stage)
        return BlockUse(block.name, graph_constructs.expansion(self, block, args, loc, site), name, loc, stage)

    def _reads_input(self, block: graph_constructs.BlockDef) -> bool:
        if block.name not in self.reading_input:
            self.reading_input[block.name] = graph_constructs.reads_input(block)
        return self.reading_input[block.name]

    @staticmethod
    def _construct_name(node: YNode) -> str | None:
        from cnncalc.layers.base import text

        return text(node.value["name"]) if "name" in node.value else None

    def items(self, node: YNode) -> tuple[Item, ...]:
        if not node.is_sequence:
            raise SpecError("layers must be a list (each item starting with '-')", node.loc,
                            hint="write one layer per line, e.g.\n      - conv: {filters: 64, kernel: 3}\n      - relu")
        return tuple([self.item(child) for child in node.value])


def parse_defaults(node: YNode | None) -> dict[str, dict[str, Any]]:
    if node is None or node.value is None:
        return {}
    result: dict[str, dict[str, Any]] = {}
    for word, args in _mapping(node, "defaults", "defaults: {conv: {padding: 1}}").items():
        kind = _kind(word, node.key_locs[word])
        if not args.is_mapping:
            raise SpecError(f"defaults for '{word}' must be a mapping of settings", args.loc,
                            hint=f"e.g. defaults: {{{word}: {{...}}}}")
        values, _, _ = _params_of(kind, word, args, "defaults")
        result.setdefault(kind.name, {}).update(values)
    return result


def parse_spec(root: YNode, path: str = "<spec>") -> Spec:
    """A spec with `layers:`; one with `pattern:` is read by `cnncalc.pattern` (`pipeline.parse` picks)."""
    fields = _mapping(root, "a spec", "name:, input: and layers: at the top level")
    # a key that no spec has is reported before a key of pattern specs (`vars:` next to `patern:`)
    for key in fields:
        if key not in ALL_TOP_LEVEL_KEYS:
            raise _unknown_key(key, root.key_locs[key], ALL_TOP_LEVEL_KEYS, "the spec")
    for key in fields:
        if key in PATTERN_ONLY_KEYS:
            raise SpecError(f"'{key}' belongs to a spec with `pattern:`", root.key_locs[key], code="CNN102",
                            hint="add pattern: \"INPUT -> ...\" (instead of layers:), or remove it")
    for key in ("input", "layers"):
        if key not in fields:
            raise SpecError(f"the spec has no '{key}'", root.loc,
                            hint="a spec needs `input:` (e.g. 224x224x3) and `layers:`", code="CNN105")
    name_node = fields.get("name")
    name = name_node.text if name_node is not None and name_node.text else path
    # a spec's own blocks first, then the shipped library's (cnncalc/library)
    blocks = library.WithLibrary(graph_constructs.parse_blocks(fields.get("blocks"), KINDS))
    builder = SpecBuilder(path, parse_defaults(fields.get("defaults")), blocks)
    convention = parse_convention(fields["convention"]) if "convention" in fields else None
    items = builder.items(fields["layers"])
    return Spec(name, parse_input(fields["input"]), fields["input"].loc, items, path, convention)


def parse_convention(node: YNode) -> str:
    from cnncalc.conventions import CONVENTIONS

    word = node.text.lower() if node.is_scalar else ""
    if word not in CONVENTIONS:
        raise SpecError(
            f"unknown convention {node.text or 'value'!r}",
            node.loc,
            hint=did_you_mean(word, tuple(CONVENTIONS)) + "known conventions: " + ", ".join(CONVENTIONS),
        )
    return word
