"""The pattern on the command line: analyze --pattern, expand, sweep, and the errors they print."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app

VGG16 = (
    "INPUT[224x224x3] -> [CONV3-64 -> RELU]*2 -> POOL2 -> [CONV3-128 -> RELU]*2 -> POOL2 -> "
    "[CONV3-256 -> RELU]*3 -> POOL2 -> [CONV3-512 -> RELU]*3 -> POOL2 -> [CONV3-512 -> RELU]*3 -> POOL2 -> "
    "[FC-4096 -> RELU -> DROPOUT(0.5)]*2 -> FC-1000"
)
CS231N = "INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC"
SETTINGS = ["--set", "CONV(f=16)", "--set", "FC(10)"]


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def strip_positions(data: dict) -> dict:
    """Source positions necessarily differ between a pattern and the YAML written from it."""
    data = dict(data)
    data["layers"] = [{k: v for k, v in layer.items() if k not in ("line", "column")} for layer in data["layers"]]
    data["warnings"] = [{k: v for k, v in w.items() if k not in ("line", "column")} for w in data["warnings"]]
    return data


# ---------------------------------------------------------------------------------------------
# analyze --pattern


def test_analyze_a_pattern_gives_vgg16_numbers():
    result = run("analyze", "--pattern", VGG16, "--format", "json")
    assert result.exit_code == 0, result.stderr
    totals = json.loads(result.stdout)["totals"]
    assert (totals["params"], totals["macs"]) == (138_357_544, 15_470_264_320)


def test_analyze_a_pattern_and_the_shipped_vgg16_spec_agree():
    ours = json.loads(run("analyze", "-p", VGG16, "-f", "json").stdout)
    shipped = json.loads(run("analyze", "specs/vgg16.yaml", "-f", "json").stdout)
    ours.pop("name"), shipped.pop("name")
    assert strip_positions(ours) == strip_positions(shipped)


def test_analyze_layer_positions_point_into_the_pattern():
    layers = json.loads(run("analyze", "-p", "INPUT[8x8x3] -> CONV3-4 -> RELU", "-f", "json").stdout)["layers"]
    assert [(layer["line"], layer["column"]) for layer in layers] == [(1, 7), (1, 17), (1, 28)]


def test_analyze_with_variables_and_settings():
    result = run("analyze", "-p", CS231N, "-i", "32x32x3", "-D", "N=2", "-D", "M=2", "-D", "K=1", *SETTINGS,
                 "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["layers"]) == 14


def test_analyze_a_yaml_spec_with_a_pattern_and_override_its_vars(tmp_path):
    spec = tmp_path / "p.yaml"
    spec.write_text("input: 32x32x3\nvars: {N: 1}\nCONV: {filters: 8}\npattern: '[CONV -> RELU]*N -> FC-10'\n")
    one = json.loads(run("analyze", str(spec), "-f", "json").stdout)
    two = json.loads(run("analyze", str(spec), "-D", "N=2", "-f", "json").stdout)
    assert (len(one["layers"]), len(two["layers"])) == (4, 6)


def test_a_range_needs_sweep():
    result = run("analyze", "-p", CS231N, "-i", "32x32x3", "-D", "N=0..2", "-D", "M=1", "-D", "K=1", *SETTINGS)
    assert result.exit_code == 2 and "use `cnncalc sweep`" in result.stderr


def test_spec_and_pattern_together_is_a_usage_error():
    result = run("analyze", "specs/vgg16.yaml", "-p", "RELU")
    assert result.exit_code == 2 and "not both" in result.stderr


def test_neither_spec_nor_pattern_is_a_usage_error():
    result = run("analyze")
    assert result.exit_code == 2 and "--pattern" in result.stderr


# ---------------------------------------------------------------------------------------------
# expand and the round trip


def test_expand_lists_every_layer_with_its_pattern_column():
    result = run("expand", "-p", "INPUT[8x8x3] -> [CONV3-4 -> RELU]*2 -> POOL2 -> FC-10")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["#", "layer", "type", "settings", "from"]
    assert [line.split()[1] for line in lines[1:-1]] == [
        "input", "conv1", "relu1", "conv2", "relu2", "pool1", "fc1"
    ]
    assert lines[2].endswith("1:18") and lines[-1] == "6 layers after the input"


@pytest.mark.parametrize(
    "args",
    [
        ["-p", VGG16],
        ["-p", CS231N, "-i", "32x32x3", "-D", "N=2", "-D", "M=3", "-D", "K=1", *SETTINGS],
        ["-p", CS231N, "-i", "32x32x3", "-D", "N=1", "-D", "M=2", "-D", "K=0", "-D", "POOL=0", *SETTINGS],
        ["-p", "INPUT[65x65x3] -> CONV(k=7, f=8, s=2, p=3) -> BN -> RELU -> POOL(k=3, s=2, p=1) -> "
               "CONV(16, k=(3, 1), p=(1, 0), bias=false) -> POOL(k=3, s=2, mode=avg) -> GLOBAL_POOL -> FLATTEN -> "
               "FC(10, bias=false) -> SOFTMAX"],
        ["-p", "INPUT[28x28x1] -> CONV5-6 -> TANH -> POOL(k=2, mode=avg) -> CONV(k=5, f=16, p=valid) -> SIGMOID"
               " -> FC-84 -> DROPOUT(0.25) -> FC-10"],
        ["specs/vgg16.yaml"],
    ],
)
def test_expand_to_yaml_then_analyze_gives_the_same_json(args, tmp_path):
    expanded = run("expand", *args, "--format", "yaml")
    assert expanded.exit_code == 0, expanded.stderr
    spec = tmp_path / "expanded.yaml"
    spec.write_text(expanded.stdout)
    direct = run("analyze", *args, "--format", "json")
    again = run("analyze", str(spec), "--format", "json")
    assert direct.exit_code == again.exit_code == 0, again.stderr
    assert strip_positions(json.loads(again.stdout)) == strip_positions(json.loads(direct.stdout))


# ---------------------------------------------------------------------------------------------
# sweep


def sweep_json(*args: str) -> dict:
    result = run("sweep", *args, "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_sweep_tries_every_combination():
    data = sweep_json("-p", CS231N, "-i", "32x32x3", "-D", "N=0..2", "-D", "M=1..6", "-D", "K=1", *SETTINGS)
    assert data["summary"] == {"variants": 18, "valid": 15, "within_budget": None}
    invalid = [v for v in data["variants"] if not v["valid"]]
    # six 2x2 pools take 32 below 1: the sixth is where the first error is
    assert {v["vars"]["M"] for v in invalid} == {6} and all(v["error"]["code"] == "CNN202" for v in invalid)


def test_each_sweep_row_matches_analyze():
    data = sweep_json("-p", CS231N, "-i", "32x32x3", "-D", "N=2", "-D", "M=1,3", "-D", "K=1", *SETTINGS)
    for variant in data["variants"]:
        defines = [arg for name, value in variant["vars"].items() for arg in ("-D", f"{name}={value}")]
        report = json.loads(run("analyze", "-p", CS231N, "-i", "32x32x3", *defines, *SETTINGS, "-f", "json").stdout)
        assert variant["params"] == report["totals"]["params"]
        assert variant["macs"] == report["totals"]["macs"]
        assert variant["training_bytes"] == report["memory"]["training_bytes"]
        assert variant["inference_bytes"] == report["memory"]["inference_bytes"]


def test_sweep_budget_filters_and_sorts():
    data = sweep_json("-p", CS231N, "-i", "32x32x3", "-D", "N=1..2", "-D", "M=1..4", "-D", "K=0..1", *SETTINGS,
                      "--max-params", "15k", "--sort", "params")
    params = [v["params"] for v in data["variants"]]
    assert params and params == sorted(params) and max(params) <= 15_000
    assert data["summary"]["within_budget"] == len(params)


def test_sweep_memory_budget():
    data = sweep_json("-p", CS231N, "-i", "32x32x3", "-D", "N=1..2", "-D", "M=1..4", "-D", "K=1", *SETTINGS,
                      "--max-memory", "120KiB", "--memory", "inference")
    assert data["variants"] and all(v["inference_bytes"] <= 120 * 1024 for v in data["variants"])


def test_sweep_optionals_tries_each_question_mark_both_ways():
    data = sweep_json("-p", CS231N, "-i", "32x32x3", "-D", "N=1", "-D", "M=2", "-D", "K=0", *SETTINGS,
                      "--optionals")
    assert [(v["vars"]["OPT1"], v["layers"]) for v in data["variants"]] == [(1, 7), (0, 5)]


def test_sweep_with_nothing_within_budget_exits_1():
    result = run("sweep", "-p", "INPUT[8x8x3] -> [CONV3-8 -> RELU]*N -> FC-10", "-D", "N=1..2",
                 "--max-params", "10")
    assert result.exit_code == 1


def test_sweep_csv_has_one_row_per_variant():
    result = run("sweep", "-p", "INPUT[8x8x3] -> [CONV3-8 -> RELU]*N -> FC-10", "-D", "N=0..3", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["N"] for row in rows] == ["0", "1", "2", "3"] and all(row["valid"] == "true" for row in rows)


def test_sweep_table_renders():
    result = run("sweep", "-p", "INPUT[8x8x3] -> [CONV3-8 -> RELU]*N -> POOL2 -> FC-10", "-D", "N=0..1")
    assert result.exit_code == 0 and "2 of 2 variants valid" in result.stdout


def _table_rows(text: str) -> list[list[str]]:
    """The body rows of a rich table as cells; a wrapped cell's continuation lines are joined to its row."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        if not line.startswith("\u2502"):
            continue
        cells = [cell.strip() for cell in line.strip("\u2502").split("\u2502")]
        if rows and not cells[0]:
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells)]
        else:
            rows.append(cells)
    return rows


