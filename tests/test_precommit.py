"""`.pre-commit-hooks.yaml` works for other repositories: `pre-commit try-repo` builds the hook from this
repository and runs `cnncalc lint` on the YAML files of a scratch repository."""

from __future__ import annotations

import os
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

    (repo / "specs" / "groups.yaml").unlink()
    _git(repo, "add", "-A")
    passed = try_repo()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "cnncalc lint" in passed.stdout and "Passed" in passed.stdout
