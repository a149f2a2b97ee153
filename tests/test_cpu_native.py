"""The host's own CPU kernels, uncapped, against the model of the CPU cnncalc detects: exact rules
within 10 %, anything not measured (AVX-512 today, other ISAs, other thread counts) within the
documented bound. The rest of the suite runs on AVX2 kernels (tests/conftest.py); this file is
where an AVX-512 host's native kernels are checked, never skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import NATIVE_ISA

SCRIPT = Path(__file__).parent / "native_peaks.py"


def peaks(*args: str, **environment: str) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")}
    env.update(environment)
    done = subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def assert_within(rows: list[dict]) -> None:
    assert rows
    for row in rows:
        assert row["torch_threads"] == row["cpu"]["threads"], row
        for key in ("train", "infer"):
            model, measured = row[key]
            allowed = 0.10 * measured if row["cpu"]["measured"] else row[f"bound_{key}"]
            assert abs(model - measured) <= allowed, row


def test_the_hosts_own_kernels_within_the_model_or_its_bound():
    rows = peaks()
    assert rows[0]["cpu"]["isa"] == NATIVE_ISA
    assert_within(rows)


def test_an_unmodelled_instruction_set_stays_within_the_bound():
    """SSE4.1 kernels, which every x86-64 host of this project runs: no rules of their own."""
    rows = peaks(ONEDNN_MAX_CPU_ISA="SSE41")
    assert rows[0]["cpu"]["isa"] == "sse41" and not rows[0]["cpu"]["measured"]
    assert_within(rows)


@pytest.mark.parametrize("threads", ["1", "8"])
def test_measured_thread_counts_on_avx2_kernels(threads):
    rows = peaks(threads, ONEDNN_MAX_CPU_ISA="AVX2")
    assert rows[0]["cpu"]["threads"] == int(threads)
    assert_within(rows)
