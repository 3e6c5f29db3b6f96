"""What a training reports while it runs (`TrainingEvent`) and what it produced (`TrainResult`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnn.training.config import TrainConfig


@dataclass
class TrainingEvent:
    """One thing that happened during training, in plain numbers (the page draws these)."""

    # "status", "batch", "epoch", "snapshot", "restarted" (a cluster started the training
    # again from the beginning: the events before it are void), "lr" (the learning rate was
    # changed: from batch `step` of `epoch` on it is `learning_rate`), "finished", "stopped",
    # "failed"
    kind: str
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
    snapshot: dict | None = None  # a "snapshot" event's time-lapse frame (cnn.timelapse)
    learning_rate: float | None = None  # "lr": the new rate; "batch"/"epoch": the next batch's

    @property
    def progress(self) -> float:
        """Fraction of all batches done, 0..1."""
        if not self.epochs or not self.steps:
            return 0.0
        return min(1.0, ((self.epoch - 1) * self.steps + self.step) / (self.epochs * self.steps))


Events = Callable[[TrainingEvent], None]


def emit(events: Events | None, event: TrainingEvent) -> None:
    """Send an event when someone listens."""
    if events is not None:
        events(event)


def latest_try(events: list[TrainingEvent]) -> list[TrainingEvent]:
    """The events since the training last started again from the beginning (all of them when
    it never did): the progress and curves of a lost try are not the model's."""
    starts = [i for i, event in enumerate(events) if event.kind == "restarted"]
    return events[starts[-1] + 1 :] if starts else events


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
    record: Any = None  # the cnn.record.RunRecord written to run.json

    def portable(self) -> dict[str, Any]:
        """The fields another process can send back (no config, path, model or record):
        a Ray task's or a child process's result, rebuilt with TrainResult(config, **them)."""
        names = ("state", "history", "test_accuracy", "epochs_run", "seconds", "message",
                 "save_error", "warning")  # fmt: skip
        return {name: getattr(self, name) for name in names}


class StopTraining(Exception):
    """Raised inside `train` when the stop flag is set before fit starts."""
