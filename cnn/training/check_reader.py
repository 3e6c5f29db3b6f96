"""The unfamiliar-input check's reading of many images: features, logits and the "layers"
score's `cnn.ood.stage_features`, with the feature maps summed inside one compiled
TensorFlow function, so they never leave it.

The page reads one image through `cnn.inspect.Inspector.run_batch` and sums its maps with
`stage_features` in numpy; the check reads some 15,000 (training, test, foreign and drawn
images) after every training, and copying every map out and summing it in numpy was the
biggest part of a short training's check (about 4 of its 7 CPU-seconds on a fast_cnn digit
run). Here only each kept map's per-channel mean and spread leave TensorFlow; the same
maps are kept (the last at each image size) and a test holds the numbers to the page's.

Example:
    >>> reader = BatchReader(model)
    >>> features, logits, stages = reader(images)
"""

from __future__ import annotations

import numpy as np


def kept_maps(shapes: list[tuple[int, ...]]) -> list[int]:
    """Indices of the maps `cnn.ood.stage_features` keeps, in its order: at each image
    size (h, w) the last map of that size, sizes ordered by where they were last seen."""
    last: dict[tuple[int, int], int] = {}
    for i, shape in enumerate(shapes):
        if len(shape) == 3:
            last.pop(tuple(shape[:2]), None)
            last[tuple(shape[:2])] = i
    return list(last.values())


class BatchReader:
    """A model's features (n, d), logits (n, k) and stage features (one (n, 2c) per size)
    for a batch, in one compiled call (not for mirrored reading: use the Inspector then)."""

    def __init__(self, model):
        import tensorflow as tf

        from cnn.inspect import Inspector, multi_output_model, softmax_dense

        self.model = model
        head = softmax_dense(model)
        taps = [tap for _, _, tap in Inspector(model, jit_compile=False).feature_map_layers]
        multi = multi_output_model(model, taps, head)
        shapes = [tuple(output.shape[1:]) for output in multi.outputs[:-2]]
        kept = kept_maps(shapes)
        spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32)

        @tf.function(input_signature=[spec], reduce_retracing=True)
        def read(images):
            results = multi(images, training=False)
            stages = [
                tf.concat(
                    [tf.reduce_mean(results[i], [1, 2]), tf.math.reduce_std(results[i], [1, 2])],
                    axis=1,
                )
                for i in kept
            ]
            return results[-2], results[-1], stages

        self._read = read

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        from cnn.inspect import logits_of

        features, probabilities, stages = self._read(np.asarray(images, np.float32))
        features = features.numpy().reshape(len(images), -1)
        logits = logits_of(self.model, features, probabilities.numpy())
        pooled = []
        for both in stages:
            both = both.numpy().astype(np.float64)
            pooled.append(np.sign(both) * np.log1p(np.abs(both)))
        return features, logits, pooled
