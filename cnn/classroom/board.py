"""What the teacher's board computes with the models: the wall's answers and one confusion
matrix summed over the class's runs of a dataset.

Both call the models as `cnn.evaluate` does (`model(x, training=False)`, batched), never
`model.predict`. A wall picture is prepared for a run exactly as Predict prepares it: a
drawing with `prepare_drawing`, a photo or file with `prepare_upload`, by the run's own
preprocessing record, so the answer on the board is the answer Predict gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cnn import artifacts
from cnn.classroom.pictures import wall_pixels
from cnn.i18n import tr

TEST_IMAGES = 500  # the first this many test images of a dataset: the same for every run
BATCH = 100


@dataclass(frozen=True)
class WallAnswer:
    """A run's answer to one wall picture (`answer` is None when it cannot read it)."""

    submission: int
    answer: str | None
    right: bool
    problem: str | None = None


@dataclass
class SummedConfusion:
    """One confusion matrix summed over runs of a dataset, on the same test images.

    Attributes:
        class_names: the dataset's classes (rows: true, columns: predicted).
        matrix: int64 (k, k), the sum of every run's confusion matrix.
        runs: (run id, accuracy) of each run counted.
        images: how many test images each run read.
        skipped: a sentence per run that could not be counted.
    """

    class_names: list[str]
    matrix: np.ndarray
    runs: list[tuple[int, float]] = field(default_factory=list)
    images: int = 0
    skipped: list[str] = field(default_factory=list)


def prepared_input(run: artifacts.Run, png: bytes, drawn: bool) -> np.ndarray:
    """A wall picture as `run` receives it (float32 (h, w, c)), prepared as on Predict."""
    from cnn import preprocess

    pixels = wall_pixels(png)
    if drawn:
        return preprocess.prepare_drawing(pixels, run.preprocessing).input
    return preprocess.prepare_upload(pixels, run.preprocessing).input


def wall_answers(
    run: artifacts.Run, pictures: Sequence[tuple[int, bytes, bool, str]]
) -> list[WallAnswer]:
    """The run's answer to each (submission id, PNG, drawn, label): the class Predict would
    name (the top class; a temperature never changes it) and whether it is the label given."""
    from cnn.errors import PreprocessError

    ready, answers = [], {}
    for sid, png, drawn, label in pictures:
        try:
            ready.append((sid, label, prepared_input(run, png, drawn)))
        except PreprocessError as err:
            answers[sid] = WallAnswer(sid, None, False, str(err))
    if ready:
        x = np.stack([x for _, _, x in ready])
        probs = forward(run.model, x)
        if run.record.config.mirror:  # a run read with its mirror images, as Predict reads it
            probs = (probs + forward(run.model, x[:, :, ::-1])) / 2
        for (sid, label, _), p in zip(ready, probs, strict=True):
            name = run.class_names[int(np.argmax(p))]
            answers[sid] = WallAnswer(sid, name, name == label)
    return [answers[sid] for sid, *_ in pictures]


def forward(model, images: np.ndarray) -> np.ndarray:
    """The model's probabilities (n, k) for images (n, h, w, c), BATCH at a time."""
    import tensorflow as tf

    out = [
        np.asarray(model(tf.convert_to_tensor(images[i : i + BATCH]), training=False))
        for i in range(0, len(images), BATCH)
    ]
    return np.concatenate(out).astype(np.float32)


def summed_confusion(
    runs: Sequence[tuple[int, artifacts.Run]], dataset: str, images: int = TEST_IMAGES
) -> SummedConfusion:
    """Evaluate each (run id, run) with `cnn.evaluate.evaluate` on the first `images` test
    images of `dataset` (offline: the data this server has) and sum the confusion matrices.

    Raises:
        DatasetError: the dataset cannot be loaded on this server.
    """
    from cnn import datasets
    from cnn.evaluate import evaluate

    data = datasets.load(dataset, download=False)
    names = list(data.class_names)
    test = data.test.take(np.arange(min(images, len(data.test))))
    total = SummedConfusion(names, np.zeros((len(names), len(names)), np.int64), images=len(test))
    for run_id, run in runs:
        if run.class_names != names:
            total.skipped.append(
                tr("Run {id} has other classes than {dataset}: not counted.").format(
                    id=run_id, dataset=dataset
                )
            )
            continue
        pre = run.record.preprocessing
        batches = datasets.make_pipeline(test, tuple(pre.image_size), pre.channels, BATCH)
        result = evaluate(run.model, batches, names, mirror=run.record.config.tta == "mirror")
        total.matrix += result.confusion
        total.runs.append((run_id, result.accuracy))
    return total
