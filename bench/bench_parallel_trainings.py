"""A line of trainings, one at a time or several at once: which finishes the line sooner?

The Train page's queue (`cnn.training.TrainingSlots`) with child-process trainings
(`ProcessRunner`, as CNN_TRAIN_IN=process runs them): --jobs Quick MNIST trainings asked for
at the same moment, first with one slot and all cores for each training, then with --at-once
slots and cores / at-once TensorFlow threads each; the order of the two alternates from one
repeat to the next. Printed: the time from the first ask to the last training's end (what
the last student in line waits for), and each training's own time.

    CNN_DATA_DIR=/work/shared/data PYTHONPATH=. python bench/bench_parallel_trainings.py \
        --jobs 4 --at-once 2 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from cnn import datasets
from cnn.training import TrainConfig, TrainingJob, TrainingSlots, preset_settings
from cnn.training.process_backend import ProcessRunner


def line(jobs: int, at_once: int, threads: int, train_images: int) -> tuple[float, list[float]]:
    """(seconds from the asks to the last end, each training's seconds) of one line."""
    settings = preset_settings("Quick", "digits", train_images)
    slots = TrainingSlots(limit=at_once)
    runner = ProcessRunner(nice=0, threads=threads)
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        line = [
            TrainingJob(TrainConfig(dataset="mnist", seed=i, **settings), out, slots=slots,
                        runner=runner, abandon_after=0, train_images=train_images).start()
            for i in range(jobs)
        ]  # fmt: skip
        for job in line:
            job.join()
        took = time.monotonic() - started
    failed = [job.error for job in line if job.state != "finished"]
    if failed:
        raise SystemExit(f"a training failed: {failed[0]}")
    return took, [job.result.seconds for job in line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--at-once", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    images = len(datasets.load("mnist").train)
    plans = {
        f"1 at a time, {cores} threads": (1, 0),
        f"{args.at_once} at once, {max(1, cores // args.at_once)} thread(s) each": (
            args.at_once, max(1, cores // args.at_once)),
    }  # fmt: skip
    seen: dict[str, list[float]] = {name: [] for name in plans}
    for repeat in range(args.repeats):
        order = list(plans) if repeat % 2 == 0 else list(reversed(plans))
        for name in order:
            at_once, threads = plans[name]
            took, each = line(args.jobs, at_once, threads, images)
            seen[name].append(took)
            print(f"{name}: {args.jobs} trainings done {took:.1f} s after the asks; each "
                  f"{', '.join(f'{s:.1f}' for s in each)} s (load {os.getloadavg()[0]:.1f})",
                  flush=True)  # fmt: skip
    for name, times in seen.items():
        print(f"{name}: median {statistics.median(times):.1f} s for the line of {args.jobs}")


if __name__ == "__main__":
    main()
