"""Look inside: the whole network for the input Predict prepared, and every number of one value.

Works for any run: its model is checked against its recorded architecture, and one
compiled pass over every layer (remembered per input) feeds both views.
"""

import streamlit as st

from cnn import artifacts
from cnn.explain import ExplainError
from cnn.i18n import N_, tr
from ui import answer, arithmetic, backprop_views, inside_views, loaders, network, state

st.title(tr("Look inside"))
active = state.active_run()
current = state.current_input(active) if active else None
if current is None:
    st.info(
        tr(
            "This page looks inside the model while it reads one picture: first draw, upload "
            "or pick one on Predict."
        )
    )
    st.page_link(
        page="app_pages/predict.py", label=tr("Give the model a picture"), icon=":material/draw:"
    )
    st.stop()

try:
    loaded = loaders.load_run(active)
    explainer = inside_views.explainer(loaded)
except (artifacts.ArtifactError, ExplainError) as err:
    st.error(str(err))
    st.stop()
forward = inside_views.forward(loaded, explainer, current.steps.input)
record = loaded.run.record
top, shown = answer.shown_answer(loaders.inspect_image(loaded, current.steps.input, None), record)
SOURCE_WORDS = {  # the input source (an English key) as this caption says it
    "Draw": N_("Model **{model}**, reading the picture drawn on Predict: it says {answer}."),
    "Upload": N_("Model **{model}**, reading the picture uploaded on Predict: it says {answer}."),
    "Samples": N_("Model **{model}**, reading the sample picked on Predict: it says {answer}."),
}
said = tr(SOURCE_WORDS.get(current.source, SOURCE_WORDS["Samples"])).format(
    model=loaded.run.info.title, answer=answer.answer_words(loaded.class_names[top], shown[top])
)
if record.config.mirror:
    said += " " + tr(
        "The layers below follow the picture's own reading; the answer also reads its mirror "
        "image and averages the two (this run's test-time augmentation), so they can differ."
    )
st.caption(said)
inside_views.glossary_ui()

overview_tab, value_tab, learn_tab, table_tab = st.tabs(
    [
        tr("The whole network"),
        tr("One value, every number"),
        tr("One weight learns"),
        tr("Layer by layer"),
    ]
)
with overview_tab:
    network.network_ui(explainer, forward, loaded.class_names, record.calibration, shown)
with value_tab:
    arithmetic.arithmetic_ui(explainer, forward)
with learn_tab:
    backprop_views.backprop_ui(loaded, current.steps.input, top)
with table_tab:
    arithmetic.layer_table_ui(explainer)
