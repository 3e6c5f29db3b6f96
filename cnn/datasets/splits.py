"""Labelled images (`Split`), a loaded dataset (`Dataset`), and ways to cut splits.

Small grayscale sets are held as uint8 arrays; photo sets as file paths decoded when needed.
Every cut is stratified and seeded, so the same seed always picks the same images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cnn.datasets.info import DatasetInfo
from cnn.datasets.said import Said, Share
from cnn.errors import DatasetError
from cnn.i18n import N_, number, tr

TEST_FRACTION = 0.2  # share of each class held out as the test split when none is given
SPLIT_SEED = 0  # fixed seed: the same images are always the test split
HOLDOUT_DETAIL = f"test split = a fixed {TEST_FRACTION:.0%} of every class (seed {SPLIT_SEED})"


def holdout_detail() -> str:
    """HOLDOUT_DETAIL, to be said in the reader's language (`said.now`)."""
    return Said(
        N_("test split = a fixed {share} of every class (seed {seed})"),
        share=Share(TEST_FRACTION),
        seed=str(SPLIT_SEED),
    )


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
        """Sample `i` as uint8 (h, w, c); path splits decode the file as the Predict page does
        (`cnn.preprocess.load_image`: EXIF orientation, RGB, full size)."""
        if self.images is not None:
            return self.images[i]
        from cnn.preprocess import load_image

        return load_image(str(self.paths[i]))


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
            tr("A validation fraction of {fraction} does not split {count} samples in two.").format(
                fraction=number(fraction), count=number(len(split))
            )
        )
    order = _stratified_order(split.labels, seed)
    return split.take(np.sort(order[n_val:])), split.take(np.sort(order[:n_val]))


def holdout_split(split: Split) -> tuple[Split, Split]:
    """The fixed train/test split used when a dataset ships without a test split."""
    mask = _holdout_mask(split.labels, TEST_FRACTION, SPLIT_SEED)
    return split.take(np.flatnonzero(~mask)), split.take(np.flatnonzero(mask))