@pytest.mark.parametrize("columns", [80, 120])
def test_sweep_table_keeps_every_variable_and_number_visible_on_a_narrow_terminal(columns):
    pattern = "INPUT[32x32x3] -> [[CONV3-32 -> RELU]*N -> POOL2?]*M -> FC-10"
    args = ["sweep", "--pattern", pattern, "-D", "N=1,2", "-D", "M=5..7", "--optionals"]
    variants = json.loads(run(*args, "--format", "json").stdout)["variants"]
    result = CliRunner(env={"COLUMNS": str(columns)}).invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= columns
    rows = _table_rows(result.stdout)
    assert [row[:3] for row in rows] == [[str(v["vars"][k]) for k in ("N", "M", "OPT1")] for v in variants]
    # under the table: a note per message, its key the status' code (wrapped lines joined)
    notes = " ".join(result.stdout.split("variants valid", 1)[1].split())
    for row, variant in zip(rows, variants):
        assert row[3] == str(variant["layers"])
        if variant["valid"]:
            assert row[4] == f"{variant['params']:,}" and row[-1] == "ok"
        else:  # the whole message, in the row where it fits, else in a note
            error = variant["error"]
            rest = f" at {error['line']}:{error['column']}: {error['message']}"
            assert row[-1] == error["code"] + rest or (row[-1].startswith(error["code"]) and row[-1] + rest in notes)


