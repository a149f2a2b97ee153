"""Layers that map each element on its own: activation functions and dropout.

In the textbook memory model they work in place (the cs231n VGG table has no rows for them).
"""

from __future__ import annotations

from cnncalc.layers.base import Context, Inference, LayerKind, Param, fraction, register


class Elementwise(LayerKind):
    inplace = True

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        return Inference(output=x)


@register
class Relu(Elementwise):
    name = "relu"
    summary = "max(0, x)"


@register
class Sigmoid(Elementwise):
    name = "sigmoid"
    summary = "1 / (1 + exp(-x))"


@register
class Tanh(Elementwise):
    name = "tanh"
    summary = "hyperbolic tangent"


@register
class Softmax(Elementwise):
    name = "softmax"
    summary = "normalised exponentials over the channels"


@register
class Dropout(Elementwise):
    name = "dropout"
    shorthand = "rate"
    summary = "zeroes a fraction of activations while training; identity at inference"
    params = (Param("rate", fraction, 0.5, "fraction of activations dropped"),)


@register
class Relu6(Elementwise):
    name = "relu6"
    summary = "min(max(0, x), 6) (MobileNet)"
