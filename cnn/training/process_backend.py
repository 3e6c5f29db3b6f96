"""Trainings in a child process at a lower priority: `ProcessRunner` is a `TrainingJob` runner.

On a small server one process both trains and answers a class: every stroke on Predict is a
model call, and in the server's own process it waits behind the training's TensorFlow
threads (bench/README.md, "A class on one server": drawing answers slowed to seconds).
A training in a child process at `nice` 10 leaves the CPU to the server whenever the server
has work, and takes all of it otherwise.

How it talks to the server, as `RayRunner` does but through `multiprocessing`:
- events: the child puts every `TrainingEvent` (as a dict) on a queue; the runner drains it
  ten times a second and hands each event to the job's `events` callback;
- stop: the job's stop, and "nobody watches any more", are two events the child checks
  after every batch;
- learning rate: each rate the job is asked for mid-run goes to the child as RATE and eight
  bytes (a big-endian double); the child's training takes it at its next batch;
- the run: the child trains into the server's `out_dir` (same machine, same disk) and sends
  the result's fields last; the runner reads the saved record back.

The child is a fresh `python -m cnn.training.process_backend` (it imports TensorFlow itself,
a few seconds), never a fork of a server whose threads hold locks, and not multiprocessing's
"spawn", which runs the parent's main module again (under Streamlit: app.py). Parent and
child talk through the child's stdin and stdout in length-prefixed pickles (each side
trusts only the process it started or was started by); the child's own prints go to stderr.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path

from cnn import settings
from cnn.i18n import N_, tr
from cnn.training.backend import BackendRunner
from cnn.training.config import TrainConfig
from cnn.training.estimate import CHILD_START_S
from cnn.training.events import TrainingEvent, TrainResult, emit
from cnn.training.rate import RateRequests
from cnn.training.threads import limit_threads

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the child finds `cnn` here first
POLL_S = 0.1  # how often the runner drains events and checks stop
RESULT = "result"  # the last message's key: the result's fields
STOP, ABANDON, RATE = b"S", b"A", b"L"  # what the parent writes to the child's stdin
RATE_FORMAT = ">d"  # the learning rate after RATE


def _send(stream, message) -> None:
    data = pickle.dumps(message)
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def _receive(stream):
    """The next message, or None at the end of the stream."""
    header = stream.read(4)
    if len(header) < 4:
        return None
    (size,) = struct.unpack(">I", header)
    return pickle.loads(stream.read(size))  # noqa: S301 - our own child's or parent's


def _child_main() -> None:
    """The child process: lower its priority, train, send each event and then the result."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into the messages
    config, out_dir, nice, threads, probes = _receive(sys.stdin.buffer)
    stop, abandoned, rates = threading.Event(), threading.Event(), RateRequests()

    def listen() -> None:
        while True:
            command = sys.stdin.buffer.read(1)
            if command == STOP:
                stop.set()
            elif command == RATE:
                rates.ask(struct.unpack(RATE_FORMAT, sys.stdin.buffer.read(8))[0])
            elif command == ABANDON or not command:  # the server went away: nobody watches
                stop.set()
                abandoned.set()
                return

    threading.Thread(target=listen, daemon=True).start()
    parents = os.nice(0)  # the server's priority, inherited
    niceness = os.nice(nice) if nice else parents  # capped at 19 by the system
    lock = threading.Lock()

    def send(message) -> None:
        with lock:
            _send(out, message)

    limit_threads(threads)  # before TensorFlow's first operation
    import tensorflow as tf

    used = tf.config.threading.get_intra_op_parallelism_threads() or N_("one per core")
    said = tr("Training in a process of its own at priority {niceness} (the server's is "
              "{parents}), so drawings and pages are answered first; TensorFlow threads: "
              "{threads}.")  # fmt: skip
    threads = tr(used) if isinstance(used, str) else used
    message = said.format(niceness=niceness, parents=parents, threads=threads)
    send(asdict(TrainingEvent("status", message=message)))
    from cnn.training.loop import train

    result = train(
        TrainConfig.from_dict(config),
        events=lambda event: send(asdict(event)),
        stop=stop,
        out_dir=out_dir,
        touch=abandoned.is_set,
        extra_probes=probes,
        rates=rates,
    )
    done = result.portable()
    done["run_dir"] = None if result.run_dir is None else str(result.run_dir)
    send({RESULT: done})


