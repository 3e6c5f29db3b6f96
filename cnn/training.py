"""Training: a typed config, `train()` running Keras `fit`, `TrainingJob` in a background thread.

`train(config, events, stop)` loads the dataset, builds the model from its spec, fits it with
one callback that reports batch and epoch events and obeys a stop flag, evaluates on the
test split and saves the run atomically. `TrainingJob` runs the same function in a worker
thread so a Streamlit page can poll it (`drain()`) without ever blocking, and a
`TrainingSlots` scheduler caps how many jobs train at once on one server.

Example:
    >>> config = TrainConfig(dataset="mnist", arch="modern_cnn", epochs=1, max_samples=2000)
    >>> result = train(config, events=print)
    >>> result.test_accuracy
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from cnn import architectures, datasets

OPTIMIZERS = ("adam", "sgd", "rmsprop", "adadelta")
LR_SCHEDULES = ("constant", "cosine")
WARMUP_FRACTION = 0.1  # share of the steps over which "cosine" ramps the rate up from 0
STRATEGIES = ("auto", "default", "mirrored")
MAX_IMAGE_SIZE = 512  # largest side accepted for photo models
MEMORY_BUDGET_BYTES = int(os.environ.get("CNN_TRAIN_MEMORY_BUDGET", 3 * 1024**3))  # per training
BATCH_EVENT_INTERVAL_S = 0.05  # at most ~20 batch events a second reach the queue
MAX_ERRORS_KEPT = 48  # misclassified test images stored with a run (errors.npz)
THUMBNAIL_SIDE = 64  # their largest side in pixels
DIVERGED_LOSS_FACTOR = 3  # a final loss this many times a guesser's (ln classes): diverged
ABANDON_AFTER_S = 120.0  # a job nobody polls for this long stops (env CNN_ABANDON_AFTER_S)


class TrainingError(RuntimeError):
    """A training that cannot start or cannot go on; the message is one plain sentence."""


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved in run.json, rebuilt with `from_dict`."""

    dataset: str = "mnist"  # key of cnn.datasets.REGISTRY
    data: str | None = None  # data directory or .zip (the `folder` dataset needs one)
    arch: str = "modern_cnn"  # key of cnn.architectures.REGISTRY, or "custom" with `spec`
    spec: dict | None = None  # an ArchSpec.to_dict(); when given it is the model that is built
    epochs: int = 5
    batch_size: int = 64  # 64 keeps 2 CPU cores busy without hurting accuracy on small sets
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    # "cosine": a linear warm-up over the first 10% of steps, then a cosine decay to 0 (better
    # final accuracy; with it one MNIST epoch reaches 99%, see bench/README.md)
    lr_schedule: str = "constant"
    label_smoothing: float = 0.0  # 0.1 helps photo models generalise
    validation_fraction: float = 0.1  # share of the training split held out for val metrics
    augment: bool = False  # dataset-appropriate random transforms, training batches only
    image_size: int | None = None  # square input side for photo datasets; None = dataset default
    max_samples: int | None = None  # stratified subset of the training split (quick runs)
    seed: int = 0  # same seed, same machine -> same weights
    strategy: str = "auto"  # "auto": one GPU if present, MirroredStrategy if several

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from run.json, ignoring keys a newer version may have added."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict."""
        return asdict(self)

    def validate(self) -> None:
        """Refuse impossible settings with a sentence (before any data is loaded).

        Raises:
            TrainingError: naming the setting at fault.
        """
        if self.dataset not in datasets.REGISTRY:
            raise TrainingError(
                f"Unknown dataset {self.dataset!r}: choose one of {', '.join(datasets.REGISTRY)}."
            )
        if self.spec is None and self.arch not in architectures.REGISTRY:
            raise TrainingError(
                f"Unknown architecture {self.arch!r}: "
                f"choose one of {', '.join(architectures.REGISTRY)}."
            )
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= 1000:
            raise TrainingError("Epochs must be a whole number from 1 to 1000.")
        if not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= 4096:
            raise TrainingError("Batch size must be a whole number from 1 to 4096.")
        if self.optimizer not in OPTIMIZERS:
            raise TrainingError(f"Optimizer must be one of {', '.join(OPTIMIZERS)}.")
        if not (math.isfinite(self.learning_rate) and 0 < self.learning_rate <= 10):
            raise TrainingError("The learning rate must be a positive number up to 10.")
        if self.lr_schedule not in LR_SCHEDULES:
            raise TrainingError(f"Learning-rate schedule must be one of {', '.join(LR_SCHEDULES)}.")
        if not 0 <= self.label_smoothing < 1:
            raise TrainingError("Label smoothing must be at least 0 and below 1.")
        if not 0 <= self.validation_fraction < 0.9:
            raise TrainingError("The validation fraction must be between 0 and 0.9.")
        if self.image_size is not None and not 8 <= self.image_size <= MAX_IMAGE_SIZE:
            raise TrainingError(f"Image size must be between 8 and {MAX_IMAGE_SIZE} pixels.")
        if self.max_samples is not None and self.max_samples < 2:
            raise TrainingError("Max samples must be at least 2 (one per class at the very least).")
        if self.strategy not in STRATEGIES:
            raise TrainingError(f"Strategy must be one of {', '.join(STRATEGIES)}.")
        if self.dataset == "folder" and not self.data:
            raise TrainingError("The folder dataset needs a directory or .zip of class subfolders.")


