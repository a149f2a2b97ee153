"""Measure what the peer counting tools print for torchvision's vgg16, resnet50, mobilenet_v2 and googlenet.

Writes tests/data/peer_counts.json, the file tests/test_counting.py compares cnncalc's `--count` presets
with. Each model: 224x224x3, batch 1, eval mode, weights=None; googlenet with aux_logits=False and
init_weights=False. Each peer is called as its README shows, with defaults, and its totals are recorded
raw (ints, as the peer returns them) and as the peer prints them (its own total lines, verbatim).

Needs torch, torchvision 0.28.0 and the peers: pip install torchvision==0.28.0 torchinfo fvcore ptflops
thop torchscan onnx onnx-tool calflops. Run: python benchmarks/peer_counts.py [--out PATH]
(a few minutes on two cores: every peer runs a forward pass of every model; onnx-tool an ONNX export).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
import tempfile
import types
import warnings
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("vgg16", "resnet50", "mobilenet_v2", "googlenet", "kinds")
SHAPE = (1, 3, 224, 224)


def _torchvision():
    # torchvision 0.28's compiled ops do not load against this torch; its meta registrations are the only
    # import that needs them, and the model builders do not.
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import torchvision

    return torchvision


def kinds():
    """tests/data/counting_kinds.yaml in torch: the layer kinds the four torchvision networks leave out."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU6(), nn.AvgPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), nn.Sigmoid(), nn.BatchNorm2d(8, affine=False),
        nn.MaxPool2d((2, 2)), nn.ConvTranspose2d(8, 4, 2, stride=2), nn.Tanh(),
        nn.Upsample(scale_factor=2, mode="nearest"), nn.AdaptiveAvgPool2d(4), nn.AdaptiveMaxPool2d(2),
        nn.Dropout(0.3), nn.Flatten(), nn.Linear(16, 10, bias=False), nn.Softmax(dim=1),
    )


#: input shape per model (batch 1, channels first)
SHAPES = {"kinds": (1, 3, 32, 32)}


def build(name: str):
    import torch

    torch.manual_seed(0)
    if name == "kinds":
        return kinds().eval()
    models = _torchvision().models
    extra = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    model = getattr(models, name)(weights=None, **extra)
    return model.eval()


def _version(package: str) -> str:
    return metadata.version(package)


@contextlib.contextmanager
def _captured():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield out


def _lines(text: str, *patterns: str) -> list[str]:
    """The printed lines matching any pattern, stripped: the peer's own totals, as it prints them."""
    return [line.strip() for line in text.splitlines() if any(re.search(p, line) for p in patterns)]


def measure_fvcore(model, shape) -> dict:
    import torch
    from fvcore.nn import FlopCountAnalysis, flop_count_table, parameter_count

    with _captured():
        analysis = FlopCountAnalysis(model, torch.zeros(shape))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        total = analysis.total()
        table = flop_count_table(analysis, max_depth=0)
        by_operator = dict(analysis.by_operator())
    return {"flops": int(total), "params": int(parameter_count(model)[""]), "by_operator": by_operator,
            "printed": _lines(table, r"^\| model")}


def measure_thop(model, shape) -> dict:
    import torch
    from thop import clever_format, profile

    with _captured():
        macs, params = profile(model, inputs=(torch.zeros(shape),), verbose=False)
    return {"macs": int(macs), "params": int(params), "printed": list(clever_format([macs, params], "%.3f"))}


def measure_ptflops(model, shape) -> dict:
    from ptflops import get_model_complexity_info

    with _captured() as out:
        macs, params = get_model_complexity_info(model, shape[1:], as_strings=False, print_per_layer_stat=True,
                                                 ost=out)
    with _captured():
        printed = get_model_complexity_info(model, shape[1:], as_strings=True, print_per_layer_stat=False)
    model_line = next((line.strip() for line in out.getvalue().splitlines() if "% MACs" in line), "")
    return {"macs": int(macs), "params": int(params), "printed": list(printed), "printed_model_line": model_line}


def measure_torchscan(model, shape) -> dict:
    import torchscan
    from torchscan.utils import format_info

    with _captured():
        info = torchscan.crawl_module(model, shape[1:])
    totals = info["totals"]

    def value(key):
        result = totals[key]
        return {"value": result.get("value"), "known_value": result.get("known_value"), "status": result["status"]}

    text = format_info(info)
    return {"flops": value("module_flops"), "macs": value("macs"), "operator_flops": value("operator_flops"),
            "params": int(totals["parameters"]["value"]),
            "printed": _lines(text, r"FLOPs:|Multiply-Accumulations:|Total params:")}


