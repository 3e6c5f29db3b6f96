"""Trainings in the background: `TrainingJob` runs `train()` in a worker thread, observed through
a queue of events; `TrainingSlots` caps how many run at once on one server.

A job's `runner` is the seam where another backend can run the training: it is called with
the same arguments as `train` and must return a `TrainResult`. `training_backend()` picks
the runner and the slots from the environment: with `CNN_RAY_ADDRESS` set, trainings are
Ray tasks on that cluster (`cnn.training.ray_backend`) and Ray's scheduler queues them;
otherwise they run in this process, at most `CNN_MAX_TRAININGS` at once.
"""

from __future__ import annotations

import collections
import heapq
import math
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from cnn import i18n, settings
from cnn.i18n import tr
from cnn.training import estimate
from cnn.training.config import TrainConfig
from cnn.training.events import TrainingEvent, TrainResult
from cnn.training.loop import train
from cnn.training.rate import RateRequests

TYPICAL_TRAINING_S = 60.0  # the wait a queue estimates per training before any has finished
KEPT_DURATIONS = 20  # the last trainings' times the estimate is the median of

Runner = Callable[..., TrainResult]  # train(config, events, stop, out_dir, touch, extra_probes,
# rates)


def _asked_at(ticket: object) -> float:
    return getattr(ticket, "asked_at", math.inf)


class TrainingSlots:
    """Caps how many trainings run at once in this process; the rest wait in the order they
    were asked for (a job's `asked_at`: the Start click, not when its page got to start it).

    Args:
        limit: trainings allowed at the same time; None reads `settings.trainings_at_once()`
            (CNN_MAX_TRAININGS) each time a job asks, so a changed setting applies to the next.
    """

    def __init__(self, limit: int | None = None):
        self._limit = limit
        self._cond = threading.Condition()
        self._waiting: list[object] = []
        self._running = 0
        self._holders: dict[int, tuple[object, float]] = {}  # id -> (ticket, start time)
        self._durations: collections.deque[float] = collections.deque(maxlen=KEPT_DURATIONS)
        # finished trainings' time after their last batch, and their time over their prior
        self._after_fit: collections.deque[float] = collections.deque(maxlen=KEPT_DURATIONS)
        self._ratios: collections.deque[float] = collections.deque(maxlen=KEPT_DURATIONS)

    @property
    def limit(self) -> int:
        """Trainings allowed at once."""
        return self._limit or settings.trainings_at_once()

    def __repr__(self) -> str:
        waiting = len(self._waiting)
        return f"TrainingSlots(limit={self.limit}, running={self._running}, waiting={waiting})"

    def _place(self, ticket: object) -> int | None:
        """0-based place of this very ticket in the queue (identity, never equality)."""
        return next((i for i, t in enumerate(self._waiting) if t is ticket), None)

    def position(self, ticket: object) -> int | None:
        """1-based place in the queue, or None when not waiting."""
        with self._cond:
            place = self._place(ticket)
            return None if place is None else place + 1

    def enqueue(self, ticket: object) -> None:
        """Take a place in the queue now (`acquire` then waits from that place): behind every
        ticket asked for earlier (its `asked_at`, a time.monotonic(); else now)."""
        with self._cond:
            if self._place(ticket) is None:
                asked = _asked_at(ticket)
                later = (i for i, t in enumerate(self._waiting) if _asked_at(t) > asked)
                self._waiting.insert(next(later, len(self._waiting)), ticket)
                self._cond.notify_all()

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
                self._holders[id(ticket)] = (ticket, time.monotonic())
                return True
            finally:
                del self._waiting[self._place(ticket)]
                self._cond.notify_all()

    def release(self, ticket: object | None = None) -> None:
        """Give a slot back (the ticket's time in it then estimates the next waits)."""
        with self._cond:
            self._running -= 1
            held = self._holders.pop(id(ticket), None)
            if held is not None:
                took = time.monotonic() - held[1]
                self._durations.append(took)
                self._learn(ticket, took)
            self._cond.notify_all()

    def _learn(self, ticket: object, took: float) -> None:
        """Keep what a finished training says about the next ones' times (lock held)."""
        progress = getattr(ticket, "progress", None)
        if progress is None or getattr(ticket, "state", "finished") != "finished":
            return
        after = progress.measured_after_fit_s()
        if after is not None:
            self._after_fit.append(after)
        if progress.prior_s:
            self._ratios.append(took / progress.prior_s)

    def after_fit_s(self) -> float:
        """Seconds a training spends after its last batch here: the median of the last
        finished ones, else `estimate.AFTER_FIT_S`."""
        with self._cond:
            kept = _median(self._after_fit)
        return kept or estimate.AFTER_FIT_S

    def expected_seconds(self, ticket: object) -> float:
        """How long `ticket`'s training will hold a slot: its prior (`estimate.prior_seconds`)
        scaled by how this server's finished trainings compared with theirs; without a prior,
        a typical training's time."""
        prior = getattr(ticket, "prior_s", None)
        if not prior:
            return self.typical_seconds()
        return prior * self.speed_ratio()

    def speed_ratio(self) -> float:
        """Time over prior here: of the finished trainings (median); before any, of the
        running ones whose speed is known (their projection); else 1 (the prior as it is)."""
        now = time.monotonic()
        with self._cond:
            finished = _median(self._ratios)
            holders = list(self._holders.values())
        if finished:
            return finished
        running = [
            (now - started + job.remaining_s) / job.prior_s
            for job, started in holders
            if getattr(job, "prior_s", None)
            and getattr(getattr(job, "progress", None), "measured", False)
            and job.remaining_s is not None
        ]
        return _median(running) or 1.0

    def typical_seconds(self) -> float:
        """How long a training holds a slot here: the median of the last ones; before any has
        finished, of the running ones' own projections (their time so far and their estimate
        of the rest: a class's first line of Quick trainings was told 60 s per training
        ahead where each took ~13 s); else a guess."""
        now = time.monotonic()
        with self._cond:
            typical = _median(self._durations) or _median(
                now - started + job.remaining_s
                for job, started in self._holders.values()
                if getattr(job, "remaining_s", None) is not None
            )
        return typical or TYPICAL_TRAINING_S

    def wait_seconds(self, ticket: object) -> float | None:
        """About how long until `ticket` starts, or None when it is not waiting.

        The running trainings end when their own estimates say (or after a typical training);
        the ones ahead in line then take the first free slots, each for its own expected time.
        """
        now = time.monotonic()
        with self._cond:
            ahead = self._place(ticket)
            if ahead is None:
                return None
            holders = list(self._holders.values())
            before = list(self._waiting[:ahead])
        free = [
            _remaining(held, started, self.expected_seconds(held), now) for held, started in holders
        ]
        free += [0.0] * max(0, self.limit - len(free))
        heapq.heapify(free)
        for earlier in before:
            heapq.heappush(free, heapq.heappop(free) + self.expected_seconds(earlier))
        return free[0]