@dataclass
class TrainingEvent:
    """One thing that happened during training, in plain numbers (the page draws these)."""

    kind: str  # "status", "batch", "epoch", "finished", "stopped" or "failed"
    message: str = ""
    epoch: int = 0  # 1-based epoch the event belongs to
    epochs: int = 0
    step: int = 0  # 1-based batch within the epoch
    steps: int = 0  # batches per epoch
    loss: float | None = None
    accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    samples_per_s: float | None = None
    elapsed: float = 0.0  # seconds since fit started
    eta: float | None = None  # seconds left, estimated from the speed so far

    @property
    def progress(self) -> float:
        """Fraction of all batches done, 0..1."""
        if not self.epochs or not self.steps:
            return 0.0
        return min(1.0, ((self.epoch - 1) * self.steps + self.step) / (self.epochs * self.steps))


@dataclass
class TrainResult:
    """What a training produced. `run_dir` is None when nothing could be saved."""

    state: str  # "finished", "stopped" or "failed"
    config: TrainConfig
    run_dir: Path | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    test_accuracy: float | None = None
    epochs_run: int = 0
    seconds: float = 0.0
    message: str = ""  # why it stopped or failed, in a sentence
    save_error: str | None = None  # the run trained but could not be written to disk
    warning: str | None = None  # it finished, but the loss diverged (the message says so too)
    model: Any = None  # the trained Keras model (kept for download when saving failed)
    record: dict[str, Any] | None = None  # the run.json content


class StopTraining(Exception):
    """Raised inside `train` when the stop flag is set before fit starts."""


def _emit(events: Callable[[TrainingEvent], None] | None, event: TrainingEvent) -> None:
    if events is not None:
        events(event)


