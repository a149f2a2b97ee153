"""The torchvision classifiers of the zoo as ONNX files and as `import --torch` specs, made once per test
session in a subprocess (torchvision, the models and the exporter stay out of the pytest process):

    python tests/zoo_onnx.py OUT_DIR

writes OUT_DIR/<model>.onnx (torch.onnx.export, dynamo=False, do_constant_folding=False: that keeps
BatchNormalization nodes), OUT_DIR/<model>.torch.yaml (`cnncalc import --torch zoo_onnx:<model>`) and
OUT_DIR/params.json (torchvision's parameter counts). The factories below are what `--torch` names.

Parameters and BN buffers are randomised first: the exporter shares identical initialisers (an
untrained model's BN ones and zeros) through Identity nodes, which the importer must see through.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

#: model -> the shipped spec whose numbers it must reproduce
ZOO = {"alexnet": "alexnet_torchvision", "vgg16": "vgg16", "resnet18": "resnet18", "resnet50": "resnet50",
       "googlenet": "googlenet", "mobilenet_v2": "mobilenet_v2", "squeezenet1_1": "squeezenet1_1",
       "densenet121": "densenet121"}


def _torchvision():
    # torchvision's meta registrations fail against this torch build; nothing here needs them
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import torchvision

    return torchvision


def randomised(name: str):
    """torchvision's model `name` (no weights, eval mode) with random parameters and BN buffers."""
    import torch

    torch.manual_seed(0)
    extra = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    model = getattr(_torchvision().models, name)(weights=None, **extra)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_()
        for buffer in model.buffers():
            if buffer.dtype.is_floating_point:
                buffer.uniform_(0.5, 1.5)
    return model.eval()


def _factory(name: str):
    def build():
        return randomised(name)

    build.__name__ = name
    return build


for _name in ZOO:
    globals()[_name] = _factory(_name)


def main(out: Path) -> None:
    import warnings

    import torch

    from cnncalc.commands.import_ import import_

    warnings.simplefilter("ignore")
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in ZOO:
        model = randomised(name)
        counts[name] = sum(p.numel() for p in model.parameters())
        torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), str(out / f"{name}.onnx"), dynamo=False,
                          do_constant_folding=False)
        del model
        import_(torch=f"zoo_onnx:{name}", output=out / f"{name}.torch.yaml")
    (out / "params.json").write_text(json.dumps(counts))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main(Path(sys.argv[1]))
