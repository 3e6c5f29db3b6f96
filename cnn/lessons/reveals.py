"""Reveals: what a lesson's predict-then-reveal question measures on the student's own run.

A lesson file names one with `reveal: NAME`; the student predicts a number, then the app
measures it on their current run with the engine's own tools: the Probe page's shift sweep
(`cnn.probes.sweeps`), its attack (`cnn.probes.attack`), the arithmetic of the layers
(`cnn.layer_shapes` through `ArchSpec.shapes`), the run's record written by training
(`cnn.evaluate` on its test split, Keras' history). A lesson never types the number itself.

Each reveal reads a `RunView`: the run's record, and for the ones about an input, the run's
`cnn.inspect.Inspector` and the model input on Predict.

Example:
    >>> view = RunView(record, inspector, steps.input)
    >>> measure("shift_flip", view)
    Measured(value=3.0, shown='3 px', how='Shifted sideways 1 px at a time ...')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnn.errors import CnnError
from cnn.record import RunRecord


class RevealError(CnnError, ValueError):
    """A reveal that cannot be measured on this run yet (a sentence saying why)."""


@dataclass
class RunView:
    """What a reveal may read of the student's current run.

    Attributes:
        record: the run's record (run.json).
        inspector: the run's `cnn.inspect.Inspector`, for reveals about an input.
        image: the model input Predict prepared (float32 (h, w, c) in [0, 1]), or None.
    """

    record: RunRecord
    inspector: Any = None
    image: np.ndarray | None = None


@dataclass(frozen=True)
class Measured:
    """A reveal's result: the number (None: never happened in the range tried), the number
    as shown, and one sentence saying how it was measured."""

    value: float | None
    shown: str
    how: str


@dataclass(frozen=True)
class Reveal:
    """One measurable thing: its name in lesson files, what it is, its unit, what it needs
    ("record", or "image": the input on Predict too), and how it is measured."""

    name: str
    title: str
    unit: str
    needs: str
    measure: Callable[[RunView], Measured]


def _layers(record: RunRecord):
    if record.spec is None or not record.input_shape:
        raise RevealError("This run does not record its architecture, so its layers cannot "
                          "be measured.")  # fmt: skip
    return record.spec.shapes(tuple(record.input_shape), len(record.class_names))


def _convs(record: RunRecord):
    convs = [layer for layer in _layers(record) if layer.kind == "conv"]
    if not convs:
        raise RevealError("This model has no convolution layers (a dense network): pick or "
                          "train a CNN for this question.")  # fmt: skip
    return convs


def _image(view: RunView) -> np.ndarray:
    if view.image is None or view.inspector is None:
        raise RevealError("This measurement starts from the picture on Predict: draw or pick "
                          "one there first, then measure.")  # fmt: skip
    return np.asarray(view.image, np.float32)


def test_accuracy(view: RunView) -> Measured:
    """The run's accuracy on its test images, as training's evaluation wrote it."""
    test = view.record.test
    if test.accuracy is None:
        raise RevealError("This run has no test accuracy: it stopped before the end of its "
                          "training. Train it to the end, then measure.")  # fmt: skip
    value = round(100 * test.accuracy, 1)
    return Measured(value, f"{value:.1f}%", f"Right on {round(test.accuracy * test.n):,} of "
                    f"the {test.n:,} test images the model never trained on.")  # fmt: skip


def overfit_gap(view: RunView) -> Measured:
    """Training accuracy minus validation accuracy at the last epoch, in percentage points."""
    history = view.record.history
    if not history.get("accuracy") or not history.get("val_accuracy"):
        raise RevealError("This run kept no training and validation accuracy per epoch, so "
                          "there is no gap to measure.")  # fmt: skip
    train, val = history["accuracy"][-1], history["val_accuracy"][-1]
    value = round(100 * (train - val), 1)
    return Measured(value, f"{value:+.1f} points", f"Last epoch: {100 * train:.1f}% right on "
                    f"the training images, {100 * val:.1f}% on the validation images.")  # fmt: skip


def receptive_field(view: RunView) -> Measured:
    """The side, in input pixels, of the patch one position of the last conv layer sees."""
    last = _convs(view.record)[-1]
    side = view.record.input_shape[0]
    beyond = " (more than the whole picture, padding included)" if last.rf > side else ""
    return Measured(float(last.rf), f"{last.rf} px", f"One position of {last.name}, the last "
                    f"conv layer, sees a {last.rf} x {last.rf} px patch of the {side} px "
                    f"input{beyond}.")  # fmt: skip


def feature_map_size(view: RunView) -> Measured:
    """The width of the first conv layer's feature maps."""
    first = _convs(view.record)[0]
    side = view.record.input_shape[1]
    return Measured(float(first.shape[1]), f"{first.shape[1]} px", f"{first.name}: a "
                    f"{first.kernel}x{first.kernel} filter slid over the {side} px input gives "
                    f"maps {first.shape[0]} x {first.shape[1]}.")  # fmt: skip


