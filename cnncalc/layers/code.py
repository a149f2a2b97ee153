"""What a layer kind gives `cnncalc export --to pytorch` (`LayerKind.torch_code`): the PyTorch code
of one layer, as plain values. No torch here: the exporter writes text, and torch is never a
runtime dependency.

A layer is a constructor call (`Construct`, rendered as `nn.Conv2d(3, 64, kernel_size=3)`), a
forward expression around it (`TorchCode.call`: how the module is applied to the layer's inputs;
merges have no module and are only an expression) and the executor's arrays it loads
(`WeightLoad`: which of the module's tensors an array fills, and how its axes are rearranged from
the executor's channels-last layouts to PyTorch's).
"""

from __future__ import annotations

import math
from cnncalc.records import dataclass
from typing import Any, Union

Value = Union[int, float, bool, str, None, tuple, "Construct"]


#: a keyword argument without a default: always written
REQUIRED = object()


@dataclass(frozen=True, slots=True)
class Construct:
    """A call `callee(arg, ..., key=value, ...)`; each argument named (the exporter names a block
    class's parameters after them). `positional` arguments are written without their names;
    `keywords` are (name, value) or (name, value, default): a keyword at its default is left out
    where it is written."""

    callee: str
    positional: tuple[tuple[str, Value], ...] = ()
    keywords: tuple[tuple, ...] = ()

    def render(self) -> str:
        """The call, keywords at their default left out."""
        slots, defaults = self.slots(), self.defaults()
        dropped = frozenset(i for i, ((_, v), d) in enumerate(zip(slots, defaults)) if same(v, d))
        return self.template(dropped).format(*(repr_value(v) for i, (_, v) in enumerate(slots) if i not in dropped))

    def _arguments(self):
        for name, value in self.positional:
            yield None, name, value, REQUIRED
        for name, value, *default in self.keywords:
            yield name, name, value, default[0] if default else REQUIRED

    def slots(self) -> tuple[tuple[str, Any], ...]:
        """Every literal argument, depth first, in the order `template` leaves a {} for it."""
        out: list[tuple[str, Any]] = []
        for _, name, value, _ in self._arguments():
            out.extend(value.slots() if isinstance(value, Construct) else ((name, value),))
        return tuple(out)

    def defaults(self) -> tuple:
        """Per slot, its default (REQUIRED where there is none)."""
        out: list = []
        for _, _, value, default in self._arguments():
            out.extend(value.defaults() if isinstance(value, Construct) else (default,))
        return tuple(out)

    def template(self, dropped: frozenset[int] = frozenset(), start: int = 0) -> str:
        """The call with a `{}` in place of every literal; the keywords of the slots in `dropped`
        (indices counted from `start`) left out."""
        parts, index = [], start
        for keyword, _, value, _ in self._arguments():
            if isinstance(value, Construct):
                text = value.template(dropped, index)
                index += len(value.slots())
            else:
                text = "{}"
                index += 1
                if index - 1 in dropped:
                    continue
            parts.append(text if keyword is None else f"{keyword}={text}")
        return f"{self.callee}({', '.join(parts)})"


def same(value, default) -> bool:
    """Whether a literal is its default (1 is not True, 1.0 is not 1: they are written differently)."""
    return default is not REQUIRED and type(value) is type(default) and value == default


def repr_value(value) -> str:
    """Python source of a literal: ints, floats (shortest round trip), bools, strings, tuples."""
    if isinstance(value, tuple):
        inner = ", ".join(repr_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if isinstance(value, float) and value == int(value) and abs(value) < 1e15:
        return f"{value:.1f}"
    return repr(value)


def per_axis(values: tuple[int, ...]) -> int | tuple[int, ...]:
    """One number when every axis agrees (kernel_size=3), else the tuple ((1, 7))."""
    return values[0] if values and all(v == values[0] for v in values) else tuple(values)


def keywords(*triples: tuple[str, Any, Any]) -> tuple[tuple[str, Any, Any], ...]:
    """(name, value, default) keyword arguments: written only where they differ from the default."""
    return tuple(triples)


@dataclass(frozen=True, slots=True)
class WeightLoad:
    """One of the executor's arrays (`source`: its name in `Weights`, e.g. "kernel") loaded into
    the module's tensor `target` (a dotted path inside the layer's module: "weight", "1.weight")."""

    target: str
    source: str
    #: the permutation of the array's axes into PyTorch's layout (() = as it is).
    order: tuple[int, ...] = ()
    #: a matrix whose rows flatten a channels-last map of these dims (*spatial, C): its rows are
    #: reordered as PyTorch flattens (C, *spatial) before `order` applies.
    rows: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class TorchCode:
    """One layer in the exported module: `module` built in `__init__` (None for merges, which are
    forward code only) and `call`, its forward expression, with the placeholders {module} (the
    module), {x} (the first input), {x0}, {x1}, ... (each input), {inputs} (every input,
    comma-separated) and {sum} (every input joined by +)."""

    module: Construct | None
    call: str = "{module}({x})"
    weights: tuple[WeightLoad, ...] = ()
    #: a flatten of a feature map (*spatial, C): PyTorch's (C, *spatial) order differs from the
    #: executor's channels-last one, so a matrix that reads it reorders its rows (`WeightLoad.rows`).
    flattens: tuple[int, ...] = ()
    #: the module itself returns channels-last (*spatial, C) (a linear layer on every position,
    #: `call` moving the channels around it): a forward hook on it sees that, not NCHW.
    channels_last_module: bool = False
    #: Python source of the classes `module` uses that torch.nn lacks (written once per file).
    helpers: tuple[str, ...] = ()


def module(callee: str, *pairs: tuple[str, Any, Any]) -> TorchCode:
    """A layer that is one module applied to its input, with these (name, value, default) keywords."""
    return TorchCode(Construct(callee, (), keywords(*pairs)))


def conv_order(rank: int) -> tuple[int, ...]:
    """(*K, C_in/groups, filters) or a transposed conv's (*K, filters/groups, C_in), TensorFlow's
    layouts, as PyTorch's (filters, C_in/groups, *K) / (C_in, filters/groups, *K)."""
    return (rank + 1, rank, *range(rank))


def torch_pads(pads: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """(before, after) per spatial axis in F.pad's order, which starts at the last axis."""
    return tuple(n for before_after in reversed(pads) for n in before_after)


class NoTorchCode(ValueError):
    """A layer the exporter cannot write as PyTorch code (the kind declares none, or this setting
    has no PyTorch equivalent); the exporter reports it at the layer, with a code."""
