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