def measure_onnx_tool(model, shape) -> dict:
    import onnx_tool
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        with _captured():
            # the TorchScript exporter with its defaults (eval mode, constant folding: BN folded into the conv)
            torch.onnx.export(model, torch.zeros(shape), path, dynamo=False)
        csv_path = os.path.join(tmp, "profile.csv")
        with _captured() as out:
            onnx_tool.model_profile(path, save_profile=csv_path)
            onnx_tool.model_profile(path)
        import onnx

        ops = sorted({node.op_type for node in onnx.load(path).graph.node})
        rows = Path(csv_path).read_text().splitlines()
    total = next(r for r in rows if r.startswith("Total"))
    cells = total.split(",")
    header = rows[0].split(",")
    forward = int(cells[header.index("Forward_MACs")])
    params = int(cells[header.index("Params")])
    printed = _lines(out.getvalue(), r"^Total")
    return {"macs": forward, "params": params, "onnx_ops": ops, "printed": printed[-1:],
            "export": "torch.onnx.export(model, x, path, dynamo=False): TorchScript exporter, eval, "
                      "do_constant_folding=True (BatchNormalization folded into Conv)"}


def measure_calflops(model, shape) -> dict:
    # calflops' package import pulls its Hugging Face entry point, which needs transformers; the vision
    # counter does not use it, so without transformers that one module is stood in for.
    try:
        import transformers  # noqa: F401  (only whether it imports)
    except ImportError:
        sys.modules.setdefault("calflops.flops_counter_hf", types.SimpleNamespace(calculate_flops_hf=None))
    from calflops import calculate_flops

    with _captured():
        flops, macs, params = calculate_flops(model, input_shape=shape, output_as_string=False,
                                              print_results=False, print_detailed=False)
    with _captured():
        printed = calculate_flops(model, input_shape=shape, print_results=False, print_detailed=False)
    return {"flops": int(flops), "macs": int(macs), "params": int(params), "printed": list(printed)}


def measure_torchinfo(model, shape) -> dict:
    from torchinfo import summary

    with _captured():
        stats = summary(model, input_size=shape, verbose=0)
    text = str(stats)
    return {"mult_adds": int(stats.total_mult_adds), "params": int(stats.total_params),
            "printed": _lines(text, r"^Total (params|mult-adds)")}


PEERS = {
    "fvcore": ("fvcore", measure_fvcore,
               "FlopCountAnalysis(model, x).total(); flop_count_table(analysis, max_depth=0)"),
    "thop": ("thop", measure_thop, "thop.profile(model, inputs=(x,)) -> (macs, params); clever_format"),
    "ptflops": ("ptflops", measure_ptflops,
                "get_model_complexity_info(model, (3, 224, 224)) (backend pytorch, the default)"),
    "torchscan": ("torchscan", measure_torchscan, "torchscan.crawl_module(model, (3, 224, 224)); format_info"),
    "onnx-tool": ("onnx-tool", measure_onnx_tool, "onnx_tool.model_profile(exported.onnx)"),
    "calflops": ("calflops", measure_calflops, "calculate_flops(model, input_shape=(1, 3, 224, 224))"),
    "torchinfo": ("torchinfo", measure_torchinfo, "torchinfo.summary(model, input_size=(1, 3, 224, 224))"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "tests" / "data" / "peer_counts.json"))
    parser.add_argument("--peers", nargs="*", default=list(PEERS))
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    out = Path(args.out)
    data = json.loads(out.read_text()) if out.exists() else {}
    data.setdefault("setup", {}).update({
        "input": "1 x 3 x 224 x 224 zeros, eval mode, weights=None; googlenet aux_logits=False, init_weights=False",
        "torch": torch.__version__, "torchvision": _version("torchvision"),
    })
    _torchvision()  # first: ptflops and thop import torchvision.ops when it is installed
    models = {name: build(name) for name in args.models}
    data.setdefault("models", {})
    for name, model in models.items():
        data["models"][name] = {"params": sum(p.numel() for p in model.parameters()),
                                "input": list(SHAPES.get(name, SHAPE))}
    peers = data.setdefault("peers", {})
    for peer in args.peers:
        package, measure, call = PEERS[peer]
        entry = peers.setdefault(peer, {})
        entry.update({"version": _version(package), "call": call})
        results = entry.setdefault("models", {})
        for name, model in models.items():
            results[name] = measure(model, SHAPES.get(name, SHAPE))
            print(f"{peer:10} {name:13} {json.dumps({k: v for k, v in results[name].items() if k != 'by_operator'})}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
