"""Frozen records without the stdlib's `dataclasses`: `dataclass`, `field`, `fields`, `replace`, `MISSING`.

`import dataclasses` costs ~11 ms of start-up (it imports inspect, and with it dis, ast, tokenize,
linecache), and the stdlib's decorator writes each class's `__init__`, `__repr__`, `__eq__`, `__hash__`,
`__setattr__` and `__delattr__` as source text and compiles it (~1 ms a frozen class on the 2-core CI
machine; `cnncalc analyze` defines ~60). This module makes the same classes without either: the class
is processed here, and cnncalc/record_methods.py gives it its methods without compiling (templates of
precompiled code, renamed per class; see there). The common record (plain string annotations on
`object`, plain defaults: nearly all of cnncalc's) takes a plain path that makes the general path's class
in about half the time (no Field objects until its fields are first read; tests/test_record_plain.py
holds the two paths to each other and to the stdlib).

The classes follow the stdlib's rules (tests/test_records.py holds them to the running Python's
stdlib): field order through the MRO, defaults and factories, ClassVar annotations left out (as strings
too, looked up as the stdlib does), `__match_args__`, the docstring of the signature, equality and
ordering on the compared fields, the eq/frozen/unsafe_hash table of `__hash__` (the same hash values),
frozen errors, slots (a new class), pickling, abstract methods, and the same TypeErrors and ValueErrors
at definition. The stdlib's own functions work on these classes (`dataclasses.fields`, `replace`,
`asdict`, `is_dataclass`: `Field._field_type` imports the stdlib only when they ask), and this module's
on the stdlib's classes; stdlib `field()`s are accepted in a class body. Not supported: `InitVar` and
`KW_ONLY` (a TypeError: use `dataclasses.dataclass` for such a class).

Three differences: a Field's missing default is this module's `MISSING`, not the stdlib's; a frozen
slotted class refuses every assignment with FrozenInstanceError (3.11's stdlib fails in `super()` with
a TypeError on a name that is not a field); and what most classes of a run never use is made when first
looked up: the signature docstring, every method but `__init__` and ordering (`record_methods.Lazy`),
and a common record's fields (`PlainFields`). `cls.__doc__`, `cls.__eq__`, `cls.__dataclass_fields__`
are the stdlib's, but until first read `vars(cls)` holds the stand-in that makes them (then the thing
itself). An `init=False` class's docstring is its name, where the stdlib's is its name and "()".
"""

from __future__ import annotations

import sys
from abc import update_abstractmethods
from types import GetSetDescriptorType, MappingProxyType, MemberDescriptorType

from cnncalc.record_methods import MISSING, FrozenInstanceError, methods, plain_methods, values_of

_EMPTY_METADATA = MappingProxyType({})

__all__ = ["MISSING", "Field", "FrozenInstanceError", "dataclass", "field", "fields", "replace"]


class Field:
    """One field, as the stdlib's `dataclasses.Field` (the same attributes)."""

    __slots__ = ("name", "type", "default", "default_factory", "init", "repr", "hash", "compare", "metadata",
                 "kw_only")

    def __init__(self, default, default_factory, init, repr, hash, compare, metadata, kw_only):  # noqa: A002
        self.name = None
        self.type = None
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.hash = hash
        self.compare = compare
        self.metadata = _EMPTY_METADATA if metadata is None else MappingProxyType(metadata)
        self.kw_only = kw_only

    @property
    def _field_type(self):
        """What the stdlib's functions check (`dataclasses.fields(record)`): a plain field."""
        import dataclasses  # only they ask, so it is loaded already

        return dataclasses._FIELD

    def __repr__(self) -> str:
        return (f"Field(name={self.name!r},type={self.type!r},default={self.default!r},"
                f"default_factory={self.default_factory!r},init={self.init!r},repr={self.repr!r},"
                f"hash={self.hash!r},compare={self.compare!r},metadata={self.metadata!r},kw_only={self.kw_only!r})")

    def __set_name__(self, owner, name) -> None:
        hook = getattr(type(self.default), "__set_name__", None)
        if hook:
            hook(self.default, owner, name)  # a descriptor as the default: as the stdlib's Field


