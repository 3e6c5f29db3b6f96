"""The answer beside the input: the prediction, how sure (calibrated), whether the input looks
like anything the model was trained on, and every class's probability.

`answer_words` and `shown_answer` are how every page (Predict, Look inside, Probe) says
the answer and how sure: one number, the run's calibrated probability, in the same words."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from cnn import calibration, ood
from cnn.record import RunRecord
from ui import charts

MAX_BARS = 10  # classes in the probability chart; the rest are summed as "others"


def sure(probability: float) -> str:
    """How sure, in the words every page uses: "91% sure", "over 99% sure"."""
    return f"{charts.percent(probability)} sure"


def answer_words(class_name: str, probability: float) -> str:
    """The answer and how sure, phrased the same on Predict, Look inside and Probe:
    "**7**, 91% sure"."""
    return f"**{class_name}**, {sure(probability)}"


def shown_answer(inspection, record: RunRecord) -> tuple[int, np.ndarray]:
    """(the answer, the probabilities every page shows): the run's calibrated probabilities
    (`cnn.calibration.calibrated`) of one `cnn.inspect.Inspection`."""
    if inspection.logits is None:
        return inspection.predicted_class, inspection.probabilities
    shown = calibration.calibrated(inspection.logits, record.calibration)
    return int(np.argmax(shown)), shown


def how_sure_words(record: RunRecord) -> str:
    """What the shown probabilities mean, in a short sentence without jargon
    (`calibration_help` explains the rest)."""
    mirrored = (
        " It read the picture and its mirror image and averaged the two answers."
        if record.config.mirror
        else ""
    )
    if record.calibration is None:
        unchecked = "not checked against how often it is right"
        return f"How sure the network says it is ({unchecked}).{mirrored}"
    return (
        f"How sure it is, checked on images it did not learn from: of the answers it gives "
        f"90% sure, about 9 in 10 are right.{mirrored}"
    )


def calibration_help(record: RunRecord) -> str | None:
    """The tooltip under the answer: what was done to the network's raw percentages."""
    if record.calibration is None:
        return None
    t = record.calibration.temperature
    how = "too modest" if t < 1 else "too sure of themselves"
    return (
        f"The network's raw percentages were {how} on images kept apart from training. "
        f"Its scores are divided by one number fitted there (the temperature, {t:.2f} for "
        "this run) before they become percentages, so the percentages match how often it is "
        "right. This is called calibration; it never changes which answer wins."
    )


def unfamiliar_words(record: RunRecord, num_classes: int) -> str:
    """The warning for an input the run's check flags: what it means, and how often the check
    was right and wrong when it was measured (the run's own figures, `cnn.ood.OodCheck`)."""
    check = record.ood
    words = (
        "This doesn't look like anything the model was trained on: don't trust this answer. "
        f"It must pick one of its {num_classes} classes, even for something else."
    )
    if check is None:
        return words
    caught = [
        f"{charts.percent(rate)} of {what}"
        for rate, what in (
            (check.photo_detection, "photos"),
            (check.drawing_detection, "scribbles, letters and shapes"),
        )
        if rate is not None
    ]
    if not caught and check.detection is not None:
        caught = [f"{charts.percent(check.detection)} of unfamiliar pictures"]
    if check.drawn_false_alarm is not None:
        wrong = f"{charts.percent(check.drawn_false_alarm)} of real hand-drawn digits"
    else:
        wrong = f"{charts.percent(check.false_alarm)} of real pictures of its classes"
    if not caught:
        return f"{words} In tests, this warning came up wrongly on {wrong}."
    return (
        f"{words} In tests, this warning caught {' and '.join(caught)}, "
        f"and came up wrongly on {wrong}."
    )


def answer_ui(
    inspection,
    record: RunRecord,
    class_names: Sequence[str],
    label: int | None,
    gaussian=None,
):
    """The Prediction metric, a right/wrong line for inputs of known class, the unfamiliar-input
    warning and the probability bars. `gaussian`: the run's `cnn.ood.Gaussian`, if any."""
    top, probabilities = shown_answer(inspection, record)
    how = how_sure_words(record)
    st.metric(
        label="Prediction",
        value=class_names[top],
        delta=sure(probabilities[top]),
        delta_color="off",
        delta_arrow="off",
    )
    if label is not None:
        verdict = "right" if label == top else f"wrong: it is **{class_names[label]}**"
        st.markdown(f"{':material/check_circle:' if label == top else ':material/cancel:'} "
                    f"{verdict.capitalize() if label == top else verdict}")  # fmt: skip
    familiar = record.ood is None or ood.familiar(
        inspection.logits, record.ood, inspection.features, gaussian, inspection.activations
    )
    if not familiar:
        st.warning(unfamiliar_words(record, len(class_names)), icon=":material/help:")
    st.plotly_chart(
        charts.probability_bars(probabilities, class_names, MAX_BARS), key="probabilities"
    )
    st.caption(how, help=calibration_help(record))