def _make_event_callback(events, stop, epochs, steps, batch_size, nan_state, touch):
    """The one Keras callback of `train`: events, stop flag, NaN guard, last good weights."""
    import keras

    class EventCallback(keras.callbacks.Callback):
        """Reports batch/epoch events, stops after the current batch when asked.

        Args:
            events: called with every `TrainingEvent` (from the training thread).
            stop: a threading.Event; when set, training stops after the current batch.
        """

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()
            self.last_emit = 0.0
            self.samples = 0
            self.epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

        def _timing(self, step):
            elapsed = time.perf_counter() - self.start
            done = (self.epoch - 1) * steps + step
            speed = self.samples / elapsed if elapsed > 0 else None
            eta = elapsed / done * (epochs * steps - done) if done else None
            return elapsed, speed, eta

        def on_train_batch_end(self, batch, logs=None):
            logs = logs or {}
            self.samples += batch_size
            loss = float(logs.get("loss", float("nan")))
            if not math.isfinite(loss):
                nan_state["batch"] = (self.epoch, batch + 1)
                self.model.stop_training = True
                return
            if stop is not None and stop.is_set():
                self.model.stop_training = True
            if touch is not None and touch():
                self.model.stop_training = True
            now = time.perf_counter()
            if now - self.last_emit < BATCH_EVENT_INTERVAL_S and batch + 1 < steps:
                return
            self.last_emit = now
            elapsed, speed, eta = self._timing(batch + 1)
            _emit(
                events,
                TrainingEvent(
                    "batch",
                    epoch=self.epoch,
                    epochs=epochs,
                    step=batch + 1,
                    steps=steps,
                    loss=loss,
                    accuracy=_maybe(logs.get("accuracy")),
                    samples_per_s=speed,
                    elapsed=elapsed,
                    eta=eta,
                ),
            )

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            if nan_state.get("batch") is None and math.isfinite(logs.get("loss", float("nan"))):
                nan_state["good_weights"] = self.model.get_weights()
                nan_state["good_epochs"] = epoch + 1
            elapsed, speed, eta = self._timing(steps)
            _emit(
                events,
                TrainingEvent(
                    "epoch",
                    epoch=epoch + 1,
                    epochs=epochs,
                    step=steps,
                    steps=steps,
                    loss=_maybe(logs.get("loss")),
                    accuracy=_maybe(logs.get("accuracy")),
                    val_loss=_maybe(logs.get("val_loss")),
                    val_accuracy=_maybe(logs.get("val_accuracy")),
                    samples_per_s=speed,
                    elapsed=elapsed,
                    eta=eta,
                ),
            )

    return EventCallback()


def _maybe(value) -> float | None:
    return None if value is None else float(value)


def input_shape_for(config: TrainConfig, info: datasets.DatasetInfo) -> tuple[int, int, int]:
    """Model input (h, w, c) for this config: digit sets stay 28x28, photos use image_size."""
    if info.kind == "photos" and config.image_size:
        return (config.image_size, config.image_size, info.channels)
    return (info.image_size[0], info.image_size[1], info.channels)


def preprocessing_for(info: datasets.DatasetInfo, input_shape: tuple[int, int, int]) -> dict:
    """The preprocessing record run.json keeps and `cnn.preprocess.prepare_*` re-applies."""
    method = {"digits": "mnist_digit", "grayscale": "grayscale_item"}.get(info.kind, "photo")
    return {
        "method": method,
        "image_size": [input_shape[0], input_shape[1]],
        "channels": input_shape[2],
        "scale": "pixel / 255",
        "crop": "centre square" if method == "photo" else "none",
    }


def resolve_spec(config: TrainConfig, input_shape, num_classes) -> architectures.ArchSpec:
    """The ArchSpec a config trains: its custom spec, else the registry architecture's."""
    if config.spec is not None:
        return architectures.ArchSpec.from_dict(config.spec)
    return architectures.REGISTRY[config.arch].spec(input_shape, num_classes)


def estimate_memory(spec: architectures.ArchSpec, input_shape, num_classes, batch_size) -> int:
    """Rough bytes one training step needs: weights, optimizer state, activations for backprop."""
    h, w, c = input_shape
    per_sample = h * w * c
    for block in spec.conv_blocks:
        for _ in range(block.convs):
            h, w = block.conv_output(h, w)
            # conv output, plus normalised and activated copies when batch norm is on
            per_sample += h * w * block.filters * (3 if block.batch_norm else 1)
        if block.pool != "none":
            h, w = h // block.pool_size, w // block.pool_size
            per_sample += h * w * block.filters
    params = architectures.count_params(spec, input_shape, num_classes)
    # float32; activations are kept for the backward pass and their gradients need as much again
    return 4 * (2 * per_sample * batch_size + 4 * params)


