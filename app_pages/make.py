"""Make a dataset: name 2-10 classes, add examples by drawing, camera or upload, prune them,
then train a small CNN on it right here (or on Train, "Your own images", with every setting)
or download it as a .zip.

Drawings are stored as the 28 x 28 MNIST-style image Predict makes of a drawing, so a model
trained here reads new drawings on Predict through the very same steps. The dataset lives in
this browser session's private folder and is bounded (`cnn.datasets.builder`).
"""

import streamlit as st

from cnn import i18n
from cnn.datasets import builder
from cnn.i18n import tr
from ui import maker

st.title(tr("Make a dataset"))
st.markdown(
    tr(
        "Invent a few classes (arrows, smileys, letters, your own symbols), draw or photograph "
        "examples of each, and train a CNN on them. Sketch each example a little differently: "
        "the model learns what stays the same."
    )
)

made = maker.made_dataset()
if made is None or not made.classes:
    kind = st.radio(tr("What will it hold?"), list(maker.KIND_TITLES), format_func=maker.kind_title)
    if maker.new_class_ui(made, kind):
        st.rerun()  # the page with its first class: the canvas beside the class picker
    st.info(
        tr("Name your first class: {least} to {most} in all.").format(
            least=i18n.number(builder.MIN_CLASSES), most=i18n.number(builder.MAX_CLASSES)
        )
    )
    st.stop()

st.header(tr("Add examples"))
maker.add_examples_ui(made)

st.header(tr("Your examples"))
counts = made.counts()
total = sum(counts.values())
st.caption(
    tr(
        "Holds **{kind}**: {total} of at most {most} examples, {size} of {limit} MB. "
        "Delete the ones that went wrong with ✕."
    ).format(
        kind=maker.kind_title(made.kind),
        total=i18n.number(total),
        most=i18n.number(builder.MAX_EXAMPLES),
        size=maker.size_text(made.used_bytes()),
        limit=i18n.number(builder.MAX_BYTES // 1024**2),
    )
)
maker.examples_ui(made)

st.header(tr("Train on it"))
problems = made.problems()
if problems:
    st.info(problems[0])
else:
    note = made.balance_note()
    if note:
        st.warning(note)
    maker.train_here_ui(made)

download_col, reset_col = st.columns(2)
download_col.download_button(
    tr("Download the dataset (.zip)"),
    made.zip_bytes,
    file_name="my_dataset.zip",
    mime="application/zip",
    on_click="ignore",
    icon=":material/download:",
    help=tr("Class folders plus dataset.json; upload it again under Your own images."),
)
with reset_col.popover(tr("Start over"), icon=":material/restart_alt:"):
    st.button(tr("Delete every class and example"), on_click=maker.start_over, type="primary")
