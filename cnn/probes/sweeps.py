"""Invariance sweeps: change the model input step by step and watch the probabilities.

A sweep takes the model input the preprocessing produced (float32 (h, w, c) in [0, 1]),
makes one copy per value of a transform (shift, rotation, scale, stroke thickness,
brightness, contrast, noise, blur) and classifies every copy in ONE compiled call
(`Inspector.probabilities`). Every list of values holds the identity (0 px, 0 degrees,
scale 1...), whose probabilities are the ones Predict shows.

The transforms are OpenCV's (warpAffine, erode/dilate, GaussianBlur); the noise pattern is
one fixed Gaussian draw, scaled. Outside the image, digits and grayscale items are filled
with black (their background, as in their training augmentation); photos are mirrored at
the edge, as Keras' augmentation layers do by default.

Example:
    >>> result = run_sweep(inspector, steps.input, "shift_x", "digits")
    >>> result.values, result.labels, result.flip()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from cnn.errors import CnnError
from cnn.i18n import N_, tr

REFERENCE_SIDE = 28  # shifts and blurs are set for 28 px inputs and scaled with the side
NOISE_SEED = 0  # one fixed noise pattern, so neighbouring noise levels differ only in size
PHOTO_BORDER = cv2.BORDER_REFLECT  # Keras' fill_mode="reflect", the photo augmentation's
DARK_BORDER = cv2.BORDER_CONSTANT  # black, the background of digits and grayscale items


class SweepError(CnnError, ValueError):
    """A sweep that does not exist or does not apply to this kind of model."""


@dataclass(frozen=True)
class Sweep:
    """One way of changing an input, with the amounts tried.

    Attributes:
        name: key ("shift_x").
        title: what a student reads ("Shift right (+) or left (-)").
        unit: unit of the values ("px", "degrees", "x").
        identity: the value that leaves the input unchanged.
        explanation: one sentence saying what the transform does.
    """

    name: str
    title: str
    unit: str
    identity: float
    explanation: str
    _values: Callable[[int], np.ndarray]
    _apply: Callable[[np.ndarray, float, int], np.ndarray]

    def values(self, side: int) -> np.ndarray:
        """The amounts tried for an input whose shorter side is `side` px (identity included)."""
        return self._values(side)

    def apply(self, image: np.ndarray, value: float, border: int = DARK_BORDER) -> np.ndarray:
        """`image` (float32 (h, w, c) in [0, 1]) changed by `value`, same shape, in [0, 1]."""
        if value == self.identity:
            return image.copy()
        changed = self._apply(image.astype(np.float32), float(value), border)
        return np.clip(changed.reshape(image.shape), 0.0, 1.0).astype(np.float32)


def _turns(side: int) -> np.ndarray:
    """Full turns both ways: 10 degree steps, 15 on inputs over 32 px (a batch of 25, not 37)."""
    step = 10 if side <= 32 else 15
    return np.arange(-180, 181, step).astype(float)


def _symmetric(step: float, count: int) -> Callable[[int], np.ndarray]:
    """-count*step .. +count*step (0 included exactly)."""
    return lambda _side: np.round(np.arange(-count, count + 1) * step, 6)


def _pixels(count: int) -> Callable[[int], np.ndarray]:
    """Whole-pixel shifts, 1 px apart at 28 px, wider apart on larger inputs."""
    return lambda side: np.arange(-count, count + 1) * max(1, round(side / REFERENCE_SIDE))


def _from(start: float, stop: float, step: float) -> Callable[[int], np.ndarray]:
    return lambda _side: np.round(np.arange(round((stop - start) / step) + 1) * step + start, 6)


def _warp(image: np.ndarray, matrix: np.ndarray, border: int) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.warpAffine(
        image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=0
    )


def _centre(image: np.ndarray) -> tuple[float, float]:
    # pixel centres run from 0 to side-1: turning about their middle keeps mirror symmetry
    h, w = image.shape[:2]
    return (w - 1) / 2, (h - 1) / 2


def _shift(dx: int, dy: int) -> Callable[[np.ndarray, float, int], np.ndarray]:
    def apply(image, value, border):
        matrix = np.float32([[1, 0, dx * value], [0, 1, dy * value]])
        return _warp(image, matrix, border)

    return apply


def _rotate(image, degrees, border):
    return _warp(image, cv2.getRotationMatrix2D(_centre(image), degrees, 1.0), border)


def _scale(image, factor, border):
    return _warp(image, cv2.getRotationMatrix2D(_centre(image), 0.0, factor), border)


def _thickness(image, steps, _border):
    # +n: n dilations with a 3x3 cross (strokes 2 px wider each), -n: n erosions
    kernel = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    morph = cv2.dilate if steps > 0 else cv2.erode
    return morph(image, kernel, iterations=int(abs(steps)))


def _brightness(image, delta, _border):
    return image + delta


def _contrast(image, factor, _border):
    # as tf.image.adjust_contrast: each channel's distance from its mean, times the factor
    mean = image.mean(axis=(0, 1), keepdims=True)
    return (image - mean) * factor + mean


def _noise(image, sigma, _border):
    pattern = np.random.default_rng(NOISE_SEED).standard_normal(image.shape, dtype=np.float32)
    return image + sigma * pattern


def _blur(image, sigma, border):
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, borderType=border)


def _blur_values(side: int) -> np.ndarray:
    return np.round(np.arange(13) * 0.25 * max(1.0, side / REFERENCE_SIDE), 3)


SWEEPS: dict[str, Sweep] = {
    s.name: s
    for s in [
        Sweep("shift_x", N_("Shift right (+) or left (-)"), "px", 0,
              N_("Moves the picture sideways; what leaves one edge is filled in at the other."),
              _pixels(8), _shift(1, 0)),
        Sweep("shift_y", N_("Shift down (+) or up (-)"), "px", 0,
              N_("Moves the picture up or down."), _pixels(8), _shift(0, 1)),
        Sweep("rotation", N_("Rotate anticlockwise (+) or clockwise (-)"), N_("degrees"), 0,
              N_("Turns the picture about its centre."), _turns, _rotate),
        Sweep("scale", N_("Scale (zoom out < 1 < zoom in)"), "x", 1,
              N_("Shrinks or enlarges the picture about its centre."), _from(0.5, 1.6, 0.1),
              _scale),
        Sweep("thickness", N_("Stroke thickness (thinner - / thicker +)"), N_("steps"), 0,
              N_("Thins (erodes) or thickens (dilates) the strokes, about 1 px per side a step."),
              _symmetric(1, 3), _thickness),
        Sweep("brightness", N_("Brightness (darker - / brighter +)"), N_("added"), 0,
              N_("Adds the same amount to every pixel."), _symmetric(0.1, 5), _brightness),
        Sweep("contrast", N_("Contrast (flat < 1 < strong)"), "x", 1,
              N_("Stretches every pixel's distance from the average colour."),
              _from(0.0, 2.0, 0.2), _contrast),
        Sweep("noise", N_("Random noise (strength)"), "std", 0,
              N_("Adds the same random speckle pattern, stronger and stronger."),
              _from(0.0, 0.6, 0.05), _noise),
        Sweep("blur", N_("Blur (Gaussian, sigma in px)"), "px", 0,
              N_("Averages each pixel with its neighbours, wider and wider."), _blur_values,
              _blur),
    ]
}  # fmt: skip

# Which sweeps suit which preprocessing method (a run's record names it)
FOR_METHOD = {
    "digits": ("shift_x", "shift_y", "rotation", "scale", "thickness", "noise", "blur"),
    "grayscale": (
        "shift_x", "shift_y", "rotation", "scale", "brightness", "contrast", "noise", "blur",
    ),
    "photos": (
        "shift_x", "shift_y", "rotation", "scale", "brightness", "contrast", "noise", "blur",
    ),
}  # fmt: skip


def sweeps_for(method: str) -> list[Sweep]:
    """The sweeps that make sense for a preprocessing method ("digits", "photos"...)."""
    if method not in FOR_METHOD:
        raise SweepError(
            tr("No sweeps are defined for preprocessing method {method}.").format(
                method=repr(method)
            )
        )
    return [SWEEPS[name] for name in FOR_METHOD[method]]


def border_for(method: str) -> int:
    """How a method's inputs are filled outside the picture: black, or mirrored (photos)."""
    return PHOTO_BORDER if method == "photos" else DARK_BORDER


