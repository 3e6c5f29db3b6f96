"""tf.data pipelines: a split streamed as batches of model input.

Photos are decoded by `cnn.preprocess.load_image` and fitted by `cnn.geometry.fit`, the same
two functions the Predict page uses, so training and prediction see the same pixels. Images
travel as uint8 and become float32 one batch at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from cnn import geometry, settings
from cnn.datasets.splits import Split

if TYPE_CHECKING:
    import tensorflow as tf

PHOTO_SHUFFLE_BUFFER = 2048  # cached photos shuffled within this many images (uint8)


def cache_budget() -> int:
    """Bytes of decoded uint8 photos a training pipeline may keep in memory (read per call)."""
    return settings.current().cache_budget


def decode_photo(path: bytes | str, size: tuple[int, int], channels: int) -> np.ndarray:
    """One image file as uint8 model input: decoded and fitted exactly as on Predict."""
    from cnn.preprocess import load_image

    path = path.decode() if isinstance(path, bytes) else path
    return geometry.fit(load_image(path), size, channels)


def _fit_batch(images: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    return np.stack([geometry.fit(image, size, channels) for image in images])


def make_pipeline(
    split: Split,
    image_size: tuple[int, int],
    channels: int,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    augment: Callable[..., Any] | None = None,
    counted: bool | None = None,
    alternates: np.ndarray | None = None,
    alternate_share: float = 0.0,
) -> tf.data.Dataset:
    """Stream a split as batches of model input.

    In-memory splits are shuffled as indices and gathered a batch at a time. Photos of a
    shuffled (training) split are decoded once, before the first epoch, and kept in memory
    when their decoded uint8 copies fit in `cache_budget()`; larger sets, and unshuffled
    (validation, test) splits, are decoded as they stream. A file that cannot be decoded is
    dropped, not fatal.

    Args:
        split: Arrays or file paths.
        image_size: Model input (height, width).
        channels: 1 (grayscale) or 3 (RGB).
        batch_size: Samples per batch.
        shuffle: Reshuffle every epoch, with `seed`.
        seed: Seed for shuffling and for picking alternates.
        augment: None, or layers applied to each batch with training=True, values kept in
            [0, 1] (`cnn.training.recipe.augmentation`).
        counted: Count the decodable photos once, so the pipeline's length is known (Keras
            needs it for anything it iterates in `fit`); default: when shuffled.
        alternates: another version of each image of an in-memory split (same shape), for
            example the digits redrawn (`cnn.strokes.redrawn_digits`).
        alternate_share: the chance that a batch takes an image's alternate instead, drawn
            afresh for every image every epoch.

    Returns:
        A tf.data.Dataset of (float32 (b, h, w, channels) in [0, 1], int64 (b,)).
    """
    import tensorflow as tf

    size = (int(image_size[0]), int(image_size[1]))
    counted = shuffle if counted is None else counted
    labels = tf.constant(split.labels, dtype=tf.int64)
    if split.images is not None:
        ds = _array_batches(split, labels, size, channels, batch_size, shuffle, seed,
                            alternates, alternate_share)  # fmt: skip
    else:
        ds = _photo_batches(split, labels, size, channels, batch_size, shuffle, seed, counted)
    return _as_model_input(ds, augment).prefetch(tf.data.AUTOTUNE)


def _as_model_input(ds: tf.data.Dataset, augment: Callable[..., Any] | None) -> tf.data.Dataset:
    """uint8 batches as float32 in [0, 1], augmented when `augment` is given."""
    import tensorflow as tf

    ds = ds.map(
        lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE
    )
    if augment is None:
        return ds
    return ds.map(
        lambda x, y: (tf.clip_by_value(augment(x, training=True), 0.0, 1.0), y),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def _array_batches(
    split, labels, size, channels, batch_size, shuffle, seed, alternates=None, share=0.0
):
    """uint8 arrays: shuffle indices, gather a batch (each image, or its alternate `share` of
    the time), fit it only when its shape differs."""
    import tensorflow as tf

    images = tf.constant(split.images)
    if alternates is not None:
        if alternates.shape != split.images.shape:
            raise ValueError("The alternate images must have the split's shape.")
        alternates = tf.constant(alternates)
    ds = tf.data.Dataset.range(len(split))
    if shuffle:
        ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    fitted = split.images.shape[1:] == (*size, channels)

    def gather(i):
        batch = tf.gather(images, i)
        if alternates is not None:
            pick = tf.random.uniform([tf.shape(i)[0], 1, 1, 1], seed=seed) < share
            batch = tf.where(pick, tf.gather(alternates, i), batch)
        if not fitted:
            batch = tf.numpy_function(lambda b: _fit_batch(b, size, channels), [batch], tf.uint8)
            batch.set_shape([None, *size, channels])
        return batch, tf.gather(labels, i)

    return ds.batch(batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE)


def _photo_batches(split, labels, size, channels, batch_size, shuffle, seed, counted):
    """Files: decode (dropping broken ones), cache a training split that fits, batch."""
    import tensorflow as tf

    n = len(split)

    def decode(path, label):
        image = tf.numpy_function(lambda p: decode_photo(p, size, channels), [path], tf.uint8)
        image.set_shape([*size, channels])
        return image, label

    ds = tf.data.Dataset.from_tensor_slices((split.paths.astype(str), labels))
    # only a training split (shuffled, read every epoch) is worth its memory: the test
    # split is read once, and the validation split is small enough to decode each epoch
    cache = shuffle and n * size[0] * size[1] * channels <= cache_budget()
    if shuffle and not cache:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.ignore_errors()  # a file that broke after loading is dropped, not fatal
    if cache:
        ds = ds.cache()
    if counted:
        # one pass counts the photos that decode (and fills the cache): Keras then knows an
        # epoch's length instead of warning "Your input ran out of data" at its end
        count = ds.reduce(np.int64(0), lambda count, _: count + 1)
        ds = ds.apply(tf.data.experimental.assert_cardinality(count))
    if cache:
        ds = ds.shuffle(min(n, PHOTO_SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size)
