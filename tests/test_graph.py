"""Graphs beyond a chain: residual, concat, add and blocks build the right nodes, names and
wiring, and random residual/concat graphs agree with PyTorch on shapes and parameters."""

from __future__ import annotations

import dataclasses
import keyword
import textwrap

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import conventions, graph, pipeline, report
from cnncalc.errors import CnnCalcError
from cnncalc.shapes import Shape
from test_blocks import torchvision_make_divisible


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


# ---------------------------------------------------------------------------------------------
# blocks that see their input: uses of blocks that read `$in` are expanded by the graph builder

SQUEEZE_EXCITE = """
    input: {size}x{size}x{channels}
    convention: pytorch
    blocks:
      squeeze_excite:
        params: [squeeze: "make_divisible($in.channels // 4, 8)"]
        layers:
          - multiply: [[], [global_pool, conv: {{filters: $squeeze, kernel: 1}}, relu,
                            conv: {{filters: $in.channels, kernel: 1}}, hardsigmoid]]
      inverted:
        params: [out, expand: 6, stride: 1]
        layers:
          - conv: {{filters: $in.channels * $expand, kernel: 1, bias: false}}
          - relu6
          - depthwise: {{kernel: 3, stride: $stride, padding: 1, bias: false}}
          - squeeze_excite
          - conv: {{filters: $out, kernel: 1, bias: false}}
    layers:
      - inverted: {{out: {out}, expand: {expand}, stride: {stride}}}
"""


@given(channels=st.integers(1, 48), size=st.integers(3, 12), out=st.integers(1, 32), expand=st.integers(1, 6),
       stride=st.integers(1, 2))
