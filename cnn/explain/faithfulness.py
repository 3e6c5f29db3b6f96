"""How faithful a saliency map is, measured two ways.

- The deletion test (Petsiuk et al. 2018): remove the input's pixels in the map's order,
  highest first, in `STEPS` equal steps; removed pixels become the background (black for
  digits and grayscale items, the image blurred away for photos: `saliency.background`). The
  probability of the class the model predicted falls; the area under that curve over the
  fraction removed (trapezoid rule) is small when the map put first what the model needed.
  The same is done in a few random orders: a faithful map's area is well below theirs.
- The model-randomisation check (Adebayo et al. 2018): the same method on the same
  architecture with every weight re-initialised (seeded); the Spearman rank correlation
  between the two maps is high when the method draws the input rather than the model.

Example:
    >>> test = deletion(model, images, maps, kind="digits")
    >>> test.ratio, test.share_beating
    >>> randomisation(model, images, "occlusion", kind="digits").mean
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from scipy import stats

from cnn.explain.saliency import background, engine, saliency, with_classes

STEPS = 20  # deletion steps: 5% of the pixels each
RANDOM_ORDERS = 3  # random orders the map is compared with, per image


@dataclass(repr=False)
class Deletion:
    """The deletion test of one set of maps.

    Attributes:
        fractions: float (steps + 1,) share of pixels removed, 0 to 1.
        curves: float (n, steps + 1) the class probability after each step, in the map's order.
        random_curves: float (n, orders, steps + 1) the same in random orders.
        auc: float (n,) area under each map's curve.
        random_auc: float (n,) mean area over the random orders, per image.
    """

    fractions: np.ndarray
    curves: np.ndarray
    random_curves: np.ndarray
    auc: np.ndarray
    random_auc: np.ndarray

    @property
    def ratio(self) -> float:
        """Mean area of the maps' curves over the random orders' mean area (lower = better)."""
        return float(self.auc.mean() / max(self.random_auc.mean(), 1e-12))

    @property
    def beating(self) -> np.ndarray:
        """bool (n,): whether the map's curve has less area than the random orders'."""
        return self.auc < self.random_auc

    @property
    def share_beating(self) -> float:
        """Share of images whose map beats the random orders."""
        return float(self.beating.mean())

    def __repr__(self) -> str:
        return (
            f"Deletion(n={len(self.auc)}, ratio={self.ratio:.3f}, beating={self.share_beating:.0%})"
        )


def order_of(heat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pixel indices of one map (h, w), highest first; equal values in random order."""
    flat = np.asarray(heat, np.float64).ravel()
    return np.lexsort((rng.random(flat.size), -flat))


def deletion_curve(
    model: keras.Model, image: np.ndarray, ground: np.ndarray, order: np.ndarray, target: int,
    steps: int = STEPS,
) -> np.ndarray:  # fmt: skip
    """The target's probability (steps + 1,) as the pixels in `order` become `ground`."""
    h, w = image.shape[:2]
    rank = np.empty(h * w, np.int64)
    rank[order] = np.arange(h * w)
    counts = np.round(np.linspace(0, h * w, steps + 1)).astype(np.int64)
    removed = (rank[None, :] < counts[:, None]).reshape(steps + 1, h, w, 1)
    batch = np.where(removed, ground[None], image[None]).astype(np.float32)
    return engine(model).class_probabilities(batch, np.full(steps + 1, target))


def deletion(
    model: keras.Model,
    images: np.ndarray,
    maps: np.ndarray,
    classes: np.ndarray | None = None,
    kind: str = "digits",
    steps: int = STEPS,
    random_orders: int = RANDOM_ORDERS,
    seed: int = 0,
) -> Deletion:
    """The deletion test of `maps` (n, h, w) against `random_orders` random orders per image.

    Args:
        model: the classifier the maps explain.
        images: float32 (n, h, w, c) in [0, 1].
        maps: (n, h, w), higher = removed first.
        classes: the class watched per image; None: each image's top class.
        kind: the run's kind of images, which decides the background.
        steps: removal steps (the curve has steps + 1 points).
        random_orders: random orders per image; their areas are averaged.
        seed: seeds the random orders and the breaking of ties.
    """
    images, classes = with_classes(model, images, classes)
    grounds = background(images, kind)
    rng = np.random.default_rng(seed)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    curves, random_curves = [], []
    for image, ground, heat, target in zip(images, grounds, maps, classes, strict=True):
        curves.append(deletion_curve(model, image, ground, order_of(heat, rng), target, steps))
        random_curves.append(
            [
                deletion_curve(model, image, ground, rng.permutation(heat.size), target, steps)
                for _ in range(random_orders)
            ]
        )
    curves, random_curves = np.array(curves), np.array(random_curves)
    auc = np.trapezoid(curves, fractions, axis=-1)
    random_auc = np.trapezoid(random_curves, fractions, axis=-1).mean(axis=1)
    return Deletion(fractions, curves, random_curves, auc, random_auc)


def randomised_model(model: keras.Model, seed: int = 0) -> keras.Model:
    """The same architecture with every layer's weights freshly initialised (seeded):
    `keras.models.clone_model` rebuilds the layers from their configs with new weights."""
    keras.utils.set_random_seed(seed)
    clone = keras.models.clone_model(model)
    if not clone.built:
        clone.build(model.inputs[0].shape)
    return clone


def rank_correlations(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Spearman rank correlation (n,) between paired maps (n, h, w); a constant map, which
    has no order to correlate, counts as 0."""
    values = []
    for a, b in zip(first, second, strict=True):
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            values.append(0.0)
            continue
        values.append(float(stats.spearmanr(a.ravel(), b.ravel()).statistic))
    return np.array(values)


@dataclass(repr=False)
class Randomisation:
    """The model-randomisation check of one method.

    Attributes:
        correlations: float (n,) Spearman correlation between each image's two maps.
        maps: the trained model's maps (n, h, w).
        random_maps: the re-initialised model's maps (n, h, w).
    """

    correlations: np.ndarray
    maps: np.ndarray
    random_maps: np.ndarray

    @property
    def mean(self) -> float:
        """Mean correlation over the images (lower = the map depends more on the weights)."""
        return float(self.correlations.mean())

    def __repr__(self) -> str:
        return f"Randomisation(n={len(self.correlations)}, mean={self.mean:.3f})"


def randomisation(
    model: keras.Model,
    images: np.ndarray,
    method: str,
    seed: int = 0,
    maps: np.ndarray | None = None,
    classes: np.ndarray | None = None,
    kind: str = "digits",
    **params: Any,
) -> Randomisation:
    """The method's maps from the trained model and from `randomised_model(model, seed)`,
    with the same parameters and the same target classes, and their rank correlations.

    Args:
        maps: the trained model's maps when already computed (saves computing them again).
        params: the method's parameters (`saliency.saliency`).
    """
    images, classes = with_classes(model, images, classes)
    if maps is None:
        maps = saliency(model, images, method, classes, kind, **params)
    random_maps = saliency(randomised_model(model, seed), images, method, classes, kind, **params)
    return Randomisation(rank_correlations(maps, random_maps), maps, random_maps)
