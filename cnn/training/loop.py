"""`train()`: load the data, build and fit the model, evaluate it, save the run.

Each step is a small function; `train` runs them in order and turns every error a user can
cause into a "failed" result with a sentence (never an exception out of a worker thread).
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cnn import architectures, datasets, strokes
from cnn.errors import CnnError, TrainingError
from cnn.i18n import number, percent, tr, trn
from cnn.training import distill, init_from
from cnn.training.config import (
    TrainConfig,
    estimate_memory,
    input_shape_for,
    memory_budget,
    preprocessing_for,
    resolve_spec,
)
from cnn.training.events import Events, StopTraining, TrainingEvent, TrainResult, emit
from cnn.training.kept import spread_over_classes, thumbnails
from cnn.training.rate import LR_CHANGES

if TYPE_CHECKING:
    from cnn.training.recipe import Recipe

MAX_ERRORS_KEPT = 48  # misclassified test images stored with a run (errors.npz)
CORRECT_KEPT = 3  # correctly classified test images per class stored beside them
DIVERGED_LOSS_FACTOR = 3  # a final loss this many times a guesser's (ln classes): diverged


@dataclass
class Prepared:
    """Everything decided before the model is built: data, splits, shapes, spec."""

    config: TrainConfig
    data: datasets.Dataset
    train: datasets.Split
    validation: datasets.Split
    input_shape: tuple[int, int, int]
    spec: architectures.ArchSpec
    teachers: list = field(default_factory=list)  # loaded `distill.Teacher`s, if any

    @property
    def num_classes(self) -> int:
        return len(self.data.class_names)

    @functools.cached_property
    def recipe(self) -> Recipe:
        """The config's training recipe for this data's kind of image (built once)."""
        from cnn.training.recipe import Recipe

        return Recipe.of(self.config, self.data.info.kind)

    def pipeline(self, split: datasets.Split, shuffle: bool, training: bool = False):
        """Batches of `split` at the model's size; one-hot labels when the recipe needs them.
        Training batches are augmented, mixed and distilled as the recipe says."""
        import tensorflow as tf

        from cnn.training.recipe import mixed

        recipe = self.recipe
        redrawn = training and recipe.redraw_strokes and split.images is not None
        batches = datasets.make_pipeline(
            split,
            self.input_shape[:2],
            self.input_shape[2],
            self.config.batch_size,
            shuffle=shuffle,
            seed=recipe.seed,
            counted=True,
            augment=recipe.augmentation_layers() if training else None,
            alternates=strokes.redrawn_digits(split.images) if redrawn else None,
            alternate_share=recipe.redraw_strokes,
        )
        if recipe.one_hot:
            batches = batches.map(lambda x, y: (x, tf.one_hot(y, self.num_classes)))
        if not training:
            return batches
        batches = mixed(batches, recipe.mix, recipe.mix_strength, recipe.seed)
        if self.teachers:
            batches = distill.distilled(batches, self.teachers, recipe.distill)
        return batches


def train(
    config: TrainConfig,
    events: Events | None = None,
    stop: threading.Event | None = None,
    out_dir: str | Path | None = None,
    touch: Callable[[], bool] | None = None,
    extra_probes: list[tuple[str, np.ndarray]] | None = None,
    rates=None,
) -> TrainResult:
    """Train a model as `config` says, evaluate it on the test split and save the run.

    Args:
        config: what to train.
        events: called with every TrainingEvent (batch, epoch, status, end).
        stop: when set, training stops after the current batch and the run is still saved.
        out_dir: folder that receives the run folder; None keeps the run in memory only.
        touch: called after every batch; returning True stops training (an abandoned job).
        extra_probes: (label, model input) pairs the time-lapse follows besides one test
            image per class, e.g. the drawing on Predict; inputs of another shape are skipped.
        rates: learning rates asked for while it runs (`cnn.training.rate.RateRequests`, or
            anything with its `take()`): each is used from the next batch on and recorded in
            `history["lr_changes"]`; None: the rate follows the config alone.

    Returns:
        A TrainResult. Errors a user can cause come back as state "failed" with a message;
        they are not raised.
    """
    started = time.perf_counter()
    try:
        prepared = prepare(config, events, stop)
        return _fit_and_save(prepared, events, stop, out_dir, touch, started, extra_probes, rates)
    except CnnError as err:
        return _failed(config, events, str(err), started)
    except StopTraining:
        message = tr("Stopped before training started.")
        emit(events, TrainingEvent("stopped", message=message))
        return TrainResult("stopped", config, message=message)
    except MemoryError:
        return _failed(
            config, events, tr("Out of memory: use smaller images, batches or model."), started
        )
    except Exception as err:  # noqa: BLE001 - the worker must report, never die silently
        import tensorflow as tf

        if isinstance(err, tf.errors.ResourceExhaustedError):
            message = tr("Out of memory: use smaller images, a smaller batch or a smaller model.")
        else:
            message = tr("Training failed: {error}").format(error=f"{type(err).__name__}: {err}")
        return _failed(config, events, message, started)


def _failed(config, events, message, started) -> TrainResult:
    emit(events, TrainingEvent("failed", message=message))
    return TrainResult("failed", config, message=message, seconds=time.perf_counter() - started)


def _check_stop(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise StopTraining


def prepare(config: TrainConfig, events: Events | None = None, stop=None) -> Prepared:
    """Check the config, load the data, cut the splits and check the model fits in memory.

    Raises:
        CnnError: a sentence naming what cannot work.
    """
    config.validate()
    info = datasets.REGISTRY[config.dataset]
    emit(events, TrainingEvent("status", message=tr("Loading {title}...").format(title=info.title)))
    data = datasets.load(
        config.dataset,
        config.data,
        progress=lambda _, message: emit(events, TrainingEvent("status", message=message)),
    )
    input_shape = input_shape_for(config, data.info)
    spec = init_from.source_spec(config, input_shape, data.class_names) or resolve_spec(
        config, input_shape, len(data.class_names)
    )
    needed = estimate_memory(spec, input_shape, len(data.class_names), config.batch_size)
    if needed > memory_budget():
        raise TrainingError(
            tr(
                "This would need about {needed} GB of memory per step (limit {limit} GB): use "
                "smaller images, a smaller batch or fewer filters."
            ).format(needed=number(needed / 1024**3, 1), limit=number(memory_budget() / 1024**3, 1))
        )
    train_split = data.train
    if config.max_samples is not None:
        if config.max_samples > len(train_split):
            raise TrainingError(
                tr(
                    "Asked for {asked} training samples but {title} has {has}: lower Max samples."
                ).format(asked=config.max_samples, title=data.info.title, has=len(train_split))
            )
        train_split = datasets.stratified_subset(train_split, config.max_samples, config.seed)
    validation = train_split.take([])  # validation_fraction 0: no validation
    if config.validation_fraction:
        train_split, validation = datasets.split_validation(
            train_split, config.validation_fraction, config.seed
        )
    if len(train_split) == 0:
        raise TrainingError(tr("No training images are left after holding out validation images."))
    teachers = []
    if config.teachers:
        emit(events, TrainingEvent("status", message=tr("Loading the teacher runs...")))
        teachers = distill.load_teachers(
            config.teachers, config.dataset, data.class_names, input_shape
        )
    _check_stop(stop)
    return Prepared(config, data, train_split, validation, input_shape, spec, teachers)


def _strategy(name: str):
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if name == "multi_gpu" or (name == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def compiled_model(prepared: Prepared, steps: int):
    """The spec's Keras model, compiled with the recipe's optimizer, schedule and loss."""
    config, recipe = prepared.config, prepared.recipe
    with _strategy(config.strategy).scope():
        model = architectures.build(prepared.spec, prepared.input_shape, prepared.num_classes)
        init_from.start_from(model, config)  # a run's weights, frozen layers (if asked)
        optimizer = recipe.optimizer_for(steps * config.epochs)
        model.compile(optimizer=optimizer, loss=recipe.loss(), metrics=["accuracy"])
    return model


def fit(prepared: Prepared, events: Events | None, stop=None, touch=None, extra_probes=None,
        rates=None):  # fmt: skip
    """Build, compile and fit the model.

    Args:
        prepared: from `prepare`.
        events, stop, touch, extra_probes, rates: as in `train`.

    Returns:
        (model, history, NaN guard, time-lapse recorder or None, fit seconds).
    """
    import keras

    from cnn.training.callbacks import LastGoodWeights, ProgressReporter

    config = prepared.config
    keras.utils.set_random_seed(config.seed)
    if prepared.recipe.redraw_strokes:
        message = tr(
            "Redrawing {n} training digits with MNIST's pen; {share} of each batch will be "
            "redrawn ones."
        ).format(n=number(len(prepared.train)), share=percent(prepared.recipe.redraw_strokes))
        emit(events, TrainingEvent("status", epochs=config.epochs, message=message))
    train_batches = prepared.pipeline(prepared.train, shuffle=True, training=True)
    val_batches = None
    if len(prepared.validation):
        val_batches = prepared.pipeline(prepared.validation, False)
    steps = math.ceil(len(prepared.train) / config.batch_size)
    model = compiled_model(prepared, steps)
    message = trn(
        "Training on {n} image ({source}).",
        "Training on {n} images ({source}).",
        len(prepared.train),
    ).format(source=prepared.data.source)
    expected = _expected_fit_s(prepared)  # the queue's estimate until the batches tell
    emit(events, TrainingEvent("status", epochs=config.epochs, steps=steps, message=message,
                               eta=expected))  # fmt: skip
    guard = LastGoodWeights()
    reporter = ProgressReporter(events, config.epochs, steps, config.batch_size, stop, touch)
    callbacks = [guard, reporter]
    changer = _rate_changer(model, rates, events, steps)
    if changer is not None:
        callbacks.insert(0, changer)  # before the batch starts, so the batch uses it
    recorder = None
    if config.timelapse:
        from cnn.training.recorder import TimelapseRecorder, probes_for

        probes = probes_for(prepared, extra_probes)
        recorder = TimelapseRecorder(probes, steps, config.epochs, events)
        callbacks.append(recorder)
    started = time.perf_counter()
    history = model.fit(
        train_batches,
        validation_data=val_batches,
        epochs=config.epochs,
        callbacks=callbacks,
        shuffle=False,
        verbose=0,
    )
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    if changer is not None and changer.changes:
        hist[LR_CHANGES] = changer.changes
    return model, hist, guard, recorder, time.perf_counter() - started


def _rate_changer(model, rates, events: Events | None, steps: int):
    """The callback that applies the learning rates asked for mid-run (None without `rates`);
    the optimizer's rate is made settable before `fit` traces its first step."""
    if rates is None:
        return None
    from cnn.training.callbacks import LiveLearningRate
    from cnn.training.recipe import adjustable

    return LiveLearningRate(rates, adjustable(model.optimizer), events, steps)


