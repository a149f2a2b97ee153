"""The HTML report in a real browser: headless Chromium loads every shipped spec's page with every host name
unresolvable, and a probe script (added to a copy of the page, before and after the page's own) checks that
the page loads, draws one graph node per layer, sorts on a header click, filters, recolours, collapses and
expands blocks, reads out the chart, logs no error and requests nothing. ResNet-50's page is also
photographed for the README (docs/img/resnet50-report.png).

Skipped, saying so, where no Chromium is installed (apt-get install chromium)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cnncalc import cpu, report as report_mod
from cnncalc.pipeline import analyze_text
from cnncalc.render import html

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
BIG = {"resnet101", "resnet152", "densenet121"}
CHROMIUM = next((found for name in ("chromium", "chromium-browser", "google-chrome", "chrome")
                 if (found := shutil.which(name))), None)
SCREENSHOT = ROOT / "docs" / "img" / "resnet50-report.png"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium): "
                                "the browser checks of the HTML report need one")

HEAD_PROBE = """<script>
window.__problems = [];
window.addEventListener("error", function (e) { __problems.push("error: " + e.message); });
window.addEventListener("unhandledrejection", function (e) { __problems.push("rejection: " + e.reason); });
document.addEventListener("securitypolicyviolation", function (e) { __problems.push("csp: " + e.blockedURI); });
["error", "warn"].forEach(function (level) {
  var original = console[level];
  console[level] = function () { __problems.push(level + ": " + Array.prototype.join.call(arguments, " "));
                                 original.apply(console, arguments); };
});
</script>"""

TAIL_PROBE = """<script>
(function () {
  var r = {};
  function all(s, root) { return Array.prototype.slice.call((root || document).querySelectorAll(s)); }
  function visibleView() { return document.querySelector(".views .view:not([hidden])"); }
  function click(el) { el.dispatchEvent(new MouseEvent("click", {bubbles: true})); }
  try {
    r.ready = document.body.getAttribute("data-ready");
    r.views = all(".views .view").length;
    r.level = visibleView().getAttribute("data-level");
    r.nodes = all(".node", visibleView()).length;
    r.rows = all("#layers-table tbody tr").length;
    var heads = all("#layers-table thead th");
    function column(i) { return all("#layers-table tbody tr").map(function (tr) { return tr.cells[i]; }); }
    click(heads[7]);
    r.macsAscending = column(7).map(function (td) { return Number(td.getAttribute("data-v")); });
    r.ariaAfterOne = heads[7].getAttribute("aria-sort");
    click(heads[7]);
    r.macsDescending = column(7).map(function (td) { return Number(td.getAttribute("data-v")); });
    click(heads[1]);
    r.namesAscending = column(1).map(function (td) { return td.textContent; });
    click(heads[0]);
    r.orderRestored = column(0).map(function (td) { return Number(td.textContent); });
    var filter = document.getElementById("filter");
    filter.value = "conv";
    filter.dispatchEvent(new Event("input"));
    r.filtered = all("#layers-table tbody tr").filter(function (tr) { return !tr.hidden; }).length;
    r.shown = document.getElementById("shown").textContent;
    var before = all(".node rect", visibleView()).map(function (x) { return x.getAttribute("fill"); });
    var memory = document.querySelector("input[value=memory]");
    memory.checked = true;
    memory.dispatchEvent(new Event("change"));
    r.recoloured = before.length < 2 || all(".node rect", visibleView()).some(function (x, i) {
      return x.getAttribute("fill") !== before[i];
    });
    var cluster = visibleView().querySelector(".cluster text");
    if (cluster) {
      var depth = cluster.parentNode.getAttribute("data-depth");
      click(cluster);
      r.collapsedTo = visibleView().getAttribute("data-level");
      r.expectedLevel = String(Number(depth) - 1);
      var collapsed = visibleView().querySelector(".node.collapsed");
      click(collapsed);
      r.reopenedTo = visibleView().getAttribute("data-level");
    }
    click(visibleView().querySelector(".node:not(.collapsed)"));
    r.selectedRows = all("#layers-table tr.selected").length;
    var chart = document.getElementById("memory-chart");
    var box = chart.getBoundingClientRect();
    chart.dispatchEvent(new MouseEvent("mousemove", {clientX: box.left + box.width / 2, clientY: box.top + 50}));
    r.readout = document.getElementById("readout").textContent;
  } catch (e) {
    __problems.push("probe: " + e + " " + e.stack);
  }
  r.resources = performance.getEntriesByType("resource").map(function (e) { return e.name; });
  r.problems = window.__problems;
  var out = document.createElement("pre");
  out.id = "probe-result";
  out.textContent = JSON.stringify(r);
  document.body.appendChild(out);
})();
</script>"""

#: every host name fails to resolve, so a request anywhere would fail and be logged
ISOLATED = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0"]


def page(spec: Path) -> str:
    analysis = analyze_text(spec.read_text(encoding="utf-8"), f"specs/{spec.name}")
    options = report_mod.Options(cpu=cpu.resolve("avx2", 2))
    return html.render(analysis, report_mod.build(analysis, options))


def chromium(tmp_path: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    env = dict(os.environ, HOME=str(tmp_path))
    return subprocess.run([CHROMIUM, *ISOLATED, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def probe(text: str, tmp_path: Path) -> tuple[dict, str]:
    probed = text.replace("<head>", "<head>" + HEAD_PROBE, 1).replace("</body>", TAIL_PROBE + "</body>", 1)
    target = tmp_path / "probed.html"
    target.write_text(probed, encoding="utf-8")
    done = chromium(tmp_path, "--dump-dom", target.as_uri())
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', done.stdout, re.S)
    assert found, f"no probe result; chromium said:\n{done.stderr[-3000:]}"
    result = json.loads(found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
                        .replace("&amp;", "&"))
    return result, done.stderr


def spec_param(spec: Path):
    marks = [pytest.mark.slow] if spec.stem in BIG else []
    return pytest.param(spec, id=spec.stem, marks=marks)


@pytest.mark.parametrize("spec", [spec_param(s) for s in SPECS])
def test_the_report_works_in_chromium(spec, tmp_path):
    text = page(spec)
    rows = text.count('<tr id="row')
    result, log = probe(text, tmp_path)
    assert result["problems"] == [], result["problems"]
    assert result["resources"] == [], "the page requested " + ", ".join(result["resources"])
    assert not re.search(r"net::ERR|Failed to load resource|Uncaught", log), log[-3000:]
    assert result["ready"] == "1"
    assert result["nodes"] == result["rows"] == rows
    ascending = result["macsAscending"]
    assert ascending == sorted(ascending) and result["ariaAfterOne"] == "ascending"
    assert result["macsDescending"] == sorted(ascending, reverse=True)
    assert result["namesAscending"] == sorted(result["namesAscending"], key=str.lower)
    assert result["orderRestored"] == list(range(rows))
    conv_rows = sum(1 for row in re.findall(r'<tr id="row.*?</tr>', text) if "conv" in row.lower())
    assert result["filtered"] == conv_rows and result["shown"] == f"{conv_rows} of {rows} layers"
    assert result["recoloured"]
    if result["views"] > 1:
        assert result["collapsedTo"] == result["expectedLevel"]
        assert int(result["reopenedTo"]) > int(result["collapsedTo"])
    assert result["selectedRows"] == 1
    assert result["readout"].startswith("step ")


def test_a_screenshot_of_resnet50s_report(tmp_path):
    target = tmp_path / "resnet50.html"
    target.write_text(page(ROOT / "specs" / "resnet50.yaml"), encoding="utf-8")
    shot = tmp_path / "shot.png"
    done = chromium(tmp_path, "--hide-scrollbars", "--window-size=1400,1000", f"--screenshot={shot}",
                    target.as_uri())
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", done.stderr[-3000:]
    assert shot.stat().st_size > 50_000  # a drawn page, not a blank one
    if os.environ.get("CNNCALC_UPDATE_SCREENSHOT"):  # the README's picture, refreshed on purpose only
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
