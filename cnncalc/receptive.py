"""Receptive fields through any layer graph, per layer and per spatial axis.

For an output position y of a layer, its field is the interval of network-input pixels that can
change it: [start + y * jump, start + y * jump + size - 1] (Araujo, Norris and Sim, "Computing
Receptive Fields of Convolutional Neural Networks", Distill 2019). `jump` is the effective stride
(input pixels between neighbouring outputs), `start` where output 0's field begins (minus the
effective padding before the input); the padding after follows from the layer's output size.

A window (convolution, pooling) of effective size K' = D(K - 1) + 1, stride S and padding P
before maps (size, jump, start) to (size + (K' - 1) jump, S jump, start - P jump). Layers that
upsample (transposed convolutions, `upsample`) have fractional jumps: their outputs read
ceil(K'/S) inputs at most (a transposed convolution), one (nearest) or two (linear): `size` is the
largest field over the outputs, `start` the envelope's, exact for every output position that reads
the most inputs. `adaptive_pool` has the jump W/n and the
size of its largest bin. A global pool, `flatten` or `fc` on a map makes the field of every position the
union of all the input's fields (`covers`). Where branches meet (`add`, `concat`) the field is the
union of theirs; branches whose jumps or centres differ are `misaligned` and the offset in pixels
is reported, except where a branch went through an upsampling layer (its field is periodic:
neighbouring outputs share input pixels, as in every U-Net's skip connections). Everything is exact rational arithmetic (fractions.Fraction)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import ceil, gcd

from cnncalc.analysis import Analysis, LayerResult


@dataclass(frozen=True, slots=True)
class AxisField:
    """The field of one spatial axis: `size` pixels, `jump` between outputs, output 0 from `start`."""

    size: Fraction
    jump: Fraction
    start: Fraction

    @property
    def padding_before(self) -> Fraction:
        return -self.start

    def centre(self, position: int = 0) -> Fraction:
        return self.start + position * self.jump + (self.size - 1) / 2

    def end(self, outputs: int) -> Fraction:
        """The last input pixel the last of `outputs` positions reads."""
        return self.start + (outputs - 1) * self.jump + self.size - 1

    def window(self, kernel: int, stride: int, before: int) -> AxisField:
        return AxisField(self.size + (kernel - 1) * self.jump, self.jump * stride, self.start - before * self.jump)

    def spread(self, taps: int, factor: Fraction, first: Fraction) -> AxisField:
        """An upsampling layer: output y reads `taps` inputs from (y + first) / factor on."""
        return AxisField(self.size + (taps - 1) * self.jump, self.jump / factor, self.start + first / factor * self.jump)


@dataclass(frozen=True, slots=True)
class Misalignment:
    layer: str
    #: per input branch: (name of the node it comes from, jump, centre of output 0) on the worst axis
    branches: tuple[tuple[str, Fraction, Fraction], ...]
    axis: int

    @property
    def offset(self) -> Fraction:
        centres = [centre for _, _, centre in self.branches]
        return max(centres) - min(centres)

    @property
    def strides_differ(self) -> bool:
        return len({jump for _, jump, _ in self.branches}) > 1


@dataclass(frozen=True, slots=True)
class LayerField:
    """A layer's output field: per axis for a map; for a vector, the input pixels it `covers`."""

    name: str
    axes: tuple[AxisField, ...] = ()
    #: per axis, the first and last input pixel any output reads (maps and vectors alike)
    covers: tuple[tuple[Fraction, Fraction], ...] = ()
    misalignment: Misalignment | None = None
    #: the field went through an upsampling layer: neighbouring outputs share input pixels, so
    #: its `start` and centres are the envelope's, and it is not checked for alignment
    periodic: bool = False

    @property
    def spatial(self) -> bool:
        return bool(self.axes)

    def padding_after(self, outputs: tuple[int, ...], input_sizes: tuple[int, ...]) -> tuple[Fraction, ...]:
        return tuple(a.end(n) - (w - 1) for a, n, w in zip(self.axes, outputs, input_sizes))

    def to_dict(self, outputs: tuple[int, ...], input_sizes: tuple[int, ...]) -> dict:
        data: dict = {"layer": self.name}
        if self.axes:
            data["size"] = [_number(a.size) for a in self.axes]
            data["jump"] = [_number(a.jump) for a in self.axes]
            data["padding_before"] = [_number(a.padding_before) for a in self.axes]
            data["padding_after"] = [_number(p) for p in self.padding_after(outputs, input_sizes)]
            data["centre"] = [_number(a.centre()) for a in self.axes]
        data["covers"] = [[_number(lo), _number(hi)] for lo, hi in self.covers]
        if self.misalignment is not None:
            data["misaligned"] = {"axis": self.misalignment.axis, "offset": _number(self.misalignment.offset),
                                  "strides_differ": self.misalignment.strides_differ}
        return data


def _number(value: Fraction) -> int | float | str:
    """Whole numbers as ints, halves and quarters as floats, other fractions as "p/q"."""
    if value.denominator == 1:
        return int(value)
    if value.denominator in (2, 4, 8):
        return float(value)
    return f"{value.numerator}/{value.denominator}"


class NoFieldRule(ValueError):
    """A layer kind that changes the spatial size in a way this module has no rule for."""


def fields(analysis: Analysis) -> tuple[LayerField, ...]:
    """The field of every analysed layer, in graph order (the input's is one pixel)."""
    results = analysis.results
    first = results[0].output
    origin = LayerField(results[0].node.name, tuple(AxisField(Fraction(1), Fraction(1), Fraction(0))
                                                    for _ in first.spatial),
                        tuple((Fraction(0), Fraction(0)) for _ in first.spatial))
    found: list[LayerField] = [origin]
    for result in results[1:]:
        found.append(_through(result, [found[i] for i in result.node.inputs], analysis))
    return tuple(found)


