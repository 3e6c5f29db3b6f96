"""A run's preprocessing record, checked before any input is prepared for its model.

run.json says how inputs were made for training (`method`, `image_size`, `channels`);
`cnn.preprocess` reads it through `check_record`, so a damaged or foreign record becomes one
`PreprocessError` sentence instead of a wrong input. Records written before the method names
were the kinds of images ("mnist_digit", "grayscale_item", "photo") are read with
`cnn.datasets.info.RENAMED_METHODS`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnn.datasets.info import RENAMED_METHODS
from cnn.errors import PreprocessError
from cnn.i18n import tr

METHODS = ("digits", "grayscale", "photos")  # preprocessing methods a run can record
MAX_MODEL_SIDE = 1024  # largest model input side accepted from a preprocessing record


def check_record(preprocessing: Any) -> tuple[str, tuple[int, int], int]:
    """Validate a run's preprocessing record: (method, (height, width), channels)."""
    if not isinstance(preprocessing, dict):
        raise PreprocessError(
            tr("This model has no preprocessing record, so inputs cannot be prepared.")
        )
    method = RENAMED_METHODS.get(preprocessing.get("method"), preprocessing.get("method"))
    if method not in METHODS:
        raise PreprocessError(
            tr(
                "This model uses an unknown preprocessing method ({method}); known methods are "
                "{known}."
            ).format(method=repr(method), known=", ".join(METHODS))
        )
    return (
        method,
        check_image_size(preprocessing.get("image_size")),
        check_channels(preprocessing.get("channels")),
    )


def check_image_size(image_size: Any) -> tuple[int, int]:
    """(height, width) as two ints in 1..MAX_MODEL_SIDE, or PreprocessError."""
    valid = (
        isinstance(image_size, list | tuple)
        and len(image_size) == 2
        and all(_is_int(side) and 1 <= side <= MAX_MODEL_SIDE for side in image_size)
    )
    if not valid:
        raise PreprocessError(
            tr(
                "The model's image size {size} is not valid: it must be [height, width] "
                "with each side between 1 and {most}."
            ).format(size=repr(image_size), most=MAX_MODEL_SIDE)
        )
    return int(image_size[0]), int(image_size[1])


def check_channels(channels: Any) -> int:
    """1 or 3, or PreprocessError."""
    if not _is_int(channels) or channels not in (1, 3):
        raise PreprocessError(
            tr(
                "The model's channel count {channels} is not valid: it must be 1 (gray) or 3 (RGB)."
            ).format(channels=repr(channels))
        )
    return int(channels)


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)
