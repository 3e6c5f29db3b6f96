"""Trainings on a real local Ray cluster (ray.init with 2 CPUs): the run, its events, stop,
a lost worker.

The cluster is started by the test (a new local instance, never a cluster another process
started on this machine; no dashboard, a small object store) and shut down after; each
training is a real, tiny Keras training in a Ray worker process. Skipped when Ray is not
installed (requirements-cluster.txt; CI installs it).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from helpers import SYMBOL_STROKES, shapes_zip, symbol_canvas

from cnn import artifacts, preprocess
from cnn.cli import main as cli_main
from cnn.datasets.builder import DatasetBuilder
from cnn.training import TrainConfig, TrainingJob, training_backend
from cnn.training.jobs import UNLIMITED

# Ray on Linux advertises the machine's network address even for a local cluster; this keeps
# every connection of the test cluster on the loopback interface (read when Ray is imported)
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ray = pytest.importorskip(
    "ray", reason="Ray is not installed (pip install -r requirements-cluster.txt)"
)
ray_backend = pytest.importorskip("cnn.training.ray_backend")

CLUSTER_CPUS = 2
JOIN_S = 240  # a worker's first TensorFlow import plus a tiny training, on 2 busy cores


@pytest.fixture(scope="module")
def cluster():
    """A local Ray head for this module's tests: address="local" starts a new one (without it
    ray.init joins whatever cluster /tmp/ray/ray_current_cluster names, and refuses num_cpus)."""
    ray.init(
        address="local",
        num_cpus=CLUSTER_CPUS,
        include_dashboard=False,
        object_store_memory=96 * 1024**2,
        runtime_env=ray_backend.runtime_env(),
        log_to_driver=False,
    )
    assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
    yield
    ray.shutdown()


def ray_job(config: TrainConfig, out_dir, cpus: float = 1) -> TrainingJob:
    runner = ray_backend.RayRunner(None, cpus=cpus, memory=512 * 1024**2)
    return TrainingJob(config, out_dir, slots=UNLIMITED, runner=runner).start()


def test_an_unreachable_cluster_is_one_sentence(tmp_path):
    """Before the module's cluster starts: nothing listens at this address."""
    from cnn.training import TrainingError

    assert not ray.is_initialized()
    with pytest.raises(TrainingError, match="Could not reach the Ray cluster at 127.0.0.1:9"):
        ray_backend.RayRunner("127.0.0.1:9")
    assert not ray.is_initialized()


def test_the_environment_picks_ray_only_when_an_address_is_set(cluster, monkeypatch):
    monkeypatch.delenv("CNN_RAY_ADDRESS", raising=False)
    runner, slots = training_backend()
    assert runner is None and slots.limit == 1
    monkeypatch.setenv("CNN_RAY_ADDRESS", "auto")  # the session this process has is used
    runner, slots = training_backend()
    assert isinstance(runner, ray_backend.RayRunner) and slots is UNLIMITED


def test_a_drawn_dataset_trains_as_a_ray_task(cluster, tmp_path):
    """The folder's files travel to the task, events stream back, the run lands in out_dir."""
    made = DatasetBuilder(tmp_path / "made")
    for symbol in list(SYMBOL_STROKES)[:2]:
        made.add_class(symbol)
        for seed in range(6):
            canvas = symbol_canvas(symbol, seed)
            made.add(symbol, preprocess.prepare_drawing(canvas, made.preprocessing).input)
    data = made.snapshot(tmp_path / "snapshots")
    config = TrainConfig(dataset="folder", data=str(data), arch="tiny_vgg", epochs=2, batch_size=4)
    job = ray_job(config, tmp_path / "runs")
    job.join(JOIN_S)
    events = job.drain()
    assert job.state == "finished", job.error
    kinds = [e.kind for e in events]
    assert "Ray cluster" in events[0].message
    assert kinds.count("epoch") == 2 and "batch" in kinds and kinds[-1] == "finished"
    listed = artifacts.list_runs([tmp_path / "runs"])
    assert [info.path for info in listed] == [job.result.run_dir]
    run = artifacts.load_run(job.result.run_dir)
    assert run.record.config == config  # the server's own path, not the worker's copy
    assert run.preprocessing["method"] == "digits"
    assert run.record.test.accuracy == job.result.test_accuracy


