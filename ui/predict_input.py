"""Predict below its model picker: the input, the answer beside it, what the model receives
and the views inside the network, drawn as one `st.fragment`.

All of it follows the input and nothing above it does, so a stroke on the canvas, Clear, a
tab or a map picker reruns this part alone: not the run listing, the model picker, the lesson
link (its QR code is drawn at every run, a third of a whole page's time per stroke) and the
sidebar. A class of 40 drawing every 5-10 s sends ~20 of these a second (issue 30); on the
server (rerun received to script_finished sent, one session, quiet machine) a stroke took
p50 67-74 ms as a whole page and 33 ms as this fragment (with cheaper probability bars and
canvas checks), Clear 30-32 ms and 8-9 ms.

The fragment's arguments are those of the page's last full run; picking another model or
input source, or anything in the sidebar, reruns the whole page, so they follow too.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnn import artifacts, describe, preprocess
from cnn.i18n import tr
from ui import (
    answer,
    class_views,
    inputs,
    loaders,
    pictures,
    predict_views,
    presenter,
    saliency_views,
    state,
)
from ui.inputs import Picked


@st.fragment
def input_and_answer_ui(info: artifacts.RunInfo, loaded: loaders.LoadedRun, source: str) -> None:
    """The input and the answer beside it; once there is an answer, what the model receives,
    the views inside the network and the links to look further."""
    found = _answer_beside_input_ui(info, loaded, source)
    if found is None:
        return
    steps, inspection = found
    st.header(tr("What the model receives"))
    st.image(
        [pictures.framed(image, presenter.px(pictures.STEP_PX)) for _, image in steps.steps],
        caption=[title for title, _ in steps.steps],
        width=presenter.px(pictures.STEP_PX),
        alt=[
            describe.heatmap(_brightness(image), tr("Step “{title}”").format(title=title))
            for title, image in steps.steps
        ],
    )
    for note in steps.notes:
        st.caption(f":material/info: {note}")

    st.header(tr("Inside the network"))
    # only the open tab is drawn: the map costs about a second of RISE per new input
    tabs = st.tabs(
        [tr("Where it looked"), tr("Feature maps"), tr("Learned filters")],
        key="inside-tab",
        on_change="rerun",
    )
    if tabs[0].open:
        with tabs[0]:
            saliency_views.where_it_looked_ui(loaded, steps.input, loaded.class_names)
    if tabs[1].open:
        with tabs[1]:
            predict_views.feature_maps_ui(inspection, info.record)
    if tabs[2].open:
        with tabs[2]:
            predict_views.filters_ui(loaded.filter_images)
    predict_views.more_on_this_input_ui()


def _brightness(image) -> np.ndarray:
    """A step's picture as one brightness map (a colour picture: the mean of its channels)."""
    array = np.asarray(image, dtype=float)
    return array.mean(axis=-1) if array.ndim == 3 else array


def _answer_beside_input_ui(info: artifacts.RunInfo, loaded: loaders.LoadedRun, source: str):
    """The chosen source's input and, beside it, the answer (or why there is none yet);
    (the prepared steps, their inspection), or None when there is no answer to show."""
    record = info.record
    input_col, answer_col = st.columns(2, gap="large")
    with input_col:
        try:
            picked: Picked | None = inputs.input_ui(source, record, loaded.run.preprocessing)
            problem = None
        except preprocess.PreprocessError as err:
            picked, problem = None, err
    with answer_col:
        if isinstance(problem, preprocess.NothingDrawn):
            st.info(
                tr("{prompt} to see a prediction. ({problem})").format(
                    prompt=inputs.draw_prompt(record), problem=problem
                )
            )
            return None
        if problem is not None:
            st.error(str(problem))
            return None
        if picked is None:
            prompt = (
                inputs.draw_prompt(record) if source == "Draw" else tr("Give the model a picture")
            )
            st.info(tr("{prompt} to see its prediction here.").format(prompt=prompt))
            return None
        steps = picked.steps
        state.set_current_input(state.CurrentInput(str(info.path), steps, source, picked.label))
        # One compiled pass (remembered per input): probabilities and activations
        inspection = loaders.inspect_image(loaded, steps.input, None)
        answer.answer_ui(inspection, record, loaded.class_names, picked.label,
                         loaded.run.gaussian, steps.input)  # fmt: skip
        # in a class: one click puts the picture as given (before preparing) on the class wall
        class_views.submit_from_predict(steps.steps[0][1], info)
    return steps, inspection
