"""Probe: test what the tutorials claim on the input Predict prepared.

Does pooling make it tolerate shifts? Does augmentation make it robust? What did it learn?
Four tabs vary the input and watch the answer, cover parts of it, find the training images
the model finds alike, and look for the smallest change that fools it. Only the open tab
runs (st.tabs with on_change="rerun"), so a student pays only for what they look at.
"""

import streamlit as st

from cnn import artifacts
from ui import answer, loaders, pictures, probes, state

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
top, shown = answer.shown_answer(inspection, loaded.run.record)
picture, about = st.columns([1, 8], vertical_alignment="center")
picture.image(pictures.framed(image, 96), width=96)
about.markdown(
    f"Model **{loaded.run.info.title}** says {answer.answer_words(class_names[top], shown[top])}"
    f". Your {probes.SOURCE_WORDS.get(current.source, 'input')} (left) is the model input "
    "Predict made; every probe below starts from it."
)

# Each tab: the question it answers, and what draws it
TABS = {
    "Change it": (
        "Does it still work if the picture moves, turns, grows or gets noisy? "
        "Find the amount where the answer flips.",
        lambda: probes.sweep_ui(loaded, image),
    ),
    "Cover it": (
        "Where does it look? Cover one spot at a time and watch the answer.",
        lambda: probes.occlusion_ui(loaded, image, inspection),
    ),
    "Training images alike": (
        "Which training images does the model think this one is like? A student sees "
        "why a 4 was called a 9.",
        lambda: probes.nearest_ui(loaded, image),
    ),
    "Fool it": (
        "How small a change makes it answer something else?",
        lambda: probes.attack_ui(loaded, image),
    ),
}
tabs = st.tabs(list(TABS), key="probe-tab", on_change="rerun")
for tab, (question, draw) in zip(tabs, TABS.values(), strict=True):
    if tab.open:
        with tab:
            st.caption(question)
            draw()
