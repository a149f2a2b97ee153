"""The methods cnncalc.records gives a record, made (nearly all) without compiling.

`__init__`, `__eq__` and `__hash__` are templates: the code of a function of `count` fields named `_0`,
`_1`..., precompiled in cnncalc/record_templates.py (read from its .pyc; compiling one costs ~0.2 ms, the
first of a process ~0.4; the templates a start-up never uses are in record_templates_rare.py) and renamed
per class with `CodeType.replace` (parameter names, attribute names, the name strings of a frozen store;
the defaults are the function's): each is the code the stdlib compiles for the class (a frozen store calls
`object.__setattr__` through one global), as fast per call or faster. `__repr__`, and an `__init__` with
default factories, keyword-only or init=False fields, are compiled from source text as the stdlib writes
it, when first called. Every method but `__init__` and ordering (closures) is a `Lazy` until first looked
up: made then, from the class's fields (most records of a run are never compared, hashed or printed).
`python -m cnncalc.record_methods > cnncalc/record_templates.py` and `python -m cnncalc.record_methods
record_templates_rare > cnncalc/record_templates_rare.py` write the templates.
"""

from __future__ import annotations

import builtins
import sys
from _thread import get_ident
from operator import attrgetter
from types import FunctionType

from cnncalc import record_templates


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: no default given (this module's own sentinel; a stdlib Field's default is the stdlib's MISSING)
MISSING = _Missing()


class _HasDefaultFactory:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<factory>"


_HAS_DEFAULT_FACTORY = _HasDefaultFactory()


class FrozenInstanceError(AttributeError):
    """Assigning or deleting a field of a frozen record (when the stdlib's dataclasses is loaded, the
    error raised is also its FrozenInstanceError, so that `except dataclasses.FrozenInstanceError` works)."""


_BOTH_ERRORS: dict[type, type] = {}


def frozen_error(message: str) -> FrozenInstanceError:
    stdlib = sys.modules.get("dataclasses")
    if stdlib is None:
        return FrozenInstanceError(message)
    both = _BOTH_ERRORS.get(stdlib.FrozenInstanceError)
    if both is None:
        both = _BOTH_ERRORS[stdlib.FrozenInstanceError] = type(
            "FrozenInstanceError", (FrozenInstanceError, stdlib.FrozenInstanceError), {"__module__": __name__})
    return both(message)


def values_of(names: tuple[str, ...]):
    """The function of an instance that returns the tuple of those attributes (attrgetter's, in C)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda self: (one(self),)
    return lambda self: ()


# -- the methods -----------------------------------------------------------------------------------


def methods(cls, final: list, real: tuple, positional: tuple, defined: frozenset, params, slots: bool,
            explicit_hash: bool) -> dict:
    """What the class gets and does not define itself, by name: __init__, __repr__, __eq__, ordering, the
    frozen __setattr__/__delattr__ (an error if the class defines them), __hash__ by the stdlib's table,
    and the pickling of a frozen slotted class. `final` will hold the class they end up in (a slotted
    class is made again, with them in its body): the methods that need it read it when called. Those
    made from the class's fields alone are `Lazy`: made when first looked up."""
    made: dict = {}

    def add(name: str, method, always: bool = False) -> None:  # the stdlib's `_set_new_attribute`: what
        if always or name not in defined:  # the class defines itself wins
            if type(method) is not Lazy:  # a Lazy names the method it makes
                method.__name__, method.__qualname__, method.__module__ = (
                    name, f"{cls.__qualname__}.{name}", cls.__module__)
            made[name] = method

    if params.init:
        _check_defaults_order(positional)
        add("__init__", _init(cls, final, real, len(positional) == len(real), params.frozen, slots))
    if params.repr:
        add("__repr__", Lazy(LAZY["__repr__"]))
    if params.eq:  # made when first looked up, as __hash__: most records of a run are never compared or hashed
        add("__eq__", Lazy(LAZY["__eq__"]))
    if params.order:
        for name, method in _ordering(values_of(tuple(f.name for f in real if f.compare))):
            if name in defined:
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}. Consider using "
                                "functools.total_ordering")
            add(name, method)
    if params.frozen:
        for name in ("__setattr__", "__delattr__"):
            if name in defined:
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
            add(name, Lazy(LAZY[name]))
    hashing = _hashing(cls, params, explicit_hash)
    if hashing is None:
        made["__hash__"] = None
    elif hashing:  # over the class's own __hash__ too: None, set by its __eq__ (the table decided)
        add("__hash__", Lazy(LAZY["__hash__"]), always=True)
    if params.frozen and slots:
        for name in ("__getstate__", "__setstate__"):
            add(name, Lazy(LAZY[name]))
    return made


