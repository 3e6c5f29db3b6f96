"""Feature visualisation (issue 31 §2): seconds per picture and activation reached, per shipped run.

For each shipped run in artifacts/, the last conv map (the Inspector's Grad-CAM layer: the
last conv, or a residual model's last block output) and its channels 0-4:
- one picture per channel, each on its own (as `python -m cnn visualize` makes it): seconds;
- the five as one batch (as the "Open the box" page makes a layer's pictures): seconds;
- each picture's activation (mean over the map, on the 8-bit picture) against the strongest
  of 100 test images (a stratified draw of the run's test split, prepared as `evaluate` does).
Target: at least 4 of 5 channels at or above the strongest real image, for the digit and the
pet run. The machine is shared: the load average is printed beside the seconds.

Run:
    CNN_DATA_DIR=/work/shared/data PYTHONPATH=. python bench/bench_visualize.py [--runs mnist ...]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from cnn import artifacts, datasets, geometry
from cnn.inspect import Inspector
from cnn.probes.embedding import subset_indices
from cnn.visualize import STEPS, strongest, visualize

CHANNELS = [0, 1, 2, 3, 4]
REAL_IMAGES = 100


def test_inputs(run, n: int) -> np.ndarray:
    """n test images of the run's dataset (the same share of every class) as model inputs."""
    data = datasets.load(run.record.dataset.key, run.record.config.data)
    split = data.test.take(subset_indices(data.test, n))
    size, channels = tuple(run.preprocessing["image_size"]), int(run.preprocessing["channels"])
    return (
        np.stack([geometry.fit(split.image(i), size, channels) for i in range(len(split))]) / 255.0
    )


def bench_run(path, steps: int) -> None:
    run = artifacts.load_run(path)
    model = run.model
    layer = Inspector(model, jit_compile=False).gradcam_layer
    visualize(model, layer, channels=[0], steps=2)  # trace the functions once
    load_before = os.getloadavg()[0]
    alone, seconds = [], []
    for channel in CHANNELS:
        began = time.perf_counter()
        alone += visualize(model, layer, channels=[channel], steps=steps)
        seconds.append(time.perf_counter() - began)
    began = time.perf_counter()
    visualize(model, layer, channels=CHANNELS, steps=steps)
    batch = time.perf_counter() - began
    load_after = os.getloadavg()[0]
    _, means = strongest(model, layer, test_inputs(run, REAL_IMAGES).astype(np.float32))
    best = means[CHANNELS].max(axis=1)
    beaten = sum(r.activation >= b for r, b in zip(alone, best, strict=True))
    print(
        f"\n{run.info.name} ({run.record.dataset.key}), {layer}, {steps} steps, "
        f"load average {load_before:.1f} -> {load_after:.1f}"
    )
    print("| channel | s alone | activation | strongest of 100 test images | reached |")
    print("|---:|---:|---:|---:|:---:|")
    for channel, r, s, b in zip(CHANNELS, alone, seconds, best, strict=True):
        reached = "yes" if r.activation >= b else "no"
        print(f"| {channel} | {s:.2f} | {r.activation:.3f} | {b:.3f} | {reached} |")
    print(
        f"median {np.median(seconds):.2f} s a picture alone; the five as one batch {batch:.2f} s "
        f"({batch / len(CHANNELS):.2f} s a picture); reached on {beaten} of {len(CHANNELS)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", default=None, help="dataset keys (default: all)")
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args()
    for info in artifacts.list_runs([artifacts.shipped_dir()]):
        if args.runs and info.record.dataset.key not in args.runs:
            continue
        bench_run(info.path, args.steps)


if __name__ == "__main__":
    main()
