"""Changing the learning rate while a training runs (issue 31 §4), on every backend: a rate
asked for mid-run is the optimizer's rate from the next batch on (read back from Keras),
is recorded in history["lr_changes"] and run.json, and reaches the page as an "lr" event.

Real tiny trainings: in this process (`train`, and a `TrainingJob`'s thread), in a child
process (`ProcessRunner`) and as a task on a real local Ray instance (`RayRunner`).
"""

from __future__ import annotations

import json
import os
import time

import keras
import pytest

from cnn.training import TrainConfig, TrainingError, TrainingJob, TrainingSlots, train
from cnn.training.config import WARMUP_FRACTION
from cnn.training.rate import LR_CHANGES, RateRequests

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # a local Ray stays on loopback
WAIT_S = 240  # a child's or a Ray worker's first TensorFlow import, on 2 busy cores


@pytest.fixture(autouse=True)
def offline_mnist(monkeypatch, empty_data_dir):
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))


def tiny(**overrides) -> TrainConfig:
    """Cosine schedule with warm-up: the rate changes every batch until a student sets one."""
    base = dict(dataset="mnist", arch="tiny_vgg", epochs=1, max_samples=400, batch_size=32,
                lr_schedule="cosine", learning_rate=0.01, timelapse=False)  # fmt: skip
    return TrainConfig(**{**base, **overrides})


def cosine(config: TrainConfig, steps: int):
    """Keras' own warm-up + cosine schedule for `config` (what the rate is before a change)."""
    total = steps * config.epochs
    warmup = int(WARMUP_FRACTION * total)
    return keras.optimizers.schedules.CosineDecay(
        0.0, max(1, total - warmup), warmup_target=config.learning_rate, warmup_steps=warmup
    )


def checked_change(events: list, history: dict, value: float):
    """The one "lr" event: every progress event after it reports `value` as the optimizer's
    rate; the history records it where the event says. Returns the event."""
    (changed,) = [e for e in events if e.kind == "lr"]
    at = events.index(changed)
    after = [e for e in events[at + 1 :] if e.kind in ("batch", "epoch")]
    assert changed.learning_rate == value and after
    assert all(e.learning_rate == value for e in after)
    assert [e.learning_rate for e in events[:at] if e.kind == "batch"][-1] != value
    steps = changed.steps
    step = (changed.epoch - 1) * steps + changed.step
    done = round(changed.epoch - 1 + (changed.step - 1) / steps, 4)
    assert history[LR_CHANGES] == [{"epoch": changed.epoch, "batch": changed.step, "step": step,
                                    "epochs_done": done, "lr": value}]  # fmt: skip
    return changed


def test_a_thread_jobs_rate_is_used_from_the_next_batch(tmp_path):
    """The job's own thread: the student's click is made between two batches, from the
    training's event of the first (as a page's click lands between batches)."""
    config = tiny(epochs=2)
    events, asked = [], []

    def runner(config, report, *args, **kwargs):  # `train`, with a student watching closely
        def watched(event) -> None:
            report(event)
            events.append(event)
            if event.kind == "batch" and not asked:
                asked.append(event)
                job.set_learning_rate(0.003)

        return train(config, watched, *args, **kwargs)

    job = TrainingJob(config, tmp_path, slots=TrainingSlots(1), runner=runner)
    job.start().join(WAIT_S)
    result = job.result
    assert job.state == "finished", job.error
    changed = checked_change(events, result.history, 0.003)
    assert [e.kind for e in job.drain()].count("lr") == 1  # the page gets it too
    # the very next batch: the one after the batch whose event asked
    assert (changed.epoch, changed.step) == (asked[0].epoch, asked[0].step + 1)
    # before the change the rate was the cosine schedule's, read from the same optimizer
    schedule = cosine(config, changed.steps)
    for event in [e for e in events[: events.index(changed)] if e.kind == "batch"]:
        done = (event.epoch - 1) * event.steps + event.step
        assert event.learning_rate == pytest.approx(float(schedule(done)), rel=1e-6)
    assert float(result.model.optimizer.learning_rate) == pytest.approx(0.003, rel=1e-6)
    record = json.loads((result.run_dir / "run.json").read_text())
    assert record["history"][LR_CHANGES] == result.history[LR_CHANGES]
    assert len(record["history"]["loss"]) == 2


def test_a_refused_rate_is_a_sentence_and_a_run_never_changed_has_no_record(tiny_run):
    with pytest.raises(TrainingError, match=r"Learning rate \(lr\) = 5 is out of range"):
        RateRequests().ask(5.0)
    assert LR_CHANGES not in json.loads((tiny_run / "run.json").read_text())["history"]


def change_then_stop(job: TrainingJob, value: float) -> list:
    """Wait for a batch, ask for `value`, wait for the "lr" event and a batch after it, stop;
    returns every event."""
    events: list = []

    def wait_for(found) -> None:
        deadline = time.monotonic() + WAIT_S
        while not found():
            assert time.monotonic() < deadline and not job.done, job.error
            time.sleep(0.05)
            events.extend(job.drain())

    wait_for(lambda: any(e.kind == "batch" for e in events))
    assert job.set_learning_rate(value) == value
    wait_for(lambda: any(e.kind == "lr" for e in events))
    wait_for(lambda: events[-1].kind == "batch" and events[-1].learning_rate == value)
    job.stop()
    job.join(WAIT_S)
    events.extend(job.drain())
    assert job.state == "stopped", job.error
    return events


def test_a_child_process_jobs_rate_changes_mid_run(tmp_path):
    from cnn.training.process_backend import ProcessRunner

    job = TrainingJob(tiny(epochs=50), tmp_path, slots=TrainingSlots(1),
                      runner=ProcessRunner(0, threads=1)).start()  # fmt: skip
    events = change_then_stop(job, 0.0005)
    checked_change(events, job.result.history, 0.0005)
    saved = json.loads((job.result.run_dir / "run.json").read_text())["history"]
    assert saved[LR_CHANGES] == job.result.history[LR_CHANGES]


def test_a_ray_tasks_rate_changes_mid_run(tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed (requirements-cluster.txt)")
    from cnn.training import ray_backend
    from cnn.training.jobs import UNLIMITED

    ray.init(address="local", num_cpus=1, include_dashboard=False,
             object_store_memory=96 * 1024**2, runtime_env=ray_backend.runtime_env(),
             log_to_driver=False)  # fmt: skip
    try:
        runner = ray_backend.RayRunner(None, cpus=1, memory=512 * 1024**2)
        job = TrainingJob(tiny(epochs=50), tmp_path, slots=UNLIMITED, runner=runner).start()
        events = change_then_stop(job, 0.004)
    finally:
        ray.shutdown()
    checked_change(events, job.result.history, 0.004)
    assert job.result.record.history[LR_CHANGES] == job.result.history[LR_CHANGES]
