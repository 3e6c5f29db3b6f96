"""Train: pick data and an architecture, start, and watch it learn, all above the fold.

The job is a `cnn.training.TrainingJob` kept in session state, so switching pages and coming
back keeps it; a fragment polls it every second while it runs and draws the end of the
training itself, so no rerun can hide it. The Start row and the live view are drawn into
containers placed at the top, filled once the settings below are known.
"""

import streamlit as st

from cnn import architectures, datasets, training
from cnn.i18n import tr
from ui import (
    arch_diagram,
    arch_editor,
    dataset_picker,
    glossary,
    lesson,
    loaders,
    state,
    step_views,
    train_form,
    training_view,
)

st.title(tr("Train a CNN"))
job = state.training_job()
running = job is not None and not job.done
link, locked = (
    lesson.current(),
    lesson.locked(),
)  # a lesson link's setup, and whether it hides controls

data_col, preset_col = st.columns([3, 2])
with data_col:
    choice = dataset_picker.dataset_source_ui(train_form.TRAIN_DATASET, default=link.dataset)
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
    # a set made in the browser of drawings loads as digits (28x28, the MNIST method)
    info, class_names, train_size = own.info, own.class_names, len(own.train)
else:  # Quick's epochs depend on how many images there are (the embedded 5,000 or all)
    train_size = loaders.train_size(picked.key)
preset_name = preset_col.radio(
    tr("Preset"),
    list(training.PRESETS),
    list(training.PRESETS).index(link.preset or "Quick"),
    format_func=tr,
    horizontal=True,
    help=tr(
        "Quick: done in well under a minute. Full: the strong recipe (minutes). Both adapt "
        "to how many images there are."
    ),
    disabled=locked,
)
preset = {**training.preset_settings(preset_name, info.kind, train_size), **link.settings}
controls = st.container()  # architecture, Start and Stop: filled below, shown here
live_above = st.container()  # a training's live view, right under Start once there is one
described = st.container()  # the lesson link, the architecture's caption and its diagram
live_below = st.container()  # (before any training, the diagram comes first)

settings_box = tr("Settings: epochs, batch size, learning rate...")
with st.expander(settings_box) if not locked else st.empty():
    settings = train_form.train_settings_ui(info, preset, shown=not locked)
input_shape = training.input_shape_for(training.TrainConfig(**settings), info)
arch_keys = list(architectures.REGISTRY)
with controls:
    arch_col, start_col, stop_col = st.columns([3, 1, 1], vertical_alignment="bottom")
    arch_key = arch_col.selectbox(
        tr("Architecture"),
        arch_keys,
        arch_keys.index(link.arch or preset["arch"]),
        format_func=lambda k: tr(architectures.REGISTRY[k].title),
        key=f"arch-{preset_name}-{info.key}",
        disabled=locked,
    )
base_spec = train_form.lesson_spec(link, arch_key) or architectures.REGISTRY[arch_key].spec(
    input_shape, len(class_names)
)
spec = base_spec
if not locked:
    with st.expander(tr("Edit the layers (add, remove or change them)")):
        spec = arch_editor.architecture_editor_ui(base_spec, key=f"{arch_key}-{input_shape}")
try:
    layers = spec.shapes(input_shape, len(class_names))
except architectures.SpecError as err:
    controls.error(str(err))
    st.stop()
with described:
    setup = train_form.train_setup(info, arch_key, spec, preset_name, settings, link)
    lesson.sync_and_share_ui(setup)
    arch_editor.architecture_caption_ui(spec, base_spec, layers, len(class_names))
    st.plotly_chart(arch_diagram.architecture_diagram(layers), key="architecture")
with st.expander(tr("Every layer in numbers")):
    rows = [{tr(k): v for k, v in row.items()} for row in architectures.summary_rows(layers)]
    st.dataframe(rows, hide_index=True, width="stretch")
glossary.explain_ui("loss")

config = training.TrainConfig(
    dataset=info.key, data=data_path, arch=arch_key, spec=spec.to_dict(), **settings
)
# Start's callback only asks; the job starts here, with every setting of this run, and the
# buttons are drawn after it, so Start is disabled at once
if (asked_at := state.take_flag(training_view.START)) is not None:
    probes = training_view.drawing_probe(state.latest_drawing(), info, input_shape)
    if problem := training_view.start_training(config, probes, asked_at, train_size):
        controls.error(problem)
    job = state.training_job()
    running = job is not None and not job.done
start_col.button(
    tr("Start training"),
    type="primary",
    disabled=running,
    width="stretch",
    on_click=state.raise_flag,
    args=(training_view.START,),
)
stop_col.button(
    tr("Stop"),
    disabled=not running or job.stopping,
    width="stretch",
    on_click=training_view.stop_training,
)
with live_above if job is not None else live_below:
    training_view.live_training_view(class_names)
with st.expander(tr("Train one step at a time: press Step and see what changed")):
    step_views.step_ui(config)
