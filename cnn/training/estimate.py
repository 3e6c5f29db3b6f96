"""How long a training takes: the queue's "about N s" and a running training's "s left".

Before a training has shown anything, a prior from the work its config asks for: its
network's multiply-adds (`cnn.layer_shapes`) x images x epochs, plus a cost per optimizer
step and fixed costs, measured on a 2-core machine (bench/README.md, "What a waiting student
is told"). While it runs, its own speed, counted from its WARM_STEPS-th batch on (the first
steps compile the step function and once told a class "about 212 s" for a 10 s training),
plus the time this server's finished trainings spent after their last batch (the test
evaluation, calibration, the unfamiliar-input check, saving), which the batches do not show.

Example:
    >>> progress = Progress(prior_s=12.0)
    >>> progress.update(event)   # each TrainingEvent the training sends
    >>> progress.remaining_s()   # seconds until it ends, from now
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

MACS_PER_S = 4.0e10  # multiply-adds a training step does per second here (forward + backward)
BACKWARD = 3.0  # a training step costs about three forward passes
STEP_S = 0.004  # per optimizer step, whatever the network (callbacks, dispatch)
FIT_FIXED_S = 2.0  # per training: the first step's compile, the time-lapse's snapshots
LOAD_S = 1.0  # reading the data and building the model, before the first batch
AFTER_FIT_S = 4.0  # after the last batch, until a server has measured its own
CHILD_START_S = 5.0  # a training in a child process first imports TensorFlow there
WARM_STEPS = 3  # the speed is counted from this many batches on...
MEASURED_STEPS = 10  # ...and trusted once this many more have been timed (one batch can stall)


def fit_seconds(spec, input_shape, num_classes: int, images_per_epoch: int, epochs: int,
                batch_size: int) -> float:  # fmt: skip
    """Seconds `fit` takes for the network `spec` (its multiply-adds per image, forward).

    Raises:
        SpecError: a spec whose map shrinks to nothing (`ArchSpec.shapes`).
    """
    macs = sum(layer.macs for layer in spec.shapes(input_shape, num_classes))
    steps = math.ceil(images_per_epoch / max(1, batch_size)) * epochs
    work = BACKWARD * macs * images_per_epoch * epochs / MACS_PER_S
    return FIT_FIXED_S + steps * STEP_S + work


def prior_seconds(config, train_images: int | None) -> float | None:
    """Seconds a whole training of `config` takes on `train_images` images (before the
    validation share is held out), or None when the size or the network is unknown."""
    from cnn import datasets
    from cnn.errors import CnnError
    from cnn.training.config import input_shape_for, resolve_spec

    if not train_images or config.dataset not in datasets.REGISTRY:
        return None
    info = datasets.REGISTRY[config.dataset]
    images = min(train_images, config.max_samples or train_images)
    images = max(1, round(images * (1 - config.validation_fraction)))
    shape = input_shape_for(config, info)
    classes = max(2, len(info.class_names))
    try:
        spec = resolve_spec(config, shape, classes)
        fit = fit_seconds(spec, shape, classes, images, config.epochs, config.batch_size)
    except (CnnError, KeyError, ValueError):
        return None
    return LOAD_S + fit + AFTER_FIT_S


@dataclass
class Progress:
    """One training's time so far and its projection; `update` with each of its events.

    Attributes:
        prior_s: the whole training's prior (None: unknown).
        after_fit_s: seconds expected after the last batch (a server's own measure).
    """

    prior_s: float | None = None
    after_fit_s: float = AFTER_FIT_S
    started: float = field(default_factory=time.monotonic)  # made, then given a slot (begin)
    fit_prior_s: float | None = None  # the training's own estimate of fit, before its batches
    fit_start: float | None = None  # when fit started (time.monotonic), from the events
    warm: tuple[float, int] | None = None  # (elapsed, batches done) at the WARM_STEPS-th batch
    last: tuple[float, int, int] | None = None  # (monotonic, batches done, all batches)
    fit_end: float | None = None  # when the last batch ended
    ended: float | None = None

    def begin(self) -> None:
        """The training got its slot now: its prior counts from here, not from the ask."""
        self.started = time.monotonic()

    def update(self, event) -> None:
        """Take one `TrainingEvent` of this training into account."""
        now = time.monotonic()
        if event.kind == "restarted":  # a cluster started it again: its speed so far is void
            self.started, self.fit_start, self.warm, self.last = now, None, None, None
        elif event.kind == "status" and event.steps and event.eta is not None:
            self.fit_prior_s, self.fit_start = event.eta, now  # fit starts now
        elif event.kind in ("batch", "epoch") and event.steps and event.epochs:
            done = (event.epoch - 1) * event.steps + event.step
            self.fit_start = now - event.elapsed
            if self.warm is None and done >= WARM_STEPS:
                self.warm = (event.elapsed, done)
            self.last = (now, done, event.epochs * event.steps)
            if done >= event.epochs * event.steps:
                self.fit_end = now
        elif event.kind in ("finished", "stopped", "failed"):
            self.ended = now

    def remaining_s(self, now: float | None = None) -> float | None:
        """Seconds until the training ends, from `now`; None when nothing is known yet."""
        now = time.monotonic() if now is None else now
        if self.ended is not None:
            return 0.0
        if self.fit_end is not None:
            return max(0.0, self.fit_end + self.after_fit_s - now)
        if self.measured:
            at, done, total = self.last
            per_batch = (at - self.fit_start - self.warm[0]) / (done - self.warm[1])
            return max(0.0, at + per_batch * (total - done) - now) + self.after_fit_s
        if self.fit_prior_s is not None:
            begun = self.fit_start if self.fit_start is not None else now
            return max(0.0, begun + self.fit_prior_s - now) + self.after_fit_s
        if self.prior_s is not None:
            return max(0.0, self.started + self.prior_s - now)
        return None

    @property
    def measured(self) -> bool:
        """True once the training's own speed is known (MEASURED_STEPS warm batches timed)."""
        return (
            self.last is not None
            and self.warm is not None
            and self.last[1] - self.warm[1] >= min(MEASURED_STEPS, self.last[2] - self.warm[1])
            and self.last[1] > self.warm[1]
        )

    def measured_after_fit_s(self) -> float | None:
        """Seconds this training spent after its last batch, once it ended."""
        if self.fit_end is None or self.ended is None:
            return None
        return self.ended - self.fit_end
