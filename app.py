"""CNN Lab: the router. Page setup, navigation and the sidebar every page shares.

Run with `streamlit run app.py`. This file imports no TensorFlow, so the home page shows in
about two seconds; pages that need Keras import it themselves.
"""

import streamlit as st

from cnn import artifacts
from ui import runtime, state

st.set_page_config(page_title="CNN Lab", page_icon="🧠", layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/predict.py", title="Predict", icon=":material/draw:"),
    st.Page("app_pages/models.py", title="Models", icon=":material/leaderboard:"),
    st.Page("app_pages/data.py", title="Data", icon=":material/photo_library:"),
    st.Page("app_pages/make.py", title="Make a dataset", icon=":material/draw_abstract:"),
]
page = st.navigation(PAGES)

with st.sidebar:
    active = state.active_run()
    info = artifacts.read_run_info(active) if active else None
    if info is not None and info.ok:
        st.caption(f"Active model: **{info.title}**")
        st.page_link("app_pages/predict.py", label="Draw for it on Predict", icon=":material/draw:")
    else:
        st.caption("No active model yet: pick one on Predict or train one.")
    job = state.training_job()
    if job is not None:
        st.caption(f"Your training: **{job.state}**")

runtime.freeze_after_heavy_imports()
page.run()
