"""Interactive path: one Inspector.run (probabilities + every feature map +/- Grad-CAM) vs predict.

Loads the newest MNIST run in artifacts/ (or RUN_DIR; without one it trains a quick
modern_cnn on 2,000 images first), takes one official test digit, warms every path up, then
times 200 calls of each, interleaved round-robin so that a busy machine slows all alike:

    inspect+gradcam   Inspector(model).run(x)                  what the Predict page calls
    inspect           Inspector(model).run(x, gradcam=False)
    model(x)          the Keras model called on the batch of one
    predict           model.predict(x, verbose=0)              what a tutorial calls

Prints p50 and p95 in ms of each (targets: p50 < 10 ms with Grad-CAM, < 3 ms without).

Run:
    CNN_DATA_DIR=/work/shared/data PYTHONPATH=. python bench/bench_inspect.py [RUN_DIR]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cnn import artifacts, datasets
from cnn.inspect import Inspector
from cnn.training import TrainConfig, train

CALLS = 200
WARMUP = 20


def mnist_run_dir(given: str | None) -> str:
    """RUN_DIR, else the newest MNIST run in artifacts/, else a quick run trained now."""
    if given:
        return given
    runs = artifacts.list_runs([artifacts.shipped_dir()])
    runs = [r for r in runs if r.ok and r.record.dataset.key == "mnist"]
    if runs:
        return str(max(runs, key=lambda r: r.created).path)
    print("No MNIST run in artifacts/: training a quick one (2,000 images, 1 epoch).")
    config = TrainConfig(dataset="mnist", arch="modern_cnn", epochs=1, max_samples=2000)
    return str(train(config, out_dir=artifacts.user_runs_dir()).run_dir)


def percentiles(seconds: list[float]) -> str:
    p50, p95 = np.percentile(np.array(seconds) * 1000, [50, 95])
    return f"p50 {p50:6.2f} ms  p95 {p95:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?")
    args = parser.parse_args()

    run = artifacts.load_run(mnist_run_dir(args.run_dir))
    model = run.model
    digit = datasets.load("mnist").test.images[0]
    x = (digit.astype(np.float32) / 255.0)[None]
    inspector = Inspector(model)
    paths = {
        "inspect+gradcam": lambda: inspector.run(x),
        "inspect": lambda: inspector.run(x, gradcam=False),
        "model(x)": lambda: model(x, training=False).numpy(),
        "predict": lambda: model.predict(x, verbose=0),
    }
    for call in paths.values():
        for _ in range(WARMUP):
            call()
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(CALLS):
        for name, call in paths.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    maps = len(inspector.run(x).activations)
    print(
        f"{run.info.path.name}: {model.count_params():,} params, {maps} feature maps, "
        f"{CALLS} calls each after {WARMUP} warm-up calls"
    )
    for name, seconds in times.items():
        print(f"  {name:<16} {percentiles(seconds)}")


if __name__ == "__main__":
    main()
