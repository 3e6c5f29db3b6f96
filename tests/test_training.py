"""Engine tests for cnn.training: tiny real Keras trainings, events, stop, NaN, jobs, slots."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import numpy as np
import pytest

from cnn import architectures, artifacts, preprocess
from cnn.training import (
    TrainConfig,
    TrainingError,
    TrainingJob,
    TrainingSlots,
    estimate_memory,
    train,
)
from cnn.training.config import PRESETS, SETTINGS, describe


@pytest.fixture(autouse=True)
def offline_mnist(monkeypatch, empty_data_dir):
    """Every training here uses the embedded MNIST subset: no network, no shared data needed."""
    monkeypatch.setenv("CNN_DATA_DIR", str(empty_data_dir))


def tiny(**overrides) -> TrainConfig:
    """A config that trains in a couple of seconds."""
    base = dict(dataset="mnist", arch="tiny_vgg", epochs=1, max_samples=400, batch_size=32)
    return TrainConfig(**{**base, **overrides})


def test_run_record_holds_everything_needed_to_rebuild(tiny_run):
    record = json.loads((tiny_run / "run.json").read_text())
    config = TrainConfig.from_dict(record["config"])
    assert config.arch == "tiny_vgg" and config.epochs == 1
    spec = architectures.ArchSpec.from_dict(record["spec"])
    assert architectures.count_params(spec, (28, 28, 1), 10) == record["params"]
    assert record["class_names"] == [str(i) for i in range(10)]
    assert record["preprocessing"]["method"] == "digits"
    assert "embedded" in record["dataset"]["source"]
    assert record["state"] == "finished" and record["epochs_run"] == 1
    assert set(record["history"]) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert 0.0 <= record["test"]["accuracy"] <= 1.0
    assert np.array(record["test"]["confusion"]).sum() == record["dataset"]["test_samples"]
    assert record["versions"]["keras"].startswith("3.")
    errors = artifacts.load_errors(tiny_run)
    assert errors["images"].dtype == np.uint8 and errors["images"].shape[1:] == (28, 28, 1)
    # the kept mistakes are the ones the record lists (a few right answers are kept beside them)
    wrong = errors["true"] != errors["predicted"]
    assert set(errors["index"][wrong]) == set(record["test"]["misclassified_shown"])


def test_events_cover_batches_and_epochs():
    events = []
    result = train(tiny(epochs=2), events=events.append)
    kinds = [e.kind for e in events]
    assert result.state == "finished" and result.epochs_run == 2
    assert kinds.count("epoch") == 2 and kinds[-1] == "finished"
    batch = [e for e in events if e.kind == "batch"][-1]
    assert batch.samples_per_s > 0 and batch.eta is not None and batch.steps == 12
    epoch = [e for e in events if e.kind == "epoch"][-1]
    assert epoch.val_accuracy is not None and epoch.progress == 1.0


def test_same_seed_same_weights():
    a = train(tiny(seed=3, epochs=1))
    b = train(tiny(seed=3, epochs=1))
    c = train(tiny(seed=4, epochs=1))
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert a.history["loss"] == b.history["loss"] != c.history["loss"]


def test_stop_takes_effect_within_one_batch(tmp_path):
    stop = threading.Event()
    batches = []

    def on_event(event):
        if event.kind == "batch":
            batches.append(event)
            stop.set()

    result = train(tiny(epochs=3, max_samples=2000), events=on_event, stop=stop, out_dir=tmp_path)
    assert result.state == "stopped"
    # events are throttled, but the fit loop may run at most one more batch after the stop
    assert batches[0].step <= 2 and result.epochs_run == 1
    assert result.run_dir is not None and (result.run_dir / "model.keras").is_file()


def test_nan_loss_stops_with_a_sentence_and_saves_nothing(tmp_path, monkeypatch):
    # a rate of 10 reaches NaN within an epoch; the schema refuses rates above 1 (they train to
    # nonsense), so this test alone lets it through to reach the guard
    wider = dataclasses.replace(SETTINGS["learning_rate"], high=10)
    monkeypatch.setitem(SETTINGS, "learning_rate", wider)
    result = train(tiny(optimizer="sgd", learning_rate=10.0, arch="three_block"), out_dir=tmp_path)
    assert result.state == "failed"
    assert "NaN" in result.message and "nothing was saved" in result.message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"epochs": 0}, "Epochs"),
        ({"batch_size": -1}, "Batch size"),
        ({"learning_rate": float("nan")}, "Learning rate (lr) = nan is out of range"),
        ({"learning_rate": 5}, "it must be a number above 0 and at most 1."),
        ({"dataset": "nope"}, "Dataset (dataset) = nope is not a choice: it must be one of mnist"),
        ({"max_samples": 10**7}, "has 4000"),
        ({"dataset": "folder"}, "folder dataset needs"),
    ],
)
def test_bad_settings_fail_with_a_sentence(overrides, words):
    result = train(tiny(**overrides))
    assert result.state == "failed" and words in result.message


def test_every_setting_is_described_once_and_the_presets_keep_to_it():
    assert list(SETTINGS) == [f.name for f in dataclasses.fields(TrainConfig)]
    assert all(s.label and s.help for s in SETTINGS.values())
    assert [name for name, _, _ in describe(TrainConfig())] == list(SETTINGS)
    for kinds in PRESETS.values():
        for values in kinds.values():
            TrainConfig(**values).validate()
    lr = SETTINGS["learning_rate"]
    assert lr.parse("0.5") == 0.5 and lr.problem(1.0) is None and lr.problem(0) is not None
    assert SETTINGS["image_size"].problem(None) is None  # None: the dataset's own size


def test_a_run_recorded_in_the_old_words_loads_in_the_new_ones(tiny_run, tmp_path):
    """A run.json written before augmentation had "none" (augment + augmentation), before
    "mirror" (tta="flip") and "multi_gpu" ("mirrored"), and before the preprocessing methods
    took the kinds' names ("mnist_digit"), reads in today's words."""
    import shutil

    run_dir = tmp_path / tiny_run.name
    shutil.copytree(tiny_run, run_dir)
    doc = json.loads((run_dir / "run.json").read_text())
    doc["config"].update(augment=True, augmentation="strong", tta="flip", strategy="mirrored")
    doc["preprocessing"]["method"] = "mnist_digit"
    (run_dir / "run.json").write_text(json.dumps(doc))
    record = artifacts.read_run_info(run_dir).record
    old = record.config
    assert (old.augmentation, old.tta, old.strategy) == ("strong", "mirror", "multi_gpu")
    assert old.mirror and record.preprocessing.method == "digits"
    assert "augment" not in old.to_dict()
    assert TrainConfig.from_dict({**doc["config"], "augment": False}).augmentation == "none"
    photo = {"method": "photo", "image_size": [16, 16], "channels": 3}  # an old record's dict
    steps = preprocess.prepare_upload(np.full((20, 20, 3), 99, np.uint8), photo)
    assert steps.input.shape == (16, 16, 3)


def test_image_size_that_would_not_fit_is_refused_up_front():
    spec = architectures.REGISTRY["modern_cnn"].spec((512, 512, 3), 2)
    assert estimate_memory(spec, (512, 512, 3), 2, 4096) > 10 * 1024**3
    with pytest.raises(TrainingError):
        TrainConfig(image_size=4096).validate()


def test_custom_spec_trains():
    spec = architectures.ArchSpec(
        [architectures.ConvBlock(4, 5, pool="avg", batch_norm=True)],
        "global_avg",
        [architectures.DenseLayer(8, dropout=0.1)],
    )
    result = train(tiny(arch="custom", spec=spec.to_dict()))
    assert result.state == "finished"
    assert [layer.name for layer in result.model.layers][:3] == ["conv1", "bn1", "act1"]


def test_zero_validation_fraction_trains_on_everything():
    result = train(tiny(validation_fraction=0.0))
    assert result.state == "finished" and "val_loss" not in result.history
    assert result.record.dataset.train_samples == 400


def test_cosine_schedule_warms_up_then_decays_to_zero():
    result = train(tiny(lr_schedule="cosine", learning_rate=0.004, max_samples=2000))
    schedule = result.model.optimizer._learning_rate
    steps = int(result.model.optimizer.iterations.numpy())
    assert steps == 57  # 1,800 training images / 32, rounded up
    rates = [float(schedule(step)) for step in range(steps + 1)]
    warmup = int(0.1 * steps)
    assert rates[0] == 0.0 and rates[warmup] == pytest.approx(0.004)
    assert all(a < b for a, b in zip(rates[:warmup], rates[1 : warmup + 1], strict=True))
    assert all(a >= b for a, b in zip(rates[warmup:], rates[warmup + 1 :], strict=False))
    assert rates[-1] == pytest.approx(0.0, abs=1e-9)


def test_multi_gpu_strategy_path_on_cpu():
    result = train(tiny(strategy="multi_gpu"))
    assert result.state == "finished" and result.test_accuracy is not None


def test_job_reports_through_its_queue_and_saves(tmp_path):
    job = TrainingJob(tiny(), out_dir=tmp_path).start()
    job.join(120)
    events = job.drain()
    assert job.state == "finished" and job.error is None
    assert events[-1].kind == "finished"
    assert job.result.run_dir.parent == tmp_path


def test_abandoned_job_stops_on_its_own_and_never_leaves_half_a_run(tmp_path):
    job = TrainingJob(tiny(epochs=20, max_samples=2000), out_dir=tmp_path, abandon_after=0.5)
    job.start()
    job.join(120)
    assert job.state == "stopped" and "tab went away" in job.result.message
    runs = artifacts.list_runs([tmp_path])
    assert len(runs) == 1 and runs[0].ok
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_slots_queue_jobs_beyond_the_limit(tmp_path):
    slots = TrainingSlots(limit=1)
    jobs = [TrainingJob(tiny(seed=i), out_dir=tmp_path, slots=slots) for i in range(3)]
    for job in jobs:
        job.start()
    deadline = time.monotonic() + 10
    positions = []
    while time.monotonic() < deadline:
        positions = [job.queue_position for job in jobs]
        if sorted(p for p in positions if p) == [1, 2]:
            break
        time.sleep(0.01)
    # exactly one job trains, the two others wait in line
    assert positions.count(None) == 1 and sorted(p for p in positions if p) == [1, 2]
    for job in jobs:
        job.join(120)
    assert [job.state for job in jobs] == ["finished"] * 3
    assert len({job.result.run_dir for job in jobs}) == 3


def test_the_queue_keeps_the_order_of_the_clicks_not_of_the_arrivals():
    """Under load a page reaches start() seconds after its Start click: a job asked for
    earlier takes its place ahead of one that arrived first."""
    from types import SimpleNamespace

    slots = TrainingSlots(limit=1)
    late, early, plain = (SimpleNamespace(asked_at=t) for t in (20.0, 10.0, None))
    plain.asked_at = float("inf")  # a ticket that says nothing goes to the back
    for ticket in (late, plain, early):
        slots.enqueue(ticket)
    assert [slots.position(t) for t in (early, late, plain)] == [1, 2, 3]
    job = TrainingJob(tiny(), slots=TrainingSlots(limit=1), asked_at=5.0)
    assert job.asked_at == 5.0 and TrainingJob(tiny()).asked_at <= time.monotonic()


def test_stopping_a_queued_job_takes_it_out_of_the_queue(tmp_path):
    slots = TrainingSlots(limit=1)
    first = TrainingJob(tiny(epochs=5, max_samples=2000), out_dir=tmp_path, slots=slots).start()
    second = TrainingJob(tiny(), out_dir=tmp_path, slots=slots).start()
    deadline = time.monotonic() + 60
    while first.state != "running":  # the first holds the only slot: the second waits behind it
        assert time.monotonic() < deadline and not first.done, first.error
        time.sleep(0.01)
    assert second.queue_position == 1
    second.stop()
    second.join(10)
    assert second.state == "stopped" and "waiting" in second.error
    assert slots.position(second) is None  # out of the queue, while the first still trains
    first.stop()
    first.join(120)


def test_weight_decay_a_weight_average_and_strong_augmentation_train(tmp_path):
    """The options the shipped runs use: the saved model is the weight average (EMA), and the
    time-lapse's last frame shows exactly it."""
    from cnn import timelapse
    from cnn.inspect import Inspector

    # "elastic": the strong digit augmentation with each digit bent as well, the whole pipeline
    config = tiny(weight_decay=0.05, ema=0.9, augmentation="elastic", epochs=2)
    result = train(config, out_dir=tmp_path)
    assert result.state == "finished", result.message
    saved = result.run_dir
    lapse = timelapse.load(saved)
    model = artifacts.load_run(saved).model
    now = Inspector(model).probabilities(lapse.probe_images.astype(np.float32) / 255)
    np.testing.assert_allclose(lapse.probabilities[-1], now, atol=2e-3)
    record = json.loads((saved / "run.json").read_text())["config"]
    assert (record["weight_decay"], record["ema"], record["augmentation"]) == (0.05, 0.9, "elastic")
    with pytest.raises(TrainingError, match="Augmentation .augmentation. = wild is not a choice"):
        tiny(augmentation="wild").validate()
    with pytest.raises(TrainingError, match="Elastic distortion bends pen strokes"):
        tiny(dataset="fashion_mnist", augmentation="elastic").validate()