def test_a_narrow_sweep_table_numbers_the_notes_of_one_code_with_several_messages():
    result = CliRunner(env={"COLUMNS": "80"}).invoke(
        app, ["sweep", "--pattern", "INPUT[8x8x3] -> CONV(k=K, f=4, p=0) -> FC-10", "-D", "K=8..10"])
    rows = _table_rows(result.stdout)
    assert [(row[0], row[-1]) for row in rows] == [("8", "ok"), ("9", "CNN202 #1"), ("10", "CNN202 #2")]
    notes = " ".join(result.stdout.split("variants valid", 1)[1].split())
    assert "CNN202 #1 at 1:17: conv1 (conv): the height window (9) is larger" in notes
    assert "CNN202 #2 at 1:17: conv1 (conv): the height window (10) is larger" in notes


def test_sweep_refuses_an_unbound_variable_before_starting():
    result = run("sweep", "-p", "INPUT[8x8x3] -> [RELU]*N -> [TANH]*M", "-D", "N=0..3")
    assert result.exit_code == 1 and "unbound variable M" in result.stderr


def test_sweep_limits_the_number_of_variants():
    result = run("sweep", "-p", "INPUT[8x8x3] -> [RELU]*A -> [TANH]*B", "-D", "A=0..999", "-D", "B=0..999")
    assert result.exit_code == 1 and "CNN123" in result.stderr


