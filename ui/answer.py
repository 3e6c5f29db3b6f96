"""The answer beside the input: the prediction, how sure (calibrated), whether the input looks
like anything the model was trained on, and every class's probability.

`answer_words` and `shown_answer` are how every page (Predict, Look inside, Probe) says
the answer and how sure: one number, the run's calibrated probability, in the same words."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from cnn import calibration, describe, i18n, ood
from cnn.i18n import tr
from cnn.record import RunRecord
from ui import a11y, charts

MAX_BARS = 10  # classes in the probability chart; the rest are summed as "others"


def percent(p: float) -> str:
    """A probability in whole percent that never claims certainty: "over 99%" rather than a
    rounded "100%" (and "under 1%" rather than "0%"), written the language's way."""
    if p >= 0.995:
        return tr("over {percent}").format(percent=i18n.percent(0.99))
    if p < 0.005:
        return tr("under {percent}").format(percent=i18n.percent(0.01))
    return i18n.percent(p)


def sure(probability: float) -> str:
    """How sure, in the words every page uses: "91% sure", "over 99% sure"."""
    return tr("{percent} sure").format(percent=percent(probability))


def answer_words(class_name: str, probability: float) -> str:
    """The answer and how sure, phrased the same on Predict, Look inside and Probe:
    "**7**, 91% sure"."""
    return tr("**{name}**, {sure}").format(name=class_name, sure=sure(probability))


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
    if record.calibration is None:
        said = tr("How sure the network says it is (not checked against how often it is right).")
    else:
        said = tr(
            "How sure it is, checked on images it did not learn from: of the answers it gives "
            "{percent} sure, about 9 in 10 are right."
        ).format(percent=i18n.percent(0.9))
    if record.config.mirror:
        said += " " + tr("It read the picture and its mirror image and averaged the two answers.")
    return said


def calibration_help(record: RunRecord) -> str | None:
    """The tooltip under the answer: what was done to the network's raw percentages."""
    if record.calibration is None:
        return None
    t = record.calibration.temperature
    how = (
        tr("The network's raw percentages were too modest on images kept apart from training.")
        if t < 1
        else tr(
            "The network's raw percentages were too sure of themselves on images kept apart "
            "from training."
        )
    )
    return (
        how
        + " "
        + tr(
            "Its scores are divided by one number fitted there (the temperature, {t} for this "
            "run) before they become percentages, so the percentages match how often it is "
            "right. This is called calibration; it never changes which answer wins."
        ).format(t=i18n.number(t, 2))
    )


def unfamiliar_words(record: RunRecord, num_classes: int) -> str:
    """The warning for an input the run's check flags: what it means, and how often the check
    was right and wrong when it was measured (the run's own figures, `cnn.ood.OodCheck`)."""
    check = record.ood
    words = tr(
        "This doesn't look like anything the model was trained on: don't trust this answer. "
        "It must pick one of its {n} classes, even for something else."
    ).format(n=i18n.number(num_classes))
    if check is None:
        return words
    if check.score == "neighbours":
        words += " " + tr(
            "This check uses a second network that has seen over a million photos: it "
            "compares your picture with the photos this model learnt from."
        )
    caught = [
        what.format(percent=percent(rate))
        for rate, what in (
            (check.photo_detection, tr("{percent} of photos")),
            (check.drawing_detection, tr("{percent} of scribbles, letters and shapes")),
        )
        if rate is not None
    ]
    if not caught and check.detection is not None:
        caught = [tr("{percent} of unfamiliar pictures").format(percent=percent(check.detection))]
    if check.drawn_false_alarm is not None:
        wrong = tr("{percent} of real hand-drawn digits").format(
            percent=percent(check.drawn_false_alarm)
        )
    else:
        wrong = tr("{percent} of real pictures of its classes").format(
            percent=percent(check.false_alarm)
        )
    if not caught:
        return (
            words
            + " "
            + tr("In tests, this warning came up wrongly on {wrong}.").format(wrong=wrong)
        )
    if len(caught) == 2:
        caught = [tr("{first} and {second}").format(first=caught[0], second=caught[1])]
    return (
        words
        + " "
        + tr("In tests, this warning caught {caught}, and came up wrongly on {wrong}.").format(
            caught=caught[0], wrong=wrong
        )
    )


def answer_ui(
    inspection,
    record: RunRecord,
    class_names: Sequence[str],
    label: int | None,
    gaussian=None,
    image=None,
):
    """The Prediction metric, a right/wrong line for inputs of known class, the unfamiliar-input
    warning and the probability bars. `gaussian`: what the run's check needs
    (`cnn.artifacts.load_gaussian`), if any; `image`: the model's input (h, w, c)."""
    top, probabilities = shown_answer(inspection, record)
    how = how_sure_words(record)
    st.metric(
        label=tr("Prediction"),
        value=class_names[top],
        delta=sure(probabilities[top]),
        delta_color="off",
        delta_arrow="off",
    )
    if label is not None:
        verdict = (
            tr("Right")
            if label == top
            else tr("wrong: it is **{name}**").format(name=class_names[label])
        )
        icon = ":material/check_circle:" if label == top else ":material/cancel:"
        st.markdown(f"{icon} {verdict}")
    familiar = record.ood is None or ood.familiar(
        inspection.logits, record.ood, inspection.features, gaussian, inspection.activations,
        image,
    )  # fmt: skip
    if not familiar:
        st.warning(unfamiliar_words(record, len(class_names)), icon=":material/help:")
    st.plotly_chart(
        charts.probability_bars(probabilities, class_names, MAX_BARS), key="probabilities"
    )
    a11y.described_ui(
        tr("Probability of each class, highest first: {top}.").format(
            top=describe.probabilities(probabilities, class_names)
        )
    )
    st.caption(how, help=calibration_help(record))
