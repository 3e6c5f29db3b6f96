"""Official MNIST test digits as pen strokes, drawn the way the Predict page's canvas draws.

A digit is enlarged to the size a student draws at, thinned to its skeleton
(scikit-image's `skeletonize`) and traced into polylines: the path a pen would take. The
polylines are then either rendered like the canvas renders a freehand stroke (round caps
and joins, anti-aliased, a chosen width: `render`) or dragged with the mouse in a real
browser (bench_drawn_browser.py). Used by the drawn-digit benchmarks only.
"""

from __future__ import annotations

import cv2
import numpy as np

CANVAS = 280  # the Predict page's canvas side in pixels
STROKE_WIDTHS = (8, 12, 20, 30, 40)  # the canvas slider's range, 8-40 px
HEIGHTS = (120, 250)  # a drawn digit's longer side, canvas pixels ("as large as the square")
SMALL = (60, 120)  # small digits, measured apart
MARGIN = 20  # the thickest brush's radius: strokes stay on the canvas
NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def _skeleton(digit: np.ndarray, height: int) -> np.ndarray:
    """The digit's centre lines, enlarged so its ink's longer side is `height` pixels."""
    from skimage.morphology import skeletonize

    rows, cols = np.nonzero(digit > 100)
    extent = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    side = round(28 * height / extent)
    big = cv2.resize(digit, (side, side), interpolation=cv2.INTER_CUBIC)
    return skeletonize(big > 100)


def _trace(skeleton: np.ndarray) -> list[list[tuple[int, int]]]:
    """Polylines (lists of (x, y)) covering the skeleton: from each end, then round loops."""
    pixels = set(zip(*np.nonzero(skeleton), strict=True))

    def neighbours(p):
        return [(p[0] + dy, p[1] + dx) for dy, dx in NEIGHBOURS if (p[0] + dy, p[1] + dx) in pixels]

    lines, seen = [], set()
    ends = [p for p in pixels if len(neighbours(p)) == 1]
    for start in ends + sorted(pixels):  # ends first; what is left is loops
        if start in seen:
            continue
        line, current = [start], start
        seen.add(start)
        while True:
            step = [n for n in neighbours(current) if n not in seen]
            if not step:
                break
            current = step[0]
            seen.add(current)
            line.append(current)
        if len(line) > 2:
            lines.append([(x, y) for y, x in line])
    return lines


def strokes(
    digit: np.ndarray, rng: np.random.Generator, heights: tuple[int, int] = HEIGHTS
) -> list[list[tuple[int, int]]]:
    """A 28x28 digit as pen strokes on the canvas: random height and place, few points each."""
    lines = _trace(_skeleton(digit, int(rng.integers(*heights))))
    ys = [y for line in lines for _, y in line]
    xs = [x for line in lines for x, _ in line]
    # anywhere on the canvas with every stroke at least MARGIN from its edge
    top = int(rng.integers(MARGIN - min(ys), max(MARGIN - min(ys), CANVAS - MARGIN - max(ys)) + 1))
    left = int(rng.integers(MARGIN - min(xs), max(MARGIN - min(xs), CANVAS - MARGIN - max(xs)) + 1))
    paths = []
    for line in lines:
        points = np.array(line, np.int32).reshape(-1, 1, 2)
        simple = cv2.approxPolyDP(points, 1.5, closed=False).reshape(-1, 2)
        paths.append([(int(x + left), int(y + top)) for x, y in simple])
    return paths


def render(paths: list[list[tuple[int, int]]], width: int) -> np.ndarray:
    """The strokes as the canvas shows them: white round-capped lines on black, RGBA."""
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    for path in paths:
        cv2.polylines(canvas, [np.array(path, np.int32)], False, 255, width, cv2.LINE_AA)
        for x, y in (path[0], path[-1]):  # round caps, as the canvas's brush draws
            cv2.circle(canvas, (x, y), width // 2, 255, -1, cv2.LINE_AA)
    return np.dstack([canvas, canvas, canvas, np.full_like(canvas, 255)])
