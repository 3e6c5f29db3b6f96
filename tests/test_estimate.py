"""What a waiting student is told (issue 33): a training's time is estimated before it shows
anything (its prior), then from its own speed once its first, compiling steps are past, plus
the time after its last batch; a queue adds each waiting training's own expected time, scaled
by how this server's finished trainings compared with their priors."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from cnn.training import TrainConfig, TrainingJob, TrainingSlots
from cnn.training.estimate import MEASURED_STEPS, WARM_STEPS, Progress, prior_seconds
from cnn.training.events import TrainingEvent


def batch(step: int, elapsed: float, steps: int = 100, epochs: int = 1) -> TrainingEvent:
    return TrainingEvent("batch", epoch=1, epochs=epochs, step=step, steps=steps, elapsed=elapsed)


def test_the_first_compiling_steps_do_not_make_the_estimate_jump():
    """Batch 1 took 5 s (the step function compiled), later ones 0.01 s: the old estimate
    (elapsed / done x left) said 495 s; from the warm steps on it is 1 s plus the after-fit."""
    progress = Progress(prior_s=20.0, after_fit_s=3.0)
    progress.update(TrainingEvent("status", epochs=1, steps=100, eta=2.0))
    assert progress.remaining_s() == pytest.approx(5.0, abs=0.1)  # fit prior + after-fit
    progress.update(batch(1, 5.0))
    progress.update(batch(WARM_STEPS, 5.02))
    progress.update(batch(WARM_STEPS + 1, 5.5))  # one stalled batch is not yet a speed
    assert not progress.measured
    done = WARM_STEPS + MEASURED_STEPS
    progress.update(batch(done, 5.02 + 0.01 * MEASURED_STEPS))
    assert progress.measured
    assert progress.remaining_s() == pytest.approx(0.01 * (100 - done) + 3.0, abs=0.1)


def test_after_the_last_batch_only_the_after_fit_time_is_left_and_an_end_is_zero():
    progress = Progress(after_fit_s=4.0)
    progress.update(batch(100, 1.0))
    assert 3.5 < progress.remaining_s() <= 4.0
    progress.update(TrainingEvent("finished"))
    assert progress.remaining_s() == 0.0
    assert progress.measured_after_fit_s() == pytest.approx(0.0, abs=0.5)


def test_the_prior_grows_with_the_work_asked_for():
    quick = TrainConfig(dataset="mnist", arch="fast_cnn", epochs=1, max_samples=4000)
    assert prior_seconds(quick, None) is None  # unknown size: no prior
    small, big = prior_seconds(quick, 4000), prior_seconds(quick, 60_000)
    assert small == big  # max_samples caps the images either way
    longer = prior_seconds(TrainConfig(dataset="mnist", arch="fast_cnn", epochs=4), 4000)
    wider = prior_seconds(TrainConfig(dataset="mnist", arch="modern_cnn", epochs=4), 4000)
    assert small < longer < wider


def test_a_queue_adds_each_waiting_trainings_own_time_scaled_by_the_servers_past():
    slots = TrainingSlots(limit=1)
    running = SimpleNamespace(remaining_s=10.0, prior_s=None)
    assert slots.acquire(running, threading.Event())
    short, long_ = SimpleNamespace(prior_s=5.0), SimpleNamespace(prior_s=50.0)
    mine = SimpleNamespace(prior_s=5.0)
    for ticket in (short, long_, mine):
        slots.enqueue(ticket)
    assert slots.wait_seconds(short) == pytest.approx(10.0, abs=0.5)
    assert slots.wait_seconds(mine) == pytest.approx(10.0 + 5.0 + 50.0, abs=0.5)
    # a finished training took twice its prior: the next priors count double
    done = SimpleNamespace(prior_s=0.05, progress=Progress(prior_s=0.05), state="finished")
    other = TrainingSlots(limit=1)
    assert other.acquire(done, threading.Event())
    time.sleep(0.1)
    other.release(done)
    assert other.expected_seconds(SimpleNamespace(prior_s=10.0)) > 15.0


def test_a_running_trainings_speed_scales_the_waiting_ones_before_any_has_finished():
    slots = TrainingSlots(limit=1)
    progress = Progress(prior_s=10.0, after_fit_s=0.0)
    running = SimpleNamespace(prior_s=10.0, progress=progress)
    running.remaining_s = 30.0  # projected: 30 s more after 0 s: three times its prior
    assert slots.acquire(running, threading.Event())
    waiting = SimpleNamespace(prior_s=10.0)
    slots.enqueue(waiting)
    assert slots.wait_seconds(waiting) == pytest.approx(30.0, abs=0.5)
    assert slots.expected_seconds(waiting) == pytest.approx(10.0, abs=0.5)  # speed not known
    progress.warm = (1.0, WARM_STEPS)
    progress.last = (time.monotonic(), WARM_STEPS + MEASURED_STEPS, 1000)
    assert progress.measured
    assert slots.expected_seconds(waiting) == pytest.approx(30.0, abs=0.5)


def test_a_real_job_is_estimated_from_its_first_message_to_its_end(offline):
    """A real tiny training: an estimate exists from the start (its prior), it stays within
    reach of the real time, and it is 0 once the job ended."""
    config = TrainConfig(dataset="mnist", arch="fast_cnn", epochs=1, max_samples=600)
    slots = TrainingSlots(limit=1)
    job = TrainingJob(config, offline, slots=slots, train_images=4000)
    assert job.prior_s is not None and job.remaining_s is not None
    started = time.monotonic()
    job.start()
    seen = []
    while not job.done:
        seen.append((time.monotonic() - started, job.remaining_s))
        time.sleep(0.05)
    took = time.monotonic() - started
    assert job.state == "finished", job.error
    assert job.remaining_s == 0.0
    projected = [at + left for at, left in seen if left is not None]
    assert projected and all(took / 4 < p < took * 4 for p in projected), (took, projected[:5])


def test_a_training_that_waited_in_line_counts_its_prior_from_its_slot():
    """Made when the student asked, given a slot 50 s later: its prior starts then."""
    progress = Progress(prior_s=10.0)
    progress.started -= 50.0  # asked 50 s ago
    assert progress.remaining_s() == 0.0
    progress.begin()
    assert progress.remaining_s() == pytest.approx(10.0, abs=0.1)