def _through(result: LayerResult, inputs: list[LayerField], analysis: Analysis) -> LayerField:
    name = result.node.name
    if len(inputs) > 1:
        return _merge(name, result, inputs, analysis)
    (field,) = inputs
    if not field.spatial:
        return LayerField(name, (), field.covers, periodic=field.periodic)
    if result.output.is_vector:
        return LayerField(name, (), _covered(field, result.inputs[0].spatial), periodic=field.periodic)
    axes = _transform(result, field, analysis)
    periodic = field.periodic or any(a.jump < b.jump for a, b in zip(axes, field.axes))
    return LayerField(name, axes, tuple((a.start, a.end(n)) for a, n in zip(axes, result.output.spatial)),
                      periodic=periodic)


def _covered(field: LayerField, sizes: tuple[int, ...]) -> tuple[tuple[Fraction, Fraction], ...]:
    return tuple((a.start, a.end(n)) for a, n in zip(field.axes, sizes))


def _transform(result: LayerResult, field: LayerField, analysis: Analysis) -> tuple[AxisField, ...]:
    """The kind's geometry applied to each axis (the kinds' resolved values, as shape inference uses them)."""
    node, x = result.node, result.inputs[0]
    kind = node.kind
    name = kind.name
    if name in ("conv", "conv1d", "conv2d", "conv3d", "depthwise"):
        kernel, stride, dilation, pads = kind._geometry(node.params, x, analysis.convention)
        return tuple(a.window(d * (k - 1) + 1, s, p[0])
                     for a, k, s, d, p in zip(field.axes, kernel, stride, dilation, pads))
    if name == "pool":
        kernel, stride, dilation, pads = kind._geometry(node.params, x, analysis.convention)[:4]
        return tuple(a.window(d * (k - 1) + 1, s, p[0])
                     for a, k, s, d, p in zip(field.axes, kernel, stride, dilation, pads))
    if name == "global_pool":
        return tuple(a.window(w, 1, 0) for a, w in zip(field.axes, x.spatial))
    if name == "conv_transpose":
        kernel, stride, pad, _, dilation = kind._geometry(node.params, x)
        return tuple(a.spread(ceil((d * (k - 1) + 1) / s), Fraction(s), Fraction(p - d * (k - 1)))
                     for a, k, s, p, d in zip(field.axes, kernel, stride, pad, dilation))
    if name == "upsample":
        return _upsampled(result, field)
    if name == "adaptive_pool":
        return tuple(_adaptive(a, w, n) for a, w, n in zip(field.axes, x.spatial, result.output.spatial))
    if result.output.spatial == x.spatial:
        return field.axes
    raise NoFieldRule(f"{node.label}: no receptive-field rule for a {name} that resizes {x} -> {result.output}")


def _upsampled(result: LayerResult, field: LayerField) -> tuple[AxisField, ...]:
    """Nearest reads input floor(y / f); linear modes blend the two inputs around (y + 1/2)/f - 1/2."""
    x, out = result.inputs[0], result.output
    axes = []
    for a, w, n in zip(field.axes, x.spatial, out.spatial):
        factor = Fraction(n, w)
        if result.node.params["mode"] == "nearest":
            axes.append(a.spread(1, factor, 1 - factor))
        else:
            axes.append(a.spread(2, factor, Fraction(1, 2) - factor * Fraction(3, 2)))
    return tuple(axes)


def _adaptive(field: AxisField, width: int, outputs: int) -> AxisField:
    """PyTorch's bins: output i pools input [floor(i W / n), ceil((i + 1) W / n)); the jump is W/n,
    the size that of the largest bin, the start output 0's."""
    if outputs == width:
        return field
    period = outputs // gcd(width, outputs)
    largest = max(-(-(i + 1) * width // outputs) - i * width // outputs for i in range(min(period, outputs)))
    return AxisField(field.size + (largest - 1) * field.jump, field.jump * Fraction(width, outputs), field.start)


def _merge(name: str, result: LayerResult, inputs: list[LayerField], analysis: Analysis) -> LayerField:
    names = [analysis.results[i].node.name for i in result.node.inputs]
    periodic = any(f.periodic for f in inputs)
    if not all(f.spatial for f in inputs):
        covers = tuple((min(c[axis][0] for c in (f.covers for f in inputs)),
                        max(c[axis][1] for c in (f.covers for f in inputs)))
                       for axis in range(len(inputs[0].covers)))
        return LayerField(name, (), covers, periodic=periodic)
    axes, worst = [], None
    for axis in range(len(inputs[0].axes)):
        parts = [f.axes[axis] for f in inputs]
        start = min(p.start for p in parts)
        size = max(p.start + p.size for p in parts) - start
        jump = max(p.jump for p in parts)
        axes.append(AxisField(size, jump, start))
        branches = tuple((n, p.jump, p.centre()) for n, p in zip(names, parts))
        candidate = Misalignment(name, branches, axis)
        misaligned = not periodic and (candidate.offset or candidate.strides_differ)
        if misaligned and (worst is None or candidate.offset > worst.offset):
            worst = candidate
    outputs = result.output.spatial
    return LayerField(name, tuple(axes), tuple((a.start, a.end(n)) for a, n in zip(axes, outputs)), worst, periodic)


def last_map(analysis: Analysis, found: tuple[LayerField, ...]) -> int | None:
    """The index of the last layer whose output is a map, where the network becomes a vector after it."""
    maps = [i for i, f in enumerate(found) if f.spatial]
    if not maps or found[-1].spatial:
        return None
    return maps[-1]
