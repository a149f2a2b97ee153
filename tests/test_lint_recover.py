"""cnncalc/lint/recover.py: lint reports every problem of a file (issue #19). The outside truth for each
expected error is the spec with that one item alone: the error it raises there, at the same place."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import pipeline
from cnncalc.errors import CnnCalcError
from cnncalc.lint import recover
from cnncalc.lint.engine import lint_text

GOOD = ["relu", "{conv: {filters: 4, kernel: 1}}", "{pool: {kernel: 1}}", "{repeat: {times: 2, layers: [relu]}}"]
BAD = ["{conv: {filters: -4, kernel: 3}}", "{conv: {filtres: 4, kernel: 3}}", "{bogus: 3}", "{fc: 0}",
       "{repeat: {times: 2, layers: [{bogus: 1}]}}", "{residual: [{conv: {kernel: 3}}]}",
       "{pool: {kernel: 2, mode: mean}}", "{repeat: {times: 0.5, layers: [relu]}}"]


def spec_of(items: list[str]) -> str:
    return "input: 8x8x3\nlayers:\n" + "".join(f"  - {item}\n" for item in items)


def alone(item: str) -> tuple[str, int]:
    """(code, column) of the error the item raises alone, on line 3 of its own spec."""
    with pytest.raises(CnnCalcError) as caught:
        pipeline.parse(spec_of([item]), "m.yaml")
    assert caught.value.loc.line == 3
    return caught.value.code, caught.value.loc.col


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(GOOD + BAD), min_size=1, max_size=12))
def test_each_bad_item_gives_its_own_error_and_the_good_ones_none(items):
    found = [(d.code, d.loc.line, d.loc.col) for d in lint_text(spec_of(items), "m.yaml").diagnostics
             if d.severity == "error"]
    expected = [(alone(item)[0], 3 + i, alone(item)[1]) for i, item in enumerate(items) if item in BAD]
    if expected:
        assert found == expected
    else:
        assert found == []


def test_errors_in_blocks_repeats_and_residuals_are_all_found():
    text = ("input: 8x8x3\nblocks:\n  b:\n    layers: [{conv: {filters: 0}}, relu]\nlayers:\n"
            "  - conv: {filters: -4, kernel: 3}\n"
            "  - repeat: {times: 2, layers: [{conv: {filtres: 4, kernel: 3}}, {bogus: 1}]}\n"
            "  - {residual: [{fc: 0}]}\n  - b\n  - fc: 10\n")
    found = [(d.loc.line, d.code) for d in lint_text(text, "m.yaml").diagnostics]
    assert found == [(4, "CNN101"), (6, "CNN101"), (7, "CNN102"), (7, "CNN104"), (8, "CNN101")]


def test_the_number_of_spec_errors_is_bounded():
    text = spec_of(["{bogus: 1}"] * (recover.MAX_SPEC_ERRORS + 10))
    found = lint_text(text, "m.yaml").diagnostics
    assert len(found) == recover.MAX_SPEC_ERRORS
    assert [d.loc.line for d in found] == list(range(3, 3 + recover.MAX_SPEC_ERRORS))


@pytest.mark.parametrize("text", [
    "input: 8x8x3\nlayers: [{bogus: 1}, {bogus: 2}]\nlayers_: 1\n",  # an unknown top-level key: no item holds it
    "input: 8x8x3\npattern: INPUT -> CONVV -> RELUU\n",  # a pattern: its first error only
    "input: 8x8x3\nlayers:\n  - bogus: 1\n  - bogus: 1\n  - bogus: 1\n  - {bogus: 1, bogus: 2}\n",  # YAML's own
])
def test_what_cannot_be_recovered_is_one_error(text):
    assert len(lint_text(text, "m.yaml").diagnostics) == 1


def test_a_network_with_spec_errors_is_not_analysed():
    # without the bad item the stride-8 pool would meet an 8x8 input; it is not analysed at all
    text = spec_of(["{pool: {kernel: 9}}", "{bogus: 1}"])
    assert [d.code for d in lint_text(text, "m.yaml").diagnostics] == ["CNN104"]


def test_after_a_hard_shape_error_independent_branches_are_still_checked():
    text = ("input: 8x8x3\nlayers:\n  - concat:\n    - [conv: {filters: 4, kernel: 9}]\n"
            "    - [conv: {filters: 4, kernel: 3, padding: 1}, {pool: {kernel: 9}}]\n    - [relu]\n  - fc: 10\n")
    found = [(d.loc.line, d.code) for d in lint_text(text, "m.yaml").diagnostics]
    assert found == [(4, "CNN202"), (5, "CNN202")]
    analysis = pipeline.analyze_text(text, "m.yaml")
    assert len([d for d in analysis.diagnostics if d.severity == "error"]) == 1  # analyze: the first, as before


def test_a_chain_stops_at_its_hard_error():
    text = spec_of(["{conv: {filters: 4, kernel: 9}}", "{conv: {filters: 4, kernel: 99}}"])
    assert [d.loc.line for d in lint_text(text, "m.yaml").diagnostics] == [3]
