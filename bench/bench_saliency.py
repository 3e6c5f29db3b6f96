"""Saliency faithfulness: every method on every shipped run, by the two tests of issue 28.

For each shipped run in artifacts/ it takes N test images (a seeded random draw from the
dataset's own test split, kept apart from training; preprocessed by the same pipeline as
`cnn evaluate`), explains each image's predicted class with each method, and prints:

    deletion AUC / random   mean area under the deletion curve over the random orders' (lower
                            is better; targets: digits/clothes <= 0.60, photos <= 0.65)
    beats random            share of images whose map beats the mean of 3 random orders
                            (targets: >= 90%, photos >= 85%)
    corr. random weights    mean Spearman correlation with the map of the same architecture
                            re-initialised, same parameters (target <= 0.3)
    s / image               seconds per image of the trained model's maps (this machine)

A method is NAME or NAME:key=value,key=value (tuples with "/": occlusion:scales=2/4/7), or
"default": the run's kind's `saliency.DEFAULTS`. --draw picks another seeded draw of test
images (the random orders and the re-initialised weights stay seeded with 0).

Run:
    CNN_DATA_DIR=/work/shared/data PYTHONPATH=. python bench/bench_saliency.py --n 20 \
        --runs mnist cats_vs_dogs --methods gradcam occlusion:scales=2/4
    ... bench/bench_saliency.py --runs mnist --methods default --inputs drawn
    ... bench/bench_saliency.py --runs cats_vs_dogs flowers17 --methods default --inputs uploaded
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from cnn import artifacts, datasets, preprocess
from cnn.explain import checks, faithfulness, saliency

sys.path.insert(0, str(Path(__file__).resolve().parent))  # digit_strokes, beside this file
DEFAULT_METHODS = (
    "gradcam",
    "gradcam_pp",
    "scorecam",
    "rise",
    "occlusion",
    "integrated_gradients",
    "smoothgrad",
    "smoothgrad:times_input=true",
)
SEED = 0


def parsed_method(text: str) -> tuple[str, dict]:
    """'occlusion:scales=2/4,seed=1' -> ('occlusion', {'scales': (2, 4), 'seed': 1})."""
    name, _, rest = text.partition(":")
    params = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        params[key] = _value(value)
    return name, params


def _value(text: str):
    """A parameter's value: a tuple (with "/"), a bool, a number or a string."""
    if "/" in text:
        return tuple(_value(part) for part in text.split("/"))
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def test_images(run: artifacts.Run, n: int, draw: int = SEED) -> np.ndarray:
    """`n` images of the run's test split (drawn with seed `draw`), as `cnn evaluate` feeds
    them (`cnn.explain.checks.test_images`, which `saliency --measure` uses too)."""
    return checks.test_images(run.record, n, draw)


def drawn_images(run: artifacts.Run, n: int, draw: int = SEED) -> np.ndarray:
    """`n` MNIST test digits as a student draws them: traced into pen strokes at a random
    size and place (bench/digit_strokes.py), rendered like the canvas at a random brush width,
    then prepared by Predict's own `preprocess.prepare_drawing` with the strokes' paths."""
    from digit_strokes import STROKE_WIDTHS, render, strokes

    split = datasets.load("mnist", download=False).test
    rng = np.random.default_rng(draw)
    inputs = []
    for i in rng.choice(len(split), size=n, replace=False):
        paths = strokes(split.image(int(i))[..., 0], rng)
        canvas = render(paths, int(rng.choice(STROKE_WIDTHS)))
        inputs.append(preprocess.prepare_drawing(canvas, run.preprocessing, paths).input)
    return np.stack(inputs).astype(np.float32)


def uploaded_images(run: artifacts.Run, n: int, draw: int = SEED) -> np.ndarray:
    """`n` of the run's test photos as a student uploads them: each written as a JPEG file
    (quality 90, full size), read back by `preprocess.load_image` and prepared by Predict's
    `preprocess.prepare_upload` (centre crop and resize), not by the training pipeline."""
    split = datasets.load(run.record.dataset.key, download=False).test
    rng = np.random.default_rng(draw)
    inputs = []
    with tempfile.TemporaryDirectory() as folder:
        for i in rng.choice(len(split), size=min(n, len(split)), replace=False):
            path = Path(folder) / f"{i}.jpg"
            image = split.image(int(i))
            cv2.imwrite(str(path), image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
            picture = preprocess.load_image(str(path))
            inputs.append(preprocess.prepare_upload(picture, run.preprocessing).input)
    return np.stack(inputs).astype(np.float32)


INPUTS = {"test": test_images, "drawn": drawn_images, "uploaded": uploaded_images}


def shipped(keys: list[str] | None) -> list[tuple[str, artifacts.Run]]:
    """(dataset key, run) of every shipped run, or of those whose key is in `keys`."""
    infos = [r for r in artifacts.list_runs([artifacts.shipped_dir()]) if r.ok]
    chosen = [i for i in infos if keys is None or i.record.dataset.key in keys]
    return [(i.record.dataset.key, artifacts.load_run(i.path)) for i in chosen]


def measure(run: artifacts.Run, images: np.ndarray, kind: str, method: str) -> dict:
    """Both tests and the time per image of one method on one run's images."""
    name, params = saliency.DEFAULTS[kind] if method == "default" else parsed_method(method)
    model = run.model
    classes = saliency.top_classes(model, images)
    saliency.saliency(model, images[:1], name, classes[:1], kind, **params)  # compile first
    started = time.perf_counter()
    maps = saliency.saliency(model, images, name, classes, kind, **params)
    seconds = (time.perf_counter() - started) / len(images)
    test = faithfulness.deletion(model, images, maps, classes, kind, seed=SEED)
    check = faithfulness.randomisation(
        model, images, name, seed=SEED, maps=maps, classes=classes, kind=kind, **params
    )
    return {"ratio": test.ratio, "beating": test.share_beating, "corr": check.mean, "s": seconds}


def verdict(kind: str, row: dict) -> str:
    """'pass' when the row meets the issue's targets for its kind, else what it misses."""
    missed = checks.missed_targets(kind, row["ratio"], row["beating"], row["corr"])
    return "pass" if not missed else "misses " + ", ".join(missed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="test images per run")
    parser.add_argument("--runs", nargs="+", help="dataset keys (default: every shipped run)")
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
    parser.add_argument("--draw", type=int, default=SEED, help="seed of the test images' draw")
    parser.add_argument(
        "--inputs",
        choices=list(INPUTS),
        default="test",
        help="test: the test split as `evaluate` feeds it; drawn: MNIST test digits drawn as "
        "strokes through the canvas path (digit runs); uploaded: test photos through the "
        "Upload path (photo runs)",
    )
    args = parser.parse_args()
    print("| run | method | deletion AUC / random | beats random | corr. random weights "
          "| s / image | verdict |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for key, run in shipped(args.runs):
        kind = datasets.kind_of_method(run.preprocessing["method"]).key
        images = INPUTS[args.inputs](run, args.n, args.draw)
        for method in args.methods:
            row = measure(run, images, kind, method)
            print(
                f"| {key} (n={len(images)}) | {method} | {row['ratio']:.2f} | "
                f"{row['beating']:.0%} | {row['corr']:.2f} | {row['s']:.2f} | "
                f"{verdict(kind, row)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