def parameters(view: RunView) -> Measured:
    """How many numbers the model learns (weights and biases)."""
    count = view.record.params
    if count is None:
        raise RevealError("This run does not record how many parameters it has.")
    return Measured(float(count), f"{count:,}", "Every weight and bias of every layer, as "
                    "Keras counts them.")  # fmt: skip


def shift_flip(view: RunView) -> Measured:
    """The smallest sideways shift (px, either way) that changes the answer."""
    from cnn.probes.sweeps import run_sweep

    image = _image(view)
    result = run_sweep(view.inspector, image, "shift_x", view.record.preprocessing.method)
    sides = [abs(v) for v in result.flip() if v is not None]
    reach = int(result.values.max())
    if not sides:
        return Measured(None, f"more than {reach} px", f"Shifted 1 step at a time up to "
                        f"{reach} px each way, the answer never changed.")  # fmt: skip
    value = min(sides)
    answer = view.record.class_names[int(result.labels[result.identity_index])]
    return Measured(value, f"{value:g} px", f"Shifted sideways 1 step at a time (the Probe "
                    f"page's sweep): at {value:g} px it stops answering {answer}.")  # fmt: skip


def attack_steps(view: RunView) -> Measured:
    """The smallest change per pixel (brightness steps of 255) that fools the model (FGSM)."""
    from cnn.probes.attack import Attacker

    image = _image(view)
    attack = Attacker(view.inspector, jit_compile=False).attack(image, "fgsm")
    if attack.epsilon is None:
        return Measured(None, "more than 255 steps", "Even the largest change tried did not "
                        "change the answer.")  # fmt: skip
    value = round(attack.epsilon * 255, 1)
    names = view.record.class_names
    return Measured(value, f"{value:g} of 255 steps", f"The Probe page's attack (FGSM): every "
                    f"pixel nudged by at most {value:g} brightness steps turns "
                    f"{names[attack.label_before]} into {names[attack.label_after]}.")  # fmt: skip


def confidence(view: RunView) -> Measured:
    """How sure the model is of its answer on the input, in %, as Predict shows it."""
    from cnn import calibration

    image = _image(view)
    inspection = view.inspector.run(image, gradcam=False)
    shown = inspection.probabilities
    if inspection.logits is not None:
        shown = calibration.calibrated(inspection.logits, view.record.calibration)
    top = int(np.argmax(shown))
    value = round(100 * float(shown[top]), 1)
    return Measured(value, f"{value:.1f}%", f"It answers {view.record.class_names[top]}, the "
                    f"probability Predict shows beside the picture.")  # fmt: skip


REVEALS: dict[str, Reveal] = {
    r.name: r
    for r in [
        Reveal("test_accuracy", "test accuracy", "%", "record", test_accuracy),
        Reveal("overfit_gap", "training minus validation accuracy", "points", "record",
               overfit_gap),
        Reveal("receptive_field", "receptive field of the last conv layer", "px", "record",
               receptive_field),
        Reveal("feature_map_size", "width of the first conv layer's maps", "px", "record",
               feature_map_size),
        Reveal("parameters", "parameters the model learns", "parameters", "record", parameters),
        Reveal("shift_flip", "smallest sideways shift that changes the answer", "px", "image",
               shift_flip),
        Reveal("attack_steps", "smallest change per pixel that fools it", "steps of 255",
               "image", attack_steps),
        Reveal("confidence", "how sure it is of its answer", "%", "image", confidence),
    ]
}  # fmt: skip


def measure(name: str, view: RunView) -> Measured:
    """Measure the reveal `name` on a run.

    Raises:
        RevealError: an unknown name, or a run (or input) it cannot be measured on.
    """
    if name not in REVEALS:
        raise RevealError(f"There is no reveal {name!r}: use one of {', '.join(REVEALS)}.")
    return REVEALS[name].measure(view)