def plain_methods(cls, names: tuple[str, ...], defaults: tuple, annotations: tuple, params, slots: bool,
                  post_init: bool) -> dict:
    """`methods` of the common record (cnncalc.records' plain path: positional fields without factories,
    no ordering, none of these methods its own): the same methods, made from its names alone."""
    made: dict = {}
    if params.init:
        kind = ("frozen" if params.frozen else "plain") + ("_post_init" if post_init else "")
        init = made["__init__"] = _templated(cls, "__init__", kind, names, defaults)
        init.__qualname__, init.__module__ = f"{cls.__qualname__}.__init__", cls.__module__
        init.__annotations__ = signature = dict(annotations)  # the general path's: the fields', then "return"
        signature["return"] = None
    if params.repr:
        made["__repr__"] = Lazy(LAZY["__repr__"])
    if params.eq:
        made["__eq__"] = Lazy(LAZY["__eq__"])
    if params.frozen:
        made["__setattr__"], made["__delattr__"] = Lazy(LAZY["__setattr__"]), Lazy(LAZY["__delattr__"])
    hashing = _hashing(cls, params, False)
    if hashing is None:
        made["__hash__"] = None
    elif hashing:
        made["__hash__"] = Lazy(LAZY["__hash__"])
    if params.frozen and slots:
        made["__getstate__"], made["__setstate__"] = Lazy(LAZY["__getstate__"]), Lazy(LAZY["__setstate__"])
    return made


def _hashing(cls, params, explicit: bool) -> bool | None:
    """The stdlib's `_hash_action` table: True, hash the fields (eq and frozen, or unsafe_hash); None,
    unhashable (eq alone); False, leave __hash__ as it is (an explicit one is an error with unsafe_hash)."""
    if params.unsafe_hash:
        if explicit:
            raise TypeError(f"Cannot overwrite attribute __hash__ in class {cls.__name__}")
        return True
    if not params.eq or explicit:
        return False
    return True if params.frozen else None


def _check_defaults_order(positional: tuple) -> None:
    seen_default = None
    for f in positional:
        if f.default is not MISSING or f.default_factory is not MISSING:
            seen_default = seen_default or f
        elif seen_default:
            named = f" {seen_default.name!r}" if sys.version_info >= (3, 13) else ""  # the stdlib's words
            raise TypeError(f"non-default argument {f.name!r} follows default argument{named}")


def _init(cls, final: list, real: tuple, all_positional: bool, frozen: bool, slots: bool):
    """A template's __init__ where every field is a parameter without a factory; else one compiled
    when first called (its own source, as the stdlib writes it)."""
    post_init = hasattr(cls, "__post_init__")
    names = tuple(f.name for f in real)
    if all_positional and "self" not in names and all(f.default_factory is MISSING for f in real):
        kind = ("frozen" if frozen else "plain") + ("_post_init" if post_init else "")
        made = _templated(cls, "__init__", kind, names, tuple(f.default for f in real if f.default is not MISSING))
    else:
        made = _stub(final, "__init__", lambda: _compiled_init(cls, real, frozen, slots, post_init))
    made.__annotations__ = {**{f.name: f.type for f in real if f.init}, "return": None}
    return made


# -- templates: the code of a method of `count` fields `_0`, `_1`..., renamed for a class's fields ---------

