"""`fit`: its answers are the memory model's own (a batch it says fits is within budget, one more is not)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cnncalc import fitting as fit, report
from cnncalc.cli import app
from cnncalc.cuda.gpus import with_memory
from cnncalc.errors import UsageError
from cnncalc.pipeline import analyze_file
from cnncalc.units import parse_size

runner = CliRunner()
LENET = analyze_file("specs/lenet5.yaml", "pytorch")


# issue #13: fit reads --memory with units.parse_size, the one size reader: 24G is 24 GB, a bare 1000 needs a unit
@pytest.mark.parametrize(("text", "value"), [("24GiB", 24 * 2**30), ("16GB", 16 * 10**9), ("512 MiB", 512 * 2**20),
                                             ("1000B", 1000), ("1.5KiB", 1536), ("24G", 24 * 10**9)])
def test_parse_size(text, value):
    assert parse_size(text, "--memory", code="CNN501") == value


@pytest.mark.parametrize("text", ["", "GiB", "-1GiB", "4GXB", "0", "1000", "0GiB", "9" * 400 + "GiB"])
def test_parse_size_refuses(text):
    with pytest.raises(UsageError) as error:
        parse_size(text, "--memory", code="CNN501")
    assert error.value.code == "CNN501"


@settings(max_examples=25, deadline=None)
@given(st.integers(400_000, 50_000_000), st.sampled_from(["train", "infer"]), st.sampled_from(["adam", "sgd"]))
def test_largest_batch_fits_and_one_more_does_not(budget, mode, optimizer):
    options = report.Options(optimizer=optimizer)
    result = fit.fit(LENET, options, budget, mode)
    need = lambda b: fit.needed(LENET, dataclasses.replace(options, batch=b), mode)  # noqa: E731
    if result.batch:
        assert need(result.batch) <= budget < need(result.batch + 1)
        assert result.needed_bytes == need(result.batch)
    else:
        assert need(1) > budget and result.advice


def test_resolution_fits_and_the_next_valid_side_does_not():
    options = report.Options(optimizer="adam", batch=4)
    result = fit.fit(LENET, options, 3 * 2**20, "train", resolution=True)
    assert result.side and result.needed_bytes <= 3 * 2**20 < result.next_bytes


def test_advice_is_ranked_and_each_claim_holds():
    vgg = analyze_file("specs/vgg16.yaml")
    options = report.Options(optimizer="adam")
    budget = int(2.5 * 2**30)
    result = fit.fit(vgg, options, budget, "train", target=64)
    assert not result.fits and result.target_bytes > budget
    batches = [a.batch for a in result.advice]
    assert batches == sorted(batches, reverse=True)
    assert any("float16" in a.change for a in result.advice)
    half = next(a for a in result.advice if "float16" in a.change)
    assert fit.needed(vgg, dataclasses.replace(options, dtype="float16", batch=half.batch), "train") <= budget


def test_cli_says_what_fits_and_exits_by_verdict():
    ok = runner.invoke(app, ["fit", "specs/lenet5.yaml", "--memory", "64MiB", "-c", "pytorch"])
    assert ok.exit_code == 0 and "largest batch" in ok.stdout
    tight = runner.invoke(app, ["fit", "specs/vgg16.yaml", "--memory", "1GiB"])
    assert tight.exit_code == 1 and "nothing fits" in tight.stdout and "stride of 2" in tight.stdout
    data = json.loads(runner.invoke(app, ["fit", "specs/lenet5.yaml", "-m", "64MiB", "-f", "json"]).stdout)
    assert data["fits"] and data["batch"] > 1
    bad = runner.invoke(app, ["fit", "specs/lenet5.yaml", "--memory", "lots"])
    assert bad.exit_code == 2 and "CNN501" in bad.stderr


#: A decoder-first net: its first layer named conv* upsamples; its first forward convolution is conv1.
UPSAMPLING_FIRST = """
name: upsampling first
input: 16x16x8
layers:
  - conv_transpose: {filters: 8, kernel: 2, stride: 1}
  - conv: {filters: 16, kernel: 3, padding: 1, name: conv1}
  - relu
  - fc: 10
