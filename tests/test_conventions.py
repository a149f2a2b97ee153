"""Every worked example of the frameworks' documented and source-code rules (PyTorch, TensorFlow/Keras,
ONNX, Caffe, Theano; docs/lint.md lists the sources): convolution and pooling output sizes, where the odd
'same' pixel goes, floor vs ceil pooling and its clip rules; and of the SAS Deep Learning documentation
quoted in the source texts (automatic padding: output = ceil(W/S)), run through the layer kinds under
each --convention."""

from __future__ import annotations

import pytest
import yaml

from cnncalc.conventions import CONVENTIONS, get
from cnncalc.pipeline import analyze_text
from cnncalc.window import resolve_padding

ERR = "error"


def _analyze(convention: str, layer: dict, size: int | tuple[int, ...]):
    sizes = (size,) if isinstance(size, int) else size
    axes = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}[len(sizes)]
    spec = {"input": {"channels": 4, **dict(zip(axes, sizes))}, "layers": [layer]}
    return analyze_text(yaml.safe_dump(spec), "example.yaml", convention)


def out(convention: str, layer: dict, size: int | tuple[int, ...]):
    """The output spatial size (an int for one axis), or ERR when the analysis reports an error."""
    analysis = _analyze(convention, layer, size)
    if not analysis.ok or not analysis.complete:
        return ERR
    spatial = analysis.results[-1].output.spatial
    return spatial[0] if len(spatial) == 1 else spatial


def conv(k, s=1, p=0, d=1):
    return {"conv": {"filters": 2, "kernel": k, "stride": s, "padding": p, "dilation": d}}


def pool(k, s=None, p=0, d=1, **extra):
    return {"pool": {"kernel": k, "stride": s if s is not None else k, "padding": p, "dilation": d, **extra}}


def pads(convention: str, word: str, w: int, k: int, s: int, d: int = 1, pooling: bool = False):
    (pair,) = resolve_padding(word, (w,), (k,), (s,), (d,), get(convention), "x", pooling=pooling)
    return pair


def test_every_documented_convention_exists():
    assert set(CONVENTIONS) == {"strict", "pytorch", "tensorflow", "keras", "onnx", "caffe", "sas"}


# §1.1 PyTorch Conv table: W, K, S, P, D -> out
@pytest.mark.parametrize(
    ("w", "k", "s", "p", "d", "expected"),
    [
        (224, 11, 4, 0, 1, 54),  # AlexNet conv1, paper numbers: silent floor of 54.25
        (224, 11, 4, 2, 1, 55),  # torchvision AlexNet conv1
        (227, 11, 4, 0, 1, 55),  # Caffe AlexNet conv1
        (224, 7, 2, 3, 1, 112),  # ResNet stem
        (6, 3, 2, 0, 1, 2),
        (6, 3, 2, 1, 1, 3),
        (32, 3, 1, 0, 2, 28),
        (32, 3, 1, 2, 2, 32),
        (15, 3, 2, 1, 3, 6),
        (10, 2, 3, 0, 1, 3),
        (2, 3, 1, 0, 1, ERR),  # kernel can't be greater than actual input size
        (2, 3, 1, 1, 1, 2),
        (100, 5, 3, 1, 1, 33),  # Conv1d(k5, s3, p1) on L=100
    ],
)
def test_pytorch_conv_table(w, k, s, p, d, expected):
    assert out("pytorch", conv(k, s, p, d), w) == expected


def test_pytorch_conv_multi_axis_examples():
    assert out("pytorch", conv(3, [1, 2, 2], 1), (16, 112, 112)) == (16, 56, 56)
    assert out("pytorch", conv([3, 5], [2, 1], [4, 2], [3, 1]), (50, 100)) == (26, 100)
    assert out("pytorch", conv(3, 1, "same"), (6, 6)) == (6, 6)
    assert out("pytorch", conv(3, 1, "valid"), (6, 6)) == (4, 4)
    assert out("pytorch", conv(5, 1, "same"), (2, 2)) == (2, 2)


