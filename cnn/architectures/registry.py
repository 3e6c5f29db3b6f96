"""The named architectures: one builder per entry, each making an `ArchSpec` for an input
shape and a number of classes. Adding an architecture is adding an entry to `REGISTRY`.

Example:
    >>> spec = REGISTRY["mnist_98"].spec((28, 28, 1), 10)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cnn.architectures.spec import ArchSpec, ConvBlock, DenseLayer
from cnn.i18n import N_

SMALL_INPUT = 32  # inputs up to this side (digits, Fashion-MNIST) get the full-width VGG blocks
STRIDED_STEM_FROM = 128  # photo inputs this size or larger start with a stride-2 conv


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


def _fast_cnn(_shape: tuple[int, int, int], _classes: int) -> ArchSpec:
    # the keras-io MNIST example's two conv + pool blocks at half its width, no dropout, no
    # batch norm (which halved the images per second on 2 CPU cores), a dense layer of 128:
    # 2-3x the example's images per second, 99.2-99.3% on MNIST in 2 epochs (bench/README.md)
    return ArchSpec([ConvBlock(16, 3), ConvBlock(32, 3)], "flatten", [DenseLayer(128)])


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
            N_("Single conv layer"),
            N_("One 3x3 conv (32 filters) + max-pool + dense 100: the smallest CNN that works."),
            _single_conv,
        ),
        Architecture(
            "mnist_98",
            N_("Simple CNN (Keras MNIST example)"),
            N_(
                "Conv 28 3x3 + max-pool + dense 128 + dropout 0.2: 98.5% on MNIST's test "
                "digits after 10 epochs on all 60,000 training digits; Quick's 2 epochs on "
                "3,000 reach less."
            ),
            _mnist_98,
        ),
        Architecture(
            "fast_cnn",
            N_("Fast CNN"),
            N_(
                "Conv 16 + pool, conv 32 + pool, dense 128: few sums per image and no batch norm, "
                "so it learns fastest on a CPU (99% on MNIST in 2 epochs with the fast recipe)."
            ),
            _fast_cnn,
        ),
        Architecture(
            "three_block",
            N_("Three conv blocks"),
            N_("Three conv 3x3 + max-pool blocks (32, 64, 64) then dense 128 and 64."),
            _three_block,
        ),
        Architecture(
            "cats_dogs_tutorial",
            N_("Cats vs dogs tutorial CNN"),
            N_(
                "Conv 32 + pool, conv 64 + pool, dense 128 + dropout 0.2: the 64x64 pet classifier."
            ),
            _cats_dogs_tutorial,
        ),
        Architecture(
            "flowers_tutorial",
            N_("Flowers tutorial CNN"),
            N_("Conv 8/16/32 with 'same' padding, pools of 3, 2, 2, then dense 32."),
            _flowers_tutorial,
        ),
        Architecture(
            "tiny_vgg",
            N_("TinyVGG (CNN Explainer)"),
            N_(
                "Two blocks of two 10-filter 3x3 convs + max-pool: the network CNN Explainer "
                "teaches."
            ),
            _tiny_vgg,
        ),
        Architecture(
            "dense_baseline",
            N_("Dense network (no convolutions)"),
            N_(
                "Flatten the pixels, then dense 256 and 128 with dropout 0.2: no convolutions, "
                "the baseline every CNN lesson compares against."
            ),
            _dense_baseline,
        ),
        Architecture(
            "modern_cnn",
            N_("Modern small CNN"),
            N_(
                "VGG-style double-conv blocks with batch norm, global average pooling, dropout: "
                "fast and strong."
            ),
            _modern_cnn,
        ),
        Architecture(
            "vgg_wide",
            N_("Wide VGG"),
            N_(
                "Two 3x3 convs per stage (64, 128, 256 filters) with batch norm, straight into "
                "global average pooling: the shipped photo models (about 3x modern_cnn's compute)."
            ),
            _vgg_wide,
        ),
        Architecture(
            "vgg_wide_28",
            N_("Wide VGG, two convs at full size"),
            N_(
                "Wide VGG with a second stem conv before the first pooling, so small images "
                "(28 px) are seen twice at full size: the shipped Fashion-MNIST model."
            ),
            _vgg_wide_28,
        ),
        Architecture(
            "residual",
            N_("Small ResNet"),
            N_(
                "A stem conv, then three residual blocks (64, 128, 256 filters): two 3x3 convs "
                "with a shortcut that adds the block's input to their output, so each block "
                "learns a correction. The shipped cats vs dogs model."
            ),
            _residual,
        ),
    ]
}
