"""Every registered layer kind declares the protocol of cnncalc/layers/base.py completely, and the
lists other modules keep are the ones derived from the registry (issue #13: a new kind touches only
its own module, the generated files and at most one test table)."""

from __future__ import annotations

import inspect
import re

import jsonschema
import numpy as np
import pytest
import torch
from torch import nn

from cnncalc import blocks, executor
from cnncalc.layers import KINDS, LayerKind, construct_kinds, kind_rules, kinds
from cnncalc.layers.base import Geometry, MemoryContext, MemoryRule
from cnncalc.lint import RULES
from cnncalc.pattern import vocabulary
from cnncalc.pipeline import analyze_text
from cnncalc.schema import spec_schema
from torch_nets import GraphNet, layer_module

KINDS_ONCE = kinds()
IDS = [kind.name for kind in KINDS_ONCE]


def example_analysis(kind: LayerKind):
    """The kind's own example, one layer (a merge: its construct) on its example input."""
    layer = kind.name if kind.example == "" else f"{kind.name}: {kind.example}"
    return analyze_text(f"input: {kind.example_input}\nlayers:\n  - {layer}\n", "<example>", "strict")


def example_result(kind: LayerKind):
    analysis = example_analysis(kind)
    assert analysis.ok and analysis.complete, [d.message for d in analysis.diagnostics]
    return analysis, next(r for r in analysis.results[1:] if r.node.kind is kind)


@pytest.mark.parametrize("kind", KINDS_ONCE, ids=IDS)
def test_identity_keys_and_summary_are_declared(kind):
    assert re.fullmatch(r"[a-z][a-z0-9_]*", kind.name)
    assert all(KINDS[word] is kind for word in (kind.name, *kind.aliases))
    assert kind.summary
    assert all(p.doc for p in kind.params), kind.name
    assert kind.shorthand is None or kind.param(kind.shorthand) is not None
    assert kind.arity in (0, 1)
    assert type(kind).infer is not LayerKind.infer


@pytest.mark.parametrize("kind", KINDS_ONCE, ids=IDS)
def test_schema_fragments_are_valid_and_described(kind):
    for word in (kind.name, *kind.aliases):
        fragment = kind.schema(word)
        jsonschema.Draft7Validator.check_schema(fragment)
        assert fragment["description"].startswith(word)
    if kind.construct is not None:
        fragment = kind.construct_schema("#/definitions/layers")
        jsonschema.Draft7Validator.check_schema({**fragment, "definitions": {"layers": {"type": "array"}}})
        assert spec_schema()["definitions"]["layers"]["items"]["anyOf"][1]["properties"][kind.name] == fragment


@pytest.mark.parametrize("kind", KINDS_ONCE, ids=IDS)
def test_pattern_words_and_their_keys_are_declared_and_documented(kind):
    words = kind.pattern_words()
    assert words == (() if kind.merge else tuple(w.upper() for w in (kind.name, *kind.aliases)))
    properties = spec_schema()["properties"]
    for word in words:
        assert vocabulary.LAYER_WORDS[word] == kind.name
        # documented: the schema describes the word's settings in pattern specs
        assert properties[word]["description"].startswith(f"pattern specs: default settings of {word}")
    for key in (kind.pattern_positional, kind.pattern_size, kind.pattern_count, *kind.pattern_defaults):
        assert key is None or kind.param(key) is not None, (kind.name, key)
    if kind.pattern_size is not None:
        assert all(kind.param(key) is not None for key, _ in kind.pattern_implied(3))


@pytest.mark.parametrize("kind", KINDS_ONCE, ids=IDS)
def test_the_codes_a_kind_raises_are_documented_rules(kind):
    source = inspect.getsource(inspect.getmodule(type(kind)))
    raised = set(re.findall(r"""code\s*=\s*["'](CNN\d{3})["']""", source))
    assert raised <= set(RULES), raised - set(RULES)
    for rule in kind.rules:
        assert RULES[rule.code] is rule
        # a rule with a check is reported through it (CNN207 needs the batch, which the analysis lacks)
        assert rule.code in raised or rule.check is not None, \
            f"{kind.name} documents {rule.code} but its module does not raise it"


