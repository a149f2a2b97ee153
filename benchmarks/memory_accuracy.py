"""One-off accuracy table for docs/memory.md: cnncalc's pytorch memory model vs PyTorch measured on
CPU vs torchinfo vs the cs231n rule. Needs torch and torchinfo (pip install torchinfo); neither is a
dependency of cnncalc. Run from the repository root: python benchmarks/memory_accuracy.py"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import torch  # noqa: E402
import torchinfo  # noqa: E402

from cnncalc import memory  # noqa: E402
from cnncalc.analysis import analyze  # noqa: E402
from cnncalc.conventions import get  # noqa: E402
from cnncalc.pipeline import analyze_file  # noqa: E402
from test_liveness import inception_net, residual_net  # noqa: E402
from torch_nets import GraphNet, batch_input, inference_peak, saved_bytes, training_peak  # noqa: E402

MiB = 2**20
RULE_KINDS = {"conv", "conv1d", "conv2d", "conv3d", "pool", "global_pool", "fc"}


def cs231n_saved(analysis, batch):
    """2 x (input + outputs of conv, pool and fc layers), ReLU folded in."""
    elements = analysis.graph.input.numel + sum(r.output.numel for r in analysis.results[1:]
                                                if r.node.type in RULE_KINDS)
    return 2 * elements * batch * 4


def cs231n_peak(analysis, batch, params):
    return cs231n_saved(analysis, batch) + 4 * params  # Adam: weights, gradients, two moments


def torchinfo_numbers(model, x):
    stats = torchinfo.summary(model, input_data=x, verbose=0)
    return stats.total_output_bytes, stats.total_input + stats.total_output_bytes + stats.total_param_bytes


def row(name, analysis, batch):
    torch.manual_seed(0)
    model = GraphNet(analysis)
    x = batch_input(analysis, batch)
    mem = memory.pytorch(analysis, batch=batch, dtype="float32", optimizer="adam")
    saved = saved_bytes(model, x)
    train, _ = training_peak(model, x, "adam")
    infer = inference_peak(model, x)
    info_fb, info_total = torchinfo_numbers(model, x)
    params = sum(p.numel() for p in model.parameters())
    rule_saved, rule_peak = cs231n_saved(analysis, batch), cs231n_peak(analysis, batch, params)
    err = lambda est, truth: f"{(est - truth) / truth:+.1%}"  # noqa: E731
    return (f"| {name} | {batch} | {saved / MiB:.3f} | {mem.activations_bytes / MiB:.3f} ({err(mem.activations_bytes, saved)}) "
            f"| {info_fb / MiB:.3f} ({err(info_fb, saved)}) | {rule_saved / MiB:.3f} ({err(rule_saved, saved)}) "
            f"| {train / MiB:.2f} | {mem.training_bytes / MiB:.2f} ({err(mem.training_bytes, train)}) "
            f"| {info_total / MiB:.2f} ({err(info_total, train)}) | {rule_peak / MiB:.2f} ({err(rule_peak, train)}) "
            f"| {infer / MiB:.2f} | {mem.inference_bytes / MiB:.2f} ({err(mem.inference_bytes, infer)}) |")


def main() -> None:
    only = sys.argv[1:]  # e.g. `resnet18`: just the named shipped specs
    if only:
        for spec in only:
            analysis = analyze_file(str(ROOT / f"specs/{spec}.yaml"))
            print(row(f"{analysis.graph.name} (specs/{spec}.yaml)", analysis, 1), flush=True)
        return
    print("| model | batch | saved, measured MiB | cnncalc | torchinfo F/B | cs231n x2 | training peak, measured "
          "(Adam) | cnncalc | torchinfo total | cs231n 2A+4P | inference peak, measured | cnncalc |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    cases = [("LeNet-5 (specs/lenet5.yaml)", analyze_file(str(ROOT / "specs/lenet5.yaml"), "pytorch")),
             ("residual test net", analyze(residual_net(), get("pytorch"))),
             ("inception test net", analyze(inception_net(), get("pytorch")))]
    for name, analysis in cases:
        for batch in (1, 8):
            print(row(name, analysis, batch), flush=True)
    for spec in ("vgg16", "resnet18", "googlenet"):  # the real networks, batch 1 (CPU time)
        analysis = analyze_file(str(ROOT / f"specs/{spec}.yaml"))
        print(row(f"{analysis.graph.name} (specs/{spec}.yaml)", analysis, 1), flush=True)


if __name__ == "__main__":
    main()
