"""Repeated constructs as parameterised `blocks:`, consecutive copies as `repeat:`, so that an imported
ResNet reads like specs/resnet50.yaml rather than 170 lines of layers.

A unit is a construct of the top-level list (residual, concat, add) with the activations right after
it (ResNet's relu after the add). Units of one structure (the same layers and settings, sizes aside)
used at least twice become one block: a size that is the same in every use stays a number; one that
varies is a parameter (one per distinct column of values; a column that is a whole multiple of an
earlier one is written `4 * $filters`, and a parameter whose value is the same in most uses gets it
as its default). Runs of identical items (block uses with the same arguments, VGG's conv-relu pairs)
become `repeat: {times: n}`.
"""

from __future__ import annotations

from collections import Counter
from cnncalc.records import dataclass
from typing import Any

from cnncalc.importers.structure import Item
from cnncalc.importers.writer import Block

CONSTRUCTS = ("residual", "concat", "add", "multiply", "split")
#: layers that may close a unit (they have no sizes to vary)
ACTIVATIONS = ("relu", "relu6", "silu", "gelu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "leaky_relu",
               "elu", "mish", "prelu")
#: the longest run of items a `repeat:` is looked for with
LONGEST_PERIOD = 6


@dataclass(frozen=True)
class Found:
    items: tuple[Item, ...]
    blocks: tuple[Block, ...]


def _is_size(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)


def _signature(item: Item):
    settings = tuple((k, "#" if _is_size(v) else v) for k, v in item.settings)
    return item.word, settings, tuple(tuple(_signature(i) for i in b) for b in item.branches)


def _leaves(item: Item, out: list) -> list:
    """(key, value) of every size in the unit, in a fixed order."""
    for key, value in item.settings:
        if _is_size(value):
            out.append((key, value))
    for branch in item.branches:
        for inner in branch:
            _leaves(inner, out)
    return out


def _units(items: tuple[Item, ...]) -> list[tuple[int, int]]:
    """(start, end) of every unit of the list."""
    units, index = [], 0
    while index < len(items):
        if items[index].word in CONSTRUCTS:
            end = index + 1
            while end < len(items) and items[end].word in ACTIVATIONS and not items[end].settings:
                end += 1
            units.append((index, end))
            index = end
        else:
            index += 1
    return units


def _block_name(unit: tuple[Item, ...], taken: set[str]) -> str:
    head = unit[0]
    convs = sum(1 for i in head.branches[0] if i.word in ("conv", "depthwise")) if head.branches else 0
    if head.word == "residual":
        depthwise = any(i.word == "depthwise" for i in head.branches[0])
        base = "inverted_residual" if depthwise else {3: "bottleneck", 2: "basic"}.get(convs, "residual_block")
        if any(i.word == "permute" for i in head.branches[0]):
            base = "convnext_block"  # depthwise, then an MLP per position between permutes
        if head.branches[1]:
            base += "_projection"
    elif head.word == "multiply" and any(b and b[0].word == "global_pool" for b in head.branches):
        base = "squeeze_excitation"
    elif head.word == "split":
        base = "shuffle_unit"
    elif head.word == "concat" and len(head.branches) == 4:
        base = "inception"
    elif head.word == "concat" and len(head.branches) == 2 and not head.branches[0]:
        base = "dense_layer"
    else:
        base = f"{head.word}_block"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}{number}", number + 1
    taken.add(name)
    return name