#: the stdlib's __eq__ of this Python: a comparison of tuples, or from 3.13 of one field after another
_EQ = "eq_by_field" if sys.version_info >= (3, 13) else "eq"
#: the globals of every templated method: the frozen store (and the builtins: hash, NotImplemented)
_GLOBALS = {"__set": object.__setattr__, "__builtins__": builtins}
_TEMPLATES: dict[tuple[str, int], tuple] = {}


def template_text(kind: str, count: int) -> str:
    """The one-line source of a template: an __init__ ("frozen", "plain", either + "_post_init"), "eq",
    "eq_by_field" (3.13's) or "hash" (record_templates.py holds them up to TEMPLATED fields; others are
    compiled here when needed)."""
    names = [f"_{index}" for index in range(count)]
    mine = "".join(f"self.{name}," for name in names)
    if kind == "eq":  # the stdlib's `if other.__class__ is self.__class__: return (...) == (...)`, on one line
        body = f"return ({mine}) == ({mine.replace('self.', 'other.')}) if other.__class__ is self.__class__ " \
               "else NotImplemented"
        return f"def eq_{count}(self, other): {body}\n"
    if kind == "eq_by_field":  # 3.13's: `self is other`, then field by field (a NaN field is unequal)
        compared = " and ".join(f"self.{name}==other.{name}" for name in names) or "True"
        body = f"return True if self is other else ({compared}) if other.__class__ is self.__class__ " \
               "else NotImplemented"
        return f"def eq_by_field_{count}(self, other): {body}\n"
    if kind == "hash":
        return f"def hash_{count}(self): return hash(({mine}))\n"
    body = [f"__set(self, {name!r}, {name})" if kind.startswith("frozen") else f"self.{name} = {name}"
            for name in names]
    if kind.endswith("_post_init"):
        body.append("self.__post_init__()")
    return f"def {kind}_{count}({', '.join(['self', *names])}): {'; '.join(body) or 'pass'}\n"


def _template(kind: str, count: int) -> tuple:
    """The template's code, and where each of its name tuples holds the run of placeholders `_0`.. (None:
    none there)."""
    found = _TEMPLATES.get((kind, count))
    if found is None:
        made = getattr(_generated(kind), f"{kind}_{count}", None)
        if made is None:
            namespace: dict = {}
            exec(template_text(kind, count), namespace)  # noqa: S102 - our own text, as the stdlib's
            made = namespace.popitem()[1]
        code = made.__code__
        found = _TEMPLATES[kind, count] = (code, *(_run_of(values, count) for values in (
            code.co_varnames, code.co_names, code.co_consts)))
    return found


def _generated(kind: str):
    """The generated module that holds the templates of `kind` (the rare ones' imported when first needed)."""
    if kind in TEMPLATE_KINDS["record_templates"]:
        return record_templates
    from cnncalc import record_templates_rare

    return record_templates_rare


def _run_of(values: tuple, count: int) -> int | None:
    """Where `_0` .. `_{count-1}` stand in `values`, one after another (the templates write them so)."""
    if not count or "_0" not in values:
        return None
    start = values.index("_0")
    assert values[start:start + count] == tuple(f"_{index}" for index in range(count)), values  # as written
    return start


def _spliced(values: tuple, start: int | None, names: tuple[str, ...]) -> tuple:
    return values if start is None else values[:start] + names + values[start + len(names):]


def _qualname(qualname: str) -> dict:
    return {"co_qualname": qualname} if sys.version_info >= (3, 11) else {}


def _templated(cls, name: str, kind: str, names: tuple[str, ...], defaults: tuple = ()):
    """The template's code with its placeholders renamed (parameters, attribute names, the name strings
    of a frozen store): the code the stdlib compiles for the class, without compiling."""
    template, in_varnames, in_names, in_consts = _template(kind, len(names))
    code = template.replace(co_name=name, co_varnames=_spliced(template.co_varnames, in_varnames, names),
                            co_names=_spliced(template.co_names, in_names, names),
                            co_consts=_spliced(template.co_consts, in_consts, names),
                            **_qualname(f"{cls.__qualname__}.{name}"))
    return FunctionType(code, _GLOBALS, name, defaults or None)


