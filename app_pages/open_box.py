"""Open the box: what the active run's filters and classes want to see, and weight surgery
on a copy of it."""

import streamlit as st

from cnn import artifacts
from ui import loaders, state, surgery_views, visualize_views

st.title("Open the box")
active = state.active_run()
if active is None:
    st.info("Pick or train a model first: this page opens up the active one.")
    st.page_link("app_pages/models.py", label="Choose a model", icon=":material/leaderboard:")
    st.stop()
try:
    loaded = loaders.load_run(active)
except artifacts.ArtifactError as err:
    st.error(str(err))
    st.stop()
st.caption(f"Model **{loaded.run.info.title}**.")

wants_tab, surgery_tab = st.tabs(["What a filter wants to see", "Weight surgery"])
with wants_tab:
    visualize_views.visualize_ui(loaded)
with surgery_tab:
    surgery_views.surgery_ui(loaded)
