"""Size: what a layer costs, as whole `cnncalc analyze` processes, in wall time and in CPU time.

    python benchmarks/bench_size.py                    # 10,000-layer conv/relu chain (json), relus 1k..1M
    python benchmarks/bench_size.py --max-layers 100000 --runs 5
    python benchmarks/bench_size.py --tree /path/to/other/checkout   # the same figures for another tree

The CPU time (the child's user + system time, from wait4) is much less noisy than the wall time on a
shared machine: the targets of issue #19 are wall times on an idle machine with an 18 ms interpreter
floor, and on a loaded one the wall time measures the load. Both are printed, with the interpreter's
own floor (`python -c pass`) from the same rounds, and the cost per layer (the 1,000-layer run's
time taken off, so start-up is not counted as per-layer work). The specs are the generators of
benchmarks/bench_cli.py (the million relus: 98 bytes of YAML).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_cli import conv_relu_chain, relu_chain  # noqa: E402  (the one definition of the generated specs)


#: issue #19's targets (wall time on an idle machine): the 10,000-layer chain's JSON, and a million relus'
#: table, which the issue's "nothing may run past 10 s" holds to 10 s (its speed list says 15 s), in 1 GB
CHAIN_TARGET_S = 0.4
MILLION_TARGET_S = 10.0
MILLION_TARGET_BYTES = 2**30


def _verdict(wall: float, target_s: float, rss: int = 0, target_bytes: int | None = None) -> str:
    """"met" or "MISSED" against a target, with the target (the wall time: on a loaded machine, see the CPU time)."""
    met = wall < target_s and (target_bytes is None or rss < target_bytes)
    memory = f" and {target_bytes / 2**30:.0f} GiB" if target_bytes is not None else ""
    return f"{'met' if met else 'MISSED'} (target < {target_s:g} s{memory})"


def measure(args: list[str], tree: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak resident bytes of one fresh process."""
    import time

    env = dict(os.environ, PYTHONPATH=str(tree))
    started = time.perf_counter()
    child = subprocess.Popen(args, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"bench_size: {' '.join(args)} failed (exit {code}): {child.stderr.read().decode()[-500:]}")
    child.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def median_of(args: list[str], tree: Path, runs: int) -> tuple[float, float, int]:
    samples = [measure(args, tree) for _ in range(runs)]
    return (statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples),
            max(s[2] for s in samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-layers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the million: one)")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose cnncalc is measured")
    parser.add_argument("--format", default="table", help="the relu chains' --format (table or json)")
    args = parser.parse_args()
    python = sys.executable
    tree = args.tree.resolve()
    with tempfile.TemporaryDirectory() as folder:
        floor = median_of([python, "-c", "pass"], tree, args.runs)
        print(f"tree {tree}\n{'':<44}{'wall s':>9}{'cpu s':>9}{'us/layer wall':>15}{'us/layer cpu':>14}{'peak RSS':>11}")
        print(f"{'python -c pass (floor)':<44}{floor[0]:>9.3f}{floor[1]:>9.3f}")
        chain = Path(folder) / "chain10k.yaml"
        chain.write_text(conv_relu_chain(10_000))
        wall, cpu, rss = median_of([python, "-m", "cnncalc", "analyze", str(chain), "--format", "json"], tree, args.runs)
        print(f"{'conv/relu chain 10,000 layers, --format json':<44}{wall:>9.3f}{cpu:>9.3f}{'':>29}{rss / 2**20:>7.0f} MiB"
              f"  {_verdict(wall, CHAIN_TARGET_S)}")
        base = None
        for n in (1_000, 10_000, 100_000, 1_000_000):
            if n > args.max_layers:
                break
            spec = Path(folder) / f"relu{n}.yaml"
            spec.write_text(relu_chain(n))
            command = [python, "-m", "cnncalc", "analyze", str(spec), "--format", args.format]
            wall, cpu, rss = median_of(command, tree, 1 if n >= 1_000_000 else args.runs)
            per = ""
            if base is None:
                base = (n, wall, cpu)
            else:
                per = f"{(wall - base[1]) / (n - base[0]) * 1e6:>15.1f}{(cpu - base[2]) / (n - base[0]) * 1e6:>14.1f}"
            target = f"  {_verdict(wall, MILLION_TARGET_S, rss, MILLION_TARGET_BYTES)}" if n == 1_000_000 else ""
            print(f"{f'relus, {n:,} layers ({args.format})':<44}{wall:>9.3f}{cpu:>9.3f}{per:<29}{rss / 2**20:>7.0f} MiB"
                  + target if not per else
                  f"{f'relus, {n:,} layers ({args.format})':<44}{wall:>9.3f}{cpu:>9.3f}{per}{rss / 2**20:>7.0f} MiB"
                  + target)


if __name__ == "__main__":
    main()