"""


def test_stride_advice_picks_the_first_forward_convolution_not_a_transposed_one():
    from cnncalc.pipeline import analyze_text

    analysis = analyze_text(UPSAMPLING_FIRST, "up.yaml")
    assert fit._first_conv(analysis.graph).name == "conv1"
    change, _ = fit.with_first_stride(analysis)
    assert change.startswith("a stride of 2 in the first layer (conv1)")
    forward = "  - conv: {filters: 16, kernel: 3, padding: 1, name: conv1}\n"
    only_transposed = analyze_text(UPSAMPLING_FIRST.replace(forward, ""), "up.yaml")
    assert fit._first_conv(only_transposed.graph) is None and fit.with_first_stride(only_transposed) is None


def _sizes(line: str) -> list[str]:
    import re

    return re.findall(r"[0-9][0-9.,]* (?:[KMGT]iB|B)\b", line)


def test_the_largest_batch_and_the_next_show_different_numbers():
    """Issue #12: "batch 293 needs 24.0 GiB; batch 294 would need 24.0 GiB"."""
    result = runner.invoke(app, ["fit", "specs/resnet50.yaml", "--memory", "24GiB", "--optimizer", "adam"])
    line = next(x for x in result.stdout.splitlines() if x.startswith("largest batch"))
    budget, need, following = _sizes(line)
    assert need != following and following != budget, line


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2**45), st.integers(1, 2**30), st.integers(1, 2**30))
def test_describe_never_prints_two_different_sizes_alike(need, gap, slack):
    """need <= budget < next: all three printed sizes differ, however close they are."""
    budget = need + slack - 1
    result = fit.FitResult(budget, "train", 7, need, budget + gap, None, None)
    (line,) = fit.describe(result, "float32")
    budget_text, need_text, next_text = _sizes(line)
    assert next_text != budget_text and next_text != need_text
    assert (need_text == budget_text) == (need == budget)


def test_amp_and_cuda_fit_the_pytorch_models_batch_not_the_textbooks():
    """Issue #12: VGG-16 is strict (textbook memory); `--amp float16 --device cuda` returned the float32
    textbook batch (193) under a "float16 amp" label."""
    args = ["fit", "specs/vgg16.yaml", "--memory", "24GiB", "--amp", "float16", "--device", "cuda", "-f", "json"]
    chosen = json.loads(runner.invoke(app, args).stdout)
    asked = json.loads(runner.invoke(app, [*args, "--memory-model", "pytorch"]).stdout)
    textbook = json.loads(runner.invoke(app, ["fit", "specs/vgg16.yaml", "--memory", "24GiB", "-f", "json"]).stdout)
    assert chosen["batch"] == asked["batch"] != textbook["batch"]
    assert chosen["memory_model"] == "pytorch" and "--amp" in chosen["memory_model_note"]
    text = runner.invoke(app, args[:-2]).stdout
    assert "pytorch model (chosen by --amp and --device cuda" in text


def test_cuda_counts_the_gpu_overheads_against_the_budget():
    """Issue #12: `--device cuda` returned the CPU's batch (ResNet-50, 24 GiB, AMP: 567) though analyze shows
    ~1 GiB of GPU-only overheads (CUDA context, cuDNN workspace, allocator rounding)."""
    resnet = analyze_file("specs/resnet50.yaml")
    budget = 24 * 2**30
    cpu = fit.fit(resnet, report.Options(optimizer="adam", amp="float16"), budget)
    options = report.Options(optimizer="adam", amp="float16", device="cuda")
    cuda = fit.fit(resnet, options, budget)
    assert 0 < cuda.batch < cpu.batch
    on_budget = dataclasses.replace(options, gpu=with_memory(None, budget))  # the allocator runs on the budget
    at = report.build(resnet, dataclasses.replace(on_budget, batch=cuda.batch)).memory
    # issue #16: the simulated caching allocator's reserved peak + the CUDA context estimate
    assert cuda.needed_bytes == at.cuda.training.reserved + at.cuda.context_bytes <= budget
    assert cuda.overhead == at.gpu_overhead and cpu.overhead is None
    following = report.build(resnet, dataclasses.replace(on_budget, batch=cuda.batch + 1)).memory
    assert cuda.next_bytes == following.cuda.training.reserved + following.cuda.context_bytes > budget


