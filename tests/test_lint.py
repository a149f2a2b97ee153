"""`cnncalc lint` end to end: the seeded broken specs in tests/data/lint yield exactly the codes at the
line:column their `# expect:` header states, in every output format; the shipped specs are clean."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.lint.rules import find

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "lint"
BROKEN = sorted(DATA.glob("*.yaml"))
SHIPPED = sorted((ROOT / "specs").glob("*.yaml"))

runner = CliRunner()


def header(path: Path, key: str) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in path.read_text().splitlines() if line.startswith(f"# {key}:")]


def expected(path: Path) -> list[tuple[int, int, str]]:
    """`# expect: 7:5 CNN201, 9:5 CNN303` -> [(7, 5, 'CNN201'), (9, 5, 'CNN303')]"""
    found = []
    for line in header(path, "expect"):
        for item in line.split(","):
            position, code = item.split()
            row, col = position.split(":")
            found.append((int(row), int(col), code))
    return sorted(found)


def lint(*args: str, env: dict | None = None):
    return runner.invoke(app, ["lint", *args], env=env)


_LINE = re.compile(r"^(?P<path>\S+?):(?P<line>\d+):(?P<col>\d+): (?:error|warning): .* \[(?P<code>CNN\d+)\]$", re.M)


def from_text(output: str) -> list[tuple[int, int, str]]:
    return sorted((int(m["line"]), int(m["col"]), m["code"]) for m in _LINE.finditer(output))


def from_json(output: str) -> list[tuple[int, int, str]]:
    return sorted((d["line"], d["column"], d["code"]) for d in json.loads(output))


def _unescape(value: str) -> str:
    return value.replace("%2C", ",").replace("%3A", ":").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def from_github(output: str) -> list[tuple[int, int, str]]:
    found = []
    for line in output.splitlines():
        match = re.fullmatch(r"::(error|warning) (?P<props>[^:]*)::(?P<message>.*)", line)
        assert match, line
        props = dict(item.split("=", 1) for item in match["props"].split(","))
        code = _unescape(props["title"]).split()[1]
        assert _unescape(match["message"]).startswith(code)
        found.append((int(props["line"]), int(props["col"]), code))
    return sorted(found)


def from_sarif(output: str) -> list[tuple[int, int, str]]:
    (run,) = json.loads(output)["runs"]
    return sorted(
        (r["locations"][0]["physicalLocation"]["region"]["startLine"],
         r["locations"][0]["physicalLocation"]["region"]["startColumn"], r["ruleId"])
        for r in run["results"]
    )


PARSERS = {"text": from_text, "concise": from_text, "json": from_json, "github": from_github, "sarif": from_sarif}


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
@pytest.mark.parametrize("format", list(PARSERS))
def test_broken_specs_give_the_expected_codes_in_every_format(path, format):
    args = [a for line in header(path, "args") for a in shlex.split(line)]
    result = lint("--format", format, *args, str(path))
    assert result.exit_code == 1, result.output
    assert PARSERS[format](result.stdout) == expected(path)


def test_every_broken_spec_states_its_expectations():
    assert len(BROKEN) >= 15
    for path in BROKEN:
        assert expected(path), path
        assert header(path, "schema"), path


def test_text_format_shows_the_source_line_a_caret_and_help():
    result = lint("--format", "text", str(DATA / "non_integral.yaml"))
    lines = result.stdout.splitlines()
    assert lines[0].endswith("(10 - 3 + 2*0)/2 + 1 = 4.5 is not an integer, so the hyperparameters do not fit [CNN201]")
    assert lines[1] == "   7 |   - conv: {filters: 8, kernel: 3, stride: 2}"
    assert lines[2] == "           ^^^^"
    assert lines[3].startswith("  help: ") and "padding" in lines[3]
    assert lines[-1] == "Found 1 problem(s) (1 error(s), 0 warning(s)) in 1 of 1 file(s)."


def test_shipped_specs_are_clean():
    result = lint(*map(str, SHIPPED))
    assert result.exit_code == 0, result.stdout
    assert result.stdout == f"All checks passed! ({len(SHIPPED)} file(s))\n"


def test_a_directory_lints_its_yaml_files_and_exclude_skips_some():
    result = lint("--format", "concise", str(DATA))
    assert result.stdout.rstrip().endswith(f"of {len(BROKEN)} file(s).")
    assert {Path(m["path"]).name for m in _LINE.finditer(result.stdout)} >= {p.name for p in BROKEN if not header(p, "args")}
    result = lint("--format", "concise", "--exclude", "*design*,alias.yaml", str(DATA))
    assert result.stdout.rstrip().endswith(f"of {len(BROKEN) - 2} file(s).")
    assert not {"design.yaml", "alias.yaml"} & {Path(m["path"]).name for m in _LINE.finditer(result.stdout)}


def test_globs_expand():
    result = lint("--format", "concise", str(DATA / "dup*.yaml"))
    assert from_text(result.stdout) == [(6, 5, "CNN103"), (6, 5, "CNN106")]


def test_stdin_with_a_display_name():
    text = (DATA / "non_integral.yaml").read_text()
    result = runner.invoke(app, ["lint", "--format", "concise", "--stdin-filename", "model.yaml", "-"], input=text)
    assert result.exit_code == 1
    assert result.stdout.startswith("model.yaml:7:5: error: ")


def test_select_and_ignore_by_code_prefix_and_name():
    design = str(DATA / "design.yaml")
    only = lint("--format", "json", "--select", "CNN30", design)
    assert {d["code"] for d in json.loads(only.stdout)} == {f"CNN30{i}" for i in range(2, 9)}
    named = lint("--format", "json", "--select", "huge-first-fc", design)
    assert [d["code"] for d in json.loads(named.stdout)] == ["CNN308"]
    ignored = lint("--format", "json", "--ignore", "CNN3", design)
    assert ignored.exit_code == 0 and json.loads(ignored.stdout) == []


def test_exit_zero_and_exit_two():
    assert lint("--exit-zero", str(DATA / "groups.yaml")).exit_code == 0
    missing = lint(str(DATA / "groups.yaml"), str(DATA / "no_such_spec.yaml"))
    assert missing.exit_code == 2
    assert "CNN203" in missing.stdout  # the readable file is still reported
    assert lint("--max-params", "lots", str(SHIPPED[0])).exit_code == 2
    assert lint("--convention", "theano", str(SHIPPED[0])).exit_code == 2


def _paths_and_codes(format: str, output: str) -> list[tuple[str, str]]:
    """(path, code) of every finding in one format's output, with or without a line."""
    if format in ("text", "concise"):
        return [(m[1], m[2]) for m in re.finditer(r"^(\S+?)(?::\d+:\d+)?: error: .* \[(CNN\d+)\]$", output, re.M)]
    if format == "json":
        return [(d["path"], d["code"]) for d in json.loads(output)]
    if format == "github":
        found = []
        for line in output.splitlines():
            props = dict(item.split("=", 1) for item in line.split(" ", 1)[1].split("::", 1)[0].split(","))
            found.append((_unescape(props["file"]), _unescape(props["title"]).split()[1]))
        return found
    (run,) = json.loads(output)["runs"]
    return [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["ruleId"]) for r in run["results"]]