@settings(max_examples=25, deadline=None)
def test_a_block_that_reads_in_agrees_with_torchvisions_squeeze_excitation(channels, size, out, expand, stride):
    """The block needs no hand-threaded sizes: its params and shapes are PyTorch's for the same layers, with
    torchvision's own SqueezeExcitation and _make_divisible (the block reads the expanded width)."""
    make_divisible = torchvision_make_divisible()
    from torchvision.ops.misc import SqueezeExcitation

    hidden = channels * expand
    layers = rows(SQUEEZE_EXCITE.format(channels=channels, size=size, out=out, expand=expand, stride=stride))
    model = torch.nn.Sequential(
        torch.nn.Conv2d(channels, hidden, 1, bias=False), torch.nn.ReLU6(),
        torch.nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
        SqueezeExcitation(hidden, make_divisible(hidden // 4, 8), scale_activation=torch.nn.Hardsigmoid),
        torch.nn.Conv2d(hidden, out, 1, bias=False))
    x = model(torch.zeros(1, channels, size, size))
    params = sum(layer["params"] for name, layer in layers.items() if name != "input")
    assert params == sum(p.numel() for p in model.parameters())
    assert layers["inverted1/conv2"]["output_shape"] == [x.shape[2], x.shape[3], out]
    assert layers["inverted1/squeeze_excite1/branch2/conv1"]["output_shape"] == [1, 1, make_divisible(hidden // 4, 8)]
    se_out = model[:4](torch.zeros(1, channels, size, size))
    assert layers["inverted1/squeeze_excite1/multiply1"]["output_shape"] == [se_out.shape[2], se_out.shape[3], hidden]


NESTED = """
    input: 16x16x8
    blocks:
      widen:
        params: [times]
        layers:
          - conv: {filters: $in.channels * $times, kernel: 1}
      stage:
        params: [out]
        layers:
          - widen: {times: 2}
          - widen: {times: 2}
          - conv: {filters: $in.channels + $out, kernel: 1}
          - repeat: {times: 2, layers: [conv: {filters: $in.channels, kernel: 1}]}
          - widen: {times: "$in.channels // 8"}
    layers:
      - conv: {filters: 24, kernel: 3, padding: 1}
      - stage: {out: 1}
      - stage: {out: 2}
"""


def test_in_is_the_input_of_the_use_itself_also_in_nested_uses_and_arguments():
    layers = rows(NESTED)
    channels = {name: layer["output_shape"][-1] for name, layer in layers.items()}
    assert channels["stage1/widen1/conv1"] == 48 and channels["stage1/widen2/conv1"] == 96   # each its own $in
    assert channels["stage1/conv1"] == 25                 # the stage's input (24) + 1, not widen2's output
    assert channels["stage1/conv2"] == channels["stage1/conv3"] == 24   # in a repeat: still the use's input
    assert channels["stage1/widen3/conv1"] == 24 * 3      # an argument read from the stage's $in (24 // 8)
    assert channels["stage2/widen1/conv1"] == 144 and channels["stage2/conv1"] == 74


def test_uses_of_a_block_that_reads_in_are_expanded_once_per_arguments_and_input_shape():
    text = """
        input: 8x8x4
        blocks:
          double: {layers: [conv: {filters: 2 * $in.channels, kernel: 1}, conv: {filters: $in.channels, kernel: 1}]}
          plain: {params: [w], layers: [conv: {filters: $w, kernel: 1}]}
        layers:
          - repeat: {times: 1000, layers: [double, plain: {w: 4}]}
          - conv: {filters: 6, kernel: 1}
          - double
    """
    parsed = pipeline.parse(textwrap.dedent(text), "t.yaml")
    first = parsed.items[0].body[0]
    assert type(first).__name__ == "InputUse" and type(parsed.items[0].body[1]).__name__ == "BlockUse"
    model = graph.build(parsed)
    assert len(model.nodes) == 1 + 1000 * 3 + 1 + 2
    expansions = [key for key in first.expand.args[0].expanded if key[0] == "double"]
    assert len(expansions) == 2                           # 4 channels in (1000 uses), then 6


def test_in_under_another_input_or_convention_follows_it():
    text = textwrap.dedent("""
        input: 9x9x4
        blocks:
          head: {layers: [pool: {kernel: $in.height, mode: avg}]}
        layers:
          - conv: {filters: 4, kernel: 3, stride: 2, padding: 1}
          - pool: {kernel: 2, mode: max}
          - head
    """)
    parsed = pipeline.parse(text, "t.yaml")
    def pool_kernel(spec, convention):
        node = graph.build(spec, conventions.get(convention)).nodes[-1]
        return node.params["kernel"]

    assert pool_kernel(parsed, "pytorch") == 2         # 9 -> 5 -> 2 (floor)
    assert pool_kernel(parsed, "caffe") == 3           # Caffe's pools round up: 5 -> 3
    assert pool_kernel(dataclasses.replace(parsed, input=Shape((17, 17), 4)), "pytorch") == 4
    # strict: the pool's 5/2 is reported by the analysis; the block reads the size it goes on with
    analysis = pipeline.analyze_text(text, "t.yaml", "strict")
    assert [d.code for d in analysis.diagnostics if d.severity == "error"] == ["CNN201"]
    assert analysis.results[-1].output.spatial == (1, 1)


@pytest.mark.parametrize(("spec", "code", "line", "said"), [
    ("blocks:\n  b:\n    layers:\n      - conv: {filters: $in.depth, kernel: 1}\nlayers: [b]", "CNN227", 5,
     "has no depth"),
    ("blocks:\n  b:\n    layers:\n      - conv: {filters: '$in.channels // ($in.width - 8)', kernel: 1}\n"
     "layers: [b]", "CNN222", 5, "division by zero"),
    ("layers:\n  - conv: {filters: $in.channels, kernel: 1}", "CNN228", 3, "outside a block"),
    ("layers:\n  - fc: $in.channels", "CNN228", 3, "outside a block"),
    ("layers:\n  - repeat: {times: $in.channels, layers: [relu]}", "CNN228", 3, "outside a block"),
    ("blocks:\n  b: {params: [w], layers: [conv: {filters: $w, kernel: 1}]}\nlayers:\n  - b: {w: $in.channels}",
     "CNN228", 5, "outside a block"),
    ("blocks:\n  b: {layers: [conv: {filters: $in.channels, kernel: 1}, b]}\nlayers: [b]", "CNN221", 3,
     "uses itself"),
    ("blocks:\n  a: {layers: [relu, c]}\n  c: {layers: [conv: {filters: $in.channels, kernel: 1}, a]}\n"
     "layers: [a, c]", "CNN221", 4, "(a -> c -> a)"),
    ("blocks:\n  b: {layers: [conv: {filters: $in.channels, kernel: 1}]}\nlayers:\n  - conv: {filters: 4, kernel: 9}\n"
     "  - b", "CNN202", 5, ""),
])
def test_errors_of_blocks_that_read_in_are_located_in_the_text_and_coded(spec, code, line, said):
    error = error_of("input: 8x8x4\n" + spec)
    assert error.code == code and said in error.message and error.loc.line == line and error.hint


def test_a_spec_of_uses_of_blocks_that_read_in_is_limited_while_expanding(monkeypatch):
    # each use counts as one layer until it is expanded: the graph builder applies the limit as it expands
    # (lowered here so that the test builds 10,000 nodes, not 1,000,000)
    monkeypatch.setattr(graph, "MAX_LAYERS", 10_000)
    text = ("input: 8x8x4\nblocks:\n  b: {layers: [" + ", ".join(["relu"] * 100) + ", conv: {filters: $in.channels, "
            "kernel: 1}]}\nlayers:\n  - repeat: {times: 200, layers: [b]}\n")
    error = error_of(text)
    assert error.code == "CNN003" and "10,000 layers" in error.message and error.loc.line == 5


def test_uses_of_blocks_that_read_in_nest_no_deeper_than_the_limit_and_never_crash():
    lines = ["input: 8x8x4", "blocks:"]
    lines += [f"  b{i}: {{layers: [conv: {{filters: $in.channels, kernel: 1}}, b{i + 1}]}}" for i in range(150)]
    lines += ["  b150: {layers: [relu]}", "layers: [b0]"]
    error = error_of("\n".join(lines) + "\n")
    assert error.code == "CNN003" and "100 levels" in error.message


def test_a_repeat_of_unnamed_layers_is_named_as_layer_by_layer():
    """`unnamed_repeat` names a repeat's layers a column at a time; the walk of `_unnamed_loop`, layer by
    layer, is the reference: the same names, kinds, inputs and places, and the counters go on the same."""
    from cnncalc import pipeline
    from cnncalc.graph import _Builder, _Scope

    text = ("input: 8x8x3\nlayers:\n  - relu\n  - repeat: {times: 3, layers: [{conv: {filters: 3, kernel: 1}}, relu, "
            "{conv: {filters: 3, kernel: 1}}, sigmoid]}\n  - relu\n")
    parsed = pipeline.parse(text, "<t>")
    fast, slow = (_Builder(parsed, conventions.get("strict")) for _ in range(2))
    for builder, walk in ((fast, fast.unnamed_repeat), (slow, slow._unnamed_loop)):
        current = builder.add(parsed.items[0], 0, _Scope())
        current = walk(parsed.items[1], current, _Scope())
        builder.add(parsed.items[2], current, _Scope())
    assert [n.name for n in fast.nodes] == [n.name for n in slow.nodes] == [
        "input", "relu1", "conv1", "relu2", "conv2", "sigmoid1", "conv3", "relu3", "conv4", "sigmoid2",
        "conv5", "relu4", "conv6", "sigmoid3", "relu5"]
    assert fast.nodes == slow.nodes and fast.counters == slow.counters and fast.names == slow.names


def test_a_repeat_whose_names_could_meet_is_walked_layer_by_layer():
    """A given name that a repeat would make again is the located CNN106 of the layer-by-layer walk."""
    from cnncalc import pipeline

    text = "input: 8x8x3\nlayers:\n  - relu: {name: relu3}\n  - repeat: {times: 4, layers: [relu]}\n"
    with pytest.raises(CnnCalcError, match="two layers are named 'relu3'") as raised:
        graph.build(pipeline.parse(text, "<t>"))
    assert raised.value.loc.line == 4


def test_a_small_and_a_large_graph_s_nodes_are_the_same_records(monkeypatch):
    """Below `BULK_FROM` layers the nodes and the analysis' results are made by their classes, above it
    through `bulk.maker`: the same records either way."""
    from cnncalc import analysis, graph, pipeline

    text = ("input: 16x16x3\nlayers:\n  - conv: {filters: 4, kernel: 3}\n  - residual: [relu, {conv: {filters: 4, "
            "kernel: 1}}]\n  - repeat: {times: 3, layers: [relu, {conv: {filters: 4, kernel: 1}}]}\n  - fc: 2\n")
    small = pipeline.analyze_text(text, "t.yaml")
    monkeypatch.setattr(graph, "BULK_FROM", 0)
    monkeypatch.setattr(analysis, "BULK_FROM", 0)
    large = pipeline.analyze_text(text, "t.yaml")
    assert small.graph.nodes == large.graph.nodes and small.results == large.results
