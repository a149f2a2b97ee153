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
from cnncalc.units import binary  # noqa: E402
from torch_nets import GraphNet, Unsupported, batch_input, inference_peak, saved_bytes, training_peak  # noqa: E402

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

    def vs(estimate, truth):
        return f"{binary(estimate)} ({(estimate - truth) / truth:+.1%})"

    return (f"| {name} | {batch} | {binary(saved)} | {vs(mem.activations_bytes, saved)} | {vs(info_fb, saved)} "
            f"| {vs(rule_saved, saved)} | {binary(train)} | {vs(mem.training_bytes, train)} | {vs(info_total, train)} "
            f"| {vs(rule_peak, train)} | {binary(infer)} | {vs(mem.inference_bytes, infer)} |")


def cases(only: list[str]):
    """The shipped specs (or those named), then the two test graphs."""
    paths = [ROOT / f"specs/{name}.yaml" for name in only] or sorted((ROOT / "specs").glob("*.yaml"))
    for path in paths:
        analysis = analyze_file(str(path))
        if analysis.complete:
            yield f"{analysis.graph.name} ({path.stem})", analysis
    if not only:
        yield "residual test net", analyze(residual_net(), get("pytorch"))
        yield "inception test net", analyze(inception_net(), get("pytorch"))


def main() -> None:
    only = [a for a in sys.argv[1:] if not a.startswith("--")]  # e.g. `resnet18`: just the named specs
    batches = (1,) if "--batch1" in sys.argv else (1, 8)
    print("| model | batch | saved, measured | cnncalc | torchinfo F/B | cs231n x2 | training peak, measured "
          "(Adam) | cnncalc | torchinfo total | cs231n 2A+4P | inference peak, measured | cnncalc |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, analysis in cases(only):
        for batch in batches:
            try:
                print(row(name, analysis, batch), flush=True)
            except Unsupported as missing:
                print(f"| {name} | {batch} | no plain PyTorch equivalent: {missing} |", flush=True)


if __name__ == "__main__":
    main()
