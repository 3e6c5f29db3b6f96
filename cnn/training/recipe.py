"""The training recipe: what a training does to its batches and weights besides the model.

The optimizer and its learning-rate schedule (a warm-up, then a cosine decay; `adjustable`
makes the rate settable between batches while training runs), weight decay
and the weight average (EMA), the augmentation layers of each kind of image (standard,
strong, elastic; the stroke-thickness layer of our own), image mixing (MixUp, CutMix) and the
distillation targets. `Recipe.of(config, kind)` reads a TrainConfig once into the plain values
these need; the engine (`cnn.training.loop`) hands them on from there.

The exported training script (`cnn.export.script`) holds these functions and layer classes
themselves, copied with `inspect.getsource`, and calls them with its own constants: a function
here may use only its arguments and this module's imports (keras, tensorflow), which the script
imports at its top, and none of the module's constants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import tensorflow as tf

from cnn.datasets import augmentation_name
from cnn.errors import DatasetError
from cnn.i18n import tr
from cnn.training.config import WARMUP_FRACTION, TrainConfig

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
BLACK = {"fill_mode": "constant", "fill_value": 0.0}  # MNIST-style black background


@dataclass(frozen=True)
class Recipe:
    """The recipe a TrainConfig asks for, as plain values (`Recipe.of`)."""

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"  # "cosine": warm up over `warmup_fraction`, then decay to 0
    warmup_fraction: float = WARMUP_FRACTION
    weight_decay: float = 0.0
    ema: float = 0.0  # momentum of the weight average; 0: none
    label_smoothing: float = 0.0
    augmentation: str | None = None  # a kind `augmentation` takes ("digits-strong"); None: none
    mix: str = "none"  # "mixup", "cutmix" or "none"
    mix_strength: float = 0.0  # MixUp's alpha / CutMix's factor
    distill: float = 0.0  # the teachers' share of each target; 0: no teachers
    redraw_strokes: float = 0.0  # share of training digits shown redrawn with the app's pen
    seed: int = 0

    @classmethod
    def of(cls, config: TrainConfig, kind: str | None) -> Recipe:
        """The recipe of `config` for a kind of image ("digits", "grayscale", "photos"; None
        when unknown, which trains without augmentation)."""
        level = config.augmentation
        augment = None if level == "none" or kind is None else augmentation_name(kind, level)
        return cls(
            optimizer=config.optimizer,
            learning_rate=config.learning_rate,
            lr_schedule=config.lr_schedule,
            weight_decay=config.weight_decay,
            ema=config.ema,
            label_smoothing=config.label_smoothing,
            augmentation=augment,
            mix=config.mix,
            mix_strength=MIX_STRENGTH.get(config.mix, 0.0),
            distill=config.distill if config.teachers else 0.0,
            redraw_strokes=config.redraw_strokes,
            seed=config.seed,
        )

    @property
    def one_hot(self) -> bool:
        """Whether labels travel as one-hot rows (smoothing, mixing or teachers need them)."""
        return bool(self.label_smoothing) or self.mix != "none" or bool(self.distill)

    def loss(self) -> keras.losses.Loss:
        """Cross-entropy on one-hot rows (with the label smoothing) or on class indices."""
        if self.one_hot:
            return keras.losses.CategoricalCrossentropy(label_smoothing=self.label_smoothing)
        return keras.losses.SparseCategoricalCrossentropy()

    def optimizer_for(self, total_steps: int) -> keras.optimizers.Optimizer:
        """The recipe's optimizer for a training of `total_steps` steps."""
        return make_optimizer(self.optimizer, self.learning_rate, total_steps, self.lr_schedule,
                              self.warmup_fraction, self.weight_decay, self.ema)  # fmt: skip

    def augmentation_layers(self) -> keras.Sequential | None:
        """The augmentation layers, seeded with the recipe's seed; None without augmentation."""
        return None if self.augmentation is None else augmentation(self.augmentation, self.seed)


def make_optimizer(
    name: str,
    learning_rate: float,
    total_steps: int,
    schedule: str = "constant",
    warmup_fraction: float = 0.0,
    weight_decay: float = 0.0,
    ema: float = 0.0,
) -> keras.optimizers.Optimizer:
    """The optimizer `name` ("adam", "sgd", "rmsprop" or "adadelta") and its schedule.

    schedule "cosine": the rate rises from 0 to `learning_rate` over the first
    `warmup_fraction` of `total_steps`, then falls to 0 along a cosine. weight_decay: decoupled
    weight decay (AdamW for "adam") on the kernels only: biases and batch norm keep their scale.
    ema: keep an exponential moving average of the weights; `fit` swaps it in at its end.
    """
    rate = learning_rate
    if schedule == "cosine":
        warmup = int(warmup_fraction * total_steps)
        rate = keras.optimizers.schedules.CosineDecay(
            0.0, max(1, total_steps - warmup), warmup_target=learning_rate, warmup_steps=warmup
        )
    options = {"learning_rate": rate}
    if weight_decay:
        options["weight_decay"] = weight_decay
    if ema:
        options.update(use_ema=True, ema_momentum=ema)
    factory = {
        "adam": keras.optimizers.AdamW if weight_decay else keras.optimizers.Adam,
        "sgd": lambda **kw: keras.optimizers.SGD(momentum=0.9, **kw),
        "rmsprop": keras.optimizers.RMSprop,
        "adadelta": keras.optimizers.Adadelta,
    }[name]
    optimizer = factory(**options)
    if weight_decay:
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


