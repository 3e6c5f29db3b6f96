"""Time to accuracy: seconds from `python -m cnn train` start to >= 99.0% on the MNIST test set.

Method (nothing added to the engine): run the CLI as a user would, as a subprocess, with
--epochs 1, then 2, 3, ... (each a fresh training from scratch, its learning-rate schedule
spanning its own epochs) and read the test accuracy it prints with --json; that accuracy is
measured on the official 10,000-image MNIST test set after training. The figure is the wall
time of the first command whose model reaches the target: what a user typing that command
waits, including Python and TensorFlow start-up, data loading, training, test evaluation and
saving the run. Target: under 90 s on this 2-core machine.

Run:
    CNN_DATA_DIR=/work/shared/data PYTHONPATH=. python bench/bench_time_to_accuracy.py
    python bench/bench_time_to_accuracy.py --max-epochs 3 -- --batch-size 128 --lr 0.002
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

TARGET = 0.99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="modern_cnn")
    parser.add_argument("--max-epochs", type=int, default=4)
    parser.add_argument("train_args", nargs="*", help="more `python -m cnn train` options")
    args = parser.parse_args()

    for epochs in range(1, args.max_epochs + 1):
        with tempfile.TemporaryDirectory() as out:
            command = [
                sys.executable,
                "-m",
                "cnn",
                "train",
                "--dataset",
                "mnist",
                "--arch",
                args.arch,
                "--epochs",
                str(epochs),
                "--out",
                out,
                "--json",
                *args.train_args,
            ]
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            seconds = time.perf_counter() - start
        result = json.loads(done.stdout.strip().splitlines()[-1])
        accuracy = result["test_accuracy"]
        print(
            f"{' '.join(command[1:])}: test accuracy {accuracy:.4f} after {seconds:.1f} s "
            f"(training {result['seconds']:.1f} s)",
            flush=True,
        )
        if accuracy >= TARGET:
            print(f"{args.arch} reached {TARGET:.1%} in {seconds:.1f} s ({epochs} epochs)")
            return
    print(f"{args.arch} did not reach {TARGET:.1%} within {args.max_epochs} epochs")


if __name__ == "__main__":
    main()
