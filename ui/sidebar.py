"""The sidebar every page shares."""

from __future__ import annotations

import streamlit as st

from cnn import artifacts
from ui import state


def sidebar_ui() -> None:
    """The sidebar every page shares: the active model with a link to try it, this session's
    training, presenter mode."""
    from ui import language, presenter

    with st.sidebar:
        active = state.active_run()
        info = artifacts.read_run_info(active) if active else None
        if info is not None and info.ok:
            st.caption(f"Active model: **{info.title}**")
            digits = info.record.preprocessing.method == "digits"
            label = "Draw for it on Predict" if digits else "Show it a picture on Predict"
            st.page_link("app_pages/predict.py", label=label, icon=":material/draw:")
        else:
            st.caption("No active model yet: pick one on Predict or train one.")
        job = state.training_job()
        if job is not None:
            st.caption(f"Your training: **{job.state}**")
        presenter.toggle_ui()
        language.picker_ui()
