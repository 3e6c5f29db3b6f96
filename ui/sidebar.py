"""The sidebar every page shares."""

from __future__ import annotations

import streamlit as st

from cnn import artifacts
from cnn.i18n import N_, tr
from ui import state

PREDICT_PAGE = "app_pages/predict.py"
# a training's states (cnn.training.jobs), shown translated
JOB_STATES = (
    N_("created"),
    N_("queued"),
    N_("running"),
    N_("finished"),
    N_("stopped"),
    N_("failed"),
)


def sidebar_ui() -> None:
    """The sidebar every page shares: the active model with a link to try it, this session's
    training, presenter mode."""
    from ui import language, presenter

    with st.sidebar:
        active = state.active_run()
        info = artifacts.read_run_info(active) if active else None
        if info is not None and info.ok:
            st.caption(tr("Active model: **{title}**").format(title=info.title))
            digits = info.record.preprocessing.method == "digits"
            label = tr("Draw for it on Predict") if digits else tr("Show it a picture on Predict")
            st.page_link(PREDICT_PAGE, label=label, icon=":material/draw:")
        else:
            st.caption(tr("No active model yet: pick one on Predict or train one."))
        job = state.training_job()
        if job is not None:
            st.caption(tr("Your training: **{state}**").format(state=tr(job.state)))
        presenter.toggle_ui()
        language.picker_ui()