# ---------------------------------------------------------------------------------------------
# malformed patterns: a located error, a caret, a non-zero exit, never a traceback

MALFORMED = [
    # (pattern, code, column)
    ("INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC]", "CNN112", 54),
    ("INPUT -> [[CONV->RELU]*N -> POOL? * M -> FC", "CNN112", 44),
    ("INPUT -> RELUU", "CNN113", 10),
    ("INPUT -> CNOV3-64", "CNN113", 10),
    ("INPUT -> [RELU]*N", "CNN114", 17),
    ("INPUT ->", "CNN111", 9),
    ("-> RELU", "CNN111", 1),
    ("RELU -> -> RELU", "CNN111", 9),
    ("RELU RELU", "CNN111", 6),
    ("RELU => TANH", "CNN110", 7),
    ("RELU $ TANH", "CNN110", 6),
    ("RELU -> {TANH}", "CNN110", 9),
    ("[]", "CNN111", 2),
    ("[RELU]*", "CNN111", 8),
    ("[RELU]*2.5", "CNN115", 8),
    ("[RELU]*RELU", "CNN111", 8),
    ("RELU??", "CNN111", 6),
    ("CONV3-64(k=5)", "CNN116", 10),
    ("CONV(f=8, x=3)", "CNN116", 11),
    ("CONV(f=8,, k=3)", "CNN111", 10),
    ("CONV(f=8", "CNN112", 9),
    ("CONV(f=8 k=3)", "CNN111", 10),
    ("FC(10, 20)", "CNN116", 8),
    ("RELU(3)", "CNN116", 6),
    ("RELU-3", "CNN117", 6),
    ("FC3", "CNN117", 3),
    ("RELU -> INPUT[8x8x3]", "CNN118", 9),
    ("INPUT(224x224x3) -> RELU", "CNN118", 6),
    ("CONV(f=((1,2),3))", "CNN111", 9),
    ("CONV(f=8, p=SAME2)", "CNN114", 13),
    ("[RELU]*99999999999999", "CNN115", 8),
    ("[[[RELU]*1000]*1000]*1000", "CNN120", 22),
    ("[" * 3000 + "RELU" + "]" * 3000, "CNN121", 33),
    ("RELU" + "*2" * 50, "CNN121", 13),
    ("[RELU -> TANH", "CNN112", 14),
    ("RELU]", "CNN112", 5),
    ("CONV", "CNN105", 1),
    ("FC", "CNN105", 1),
    ("POOL(mode=median)", "CNN101", 11),
    ("CONV(f=0)", "CNN101", 8),
]


@pytest.mark.parametrize(("text", "code", "col"), MALFORMED, ids=[m[0][:40] for m in MALFORMED])
def test_a_malformed_pattern_gives_a_located_error(text, code, col):
    result = run("analyze", "--pattern", text, "--input", "8x8x3")
    assert result.exit_code in (1, 2)
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"<pattern>:1:{col}: error: ") and lines[0].endswith(f"[{code}]"), lines[0]
    from cnncalc.render.diagnostics import MAX_EXCERPT

    caret = lines[2]
    if len(text) <= MAX_EXCERPT:
        assert lines[1] == "   1 | " + text
        assert caret.index("^") == len("   1 | ") + col - 1
    else:  # a long line is shown cut around the caret (issue #19), the caret still under the column
        at = caret.index("^")
        assert lines[1].startswith("   1 | ") and len(lines[1]) < MAX_EXCERPT + 20
        assert lines[1][at:at + 5] == text[col - 1:col + 4]
    assert "Traceback" not in result.output and "internal error" not in result.output


def test_the_malformed_table_is_large_enough():
    assert len(MALFORMED) >= 25