def _strategy(name: str):
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _optimizer(config: TrainConfig, total_steps: int):
    import keras

    lr: Any = config.learning_rate
    if config.lr_schedule == "cosine":
        warmup = int(WARMUP_FRACTION * total_steps)
        lr = keras.optimizers.schedules.CosineDecay(
            0.0,
            max(1, total_steps - warmup),
            warmup_target=config.learning_rate,
            warmup_steps=warmup,
        )
    factory = {
        "adam": keras.optimizers.Adam,
        "sgd": lambda learning_rate: keras.optimizers.SGD(learning_rate, momentum=0.9),
        "rmsprop": keras.optimizers.RMSprop,
        "adadelta": keras.optimizers.Adadelta,
    }[config.optimizer]
    return factory(learning_rate=lr)


def train(
    config: TrainConfig,
    events: Callable[[TrainingEvent], None] | None = None,
    stop: threading.Event | None = None,
    out_dir: str | Path | None = None,
    touch: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train a model as `config` says, evaluate it on the test split and save the run.

    Args:
        config: what to train.
        events: called with every TrainingEvent (batch, epoch, status, end).
        stop: when set, training stops after the current batch and the run is still saved.
        out_dir: folder that receives the run folder; None keeps the run in memory only.
        touch: called after every batch; returning True stops training (an abandoned job).

    Returns:
        A TrainResult. Errors a user can cause come back as state "failed" with a message;
        they are not raised.
    """
    started = time.perf_counter()
    try:
        return _train(config, events, stop, out_dir, touch, started)
    except (TrainingError, datasets.DatasetError, architectures.SpecError) as err:
        return _failed(config, events, str(err), started)
    except StopTraining:
        message = "Stopped before training started."
        _emit(events, TrainingEvent("stopped", message=message))
        return TrainResult("stopped", config, message=message)
    except MemoryError:
        return _failed(
            config, events, "Out of memory: use smaller images, batches or model.", started
        )
    except Exception as err:  # noqa: BLE001 - the worker must report, never die silently
        import tensorflow as tf

        if isinstance(err, tf.errors.ResourceExhaustedError):
            message = "Out of memory: use smaller images, a smaller batch or a smaller model."
        else:
            message = f"Training failed: {type(err).__name__}: {err}"
        return _failed(config, events, message, started)


def _failed(config, events, message, started) -> TrainResult:
    _emit(events, TrainingEvent("failed", message=message))
    return TrainResult("failed", config, message=message, seconds=time.perf_counter() - started)


def _check_stop(stop):
    if stop is not None and stop.is_set():
        raise StopTraining


def _train(config, events, stop, out_dir, touch, started) -> TrainResult:
    from cnn import artifacts
    from cnn import evaluate as evaluation

    config.validate()
    info = datasets.REGISTRY[config.dataset]
    _emit(events, TrainingEvent("status", message=f"Loading {info.title}..."))

    def progress(fraction, message):
        _emit(events, TrainingEvent("status", message=message))

    data = datasets.load(config.dataset, config.data, progress=progress)
    info = data.info
    class_names = list(data.class_names)
    num_classes = len(class_names)
    input_shape = input_shape_for(config, info)
    spec = resolve_spec(config, input_shape, num_classes)
    spec.validate(input_shape)
    needed = estimate_memory(spec, input_shape, num_classes, config.batch_size)
    if needed > MEMORY_BUDGET_BYTES:
        raise TrainingError(
            f"This would need about {needed / 1024**3:.1f} GB of memory per step "
            f"(limit {MEMORY_BUDGET_BYTES / 1024**3:.1f} GB): use smaller images, "
            "a smaller batch or fewer filters."
        )
    train_split = data.train
    if config.max_samples is not None:
        if config.max_samples > len(train_split):
            raise TrainingError(
                f"Asked for {config.max_samples} training samples but {info.title} has "
                f"{len(train_split)}: lower Max samples."
            )
        train_split = datasets.stratified_subset(train_split, config.max_samples, config.seed)
    val_split = train_split.take([])  # validation_fraction 0: no validation
    if config.validation_fraction:
        train_split, val_split = datasets.split_validation(
            train_split, config.validation_fraction, config.seed
        )
    if len(train_split) == 0:
        raise TrainingError("No training images are left after holding out validation images.")
    _check_stop(stop)

    import keras

    keras.utils.set_random_seed(config.seed)
    size, channels = input_shape[:2], input_shape[2]
    aug = info.kind if config.augment else None

    def pipeline(split, shuffle, augment=None):
        batches = datasets.make_pipeline(
            split,
            size,
            channels,
            config.batch_size,
            shuffle=shuffle,
            seed=config.seed,
            augment=augment,
        )
        if config.label_smoothing:
            import tensorflow as tf

            batches = batches.map(lambda x, y: (x, tf.one_hot(y, num_classes)))
        return batches

    train_batches = pipeline(train_split, True, aug)
    val_batches = pipeline(val_split, False) if len(val_split) else None
    steps = math.ceil(len(train_split) / config.batch_size)

    with _strategy(config.strategy).scope():
        model = architectures.build(spec, input_shape, num_classes)
        if config.label_smoothing:
            loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
        else:
            loss = keras.losses.SparseCategoricalCrossentropy()
        model.compile(
            optimizer=_optimizer(config, steps * config.epochs), loss=loss, metrics=["accuracy"]
        )
    _emit(
        events,
        TrainingEvent(
            "status",
            message=f"Training on {len(train_split)} images ({data.source}).",
            epochs=config.epochs,
            steps=steps,
        ),
    )
    nan_state: dict[str, Any] = {}
    callback = _make_event_callback(
        events, stop, config.epochs, steps, config.batch_size, nan_state, touch
    )
    fit_start = time.perf_counter()
    history = model.fit(
        train_batches,
        validation_data=val_batches,
        epochs=config.epochs,
        callbacks=[callback],
        shuffle=False,  # the pipeline shuffles; Keras cannot shuffle a tf.data stream
        verbose=0,
    )
    fit_seconds = time.perf_counter() - fit_start
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    epochs_run = len(hist.get("loss", []))

    # decide how it ended: NaN, asked to stop, or all epochs done
    state, message = "finished", f"Finished {epochs_run} epochs."
    if nan_state.get("batch") is not None:
        epoch, batch = nan_state["batch"]
        good = nan_state.get("good_epochs", 0)
        if not good:
            message = (
                f"The loss became NaN/infinite at epoch {epoch}, batch {batch}: the learning "
                "rate is probably too high. No epoch finished cleanly, so nothing was saved."
            )
            _emit(events, TrainingEvent("failed", message=message))
            return TrainResult(
                "failed",
                config,
                history=hist,
                message=message,
                seconds=time.perf_counter() - started,
            )
        model.set_weights(nan_state["good_weights"])
        hist = {k: v[:good] for k, v in hist.items()}
        epochs_run = good
        state = "stopped"
        message = (
            f"The loss became NaN/infinite at epoch {epoch}, batch {batch}: the learning rate "
            f"is probably too high. Kept the weights from the last good epoch ({good})."
        )
    elif model.stop_training and epochs_run < config.epochs or (stop is not None and stop.is_set()):
        state = "stopped"
        reason = "the browser tab went away" if touch is not None and touch() else "asked to stop"
        message = f"Stopped ({reason}) during epoch {max(epochs_run, 1)}."
    warning = _divergence_warning(hist.get("loss", []), num_classes)
    if warning:
        message = f"{message} {warning}"

    _emit(events, TrainingEvent("status", message="Evaluating on the test split..."))
    # inference at the training batch size: 256 photos at once could need more than fit did
    test_batches = datasets.make_pipeline(data.test, size, channels, config.batch_size)
    result_eval = evaluation.evaluate(model, test_batches, class_names)
    seconds = time.perf_counter() - started
    record = {
        "config": config.to_dict(),
        "spec": spec.to_dict(),
        "dataset": {
            "key": config.dataset,
            "title": info.title,
            "source": data.source,
            "train_samples": len(train_split),
            "validation_samples": len(val_split),
            "test_samples": len(data.test),
        },
        "class_names": class_names,
        "preprocessing": preprocessing_for(info, input_shape),
        "input_shape": list(input_shape),
        "params": int(model.count_params()),
        "history": hist,
        "test": result_eval.to_dict(),
        "state": state,
        "message": message,
        "epochs_run": epochs_run,
        "timings": {
            "seconds": round(seconds, 2),
            "fit_seconds": round(fit_seconds, 2),
            "images_per_s": round(len(train_split) * max(epochs_run, 1) / fit_seconds, 1)
            if fit_seconds > 0
            else None,
        },
    }
    shown = _spread_over_classes(result_eval.misclassified, result_eval.labels, MAX_ERRORS_KEPT)
    record["test"]["misclassified_shown"] = shown
    errors = {
        "images": _thumbnails(data.test.take(shown), size, channels),
        "true": result_eval.labels[shown],
        "predicted": result_eval.predictions[shown],
        "index": shown,
    }
    run_dir, save_error = None, None
    if out_dir is not None:
        try:
            run_dir = artifacts.save_run(model, record, out_dir, errors=errors)
        except artifacts.ArtifactError as err:
            save_error = str(err)
    end = "stopped" if state == "stopped" else "finished"
    _emit(events, TrainingEvent(end, message=message, epoch=epochs_run, epochs=config.epochs))
    return TrainResult(
        state,
        config,
        run_dir=run_dir,
        history=hist,
        test_accuracy=result_eval.accuracy,
        epochs_run=epochs_run,
        seconds=seconds,
        message=message,
        save_error=save_error,
        warning=warning,
        model=model,
        record=record,
    )


def _divergence_warning(losses: list[float], num_classes: int) -> str | None:
    """A sentence when the last epoch's loss is far above a model that only guesses.

    A learning rate that is too high does not always reach NaN: the loss can also settle at
    huge finite values while the model predicts one class for everything.
    """
    guess = math.log(num_classes)
    if not losses or losses[-1] <= DIVERGED_LOSS_FACTOR * guess:
        return None
    return (
        f"The training loss ended at {losses[-1]:.3g}, far above the {guess:.2f} of a model "
        "that only guesses: the learning rate is probably too high."
    )


def _spread_over_classes(indices: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Up to n of `indices`, taken in turn from each true class (test sets are often sorted)."""
    by_class = [indices[labels[indices] == c] for c in np.unique(labels[indices])]
    picked = [group[i] for i in range(n) for group in by_class if i < len(group)]
    return np.sort(np.asarray(picked[:n], dtype=np.int64))


def _thumbnails(split: datasets.Split, size, channels) -> np.ndarray:
    """The images as the model saw them, as uint8, at most THUMBNAIL_SIDE pixels a side."""
    import cv2

    if len(split) == 0:
        return np.zeros((0, *_thumb_shape(size), channels), np.uint8)
    batches = datasets.make_pipeline(split, size, channels, 64)
    images = np.concatenate([np.asarray(x) for x, _ in batches])
    out = []
    for image in (images * 255).round().astype(np.uint8):
        small = cv2.resize(image, _thumb_shape(size)[::-1], interpolation=cv2.INTER_AREA)
        out.append(small.reshape(*_thumb_shape(size), channels))
    return np.stack(out)


def _thumb_shape(size) -> tuple[int, int]:
    """(h, w) of kept error thumbnails: the input size, shrunk to THUMBNAIL_SIDE at most."""
    scale = min(1.0, THUMBNAIL_SIDE / max(size))
    return (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))


