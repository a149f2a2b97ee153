"""The command line as a user types it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cnncalc import __version__
from cnncalc.errors import EXIT_BROKEN_PIPE


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"cnncalc {__version__}"


def test_analyze_vgg16_table_states_conventions_and_memory(cli):
    result = cli("analyze", "specs/vgg16.yaml")
    assert result.exit_code == 0
    out = result.stdout
    assert "138,357,544" in out and "15,470,264,320" in out
    assert "15.2M x 4 B = 58.1 MiB / image" in out
    assert "bias excluded" in out and "FLOPs = 2 x MACs" in out
    assert "1 MiB = 1024 x 1024 B" in out
    assert "(3*3*3)*64 + 64 = 1,792" in out
    assert "224*224*64 = 3.2M" in out


def test_analyze_reads_stdin(cli):
    result = cli("analyze", "-", "--format", "json", input=open("specs/lenet5.yaml").read())
    assert result.exit_code == 0
    assert json.loads(result.stdout)["totals"]["params"] == 61_706


def test_stdin_errors_name_stdin(cli):
    result = cli("analyze", "-", input="input: 10x10x3\nlayers:\n  - conv: {filters: 2, kernel: 3, stride: 2}\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("<stdin>:3:5: error:")


def test_options_reach_the_report(cli):
    result = cli("analyze", "specs/lenet5.yaml", "-f", "json", "--batch", "4", "--dtype", "float16",
                 "--optimizer", "adam", "--count-bias", "--convention", "pytorch")
    data = json.loads(result.stdout)
    assert (data["batch"], data["dtype"], data["optimizer"], data["convention"]) == (4, "float16", "adam", "pytorch")
    assert data["totals"]["macs"] == 4 * 423_038
    # the pytorch convention picks the pytorch memory model: Adam's two slots plus its 4-byte step
    # tensor per parameter tensor (LeNet-5 has 10: five weights, five biases)
    assert data["memory"]["optimizer_bytes"] == 2 * 61_706 * 2 + 4 * 10


def test_warnings_go_to_stderr_and_do_not_fail(cli):
    spec = "input: 10x10x3\nlayers:\n  - conv: {filters: 2, kernel: 3, stride: 2}\n"
    result = cli("analyze", "-", "--convention", "pytorch", "-f", "json", input=spec)
    assert result.exit_code == 0
    assert "CNN301" in result.stderr
    assert json.loads(result.stdout)["warnings"][0]["code"] == "CNN301"


def test_python_dash_m_and_console_script_agree():
    out = subprocess.run([sys.executable, "-m", "cnncalc", "analyze", "specs/lenet5.yaml", "-f", "csv"],
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0].startswith("name,type,output_shape")


def test_crlf_bom_and_tabs_in_comments(cli, tmp_path):
    spec = tmp_path / "windows.yaml"
    text = "\ufeffname: w\r\ninput: 32x32x3\t# a comment\twith tabs\r\nlayers:\r\n  - fc: 10\r\n"
    spec.write_bytes(text.encode("utf-8"))
    result = cli("analyze", str(spec), "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == 30_730


def test_no_traceback_for_internal_errors(cli, monkeypatch):
    import cnncalc.pipeline

    def boom(*args, **kwargs):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(cnncalc.pipeline, "analyze_text", boom)
    result = cli("analyze", "specs/lenet5.yaml")
    assert result.exit_code == 2
    assert "internal error" in result.stderr and "report" in result.stderr
    assert "Traceback" not in result.stderr


def test_spec_convention_and_command_line_override(cli):
    assert cli("analyze", "specs/resnet50.yaml", "-f", "json").exit_code == 0
    strict = cli("analyze", "specs/resnet50.yaml", "--convention", "strict")
    assert strict.exit_code == 1
    assert "(224 - 7 + 2*3)/2 + 1 = 112.5" in strict.stderr


def test_unknown_spec_convention(cli):
    result = cli("analyze", "-", input="convention: pytroch\ninput: 8x8x1\nlayers: [relu]\n")
    assert result.exit_code == 1
    assert "did you mean 'pytorch'" in result.stderr


COMMANDS = ["analyze", "verify", "expand", "sweep", "fit", "lint", "rules", "schema", "diff", "rf", "zoo",
            "report", "graph", "export", "import"]


def test_each_command_is_built_alone_with_the_same_help():
    from typer.testing import CliRunner

    from cnncalc.cli import _app_for, app

    runner = CliRunner()
    assert [c.callback.__name__ for c in app.registered_commands] == COMMANDS
    for name in COMMANDS:
        alone = _app_for(["--debug", name, "x"])
        assert [c.callback.__name__ for c in alone.registered_commands] == [name]
        assert runner.invoke(alone, [name, "--help"]).output == runner.invoke(app, [name, "--help"]).output
    for args in ([], ["--help"], ["--version", "analyze"], ["analyz"], ["--debug"]):
        assert _app_for(args) is app


def test_whole_app_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "cnncalc", "--help"], capture_output=True, text=True).stdout
    assert all(f"  {name} " in out for name in COMMANDS)
    out = subprocess.run([sys.executable, "-m", "cnncalc", "analyze", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--memory-model" in out.stdout


# ---------------------------------------------------------------------------------------------
# a reader that goes away (`cnncalc rules | head -5`)

PATTERN = "INPUT[32x32x3] -> [[CONV3-32 -> RELU]*N -> POOL2?]*M -> FC-10"
PIPED = [
    ["rules"], ["rules", "CNN201"], ["rules", "--markdown"], ["schema"], ["--version"], ["--help"],
    ["analyze", "--help"],
    ["analyze", "specs/vgg16.yaml"], ["analyze", "specs/vgg16.yaml", "--memory-model", "pytorch"],
    ["analyze", "specs/resnet50.yaml", "-f", "json"], ["analyze", "specs/lenet5.yaml", "-f", "csv"],
    ["analyze", "specs/lenet5.yaml", "-f", "markdown"],
    ["lint", "specs"], ["lint", "specs", "--format", "json"], ["lint", "specs", "--format", "sarif"],
    ["expand", "--pattern", PATTERN, "-D", "N=2", "-D", "M=2", "--format", "yaml"],
    ["sweep", "--pattern", PATTERN, "-D", "N=1,2", "-D", "M=1..3"],
    ["sweep", "--pattern", PATTERN, "-D", "N=1,2", "-D", "M=1..3", "--format", "json"],
    ["fit", "specs/lenet5.yaml", "--memory", "1GiB"],
    ["verify", "specs/lenet5.yaml"],
]


def _into_a_closed_pipe(args: list[str], stderr_too: bool = False) -> subprocess.CompletedProcess:
    """Run cnncalc with standard output (and standard error) on a pipe whose reader has already gone."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "cnncalc", *args], stdout=write,
                              stderr=write if stderr_too else subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write)


@pytest.mark.parametrize("args", PIPED, ids=lambda args: " ".join(args)[:40])
def test_a_closed_pipe_ends_quietly(args):
    done = _into_a_closed_pipe(args)
    assert done.returncode == EXIT_BROKEN_PIPE, done.stderr
    assert done.stderr.strip() == ""  # verify's progress bar ends with a newline on stderr in every run


def test_a_closed_pipe_on_both_outputs_ends_quietly():
    done = _into_a_closed_pipe(["analyze", "no-such-spec.yaml"], stderr_too=True)
    assert done.returncode == EXIT_BROKEN_PIPE


def test_rules_piped_into_head_ends_quietly():
    reader = subprocess.Popen([sys.executable, "-m", "cnncalc", "rules", "--markdown"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    lines = [reader.stdout.readline() for _ in range(5)]
    reader.stdout.close()
    stderr = reader.stderr.read()
    assert reader.wait(timeout=120) in (0, EXIT_BROKEN_PIPE)
    assert lines[0].startswith(b"#") and stderr == b""