@pytest.mark.parametrize("kind", KINDS_ONCE, ids=IDS)
def test_the_example_infers_with_geometry_where_windowed_and_has_memory_rules(kind):
    analysis, result = example_result(kind)
    if kind.family in ("conv", "pool") or kind.name == "conv_transpose":
        g = result.geometry
        assert isinstance(g, Geometry) and g.rank == result.inputs[0].rank
        with pytest.raises(AttributeError):
            g.kernel = (1,)  # frozen
    for training in (True, False):
        rule = kind.memory_rule(result.node.params, result.inputs, result.inference,
                                MemoryContext(batch=2, act_bytes=4, param_bytes=4, training=training))
        assert isinstance(rule, MemoryRule)


@pytest.mark.parametrize("kind", KINDS_ONCE, ids=IDS)
def test_torch_module_returns_a_module_that_computes_the_forward(kind):
    """Both modes of `torch_module` give a module; with the executor's weights its values are the
    numpy forward's, and its output shape is the inference's."""
    analysis, result = example_result(kind)
    assert type(kind).torch_module is not LayerKind.torch_module
    assert isinstance(layer_module(result), nn.Module)
    assert kind.executable
    the_plan = executor.plan(analysis, 2)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, *analysis.graph.input.dims)).astype(np.float32)
    execution = executor.execute(the_plan, measure=False, keep_weights=True, given_input=x.copy())
    net = GraphNet(analysis, execution.weights).double().eval()
    with torch.no_grad():
        out = net(torch.from_numpy(np.moveaxis(x, -1, 1).astype(np.float64)))
    theirs = np.moveaxis(out.numpy(), 1, -1) if out.ndim > 2 else out.numpy()
    assert theirs.shape[1:] == analysis.results[-1].output.dims
    np.testing.assert_allclose(execution.output, theirs, rtol=1e-4, atol=1e-4 * max(float(np.abs(theirs).max()), 1))


def test_the_lists_elsewhere_are_derived_from_the_registry():
    merges = tuple(kind.name for kind in construct_kinds())
    assert blocks.MERGES == merges and set(merges) <= set(blocks.CONSTRUCTS)
    assert set(blocks.CONSTRUCTS) == {"repeat", "residual", "split", *merges, blocks.OUTPUT}
    assert set(vocabulary.LAYER_WORDS) == {w for kind in KINDS_ONCE for w in kind.pattern_words()}
    assert vocabulary.SIZE_KEY == {k.name: k.pattern_size for k in KINDS_ONCE if k.pattern_size}
    assert vocabulary.COUNT_KEY == {k.name: k.pattern_count for k in KINDS_ONCE if k.pattern_count}
    assert vocabulary.BUILTIN_DEFAULTS == {k.name: dict(k.pattern_defaults) for k in KINDS_ONCE if k.pattern_defaults}
    assert all(RULES[rule.code] is rule for rule in kind_rules())
    # the merge kinds are the constructs' kinds, and only they read several inputs
    assert {k.name for k in KINDS_ONCE if k.merge} == set(merges)


def test_geometry_and_inference_are_immutable_values():
    _, result = example_result(KINDS["conv"])
    with pytest.raises(AttributeError):
        result.inference.output = None
    assert hash(result.geometry) == hash(Geometry(**{f: getattr(result.geometry, f) for f in Geometry.__slots__}))


def test_the_docs_carry_the_generated_tables():
    """Regenerate with `python -m cnncalc.docs`: docs/spec-format.md lists every kind, docs/lint.md every rule."""
    from pathlib import Path

    from cnncalc import docs

    root = Path(__file__).resolve().parent.parent
    for name, (marker, generate) in docs.GENERATED.items():
        text = (root / name).read_text(encoding="utf-8")
        assert docs.spliced(text, marker, generate()) == text, f"{name} is out of date: python -m cnncalc.docs"
    table = docs.kinds_markdown()
    assert all(f"| `{kind.name}`" in table for kind in KINDS_ONCE)
