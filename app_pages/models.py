"""Models: compare runs, see where a model goes wrong, download or delete runs.

Shipped runs (artifacts/) are read-only; only runs trained in this browser session can be
deleted.
"""

import json

import numpy as np
import streamlit as st

from cnn import architectures, artifacts
from ui import figures, loaders, state, widgets

st.title("Models")
runs = widgets.runs_or_stop_ui()
st.dataframe(
    widgets.runs_table(runs),
    hide_index=True,
    width="stretch",
    column_config={
        "test accuracy": st.column_config.ProgressColumn(
            "test accuracy", format="percent", min_value=0, max_value=1
        )
    },
)
good = [r for r in runs if r.ok]
if not good:
    st.info("Every run listed is broken (see the error column).")
    st.stop()

st.subheader("Training curves")
compared = st.multiselect("Runs to compare", good, default=good[:2], format_func=lambda r: r.title)
if compared:
    st.plotly_chart(figures.run_curves({r.title: r.record.history for r in compared}))

st.subheader("One run in detail")
info = widgets.run_picker_ui(good, label="Run")
test = info.record.test
class_names = info.record.class_names
if test.confusion:
    matrix, per_class = st.columns([3, 2])
    with matrix:
        st.caption("Click a cell to see its misclassified images.")
        clicked = st.plotly_chart(
            figures.confusion_heatmap(np.array(test.confusion), class_names),
            on_select="rerun",
            selection_mode="points",
            key="confusion",
        )
    per_class.plotly_chart(figures.per_class_accuracy(test.per_class))
    points = clicked.selection.points if clicked else []
    cell = (points[0]["y"], points[0]["x"]) if points else None

    errors = artifacts.load_errors(info.path)
    if errors is None or not len(errors["true"]):
        st.info("This run kept no misclassified test images.")
    else:
        shown = [
            i
            for i in range(len(errors["true"]))
            if cell is None
            or (class_names[errors["true"][i]], class_names[errors["predicted"][i]]) == cell
        ]
        where = f" (true {cell[0]}, predicted {cell[1]})" if cell else ""
        kept = len(errors["true"])
        st.markdown(f"**Misclassified test images{where}**: {len(shown)} of the {kept} kept")
        if shown:
            st.image(
                [figures.framed(errors["images"][i], 72) for i in shown],
                caption=[
                    f"{class_names[errors['true'][i]]} → {class_names[errors['predicted'][i]]}"
                    for i in shown
                ],
            )

st.subheader("How it learned: the time-lapse")
lapse = loaders.load_timelapse(info.path)
if lapse is None or info.record.timelapse is None:
    st.info("This run was trained without a time-lapse. Runs trained now record one.")
else:
    probes = info.record.timelapse.probes
    probe_col, layer_col = st.columns(2)
    probe = probe_col.selectbox(
        "Follow the input", range(len(probes)), format_func=lambda i: probes[i]["label"]
    )
    layer = layer_col.selectbox("Feature maps of", list(lapse.maps)) if lapse.maps else None
    label = "your drawing" if probes[probe]["class"] < 0 else f"a {probes[probe]['label']}"
    figure = loaders.timelapse_figure(
        str(info.path), probe, layer, label, lapse, tuple(class_names)
    )
    st.plotly_chart(figure, key="timelapse")
    st.caption(
        f"{len(lapse)} snapshots, a few in the first epoch (when most of the learning "
        "happens), then one per epoch. Press Play, or drag the slider."
    )

with st.expander("Model summary"):
    record = info.record
    if record.spec is None:
        st.info("This run's record holds no architecture description.")
    else:
        layers = record.spec.shapes(tuple(record.input_shape), len(record.class_names))
        st.dataframe(architectures.summary_rows(layers), hide_index=True, width="stretch")

model_col, record_col, delete_col = st.columns(3)
model_col.download_button(
    "Download model.keras",
    (info.path / artifacts.MODEL_FILE).read_bytes(),
    file_name=f"{info.name}.keras",
    on_click="ignore",
)
record_col.download_button(
    "Download run.json",
    json.dumps(info.record.to_dict(), indent=1),
    file_name=f"{info.name}.json",
    mime="application/json",
    on_click="ignore",
)
if str(info.path) in state.session_runs():
    if delete_col.button("Delete this run", type="secondary", icon=":material/delete:"):
        try:
            artifacts.delete_run(info.path)
        except artifacts.ArtifactError as err:
            st.error(str(err))
            st.stop()
        state.session_runs().discard(str(info.path))
        st.rerun()
else:
    delete_col.caption("Read-only: only runs trained in this session can be deleted here.")
