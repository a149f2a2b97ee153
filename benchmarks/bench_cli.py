"""Speed of the command line, as ratios against baselines measured in the same run.

    python benchmarks/bench_cli.py            # the figures recorded in the README
    python benchmarks/bench_cli.py --quick    # fewer repetitions

Measures (min and median of N fresh processes, cnncalc's bytecode compiled first as an install does):
the interpreter floor (`python -c pass`), `cnncalc --version`, `cnncalc analyze` on VGG-16 and
ResNet-50; torchinfo's summary of the same models when torch and torchinfo are installed (never a
dependency of cnncalc); analysis time of
generated chains and residual stacks of 1k, 10k and 100k layers (in process); and which heavy
modules `analyze` and `lint` import.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def compile_bytecode() -> None:
    """An install compiles cnncalc's bytecode (and Python caches it on first import); without it, as
    under PYTHONDONTWRITEBYTECODE in a fresh checkout, every run would also time the compiler (~30 ms)."""
    import compileall

    compileall.compile_dir(ROOT / "cnncalc", quiet=1)


def timed_runs(args: list[str], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


#: torchinfo needs a live model: the same network, built in torch from the spec (tests/torch_nets.py).
TORCHINFO = """
import sys
sys.path[:0] = [{root!r}, {root!r} + "/tests"]
import torch, torchinfo
from cnncalc.pipeline import analyze_file
from torch_nets import GraphNet
model = GraphNet(analyze_file({spec!r}, "pytorch"))
torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0)
"""


def torchinfo_available() -> bool:
    probe = f"import sys; sys.path[:0] = [{str(ROOT)!r} + '/tests']; import torch, torchinfo, torch_nets"
    return subprocess.run([PY, "-c", probe], cwd=ROOT, capture_output=True).returncode == 0


def chain_spec(n: int) -> str:
    return f"input: 32x32x16\nlayers:\n  - repeat: {{times: {n // 2}, layers: [{{conv: {{filters: 16, kernel: 3, padding: 1}}}}, relu]}}\n"


def residual_spec(n: int) -> str:
    blocks = n // 4  # conv, relu, conv, add per block
    return ("input: 32x32x16\nlayers:\n"
            f"  - repeat: {{times: {blocks}, layers: [{{residual: [{{conv: {{filters: 16, kernel: 3, padding: 1}}}}, relu,"
            " {conv: {filters: 16, kernel: 3, padding: 1}}]}]}\n")


def analysis_seconds(text: str) -> float:
    sys.path.insert(0, str(ROOT))
    from cnncalc.pipeline import analyze_text
    from cnncalc.report import Options, build

    start = time.perf_counter()
    analysis = analyze_text(text, "generated.yaml")
    build(analysis, Options())
    return time.perf_counter() - start


def imported_modules(command: list[str]) -> set[str]:
    code = ("import sys, runpy; sys.argv = ['cnncalc'] + %r\n"
            "try:\n    runpy.run_module('cnncalc', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('MODULES:', *sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'torch', 'jsonschema'}),"
            " file=sys.stderr)" % command)
    err = subprocess.run([PY, "-c", code], cwd=ROOT, capture_output=True, text=True).stderr
    line = next((l for l in err.splitlines() if l.startswith("MODULES:")), "MODULES:")
    return set(line.split()[1:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    runs = 5 if parser.parse_args().quick else 15
    cnncalc = [PY, "-m", "cnncalc"]
    compile_bytecode()

    floor = timed_runs([PY, "-c", "pass"], runs)
    print(f"{'command':<44}{'min s':>8}{'median s':>10}{'- floor (min)':>15}")
    print(f"{'python -c pass (interpreter floor)':<44}{floor[0]:>8.3f}{floor[1]:>10.3f}{'':>15}")
    rows = {"cnncalc --version": cnncalc + ["--version"]}
    for spec in ("vgg16", "resnet50"):
        rows[f"cnncalc analyze specs/{spec}.yaml"] = cnncalc + ["analyze", f"specs/{spec}.yaml"]
    measured = {}
    for label, args in rows.items():
        measured[label] = timed_runs(args, runs)
        low, mid = measured[label]
        print(f"{label:<44}{low:>8.3f}{mid:>10.3f}{low - floor[0]:>+15.3f}")

    if torchinfo_available():
        for spec in ("vgg16", "resnet50"):
            code = TORCHINFO.format(root=str(ROOT), spec=f"specs/{spec}.yaml")
            low, mid = timed_runs([PY, "-c", code], max(3, runs // 5))
            ours = measured[f"cnncalc analyze specs/{spec}.yaml"][0]
            print(f"{'torchinfo summary ' + spec:<44}{low:>8.3f}{mid:>10.3f}   cnncalc is {low / ours:.0f}x faster")
    else:
        print("torchinfo: not installed (pip install torchinfo; torch comes with the test extra)")

    print(f"\n{'generated graph':<28}{'layers':>8}{'seconds':>10}{'us/layer':>10}")
    for name, make in (("chain (conv, relu)", chain_spec), ("residual stack", residual_spec)):
        for n in (1_000, 10_000, 100_000):
            seconds = analysis_seconds(make(n))
            print(f"{name:<28}{n:>8,}{seconds:>10.3f}{seconds / n * 1e6:>10.1f}")

    for command in (["analyze", "specs/vgg16.yaml"], ["lint", "specs/vgg16.yaml"]):
        heavy = imported_modules(command)
        print(f"\n`cnncalc {' '.join(command)}` imports numpy/torch/jsonschema: {sorted(heavy) or 'none'}")


if __name__ == "__main__":
    main()