def test_cuda_output_names_the_overheads_it_included():
    args = ["fit", "specs/resnet50.yaml", "--memory", "24GiB", "--amp", "float16", "--device", "cuda"]
    text = runner.invoke(app, args).stdout.splitlines()
    (line,) = [x for x in text if x.startswith("needs = the caching allocator's reserved peak")]
    assert "CUDA context (~512.0 MiB, an estimate)" in line and "cuDNN free to fall back" in line, line
    data = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    assert data["gpu_overhead_estimate"]["total_bytes"] > 512 * 2**20
    cpu = runner.invoke(app, ["fit", "specs/resnet50.yaml", "--memory", "24GiB", "--amp", "float16"]).stdout
    assert "GPU-only" not in cpu


def _fit_outputs(*args: str) -> tuple[dict, str, str]:
    base = ["fit", *args]
    data = json.loads(runner.invoke(app, [*base, "-f", "json"]).stdout)
    return data, runner.invoke(app, [*base, "-f", "csv"]).stdout, runner.invoke(app, [*base, "-f", "markdown"]).stdout


def test_csv_has_a_header_and_a_row_per_answer_and_advice():
    """Issue #12: `fit -f csv` printed the plain-text sentences."""
    import csv
    import io

    data, text, _ = _fit_outputs("specs/vgg16.yaml", "--memory", "1GiB", "--batch", "4")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(fit.CSV_COLUMNS)
    assert [r["row"] for r in rows] == ["target", "largest"] + ["advice"] * len(data["advice"])
    target, largest, *advice = rows
    assert (int(target["batch"]), int(target["needed_bytes"]), target["fits"]) == (4, data["target_bytes"], "false")
    assert (int(largest["batch"]), int(largest["needed_bytes"])) == (data["batch"], data["needed_bytes"])
    assert int(largest["budget_bytes"]) == 2**30 and largest["mode"] == "train"
    for row, expected in zip(advice, data["advice"]):
        assert (row["change"], int(row["batch"]), int(row["needed_bytes"])) == (
            expected["change"], expected["batch"], expected["needed_bytes"])
    fits = list(csv.DictReader(io.StringIO(_fit_outputs("specs/lenet5.yaml", "-m", "64MiB")[1])))
    assert [r["row"] for r in fits] == ["largest"] and fits[0]["fits"] == "true"
    side = list(csv.DictReader(io.StringIO(_fit_outputs("specs/lenet5.yaml", "-m", "3MiB", "--resolution")[1])))
    assert [r["row"] for r in side] == ["largest"] and int(side[0]["side"]) > 0


def test_markdown_is_a_github_table_of_the_same_rows():
    data, _, text = _fit_outputs("specs/vgg16.yaml", "--memory", "1GiB", "--batch", "4", "--device", "cuda")
    table = [line for line in text.splitlines() if line.startswith("|")]
    header, rule, *rows = table
    assert header.startswith("| | Change | Batch |") and set(rule) <= set("|-: ")
    assert len(rows) == 2 + len(data["advice"]) and all(r.count("|") == header.count("|") for r in rows)
    assert data["advice"][0]["change"] in rows[2]
    assert "the caching allocator's reserved peak" in text and "chosen by --device cuda" in text
    assert "\u2502" not in text and "what would help" not in text
