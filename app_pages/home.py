"""Home: what CNN Lab is, lessons to start, a tour of the pages, the active model and which
datasets are here.

Imports no TensorFlow (cold start in about two seconds).
"""

import pandas as pd
import streamlit as st

from cnn import artifacts, datasets, i18n
from cnn.i18n import N_, tr, trn
from ui import lesson_catalog, lesson_library, state

START_LESSONS = 3  # lessons offered right on Home; the Lessons page lists them all
LESSONS_PAGE = "app_pages/lessons.py"

st.title("CNN Lab")
st.markdown(
    tr(
        "Learn how a **convolutional neural network** classifies images: train one live, draw "
        "a digit or upload a photo, and look inside the network at every layer."
    )
)

st.header(tr("Start a lesson"))
st.markdown(
    tr(
        "A lesson leads you through the pages step by step: you predict what your own network "
        "will do, then CNN Lab measures it. Teachers: each lesson has a link and a QR code for "
        "the class on the Lessons page."
    )
)
offered = lesson_library.all_lessons()[:START_LESSONS]
for plan, column in zip(offered, st.columns(START_LESSONS), strict=False):
    with column.container(border=True, height="stretch"):
        st.markdown(f"**{plan.title}**")
        st.caption(lesson_catalog.about(plan))
        lesson_catalog.start_button(plan, "home")
st.page_link(LESSONS_PAGE, label=tr("All lessons, links for your class and your own "
             "lesson files"), icon=":material/school:")  # fmt: skip

st.header(tr("Tour"))
tour = [
    (
        "app_pages/train.py",
        N_("Train"),
        ":material/model_training:",
        N_(
            "pick a dataset and an architecture, start, and watch it "
            "learn: curves, what it reads now."
        ),
    ),
    (
        "app_pages/predict.py",
        N_("Predict"),
        ":material/draw:",
        N_(
            "draw or upload an image: the answer beside it, how sure, "
            "where it looked, feature maps."
        ),
    ),
    (
        "app_pages/inside.py",
        N_("Look inside"),
        ":material/visibility:",
        N_("the whole network at a glance, and every number of one convolution, checked."),
    ),
    (
        "app_pages/probe.py",
        N_("Probe"),
        ":material/science:",
        N_(
            "shift, turn or cover your input, find the training images "
            "it resembles, fool the model."
        ),
    ),
    (
        "app_pages/models.py",
        N_("Models"),
        ":material/leaderboard:",
        N_("compare runs, replay how one learned, where it goes wrong, how honest it is; export."),
    ),
    (
        "app_pages/data.py",
        N_("Data"),
        ":material/photo_library:",
        N_("browse a dataset: samples per class, class counts, augmentation."),
    ),
    (
        "app_pages/make.py",
        N_("Make a dataset"),
        ":material/brush:",
        N_("draw, photograph or upload your own classes, then train on them."),
    ),
]
for path, title, icon, what in tour:
    link, text = st.columns([1, 4], vertical_alignment="center")
    link.page_link(path, label=tr(title), icon=icon)
    text.markdown(tr(what))

st.header(tr("Active model"))
active = state.active_run()
info = artifacts.read_run_info(active) if active else None
if info is not None and info.ok:
    st.success(tr("**{title}** — used by Predict and Models.").format(title=info.title))
else:
    runs = [r for r in artifacts.list_runs() if r.ok]
    st.info(
        trn(
            "No model chosen yet. {n} ready-made run can be picked on Predict, or train your own.",
            "No model chosen yet. {n} ready-made runs can be picked on Predict, or train your own.",
            len(runs),
        )
    )

st.header(tr("Datasets"))
table = pd.DataFrame(
    {
        tr("dataset"): tr(a.title),
        tr("classes"): i18n.number(a.classes),
        tr("available"): tr("yes") if a.available else tr("no"),
        tr("source"): a.source,
        tr("detail"): a.detail,
    }
    for a in datasets.list_datasets()
)
st.table(table.set_index(tr("dataset")))  # a table wraps its long sources and details: none is cut
