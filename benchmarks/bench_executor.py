"""Time cnncalc's numpy executor against PyTorch CPU on the same networks and weights.

    python benchmarks/bench_executor.py [--specs vgg16 resnet50 mobilenet_v2] [--batches 1 8] [--repeats 3]

For every spec and batch: the best forward of each (weights already built; PyTorch in float32, NCHW,
no_grad, every core; numpy's BLAS on every core too), by wall time and by CPU time (getrusage: every
thread), their ratios, and the executor's achieved GFLOP/s on its convolution layers (FLOPs = 2 x MACs
counted from the executed matrix products) against numpy's own float32 matmul peak measured in the
same run, the same two ways. The two frameworks alternate, with a pause between them (idle BLAS and
OpenMP threads spin for a while and would take the other's cores), so that a shared machine's load
falls on both alike. Targets (issue #19): numpy / torch <= 1.5 on VGG-16 at batch 8, and conv
GFLOP/s >= 50 % of the matmul peak. `bench(name, batch, repeats, peak)` is what
benchmarks/bench_cli.py calls."""

from __future__ import annotations

import argparse
import os
import resource
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


def cpu_seconds() -> float:
    """CPU time of this process, every thread (BLAS's, the copy threads, PyTorch's) included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def matmul_peak(size: int = 2048, repeats: int = 5, cpu: bool = False) -> float:
    """numpy's float32 GEMM in GFLOP/s: the best of several square products; with `cpu`, per second of
    CPU time (all threads) instead of wall time."""
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((size, size), dtype=np.float32)
    a @ b
    clock = cpu_seconds if cpu else time.perf_counter
    best = min(_timed(lambda: a @ b, clock) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(fn, clock=time.perf_counter) -> float:
    started = clock()
    fn()
    return clock() - started


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


#: seconds between the two frameworks' runs: OpenBLAS's and OpenMP's idle threads spin for a while
#: after their last job, and would take the other's cores (and show in its CPU time)
COOL_DOWN_S = 0.5


def bench(name: str, batch: int, repeats: int, peak: float, cpu_peak: float | None = None) -> dict:
    """The best of `repeats` forwards of each, alternating (after one warm-up round of both), by wall
    time (`numpy_s`, `torch_s`, `ratio`) and by CPU time (`numpy_cpu_s`, `torch_cpu_s`, `cpu_ratio`),
    and the conv layers' GFLOP/s against `peak` (wall) and `cpu_peak` (per CPU second; measured here
    when not given)."""
    if cpu_peak is None:
        cpu_peak = matmul_peak(cpu=True)
    analysis = analysed(name)
    the_plan = executor.plan(analysis, batch)
    weights = executor.make_weights(the_plan, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, *analysis.graph.input.dims), dtype=np.float32)
    forward = torch_runner(the_plan, weights)
    xt = torch.from_numpy(np.moveaxis(x, -1, 1).copy())
    is_conv = [step.node.type in CONV_TYPES for step in the_plan.steps]
    best = {"numpy_s": float("inf"), "torch_s": float("inf"), "numpy_cpu_s": float("inf"),
            "torch_cpu_s": float("inf"), "conv_s": float("inf"), "conv_cpu_s": float("inf")}
    conv_flops = 0
    for round_ in range(repeats + 1):
        marks: list[float] = []  # CPU time at every layer boundary (on_layer is called before each layer)
        time.sleep(COOL_DOWN_S)
        run = executor.execute(the_plan, measure=False, given_input=x.copy(), given_weights=weights,
                               on_layer=lambda done, total, layer: marks.append(cpu_seconds()))
        layer_cpu = [after - before for before, after in zip(marks, marks[1:])]
        numpy_figures = {
            "numpy_s": sum(layer.seconds for layer in run.layers),
            "numpy_cpu_s": sum(layer_cpu),
            "conv_s": sum(layer.seconds for layer, conv in zip(run.layers, is_conv) if conv),
            "conv_cpu_s": sum(cpu for cpu, conv in zip(layer_cpu, is_conv) if conv),
        }
        conv_flops = sum(2 * layer.macs for layer, conv in zip(run.layers, is_conv) if conv)
        del run  # its output freed before PyTorch runs
        time.sleep(COOL_DOWN_S)
        started = cpu_seconds()
        torch_figures = {"torch_s": _timed(lambda: forward(xt.clone()))}
        torch_figures["torch_cpu_s"] = cpu_seconds() - started
        if round_ == 0:
            continue
        for key, value in {**numpy_figures, **torch_figures}.items():
            best[key] = min(best[key], value)
    return {
        "spec": name, "batch": batch, **{k: best[k] for k in ("numpy_s", "torch_s", "numpy_cpu_s", "torch_cpu_s")},
        "ratio": best["numpy_s"] / best["torch_s"], "cpu_ratio": best["numpy_cpu_s"] / best["torch_cpu_s"],
        "conv_gflops": conv_flops / best["conv_s"] / 1e9,
        "conv_share_of_peak": conv_flops / best["conv_s"] / 1e9 / peak,
        "conv_cpu_gflops": conv_flops / best["conv_cpu_s"] / 1e9,
        "conv_cpu_share_of_peak": conv_flops / best["conv_cpu_s"] / 1e9 / cpu_peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", nargs="+", default=["vgg16", "resnet50", "mobilenet_v2"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    peak, cpu_peak = matmul_peak(), matmul_peak(cpu=True)
    print(f"numpy {np.__version__} float32 matmul peak (2048^3): {peak:.1f} GFLOP/s, {cpu_peak:.1f} GFLOP per CPU "
          f"second; torch {torch.__version__}, {torch.get_num_threads()} threads; {os.cpu_count()} CPUs")
    print(f"{'':<20}{'wall: numpy s':>14}{'torch s':>9}{'ratio':>7}{'conv of peak':>14}"
          f"{'CPU: numpy s':>15}{'torch s':>9}{'ratio':>7}{'conv of peak':>14}")
    for name in args.specs:
        for batch in args.batches:
            r = bench(name, batch, args.repeats, peak, cpu_peak)
            print(f"{r['spec'] + ' batch ' + str(r['batch']):<20}{r['numpy_s']:>14.3f}{r['torch_s']:>9.3f}"
                  f"{r['ratio']:>7.2f}{r['conv_share_of_peak']:>14.0%}{r['numpy_cpu_s']:>15.3f}{r['torch_cpu_s']:>9.3f}"
                  f"{r['cpu_ratio']:>7.2f}{r['conv_cpu_share_of_peak']:>14.0%}", flush=True)


if __name__ == "__main__":
    main()
