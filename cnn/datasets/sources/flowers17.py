"""Oxford Flowers-17: the data directory (one folder per class) or Oxford VGG's 17flowers.tgz."""

from __future__ import annotations

import os
from pathlib import Path

from cnn.datasets.folders import scan_classes
from cnn.datasets.info import DatasetInfo
from cnn.datasets.sources import Loaded, Where
from cnn.datasets.sources.photo_sources import photo_sources
from cnn.datasets.splits import holdout_detail, holdout_split
from cnn.errors import DatasetError
from cnn.i18n import N_, number, tr

PER_CLASS = 80  # 17flowers.tgz: 80 consecutive images per class
CLASSES = (  # the class order of the original Oxford release
    "daffodil",
    "snowdrop",
    "lily_valley",
    "bluebell",
    "crocus",
    "iris",
    "tigerlily",
    "tulip",
    "fritillary",
    "sunflower",
    "daisy",
    "colts_foot",
    "dandelion",
    "cowslip",
    "buttercup",
    "windflower",
    "pansy",
)

INFO = DatasetInfo(
    "flowers17",
    "Oxford flowers (17 kinds)",
    N_("Colour photos of 17 kinds of common British flowers, 80 per kind in the full set."),
    CLASSES,
    (128, 128),
    3,
    "photos",
)


def complete(folder: Path) -> bool:
    """One folder per class."""
    return all((folder / c).is_dir() for c in CLASSES)


def scan(folder: Path) -> Loaded:
    """All images, then the fixed 20% of every class as the test split."""
    everything, skipped = scan_classes(folder, CLASSES)
    train, test = holdout_split(everything)
    return Loaded(train, test, "", holdout_detail(), skipped)


def arrange(extracted: Path, staging: Path) -> Path:
    """The archive's flat jpg/ folder: 80 consecutive images per class, in release order."""
    images = sorted(extracted.rglob("image_*.jpg"))
    expected = PER_CLASS * len(CLASSES)
    if len(images) != expected:
        raise DatasetError(
            tr(
                "17flowers.tgz holds {count} images instead of {expected}; it cannot be sorted "
                "into classes."
            ).format(count=number(len(images)), expected=number(expected))
        )
    arranged = staging / "flowers17"
    for index, image in enumerate(images):
        folder = arranged / CLASSES[index // PER_CLASS]
        folder.mkdir(parents=True, exist_ok=True)
        os.replace(image, folder / image.name)
    return arranged


def sources(where: Where) -> list:
    """The data directory, then Oxford's archive."""
    return photo_sources(where.root / INFO.key, INFO.key, complete, scan, arrange)


def how_to_get(where: Where) -> str:
    """How a person gets it."""
    return tr("allow the download, or put one folder per kind in flowers17/ of the data folder")
