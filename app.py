"""CNN Lab: the router. Page setup, navigation and the sidebar every page shares.

Run with `streamlit run app.py`. This file imports no TensorFlow, so the home page shows in
about two seconds; pages that need Keras import it themselves.
"""

from pathlib import Path

import streamlit as st

from ui import lesson, presenter, runtime, widgets

st.set_page_config(page_title="CNN Lab", page_icon="🧠", layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/predict.py", title="Predict", icon=":material/draw:"),
    st.Page("app_pages/inside.py", title="Look inside", icon=":material/visibility:"),
    st.Page("app_pages/probe.py", title="Probe", icon=":material/science:"),
    st.Page("app_pages/models.py", title="Models", icon=":material/leaderboard:"),
    st.Page("app_pages/data.py", title="Data", icon=":material/photo_library:"),
    st.Page("app_pages/make.py", title="Make a dataset", icon=":material/draw_abstract:"),
]
page = st.navigation(PAGES)

lesson.read_link_once({Path(p._page).stem: p for p in PAGES})  # a lesson link, once a session
widgets.ensure_active_run()
widgets.sidebar_ui()  # a function: this module's globals outlive the run, so they hold nothing
presenter.style()
lesson.problems_ui()

runtime.light_keras_clear_session()
page.run()
