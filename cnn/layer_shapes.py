"""The arithmetic of a spec's layers: output shapes, weights, cost and receptive fields.

`ArchSpec.shapes()` walks a spec with `ShapeWalk`, layer by layer as `architectures.build`
makes them, so the summary table, parameter counts, memory estimates and the conv
arithmetic on "Look inside" all read one walk. Imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cnn.architectures.spec import ConvBlock
from cnn.errors import SpecError
from cnn.i18n import tr


@dataclass(frozen=True)
class LayerShape:
    """One layer of a spec's model as arithmetic: shape, weights, cost and receptive field.

    A feature-map position (y, x) of this layer sees the input pixels from
    (y * jump + offset[0], x * jump + offset[1]) to that plus `rf - 1` (before clipping to
    the image; `offset` is negative where padding reaches outside it).

    Attributes:
        name: the Keras layer name `build` gives it.
        kind: "input", "conv", "batch_norm", "activation", "pool", "dropout", "add",
            "global_avg", "flatten" or "dense".
        keras_type: the Keras layer class.
        shape: output shape of one image (h, w, c) or (units,).
        params: weights, as Keras counts them (batch-norm statistics included).
        macs: multiply-adds for one image.
        kernel, stride: of a conv or pooling window (0 otherwise).
        pad: (top, left) padding of a conv or pool's input, in that input's pixels.
        rf: receptive-field side in input pixels (the whole input after flatten/pooling).
        jump: input pixels between neighbouring positions of this layer's map.
        offset: input (row, column) of the top-left corner of position (0, 0)'s field.
        source: the layer this one reads when it is not the one listed before it: a residual
            block's shortcut conv reads the block's input, its add reads the main path.
        shortcut: the other layer an add reads (the block's input, or its 1x1 projection).
    """

    name: str
    kind: str
    keras_type: str
    shape: tuple[int, ...]
    params: int = 0
    macs: int = 0
    kernel: int = 0
    stride: int = 0
    pad: tuple[int, int] = (0, 0)
    rf: int = 1
    jump: int = 1
    offset: tuple[int, int] = (0, 0)
    source: str = ""  # the layer whose output this one reads, when not the one listed before
    shortcut: str = ""  # an add's second input: the residual block's input or its projection

    def reads(self, before: LayerShape) -> str:
        """Name of the layer this one reads; `before` is the layer listed just before it."""
        return self.source or before.name


def same_padding(size: int, kernel: int, stride: int) -> int:
    """Padding Keras/TensorFlow adds before (top or left) for "same" padding."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2


class ShapeWalk:
    """Follows a spec layer by layer, as `build` makes them, collecting LayerShapes."""

    def __init__(self, input_shape: tuple[int, int, int]) -> None:
        self.input_shape = tuple(int(d) for d in input_shape)
        self.layers = [LayerShape("image", "input", "InputLayer", self.input_shape)]

    @property
    def last(self) -> LayerShape:
        return self.layers[-1]

    def window(
        self,
        name,
        kind,
        keras_type,
        kernel,
        stride,
        padding,
        filters,
        params,
        where,
        source: LayerShape | None = None,
    ):
        """A conv or pooling layer: sliding windows, with the receptive field carried on.

        `source` is the layer it reads when that is not the last one listed (a shortcut).
        """
        prev = source or self.last
        h, w, channels = prev.shape
        pad = (0, 0)
        if padding == "same":
            pad = (same_padding(h, kernel, stride), same_padding(w, kernel, stride))
            out_h, out_w = -(-h // stride), -(-w // stride)
        else:
            out_h, out_w = (h - kernel) // stride + 1, (w - kernel) // stride + 1
        if out_h < 1 or out_w < 1:
            raise SpecError(where)
        out_c = filters or channels
        macs = out_h * out_w * kernel * kernel * channels * filters if filters else 0
        self.layers.append(
            LayerShape(
                name,
                kind,
                keras_type,
                (out_h, out_w, out_c),
                params,
                macs,
                kernel,
                stride,
                pad,
                rf=prev.rf + (kernel - 1) * prev.jump,
                jump=prev.jump * stride,
                offset=(prev.offset[0] - pad[0] * prev.jump, prev.offset[1] - pad[1] * prev.jump),
                source="" if source is None else source.name,
            )
        )

    def same(self, name: str, kind: str, keras_type: str, params: int = 0, source=None) -> None:
        """A layer that keeps the shape and the receptive field (batch norm, activation...).

        `source` is the layer it reads when that is not the last one listed.
        """
        prev = source or self.last
        self.layers.append(
            LayerShape(
                name,
                kind,
                keras_type,
                prev.shape,
                params,
                0,
                rf=prev.rf,
                jump=prev.jump,
                offset=prev.offset,
                source="" if source is None else source.name,
            )
        )

    def block(self, i: int, block: ConvBlock) -> None:
        block_input = self.last
        for j in range(1, block.convs + 1):
            suffix = f"{i}" if block.convs == 1 else f"{i}_{j}"
            self._conv(f"conv{suffix}", i, block, self.last.shape[-1], block.kernel, block.stride)
            if block.residual and j == block.convs:
                self._residual_end(i, suffix, block, block_input)
            elif block.batch_norm:
                self.same(f"bn{suffix}", "batch_norm", "BatchNormalization", 4 * block.filters)
                self.same(f"act{suffix}", "activation", "Activation")
        if block.pool != "none":
            h, w = self.input_shape[:2]
            self.window(
                f"pool{i}",
                "pool",
                "MaxPooling2D" if block.pool == "max" else "AveragePooling2D",
                block.pool_size,
                block.pool_size,
                "valid",
                0,
                0,
                tr(
                    "Conv block {i}: pooling shrinks the {h}x{w} image to nothing: remove a "
                    "pool or a block."
                ).format(i=i, h=h, w=w),
            )
        if block.dropout:
            self.same(f"dropout{i}", "dropout", "Dropout")

    def _conv(self, name, i, block, cin, kernel, stride, source=None) -> None:
        params = kernel * kernel * cin * block.filters
        params += 0 if block.batch_norm else block.filters
        self.window(
            name,
            "conv",
            "Conv2D",
            kernel,
            stride,
            block.padding,
            block.filters,
            params,
            tr(
                "Conv block {i} shrinks the image to nothing: use 'same' padding, a smaller "
                "kernel or fewer blocks."
            ).format(i=i),
            source,
        )

    def _residual_end(self, i: int, suffix: str, block: ConvBlock, block_input: LayerShape):
        """The shortcut around a residual block's convs, the add that joins them and the
        activation after it, in the order Keras lists a functional model's layers.

        The input is added unchanged when it already has the main path's shape; otherwise a
        1x1 conv (with batch norm when the block has it) projects it to that shape.
        """
        main = self.last
        skip = shortcut = None
        if block_input.shape != main.shape:
            stride = block.stride**block.convs
            self._conv(f"skip{i}", i, block, block_input.shape[-1], 1, stride, block_input)
            skip = shortcut = self.last
        if block.batch_norm:
            params = 4 * block.filters
            self.same(f"bn{suffix}", "batch_norm", "BatchNormalization", params, main)
            main = self.last
            if skip is not None:
                self.same(f"skip_bn{i}", "batch_norm", "BatchNormalization", params, skip)
                shortcut = self.last
        # the main path's field holds the shortcut's (same padding, a 1x1 or no window)
        self.same(f"add{i}", "add", "Add", 0, main)
        self.layers[-1] = replace(self.layers[-1], shortcut=(shortcut or block_input).name)
        self.same(f"act{suffix}", "activation", "Activation")

    def _whole_input(self, name: str, kind: str, keras_type: str, shape: tuple[int, ...]):
        side = max(self.input_shape[:2])
        self.layers.append(LayerShape(name, kind, keras_type, shape, rf=side, jump=side))

    def global_avg(self) -> None:
        self._whole_input(
            "global_avg", "global_avg", "GlobalAveragePooling2D", (self.last.shape[-1],)
        )

    def flatten(self) -> None:
        size = 1
        for d in self.last.shape:
            size *= d
        self._whole_input("flatten", "flatten", "Flatten", (size,))

    def dense(self, name: str, units: int, activation: str) -> None:
        features = self.last.shape[-1]
        side = max(self.input_shape[:2])
        self.layers.append(
            LayerShape(
                name,
                "dense",
                "Dense",
                (units,),
                features * units + units,
                features * units,
                rf=side,
                jump=side,
            )
        )
