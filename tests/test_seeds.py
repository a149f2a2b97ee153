"""Every worked number of the source texts that the core covers (Géron's CNN chapter, the cs231n notes,
the lecture slides and the others docs/seeds.md names, catalogued there with file:line references).
Where a text is wrong, the test asserts the computed value."""

from __future__ import annotations

import pytest

from tests.conftest import analyze_yaml, diagnostics_of, row

MiB = 1024 * 1024
GiB = 1024 * MiB


# --- Geron, Hands-On ML ch. 13 (seed 000) -------------------------------------------------------

GERON_LAYER = """
    input: {channels: 3, height: 150, width: 100}
    layers:
      - conv: {filters: 200, kernel: 5, stride: 1, padding: same, name: conv}
"""


def test_geron_conv_layer_parameters_and_multiplications():
    rep = analyze_yaml(GERON_LAYER)
    conv = row(rep, "conv")
    assert conv.output_shape == (150, 100, 200)
    assert conv.params == (5 * 5 * 3 + 1) * 200 == 15_200
    assert conv.macs == 225_000_000  # "225 million float multiplications" (bias excluded)
    assert row(analyze_yaml(GERON_LAYER, count_bias=True), "conv").macs == 228_000_000


def test_geron_memory_per_instance_and_per_batch():
    conv = row(analyze_yaml(GERON_LAYER), "conv")
    per_instance = conv.activations * 4
    assert per_instance == 12_000_000  # 96 million bits
    assert round(per_instance / MiB, 1) == 11.4  # "about 11.4 MB" (1 MB = 1024 x 1024 bytes)
    assert 100 * per_instance > GiB  # "over 1 GB of RAM" at batch 100
    rep = analyze_yaml(GERON_LAYER, batch=100)
    assert rep.to_dict()["layers"][1]["activations"] * 4 == 1_200_000_000


def test_geron_fp16_halves_the_layer():
    rep = analyze_yaml(GERON_LAYER, dtype="float16")
    assert rep.memory.activations_bytes == 2 * (150 * 100 * 3 + 150 * 100 * 200)


def test_geron_same_padding_13_6_5_pads_one_before_two_after():
    spec = """
        input: {channels: 1, length: 13}
        layers:
          - conv: {filters: 1, kernel: 6, stride: 5, padding: same, name: same}
    """
    rep = analyze_yaml(spec)
    assert row(rep, "same").output_shape == (3, 1)
    codes = [d.code for d in diagnostics_of(spec)]
    assert codes == ["CNN302"]  # the asymmetric (1 before, 2 after) padding is pointed out
    valid = spec.replace("same, name: same", "valid, name: valid")
    assert row(analyze_yaml(valid, "pytorch"), "valid").output_shape == (2, 1)
    assert [d.code for d in diagnostics_of(valid)][0] == "CNN201"


def test_geron_pool_on_odd_input_drops_a_row():
    spec = "input: 5x5x1\nlayers:\n  - pool: {kernel: 2, stride: 2, name: p}\n"
    assert row(analyze_yaml(spec, "pytorch"), "p").output_shape == (2, 2, 1)
    assert diagnostics_of(spec)[0].code == "CNN201"


def test_geron_fully_connected_equivalent_has_675_million_weights():
    rep = analyze_yaml("input: {channels: 3, height: 150, width: 100}\nlayers:\n  - fc: {units: 15000, bias: false}\n")
    assert rep.totals.params == 675_000_000


# --- cs231n notes (seeds 002 and 003) ----------------------------------------------------------


def _conv_out(w: int, f: int, s: int, p: int, convention: str = "strict") -> tuple[int, ...]:
    spec = f"input: {w}x{w}x3\nlayers:\n  - conv: {{filters: 2, kernel: {f}, stride: {s}, padding: {p}, name: c}}\n"
    return row(analyze_yaml(spec, convention), "c").output_shape


