"""Graphs beyond a chain: residual, concat, add and blocks build the right nodes, names and
wiring, and random residual/concat graphs agree with PyTorch on shapes and parameters."""

from __future__ import annotations

import keyword
import textwrap

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import graph, pipeline, report
from cnncalc.errors import CnnCalcError


def build(text: str) -> graph.Graph:
    return graph.build(pipeline.parse(textwrap.dedent(text), "t.yaml"))


def rows(text: str, convention: str = "pytorch") -> dict[str, dict]:
    analysis = pipeline.analyze_text(textwrap.dedent(text), "t.yaml", convention)
    assert analysis.ok, analysis.diagnostics
    return {layer["name"]: layer for layer in report.build(analysis, report.Options()).to_dict()["layers"]}


def error_of(text: str, convention: str = "pytorch") -> CnnCalcError:
    try:
        analysis = pipeline.analyze_text(textwrap.dedent(text), "t.yaml", convention)
    except CnnCalcError as error:
        return error
    errors = [d for d in analysis.diagnostics if d.severity == "error"]
    assert errors, "expected an error"
    return errors[0]


IDENTITY = """
    input: 8x8x16
    layers:
      - residual: [conv: {filters: 16, kernel: 3, padding: 1}, relu, conv: {filters: 16, kernel: 3, padding: 1}]
      - relu
"""


def test_identity_residual_wires_the_add_to_the_block_input():
    g = build(IDENTITY)
    names = [n.name for n in g.nodes]
    assert names == ["input", "conv1", "relu1", "conv2", "add1", "relu2"]
    add = g.nodes[4]
    assert add.type == "add" and add.inputs == (3, 0)


def test_projection_shortcut_lives_in_its_own_scope():
    g = build("""
        input: 8x8x16
        layers:
          - residual:
              name: block
              layers: [conv: {filters: 32, kernel: 3, stride: 2, padding: 1}]
              shortcut: [conv: {filters: 32, kernel: 1, stride: 2}, bn]
    """)
    by_name = {n.name: n for n in g.nodes}
    assert by_name["shortcut1/conv1"].block == ("shortcut1",)
    assert by_name["shortcut1/conv1"].block_kinds == ("shortcut",)
    assert by_name["block"].inputs == (by_name["conv1"].index, by_name["shortcut1/batchnorm1"].index)


def test_a_residual_whose_branches_differ_says_which_shapes():
    error = error_of("""
        input: 8x8x16
        layers:
          - residual: [conv: {filters: 32, kernel: 3, padding: 1}]
    """)
    assert error.code == "CNN204"
    assert "conv1 gives 8x8x32" in error.message and "input gives 8x8x16" in error.message


def test_concat_branches_read_the_same_input_and_are_named_per_branch():
    layers = rows("""
        input: 28x28x192
        layers:
          - concat:
              - [conv: {filters: 64, kernel: 1}]
              - [conv: {filters: 96, kernel: 1}, conv: {filters: 128, kernel: 3, padding: 1}]
              - [pool: {kernel: 3, stride: 1, padding: 1}, conv: {filters: 32, kernel: 1}]
              - []
    """)
    assert layers["concat1"]["output_shape"] == [28, 28, 64 + 128 + 32 + 192]
    assert layers["branch2/conv2"]["output_shape"] == [28, 28, 128]
    assert "branch4/conv1" not in layers


