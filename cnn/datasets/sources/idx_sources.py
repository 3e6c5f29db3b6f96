"""Sources of MNIST-style IDX data: a folder of the four files, or Keras' download of them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn.datasets import download as fetch
from cnn.datasets.download import Progress, report
from cnn.datasets.idx import MNIST_FILES, idx_dir_ready, load_idx_dir, read_idx
from cnn.datasets.said import Said
from cnn.datasets.sources import Loaded, shown
from cnn.datasets.splits import Split
from cnn.errors import DatasetError
from cnn.i18n import N_, tr


@dataclass
class IdxFolder:
    """A folder holding the four IDX files (train/test images and labels)."""

    folder: Path
    label: str = N_("data directory")  # what kind of place this is, for people (translated)
    detail: str = ""
    network: bool = False

    def describe(self) -> str:
        return Said(N_("{place} {path}"), place=Said(self.label), path=shown(self.folder))

    def ready(self) -> bool:
        return idx_dir_ready(self.folder)

    def load(self, progress: Progress | None, timeout: float) -> Loaded:
        train, test = load_idx_dir(self.folder)
        return Loaded(train, test, self.describe())


@dataclass
class KerasIdxDownload:
    """Download the four IDX files Keras' `fashion_mnist.load_data` uses, into its cache."""

    folder: Path  # Keras' cache folder for the dataset
    base_url_key: str  # key of `download.URLS` holding the base address
    detail: str = ""
    network: bool = True

    def describe(self) -> str:
        return Said(N_("Keras download (needs internet)"))

    def ready(self) -> bool:
        return False

    def load(self, progress: Progress | None, timeout: float) -> Loaded:
        base = fetch.URLS[self.base_url_key]
        for pair in MNIST_FILES.values():
            for name in pair:
                dest = self.folder / name
                if not dest.is_file():
                    fetch.download(
                        base + name, dest, timeout=timeout, progress=progress, verify=read_idx
                    )
        train, test = load_idx_dir(self.folder)
        return Loaded(train, test, Said(N_("Keras download")))


@dataclass
class KerasNpz:
    """Keras' cached mnist.npz, downloaded (with its pinned checksum) when `network`."""

    path: Path
    network: bool = False
    detail: str = N_("The full 70,000 digits.")

    def describe(self) -> str:
        if self.network:
            return Said(N_("Keras download (needs internet)"))
        return Said(N_("Keras cache {path}"), path=shown(self.path))

    def ready(self) -> bool:
        return not self.network and self.path.is_file()

    def load(self, progress: Progress | None, timeout: float) -> Loaded:
        if self.network:
            report(progress, None, tr("Downloading {file}").format(file="mnist.npz"))
            fetch.download(
                fetch.URLS["mnist"],
                self.path,
                timeout=timeout,
                progress=progress,
                sha256=fetch.MNIST_NPZ_SHA256,
            )
        try:
            with np.load(self.path, allow_pickle=False) as f:
                train = Split(labels=f["y_train"].astype(np.int64), images=f["x_train"][..., None])
                test = Split(labels=f["y_test"].astype(np.int64), images=f["x_test"][..., None])
        except (OSError, ValueError, KeyError) as e:
            raise DatasetError(
                tr("The cached {file} cannot be read ({reason}).").format(
                    file=self.path.name, reason=e
                )
            ) from e
        source = Said(N_("Keras download ({file})"), file="mnist.npz")
        source = source if self.network else self.describe()
        return Loaded(train, test, source)