def test_bad_definitions_are_usage_errors():
    for define in ("N", "N=x", "N=3..1", "=2", "N=-1"):
        result = run("analyze", "-p", "INPUT[8x8x3] -> [RELU]*N", "-D", define)
        assert result.exit_code == 2 and "CNN119" in result.stderr, define


def test_a_misspelt_definition_name_suggests_the_pattern_s_name():
    result = run("analyze", "-p", "INPUT[8x8x3] -> [RELU]*N -> POOL?", "-D", "NN=2")
    assert result.exit_code == 2 and "did you mean N?" in result.stderr


def test_a_yaml_pattern_error_shows_the_file_line(tmp_path):
    spec = tmp_path / "p.yaml"
    spec.write_text("input: 8x8x3\npattern: |\n  INPUT -> [CONV3-8 -> RELU]*2\n  -> FC-10]\n")
    result = run("analyze", str(spec))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:3] == [
        f"{spec}:4:11: error: unmatched ']': no '[' is open here [CNN112]",
        "   4 |   -> FC-10]",
        "                 ^",
    ]


def test_pattern_commands_never_import_numpy():
    code = (
        "import sys; from typer.testing import CliRunner; from cnncalc.cli import app; r = CliRunner();"
        "r.invoke(app, ['analyze', '-p', 'INPUT[8x8x3] -> CONV3-4 -> RELU']);"
        "r.invoke(app, ['expand', '-p', 'INPUT[8x8x3] -> CONV3-4 -> RELU']);"
        "r.invoke(app, ['sweep', '-p', 'INPUT[8x8x3] -> [CONV3-4]*N', '-D', 'N=0..2']);"
        "assert 'numpy' not in sys.modules, 'numpy imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------------------------
# the seeds' patterns against the shipped specs of the same networks

SHIPPED = [
    ("cs231n_linear.yaml", "INPUT -> FC", ["--set", "FC(10)"]),
    ("cs231n_conv_relu_fc.yaml", "INPUT -> CONV -> RELU -> FC", ["--set", "CONV(f=32)", "--set", "FC(10)"]),
    ("cs231n_two_conv_pool.yaml", "INPUT -> [CONV -> RELU -> POOL]*2 -> FC-128 -> RELU -> FC-10",
     ["--set", "CONV(f=32)"]),
    ("cs231n_three_blocks.yaml",
     "INPUT -> [CONV -> RELU -> CONV -> RELU -> POOL]*3 -> [FC-512 -> RELU]*2 -> FC-10", ["--set", "CONV(f=64)"]),
    ("cs231n_simple.yaml", "INPUT[32x32x3] -> CONV3-12 -> RELU -> POOL2 -> FC-10", []),
]


@pytest.mark.parametrize(("spec", "text", "settings"), SHIPPED, ids=[s[0] for s in SHIPPED])
def test_a_seed_pattern_reports_what_the_shipped_spec_reports(spec, text, settings):
    ours = json.loads(run("analyze", "-p", text, "-i", "32x32x3", *settings, "-f", "json").stdout)
    shipped = json.loads(run("analyze", f"specs/{spec}", "-f", "json").stdout)
    ours.pop("name"), shipped.pop("name")
    assert strip_positions(ours) == strip_positions(shipped)


CHAIN_SPECS = sorted(str(p) for p in Path("specs").glob("*.yaml"))


@pytest.mark.parametrize("spec", CHAIN_SPECS)
def test_every_shipped_chain_spec_round_trips_through_expand(spec, tmp_path):
    expanded = run("expand", spec, "--format", "yaml")
    if expanded.exit_code == 2:
        assert "branches or blocks" in expanded.stderr
        return
    assert expanded.exit_code == 0, expanded.stderr
    written = tmp_path / "expanded.yaml"
    written.write_text(expanded.stdout)
    # pytorch: some shipped specs (torchvision's AlexNet) only fit when sizes are floored
    direct = run("analyze", spec, "-f", "json", "--convention", "pytorch")
    again = run("analyze", str(written), "-f", "json", "--convention", "pytorch")
    assert direct.exit_code == again.exit_code == 0, again.stderr
    assert strip_positions(json.loads(again.stdout)) == strip_positions(json.loads(direct.stdout))
