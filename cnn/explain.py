"""Explain a run's forward pass number by number, for any architecture a spec describes.

- the per-layer table: output shape, receptive-field size, jump, parameters, multiply-adds;
- the receptive field of one feature-map position on the input image;
- the arithmetic of one feature-map value: a conv's window, kernel, products, sum, bias,
  batch norm and activation, or a pooling window and the maximum (or mean) it takes;
- the whole network at a glance: every conv/pool layer's channels, most active first, the
  dense layers' activations and the softmax.

The geometry (shapes, receptive fields, padding) comes from the run's recorded architecture,
`ArchSpec.shapes`; `Explainer` first checks it against the Keras model's own layers (names,
output shapes, kernels, strides, padding, parameter counts). The numbers come from one
compiled pass over every layer (`Inspector.layer_outputs`): a layer's input is the output of
the layer before it, its weights are its own, and every arithmetic ends at the value the
feature-map view shows (a conv's activated output), read from that same pass.

Example:
    >>> explainer = Explainer.for_run(run)
    >>> forward = explainer.forward(image)                  # float32 (h, w, c) in [0, 1]
    >>> explainer.position(forward, "conv1", 3, 5, 7).value
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from cnn.architectures import OUTPUT_LAYER, ArchSpec, LayerShape
from cnn.errors import ExplainError

INPUT = "image"  # the name ArchSpec.shapes gives the model input
MAP_KINDS = ("conv", "pool")  # layers with feature maps to explain
VECTOR_KINDS = ("global_avg", "flatten", "dense")  # layers whose output is one list of numbers
SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class Box:
    """Input pixels from (top, left) to (bottom, right), both corners included."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top + 1

    @property
    def width(self) -> int:
        return self.right - self.left + 1

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class MapLayer:
    """A conv or pooling layer whose feature map can be explained.

    Attributes:
        name: the Keras layer name (what the feature-map view calls it).
        kind: "conv" or "pool".
        shown_by: the layer whose output the feature map is (a conv's last batch-norm or
            activation follower, else the layer itself).
        input_layer: the layer whose output this layer reads ("image" for the first).
        geometry: its LayerShape (shape, kernel, stride, pad, rf, jump, offset).
    """

    name: str
    kind: str
    shown_by: str
    input_layer: str
    geometry: LayerShape

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.geometry.shape


@dataclass(frozen=True)
class BatchNormStep:
    """Batch normalisation of one value: gamma * (x - mean) / sqrt(variance + epsilon) + beta."""

    gamma: float
    beta: float
    mean: float
    variance: float
    epsilon: float
    normalised: float  # (x - mean) / sqrt(variance + epsilon)
    output: float


@dataclass(repr=False)
class Position:
    """Which feature-map value, and the window of the layer's input it is made from.

    Attributes:
        layer, channel, at: which value ((y, x) on the layer's map).
        receptive_field: the input pixels it depends on, clipped to the image.
        origin: (row, column) of the window's top-left corner on the layer's input (negative
            where padding reaches outside it).
        window: float32 of the layer's input: (kh, kw, in_channels) for a conv, (k, k) of
            the same channel for a pool; 0 where padding is.
        inside: bool (kh, kw): True where the window lies on the input, False on padding.
    """

    layer: str
    channel: int
    at: tuple[int, int]
    receptive_field: Box
    origin: tuple[int, int]
    window: np.ndarray
    inside: np.ndarray

    def steps(self) -> dict[str, float | None]:
        """The sum, bias and pre-activation of the CLI's document (None where there is none)."""
        return {"sum": None, "bias": None, "pre_activation": None}

    def to_dict(self) -> dict:
        """The CLI's JSON document: "value" is the feature map's own value."""
        return {
            "layer": self.layer,
            "channel": self.channel,
            "at": list(self.at),
            "receptive_field": self.receptive_field.to_dict(),
            "window_shape": list(self.window.shape),
            **self.steps(),
            "value": self.keras_value,
        }