def field(*, default=MISSING, default_factory=MISSING, init=True, repr=True, hash=None,  # noqa: A002
          compare=True, metadata=None, kw_only=MISSING) -> Field:
    """`dataclasses.field`: a field's default or factory and whether init, repr, eq and hash use it."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, init, repr, hash, compare, metadata, kw_only)


class _Params:
    """`__dataclass_params__`, which the stdlib's decorator reads from the bases of a class it makes."""

    __slots__ = ("init", "repr", "eq", "order", "unsafe_hash", "frozen")

    def __init__(self, init, repr, eq, order, unsafe_hash, frozen):  # noqa: A002
        self.init, self.repr, self.eq, self.order, self.unsafe_hash, self.frozen = (
            init, repr, eq, order, unsafe_hash, frozen)

    def __repr__(self) -> str:
        return ("_DataclassParams(" + ",".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__) + ")")


def dataclass(cls=None, /, *, init=True, repr=True, eq=True, order=False, unsafe_hash=False,  # noqa: A002
              frozen=False, match_args=True, kw_only=False, slots=False, weakref_slot=False):
    """`dataclasses.dataclass` with the same options and the same class, made without compiling."""

    def wrap(cls):
        return _process(cls, _Params(init, repr, eq, order, unsafe_hash, frozen), match_args, kw_only, slots,
                        weakref_slot)

    return wrap if cls is None else wrap(cls)


def fields(class_or_instance) -> tuple:
    """`dataclasses.fields`: the fields of a record (or of a stdlib dataclass), in order."""
    try:
        found = class_or_instance.__dataclass_fields__
    except AttributeError:
        raise TypeError("must be called with a dataclass type or instance") from None
    return tuple(f for f in found.values() if type(f) is Field or _is_stdlib_field(f, "_FIELD"))


def _is_stdlib_field(f, kind: str) -> bool:
    """A stdlib `dataclasses.Field` of that kind (its module is loaded, or no such field exists)."""
    return f._field_type is getattr(sys.modules["dataclasses"], kind)


#: per class, what replace() copies: the init fields' names, their getter, the names it refuses
_REPLACING: dict[type, tuple] = {}


def replace(obj, /, **changes):
    """`dataclasses.replace`: a copy of the record with `changes`, made through its __init__."""
    plan = _REPLACING.get(obj.__class__) or _replace_plan(obj.__class__)
    if plan[0] is None:  # a stdlib dataclass with InitVars: the stdlib's rules
        import dataclasses

        return dataclasses.replace(obj, **changes)
    names, values, refused = plan
    for name in refused:
        if name in changes:
            raise (TypeError if sys.version_info >= (3, 13) else ValueError)(  # as the stdlib's of this Python
                f"field {name} is declared with init=False, it cannot be specified with replace()")
    copied = dict(zip(names, values(obj)))
    copied.update(changes)
    return obj.__class__(**copied)


def _replace_plan(cls) -> tuple:
    every = getattr(cls, "__dataclass_fields__", None)
    if every is None:
        raise TypeError("replace() should be called on dataclass instances")
    if any(type(f) is not Field and _is_stdlib_field(f, "_FIELD_INITVAR") for f in every.values()):
        plan = (None, None, None)
    else:
        real = fields(cls)
        names = tuple(f.name for f in real if f.init)
        plan = (names, values_of(names), tuple(f.name for f in real if not f.init))
    _REPLACING[cls] = plan
    return plan


class SignatureDoc:
    """A record's `__doc__`, the stdlib's signature text, written when first read: most records' docs never
    are, and writing one costs more than the rest of making its class's methods. A class's `__doc__` and
    an instance's both read it (the type's `__doc__` calls a descriptor it finds in the class; every
    subclass has a `__doc__` of its own, so the class read is the record), and the text replaces it."""

    __slots__ = ()

    def __get__(self, instance, owner=None) -> str:
        from cnncalc.record_docs import signature_doc

        owner = type(instance) if owner is None else owner
        real = tuple(owner.__dataclass_fields__.values())
        text = signature_doc(owner.__name__, real, tuple(f for f in real if f.init and not f.kw_only))
        type.__setattr__(owner, "__doc__", text)
        return text


# -- making the class ------------------------------------------------------------------------------


