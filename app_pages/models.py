"""Models: compare runs, name yours, see where a model goes wrong, how it learned and how
honest its confidence is; download or delete runs.

Shipped runs (artifacts/) are read-only; only runs trained in this browser session can be
named or deleted.
"""

import json

import streamlit as st

from cnn import artifacts, run_folders
from cnn.i18n import N_, tr
from ui import models_view, run_picker, state
from ui.exports import export_buttons_ui

st.title(tr("Models"))
runs = run_picker.runs_or_stop_ui()
models_view.runs_table_ui(runs)
good = [r for r in runs if r.ok]
if not good:
    st.info(tr("Every run listed is broken (see the error column)."))
    st.stop()

st.header(tr("Training curves"))
models_view.compare_ui(good)

st.header(tr("One run in detail"))
info = run_picker.run_picker_ui(good, label=N_("Run"))
models_view.name_ui(info)
mistakes, learned, confidence, files = st.tabs(
    [
        tr("Where it goes wrong"),
        tr("How it learned (time-lapse)"),
        tr("How sure it is"),
        tr("Layers and files"),
    ]
)
with mistakes:
    models_view.mistakes_ui(info)
with learned:
    models_view.teachers_caption_ui(info)
    models_view.timelapse_ui(info)
with confidence:
    models_view.confidence_ui(info)
with files:
    models_view.layer_table_ui(info)
    export_buttons_ui(info)
    model_col, record_col, delete_col = st.columns(3)
    model_col.download_button(
        tr("Download model.keras"),
        (info.path / artifacts.MODEL_FILE).read_bytes(),
        file_name=f"{info.name}.keras",
        on_click="ignore",
    )
    record_col.download_button(
        tr("Download run.json"),
        json.dumps(info.record.to_dict(), indent=1),
        file_name=f"{info.name}.json",
        mime="application/json",
        on_click="ignore",
    )
    if str(info.path) in state.session_runs():
        if delete_col.button(tr("Delete this run"), type="secondary", icon=":material/delete:"):
            try:
                run_folders.delete_run(info.path)
            except artifacts.ArtifactError as err:
                st.error(str(err))
                st.stop()
            state.session_runs().discard(str(info.path))
            st.rerun()
    else:
        delete_col.caption(tr("Read-only: only runs trained in this session can be deleted here."))
