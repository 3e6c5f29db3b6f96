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
SIDES = (100, 230)  # sizes of the enlarged 28x28 box a student draws in, canvas pixels
NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def _skeleton(digit: np.ndarray, side: int) -> np.ndarray:
    from skimage.morphology import skeletonize

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


def strokes(digit: np.ndarray, rng: np.random.Generator) -> list[list[tuple[int, int]]]:
    """A 28x28 digit as pen strokes on the canvas: random size and place, few points each."""
    side = int(rng.integers(*SIDES))
    top, left = rng.integers(20, CANVAS - side - 20 + 1, size=2)
    paths = []
    for line in _trace(_skeleton(digit, side)):
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