class TrainingSlots:
    """Caps how many trainings run at once in this process; the rest wait in FIFO order.

    Args:
        limit: trainings allowed at the same time (env CNN_MAX_TRAININGS, default 1).
    """

    def __init__(self, limit: int | None = None):
        self.limit = limit or int(os.environ.get("CNN_MAX_TRAININGS", "1"))
        self._cond = threading.Condition()
        self._waiting: list[object] = []
        self._running = 0

    def __repr__(self) -> str:
        waiting = len(self._waiting)
        return f"TrainingSlots(limit={self.limit}, running={self._running}, waiting={waiting})"

    def position(self, ticket: object) -> int | None:
        """1-based place in the queue, or None when not waiting."""
        with self._cond:
            return self._waiting.index(ticket) + 1 if ticket in self._waiting else None

    def enqueue(self, ticket: object) -> None:
        """Take a place in the queue now (`acquire` then waits from that place)."""
        with self._cond:
            if ticket not in self._waiting:
                self._waiting.append(ticket)

    def acquire(self, ticket: object, cancelled: threading.Event) -> bool:
        """Wait for a free slot; False when `cancelled` was set while waiting."""
        self.enqueue(ticket)
        with self._cond:
            try:
                while not (self._running < self.limit and self._waiting[0] is ticket):
                    if cancelled.is_set():
                        return False
                    self._cond.wait(timeout=0.2)
                self._running += 1
                return True
            finally:
                self._waiting.remove(ticket)
                self._cond.notify_all()

    def release(self) -> None:
        """Give a slot back."""
        with self._cond:
            self._running -= 1
            self._cond.notify_all()


