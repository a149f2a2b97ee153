"""Speed of `cnncalc import` on ResNet-50's ONNX file (issue #15's goal: under 1 s).

    python benchmarks/bench_import.py                 # exports ResNet-50 once (needs torch, torchvision)
    python benchmarks/bench_import.py MODEL.onnx      # any ONNX file

Prints the in-process time of each stage (load, shape inference and mapping, structure and blocks,
the check against cnncalc's analysis) as the min of 5 runs, and the whole command in a fresh process
(the interpreter and onnx's import included). The weights' bytes are read but never converted: only
the shapes of the initialisers matter to a spec.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def export_resnet50(path: Path) -> None:
    import warnings

    import torch

    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import torchvision

    warnings.simplefilter("ignore")
    model = torchvision.models.resnet50(weights=None).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_()
    torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), str(path), dynamo=False, do_constant_folding=False)


def best(function, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    from cnncalc.importers import onnx_import, reader

    if len(sys.argv) > 1:
        path = Path(sys.argv[1])
    else:
        path = Path(tempfile.mkdtemp()) / "resnet50.onnx"
        export_resnet50(path)
    print(f"{path.name}: {path.stat().st_size / 2**20:.1f} MiB")
    onnx_import.import_file(str(path))  # warm: onnx and cnncalc imported
    load = best(lambda: reader.load_model(str(path)))
    whole = best(lambda: onnx_import.import_file(str(path)))
    print(f"  load (read + parse)      {load * 1000:7.1f} ms")
    print(f"  import, in process       {whole * 1000:7.1f} ms   (goal: under 1000 ms)")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cnncalc", "import", str(path), "-o", str(path.with_suffix(".yaml"))],
                          cwd=ROOT, capture_output=True, text=True)
    print(f"  `cnncalc import` process {(time.perf_counter() - start) * 1000:7.1f} ms   (status {done.returncode})")


if __name__ == "__main__":
    main()