def _process(cls, params: _Params, match_args: bool, kw_only: bool, slots: bool, weakref_slot: bool):
    """The stdlib's `_process_class`, step by step, without compiling the methods."""
    own = cls.__dict__.copy()  # the class body as it is now (a dict: read faster than the class's proxy)
    annotations = own.get("__annotations__", {})
    plain = _plain_defaults(cls, own, annotations, params, kw_only, weakref_slot)
    if plain is not None:
        return _process_plain(cls, own, tuple(annotations.items()), *plain, params, match_args, slots)
    own_hash = own.get("__hash__", MISSING)
    defined = frozenset(own)
    every = _fields_of(cls, own, annotations, params, kw_only)
    if params.order and not params.eq:
        raise ValueError("eq must be true if order is true")
    if weakref_slot and not slots:
        raise TypeError("weakref_slot is True but slots is False")
    real = tuple(every.values())
    positional = tuple(f for f in real if f.init and not f.kw_only)
    final: list = [cls]  # the class the methods end up in: a slotted one is made again, with them in its body
    explicit_hash = not (own_hash is MISSING or (own_hash is None and "__eq__" in defined))
    added = methods(cls, final, real, positional, defined, params, slots, explicit_hash)
    added["__dataclass_params__"], added["__dataclass_fields__"] = params, every
    if match_args and "__match_args__" not in defined:
        added["__match_args__"] = tuple(f.name for f in positional)
    final[0] = made = _finish(cls, added, tuple(every), params, slots, weakref_slot, None)
    return made


def _finish(cls, added: dict, names: tuple[str, ...], params: _Params, slots: bool, weakref_slot: bool,
            body: dict | None):
    """The class with the `added` attributes: the docstring of its signature unless it has one, and
    `__replace__` from 3.13; a slotted one made again (from `body`, the class's dict as it is, where given)."""
    if not getattr(cls, "__doc__"):
        added["__doc__"] = SignatureDoc() if params.init else cls.__name__
    if sys.version_info >= (3, 13) and "__replace__" not in cls.__dict__:
        added["__replace__"] = replace  # copy.replace(), as the stdlib's from 3.13
    if slots:
        cls = _with_slots(cls, names, weakref_slot, added, body)
    else:
        for name, value in added.items():
            setattr(cls, name, value)
    if "__abstractmethods__" in cls.__dict__:  # what abc's hasattr() looks at, without raising for the others
        update_abstractmethods(cls)
    return cls


# -- the common record: a class of plain fields ---------------------------------------------------------

#: what a class finds through `type` and `object` (a field so named takes its default from there)
_INHERITED = frozenset(vars(type)) | frozenset(vars(object))
#: what the decorator adds or checks: a class that defines one takes the general path
_ADDED = frozenset({"__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__", "__getstate__",
                    "__setstate__", "__match_args__", "__slots__", "__replace__", "__abstractmethods__",
                    "__dataclass_fields__", "__dataclass_params__", "__lt__", "__le__", "__gt__", "__ge__"})


def _plain_defaults(cls, own, annotations: dict, params: _Params, kw_only: bool, weakref_slot: bool):
    """The names of the common record's fields and the defaults of the last ones, or None for any other
    class. Common: a class of `type` on `object` alone (no inherited fields, defaults in its own body),
    whose annotations are strings naming no ClassVar, InitVar or KW_ONLY, with no field() in its body,
    no default the general path refuses, nothing the decorator would add, positional fields, and no
    ordering or weakref slot. Its class is the general path's, made in about half the time."""
    if cls.__bases__ != (object,) or type(cls) is not type or kw_only or params.order or weakref_slot or (
            not _ADDED.isdisjoint(own)) or not _INHERITED.isdisjoint(annotations) or "self" in annotations:
        return None
    try:  # every annotation a string (join takes nothing else), none naming a pseudo-field
        text = "\0".join(annotations.values())
    except TypeError:
        return None
    if "ClassVar" in text or "InitVar" in text or "KW_ONLY" in text or _holds_a_field(own):
        return None
    names = tuple(annotations)
    defaults = []
    for name in names:
        if name in own:
            default = own[name]
            if default.__class__.__hash__ is None or type(default) is MemberDescriptorType:
                return None  # a mutable default (the general path's error), or a slot's descriptor
            defaults.append(default)
        elif defaults:
            return None  # a field without a default after one with: the general path's error
    return names, tuple(defaults)


#: the types of a class body's usual values, whose instances are no Field (their __class__ is their type)
_PLAIN_KINDS = frozenset({str, int, float, bool, type(None), tuple, frozenset, dict, property, staticmethod,
                          classmethod, type(lambda: None), GetSetDescriptorType, MemberDescriptorType})