def templates_source(module: str = "record_templates") -> str:
    """The text of the generated module cnncalc/<module>.py."""
    lines = ['"""Method templates of cnncalc.records, generated by `python -m cnncalc.record_methods ' + module,
             f'> cnncalc/{module}.py` (do not edit): read from the .pyc, where compiling each costs ~0.2 ms."""',
             "# ruff: noqa", "", "__set = object.__setattr__", ""]
    lines += [template_text(kind, count).rstrip("\n") for kind in TEMPLATE_KINDS[module]
              for count in range(TEMPLATED + 1)]
    return "\n".join(lines) + "\n"


#: the templates of each generated module: what a start-up makes (frozen records' __init__, with or without
#: __post_init__, the plain stores of cnncalc/bulk.py's twins, which every report makes, and the eq and
#: hash of 3.11 and 3.12) is read with record_methods; the others (mutable records' with __post_init__,
#: 3.13's eq) only by a process that makes one (a module less to unmarshal)
TEMPLATE_KINDS = {"record_templates": ("frozen", "frozen_post_init", "plain", "eq", "hash"),
                  "record_templates_rare": ("plain_post_init", "eq_by_field")}

#: the generated modules hold the templates of up to this many fields: cnncalc's largest record has 19
#: (tests/test_records.py checks every one fits). Each count more adds its code to every start-up's read
#: of the file (the templates grow with their field count: 24 would be a third more to unmarshal).
TEMPLATED = 20


# -- compiled when first called ------------------------------------------------------------------------


def _stub(final: list, name: str, build):
    """A method that, when first called, replaces itself on the class (`final[0]`) with `build()` and
    calls that."""

    def stub(self, *args, **kwargs):
        owner = final[0]
        real = build()
        real.__name__, real.__qualname__, real.__module__ = name, f"{owner.__qualname__}.{name}", owner.__module__
        type.__setattr__(owner, name, real)
        return real(self, *args, **kwargs)

    return stub


def _compiled_init(cls, real: tuple, frozen: bool, slots: bool, post_init: bool):
    """The stdlib's `_init_fn`: factories called per instance (a parameter's when it is left out), a
    non-init field's default stored when slotted (else the class attribute is it), keyword-only fields."""
    me = "__dataclass_self__" if any(f.name == "self" for f in real) else "self"
    namespace = {"__set": object.__setattr__, "_HAS_DEFAULT_FACTORY": _HAS_DEFAULT_FACTORY}
    positional, keywords, body = [me], [], []
    for f in real:
        default_name, default = f"_dflt_{f.name}", ""
        if f.default_factory is not MISSING:
            namespace[default_name] = f.default_factory
            default = "=_HAS_DEFAULT_FACTORY"
            value = f"{default_name}() if {f.name} is _HAS_DEFAULT_FACTORY else {f.name}" if f.init else f"{default_name}()"
        elif f.default is not MISSING:
            namespace[default_name] = f.default
            default = f"={default_name}"
            value = f.name if f.init else (default_name if slots else None)
        else:
            value = f.name if f.init else None
        if f.init:
            (keywords if f.kw_only else positional).append(f.name + default)
        if value is not None:
            body.append(f"__set({me}, {f.name!r}, {value})" if frozen else f"{me}.{f.name} = {value}")
    if post_init:
        body.append(f"{me}.__post_init__()")
    parameters = ", ".join(positional + (["*", *keywords] if keywords else []))
    made = _compiled("__init__", parameters, body, namespace)
    made.__annotations__ = {**{f.name: f.type for f in real if f.init}, "return": None}
    return made


def _compiled(name: str, parameters: str, body: list[str], namespace: dict):
    text = f"def {name}({parameters}):\n" + "".join(f"    {line}\n" for line in body or ["pass"])
    exec(text, namespace)  # noqa: S102 - our own text, as the stdlib's
    return namespace[name]


