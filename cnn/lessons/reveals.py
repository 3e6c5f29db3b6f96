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

from cnn import i18n
from cnn.errors import CnnError
from cnn.i18n import N_, tr
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
        raise RevealError(tr("This run does not record its architecture, so its layers "
                             "cannot be measured."))  # fmt: skip
    return record.spec.shapes(tuple(record.input_shape), len(record.class_names))


def _convs(record: RunRecord):
    convs = [layer for layer in _layers(record) if layer.kind == "conv"]
    if not convs:
        raise RevealError(tr("This model has no convolution layers (a dense network): pick "
                             "or train a CNN for this question."))  # fmt: skip
    return convs


def _image(view: RunView) -> np.ndarray:
    if view.image is None or view.inspector is None:
        raise RevealError(tr("This measurement starts from the picture on Predict: draw or "
                             "pick one there first, then measure."))  # fmt: skip
    return np.asarray(view.image, np.float32)


def test_accuracy(view: RunView) -> Measured:
    """The run's accuracy on its test images, as training's evaluation wrote it."""
    test = view.record.test
    if test.accuracy is None:
        raise RevealError(tr("This run has no test accuracy: it stopped before the end of "
                             "its training. Train it to the end, then measure."))  # fmt: skip
    value = round(100 * test.accuracy, 1)
    return Measured(value, i18n.percent(value / 100, 1), tr(
        "Right on {right} of the {n} test images the model never trained on.").format(
        right=i18n.number(round(test.accuracy * test.n)), n=i18n.number(test.n)))  # fmt: skip


def overfit_gap(view: RunView) -> Measured:
    """Training accuracy minus validation accuracy at the last epoch, in percentage points."""
    history = view.record.history
    if not history.get("accuracy") or not history.get("val_accuracy"):
        raise RevealError(tr("This run kept no training and validation accuracy per epoch, "
                             "so there is no gap to measure."))  # fmt: skip
    train, val = history["accuracy"][-1], history["val_accuracy"][-1]
    value = round(100 * (train - val), 1)
    sign = "+" if value >= 0 else ""
    return Measured(value, tr("{value} points").format(value=sign + i18n.number(value, 1)), tr(
        "Last epoch: {train} right on the training images, {val} on the validation images.")
        .format(train=i18n.percent(train, 1), val=i18n.percent(val, 1)))  # fmt: skip


def receptive_field(view: RunView) -> Measured:
    """The side, in input pixels, of the patch one position of the last conv layer sees."""
    last = _convs(view.record)[-1]
    side = view.record.input_shape[0]
    if last.rf > side:
        how = tr("One position of {layer}, the last conv layer, sees a {rf} x {rf} px patch of "
                 "the {side} px input (more than the whole picture, padding included).")
    else:
        how = tr("One position of {layer}, the last conv layer, sees a {rf} x {rf} px patch of "
                 "the {side} px input.")
    return Measured(float(last.rf), f"{last.rf} px",
                    how.format(layer=last.name, rf=last.rf, side=side))  # fmt: skip


def feature_map_size(view: RunView) -> Measured:
    """The width of the first conv layer's feature maps."""
    first = _convs(view.record)[0]
    side = view.record.input_shape[1]
    return Measured(float(first.shape[1]), f"{first.shape[1]} px", tr(
        "{layer}: a {k}x{k} filter slid over the {side} px input gives maps {h} x {w}.").format(
        layer=first.name, k=first.kernel, side=side, h=first.shape[0], w=first.shape[1]))


def parameters(view: RunView) -> Measured:
    """How many numbers the model learns (weights and biases)."""
    count = view.record.params
    if count is None:
        raise RevealError(tr("This run does not record how many parameters it has."))
    return Measured(float(count), i18n.number(count), tr("Every weight and bias of every "
                    "layer, as Keras counts them."))  # fmt: skip


def shift_flip(view: RunView) -> Measured:
    """The smallest sideways shift (px, either way) that changes the answer."""
    from cnn.probes.sweeps import run_sweep

    image = _image(view)
    result = run_sweep(view.inspector, image, "shift_x", view.record.preprocessing.method)
    sides = [abs(v) for v in result.flip() if v is not None]
    reach = int(result.values.max())
    if not sides:
        return Measured(None, tr("more than {reach} px").format(reach=reach), tr(
            "Shifted 1 step at a time up to {reach} px each way, the answer never changed.")
            .format(reach=reach))  # fmt: skip
    value = min(sides)
    answer = view.record.class_names[int(result.labels[result.identity_index])]
    return Measured(value, f"{i18n.number(value)} px", tr(
        "Shifted sideways 1 step at a time (the Probe page's sweep): at {shift} px it stops "
        "answering {answer}.").format(shift=i18n.number(value), answer=answer))  # fmt: skip


def attack_steps(view: RunView) -> Measured:
    """The smallest change per pixel (brightness steps of 255) that fools the model (FGSM)."""
    from cnn.probes.attack import Attacker

    image = _image(view)
    attack = Attacker(view.inspector, jit_compile=False).attack(image, "fgsm")
    if attack.epsilon is None:
        return Measured(None, tr("more than 255 steps"), tr("Even the largest change tried "
                        "did not change the answer."))  # fmt: skip
    value = round(attack.epsilon * 255, 1)
    names = view.record.class_names
    return Measured(value, tr("{value} of 255 steps").format(value=i18n.number(value)), tr(
        "The Probe page's attack (FGSM): every pixel nudged by at most {value} brightness "
        "steps turns {before} into {after}.").format(value=i18n.number(value),
        before=names[attack.label_before], after=names[attack.label_after]))  # fmt: skip


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
    return Measured(value, i18n.percent(value / 100, 1), tr(
        "It answers {answer}, the probability Predict shows beside the picture.").format(
        answer=view.record.class_names[top]))  # fmt: skip


REVEALS: dict[str, Reveal] = {
    r.name: r
    for r in [
        Reveal("test_accuracy", "test accuracy", "%", "record", test_accuracy),
        Reveal("overfit_gap", "training minus validation accuracy", N_("points"), "record",
               overfit_gap),
        Reveal("receptive_field", "receptive field of the last conv layer", "px", "record",
               receptive_field),
        Reveal("feature_map_size", "width of the first conv layer's maps", "px", "record",
               feature_map_size),
        Reveal("parameters", "parameters the model learns", N_("parameters"), "record",
               parameters),
        Reveal("shift_flip", "smallest sideways shift that changes the answer", "px", "image",
               shift_flip),
        Reveal("attack_steps", "smallest change per pixel that fools it", N_("steps of 255"),
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
        raise RevealError(tr("There is no reveal {name}: use one of {names}.").format(
            name=repr(name), names=", ".join(REVEALS)))  # fmt: skip
    return REVEALS[name].measure(view)
