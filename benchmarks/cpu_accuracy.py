"""Peaks of the zoo on this machine's CPU kernels against cnncalc's model of the same CPU, for
docs/memory.md ("Which CPU"). Needs torch (a test dependency). Run from the repository root:

    python benchmarks/cpu_accuracy.py [--threads N] [--batch 1 8] [--specs lenet5 vgg16 ...]

The instruction set is this machine's (cap it with ONEDNN_MAX_CPU_ISA=AVX2 before the run to model
an AVX2 machine on an AVX-512 one); --threads sets torch's threads and the modelled ones alike."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import torch  # noqa: E402

from cnncalc import cpu, memory  # noqa: E402
from cnncalc.pipeline import analyze_file  # noqa: E402
from cnncalc.units import binary  # noqa: E402
from torch_nets import GraphNet, Unsupported, batch_input, inference_peak, training_peak  # noqa: E402


def versus(estimate: int, truth: int) -> str:
    return f"{binary(estimate)} ({(estimate - truth) / truth:+.1%})"


def row(name: str, batch: int, modelled: cpu.Cpu) -> str:
    analysis = analyze_file(str(ROOT / "specs" / f"{name}.yaml"))
    torch.manual_seed(0)
    try:
        model = GraphNet(analysis)
    except Unsupported as why:
        return f"| {name} | {batch} | no plain PyTorch equivalent: {why} |"
    x = batch_input(analysis, batch)
    mem = memory.pytorch(analysis, batch=batch, dtype="float32", optimizer="adam", cpu=modelled)
    train, _ = training_peak(model, x, "adam")
    infer = inference_peak(model, x)
    return (f"| {name} | {batch} | {binary(train)} | {versus(mem.training_bytes, train)} "
            f"| {binary(infer)} | {versus(mem.inference_bytes, infer)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--specs", nargs="+", default=sorted(p.stem for p in (ROOT / "specs").glob("*.yaml")))
    args = parser.parse_args()
    host = cpu.host()
    modelled = cpu.Cpu(host.isa, args.threads or host.threads, "given")
    torch.set_num_threads(modelled.threads)
    print(f"CPU: {modelled.isa}, {modelled.threads} threads (torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads); Adam, float32\n")
    print("| spec | batch | training peak, measured | cnncalc | inference peak, measured | cnncalc |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in args.specs:
        for batch in args.batch:
            print(row(name, batch, modelled), flush=True)


if __name__ == "__main__":
    main()