def test_split_feeds_each_branch_a_slice_of_the_input_and_merges_them():
    built = build("""
        input: 8x8x6
        layers:
          - conv: {filters: 6, kernel: 1}
          - split: {name: unit, merge: add, branches: [[conv: {filters: 3, kernel: 1}], []]}
          - repeat: {times: 2, layers: [split: [[], [relu]]]}
    """)
    by_name = {node.name: node for node in built.nodes}
    first, second = by_name["branch1/channel_slice1"], by_name["branch2/channel_slice1"]
    assert first.inputs == second.inputs == (by_name["conv1"].index,)
    assert (first.params["index"], second.params["index"]) == (0, 1)
    assert by_name["branch1/conv1"].inputs == (first.index,)
    assert by_name["unit"].type == "add" and by_name["unit"].inputs == (by_name["branch1/conv1"].index, second.index)
    # unnamed inside a repeat: numbered on, as concat1, concat2
    assert by_name["split2"].type == "concat"
    assert by_name["split2"].inputs == (by_name["branch5/channel_slice1"].index, by_name["branch6/relu1"].index)
    assert graph.count_layers(pipeline.parse("input: 8x8x6\nlayers: [split: [[], [relu]]]\n", "t.yaml").items) == 4


def test_concat_of_mismatched_branches_names_each_branch_shape():
    error = error_of("""
        input: 28x28x16
        layers:
          - concat:
              - [conv: {filters: 8, kernel: 1}]
              - [pool: {kernel: 2, stride: 2}]
    """)
    assert error.code == "CNN204"
    assert "branch1/conv1 gives 28x28x8" in error.message and "branch2/pool1 gives 14x14x16" in error.message


def test_add_of_branches():
    layers = rows("""
        input: 8x8x4
        layers:
          - add: {name: sum, branches: [[conv: {filters: 4, kernel: 3, padding: 1}], [conv: {filters: 4, kernel: 1}]]}
    """)
    assert layers["sum"]["type"] == "add" and layers["sum"]["output_shape"] == [8, 8, 4]


BLOCKS = """
    input: 16x16x8
    blocks:
      unit:
        params: [width, stride: 1]
        layers:
          - conv: {filters: 2 * $width, kernel: 3, stride: $stride, padding: 1}
          - relu
      stage:
        params: [width, count]
        layers:
          - unit: {width: $width, stride: 2}
          - repeat: {times: $count - 1, layers: [unit: {width: $width}]}
    layers:
      - stage: {width: 4, count: 3, name: s1}
      - stage: {width: 8, count: 2}
"""


def test_blocks_expand_with_arguments_expressions_and_nested_scopes():
    layers = rows(BLOCKS)
    names = [name for name in layers if name != "input"]
    assert names[:6] == ["s1/unit1/conv1", "s1/unit1/relu1", "s1/unit2/conv1", "s1/unit2/relu1",
                         "s1/unit3/conv1", "s1/unit3/relu1"]
    assert layers["s1/unit1/conv1"]["output_shape"] == [8, 8, 8]
    assert layers["stage1/unit1/conv1"]["output_shape"] == [4, 4, 16]
    assert len(names) == 2 * (3 + 2)


KEYWORD_NAMES = sorted(set(keyword.kwlist + keyword.softkwlist) - {"name"})
PARAM_NAMES = st.one_of(st.sampled_from(KEYWORD_NAMES),
                        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,11}", fullmatch=True).filter(lambda n: n != "name"))


def _keyword_block(name: str, other: str) -> str:
    # names are quoted so that YAML reads e.g. `yes` or `null` as the string, not a boolean or None
    return (f"input: 8x8x4\n"
            f"blocks: {{b: {{params: ['{name}', '{other}': 1], layers: [conv: {{filters: '2 * ${name} + ${other}', "
            f"kernel: 1, stride: '(${name} - ${name}) // 2 + 1'}}]}}}}\n"
            f"layers: [b: {{'{name}': 3}}]\n")


@pytest.mark.parametrize("name", ["in", "if", "not", "lambda", "True", "None", "match", "_", "type"])
def test_block_parameters_named_like_python_keywords_work_in_expressions(name):
    assert rows(_keyword_block(name, "extra"))["b1/conv1"]["output_shape"] == [8, 8, 7]


@given(PARAM_NAMES, PARAM_NAMES)
@settings(max_examples=150)
def test_any_valid_parameter_name_works_in_any_expression(name, other):
    if name == other:
        other += "_2"
    assert rows(_keyword_block(name, other))["b1/conv1"]["output_shape"] == [8, 8, 7]


