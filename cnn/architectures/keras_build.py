"""Turn an `ArchSpec` into a Keras model: the same layers, names and order that
`ArchSpec.shapes()` lists. Keras is imported inside the functions, so importing the
architectures package stays light.

Example:
    >>> model = build(REGISTRY["mnist_98"].spec((28, 28, 1), 10), (28, 28, 1), 10)
"""

from __future__ import annotations

from typing import Any

from cnn.architectures.registry import REGISTRY
from cnn.architectures.spec import OUTPUT_LAYER, ArchSpec, ConvBlock
from cnn.errors import SpecError
from cnn.i18n import tr

# Keras' default 0.99 needs hundreds of steps before the inference statistics settle, so a
# quick classroom run of 100 steps tested at chance level; 0.9 settles in a few dozen
BN_MOMENTUM = 0.9


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


def build_named(key: str, input_shape: tuple[int, int, int], num_classes: int):
    """Build the registry architecture `key` for this input and class count."""
    if key not in REGISTRY:
        raise SpecError(
            tr("Unknown architecture {key}: choose one of {keys}.").format(
                key=repr(key), keys=", ".join(REGISTRY)
            )
        )
    return build(REGISTRY[key].spec(input_shape, num_classes), input_shape, num_classes)
