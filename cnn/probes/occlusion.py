"""Occlusion sensitivity: cover one patch of the input at a time and see how much it hurts.

A grey square (Zeiler & Fergus, 2014) slides over the model input; every covered copy is
classified in ONE compiled call, and the drop of the class's probability at each place
becomes a map. Where covering hurts most is where the model looked, asked by experiment
rather than read from gradients as Grad-CAM does, so the two often disagree.

Example:
    >>> result = occlusion_map(inspector, steps.input)
    >>> result.heat.shape, result.worst
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn.errors import CnnError
from cnn.i18n import tr

GREY = 0.5  # the patch's value in [0, 1] input units
PATCH_FRACTION = 0.25  # default patch side, as a share of the input's shorter side
MAX_POSITIONS = 255  # patches per map, so the batch (with the original) fits 256


class OcclusionError(CnnError, ValueError):
    """A patch or stride that does not fit the input."""


@dataclass(repr=False)
class Occlusion:
    """What covering each part of the input did to one class's probability.

    Attributes:
        target: the class whose probability is watched.
        probability: its probability on the unchanged input.
        patch, stride: patch side and step, in input pixels.
        fill: the patch's value in [0, 1].
        tops, lefts: the patch positions along each axis (top-left corners).
        drops: float32 (rows, cols): probability lost with the patch at each position
            (negative: covering that place made the class more likely).
        heat: float32 (h, w): per pixel, the mean drop of the patches that covered it.
        labels: int (rows, cols): the predicted class with the patch at each position.
    """

    target: int
    probability: float
    patch: int
    stride: int
    fill: float
    tops: np.ndarray
    lefts: np.ndarray
    drops: np.ndarray
    heat: np.ndarray
    labels: np.ndarray

    @property
    def worst(self) -> tuple[int, int, float]:
        """(top, left, drop) of the patch position that hurt the class most."""
        r, c = np.unravel_index(int(self.drops.argmax()), self.drops.shape)
        return int(self.tops[r]), int(self.lefts[c]), float(self.drops[r, c])

    def __repr__(self) -> str:
        top, left, drop = self.worst
        return (
            f"Occlusion(target={self.target}, p={self.probability:.3f}, patch={self.patch}, "
            f"stride={self.stride}, grid={self.drops.shape}, worst=({top}, {left}) -{drop:.3f})"
        )


def _positions(side: int, patch: int, stride: int) -> np.ndarray:
    """Patch corners from 0 in steps of `stride`, the last one flush with the far edge."""
    starts = list(range(0, side - patch + 1, stride))
    if starts[-1] != side - patch:
        starts.append(side - patch)
    return np.array(starts)


def default_patch(image_shape: tuple[int, ...]) -> tuple[int, int]:
    """(patch, stride) for an input: a quarter of its side, moved half a patch at a time."""
    patch = max(2, round(min(image_shape[:2]) * PATCH_FRACTION))
    return patch, max(1, patch // 2)


def occlusion_map(
    inspector,
    image: np.ndarray,
    patch: int | None = None,
    stride: int | None = None,
    fill: float = GREY,
    target: int | None = None,
) -> Occlusion:
    """Slide a patch over the input and map the drop of a class's probability.

    Args:
        inspector: a `cnn.inspect.Inspector` (anything with `.probabilities(batch)`).
        image: float32 (h, w, c) in [0, 1], exactly what the model gets.
        patch: side of the square patch in pixels; default a quarter of the input.
        stride: pixels between patch positions; default half the patch.
        fill: the patch's value (0.5 grey; 0 is black, the background of digits).
        target: the class to watch; default the top class of the unchanged input.

    Returns:
        An Occlusion.

    Raises:
        OcclusionError: the patch is larger than the input, or too many positions.
    """
    image = np.asarray(image, np.float32)
    h, w = image.shape[:2]
    default, default_stride = default_patch(image.shape)
    patch = patch or default
    stride = stride or default_stride
    if not 1 <= patch <= min(h, w) or stride < 1:
        raise OcclusionError(
            tr("The patch must be 1 to {n} pixels and the stride at least 1.").format(n=min(h, w))
        )
    tops, lefts = _positions(h, patch, stride), _positions(w, patch, stride)
    if len(tops) * len(lefts) > MAX_POSITIONS:
        raise OcclusionError(tr("That many patch positions would be slow: use a larger stride."))

    # the unchanged input first, then one covered copy per position: one compiled call
    batch = np.repeat(image[None], 1 + len(tops) * len(lefts), axis=0)
    corners = [(t, left) for t in tops for left in lefts]
    for i, (t, left) in enumerate(corners, start=1):
        batch[i, t : t + patch, left : left + patch] = fill
    probabilities = inspector.probabilities(batch)
    target = int(probabilities[0].argmax()) if target is None else int(target)
    base = float(probabilities[0, target])
    drops = (base - probabilities[1:, target]).reshape(len(tops), len(lefts))

    # each pixel: the mean drop of the patches that covered it
    total = np.zeros((h, w), np.float64)
    count = np.zeros((h, w), np.float64)
    for (t, left), drop in zip(corners, drops.ravel(), strict=True):
        total[t : t + patch, left : left + patch] += drop
        count[t : t + patch, left : left + patch] += 1
    heat = (total / np.maximum(count, 1)).astype(np.float32)
    labels = probabilities[1:].argmax(axis=1).reshape(drops.shape)
    return Occlusion(target, base, patch, stride, fill, tops, lefts, drops.astype(np.float32),
                     heat, labels)  # fmt: skip