class AdjustableRate(keras.optimizers.schedules.LearningRateSchedule):
    """A learning-rate schedule a student can overrule while training runs.

    Until `override` is set it is `schedule` itself; once set above 0, every later step uses
    that rate ("from now on the rate is X"): the schedule is not followed any more. The
    override is a variable the compiled training step reads, so it changes between batches
    without tracing the step again.

    Args:
        schedule: the schedule followed until overruled (a `LearningRateSchedule`).
        override: the rate set by hand; 0: none yet.
    """

    def __init__(self, schedule: keras.optimizers.schedules.LearningRateSchedule,
                 override: float = 0.0) -> None:  # fmt: skip
        self.schedule = schedule
        self.override = keras.Variable(override, dtype="float32", trainable=False,
                                       name="lr_override")  # fmt: skip

    def __call__(self, step):
        scheduled = keras.ops.cast(self.schedule(step), "float32")
        return keras.ops.where(self.override > 0, self.override, scheduled)

    def get_config(self) -> dict[str, Any]:
        return {"schedule": keras.optimizers.schedules.serialize(self.schedule),
                "override": float(self.override)}  # fmt: skip

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AdjustableRate:
        schedule = keras.optimizers.schedules.deserialize(config["schedule"])
        return cls(schedule, config.get("override", 0.0))


def adjustable(optimizer: keras.optimizers.Optimizer) -> Callable[[float], None]:
    """Make `optimizer`'s learning rate settable between batches, schedule or not; returns
    the function that sets it. Call before the first training step (before `fit` traces it).

    A constant rate is the optimizer's own variable; a schedule (warm-up and cosine) is
    wrapped in an `AdjustableRate`, which keeps following it until the first change.
    """
    rate = optimizer.get_config()["learning_rate"]
    if not isinstance(rate, dict):  # a plain number: Keras keeps it in a settable variable

        def set_constant(value: float) -> None:
            optimizer.learning_rate = value

        return set_constant
    wrapped = AdjustableRate(keras.optimizers.schedules.deserialize(rate))
    optimizer.learning_rate = wrapped
    return wrapped.override.assign


def mixed(batches: tf.data.Dataset, mix: str, strength: float, seed: int | None) -> tf.data.Dataset:
    """`batches` of (images, one-hot labels) with pairs of images blended, and their labels in
    the same shares: "mixup" blends each image with another of its batch (MixUp's alpha
    `strength`), "cutmix" pastes a patch of another in (CutMix's factor); "none": unchanged."""
    if mix == "none":
        return batches
    if mix == "mixup":
        layer = keras.layers.MixUp(alpha=strength, seed=seed)
    else:
        layer = keras.layers.CutMix(factor=strength, seed=seed)

    def blend(x, y):
        batch = layer({"images": x, "labels": y}, training=True)
        return batch["images"], batch["labels"]

    return batches.map(blend)


def distilled(
    batches: tf.data.Dataset, answer: Callable[[tf.Tensor], tf.Tensor], share: float
) -> tf.data.Dataset:
    """`batches` of (images, one-hot or mixed labels) with each label row replaced by
    `(1 - share) * label + share * answer(images)`: the teachers' class probabilities for the
    very images the model is shown (knowledge distillation, Hinton et al. 2015)."""

    def targets(x, y):
        return x, (1.0 - share) * y + share * answer(x)

    return batches.map(targets)