@dataclass(repr=False)
class ConvArithmetic(Position):
    """Every number behind one value of a conv layer's feature map.

    Attributes (after Position's):
        kernel: float32 (kh, kw, in_channels) the weights of this output channel.
        products: float64 window * kernel.
        sum: of all products.
        bias: the conv's bias for this channel (0 when it has none: batch norm follows).
        batch_norm: the normalisation of sum + bias, or None.
        pre_activation: the value the activation function gets.
        activation: the activation's name ("relu", "linear", ...).
        value: computed here, step by step.
        keras_value: the feature map's own value (the model's output at that position).
    """

    kernel: np.ndarray
    products: np.ndarray
    sum: float
    bias: float
    batch_norm: BatchNormStep | None
    pre_activation: float
    activation: str
    value: float
    keras_value: float

    kind = "conv"

    @property
    def channel_sums(self) -> np.ndarray:
        """The sum of the products of each input channel (in_channels,)."""
        return self.products.sum(axis=(0, 1))

    def steps(self) -> dict[str, float | None]:
        return {"sum": self.sum, "bias": self.bias, "pre_activation": self.pre_activation}

    def __repr__(self) -> str:
        return (
            f"ConvArithmetic({self.layer} channel {self.channel} at {self.at}: "
            f"sum {self.sum:.4f} + bias {self.bias:.4f} -> {self.activation} "
            f"{self.pre_activation:.4f} = {self.value:.4f}, Keras {self.keras_value:.4f})"
        )


@dataclass(repr=False)
class PoolArithmetic(Position):
    """One value of a pooling layer: its window on one channel and what it takes from it.

    Attributes (after Position's):
        operation: "max" or "average".
        picked: (row, column) in the window of the maximum taken, None for "average".
        value: computed here; keras_value: the feature map's own value.
    """

    operation: str
    picked: tuple[int, int] | None
    value: float
    keras_value: float

    kind = "pool"

    def __repr__(self) -> str:
        return (
            f"PoolArithmetic({self.layer} channel {self.channel} at {self.at}: "
            f"{self.operation} of {self.window.shape} = {self.value:.4f}, "
            f"Keras {self.keras_value:.4f})"
        )


@dataclass(repr=False)
class Forward:
    """One image's pass through every layer: the image and each layer's output."""

    image: np.ndarray
    outputs: dict[str, np.ndarray]

    def output(self, name: str) -> np.ndarray:
        """A layer's output ("image": the input itself)."""
        return self.image if name == INPUT else self.outputs[name]

    def __repr__(self) -> str:
        return f"Forward(image={self.image.shape}, layers={list(self.outputs)})"


@dataclass(repr=False)
class MapColumn:
    """A conv or pool layer in the overview: its maps, channels ordered by activity."""

    name: str
    kind: str
    maps: np.ndarray  # (h, w, channels), as the feature-map view shows them
    activity: np.ndarray  # (channels,) mean absolute value of each map
    order: np.ndarray  # channel indices, most active first

    @property
    def shape(self) -> tuple[int, ...]:
        return self.maps.shape


@dataclass(repr=False)
class VectorColumn:
    """A layer whose output is one list of numbers: global average, flatten, dense, softmax."""

    name: str
    kind: str  # "global_avg", "flatten", "dense" or "softmax"
    values: np.ndarray  # (units,)
    activation: str = "linear"

    @property
    def shape(self) -> tuple[int, ...]:
        return self.values.shape


@dataclass(repr=False)
class Network:
    """The whole forward pass of one image, column by column, ending at the softmax."""

    image: np.ndarray
    columns: list[MapColumn | VectorColumn]
    class_names: list[str]

    @property
    def probabilities(self) -> np.ndarray:
        return self.columns[-1].values

    def column(self, name: str) -> MapColumn | VectorColumn:
        return next(c for c in self.columns if c.name == name)


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
    raise ExplainError(f"The activation {name!r} cannot be written out here.")


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


