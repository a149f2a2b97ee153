"""Speed of the command line against the targets of issue #19, every figure from this one run.

    python benchmarks/bench_cli.py                  # the figures recorded in the README
    python benchmarks/bench_cli.py --quick          # fewer repetitions, 100,000 layers at most, no VGG-16 verify
    python benchmarks/bench_cli.py --max-layers 100000 --no-verify
    python benchmarks/bench_cli.py --startup-only   # --version and analyze against the floor and torchinfo

Every figure is a whole fresh process (cnncalc's bytecode compiled first, as an install does), the
median of several, next to the interpreter's own start (`python -c pass`, the floor the targets are
measured over) measured in the same rounds: the commands of one round run back to back, so a shared
machine's load falls on all of them alike. The bare interpreter's start (`python -S -c pass`) is shown
too: an environment's site-packages run their .pth files in every process, the floor included (an
editable install's finder, `pip install -e`, imports pathlib, re and enum there: ~25 ms on the CI
machine), and the bare start is what tells a slow machine from a heavy environment (the issue's 18 ms
floor is this machine kind's bare start, 13-19 ms: the targets are taken as they are, no figure is
scaled). torchinfo
(summarising the same network built in torch from the spec) when torch and torchinfo are installed;
never a dependency of cnncalc. Peak memory is the child's maximum resident set (getrusage), and the
start-up figures come with each process's CPU time (user + system, getrusage) and targets in CPU time
too: on a shared machine other processes stretch the wall clock, not a process's own CPU time. Each
target is printed beside its measured value, with MET or MISSED.

Sections: start-up (`--version`, `analyze` of VGG-16 and ResNet-50, torchinfo); size (a generated
10,000-layer conv/relu chain with `--format json`; relu chains of 1k to 1M layers, 98 bytes of YAML
for the million, to show linear growth); `verify` (the per-layer overhead on relu chains, and
VGG-16 at batch 8 against PyTorch's CPU time, through benchmarks/bench_executor.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CNNCALC = [PY, "-m", "cnncalc"]


def compile_bytecode() -> None:
    """An install compiles cnncalc's bytecode (and Python caches it on first import); without it, as
    under PYTHONDONTWRITEBYTECODE in a fresh checkout, every run would also time the compiler (~30 ms)."""
    import compileall

    compileall.compile_dir(ROOT / "cnncalc", quiet=1)


#: the CPU seconds (user + system) of the last process `run_once` ran: far steadier than wall time on a
#: shared machine, where other processes' load stretches the wall clock but not a process's own CPU time
LAST_CPU = [0.0]


def run_once(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak resident bytes of one fresh process (output discarded); its CPU seconds
    are left in LAST_CPU."""
    started = time.perf_counter()
    child = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"bench_cli: {' '.join(args[2:])} failed (exit {os.waitstatus_to_exitcode(status)})")
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss * 1024


