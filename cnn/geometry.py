"""One geometry from a picture to a model input: centre crop, resize, channel count.

The training pipeline (`cnn.datasets.pipeline`), the Predict path (`cnn.preprocess`) and the
thumbnails the app shows all call these functions, so a photo becomes the same pixels
whichever way it reaches the model. OpenCV only: area averaging when shrinking (no
aliasing), bilinear when enlarging, and OpenCV's RGB-to-gray weights.
"""

from __future__ import annotations

import cv2
import numpy as np


def centre_crop(image: np.ndarray, aspect: float) -> np.ndarray:
    """The largest centred crop of `image` with width / height == aspect.

    Args:
        image: (h, w) or (h, w, c) array.
        aspect: wanted width divided by height (1.0 for a square).

    Returns:
        A view of `image`.
    """
    height, width = image.shape[:2]
    if width / height > aspect:
        new_width = max(1, round(height * aspect))
        start = (width - new_width) // 2
        return image[:, start : start + new_width]
    new_height = max(1, round(width / aspect))
    start = (height - new_height) // 2
    return image[start : start + new_height]


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to (height, width): area averaging when shrinking, bilinear when enlarging.

    An image already at `size` is returned unchanged. The channel axis of an (h, w, 1) image
    is kept.
    """
    height, width = int(size[0]), int(size[1])
    if image.shape[:2] == (height, width):
        return image
    shrinking = image.shape[0] > height
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    resized = cv2.resize(image, (width, height), interpolation=interpolation)
    return resized[:, :, None] if image.ndim == 3 and resized.ndim == 2 else resized


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """uint8 (h, w, c) with c in {1, 3} as `channels` deep (OpenCV's gray weights)."""
    have = 1 if image.ndim == 2 else image.shape[2]
    if have == channels:
        return image if image.ndim == 3 else image[:, :, None]
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[:, :, None]
    gray = image if image.ndim == 2 else image[:, :, 0]
    return np.repeat(gray[:, :, None], 3, axis=2)


def fit(image: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    """A uint8 picture as a model input of (height, width, channels), still uint8.

    Centre-cropped to the model's aspect ratio, resized, converted to `channels`.
    """
    height, width = int(size[0]), int(size[1])
    cropped = centre_crop(image, width / height)
    return to_channels(resize(cropped, (height, width)), channels)


def thumbnail(image: np.ndarray, side: int) -> np.ndarray:
    """A square uint8 thumbnail of `side` pixels, channels kept (same crop and resize)."""
    channels = 1 if image.ndim == 2 else image.shape[2]
    return fit(image, (side, side), channels)