@pytest.mark.parametrize(
    "w, f, s, p, out",
    [
        (7, 3, 1, 0, 5),  # 7x7 input, 3x3 filter, stride 1 -> 5x5
        (7, 3, 2, 0, 3),  # stride 2 -> 3x3
        (5, 3, 1, 1, 5),  # (5 - 3 + 2)/1 + 1 = 5
        (5, 3, 2, 1, 3),  # (5 - 3 + 2)/2 + 1 = 3
        (11, 5, 2, 0, 4),  # the numpy example: (11 - 5)/2 + 1 = 4
        (227, 11, 4, 0, 55),  # AlexNet conv1
        (32, 5, 1, 0, 28),  # slides example 5
        (32, 5, 1, 2, 32),  # slides example 6
        (5, 3, 1, 0, 3),  # slides example 1
        (7, 3, 3, 1, 3),  # slides: stride 3 with zero padding 1
    ],
)
def test_worked_output_sizes(w, f, s, p, out):
    assert _conv_out(w, f, s, p)[:2] == (out, out)


@pytest.mark.parametrize(
    "w, f, s, p, arithmetic, floor",
    [
        (10, 3, 2, 0, "(10 - 3 + 2*0)/2 + 1 = 4.5", 4),
        (5, 3, 3, 1, "(5 - 3 + 2*1)/3 + 1 = 2.33", 2),
        (7, 3, 3, 0, "(7 - 3 + 2*0)/3 + 1 = 2.33", 2),
        (224, 11, 4, 0, "(224 - 11 + 2*0)/4 + 1 = 54.25", 54),
    ],
)
def test_invalid_strides_are_errors_with_the_arithmetic(w, f, s, p, arithmetic, floor):
    spec = f"input: {w}x{w}x3\nlayers:\n  - conv: {{filters: 2, kernel: {f}, stride: {s}, padding: {p}}}\n"
    (error,) = [d for d in diagnostics_of(spec) if d.severity == "error"]
    assert error.code == "CNN201"
    assert arithmetic in error.message
    assert (error.loc.line, error.loc.col) == (3, 5)
    assert _conv_out(w, f, s, p, "pytorch")[0] == floor


def test_alexnet_on_224_suggests_227():
    spec = "input: 224x224x3\nlayers:\n  - conv: {filters: 96, kernel: 11, stride: 4}\n  - pool: {kernel: 3, stride: 2}\n"
    (error,) = [d for d in diagnostics_of(spec) if d.severity == "error"]
    # 223 gives 54, which pool1 cannot halve: below, 219 is the nearest input where every layer fits
    assert "a network input of 219x219x3 (conv1 then gives 53x53x96) or 227x227x3 (55x55x96)" in error.hint
    assert "padding 1 before and 2 after (output 55)" in error.hint  # the "3 extra pixels" only work asymmetrically


def test_alexnet_conv1_alone_on_224_offers_the_nearest_input_on_each_side():
    """cs231n's fix is 227 (the paper's 55x55); 223 is nearer. Both are offered, with what conv1 then gives."""
    spec = "input: 224x224x3\nlayers:\n  - conv: {filters: 96, kernel: 11, stride: 4, name: conv1}\n"
    (error,) = [d for d in diagnostics_of(spec) if d.severity == "error"]
    assert error.hint.startswith(
        "use a network input of 223x223x3 (conv1 then gives 54x54x96) or 227x227x3 (55x55x96), "
        "every layer then fits, or padding 1 before and 2 after (output 55), or stride 3 (output 72), "
        "or kernel 8 (output 55) or 12 (output 54); or --convention pytorch floors it to 54"), error.hint


def test_padding_stride_and_kernel_fixes_are_offered_in_both_directions_with_their_outputs():
    spec = "input: 12x12x3\nlayers:\n  - conv: {filters: 2, kernel: 3, stride: 2, padding: 1, name: c}\n"
    (error,) = [d for d in diagnostics_of(spec) if d.severity == "error"]
    # (12 - 3 + 2)/2 + 1 = 6.5
    assert "a network input of 11x11x3 (c then gives 6x6x2) or 13x13x3 (7x7x2)" in error.hint
    assert "padding 0 before and 1 after (output 6) or 1 before and 2 after (output 7)" in error.hint
    assert "stride 1 (output 12)" in error.hint
    assert "kernel 2 (output 7) or 4 (output 6)" in error.hint


