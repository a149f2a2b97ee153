"""The torchvision classifiers of the zoo as ONNX files and as `import --torch` specs, made once per test
session in a subprocess (torchvision, the models and the exporter stay out of the pytest process):

    python tests/zoo_onnx.py OUT_DIR

writes OUT_DIR/<model>.onnx (torch.onnx.export, dynamo=False, do_constant_folding=False: that keeps
BatchNormalization nodes), OUT_DIR/<model>.torch.yaml (`cnncalc import --torch zoo_onnx:<model>`) and
OUT_DIR/params.json (torchvision's parameter counts). The factories below are what `--torch` names.

    python tests/zoo_onnx.py --modern OUT_DIR

does the same for the MODERN models (the ONNX files and params.json only; their checks are slow).

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

#: the newer torchvision models of the zoo, each the name of its shipped spec, with the input side the
#: spec states
MODERN = {"mobilenet_v3_small": 224, "mobilenet_v3_large": 224, "efficientnet_b0": 224, "efficientnet_v2_s": 384,
          "shufflenet_v2_x1_0": 224, "regnet_y_400mf": 224, "mnasnet1_0": 224, "resnext50_32x4d": 224,
          "wide_resnet50_2": 224, "vgg16_bn": 224, "convnext_tiny": 224, "inception_v3": 299}

#: exported in training mode, so that the graph has the aux head torchvision runs only in training (a
#: second output, a training-only side output of the spec, as specs/inception_v3.yaml's AuxLogits); at
#: batch 2, since a training batch norm of one 1x1 value per channel fails in PyTorch
TRAINING_EXPORT = {"inception_v3"}

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


for _name in (*ZOO, *MODERN):
    globals()[_name] = _factory(_name)


def main(out: Path, modern: bool = False) -> None:
    import warnings

    import torch

    from cnncalc.commands.import_ import import_

    warnings.simplefilter("ignore")
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in MODERN if modern else ZOO:
        model = randomised(name)
        counts[name] = sum(p.numel() for p in model.parameters())
        side = MODERN.get(name, 224)
        training = name in TRAINING_EXPORT
        mode = torch.onnx.TrainingMode.TRAINING if training else torch.onnx.TrainingMode.EVAL
        torch.onnx.export(model.train(training), (torch.randn(2 if training else 1, 3, side, side),),
                          str(out / f"{name}.onnx"), dynamo=False, do_constant_folding=False, training=mode)
        del model
        if not training:  # --torch exports in eval mode: a training export's aux head it has not
            import_(torch=f"zoo_onnx:{name}", input=f"{side}x{side}x3", output=out / f"{name}.torch.yaml")
    (out / "params.json").write_text(json.dumps(counts))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    modern = sys.argv[1] == "--modern"
    main(Path(sys.argv[-1]), modern)
