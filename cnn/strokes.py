"""A drawing's pen strokes, redrawn at the width MNIST's writers used.

The Predict canvas sends each stroke's path (the points the pointer went through) beside
its picture. A digit drawn with a 40 px brush on a small digit fills its own loops: an 8
becomes a blob, a 6 a 0, and no later step can open them again (thinning the picture
cannot tell a filled loop from a thick stroke). The path can: it is redrawn with a round
pen STROKE_FRACTION as wide as the digit's longer side, so that after scaling to MNIST's
20 px box every drawing has MNIST's ~2-3 px strokes, whatever brush the student chose.

`redraw` does that; `check` turns the browser's value into paths, refusing anything that is
not a plausible list of points (the value comes from the browser).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

STROKE_FRACTION = 0.11  # pen width per digit size (MNIST: ~2.7 px of its 20 px box)
MAX_STROKES = 200  # more strokes than this is not a drawing of one digit
MAX_POINTS = 20_000  # points over all strokes
SUBPIXEL_BITS = 4  # cv2 drawing with 1/16 px precision
Path = list[tuple[float, float]]


def check(value: object, size: int) -> list[Path] | None:
    """The strokes in a canvas value ([[[x, y], ...], ...] in canvas pixels), or None when
    the value is not such a list, holds too many points, or leaves the `size` canvas."""
    if not isinstance(value, list) or not 0 < len(value) <= MAX_STROKES:
        return None
    paths, total = [], 0
    for stroke in value:
        if not isinstance(stroke, list) or not stroke:
            return None
        try:
            points = np.asarray(stroke, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        total += len(points)
        if points.ndim != 2 or points.shape[1] != 2 or total > MAX_POINTS:
            return None
        if not np.isfinite(points).all() or points.min() < -size or points.max() > 2 * size:
            return None
        points = np.clip(points, 0, size - 1)  # a stroke can go on past the canvas's edge
        paths.append([(float(x), float(y)) for x, y in points])
    return paths


def pen_width(paths: Sequence[Path]) -> float:
    """The width a pen needs so that its strokes are STROKE_FRACTION of the drawing's longer
    side (the paths' extent plus the pen itself): w = f * (extent + w)."""
    points = np.concatenate([np.asarray(p, np.float64) for p in paths])
    return pen_for(float((points.max(axis=0) - points.min(axis=0)).max()))


def pen_for(extent: float, fraction: float = STROKE_FRACTION) -> float:
    """The pen width w that is `fraction` of a drawing whose centre lines span `extent`
    (the drawing's side is the extent plus the pen itself): w = fraction * (extent + w)."""
    return max(1.0, fraction * extent / (1 - fraction))


def redraw(paths: Sequence[Path], shape: tuple[int, int]) -> np.ndarray:
    """The strokes as white ink on black, uint8 `shape`, with a round pen of `pen_width`."""
    ink = np.zeros(shape, np.uint8)
    width = pen_width(paths)
    thickness = max(1, round(width))
    scale = 1 << SUBPIXEL_BITS
    for path in paths:
        points = np.round(np.asarray(path, np.float64) * scale).astype(np.int32)
        if len(points) == 1:  # a tap: a dot as wide as the pen
            cv2.circle(ink, tuple(points[0]), round(width / 2 * scale), 255, -1, cv2.LINE_AA,
                       SUBPIXEL_BITS)  # fmt: skip
            continue
        cv2.polylines(ink, [points], False, 255, thickness, cv2.LINE_AA, SUBPIXEL_BITS)
    return ink


def mnist_centre(ink: np.ndarray, box: int = 20, size: int = 28, threshold: int = 40):
    """The MNIST creators' method on white-on-black ink: crop to the ink, scale the longer
    side to `box` px (aspect kept, area-averaged when shrinking), and place it in a
    `size` x `size` frame with its centre of mass in the middle. Returns (crop, scaled,
    digit), all uint8."""
    rows, cols = np.nonzero(ink > threshold)
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    height, width = crop.shape
    scale = box / max(height, width)
    shape = (max(1, round(width * scale)), max(1, round(height * scale)))
    area = scale < 1  # area averaging anti-aliases when shrinking
    scaled = cv2.resize(crop, shape, interpolation=cv2.INTER_AREA if area else cv2.INTER_LINEAR)
    mass = scaled.astype(np.float64)
    rows_mass, cols_mass = mass.sum(axis=1), mass.sum(axis=0)
    centre_row = rows_mass @ np.arange(len(rows_mass)) / mass.sum()
    centre_col = cols_mass @ np.arange(len(cols_mass)) / mass.sum()
    top = int(np.clip(round(size / 2 - centre_row), 0, size - scaled.shape[0]))
    left = int(np.clip(round(size / 2 - centre_col), 0, size - scaled.shape[1]))
    digit = np.zeros((size, size), np.uint8)
    digit[top : top + scaled.shape[0], left : left + scaled.shape[1]] = scaled
    return crop, scaled, digit


def redrawn_digit(
    digit: np.ndarray, fraction: float = STROKE_FRACTION, zoom: int = 4
) -> np.ndarray:
    """An MNIST digit drawn again the way Predict redraws a drawing: its centre lines (OpenCV's
    thinning of the digit enlarged `zoom` times) traced with a round pen `fraction` as wide as
    the digit's longer side, then cropped, scaled and centred as MNIST was. A training
    augmentation (`TrainConfig.redraw_strokes`): the model then sees digits with the pen
    width and even strokes of a redrawn drawing. uint8 (28, 28) in and out; a digit with no
    ink comes back as it was."""
    side = digit.shape[0] * zoom
    big = cv2.resize(digit, (side, side), interpolation=cv2.INTER_CUBIC)
    binary = np.where(big > 100, 255, 0).astype(np.uint8)
    if binary.sum() == 0:
        return digit
    centre = cv2.ximgproc.thinning(binary)
    rows, cols = np.nonzero(centre)
    extent = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    radius = max(1, round(pen_for(extent, fraction) / 2))
    pen = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    ink = cv2.GaussianBlur(cv2.dilate(centre, pen), (0, 0), zoom / 3)  # soft edges, as drawn
    return mnist_centre(ink, size=digit.shape[0])[2]


def redrawn_digits(images: np.ndarray) -> np.ndarray:
    """`redrawn_digit` over uint8 images (n, h, w) or (n, h, w, 1); same shape out."""
    flat = images.reshape(images.shape[:3])
    out = np.stack([redrawn_digit(image) for image in flat])
    return out.reshape(images.shape)