class StrokeThickness(keras.layers.Layer):
    """Randomly thicken (dilate), thin (erode) or keep the strokes of each image.

    Dilation is a k x k max-pool with stride 1, for k from 2 to `widest`; erosion is a 2x2 one
    on the negated image. Each image gets one of: eroded, as it is, or dilated by one of the
    kernels, all equally likely. A no-op when called with training=False.

    Args:
        seed: random seed.
        widest: the largest dilation kernel (2: the standard augmentation; 5 makes strokes as
            thick as a 40 px brush draws on a small digit).
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


def elastic_fields(shape: tf.Tensor, alpha: float, sigma: float, seed: int | None) -> tf.Tensor:
    """Random displacements [batch, height, width, 2] (rows, columns; pixels) for images of
    `shape`: uniform noise in [-1, 1] blurred by a Gaussian of `sigma` px, times `alpha`."""
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


class ElasticDistortion(keras.layers.Layer):
    """Bend each image by its own smooth random displacement field (Simard et al. 2003).

    Every pixel reads the input at its own place moved by (dy, dx): uniform noise in [-1, 1],
    blurred by a Gaussian of `sigma` pixels (so neighbours move together) and scaled by
    `alpha`. The reading is bilinear (`keras.ops.image.map_coordinates`) and outside the image
    is black. A no-op when called with training=False.

    Not Keras' own `keras.ops.image.elastic_transform` / `RandomElasticTransform` (3.15): on
    the TensorFlow backend its row and column noise are drawn with one seed (the two
    displacements correlate 0.93: pixels move along the diagonal), the noise is scaled by sigma
    as well as alpha (36 / 6 moves pixels ~9 px), and with tf.data's unknown batch size it
    returns a batch of one image; the layer also ties alpha and sigma to the image size with
    one strength per batch.

    Args:
        alpha: strength of the displacement (pixels, before the blur spreads it).
        sigma: width of the Gaussian blur in pixels: larger is smoother.
        seed: random seed.
    """

    def __init__(self, alpha: float, sigma: float, seed: int | None = None, **kwargs: Any) -> None:
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


# registered here, not by a decorator, so that the script's copies of the classes stay plain:
# a model holding either layer still loads with safe_mode=True
keras.saving.register_keras_serializable(package="cnn_lab")(StrokeThickness)
keras.saving.register_keras_serializable(package="cnn_lab")(ElasticDistortion)
keras.saving.register_keras_serializable(package="cnn_lab")(AdjustableRate)  # in a compile config


def _digit_layers(s: Callable[[int], int | None], widest: int = 2) -> list:
    return [
        keras.layers.RandomRotation(DIGIT_ROTATION, seed=s(0), **BLACK),
        keras.layers.RandomTranslation(DIGIT_SHIFT, DIGIT_SHIFT, seed=s(1), **BLACK),
        keras.layers.RandomZoom(DIGIT_ZOOM, DIGIT_ZOOM, seed=s(2), **BLACK),
        StrokeThickness(seed=s(3), widest=widest),
    ]


def _grayscale_layers(s: Callable[[int], int | None]) -> list:
    return [
        keras.layers.RandomFlip("horizontal", seed=s(0)),
        keras.layers.RandomTranslation(GRAY_SHIFT, GRAY_SHIFT, seed=s(1), **BLACK),
        keras.layers.RandomZoom(GRAY_ZOOM, GRAY_ZOOM, seed=s(2), **BLACK),
    ]


def _photo_layers(s: Callable[[int], int | None]) -> list:
    return [
        keras.layers.RandomFlip("horizontal", seed=s(0)),
        keras.layers.RandomRotation(PHOTO_ROTATION, seed=s(1)),
        keras.layers.RandomZoom(PHOTO_ZOOM, seed=s(2)),
        keras.layers.RandomContrast(PHOTO_CONTRAST, value_range=(0, 1), seed=s(3)),
    ]


def _strong_photo_layers(s: Callable[[int], int | None]) -> list:
    return [
        keras.layers.RandomFlip("horizontal", seed=s(0)),
        keras.layers.RandomZoom(STRONG_ZOOM, STRONG_ZOOM, seed=s(1)),
        keras.layers.RandomRotation(STRONG_ROTATION, seed=s(2)),
        keras.layers.RandomColorJitter(value_range=(0, 1), seed=s(3), **STRONG_COLOUR),
    ]


AUGMENTATIONS: dict[str, Callable[[Callable[[int], int | None]], list]] = {
    "digits": _digit_layers,
    "digits-strong": lambda s: _digit_layers(s, widest=STRONG_STROKE),
    "digits-elastic": lambda s: [
        ElasticDistortion(ELASTIC_ALPHA, ELASTIC_SIGMA, seed=s(4)),
        *_digit_layers(s, widest=STRONG_STROKE),
    ],
    "grayscale": _grayscale_layers,
    "grayscale-strong": lambda s: [
        *_grayscale_layers(s),
        keras.layers.RandomErasing(0.5, ERASED_SCALE, 0.0, (0, 1), seed=s(5)),
    ],
    "photos": _photo_layers,
    "photos-strong": _strong_photo_layers,
}


def augmentation(kind: str, seed: int | None = None) -> keras.Sequential:
    """Random training-time changes for a kind of image, as Keras preprocessing layers.

    Args:
        kind: "digits" (rotation, shift, zoom, stroke thickness), "photos" (flip, rotation,
            zoom, contrast) or "grayscale" (Fashion-MNIST: flip, shift, zoom); with "-strong"
            ("photos-strong": random-resized crops, turns, colour jitter; "digits-strong":
            strokes up to as thick as a 40 px brush draws; "grayscale-strong": erased patches);
            "digits-elastic": "digits-strong" with each digit first bent by a smooth random
            displacement field (elastic distortion).
        seed: Seed for the random layers (each layer its own: seed, seed + 1, ...).

    Returns:
        A keras.Sequential that changes images only when called with training=True and keeps
        values in [0, 1].

    Raises:
        DatasetError: an unknown kind.
    """
    if kind not in AUGMENTATIONS:
        raise DatasetError(
            tr(
                "Unknown augmentation kind '{kind}'; use 'digits', 'grayscale' or 'photos' (each "
                "also with '-strong')."
            ).format(kind=kind)
        )

    def s(offset: int) -> int | None:
        return None if seed is None else seed + offset

    return keras.Sequential(AUGMENTATIONS[kind](s), name=f"augment_{kind}")
