"""Named CNN architectures and the JSON-serialisable spec every one of them is built from.

Every model in the registry is written as an `ArchSpec`: a list of conv blocks, a head and
dense layers. The app shows and edits the spec, the run folder stores it in run.json, and
`build(spec, ...)` turns it into a Keras model. The spec classes import nothing heavy, so
a page can list and edit architectures before TensorFlow is loaded.

Example:
    >>> spec = REGISTRY["mnist_98"].spec((28, 28, 1), 10)
    >>> model = build(spec, (28, 28, 1), 10)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from cnn.errors import SpecError
from cnn.layer_shapes import LayerShape, ShapeWalk

ACTIVATIONS = ("relu", "elu", "gelu", "tanh", "sigmoid", "linear")
PADDINGS = ("valid", "same")
POOLS = ("max", "avg", "none")
HEADS = ("flatten", "global_avg")
SMALL_INPUT = 32  # inputs up to this side (digits, Fashion-MNIST) get the full-width VGG blocks
STRIDED_STEM_FROM = 128  # photo inputs this size or larger start with a stride-2 conv
OUTPUT_LAYER = "predictions"  # name of the final softmax layer (inspect.py relies on it)
# Keras' default 0.99 needs hundreds of steps before the inference statistics settle, so a
# quick classroom run of 100 steps tested at chance level; 0.9 settles in a few dozen
BN_MOMENTUM = 0.9


@dataclass
class ConvBlock:
    """One or more conv layers with the same settings, then optional pooling and dropout."""

    filters: int = 32  # output channels of each conv layer
    kernel: int = 3  # square kernel size
    stride: int = 1
    padding: str = "valid"  # "valid" shrinks the map by kernel-1, "same" keeps its size
    activation: str = "relu"
    convs: int = 1  # conv layers in this block (VGG-style blocks use 2)
    batch_norm: bool = False  # BatchNormalization between conv and activation
    pool: str = "max"  # "max", "avg" or "none"
    pool_size: int = 2
    dropout: float = 0.0  # dropout rate after the block
    # add the block's input to its last conv's output before the activation (a ResNet basic
    # block with two convs); a 1x1 conv projects the input when channels or size change
    residual: bool = False

    def conv_output(self, h: int, w: int) -> tuple[int, int]:
        """Height and width of the map after one of this block's conv layers."""
        if self.padding == "valid":
            h, w = h - self.kernel + 1, w - self.kernel + 1
        return -(-h // self.stride), -(-w // self.stride)


@dataclass
class DenseLayer:
    """A fully connected hidden layer."""

    units: int = 128
    activation: str = "relu"
    dropout: float = 0.0  # dropout rate after the layer


@dataclass
class ArchSpec:
    """A whole network: conv blocks, a head that flattens, dense layers, softmax output."""

    conv_blocks: list[ConvBlock] = field(default_factory=list)
    head: str = "flatten"  # "flatten" or "global_avg" (global average pooling)
    dense: list[DenseLayer] = field(default_factory=list)
    name: str = "custom"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (what run.json stores)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchSpec:
        """Rebuild a spec from `to_dict()` output, rejecting unknown keys with a sentence."""
        try:
            return cls(
                conv_blocks=[ConvBlock(**b) for b in data.get("conv_blocks", [])],
                head=data.get("head", "flatten"),
                dense=[DenseLayer(**d) for d in data.get("dense", [])],
                name=data.get("name", "custom"),
            )
        except TypeError as err:
            raise SpecError(f"The architecture description is not valid: {err}.") from err

    def validate(self, input_shape: tuple[int, int, int]) -> None:
        """Check every value and that the feature map never shrinks below 1x1.

        Raises:
            SpecError: with a sentence naming the block or layer at fault.
        """
        self.shapes(input_shape, 1)

    def shapes(self, input_shape: tuple[int, int, int], num_classes: int) -> list[LayerShape]:
        """Every layer `build` makes, in order, with its output shape and arithmetic.

        One walk serves validation, parameter counts, memory estimates, the summary table and
        receptive fields, so they can never disagree with each other or with Keras.

        Raises:
            SpecError: a value is out of range or the map shrinks to nothing.
        """
        self._check_values()
        walk = ShapeWalk(input_shape)
        for i, block in enumerate(self.conv_blocks, start=1):
            walk.block(i, block)
        if self.head == "global_avg":
            walk.global_avg()
        else:
            walk.flatten()
        for i, dense in enumerate(self.dense, start=1):
            walk.dense(f"dense{i}", dense.units, dense.activation)
            if dense.dropout:
                walk.same(f"dense_dropout{i}", "dropout", "Dropout")
        walk.dense(OUTPUT_LAYER, num_classes, "softmax")
        return walk.layers

    def _check_values(self) -> None:
        if self.head not in HEADS:
            raise SpecError(f"Head must be one of {', '.join(HEADS)}, not {self.head!r}.")
        for i, block in enumerate(self.conv_blocks, start=1):
            where = f"Conv block {i}"
            if not 1 <= block.filters <= 1024:
                raise SpecError(f"{where}: filters must be between 1 and 1024.")
            if not 1 <= block.kernel <= 15 or not 1 <= block.stride <= 4:
                raise SpecError(f"{where}: kernel must be 1-15 and stride 1-4.")
            if not 1 <= block.convs <= 4:
                raise SpecError(f"{where}: a block holds 1 to 4 conv layers.")
            if block.padding not in PADDINGS or block.pool not in POOLS:
                raise SpecError(
                    f"{where}: unknown padding {block.padding!r} or pool {block.pool!r}."
                )
            if block.activation not in ACTIVATIONS:
                raise SpecError(f"{where}: unknown activation {block.activation!r}.")
            if not 0.0 <= block.dropout < 1.0:
                raise SpecError(f"{where}: dropout must be at least 0 and below 1.")
            if block.pool != "none" and block.pool_size < 1:
                raise SpecError(f"{where}: pool size must be at least 1.")
            if block.residual and block.padding != "same":
                raise SpecError(
                    f"{where}: a residual block needs 'same' padding, so its input can be "
                    "added to its output."
                )
        for i, layer in enumerate(self.dense, start=1):
            if not 1 <= layer.units <= 8192:
                raise SpecError(f"Dense layer {i}: units must be between 1 and 8192.")
            if layer.activation not in ACTIVATIONS:
                raise SpecError(f"Dense layer {i}: unknown activation {layer.activation!r}.")
            if not 0.0 <= layer.dropout < 1.0:
                raise SpecError(f"Dense layer {i}: dropout must be at least 0 and below 1.")


@dataclass(frozen=True)
class Architecture:
    """A registry entry: a named way to make a spec for a given input and class count."""

    key: str
    title: str
    description: str
    make_spec: Callable[[tuple[int, int, int], int], ArchSpec]

    def spec(self, input_shape: tuple[int, int, int], num_classes: int) -> ArchSpec:
        """The spec of this architecture for this input shape and number of classes."""
        spec = self.make_spec(input_shape, num_classes)
        spec.name = self.key
        return spec


def _single_conv(_shape: tuple[int, int, int], _classes: int) -> ArchSpec:
    return ArchSpec([ConvBlock(32, 3)], "flatten", [DenseLayer(100)])


def _mnist_98(_shape: tuple[int, int, int], _classes: int) -> ArchSpec:
    return ArchSpec([ConvBlock(28, 3)], "flatten", [DenseLayer(128, dropout=0.2)])


def _three_block(_shape: tuple[int, int, int], _classes: int) -> ArchSpec:
    blocks = [ConvBlock(32, 3, padding="same"), ConvBlock(64, 3, padding="same")]
    blocks.append(ConvBlock(64, 3, padding="same"))
    return ArchSpec(blocks, "flatten", [DenseLayer(128), DenseLayer(64)])


def _cats_dogs_tutorial(_shape: tuple[int, int, int], _classes: int) -> ArchSpec:
    return ArchSpec([ConvBlock(32, 3), ConvBlock(64, 3)], "flatten", [DenseLayer(128, dropout=0.2)])


def _flowers_tutorial(_shape: tuple[int, int, int], _classes: int) -> ArchSpec:
    blocks = [
        ConvBlock(8, 3, padding="same", pool_size=3),
        ConvBlock(16, 3, padding="same"),
        ConvBlock(32, 3, padding="same"),
    ]
    return ArchSpec(blocks, "flatten", [DenseLayer(32)])


def _tiny_vgg(_shape: tuple[int, int, int], _classes: int) -> ArchSpec:
    # CNN Explainer's network: two blocks of two 10-filter 3x3 convs, each block max-pooled
    blocks = [ConvBlock(10, 3, convs=2), ConvBlock(10, 3, convs=2)]
    return ArchSpec(blocks, "flatten", [])


def _dense_baseline(_shape: tuple[int, int, int], _classes: int) -> ArchSpec:
    # no conv blocks: the image is flattened into one long list of pixels, so every hidden
    # unit has its own weight for every pixel and nothing learned at one place helps another
    return ArchSpec([], "flatten", [DenseLayer(256, dropout=0.2), DenseLayer(128, dropout=0.2)])


def _modern_cnn(shape: tuple[int, int, int], _classes: int) -> ArchSpec:
    size = min(shape[0], shape[1])
    if size > SMALL_INPUT:
        return _modern_photo_cnn(size)
    # VGG-style blocks with batch norm, widening as the map halves, until it is 8x8 or less
    blocks = []
    filters = 32
    while True:
        # one conv at full resolution: a second one there costs a third of the compute
        convs = 1 if not blocks else 2
        blocks.append(
            ConvBlock(filters, 3, padding="same", convs=convs, batch_norm=True, dropout=0.1)
        )
        size //= 2
        if size <= 8 or len(blocks) == 5:
            break
        filters = min(filters * 2, 256)
    # the last block feeds global average pooling, so it is not pooled itself
    blocks.append(
        ConvBlock(
            filters * 2 if filters < 256 else 256, 3, padding="same", pool="none", batch_norm=True
        )
    )
    return ArchSpec(blocks, "global_avg", [DenseLayer(128, dropout=0.3)])


def _vgg_wide(shape: tuple[int, int, int], _classes: int) -> ArchSpec:
    # a stem (stride 2 from 128 px, then pooled), then stages of two 3x3 convs that double the
    # filters as the map halves; the last stage feeds global average pooling directly
    size = min(shape[0], shape[1])
    stride = 2 if size >= STRIDED_STEM_FROM else 1
    blocks = [ConvBlock(32, 3, stride=stride, padding="same", batch_norm=True)]
    for filters in (64, 128):
        blocks.append(ConvBlock(filters, 3, padding="same", convs=2, batch_norm=True))
    blocks.append(
        ConvBlock(256, 3, padding="same", convs=2, batch_norm=True, pool="none", dropout=0.2)
    )
    return ArchSpec(blocks, "global_avg", [])


def _vgg_wide_28(shape: tuple[int, int, int], classes: int) -> ArchSpec:
    # vgg_wide with two convs in its stem below 128 px, so a 28 px digit or garment is seen by
    # two convs at full size before the first pooling: +24% compute on 28 px; Fashion-MNIST
    # 93.70% -> 94.04% with the same recipe (artifacts/README.md). From 128 px the stem
    # strides, and it is vgg_wide
    spec = _vgg_wide(shape, classes)
    if min(shape[0], shape[1]) < STRIDED_STEM_FROM:
        spec.conv_blocks[0].convs = 2
    return spec


def _residual(shape: tuple[int, int, int], _classes: int) -> ArchSpec:
    # a small ResNet: a stem (stride 2 from 128 px), then three residual stages of two 3x3
    # convs (64, 128, 256 filters) with a shortcut around each, pooled between stages, into
    # global average pooling. 91.4% on cats vs dogs at 128 px in 150 epochs (artifacts/README)
    size = min(shape[0], shape[1])
    stride = 2 if size >= STRIDED_STEM_FROM else 1
    blocks = [ConvBlock(32, 3, stride=stride, padding="same", batch_norm=True)]
    for filters in (64, 128, 256):
        blocks.append(
            ConvBlock(filters, 3, padding="same", convs=2, batch_norm=True, residual=True)
        )
    blocks[-1].pool = "none"
    return ArchSpec(blocks, "global_avg", [])


def _modern_photo_cnn(size: int) -> ArchSpec:
    # photos: cheap single-conv blocks while the map is large (2 CPU cores train this), a
    # double-conv block once it is 16 px or less, then a wide unpooled conv for global pooling
    blocks = []
    filters = 32
    while size > 16:
        # from 128 px a stride-2 first conv: the full-resolution 32-channel maps (and their
        # batch-norm and ReLU copies, kept for the backward pass) were most of the memory
        stride = 2 if not blocks and size >= STRIDED_STEM_FROM else 1
        blocks.append(ConvBlock(filters, 3, stride=stride, padding="same", batch_norm=True))
        size //= 2
        filters = min(filters * 2, 128)
    blocks.append(ConvBlock(filters, 3, padding="same", convs=2, batch_norm=True, dropout=0.2))
    blocks.append(ConvBlock(256, 3, padding="same", pool="none", batch_norm=True))
    return ArchSpec(blocks, "global_avg", [DenseLayer(128, dropout=0.4)])


REGISTRY: dict[str, Architecture] = {
    a.key: a
    for a in [
        Architecture(
            "single_conv",
            "Single conv layer",
            "One 3x3 conv (32 filters) + max-pool + dense 100: the smallest CNN that works.",
            _single_conv,
        ),
        Architecture(
            "mnist_98",
            "Simple CNN (98.5% MNIST)",
            "Conv 28 3x3 + max-pool + dense 128 + dropout 0.2: the tutorial's 98.5% in 10 epochs.",
            _mnist_98,
        ),
        Architecture(
            "three_block",
            "Three conv blocks",
            "Three conv 3x3 + max-pool blocks (32, 64, 64) then dense 128 and 64.",
            _three_block,
        ),
        Architecture(
            "cats_dogs_tutorial",
            "Cats vs dogs tutorial CNN",
            "Conv 32 + pool, conv 64 + pool, dense 128 + dropout 0.2: the 64x64 pet classifier.",
            _cats_dogs_tutorial,
        ),
        Architecture(
            "flowers_tutorial",
            "Flowers tutorial CNN",
            "Conv 8/16/32 with 'same' padding, pools of 3, 2, 2, then dense 32.",
            _flowers_tutorial,
        ),
        Architecture(
            "tiny_vgg",
            "TinyVGG (CNN Explainer)",
            "Two blocks of two 10-filter 3x3 convs + max-pool: the network CNN Explainer teaches.",
            _tiny_vgg,
        ),
        Architecture(
            "dense_baseline",
            "Dense network (no convolutions)",
            "Flatten the pixels, then dense 256 and 128 with dropout 0.2: no convolutions, "
            "the baseline every CNN lesson compares against.",
            _dense_baseline,
        ),
        Architecture(
            "modern_cnn",
            "Modern small CNN",
            "VGG-style double-conv blocks with batch norm, global average pooling, dropout: "
            "fast and strong.",
            _modern_cnn,
        ),
        Architecture(
            "vgg_wide",
            "Wide VGG",
            "Two 3x3 convs per stage (64, 128, 256 filters) with batch norm, straight into "
            "global average pooling: the shipped photo models (about 3x modern_cnn's compute).",
            _vgg_wide,
        ),
        Architecture(
            "vgg_wide_28",
            "Wide VGG, two convs at full size",
            "Wide VGG with a second stem conv before the first pooling, so small images "
            "(28 px) are seen twice at full size: the shipped Fashion-MNIST model.",
            _vgg_wide_28,
        ),
        Architecture(
            "residual",
            "Small ResNet",
            "A stem conv, then three residual blocks (64, 128, 256 filters): two 3x3 convs "
            "with a shortcut that adds the block's input to their output, so each block "
            "learns a correction. The shipped cats vs dogs model.",
            _residual,
        ),
    ]
}


def build(spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int):
    """Build an uncompiled Keras model from a spec.

    Args:
        spec: the architecture.
        input_shape: (height, width, channels) of the float32 [0, 1] input.
        num_classes: size of the softmax output layer (named `predictions`).

    Returns:
        A `keras.Sequential` model, or a functional `keras.Model` when a block is residual
        (its shortcut needs a second path). Either way the layers are the ones, and in the
        order, that `spec.shapes()` lists.

    Raises:
        SpecError: when the spec does not fit the input.
    """
    import keras

    spec.validate(input_shape)
    image = keras.Input(shape=tuple(input_shape), name="image")
    if not any(block.residual for block in spec.conv_blocks):
        model_layers: list[Any] = [image]
        for i, block in enumerate(spec.conv_blocks, start=1):
            model_layers += _conv_layers(i, block) + _after_block(i, block)
        model_layers += _head(spec, num_classes)
        return keras.Sequential(model_layers, name=spec.name)
    x = image
    for i, block in enumerate(spec.conv_blocks, start=1):
        block_input = x
        for layer in _conv_layers(i, block):
            x = layer(x)
        if block.residual:
            x = _add_shortcut(i, block, block_input, x)
        for layer in _after_block(i, block):
            x = layer(x)
    for layer in _head(spec, num_classes):
        x = layer(x)
    return keras.Model(image, x, name=spec.name)


def _conv_layers(i: int, block: ConvBlock) -> list[Any]:
    """Block i's conv layers, each with its batch norm and activation (a residual block's
    last conv is activated after the add)."""
    from keras import layers

    made: list[Any] = []
    for j in range(1, block.convs + 1):
        suffix = f"{i}" if block.convs == 1 else f"{i}_{j}"
        deferred = block.residual and j == block.convs
        made.append(
            layers.Conv2D(
                block.filters,
                block.kernel,
                strides=block.stride,
                padding=block.padding,
                # with batch norm the activation follows the normalisation
                activation=None if block.batch_norm or deferred else block.activation,
                use_bias=not block.batch_norm,
                name=f"conv{suffix}",
            )
        )
        if block.batch_norm:
            made.append(layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"bn{suffix}"))
            if not deferred:
                made.append(layers.Activation(block.activation, name=f"act{suffix}"))
    return made


