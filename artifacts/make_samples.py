"""Write the bundled sample images (artifacts/samples/<dataset>/<class>__<n>.png|jpg).

They let Predict's "Samples" input and the shipped-model tests work on a machine with no
dataset at all. Every sample comes from a split the shipped models never trained on: the
official MNIST / Fashion-MNIST test sets, the cats vs dogs validation photos and the
held-out 20% of Flowers-17. Run once with the real data present:

    CNN_DATA_DIR=../shared/data PYTHONPATH=. python artifacts/make_samples.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2

from cnn import datasets

SAMPLES = Path(__file__).resolve().parent / "samples"
PER_CLASS = {"mnist": 2, "fashion_mnist": 1, "cats_vs_dogs": 3, "flowers17": 1}
PHOTO_SIDE = 256  # photos are shrunk so their shorter side is this many pixels


def write_samples(key: str, per_class: int) -> int:
    """Copy the first `per_class` test images of every class; returns how many were written."""
    data = datasets.load(key, download=False)
    folder = SAMPLES / key
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    written = 0
    for label, name in enumerate(data.class_names):
        safe = name.replace("/", "-").replace(" ", "_")
        for n, index in enumerate((data.test.labels == label).nonzero()[0][:per_class]):
            image = data.test.image(int(index))
            if data.test.paths is None:
                cv2.imwrite(str(folder / f"{safe}__{n}.png"), image)
            else:
                scale = PHOTO_SIDE / min(image.shape[:2])
                size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
                small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
                bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
                cv2.imwrite(str(folder / f"{safe}__{n}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
            written += 1
    return written


if __name__ == "__main__":
    for key, per_class in PER_CLASS.items():
        print(key, write_samples(key, per_class))
