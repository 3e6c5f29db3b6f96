"""Drawings as a student makes them on the Predict canvas: pen strokes, placed and rendered.

The Predict canvas is CANVAS x CANVAS pixels; a student draws with a round brush of 5-40 px
(white on black by default) and the page receives the picture and each stroke's path
(`cnn.strokes`). `place` puts shapes given in a unit square onto the canvas at the size the
page asks for ("as large as the square"), `render` paints paths the way the canvas paints a
freehand stroke (round caps and joins, anti-aliased), and `digit_paths` turns an MNIST digit
into the strokes a pen would take (its centre lines, traced), for measuring how a model
treats honest drawn digits. Numpy and OpenCV only (no scikit-image at run time).

The unfamiliar-input check (`cnn.foreign`, `cnn.training.confidence`) feeds these through
`cnn.preprocess.prepare_drawing`, the page's own path.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

CANVAS = 280  # the Predict page's canvas side in pixels
WIDTHS = (8, 40)  # brush widths drawn with (the page's slider: 5-40 px, 20 by default)
HEIGHTS = (120, 250)  # a drawing's longer side on the canvas
MARGIN = 20  # the thickest brush's radius: strokes stay on the canvas
STEP = 4.0  # canvas pixels between the points of a path (the browser sends dense paths)
NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
Unit = list[tuple[float, float]]  # a polyline in the unit square, y downwards


def _dense(points: np.ndarray) -> np.ndarray:
    """Points every ~STEP pixels along a polyline (a pointer's path is dense)."""
    if len(points) < 2:
        return points
    out = [points[0]]
    for a, b in zip(points[:-1], points[1:], strict=True):
        n = max(1, int(np.ceil(np.hypot(*(b - a)) / STEP)))
        out += [a + (b - a) * t for t in np.arange(1, n + 1) / n]
    return np.asarray(out)


def place(
    shape: Sequence[Unit], rng: np.random.Generator, wobble: float = 0.02, tilt: float = 12.0
) -> list[list[tuple[float, float]]]:
    """Unit-square polylines as canvas paths: tilted by up to `tilt` degrees, every vertex
    moved by up to `wobble` of the size (a hand is not a ruler), scaled so the longer side is
    HEIGHTS px and placed anywhere MARGIN from the edges."""
    lines = [np.asarray(line, np.float64) for line in shape]
    lines = [line + rng.normal(0, wobble, line.shape) for line in lines]
    angle = np.deg2rad(rng.uniform(-tilt, tilt))
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    lines = [(line - 0.5) @ turn.T for line in lines]
    points = np.concatenate(lines)
    low, high = points.min(axis=0), points.max(axis=0)
    scale = rng.uniform(*HEIGHTS) / max(float((high - low).max()), 1e-6)
    lines = [(line - low) * scale for line in lines]
    span = (high - low) * scale
    room = np.maximum(CANVAS - 2 * MARGIN - span, 0)
    offset = MARGIN + rng.uniform(0, 1, 2) * room
    return [[(float(x), float(y)) for x, y in _dense(line + offset)] for line in lines]


def render(paths: Sequence[Sequence[tuple[float, float]]], width: int) -> np.ndarray:
    """The paths as the canvas shows them: white round-capped strokes on black, RGBA uint8."""
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    for path in paths:
        points = np.round(np.asarray(path, np.float64)).astype(np.int32)
        cv2.polylines(canvas, [points], False, 255, width, cv2.LINE_AA)
        for x, y in points:  # round caps and joins, as the canvas's brush draws
            cv2.circle(canvas, (int(x), int(y)), width // 2, 255, -1, cv2.LINE_AA)
    return np.dstack([canvas, canvas, canvas, np.full_like(canvas, 255)])


def _trace(skeleton: np.ndarray) -> list[np.ndarray]:
    """Polylines (x, y) covering a one-pixel-wide skeleton: from each end, then loops."""
    pixels = set(zip(*np.nonzero(skeleton), strict=True))

    def neighbours(p):
        return [(p[0] + dy, p[1] + dx) for dy, dx in NEIGHBOURS if (p[0] + dy, p[1] + dx) in pixels]

    lines, seen = [], set()
    ends = sorted(p for p in pixels if len(neighbours(p)) == 1)
    for start in ends + sorted(pixels):  # ends first; what is left is loops
        if start in seen:
            continue
        line, current = [start], start
        seen.add(start)
        while step := [n for n in neighbours(current) if n not in seen]:
            current = step[0]
            seen.add(current)
            line.append(current)
        if len(line) > 2:
            lines.append(np.array([(x, y) for y, x in line], np.float64))
    return lines


def digit_paths(digit: np.ndarray, rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    """A 28 x 28 MNIST digit as the strokes a pen would take on the canvas: its centre lines
    (OpenCV's thinning of the digit enlarged 4 times), traced, simplified and placed like any
    drawing (`place`, without extra wobble or tilt). Empty for a digit with no ink."""
    big = cv2.resize(digit.reshape(digit.shape[:2]), (112, 112), interpolation=cv2.INTER_CUBIC)
    binary = np.where(big > 100, 255, 0).astype(np.uint8)
    if not binary.any():
        return []
    lines = _trace(cv2.ximgproc.thinning(binary) > 0)
    lines = [cv2.approxPolyDP(line.astype(np.float32)[:, None], 1.0, False)[:, 0] for line in lines]
    if not lines:
        return []
    unit = [[(x / 112, y / 112) for x, y in line] for line in lines]
    return place(unit, rng, wobble=0.0, tilt=0.0)


def brush(rng: np.random.Generator) -> int:
    """A brush width a student might pick, in canvas pixels."""
    return int(rng.integers(WIDTHS[0], WIDTHS[1] + 1))


def digit_drawings(digits: np.ndarray, seed: int = 0) -> list[tuple[np.ndarray, list]]:
    """Each MNIST digit (uint8 (n, 28, 28[, 1])) drawn on the canvas as a student would:
    (RGBA picture at a random brush width, its paths). Digits with no ink are skipped."""
    rng = np.random.default_rng(seed)
    out = []
    for digit in digits:
        paths = digit_paths(np.asarray(digit, np.uint8), rng)
        if paths:
            out.append((render(paths, brush(rng)), paths))
    return out