@pytest.mark.parametrize(("k", "d", "expected"), [(4, 1, (1, 2)), (2, 1, (0, 1)), (4, 2, (3, 3)), (5, 2, (4, 4))])
def test_pytorch_same_puts_the_odd_pixel_after(k, d, expected):
    assert pads("pytorch", "same", 10, k, 1, d) == expected


def test_pytorch_same_refuses_strides():
    analysis = _analyze("pytorch", conv(3, 2, "same"), 6)
    assert [d.code for d in analysis.diagnostics] == ["CNN205"]


# §1.2 TensorFlow/Keras table: in, K, S, D, mode -> out, (before, after)
TF_CONV = [
    (6, 3, 2, 1, "same", 3, (0, 1)),
    (7, 3, 2, 1, "same", 4, (1, 1)),
    (224, 7, 2, 1, "same", 112, (2, 3)),
    (224, 11, 4, 1, "same", 56, (3, 4)),
    (224, 11, 4, 1, "valid", 54, (0, 0)),
    (6, 1, 4, 1, "same", 2, (0, 0)),  # negative padding clamps at 0
    (10, 3, 1, 2, "same", 10, (2, 2)),
    (2, 5, 1, 1, "valid", ERR, (0, 0)),  # TF: would be negative; Keras 3: zero or negative
]


@pytest.mark.parametrize("convention", ["tensorflow", "keras"])
@pytest.mark.parametrize(("w", "k", "s", "d", "mode", "expected", "split"), TF_CONV)
def test_tensorflow_and_keras_conv_table(convention, w, k, s, d, mode, expected, split):
    assert out(convention, conv(k, s, mode, d), w) == expected
    assert pads(convention, mode, w, k, s, d) == split


def test_keras_causal_pads_everything_before():
    assert pads("keras", "causal", 10, 3, 1, 2) == (4, 0)
    assert out("keras", conv(3, 1, "causal", 2), 10) == 10
    assert out("keras", conv(3, 2, "causal"), 9) == 5  # floor((in - 1)/S) + 1


# §1.3 ONNX: auto_pad SAME_UPPER / SAME_LOWER and explicit begin/end pads
@pytest.mark.parametrize(
    ("w", "k", "s", "upper", "lower", "expected"),
    [(6, 3, 2, (0, 1), (1, 0), 3), (224, 7, 2, (2, 3), (3, 2), 112), (5, 2, 1, (0, 1), (1, 0), 5)],
)
def test_onnx_same_upper_and_lower(w, k, s, upper, lower, expected):
    assert pads("onnx", "same_upper", w, k, s) == upper
    assert pads("onnx", "same_lower", w, k, s) == lower
    assert out("onnx", conv(k, s, "same_upper"), w) == expected
    assert out("onnx", conv(k, s, "same_lower"), w) == expected


def test_onnx_explicit_begin_end_pads():
    assert out("onnx", conv(4, 1, [1, 2]), 10) == 10


# §1.4 Caffe
def test_caffe_alexnet_conv1_224_vs_227():
    assert out("caffe", conv(11, 4, 0), 227) == 55
    assert out("caffe", conv(11, 4, 0), 224) == 54


