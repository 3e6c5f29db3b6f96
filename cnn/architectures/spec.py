"""The JSON-serialisable description every architecture is built from, and its validation.

An `ArchSpec` is a list of conv blocks, a head and dense layers, then the softmax output
layer named `OUTPUT_LAYER`. The app shows and edits the spec, the run folder stores it in
run.json, `cnn.architectures.build` turns it into a Keras model, and `ArchSpec.shapes()`
walks it layer by layer (`cnn.layer_shapes`) to check it and count its weights. Imports
nothing heavy, so a page can list and edit architectures before TensorFlow is loaded.

Example:
    >>> spec = ArchSpec([ConvBlock(32, 3)], "flatten", [DenseLayer(100)])
    >>> spec.validate((28, 28, 1))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from cnn.errors import SpecError
from cnn.i18n import tr

if TYPE_CHECKING:
    from cnn.layer_shapes import LayerShape

ACTIVATIONS = ("relu", "elu", "gelu", "tanh", "sigmoid", "linear")
PADDINGS = ("valid", "same")
POOLS = ("max", "avg", "none")
HEADS = ("flatten", "global_avg")
# name of every model's final softmax layer: the Inspector reads its logits by this name
OUTPUT_LAYER = "predictions"


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
            raise SpecError(
                tr("The architecture description is not valid: {error}.").format(error=err)
            ) from err

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
        from cnn.layer_shapes import ShapeWalk  # layer_shapes reads ConvBlock from this module

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
            raise SpecError(
                tr("Head must be one of {heads}, not {head}.").format(
                    heads=", ".join(HEADS), head=repr(self.head)
                )
            )
        for i, block in enumerate(self.conv_blocks, start=1):
            if problem := _block_problem(block):
                raise SpecError(
                    problem.format(
                        i=i, padding=repr(block.padding), pool=repr(block.pool),
                        activation=repr(block.activation),
                    )
                )  # fmt: skip
        for i, layer in enumerate(self.dense, start=1):
            if not 1 <= layer.units <= 8192:
                raise SpecError(
                    tr("Dense layer {i}: units must be between 1 and 8192.").format(i=i)
                )
            if layer.activation not in ACTIVATIONS:
                raise SpecError(
                    tr("Dense layer {i}: unknown activation {activation}.").format(
                        i=i, activation=repr(layer.activation)
                    )
                )
            if not 0.0 <= layer.dropout < 1.0:
                raise SpecError(
                    tr("Dense layer {i}: dropout must be at least 0 and below 1.").format(i=i)
                )


def _block_problem(block: ConvBlock) -> str | None:
    """The sentence (placeholders {i}, {padding}, {pool}, {activation}) for a conv block's
    first impossible value, in the reader's language; None when all are possible."""
    if not 1 <= block.filters <= 1024:
        return tr("Conv block {i}: filters must be between 1 and 1024.")
    if not 1 <= block.kernel <= 15 or not 1 <= block.stride <= 4:
        return tr("Conv block {i}: kernel must be 1-15 and stride 1-4.")
    if not 1 <= block.convs <= 4:
        return tr("Conv block {i}: a block holds 1 to 4 conv layers.")
    if block.padding not in PADDINGS or block.pool not in POOLS:
        return tr("Conv block {i}: unknown padding {padding} or pool {pool}.")
    if block.activation not in ACTIVATIONS:
        return tr("Conv block {i}: unknown activation {activation}.")
    if not 0.0 <= block.dropout < 1.0:
        return tr("Conv block {i}: dropout must be at least 0 and below 1.")
    if block.pool != "none" and block.pool_size < 1:
        return tr("Conv block {i}: pool size must be at least 1.")
    if block.residual and block.padding != "same":
        return tr(
            "Conv block {i}: a residual block needs 'same' padding, so its input can be added "
            "to its output."
        )
    return None
