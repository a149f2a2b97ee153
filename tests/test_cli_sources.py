"""Every command reads its network the same way (a spec file, - or --pattern, with -D/--set/-i) and resolves
the convention the same way: --convention > the spec's `convention:` > strict (issue #13)."""

from __future__ import annotations

import json
import re

import pytest

#: a 3x3 stride-2 convolution on 10x10: (10 - 3)/2 + 1 = 4.5, an error under strict (CNN201), floored to
#: 4 with a warning under pytorch (CNN301)
LAYERS = "input: 10x10x3\nlayers:\n  - conv: {filters: 2, kernel: 3, stride: 2}\n  - fc: 10\n"
PATTERN_SPEC = "input: 10x10x3\nvars: {N: 1}\npattern: '[CONV(f=2, k=3, s=2, p=0)]*N -> FC-10'\n"
PATTERN = "INPUT[10x10x3] -> [CONV(f=2, k=3, s=2, p=0)]*N -> FC-10"

#: each command with the options it needs besides its source
COMMANDS = {
    "analyze": ["-f", "json"],
    "verify": ["-f", "json"],
    "fit": ["--memory", "1GiB", "-f", "json"],
    "sweep": ["-f", "json"],
    "expand": [],
    "lint": ["-f", "json"],
    "rf": ["-f", "json"],
    "export": [],
}
#: the commands that work on a pattern's variants only
NEEDS_A_PATTERN = {"sweep"}


def _sources(tmp_path, text: str) -> dict[str, tuple[list[str], str | None]]:
    """The three forms of one network: a file, standard input, and --pattern (with -D)."""
    spec = tmp_path / "net.yaml"
    spec.write_text(text)
    return {"file": ([str(spec), "-D", "N=1"] if "pattern" in text else [str(spec)], None),
            "stdin": (["-", "-D", "N=1"] if "pattern" in text else ["-"], text),
            "pattern": (["--pattern", PATTERN, "-D", "N=1"], None)}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("form", ["file", "stdin", "pattern"])
def test_every_command_takes_a_file_stdin_and_a_pattern(cli, tmp_path, command, form):
    text = PATTERN_SPEC if command in NEEDS_A_PATTERN or form == "pattern" else LAYERS
    args, stdin = _sources(tmp_path, text)[form]
    convention = [] if command == "expand" else ["--convention", "pytorch"]  # expand computes no shapes
    result = cli(command, *args, *COMMANDS[command], *convention, input=stdin)
    # lint reports the pytorch warning (CNN301) as a finding: exit 1; the others succeed
    assert result.exit_code == (1 if command == "lint" else 0), result.output
    assert "CNN201" not in result.output


def _strict(cli, command: str, args: list[str], stdin: str | None = None) -> bool:
    """Whether the command applied strict's rule: the stride-2 convolution is an error (CNN201), not
    floored (sweep lists the variant as valid; the others warn with CNN301)."""
    result = cli(command, *args, *COMMANDS[command], input=stdin)
    if "CNN201" in result.output:
        return True
    assert command == "sweep" or "CNN301" in result.output, result.output
    return False


RESOLVING = ["analyze", "verify", "fit", "sweep", "lint", "rf"]


@pytest.mark.parametrize("command", RESOLVING)
def test_the_convention_is_resolved_alike_by_every_command(cli, tmp_path, command):
    base = PATTERN_SPEC if command in NEEDS_A_PATTERN else LAYERS
    own = tmp_path / "own.yaml"
    own.write_text("convention: pytorch\n" + base)
    plain = tmp_path / "plain.yaml"
    plain.write_text(base)
    # the spec's own convention, from a file or standard input
    assert not _strict(cli, command, [str(own)])
    assert not _strict(cli, command, ["-"], own.read_text())
    # the command line outranks it
    assert _strict(cli, command, [str(own), "--convention", "strict"])
    # without either: strict
    assert _strict(cli, command, [str(plain)])
    assert not _strict(cli, command, [str(plain), "-c", "pytorch"])
    # a pattern has no `convention:`: strict unless the command line says otherwise
    assert _strict(cli, command, ["--pattern", PATTERN, "-D", "N=1"])
    assert not _strict(cli, command, ["--pattern", PATTERN, "-D", "N=1", "-c", "pytorch"])


