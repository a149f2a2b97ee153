"""`cnncalc diff`: alignment (an inserted block is one insertion), the changes, budgets and formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc import diff, pipeline, report

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnncalc", *args], capture_output=True, text=True, cwd=ROOT)


def _report(text: str, path: str = "t.yaml", **options) -> report.Report:
    analysis = pipeline.analyze_text(text, path)
    assert analysis.ok
    return report.build(analysis, report.Options(memory_model="pytorch", **options))


def _file_report(name: str) -> report.Report:
    return _report((SPECS / f"{name}.yaml").read_text(), f"specs/{name}.yaml")


#: VGG-16 with one more 3x3 conv (256 -> 256 on 56x56) at the end of its third stage
VGG_TEXT = (SPECS / "vgg16.yaml").read_text()
_third_pool = [i for i in range(len(VGG_TEXT)) if VGG_TEXT.startswith("  - pool\n", i)][2]
VGG_PLUS = VGG_TEXT[:_third_pool] + "  - conv: {filters: 256}\n" + VGG_TEXT[_third_pool:]


@pytest.fixture(scope="module")
def vgg_plus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("diff") / "vgg16_plus.yaml"
    path.write_text(VGG_PLUS)
    return path


def test_resnet18_to_resnet34_is_insertions_only():
    comparison = diff.compare(_file_report("resnet18"), _file_report("resnet34"))
    counts = comparison.counts()
    assert counts["removed"] == 0 and counts["changed"] == 0
    assert counts["inserted"] == 7 * (1 + 2 + 4 + 1)  # blocks of 7 layers: (3, 4, 6, 3) - (2, 2, 2, 2)
    inserted = [run for status, run in comparison.hunks() if status == "inserted"]
    assert [len(run) for run in inserted] == [7, 14, 28, 7]  # one run per stage
    assert comparison.total("params").delta == 21_797_672 - 11_689_512


def test_an_inserted_layer_in_the_middle_of_vgg_is_one_insertion():
    comparison = diff.compare(_file_report("vgg16"), _report(VGG_PLUS))
    changes = [(status, run) for status, run in comparison.hunks() if status != "same"]
    assert len(changes) == 1
    status, run = changes[0]
    assert status == "inserted" and len(run) == 1
    assert run[0].b.type == "conv" and run[0].b.output_shape == (56, 56, 256)
    assert comparison.total("params").delta == 3 * 3 * 256 * 256 + 256
    assert comparison.total("macs").delta == 56 * 56 * 256 * 3 * 3 * 256


def test_identical_specs_have_no_changes():
    comparison = diff.compare(_file_report("mobilenet_v2"), _file_report("mobilenet_v2"))
    assert set(comparison.counts()) >= {"same"} and comparison.counts()["same"] == len(comparison.entries)
    assert all(t.delta == 0 for t in comparison.totals)


def test_a_changed_width_shows_as_changed_layers_not_removals():
    wider = VGG_TEXT.replace("{conv: {filters: 64}}", "{conv: {filters: 96}}", 1)
    comparison = diff.compare(_file_report("vgg16"), _report(wider))
    counts = comparison.counts()
    assert counts["removed"] == counts["inserted"] == 0
    assert counts["changed"] >= 4  # two convs and two relus at 64 -> 96, then the next conv's weights


def test_gaps_are_contiguous_among_repeats():
    text = "name: t\ninput: 8x8x4\nlayers:\n  - repeat: {times: %d, layers: [{conv: {filters: 4, kernel: 1}}, relu]}\n"
    comparison = diff.compare(_report(text % 2), _report(text % 4))
    assert [(status, len(run)) for status, run in comparison.hunks()] == [("same", 5), ("inserted", 4)]


def test_large_alignments_fall_back_to_matching_blocks(monkeypatch):
    monkeypatch.setattr(diff, "MAX_CELLS", 10)
    comparison = diff.compare(_file_report("vgg16"), _report(VGG_PLUS))
    assert [(s, len(r)) for s, r in comparison.hunks() if s != "same"] == [("inserted", 1)]


@pytest.mark.parametrize("text,metric,limit,relative", [
    ("params:+5%", "params", 5.0, True), ("macs:+1G", "macs", 1e9, False), ("memory:+256MiB", "memory", 2**28, False),
    ("activations: 10%", "activations", 10.0, True), ("inference:+1.5GB", "inference", 1.5e9, False),
])
def test_budgets_parse(text, metric, limit, relative):
    budget = diff.parse_budget(text)
    assert (budget.metric, budget.limit, budget.relative) == (metric, limit, relative)


@pytest.mark.parametrize("text", ["params", "flops:+5%", "params:+lots", "memory:+5 apples"])
def test_bad_budgets_are_usage_errors(text, vgg_plus):
    run = _cli("diff", "specs/vgg16.yaml", str(vgg_plus), "--fail-on", text)
    assert run.returncode == 2 and "--fail-on" in run.stderr


def test_fail_on_exits_1_over_budget_and_0_within(vgg_plus):
    # the extra conv adds 590,080 params to 138,357,544 (+0.43 %) and 1.85 GMACs (+12 %)
    over = _cli("diff", "specs/vgg16.yaml", str(vgg_plus), "--fail-on", "params:+0.1%", "--fail-on", "macs:+20%")
    assert over.returncode == 1, over.stderr
    assert "budget params:+0.1%: EXCEEDED" in over.stdout and "budget macs:+20%: ok" in over.stdout
    within = _cli("diff", "specs/vgg16.yaml", str(vgg_plus), "--fail-on", "params:+1%", "--fail-on", "macs:+2G",
                  "--fail-on", "memory:+1GiB")
    assert within.returncode == 0, within.stderr
    absolute = _cli("diff", "specs/vgg16.yaml", str(vgg_plus), "--fail-on", "params:+500k")
    assert absolute.returncode == 1


def test_markdown_is_a_github_table(vgg_plus):
    run = _cli("diff", "specs/vgg16.yaml", str(vgg_plus), "-f", "markdown")
    assert run.returncode == 0, run.stderr
    blocks, current = [], []
    for line in run.stdout.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    assert len(blocks) == 2  # totals, then the changed layers
    for block in blocks:
        header, separator, *body = block
        width = header.count("|")
        assert body and all(set(cell.strip()) <= set("-:") and cell.strip() for cell in separator.strip("|").split("|"))
        assert all(row.count("|") - row.count("\\|") == width for row in [separator, *body])
    assert "| + |" in run.stdout and "conv" in blocks[1][2]


def test_json_keys_as_documented(vgg_plus):
    data = json.loads(_cli("diff", "specs/vgg16.yaml", str(vgg_plus), "-f", "json", "--fail-on", "params:+1%").stdout)
    assert set(data) == {"a", "b", "options", "summary", "layers", "hunks", "totals", "peaks", "budgets"}
    assert data["summary"] == {"same": 39, "changed": 0, "inserted": 1, "removed": 0}
    assert data["hunks"] == [{"status": "inserted", "layers": 1, "a": [], "b": [data["hunks"][0]["b"][0]]}]
    assert set(data["totals"]) == {"params", "macs", "activations", "memory", "inference"}
    assert set(data["totals"]["params"]) == {"a", "b", "delta", "relative_percent"}
    layer = data["layers"][0]
    assert set(layer) == {"status", "a", "b", "type", "output_shape_a", "output_shape_b", "params", "macs",
                          "activations", "memory_bytes"}
    assert set(data["peaks"]["training"]) == {"a", "b", "moved"}
    assert data["budgets"] == [{"budget": "params:+1%", "metric": "params", "limit": 1.0, "relative": True,
                                "exceeded": False}]
    README = (ROOT / "README.md").read_text()
    for key in ("hunks", "relative_percent", "memory_bytes", "output_shape_a", "peaks"):
        assert f"`{key}`" in README


def test_the_table_names_the_insertion_and_the_peaks(vgg_plus):
    run = _cli("diff", "specs/vgg16.yaml", str(vgg_plus))
    assert run.returncode == 0, run.stderr
    assert "1 inserted, 0 removed, 0 changed, 39 unchanged layers (39 -> 40)" in run.stdout
    assert "training peak:" in run.stdout


def test_removals_the_other_way_and_no_peak_location_under_the_textbook_model():
    run = _cli("diff", "specs/resnet34.yaml", "specs/resnet18.yaml", "-f", "json", "--memory-model", "textbook")
    data = json.loads(run.stdout)
    assert data["summary"] == {"same": 69, "changed": 0, "inserted": 0, "removed": 56}
    assert data["peaks"] == {} and data["options"]["memory_model"] == "textbook"
    assert data["totals"]["params"]["delta"] == 11_689_512 - 21_797_672


def test_vgg16_to_vgg19_adds_one_conv_and_relu_to_each_of_the_last_three_stages():
    comparison = diff.compare(_file_report("vgg16"), _file_report("vgg19"))
    changes = [(status, sorted(e.b.type for e in run)) for status, run in comparison.hunks() if status != "same"]
    assert changes == [("inserted", ["conv", "relu"])] * 3  # conv, relu or relu, conv: the same alignment


def test_long_chains_pair_their_common_head_before_aligning():
    text = "name: t\ninput: 8x8x4\nlayers:\n  - repeat: {times: %d, layers: [{conv: {filters: 4, kernel: 1}}, relu]}\n"
    comparison = diff.compare(_report(text % 700), _report(text % 710))  # 1.99M pairs without the head
    assert [(status, len(run)) for status, run in comparison.hunks()] == [("same", 1401), ("inserted", 20)]
