"""Learned filters as pictures: numpy only at import, so a page can show them without
TensorFlow (`filters` reads a Keras model's conv kernels, importing Keras when called)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras


def filters(model: keras.Model) -> list[tuple[str, np.ndarray]]:
    """The learned kernels of every Conv2D layer.

    Args:
        model: a built Keras model.

    Returns:
        (layer name, float32 kernel of shape (kh, kw, in_channels, out_channels)) per conv layer.
    """
    import keras

    return [
        (layer.name, np.asarray(layer.kernel, dtype=np.float32))
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D)
    ]


def filter_images(kernel: np.ndarray) -> np.ndarray:
    """Turn a conv kernel into one small image per filter, for display.

    Each filter is scaled to [0, 1] on its own (min -> 0, max -> 1; a constant filter
    becomes 0.5), so weak and strong filters are equally visible.

    Args:
        kernel: (kh, kw, in_channels, out_channels) as returned by `filters`.

    Returns:
        float32 (out_channels, kh, kw, 3) when in_channels == 3 (shown as RGB), else
        (out_channels, kh, kw) averaged over the input channels.
    """
    kernel = np.asarray(kernel, dtype=np.float32)
    if kernel.ndim != 4:
        raise ValueError(f"A conv kernel has 4 dimensions (kh, kw, in, out), got {kernel.shape}.")
    images = np.moveaxis(kernel, -1, 0)  # (out, kh, kw, in)
    if images.shape[-1] != 3:
        images = images.mean(axis=-1)
    axes = tuple(range(1, images.ndim))
    low = images.min(axis=axes, keepdims=True)
    span = images.max(axis=axes, keepdims=True) - low
    scaled = np.where(span > 0, (images - low) / np.where(span > 0, span, 1.0), 0.5)
    return scaled.astype(np.float32)
