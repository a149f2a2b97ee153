"""PyTorch as the oracle: random layer stacks must get PyTorch's output shapes and parameter counts,
and cnncalc must refuse exactly the stacks PyTorch refuses (under --convention pytorch)."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
nn = torch.nn

from cnncalc.pipeline import analyze_text  # noqa: E402
from cnncalc.report import Options, build  # noqa: E402


@st.composite
def conv_layer(draw, channels):
    groups = draw(st.sampled_from([g for g in (1, 2, 3, 4) if channels % g == 0]))
    filters = groups * draw(st.integers(1, 4))
    k = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = draw(st.one_of(st.tuples(st.integers(0, 3), st.integers(0, 3)), st.just("same"), st.just("valid")))
    if pad == "same":
        s = (1, 1)
    bias = draw(st.booleans())
    yaml = (f"conv: {{filters: {filters}, kernel: {list(k)}, stride: {list(s)}, dilation: {list(d)}, "
            f"padding: {pad if isinstance(pad, str) else list(pad)}, groups: {groups}, bias: {str(bias).lower()}}}")
    module = nn.Conv2d(channels, filters, k, s, pad, d, groups, bias)
    return yaml, module, filters


@st.composite
def pool_layer(draw, channels):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pad = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    ceil = draw(st.booleans())
    mode = draw(st.sampled_from(["max", "avg"]))
    yaml = f"pool: {{kernel: {list(k)}, stride: {list(s)}, padding: {list(pad)}, mode: {mode}, ceil: {str(ceil).lower()}}}"
    cls = nn.MaxPool2d if mode == "max" else nn.AvgPool2d
    return yaml, cls(k, s, pad, ceil_mode=ceil), channels


@st.composite
def stack(draw):
    channels = draw(st.integers(1, 6))
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    lines, modules = [], []
    c = channels
    for _ in range(draw(st.integers(1, 5))):
        choice = draw(st.sampled_from(["conv", "pool", "bn", "relu"]))
        if choice == "conv":
            yaml, module, c = draw(conv_layer(c))
        elif choice == "pool":
            yaml, module, c = draw(pool_layer(c))
        elif choice == "bn":
            yaml, module = "batchnorm", nn.BatchNorm2d(c)
        else:
            yaml, module = "relu", nn.ReLU()
        lines.append(yaml)
        modules.append(module)
    if draw(st.booleans()):
        lines.append("fc: 7")
        modules.append(nn.LazyLinear(7))
    spec = f"input: {{channels: {channels}, height: {h}, width: {w}}}\nlayers:\n" + "".join(f"  - {l}\n" for l in lines)
    return spec, modules, (channels, h, w)


def run_torch(modules, shape):
    x = torch.zeros(1, *shape)
    with torch.no_grad():
        for m in modules:
            if isinstance(m, nn.LazyLinear):
                x = x.flatten(1)
            x = m.eval()(x)
    params = sum(p.numel() for m in modules for p in m.parameters())
    return x.shape, params


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stack())
def test_shapes_params_and_refusals_match_pytorch(case):
    spec, modules, shape = case
    analysis = analyze_text(spec, "random.yaml", "pytorch")
    try:
        torch_shape, torch_params = run_torch(modules, shape)
    except (RuntimeError, ValueError):
        assert not analysis.ok, f"PyTorch refuses this stack but cnncalc accepts it:\n{spec}"
        return
    assert analysis.ok, f"cnncalc refuses a stack PyTorch runs:\n{spec}\n{analysis.diagnostics}"
    rep = build(analysis, Options())
    last = rep.rows[-1].output_shape
    expected = tuple(torch_shape[1:]) if len(torch_shape) == 2 else (*torch_shape[2:], torch_shape[1])
    assert last == expected, spec
    assert rep.totals.params == torch_params, spec


@settings(max_examples=150, deadline=None)
@given(stack())
def test_strict_accepts_only_whole_sizes_and_then_agrees_with_pytorch(case):
    spec, _, _ = case
    strict = analyze_text(spec, "random.yaml", "strict")
    loose = analyze_text(spec, "random.yaml", "pytorch")
    if strict.ok and loose.ok and "same" not in spec:
        assert [r.output.dims for r in strict.results] == [r.output.dims for r in loose.results]
    if loose.ok and not strict.ok:
        codes = {d.code for d in strict.diagnostics if d.severity == "error"}
        assert codes <= {"CNN201", "CNN202"}, textwrap.indent(spec, "  ")


def test_known_case_conv_with_everything():
    spec = ("input: {channels: 16, height: 50, width: 100}\nlayers:\n"
            "  - conv: {filters: 33, kernel: [3, 5], stride: [2, 1], padding: [4, 2], dilation: [3, 1]}\n")
    rep = build(analyze_text(spec, "x.yaml", "pytorch"), Options())
    assert rep.rows[-1].output_shape == (26, 100, 33)
