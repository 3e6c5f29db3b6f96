"""Cats vs dogs: the TensorFlow tutorial's subset, from the data directory or its public zip."""

from __future__ import annotations

from pathlib import Path

from cnn.datasets.folders import image_folder_root, scan_classes
from cnn.datasets.info import DatasetInfo
from cnn.datasets.said import Said
from cnn.datasets.sources import Loaded, Where
from cnn.datasets.sources.photo_sources import photo_sources
from cnn.errors import DatasetError
from cnn.i18n import N_, tr

INFO = DatasetInfo(
    "cats_vs_dogs",
    "Cats vs dogs",
    N_("3,000 colour photos of cats and dogs of all sizes (the TensorFlow tutorial subset)."),
    ("cats", "dogs"),
    (128, 128),
    3,
    "photos",
)


def complete(folder: Path) -> bool:
    """train/ and validation/, each with cats/ and dogs/."""
    return all((folder / s / c).is_dir() for s in ("train", "validation") for c in INFO.class_names)


def scan(folder: Path) -> Loaded:
    """train/ is the training split, validation/ the test split."""
    train, skipped_train = scan_classes(folder / "train", INFO.class_names)
    test, skipped_test = scan_classes(folder / "validation", INFO.class_names)
    return Loaded(
        train,
        test,
        "",
        Said(N_("test split = the {folder}/ folder"), folder="validation"),
        skipped_train + skipped_test,
    )


def arrange(extracted: Path, staging: Path) -> Path:
    """cats_and_dogs_filtered.zip wraps its train/ and validation/ in one folder."""
    root = image_folder_root(extracted)
    if not complete(root):
        raise DatasetError(tr("The cats vs dogs archive lacks train/ and validation/ folders."))
    return root


def sources(where: Where) -> list:
    """The data directory, then the tutorial's zip."""
    return photo_sources(where.root / INFO.key, INFO.key, complete, scan, arrange)


def how_to_get(where: Where) -> str:
    """How a person gets it."""
    return tr(
        "allow the download, or put train/ and validation/ in cats_vs_dogs/ of the data folder"
    )