@dataclass(repr=False)
class SweepResult:
    """Every transformed input of a sweep and what the model said about each.

    Attributes:
        sweep: the transform.
        values: the amounts, ascending, identity included.
        inputs: float32 (n, h, w, c), the transformed model inputs.
        probabilities: float32 (n, k), one row per value.
    """

    sweep: Sweep
    values: np.ndarray
    inputs: np.ndarray
    probabilities: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        """The predicted class at every value."""
        return self.probabilities.argmax(axis=1)

    @property
    def identity_index(self) -> int:
        """Position of the unchanged input among the values."""
        return int(np.flatnonzero(self.values == self.sweep.identity)[0])

    def flip(self) -> tuple[float | None, float | None]:
        """The values nearest the identity, below and above it, whose label differs from the
        unchanged input's; None on a side where the label never changes."""
        i, labels = self.identity_index, self.labels
        changed = np.flatnonzero(labels != labels[i])
        below, above = changed[changed < i], changed[changed > i]
        return (
            float(self.values[below[-1]]) if len(below) else None,
            float(self.values[above[0]]) if len(above) else None,
        )

    def __repr__(self) -> str:
        return (
            f"SweepResult({self.sweep.name}, values={self.values.tolist()}, "
            f"labels={self.labels.tolist()}, flip={self.flip()})"
        )


def transformed(image: np.ndarray, sweep: Sweep, values, border: int) -> np.ndarray:
    """float32 (n, h, w, c): `image` changed by each of `values`."""
    return np.stack([sweep.apply(image, v, border) for v in values])


def run_sweep(inspector, image: np.ndarray, name: str, method: str, values=None) -> SweepResult:
    """Apply a sweep to one model input and classify every copy in one compiled call.

    Args:
        inspector: a `cnn.inspect.Inspector` (anything with `.probabilities(batch)`).
        image: float32 (h, w, c) in [0, 1], exactly what the model gets.
        name: a key of SWEEPS.
        method: the run's preprocessing method (picks the fill outside the picture).
        values: amounts to try; default the sweep's own. The identity is always added.

    Returns:
        A SweepResult.

    Raises:
        SweepError: an unknown sweep, or one that does not suit this method.
    """
    if name not in {s.name for s in sweeps_for(method)}:
        raise SweepError(
            tr("There is no {name} sweep for this model: choose one of {names}.").format(
                name=repr(name), names=", ".join(FOR_METHOD[method])
            )
        )
    sweep = SWEEPS[name]
    image = np.asarray(image, np.float32)
    chosen = sweep.values(min(image.shape[:2])) if values is None else np.asarray(values, float)
    chosen = np.union1d(chosen, [sweep.identity])  # sorted, identity once
    inputs = transformed(image, sweep, chosen, border_for(method))
    return SweepResult(sweep, chosen, inputs, inspector.probabilities(inputs))
