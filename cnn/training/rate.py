"""Changing the learning rate while a training runs: `RateRequests`, the channel beside stop.

A page (or a notebook) asks for a new rate with `ask(value)` at any moment; the training
takes the newest one at the start of its next batch (`take`) and, from that batch on, uses
that rate for the rest of the run: a cosine schedule is not followed any more ("from now on
the rate is X", as a student means it). Asking twice before a batch starts keeps the last.
`cnn.training.callbacks.LiveLearningRate` applies it and records it in the run's history as
`history["lr_changes"]` (`LR_CHANGES`); backends in other processes forward each ask as they
forward stop. No Keras here: a page imports this before any training.
"""

from __future__ import annotations

import threading

LR_CHANGES = "lr_changes"  # the history key: [{"epoch", "batch", "step", "epochs_done", "lr"}]


class RateRequests:
    """The newest learning rate asked for and not yet taken by the training (thread-safe).

    Example:
        >>> rates = RateRequests()
        >>> rates.ask(0.01)  # from the page
        >>> rates.take(), rates.take()  # from the training, at its next batch
        (0.01, None)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: float | None = None

    def __repr__(self) -> str:
        return f"RateRequests(waiting={self._value})"

    def ask(self, value: float) -> float:
        """Ask the training to use `value` from its next batch on; returns it as a float.

        Raises:
            TrainingError: a rate the Learning rate setting refuses (with its sentence).
        """
        from cnn.training.config import SETTINGS

        value = float(SETTINGS["learning_rate"].check(value))
        with self._lock:
            self._value = value
        return value

    def take(self) -> float | None:
        """The rate asked for since the last call, or None when none was."""
        with self._lock:
            value, self._value = self._value, None
        return value