def test_alexnet_conv1_and_pool1():
    rep = analyze_yaml(open("specs/alexnet.yaml").read())
    conv1, pool1 = row(rep, "conv1"), row(rep, "pool1")
    assert conv1.output_shape == (55, 55, 96)
    assert conv1.output_elements == 290_400
    assert conv1.params == 34_944 and conv1.params - 96 == 34_848
    assert conv1.macs == 290_400 * 363 == 105_415_200
    assert row(analyze_yaml(open("specs/alexnet.yaml").read(), count_bias=True), "conv1").macs == 105_705_600
    assert pool1.output_shape == (27, 27, 96)


def test_fc_as_conv_equivalence():
    as_conv = analyze_yaml("input: 7x7x512\nlayers:\n  - conv: {filters: 4096, kernel: 7, name: c}\n")
    as_fc = analyze_yaml("input: 7x7x512\nlayers:\n  - fc: {units: 4096, name: c}\n")
    assert row(as_conv, "c").output_shape == (1, 1, 4096)
    assert row(as_conv, "c").params == row(as_fc, "c").params == 102_764_544
    bigger = analyze_yaml("input: 12x12x512\nlayers:\n  - conv: {filters: 4096, kernel: 7, name: c}\n")
    assert row(bigger, "c").output_shape == (6, 6, 4096)  # (12 - 7)/1 + 1 = 6: 36 locations


def test_one_7x7_versus_three_3x3():
    c = 64
    one = analyze_yaml(f"input: 56x56x{c}\nlayers:\n  - conv: {{filters: {c}, kernel: 7, padding: 3, bias: false}}\n")
    three = analyze_yaml(
        f"input: 56x56x{c}\nlayers:\n  - repeat: {{times: 3, layers: [{{conv: {{filters: {c}, kernel: 3, padding: 1, bias: false}}}}]}}\n"
    )
    assert one.totals.params == 49 * c * c
    assert three.totals.params == 27 * c * c


def test_three_conv3_64_layers_hold_9_6_million_activations():
    rep = analyze_yaml(
        "input: 224x224x3\nlayers:\n  - repeat: {times: 3, layers: [{conv: {filters: 64, kernel: 3, padding: 1}}]}\n"
    )
    conv_activations = sum(r.activations for r in rep.rows if r.type == "conv")
    assert conv_activations == 9_633_792  # "about 10 million activations"
    # "72MB (activations and gradients)": the exact figure is 73.5 MiB; 72 comes from rounding 3.2M down to 3M
    assert conv_activations * 4 * 2 == 77_070_336
    assert round(conv_activations * 8 / MiB, 1) == 73.5


VGG16_ROWS = [  # (output, activations, weights without biases) — every row of the cs231n table
    ((224, 224, 3), 150_528, 0),
    ((224, 224, 64), 3_211_264, 1_728),
    ((224, 224, 64), 3_211_264, 36_864),
    ((112, 112, 64), 802_816, 0),
    ((112, 112, 128), 1_605_632, 73_728),
    ((112, 112, 128), 1_605_632, 147_456),
    ((56, 56, 128), 401_408, 0),
    ((56, 56, 256), 802_816, 294_912),
    ((56, 56, 256), 802_816, 589_824),
    ((56, 56, 256), 802_816, 589_824),
    ((28, 28, 256), 200_704, 0),
    ((28, 28, 512), 401_408, 1_179_648),
    ((28, 28, 512), 401_408, 2_359_296),
    ((28, 28, 512), 401_408, 2_359_296),
    ((14, 14, 512), 100_352, 0),
    ((14, 14, 512), 100_352, 2_359_296),
    ((14, 14, 512), 100_352, 2_359_296),
    ((14, 14, 512), 100_352, 2_359_296),
    ((7, 7, 512), 25_088, 0),
    ((4096,), 4_096, 102_760_448),
    ((4096,), 4_096, 16_777_216),
    ((1000,), 1_000, 4_096_000),
]


def test_vgg16_table_row_by_row():
    rep = analyze_yaml(open("specs/vgg16.yaml").read())
    counted = [r for r in rep.rows if not r.inplace]
    assert len(counted) == len(VGG16_ROWS)
    for r, (shape, activations, weights) in zip(counted, VGG16_ROWS):
        biases = r.output_shape[-1] if r.type in ("conv", "fc") else 0
        assert (r.output_shape, r.activations, r.params - biases) == (shape, activations, weights), r.name


