"""What the model learned, as places: nearest training images and a 2-D map of the embedding.

The embedding of an image is what the output layer reads: the penultimate layer's
activations (`Inspector.predict_with_features`). Images the model thinks alike lie close
together there, so the training images nearest to an input show what it was compared with
("why was my 4 called a 9?"), and a 2-D projection of a few thousand test images shows the
classes as clusters, with the input placed among them.

Embeddings are computed once per run and split and kept as a .npz in a cache folder
($CNN_CACHE_DIR, else ~/.cnn_lab/cache), never in the run folder: shipped runs are read-only.
The cache key holds the run, its model file's time and size, the data source and the split.

Libraries (timed in bench/README.md, "Embeddings and the map"): scikit-learn's
NearestNeighbors (exact, brute force) for neighbours; its PCA for the map that appears at
once; its t-SNE (clusters far clearer, but about half a minute) on request, once per run,
cached like the embeddings. umap-learn was slower on first use (numba compiles) and used far
more memory, so it is not used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnn import array_cache, datasets, geometry
from cnn.array_cache import cached
from cnn.i18n import N_, number, tr

BATCH = 256  # images per compiled call while embedding a split
MAP_POINTS = 2000  # test images on the map (stratified)
TRAIN_POOL = 10_000  # training images searched for neighbours (stratified): all 60,000 take ~1 min
SUBSET_SEED = 0
MAP_SEED = 0
PROJECTIONS = ("pca", "tsne")
TSNE_PERPLEXITY = 30
TSNE_ITERATIONS = 500  # half scikit-learn's default, about half the wait (bench/README.md)
PLACE_NEIGHBOURS = 10  # t-SNE cannot place a new point: it goes among its 10 nearest


def cache_dir() -> Path:
    """Where embeddings are cached: $CNN_CACHE_DIR, else ~/.cnn_lab/cache (read per call)."""
    return array_cache.cache_dir()


# (split, a subset?) -> the sentence saying which images a map or a search used
SOURCE_SENTENCES = {
    ("train", True): N_("{shown} of the {total} training images of {title} ({source})"),
    ("train", False): N_("all {total} training images of {title} ({source})"),
    ("test", True): N_("{shown} of the {total} test images of {title} ({source})"),
    ("test", False): N_("all {total} test images of {title} ({source})"),
}


@dataclass(repr=False)
class Embedded:
    """A split's images as points in the model's embedding.

    Attributes:
        features: float32 (n, d), the penultimate layer's activations.
        labels: int64 (n,), true classes.
        predicted: int64 (n,), the model's answers.
        indices: int64 (n,), each point's index in the split it came from.
        split: the split the images came from.
        source: a sentence: which images, from where (English; `source_words` in the
            language being shown).
        source_parts: what the sentence is made of: which split, how many of how many, the
            dataset's title and source.
        neighbours: scikit-learn's NearestNeighbors over `features`, fitted when the object
            is made (about 1-5 ms for 2,000-60,000 points) and never written afterwards: the
            app shares one Embedded between sessions (`st.cache_resource`).
    """

    features: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray
    indices: np.ndarray
    split: Any = None  # the datasets.Split (thumbnails are read from it)
    source: str = ""
    cache: Path | None = None
    source_parts: dict | None = None  # the cache file this came from (t-SNE is cached beside it)
    neighbours: Any = field(init=False)

    def __post_init__(self) -> None:
        from sklearn.neighbors import NearestNeighbors

        self.neighbours = NearestNeighbors(algorithm="brute").fit(self.features)

    def __len__(self) -> int:
        return len(self.labels)

    def source_words(self) -> str:
        """`source` in the current language (made when shown: the object is shared between
        sessions that speak different languages)."""
        if not self.source_parts:
            return self.source
        p = self.source_parts
        key = (p["which"], p["shown"] < p["total"])
        return tr(SOURCE_SENTENCES[key]).format(
            shown=number(p["shown"]), total=number(p["total"]), title=tr(p["title"]),
            source=p["source"],
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"Embedded(n={len(self)}, d={self.features.shape[1]}, source={self.source!r})"

    def image(self, i: int) -> np.ndarray:
        """The uint8 picture of point `i` as stored in its dataset (full size for photos)."""
        return self.split.image(int(self.indices[i]))


@dataclass(frozen=True)
class Neighbour:
    """One of the nearest training images: its place in the split, class and distance."""

    index: int
    label: int
    distance: float


def _model_inputs(split: datasets.Split, rows: np.ndarray, size, channels) -> np.ndarray:
    """float32 model inputs of some images of a split, prepared as training prepares them."""
    if split.images is not None and split.images.shape[1:] == (*size, channels):
        images = split.images[rows]
    else:
        images = np.stack([geometry.fit(split.image(int(i)), size, channels) for i in rows])
    return images.astype(np.float32) / 255.0


def embed(inspector, split: datasets.Split, preprocessing: dict) -> Embedded:
    """Every image of a split through the model, a batch of BATCH per compiled call.

    Args:
        inspector: a `cnn.inspect.Inspector`.
        split: the images (arrays or files).
        preprocessing: the run's record ({"image_size": [h, w], "channels": c, ...}).
    """
    size, channels = tuple(preprocessing["image_size"]), int(preprocessing["channels"])
    features, predicted = [], []
    for start in range(0, len(split), BATCH):
        rows = np.arange(start, min(start + BATCH, len(split)))
        f, p = inspector.predict_with_features(_model_inputs(split, rows, size, channels))
        features.append(f.reshape(len(rows), -1))
        predicted.append(p.argmax(axis=1))
    return Embedded(
        np.concatenate(features).astype(np.float32),
        split.labels.astype(np.int64),
        np.concatenate(predicted).astype(np.int64),
        np.arange(len(split), dtype=np.int64),
        split,
    )


def _cache_file(run_path: Path, source: str, which: str) -> Path:
    """One file per (run, model file version, data source, split)."""
    model = run_path / "model.keras"
    stat = model.stat()
    key = f"{run_path.resolve()}|{stat.st_mtime_ns}|{stat.st_size}|{source}|{which}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir() / f"{run_path.name}-{which}-{digest}.npz"


def embedded_split(
    run, inspector, data: datasets.Dataset, which: str, limit: int | None = None
) -> Embedded:
    """A run's embedding of part of a dataset, from the cache or computed once.

    Args:
        run: a `cnn.artifacts.Run`.
        inspector: its Inspector.
        data: the run's dataset as loaded on this machine.
        which: "train" (training images, for neighbours) or "test" (test images, the map).
        limit: at most this many images, the same share of every class (fixed seed);
            None for every image of the split.
    """
    split = data.train if which == "train" else data.test
    indices = subset_indices(split, limit)
    what = "training" if which == "train" else "test"
    parts = {"which": which, "shown": len(indices), "total": len(split),
             "title": data.info.title, "source": data.source}  # fmt: skip
    some = (
        f"{len(indices):,} of the {len(split):,}"
        if len(indices) < len(split)
        else f"all {len(split):,}"
    )
    path = _cache_file(run.info.path, data.source, f"{which}{len(indices)}")

    def compute() -> dict[str, np.ndarray]:
        e = embed(inspector, split.take(indices), run.preprocessing)
        return {"features": e.features, "labels": e.labels, "predicted": e.predicted}

    arrays = cached(path, compute)
    return Embedded(
        arrays["features"], arrays["labels"], arrays["predicted"], indices, split,
        source=f"{some} {what} images of {data.info.title} ({data.source})",
        cache=path,
        source_parts=parts,
    )  # fmt: skip


def subset_indices(split: datasets.Split, limit: int | None) -> np.ndarray:
    """Indices of up to `limit` images of a split, the same share of every class."""
    if limit is None or limit >= len(split):
        return np.arange(len(split), dtype=np.int64)
    # a split whose "paths" are the indices: the subset names the images it kept
    numbered = datasets.Split(np.asarray(split.labels), paths=np.arange(len(split)))
    return datasets.stratified_subset(numbered, limit, SUBSET_SEED).paths.astype(np.int64)


def nearest(embedded: Embedded, feature: np.ndarray, k: int) -> list[Neighbour]:
    """The k points nearest to `feature` (Euclidean distance), nearest first.

    Uses scikit-learn's NearestNeighbors (brute force: exact, and fast enough for 60,000
    points of 128 numbers), fitted when the Embedded was made.
    """
    k = max(1, min(int(k), len(embedded)))
    query = np.asarray(feature, np.float32).reshape(1, -1)
    distances, rows = embedded.neighbours.kneighbors(query, n_neighbors=k)
    return [
        Neighbour(int(embedded.indices[r]), int(embedded.labels[r]), float(d))
        for r, d in zip(rows[0], distances[0], strict=True)
    ]


@dataclass(repr=False)
class Projection:
    """2-D positions of embedded points, and a way to place a new one among them.

    Attributes:
        method: "pca" or "tsne".
        points: float32 (n, 2).
        explained: for PCA, the share of the variance the two axes keep; else None.
    """

    method: str
    points: np.ndarray
    explained: float | None
    _place: Callable[[np.ndarray], np.ndarray]

    def place(self, feature: np.ndarray) -> np.ndarray:
        """Where a new embedding lands on the map: (2,)."""
        return self._place(np.asarray(feature, np.float32).reshape(1, -1))

    def __repr__(self) -> str:
        return f"Projection({self.method}, n={len(self.points)})"


def project(embedded: Embedded, method: str) -> Projection:
    """The map of embedded points, by PCA or t-SNE.

    PCA places a new point exactly (its own transform). t-SNE cannot: a new point goes to
    the mean place of its PLACE_NEIGHBOURS nearest points in the embedding. t-SNE positions
    are cached beside the embedding's cache file.
    """
    from sklearn.decomposition import PCA
    from sklearn.neighbors import NearestNeighbors

    features = embedded.features
    if method == "pca":
        pca = PCA(n_components=2, random_state=MAP_SEED).fit(features)
        points = pca.transform(features).astype(np.float32)
        return Projection("pca", points, float(pca.explained_variance_ratio_.sum()),
                          lambda x: pca.transform(x)[0])  # fmt: skip
    if method != "tsne":
        raise ValueError(f"Unknown projection {method!r}: choose one of {', '.join(PROJECTIONS)}.")

    def compute() -> dict[str, np.ndarray]:
        from sklearn.manifold import TSNE

        tsne = TSNE(2, perplexity=TSNE_PERPLEXITY, init="pca", random_state=MAP_SEED,
                    max_iter=TSNE_ITERATIONS)  # fmt: skip
        return {"points": tsne.fit_transform(features).astype(np.float32)}

    cache = embedded.cache
    points = cached(cache.with_name(f"{cache.stem}-tsne.npz"), compute) if cache else compute()
    points = points["points"]
    index = NearestNeighbors(n_neighbors=min(PLACE_NEIGHBOURS, len(points))).fit(features)
    return Projection(
        "tsne",
        points,
        None,
        lambda x: points[index.kneighbors(x, return_distance=False)[0]].mean(0),
    )
