"""Open the box: what the active run's filters and classes want to see, and weight surgery
on a copy of it."""

import streamlit as st

from cnn import artifacts
from cnn.i18n import tr
from ui import loaders, state, surgery_views, visualize_views

MODELS_PAGE = "app_pages/models.py"

st.title(tr("Open the box"))
active = state.active_run()
if active is None:
    st.info(tr("Pick or train a model first: this page opens up the active one."))
    st.page_link(MODELS_PAGE, label=tr("Choose a model"), icon=":material/leaderboard:")
    st.stop()
try:
    loaded = loaders.load_run(active)
except artifacts.ArtifactError as err:
    st.error(str(err))
    st.stop()
st.caption(tr("Model **{title}**.").format(title=loaded.run.info.title))

wants_tab, surgery_tab = st.tabs([tr("What a filter wants to see"), tr("Weight surgery")])
with wants_tab:
    visualize_views.visualize_ui(loaded)
with surgery_tab:
    surgery_views.surgery_ui(loaded)