def _repr(names: tuple[str, ...]):
    """The stdlib's `Name(a=1, b='x')` (an f-string), and `...` for a record met again inside its own repr
    (the stdlib's reprlib guard: per thread and instance)."""
    shown = ", ".join(f"{name}={{self.{name}!r}}" for name in names)
    text = _compiled("__repr__", "self", [f'return self.__class__.__qualname__ + f"({shown})"'], {})
    running: set = set()

    def __repr__(self):
        key = id(self), get_ident()
        if key in running:
            return "..."
        running.add(key)
        try:
            return text(self)
        finally:
            running.discard(key)

    return __repr__


def _ordering(values):
    from operator import ge, gt, le, lt

    def method(compare):
        def ordered(self, other):
            if other.__class__ is self.__class__:
                return compare(values(self), values(other))
            return NotImplemented

        return ordered

    return [("__lt__", method(lt)), ("__le__", method(le)), ("__gt__", method(gt)), ("__ge__", method(ge))]


def _frozen_setattr(klass):
    names = frozenset(klass.__dataclass_fields__)

    def __setattr__(self, name, value):
        if type(self) is klass or name in names:
            raise frozen_error(f"cannot assign to field {name!r}")
        super(klass, self).__setattr__(name, value)

    return __setattr__


def _frozen_delattr(klass):
    names = frozenset(klass.__dataclass_fields__)

    def __delattr__(self, name):
        if type(self) is klass or name in names:
            raise frozen_error(f"cannot delete field {name!r}")
        super(klass, self).__delattr__(name)

    return __delattr__


def _getstate(klass):
    """A frozen slotted record has no __dict__ to pickle: its state is the list of its fields."""
    values = values_of(tuple(klass.__dataclass_fields__))

    def __getstate__(self):
        return list(values(self))

    return __getstate__


def _setstate(klass):
    names = tuple(klass.__dataclass_fields__)

    def __setstate__(self, state):
        for name, value in zip(names, state):
            object.__setattr__(self, name, value)

    return __setstate__


def _shown(klass) -> tuple[str, ...]:
    return tuple(f.name for f in klass.__dataclass_fields__.values() if f.repr)


def _compared(klass) -> tuple[str, ...]:
    return tuple(f.name for f in klass.__dataclass_fields__.values() if f.compare)


def _hashed(klass) -> tuple[str, ...]:
    return tuple(f.name for f in klass.__dataclass_fields__.values() if (f.compare if f.hash is None else f.hash))


class Lazy(tuple):
    """A method of a record made when it is first looked up (called, or read from the class): then the
    class's own, made from its fields as the stdlib's decorator would have made it, replaces it on the
    class, where every later lookup finds it. Most records of a run are never printed, compared, hashed,
    pickled or assigned to, and a Lazy costs less to make than a function: a tuple (its name and the
    function that makes the method from the class), made in C. One per method and class: the class it
    is found in is the one it belongs to (a `super()` lookup from a subclass record finds its base's)."""

    __slots__ = ()

    def __get__(self, instance, owner=None):
        name, make = self
        owner = type(instance) if owner is None else owner
        klass = next(base for base in owner.__mro__ if base.__dict__.get(name) is self)
        real = make(klass)
        real.__name__, real.__qualname__, real.__module__ = name, f"{klass.__qualname__}.{name}", klass.__module__
        type.__setattr__(klass, name, real)
        return real.__get__(instance, owner)


#: what a Lazy holds, by method name: (the name, the function that makes the method from the class)
LAZY = {name: (name, make) for name, make in (
    ("__repr__", lambda klass: _repr(_shown(klass))),
    ("__eq__", lambda klass: _templated(klass, "__eq__", _EQ, _compared(klass))),
    ("__hash__", lambda klass: _templated(klass, "__hash__", "hash", _hashed(klass))),
    ("__setattr__", _frozen_setattr), ("__delattr__", _frozen_delattr),
    ("__getstate__", _getstate), ("__setstate__", _setstate))}


if __name__ == "__main__":
    sys.stdout.write(templates_source(*sys.argv[1:]))