SLOTS = TrainingSlots()  # the server-wide limit the Train page uses


class TrainingJob:
    """`train()` in a background thread, observed through a queue of events.

    The worker thread never touches Streamlit. A page keeps the job in session state and
    calls `drain()` from a fragment; each call also proves someone is still watching, and a
    job nobody polls for `abandon_after` seconds stops itself and still saves its run.

    Args:
        config: what to train.
        out_dir: where the run folder goes (None: in memory only).
        slots: the concurrency limit shared by all jobs of the server.
        abandon_after: seconds without `drain()` before the job stops itself; None reads
            CNN_ABANDON_AFTER_S now (default ABANDON_AFTER_S), `math.inf` never stops.

    Example:
        >>> job = TrainingJob(TrainConfig(epochs=1, max_samples=500), "runs").start()
        >>> job.join(); job.state, job.result.test_accuracy
    """

    def __init__(
        self,
        config: TrainConfig,
        out_dir=None,
        slots: TrainingSlots | None = None,
        abandon_after: float | None = None,
    ):
        self.config = config
        self.out_dir = out_dir
        self.slots = slots or SLOTS
        if abandon_after is None:
            abandon_after = float(os.environ.get("CNN_ABANDON_AFTER_S", ABANDON_AFTER_S))
        self.abandon_after = abandon_after
        self.events: queue.Queue[TrainingEvent] = queue.Queue()
        self.state = "created"  # created -> queued -> running -> finished/stopped/failed
        self.error: str | None = None
        self.result: TrainResult | None = None
        self._stop = threading.Event()
        self._last_seen = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="cnn-training", daemon=True)

    def __repr__(self) -> str:
        return f"TrainingJob({self.config.dataset}/{self.config.arch}, state={self.state})"

    def start(self) -> TrainingJob:
        """Start the worker thread; returns self."""
        import keras  # noqa: F401 - first import in the caller's thread, never racing a page draw

        self.state = "queued"
        self.slots.enqueue(self)  # in line before start() returns, so the page can show where
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to stop after the current batch (or to leave the queue)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker thread to end."""
        self._thread.join(timeout)

    @property
    def done(self) -> bool:
        """True once the job reached finished, stopped or failed."""
        return self.state in ("finished", "stopped", "failed")

    @property
    def queue_position(self) -> int | None:
        """1-based position while waiting for a free training slot."""
        return self.slots.position(self) if self.state == "queued" else None

    def drain(self) -> list[TrainingEvent]:
        """All events since the last call (and a sign that the page is still watching)."""
        self._last_seen = time.monotonic()
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def _abandoned(self) -> bool:
        return time.monotonic() - self._last_seen > self.abandon_after

    def _run(self) -> None:
        if not self.slots.acquire(self, self._stop):
            self.state = "stopped"
            self.error = "Stopped while waiting for a free training slot."
            self.events.put(TrainingEvent("stopped", message=self.error))
            return
        try:
            self.state = "running"
            self.result = train(
                self.config, self.events.put, self._stop, self.out_dir, touch=self._abandoned
            )
            self.state = self.result.state
            if self.result.state == "failed":
                self.error = self.result.message
        finally:
            self.slots.release()