def test_a_waiting_student_is_told_about_how_long():
    """One slot, busy for 30 more seconds by its own estimate: the first in line waits about
    30 s, the next one a typical training more. Before any has finished here a typical
    training is the running one's own projection (just started: ~30 s); with no estimate
    from it yet, a guess of 60 s."""
    from types import SimpleNamespace

    slots = TrainingSlots(limit=1)
    running = SimpleNamespace(remaining_s=None)  # its first batches have not said yet
    assert slots.acquire(running, threading.Event())
    first, second = SimpleNamespace(), SimpleNamespace()
    slots.enqueue(first)
    slots.enqueue(second)
    assert slots.wait_seconds(first) == pytest.approx(60.0, abs=1.0)
    assert slots.wait_seconds(second) == pytest.approx(120.0, abs=1.0)
    running.remaining_s = 30.0  # its own estimate arrives
    assert slots.wait_seconds(first) == pytest.approx(30.0)
    assert slots.wait_seconds(second) == pytest.approx(60.0, abs=1.0)
    assert slots.wait_seconds(running) is None  # not waiting
    slots.release(running)  # held for a moment: typical trainings are now that short
    assert slots.typical_seconds() < 1.0


@pytest.mark.parametrize("mix", ["mixup", "cutmix"])
def test_mixing_blends_training_batches_only_and_trains(mix):
    """MixUp / CutMix (Keras' layers): training labels become shares of two classes that sum
    to 1, validation labels stay whole, and a tiny run with it finishes."""
    from cnn.training.loop import prepare

    prepared = prepare(tiny(mix=mix, batch_size=64))
    images, labels = next(iter(prepared.pipeline(prepared.train, shuffle=True, training=True)))
    labels = labels.numpy()
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, atol=1e-5)
    # blends: MixUp's Beta(0.2, 0.2) share lies within 1% of 0 or 1 about 40% of the time and
    # a pair can share a class, so about half the rows; CutMix's uniform share, more
    assert ((labels > 0.01) & (labels < 0.99)).any(axis=1).mean() > 0.25
    assert ((labels > 0.01).sum(axis=1) <= 2).all()  # of at most two classes
    _, whole = next(iter(prepared.pipeline(prepared.validation, shuffle=False)))
    assert set(np.unique(whole.numpy())) <= {0.0, 1.0}
    result = train(tiny(mix=mix))
    assert result.state == "finished", result.message
    assert 0 <= result.test_accuracy <= 1
    with pytest.raises(TrainingError, match="Mix pairs of images .mix. = blend is not a choice"):
        tiny(mix="blend").validate()


