"""`cnncalc report`: the HTML page's content without a browser (tests/test_browser.py runs it in Chromium)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cnncalc import cpu, report as report_mod
from cnncalc.pipeline import analyze_file, analyze_text
from cnncalc.render import html
from cnncalc.timeline import training_step

ROOT = Path(__file__).resolve().parent.parent
FIXED_CPU = cpu.resolve("avx2", 2)
#: the only absolute URL a page may hold: the SVG namespace, which is a name, never fetched
NAMESPACE = "http://www.w3.org/2000/svg"


class Tags(HTMLParser):
    """Every start tag with its attributes, the text of each <script>, and unclosed elements."""

    VOID = {"meta", "input", "br", "img", "link", "col", "hr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self.open: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def page_of(path: str, **options) -> tuple[str, report_mod.Report]:
    analysis = analyze_file(path)
    built = report_mod.build(analysis, report_mod.Options(cpu=FIXED_CPU, **options))
    return html.render(analysis, built), built


def parsed(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    tags.close()
    assert tags.open == [], f"unclosed elements {tags.open}"
    return tags


def external_references(page: str) -> list[str]:
    """Anything that could make the browser fetch: absolute URLs, src/href attributes, CSS url() and @import."""
    found = [u for u in re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'<>)]*", page) if u != NAMESPACE
             and not NAMESPACE.endswith(u)]
    found += re.findall(r"\b(?:src|href|srcset|action|poster)\s*=", page)
    found += re.findall(r"url\((?!#)[^)]*\)|@import", page)
    return found


def test_the_page_is_self_contained_and_well_nested():
    page, built = page_of(str(ROOT / "specs" / "resnet50.yaml"))
    tags = parsed(page)
    names = [tag for tag, _ in tags.tags]
    assert "link" not in names and "img" not in names and "iframe" not in names
    assert external_references(page) == []
    csp = next(attrs for tag, attrs in tags.tags if tag == "meta" and attrs.get("http-equiv"))
    assert csp["content"].startswith("default-src 'none'")
    assert len(tags.scripts) == 2
    data = json.loads(tags.scripts[0])
    assert data["names"] == [row.name for row in built.rows]


def test_the_page_holds_every_layer_every_column_and_analyzes_text():
    page, built = page_of(str(ROOT / "specs" / "vgg16.yaml"))
    for heading in ("Layer", "Type", "Output [H x W x C]", "Activations", "Params", "MACs", "Output bytes",
                    "Kept for backward", "Gradient", "Memory total"):
        assert f">{heading}</th>" in page
    assert page.count('<tr id="row') == len(built.rows)
    assert "(3*3*3)*64 + 64 = 1,792" in page  # the params formula, as analyze writes it
    assert "MACs: 15,470,264,320 (15.5G)   FLOPs = 2 x MACs = 30.9G" in page
    assert "training             2 x activations (values + gradients) + parameters x 3" in page
    assert page.count('class="cnn-graph"') == 1  # VGG has no blocks: one level


def test_the_memory_chart_is_the_liveness_simulation_and_marks_its_peak():
    analysis = analyze_file(str(ROOT / "specs" / "resnet18.yaml"))
    options = report_mod.Options(memory_model="pytorch", batch=2, cpu=FIXED_CPU)
    built = report_mod.build(analysis, options)
    timeline = training_step(analysis, options)
    peak = timeline.points[timeline.peak]
    assert peak.total == built.memory.training_bytes
    assert (peak.phase, peak.layer) == (built.memory.training_peak.phase, built.memory.training_peak.layer)
    assert [p.phase for p in timeline.points].index("backward") == len(built.rows)
    assert timeline.points[-1].phase == "optimizer step"
    page = html.render(analysis, built)
    assert f'data-points="{len(timeline.points)}"' in page and 'id="peak"' in page
    assert f"peak {html.binary(peak.total)} (backward, " in page


@pytest.mark.parametrize("options", [dict(device="cuda", amp="float16", optimizer="adam"),
                                     dict(memory_model="pytorch", dtype="float16", batch=3, optimizer="rmsprop")])
@pytest.mark.parametrize("name", ["googlenet", "mobilenet_v2"])
def test_the_timeline_peaks_where_the_pytorch_model_does(name, options):
    analysis = analyze_file(str(ROOT / "specs" / f"{name}.yaml"))
    chosen = report_mod.Options(cpu=FIXED_CPU, **options)
    timeline = training_step(analysis, chosen)
    assert timeline.points[timeline.peak].total == report_mod.build(analysis, chosen).memory.training_bytes


def test_hostile_names_cannot_break_out_of_the_page():
    spec = textwrap.dedent('''\
        name: "</title><script>alert(1)</script> & \\x01"
        input: 8x8x3
        layers:
          - conv: {filters: 4, kernel: 3, padding: 1, name: "</script><script>alert(2)</script>"}
          - relu: {name: "a\\"b'c\\nd <!-- e"}
        ''')
    analysis = analyze_text(spec, "hostile.yaml")
    built = report_mod.build(analysis, report_mod.Options(cpu=FIXED_CPU))
    page = html.render(analysis, built)
    tags = parsed(page)
    assert len(tags.scripts) == 2 and "alert" not in tags.scripts[1]
    assert json.loads(tags.scripts[0])["names"][1] == "</script><script>alert(2)</script>"
    assert "<script>alert" not in page and "\x01" not in page and "<!-- e" not in page


def test_report_and_graph_commands(cli, tmp_path):
    target = tmp_path / "lenet.html"
    done = cli("report", str(ROOT / "specs" / "lenet5.yaml"), "-o", str(target), "--cpu", "avx2", "--threads", "2")
    assert done.exit_code == 0, done.output
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    for format, start in (("svg", "<svg"), ("dot", "digraph"), ("mermaid", "flowchart TD")):
        done = cli("graph", str(ROOT / "specs" / "resnet18.yaml"), "--format", format, "--depth", "0")
        assert done.exit_code == 0 and done.output.startswith(start), done.output
    graph = tmp_path / "g.svg"
    assert cli("graph", str(ROOT / "specs" / "lenet5.yaml"), "-o", str(graph), "--color", "memory").exit_code == 0
    assert graph.read_text(encoding="utf-8").count('class="node"') == 13
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: 8x8x3\nlayers: [{conv: {filters: 4, kernel: 9}}]\n", encoding="utf-8")
    assert cli("report", str(bad), "-o", str(tmp_path / "x.html")).exit_code == 1
    assert cli("graph", str(bad)).exit_code == 1


def test_analyze_and_lint_never_import_the_html_and_graph_modules():
    probe = textwrap.dedent(f'''\
        import sys
        from cnncalc.cli import main
        for args in (["analyze", "{ROOT / 'specs' / 'resnet18.yaml'}"], ["lint", "{ROOT / 'specs' / 'lenet5.yaml'}"]):
            sys.argv = ["cnncalc", *args]
            try:
                main()
            except SystemExit:
                pass
        heavy = ("cnncalc.render.html", "cnncalc.render.diagram", "cnncalc.render.graph", "cnncalc.layout",
                 "cnncalc.timeline")
        print("IMPORTED", [m for m in heavy if m in sys.modules])
        ''')
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "IMPORTED []" in done.stdout, done.stdout[-500:] + done.stderr[-2000:]
