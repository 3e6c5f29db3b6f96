"""What a dataset is (`DatasetInfo`), whether it can be loaded now (`Availability`), and the
one vocabulary for kinds of images (`KINDS`).

A kind says what the images are ("digits", "grayscale", "photos"); the same word names the
preprocessing method a run records (`cnn.preprocess.METHODS`) and picks the training
augmentation and the classroom presets. Runs recorded before the two vocabularies were one
named their method otherwise: `RENAMED_METHODS` reads those.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cnn import settings


@dataclass(frozen=True)
class ImageKind:
    """A kind of image and how every part of the engine treats it.

    Attributes:
        key: "digits", "grayscale" or "photos"; also the augmentation's name and the
            `cnn.preprocess` method a run of this kind records.
        description: one phrase for people.
    """

    key: str
    description: str


KINDS: dict[str, ImageKind] = {
    k.key: k
    for k in (
        ImageKind("digits", "handwritten digits, white ink on black"),
        ImageKind("grayscale", "light objects on a black background"),
        ImageKind("photos", "colour photos"),
    )
}
# the methods runs recorded before the methods took the kinds' names
RENAMED_METHODS = {"mnist_digit": "digits", "grayscale_item": "grayscale", "photo": "photos"}


def kind_of_method(method: str) -> ImageKind | None:
    """The kind whose runs record preprocessing `method` (an old name too), or None."""
    return KINDS.get(RENAMED_METHODS.get(method, method))


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is, independent of where its files come from.

    Attributes:
        key: Registry key.
        title: Name shown to people.
        description: One or two sentences about the images.
        class_names: Class names in label order (empty for "folder": they come from the data).
        image_size: Default model input (height, width).
        channels: 1 for grayscale, 3 for colour.
        kind: a key of `KINDS` ("digits", "grayscale" or "photos").
    """

    key: str
    title: str
    description: str
    class_names: tuple[str, ...]
    image_size: tuple[int, int]
    channels: int
    kind: str

    @property
    def method(self) -> str:
        """The preprocessing method runs on this dataset record: its kind."""
        return self.kind


@dataclass
class Availability:
    """Whether a dataset can be loaded right now without a network, and from where."""

    key: str
    title: str
    classes: int
    available: bool
    source: str
    detail: str


def data_dir() -> Path:
    """Return the data directory: $CNN_DATA_DIR, or ~/.cnn_lab/data when it is not set."""
    return settings.current().data_dir


def keras_datasets_dir() -> Path:
    """Where Keras caches downloaded datasets (same rule as keras.utils.get_file)."""
    return settings.current().keras_home / "datasets"
