"""Home: what CNN Lab is, lessons to start, a tour of the pages, the active model and which
datasets are here.

Imports no TensorFlow (cold start in about two seconds).
"""

import pandas as pd
import streamlit as st

from cnn import artifacts, datasets
from ui import lesson_catalog, lesson_library, state

START_LESSONS = 3  # lessons offered right on Home; the Lessons page lists them all

st.title("CNN Lab")
st.markdown(
    "Learn how a **convolutional neural network** classifies images: train one live, draw a "
    "digit or upload a photo, and look inside the network at every layer."
)

st.subheader("Start a lesson")
st.markdown(
    "A lesson leads you through the pages step by step: you predict what your own network "
    "will do, then CNN Lab measures it. Teachers: each lesson has a link and a QR code for "
    "the class on the Lessons page."
)
offered = lesson_library.all_lessons()[:START_LESSONS]
for plan, column in zip(offered, st.columns(START_LESSONS), strict=False):
    with column.container(border=True, height="stretch"):
        st.markdown(f"**{plan.title}**")
        st.caption(lesson_catalog.about(plan))
        lesson_catalog.start_button(plan, "home")
st.page_link("app_pages/lessons.py", label="All lessons, links for your class and your own "
             "lesson files", icon=":material/school:")  # fmt: skip

st.subheader("Tour")
tour = [
    (
        "app_pages/train.py",
        "Train",
        ":material/model_training:",
        "pick a dataset and an architecture, start, and watch it learn: curves, what it reads now.",
    ),
    (
        "app_pages/predict.py",
        "Predict",
        ":material/draw:",
        "draw or upload an image: the answer beside it, how sure, where it looked, feature maps.",
    ),
    (
        "app_pages/inside.py",
        "Look inside",
        ":material/visibility:",
        "the whole network at a glance, and every number of one convolution, checked.",
    ),
    (
        "app_pages/probe.py",
        "Probe",
        ":material/science:",
        "shift, turn or cover your input, find the training images it resembles, fool the model.",
    ),
    (
        "app_pages/models.py",
        "Models",
        ":material/leaderboard:",
        "compare runs, replay how one learned, where it goes wrong, how honest it is; export.",
    ),
    (
        "app_pages/data.py",
        "Data",
        ":material/photo_library:",
        "browse a dataset: samples per class, class counts, augmentation.",
    ),
    (
        "app_pages/make.py",
        "Make a dataset",
        ":material/brush:",
        "draw, photograph or upload your own classes, then train on them.",
    ),
]
for path, title, icon, what in tour:
    link, text = st.columns([1, 4], vertical_alignment="center")
    link.page_link(path, label=title, icon=icon)
    text.markdown(what)

st.subheader("Active model")
active = state.active_run()
info = artifacts.read_run_info(active) if active else None
if info is not None and info.ok:
    st.success(f"**{info.title}** — used by Predict and Models.")
else:
    runs = [r for r in artifacts.list_runs() if r.ok]
    st.info(
        f"No model chosen yet. {len(runs)} ready-made run(s) can be picked on Predict, "
        "or train your own."
    )

st.subheader("Datasets")
table = pd.DataFrame(
    {
        "dataset": a.title,
        "classes": a.classes,
        "available": "yes" if a.available else "no",
        "source": a.source,
        "detail": a.detail,
    }
    for a in datasets.list_datasets()
)
st.table(table.set_index("dataset"))  # a table wraps its long sources and details: none is cut
