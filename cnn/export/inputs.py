"""Real images to check an exported model against the Keras one, prepared as in training.

In order: test images of the run's own data (when it is on this machine), the misclassified
test images kept with the run (errors.npz), the example photos bundled with the project.
Each becomes a model input through `cnn.geometry.fit`, the function the training pipeline
uses, so the exported file is compared on what the model really receives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn import artifacts, datasets, geometry, preprocess
from cnn.errors import CnnError, ExportError
from cnn.i18n import tr, trn

REFERENCE_IMAGES = 16  # images an exported model is compared on


@dataclass
class ReferenceInputs:
    """Model inputs and where they came from (a phrase for people)."""

    images: np.ndarray  # float32 (n, h, w, c) in [0, 1]
    source: str


def _fitted(images: list[np.ndarray], size: tuple[int, int], channels: int) -> np.ndarray:
    fitted = [geometry.fit(image, size, channels) for image in images]
    return np.stack(fitted).astype(np.float32) / 255


def reference_inputs(run: artifacts.Run, n: int = REFERENCE_IMAGES) -> ReferenceInputs:
    """Up to `n` real images of the run's data as model inputs.

    Raises:
        ExportError: no real image of any kind is available on this computer.
    """
    record = run.record
    size = (record.preprocessing.image_size[0], record.preprocessing.image_size[1])
    channels = record.preprocessing.channels
    key = record.dataset.key
    try:
        data = datasets.load(key, record.config.data if key == "folder" else None, download=False)
        split = datasets.stratified_subset(data.test, n, seed=0)
        images = [split.image(i) for i in range(len(split))]
        return ReferenceInputs(
            _fitted(images, size, channels),
            trn("{n} test image of {title}", "{n} test images of {title}", len(images)).format(
                title=data.info.title
            ),
        )
    except CnnError:
        pass  # the data is not on this computer: the images kept with the run come next
    errors = artifacts.load_errors(run.info.path)
    if errors is not None and len(errors["images"]):
        images = list(errors["images"][:n])
        return ReferenceInputs(
            _fitted(images, size, channels),
            trn(
                "{n} test image kept with the run", "{n} test images kept with the run", len(images)
            ),
        )
    samples = artifacts.sample_images(key)[:n]
    if samples:
        images = [preprocess.load_image(path) for path in samples]
        return ReferenceInputs(
            _fitted(images, size, channels),
            trn("{n} bundled example image", "{n} bundled example images", len(images)),
        )
    raise ExportError(
        tr(
            "No real image of this model's data is on this computer to check the exported "
            "file with, so it is not offered."
        )
    )