def test_stop_reaches_a_running_ray_task(cluster, tmp_path):
    config = TrainConfig(dataset="mnist", arch="tiny_vgg", epochs=20, max_samples=2000)
    job = ray_job(config, tmp_path / "runs")
    events = []
    deadline = time.monotonic() + JOIN_S
    while not any(e.kind == "batch" for e in events):
        assert time.monotonic() < deadline and not job.done, job.error
        time.sleep(0.2)
        events += job.drain()
    job.stop()
    job.join(JOIN_S)
    events += job.drain()
    assert job.state == "stopped", job.error
    assert "asked to stop" in job.result.message
    assert events[-1].kind == "stopped"
    assert job.result.epochs_run < config.epochs
    assert artifacts.load_run(job.result.run_dir).record.state == "stopped"


def test_cli_train_with_ray_saves_the_run_here(cluster, tmp_path, capsys):
    """`python -m cnn train --ray ADDRESS`: the task trains, the run lands in --out."""
    archive = tmp_path / "shapes.zip"
    archive.write_bytes(shapes_zip(per_class=6))
    args = ["train", "--dataset", "folder", "--data", str(archive), "--arch", "tiny_vgg",
            "--epochs", "1", "--image-size", "32", "--ray", "auto", "--out", str(tmp_path / "out"),
            "--json"]  # fmt: skip
    assert cli_main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["state"] == "finished"
    assert Path(doc["run_dir"]).parent == tmp_path / "out"
    assert artifacts.load_run(doc["run_dir"]).record.config.data == str(archive)


def test_stop_while_waiting_for_the_cluster_cancels_the_task(cluster, tmp_path):
    """A training asking for more CPUs than the cluster has waits; stop cancels it."""
    job = ray_job(TrainConfig(epochs=1, max_samples=100), tmp_path / "runs", cpus=CLUSTER_CPUS + 1)
    deadline = time.monotonic() + 60
    events = []
    while not any("Sent to the Ray cluster" in e.message for e in events):  # submitted
        assert time.monotonic() < deadline and not job.done, job.error
        time.sleep(0.05)
        events += job.drain()
    assert job.state == "running" and not job.done  # queued by Ray, not by this process
    job.stop()
    job.join(30)
    assert job.state == "stopped"
    assert job.result.message == "Stopped while waiting for a free place on the cluster."
    assert not (tmp_path / "runs").exists()


def descendants(pid: int) -> set[int]:
    """The ids of every process below `pid` (children, their children, ...), read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def training_worker() -> int | None:
    """The worker process running `train_task` in this module's cluster (a descendant of this
    process: never another cluster's), found by the title Ray gives a busy worker."""
    for pid in descendants(os.getpid()):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"ray::train_task"):
            return pid
    return None


def test_a_worker_killed_mid_epoch_trains_again_and_stdout_stays_one_document(
    cluster, tmp_path, capsys
):
    """`train --ray ... --json` while the worker training the model is killed in its first
    epoch: Ray starts the task again and the run finishes and is saved; stderr says that the
    training started again from the beginning; stdout is exactly the one JSON document (Ray's
    driver prints its own note about the lost worker on stdout)."""
    args = ["train", "--dataset", "mnist", "--arch", "tiny_vgg", "--epochs", "2",
            "--max-samples", "600", "--ray", "auto", "--out", str(tmp_path / "out"),
            "--json"]  # fmt: skip
    ended = {}
    cli = threading.Thread(target=lambda: ended.update(code=cli_main(args)))
    cli.start()
    out = err = ""
    worker = None
    deadline = time.monotonic() + JOIN_S
    while worker is None or "epoch 1/2 batch" not in err:  # the first try, in its first epoch
        assert time.monotonic() < deadline and cli.is_alive(), err
        time.sleep(0.05)
        worker = worker or training_worker()
        captured = capsys.readouterr()
        out, err = out + captured.out, err + captured.err
    os.kill(worker, signal.SIGKILL)
    cli.join(JOIN_S)
    captured = capsys.readouterr()
    out, err = out + captured.out, err + captured.err
    assert not cli.is_alive() and ended["code"] == 0, err
    assert (
        "The cluster lost the worker training this model; training started again from the "
        "beginning (try 2 of 4)." in err
    )
    doc = json.loads(out)  # the whole of stdout: one document, nothing beside it
    assert doc["state"] == "finished" and doc["epochs_run"] == 2
    assert artifacts.load_run(doc["run_dir"]).record.epochs_run == 2
