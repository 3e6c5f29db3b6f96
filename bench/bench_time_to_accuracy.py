"""Time to 99.0% on MNIST: CNN Lab's recipe against the keras-io example, side by side.

Each repeat runs two whole processes, one after the other (their order alternates from one
repeat to the next, so neither always meets a warm or a cold machine first):
- CNN Lab: `python -m cnn train --dataset mnist RECIPE --json` as a user types it; its test
  accuracy is the one it prints, on the official 10,000-image test set after training;
- the keras-io example "Simple MNIST convnet" as published (`keras_mnist_convnet.py`, the
  bench's own copy reading the same IDX files), epoch by epoch until its test accuracy
  reaches 99.0%.
Each figure is the wall time from the process's start to its exit: Python and TensorFlow
start-up, data loading, training, test evaluation (and for CNN Lab its calibration, the
unfamiliar-input check, the time-lapse and saving the run) are all included. The ratio is
CNN Lab's time over the example's, per repeat. Target (issue 33): at most 0.5, and CNN Lab
under 30 s on a fast day.

Run:
    CNN_DATA_DIR=/work/shared/data PYTHONPATH=. python bench/bench_time_to_accuracy.py
    python bench/bench_time_to_accuracy.py --repeats 3 --seed 1
    python bench/bench_time_to_accuracy.py --no-example -- --arch modern_cnn --epochs 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.99
# the recipe (bench/README.md, section 2): the fast CNN, two epochs, one-cycle-like cosine
RECIPE = [
    "--arch", "fast_cnn", "--epochs", "2", "--batch-size", "128", "--lr", "0.01",
    "--lr-schedule", "cosine", "--label-smoothing", "0.1", "--validation-fraction", "0",
]  # fmt: skip
EXAMPLE = Path(__file__).with_name("keras_mnist_convnet.py")


def timed(command: list[str]) -> tuple[dict, float]:
    """Run a command to its end; (its last stdout line as JSON, wall seconds)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), seconds


def engine(recipe: list[str], seed: int) -> tuple[float, float]:
    """(test accuracy, wall seconds) of one CNN Lab training with the recipe."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "cnn", "train", "--dataset", "mnist", *recipe,
                   "--seed", str(seed), "--out", out, "--json"]  # fmt: skip
        result, seconds = timed(command)
    print(f"  cnn train {' '.join(recipe)} --seed {seed}: test accuracy "
          f"{result['test_accuracy']:.4f} in {seconds:.1f} s", flush=True)  # fmt: skip
    return result["test_accuracy"], seconds


def example() -> tuple[float, float]:
    """(test accuracy, wall seconds) of the keras-io example run until 99%."""
    result, seconds = timed([sys.executable, str(EXAMPLE)])
    print(f"  keras-io mnist_convnet: test accuracy {result['test_accuracy']:.4f} at epoch "
          f"{result['epoch']} in {seconds:.1f} s", flush=True)  # fmt: skip
    return result["test_accuracy"], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="the first repeat's seed (+1 each)")
    parser.add_argument("--no-example", action="store_true", help="time CNN Lab only")
    parser.add_argument("recipe", nargs="*", help="`python -m cnn train` options (default RECIPE)")
    args = parser.parse_args()
    recipe = args.recipe or RECIPE
    ours, theirs, ratios = [], [], []
    for repeat in range(args.repeats):
        print(f"repeat {repeat + 1}/{args.repeats} (load average {os.getloadavg()[0]:.2f})")
        first_ours = repeat % 2 == 0 or args.no_example
        if first_ours:
            ours.append(engine(recipe, args.seed + repeat))
        if not args.no_example:
            theirs.append(example())
            if not first_ours:
                ours.append(engine(recipe, args.seed + repeat))
            ratios.append(ours[-1][1] / theirs[-1][1])
            print(f"  ratio {ratios[-1]:.2f}")
    for accuracy, seconds in ours:
        verdict = "reached" if accuracy >= TARGET else "did NOT reach"
        print(f"CNN Lab {verdict} {TARGET:.1%} in {seconds:.1f} s ({accuracy:.2%})")
    if theirs:
        print(f"keras-io example: median {statistics.median(s for _, s in theirs):.1f} s; "
              f"CNN Lab median {statistics.median(s for _, s in ours):.1f} s; ratios "
              f"{', '.join(f'{r:.2f}' for r in ratios)} (target <= 0.50)")  # fmt: skip


if __name__ == "__main__":
    main()