def test_a_bare_word_in_a_block_expression_is_an_error_not_a_crash():
    spec = "input: 8x8x4\nblocks: {b: {params: [w], layers: [conv: {filters: $w * w, kernel: 1}]}}\nlayers: [b: {w: 2}]"
    error = error_of(spec)
    assert error.code == "CNN222"


@pytest.mark.parametrize(
    "spec, code",
    [
        ("blocks: {b: {params: [w], layers: [conv: {filters: $v, kernel: 1}]}}\nlayers: [b: {w: 1}]", "CNN220"),
        ("blocks: {b: {layers: [b]}}\nlayers: [b]", "CNN221"),
        ("blocks: {b: {params: [w], layers: [conv: {filters: $w ** 2, kernel: 1}]}}\nlayers: [b: {w: 2}]", "CNN222"),
        ("blocks: {b: {params: [w], layers: [conv: {filters: $w / 2, kernel: 1}]}}\nlayers: [b: {w: 3}]", "CNN222"),
        ("blocks: {conv: {layers: [relu]}}\nlayers: [relu]", "CNN223"),
        ("blocks: {b: {params: [w], layers: [relu]}}\nlayers: [b]", "CNN105"),
        ("blocks: {b: {params: [w], layers: [relu]}}\nlayers: [b: {w: 1, x: 2}]", "CNN102"),
        ("layers: [concat: [[relu]]]", "CNN224"),
        ("layers: [residual: {layers: [relu], shorcut: []}]", "CNN102"),
        ("layers: [split: [[relu]]]", "CNN224"),
        ("layers: [split: {branches: [[], []], group: 2}]", "CNN102"),
        ("layers: [split]", "CNN105"),
        ("layers: [split: {groups: 2}]", "CNN105"),
        ("layers: [multiply: [[], [relu], [relu]]]", "CNN225"),
    ],
)
def test_construct_errors(spec, code):
    assert error_of("input: 8x8x4\n" + spec).code == code


def test_a_deeply_shared_block_is_parsed_once_and_limited_when_expanded():
    levels = "\n".join(
        f"  b{i}: {{layers: [{', '.join([f'b{i - 1}'] * 10)}]}}" for i in range(1, 8)
    )
    spec = f"input: 8x8x4\nblocks:\n  b0: {{layers: [relu]}}\n{levels}\nlayers: [b7]\n"
    assert error_of(spec).code == "CNN003"


# ---------------------------------------------------------------------------------------------
# random residual / concat graphs against PyTorch