def _whole_multiple(column: list, values: list) -> bool:
    """Every value of `column` is the same whole multiple (at least 2) of the value of `values`."""
    if not all(isinstance(c, int) and isinstance(v, int) and v and c % v == 0 for c, v in zip(column, values)):
        return False
    factors = {c // v for c, v in zip(column, values)}
    return len(factors) == 1 and factors.pop() >= 2


def _scaled(written: Any, name: str, factor: int) -> Any:
    """`$name` or `k * $name` once $name stands for a value `factor` times smaller."""
    if written == f"${name}":
        return f"{factor} * ${name}"
    if isinstance(written, str) and written.endswith(f" * ${name}"):
        return f"{int(written.split(' ')[0]) * factor} * ${name}"
    return written


def _parameters(columns: list[tuple[str, list]], uses: int):
    """For each column of leaf values: a literal, `$name`, or `k * $name`; and the parameters, with defaults."""
    params: list[tuple[str, list]] = []
    written: list[Any] = []
    names = Counter()
    for key, values in columns:
        if all(v == values[0] for v in values):
            written.append(values[0])
            continue
        same = next((name for name, column in params if column == values), None)
        if same is not None:
            written.append(f"${same}")
            continue
        multiple = next(((name, values[0] // column[0]) for name, column in params
                         if all(isinstance(v, int) and isinstance(c, int) and c and v % c == 0 for v, c in zip(values, column))
                         and len({v // c for v, c in zip(values, column)}) == 1), None)
        if multiple is not None:
            written.append(f"{multiple[1]} * ${multiple[0]}")
            continue
        divisor = next(((index, column[0] // values[0]) for index, (name, column) in enumerate(params)
                        if _whole_multiple(column, values)), None)
        if divisor is not None:  # an earlier parameter is k times this one (MobileNet's hidden = 6 * out)
            index, factor = divisor
            name = params[index][0]
            params[index] = (name, values)
            written = [_scaled(w, name, factor) for w in written]
            written.append(f"${name}")
            continue
        names[key] += 1
        name = key if names[key] == 1 else f"{key}{names[key]}"
        params.append((name, values))
        written.append(f"${name}")
    declared, defaults = [], {}
    for name, values in params:
        value, count = Counter(map(repr, values)).most_common(1)[0]
        if count * 2 > uses:
            defaults[name] = next(v for v in values if repr(v) == value)
            declared.append(f"{name}: {_flow(defaults[name])}")
        else:
            declared.append(name)
    return written, params, declared, defaults


def _flow(value) -> str:
    from cnncalc.importers.writer import scalar

    return scalar(value)


def _substitute(item: Item, values: list) -> Item:
    """The item with its sizes replaced, in `_leaves` order, by `values` (consumed)."""
    settings = tuple((k, values.pop(0) if _is_size(v) else v) for k, v in item.settings)
    branches = tuple(tuple(_substitute(i, values) for i in b) for b in item.branches)
    return Item(item.word, settings, branches)


#: sizes a unit's layers state explicitly while units are compared, so that a stride-1 use and a
#: stride-2 use are one block with a `stride` parameter; dropped again where the block says the default
IMPLICIT = {"conv": (("stride", 1), ("padding", 0)), "depthwise": (("stride", 1), ("padding", 0))}


def _explicit(item: Item) -> Item:
    settings = dict(item.settings)
    for key, default in IMPLICIT.get(item.word, ()):
        settings.setdefault(key, default)
    order = [k for k in ("filters", "kernel", "stride", "padding") if k in settings]
    ordered = [(k, settings[k]) for k in order] + [(k, v) for k, v in settings.items() if k not in order]
    return Item(item.word, tuple(ordered), tuple(tuple(_explicit(i) for i in b) for b in item.branches))


def _implicit(item: Item) -> Item:
    defaults = dict(IMPLICIT.get(item.word, ()))
    settings = tuple((k, v) for k, v in item.settings if k not in defaults or defaults[k] != v)
    return Item(item.word, settings, tuple(tuple(_implicit(i) for i in b) for b in item.branches))


def _blocks(items: tuple[Item, ...]) -> tuple[tuple[Item, ...], tuple[Block, ...]]:
    items = tuple(_explicit(i) for i in items)
    units = _units(items)
    groups: dict[Any, list[tuple[int, int]]] = {}
    for start, end in units:
        key = tuple(_signature(i) for i in items[start:end])
        groups.setdefault(key, []).append((start, end))
    uses: dict[int, tuple[int, Item]] = {}
    blocks: list[Block] = []
    taken: set[str] = set()
    for spans in groups.values():
        if len(spans) < 2:
            continue
        unit_items = [items[s:e] for s, e in spans]
        leaves = [[leaf for i in unit for leaf in _leaves(i, [])] for unit in unit_items]
        columns = [(leaves[0][j][0], [use[j][1] for use in leaves]) for j in range(len(leaves[0]))]
        written, params, declared, defaults = _parameters(columns, len(spans))
        body_values = list(written)
        body = tuple(_implicit(_substitute(i, body_values)) for i in unit_items[0])
        name = _block_name(unit_items[0], taken)
        blocks.append(Block(name, tuple(declared), body))
        for number, (start, end) in enumerate(spans):
            args = tuple((p, column[number]) for p, column in params if defaults.get(p, object()) != column[number])
            uses[start] = (end, Item(name, args))
    result, index = [], 0
    while index < len(items):
        if index in uses:
            end, use = uses[index]
            result.append(use)
            index = end
        else:
            result.append(_implicit(items[index]))
            index += 1
    return tuple(result), tuple(blocks)


def repeats(items: tuple[Item, ...]) -> tuple[Item, ...]:
    """Runs of identical items (or of identical groups of up to LONGEST_PERIOD items) as `repeat:`."""
    result, index = [], 0
    while index < len(items):
        best = (1, 1)  # (period, times)
        for period in range(1, LONGEST_PERIOD + 1):
            times = 1
            window = items[index:index + period]
            if len(window) < period:
                break
            while items[index + times * period:index + (times + 1) * period] == window:
                times += 1
            if times > 1 and period * times > best[0] * best[1]:
                best = (period, times)
        period, times = best
        if times > 1:
            result.append(Item("repeat", (("times", times),), (items[index:index + period],)))
        else:
            result.append(items[index])
        index += period * times
    return tuple(result)


def find(items: tuple[Item, ...]) -> Found:
    with_blocks, blocks = _blocks(items)
    return Found(repeats(with_blocks), blocks)
