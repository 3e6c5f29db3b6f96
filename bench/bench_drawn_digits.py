"""How well a digit model reads drawings: official test digits re-drawn on a 280x280 canvas.

Each of N official MNIST test digits is enlarged to a random size, made thinner or thicker
(erode/dilate), placed off-centre on a 280x280 canvas like the Predict page's, and sent
through `cnn.preprocess.digit_from_canvas` — the exact path a drawing takes — then through
the model. The same digits fed directly (as the test set gives them) are the baseline.

    CNN_DATA_DIR=../shared/data PYTHONPATH=. python bench/bench_drawn_digits.py [RUN_DIR] [--n 500]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from cnn import artifacts, datasets, preprocess
from cnn.inspect import Inspector

CANVAS = 280  # the Predict page's canvas side in pixels
SEED = 0


def newest_mnist_run() -> str:
    runs = [r for r in artifacts.list_runs() if r.ok and r.record.dataset.key == "mnist"]
    if not runs:
        raise SystemExit("No MNIST run found: train one or pass RUN_DIR.")
    return str(runs[0].path)


def draw_on_canvas(digit: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """A 28x28 MNIST digit as a drawing: random size, stroke and place; RGBA like st_canvas."""
    side = int(rng.integers(90, 250))
    big = cv2.resize(digit, (side, side), interpolation=cv2.INTER_CUBIC)
    stroke = rng.choice(["thin", "as is", "thick"])
    kernel = np.ones((int(rng.integers(5, 12)),) * 2, np.uint8)
    if stroke == "thin":
        big = cv2.erode(big, kernel)
    elif stroke == "thick":
        big = cv2.dilate(big, kernel)
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    y, x = rng.integers(0, CANVAS - side + 1, size=2)
    canvas[y : y + side, x : x + side] = big
    # white ink on a black canvas, opaque background, as the canvas component returns it
    rgba = np.dstack([canvas, canvas, canvas, np.full_like(canvas, 255)])
    return rgba, stroke


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?")
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    run = artifacts.load_run(args.run or newest_mnist_run())
    inspector = Inspector(run.model)
    test = datasets.load("mnist", download=False).test
    rng = np.random.default_rng(SEED)
    picks = rng.choice(len(test), args.n, replace=False)
    direct = drawn = 0
    by_stroke: dict[str, list[int]] = {}
    for i in picks:
        digit, label = test.image(int(i))[..., 0], int(test.labels[i])
        x = digit.astype(np.float32)[..., None] / 255
        direct += inspector.run(x, gradcam=False).predicted_class == label
        rgba, stroke = draw_on_canvas(digit, rng)
        steps = preprocess.digit_from_canvas(rgba)
        ok = inspector.run(steps.input, gradcam=False).predicted_class == label
        drawn += ok
        by_stroke.setdefault(stroke, []).append(int(ok))
    print(f"run: {run.info.name}   data: {datasets.load('mnist', download=False).source}")
    print(f"direct test digits:       {direct / args.n:.2%} of {args.n}")
    print(f"drawn on a 280x280 canvas: {drawn / args.n:.2%} of {args.n}")
    for stroke, oks in sorted(by_stroke.items()):
        print(f"  {stroke:>6} strokes: {np.mean(oks):.2%} of {len(oks)}")
    print(f"ratio drawn/direct: {drawn / max(direct, 1):.3f}")


if __name__ == "__main__":
    main()
