"""Training-time augmentation per kind of image, as Keras preprocessing layers.

The layers change images only when called with training=True; at inference they are the
identity. Stroke thickness (for digits) is a small Keras layer of our own, registered so a
model holding it still loads with safe_mode=True.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from cnn.errors import DatasetError

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

DIGIT_ROTATION = 10 / 360  # +-10 degrees, as a fraction of a full turn
DIGIT_SHIFT = 0.12  # +-12% of the image size
DIGIT_ZOOM = 0.1  # +-10%
GRAY_SHIFT = 0.08  # Fashion-MNIST items fill the frame: shift them less than digits
GRAY_ZOOM = 0.1
PHOTO_ROTATION = 0.1  # +-36 degrees
PHOTO_ZOOM = 0.15
PHOTO_CONTRAST = 0.1
# "strong": random crops zoomed in up to 2x with their own aspect ratio (a random-resized crop),
# smaller turns, colour changes; for Fashion-MNIST, erased patches (cutout)
STRONG_ZOOM = (-0.5, 0.1)  # zoom in up to 50% of the side, out up to 10%, per axis
STRONG_ROTATION = 15 / 360
STRONG_COLOUR = {"brightness_factor": 0.2, "contrast_factor": 0.2, "saturation_factor": (0.3, 0.7)}
ERASED_SCALE = (0.02, 0.15)  # share of the image one erased patch covers
STRONG_STROKE = 5  # digits: strokes dilated up to a 5x5 kernel, as thick brushes draw them
# "elastic" (digits): each digit bent by a smooth random displacement field (Simard, Steinkraus
# and Platt 2003): uniform noise in [-1, 1] per pixel and axis, blurred by a Gaussian of `sigma`
# pixels, scaled by `alpha`. Cireşan et al. (2010)'s values for MNIST with affine changes: the
# pixels move about 1 px (standard deviation), and the digits stay as readable as unbent;
# Simard's alpha 34 with sigma 4 bends one in twenty past reading (bench/README.md, "How far
# the elastic distortion may bend a digit")
ELASTIC_ALPHA = 36.0
ELASTIC_SIGMA = 6.0
MIX_STRENGTH = {"mixup": 0.2, "cutmix": 1.0}  # Beta(a, a) of the share: the papers' values


def batch_mix(mix: str, seed: int | None = None):
    """Keras' MixUp or CutMix layer for `mix` ("mixup" or "cutmix"), or None for "none".

    It takes and returns {"images": batch, "labels": one-hot batch}: MixUp blends each image
    with another of the batch, CutMix pastes a patch of another in, and the labels are mixed
    in the same shares.
    """
    import keras

    if mix == "mixup":
        return keras.layers.MixUp(alpha=MIX_STRENGTH[mix], seed=seed)
    if mix == "cutmix":
        return keras.layers.CutMix(factor=MIX_STRENGTH[mix], seed=seed)
    return None


@functools.cache
def stroke_thickness_class() -> type:
    """Define the StrokeThickness layer on first use, so that importing this module stays cheap."""
    import keras
    import tensorflow as tf

    @keras.saving.register_keras_serializable(package="cnn_lab")
    class StrokeThickness(keras.layers.Layer):
        """Randomly thicken (dilate), thin (erode) or keep the strokes of each image.

        Dilation is a k x k max-pool with stride 1, for k from 2 to `widest`; erosion is a
        2x2 one on the negated image. Each image gets one of: eroded, as it is, or dilated
        by one of the kernels, all equally likely. A no-op when called with training=False.

        Args:
            seed: random seed.
            widest: the largest dilation kernel (2: the standard augmentation; 5 makes strokes
                as thick as a 40 px brush draws on a small digit).
        """

        def __init__(self, seed: int | None = None, widest: int = 2, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.seed = seed
            self.widest = widest

        def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
            if not training:
                return inputs
            choices = [-tf.nn.max_pool2d(-inputs, 2, 1, "SAME"), inputs]
            choices += [tf.nn.max_pool2d(inputs, k, 1, "SAME") for k in range(2, self.widest + 1)]
            pick = tf.random.uniform(
                [tf.shape(inputs)[0], 1, 1, 1], 0, len(choices), dtype=tf.int32, seed=self.seed
            )
            out = choices[0]
            for i, version in enumerate(choices[1:], start=1):
                out = tf.where(pick == i, version, out)
            return out

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "seed": self.seed, "widest": self.widest}

    StrokeThickness.__qualname__ = "StrokeThickness"  # readable repr despite the factory
    return StrokeThickness


def elastic_fields(shape: tf.Tensor, alpha: float, sigma: float, seed: int | None) -> tf.Tensor:
    """Random displacements [batch, height, width, 2] (rows, columns; pixels) for images of
    `shape`: uniform noise in [-1, 1] blurred by a Gaussian of `sigma` px, times `alpha`."""
    import tensorflow as tf

    noise = tf.random.uniform(tf.concat([shape[:3], [2]], 0), -1.0, 1.0, seed=seed)
    radius = max(1, int(3 * sigma))
    taps = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(taps / sigma))
    kernel /= tf.reduce_sum(kernel)
    rows = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, 2, 1])
    cols = tf.tile(tf.reshape(kernel, [1, -1, 1, 1]), [1, 1, 2, 1])
    blurred = tf.nn.depthwise_conv2d(noise, rows, [1, 1, 1, 1], "SAME")
    return alpha * tf.nn.depthwise_conv2d(blurred, cols, [1, 1, 1, 1], "SAME")


def displaced(images: tf.Tensor, fields: tf.Tensor) -> tf.Tensor:
    """Each pixel of `images` [batch, h, w, c] read at its place moved by `fields` [batch, h, w,
    2] (rows, columns; pixels): bilinear, black outside (keras.ops.image.map_coordinates)."""
    import keras
    import tensorflow as tf

    height, width = images.shape[1], images.shape[2]
    rows, cols = tf.meshgrid(
        tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij"
    )

    def bend(pair: tuple[tf.Tensor, tf.Tensor]) -> tf.Tensor:
        image, field = pair  # [h, w, c], [h, w, 2]
        coords = tf.stack([rows + field[..., 0], cols + field[..., 1]])
        channels = tf.unstack(image, axis=-1)
        return tf.stack([keras.ops.image.map_coordinates(c, coords, 1) for c in channels], -1)

    return tf.map_fn(bend, (images, tf.cast(fields, tf.float32)), fn_output_signature=images.dtype)


@functools.cache
def elastic_distortion_class() -> type:
    """Define the ElasticDistortion layer on first use (importing this module stays cheap)."""
    import keras
    import tensorflow as tf

    @keras.saving.register_keras_serializable(package="cnn_lab")
    class ElasticDistortion(keras.layers.Layer):
        """Bend each image by its own smooth random displacement field (Simard et al. 2003).

        Every pixel reads the input at its own place moved by (dy, dx): uniform noise in
        [-1, 1], blurred by a Gaussian of `sigma` pixels (so neighbours move together) and
        scaled by `alpha`. The reading is bilinear (`keras.ops.image.map_coordinates`) and
        outside the image is black. A no-op when called with training=False.

        Not Keras' own `keras.ops.image.elastic_transform` / `RandomElasticTransform` (3.15):
        on the TensorFlow backend its row and column noise are drawn with one seed (the two
        displacements correlate 0.93: pixels move along the diagonal), the noise is scaled
        by sigma as well as alpha (36 / 6 moves pixels ~9 px), and with tf.data's unknown
        batch size it returns a batch of one image; the layer also ties alpha and sigma to
        the image size with one strength per batch.

        Args:
            alpha: strength of the displacement (pixels, before the blur spreads it).
            sigma: width of the Gaussian blur in pixels: larger is smoother.
            seed: random seed.
        """

        def __init__(
            self,
            alpha: float = ELASTIC_ALPHA,
            sigma: float = ELASTIC_SIGMA,
            seed: int | None = None,
            **kwargs: Any,
        ) -> None:
            super().__init__(**kwargs)
            self.alpha = alpha
            self.sigma = sigma
            self.seed = seed

        def displacements(self, shape: tf.Tensor) -> tf.Tensor:
            """[batch, height, width, 2] displacements in pixels (rows, columns)."""
            return elastic_fields(shape, self.alpha, self.sigma, self.seed)

        def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
            if not training:
                return inputs
            return displaced(inputs, self.displacements(tf.shape(inputs)))

        def get_config(self) -> dict[str, Any]:
            config = {"alpha": self.alpha, "sigma": self.sigma, "seed": self.seed}
            return {**super().get_config(), **config}

    ElasticDistortion.__qualname__ = "ElasticDistortion"
    return ElasticDistortion


def augmentation(kind: str, seed: int | None = None) -> keras.Sequential:
    """Random training-time changes for a kind of image, as Keras preprocessing layers.

    Args:
        kind: "digits" (rotation, shift, zoom, stroke thickness), "photos" (flip, rotation,
            zoom, contrast) or "grayscale" (Fashion-MNIST: flip, shift, zoom); with "-strong"
            ("photos-strong": random-resized crops, turns, colour jitter; "digits-strong":
            strokes up to as thick as a 40 px brush draws; "grayscale-strong": erased patches);
            "digits-elastic": "digits-strong" with each digit first bent by a smooth random
            displacement field (elastic distortion).
        seed: Seed for the random layers.

    Returns:
        A keras.Sequential that changes images only when called with training=True and keeps
        values in [0, 1].

    Raises:
        DatasetError: an unknown kind.
    """
    import keras

    def s(offset: int) -> int | None:
        return None if seed is None else seed + offset

    black = {"fill_mode": "constant", "fill_value": 0.0}  # MNIST-style black background
    if kind == "digits":
        layers = [
            keras.layers.RandomRotation(DIGIT_ROTATION, seed=s(0), **black),
            keras.layers.RandomTranslation(DIGIT_SHIFT, DIGIT_SHIFT, seed=s(1), **black),
            keras.layers.RandomZoom(DIGIT_ZOOM, DIGIT_ZOOM, seed=s(2), **black),
            stroke_thickness_class()(seed=s(3)),
        ]
    elif kind == "grayscale":
        layers = [
            keras.layers.RandomFlip("horizontal", seed=s(0)),
            keras.layers.RandomTranslation(GRAY_SHIFT, GRAY_SHIFT, seed=s(1), **black),
            keras.layers.RandomZoom(GRAY_ZOOM, GRAY_ZOOM, seed=s(2), **black),
        ]
    elif kind == "photos-strong":
        layers = [
            keras.layers.RandomFlip("horizontal", seed=s(0)),
            keras.layers.RandomZoom(STRONG_ZOOM, STRONG_ZOOM, seed=s(1)),
            keras.layers.RandomRotation(STRONG_ROTATION, seed=s(2)),
            keras.layers.RandomColorJitter(value_range=(0, 1), seed=s(3), **STRONG_COLOUR),
        ]
    elif kind == "digits-strong":
        layers = [*augmentation("digits", seed).layers[:3]]
        layers.append(stroke_thickness_class()(seed=s(3), widest=STRONG_STROKE))
    elif kind == "digits-elastic":
        bend = elastic_distortion_class()(seed=s(4))
        layers = [bend, *augmentation("digits-strong", seed).layers]
    elif kind == "grayscale-strong":
        layers = [*augmentation("grayscale", seed).layers]
        layers.append(keras.layers.RandomErasing(0.5, ERASED_SCALE, 0.0, (0, 1), seed=s(5)))
    elif kind == "photos":
        layers = [
            keras.layers.RandomFlip("horizontal", seed=s(0)),
            keras.layers.RandomRotation(PHOTO_ROTATION, seed=s(1)),
            keras.layers.RandomZoom(PHOTO_ZOOM, seed=s(2)),
            keras.layers.RandomContrast(PHOTO_CONTRAST, value_range=(0, 1), seed=s(3)),
        ]
    else:
        raise DatasetError(
            f"Unknown augmentation kind '{kind}'; use 'digits', 'grayscale' or 'photos' "
            "(each also with '-strong')."
        )
    return keras.Sequential(layers, name=f"augment_{kind}")
