"""Receptive fields through any layer graph, per layer and per spatial axis.

For an output position y of a layer, its field is the interval of network-input pixels that can
change it: [start + y * jump, start + y * jump + size - 1] (Araujo, Norris and Sim, "Computing
Receptive Fields of Convolutional Neural Networks", Distill 2019). `jump` is the effective stride
(input pixels between neighbouring outputs), `start` where output 0's field begins (minus the
effective padding before the input); the padding after follows from the layer's output size.

A window (convolution, pooling) of effective size K' = D(K - 1) + 1, stride S and padding P
before maps (size, jump, start) to (size + (K' - 1) jump, S jump, start - P jump); every kind
declares its own mapping in that form (`LayerKind.field_steps`). Layers that
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

from cnncalc.records import dataclass
from fractions import Fraction

from cnncalc.analysis import Analysis, LayerResult
from cnncalc.layers.base import FieldStep, NoFieldRule

__all__ = ["AxisField", "LayerField", "Misalignment", "NoFieldRule", "fields", "last_map"]


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

    def apply(self, step: FieldStep) -> AxisField:
        """The field after a layer whose output y reads `step.taps` inputs from y step + offset on."""
        return AxisField(self.size + (step.taps - 1) * self.jump, self.jump * step.step,
                         self.start + step.offset * self.jump)


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
    """The kind's declared field steps (`LayerKind.field_steps`), one per axis."""
    node = result.node
    try:
        steps = node.kind.field_steps(node.params, result.inputs, result.inference)
    except NoFieldRule as why:
        raise NoFieldRule(f"{node.label}: {why}") from None
    if steps is None:
        return field.axes
    return tuple(a.apply(step) for a, step in zip(field.axes, steps))


def _positional(result: LayerResult, inputs: list[LayerField]) -> tuple[list[int], list[LayerField]]:
    """The inputs whose positions are the output's. A product's broadcast factor (a squeeze-and-
    excitation gate, 1x1xC or C) scales whole channels: the field follows the map it scales, the
    gate's global view left out, as receptive-field tools count SE blocks."""
    kept = [(i, f) for i, f, shape in zip(result.node.inputs, inputs, result.inputs)
            if shape.spatial == result.output.spatial] or list(zip(result.node.inputs, inputs))
    return [i for i, _ in kept], [f for _, f in kept]


def _merge(name: str, result: LayerResult, inputs: list[LayerField], analysis: Analysis) -> LayerField:
    sources, inputs = _positional(result, inputs)
    if len(inputs) == 1:
        (field,) = inputs
        return LayerField(name, field.axes, field.covers, periodic=field.periodic)
    names = [analysis.results[i].node.name for i in sources]
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
