"""Embedding map and neighbours: time and memory of each step and of each projection library.

Issue 13 asks for the map within a few seconds on the 2-core machine. This measures, on the
shipped MNIST run:

1. embedding (penultimate-layer features, batches of 256 in one compiled call each) of the
   2,000 map test images, of the 10,000-image neighbour pool and (with --all) of all 60,000
   training images;
2. each projection of the 2,000 test embeddings, every one in a fresh process so its peak
   memory is its own: scikit-learn PCA, t-SNE (default 1,000 iterations, and 500; 2,000
   and 1,000 points), and umap-learn when $BENCH_PYTHON has it (the first call in a
   process includes numba's compile);
3. one nearest-neighbour query against the pool (scikit-learn NearestNeighbors, brute).

    CNN_DATA_DIR=/work/shared/data PYTHONPATH=. python bench/bench_embedding.py [--all]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cnn import artifacts, datasets
from cnn.inspect import Inspector
from cnn.probes import embedding

# the Python that projects: $BENCH_PYTHON (e.g. a venv with umap-learn), else this one
PYTHON = os.environ.get("BENCH_PYTHON", sys.executable)

PROJECT = r"""
import json, sys, time
import numpy as np

def status(field):  # kB from /proc/self/status (VmHWM: this process's peak, reset by exec)
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024

features = np.load(sys.argv[1])
method, points = sys.argv[2], int(sys.argv[3])
features = features[:points]
if method.startswith("umap"):
    import umap
else:
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
base = status("VmRSS")
started = time.perf_counter()
if method == "pca":
    PCA(2, random_state=0).fit_transform(features)
elif method.startswith("tsne"):
    iterations = int(method.split("-")[1])
    TSNE(2, perplexity=30, init="pca", random_state=0, max_iter=iterations).fit_transform(features)
else:
    umap.UMAP(random_state=0).fit_transform(features)
seconds = time.perf_counter() - started
peak = status("VmHWM")
print(json.dumps({"seconds": seconds, "peak_mb": peak, "added_mb": peak - base}))
"""
# (method, points): every projection of the 2,000 map points, t-SNE also of 1,000
METHODS = [
    ("pca", 2000),
    ("tsne-1000", 2000),
    ("tsne-500", 2000),
    ("tsne-500", 1000),
    ("umap", 2000),
]


def project_in_child(features: np.ndarray, method: str, points: int) -> dict | None:
    """Time and memory of one projection in a fresh Python (None when its library is absent)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "features.npy"
        np.save(path, features)
        done = subprocess.run(
            [PYTHON, "-c", PROJECT, str(path), method, str(points)], capture_output=True, text=True
        )
    if done.returncode != 0:
        if "No module named" in done.stderr:
            return None
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def embed_timed(run, inspector, data, which: str, limit: int | None) -> embedding.Embedded:
    started = time.perf_counter()
    split = data.train if which == "train" else data.test
    indices = embedding.subset_indices(split, limit)
    embedded = embedding.embed(inspector, split.take(indices), run.preprocessing)
    seconds = time.perf_counter() - started
    rate, size = len(indices) / seconds, embedded.features.nbytes / 1e6
    print(
        f"  embed {len(indices):>6,} {which} images: {seconds:6.1f} s ({rate:,.0f} images/s), "
        f"{size:.1f} MB"
    )
    return embedded


def main(everything: bool) -> None:
    info = next(
        r
        for r in artifacts.list_runs([artifacts.shipped_dir()])
        if r.ok and r.record.dataset.key == "mnist"
    )
    run = artifacts.load_run(info.path)
    inspector = Inspector(run.model)
    data = datasets.load("mnist", download=False)
    print(f"{info.name} on {data.source}")
    inspector.predict_with_features(np.zeros((256, 28, 28, 1), np.float32))  # compile first
    test = embed_timed(run, inspector, data, "test", embedding.MAP_POINTS)
    pool = embed_timed(run, inspector, data, "train", embedding.TRAIN_POOL)
    if everything:
        embed_timed(run, inspector, data, "train", None)
    started = time.perf_counter()
    embedding.nearest(pool, test.features[0], 8)
    fitted = time.perf_counter() - started
    started = time.perf_counter()
    embedding.nearest(pool, test.features[1], 8)
    print(
        f"  nearest 8 of {len(pool):,}: first (fits) {fitted * 1000:.0f} ms, "
        f"then {(time.perf_counter() - started) * 1000:.1f} ms"
    )
    print(f"projections of {test.features.shape[1]}-number features (fresh process each):")
    for method, points in METHODS:
        figures = project_in_child(test.features, method, points)
        if figures is None:
            print(f"  {method:<10} not installed")
            continue
        print(
            f"  {method:<10} {points:>5} points {figures['seconds']:6.2f} s  peak "
            f"{figures['peak_mb']:5.0f} MB (+{figures['added_mb']:.0f} MB over numpy and the "
            "library)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="also embed all training images")
    main(parser.parse_args().all)
