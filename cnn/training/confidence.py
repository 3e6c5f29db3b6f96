"""After training: fit the temperature that makes the probabilities honest, and choose the
threshold of the "unlike my training data" flag (see `cnn.calibration`, `cnn.ood`), measured
on the classroom inputs of `cnn.foreign`."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from cnn import calibration, datasets, ood
from cnn.i18n import trn

MAX_VALIDATION = 5000  # validation images the temperature is fitted on, at most
READ_BATCH = 256  # images per compiled call while the check reads a set (not the training batch)
# what a calibration was fitted on, as run.json keeps it (in English, whoever trained it)
HELD_OUT = "{n} validation images (held out of training)"
HELD_OUT_RECORDED = re.compile(r"^(\d+) validation images \(held out of training\)$")


def logits_of_split(
    model, split: datasets.Split, input_shape, batch_size: int, mirror: bool = False
) -> np.ndarray:
    """The model's logits (n, k) for every image of a split, decoded by the training pipeline;
    with `mirror`, averaged with its mirror image's (`cnn.inspect.Inspector`)."""
    return features_of_split(model, split, input_shape, batch_size, mirror)[1]


def features_of_split(
    model, split: datasets.Split, input_shape, batch_size: int, mirror: bool = False
):
    """(features (n, d), logits (n, k)) for every image of a split: the features are what the
    output layer reads. `mirror`: as in `logits_of_split`."""
    from cnn.inspect import Inspector, logits_of

    k = model.output_shape[-1]
    if len(split) == 0:
        return np.zeros((0, 0), np.float32), np.zeros((0, k), np.float32)
    inspector = Inspector(model, jit_compile=False, mirror=mirror)
    batches = datasets.make_pipeline(split, input_shape[:2], input_shape[2], batch_size)
    features, logits = [], []
    for x, _ in batches:
        f, p = inspector.predict_with_features(x.numpy())
        features.append(f.reshape(len(f), -1))
        logits.append(logits_of(model, f, p))
    return np.concatenate(features), np.concatenate(logits)


def measure_confidence(prepared, model, test_logits: np.ndarray, test_labels: np.ndarray):
    """Calibration (None without validation images) and the unfamiliar-input check of a run.

    Args:
        prepared: the training's `cnn.training.loop.Prepared` (splits, shapes, config).
        model: the trained Keras model.
        test_logits, test_labels: from the test-split evaluation.

    Returns:
        (cnn.calibration.Calibration or None, cnn.ood.OodCheck, the `cnn.ood.Layers` or
        `cnn.ood.Gaussian` the check needs at prediction time, or None).
    """
    config = prepared.config
    shape, batch, mirror = prepared.input_shape, config.batch_size, config.mirror
    calibrated = None
    if len(prepared.validation):
        held_out = datasets.stratified_subset(prepared.validation, MAX_VALIDATION, config.seed)
        val_logits = logits_of_split(model, held_out, shape, batch, mirror)
        calibrated = calibration.calibrate(
            val_logits, held_out.labels, test_logits, test_labels,
            HELD_OUT.format(n=len(held_out)),
        )  # fmt: skip
    temperature = calibrated.temperature if calibrated else 1.0
    check, gaussian = unfamiliar_check(prepared, model, test_logits, temperature)
    return calibrated, check, gaussian


@dataclass(repr=False)
class Readings:
    """What the check reads of a set of images: features (n, d), logits (n, k), the
    "layers" score's `cnn.ood.stage_features` (one (n, 2c) array per image size) and, for
    colour runs, the photo network's features (n, 1280) (`cnn.photo_embedder`), else None."""

    features: np.ndarray
    logits: np.ndarray
    stages: list[np.ndarray]
    embeddings: np.ndarray | None = None


def photo_check(channels: int) -> bool:
    """Whether a run's check also reads the photo network (colour runs, when installed)."""
    from cnn import photo_embedder

    return channels == 3 and photo_embedder.available()


def read_batches(inspector, batches, photos: bool = False) -> Readings:
    """`Readings` of image batches (each float32 (b, h, w, c)), read as the Predict page reads
    an image: by a `check_reader.BatchReader` (the same numbers, summed inside TensorFlow),
    or for a mirrored reading by `cnn.inspect.Inspector.run_batch` and `ood.stage_features`;
    `photos`: the photo network's features too."""
    from cnn import photo_embedder
    from cnn.training.check_reader import BatchReader

    features, logits, stages, embedded = [], [], [], []
    for x in batches:
        if photos:
            embedded.append(photo_embedder.embed(x))
        if isinstance(inspector, BatchReader):
            f, z, s = inspector(x)
        else:
            seen = inspector.run_batch(np.asarray(x, np.float32), gradcam=False)
            f, z, s = seen.features, seen.logits, ood.stage_features(seen.activations)
        features.append(f)
        logits.append(z)
        stages.append(s)
    if not features:
        return Readings(np.zeros((0, 0)), np.zeros((0, 0)), [])
    joined = [np.concatenate(parts) for parts in zip(*stages, strict=True)]
    embeddings = np.concatenate(embedded) if photos else None
    return Readings(np.concatenate(features), np.concatenate(logits), joined, embeddings)


def _split_batches(split: datasets.Split, shape, batch_size: int):
    for x, _ in datasets.make_pipeline(split, shape[:2], shape[2], batch_size):
        yield x.numpy()