def _add_shortcut(i: int, block: ConvBlock, block_input, main):
    """main + the block's input (projected by a 1x1 conv when its shape differs), activated."""
    from keras import layers

    shortcut = block_input
    if tuple(block_input.shape[1:]) != tuple(main.shape[1:]):
        shortcut = layers.Conv2D(
            block.filters,
            1,
            strides=block.stride**block.convs,
            padding="same",
            use_bias=not block.batch_norm,
            name=f"skip{i}",
        )(block_input)
        if block.batch_norm:
            shortcut = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"skip_bn{i}")(shortcut)
    x = layers.Add(name=f"add{i}")([main, shortcut])
    suffix = f"{i}" if block.convs == 1 else f"{i}_{block.convs}"
    return layers.Activation(block.activation, name=f"act{suffix}")(x)


def _after_block(i: int, block: ConvBlock) -> list[Any]:
    """Block i's pooling and dropout."""
    from keras import layers

    made: list[Any] = []
    if block.pool == "max":
        made.append(layers.MaxPooling2D(block.pool_size, name=f"pool{i}"))
    elif block.pool == "avg":
        made.append(layers.AveragePooling2D(block.pool_size, name=f"pool{i}"))
    if block.dropout:
        made.append(layers.Dropout(block.dropout, name=f"dropout{i}"))
    return made


