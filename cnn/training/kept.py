"""The test images a run keeps beside its model (errors.npz): picked in turn from each class,
and shrunk to thumbnails as the model saw them. Used by `cnn.training.loop.tested`."""

from __future__ import annotations

import numpy as np

from cnn import datasets, geometry

THUMBNAIL_SIDE = 64  # a kept image's largest side in pixels


def spread_over_classes(
    indices: np.ndarray, labels: np.ndarray, n: int, per_class: int | None = None
) -> np.ndarray:
    """Up to n of `indices` (and `per_class` of each class), taken in turn from each true class
    (test sets are often sorted by class)."""
    by_class = [indices[labels[indices] == c] for c in np.unique(labels[indices])]
    rounds = n if per_class is None else min(n, per_class)
    picked = [group[i] for i in range(rounds) for group in by_class if i < len(group)]
    return np.sort(np.asarray(picked[:n], dtype=np.int64))


def thumbnails(split: datasets.Split, input_shape: tuple[int, int, int]) -> np.ndarray:
    """The images as the model saw them (uint8), at most THUMBNAIL_SIDE pixels a side."""
    h, w, channels = input_shape
    scale = min(1.0, THUMBNAIL_SIDE / max(h, w))
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    if len(split) == 0:
        return np.zeros((0, *size, channels), np.uint8)
    batches = datasets.make_pipeline(split, (h, w), channels, 64)
    images = np.concatenate([np.asarray(x) for x, _ in batches])
    return np.stack(
        [geometry.fit(image, size, channels) for image in (images * 255).round().astype(np.uint8)]
    )
