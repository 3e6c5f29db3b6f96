"""The explainer: a run's model checked against its recorded architecture, and the
arithmetic of its layers (see the package docstring)."""

from __future__ import annotations

import math

import numpy as np

from cnn.architectures import OUTPUT_LAYER, ArchSpec, model_layers
from cnn.errors import ExplainError
from cnn.explain.results import (
    INPUT,
    AddArithmetic,
    BatchNormStep,
    Box,
    ConvArithmetic,
    Forward,
    MapColumn,
    MapLayer,
    Network,
    PoolArithmetic,
    VectorColumn,
)
from cnn.i18n import tr
from cnn.layer_shapes import same_padding

MAP_KINDS = ("conv", "pool", "add")  # layers with feature maps to explain
VECTOR_KINDS = ("global_avg", "flatten", "dense")  # layers whose output is one list of numbers
SQRT2 = math.sqrt(2.0)


def activate(name: str, x: float) -> float:
    """A Keras activation function of one number, written out (Keras' own definitions)."""
    if name == "relu":
        return max(x, 0.0)
    if name == "elu":
        return x if x > 0 else math.expm1(x)
    if name == "gelu":
        return 0.5 * x * (1.0 + math.erf(x / SQRT2))
    if name == "tanh":
        return math.tanh(x)
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-x))
    if name == "linear":
        return x
    raise ExplainError(
        tr("The activation {name} cannot be written out here.").format(name=repr(name))
    )


def _activation_name(layer) -> str:
    activation = getattr(layer, "activation", None)
    return "linear" if activation is None else activation.__name__