def test_sweep_reports_the_resolved_convention(cli, tmp_path):
    spec = tmp_path / "own.yaml"
    spec.write_text("convention: pytorch\n" + PATTERN_SPEC)
    assert json.loads(cli("sweep", str(spec), "-f", "json").stdout)["convention"] == "pytorch"
    forced = cli("sweep", str(spec), "-f", "json", "-c", "caffe")
    assert json.loads(forced.stdout)["convention"] == "caffe"


@pytest.mark.parametrize("command", ["analyze", "verify", "fit", "lint", "rf", "expand"])
def test_input_overrides_a_yaml_spec_s_input(cli, tmp_path, command):
    """-i/--input replaces a spec's `input:` (torchinfo's input_size) for every command: 11x11 makes the
    stride-2 convolution whole, (11 - 3)/2 + 1 = 5."""
    spec = tmp_path / "net.yaml"
    spec.write_text(LAYERS)
    result = cli(command, str(spec), "-i", "11x11x3", *COMMANDS[command])
    # lint still notes that 11 is odd (CNN306, a warning: exit 1)
    assert result.exit_code == (1 if command == "lint" else 0), result.output
    assert "CNN201" not in result.output
    if command == "analyze":
        assert json.loads(result.stdout)["layers"][1]["output_shape"][:2] == [5, 5]


