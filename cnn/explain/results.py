"""What the explainer hands back: boxes, map layers, the arithmetic of one value, forward
passes and the whole-network columns. Plain data, no TensorFlow."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cnn.layer_shapes import LayerShape

INPUT = "image"  # the name ArchSpec.shapes gives the model input


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
    """A conv, pooling or add (residual) layer whose feature map can be explained.

    Attributes:
        name: the Keras layer name (what the feature-map view calls it).
        kind: "conv", "pool" or "add".
        shown_by: the layer whose output the feature map is (a conv's last batch-norm or
            activation follower, else the layer itself).
        input_layer: the layer whose output this layer reads ("image" for the first); for
            an add, the main path (the block's last conv, after its batch norm).
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

    @property
    def shortcut(self) -> str:
        """An add's other input (the residual block's input, or its projection); "" else."""
        return self.geometry.shortcut


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

    def reckoning(self) -> str:
        """How the value was computed, in a few words (the middle of the repr)."""
        return ""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.layer} channel {self.channel} at {self.at}: "
            f"{self.reckoning()} = {self.value:.4f}, Keras {self.keras_value:.4f})"
        )

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

    def reckoning(self) -> str:
        return (
            f"sum {self.sum:.4f} + bias {self.bias:.4f} -> {self.activation} "
            f"{self.pre_activation:.4f}"
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

    def reckoning(self) -> str:
        return f"{self.operation} of {self.window.shape}"


@dataclass(repr=False)
class AddArithmetic(Position):
    """One value of a residual block's add: the main path's value plus the shortcut's.

    Attributes (after Position's; window is the two numbers added, (1, 2)):
        main_layer, shortcut_layer: the two layers added.
        main, shortcut: their values at this position and channel.
        sum: main + shortcut, what the activation gets.
        activation: the activation after the add ("relu", ...).
        value: computed here; keras_value: the feature map's own value.
    """

    main_layer: str
    shortcut_layer: str
    main: float
    shortcut: float
    sum: float
    activation: str
    value: float
    keras_value: float

    kind = "add"

    def steps(self) -> dict[str, float | None]:
        return {"sum": self.sum, "bias": None, "pre_activation": self.sum}

    def reckoning(self) -> str:
        return f"{self.main:.4f} + {self.shortcut:.4f} -> {self.activation}"


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
