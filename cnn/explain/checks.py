"""A run's "Where it looked" methods, checked for faithfulness on its own test images.

Each method is put through the two tests of `cnn.explain.faithfulness` (deletion against
random orders; correlation with the same network re-initialised) on a seeded draw of the run's
test split, and compared with issue 28's targets. `python -m cnn saliency --measure` writes the
results into run.json (`RunRecord.saliency`), and Predict shows each method's beside its map:
a student sees how far to trust the picture on this very model.

Example:
    >>> checks = check_run(artifacts.load_run(path), ["default", "gradcam"], images=40)
    >>> [(c.method, c.deletion_ratio, c.passed) for c in checks]
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnn import datasets
from cnn.explain import faithfulness, saliency
from cnn.record import RunRecord, SaliencyCheck

# (deletion ratio at most, share beating random at least) per kind of images (issue 28)
TARGETS = {"digits": (0.60, 0.90), "grayscale": (0.60, 0.90), "photos": (0.65, 0.85)}
MAX_CORRELATION = 0.3  # rank correlation with the re-initialised network, at most
IMAGES = {"digits": 100, "grayscale": 100, "photos": 60}  # test images measured by default
# the methods Predict offers (the kind's default first): the classic Grad-CAM beside the
# default so that a class can see the difference, and the simple probes a student can follow
OFFERED = ("default", "gradcam", "occlusion", "integrated_gradients", "smoothgrad")


def method_parameters(kind: str, method: str | None) -> tuple[str, dict[str, Any]]:
    """(the method's name, its parameters): the kind's default for None or "default", and
    the kind's parameters whenever the method is the kind's default method.

    Raises:
        ExplainError: naming the methods there are, for an unknown `method`.
    """
    default, params = saliency.DEFAULTS[kind]
    if method in (None, "default", default):
        return default, params
    saliency.method_named(method)
    return method, {}


def offered(kind: str) -> list[str]:
    """The method names Predict offers for a kind of images, its default first."""
    default = saliency.DEFAULTS[kind][0]
    return [default, *(m for m in OFFERED[1:] if m != default)]


def missed_targets(kind: str, ratio: float, beating: float, correlation: float) -> list[str]:
    """The tests a method's figures miss for its kind ([] when it passes)."""
    most, least = TARGETS[kind]
    return [
        name
        for name, ok in (
            ("deletion", ratio <= most),
            ("beating", beating >= least),
            ("randomisation", correlation <= MAX_CORRELATION),
        )
        if not ok
    ]


def test_images(record: RunRecord, n: int, draw: int = 0) -> np.ndarray:
    """`n` images of the run's test split (drawn with seed `draw`), as `cnn evaluate` feeds
    them: float32 (n, h, w, c) in [0, 1].

    Raises:
        DatasetError: the run's dataset is not on this machine (the sentence says how to get it).
    """
    split = datasets.load(record.dataset.key, download=False).test
    rng = np.random.default_rng(draw)
    chosen = split.take(np.sort(rng.choice(len(split), size=min(n, len(split)), replace=False)))
    pre = record.preprocessing
    batches = datasets.make_pipeline(chosen, tuple(pre.image_size), pre.channels, 64)
    return np.concatenate([np.asarray(x) for x, _ in batches]).astype(np.float32)


def check_method(
    model: Any, images: np.ndarray, kind: str, method: str, draw: int = 0
) -> SaliencyCheck:
    """Both tests of one method on `images`, each explaining the class the model predicts.

    Args:
        model: the run's Keras model.
        images: float32 (n, h, w, c) test images.
        kind: "digits", "grayscale" or "photos".
        method: a key of `saliency.METHODS`, or "default".
        draw: the seed the images were drawn with (recorded).
    """
    name, params = method_parameters(kind, method)
    classes = saliency.top_classes(model, images)
    saliency.saliency(model, images[:1], name, classes[:1], kind, **params)  # compile first
    started = time.perf_counter()
    maps = saliency.saliency(model, images, name, classes, kind, **params)
    seconds = (time.perf_counter() - started) / len(images)
    test = faithfulness.deletion(model, images, maps, classes, kind)
    check = faithfulness.randomisation(
        model, images, name, maps=maps, classes=classes, kind=kind, **params
    )
    ratio, beating, correlation = test.ratio, test.share_beating, check.mean
    return SaliencyCheck(
        method=name,
        images=len(images),
        deletion_ratio=round(ratio, 4),
        beating=round(beating, 4),
        correlation=round(correlation, 4),
        passed=not missed_targets(kind, ratio, beating, correlation),
        seconds=round(seconds, 4),
        draw=draw,
    )


def check_run(
    run: Any, methods: list[str], images: int | None = None, draw: int = 0
) -> list[SaliencyCheck]:
    """Every method in `methods` checked on the same draw of the run's test images.

    Args:
        run: a `cnn.artifacts.Run`.
        methods: keys of `saliency.METHODS`, or "default".
        images: how many test images (None: `IMAGES` for the run's kind).
        draw: the seed of the draw.

    Raises:
        DatasetError: the run's dataset is not on this machine.
    """
    kind = run.record.preprocessing.kind
    batch = test_images(run.record, images or IMAGES[kind], draw)
    return [check_method(run.model, batch, kind, method, draw) for method in methods]


def recorded(record: RunRecord, checks: list[SaliencyCheck]) -> RunRecord:
    """The record with `checks` replacing earlier checks of the same methods."""
    names = {c.method for c in checks}
    record.saliency = [c for c in record.saliency if c.method not in names] + list(checks)
    return record


@dataclass
class InputCheck:
    """One input's map and its own deletion test (what Predict draws).

    Attributes:
        map: float32 (h, w) in [0, 1], higher = mattered more.
        target: the class explained.
        fractions: float (steps + 1,) share of pixels removed.
        curve: the target's probability as the map's highest pixels are removed first.
        random_curve: the same, averaged over random orders.
    """

    map: np.ndarray
    target: int
    fractions: np.ndarray
    curve: np.ndarray
    random_curve: np.ndarray


def check_input(
    model: Any, image: np.ndarray, kind: str, method: str, target: int | None = None
) -> InputCheck:
    """The map of one model input (h, w, c) by `method` ("default" or a key of
    `saliency.METHODS`) for `target` (None: the model's answer), with its deletion test.

    Raises:
        ExplainError: an unknown method, or one the model cannot give (no conv layer).
    """
    name, params = method_parameters(kind, method)
    images = np.asarray(image, np.float32)[None]
    _, classes = saliency.with_classes(model, images, None if target is None else [target])
    heat = saliency.saliency(model, images, name, classes, kind, **params)
    test = faithfulness.deletion(model, images, heat, classes, kind)
    return InputCheck(
        heat[0], int(classes[0]), test.fractions, test.curves[0], test.random_curves[0].mean(0)
    )