def conv_op(draw, c_in: int, stride: int = 1, odd: bool = True):
    kernel = draw(st.sampled_from([1, 3, 5] if odd else [1, 2, 3, 4, 5]))
    return {"filters": draw(st.integers(1, 6)), "kernel": kernel, "stride": stride, "padding": kernel // 2}


@st.composite
def networks(draw):
    channels = draw(st.integers(1, 4))
    ops = []
    c = channels
    for _ in range(draw(st.integers(1, 4))):
        choice = draw(st.sampled_from(["conv", "residual", "concat"]))
        if choice == "conv":
            op = conv_op(draw, c, draw(st.integers(1, 2)), odd=False)
            ops.append(("conv", op))
            c = op["filters"]
        elif choice == "residual":
            stride = draw(st.integers(1, 2))
            body = [conv_op(draw, c, stride)] + [conv_op(draw, c) for _ in range(draw(st.integers(0, 2)))]
            needs_projection = stride != 1 or body[-1]["filters"] != c
            ops.append(("residual", body, needs_projection))
            c = body[-1]["filters"]
        else:
            branches = []
            for _ in range(draw(st.integers(2, 4))):
                branch = [conv_op(draw, c) for _ in range(draw(st.integers(0, 2)))]
                branches.append(branch)
            ops.append(("concat", branches))
            c = sum(b[-1]["filters"] if b else c for b in branches)
    size = draw(st.integers(4, 12))
    return channels, size, ops


def conv_yaml(op: dict) -> str:
    return f"conv: {{filters: {op['filters']}, kernel: {op['kernel']}, stride: {op['stride']}, padding: {op['padding']}}}"


def to_yaml(channels: int, size: int, ops) -> str:
    lines = [f"input: {size}x{size}x{channels}", "layers:"]
    for i, op in enumerate(ops):
        if op[0] == "conv":
            lines.append(f"  - {conv_yaml(op[1])[:-1]}, name: n{i}}}")
        elif op[0] == "residual":
            body = ", ".join(conv_yaml(c) for c in op[1])
            shortcut = f"[conv: {{filters: {op[1][-1]['filters']}, kernel: 1, stride: {op[1][0]['stride']}}}]" if op[2] else "[]"
            lines.append(f"  - residual: {{name: n{i}, layers: [{body}], shortcut: {shortcut}}}")
        else:
            branches = ", ".join("[" + ", ".join(conv_yaml(c) for c in b) + "]" for b in op[1])
            lines.append(f"  - concat: {{name: n{i}, branches: [{branches}]}}")
    return "\n".join(lines) + "\n"


def torch_conv(c_in: int, op: dict) -> torch.nn.Conv2d:
    return torch.nn.Conv2d(c_in, op["filters"], op["kernel"], op["stride"], op["padding"])


class Chain(torch.nn.Module):
    def __init__(self, c_in: int, convs: list[dict]):
        super().__init__()
        layers = []
        for op in convs:
            layers.append(torch_conv(c_in, op))
            c_in = op["filters"]
        self.body = torch.nn.Sequential(*layers)
        self.channels = c_in

    def forward(self, x):
        return self.body(x)


class Residual(torch.nn.Module):
    def __init__(self, c_in: int, body: list[dict], projection: bool):
        super().__init__()
        self.body = Chain(c_in, body)
        self.shortcut = torch.nn.Conv2d(c_in, body[-1]["filters"], 1, body[0]["stride"]) if projection else None

    def forward(self, x):
        return self.body(x) + (self.shortcut(x) if self.shortcut is not None else x)


class Concat(torch.nn.Module):
    def __init__(self, c_in: int, branches: list[list[dict]]):
        super().__init__()
        self.branches = torch.nn.ModuleList(Chain(c_in, b) for b in branches)

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], dim=1)


def torch_network(channels: int, ops) -> list[torch.nn.Module]:
    modules, c = [], channels
    for op in ops:
        if op[0] == "conv":
            module, c = torch_conv(c, op[1]), op[1]["filters"]
        elif op[0] == "residual":
            module, c = Residual(c, op[1], op[2]), op[1][-1]["filters"]
        else:
            module = Concat(c, op[1])
            c = sum(chain.channels for chain in module.branches)
        modules.append(module)
    return modules


@settings(max_examples=60, deadline=None)
@given(networks())
def test_random_residual_and_concat_graphs_agree_with_pytorch(network):
    channels, size, ops = network
    text = to_yaml(channels, size, ops)
    modules = torch_network(channels, ops)
    x = torch.zeros(1, channels, size, size)
    torch_shapes = []
    try:
        with torch.no_grad():
            for module in modules:
                x = module(x)
                torch_shapes.append((*x.shape[2:], x.shape[1]))
    except RuntimeError:  # a kernel larger than its input somewhere: cnncalc must refuse too
        analysis = pipeline.analyze_text(text, "t.yaml", "pytorch")
        assert not analysis.ok
        return
    layers = rows(text)
    assert [tuple(layers[f"n{i}"]["output_shape"]) for i in range(len(ops))] == torch_shapes
    total = sum(layer["params"] for layer in layers.values())
    assert total == sum(p.numel() for m in modules for p in m.parameters())
