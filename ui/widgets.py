"""Small `*_ui()` helpers the pages share: pickers, the architecture editor, tables.

Each helper draws a few widgets and returns plain values (a RunInfo, an Availability, an
ArchSpec); pages decide what to do with them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from cnn import architectures, artifacts, datasets
from cnn.architectures import ArchSpec, ConvBlock, DenseLayer
from ui import arch_diagram, state


def runs_or_stop_ui() -> list[artifacts.RunInfo]:
    """All runs (shipped and the user's); with none, a link to Train and the page stops."""
    runs = artifacts.list_runs()
    if not runs:
        st.info("There is no trained model yet: train one first.")
        st.page_link("app_pages/train.py", label="Train a model", icon=":material/model_training:")
        st.stop()
    return runs


def _is_digit_model(info: artifacts.RunInfo) -> bool:
    return info.record is not None and info.record.preprocessing.method == "digits"


def default_run(runs: list[artifacts.RunInfo]) -> artifacts.RunInfo | None:
    """The run a fresh session starts on: the newest digit model (a class starts by drawing)."""
    good = [r for r in runs if r.ok]
    return next((r for r in good if _is_digit_model(r)), good[0] if good else None)


def ensure_active_run() -> None:
    """Give a fresh session (or one whose run was deleted) the default run as its active model."""
    active = state.active_run()
    if active is None or not (active / artifacts.RECORD_FILE).is_file():
        run = default_run(artifacts.list_runs())
        if run is not None:
            state.set_active_run(run.path)


def run_picker_ui(
    runs: list[artifacts.RunInfo], label: str = "Model", locked: bool = False
) -> artifacts.RunInfo:
    """A selectbox over runs (shipped first, broken ones marked) that follows the active run.

    Picking a run makes it the active model at once (in the widget's callback, before the
    page and the sidebar draw). With no active run it starts on the newest digit model,
    since a class starts by drawing.
    """
    key = f"run-picker-{label}"
    paths = [str(r.path) for r in runs]
    active = str(state.active_run() or "")
    # the active run, as this rerun's object (a training or another page may have changed it)
    st.session_state[key] = runs[paths.index(active)] if active in paths else default_run(runs)
    if locked:  # a lesson fixes the model: say which, offer no choice
        st.caption(f"{label}: **{st.session_state[key].title}**")
        return st.session_state[key]

    def title(info: artifacts.RunInfo) -> str:
        return ("shipped · " if info.shipped else "") + info.title

    def adopt() -> None:
        state.set_active_run(st.session_state[key].path)

    return st.selectbox(label, runs, format_func=title, key=key, on_change=adopt)


def dataset_picker_ui(
    key: str, include_folder: bool = False, default: str | None = None
) -> datasets.Availability:
    """A selectbox over the dataset registry with where each one would come from, starting on
    the dataset `default` (a lesson link's) the first time it is drawn."""
    choices = [a for a in datasets.list_datasets() if include_folder or a.key != "folder"]
    if default is not None and key not in st.session_state:
        st.session_state[key] = next((a for a in choices if a.key == default), choices[0])

    def title(a: datasets.Availability) -> str:
        if a.key == "folder":
            return f"{a.title} (a .zip, or a set you made)"
        return a.title if a.available else f"{a.title} (not on this computer)"

    picked = st.selectbox("Dataset", choices, format_func=title, key=key)
    description = datasets.REGISTRY[picked.key].description
    if picked.key == "folder":
        st.caption(description)
    elif picked.available:
        st.caption(f"{description} From: {picked.source}. {picked.detail}")
    else:
        st.caption(f"{description} Needs: {picked.source}.")
    return picked


def folder_upload_ui(key: str) -> Path | None:
    """A .zip of class subfolders for the "Your own images" dataset; its private path or None."""
    upload = st.file_uploader(
        "A .zip with one folder of images per class (e.g. cats/, dogs/)", type=["zip"], key=key
    )
    if upload is None:
        st.info("Upload a .zip of class subfolders to use your own images.")
        return None
    return state.save_upload(upload.getvalue(), ".zip")


def dataset_source_ui(
    key: str, default: str | None = None
) -> tuple[datasets.Availability, str | None] | None:
    """Dataset picker plus, for "Your own images", the .zip upload.

    Returns:
        (the picked dataset, the uploaded .zip's path or None), or None when the choice cannot
        be used yet (a message saying why is shown).
    """
    picked = dataset_picker_ui(key, include_folder=True, default=default)
    if picked.key == "folder":
        made = state.own_dataset()
        if made is not None and st.toggle("Use the dataset you made", True, key=f"{key}-made"):
            return picked, str(made)
        path = folder_upload_ui(f"{key}-zip")
        return None if path is None else (picked, str(path))
    if not picked.available:
        st.info(f"{picked.title} is not available on this machine. {picked.detail}")
        return None
    return picked, None


# Short headers, narrow columns (pixels) and a tooltip each, so a conv block's 11 settings
# fit the editor's width on a 1280 px projector without scrolling sideways
COLUMNS = {  # field -> (header, width, what it means)
    "filters": ("filters", 70, "How many filters (output channels) each conv layer learns."),
    "kernel": ("kernel", 72, "Side of each square filter, in pixels (3 means 3x3)."),
    "stride": ("stride", 68, "How far the filter jumps between positions (2 halves the map)."),
    "padding": ("padding", 80, "'same' keeps the map's size, 'valid' shrinks it by kernel-1."),
    "activation": ("activation", 92, "The function after each conv layer (relu: negatives to 0)."),
    "convs": ("convs", 66, "How many conv layers the block has, one after another."),
    "batch_norm": ("BN", 50, "Batch normalisation between each conv layer and its activation."),
    "pool": ("pool", 62, "Pooling after the block: max, avg (average) or none."),
    "pool_size": ("size", 52, "Side of the pooling window, in pixels (2 halves the map)."),
    "dropout": ("dropout", 80, "Share of the block's outputs switched off at random in training."),
    "residual": ("skip", 52, "Add the block's input to its output (a ResNet shortcut)."),
    "units": ("units", None, "How many numbers (neurons) the dense layer outputs."),
}


def _column(name: str, default: Any, choices: dict[str, tuple] | None = None):
    """A data-editor column for one dataclass field, typed from its default value."""
    header, width, meaning = COLUMNS.get(name, (name, None, None))
    shown = {"width": width, "help": meaning}
    if choices and name in choices:
        return st.column_config.SelectboxColumn(
            header, options=list(choices[name]), default=default, required=True, **shown
        )
    if isinstance(default, bool):
        return st.column_config.CheckboxColumn(header, default=default, **shown)
    if isinstance(default, float):
        return st.column_config.NumberColumn(
            header, min_value=0.0, max_value=0.9, step=0.05, default=default, required=True,
            **shown,
        )  # fmt: skip
    return st.column_config.NumberColumn(
        header, min_value=1, step=1, default=default, required=True, **shown
    )


def _records_to(cls, records: list[dict]) -> list:
    """Data-editor rows back into dataclasses; empty cells take the field's default."""
    defaults = cls()
    items = []
    for row in records:
        values = {}
        for f in fields(cls):
            value = row.get(f.name)
            default = getattr(defaults, f.name)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                value = default
            values[f.name] = type(default)(value)
        items.append(cls(**values))
    return items


def _layer_editor(cls, items: list, key: str, choices: dict[str, tuple]) -> list:
    defaults = cls()
    columns = {f.name: _column(f.name, getattr(defaults, f.name), choices) for f in fields(cls)}
    frame = pd.DataFrame([asdict(i) for i in items], columns=list(columns))
    edited = st.data_editor(
        frame, column_config=columns, num_rows="dynamic", key=key, hide_index=True, width="stretch"
    )
    return _records_to(cls, edited.to_dict("records"))


def architecture_editor_ui(base: ArchSpec, key: str) -> ArchSpec:
    """Edit a spec's conv blocks, head and dense layers; rows can be added and removed.

    Returns the edited spec, named "custom" when it differs from `base`.
    """
    st.markdown("**Conv blocks** (each: `convs` conv layers, then pooling and dropout)")
    conv_choices = {
        "padding": architectures.PADDINGS,
        "activation": architectures.ACTIVATIONS,
        "pool": architectures.POOLS,
    }
    blocks = _layer_editor(ConvBlock, base.conv_blocks, f"{key}-conv", conv_choices)
    head = st.radio(
        "Head",
        architectures.HEADS,
        index=architectures.HEADS.index(base.head),
        horizontal=True,
        key=f"{key}-head",
        help="flatten keeps where things are; global_avg averages each channel.",
    )
    st.markdown("**Dense layers** (before the softmax output)")
    dense = _layer_editor(
        DenseLayer, base.dense, f"{key}-dense", {"activation": architectures.ACTIVATIONS}
    )
    edited = ArchSpec(blocks, head, dense, name=base.name)
    if edited.to_dict() != base.to_dict():
        edited.name = "custom"
    return edited


def architecture_caption_ui(spec: ArchSpec, base: ArchSpec, layers, num_classes: int) -> None:
    """One line under the architecture picker: what it is, whether it was edited, its size."""
    params = sum(layer.params for layer in layers)
    title = architectures.REGISTRY[base.name].title if base.name in architectures.REGISTRY else ""
    what = f"Custom (edited from {title})" if spec.name == "custom" else title
    shape = " x ".join(map(str, layers[0].shape))
    st.caption(f"**{what}** · input {shape} · {params:,} parameters · {num_classes} classes")


def model_download_ui(model: Any, label: str) -> None:
    """A download button for a trained model as a .keras file (written to a temporary file)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / artifacts.MODEL_FILE
        model.save(path)
        st.download_button(
            label,
            path.read_bytes(),
            file_name=artifacts.MODEL_FILE,
            mime="application/octet-stream",
            on_click="ignore",
        )


def live_snapshot_ui(snapshot: dict | None, class_names) -> None:
    """The newest time-lapse snapshot while a training runs: how each probe is read now, and
    the first layer's filters as they form."""
    if snapshot is None:
        return
    from cnn.filters import filter_images
    from ui import pictures
    from ui.timelapse import snapshot_picture

    st.markdown(f"**What it reads now** (epoch {snapshot['epoch']:.2f})")
    images, captions = snapshot_picture(snapshot, snapshot["probe_images"], class_names)
    st.image(images, caption=captions, width=96)
    if snapshot["filters"] is not None:
        st.image(
            pictures.filter_mosaic(filter_images(snapshot["filters"])),
            caption="First-layer filters now (each scaled on its own)",
        )


def drawing_probe(canvas, info: datasets.DatasetInfo, input_shape: tuple) -> list | None:
    """The student's last drawing on Predict as a time-lapse probe for a new training, prepared
    as the new model will prepare inputs; None without a drawing or when it cannot be read."""
    if canvas is None:
        return None
    from cnn import preprocess
    from cnn.training import preprocessing_for

    try:
        steps = preprocess.prepare_drawing(canvas, preprocessing_for(info, tuple(input_shape)))
    except preprocess.PreprocessError:
        return None
    return [("your drawing", steps.input)]


def more_on_this_input_ui() -> None:
    """Links to the pages that look further into the input Predict shows."""
    st.page_link(
        "app_pages/inside.py",
        label="Look inside: the whole network and every number of a convolution",
        icon=":material/visibility:",
    )
    st.page_link(
        "app_pages/probe.py",
        label="Probe it: shift, rotate or cover the input, find look-alikes, fool it",
        icon=":material/science:",
    )
    st.page_link(
        "app_pages/models.py",
        label="Watch how this model learned (time-lapse)",
        icon=":material/movie:",
    )


def sidebar_ui() -> None:
    """The sidebar every page shares: the active model with a link to try it, this session's
    training, presenter mode."""
    from ui import presenter

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


def layer_table_ui(record) -> None:
    """A run's layers in numbers (from its spec: no model is loaded)."""
    if record.spec is None:
        st.info("This run's record holds no architecture description.")
        return
    layers = record.spec.shapes(tuple(record.input_shape), len(record.class_names))
    st.plotly_chart(arch_diagram.architecture_diagram(layers), key="run-architecture")
    st.dataframe(architectures.summary_rows(layers), hide_index=True, width="stretch")
