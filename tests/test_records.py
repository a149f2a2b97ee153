"""cnncalc.records.dataclass makes the class the stdlib's dataclasses.dataclass makes: the same
__init__ (defaults, factories, keyword-only fields, __post_init__), repr, equality, hash, frozen
errors, pickling and copying, and the same errors; only when the methods are compiled differs."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import FrozenInstanceError, field

import pytest

from cnncalc import records


def _both(body: str, options: str = "frozen=True, slots=True"):
    """The class defined by `body` under the stdlib's decorator and under cnncalc's."""
    made = []
    for decorator in (dataclasses.dataclass, records.dataclass):
        namespace = {"dataclass": decorator, "field": field}
        exec(f"@dataclass({options})\nclass Thing:\n" + body, namespace)  # noqa: S102
        made.append(namespace["Thing"])
    return made


BODY = """
    name: str
    size: int = 3
    tags: tuple = field(default_factory=tuple)
    hidden: int = field(default=7, repr=False, compare=False)
    late: tuple = field(default_factory=tuple, init=False)
"""


@pytest.mark.parametrize("options", ["frozen=True, slots=True", "frozen=True", "frozen=True, eq=False", "", "eq=False",
                                     "slots=True"])
def test_the_class_behaves_as_the_stdlibs(options):
    theirs, ours = _both(BODY, options)
    for args, kwargs in [(("a",), {}), (("b", 5), {"tags": (1, 2)}), ((), {"name": "c", "hidden": 1})]:
        a, b = theirs(*args, **kwargs), ours(*args, **kwargs)
        assert repr(a) == repr(b)
        assert dataclasses.asdict(a) == dataclasses.asdict(b)
        assert (ours(*args, **kwargs) == b) == (theirs(*args, **kwargs) == a)
        assert (b == "x") == (a == "x")
        if theirs.__hash__ is None:
            assert ours.__hash__ is None
        else:
            assert (hash(b) == hash(ours(*args, **kwargs))) == (hash(a) == hash(theirs(*args, **kwargs)))
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in dataclasses.fields(theirs)]
    assert ours.__match_args__ == theirs.__match_args__
    assert hasattr(ours, "__slots__") == hasattr(theirs, "__slots__")


def test_a_frozen_instance_refuses_assignment_and_deletion():
    _, ours = _both(BODY)
    thing = ours("a")
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'size'"):
        thing.size = 4
    with pytest.raises(FrozenInstanceError, match="cannot delete field 'size'"):
        del thing.size
    assert dataclasses.replace(thing, size=9) == ours("a", 9)


def test_factories_make_a_new_value_per_instance():
    theirs, ours = _both("    items: list = field(default_factory=list)\n    late: list = field(default_factory=list, init=False)\n", "frozen=True, eq=False")
    first, second = ours(), ours()
    assert first.items == first.late == [] and first.items is not second.items and first.late is not second.late
    assert repr(ours([1])) == repr(theirs([1]))


def test_frozen_slotted_instances_pickle_and_copy():
    global Pickled
    Pickled = records.dataclass(frozen=True, slots=True)(type("Pickled", (), {"__annotations__": {"a": int, "b": str},
                                                                              "__module__": __name__}))
    thing = Pickled(1, "x")
    assert pickle.loads(pickle.dumps(thing)) == thing
    assert copy.copy(thing) == thing and copy.deepcopy(thing) == thing


def test_keyword_only_fields_and_post_init():
    body = """
    a: int
    b: int = field(default=2, kw_only=True)
    def __post_init__(self):
        object.__setattr__(self, "a", self.a * 10)
"""
    theirs, ours = _both(body)
    assert repr(ours(1, b=3)) == repr(theirs(1, b=3)) == "Thing(a=10, b=3)"
    with pytest.raises(TypeError):
        ours(1, 3)


def test_what_the_class_defines_itself_is_kept():
    body = """
    a: int
    def __repr__(self):
        return "mine"
    def __hash__(self):
        return 5
"""
    _, ours = _both(body)
    assert repr(ours(1)) == "mine" and hash(ours(1)) == 5 and ours(1) == ours(1)


def test_a_subclass_adds_its_fields():
    _, base = _both("    a: int\n")
    child = records.dataclass(frozen=True, slots=True)(type("Child", (base,), {"__annotations__": {"b": int}}))
    assert repr(child(1, 2)) == "Child(a=1, b=2)" and child(1, 2) != base(1)


def test_the_stdlibs_errors_at_definition():
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        _both("    a: int = 1\n    b: int\n")
    with pytest.raises(TypeError, match="Cannot overwrite attribute __setattr__"):
        _both("    a: int\n    def __setattr__(self, name, value):\n        pass\n")


def test_other_options_are_the_stdlibs():
    made = records.dataclass(order=True)(type("Ordered", (), {"__annotations__": {"a": int}}))
    assert made(1) < made(2)


def test_the_methods_are_compiled_on_first_use_only():
    _, ours = _both(BODY)
    assert ours.__repr__.__code__.co_varnames[:3] == ("self", "args", "kwargs")  # still the stub
    ours("a")
    assert "__init__" in ours.__dict__ and ours.__init__.__code__.co_varnames[:2] == ("self", "name")


@pytest.mark.parametrize("options", ["frozen=True, slots=True", "", "frozen=True"])
def test_an_init_renamed_from_a_template_is_the_stdlibs(options):
    theirs, ours = _both("    alpha: int\n    _0: str\n    gamma: tuple = (1,)\n    delta: str = '_1'\n", options)
    for args in [(1, "a"), (2, "b", (3,)), (4, "c", (), "d")]:
        assert repr(ours(*args)) == repr(theirs(*args)) and ours(*args) == ours(*args)
    assert repr(ours(alpha=1, _0="x", delta="y")) == repr(theirs(alpha=1, _0="x", delta="y"))
    ours(1, "a")
    assert ours.__init__.__code__.co_varnames == ("self", "alpha", "_0", "gamma", "delta")
    with pytest.raises(TypeError):
        ours(1)
