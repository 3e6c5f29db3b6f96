"""Fashion-MNIST: the data directory, Debian's package, Keras' cache, then Keras' download."""

from __future__ import annotations

from pathlib import Path

from cnn.datasets.info import DatasetInfo, keras_datasets_dir
from cnn.datasets.sources import Where
from cnn.datasets.sources.idx_sources import IdxFolder, KerasIdxDownload
from cnn.i18n import N_, tr
from cnn.settings import DATA_DIR_ENV

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist
FULL = N_("The full 70,000 images.")
CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

INFO = DatasetInfo(
    "fashion_mnist",
    "Fashion-MNIST",
    N_("70,000 28x28 grayscale photos of clothes and shoes from Zalando, in 10 classes."),
    CLASSES,
    (28, 28),
    1,
    "grayscale",
)


def sources(where: Where) -> list:
    """Two spellings in the data directory, Debian's package, Keras' cache, Keras' download."""
    cache = keras_datasets_dir() / "fashion-mnist"
    return [
        IdxFolder(where.root / "fashion-mnist", detail=FULL),
        IdxFolder(where.root / "fashion_mnist", detail=FULL),
        IdxFolder(SYSTEM_DIR, N_("Debian package dataset-fashion-mnist"), FULL),
        IdxFolder(cache, N_("Keras cache"), FULL),
        KerasIdxDownload(cache, "fashion_mnist"),
    ]


def how_to_get(where: Where) -> str:
    """How a person gets it offline."""
    return tr(
        "set {variable} to a folder holding fashion-mnist/, run `apt install "
        "dataset-fashion-mnist`, or connect to the internet"
    ).format(variable=DATA_DIR_ENV)
