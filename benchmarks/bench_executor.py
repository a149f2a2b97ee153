"""Time cnncalc's numpy executor against PyTorch CPU on the same networks and weights.

    python benchmarks/bench_executor.py [--specs vgg16 resnet50 mobilenet_v2] [--batches 1 8] [--repeats 3]

For every spec and batch: the best forward time of each (weights already built; PyTorch in
float32, NCHW, no_grad, every core), their ratio, and the executor's achieved GFLOP/s on its
convolution layers (FLOPs = 2 x MACs counted from the executed matrix products) against numpy's
own float32 matmul peak measured in the same run. Targets: numpy / torch <= 2 and conv GFLOP/s
>= 50 % of the matmul peak.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnncalc import executor  # noqa: E402
from cnncalc.pipeline import analyze_file  # noqa: E402

CONV_TYPES = ("conv", "conv1d", "conv2d", "conv3d", "depthwise")


def matmul_peak(size: int = 2048, repeats: int = 5) -> float:
    """numpy's float32 GEMM in GFLOP/s: the best of several square products."""
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((size, size), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def analysed(name: str):
    path = str(ROOT / "specs" / f"{name}.yaml")
    analysis = analyze_file(path, "strict")
    return analysis if analysis.ok else analyze_file(path, "pytorch")


# ---------------------------------------------------------------------------------------------
# the same network in PyTorch, with the executor's weights moved to PyTorch's layouts


def _axes(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value) if len(value) == rank else (value[0],) * rank


def _torch_layer(step, weights, convention):
    node, p = step.node, step.node.params
    kind = node.type
    rank = len(step.inputs[0].spatial) if step.inputs else 0
    tensor = {k: torch.from_numpy(v) for k, v in {**weights.params, **weights.buffers}.items()}
    if kind in CONV_TYPES:
        from cnncalc.window import resolve_padding

        groups = step.inputs[0].channels if kind == "depthwise" else p["groups"]
        kernel, stride, dilation = (_axes(p[k], rank) for k in ("kernel", "stride", "dilation"))
        pads = resolve_padding(p["padding"], step.inputs[0].spatial, kernel, stride, dilation, convention, "")
        weight = tensor["kernel"].permute(rank + 1, rank, *range(rank)).contiguous()
        conv = (F.conv1d, F.conv2d, F.conv3d)[rank - 1]
        symmetric = all(b == a for b, a in pads)
        flat = [n for pair in reversed(pads) for n in pair]
        if symmetric:
            return lambda xs: conv(xs[0], weight, tensor.get("bias"), stride, [b for b, _ in pads], dilation, groups)
        return lambda xs: conv(F.pad(xs[0], flat), weight, tensor.get("bias"), stride, 0, dilation, groups)
    if kind == "pool":
        kernel = _axes(p["kernel"], rank)
        stride = _axes(p["stride"] if p["stride"] is not None else p["kernel"], rank)
        padding = _axes(p["padding"] or 0, rank)
        if p["mode"] == "max":
            pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[rank - 1]
            return lambda xs: pool(xs[0], kernel, stride, padding, _axes(p["dilation"], rank), bool(p["ceil"]))
        pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[rank - 1]
        return lambda xs: pool(xs[0], kernel, stride, padding, bool(p["ceil"]), True)
    if kind == "global_pool":
        dims = tuple(range(2, 2 + rank))
        return lambda xs: xs[0].mean(dims, keepdim=True) if p["mode"] == "avg" else xs[0].amax(dims, keepdim=True)
    if kind == "fc":
        weight = tensor["kernel"].T.contiguous()
        return lambda xs: F.linear(xs[0].movedim(1, -1).flatten(1) if xs[0].ndim > 2 else xs[0], weight,
                                   tensor.get("bias"))
    if kind == "flatten":
        return lambda xs: xs[0].movedim(1, -1).flatten(1)
    if kind == "batchnorm":
        return lambda xs: F.batch_norm(xs[0], tensor["running_mean"], tensor["running_var"], tensor.get("gamma"),
                                       tensor.get("beta"), False, 0.0, p["eps"])
    simple = {
        "relu": lambda xs: F.relu(xs[0], inplace=True), "relu6": lambda xs: F.relu6(xs[0]),
        "dropout": lambda xs: xs[0], "softmax": lambda xs: F.softmax(xs[0], 1), "tanh": lambda xs: torch.tanh(xs[0]),
        "sigmoid": lambda xs: torch.sigmoid(xs[0]), "add": lambda xs: sum(xs[1:], xs[0]),
        "concat": lambda xs: torch.cat(xs, 1),
    }
    if kind in simple:
        return simple[kind]
    raise NotImplementedError(f"the benchmark has no PyTorch translation for '{kind}'")


def torch_runner(the_plan, weights):
    convention = the_plan.analysis.convention
    layers = [(step.node, _torch_layer(step, w, convention)) for step, w in zip(the_plan.steps, weights)]

    def run(x):
        values = {0: x}
        with torch.no_grad():
            for node, layer in layers:
                values[node.index] = layer(tuple(values[i] for i in node.inputs))
        return values[layers[-1][0].index]

    return run


# ---------------------------------------------------------------------------------------------


def bench(name: str, batch: int, repeats: int, peak: float) -> dict:
    analysis = analysed(name)
    the_plan = executor.plan(analysis, batch)
    weights = executor.make_weights(the_plan, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, *analysis.graph.input.dims), dtype=np.float32)
    forward = torch_runner(the_plan, weights)
    xt = torch.from_numpy(np.moveaxis(x, -1, 1).copy())
    numpy_best = torch_best = float("inf")
    conv_seconds, conv_flops = 0.0, 0
    # numpy and PyTorch alternate, so both see the same load on a shared machine; the first round warms up
    for round_ in range(repeats + 1):
        run = executor.execute(the_plan, measure=False, given_input=x.copy(), given_weights=weights)
        seconds = sum(layer.seconds for layer in run.layers)
        torch_seconds = _timed(lambda: forward(xt.clone()))
        if round_ == 0:
            continue
        torch_best = min(torch_best, torch_seconds)
        if seconds < numpy_best:
            numpy_best = seconds
            convs = [layer for layer, step in zip(run.layers, the_plan.steps) if step.node.type in CONV_TYPES]
            conv_seconds = sum(layer.seconds for layer in convs)
            conv_flops = sum(2 * layer.macs for layer in convs)
    return {
        "spec": name, "batch": batch, "numpy_s": numpy_best, "torch_s": torch_best,
        "ratio": numpy_best / torch_best, "conv_gflops": conv_flops / conv_seconds / 1e9,
        "conv_share_of_peak": conv_flops / conv_seconds / 1e9 / peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", nargs="+", default=["vgg16", "resnet50", "mobilenet_v2"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    peak = matmul_peak()
    print(f"numpy {np.__version__} float32 matmul peak (2048^3): {peak:.1f} GFLOP/s; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {os.cpu_count()} CPUs")
    print(f"{'spec':<14}{'batch':>6}{'numpy s':>10}{'torch s':>10}{'numpy/torch':>13}{'conv GFLOP/s':>14}"
          f"{'of peak':>9}")
    for name in args.specs:
        for batch in args.batches:
            r = bench(name, batch, args.repeats, peak)
            print(f"{r['spec']:<14}{r['batch']:>6}{r['numpy_s']:>10.3f}{r['torch_s']:>10.3f}{r['ratio']:>13.2f}"
                  f"{r['conv_gflops']:>14.1f}{r['conv_share_of_peak']:>9.0%}", flush=True)


if __name__ == "__main__":
    main()
