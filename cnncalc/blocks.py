"""The spec's graph constructs: `residual`, `concat` and `add` of branches, and reusable
parameterised blocks (`blocks:` at the top of a spec).

A block is expanded where it is used: its `layers:` are copied with every `$param` replaced by
the use's argument (or an integer expression of arguments such as `4 * $width`), then parsed
like any other layers. Expansions with the same arguments are shared, so a block used a
thousand times is parsed once.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from cnncalc.errors import LimitError, Location, SpecError
from cnncalc.layers import construct_kinds
from cnncalc.limits import MAX_EXPRESSION_VALUE
from cnncalc.yamlsource import YNode

#: merge words that are also constructs, `- concat: [[...], [...]]`: derived from the kind registry.
MERGES = tuple(kind.name for kind in construct_kinds())
#: the construct of a side branch that ends in a named output (an auxiliary head), the main path going on
#: from where it branched (`- output: {name: aux, training_only: true, layers: [...]}`).
OUTPUT = "output"
#: the name of the network's own output among its outputs; a side output cannot take it.
MAIN_OUTPUT = "main"
#: words that introduce a construct rather than a layer or a block.
CONSTRUCTS = ("repeat", "residual", *MERGES, "split", OUTPUT)
#: how a split's branches are merged
SPLIT_MERGES = ("concat", "add")
MAX_EXPRESSION = 200
_REFERENCE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_WHOLE_REFERENCE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)$")


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


@dataclass(frozen=True, slots=True)
class BlockDef:
    name: str
    #: parameter name -> default node (None when the use must give it), in declared order.
    params: dict[str, YNode | None]
    layers: YNode
    loc: Location


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
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name == "name":
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
    blocks: dict[str, BlockDef] = {}
    for name, body in node.value.items():
        loc = node.key_locs[name]
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
        blocks[name] = BlockDef(name, params, body.value["layers"], loc)
    return blocks


# ---------------------------------------------------------------------------------------------
# substitution of arguments


def _bounded(value: int, loc: Location) -> int:
    """Every value an expression reads or computes stays within +-10^18, so that chained blocks that
    square their arguments stop at once, and no message has to print a number of thousands of digits."""
    if -MAX_EXPRESSION_VALUE <= value <= MAX_EXPRESSION_VALUE:
        return value
    raise LimitError("a block expression reaches a value beyond 10^18, cnncalc's limit for block arithmetic", loc,
                     hint="use realistic sizes; the arguments of nested blocks multiply")


def _int_argument(name: str, args: dict[str, YNode], loc: Location) -> int:
    value = args[name].value
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"${name} is {args[name].text or 'not a number'!r}; arithmetic needs a whole number", loc,
                        code="CNN222")
    return _bounded(value, loc)


def _evaluate(tree: ast.AST, names: dict[str, str], args: dict[str, YNode], loc: Location) -> int:
    """`names` maps the placeholders that stand for `$param` in the parsed text to the parameters."""
    if isinstance(tree, ast.Constant) and isinstance(tree.value, int) and not isinstance(tree.value, bool):
        return _bounded(tree.value, loc)
    if isinstance(tree, ast.Name) and tree.id in names:
        return _int_argument(names[tree.id], args, loc)
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, (ast.USub, ast.UAdd)):
        value = _evaluate(tree.operand, names, args, loc)
        return -value if isinstance(tree.op, ast.USub) else value
    if isinstance(tree, ast.BinOp) and isinstance(tree.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Div)):
        left, right = _evaluate(tree.left, names, args, loc), _evaluate(tree.right, names, args, loc)
        if isinstance(tree.op, ast.Add):
            return _bounded(left + right, loc)
        if isinstance(tree.op, ast.Sub):
            return _bounded(left - right, loc)
        if isinstance(tree.op, ast.Mult):
            return _bounded(left * right, loc)
        if right == 0:
            raise SpecError("division by zero in a block expression", loc, code="CNN222")
        if isinstance(tree.op, ast.Div) and left % right:
            raise SpecError(f"{left}/{right} is not a whole number", loc, code="CNN222",
                            hint="use // to round down")
        return left // right
    raise SpecError("block expressions may only use whole numbers, $params, + - * / // and parentheses", loc,
                    code="CNN222")


def expression(text: str, args: dict[str, YNode], loc: Location) -> int:
    """The value of e.g. `4 * $width` or `$count - 1` for the given arguments."""
    if len(text) > MAX_EXPRESSION:
        raise SpecError(f"the expression is longer than {MAX_EXPRESSION} characters", loc, code="CNN222")
    for match in _REFERENCE.finditer(text):
        if match.group(1) not in args:
            raise _undefined(match.group(1), args, loc)
    # Python parses the arithmetic; each `$param` becomes a placeholder identifier first, so that a
    # parameter named like a keyword (`in`, `if`, `lambda`, `True`) or a soft keyword reads as a name.
    # The prefix is one the text does not contain, and a bare word (no `$`) stays an error.
    prefix = "_p"
    while prefix in text:
        prefix += "_"
    names: dict[str, str] = {}

    def placeholder(match: re.Match) -> str:
        key = f"{prefix}{len(names)}"
        names[key] = match.group(1)
        return f" {key} "

    source = _REFERENCE.sub(placeholder, text)
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        raise SpecError(f"cannot read the expression {text!r}", loc, code="CNN222",
                        hint="write e.g. 4 * $width or $count - 1") from None
    return _evaluate(tree, names, args, loc)


def _undefined(name: str, args: dict[str, YNode], loc: Location) -> SpecError:
    from cnncalc.keys import did_you_mean

    known = ", ".join("$" + a for a in args) or "none"
    return SpecError(f"${name} is not a parameter of this block", loc, code="CNN220",
                     hint=did_you_mean(name, tuple(args)) + f"parameters: {known}")


def substitute(node: YNode, args: dict[str, YNode]) -> YNode:
    """A copy of `node` with every `$param` string replaced by its argument."""
    if node.is_mapping:
        return YNode({k: substitute(v, args) for k, v in node.value.items()}, node.loc, node.text, node.key_locs)
    if node.is_sequence:
        return YNode(tuple(substitute(v, args) for v in node.value), node.loc, node.text)
    if not isinstance(node.value, str) or "$" not in node.value:
        return node
    whole = _WHOLE_REFERENCE.match(node.value.strip())
    if whole:
        name = whole.group(1)
        if name not in args:
            raise _undefined(name, args, node.loc)
        return args[name]
    value = expression(node.value, args, node.loc)
    return YNode(value, node.loc, str(value))


def arguments(block: BlockDef, node: YNode | None, loc: Location) -> tuple[dict[str, YNode], str | None]:
    """The use's arguments (defaults filled in) and its optional `name`."""
    given: dict[str, YNode] = {}
    name = None
    if node is not None and node.value is not None:
        if not node.is_mapping:
            raise SpecError(f"block '{block.name}' takes a mapping of arguments, not {node.text or 'a list'!r}",
                            node.loc, hint=f"write {block.name}: {{{', '.join(a + ': ...' for a in block.params)}}}")
        for key, value in node.value.items():
            if key == "name":
                from cnncalc.layers.base import text

                name = text(value)
            elif key in block.params:
                given[key] = value
            else:
                from cnncalc.keys import unknown_key

                raise unknown_key(key, node.key_locs[key], (*block.params, "name"), f"block '{block.name}'")
    args: dict[str, YNode] = {}
    for param, default in block.params.items():
        if param in given:
            args[param] = given[param]
        elif default is not None:
            args[param] = default
        else:
            raise SpecError(f"block '{block.name}' needs '{param}'", loc, code="CNN105",
                            hint=f"add {param}: ... to this use of {block.name}")
    return args, name


def memo_key(block: str, args: dict[str, YNode]) -> tuple[str, str]:
    return block, repr(sorted((k, _plain(v)) for k, v in args.items()))


def _plain(node: YNode) -> Any:
    return node.plain()
