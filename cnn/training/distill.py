"""Knowledge distillation: a model learns from trained runs' answers as well as from the labels.

A run trained with `teachers` (run folders of the same classes and image size) is shown, for
every augmented training batch, the teachers' class probabilities for the very images it
sees. Its target is the mix `(1 - distill) * label + distill * teachers' answer`, so it learns
which wrong classes a digit resembles ("this 7 is a little like a 1") as well as the right one
(Hinton, Vinyals and Dean 2015, with temperature 1: the probabilities as the teachers give
them). Several teachers are averaged, so a model can learn from an ensemble it could not
match alone. Each teacher reads as its run is read: with its mirror image too when its run
was trained with tta="mirror". Validation and test figures stay measured against the labels.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnn import artifacts
from cnn.errors import CnnError, TrainingError
from cnn.i18n import tr

TINY = float(np.finfo(np.float32).tiny)  # log(0) kept finite, as cnn.inspect.logits_of does


@dataclass
class Teacher:
    """A loaded teacher run: its model, and whether it reads each image's mirror image too."""

    name: str
    model: Any
    mirror: bool


def load_teachers(paths: list[str], dataset: str, class_names, input_shape) -> list[Teacher]:
    """Load the teacher runs a config names and check each can teach this training.

    Args:
        paths: run folders (`TrainConfig.teachers`).
        dataset: the training's dataset key; class_names and input_shape: its classes (in
            output order) and model input (h, w, c).

    Returns:
        One `Teacher` per path, in order.

    Raises:
        TrainingError: a sentence naming the teacher that cannot be loaded or does not fit.
    """
    teachers = []
    for path in paths:
        name = Path(path).name or str(path)
        try:
            run = artifacts.load_run(path)
        except CnnError as err:
            raise TrainingError(
                tr("The teacher run {name} cannot be used: {error}").format(name=name, error=err)
            ) from err
        record = run.record
        if list(record.class_names) != list(class_names):
            raise TrainingError(
                tr(
                    "The teacher run {name} learned {learned} ({classes}...), not these classes: "
                    "a teacher must have learned the same classes ({dataset}) in the same order."
                ).format(
                    name=name,
                    learned=record.dataset.key,
                    classes=", ".join(map(str, record.class_names[:4])),
                    dataset=dataset,
                )
            )
        shape = tuple(run.model.input_shape[1:])
        if shape != tuple(input_shape):
            raise TrainingError(
                tr(
                    "The teacher run {name} reads {size} images and this model {own}: train "
                    "with the teacher's image size."
                ).format(name=name, size=_size(shape), own=_size(input_shape))
            )
        teachers.append(Teacher(name, run.model, record.config.mirror))
    return teachers


def _size(shape) -> str:
    return "x".join(str(int(n)) for n in shape)


def teachers_answer(teachers: list[Teacher], x):
    """The teachers' mean class probabilities (n, k) for a batch `x`, as TensorFlow ops (so
    a tf.data pipeline can compute them). A mirrored teacher answers with the softmax of the
    mean of its two readings' log-probabilities, which is `cnn.inspect.Inspector`'s mean of
    the logits (a softmax's log differs from its logits by one number per image)."""
    import tensorflow as tf

    answers = []
    for teacher in teachers:
        probabilities = teacher.model(x, training=False)
        if teacher.mirror:
            flipped = teacher.model(tf.reverse(x, axis=[2]), training=False)
            logs = tf.math.log(tf.maximum(probabilities, TINY))
            logs += tf.math.log(tf.maximum(flipped, TINY))
            probabilities = tf.nn.softmax(logs / 2)
        answers.append(tf.cast(probabilities, tf.float32))
    return tf.add_n(answers) / len(answers)


def distilled(batches, teachers: list[Teacher], share: float):
    """`batches` of (images, one-hot or mixed labels) with each label row replaced by
    `(1 - share) * label + share * the teachers' answer` for the same images
    (`cnn.training.recipe.distilled`)."""
    import tensorflow as tf

    from cnn.training import recipe

    answer = functools.partial(teachers_answer, teachers)
    return recipe.distilled(batches, answer, share).prefetch(tf.data.AUTOTUNE)
