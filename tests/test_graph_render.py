"""`cnncalc graph`: golden DOT/Mermaid/SVG for small specs, well-formed SVG for every shipped spec at every
collapse level, DOT that Graphviz parses, Mermaid that follows the flowchart grammar, and hostile names
escaped in every format. CNNCALC_UPDATE_GOLDEN=1 rewrites the golden files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cnncalc import report as report_mod
from cnncalc.pipeline import analyze_text, report_file
from cnncalc.render import escape
from cnncalc.render.diagram import Diagram, svg
from cnncalc.render.graph import to_dot, to_mermaid

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
GOLDEN = ROOT / "tests" / "golden" / "graph"
SMALL = ("lenet5", "inception_module", "cs231n_three_blocks")
SUFFIX = {"dot": ".dot", "mermaid": ".mmd", "svg": ".svg"}
SVG_NS = "{http://www.w3.org/2000/svg}"

HOSTILE = textwrap.dedent('''\
    name: "<b>&\\"Evil'\\x01 model</b> --> end"
    input: 8x8x3
    blocks:
      blk:
        layers:
          - conv: {filters: 4, kernel: 3, padding: 1, name: "<script>alert(1)</script>"}
          - relu: {name: "a&b\\"c'd\\ne\\x85f #quot; `x` [y] {z} (w) | end; \\\\n"}
    layers:
      - blk: {name: "</svg><!-- \\\\ \\" end"}
      - fc: {units: 2, name: "subgraph"}
    ''')


def diagram_of(path: Path) -> Diagram:
    return Diagram(report_file(str(path)))


def hostile() -> Diagram:
    analysis = analyze_text(HOSTILE, "hostile.yaml")
    assert analysis.ok, analysis.diagnostics
    return Diagram(report_mod.build(analysis, report_mod.Options()))


def rendered(diagram: Diagram, format: str, level: int | None = None) -> str:
    if format == "dot":
        return to_dot(diagram, level)
    if format == "mermaid":
        return to_mermaid(diagram, level)
    return svg(diagram, level)


@pytest.mark.parametrize("format", sorted(SUFFIX))
@pytest.mark.parametrize("name", SMALL)
def test_small_specs_match_their_golden_files(name, format):
    text = rendered(diagram_of(ROOT / "specs" / f"{name}.yaml"), format)
    golden = GOLDEN / f"{name}{SUFFIX[format]}"
    if os.environ.get("CNNCALC_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), f"{golden} differs (CNNCALC_UPDATE_GOLDEN=1 rewrites it)"


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_shipped_spec_draws_well_formed_svg_at_every_level(spec):
    diagram = diagram_of(spec)
    for level in diagram.levels():
        root = ET.fromstring(svg(diagram, level))
        nodes = [g for g in root.iter(f"{SVG_NS}g") if g.get("class", "").split()[:1] == ["node"]]
        view = diagram.view(level)
        assert len(nodes) == len(view.items) == int(root.get("data-nodes"))
        assert len(root.findall(f".//{SVG_NS}path[@class='edge']")) == len(view.edges)
        if level == diagram.full_level:
            assert len(nodes) == len(diagram.rows)
        check_mermaid(to_mermaid(diagram, level), len(view.items), len(view.edges))


def test_collapsing_keeps_every_layer_once_and_sums_the_counts():
    diagram = diagram_of(ROOT / "specs" / "resnet50.yaml")
    assert diagram.full_level == 2
    for level in diagram.levels():
        view = diagram.view(level)
        assert sorted(i for item in view.items for i in item.rows) == list(range(len(diagram.rows)))
        assert sum(item.macs for item in view.items) == diagram.report.totals.macs
    top = diagram.view(0)
    assert [item.title for item in top.items if item.block is not None] == ["layer1", "layer2", "layer3", "layer4"]
    assert top.edges == tuple((i, i + 1) for i in range(len(top.items) - 1))


# ---------------------------------------------------------------------------------------------
# Graphviz


DOT = shutil.which("dot")


@pytest.mark.skipif(DOT is None, reason="Graphviz `dot` is not installed (apt-get install graphviz)")
@pytest.mark.parametrize("spec", [*SPECS, None], ids=lambda p: p.stem if p else "hostile-names")
def test_graphviz_parses_the_dot_output(spec, tmp_path):
    diagram = diagram_of(spec) if spec else hostile()
    for level in sorted({0, diagram.full_level}):
        source = tmp_path / "graph.dot"
        source.write_text(to_dot(diagram, level), encoding="utf-8")
        done = subprocess.run([DOT, "-Tsvg", str(source)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and not done.stderr.strip(), done.stderr
        ET.fromstring(done.stdout)


# ---------------------------------------------------------------------------------------------
# Mermaid: a small grammar of the flowchart subset cnncalc writes

_ID = r"[nb]\d+"
_LABEL = r'"((?:[^"#<>&\[\]{}|`\\\x00-\x1f]|#\w+;|<br/>)*)"'
_NODE = re.compile(rf"^(\s*)(n\d+)\[{_LABEL}\]$")
_SUBGRAPH = re.compile(rf"^(\s*)subgraph (b\d+)\[{_LABEL}\]$")
_END = re.compile(r"^(\s*)end$")
_EDGE = re.compile(rf"^\s*({_ID}) --> ({_ID})$")


def check_mermaid(text: str, nodes: int, edges: int) -> None:
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    defined: set[str] = set()
    subgraphs: list[str] = []
    seen_edges = 0
    for number, line in enumerate(lines[1:], start=2):
        where = f"line {number}: {line!r}"
        if match := _NODE.match(line):
            assert match.group(2) not in defined, where
            assert len(match.group(1)) == 2 * (len(subgraphs) + 1), where
            defined.add(match.group(2))
        elif match := _SUBGRAPH.match(line):
            assert match.group(2) not in subgraphs and match.group(2) not in defined, where
            subgraphs.append(match.group(2))
            defined.add(match.group(2))
        elif _END.match(line):
            assert subgraphs, f"{where}: `end` without a subgraph"
            subgraphs.pop()
        elif match := _EDGE.match(line):
            assert not subgraphs, f"{where}: edges come after every subgraph"
            assert {match.group(1), match.group(2)} <= defined, where
            seen_edges += 1
        else:
            raise AssertionError(f"{where} is not a node, subgraph, end or edge")
    assert not subgraphs, f"unclosed subgraphs {subgraphs}"
    assert len([d for d in defined if d.startswith("n")]) == nodes and seen_edges == edges


def test_the_grammar_check_refuses_what_mermaid_would_misread():
    check_mermaid('flowchart TD\n  n0["a"]\n  n1["b#35;<br/>c"]\n  n0 --> n1\n', 2, 1)
    for bad in ('flowchart TD\n  n0["a"b"]\n', 'flowchart TD\n  subgraph b0["x"]\n    n0["a"]\n',
                'flowchart TD\n  n0["<b>"]\n', 'flowchart TD\n  n0["a"]\n  n0 --> n9\n', 'flowchart TD\n  end\n'):
        with pytest.raises(AssertionError):
            check_mermaid(bad, 1, 0)


# ---------------------------------------------------------------------------------------------
# hostile names


def test_hostile_names_are_escaped_in_every_format():
    diagram = hostile()
    names = [row.name for row in diagram.rows]
    assert any("<script>" in n for n in names) and any("\n" in n for n in names)
    for level in diagram.levels():
        text = svg(diagram, level)
        root = ET.fromstring(text)  # well-formed XML: no raw <, &, quote or control character
        assert not root.findall(f".//{SVG_NS}script")
        assert "<script" not in text and "\x01" not in text and "\x85" not in text
        titles = "".join(t.text or "" for t in root.iter(f"{SVG_NS}title"))
        assert "</svg><!-- \\ \" end" in titles
        if level == diagram.full_level:
            assert "<script>alert(1)</script>" in titles and "a&b\"c'd\\x0ae\\x85f" in titles
        view = diagram.view(level)
        check_mermaid(to_mermaid(diagram, level), len(view.items), len(view.edges))
    dot = to_dot(diagram)
    line = next(line for line in dot.splitlines() if "a&b" in line)
    assert '\\"c\'d\\\\x0ae' in line and line.endswith("];")  # one line: the newline is written \\x0a


def test_escape_helpers():
    assert escape.visible("a\x00b\x7f\x85\ud800\ufffe") == "a\\x00b\\x7f\\x85\\ud800\\ufffe"
    assert escape.xml("<a href='x'>&\"") == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
    assert escape.script_json({"k": "</script><!--&"}) == '{"k":"\\u003c/script\\u003e\\u003c!--\\u0026"}'
    assert escape.dot('a"b\\n') == 'a\\"b\\\\n'
    assert escape.mermaid('a"<b>#1') == "a#quot;#lt;b#gt;#35;1"
