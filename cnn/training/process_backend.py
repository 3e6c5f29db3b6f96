"""Trainings in a child process at a lower priority: `ProcessRunner` is a `TrainingJob` runner.

On a small server one process both trains and answers a class: every stroke on Predict is a
model call, and in the server's own process it waits behind the training's TensorFlow
threads (the class benchmark measured drawing answers at a p95 of 19.9 s during trainings).
A training in a child process at `nice` 10 leaves the CPU to the server whenever the server
has work, and takes all of it otherwise.

How it talks to the server, as `RayRunner` does but through `multiprocessing`:
- events: the child puts every `TrainingEvent` (as a dict) on a queue; the runner drains it
  ten times a second and hands each event to the job's `events` callback;
- stop: the job's stop, and "nobody watches any more", are two events the child checks
  after every batch;
- the run: the child trains into the server's `out_dir` (same machine, same disk) and sends
  the result's fields last; the runner reads the saved record back.

The child is started with "spawn": a fresh Python importing TensorFlow itself (a few
seconds), never a fork of a server whose threads hold locks.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from cnn.training.config import TrainConfig
from cnn.training.events import Events, TrainingEvent, TrainResult, emit

NICE_ENV = "CNN_TRAIN_NICE"  # how much lower the child's priority is (default 10)
DEFAULT_NICE = 10
POLL_S = 0.1  # how often the runner drains events and checks stop
RESULT = "result"  # the last message's key: the result's fields


class _Flag:
    """A multiprocessing Event the training polls as `stop.is_set()` or `touch()`."""

    def __init__(self, event) -> None:
        self.event = event

    def is_set(self) -> bool:
        return self.event.is_set()

    def __call__(self) -> bool:
        return self.event.is_set()


def _child(config: dict, out_dir: str | None, events, stop, abandoned, nice: int, probes):
    """The child process: lower its priority, train, send each event and then the result."""
    niceness = os.nice(nice) if nice else os.nice(0)
    events.put(asdict(TrainingEvent("status", message=(
        f"Training in a process of its own at priority {niceness} (the server's is "
        f"{niceness - nice}), so drawings and pages are answered first."))))  # fmt: skip
    from cnn.training.loop import train

    result = train(
        TrainConfig.from_dict(config),
        events=lambda event: events.put(asdict(event)),
        stop=_Flag(stop),
        out_dir=out_dir,
        touch=_Flag(abandoned),
        extra_probes=probes,
    )
    fields = ("state", "history", "test_accuracy", "epochs_run", "seconds", "message",
              "save_error", "warning")  # fmt: skip
    done = {k: getattr(result, k) for k in fields}
    done["run_dir"] = None if result.run_dir is None else str(result.run_dir)
    events.put({RESULT: done})


class ProcessRunner:
    """Runs `cnn.training.train` in a child process; called like `train` by a `TrainingJob`.

    Args:
        nice: how much lower the child's priority is (default $CNN_TRAIN_NICE or 10; 0 keeps
            the server's).
    """

    def __init__(self, nice: int | None = None) -> None:
        self.nice = int(os.environ.get(NICE_ENV, DEFAULT_NICE)) if nice is None else nice
        self._context = multiprocessing.get_context("spawn")

    def __repr__(self) -> str:
        return f"ProcessRunner(nice={self.nice})"

    def __call__(
        self,
        config: TrainConfig,
        events: Events | None = None,
        stop: threading.Event | None = None,
        out_dir: str | Path | None = None,
        touch: Callable[[], bool] | None = None,
        extra_probes: list | None = None,
    ) -> TrainResult:
        """Start the child, stream its events, forward stop; the run it saved as the result."""
        messages = self._context.Queue()
        halt, abandoned = self._context.Event(), self._context.Event()
        child = self._context.Process(
            target=_child,
            args=(
                config.to_dict(),
                None if out_dir is None else str(out_dir),
                messages,
                halt,
                abandoned,
                self.nice,
                extra_probes,
            ),  # fmt: skip
            name="cnn-training",
            daemon=True,
        )
        child.start()
        try:
            done = self._follow(child, messages, events, stop, touch, halt, abandoned)
        finally:
            if child.is_alive():
                child.kill()
            child.join(5)
            messages.close()
        if done is None:
            message = (
                f"The training process ended without a result (exit code {child.exitcode}): "
                "the server may have run out of memory. Try a smaller model or image size."
            )
            emit(events, TrainingEvent("failed", message=message))
            return TrainResult("failed", config, message=message)
        return _result(config, done)

    def _follow(self, child, messages, events, stop, touch, halt, abandoned) -> dict | None:
        """Forward events and stop until the child sends its result, or dies without one."""
        while True:
            try:
                message = messages.get(timeout=POLL_S)
            except queue.Empty:
                if not child.is_alive() and messages.empty():
                    return None
            else:
                if RESULT in message:
                    return message[RESULT]
                emit(events, TrainingEvent(**message))
            if stop is not None and stop.is_set():
                halt.set()
            if touch is not None and not abandoned.is_set() and touch():
                abandoned.set()


def _result(config: TrainConfig, done: dict) -> TrainResult:
    """The TrainResult of the child's fields, with the saved record read back."""
    from cnn import artifacts

    run_dir = Path(done.pop("run_dir")) if done.get("run_dir") else None
    record = None
    if run_dir is not None:
        info = artifacts.read_run_info(run_dir)
        record = info.record if info.ok else None
    return TrainResult(config=config, run_dir=run_dir, record=record, **done)
