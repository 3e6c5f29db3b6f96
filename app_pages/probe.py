"""Probe: test what the tutorials claim on the input Predict prepared.

Does pooling make it tolerate shifts? Does augmentation make it robust? What did it learn?
Four tabs vary the input and watch the answer, cover parts of it, find the training images
the model finds alike, and look for the smallest change that fools it. Only the open tab
runs (st.tabs with on_change="rerun"), so a student pays only for what they look at.
"""

import streamlit as st

from cnn import artifacts
from ui import figures, loaders, probes, state

st.title("Probe the model")
active = state.active_run()
current = state.current_input(active) if active else None
if current is None:
    st.info(
        "Draw, upload or pick an image on Predict first: this page takes the input "
        "Predict prepared and looks further into it."
    )
    st.page_link("app_pages/predict.py", label="Go to Predict", icon=":material/draw:")
    st.stop()
try:
    loaded = loaders.load_run(active)
except artifacts.ArtifactError as err:
    st.error(str(err))
    st.stop()

image = current.steps.input
class_names = loaded.class_names
inspection = loaders.inspect_image(loaded, image, None)
answer = inspection.predicted_class
picture, about = st.columns([1, 8], vertical_alignment="center")
picture.image(figures.framed(image, 96), width=96)
about.markdown(
    f"Model **{loaded.run.info.title}** says **{class_names[answer]}** "
    f"({inspection.probabilities[answer]:.1%}) for your "
    f"{probes.SOURCE_WORDS.get(current.source, 'input')}: the model input Predict made "
    "(left). Every probe below starts from it."
)

change, cover, alike, fool = st.tabs(
    ["Change it", "Cover it", "Training images alike", "Fool it"],
    key="probe-tab",
    on_change="rerun",
)
if change.open:
    with change:
        st.caption(
            "Does it still work if the picture moves, turns, grows or gets noisy? "
            "Find the amount where the answer flips."
        )
        probes.sweep_ui(loaded, image)
if cover.open:
    with cover:
        st.caption("Where does it look? Cover one spot at a time and watch the answer.")
        probes.occlusion_ui(loaded, image, inspection)
if alike.open:
    with alike:
        st.caption(
            "Which training images does the model think this one is like? A student sees "
            "why a 4 was called a 9."
        )
        probes.nearest_ui(loaded, image)
if fool.open:
    with fool:
        st.caption("How small a change makes it answer something else?")
        probes.attack_ui(loaded, image)