def _expected_fit_s(prepared: Prepared) -> float:
    """`estimate.fit_seconds` for this training's network, images and epochs."""
    from cnn.training.estimate import fit_seconds

    config = prepared.config
    return fit_seconds(prepared.spec, prepared.input_shape, prepared.num_classes,
                       len(prepared.train), config.epochs, config.batch_size)  # fmt: skip


def _fit_and_save(prepared, events, stop, out_dir, touch, started, extra_probes, rates=None):
    """Fit, decide how it ended, evaluate, save; the end event goes out last."""
    config = prepared.config
    model, hist, guard, recorder, fit_seconds = fit(
        prepared, events, stop, touch, extra_probes, rates
    )
    outcome = _outcome(prepared, model, guard, hist, stop, touch)
    seconds = time.perf_counter() - started
    if outcome.state == "failed":
        if recorder is not None:
            recorder.release()
        emit(events, TrainingEvent("failed", message=outcome.message))
        return TrainResult("failed", config, history=hist, message=outcome.message, seconds=seconds)
    emit(events, TrainingEvent("status", message="Evaluating on the test split..."))
    record, errors, accuracy, gaussian = _evaluate(prepared, model, outcome, fit_seconds, started)
    lapse = None
    if recorder is not None:
        # the weights kept: after a NaN the last good epoch's, after a stop the last batch's
        final_step = guard.good_epochs * recorder.steps if guard.nan_at else recorder.step
        last = {k: v[-1] for k, v in outcome.history.items() if v}
        averaged = bool(prepared.recipe.ema) and not guard.nan_at  # fit swapped the average in
        lapse, record.timelapse = recorder.finish(final_step, last, retake=averaged)
    run_dir, save_error = None, None
    if out_dir is not None:
        from cnn import artifacts

        try:
            run_dir = artifacts.save_run(
                model, record, out_dir, errors=errors, lapse=lapse, gaussian=gaussian
            )
        except artifacts.ArtifactError as err:
            save_error = str(err)
    end = "stopped" if outcome.state == "stopped" else "finished"
    emit(
        events,
        TrainingEvent(end, message=outcome.message, epoch=outcome.epochs_run, epochs=config.epochs),
    )
    return TrainResult(
        outcome.state,
        config,
        run_dir=run_dir,
        history=outcome.history,
        test_accuracy=accuracy,
        epochs_run=outcome.epochs_run,
        seconds=time.perf_counter() - started,
        message=outcome.message,
        save_error=save_error,
        warning=outcome.warning,
        model=model,
        record=record,
    )


