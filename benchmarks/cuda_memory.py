"""cnncalc's CUDA memory model against a GPU: torch.cuda.max_memory_allocated() and max_memory_reserved()
of one training step and one inference pass for the zoo, with cnncalc's predictions next to each.

Needs a CUDA GPU and torch (a test dependency, never cnncalc's). Run from the repository root:

    python benchmarks/cuda_memory.py [--out tests/data/cuda_memory.json] [--specs resnet50 vgg16 ...]
                                     [--batches 1,8,64,256] [--time-budget 420]
    python benchmarks/cuda_memory.py --dry-run [--gpu h200] [--specs lenet5] [--out FILE]

Each measurement follows the sequence cnncalc models (cnncalc/cuda/step.py), from a fresh allocator:
cuBLAS workspaces cleared, cache emptied, peak statistics reset; the network (tests/torch_nets.py's
GraphNet, built once on the CPU) copied to the GPU; then two training steps (a new batch, the forward,
`out.backward(torch.ones_like(out))`, the optimizer's step, `zero_grad(set_to_none=True)`) with SGD or
Adam, in float32 or under `torch.autocast("cuda", torch.bfloat16)`; or one eval-mode forward under
`torch.no_grad()`. Batches 1, 8, 64 and 256 while they fit (an out-of-memory is recorded, and larger
batches of that configuration are skipped). The CUDA context is read from `torch.cuda.mem_get_info()`
right after the context exists and again after every library has loaded (total - free - reserved).

The predictions are computed in worker processes (no torch there) while the GPU runs; the whole zoo
takes about 5 minutes on an H200. `--time-budget` stops starting new measurements after that many
seconds (they are recorded as skipped). `--dry-run` computes and writes the predictions only, without
torch or a GPU (the test suite runs it: tests/test_cuda_memory.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from cnncalc import __version__  # noqa: E402
from cnncalc.units import binary  # noqa: E402

DEFAULT_OUT = ROOT / "tests" / "data" / "cuda_memory.json"
BATCHES = (1, 8, 64, 256)
#: (mode, optimizer, amp): SGD and Adam in float32 and bfloat16 autocast, and inference in both
CONFIGS = (("train", "sgd", None), ("train", "adam", None), ("train", "sgd", "bfloat16"),
           ("train", "adam", "bfloat16"), ("infer", "sgd", None), ("infer", "sgd", "bfloat16"))
#: specs with no plain PyTorch equivalent (asymmetric padding)
UNSUPPORTED = ("zfnet",)
DRY_RUN_SPECS = ("lenet5", "cs231n_conv_relu_fc")
PROTOCOL = ("fresh allocator (cuBLAS workspaces cleared, cache emptied, peaks reset); model copied to the GPU; "
            "training: two steps of randn batch, forward (under autocast for amp), out.backward(ones_like(out)), "
            "optimizer.step() (torch.optim defaults: foreach), zero_grad(set_to_none=True); inference: one eval "
            "forward under no_grad; peaks over the whole sequence")


def zoo() -> list[str]:
    return sorted(p.stem for p in (ROOT / "specs").glob("*.yaml") if p.stem not in UNSUPPORTED)


# ---------------------------------------------------------------------------------------------
# predictions: cnncalc only (no torch), run in worker processes


def predict(spec: str, mode: str, optimizer: str, amp: str | None, batch: int, gpu: dict) -> dict:
    """cnncalc's figures for one measurement; `gpu`: Gpu fields (name, description, memory_bytes, capability)."""
    from cnncalc import memory
    from cnncalc.cuda.gpus import Gpu
    from cnncalc.pipeline import analyze_file

    board = Gpu(gpu["name"], gpu["description"], gpu["memory_bytes"], tuple(gpu["capability"]))
    analysis = analyze_file(str(ROOT / "specs" / f"{spec}.yaml"))
    mem = memory.pytorch(analysis, batch=batch, dtype="float32", optimizer=optimizer, device="cuda", amp=amp,
                         gpu=board)
    cuda = mem.cuda
    low, high = (cuda.training, cuda.training_high) if mode == "train" else (cuda.inference, cuda.inference_high)
    return {"allocated_bytes": low.allocated, "reserved_bytes": low.reserved, "requested_bytes": low.requested,
            "allocated_bytes_high": high.allocated, "reserved_bytes_high": high.reserved,
            "liveness_peak_bytes": mem.training_bytes if mode == "train" else mem.inference_bytes,
            "context_bytes_estimate": cuda.context_bytes, "cublas_workspace_bytes": cuda.cublas_workspace_bytes}


def _predict_job(job: tuple) -> dict:
    return predict(*job)


