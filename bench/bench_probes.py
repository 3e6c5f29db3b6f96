"""Probe speed: every sweep, occlusion and attack of the Probe page, on the shipped runs.

Target (issue 13): each sweep and attack answers within about a second on the 2-core
machine. For the shipped MNIST and cats-vs-dogs runs it loads the model with the app's
Inspector (XLA), takes one real test image (one of the bundled samples without the data),
times the first call (it compiles) and then the median and max of REPEATS more, and prints
how many model inputs each call classifies in its one compiled call.

    CNN_DATA_DIR=/work/shared/data PYTHONPATH=. python bench/bench_probes.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from cnn import artifacts, datasets, preprocess
from cnn.inspect import Inspector
from cnn.probes import attack, occlusion, sweeps

REPEATS = 5
RUNS = ("mnist", "cats_vs_dogs")


def model_input(run: artifacts.Run) -> tuple[np.ndarray, str]:
    """The first test image of the run's dataset, else its first bundled sample."""
    pre = run.preprocessing
    key = run.record.dataset.key
    try:
        data = datasets.load(key, download=False)
        image, where = data.test.image(0), "test image 0"
    except datasets.DatasetError:
        path = artifacts.sample_images(key)[0]
        image, where = preprocess.load_image(path), path.name
    return preprocess.photo_to_input(image, tuple(pre["image_size"]), pre["channels"]).input, where


def timed(call) -> tuple[float, list[float], object]:
    """(first call s, later calls s, the result)."""
    started = time.perf_counter()
    result = call()
    first = time.perf_counter() - started
    later = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        call()
        later.append(time.perf_counter() - started)
    return first, later, result


def row(name: str, size: int, first: float, later: list[float]) -> str:
    median, worst = statistics.median(later), max(later)
    return (
        f"  {name:<22} {size:>5} inputs  first {first:6.2f} s  median {median:6.3f} s  "
        f"max {worst:6.3f} s"
    )


def bench(key: str) -> float:
    """Print every probe's times for the shipped run of `key`; returns the slowest median."""
    info = next(
        r
        for r in artifacts.list_runs([artifacts.shipped_dir()])
        if r.ok and r.record.dataset.key == key
    )
    run = artifacts.load_run(info.path)
    inspector = Inspector(run.model)
    image, where = model_input(run)
    method = run.preprocessing["method"]
    print(f"{info.name} ({' x '.join(map(str, image.shape))}), {where}")
    medians = []
    for sweep in sweeps.sweeps_for(method):
        first, later, result = timed(
            lambda s=sweep: sweeps.run_sweep(inspector, image, s.name, method)
        )
        print(row(f"sweep {sweep.name}", len(result.values), first, later))
        medians.append(statistics.median(later))
    first, later, result = timed(lambda: occlusion.occlusion_map(inspector, image))
    print(row("occlusion", 1 + result.drops.size, first, later))
    medians.append(statistics.median(later))
    attacker = attack.Attacker(inspector)
    for name in attack.METHODS:
        first, later, result = timed(lambda n=name: attacker.attack(image, n))
        print(
            row(f"attack {name}", len(result.epsilons), first, later)
            + f"  epsilon {result.epsilon}"
        )
        medians.append(statistics.median(later))
        answer = result.label_before
        first, later, _ = timed(
            lambda n=name, a=answer: attacker.perturb(image, np.array([0.05]), a, 1.0, n)
        )
        print(row(f"slider {name}", 1, first, later))
    return max(medians)


if __name__ == "__main__":
    slowest = {key: bench(key) for key in RUNS}
    print("slowest median per run: " + ", ".join(f"{k} {v:.3f} s" for k, v in slowest.items()))