def _array_batches(images: np.ndarray, batch_size: int):
    for start in range(0, len(images), batch_size):
        yield images[start : start + batch_size]


@dataclass(repr=False)
class Measured:
    """Everything the check reads of a run: `Readings` of training images (fitted: the
    Gaussians' images, with their labels), of the test split, of the classroom foreign set
    (`cnn.foreign`, as the page's preprocessing `ready` made it) and of drawn digits."""

    fitted: Readings
    fitted_labels: np.ndarray
    test: Readings
    away: Readings
    ready: object  # cnn.foreign.Prepared
    description: str
    drawn: Readings | None


def read_run(prepared, model) -> Measured:
    """Read every set the unfamiliar-input check is fitted and measured on."""
    from cnn.inspect import Inspector
    from cnn.training import check_inputs
    from cnn.training.check_reader import BatchReader
    from cnn.training.config import preprocessing_for

    config, shape, batch = prepared.config, prepared.input_shape, READ_BATCH
    if config.mirror:
        inspector = Inspector(model, jit_compile=False, mirror=True)
    else:
        inspector = BatchReader(model)
    preprocessing = preprocessing_for(prepared.data.info, shape)
    fitted = datasets.stratified_subset(prepared.train, ood.MAX_FITTED, config.seed)
    ready, description = check_inputs.foreign_set(config.dataset, preprocessing)
    digits = check_inputs.drawn_digits(prepared.data, preprocessing, config.seed)
    photos = photo_check(shape[2])
    return Measured(
        read_batches(inspector, _split_batches(fitted, shape, batch), photos),
        fitted.labels,
        read_batches(inspector, _split_batches(prepared.data.test, shape, batch), photos),
        read_batches(inspector, _array_batches(ready.inputs, batch), photos),
        ready,
        description,
        None if digits is None else read_batches(inspector, _array_batches(digits, batch)),
    )


def scored_by(measured: Measured, score, test_scores: np.ndarray | None = None) -> ood.Scored:
    """`cnn.ood.Scored` of every set, `score(readings)` giving each set's familiarity."""
    ready = measured.ready
    return ood.Scored(
        score(measured.test) if test_scores is None else test_scores,
        score(measured.away) if len(ready.inputs) else None,
        ready.kinds,
        ready.refused,
        None if measured.drawn is None else score(measured.drawn),
    )


def candidates(prepared, measured: Measured, test_logits: np.ndarray, temperature: float):
    """{score name: (cnn.ood.Scored, what it needs at prediction time)} for every score
    that can be fitted for the run: "energy" always, "mahalanobis", "layers", "neighbours"."""
    energy = scored_by(
        measured, lambda r: ood.familiarity(r.logits, temperature),
        ood.familiarity(test_logits, temperature),
    )  # fmt: skip
    out = {"energy": (energy, None)}
    labels = measured.fitted_labels
    gaussian = ood.fit_gaussian(measured.fitted.features, labels, prepared.num_classes)
    if gaussian is not None:
        out["mahalanobis"] = (scored_by(measured, lambda r: gaussian.familiarity(r.features)),
                              gaussian)  # fmt: skip
    layers = ood.fit_layers(measured.fitted.stages, prepared.config.seed)
    if layers is not None:
        out["layers"] = (scored_by(measured, lambda r: layers.familiarity(r.stages)), layers)
    bank = ood.fit_neighbours(measured.fitted.embeddings)
    if bank is not None:
        out["neighbours"] = (scored_by(measured, lambda r: bank.familiarity(r.embeddings)), bank)
    return out


def unfamiliar_check(prepared, model, test_logits: np.ndarray, temperature: float):
    """The unfamiliar-input check of a trained model, measured on classroom inputs.

    "neighbours" for a colour run (the photo network's features), else the "layers" score
    when its Gaussians can be fitted, else "mahalanobis", else "energy" (`cnn.ood`: the
    order the measurements on the shipped runs gave); the threshold keeps
    FALSE_ALARM of the test images flagged; the classroom foreign set (`cnn.foreign`: photos
    through the upload path, drawings through the canvas path) gives the detection rate,
    and a digit run's test digits drawn on the canvas the drawn-digit false alarms. The other
    scores' rates are recorded beside the chosen one's.

    Returns:
        (cnn.ood.OodCheck, the `cnn.ood.Neighbours`, `Layers` or `Gaussian` it needs, or
        None).
    """
    measured = read_run(prepared, model)
    scores = candidates(prepared, measured, test_logits, temperature)
    checks = {
        name: ood.measure_scored(scored, name, measured.description, temperature)
        for name, (scored, _) in scores.items()
    }
    chosen = next(name for name in ood.ORDER if name in checks)
    check = checks[chosen]
    for name in ood.ORDER:
        if name in checks:
            setattr(check, f"{name}_detection", checks[name].detection)
    return check, scores[chosen][1]


def fitted_on_shown(recorded: str) -> str:
    """What a calibration was fitted on (run.json's `fitted_on`, kept in English) in the
    reader's language; a phrase of another form as it was recorded."""
    found = HELD_OUT_RECORDED.match(recorded or "")
    if found is None:
        return recorded
    n = int(found.group(1))
    return trn(
        "{n} validation image (held out of training)",
        "{n} validation images (held out of training)",
        n,
    )