@pytest.mark.parametrize("format", list(PARSERS))
def test_an_unreadable_file_is_in_every_formats_results(format, tmp_path):
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("name: caf\xe9\ninput: 8x8x1\nlayers: [relu]\n".encode("latin-1"))
    missing = "no_such_spec.yaml"
    result = lint("--format", format, missing, str(latin1), str(SHIPPED[0]))
    assert result.exit_code == 2, result.output
    from urllib.parse import quote
    paths = {missing, str(latin1), quote(latin1.as_posix(), safe="/")}
    found = _paths_and_codes(format, result.stdout)
    assert [code for _, code in found] == ["CNN001", "CNN001"] and {p for p, _ in found} <= paths
    assert found[0][0] == missing and found[1][0] != missing
    if format == "text":
        assert "All checks passed" not in result.stdout
        assert result.stdout.splitlines()[-1] == "Found 2 problem(s) (2 error(s), 0 warning(s)) in 2 of 3 file(s)."
    if format in ("text", "concise"):  # said once, on standard output with the other findings
        assert "CNN001" not in result.stderr


def test_a_missing_file_alone_is_not_all_checks_passed():
    result = lint("nonexistent.yaml")
    assert result.exit_code == 2
    assert result.stdout.startswith("nonexistent.yaml: error: no such file or directory: nonexistent.yaml [CNN001]")
    assert "All checks passed" not in result.stdout


def test_github_format_is_the_default_under_github_actions():
    result = lint(str(DATA / "groups.yaml"), env={"GITHUB_ACTIONS": "true"})
    assert result.stdout.startswith("::error title=cnncalc CNN203 (groups-not-dividing-channels),file=")


def test_budgets_pass_when_the_model_fits():
    vgg = str(ROOT / "specs" / "vgg16.yaml")
    # issue #13: --mode defaults to train, as in fit and sweep; 600MiB is an inference budget
    ok = lint("--max-params", "140M", "--max-macs", "15.5G", "--max-memory", "600MiB", "--mode", "infer", vgg)
    assert ok.exit_code == 0, ok.stdout
    over = lint("--format", "json", "--max-params", "138M", vgg)
    (finding,) = json.loads(over.stdout)
    assert finding["code"] == "CNN401" and "138,357,544" in finding["message"]
    training = lint("--format", "json", "--max-memory", "1GiB", "--mode", "train", vgg)
    assert [d["code"] for d in json.loads(training.stdout)] == ["CNN403"]  # 1.7 GiB with momentum


