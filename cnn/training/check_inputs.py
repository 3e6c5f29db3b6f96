"""The inputs the unfamiliar-input check reads that do not depend on the trained weights,
prepared once and kept in the cache folder (`cnn.array_cache`):

- the classroom foreign set through the Predict page's preprocessing (`cnn.foreign`);
- a digit run's test digits drawn on the canvas and read back (`cnn.drawn`).

Preparing them took most of the check's time (about 6 s of a digit run's 17 s on 2 cores:
every photo through the digit finder, every drawing rendered and traced), and a class trains
the same data with the same preprocessing again and again. The cache keys hold what the
inputs are made from (the drawn digits' own pixels; for the foreign set its seed and where
the photo sets it borrows load from), the preprocessing record and the source of the modules
that prepare them, so anything that changes them prepares afresh.
"""

from __future__ import annotations

import numpy as np

from cnn import array_cache, datasets

CODE = ("cnn.foreign", "cnn.drawn", "cnn.preprocess", "cnn.images", "cnn.geometry", "cnn.strokes")
N_DRAWN = 300  # a digit run's test digits drawn on the canvas, to count false alarms


def _photo_sources(dataset_key: str) -> list[str]:
    """Where the other shipped photo sets the foreign set borrows would load from (cheap:
    `cnn.datasets.availability` decodes nothing), or [] when none is borrowed."""
    from cnn import foreign

    if dataset_key == "folder":
        return []
    return [str(datasets.availability(k)) for k in foreign.PHOTO_DATASETS if k != dataset_key]


def foreign_set(dataset_key: str, preprocessing: dict):
    """(`cnn.foreign.Prepared`, the set's description) for a run of `dataset_key`.

    The key holds what the set is made from without making it (making it reads the other
    photo sets' folders, a second on 2 cores): the dataset, the foreign set's seed, where
    the borrowed photo sets load from, the preprocessing record and the code.
    """
    from cnn import foreign

    key = array_cache.digest(
        dataset_key, foreign.SEED, _photo_sources(dataset_key), preprocessing,
        array_cache.code_digest(*CODE),
    )  # fmt: skip

    def compute() -> dict[str, np.ndarray]:
        classroom = foreign.classroom(dataset_key)
        ready = foreign.prepare(classroom.items, preprocessing)
        return {
            "inputs": ready.inputs,
            "kinds": np.array(ready.kinds, dtype=str),
            "names": np.array(ready.names, dtype=str),
            "refused_photo": np.array(ready.refused["photo"]),
            "refused_drawing": np.array(ready.refused["drawing"]),
            "description": np.array(classroom.description),
        }

    arrays = array_cache.cached(array_cache.cache_file("foreign", key), compute)
    refused = {"photo": int(arrays["refused_photo"]), "drawing": int(arrays["refused_drawing"])}
    ready = foreign.Prepared(
        arrays["inputs"].astype(np.float32),
        [str(k) for k in arrays["kinds"]],
        [str(n) for n in arrays["names"]],
        refused,
    )
    return ready, str(arrays["description"])


def drawn_digits(data: datasets.Dataset, preprocessing: dict, seed: int) -> np.ndarray | None:
    """N_DRAWN of a digit run's own test images drawn on the canvas and read back through the
    page's drawing path (`cnn.drawn`), or None for other runs."""
    test = data.test
    if data.info.kind != "digits" or test.images is None:
        return None
    picked = datasets.stratified_subset(test, N_DRAWN, seed)
    key = array_cache.digest(
        np.asarray(picked.images), seed, preprocessing, array_cache.code_digest(*CODE)
    )

    def compute() -> dict[str, np.ndarray]:
        from cnn import drawn, preprocess

        inputs = []
        for picture, paths in drawn.digit_drawings(picked.images, seed):
            try:
                inputs.append(preprocess.prepare_drawing(picture, preprocessing, paths).input)
            except preprocess.PreprocessError:
                continue  # a digit too small to draw (the page would ask for a larger one)
        shape = (0, *preprocessing["image_size"], preprocessing["channels"])
        return {"inputs": np.stack(inputs) if inputs else np.zeros(shape, np.float32)}

    inputs = array_cache.cached(array_cache.cache_file("drawn", key), compute)["inputs"]
    return inputs.astype(np.float32) if len(inputs) else None