def _median(values) -> float | None:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else None


def _remaining(job: object, started: float, expected: float, now: float) -> float:
    """Seconds a running training still needs: its own estimate, else its expected time's
    rest."""
    left = getattr(job, "remaining_s", None)
    return left if left is not None else max(0.0, expected - (now - started))


SLOTS = TrainingSlots()  # the server-wide limit the Train page uses
UNLIMITED = TrainingSlots(limit=1_000_000)  # a cluster's scheduler queues, not this process


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
            CNN_ABANDON_AFTER_S now (default 120 s), `math.inf` never stops.
        runner: what trains (default `cnn.training.train`, in this process).
        extra_probes: (label, model input) pairs the time-lapse follows (see `train`).
        asked_at: when the student asked (time.monotonic()): the job's place in line.
        train_images: images in the training split, when the page knows: the prior of the
            queue's estimate (`estimate.prior_seconds`).

    Example:
        >>> job = TrainingJob(TrainConfig(epochs=1, max_samples=500), "runs").start()
        >>> job.join(); job.state, job.result.test_accuracy
    """

    def __init__(
        self,
        config: TrainConfig,
        out_dir: str | Path | None = None,
        slots: TrainingSlots | None = None,
        abandon_after: float | None = None,
        runner: Runner | None = None,
        extra_probes: list | None = None,
        asked_at: float | None = None,
        train_images: int | None = None,
    ):
        self.config = config
        self.out_dir = out_dir
        self.slots = slots or SLOTS
        if abandon_after is None:
            abandon_after = settings.current().abandon_after_s
        self.abandon_after = abandon_after if abandon_after > 0 else math.inf
        self.runner = runner or train
        self.extra_probes = extra_probes
        # when the student asked (time.monotonic()): the queue's order, whatever delayed start()
        self.asked_at = time.monotonic() if asked_at is None else asked_at
        self.events: queue.Queue[TrainingEvent] = queue.Queue()
        self.state = "created"  # created -> queued -> running -> finished/stopped/failed
        # its time so far and its projection (`estimate`): the queue's "about N s"
        prior = estimate.prior_seconds(config, train_images)
        if prior is not None:  # a runner that starts a process first: its start-up too
            prior += getattr(self.runner, "start_s", 0.0)
        self.progress = estimate.Progress(prior, self.slots.after_fit_s())
        self.error: str | None = None
        self.result: TrainResult | None = None
        self._stop = threading.Event()
        self.rates = RateRequests()  # learning rates asked for while it runs (set_learning_rate)
        self._last_seen = time.monotonic()
        self.language = i18n.language()  # the asking student's: its messages are for them
        self._thread = threading.Thread(target=self._run_speaking, name="cnn-training", daemon=True)

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

    def set_learning_rate(self, value: float) -> float:
        """Use `value` as the learning rate from the training's next batch on, for the rest of
        the run (a schedule is not followed any more); returns it. The change is recorded in
        the run's history["lr_changes"] and sent as an "lr" event.

        Raises:
            TrainingError: a rate the Learning rate setting refuses (with its sentence).
        """
        return self.rates.ask(value)

    @property
    def stopping(self) -> bool:
        """True once `stop` was called."""
        return self._stop.is_set()

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

    def _report(self, event: TrainingEvent) -> None:
        """Pass an event on to the page, keeping the training's own time estimate."""
        self.progress.update(event)
        self.events.put(event)

    @property
    def prior_s(self) -> float | None:
        """The whole training's prior estimate in seconds (None: unknown)."""
        return self.progress.prior_s

    @property
    def remaining_s(self) -> float | None:
        """Seconds until the training ends (0 once ended; None while nothing is known)."""
        return self.progress.remaining_s()

    @property
    def wait_seconds(self) -> float | None:
        """About how long until a queued job starts (None once it runs)."""
        return self.slots.wait_seconds(self) if self.state == "queued" else None

    def _abandoned(self) -> bool:
        return time.monotonic() - self._last_seen > self.abandon_after

    def _run_speaking(self) -> None:
        with i18n.speaking(self.language):
            self._run()

    def _run(self) -> None:
        if not self.slots.acquire(self, self._stop):
            self.state = "stopped"
            self.error = tr("Stopped while waiting for a free training slot.")
            self.events.put(TrainingEvent("stopped", message=self.error))
            return
        try:
            self.state = "running"
            self.progress.begin()
            self.result = self.runner(
                self.config,
                self._report,
                self._stop,
                self.out_dir,
                touch=self._abandoned,
                extra_probes=self.extra_probes,
                rates=self.rates,
            )
            self.state = self.result.state
            if self.result.state == "failed":
                self.error = self.result.message
        finally:
            self.progress.ended = self.progress.ended or time.monotonic()
            self.slots.release(self)


def training_backend(ray_address: str | None = None) -> tuple[Runner | None, TrainingSlots]:
    """The runner and the slots new jobs use, from `ray_address` or the environment.

    Args:
        ray_address: a Ray cluster address; None reads CNN_RAY_ADDRESS (read on every call).

    Returns:
        (a `RayRunner` and no slot limit) when an address is given or set; else the server-wide
        `SLOTS` with a `ProcessRunner` when CNN_TRAIN_IN is "process", or None (train in a
        thread of this process).

    Example:
        >>> runner, slots = training_backend()
        >>> job = TrainingJob(config, out_dir, slots=slots, runner=runner).start()
    """
    now = settings.current()
    address = ray_address or now.ray_address
    if not address:
        if now.train_in == "process":
            from cnn.training.process_backend import ProcessRunner

            return ProcessRunner(), SLOTS
        return None, SLOTS
    from cnn.training.ray_backend import RayRunner

    return RayRunner(address), UNLIMITED
