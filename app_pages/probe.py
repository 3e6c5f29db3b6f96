"""Probe: test what the tutorials claim on the input Predict prepared.

Does pooling make it tolerate shifts? Does augmentation make it robust? What did it learn?
Four tabs vary the input and watch the answer, cover parts of it, find the training images
the model finds alike, and look for the smallest change that fools it. Only the open tab
runs (st.tabs with on_change="rerun"), so a student pays only for what they look at.
"""

import streamlit as st

from cnn import artifacts
from cnn.i18n import N_, tr
from ui import answer, loaders, pictures, probes, state

PREDICT_PAGE = "app_pages/predict.py"

st.title(tr("Probe the model"))
active = state.active_run()
current = state.current_input(active) if active else None
if current is None:
    st.info(
        tr(
            "Draw, upload or pick an image on Predict first: this page takes the input "
            "Predict prepared and looks further into it."
        )
    )
    st.page_link(PREDICT_PAGE, label=tr("Go to Predict"), icon=":material/draw:")
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
picture.image(
    pictures.framed(image, 96),
    width=96,
    alt=tr("The picture every probe starts from; the model says {name}.").format(
        name=class_names[top]
    ),
)
about.markdown(
    probes.joined(
        tr("Model **{title}** says {answer}.").format(
            title=loaded.run.info.title, answer=answer.answer_words(class_names[top], shown[top])
        ),
        tr(probes.SOURCE_SENTENCES.get(current.source, probes.SOURCE_SENTENCES[""])),
    )
)

# Each tab: the question it answers, and what draws it
TABS = {
    N_("Change it"): (
        N_(
            "Does it still work if the picture moves, turns, grows or gets noisy? "
            "Find the amount where the answer flips."
        ),
        lambda: probes.sweep_ui(loaded, image),
    ),
    N_("Cover it"): (
        N_("Where does it look? Cover one spot at a time and watch the answer."),
        lambda: probes.occlusion_ui(loaded, image, inspection),
    ),
    N_("Training images alike"): (
        N_(
            "Which training images does the model think this one is like? A student sees "
            "why a 4 was called a 9."
        ),
        lambda: probes.nearest_ui(loaded, image),
    ),
    N_("Fool it"): (
        N_("How small a change makes it answer something else?"),
        lambda: probes.attack_ui(loaded, image),
    ),
}
tabs = st.tabs([tr(name) for name in TABS], key="probe-tab", on_change="rerun")
for tab, (question, draw) in zip(tabs, TABS.values(), strict=True):
    if tab.open:
        with tab:
            st.caption(tr(question))
            draw()