def test_input_overrides_a_pattern_spec_s_input(cli, tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text(PATTERN_SPEC)
    data = json.loads(cli("sweep", str(spec), "-i", "11x11x3", "-D", "N=1..3", "-f", "json").stdout)
    # 11 -> 5 -> 2, and a third 3x3 window is larger than 2x2
    assert [v["valid"] for v in data["variants"]] == [True, True, False]


@pytest.mark.parametrize("define", ["n=1", "x=1", "NN=1"])
@pytest.mark.parametrize("command", ["analyze", "expand", "sweep", "lint"])
def test_a_define_the_pattern_does_not_have_is_one_kind_of_error_whatever_its_case(cli, command, define):
    result = cli(command, "--pattern", PATTERN, "-D", define)
    assert result.exit_code == 2 and "[CNN119]" in result.stderr, result.output
    if define != "x=1":
        assert "did you mean N?" in result.stderr


def test_an_unbound_variable_is_the_pattern_s_error(cli):
    """Leaving N unbound is a fault of the network (CNN114, exit 1), as in a YAML spec without vars:."""
    result = cli("analyze", "--pattern", PATTERN)
    assert result.exit_code == 1 and "[CNN114]" in result.stderr


# ---------------------------------------------------------------------------------------------
# one set of options, one meaning, one default (issue #13)


@pytest.mark.parametrize(("args", "first", "help_line"), [
    (["analyze", "specs/lenet5.yaml", "--dtype", "flot16"], "cnncalc: error: --dtype: 'flot16' is not one of",
     "  help: did you mean float16? valid values: float32, float16, bfloat16, int8, float64"),
    (["lint", "specs/lenet5.yaml", "--mode", "training"], "cnncalc: error: --mode: 'training' is not one of",
     "  help: did you mean train? valid values: train, infer"),
    (["analyze", "specs/lenet5.yaml", "--optimiser", "adam"], "cnncalc: error: no such option: --optimiser",
     "  help: did you mean --optimizer? `cnncalc analyze --help` lists the options"),
    (["analyze", "specs/lenet5.yaml", "--batch", "0"], "cnncalc: error: --batch: 0 is not in the range",
     "  help: `cnncalc analyze --help` lists the options"),
    (["fit", "specs/lenet5.yaml", "--memory"], "cnncalc: error: option '--memory' requires an argument",
     "  help: `cnncalc"),
    (["analyz", "specs/lenet5.yaml"], "cnncalc: error: no such command 'analyz'",
     "  help: did you mean analyze? commands: analyze, verify, expand"),
])
def test_click_s_usage_errors_are_cnncalc_s_one_paragraph(cli, args, first, help_line):
    result = cli(*args)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(first) and lines[0].endswith("[CNN004]"), result.stderr
    assert lines[1].startswith(help_line)
    assert "Usage:" not in result.output and "Try '" not in result.output


def test_sizes_need_a_unit_and_take_decimal_prefixes_without_b(cli):
    bare = cli("fit", "specs/lenet5.yaml", "--memory", "24")
    assert bare.exit_code == 2 and "no unit" in bare.stderr and "24GiB" in bare.stderr
    decimal = json.loads(cli("fit", "specs/lenet5.yaml", "--memory", "24G", "-f", "json").stdout)
    assert decimal["budget_bytes"] == 24 * 10**9
    huge = cli("fit", "specs/lenet5.yaml", "--memory", "9" * 5000 + "GiB")
    assert huge.exit_code == 2 and "too long" in huge.stderr and "Traceback" not in huge.output


def test_momentum_is_the_default_optimizer_everywhere(cli):
    for command, extra in (("analyze", ["-f", "json"]), ("fit", ["--memory", "1GiB", "-f", "json"])):
        default = cli(command, "specs/lenet5.yaml", *extra)
        momentum = cli(command, "specs/lenet5.yaml", *extra, "--optimizer", "momentum")
        assert default.stdout == momentum.stdout, command
    for command in ("analyze", "fit", "sweep", "lint"):
        assert "momentum" in " ".join(cli(command, "--help").stdout.split()), command


def test_train_is_the_default_mode_of_fit_lint_and_sweep(cli):
    vgg = "specs/vgg16.yaml"
    lint_default = json.loads(cli("lint", vgg, "-f", "json", "--max-memory", "1GiB").stdout)
    assert [d["code"] for d in lint_default] == ["CNN403"] and "training" in lint_default[0]["message"]
    assert json.loads(cli("lint", vgg, "-f", "json", "--max-memory", "1GiB", "--mode", "infer").stdout) == []
    sweep = ["sweep", "--pattern", PATTERN, "-D", "N=1", "-c", "pytorch", "-f", "json", "--max-memory", "1MiB"]
    assert json.loads(cli(*sweep).stdout)["budget"]["memory"] == "training"
    assert json.loads(cli(*sweep, "--mode", "infer").stdout)["budget"]["memory"] == "inference"
    for command in ("fit", "lint", "sweep"):
        assert "train (one training step" in " ".join(cli(command, "--help").stdout.split()), command


def test_sweep_memory_is_a_hidden_deprecated_alias_of_mode(cli):
    args = ["sweep", "--pattern", PATTERN, "-D", "N=1", "-c", "pytorch", "-f", "json", "--max-memory", "1MiB"]
    old = cli(*args, "--memory", "inference")
    assert old.stdout == cli(*args, "--mode", "infer").stdout and "deprecated" in old.stderr
    assert not re.search(r"^  --memory ", cli("sweep", "--help").stdout, re.M)


@pytest.mark.parametrize("command", ["lint", "sweep"])
def test_lint_and_sweep_take_analyze_s_memory_options(cli, command):
    source = ["specs/lenet5.yaml"] if command == "lint" else ["--pattern", PATTERN, "-D", "N=1", "-c", "pytorch"]
    memory = ["--amp", "float16", "--device", "cuda", "--memory-model", "pytorch", "--cpu", "avx2", "--threads", "2"]
    assert cli(command, *source, *memory, "-f", "json").exit_code in (0, 1)
    clash = cli(command, *source, "--memory-model", "textbook", "--amp", "float16")
    assert clash.exit_code == 2 and "--memory-model textbook cannot follow --amp" in clash.stderr