def _same_pad(size: int, kernel: int, stride: int) -> int:
    """Rows (or columns) Keras pads before the input with "same" padding."""
    return max((-(-size // stride) - 1) * stride + kernel - size, 0) // 2


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
        self._check_against_model()
        by_name = {s.name: s for s in self.shapes}
        previous = {s.name: p.name for p, s in zip(self.shapes, self.shapes[1:], strict=False)}
        self.map_layers = [
            MapLayer(name, kind, shown_by, previous[name], by_name[name])
            for name, kind, shown_by in self.inspector.feature_map_layers
        ]

    @classmethod
    def for_run(cls, run, inspector=None) -> Explainer:
        """The explainer of a loaded `cnn.artifacts.Run`."""
        if run.record.spec is None:
            raise ExplainError(
                "This run's record has no architecture description, so its layers cannot "
                "be explained."
            )
        return cls(run.model, run.record.spec, inspector)

    def __repr__(self) -> str:
        maps = ", ".join(layer.name for layer in self.map_layers)
        return f"Explainer(model={self.model.name!r}, input={self.input_shape}, maps=[{maps}])"

    def _check_against_model(self) -> None:
        """The spec's layers are the model's: names, output shapes, windows, parameters."""
        layers = self.model.layers
        recorded = self.shapes[1:]
        if [layer.name for layer in layers] != [s.name for s in recorded]:
            raise ExplainError(
                "This run's model does not match its recorded architecture, so its "
                "arithmetic cannot be shown."
            )
        for layer, shape, before in zip(layers, recorded, self.shapes, strict=False):
            keras_shape = tuple(int(d) for d in layer.output.shape[1:])
            same = keras_shape == shape.shape and layer.count_params() == shape.params
            if same and shape.kind in MAP_KINDS:
                kernel, stride, padding = _keras_geometry(layer)
                h, w = before.shape[:2]
                pad = (0, 0)
                if padding == "same":
                    pad = (_same_pad(h, kernel, stride), _same_pad(w, kernel, stride))
                same = (kernel, stride, pad) == (shape.kernel, shape.stride, shape.pad)
            if not same:
                raise ExplainError(
                    f"Layer {layer.name} of this run's model does not match its recorded "
                    "architecture, so its arithmetic cannot be shown."
                )

    def map_layer(self, name: str) -> MapLayer:
        """The conv or pooling layer called `name`, or a sentence naming the choices."""
        for layer in self.map_layers:
            if layer.name == name:
                return layer
        names = ", ".join(layer.name for layer in self.map_layers) or "none"
        raise ExplainError(f"Layer {name!r} has no feature map to explain: choose one of {names}.")

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
        index = self.shapes.index(layer.geometry)
        for shape, before in zip(
            self.shapes[index:0:-1], self.shapes[index - 1 :: -1], strict=True
        ):
            if shape.kind in MAP_KINDS:
                h, w = before.shape[:2]
                rows = _span_below(rows, shape.kernel, shape.stride, shape.pad[0], h)
                cols = _span_below(cols, shape.kernel, shape.stride, shape.pad[1], w)
        return Box(rows[0], cols[0], rows[1], cols[1])

    def forward(self, image: np.ndarray) -> Forward:
        """Every layer's output for one model input, in one compiled pass."""
        image = np.asarray(image, np.float32)
        return Forward(image, self.inspector.layer_outputs(image))

    def _check_position(self, layer: MapLayer, channel: int, y: int, x: int) -> None:
        h, w, channels = layer.shape
        if not 0 <= channel < channels:
            raise ExplainError(
                f"Layer {layer.name} has {channels} channels: the channel must be 0 to "
                f"{channels - 1}."
            )
        if not (0 <= y < h and 0 <= x < w):
            raise ExplainError(
                f"Layer {layer.name}'s map is {h} x {w}: the position must have y from 0 to "
                f"{h - 1} and x from 0 to {w - 1}."
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

        names = [lay.name for lay in self.model.layers]
        chain = self.model.layers[names.index(layer.name) : names.index(layer.shown_by) + 1]
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

    def filter(self, name: str, channel: int) -> tuple[np.ndarray, float]:
        """(kernel (kh, kw, in_channels), bias) of one output channel of conv layer `name`."""
        layer = self.map_layer(name)
        if layer.kind != "conv":
            raise ExplainError(f"Layer {name} is a pooling layer: it has no filter.")
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
