"""After training: fit the temperature that makes the probabilities honest, and choose the
threshold of the "unlike my training data" flag (see `cnn.calibration`, `cnn.ood`)."""

from __future__ import annotations

import numpy as np

from cnn import calibration, datasets, ood
from cnn.errors import DatasetError

MAX_VALIDATION = 5000  # validation images the temperature is fitted on, at most


def logits_of_split(model, split: datasets.Split, input_shape, batch_size: int) -> np.ndarray:
    """The model's logits (n, k) for every image of a split, decoded by the training pipeline."""
    from cnn.inspect import Inspector

    if len(split) == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    inspector = Inspector(model, jit_compile=False)
    batches = datasets.make_pipeline(split, input_shape[:2], input_shape[2], batch_size)
    return np.concatenate([inspector.logits(x.numpy()) for x, _ in batches])


def foreign_split(dataset_key: str, seed: int) -> tuple[str | None, datasets.Split | None]:
    """A test split of the dataset unlike `dataset_key`, when this machine has it offline."""
    foreign = ood.FOREIGN.get(dataset_key)
    if foreign is None:
        return None, None
    try:
        data = datasets.load(foreign, download=False)
    except DatasetError:
        return foreign, None
    return foreign, datasets.stratified_subset(data.test, ood.MAX_FOREIGN, seed)


def measure_confidence(prepared, model, test_logits: np.ndarray, test_labels: np.ndarray):
    """Calibration (None without validation images) and the unfamiliar-input check of a run.

    Args:
        prepared: the training's `cnn.training.loop.Prepared` (splits, shapes, config).
        model: the trained Keras model.
        test_logits, test_labels: from the test-split evaluation.

    Returns:
        (cnn.calibration.Calibration or None, cnn.ood.OodCheck).
    """
    config = prepared.config
    shape, batch = prepared.input_shape, config.batch_size
    calibrated = None
    if len(prepared.validation):
        held_out = datasets.stratified_subset(prepared.validation, MAX_VALIDATION, config.seed)
        val_logits = logits_of_split(model, held_out, shape, batch)
        calibrated = calibration.calibrate(
            val_logits, held_out.labels, test_logits, test_labels,
            f"{len(held_out)} validation images (held out of training)",
        )  # fmt: skip
    temperature = calibrated.temperature if calibrated else 1.0
    name, foreign = foreign_split(config.dataset, config.seed)
    foreign_logits = None if foreign is None else logits_of_split(model, foreign, shape, batch)
    check = ood.measure(test_logits, foreign_logits, name if foreign is not None else None,
                        temperature)  # fmt: skip
    return calibrated, check
