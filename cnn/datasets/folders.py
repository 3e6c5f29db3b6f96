"""Folders of class subfolders: scanning them into splits, with or without train/ and test/."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from cnn.datasets.said import Said
from cnn.datasets.splits import Split, holdout_detail, holdout_split
from cnn.errors import DatasetError
from cnn.i18n import N_, number, tr, trn

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")  # what the loaders read


def image_ok(path: Path) -> bool:
    """Whether `path` is an image that can be decoded (cheap header check with Pillow)."""
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


def class_dirs(root: Path) -> list[Path]:
    """The visible subfolders of `root`, sorted by name."""
    with os.scandir(root) as it:
        return [Path(e.path) for e in _visible(it) if e.is_dir()]


def scan_classes(root: Path, class_names: Sequence[str]) -> tuple[Split, int]:
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
            raise DatasetError(
                tr("The class folder '{name}' is missing from {root}/.").format(
                    name=name, root=root.name
                )
            )
        with os.scandir(folder) as it:
            files = [Path(e.path) for e in _visible(it) if e.is_file()]
        good = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS and image_ok(p)]
        skipped += len(files) - len(good)
        if not good:
            empty.append(name)
        paths += [str(p) for p in good]
        labels += [index] * len(good)
    if not paths:
        raise DatasetError(
            tr("No readable images were found in the class folders of {root}/.").format(
                root=root.name
            )
        )
    if empty:
        names = ", ".join(f"'{n}'" for n in empty)
        raise DatasetError(
            trn(
                "No readable image in the class folder {names} of {root}/.",
                "No readable image in the class folders {names} of {root}/.",
                len(empty),
            ).format(names=names, root=root.name)
        )
    return Split(labels=np.array(labels, dtype=np.int64), paths=np.array(paths, dtype=str)), skipped


def image_folder_root(root: Path) -> Path:
    """Step into a single wrapping folder (as zips often have) until class folders appear."""
    while True:
        with os.scandir(root) as it:
            entries = _visible(it)
        if len(entries) == 1 and entries[0].is_dir():
            root = Path(entries[0].path)
        else:
            return root


def given_splits(root: Path) -> tuple[Path, Path] | None:
    """(train, test) folders when `root` has train/ and test/ (or validation/), else None."""
    sub = {p.name.lower(): p for p in class_dirs(root)}
    test_dir = sub.get("test") or sub.get("validation")
    return (sub["train"], test_dir) if "train" in sub and test_dir is not None else None


def folder_class_names(root: Path) -> list[str]:
    """The class names of an image folder (its train/ folder's when it has one)."""
    root = image_folder_root(root)
    given = given_splits(root)
    return [p.name for p in class_dirs(root if given is None else given[0])]


def load_image_folder(root: Path) -> tuple[list[str], Split, Split, int, str]:
    """Load a folder of class subfolders, with or without train/ and test/ (or validation/).

    Returns:
        (class names, train, test, skipped files, how the test split was made).
    """
    root = image_folder_root(root)
    given = given_splits(root)
    if given is not None:
        train_dir, test_dir = given
        class_names = [p.name for p in class_dirs(train_dir)]
        check_class_count(len(class_names))
        train, skipped_train = scan_classes(train_dir, class_names)
        test, skipped_test = scan_classes(test_dir, class_names)
        how = Said(N_("test split = the {folder}/ folder"), folder=test_dir.name)
        return class_names, train, test, skipped_train + skipped_test, how
    class_names = [p.name for p in class_dirs(root)]
    check_class_count(len(class_names))
    everything, skipped = scan_classes(root, class_names)
    train, test = holdout_split(everything)
    return class_names, train, test, skipped, holdout_detail()


def check_class_count(count: int) -> None:
    """Refuse a dataset of fewer than two classes with a sentence."""
    if count < 2:
        raise DatasetError(
            tr(
                "A dataset needs at least 2 class subfolders of images; this one has {count}."
            ).format(count=number(count))
        )
