"""How well a digit model reads drawings: official test digits drawn as canvas strokes.

Each of N official MNIST test digits becomes pen strokes (its skeleton, traced; see
digit_strokes.py) at a random size and place on the 280x280 canvas, and is rendered the way
the Predict page's canvas renders a freehand stroke, at every width of its slider range
(8-40 px; round caps, anti-aliased). The digits are 120-250 px tall, as the page asks ("as
large as the square"); small ones (60-120 px) are measured apart. Each drawing goes through
`cnn.preprocess.digit_from_canvas`, the exact path a drawing takes, then through the model:
with its strokes' paths, as Predict's canvas sends them, and, side by side, from the picture
alone (an uploaded drawing, or a value without paths).
The same digits fed directly (as the test set gives them) are the baseline. The older
measure, the test image itself enlarged and eroded or dilated, is printed too.

    CNN_DATA_DIR=../shared/data PYTHONPATH=. python bench/bench_drawn_digits.py [RUN_DIR] \
        [--n 500] [--seed 0]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
from digit_strokes import CANVAS, SMALL, STROKE_WIDTHS, render, strokes

from cnn import artifacts, datasets, ood, preprocess
from cnn.inspect import Inspector

SEED = 0  # default seed: which test digits, and their strokes


def newest_mnist_run() -> str:
    runs = [r for r in artifacts.list_runs() if r.ok and r.record.dataset.key == "mnist"]
    if not runs:
        raise SystemExit("No MNIST run found: train one or pass RUN_DIR.")
    return str(runs[0].path)


def resampled(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The older measure: the test image enlarged, eroded or dilated, placed on the canvas."""
    side = int(rng.integers(90, 250))
    big = cv2.resize(digit, (side, side), interpolation=cv2.INTER_CUBIC)
    kernel = np.ones((int(rng.integers(5, 12)),) * 2, np.uint8)
    big = [cv2.erode, lambda b, _: b, cv2.dilate][int(rng.integers(3))](big, kernel)
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    y, x = rng.integers(0, CANVAS - side + 1, size=2)
    canvas[y : y + side, x : x + side] = big
    return np.dstack([canvas, canvas, canvas, np.full_like(canvas, 255)])


FLAGGED: list[bool] = []  # per drawing read: did Predict's "unlike my training data" flag fire


def read(inspector: Inspector, rgba: np.ndarray, run=None, paths=None) -> int:
    """The class the model reads in a drawing; -1 when the page would refuse it (a dot).
    With `paths`, the strokes are redrawn from them, as Predict does with its canvas's.
    With `run`, whether the page would also call the drawing unfamiliar goes into FLAGGED."""
    try:
        steps = preprocess.digit_from_canvas(rgba, paths)
    except preprocess.PreprocessError:
        return -1
    seen = inspector.run(steps.input, gradcam=False)
    if run is not None and run.record.ood is not None:
        FLAGGED.append(
            not ood.familiar(
                seen.logits, run.record.ood, seen.features, run.gaussian, seen.activations
            )
        )
    return seen.predicted_class


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=SEED, help="another draw of test digits")
    args = parser.parse_args()
    run = artifacts.load_run(args.run or newest_mnist_run())
    inspector = Inspector(run.model)
    data = datasets.load("mnist", download=False)
    rng = np.random.default_rng(args.seed)
    picks = rng.choice(len(data.test), args.n, replace=False)
    right = {"direct": 0, "resampled": 0, "small": 0, **{width: 0 for width in STROKE_WIDTHS}}
    picture = {"small": 0, **{width: 0 for width in STROKE_WIDTHS}}  # without the paths
    wrong: list[str] = []
    for i in picks:
        digit, label = data.test.image(int(i))[..., 0], int(data.test.labels[i])
        right["direct"] += (
            inspector.run(digit[..., None] / 255.0, gradcam=False).predicted_class == label
        )
        right["resampled"] += read(inspector, resampled(digit, rng)) == label
        paths = strokes(digit, rng)
        for width in STROKE_WIDTHS:
            drawing = render(paths, width)
            answer = read(inspector, drawing, run, paths)
            right[width] += answer == label
            picture[width] += read(inspector, drawing) == label
            if answer != label:
                wrong.append(f"{label}->{answer}@{width}")
        small = strokes(digit, rng, SMALL)
        for width in STROKE_WIDTHS:
            drawing = render(small, width)
            right["small"] += read(inspector, drawing, paths=small) == label
            picture["small"] += read(inspector, drawing) == label
    n = args.n
    print(f"run: {run.info.name}   data: {data.source}   digits: {n}   seed: {args.seed}")
    print(f"direct test digits:              {right['direct'] / n:.2%}")
    print("                                  with the paths   picture only")
    for width in STROKE_WIDTHS:
        print(f"drawn, stroke width {width:>2} px:      {right[width] / n:>14.2%}"
              f"   {picture[width] / n:>12.2%}")  # fmt: skip
    drawn = sum(right[w] for w in STROKE_WIDTHS) / (n * len(STROKE_WIDTHS))
    alone = sum(picture[w] for w in STROKE_WIDTHS) / (n * len(STROKE_WIDTHS))
    print(f"drawn, all widths (of {n * len(STROKE_WIDTHS)}):     {drawn:>12.2%}   {alone:>12.2%}")
    small = right["small"] / (n * len(STROKE_WIDTHS))
    small_alone = picture["small"] / (n * len(STROKE_WIDTHS))
    print(
        f"small digits ({SMALL[0]}-{SMALL[1]} px), all widths: {small:>7.2%}   {small_alone:>12.2%}"
    )
    print(f"resampled (eroded/dilated image): {right['resampled'] / n:.2%}")
    if FLAGGED:
        print(f"drawings flagged 'unlike my training data': {np.mean(FLAGGED):.1%}")
    print(f"misread: {' '.join(wrong[:40])}")


if __name__ == "__main__":
    main()
