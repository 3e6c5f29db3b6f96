"""The Keras callbacks of `train`: one reports progress and obeys stop, one guards against NaN,
one changes the learning rate while training runs when a student asks.

Each is a module-level class that owns its state, as Keras' own callbacks do. Importing this
module imports Keras; `cnn.training.loop` imports it only when a training starts.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import keras
import tensorflow as tf

from cnn.i18n import tr
from cnn.training.events import Events, TrainingEvent, emit

BATCH_EVENT_INTERVAL_S = 0.05  # at most ~20 batch events a second reach the queue


def _maybe(value) -> float | None:
    return None if value is None else float(value)


def current_rate(optimizer) -> float:
    """The learning rate `optimizer`'s next step uses (its schedule read at its step count),
    to float32's 7 significant digits (0.003, not 0.0030000000260770321)."""
    rate = tf.convert_to_tensor(optimizer.learning_rate)  # also a MirroredVariable's value
    return float(f"{float(rate):.7g}")


class ProgressReporter(keras.callbacks.Callback):
    """Reports batch and epoch events, and stops after the current batch when asked.

    Args:
        events: called with every `TrainingEvent` (from the training thread).
        epochs: epochs the fit will run.
        steps: batches per epoch.
        batch_size: images per batch (for images/s).
        stop: when set, training stops after the current batch.
        abandoned: called after every batch; returning True stops training (nobody watches).

    Example:
        >>> model.fit(batches, epochs=2, callbacks=[ProgressReporter(print, 2, 100, 64)])
    """

    def __init__(
        self,
        events: Events | None,
        epochs: int,
        steps: int,
        batch_size: int,
        stop: threading.Event | None = None,
        abandoned: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__()
        self.events, self.epochs, self.steps, self.batch_size = events, epochs, steps, batch_size
        self.stop, self.abandoned = stop, abandoned
        self.start = self.last_emit = 0.0
        self.samples = self.epoch = 0

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def _event(self, kind: str, step: int, logs: dict) -> TrainingEvent:
        elapsed = time.perf_counter() - self.start
        done = (self.epoch - 1) * self.steps + step
        return TrainingEvent(
            kind,
            epoch=self.epoch,
            epochs=self.epochs,
            step=step,
            steps=self.steps,
            loss=_maybe(logs.get("loss")),
            accuracy=_maybe(logs.get("accuracy")),
            val_loss=_maybe(logs.get("val_loss")),
            val_accuracy=_maybe(logs.get("val_accuracy")),
            samples_per_s=self.samples / elapsed if elapsed > 0 else None,
            elapsed=elapsed,
            eta=elapsed / done * (self.epochs * self.steps - done) if done else None,
            learning_rate=current_rate(self.model.optimizer),
        )

    def on_train_batch_end(self, batch, logs=None):
        self.samples += self.batch_size
        logs = logs or {}
        if not math.isfinite(float(logs.get("loss", math.nan))):
            return  # LastGoodWeights stops the fit; the chart never gets a NaN point
        if (self.stop is not None and self.stop.is_set()) or (
            self.abandoned is not None and self.abandoned()
        ):
            self.model.stop_training = True
        now = time.perf_counter()
        if now - self.last_emit < BATCH_EVENT_INTERVAL_S and batch + 1 < self.steps:
            return
        self.last_emit = now
        emit(self.events, self._event("batch", batch + 1, logs))

    def on_epoch_end(self, epoch, logs=None):
        emit(self.events, self._event("epoch", self.steps, logs or {}))


class LastGoodWeights(keras.callbacks.Callback):
    """Stops at the first NaN or infinite loss and restores the last cleanly finished epoch.

    Attributes:
        nan_at: (epoch, batch), both 1-based, where the loss stopped being finite, or None.
        good_epochs: epochs that finished with a finite loss before that.
    """

    def __init__(self) -> None:
        super().__init__()
        self.nan_at: tuple[int, int] | None = None
        self.good_epochs = 0
        self.good_weights = None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if not math.isfinite(float((logs or {}).get("loss", math.nan))):
            self.nan_at = (self.epoch, batch + 1)
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.nan_at is None and math.isfinite(float((logs or {}).get("loss", math.nan))):
            self.good_weights = self.model.get_weights()
            self.good_epochs = epoch + 1

    def on_train_end(self, logs=None):
        if self.nan_at is not None and self.good_weights is not None:
            self.model.set_weights(self.good_weights)


class LiveLearningRate(keras.callbacks.Callback):
    """Uses the learning rate a student asks for during training from the next batch on, and
    records each change (see `cnn.training.rate`).

    Args:
        requests: its `take()` gives the newest rate asked for, or None (a
            `cnn.training.rate.RateRequests`, or a backend's view of one in another process).
        set_rate: sets the optimizer's rate (`cnn.training.recipe.adjustable`).
        events: called with an "lr" event for each change.
        steps: batches per epoch.

    Attributes:
        changes: one dict per change: "epoch" and "batch" (1-based) of the first batch that
            used it, "step" (its 1-based number counted over all epochs), "epochs_done" (the
            epochs done before it, 1.25: a quarter into the second; where a chart marks it),
            and "lr", the rate read back from the optimizer.

    Example:
        >>> changer = LiveLearningRate(rates, adjustable(model.optimizer), print, steps=100)
        >>> model.fit(batches, epochs=2, callbacks=[changer]); changer.changes
    """

    def __init__(
        self, requests, set_rate: Callable[[float], None], events: Events | None, steps: int
    ) -> None:
        super().__init__()
        self.requests, self.set_rate, self.events, self.steps = requests, set_rate, events, steps
        self.changes: list[dict] = []
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_begin(self, batch, logs=None):
        value = self.requests.take()
        if value is None:
            return
        self.set_rate(value)
        rate = current_rate(self.model.optimizer)
        step = (self.epoch - 1) * self.steps + batch + 1
        done = round(self.epoch - 1 + batch / self.steps, 4)
        self.changes.append({"epoch": self.epoch, "batch": batch + 1, "step": step,
                             "epochs_done": done, "lr": rate})  # fmt: skip
        message = tr("Learning rate set to {rate} from epoch {epoch}, batch {batch} on.").format(
            rate=f"{rate:g}", epoch=self.epoch, batch=batch + 1
        )
        event = TrainingEvent("lr", message=message, epoch=self.epoch, step=batch + 1,
                              steps=self.steps, learning_rate=rate)  # fmt: skip
        emit(self.events, event)