def jobs(specs: list[str], batches: tuple[int, ...], gpu: dict) -> list[tuple]:
    return [(spec, mode, optimizer, amp, batch, gpu) for spec in specs for mode, optimizer, amp in CONFIGS
            for batch in batches]


# ---------------------------------------------------------------------------------------------
# measurements: torch on the GPU


def table_name(device_name: str) -> str | None:
    """The entry of cnncalc's GPU table for a device name as CUDA gives it ("NVIDIA A100-SXM4-80GB")."""
    import re

    n = device_name.lower()
    for pattern, name in ((r"h200", "h200"), (r"h100", "h100"), (r"a100.*80g", "a100-80gb"), (r"a100", "a100-40gb"),
                          (r"v100.*32g", "v100-32gb"), (r"v100", "v100-16gb"), (r"3090", "rtx3090"),
                          (r"4090", "rtx4090"), (r"\bt4\b", "t4"), (r"\ba10g?\b", "a10"), (r"\bl4\b", "l4")):
        if re.search(pattern, n):
            return name
    return None


def _gpu_of(torch) -> dict:
    """This GPU: its own memory and compute capability, and the table entry its name matches (if any)."""
    props = torch.cuda.get_device_properties(0)
    name = torch.cuda.get_device_name(0)
    entry = table_name(name)
    return {"name": entry or name, "description": name, "memory_bytes": props.total_memory,
            "capability": [props.major, props.minor], "table_entry": entry}


class Bench:
    def __init__(self, torch):
        self.torch = torch
        self.models: dict[str, object] = {}

    def model(self, spec: str):
        """The network on the CPU, built once (random weights: memory does not depend on them)."""
        if spec not in self.models:
            from cnncalc.pipeline import analyze_file
            from torch_nets import GraphNet, Unsupported

            self.torch.manual_seed(0)
            analysis = analyze_file(str(ROOT / "specs" / f"{spec}.yaml"))
            try:
                self.models[spec] = (GraphNet(analysis), analysis)
            except Unsupported as why:
                self.models[spec] = (None, str(why))
        return self.models[spec]

    def fresh(self) -> None:
        torch = self.torch
        import gc

        gc.collect()
        torch.cuda.synchronize()
        torch._C._cuda_clearCublasWorkspaces()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()

    def measure(self, spec: str, mode: str, optimizer: str, amp: str | None, batch: int) -> dict:
        import copy

        torch = self.torch
        cpu_model, analysis = self.model(spec)
        if cpu_model is None:
            return {"status": f"unsupported: {analysis}"}
        shape = analysis.graph.input
        self.fresh()
        model = opt = x = out = None
        at_start = torch.cuda.memory_allocated()  # 0 unless an earlier measurement left a tensor behind

        def autocast():
            return torch.autocast("cuda", dtype=getattr(torch, amp or "bfloat16"), enabled=amp is not None)

        try:
            model = copy.deepcopy(cpu_model).cuda()
            if mode == "train":
                model.train()
                params = list(model.parameters())
                opt = (torch.optim.SGD(params, lr=1e-3) if optimizer == "sgd"
                       else torch.optim.Adam(params, lr=1e-3)) if params else None
                for _ in range(2):
                    x = torch.randn(batch, shape.channels, *shape.spatial, device="cuda")
                    with autocast():
                        out = model(x)
                    out.backward(torch.ones_like(out))
                    out = None
                    if opt is not None:
                        opt.step()
                    x = None
                    model.zero_grad(set_to_none=True)
            else:
                model.eval()
                x = torch.randn(batch, shape.channels, *shape.spatial, device="cuda")
                with torch.no_grad(), autocast():
                    out = model(x)
                out = x = None
            torch.cuda.synchronize()
            stats = torch.cuda.memory_stats()
            return {"status": "ok", "measured": {
                "allocated_bytes": stats["allocated_bytes.all.peak"],
                "reserved_bytes": stats["reserved_bytes.all.peak"],
                "requested_bytes": stats.get("requested_bytes.all.peak"),
                "segments_peak": stats["segment.all.peak"], "num_alloc_retries": stats["num_alloc_retries"],
                "allocated_at_start_bytes": at_start}}
        except torch.cuda.OutOfMemoryError as oom:
            return {"status": "oom", "error": str(oom).splitlines()[0][:300]}
        finally:
            del model, opt, x, out

    def device(self, context_init: int) -> dict:
        torch = self.torch
        torch.cuda.empty_cache()
        free, total = torch.cuda.mem_get_info()
        return {"torch": torch.__version__, "cuda": torch.version.cuda,
                "cudnn": torch.backends.cudnn.version(), "total_memory": total,
                "context_bytes_at_init": context_init,
                "context_bytes_after_libraries": total - free - torch.cuda.memory_reserved()}