@dataclass
class Outcome:
    """How a fit ended."""

    state: str  # "finished", "stopped" or "failed"
    message: str
    history: dict[str, list[float]]
    epochs_run: int
    warning: str | None = None


def _outcome(prepared, model, guard, hist, stop, touch) -> Outcome:
    """NaN (weights restored or nothing to keep), asked to stop, abandoned, or all epochs done."""
    config = prepared.config
    epochs_run = len(hist.get("loss", []))
    state, message = "finished", trn("Finished {n} epoch.", "Finished {n} epochs.", epochs_run)
    if guard.nan_at is not None:
        epoch, batch = guard.nan_at
        where = tr(
            "The loss became NaN/infinite at epoch {epoch}, batch {batch}: the learning rate is "
            "probably too high."
        ).format(epoch=epoch, batch=batch)
        if not guard.good_epochs:
            nothing = tr("No epoch finished cleanly, so nothing was saved.")
            return Outcome("failed", f"{where} {nothing}", hist, 0)
        hist = {k: v if k == LR_CHANGES else v[: guard.good_epochs] for k, v in hist.items()}
        epochs_run = guard.good_epochs
        state, message = (
            "stopped",
            f"{where} "
            + tr("Kept the weights from the last good epoch ({epoch}).").format(epoch=epochs_run),
        )
    elif (model.stop_training and epochs_run < config.epochs) or (
        stop is not None and stop.is_set()
    ):
        state = "stopped"
        gone = touch is not None and touch()
        message = (
            tr("Stopped (the browser tab went away) during epoch {epoch}.")
            if gone
            else tr("Stopped (asked to stop) during epoch {epoch}.")
        ).format(epoch=max(epochs_run, 1))
    warning = _divergence_warning(hist.get("loss", []), prepared.num_classes)
    if warning:
        message = f"{message} {warning}"
    return Outcome(state, message, hist, epochs_run, warning)


