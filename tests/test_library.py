"""The shipped block library (cnncalc/library): found by name, a spec's own definition first, expanded
at the use's position; the zoo uses it instead of re-defining its blocks. What the blocks compute is
checked through the zoo specs built from them (tests/test_zoo.py, tests/test_torchvision_zoo.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cnncalc import library
from cnncalc.library import generate
from cnncalc.blocks import CONSTRUCTS
from cnncalc.errors import SpecError
from cnncalc.layers import KINDS
from cnncalc.lint import lint_text
from cnncalc.pipeline import analyze_text
from conftest import analyze_yaml, diagnostics_of

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def test_every_library_file_loads_and_names_each_block_once():
    seen: dict[str, str] = {}
    for family in library.families():
        assert family.header, f"{family.name}: the header cites no source"
        for name in family.blocks:
            assert name not in seen, f"{name} is in {seen.get(name)} and {family.name}"
            assert name.lower() not in KINDS and name not in CONSTRUCTS
            assert family.descriptions[name], f"{name} has no description"
            seen[name] = family.name
    assert {"basic", "bottleneck", "group_bottleneck", "inception", "inverted_residual"} <= set(seen)


def test_the_names_read_without_parsing_are_the_parsed_blocks_names():
    assert library.names() == {name for family in library.families() for name in family.blocks}
    assert all(library.block(name) is library.blocks()[name] for name in library.names())


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_no_shipped_spec_defines_a_block_the_library_provides(path):
    own = (yaml.safe_load(path.read_text(encoding="utf-8")).get("blocks") or {})
    assert not set(own) & set(library.blocks()), "use the library's block (docs/blocks.md)"


SPEC = """
input: 8x8x16
layers:
  - basic: {width: 16}
  - fc: 10
