"""IDX files, the format MNIST and Fashion-MNIST ship in (optionally gzip-compressed)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from cnn.datasets.splits import Split
from cnn.errors import DatasetError
from cnn.i18n import tr

MNIST_FILES = {  # split -> (images, labels): the official IDX file names
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (gzip-compressed or not) of unsigned bytes into an array.

    Args:
        path: An IDX file such as ``train-images-idx3-ubyte.gz``.

    Returns:
        uint8 array shaped by the file's dimensions, e.g. (60000, 28, 28).

    Raises:
        DatasetError: The file is missing, truncated or not a uint8 IDX file.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DatasetError(
            tr("Could not read the IDX file {file} ({reason}).").format(file=path.name, reason=e)
        ) from e
    if len(raw) < 4 or raw[0:2] != b"\0\0" or raw[2] != 0x08:
        raise DatasetError(
            tr("{file} is not an IDX file of unsigned bytes.").format(file=path.name)
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    if len(raw) - header != int(np.prod(dims)):
        raise DatasetError(
            tr("{file} is truncated: its header promises {dims} values.").format(
                file=path.name, dims=dims
            )
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def find_idx(folder: Path, name: str) -> Path | None:
    """The IDX file `name` in `folder`, gzip-compressed or not."""
    for candidate in (folder / name, folder / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def idx_dir_ready(folder: Path) -> bool:
    """Whether `folder` holds the four IDX files of an MNIST-style dataset."""
    return all(find_idx(folder, n) for pair in MNIST_FILES.values() for n in pair)


def load_idx_dir(folder: Path) -> tuple[Split, Split]:
    """Load the four IDX files of an MNIST-style folder into train and test splits."""
    splits = []
    for images_name, labels_name in MNIST_FILES.values():
        images = read_idx(find_idx(folder, images_name))
        labels = read_idx(find_idx(folder, labels_name)).astype(np.int64)
        if images.ndim != 3 or len(images) != len(labels):
            raise DatasetError(
                tr("The IDX files in {folder}/ do not match each other.").format(folder=folder.name)
            )
        splits.append(Split(labels=labels, images=images[..., None]))
    return splits[0], splits[1]