def _holds_a_field(own) -> bool:
    """A Field (this module's or the stdlib's) among a class body's values, as isinstance finds it (asked
    only of the values of unusual types)."""
    for value in own.values():
        if type(value) not in _PLAIN_KINDS and isinstance(value, _field_types()):
            return True
    return False


def _process_plain(cls, own, annotations: tuple, names: tuple[str, ...], defaults: tuple, params: _Params,
                   match_args: bool, slots: bool):
    """The common record's class: its fields made when first read (`PlainFields`)."""
    added = plain_methods(cls, names, defaults, annotations, params, slots, "__post_init__" in own)
    added["__dataclass_params__"] = params
    added["__dataclass_fields__"] = PlainFields((annotations, (MISSING,) * (len(names) - len(defaults)) + defaults))
    if match_args:
        added["__match_args__"] = names
    return _finish(cls, added, names, params, slots, False, own)


class PlainFields(tuple):
    """A common record's `__dataclass_fields__` until first read: then its Fields (the general path's),
    made from (its annotations' items, their defaults), replace it on the class. Most records' fields
    are never read in a run (their methods are made without them)."""

    __slots__ = ()

    def __get__(self, instance, owner=None):
        owner = type(instance) if owner is None else owner
        klass = next(base for base in owner.__mro__ if base.__dict__.get("__dataclass_fields__") is self)
        annotations, values = self
        every = {}
        for (name, annotation), default in zip(annotations, values):
            made = every[name] = Field(default, MISSING, True, True, None, True, None, False)
            made.name, made.type = name, annotation
        type.__setattr__(klass, "__dataclass_fields__", every)
        return every


def _fields_of(cls, own, annotations: dict, params: _Params, kw_only: bool) -> dict:
    """The fields of any class, as the stdlib finds them: its dataclass bases', then its own annotations'
    (a field() in its body replaced by its default), with the stdlib's errors."""
    every, frozen_bases = _inherited_fields(cls)
    field_types = _field_types()
    for f, class_var, in_body in _own_fields(cls, annotations, kw_only, field_types):
        if not class_var:
            every[f.name] = f
        if in_body:  # a field() in the class body (the stdlib looks the name up again: the same answer)
            if f.default is MISSING:
                delattr(cls, f.name)  # a default lives in the class, as a plain value
            else:
                setattr(cls, f.name, f.default)
    for name, value in own.items():
        if isinstance(value, field_types) and name not in annotations:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    if frozen_bases is not None and frozen_bases != bool(params.frozen):
        raise TypeError("cannot inherit non-frozen dataclass from a frozen one" if frozen_bases
                        else "cannot inherit frozen dataclass from a non-frozen one")
    return every


def _field_types() -> tuple[type, ...]:
    """Field objects this module accepts in a class body: its own, and the stdlib's where it is loaded."""
    stdlib = sys.modules.get("dataclasses")
    return (Field,) if stdlib is None else (Field, stdlib.Field)


def _as_own(f) -> Field:
    """A stdlib `dataclasses.Field` as this module's (its MISSING is the stdlib's)."""
    stdlib_missing = sys.modules["dataclasses"].MISSING
    made = Field(*(MISSING if value is stdlib_missing else value for value in (f.default, f.default_factory)),
                 f.init, f.repr, f.hash, f.compare, None, MISSING if f.kw_only is stdlib_missing else f.kw_only)
    made.name, made.type, made.metadata = f.name, f.type, f.metadata
    return made


def _inherited_fields(cls) -> tuple[dict, bool | None]:
    """The fields of the dataclass bases, base-most first (a subclass's field keeps its base's place),
    and whether any of those bases is frozen (None: there are none)."""
    every: dict = {}
    frozen = None
    for base in cls.__mro__[-1:0:-1]:
        found = getattr(base, "__dataclass_fields__", None)
        if found is None:
            continue
        for f in found.values():
            if type(f) is Field:
                every[f.name] = f
            elif _is_stdlib_field(f, "_FIELD"):
                every[f.name] = _as_own(f)
            elif _is_stdlib_field(f, "_FIELD_INITVAR"):
                raise TypeError(f"{cls.__name__}: InitVar fields are not supported by cnncalc.records")
        frozen = bool(frozen) or getattr(base, "__dataclass_params__").frozen
    return every, frozen


