"""Predict: draw, upload or pick an image; the answer beside it; what the model saw inside.

The model and its Inspector are cached per server, so a rerun costs one compiled forward
pass, never `model.predict`; "Where it looked" is a tested map, remembered per input.
"""

import streamlit as st

from cnn import artifacts, preprocess
from cnn.lesson import Lesson
from ui import (
    answer,
    class_runs,
    class_views,
    inputs,
    lesson,
    loaders,
    pictures,
    predict_views,
    presenter,
    run_picker,
    saliency_views,
    state,
)

st.title("Predict")
runs = run_picker.runs_or_stop_ui()
link, locked = lesson.current(), lesson.locked()  # a lesson link's setup
model_col, source_col = st.columns([3, 2], vertical_alignment="bottom")
with model_col:
    # a class's shared runs too, for a student who joined (their own) or its teacher (all)
    info = run_picker.run_picker_ui(runs, locked=locked, shared=class_runs.choices())
if not info.ok:
    st.error(f"This run is broken and cannot be used: {info.error}")
    st.stop()
try:
    loaded = loaders.load_run(info.path)
except artifacts.ArtifactError as err:
    st.error(str(err))
    st.stop()
record, class_names, preprocessing = info.record, loaded.class_names, loaded.run.preprocessing
# a model opens on its own default input (digits: the canvas; photos: samples); a lesson link
# asks for another only for the model it names, so picking another model leaves its source
asked = link.source if link.run in (None, info.name) else None
sources = inputs.sources_for(record, asked)
first = asked if asked in sources else sources[0]
if not locked:
    source = (
        source_col.segmented_control(
            "Input", sources, default=first, key="source-" + "-".join(sources)
        )
        or first
    )
else:
    source = first
with source_col:
    setup = Lesson(page="predict", run=info.name, source=source, lock=locked, present=link.present)
    lesson.sync_and_share_ui(setup)

input_col, answer_col = st.columns(2, gap="large")
with input_col:
    try:
        picked = inputs.input_ui(source, record, preprocessing)
        problem = None
    except preprocess.PreprocessError as err:
        picked, problem = None, err
with answer_col:
    if isinstance(problem, preprocess.NothingDrawn):
        st.info(f"{inputs.draw_prompt(record)} to see a prediction. ({problem})")
        st.stop()
    if problem is not None:
        st.error(str(problem))
        st.stop()
    if picked is None:
        prompt = inputs.draw_prompt(record) if source == "Draw" else "Give the model a picture"
        st.info(f"{prompt} to see its prediction here.")
        st.stop()
    steps = picked.steps
    state.set_current_input(state.CurrentInput(str(info.path), steps, source, picked.label))
    # One compiled pass (remembered per input): probabilities and activations
    inspection = loaders.inspect_image(loaded, steps.input, None)
    answer.answer_ui(inspection, record, class_names, picked.label, loaded.run.gaussian)
    # in a class: one click puts the picture as given (before preparing) on the class wall
    class_views.submit_from_predict(steps.steps[0][1], info)

st.subheader("What the model receives")
st.image(
    [pictures.framed(image, presenter.px(pictures.STEP_PX)) for _, image in steps.steps],
    caption=[title for title, _ in steps.steps],
    width=presenter.px(pictures.STEP_PX),
)
for note in steps.notes:
    st.caption(f":material/info: {note}")

st.subheader("Inside the network")
# only the open tab is drawn: the map costs about a second of RISE per new input
tabs = st.tabs(
    ["Where it looked", "Feature maps", "Learned filters"], key="inside-tab", on_change="rerun"
)
if tabs[0].open:
    with tabs[0]:
        saliency_views.where_it_looked_ui(loaded, steps.input, class_names)
if tabs[1].open:
    with tabs[1]:
        predict_views.feature_maps_ui(inspection, record)
if tabs[2].open:
    with tabs[2]:
        predict_views.filters_ui(loaded.filter_images)
predict_views.more_on_this_input_ui()
