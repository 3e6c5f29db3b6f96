"""Engine overhead: bare `model.fit` on arrays vs `cnn.training.train` vs a polled TrainingJob.

The same architecture, the same 10,000 real MNIST training images (a stratified subset),
batch size, optimizer and epochs are trained three ways, interleaved so that a busy machine
slows all three alike:

    bare    model.fit(x_float32, y, batch_size, epochs), as a tutorial writes it
    train   cnn.training.train(config, events=...) with its callback, events and stop flag,
            and its time-lapse (on by default: snapshots of the probes during training)
    no-lapse  the same with `timelapse=False`: train/no-lapse is what the time-lapse costs
    job     cnn.training.TrainingJob polled every second by a thread calling job.drain(),
            as the Train page's fragment does

Images/s is training images x epochs / the seconds `fit` took (the engine's own
`timings.fit_seconds`, so data loading and the test evaluation are left out of both).
Prints the median of the repeats and the ratios train/bare and job/bare (target >= 0.97).

Run:
    CNN_DATA_DIR=/work/shared/data python bench/bench_training.py
    python bench/bench_training.py --arch mnist_98 --epochs 2 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np

from cnn import architectures, datasets
from cnn.training import TrainConfig, TrainingJob, train

INPUT_SHAPE = (28, 28, 1)
POLL_S = 1.0  # the Train page's fragment runs every second


def config_for(args, arch: str, timelapse: bool = True) -> TrainConfig:
    """The engine config matching the bare loop: no validation split, no schedule."""
    return TrainConfig(
        timelapse=timelapse,
        dataset="mnist",
        arch=arch,
        epochs=args.epochs,
        batch_size=args.batch_size,
        max_samples=args.samples,
        validation_fraction=0.0,
        seed=0,
    )


def run_bare(args, arch: str, split: datasets.Split) -> float:
    """A tutorial's loop: float32 arrays in memory, model.fit; returns images/s."""
    import keras

    keras.utils.set_random_seed(0)
    x = split.images.astype(np.float32) / 255.0
    model = architectures.build_named(arch, INPUT_SHAPE, 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x, split.labels, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
    return len(x) * args.epochs / (time.perf_counter() - start)


def run_train(args, arch: str, timelapse: bool = True) -> float:
    """cnn.training.train with an events sink; returns its fit images/s."""
    events = []
    result = train(config_for(args, arch, timelapse), events=events.append)
    assert result.state == "finished", result.message
    return result.record.timings.images_per_s


def run_job(args, arch: str) -> float:
    """A TrainingJob drained every second by another thread; returns its fit images/s."""
    job = TrainingJob(config_for(args, arch), out_dir=None).start()
    events = []

    def poll() -> None:
        while not job.done:
            events.extend(job.drain())
            time.sleep(POLL_S)

    poller = threading.Thread(target=poll)
    poller.start()
    job.join()
    poller.join()
    assert job.state == "finished", job.error
    return job.result.record.timings.images_per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", help="default: modern_cnn and mnist_98")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    data = datasets.load("mnist")
    split = datasets.stratified_subset(data.train, args.samples, 0)
    print(
        f"MNIST {args.samples} images ({data.source}), batch {args.batch_size}, "
        f"{args.epochs} epochs, {args.repeats} repeats interleaved"
    )
    for arch in args.arch or ["modern_cnn", "mnist_98"]:
        speeds: dict[str, list[float]] = {"bare": [], "train": [], "no-lapse": [], "job": []}
        for repeat in range(args.repeats):
            speeds["bare"].append(run_bare(args, arch, split))
            speeds["train"].append(run_train(args, arch))
            speeds["no-lapse"].append(run_train(args, arch, timelapse=False))
            speeds["job"].append(run_job(args, arch))
            line = "  ".join(f"{k} {v[-1]:.0f}" for k, v in speeds.items())
            print(f"  {arch} repeat {repeat + 1}: {line} img/s", flush=True)
        median = {k: statistics.median(v) for k, v in speeds.items()}
        print(
            f"{arch}: bare {median['bare']:.0f} img/s, train {median['train']:.0f} img/s, "
            f"job {median['job']:.0f} img/s; train/bare {median['train'] / median['bare']:.2f}, "
            f"job/bare {median['job'] / median['bare']:.2f}"
        )
        # this machine's speed jumps between two levels from one run to the next, so the
        # median of a few repeats can land on either; the mean of the repeats is shown too
        mean = {k: statistics.fmean(v) for k, v in speeds.items()}
        print(
            f"{arch} means: train/bare {mean['train'] / mean['bare']:.2f}, "
            f"job/bare {mean['job'] / mean['bare']:.2f}"
        )
        lapse = [t / n for t, n in zip(speeds["train"], speeds["no-lapse"], strict=True)]
        print(
            f"{arch} time-lapse: train/no-lapse per repeat "
            f"{' '.join(f'{r:.3f}' for r in lapse)}; median {statistics.median(lapse):.3f}, "
            f"no-lapse/bare {median['no-lapse'] / median['bare']:.2f}"
        )


if __name__ == "__main__":
    main()
