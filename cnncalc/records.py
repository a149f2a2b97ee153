"""`dataclass`: the stdlib's `dataclasses.dataclass`, with each generated method compiled when first used.

The stdlib writes every class's `__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__` and
`__delattr__` as source text and compiles it while the class is defined: about 1 ms a frozen class on
the 2-core CI machine, for the ~60 classes `cnncalc analyze` imports a third of its start-up, though a
run prints, compares or hashes few of them. Here the stdlib still processes the fields (so `fields()`,
`replace()`, `asdict()`, `__match_args__` and `slots=True` are its own), and each method is a stub that
compiles the method the stdlib would have written, installs it on the class and calls it: the second
call on is the generated code itself, as fast as the stdlib's. What it supports is what cnncalc uses:
`frozen`, `slots` and `eq`; any other option (and an `InitVar`) is handed to the stdlib unchanged.
"""

from __future__ import annotations

import dataclasses
import reprlib
from dataclasses import MISSING, FrozenInstanceError, fields
from functools import lru_cache
from types import CodeType, FunctionType

#: the options this module implements itself; with any other, the stdlib's dataclass is used
_OWN_OPTIONS = frozenset({"frozen", "slots", "eq"})


def dataclass(cls=None, /, **options):
    """`dataclasses.dataclass(cls, **options)`, the same class, its methods generated on first use."""

    def wrap(cls):
        if not options.keys() <= _OWN_OPTIONS or _has_init_var(cls):
            return dataclasses.dataclass(cls, **options)
        return _lazy_dataclass(cls, options.get("frozen", False), options.get("slots", False), options.get("eq", True))

    return wrap if cls is None else wrap(cls)


def _has_init_var(cls) -> bool:
    return any("InitVar" in str(kind) for kind in cls.__dict__.get("__annotations__", {}).values())


def _lazy_dataclass(cls, frozen: bool, slots: bool, eq: bool):
    own = dict(cls.__dict__)  # what the class defines itself wins, as with the stdlib
    if not own.get("__doc__"):
        cls.__doc__ = cls.__name__  # for now: the stdlib would compute a signature for it (written below)
    made = dataclasses.dataclass(cls, init=False, repr=False, eq=False, slots=slots)
    every = fields(made)
    _check_defaults_order(made, every)
    defined = {name: name in own for name in ("__init__", "__repr__", "__eq__")}
    if not defined["__init__"]:
        made.__init__ = _stub(made, "__init__", lambda: _init_fn(made, every, frozen))
    if not defined["__repr__"]:
        made.__repr__ = _stub(made, "__repr__", lambda: reprlib.recursive_repr()(_repr_fn(made, every)))
    if eq and not defined["__eq__"]:
        made.__eq__ = _stub(made, "__eq__", lambda: _eq_fn(made, every))
    explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    if eq and not explicit_hash:  # the stdlib's rule without unsafe_hash: frozen hashes its fields, else unhashable
        made.__hash__ = _stub(made, "__hash__", lambda: _hash_fn(made, every)) if frozen else None
    if frozen:
        _freeze(made, own, slots, every)
    if not own.get("__doc__"):
        made.__doc__ = made.__name__ + "(" + ", ".join(f"{f.name}: {f.type}" for f in every if f.init) + ")"
    return made


def _check_defaults_order(cls, every) -> None:
    """The stdlib's TypeError at definition, not a SyntaxError when the class is first made."""
    seen_default = False
    for f in every:
        if not f.init or f.kw_only:
            continue
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        if seen_default and not has_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
        seen_default = seen_default or has_default


def _stub(owner, name: str, build):
    """A method that, when first called, replaces itself on `owner` with `build()` and calls that."""

    def stub(self, *args, **kwargs):
        real = build()
        real.__qualname__ = f"{owner.__qualname__}.{name}"
        type.__setattr__(owner, name, real)
        return real(self, *args, **kwargs)

    stub.__name__ = name
    stub.__qualname__ = f"{owner.__qualname__}.{name}"
    return stub


def _compile(name: str, params: str, body: list[str], namespace: dict):
    """The function `def name(params): body`, its free names looked up in `namespace`."""
    text = f"def {name}({params}):\n" + "\n".join(f"    {line}" for line in body or ["pass"])
    exec(text, namespace)  # noqa: S102 - our own source text, as the stdlib's dataclasses writes
    return namespace[name]


class _HasDefaultFactory:
    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _HasDefaultFactory()