# §7 cross-convention convolution vectors: W, K, S, P, D, PyTorch/Caffe, TF VALID (P=0),
# SAME_UPPER (out, before, after), SAME_LOWER (out, before, after). cnncalc reports every kernel larger
# than its padded input as an error, including where Caffe's C truncation would give 0 or 1.
CROSS_CONV = [
    (224, 11, 4, 0, 1, 54, 54, (56, 3, 4), (56, 4, 3)),
    (224, 11, 4, 2, 1, 55, None, (56, 3, 4), (56, 4, 3)),
    (227, 11, 4, 0, 1, 55, 55, (57, 4, 4), (57, 4, 4)),
    (224, 7, 2, 3, 1, 112, None, (112, 2, 3), (112, 3, 2)),
    (6, 3, 2, 0, 1, 2, 2, (3, 0, 1), (3, 1, 0)),
    (6, 3, 2, 1, 1, 3, None, (3, 0, 1), (3, 1, 0)),
    (15, 3, 2, 1, 3, 6, None, (8, 3, 3), (8, 3, 3)),
    (2, 3, 1, 0, 1, ERR, ERR, (2, 1, 1), (2, 1, 1)),
    (2, 3, 2, 0, 1, ERR, ERR, (1, 0, 1), (1, 1, 0)),
    (2, 5, 1, 0, 1, ERR, ERR, (2, 2, 2), (2, 2, 2)),
]


@pytest.mark.parametrize(("w", "k", "s", "p", "d", "floor", "valid", "upper", "lower"), CROSS_CONV)
def test_cross_convention_conv_vectors(w, k, s, p, d, floor, valid, upper, lower):
    for convention in ("pytorch", "caffe", "onnx", "tensorflow", "keras", "sas"):
        assert out(convention, conv(k, s, p, d), w) == floor, convention
    if valid is not None:
        assert out("tensorflow", conv(k, s, "valid", d), w) == valid
    assert (out("tensorflow", conv(k, s, "same", d), w), *pads("tensorflow", "same", w, k, s, d)) == upper
    assert (out("onnx", conv(k, s, "same_upper", d), w), *pads("onnx", "same_upper", w, k, s, d)) == upper
    assert (out("onnx", conv(k, s, "same_lower", d), w), *pads("onnx", "same_lower", w, k, s, d)) == lower


# §3.1 PyTorch pooling: W, K, S, P, D -> floor, ceil (after the clip rule)
@pytest.mark.parametrize(
    ("w", "k", "s", "p", "d", "floor", "ceil"),
    [
        (7, 3, 2, 0, 1, 3, 3),
        (8, 3, 2, 0, 1, 3, 4),
        (5, 2, 2, 1, 1, 3, 3),  # the 4th window would start at 6 >= W + P: clipped
        (3, 2, 2, 1, 1, 2, 2),
        (2, 3, 2, 1, 1, 1, 2),
        (112, 3, 2, 1, 1, 56, 57),  # ResNet maxpool
        (112, 3, 2, 0, 1, 55, 56),  # GoogLeNet maxpool1
        (14, 3, 2, 0, 1, 6, 7),
        (55, 3, 2, 0, 1, 27, 27),  # AlexNet pool1
        (10, 3, 1, 0, 2, 6, 6),  # dilated max pool
    ],
)
def test_pytorch_pool_table(w, k, s, p, d, floor, ceil):
    assert out("pytorch", pool(k, s, p, d), w) == floor
    assert out("pytorch", pool(k, s, p, d, ceil=False), w) == floor
    assert out("pytorch", pool(k, s, p, d, ceil=True), w) == ceil


def test_pytorch_pool_padding_limit_uses_the_undilated_kernel():
    assert out("pytorch", pool(3, 2, 2), 5) == ERR
    assert out("pytorch", pool(3, 1, 2, 2), 10) == ERR
    assert out("pytorch", pool(3, 1, 1, 2), 10) == 8


def test_pytorch_pools_take_no_padding_words():
    analysis = _analyze("pytorch", pool(3, 1, "same"), 10)
    assert [d.code for d in analysis.diagnostics] == ["CNN205"]


