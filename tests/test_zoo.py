"""The shipped model zoo against outside truths: torchvision's published num_params and GFLOPS (the
weights' metadata, https://pytorch.org/vision/stable/models.html), PyTorch's own per-layer shapes
(networks built here in torch, torchvision not needed), and the worked numbers of the source texts
(docs/seeds.md)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
import torch
from torch import nn

from cnncalc import pipeline, report

SPECS = Path(__file__).resolve().parent.parent / "specs"


@lru_cache(maxsize=None)
def analysed(name: str, convention: str = "pytorch") -> dict:
    analysis = pipeline.analyze_file(str(SPECS / f"{name}.yaml"), convention)
    assert analysis.ok, [d.message for d in analysis.diagnostics if d.severity == "error"]
    return report.build(analysis, report.Options()).to_dict()


def scope_sum(data: dict, prefix: str, key: str) -> int:
    return sum(layer[key] for layer in data["layers"] if layer["name"].startswith(prefix + "/"))


# torchvision meta: (num_params, "GFLOPS" = conv + linear GMACs, 3 decimals)
TORCHVISION = {
    "alexnet_torchvision": (61_100_840, 0.714),
    "googlenet": (6_624_904, 1.498),
    "resnet18": (11_689_512, 1.814),
    "resnet34": (21_797_672, 3.664),
    "resnet50": (25_557_032, 4.089),
    "resnet101": (44_549_160, 7.801),
    "resnet152": (60_192_808, 11.514),
    "mobilenet_v2": (3_504_872, 0.301),
    "squeezenet1_0": (1_248_424, 0.819),
    "squeezenet1_1": (1_235_496, 0.349),
    "densenet121": (7_978_856, 2.834),
    "vgg11": (132_863_336, 7.609),
    "vgg13": (133_047_848, 11.308),
    "vgg16": (138_357_544, 15.47),
    "vgg19": (143_667_240, 19.632),
    "vgg16_bn": (138_365_992, 15.47),
    "resnext50_32x4d": (25_028_904, 4.23),
    "wide_resnet50_2": (68_883_240, 11.398),
    "mnasnet1_0": (4_383_312, 0.314),
    "efficientnet_b0": (5_288_548, 0.386),
    "efficientnet_v2_s": (21_458_488, 8.366),
    "mobilenet_v3_large": (5_483_032, 0.217),
    "mobilenet_v3_small": (2_542_856, 0.057),
    "shufflenet_v2_x1_0": (2_278_604, 0.145),
    "regnet_y_400mf": (4_344_144, 0.402),
    "convnext_tiny": (28_589_128, 4.456),
}


def test_inception_v3_counts_its_auxiliary_head():
    """torchvision's default build: 27,161,264 params with AuxLogits; GFLOPS 5.713 is the main path's."""
    data = analysed("inception_v3")
    assert data["totals"]["params"] == 27_161_264
    heads = {o["name"]: o for o in data["outputs"]}
    assert heads["AuxLogits"]["params"] == 3_326_696 and heads["AuxLogits"]["training_only"]
    main = sum(layer["macs"] for layer in data["layers"] if not layer.get("training_only"))
    assert round(main / 1e9, 3) == 5.713


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_params_equal_and_macs_match_torchvision(name):
    params, gmacs = TORCHVISION[name]
    totals = analysed(name)["totals"]
    assert totals["params"] == params
    assert abs(totals["macs"] / 1e9 - gmacs) <= max(0.005 * gmacs, 0.0005)  # 0.057 G is rounded to 3 decimals
    assert round(totals["macs"] / 1e9, 3) == pytest.approx(gmacs, abs=1e-9)


def test_mobilenet_v1_matches_the_paper_table():
    totals = analysed("mobilenet_v1")["totals"]
    # zoo_numbers.md §9: torch-style 4,231,976 params; exact 568,740,352 MACs (paper: 569M, 4.2M)
    assert totals["params"] == 4_231_976
    assert totals["macs"] == 568_740_352


def test_resnet_blocks_keep_resnet152_short():
    assert len((SPECS / "resnet152.yaml").read_text().splitlines()) < 80


# ---------------------------------------------------------------------------------------------
# per-layer shapes against PyTorch

TYPES = {nn.Conv2d: "conv", nn.BatchNorm2d: "batchnorm", nn.MaxPool2d: "pool", nn.AdaptiveAvgPool2d: "global_pool",
         nn.Linear: "fc"}


def torch_trace(model: nn.Module, size: int = 224) -> list[tuple[str, tuple[int, ...]]]:
    trace = []

    def hook(module, _inputs, output):
        shape = tuple(output.shape[1:])
        trace.append((TYPES[type(module)], (*shape[1:], shape[0]) if len(shape) == 3 else shape))

    handles = [m.register_forward_hook(hook) for m in model.modules() if type(m) in TYPES]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for handle in handles:
        handle.remove()
    return trace


def cnncalc_trace(data: dict) -> list[tuple[str, tuple[int, ...]]]:
    return [(layer["type"], tuple(layer["output_shape"])) for layer in data["layers"]
            if layer["type"] in TYPES.values()]


class Bottleneck(nn.Module):
    def __init__(self, c_in: int, width: int, stride: int):
        super().__init__()
        out = 4 * width
        self.conv1, self.bn1 = nn.Conv2d(c_in, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)
        self.conv3, self.bn3 = nn.Conv2d(width, out, 1, bias=False), nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or c_in != out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + (x if self.downsample is None else self.downsample(x)))


def torch_resnet50() -> nn.Module:
    layers, c = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)], 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            layers.append(Bottleneck(c, width, stride if i == 0 else 1))
            c = 4 * width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000))


def basic_conv(c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, padding, bias=False), nn.BatchNorm2d(c_out, eps=0.001),
                         nn.ReLU())


class Inception(nn.Module):
    def __init__(self, c_in, n1, r3, n3, r5, n5, pp):
        super().__init__()
        self.branch1 = basic_conv(c_in, n1, 1)
        self.branch2 = nn.Sequential(basic_conv(c_in, r3, 1), basic_conv(r3, n3, 3, padding=1))
        self.branch3 = nn.Sequential(basic_conv(c_in, r5, 1), basic_conv(r5, n5, 3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), basic_conv(c_in, pp, 1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


INCEPTIONS = {"3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64), "4a": (192, 96, 208, 16, 48, 64),
              "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
              "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128),
              "5b": (384, 192, 384, 48, 128, 128)}


def torch_googlenet() -> nn.Module:
    def inception(c_in, key):
        return Inception(c_in, *INCEPTIONS[key])

    return nn.Sequential(
        basic_conv(3, 64, 7, 2, 3), nn.MaxPool2d(3, 2, ceil_mode=True), basic_conv(64, 64, 1),
        basic_conv(64, 192, 3, padding=1), nn.MaxPool2d(3, 2, ceil_mode=True),
        inception(192, "3a"), inception(256, "3b"), nn.MaxPool2d(3, 2, ceil_mode=True),
        inception(480, "4a"), inception(512, "4b"), inception(512, "4c"), inception(512, "4d"), inception(528, "4e"),
        nn.MaxPool2d(2, 2, ceil_mode=True), inception(832, "5a"), inception(832, "5b"),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(1024, 1000),
    )


@pytest.mark.parametrize("name, build", [("resnet50", torch_resnet50), ("googlenet", torch_googlenet)])
def test_per_layer_shapes_and_params_equal_pytorch(name, build):
    model = build()
    data = analysed(name)
    theirs, ours = torch_trace(model), cnncalc_trace(data)
    assert len(ours) == len(theirs)
    for position, (mine, torch_row) in enumerate(zip(ours, theirs)):
        assert mine == torch_row, f"layer {position}"
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters())
    assert data["totals"]["non_trainable"] == sum(b.numel() for n, b in model.named_buffers() if "running" in n)


def test_googlenet_block_subtotals_match_torchvision_modules():
    # zoo_numbers.md §8.3: inception3a 155,872 ... inception5b 1,347,040; conv1 (BasicConv2d) 9,536
    data = analysed("googlenet")
    expected = {"conv1": 9_536, "conv2": 4_224, "conv3": 110_976, "inception3a": 155_872, "inception3b": 340_224,
                "inception4a": 364_512, "inception4b": 425_232, "inception4c": 486_192, "inception4d": 573_312,
                "inception4e": 803_840, "inception5a": 978_944, "inception5b": 1_347_040}
    assert {block: scope_sum(data, block, "params") for block in expected} == expected


# ---------------------------------------------------------------------------------------------
# the seeds


def weights(data: dict, prefix: str) -> int:
    """Parameters without biases (the GoogLeNet table counts weights only)."""
    total = 0
    for layer in data["layers"]:
        if layer["name"] == prefix or layer["name"].startswith(prefix + "/"):
            bias = layer["output_shape"][-1] if layer["type"] in ("conv", "fc") else 0
            total += layer["params"] - bias
    return total


def macs(data: dict, prefix: str) -> int:
    return sum(layer["macs"] for layer in data["layers"]
               if layer["name"] == prefix or layer["name"].startswith(prefix + "/"))


# seed 004's GoogLeNet table: row -> (output H x W x C, params in K = 1024 weights, ops in M = 10^6 MACs)
SEED_TABLE = {
    "conv1": ((112, 112, 64), 2.7, 34), "pool1": ((56, 56, 64), None, None),
    "conv2": ((56, 56, 192), 112, 360), "pool2": ((28, 28, 192), None, None),
    "inception3a": ((28, 28, 256), 159, 128), "inception3b": ((28, 28, 480), 380, 304),
    "pool3": ((14, 14, 480), None, None),
    "inception4a": ((14, 14, 512), 364, 73), "inception4b": ((14, 14, 512), 437, 88),
    "inception4c": ((14, 14, 512), 463, 100), "inception4d": ((14, 14, 528), 580, 119),
    "inception4e": ((14, 14, 832), 840, 170), "pool4": ((7, 7, 832), None, None),
    "inception5a": ((7, 7, 832), 1072, 54), "inception5b": ((7, 7, 1024), 1388, 71),
    "avgpool": ((1, 1, 1024), None, None), "dropout": ((1, 1, 1024), None, None), "linear": ((1000,), 1000, 1),
}
#: the table's slips (its rows disagree with its own filter counts): what cnncalc computes instead.
SEED_SLIPS = {
    "conv1": (9_408, 118_013_952),  # stated 2.7K / 34M
    "inception4a": (375_552, None),  # stated 364K (366.75K)
    "inception4c": (509_440, None),  # stated 463K (497.5K; its own 100M ops imply ~497K)
    "inception4d": (604_672, None),  # stated 580K (590.5K)
    "inception4e": (867_328, None),  # stated 840K (847K)
    "inception5a": (1_042_432, 51_079_168),  # stated 1072K / 54M
    "inception5b": (1_442_816, None),  # stated 1388K (1409K)
}


def block_output(data: dict, row: str) -> tuple[int, ...]:
    layers = [layer for layer in data["layers"] if layer["name"] == row or layer["name"].startswith(row + "/")]
    return tuple(layers[-1]["output_shape"])


@pytest.mark.parametrize("row", list(SEED_TABLE))
def test_the_seed_googlenet_table_row_by_row(row):
    data = analysed("googlenet_paper")
    shape, params_k, ops_m = SEED_TABLE[row]
    assert block_output(data, row) == shape
    if params_k is None:
        assert weights(data, row) == 0 and macs(data, row) == 0
        return
    slip_weights, slip_macs = SEED_SLIPS.get(row, (None, None))
    if slip_weights is None:
        assert abs(weights(data, row) / 1024 - params_k) <= 1.0
    else:
        assert weights(data, row) == slip_weights
        assert abs(slip_weights / 1024 - params_k) > 1.0
    if slip_macs is None:
        assert abs(macs(data, row) / 1e6 - ops_m) < 1.0  # the column truncates some rows (4a: 73.6M -> 73M)
    else:
        assert macs(data, row) == slip_macs
        assert abs(slip_macs / 1e6 - ops_m) > 1.0


def test_paper_googlenet_totals():
    totals = analysed("googlenet_paper")["totals"]
    assert (totals["params"], totals["macs"]) == (6_998_552, 1_582_671_872)


def test_inception_bottleneck_120m_vs_12_4m():
    data = analysed("inception_module", "strict")
    assert scope_sum(data, "branch1/naive", "params") == 153_600
    assert scope_sum(data, "branch2/reduced", "params") == 15_872
    assert scope_sum(data, "branch1/naive", "macs") == 120_422_400  # "120M"
    assert scope_sum(data, "branch2/reduced", "macs") == 12_443_648  # "12.4M"


def test_depthwise_separable_72_vs_26_and_1152_vs_416():
    data = analysed("depthwise_separable", "strict")
    assert scope_sum(data, "branch1/regular", "params") == 72
    assert scope_sum(data, "branch2/separable", "params") == 26
    assert scope_sum(data, "branch1/regular", "macs") == 1_152
    assert scope_sum(data, "branch2/separable", "macs") == 416
    assert block_output(data, "branch1/regular") == block_output(data, "branch2/separable") == (4, 4, 4)


def test_text_cnn_dimensions_of_the_seed_post():
    data = analysed("text_cnn", "strict")
    by_name = {layer["name"]: layer for layer in data["layers"]}
    assert by_name["input"]["output_shape"] == [7, 5]  # 7 words x 5-d vectors
    lengths = [by_name[f"branch{i}/region{h}/conv1d1"]["output_shape"] for i, h in ((1, 2), (2, 3), (3, 4))]
    assert lengths == [[6, 2], [5, 2], [4, 2]]  # (s - h + 1) x 2 maps per region size
    assert by_name["concat1"]["output_shape"] == [1, 6]  # the 6-element 1-max feature vector
    assert by_name["fc1"]["output_shape"] == [2]
    assert data["totals"]["params"] == 110  # 96 conv + 14 softmax (word vectors excluded)


def test_text_cnn_kim2014_parameters():
    data = analysed("text_cnn_kim2014", "strict")
    conv = sum(layer["params"] for layer in data["layers"] if layer["type"] == "conv1d")
    assert conv == 360_300
    assert data["totals"]["params"] == 360_300 + 602


def test_unet_decoder_restores_the_input_size_and_counts_transposed_macs_per_input():
    data = analysed("unet_small", "strict")
    by_name = {layer["name"]: layer for layer in data["layers"]}
    assert by_name["head"]["output_shape"] == [64, 64, 2]
    assert by_name["concat1"]["output_shape"] == [64, 64, 16 + 16]  # the skip connection and the way back up
    up1 = next(layer for layer in data["layers"] if layer["name"].endswith("up1"))
    assert up1["output_shape"] == [64, 64, 16]
    assert up1["macs"] == 32 * 16 * 2 * 2 * 32 * 32  # C_in * C_out * K * K * input positions