def test_pyproject_configuration(tmp_path, monkeypatch):
    spec = tmp_path / "model.yaml"
    spec.write_text((DATA / "design.yaml").read_text())
    (tmp_path / "pyproject.toml").write_text('[tool.cnncalc]\nselect = ["CNN303", "CNN304"]\nconvention = "pytorch"\n')
    monkeypatch.chdir(tmp_path)
    result = lint("--format", "json", "model.yaml")
    assert {d["code"] for d in json.loads(result.stdout)} == {"CNN303", "CNN304"}
    assert {d["code"] for d in json.loads(lint("--format", "json", "--no-config", "model.yaml").stdout)} > {"CNN303"}
    (tmp_path / "pyproject.toml").write_text("[tool.cnncalc]\nmax-parms = 5\n")
    bad = lint("model.yaml")
    assert bad.exit_code == 2 and "unknown key 'max-parms'" in bad.output


def test_convention_is_accepted_by_analyze_and_lint():
    dropped = str(DATA / "dropped_rows.yaml")
    assert runner.invoke(app, ["analyze", "--convention", "caffe", dropped]).exit_code == 0
    assert runner.invoke(app, ["analyze", "--convention", "strict", dropped]).exit_code == 1
    assert lint("--convention", "sas", "--select", "CNN2", dropped).exit_code == 0


def test_rules_lists_and_explains():
    listing = runner.invoke(app, ["rules"])
    assert listing.exit_code == 0 and "CNN201  non-integral-size" in listing.stdout
    one = runner.invoke(app, ["rules", "even-conv-kernel"])
    assert one.stdout.startswith("CNN303 even-conv-kernel (warning)")
    for section in ("What it does:", "Why is this bad?:", "Example:", "How to fix:"):
        assert section in one.stdout
    assert runner.invoke(app, ["rules", "CNN999"]).exit_code == 2


def test_lint_does_not_import_numpy():
    code = (
        "import sys; from cnncalc.cli import app\n"
        "try:\n    app(['lint', '--exit-zero', 'specs', 'tests/data/lint'])\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(str('numpy' in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.stderr.strip().endswith("False"), done.stderr


def test_a_specs_own_convention_is_used_and_the_command_line_outranks_it(tmp_path):
    spec = tmp_path / "alexnet224.yaml"
    spec.write_text("convention: pytorch\ninput: 224x224x3\nlayers:\n  - conv: {filters: 96, kernel: 11, stride: 4}\n")
    own = json.loads(lint("--format", "json", str(spec)).stdout)
    assert [(d["line"], d["code"]) for d in own] == [(4, "CNN301")]
    forced = json.loads(lint("--format", "json", "--convention", "strict", str(spec)).stdout)
    assert [(d["line"], d["code"]) for d in forced] == [(4, "CNN201")]
    (tmp_path / "pyproject.toml").write_text('[tool.cnncalc]\nconvention = "strict"\n')
    configured = json.loads(runner.invoke(app, ["lint", "--format", "json", "--config",
                                                str(tmp_path / "pyproject.toml"), str(spec)]).stdout)
    assert [d["code"] for d in configured] == ["CNN301"]  # the spec's own convention outranks the config


def test_ignore_file_suppresses_everywhere(tmp_path):
    spec = tmp_path / "design.yaml"
    spec.write_text("# cnncalc: ignore-file[CNN3]\n" + (DATA / "design.yaml").read_text())
    assert json.loads(lint("--format", "json", str(spec)).stdout) == []


# ---------------------------------------------------------------------------------------------
# --statistics and --output-file (issue #19: lint as ruff users expect)


def test_statistics_count_what_the_concise_format_lists():
    paths = [str(p) for p in BROKEN]
    listed = lint("--format", "concise", *paths)
    codes = re.findall(r"\[(CNN\d+)\]$", listed.stdout, re.M)
    counted = lint("--statistics", *paths)
    assert counted.exit_code == listed.exit_code
    rows = [line.split() for line in counted.stdout.splitlines()[:-1]]
    assert {row[1]: int(row[0]) for row in rows} == {code: codes.count(code) for code in set(codes)}
    assert [int(row[0]) for row in rows] == sorted((int(row[0]) for row in rows), reverse=True)
    assert all(row[3] == find(row[1]).name for row in rows)
    assert counted.stdout.splitlines()[-1] == listed.stdout.splitlines()[-1]  # the same summary
    as_json = json.loads(lint("--statistics", "--format", "json", *paths).stdout)
    assert {item["code"]: item["count"] for item in as_json} == {row[1]: int(row[0]) for row in rows}
    assert lint("--statistics", str(SHIPPED[0])).stdout.startswith("All checks passed!")


@pytest.mark.parametrize("format", ["text", "json", "sarif"])
def test_output_file_gets_what_standard_output_would(tmp_path, format):
    paths = [str(p) for p in BROKEN[:4]]
    printed = lint("--format", format, *paths)
    target = tmp_path / "out.txt"
    written = lint("--format", format, "--output-file", str(target), *paths)
    assert written.exit_code == printed.exit_code and written.stdout == ""
    assert target.read_text(encoding="utf-8") == printed.stdout


def test_output_file_that_cannot_be_written_is_an_output_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "cnncalc", "lint", "-o", str(tmp_path / "no" / "out.txt"),
                             str(SHIPPED[0])], capture_output=True, text=True, cwd=ROOT, timeout=60,
                            env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert result.returncode == 74 and "cannot write the output" in result.stderr and "Traceback" not in result.stderr