def test_a_training_in_a_child_process_streams_its_events_and_saves_its_run(tmp_path):
    """CNN_TRAIN_IN=process: the training runs in a spawned child at a lower priority, with
    the TensorFlow threads asked for (CNN_TRAIN_THREADS)."""
    import os

    from cnn.training.process_backend import ProcessRunner

    runner = ProcessRunner(7, threads=1)
    job = TrainingJob(tiny(epochs=2), tmp_path, slots=TrainingSlots(1), runner=runner)
    job.start().join(300)
    events = job.drain()
    assert job.state == "finished", job.error
    first = events[0].message
    child = min(os.nice(0) + 7, 19)  # the system caps niceness at 19
    assert f"priority {child}" in first and f"server's is {os.nice(0)}" in first
    assert first.endswith("TensorFlow threads: 1.")  # read back from TensorFlow in the child
    kinds = [event.kind for event in events]
    assert "batch" in kinds and "epoch" in kinds and kinds[-1] == "finished"
    result = job.result
    assert result.run_dir.parent == tmp_path and result.record.test.accuracy is not None
    assert result.epochs_run == 2 and 0 <= result.test_accuracy <= 1
    assert artifacts.load_run(result.run_dir).model is not None


def test_a_child_process_training_stops_and_a_killed_one_fails_with_a_sentence(tmp_path):
    import os
    import signal
    from pathlib import Path

    from cnn.training.process_backend import ProcessRunner

    def training_children() -> list[int]:
        """This process's children that run cnn.training.process_backend (read from /proc)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                command = (stat.parent / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            if parent == os.getpid() and b"cnn.training.process_backend" in command:
                found.append(int(stat.parent.name))
        return found

    def first_batch(job) -> None:
        deadline = time.monotonic() + 120
        while not any(event.kind == "batch" for event in job.drain()):
            assert time.monotonic() < deadline, "no batch from the child"
            time.sleep(0.05)

    stopped = TrainingJob(tiny(epochs=50), tmp_path, slots=TrainingSlots(1),
                          runner=ProcessRunner(0)).start()  # fmt: skip
    first_batch(stopped)
    stopped.stop()
    stopped.join(120)
    assert stopped.state == "stopped" and stopped.result.run_dir is not None

    killed = TrainingJob(tiny(epochs=50), tmp_path, slots=TrainingSlots(1),
                         runner=ProcessRunner(0)).start()  # fmt: skip
    first_batch(killed)
    (pid,) = training_children()
    os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    killed.join(60)
    assert killed.state == "failed" and "ended without a result" in killed.error