# §3.3 Caffe pooling: ceil by default, clipped only when padded, pad < kernel
@pytest.mark.parametrize(
    ("w", "k", "s", "p", "expected"),
    [
        (112, 3, 2, 0, 56),  # GoogLeNet pool1
        (55, 3, 2, 0, 27),  # AlexNet pool1
        (5, 2, 2, 1, 3),  # ceil(5/2) + 1 = 4, clipped because padded
        (6, 2, 3, 0, 3),  # unpadded: no clip (PyTorch ceil_mode gives 2)
        (7, 2, 4, 0, 3),
        (5, 3, 2, 2, 4),  # kernel/2 < pad < kernel is legal in Caffe
        (5, 3, 2, 3, ERR),  # pad must be below the kernel
    ],
)
def test_caffe_pool_examples(w, k, s, p, expected):
    assert out("caffe", pool(k, s, p), w) == expected


# §3.4 TensorFlow / Keras pooling: VALID and SAME (pads before/after)
@pytest.mark.parametrize(
    ("w", "k", "s", "valid", "same", "split"),
    [(7, 3, 2, 3, 4, (1, 1)), (8, 3, 2, 3, 4, (0, 1)), (5, 2, 2, 2, 3, (0, 1)), (112, 3, 2, 55, 56, (0, 1)),
     (224, 3, 2, 111, 112, (0, 1))],
)
@pytest.mark.parametrize("convention", ["tensorflow", "keras"])
def test_tensorflow_pool_examples(convention, w, k, s, valid, same, split):
    assert out(convention, pool(k, s, "valid"), w) == valid
    assert out(convention, pool(k, s, "same"), w) == same
    assert pads(convention, "same", w, k, s, pooling=True) == split


# §3.6 Theano pool_2d ignore_border (run under caffe, whose pad rule P < ws is Theano's)
@pytest.mark.parametrize(
    ("w", "k", "s", "true", "false"),
    [(5, 2, 2, 2, 3), (7, 3, 2, 3, 3), (8, 3, 2, 3, 4), (6, 2, 3, 2, 2), (2, 3, 3, ERR, 1)],
)
def test_theano_ignore_border(w, k, s, true, false):
    assert out("caffe", pool(k, s, ignore_border=True), w) == true
    assert out("caffe", pool(k, s, ignore_border=False), w) == false


def test_theano_ignore_border_false_refuses_padding_and_contradictions():
    assert out("caffe", pool(3, 2, 1, ignore_border=False), 9) == ERR
    assert out("caffe", pool(3, 2, 0, ignore_border=False, ceil=False), 9) == ERR
    assert out("caffe", pool(3, 2, 0, ignore_border=False, ceil=True), 8) == 4


# §7 cross-convention pooling vectors:
# W, K, S, P, PyTorch floor, PyTorch ceil, Caffe CEIL, Caffe FLOOR, ONNX ceil, TF VALID, TF SAME, Theano T, F
CROSS_POOL = [
    (7, 3, 2, 0, 3, 3, 3, 3, 3, 3, 4, 3, 3),
    (8, 3, 2, 0, 3, 4, 4, 3, 4, 3, 4, 3, 4),
    (5, 2, 2, 1, 3, 3, 3, 3, 3, None, None, 3, None),
    (112, 3, 2, 1, 56, 57, 57, 56, 57, None, None, 56, None),
    (112, 3, 2, 0, 55, 56, 56, 55, 56, 55, 56, 55, 56),
    (6, 2, 3, 0, 2, 2, 3, 2, 2, 2, 2, 2, 2),
    (7, 2, 4, 0, 2, 2, 3, 2, 2, 2, 2, 2, 2),
    (2, 3, 3, 0, ERR, 1, 1, ERR, 1, ERR, 1, ERR, 1),
    (5, 3, 2, 2, ERR, ERR, 4, 4, 4, None, None, 4, None),
]