def _own_fields(cls, annotations: dict, kw_only: bool, field_types: tuple[type, ...]):
    """The stdlib's `_get_field` for each annotation of the class itself: (field, is a ClassVar, is a field()
    object in the class body)."""
    for name, annotation in annotations.items():
        kind = _pseudo_kind(annotation, cls)
        if kind is not None and kind != "ClassVar":
            raise TypeError(f"{cls.__name__}.{name}: {kind} is not supported by cnncalc.records")
        default = getattr(cls, name, MISSING)
        in_body = isinstance(default, field_types)
        if in_body:
            f = default if type(default) is Field else _as_own(default)
        else:  # field(default=...), made directly
            f = Field(MISSING if isinstance(default, MemberDescriptorType) else default, MISSING, True, True, None,
                      True, None, MISSING)
        f.name, f.type = name, annotation
        if kind == "ClassVar":  # not a field, though its field() default is replaced as a field's
            if f.default_factory is not MISSING:
                raise TypeError(f"field {name} cannot have a default factory")
            yield f, True, in_body
            continue
        if f.kw_only is MISSING:
            f.kw_only = kw_only
        if f.default.__class__.__hash__ is None:
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: use default_factory")
        yield f, False, in_body


def _pseudo_kind(annotation, cls) -> str | None:
    """"ClassVar", "InitVar" or "KW_ONLY" when the annotation is one (as the stdlib decides: the object,
    or a string naming it in the class's module, bare or through its module's name); else None."""
    if isinstance(annotation, str):
        if "ClassVar" not in annotation and "InitVar" not in annotation and "KW_ONLY" not in annotation:
            return None  # almost every annotation: no parsing
        prefix, name = _head(annotation)
        module = sys.modules.get(cls.__module__)
        space = module.__dict__ if module is not None else {}
        if prefix is not None:
            owner = space.get(prefix)
            space = owner.__dict__ if owner in (sys.modules.get("typing"), sys.modules.get("dataclasses")) else {}
        annotation = space.get(name)
    typing, stdlib = sys.modules.get("typing"), sys.modules.get("dataclasses")
    if typing is not None and (annotation is typing.ClassVar or (
            type(annotation) is typing._GenericAlias and annotation.__origin__ is typing.ClassVar)):
        return "ClassVar"
    if stdlib is not None and (annotation is stdlib.InitVar or type(annotation) is stdlib.InitVar):
        return "InitVar"
    if stdlib is not None and annotation is stdlib.KW_ONLY:
        return "KW_ONLY"
    return None


def _head(text: str) -> tuple[str | None, str]:
    """The stdlib's `^(?:\\s*(\\w+)\\s*\\.)?\\s*(\\w+)` without `re`: ("typing", "ClassVar") of
    "typing.ClassVar[int]", (None, "ClassVar") of "ClassVar[int]"."""
    words, rest = [], text
    for _ in range(2):
        rest = rest.lstrip()
        end = 0
        while end < len(rest) and (rest[end].isalnum() or rest[end] == "_"):
            end += 1
        words.append(rest[:end])
        rest = rest[end:].lstrip()
        if not rest.startswith(".") or not words[0]:
            break
        rest = rest[1:]
    if len(words) == 2 and words[1]:
        return words[0], words[1]
    return None, words[0]


def _slots_of(cls):
    found = cls.__dict__.get("__slots__")
    if found is None:
        return ()
    if isinstance(found, str):
        return (found,)
    if hasattr(found, "__next__"):
        raise TypeError(f"Slots of '{cls.__name__}' cannot be determined")
    return found


def _with_slots(cls, names: tuple[str, ...], weakref_slot: bool, added: dict, body: dict | None = None):
    """The stdlib's `_add_slots`: the same class made again with `__slots__` (they can't be added later),
    and the `added` methods in its body (one type creation, not a slot update per method). `body`, a copy
    of the class's dict (else made here), becomes the new class's."""
    if "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__} already specifies __slots__")
    if body is None:
        body = cls.__dict__.copy()  # the dict's own copy (a mapping proxy's items one by one cost more)
    body.update(added)
    inherited = {slot for base in cls.__mro__[1:-1] for slot in _slots_of(base)}
    wanted = names + (("__weakref__",) if weakref_slot else ())
    body["__slots__"] = tuple(name for name in wanted if name not in inherited) if inherited else wanted
    for name in names:
        body.pop(name, None)
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    body["__qualname__"] = cls.__qualname__  # the type's own, set as it is made
    return type(cls)(cls.__name__, cls.__bases__, body)