def _evaluate(prepared: Prepared, model, outcome: Outcome, fit_seconds: float, started: float):
    """Test-split evaluation, the run record and the kept misclassified thumbnails."""
    from cnn.record import DatasetRecord, Preprocessing, RunRecord, Timings

    config, data = prepared.config, prepared.data
    result, test_record, errors = tested(prepared, model)
    images_per_s = None
    if fit_seconds > 0:
        images_per_s = round(len(prepared.train) * max(outcome.epochs_run, 1) / fit_seconds, 1)
    record = RunRecord(
        class_names=list(data.class_names),
        preprocessing=Preprocessing(**preprocessing_for(data.info, prepared.input_shape)),
        dataset=DatasetRecord(
            config.dataset,
            data.info.title,
            data.source,
            len(prepared.train),
            len(prepared.validation),
            len(data.test),
        ),
        config=config,
        spec=prepared.spec,
        input_shape=list(prepared.input_shape),
        params=int(model.count_params()),
        history=outcome.history,
        test=test_record,
        state=outcome.state,
        message=outcome.message,
        epochs_run=outcome.epochs_run,
        timings=Timings(
            round(time.perf_counter() - started, 2), round(fit_seconds, 2), images_per_s
        ),
    )
    from cnn.training.confidence import measure_confidence

    record.calibration, record.ood, gaussian = measure_confidence(
        prepared, model, result.logits, result.labels
    )
    return record, errors, result.accuracy, gaussian


def tested(prepared: Prepared, model):
    """The test split read by the model (mirrored too when the config's tta says so): the
    `cnn.evaluate.Evaluation` with logits, its `TestRecord`, and the errors.npz arrays (its
    mistakes spread over the classes and a few right answers per class, as thumbnails)."""
    from cnn import evaluate as evaluation
    from cnn.record import TestRecord

    config, data = prepared.config, prepared.data
    # inference at the training batch size: 256 photos at once could need more than fit did
    test_batches = datasets.make_pipeline(
        data.test, prepared.input_shape[:2], prepared.input_shape[2], config.batch_size
    )
    mirror = config.mirror
    result = evaluation.evaluate(model, test_batches, data.class_names, True, mirror)
    shown = spread_over_classes(result.misclassified, result.labels, MAX_ERRORS_KEPT)
    # a few right answers per class too: a click on the confusion matrix's diagonal shows them
    right = np.flatnonzero(result.predictions == result.labels)
    kept = np.union1d(shown, spread_over_classes(right, result.labels, len(right), CORRECT_KEPT))
    errors = {
        "images": thumbnails(data.test.take(kept), prepared.input_shape),
        "true": result.labels[kept],
        "predicted": result.predictions[kept],
        "index": kept,
    }
    return result, TestRecord(**result.to_dict(), misclassified_shown=shown.tolist()), errors


def _divergence_warning(losses: list[float], num_classes: int) -> str | None:
    """A sentence when the last epoch's loss is far above a model that only guesses.

    A learning rate that is too high does not always reach NaN: the loss can also settle at
    huge finite values while the model predicts one class for everything.
    """
    guess = math.log(num_classes)
    if not losses or losses[-1] <= DIVERGED_LOSS_FACTOR * guess:
        return None
    return tr(
        "The training loss ended at {loss}, far above the {guess} of a model that only "
        "guesses: the learning rate is probably too high."
    ).format(loss=f"{losses[-1]:.3g}", guess=number(guess, 2))