def _init_fn(cls, every, frozen: bool):
    """The stdlib's __init__: the init fields as parameters (keyword-only ones after `*`), factories
    called per instance, `object.__setattr__` for a frozen class, then `__post_init__`."""
    if all(f.init and f.default_factory is MISSING and not f.kw_only for f in every):
        return _plain_init(cls, every, frozen)
    namespace = {"__set": object.__setattr__, "__factory": _FACTORY}
    positional, keyword, body = ["self"], [], []
    for f in every:
        value = f.name
        if f.default is not MISSING:
            namespace[f"__default_{f.name}"] = f.default
            default = f"=__default_{f.name}"
        elif f.default_factory is not MISSING:
            namespace[f"__make_{f.name}"] = f.default_factory
            default = "=__factory"
            value = f"__make_{f.name}() if {f.name} is __factory else {f.name}"
        else:
            default = ""
        if not f.init:
            if f.default_factory is not MISSING:
                value = f"__make_{f.name}()"
            elif f.default is not MISSING:
                value = f"__default_{f.name}"
            else:
                continue
        elif f.kw_only:
            keyword.append(f.name + default)
        else:
            positional.append(f.name + default)
        body.append(f"__set(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    params = ", ".join(positional + (["*"] + keyword if keyword else []))
    return _compile("__init__", params, body, namespace)


@lru_cache(maxsize=None)
def _init_template(count: int, frozen: bool, post_init: bool) -> CodeType:
    """The code of an __init__ that stores `count` parameters `_0`, `_1`... as fields of the same names."""
    names = [f"_{index}" for index in range(count)]
    body = [f"__set(self, {name!r}, {name})" if frozen else f"self.{name} = {name}" for name in names]
    if post_init:
        body.append("self.__post_init__()")
    return _compile("__init__", ", ".join(["self", *names]), body, {}).__code__


def _plain_init(cls, every, frozen: bool):
    """The __init__ of fields that are all parameters, their defaults the function's: one template's code
    per number of fields, renamed (compiling each class's own costs ~0.1-0.3 ms, 50 of them a run)."""
    names = tuple(f.name for f in every)
    template = _init_template(len(names), frozen, hasattr(cls, "__post_init__"))
    placeholders = {f"_{index}": name for index, name in enumerate(names)}
    code = template.replace(co_varnames=("self", *names),
                            co_consts=tuple(placeholders.get(c, c) if type(c) is str else c for c in template.co_consts),
                            co_names=tuple(placeholders.get(n, n) for n in template.co_names),
                            co_qualname=f"{cls.__qualname__}.__init__")
    defaults = tuple(f.default for f in every if f.default is not MISSING)
    return FunctionType(code, {"__set": object.__setattr__}, "__init__", defaults or None)


def _repr_fn(cls, every):
    shown = ", ".join(f"{f.name}={{self.{f.name}!r}}" for f in every if f.repr)
    return _compile("__repr__", "self", [f'return f"{{self.__class__.__qualname__}}({shown})"'], {})


def _compared(every) -> str:
    return "".join(f"self.{f.name}," for f in every if f.compare)


def _eq_fn(cls, every):
    mine = _compared(every)
    theirs = mine.replace("self.", "other.")
    return _compile("__eq__", "self, other", [
        "if other.__class__ is self.__class__:",
        f"    return ({mine}) == ({theirs})",
        "return NotImplemented",
    ], {})


def _hash_fn(cls, every):
    hashed = "".join(f"self.{f.name}," for f in every if (f.compare if f.hash is None else f.hash))
    return _compile("__hash__", "self", [f"return hash(({hashed}))"], {})


def _freeze(cls, own: dict, slots: bool, every) -> None:
    """Assigning or deleting a field raises FrozenInstanceError (as the stdlib's frozen classes); a slotted
    class pickles and copies through its fields, as the stdlib's does."""
    for name in ("__setattr__", "__delattr__"):
        if name in own:
            raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
    names = frozenset(f.name for f in every)

    def __setattr__(self, name, value):
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self, name):
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    for method in (__setattr__, __delattr__):
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        type.__setattr__(cls, method.__name__, method)
    if slots and "__getstate__" not in own:
        ordered = tuple(f.name for f in every)

        def __getstate__(self):
            return [getattr(self, name) for name in ordered]

        def __setstate__(self, state):
            for name, value in zip(ordered, state):
                object.__setattr__(self, name, value)

        cls.__getstate__ = __getstate__
        cls.__setstate__ = __setstate__
