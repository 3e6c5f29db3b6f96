"""Trainings as Ray tasks on a cluster: `RayRunner` is a `TrainingJob` runner.

Imported only when a Ray address is configured (`CNN_RAY_ADDRESS`, or `train --ray`); Ray
is an optional dependency (requirements-cluster.txt). A training becomes one Ray task asking
for `cpus` CPUs and `memory` bytes, so Ray's scheduler queues the trainings of a whole class
and places each where it fits; the server only waits for its task.

How a training talks to the server (the process that called the runner):
- events: the task puts every `TrainingEvent` on a `ray.util.queue.Queue`; the runner drains
  it ten times a second and hands each event to the job's `events` callback, as `train` would;
- stop: the runner forwards the job's stop (and "nobody watches any more") to a small
  `StopFlags` actor the task polls after every batch (at most five times a second); a task
  still waiting for a place on the cluster is cancelled instead;
- learning rate: a rate the job is asked for mid-run goes to the same actor, and the task
  takes it at its first batch after its next poll (at most FLAG_POLL_S later);
- a lost worker: when the process training a model dies (its node is lost, or it is
  killed), Ray starts the task again from the beginning, up to MAX_RETRIES times. The task
  counts its starts on the same actor, and a second start sends a "restarted" event whose
  sentence says so (the CLI prints it, the Train page shows it);
- the run: cluster nodes need not share a disk. The task trains into a folder of its own
  node, then returns the run folder as zip bytes; the runner writes it atomically into the
  server's `out_dir` (where the Models page lists it). A "folder" dataset (an upload, or a
  dataset made in the browser) lives on the server, so its files travel to the task the
  same way, as zip bytes. Named datasets are read from each node's own data directory
  (`CNN_DATA_DIR` in the environment `ray start` ran in), with the usual fallbacks.

Every node runs the same Python packages (requirements.txt and requirements-cluster.txt);
CNN Lab's own `cnn` package is shipped to the workers by Ray (`runtime_env` py_modules).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import zipfile
from dataclasses import asdict, replace
from pathlib import Path

import ray
from ray.util.queue import Empty, Queue

import cnn
from cnn import settings
from cnn.errors import TrainingError
from cnn.i18n import N_, tr
from cnn.training.backend import BackendRunner
from cnn.training.config import TrainConfig
from cnn.training.events import TrainingEvent, TrainResult, emit
from cnn.training.threads import limit_threads

POLL_S = 0.1  # how often the runner drains events and checks stop
FLAG_POLL_S = 0.2  # how often a task asks whether it should stop (or change its learning rate)
MAX_DATA_BYTES = 512 * 1024**2  # largest folder dataset sent to a task
CONNECT_TIMEOUT_S = 5.0  # a cluster address that does not answer this fast is unreachable
MAX_RETRIES = 3  # Ray's default, said aloud: a task whose worker dies is started again 3 times
RESTARTED = N_(
    "The cluster lost the worker training this model; training started again from the "
    "beginning (try {attempt} of {tries})."
)
_init_lock = threading.Lock()


def connect(address: str | None) -> None:
    """Connect this process to the Ray cluster at `address` (once; "auto": the local one).

    With Ray already initialised (a test's `ray.init()`), the running session is used.

    Raises:
        TrainingError: the cluster cannot be reached (a sentence naming the address).
    """
    with _init_lock:
        if ray.is_initialized():
            return
        problem = _unreachable(address)
        if problem is None:
            try:
                ray.init(address=address, runtime_env=runtime_env(), log_to_driver=False)
                return
            except (Exception, SystemExit) as err:  # noqa: BLE001 - Ray even exits; one sentence
                ray.shutdown()
                problem = type(err).__name__
        raise TrainingError(
            tr(
                "Could not reach the Ray cluster at {address} ({problem}): is `ray start --head` "
                "running there?"
            ).format(address=address, problem=problem)
        )


def _unreachable(address: str | None) -> str | None:
    """Why a "host:port" address does not answer within CONNECT_TIMEOUT_S, else None.

    Ray itself retries an unreachable address for minutes and then exits the process; a
    plain TCP connect tells at once. "auto" and None are left to Ray.
    """
    host, _, port = (address or "").rpartition(":")
    if not host or not port.isdigit():
        return None
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        return err.strerror or type(err).__name__
    return None


def runtime_env() -> dict:
    """What every task's worker gets: CNN Lab's `cnn` package, uploaded by Ray."""
    return {"py_modules": [str(Path(cnn.__file__).parent)]}


@ray.remote(num_cpus=0)
class StopFlags:
    """What the server asks of a running task (stop; nobody watches any more; a new learning
    rate), and how many times the task started."""

    def __init__(self) -> None:
        self.stop = False
        self.abandoned = False
        self.rate: float | None = None
        self.starts = 0

    def started(self) -> int:
        """Count a start of the task; 2 or more: Ray started it again after losing a worker."""
        self.starts += 1
        return self.starts

    def set(self, abandoned: bool) -> None:
        self.stop = True
        self.abandoned = self.abandoned or abandoned

    def set_rate(self, value: float) -> None:
        self.rate = value

    def get(self) -> tuple[bool, bool, float | None]:
        """(stop, abandoned, the learning rate asked for since the last get or None)."""
        rate, self.rate = self.rate, None
        return self.stop, self.abandoned, rate


class PolledFlags:
    """The task's view of `StopFlags`: `is_set()` like a threading.Event, and `take()` like a
    `cnn.training.rate.RateRequests`, asked sparingly."""

    def __init__(self, flags) -> None:
        self.flags = flags
        self.state = (False, False)
        self.rate: float | None = None
        self.asked = 0.0

    def _refresh(self) -> tuple[bool, bool]:
        now = time.monotonic()
        if not self.state[0] and now - self.asked > FLAG_POLL_S:
            self.asked = now
            stop, abandoned, rate = ray.get(self.flags.get.remote())
            self.state = (stop, abandoned)
            self.rate = self.rate if rate is None else rate
        return self.state

    def take(self) -> float | None:
        """The learning rate the server asked for since the last call, or None."""
        self._refresh()
        rate, self.rate = self.rate, None
        return rate

    def is_set(self) -> bool:
        """True once the server asked to stop."""
        return self._refresh()[0]

    def abandoned(self) -> bool:
        """True once the server saw that nobody watches the training any more."""
        return self._refresh()[1]


def _zip_folder(folder: Path) -> bytes:
    """A folder (or an existing .zip file) as zip bytes."""
    if folder.is_file():
        return folder.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


@ray.remote(max_retries=MAX_RETRIES)
def train_task(
    config: dict, data: bytes | None, events: Queue, flags, cpus: float, extra_probes=None
) -> dict:
    """Train on a cluster node; returns the result's fields and the run folder as zip bytes."""
    from cnn.training.loop import train

    attempt = ray.get(flags.started.remote())
    if attempt > 1:  # the events of the lost try are void: the page starts its curves again
        message = tr(RESTARTED).format(attempt=attempt, tries=MAX_RETRIES + 1)
        events.put(asdict(TrainingEvent("restarted", message=message)))
    limit_threads(cpus)  # the CPUs Ray gave the task
    polled = PolledFlags(flags)
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        if data is not None:
            (work_dir / "data.zip").write_bytes(data)
            config = {**config, "data": str(work_dir / "data.zip")}
        result = train(
            TrainConfig.from_dict(config),
            events=lambda event: events.put(asdict(event)),
            stop=polled,
            out_dir=work_dir / "runs",
            touch=polled.abandoned,
            extra_probes=extra_probes,
            rates=polled,
        )
        run = None if result.run_dir is None else _zip_folder(result.run_dir)
    return {**result.portable(), "run": run}


class RayRunner(BackendRunner):
    """Runs `cnn.training.train` as a Ray task; called like `train` by a `TrainingJob`.

    Args:
        address: the cluster ("auto": the one `ray start --head` started on this machine);
            None uses the Ray session this process already has.
        cpus: CPUs per training (default $CNN_RAY_CPUS or 2).
        memory: bytes per training (default $CNN_RAY_MEMORY or 1.5 GiB).
    """

    def __init__(self, address: str | None, cpus: float | None = None, memory: int | None = None):
        now = settings.current()
        self.cpus = cpus or now.ray_cpus
        self.memory = memory or now.ray_memory
        connect(address)

    def __repr__(self) -> str:
        return f"RayRunner(cpus={self.cpus}, memory={self.memory / 1024**3:.1f} GB)"

    def _run(self, config, events, stop, out_dir, touch, extra_probes, rates) -> TrainResult:
        """Submit the training, stream its events, forward stop and learning rates, save the
        run it returns."""
        queue = Queue(actor_options={"num_cpus": 0})
        flags = StopFlags.remote()
        try:
            task = train_task.options(num_cpus=self.cpus, memory=self.memory).remote(
                config.to_dict(), self._data(config), queue, flags, self.cpus, extra_probes
            )
            waiting = tr("Sent to the Ray cluster; waiting for {cpus} free CPUs there...")
            emit(events, TrainingEvent("status", message=waiting.format(cpus=f"{self.cpus:g}")))
            outcome = self._follow(task, queue, flags, events, stop, touch, rates)
        finally:
            ray.kill(flags)
            queue.shutdown(force=True)
        if outcome is None:
            message = "Stopped while waiting for a free place on the cluster."
            emit(events, TrainingEvent("stopped", message=message))
            return TrainResult("stopped", config, message=message)
        run_bytes = outcome.pop("run")
        result = TrainResult(config=config, **outcome)
        if run_bytes is not None and out_dir is not None:
            result = self._save(result, run_bytes, Path(out_dir))
        return result

    def _data(self, config: TrainConfig) -> bytes | None:
        """A folder dataset's files (on this server) as zip bytes for the task."""
        if config.dataset != "folder" or not config.data:
            return None
        path = Path(config.data)
        if not path.exists():
            return None  # the task's own load says the data is missing
        data = _zip_folder(path)
        if len(data) > MAX_DATA_BYTES:
            raise TrainingError(
                f"The dataset is larger than {MAX_DATA_BYTES // 1024**2} MB, too large to "
                "send to the cluster."
            )
        return data

    def _follow(self, task, queue, flags, events, stop, touch, rates=None) -> dict | None:
        """Forward events, stop and learning rates until the task ends; None when it was
        cancelled unstarted."""
        started = asked = False
        while True:
            done, _ = ray.wait([task], timeout=POLL_S)
            while not queue.empty():
                try:
                    event = TrainingEvent(**queue.get_nowait())
                except Empty:
                    break
                started = True
                emit(events, event)
            if done:
                return ray.get(task)
            rate = None if rates is None else rates.take()
            if rate is not None:
                flags.set_rate.remote(rate)
            abandoned = touch is not None and touch()
            if not asked and (abandoned or (stop is not None and stop.is_set())):
                asked = True
                if not started:
                    ray.cancel(task)
                    return None
                flags.set.remote(abandoned)

    def _save(self, result: TrainResult, run_bytes: bytes, out_dir: Path) -> TrainResult:
        """Write the returned run folder into `out_dir` atomically, its config as submitted."""
        from cnn import artifacts
        from cnn.record import RunRecord

        with zipfile.ZipFile(io.BytesIO(run_bytes)) as archive:
            record = RunRecord.from_dict(json.loads(archive.read(artifacts.RECORD_FILE)))
            record.config = result.config
            tmp = out_dir / f"{artifacts.TMP_PREFIX}{record.name}"
            try:
                out_dir.mkdir(parents=True, exist_ok=True)
                archive.extractall(tmp)  # our own task's archive: three known files
                artifacts.write_record(tmp, record)
                os.replace(tmp, out_dir / record.name)
            except OSError as err:
                shutil.rmtree(tmp, ignore_errors=True)
                return replace(result, save_error=f"Could not save the run in {out_dir}: {err}.")
        return replace(result, run_dir=out_dir / record.name, record=record)