def rounds(commands: dict[str, list[str]], runs: int, cpu: dict[str, list[float]] | None = None) -> dict[str, list[float]]:
    """`runs` rounds of every command back to back; per command its times (and, into `cpu`, its CPU times)."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, args in commands.items():
            times[label].append(run_once(args)[0])
            if cpu is not None:
                cpu.setdefault(label, []).append(LAST_CPU[0])
    return times


def verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


BARE = "python -S -c pass (bare interpreter)"


def target_line(what: str, target: str, measured: str, met: bool) -> None:
    """The target, the measured value and MET/MISSED."""
    print(f"  {what:<46}{target:>14}{measured:>14}  {verdict(met)}")


def targets_heading() -> None:
    print(f"  {'targets':<46}{'target':>14}{'measured':>14}")


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


def startup(runs: int) -> None:
    print(f"start-up: median of {runs} rounds of fresh processes (min in brackets)")
    commands = {"python -c pass (interpreter floor)": [PY, "-c", "pass"], BARE: [PY, "-S", "-c", "pass"],
                "cnncalc --version": CNNCALC + ["--version"]}
    for spec in ("vgg16", "resnet50"):
        commands[f"cnncalc analyze specs/{spec}.yaml"] = CNNCALC + ["analyze", f"specs/{spec}.yaml"]
    cpu: dict[str, list[float]] = {}
    times = rounds(commands, runs, cpu)
    median = {label: statistics.median(t) for label, t in times.items()}
    cpu_median = {label: statistics.median(t) for label, t in cpu.items()}
    floor = median["python -c pass (interpreter floor)"]
    cpu_floor = cpu_median["python -c pass (interpreter floor)"]
    print(f"  {'':<46}{'wall':>8}    {'(min)':<8}{'over floor':>17}{'CPU':>10}{'over floor':>12}")
    for label, t in times.items():
        print(f"  {label:<46}{median[label]:>8.3f} s  ({min(t):.3f})  floor {median[label] - floor:+.3f} s"
              f"{cpu_median[label]:>8.3f} s{cpu_median[label] - cpu_floor:>+10.3f} s")
    targets_heading()
    labels = [("cnncalc --version", "cnncalc --version", 0.040)]
    labels += [(f"analyze {spec}", f"cnncalc analyze specs/{spec}.yaml", 0.060) for spec in ("vgg16", "resnet50")]
    for what, label, target in labels:
        over = median[label] - floor
        target_line(f"{what} over the floor", f"<= +{target:.3f} s", f"{over:+.3f} s", over <= target)
        over_cpu = cpu_median[label] - cpu_floor  # the same target in CPU time: what a quiet machine's wall shows
        target_line(f"{what} over the floor, CPU time", f"<= +{target:.3f} s", f"{over_cpu:+.3f} s",
                    over_cpu <= target)
    if not torchinfo_available():
        print("  torchinfo: not installed (pip install torchinfo; torch comes with the test extra): not compared")
        return
    for spec in ("vgg16", "resnet50"):
        code = TORCHINFO.format(root=str(ROOT), spec=f"specs/{spec}.yaml")
        theirs = statistics.median(rounds({"torchinfo": [PY, "-c", code]}, max(3, runs // 5))["torchinfo"])
        ours = median[f"cnncalc analyze specs/{spec}.yaml"]
        print(f"  {'torchinfo summary ' + spec:<46}{theirs:>8.3f} s")
        target_line(f"torchinfo / cnncalc analyze, {spec}", ">= 30x", f"{theirs / ours:.1f}x", theirs / ours >= 30)


def conv_relu_chain(n: int) -> str:
    return (f"input: 32x32x16\nlayers:\n  - repeat: {{times: {n // 2}, layers: "
            "[{conv: {filters: 16, kernel: 3, padding: 1}}, relu]}\n")


def relu_chain(n: int) -> str:
    """n relus; a million as 1000 x 1000 (one repeat holds at most 100,000 layers): 98 bytes."""
    if n <= 100_000:
        return f"input: 8x8x3\nlayers:\n  - repeat: {{times: {n}, layers: [relu]}}\n"
    outer = n // 1000
    return f"input: 8x8x3\nlayers:\n  - repeat: {{times: {outer}, layers: [{{repeat: {{times: 1000, layers: [relu]}}}}]}}\n"


def size(runs: int, max_layers: int, folder: Path) -> None:
    print(f"\nsize: whole processes, median of {runs} (the million: one run)")
    chain = folder / "chain10k.yaml"
    chain.write_text(conv_relu_chain(10_000))
    seconds = statistics.median(run_once(CNNCALC + ["analyze", str(chain), "--format", "json"])[0] for _ in range(runs))
    print(f"  {'conv/relu chain, 10,000 layers, --format json':<46}{seconds:>8.3f} s")
    print(f"  {'relu chain (table)':<28}{'layers':>10}{'seconds':>10}{'us/layer':>10}{'peak RSS':>12}")
    per_layer = {}
    measured = {}
    for n in (1_000, 10_000, 100_000, 1_000_000):
        if n > max_layers:
            break
        spec = folder / f"relu{n}.yaml"
        spec.write_text(relu_chain(n))
        samples = [run_once(CNNCALC + ["analyze", str(spec)]) for _ in range(1 if n >= 1_000_000 else runs)]
        wall = statistics.median(s for s, _ in samples)
        rss = max(r for _, r in samples)
        measured[n] = (wall, rss)
        per_layer[n] = wall / n * 1e6
        print(f"  {'':<28}{n:>10,}{wall:>10.2f}{per_layer[n]:>10.1f}{rss / 2**20:>9.0f} MiB")
    targets_heading()
    target_line("10,000-layer conv/relu chain, --format json", "< 0.4 s", f"{seconds:.3f} s", seconds < 0.4)
    if 1_000_000 in measured:
        wall, rss = measured[1_000_000]
        target_line("1,000,000 relus: time", "< 15 s", f"{wall:.1f} s", wall < 15)
        target_line("1,000,000 relus: peak memory", "< 1 GB", f"{rss / 1e9:.2f} GB", rss < 1e9)
    else:
        print(f"  1,000,000 relus: not run (--max-layers {max_layers:,})")
    largest = max(per_layer)
    if largest > 10_000:  # linear: the cost per layer of the largest run within 1.5x of 10,000 layers' (1,000 is start-up)
        growth = per_layer[largest] / per_layer[10_000]
        target_line(f"linear: us/layer at {largest:,} / at 10,000", "<= 1.5x", f"{growth:.2f}x", growth <= 1.5)


def verify_overhead(runs: int, layers: int, folder: Path) -> None:
    print(f"\nverify: whole processes, median of {runs}")
    small, big = folder / "relu100.yaml", folder / f"relu{layers}.yaml"
    small.write_text(relu_chain(100))
    big.write_text(relu_chain(layers))
    times = rounds({"small": CNNCALC + ["verify", str(small)], "big": CNNCALC + ["verify", str(big)]}, runs)
    t_small, t_big = statistics.median(times["small"]), statistics.median(times["big"])
    per_layer = (t_big - t_small) / (layers - 100)
    print(f"  {'verify, 100 relus on 8x8x3':<46}{t_small:>8.3f} s")
    print(f"  {f'verify, {layers:,} relus on 8x8x3':<46}{t_big:>8.3f} s")
    targets_heading()
    target_line("verify per-layer overhead (relu chain)", "< 0.1 ms", f"{per_layer * 1e3:.3f} ms", per_layer < 1e-4)


def verify_vgg(repeats: int) -> None:
    try:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import bench_executor
    except ImportError as missing:  # torch or numpy not installed
        print(f"  VGG-16 against PyTorch: not compared ({missing})")
        return
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    peak = bench_executor.matmul_peak()
    r = bench_executor.bench("vgg16", 8, repeats, peak)
    print(f"  {'VGG-16 batch 8 forward, numpy executor':<46}{r['numpy_s']:>8.3f} s")
    print(f"  {'VGG-16 batch 8 forward, PyTorch CPU':<46}{r['torch_s']:>8.3f} s   ({torch.get_num_threads()} threads)")
    print(f"  {'numpy float32 matmul peak (2048^3)':<46}{peak:>8.1f} GFLOP/s")
    targets_heading()
    target_line("VGG-16 batch 8: executor / PyTorch", "<= 1.5x", f"{r['ratio']:.2f}x", r["ratio"] <= 1.5)
    target_line("VGG-16 batch 8 conv layers: of matmul peak", ">= 50 %", f"{r['conv_share_of_peak']:.0%}",
                r["conv_share_of_peak"] >= 0.5)


def imported_modules(command: list[str]) -> set[str]:
    code = ("import sys, runpy; sys.argv = ['cnncalc'] + %r\n"
            "try:\n    runpy.run_module('cnncalc', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('MODULES:', *sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'torch', 'jsonschema'}),"
            " file=sys.stderr)" % command)
    err = subprocess.run([PY, "-c", code], cwd=ROOT, capture_output=True, text=True).stderr
    line = next((l for l in err.splitlines() if l.startswith("MODULES:")), "MODULES:")
    return set(line.split()[1:])


def machine() -> str:
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
        model = next(l.split(":", 1)[1].strip() for l in lines if l.startswith("Model name"))
    except (OSError, StopIteration):
        model = "unknown CPU"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{model}, {os.cpu_count()} cores, load average {load:.1f}, Python {sys.version.split()[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions; 100,000 layers at most; no VGG-16")
    parser.add_argument("--max-layers", type=int, default=None, help="largest relu chain (default 1,000,000)")
    parser.add_argument("--no-verify", action="store_true", help="skip the verify section")
    parser.add_argument("--startup-only", action="store_true", help="only the start-up section")
    args = parser.parse_args()
    runs = 5 if args.quick else 11
    max_layers = args.max_layers or (100_000 if args.quick else 1_000_000)
    compile_bytecode()
    print(f"machine: {machine()}\n")
    startup(runs)
    if args.startup_only:
        print(f"\nmachine at the end: {machine()}")
        return
    with tempfile.TemporaryDirectory() as folder:
        size(3, max_layers, Path(folder))
        if not args.no_verify:
            verify_overhead(3, 4_000 if args.quick else 16_000, Path(folder))
            if not args.quick:
                verify_vgg(repeats=2)
    for command in (["analyze", "specs/vgg16.yaml"], ["lint", "specs/vgg16.yaml"]):
        heavy = imported_modules(command)
        print(f"\n`cnncalc {' '.join(command)}` imports numpy/torch/jsonschema: {sorted(heavy) or 'none'}")
    print(f"\nmachine at the end: {machine()}")


if __name__ == "__main__":
    main()