def _head(spec: ArchSpec, num_classes: int) -> list[Any]:
    """Global pooling or flatten, the dense layers, then the softmax output."""
    from keras import layers

    made: list[Any] = [
        layers.GlobalAveragePooling2D(name="global_avg")
        if spec.head == "global_avg"
        else layers.Flatten(name="flatten")
    ]
    for i, dense in enumerate(spec.dense, start=1):
        made.append(layers.Dense(dense.units, activation=dense.activation, name=f"dense{i}"))
        if dense.dropout:
            made.append(layers.Dropout(dense.dropout, name=f"dense_dropout{i}"))
    made.append(layers.Dense(num_classes, activation="softmax", name=OUTPUT_LAYER))
    return made


def model_layers(model) -> list[Any]:
    """A built model's layers as `ArchSpec.shapes()` lists them after the input: a functional
    model (a residual spec's) also lists its InputLayer, a Sequential does not."""
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


def layer_inputs(layer) -> list[str]:
    """Names of the layers whose outputs a functional model's layer reads ("image" for the
    input; an Add reads two)."""
    inputs = layer.input if isinstance(layer.input, list) else [layer.input]
    return [tensor._keras_history[0].name for tensor in inputs]


def build_named(key: str, input_shape: tuple[int, int, int], num_classes: int):
    """Build the registry architecture `key` for this input and class count."""
    if key not in REGISTRY:
        raise SpecError(f"Unknown architecture {key!r}: choose one of {', '.join(REGISTRY)}.")
    return build(REGISTRY[key].spec(input_shape, num_classes), input_shape, num_classes)


def count_params(spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int) -> int:
    """Number of weights of the spec's model, computed without TensorFlow."""
    return sum(layer.params for layer in spec.shapes(input_shape, num_classes))


def summary_rows(layers: list[LayerShape]) -> list[dict[str, Any]]:
    """One row per layer (name, type, output shape, parameters): the table the pages show."""
    return [
        {
            "layer": layer.name,
            "type": layer.keras_type,
            "output shape": " x ".join(str(d) for d in layer.shape),
            "params": layer.params,
        }
        for layer in layers[1:]
    ]
