"""Records the oracle of tests/test_torchvision_peaks.py: the full-size batch-8 training (Adam) and
inference peaks of the CPU allocator, and the saved-for-backward bytes, of the twelve torchvision
models of the zoo, measured by tests/torchvision_models.py (one subprocess per model, so that no
model's weights, gradients and Adam state outlive its measurement).

A full-size batch-8 step takes about a minute per model on two cores, too long for every CI run
(tests/test_torchvision_zoo.py runs batch 8 at a reduced image size); this records it once. The
peaks depend on the CPU (oneDNN's blocked layouts and scratchpads follow the instruction set and
the threads, cnncalc/cpu.py), so the file names the ISA oneDNN dispatched to and the thread count,
and the test analyses the specs for that CPU, not the host's.

As in tests/conftest.py, an AVX-512 host is capped to oneDNN's AVX2 kernels (the measured rules)
unless ONEDNN_MAX_CPU_ISA is set, and the threads are PyTorch's default capped at 8 unless
OMP_NUM_THREADS is set. Needs torch and torchvision (test dependencies only). Run from the
repository root, e.g. in the background:

    nice python benchmarks/record_torchvision_peaks.py            # all twelve, resumes a partial file
    nice python benchmarks/record_torchvision_peaks.py vgg16_bn   # one model again
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from cnncalc import cpu  # noqa: E402

OUT = ROOT / "tests" / "data" / "torchvision_peaks.json"
BATCH = 8


def _pin_cpu() -> None:
    """The kernels and threads of the test suite (tests/conftest.py), set before torch loads."""
    if cpu.FAMILIES.get(cpu.detect_isa(cap="all")) == "avx512_core" and not os.environ.get("ONEDNN_MAX_CPU_ISA"):
        os.environ["ONEDNN_MAX_CPU_ISA"] = "AVX2"
    if not os.environ.get("OMP_NUM_THREADS"):
        os.environ["OMP_NUM_THREADS"] = str(min(cpu.detect_threads(), max(cpu.MEASURED_THREADS)))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return "unknown"


def machine() -> dict:
    """What the peaks depend on: the CPU as oneDNN sees it, and the torch build."""
    import torch

    return {"torch": torch.__version__, "cpu_model": _cpu_model(), "isa": cpu.detect_isa(),
            "threads": cpu.detect_threads(), "batch": BATCH}


def measure(name: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "torchvision_models.py"), name, str(BATCH), "peaks"],
                         capture_output=True, text=True, env=env, check=False)
    if run.returncode != 0:
        raise SystemExit(f"{name}: {run.stderr[-3000:]}")
    measured = json.loads(run.stdout.strip().splitlines()[-1])
    return {key: measured[key] for key in ("params", "saved", "train", "optimizer", "infer")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="models to (re)measure; default: those not yet recorded")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    _pin_cpu()
    from torchvision_models import ORACLED, SIZES

    here = machine()
    recorded = json.loads(args.out.read_text()) if args.out.is_file() else {}
    models = recorded.get("models", {}) if recorded.get("machine", {}) | {"recorded": None} == here | {"recorded": None} else {}
    todo = args.names or [name for name in ORACLED if name not in models]
    for name in todo:
        started = datetime.datetime.now(datetime.timezone.utc)
        models[name] = {"size": SIZES.get(name, 224), **measure(name)}
        seconds = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
        print(f"{name}: {models[name]} ({seconds:.0f} s)", flush=True)
        # written after every model, so that an interrupted run keeps what it measured
        here["recorded"] = datetime.date.today().isoformat()
        data = {"machine": here, "models": {key: models[key] for key in ORACLED if key in models}}
        args.out.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