# ---------------------------------------------------------------------------------------------
# the table


def _pct(estimate: int, truth: int) -> str:
    return f"{(estimate - truth) / truth:+.1%}" if truth else "n/a"


def table(rows: list[dict]) -> str:
    lines = ["| spec | mode | optimizer | amp | batch | allocated, measured | cnncalc (band) | reserved, measured "
             "| cnncalc (band) | status |", "|---|---|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        p, m = r.get("predicted") or {}, r.get("measured") or {}
        band_a = f"{binary(p['allocated_bytes'])} .. {binary(p['allocated_bytes_high'])}" if p else ""
        band_r = f"{binary(p['reserved_bytes'])} .. {binary(p['reserved_bytes_high'])}" if p else ""
        if m and p:
            band_a += f" ({_pct(p['allocated_bytes'], m['allocated_bytes'])})"
            band_r += f" ({_pct(p['reserved_bytes'], m['reserved_bytes'])})"
        lines.append(f"| {r['spec']} | {r['mode']} | {r['optimizer'] if r['mode'] == 'train' else ''} | "
                     f"{r['amp'] or ''} | {r['batch']} | {binary(m['allocated_bytes']) if m else ''} | {band_a} | "
                     f"{binary(m['reserved_bytes']) if m else ''} | {band_r} | {r['status']} |")
    return "\n".join(lines)


def run(args) -> dict:
    specs = args.specs or (list(DRY_RUN_SPECS) if args.dry_run else zoo())
    batches = tuple(int(b) for b in args.batches.split(","))
    started = time.monotonic()
    result = {"cnncalc": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "dry_run": args.dry_run, "protocol": PROTOCOL, "rows": []}
    if args.dry_run:
        from cnncalc.cuda.gpus import gpu as table_gpu

        board = table_gpu(args.gpu)
        gpu = {"name": board.name, "description": board.description, "memory_bytes": board.memory_bytes,
               "capability": list(board.capability), "table_entry": board.name}
        predictions = [_predict_job(job) for job in jobs(specs, batches, gpu)]
        result["device"] = {"gpu": gpu, "note": "dry run: predictions only, nothing measured"}
        measurements = [{"status": "dry run"} for _ in predictions]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        import torch

        torch.cuda.init()
        free, total = torch.cuda.mem_get_info()
        context_init = total - free
        gpu = _gpu_of(torch)
        todo = jobs(specs, batches, gpu)
        workers = max(1, min(8, (multiprocessing.cpu_count() or 2) - 2))
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_predict_job, job) for job in todo]
            bench, measurements, failed = Bench(torch), [], set()
            for spec, mode, optimizer, amp, batch, _ in todo:
                config = (spec, mode, optimizer, amp)
                if time.monotonic() - started > args.time_budget:
                    measurements.append({"status": "skipped (time budget)"})
                elif config in failed:
                    measurements.append({"status": "skipped (a smaller batch ran out of memory)"})
                else:
                    found = bench.measure(spec, mode, optimizer, amp, batch)
                    if found["status"] != "ok":
                        failed.add(config)
                    measurements.append(found)
            predictions = [f.result() for f in futures]
        result["device"] = {"gpu": gpu, **bench.device(context_init)}
    for (spec, mode, optimizer, amp, batch, _), predicted, measured in zip(jobs(specs, batches, gpu), predictions,
                                                                           measurements):
        result["rows"].append({"spec": spec, "mode": mode, "optimizer": optimizer, "amp": amp, "batch": batch,
                               "predicted": predicted, "measured": measured.get("measured"),
                               "status": measured["status"], **({"error": measured["error"]}
                                                                if "error" in measured else {})})
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None,
                        help=f"the JSON file (default {DEFAULT_OUT.relative_to(ROOT)}; with --dry-run: none)")
    parser.add_argument("--specs", nargs="*", help="spec names under specs/ (default: the zoo)")
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument("--time-budget", type=float, default=420.0, help="seconds before new measurements stop")
    parser.add_argument("--dry-run", action="store_true", help="predictions only: no torch, no GPU")
    parser.add_argument("--gpu", default="h200", help="with --dry-run: the GPU of cnncalc's table to predict for")
    args = parser.parse_args(argv)
    result = run(args)
    out = args.out if args.out is not None or args.dry_run else DEFAULT_OUT
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n")
    print(table(result["rows"]))
    print(f"\n{len(result['rows'])} rows in {result['seconds']} s" + (f"; written to {out}" if out else ""))
    return result


if __name__ == "__main__":
    main()
