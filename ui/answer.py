"""The answer beside the input: the prediction, how sure (calibrated), whether the input looks
like anything the model was trained on, and every class's probability."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from cnn import calibration, ood
from cnn.record import RunRecord
from ui import charts

MAX_BARS = 10  # classes in the probability chart; the rest are summed as "others"


def shown_probabilities(logits: np.ndarray, raw: np.ndarray, record: RunRecord):
    """The probabilities a student sees (calibrated when the run is) and a sentence saying so."""
    mirrored = (
        " The model read the picture and its mirror image and averaged the two answers "
        "(test-time augmentation, this run's setting)."
        if record.config.mirror
        else ""
    )
    if record.calibration is None:
        return raw, f"The model's own probabilities (this run was not calibrated).{mirrored}"
    t = record.calibration.temperature
    shown = calibration.softmax(logits[None], t)[0]
    return shown, (
        f"Calibrated probabilities (temperature {t:.2f}): of all the answers it gives with "
        f"90% confidence, about 90% are right.{mirrored}"
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
    probabilities, how = shown_probabilities(inspection.logits, inspection.probabilities, record)
    top = int(np.argmax(probabilities))
    st.metric(
        label="Prediction",
        value=class_names[top],
        delta=f"{charts.percent(probabilities[top])} sure",
        delta_color="off",
        delta_arrow="off",
    )
    if label is not None:
        verdict = "right" if label == top else f"wrong: it is **{class_names[label]}**"
        st.markdown(f"{':material/check_circle:' if label == top else ':material/cancel:'} "
                    f"{verdict.capitalize() if label == top else verdict}")  # fmt: skip
    familiar = record.ood is None or ood.familiar(
        inspection.logits, record.ood, inspection.features, gaussian
    )
    if not familiar:
        st.warning(
            "This input looks unlike the images this model learned from, so do not trust "
            f"this answer: a classifier must always pick one of its {len(class_names)} classes, "
            "even for a picture of something else.",
            icon=":material/help:",
        )
    st.plotly_chart(
        charts.probability_bars(probabilities, class_names, MAX_BARS), key="probabilities"
    )
    st.caption(how)
