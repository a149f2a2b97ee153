"""Test-only: peaks of a few specs on this host's own oneDNN kernels, next to cnncalc's model of the
CPU it detects, as JSON lines. Run in a subprocess by tests/test_cpu_native.py, so that the
environment (ONEDNN_MAX_CPU_ISA, OMP_NUM_THREADS) is read before torch is imported."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import torch  # noqa: E402
from torch_nets import GraphNet, batch_input, inference_peak, training_peak  # noqa: E402

from cnncalc import cpu, memory  # noqa: E402
from cnncalc.pipeline import analyze_file, analyze_text  # noqa: E402

SPECS = Path(__file__).parent.parent / "specs"
CONVS = [
    "input: 6x6x1\nlayers:\n  - conv: {filters: 1, kernel: 1, bias: false}\n",
    "input: 16x16x8\nlayers:\n  - conv: {filters: 16, kernel: 3, padding: 1}\n  - relu\n"
    "  - conv: {filters: 16, kernel: 3, stride: 2}\n",
    "input: 14x14x32\nlayers:\n  - conv: {filters: 32, kernel: 1}\n  - depthwise: {kernel: 3, padding: 1}\n",
    "input: {channels: 24, length: 20}\nlayers:\n  - conv: {filters: 40, kernel: 1, stride: 2}\n",
]


def cases():
    for name in ("lenet5", "cs231n_simple", "text_cnn", "depthwise_separable"):
        yield name, analyze_file(str(SPECS / f"{name}.yaml"))
    for index, text in enumerate(CONVS):
        yield f"conv{index}", analyze_text(text, f"<conv{index}>", "pytorch")


def main() -> None:
    """`python native_peaks.py [THREADS]`: this machine's CPU, at THREADS threads if given."""
    modelled = cpu.host()
    if len(sys.argv) > 1:
        modelled = cpu.Cpu(modelled.isa, int(sys.argv[1]), "given")
        torch.set_num_threads(modelled.threads)
    for name, analysis in cases():
        for batch in (1, 8):
            torch.manual_seed(0)
            model = GraphNet(analysis)
            x = batch_input(analysis, batch)
            mem = memory.pytorch(analysis, batch=batch, dtype="float32", optimizer="sgd", cpu=modelled)
            train, _ = training_peak(model, x, "sgd")
            row = {"case": name, "batch": batch, "cpu": modelled.to_dict(), "torch_threads": torch.get_num_threads(),
                   "train": [mem.training_bytes, train], "infer": [mem.inference_bytes, inference_peak(model, x)],
                   "bound_train": modelled.bound(train), "bound_infer": 0}
            row["bound_infer"] = modelled.bound(row["infer"][1])
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
