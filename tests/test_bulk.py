"""bulk.maker: the same frozen instances as the class's own constructor, or the class itself where it cannot."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.analysis import LayerResult
from cnncalc.bulk import maker
from cnncalc.graph import Node
from cnncalc.liveness import LayerMemory
from cnncalc.records import dataclass
from cnncalc.report import Row

values = st.one_of(st.integers(), st.text(max_size=5), st.none(), st.booleans(), st.tuples(st.integers()))


@pytest.mark.parametrize("cls", [Row, Node, LayerResult, LayerMemory])
@given(data=st.data())
def test_made_instances_are_the_constructor_s(cls, data):
    make = maker(cls)
    assert make is not cls  # the per-layer records do get the fast way
    fields = [data.draw(values) for _ in dataclasses.fields(cls)]
    made, built = make(*fields), cls(*fields)
    assert type(made) is cls and made == built and repr(made) == repr(built)
    assert [getattr(made, f.name) for f in dataclasses.fields(cls)] == fields
    if all(isinstance(v, (int, str, tuple, type(None))) for v in fields):
        assert hash(made) == hash(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.__setattr__(dataclasses.fields(cls)[0].name, 1)


@dataclass(frozen=True, slots=True)
class _Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")


@dataclass(frozen=True)
class _Unslotted:
    value: int


@dataclass(frozen=True, slots=True)
class _Base:
    value: int


@dataclass(frozen=True, slots=True)
class _Derived(_Base):
    more: int = 0


@pytest.mark.parametrize("cls", [_Checked, _Unslotted, _Derived])
def test_classes_it_cannot_make_get_their_own_constructor(cls):
    assert maker(cls) is cls


def test_a_maker_is_made_without_compiling():
    """Compiling the maker's function (~0.75 M instructions) cost more than a 175-layer report's records
    saved: its code is bulk.py's and the twin's `__init__` records' plain-store template, renamed."""
    import cnncalc.bulk
    from cnncalc import record_templates

    make = maker(Row)
    cells = [cell.cell_contents for cell in make.__closure__]
    twin = next(value for value in cells if isinstance(value, type) and value is not Row)
    assert make.__code__.co_filename == cnncalc.bulk.__file__
    assert twin.__init__.__code__.co_filename == record_templates.plain_19.__code__.co_filename