def test_vgg16_totals_correct_the_tables_24M():
    rep = analyze_yaml(open("specs/vgg16.yaml").read())
    assert rep.totals.activations == 15_237_608  # the table's own rows; its "24M" total is a slip
    assert rep.memory.activations_bytes == 60_950_432
    assert round(rep.memory.activations_bytes / MiB, 1) == 58.1
    assert rep.totals.params == 138_357_544
    assert sum(r.params - (r.output_shape[-1] if r.type in ("conv", "fc") else 0) for r in rep.rows) == 138_344_128
    assert rep.totals.macs == 15_470_264_320
    assert rep.memory.params_bytes * 3 == 1_660_290_528  # "multiplied by a factor of at least 3"


# --- lecture slides (seed 004) ----------------------------------------------------------------

LENET_ROWS = {"C1": ((28, 28, 6), 156), "S2": ((14, 14, 6), 0), "C3": ((10, 10, 16), 2_416),
              "S4": ((5, 5, 16), 0), "C5": ((1, 1, 120), 48_120), "F6": ((84,), 10_164), "output": ((10,), 850)}


def test_lenet5_table():
    rep = analyze_yaml(open("specs/lenet5.yaml").read())
    for name, (shape, params) in LENET_ROWS.items():
        assert (row(rep, name).output_shape, row(rep, name).params) == (shape, params), name
    assert rep.totals.params == 61_706
    assert rep.totals.macs == 416_520
    assert analyze_yaml(open("specs/lenet5.yaml").read(), count_bias=True).totals.macs == 423_038


def test_slides_example_five_and_six_760_params():
    valid = analyze_yaml("input: 32x32x3\nlayers:\n  - conv: {filters: 10, kernel: 5, name: c}\n")
    padded = analyze_yaml("input: 32x32x3\nlayers:\n  - conv: {filters: 10, kernel: 5, padding: 2, name: c}\n")
    assert row(valid, "c").output_shape == (28, 28, 10) and row(valid, "c").params == 760
    assert row(padded, "c").output_shape == (32, 32, 10) and row(padded, "c").params == 760
    assert row(valid, "c").macs == 588_000
    assert row(analyze_yaml("input: 32x32x3\nlayers:\n  - conv: {filters: 10, kernel: 5, name: c}\n",
                            count_bias=True), "c").macs == 595_840  # the slides' MUL formula


def test_slides_one_by_one_conv_2080_params():
    rep = analyze_yaml("input: 56x56x64\nlayers:\n  - conv: {filters: 32, kernel: 1, name: c}\n")
    assert row(rep, "c").output_shape == (56, 56, 32)
    assert row(rep, "c").params == 2_080


def test_slides_example_three_and_two_filters_depth_three():
    rep = analyze_yaml("input: 5x5x3\nlayers:\n  - conv: {filters: 2, kernel: 3, stride: 2, padding: 1, name: c}\n")
    assert row(rep, "c").output_shape == (3, 3, 2) and row(rep, "c").params == 56
    assert row(rep, "c").macs == 486
    six = analyze_yaml("input: 6x6x3\nlayers:\n  - conv: {filters: 2, kernel: 3, name: c}\n")
    assert row(six, "c").output_shape == (4, 4, 2) and row(six, "c").macs == 864


def test_slides_pooling_halves_and_overlapping_pool():
    rep = analyze_yaml("input: 224x224x64\nlayers:\n  - pool: {kernel: 2, stride: 2, name: p}\n")
    assert row(rep, "p").output_shape == (112, 112, 64)
    overlap = analyze_yaml("input: 20x20x8\nlayers:\n  - pool: {kernel: 3, stride: 1, name: p}\n")
    assert row(overlap, "p").output_shape == (18, 18, 8)  # (N - 3)/1 + 1 = N - 2


def test_slides_vgg_variants():
    published = {"vgg11": 132_863_336, "vgg13": 133_047_848, "vgg16": 138_357_544, "vgg19": 143_667_240}
    for name, params in published.items():
        assert analyze_yaml(open(f"specs/{name}.yaml").read()).totals.params == params
