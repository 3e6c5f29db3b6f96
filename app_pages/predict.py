"""Predict: draw, upload or pick an image, see what the model gets and what it sees inside.

The model and its Inspector are cached per server, so a rerun costs one compiled forward
pass (with Grad-CAM), never `model.predict`.
"""

import streamlit as st

from cnn import artifacts, preprocess
from ui import figures, inputs, loaders, state, widgets

STEP_PX = 120  # width of each preprocessing step on screen

st.title("Predict")
runs = widgets.runs_or_stop_ui()
info = widgets.run_picker_ui(runs)
if not info.ok:
    st.error(f"This run is broken and cannot be used: {info.error}")
    st.stop()
try:
    loaded = loaders.load_run(info.path)
except artifacts.ArtifactError as err:
    st.error(str(err))
    st.stop()
state.set_active_run(info.path)
class_names, preprocessing = loaded.class_names, loaded.run.preprocessing
is_digit_model = preprocessing["method"] == "mnist_digit"

# Input: exactly one of the three sources runs, so a rerun only pays for what is shown
source = st.segmented_control("Input", ["Draw", "Upload", "Samples"], default="Draw") or "Draw"
try:
    if source == "Draw":
        steps = inputs.drawing_input_ui(preprocessing)
    elif source == "Upload":
        steps = inputs.upload_input_ui(preprocessing)
    else:
        steps = inputs.sample_input_ui(info.record.dataset.key, preprocessing)
except preprocess.NothingDrawn as err:
    st.info(
        f"Draw a digit on the canvas to see a prediction. ({err})" if source == "Draw" else str(err)
    )
    st.stop()
except preprocess.PreprocessError as err:
    st.error(str(err))
    st.stop()
if steps is None:
    st.info(
        "Draw a digit on the canvas."
        if source == "Draw" and is_digit_model
        else "Give the model a picture to see a prediction."
    )
    st.stop()

state.set_current_input(state.CurrentInput(str(info.path), steps, source))

st.subheader("What the model receives")
st.image(
    [figures.framed(image, STEP_PX) for _, image in steps.steps],
    caption=[title for title, _ in steps.steps],
    width=STEP_PX,
)
for note in steps.notes:
    st.info(note)

# One compiled pass (remembered per input): probabilities, activations and Grad-CAM
verdict, explanation = st.columns([3, 2])
explained = explanation.selectbox(
    "Grad-CAM explains",
    [None, *range(len(class_names))],
    format_func=lambda c: "the top class" if c is None else class_names[c],
)
inspection = loaders.inspect_image(loaded, steps.input, explained)
top = inspection.predicted_class
verdict.metric(
    label="Prediction",
    value=class_names[top],
    delta=f"{inspection.probabilities[top]:.1%} sure",
    delta_color="off",
    delta_arrow="off",
)
verdict.plotly_chart(
    figures.probability_bars(inspection.probabilities, class_names), key="probabilities"
)
if inspection.gradcam is None:
    explanation.info(inspection.gradcam_reason)
else:
    explanation.image(
        figures.gradcam_overlay(steps.input, inspection.gradcam),
        caption=f"Where {inspection.gradcam_layer} looked for "
        f"'{class_names[inspection.gradcam_class]}' (red = most important)",
        width=280,
    )

st.subheader("Inside the network")
maps_tab, filters_tab = st.tabs(["Feature maps", "Learned filters"])
with maps_tab:
    layer_col, scale_col = st.columns(2)
    layers = {
        f"{a.name} ({a.kind}, {' x '.join(map(str, a.array.shape))})": a
        for a in inspection.activations
    }
    activation = layers[layer_col.selectbox("Layer", list(layers))]
    shared = scale_col.radio("Colour scale", ["shared", "per channel"], horizontal=True)
    st.image(
        figures.feature_map_mosaic(activation.array, shared == "shared"),
        caption=f"{activation.array.shape[-1]} channels of {activation.name} "
        "(yellow = strong, dark blue = weak)",
    )
with filters_tab:
    conv_name = st.selectbox("Conv layer", list(loaded.filter_images))
    st.image(
        figures.filter_mosaic(loaded.filter_images[conv_name]),
        caption=f"The learned kernels of {conv_name}, each scaled on its own",
    )
