"""Score a trained classifier on a test set: accuracy, per-class accuracy, confusion matrix.

`evaluate` runs the model once per batch through a compiled `tf.function` in inference mode
(`model(x, training=False)`: dropout off, batch-norm statistics frozen), keeps every
probability, and scores them with scikit-learn's `confusion_matrix` and `recall_score` (a
class's accuracy is its recall). Misclassified examples are reported as indices into the
order the batches came in, so the caller can show them from the same (unshuffled) split.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cnn.i18n import tr

if TYPE_CHECKING:
    import keras

MAX_MISCLASSIFIED_IN_DICT = 200  # indices kept in to_dict(): enough for a gallery, small JSON


@dataclass(repr=False)
class Evaluation:
    """The result of `evaluate`.

    Attributes:
        accuracy: fraction of examples whose top class is the label.
        n: number of examples evaluated.
        per_class: one {"name", "accuracy", "n"} per class; accuracy is None when n == 0.
        confusion: int64 (k, k); rows are true classes, columns predicted classes.
        misclassified: int64 indices (in evaluation order) of the wrong predictions.
        predictions: int64 (n,) predicted class per example.
        labels: int64 (n,) true class per example.
        probabilities: float32 (n, k).
        logits: float32 (n, k) pre-softmax scores when asked for, else None.
    """

    accuracy: float
    n: int
    per_class: list[dict[str, Any]]
    confusion: np.ndarray
    misclassified: np.ndarray
    predictions: np.ndarray
    labels: np.ndarray
    probabilities: np.ndarray
    logits: np.ndarray | None = None

    def __repr__(self) -> str:
        return (
            f"Evaluation(accuracy={self.accuracy:.4f}, n={self.n}, "
            f"classes={len(self.per_class)}, misclassified={len(self.misclassified)})"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (the first 200 misclassified indices only)."""
        return {
            "accuracy": self.accuracy,
            "n": self.n,
            "per_class": [dict(entry) for entry in self.per_class],
            "confusion": self.confusion.tolist(),
            "misclassified": self.misclassified[:MAX_MISCLASSIFIED_IN_DICT].tolist(),
        }


def evaluate(
    model: keras.Model,
    batches: Iterable,
    class_names: Sequence[str],
    logits: bool = False,
    mirror: bool = False,
) -> Evaluation:
    """Evaluate a classifier on batches of labelled images.

    Args:
        model: a Keras model returning class probabilities (n, k).
        batches: an iterable of (images, labels) batches in a fixed order, numpy arrays or
            tensors, e.g. an unshuffled `tf.data.Dataset`. Labels are class indices (n,)
            or one-hot (n, k).
        class_names: the k class names, in the model's output order.
        logits: also keep the pre-softmax logits (for calibration and the unfamiliar-input
            check); the model must end in a layer named "predictions" (cnn.inspect).
        mirror: answer with each image and its mirror image read and averaged (test-time
            augmentation, `cnn.inspect.Inspector`'s mirror), as a run trained with
            `tta="mirror"` is read.

    Returns:
        An `Evaluation`.

    Raises:
        ValueError: when there is nothing to evaluate, or the model, labels and class
            names disagree on the classes.

    Example:
        >>> result = evaluate(model, test_pipeline, ["cat", "dog"])
        >>> result.accuracy, result.confusion.tolist()
        (0.875, [[45, 5], [7, 43]])
    """
    from sklearn.metrics import confusion_matrix

    num_classes = len(class_names)
    probabilities, labels, kept_logits = _forward(model, batches, num_classes, logits, mirror)
    predictions = probabilities.argmax(axis=-1).astype(np.int64)
    confusion = confusion_matrix(labels, predictions, labels=range(num_classes))
    return Evaluation(
        accuracy=float(np.trace(confusion) / labels.size),
        n=int(labels.size),
        per_class=_per_class(labels, predictions, class_names),
        confusion=confusion.astype(np.int64),
        misclassified=np.flatnonzero(predictions != labels).astype(np.int64),
        predictions=predictions,
        labels=labels,
        probabilities=probabilities,
        logits=kept_logits,
    )


def _forward(model, batches: Iterable, num_classes: int, logits: bool, mirror: bool):
    """(probabilities (n, k), labels (n,), logits (n, k) or None) of every batch, in order:
    one compiled forward pass per batch, or the Inspector's when logits or mirror are asked."""
    import tensorflow as tf

    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    inspector = None
    if logits or mirror:
        from cnn.inspect import Inspector, logits_of

        inspector = Inspector(model, jit_compile=False, mirror=mirror)
    probabilities, labels, kept_logits = [], [], []
    for x, y in batches:
        if inspector is None:
            probs = np.asarray(forward(tf.convert_to_tensor(x, tf.float32)), dtype=np.float32)
        else:
            features, probs = inspector.predict_with_features(np.asarray(x))
            kept_logits.append(logits_of(model, features, probs))
        if probs.shape[-1] != num_classes:
            raise ValueError(
                tr(
                    "The model predicts {classes} classes but {names} class names were given."
                ).format(classes=probs.shape[-1], names=num_classes)
            )
        y = np.asarray(y)
        probabilities.append(probs)
        labels.append((y.argmax(axis=-1) if y.ndim == 2 else y).astype(np.int64).reshape(-1))
    if sum(len(y) for y in labels) == 0:
        raise ValueError(tr("There are no examples to evaluate."))
    labels_all = np.concatenate(labels)
    if labels_all.min() < 0 or labels_all.max() >= num_classes:
        raise ValueError(
            tr("Labels must be class indices between 0 and {last}.").format(last=num_classes - 1)
        )
    logits_all = np.concatenate(kept_logits) if logits else None
    return np.concatenate(probabilities), labels_all, logits_all


def _per_class(labels: np.ndarray, predictions: np.ndarray, class_names: Sequence[str]):
    """One {"name", "accuracy", "n"} per class: accuracy is the class's recall, None when the
    test set has none of it."""
    from sklearn.metrics import recall_score

    k = len(class_names)
    recall = recall_score(labels, predictions, labels=range(k), average=None, zero_division=np.nan)
    counts = np.bincount(labels, minlength=k)
    return [
        {"name": str(name), "accuracy": float(r) if n else None, "n": int(n)}
        for name, r, n in zip(class_names, recall, counts, strict=True)
    ]
