"""`.pre-commit-hooks.yaml` works for other repositories: `pre-commit try-repo` builds the hook from this
repository and runs `cnncalc lint` on the YAML files of a scratch repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "lint"


def test_hook_definition():
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "cnncalc-lint"
    assert hook["entry"] == "cnncalc lint"
    assert hook["language"] == "python"
    assert hook["types"] == ["yaml"]


LINTED = ["specs/vgg16.yaml", "specs/vision/resnet.yml", "models/specs/a.yaml", "models/resnet50.cnn.yaml",
          "lenet.cnn.yml"]
NOT_LINTED = [".pre-commit-config.yaml", ".pre-commit-hooks.yaml", ".github/workflows/ci.yaml",
              ".github/dependabot.yml", "docker-compose.yaml", "config/settings.yaml", "specs.yaml",
              "notspecs/x.yaml", "specs/.pre-commit-config.yaml"]


def _selects(hook: dict, path: str) -> bool:
    """pre-commit's choice: `files` matches and `exclude` does not (both re.search; types: yaml holds)."""
    return bool(re.search(hook.get("files", ""), path)) and not re.search(hook.get("exclude", "^$"), path)


def test_the_hook_lints_specs_not_every_yaml_file():
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [p for p in LINTED if not _selects(hook, p)] == []
    assert [p for p in NOT_LINTED if _selects(hook, p)] == []
    # a project that overrides `files:` (here: every YAML file) keeps the exclusions
    everything = {**hook, "files": ""}
    assert not any(_selects(everything, p) for p in (".pre-commit-config.yaml", ".github/workflows/ci.yaml"))


def _documented_config() -> str:
    """The `.pre-commit-config.yaml` docs/lint.md shows, as written."""
    section = (ROOT / "docs" / "lint.md").read_text().split("## pre-commit", 1)[1]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_documented_snippet_names_no_tag_the_repository_lacks():
    config = yaml.safe_load(_documented_config())
    (repo,) = config["repos"]
    assert [hook["id"] for hook in repo["hooks"]] == ["cnncalc-lint"]
    rev = repo["rev"]
    if re.fullmatch(r"v?\d+(\.\d+)+", rev):  # a release tag: it must exist
        tags = subprocess.run(["git", "-C", str(ROOT), "tag", "--list", rev], capture_output=True, text=True)
        assert tags.stdout.strip() == rev, f"docs/lint.md pins {rev}, which is not a tag of this repository"


def _files_checked(output: str) -> int:
    """The files cnncalc's summaries count (pre-commit may split the files over several runs)."""
    return sum(int(n) for n in re.findall(r"(?:of |\()(\d+) file\(s\)", output))


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.slow
def test_pre_commit_try_repo(tmp_path):
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.fail("pre-commit try-repo needs this repository as a git checkout and git on PATH")
    repo = tmp_path / "user-repo"
    (repo / "specs").mkdir(parents=True)
    shutil.copy(ROOT / "specs" / "lenet5.yaml", repo / "specs" / "lenet5.yaml")
    shutil.copy(DATA / "groups.yaml", repo / "specs" / "groups.yaml")
    # YAML files that are not specs: never linted by default
    (repo / ".pre-commit-config.yaml").write_text(_documented_config())
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yaml").write_text("on: [push]\njobs: {}\n")
    (repo / "docker-compose.yaml").write_text("services: {}\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}

    def try_repo():
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "cnncalc-lint", "--all-files"],
            cwd=repo, env=env, capture_output=True, text=True, timeout=900, check=False,
        )

    failed = try_repo()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "specs/groups.yaml:6:5: error:" in failed.stdout and "[CNN203]" in failed.stdout
    assert "lenet5.yaml" not in failed.stdout.replace("of 2 file(s)", "")
    assert _files_checked(failed.stdout) == 2  # the two specs, nothing else
    assert not re.search(r"pre-commit-config|workflows|docker-compose|unknown key", failed.stdout)

    (repo / "specs" / "groups.yaml").unlink()
    _git(repo, "add", "-A")
    passed = try_repo()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "cnncalc lint" in passed.stdout and "Passed" in passed.stdout


@pytest.mark.slow
def test_the_documented_config_works_as_written(tmp_path):
    """docs/lint.md's snippet with only the repository's URL filled in: `pre-commit run` lints the specs and
    nothing else, and `pre-commit autoupdate` pins a commit. It installs the hook from this repository's
    committed HEAD (uncommitted changes are tried by test_pre_commit_try_repo)."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.fail("the documented config needs this repository as a git checkout and git on PATH")
    repo = tmp_path / "user-repo"
    (repo / "specs").mkdir(parents=True)
    shutil.copy(DATA / "groups.yaml", repo / "specs" / "groups.yaml")
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yaml").write_text("on: [push]\njobs: {}\n")
    config = _documented_config()
    url = yaml.safe_load(config)["repos"][0]["repo"]
    (repo / ".pre-commit-config.yaml").write_text(config.replace(url, str(ROOT)))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}

    def pre_commit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=900, check=False)

    run = pre_commit("run", "--all-files")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "specs/groups.yaml:6:5: error:" in run.stdout and _files_checked(run.stdout) == 1
    assert "unknown key 'repos'" not in run.stdout and "workflows" not in run.stdout
    # as the comment in the snippet says, autoupdate pins the newest commit
    update = pre_commit("autoupdate")
    assert update.returncode == 0, update.stdout + update.stderr
    pinned = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"][0]["rev"]
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert pinned == head.strip()