def _window(values: np.ndarray, top: int, left: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A k x k window of an (h, w, ...) array at (top, left): zeros outside, and where it lies."""
    h, w = values.shape[:2]
    window = np.zeros((k, k, *values.shape[2:]), values.dtype)
    inside = np.zeros((k, k), bool)
    rows = slice(max(top, 0), min(top + k, h))
    cols = slice(max(left, 0), min(left + k, w))
    at_rows = slice(rows.start - top, rows.stop - top)
    at_cols = slice(cols.start - left, cols.stop - left)
    window[at_rows, at_cols] = values[rows, cols]
    inside[at_rows, at_cols] = True
    return window, inside


def _span_below(span: tuple[int, int], kernel: int, stride: int, pad: int, size: int):
    """The positions of a window layer's input (of `size`) that positions span[0]..span[1]
    of its output read, without the padding."""
    first, last = span[0] * stride - pad, span[1] * stride - pad + kernel - 1
    return max(first, 0), min(last, size - 1)


def _keras_geometry(layer) -> tuple[int, int, str]:
    """(kernel, stride, padding) of a Keras conv or pooling layer with square windows."""
    size = getattr(layer, "kernel_size", None) or layer.pool_size
    return int(size[0]), int(layer.strides[0]), layer.padding


class Explainer:
    """A run's model with its recorded architecture, checked against each other.

    Args:
        model: the run's Keras model (as `build` made it from `spec`).
        spec: the run's ArchSpec.
        inspector: the model's `cnn.inspect.Inspector` (one is made when None).

    Raises:
        ExplainError: the model and the spec disagree (a layer, shape or window).
    """

    def __init__(self, model, spec: ArchSpec, inspector=None) -> None:
        from cnn.inspect import Inspector

        self.model = model
        self.inspector = inspector or Inspector(model, jit_compile=False)
        self.input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
        num_classes = int(model.outputs[0].shape[-1])
        self.shapes = spec.shapes(self.input_shape, num_classes)
        self._by_name = {s.name: s for s in self.shapes}
        self._check_against_model()
        self._reads = {
            s.name: s.reads(p) for p, s in zip(self.shapes, self.shapes[1:], strict=False)
        }
        self.map_layers = [
            MapLayer(name, kind, shown_by, self._reads[name], self._by_name[name])
            for name, kind, shown_by in self.inspector.feature_map_layers
        ]

    @classmethod
    def for_run(cls, run, inspector=None) -> Explainer:
        """The explainer of a loaded `cnn.artifacts.Run`."""
        if run.record.spec is None:
            raise ExplainError(
                tr(
                    "This run's record has no architecture description, so its layers cannot "
                    "be explained."
                )
            )
        return cls(run.model, run.record.spec, inspector)

    def __repr__(self) -> str:
        maps = ", ".join(layer.name for layer in self.map_layers)
        return f"Explainer(model={self.model.name!r}, input={self.input_shape}, maps=[{maps}])"

    def _check_against_model(self) -> None:
        """The spec's layers are the model's: names, output shapes, windows, parameters."""
        layers = model_layers(self.model)
        recorded = self.shapes[1:]
        if [layer.name for layer in layers] != [s.name for s in recorded]:
            raise ExplainError(
                tr(
                    "This run's model does not match its recorded architecture, so its "
                    "arithmetic cannot be shown."
                )
            )
        for layer, shape, before in zip(layers, recorded, self.shapes, strict=False):
            keras_shape = tuple(int(d) for d in layer.output.shape[1:])
            same = keras_shape == shape.shape and layer.count_params() == shape.params
            if same and shape.kind in ("conv", "pool"):
                kernel, stride, padding = _keras_geometry(layer)
                h, w = self._by_name[shape.reads(before)].shape[:2]
                pad = (0, 0)
                if padding == "same":
                    pad = (same_padding(h, kernel, stride), same_padding(w, kernel, stride))
                same = (kernel, stride, pad) == (shape.kernel, shape.stride, shape.pad)
            if not same:
                raise ExplainError(
                    tr(
                        "Layer {name} of this run's model does not match its recorded "
                        "architecture, so its arithmetic cannot be shown."
                    ).format(name=layer.name)
                )

    def map_layer(self, name: str) -> MapLayer:
        """The conv or pooling layer called `name`, or a sentence naming the choices."""
        for layer in self.map_layers:
            if layer.name == name:
                return layer
        names = ", ".join(layer.name for layer in self.map_layers) or tr("none")
        raise ExplainError(
            tr("Layer {name} has no feature map to explain: choose one of {names}.").format(
                name=repr(name), names=names
            )
        )

    def source_map(self, name: str) -> MapLayer | None:
        """The conv/pool layer whose feature map layer `name` reads (dropout layers between
        them pass it on unchanged), or None when it reads the input image."""
        shapes = [s.name for s in self.shapes]
        index = shapes.index(self.map_layer(name).input_layer)
        while self.shapes[index].kind == "dropout":
            index -= 1
        return next((m for m in self.map_layers if m.shown_by == shapes[index]), None)

    def table(self) -> list[dict]:
        """One row per layer: output shape, receptive field, jump, parameters, multiply-adds."""
        rows = []
        for shape in self.shapes:
            whole = shape.kind in VECTOR_KINDS
            rows.append(
                {
                    "layer": shape.name,
                    "type": shape.keras_type,
                    "output shape": " x ".join(str(d) for d in shape.shape),
                    "receptive field": "whole image" if whole else f"{shape.rf} x {shape.rf}",
                    "jump": None if whole else shape.jump,
                    "parameters": shape.params,
                    "multiply-adds": shape.macs,
                }
            )
        return rows

    def receptive_field(self, name: str, y: int, x: int) -> Box:
        """The input pixels position (y, x) of layer `name`'s map depends on, clipped.

        Exactly, through every earlier stride, padding and pooling: the span of positions is
        walked back one layer at a time (rows a..b of a window layer read rows a * stride - pad
        to b * stride - pad + kernel - 1 of its input) and cut to that input's size at each
        step, since padding and the edges a pooling drops are no pixels of the image.
        """
        layer = self.map_layer(name)
        self._check_position(layer, 0, y, x)
        rows, cols = (y, y), (x, x)
        shape = layer.geometry
        # back along what each layer reads: an add's main path holds its shortcut's field
        while shape.name != INPUT:
            before = self._by_name[self._reads[shape.name]]
            if shape.kind in ("conv", "pool"):
                h, w = before.shape[:2]
                rows = _span_below(rows, shape.kernel, shape.stride, shape.pad[0], h)
                cols = _span_below(cols, shape.kernel, shape.stride, shape.pad[1], w)
            shape = before
        return Box(rows[0], cols[0], rows[1], cols[1])

    def forward(self, image: np.ndarray) -> Forward:
        """Every layer's output for one model input, in one compiled pass."""
        image = np.asarray(image, np.float32)
        return Forward(image, self.inspector.layer_outputs(image))

    def _check_position(self, layer: MapLayer, channel: int, y: int, x: int) -> None:
        h, w, channels = layer.shape
        if not 0 <= channel < channels:
            raise ExplainError(
                tr("Layer {name} has {channels} channels: the channel must be 0 to {last}.").format(
                    name=layer.name, channels=channels, last=channels - 1
                )
            )
        if not (0 <= y < h and 0 <= x < w):
            raise ExplainError(
                tr(
                    "Layer {name}'s map is {h} x {w}: the position must have y from 0 to "
                    "{last_y} and x from 0 to {last_x}."
                ).format(name=layer.name, h=h, w=w, last_y=h - 1, last_x=w - 1)
            )

    def position(
        self, forward: Forward, name: str, channel: int, y: int, x: int
    ) -> ConvArithmetic | PoolArithmetic:
        """The arithmetic of the value at (y, x) of channel `channel` of layer `name`.

        Raises:
            ExplainError: an unknown layer, or a channel or position out of range.
        """
        layer = self.map_layer(name)
        self._check_position(layer, channel, y, x)
        g = layer.geometry
        origin = (y * g.stride - g.pad[0], x * g.stride - g.pad[1])
        inputs = forward.output(layer.input_layer)
        keras_value = float(forward.output(layer.shown_by)[y, x, channel])
        field = self.receptive_field(name, y, x)
        if layer.kind == "add":
            return self._added(layer, forward, channel, (y, x), field, keras_value)
        if layer.kind == "pool":
            window, inside = _window(inputs[..., channel], *origin, g.kernel)
            return _pooled(layer, channel, (y, x), field, origin, window, inside, keras_value)
        window, inside = _window(inputs, *origin, g.kernel)
        conv = self.model.get_layer(name)
        kernel = np.asarray(conv.kernel, np.float32)[..., channel]
        products = window.astype(np.float64) * kernel
        total = float(products.sum())
        bias = float(np.asarray(conv.bias)[channel]) if conv.use_bias else 0.0
        value, batch_norm, pre_activation, activation = self._after_conv(
            layer, channel, total + bias
        )
        return ConvArithmetic(
            name,
            channel,
            (y, x),
            field,
            origin,
            window,
            inside,
            kernel,
            products,
            total,
            bias,
            batch_norm,
            pre_activation,
            activation,
            value,
            keras_value,
        )

    def _after_conv(self, layer: MapLayer, channel: int, value: float):
        """The conv's own activation, then each batch-norm / activation follower, in order.

        Returns (value, batch-norm step or None, the last activation's input, its name).
        """
        import keras

        chain = [self.model.get_layer(layer.name)]
        for shape in self.shapes[self.shapes.index(layer.geometry) + 1 :]:
            if chain[-1].name == layer.shown_by:
                break
            if self._reads[shape.name] == chain[-1].name:
                chain.append(self.model.get_layer(shape.name))
        batch_norm, pre_activation, activation = None, value, "linear"
        for step in chain:
            if isinstance(step, keras.layers.BatchNormalization):
                batch_norm = _batch_norm(step, channel, value)
                value = batch_norm.output
            name = _activation_name(step)
            if name != "linear" or activation == "linear":
                pre_activation, activation = value, name
                value = activate(name, value)
        return value, batch_norm, pre_activation, activation

    def _added(self, layer: MapLayer, forward: Forward, channel: int, at, field, keras_value):
        """A residual add: the main path's value plus the shortcut's, then the activation."""
        y, x = at
        main = float(forward.output(layer.input_layer)[y, x, channel])
        shortcut = float(forward.output(layer.shortcut)[y, x, channel])
        total = main + shortcut
        activation = _activation_name(self.model.get_layer(layer.shown_by))
        pair = np.array([[main, shortcut]], np.float32)
        return AddArithmetic(
            layer.name,
            channel,
            at,
            field,
            at,
            pair,
            np.ones((1, 2), bool),
            layer.input_layer,
            layer.shortcut,
            main,
            shortcut,
            total,
            activation,
            activate(activation, total),
            keras_value,
        )

    def filter(self, name: str, channel: int) -> tuple[np.ndarray, float]:
        """(kernel (kh, kw, in_channels), bias) of one output channel of conv layer `name`."""
        layer = self.map_layer(name)
        if layer.kind != "conv":
            said = (
                tr("Layer {name} is a pooling layer: it has no filter.")
                if layer.kind == "pool"
                else tr("Layer {name} is a residual add: it has no filter.")
            )
            raise ExplainError(said.format(name=name))
        self._check_position(layer, channel, 0, 0)
        conv = self.model.get_layer(name)
        bias = float(np.asarray(conv.bias)[channel]) if conv.use_bias else 0.0
        return np.asarray(conv.kernel, np.float32)[..., channel], bias

    def network(self, forward: Forward, class_names: list[str]) -> Network:
        """The whole network for one input: map columns, vector columns, the softmax."""
        maps = {layer.name: layer for layer in self.map_layers}
        columns: list[MapColumn | VectorColumn] = []
        for shape in self.shapes[1:]:
            if shape.name in maps:
                values = forward.output(maps[shape.name].shown_by)
                activity = np.abs(values).mean(axis=(0, 1))
                order = np.argsort(-activity, kind="stable")
                columns.append(MapColumn(shape.name, shape.kind, values, activity, order))
            elif shape.kind in VECTOR_KINDS:
                layer = self.model.get_layer(shape.name)
                kind = "softmax" if shape.name == OUTPUT_LAYER else shape.kind
                values = forward.output(shape.name)
                columns.append(VectorColumn(shape.name, kind, values, _activation_name(layer)))
        return Network(forward.image, columns, list(class_names))


def _batch_norm(layer, channel: int, x: float) -> BatchNormStep:
    """Keras' inference-time batch normalisation of one value of one channel."""

    def weight(variable, default: float) -> float:
        return default if variable is None else float(np.asarray(variable)[channel])

    gamma, beta = weight(layer.gamma, 1.0), weight(layer.beta, 0.0)
    mean, variance = weight(layer.moving_mean, 0.0), weight(layer.moving_variance, 1.0)
    normalised = (x - mean) / math.sqrt(variance + layer.epsilon)
    return BatchNormStep(
        gamma, beta, mean, variance, layer.epsilon, normalised, gamma * normalised + beta
    )


def _pooled(layer, channel, at, field, origin, window, inside, keras_value) -> PoolArithmetic:
    """Max or average pooling of one window (padding never counts)."""
    if "Max" in layer.geometry.keras_type:
        masked = np.where(inside, window, -np.inf)
        picked = tuple(int(i) for i in np.unravel_index(np.argmax(masked), window.shape))
        value, operation = float(window[picked]), "max"
    else:
        picked, operation = None, "average"
        value = float(window[inside].astype(np.float64).mean())
    return PoolArithmetic(
        layer.name,
        channel,
        at,
        field,
        origin,
        window,
        inside,
        operation,
        picked,
        value,
        keras_value,
    )