@pytest.mark.parametrize(
    ("w", "k", "s", "p", "pt_floor", "pt_ceil", "caffe_ceil", "caffe_floor", "onnx_ceil", "tf_valid", "tf_same",
     "theano_true", "theano_false"),
    CROSS_POOL,
)
def test_cross_convention_pool_vectors(
    w, k, s, p, pt_floor, pt_ceil, caffe_ceil, caffe_floor, onnx_ceil, tf_valid, tf_same, theano_true, theano_false
):
    assert out("pytorch", pool(k, s, p), w) == pt_floor
    assert out("pytorch", pool(k, s, p, ceil=True), w) == pt_ceil
    assert out("caffe", pool(k, s, p), w) == caffe_ceil
    assert out("caffe", pool(k, s, p, ceil=False), w) == caffe_floor
    assert out("onnx", pool(k, s, p, ceil=True), w) == onnx_ceil
    if tf_valid is not None:
        assert out("tensorflow", pool(k, s, "valid"), w) == tf_valid
        assert out("tensorflow", pool(k, s, "same"), w) == tf_same
    assert out("caffe", pool(k, s, p, ignore_border=True), w) == theano_true
    if theano_false is not None:
        assert out("caffe", pool(k, s, p, ignore_border=False), w) == theano_false


# SAS Deep Learning (seed 003): omitted padding is automatic, output = ceil(W/S)
def sas_conv(k, s=1):
    return {"conv": {"filters": 2, "kernel": k, "stride": s}}


@pytest.mark.parametrize(
    ("w", "k", "s", "expected", "split"),
    [
        (7, 3, 1, 7, (1, 1)),  # [0, 2, 4, 6, 1, 5, 3, 2, 0] convolved with a 1x3 filter: 7 outputs
        (5, 2, 1, 5, (0, 1)),  # CPU: padLeft=0, padRight=1 -> [1, 2, 3, 4, 5, 0], 5 outputs
        (4, 2, 1, 4, (0, 1)),  # [1, 2, 3, 4, 0] -> 4 outputs
        (224, 3, 2, 112, (0, 1)),  # stride 2: one half of the input
        (9, 3, 3, 3, (0, 0)),  # stride 3: one third
        (7, 3, 2, 4, (1, 1)),  # ceil(7/2)
    ],
)
def test_sas_automatic_conv_padding(w, k, s, expected, split):
    assert out("sas", sas_conv(k, s), w) == expected
    assert pads("sas", "auto", w, k, s) == split


def test_sas_asymmetric_automatic_padding_warns_about_cudnn():
    analysis = _analyze("sas", sas_conv(2), 5)
    assert [d.code for d in analysis.diagnostics] == ["CNN302"]
    assert "0/1" in analysis.diagnostics[0].message


def test_sas_pooling_shrinks_the_last_windows():
    # Max{[2,4,6]} ... Max{[3,2]}, Max{[2]}: a 1x3 window, stride 1, over 7 values gives 7 outputs
    assert out("sas", {"pool": {"kernel": 3, "stride": 1}}, 7) == 7
    assert pads("sas", "auto", 7, 3, 1, pooling=True) == (0, 2)
    assert out("sas", {"pool": {"kernel": 2, "stride": 2}}, 7) == 4
    analysis = _analyze("sas", {"pool": {"kernel": 3, "stride": 1}}, 7)
    assert analysis.diagnostics == ()


def test_sas_given_padding_is_used_as_given():
    assert out("sas", conv(3, 1, 0), 7) == 5
    assert out("sas", conv(3, 1, 1), 7) == 7


@pytest.mark.parametrize(
    ("convention", "word"),
    [("pytorch", "same_upper"), ("tensorflow", "causal"), ("onnx", "same"), ("caffe", "same"), ("sas", "valid")],
)
def test_padding_words_outside_a_conventions_vocabulary_are_refused(convention, word):
    analysis = _analyze(convention, conv(3, 1, word), 9)
    assert [d.code for d in analysis.diagnostics] == ["CNN205"]
    assert convention in analysis.diagnostics[0].message


def test_strict_convention_still_requires_whole_sizes():
    assert out("strict", conv(3, 2, 0), 10) == ERR  # cs231n: (10 - 3 + 0)/2 + 1 = 4.5
    assert out("strict", conv(3, 2, 1), 5) == 3
