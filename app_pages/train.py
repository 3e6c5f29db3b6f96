"""Train: pick data and an architecture, edit its layers, train in the background, watch live.

The job is a `cnn.training.TrainingJob` kept in session state, so switching pages and coming
back keeps it; a fragment polls it every second while it runs.
"""

import streamlit as st

from cnn import architectures, artifacts, datasets, training
from ui import figures, loaders, state, widgets

st.title("Train a CNN")
job = state.training_job()
running = job is not None and not job.done

choice = widgets.dataset_source_ui("train-dataset")
if choice is None:
    st.stop()
picked, data_path = choice
info = datasets.REGISTRY[picked.key]
class_names, train_size = info.class_names, None
if data_path is not None:
    try:
        own = loaders.load_dataset(picked.key, data_path)
    except datasets.DatasetError as err:
        st.error(str(err))
        st.stop()
    class_names, train_size = own.class_names, len(own.train)
preset_name = st.radio(
    "Preset",
    list(training.PRESETS),
    horizontal=True,
    help="Quick: a few thousand images, done in well under a minute.",
)
preset = training.preset_settings(preset_name, info.kind, train_size)
settings = widgets.train_settings_ui(info, preset)

# Architecture: a registry entry whose layers can be edited (then it becomes "custom")
input_shape = training.input_shape_for(training.TrainConfig(**settings), info)
num_classes = len(class_names)
arch_keys = list(architectures.REGISTRY)
arch_key = st.selectbox(
    "Architecture",
    arch_keys,
    arch_keys.index(preset["arch"]),
    format_func=lambda k: architectures.REGISTRY[k].title,
    key=f"arch-{preset_name}-{info.key}",
)
st.caption(architectures.REGISTRY[arch_key].description)
base_spec = architectures.REGISTRY[arch_key].spec(input_shape, num_classes)
with st.expander("Layers (add, remove or change them)"):
    spec = widgets.architecture_editor_ui(base_spec, key=f"{arch_key}-{input_shape}")
try:
    spec.validate(input_shape)
except architectures.SpecError as err:
    st.error(str(err))
    st.stop()
with st.expander("Model summary", expanded=True):
    widgets.model_summary_ui(spec, input_shape, num_classes)

config = training.TrainConfig(
    dataset=info.key, data=data_path, arch=arch_key, spec=spec.to_dict(), **settings
)
start_col, stop_col = st.columns(2)
if start_col.button("Start training", type="primary", disabled=running, width="stretch"):
    try:
        config.validate()
    except training.TrainingError as err:
        st.error(str(err))
        st.stop()
    probes = widgets.drawing_probe(state.latest_drawing(), info, input_shape)
    job = training.TrainingJob(config, artifacts.user_runs_dir(), extra_probes=probes).start()
    state.start_training_job(job)
    running = True
if stop_col.button("Stop", disabled=not running, width="stretch"):
    job.stop()
if job is None:
    st.stop()

polling = not job.done


@st.fragment(run_every=1.0 if polling else None)
def live_training_view():
    """Drain the job's events and redraw progress and charts; rerun the page when it ends."""
    state.keep_events(job.drain())
    events = state.training_events()
    position = job.queue_position
    if position:
        st.info(f"Waiting for a free training slot: you are number {position} in line.")
    statuses = [e.message for e in events if e.kind not in ("batch", "epoch") and e.message]
    st.caption(f"State: **{job.state}**" + (f" — {statuses[-1]}" if statuses else ""))
    progress = [e for e in events if e.kind in ("batch", "epoch")]
    if progress:
        last = progress[-1]
        eta = f"{last.eta:.0f} s left" if last.eta is not None else ""
        speed = f"{last.samples_per_s:,.0f} images/s" if last.samples_per_s else ""
        st.progress(
            last.progress,
            text=f"Epoch {last.epoch}/{last.epochs} · batch "
            f"{last.step}/{last.steps} · {eta} · {speed}",
        )
        st.plotly_chart(figures.training_curves(events), key="live-curves")
    widgets.live_snapshot_ui(state.latest_snapshot(), class_names)
    if polling and job.done:
        state.adopt_trained_run(job.result)  # before the rerun, so the sidebar shows it
        st.rerun()


live_training_view()
result = job.result
if job.state == "failed" or (job.done and result is None):
    st.error(job.error or "The training ended without a result.")
    st.stop()
if not job.done:
    st.stop()
if result.save_error:
    st.error(result.save_error)
    widgets.model_download_ui(result.model, "Download the trained model (.keras)")
state.adopt_trained_run(result)
end_message = st.success if result.state == "finished" and not result.warning else st.warning
accuracy = result.test_accuracy
score = f" Test accuracy: **{accuracy:.1%}**." if accuracy is not None else ""
end_message(f"{result.message}{score} ({result.seconds:.0f} s in all)")
if result.run_dir:
    st.page_link("app_pages/predict.py", label="Try it on Predict", icon=":material/draw:")