class ProcessRunner(BackendRunner):
    """Runs `cnn.training.train` in a child process; called like `train` by a `TrainingJob`.

    Args:
        nice: how much lower the child's priority is (default $CNN_TRAIN_NICE or 10; 0 keeps
            the server's).
        threads: TensorFlow threads the child uses (default $CNN_TRAIN_THREADS, else the
            cores shared out among the trainings that run at once); fewer leave cores to the
            server even when the scheduler would not.
    """

    start_s = CHILD_START_S  # what the queue adds to a training's prior for the child's start

    def __init__(self, nice: int | None = None, threads: int | None = None) -> None:
        now = settings.current()
        self.nice = now.nice if nice is None else nice
        if threads is None:
            threads = now.train_threads or max(1, settings.cores() // settings.trainings_at_once())
        self.threads = threads

    def __repr__(self) -> str:
        return f"ProcessRunner(nice={self.nice}, threads={self.threads or 'all'})"

    def _run(self, config, events, stop, out_dir, touch, extra_probes, rates) -> TrainResult:
        """Start the child, stream its events, forward stop and learning rates; the run it
        saved as the result."""
        child = subprocess.Popen(
            [sys.executable, "-m", "cnn.training.process_backend"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=settings.child_environment(PACKAGE_ROOT),
        )
        messages: queue.Queue = queue.Queue()
        reader = threading.Thread(target=_read_all, args=(child.stdout, messages), daemon=True)
        reader.start()
        try:
            out = None if out_dir is None else str(Path(out_dir).resolve())
            _send(child.stdin, (config.to_dict(), out, self.nice, self.threads, extra_probes))
            done = self._follow(child, messages, events, stop, touch, rates)
        except (BrokenPipeError, OSError):
            done = None
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(10)
            reader.join(5)
        if done is None:
            message = tr(
                "The training process ended without a result (exit code {code}): the server may "
                "have run out of memory. Try a smaller model or image size."
            ).format(code=child.returncode)
            emit(events, TrainingEvent("failed", message=message))
            return TrainResult("failed", config, message=message)
        return _result(config, done)

    def _follow(self, child, messages, events, stop, touch, rates=None) -> dict | None:
        """Forward events, stop and learning rates until the child sends its result, or ends
        without one."""
        told = set()
        while True:
            try:
                message = messages.get(timeout=POLL_S)
            except queue.Empty:
                message = {}
            if message is None:  # the child's stdout closed
                return None
            if RESULT in message:
                return message[RESULT]
            if message:
                emit(events, TrainingEvent(**message))
            for command, asked in ((STOP, stop is not None and stop.is_set()),
                                   (ABANDON, touch is not None and touch())):  # fmt: skip
                if asked and command not in told:
                    told.add(command)
                    child.stdin.write(command)
                    child.stdin.flush()
            rate = None if rates is None else rates.take()
            if rate is not None:
                child.stdin.write(RATE + struct.pack(RATE_FORMAT, rate))
                child.stdin.flush()


def _read_all(stream, messages: queue.Queue) -> None:
    """Put every message of the child's stdout on `messages`, then None at its end."""
    try:
        while (message := _receive(stream)) is not None:
            messages.put(message)
    except (OSError, EOFError, pickle.UnpicklingError, struct.error):
        pass
    messages.put(None)


def _result(config: TrainConfig, done: dict) -> TrainResult:
    """The TrainResult of the child's fields, with the saved record read back."""
    from cnn import artifacts

    run_dir = Path(done.pop("run_dir")) if done.get("run_dir") else None
    record = None
    if run_dir is not None:
        info = artifacts.read_run_info(run_dir)
        record = info.record if info.ok else None
    return TrainResult(config=config, run_dir=run_dir, record=record, **done)


if __name__ == "__main__":
    _child_main()