"""


def test_a_library_block_needs_no_definition():
    rep = analyze_yaml(SPEC)
    convs = [r for r in rep.rows if r.type == "conv"]
    # torchvision's BasicBlock: two bias-free 3x3 convs
    assert [r.params for r in convs] == [3 * 3 * 16 * 16] * 2


def test_a_spec_s_own_block_wins_also_inside_library_blocks():
    text = """
    input: 8x8x16
    blocks:
      bottleneck:
        params: [width]
        layers: [relu]
    layers:
      - bottleneck_stage: {width: 4, blocks: 2, stride: 1}
    """
    rep = analyze_yaml(text)
    names = [r.name for r in rep.rows]
    # the stage's projection is the library's; its second block is the spec's one-relu bottleneck
    assert any(n.startswith("bottleneck_stage1/bottleneck_projection1/") for n in names)
    assert [n for n in names if n.startswith("bottleneck_stage1/bottleneck1/")] == ["bottleneck_stage1/bottleneck1/relu1"]


def test_library_layers_report_the_position_of_their_use():
    analysis = analyze_text("input: 8x8x16\nlayers:\n  - relu\n  - inverted_residual: {hidden: 32, out: 16}\n",
                            "mine.yaml", "pytorch")
    inside = [r.node for r in analysis.results if "inverted_residual1/" in r.node.name]
    assert inside and {(n.loc.path, n.loc.line, n.loc.col) for n in inside} == {("mine.yaml", 4, 5)}


def test_an_error_inside_a_library_block_points_at_the_use():
    found = diagnostics_of("input: 8x8x16\nlayers:\n  - relu\n  - basic: {width: 8}\n")
    errors = [d for d in found if d.severity == "error"]
    assert errors and all((d.loc.path, d.loc.line) == ("test.yaml", 4) for d in errors)


def test_a_suppression_on_the_use_line_covers_the_library_block():
    text = ("input: 8x8x8\nconvention: pytorch\nlayers:\n"
            "  - basic_projection: {width: 8}  # cnncalc: ignore[CNN301]\n  - fc: 2\n")
    assert "CNN301" in {d.code for d in lint_text(text.replace("  # cnncalc: ignore[CNN301]", ""), "x.yaml").diagnostics}
    assert "CNN301" not in {d.code for d in lint_text(text, "x.yaml").diagnostics}


def test_an_unknown_name_is_still_an_unknown_layer_type():
    with pytest.raises(SpecError) as raised:
        analyze_text("input: 8x8x16\nlayers:\n  - basicc: {width: 8}\n", "test.yaml")
    assert raised.value.code == "CNN104"


def test_the_library_is_package_data():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"library/*.yaml"' in text
    assert library.folder() == ROOT / "cnncalc" / "library"


def test_a_library_block_that_reads_in_reports_the_position_of_each_use():
    # inverted_residual derives its hidden width from $in (a default): expanded when the graph reaches it,
    # still at its use's position, and two uses with the same arguments on other lines apart
    text = "input: 8x8x16\nlayers:\n  - inverted_residual: {out: 16, expand: 2}\n  - inverted_residual: {out: 16, expand: 2}\n"
    analysis = analyze_text(text, "mine.yaml", "pytorch")
    for number, line in ((1, 3), (2, 4)):
        inside = [r.node for r in analysis.results if f"inverted_residual{number}/" in r.node.name]
        assert inside and {(n.loc.path, n.loc.line, n.loc.col) for n in inside} == {("mine.yaml", line, 5)}
    expand = next(r for r in analysis.results if r.node.name == "inverted_residual1/inverted1/conv1")
    assert expand.output.channels == 32


@pytest.mark.parametrize("block, channels, hidden, squeeze", [
    # torchvision efficientnet.py MBConv: adjust_channels(in, expand) = _make_divisible(in * expand, 8),
    # squeeze max(1, in // 4); MobileNetV3 (mobilenetv3.py): _make_divisible(expanded // 4, 8)
    ("mbconv: {out: 24, stride: 2}", 16, 96, 4),
    ("mbconv: {out: 8, expand: 4}", 6, 24, 1),
    ("mbconv: {out: 40, hidden: 72, squeeze: 24, kernel: 5}", 24, 72, 24),
])
def test_mbconv_derives_torchvision_s_widths_from_its_input(block, channels, hidden, squeeze):
    rep = analyze_yaml(f"input: 9x9x{channels}\nlayers:\n  - {block}\n")
    convs = [r for r in rep.rows if r.type == "conv"]
    assert convs[0].params == channels * hidden
    se_in = next(r for r in convs if r.name.endswith("branch2/conv1"))
    assert se_in.params == hidden * squeeze + squeeze


@pytest.mark.parametrize("channels, squeeze", [(72, 24), (16, 8), (960, 240), (120, 32)])
def test_squeeze_excite_squeezes_as_mobilenet_v3(channels, squeeze):
    # torchvision mobilenetv3.py: squeeze_channels = _make_divisible(expanded // 4, 8)
    rep = analyze_yaml(f"input: 4x4x{channels}\nlayers:\n  - squeeze_excite\n")
    convs = [r for r in rep.rows if r.type == "conv"]
    assert [c.params for c in convs] == [channels * squeeze + squeeze, squeeze * channels + channels]


def test_a_spec_of_plain_layers_and_repeats_never_reads_the_library(monkeypatch):
    asked = []
    module = library._module  # what reads a library file's generated module (the index is a literal here)
    monkeypatch.setattr(library, "_module", lambda stem: asked.append(stem) or module(stem))
    library._unplaced.cache_clear()  # read again, as a fresh run reads it
    text = "input: 32x32x3\nlayers:\n  - repeat: {times: 2, layers: [{conv: {filters: 8, kernel: 3}}, relu]}\n  - fc: 10\n"
    assert not [d for d in analyze_text(text, "plain.yaml", "strict").diagnostics if d.severity == "error"]
    assert not asked
    used = analyze_text("input: 32x32x64\nlayers:\n  - basic: {width: 64}\n", "use.yaml", "pytorch")
    assert not [d for d in used.diagnostics if d.severity == "error"], used.diagnostics
    assert asked


def test_the_generated_modules_are_the_library_files():
    """cnncalc/library/compiled_*.py and the index in cnncalc/library/__init__.py are what `python -m
    cnncalc.library.generate` writes from the YAML files."""
    wanted = generate.sources()
    for relative, text in wanted.items():
        assert (ROOT / relative).read_text(encoding="utf-8") == text, f"{relative} is stale: run `{generate.COMMAND}`"
    folder, prefix = generate.PREFIX.rsplit("/", 1)
    written = {f"{folder}/{p.name}" for p in (ROOT / folder).glob(f"{prefix}*.py")}
    assert written == set(wanted) - {generate.INDEXED}, f"run `{generate.COMMAND}`"


def test_a_changed_library_file_makes_the_generated_modules_stale(tmp_path, monkeypatch):
    for path in library.folder().glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    resnet = tmp_path / "resnet.yaml"
    resnet.write_text(resnet.read_text(encoding="utf-8").replace("kernel: 3, padding: 1", "kernel: 3,  padding: 1", 1),
                      encoding="utf-8")
    monkeypatch.setattr(library, "folder", lambda: tmp_path)
    changed = {relative for relative, text in generate.sources().items()
               if (ROOT / relative).read_text(encoding="utf-8") != text}
    assert changed == {f"{generate.PREFIX}resnet.py"}  # one column moved: its positions differ


def test_each_decoded_family_is_its_parsed_yaml_file():
    """Every block read from the generated modules is the one the YAML file gives: values, texts, every
    position (so diagnostics into library blocks and the JSON's places are unchanged)."""
    paths = sorted(library.folder().glob("*.yaml"))
    assert [family.name for family in library.families()] == [path.stem for path in paths]
    for family, path in zip(library.families(), paths):
        parsed = generate.parse_family(path)
        assert family == parsed
        assert all(library.block(name) is block for name, block in family.blocks.items())


def test_decoding_gives_back_every_node_and_position():
    from cnncalc.yamlsource import load

    node = load("a: [1, x, {b: 2.5, c: null}]\nd: |\n  two\n  lines\ne: 'q'\n", "cnncalc/library/t.yaml")
    assert library.decode(generate.encode(node), "cnncalc/library/t.yaml") == node
    assert library.decode(generate.encode(node), "elsewhere.yaml") != node


def _moved(node, loc):
    """`node` with every position `loc`: a library block's node at its use, as it was made before a run
    stopped decoding the file's positions."""
    from cnncalc.yamlsource import YNode

    if node.is_mapping:
        return YNode({k: _moved(v, loc) for k, v in node.value.items()}, loc, node.text, dict.fromkeys(node.key_locs, loc))
    if node.is_sequence:
        return YNode(tuple(_moved(v, loc) for v in node.value), loc, node.text)
    return YNode(node.value, loc, node.text)


@pytest.mark.parametrize("name", sorted(library.names()))
def test_a_block_at_its_use_is_the_decoded_block_moved_there(name):
    from cnncalc.blocks import substitute
    from cnncalc.errors import Location

    loc = Location("use.yaml", 7, 5, 7, 16)
    decoded, at_use = library.block(name), library.at_use(name, loc)
    assert at_use.name == name and at_use.loc == loc
    assert at_use.params == {k: None if v is None else _moved(v, loc) for k, v in decoded.params.items()}
    # its layers keep one position until a use moves them; the use's copy is the decoded layers moved
    assert _moved(at_use.layers, loc) == _moved(decoded.layers, loc)
    assert library.layers_at(at_use, loc).layers == _moved(decoded.layers, loc)
    args = {param: _number(8) if default is None else at_use.params[param] for param, default in decoded.params.items()}
    if not any("$in" in repr(v) for v in (decoded.layers, *decoded.params.values())):
        assert substitute(at_use.layers, args, at=loc) == substitute(_moved(decoded.layers, loc), args)


def _number(value):
    from cnncalc.errors import Location
    from cnncalc.yamlsource import YNode

    return YNode(value, Location("args.yaml", 1, 1), str(value))
