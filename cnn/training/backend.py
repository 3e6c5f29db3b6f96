"""The seam where a training runs outside the thread that asked for it: `BackendRunner`.

A `TrainingJob` calls its runner as it would call `cnn.training.train`. A backend
(`process_backend.ProcessRunner`, `ray_backend.RayRunner`) subclasses `BackendRunner` and
says in `_run` where the training runs; the call it answers is declared here, once.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable
from pathlib import Path

from cnn.training.config import TrainConfig
from cnn.training.events import Events, TrainResult


class BackendRunner(abc.ABC):
    """Runs `cnn.training.train` elsewhere; called like `train` by a `TrainingJob`."""

    def __call__(
        self,
        config: TrainConfig,
        events: Events | None = None,
        stop: threading.Event | None = None,
        out_dir: str | Path | None = None,
        touch: Callable[[], bool] | None = None,
        extra_probes: list | None = None,
        rates=None,
    ) -> TrainResult:
        """Train as `train(config, events, stop, out_dir, touch, extra_probes, rates)` would,
        where this backend runs trainings; the run it saved (in `out_dir`) is the result's."""
        return self._run(config, events, stop, out_dir, touch, extra_probes, rates)

    @abc.abstractmethod
    def _run(self, config, events, stop, out_dir, touch, extra_probes, rates) -> TrainResult:
        """The training where this backend runs it (each argument as `__call__` got it)."""
