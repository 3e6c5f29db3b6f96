"""The widgets of the "Make a dataset" page: this session's made dataset, ways to add
examples (draw, camera, upload) beside the class they go to, the examples per class with
delete buttons, and a small training right on the page.

The dataset lives in this browser session's private folder (`state.UPLOADS_ROOT/<session
id>/`, the folder uploads use), so no other session ever sees it. `cnn.datasets.builder`
stores and bounds it; this module only draws.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from cnn import architectures, i18n, preprocess
from cnn.datasets import builder
from cnn.errors import CnnError, NothingDrawn
from cnn.i18n import N_, tr, trn
from ui import inputs, loaders, pictures, state, train_form, training_view

KIND_TITLES = {  # shown through `kind_title` (translated)
    "digits": N_("Drawings (symbols you draw: stored 28 x 28, like MNIST)"),
    "photos": N_("Photos (camera snapshots or pictures, in colour)"),
}
SOURCES = (N_("Draw"), N_("Camera"), N_("Upload"))  # values stay English, shown translated
THUMBNAIL_PX = 64
GRID_COLUMNS = 10
TRAIN = "make-train"  # the flag "Train on it" raises (the job starts in the page's next run)
# "Train on it" trains the Train page's Quick preset, sized to the set by preset_settings (at
# least 60 optimizer steps), on a smaller CNN for drawings: TinyVGG, 4 convs of 10 filters,
# took about half the time of Quick's Simple CNN on 30 drawings (16 s against 30 s, load 9)
SMALL_SET_PRESET = "Quick"
SMALL_SET_ARCHS = {"digits": "tiny_vgg"}  # photos keep Quick's own (a small 64 px CNN)


def kind_title(kind: str) -> str:
    """What a made dataset of `kind` holds, in the reader's language."""
    return tr(KIND_TITLES[kind])


def made_dataset() -> builder.DatasetBuilder | None:
    """The dataset this session is making, or None before its first class."""
    folder = state.session_folder() / "made"
    return builder.DatasetBuilder(folder) if (folder / builder.MANIFEST).is_file() else None


def start_dataset(kind: str) -> builder.DatasetBuilder:
    """A new, empty made dataset of `kind` for this session."""
    return builder.DatasetBuilder(state.session_folder() / "made", kind)


def start_over() -> None:
    """Delete this session's made dataset (a button callback)."""
    shutil.rmtree(state.session_folder() / "made", ignore_errors=True)
    state.set_own_dataset(None)


def snapshot_for_training(made: builder.DatasetBuilder) -> Path:
    """A frozen copy of the made dataset for the Train page, remembered in the session."""
    copy = made.snapshot(state.session_folder() / "snapshots")
    state.set_own_dataset(copy)
    return copy


def _show(error: CnnError) -> None:
    st.error(str(error))


def new_class_ui(made: builder.DatasetBuilder | None, kind: str) -> bool:
    """The "New class" form (the dataset is started with `kind` at its first class); True when
    it added a class."""
    with st.form("new-class", clear_on_submit=True, border=False):
        name_col, add_col = st.columns([3, 2], vertical_alignment="bottom")
        name = name_col.text_input(tr("New class"), placeholder=tr("e.g. arrow, smiley, star"))
        if not add_col.form_submit_button(tr("Add class"), icon=":material/add:", width="stretch"):
            return False
    try:
        made = made if made is not None and made.classes else start_dataset(kind)
        made.add_class(name)
    except CnnError as err:
        _show(err)
        return False
    return True


def draw_example_ui(made: builder.DatasetBuilder, target: str, side) -> None:
    """The canvas; once something is drawn, what will be stored and the Add button in `side`
    (the column of the class picker, so both show beside the canvas)."""
    try:
        picked = inputs.drawing_input_ui(
            made.preprocessing, thing=tr("one '{name}'").format(name=target)
        )
        steps = None if picked is None else picked.steps
    except NothingDrawn:
        steps = None
    except CnnError as err:
        _show(err)
        return
    if steps is None:
        side.caption(tr("Draw one example on the canvas, then add it here."))
        return
    row = side.container(horizontal=True, vertical_alignment="center")
    row.image(
        pictures.framed(steps.input, 96),
        caption=tr("What is stored"),
        width=96,
        alt=tr("Your drawing as it will be stored for the class {name}: 28 x 28 pixels").format(
            name=target
        ),
    )
    if row.button(tr("Add to '{name}'").format(name=target), type="primary", icon=":material/add:"):
        try:
            made.add(target, steps.input)
        except CnnError as err:
            side.error(str(err))
            return
        state.clear_canvas()
        st.rerun()


def picture_example_ui(made: builder.DatasetBuilder, target: str, camera: bool, side) -> None:
    """A camera snapshot, or uploaded files, added through Predict's upload preprocessing;
    the Add button in `side`, beside the class picker."""
    if camera:
        shot = st.camera_input(tr("Take a picture"), key="make-camera")
        files = [shot] if shot is not None else []
    else:
        files = st.file_uploader(
            tr("Pictures"), type=inputs.UPLOAD_TYPES, accept_multiple_files=True, key="make-upload"
        )
    if not files:
        return
    if made.kind == "digits":
        side.caption(tr("Each picture should show one symbol drawn dark on light paper."))
    label = trn("Add this picture to '{name}'", "Add {n} pictures to '{name}'", len(files)).format(
        name=target
    )
    if not side.button(label, type="primary", icon=":material/add:"):
        return
    added = 0
    for file in files:
        try:
            made.add_picture(target, file.getvalue())
            added += 1
        except preprocess.PreprocessError as err:
            side.warning(tr("{file}: {problem}").format(file=file.name, problem=err))
        except CnnError as err:
            side.error(str(err))
            break
    side.success(
        tr("Added {added} of {total} to '{name}'.").format(
            added=i18n.number(added), total=i18n.number(len(files)), name=target
        )
    )


def add_examples_ui(made: builder.DatasetBuilder) -> None:
    """The canvas (or camera, or uploader) on the left; on the right a new class, which class
    and which way, and once there is something to add, what will be stored and its Add
    button: at 1280x720 the canvas, the class and the button show together (issue 28, 5.3)."""
    picture_col, side = st.columns(2, gap="medium")
    with side:
        if new_class_ui(made, made.kind):
            st.rerun()
        target = st.segmented_control(
            tr("Add examples to"), made.classes, default=made.classes[0], required=True
        )
        default = "Draw" if made.kind == "digits" else "Camera"
        source = st.segmented_control(
            tr("By"), SOURCES, default=default, required=True, key="make-source", format_func=tr
        )
    with picture_col:
        if source == "Draw":
            draw_example_ui(made, target, side)
        else:
            picture_example_ui(made, target, source == "Camera", side)


def start_training_here(made: builder.DatasetBuilder, asked_at: float | None) -> str | None:
    """Freeze the dataset and start this session's training on it: the small set's preset
    (`SMALL_SET_PRESET` sized to the set, `SMALL_SET_ARCHS`); a sentence when it cannot."""
    from cnn import datasets, training

    copy = snapshot_for_training(made)
    try:
        own = loaders.load_dataset("folder", str(copy))
    except datasets.DatasetError as err:
        return str(err)
    settings = training.preset_settings(SMALL_SET_PRESET, own.info.kind, len(own.train))
    settings["arch"] = SMALL_SET_ARCHS.get(made.kind, settings["arch"])
    config = training.TrainConfig(dataset="folder", data=str(copy), **settings)
    return training_view.start_training(config, None, asked_at, len(own.train))


def made_set_job() -> Any:
    """This session's training job when it trains a copy of the made dataset, else None."""
    job = state.training_job()
    data = job.config.data if job is not None else None
    made_copy = data and Path(data).parent == state.session_folder() / "snapshots"
    return job if made_copy else None


def train_here_ui(made: builder.DatasetBuilder) -> None:
    """Train on it: the small set's preset trains right here and its live view shows below,
    ending on the new run, which becomes the active model. Go to Train: every setting."""
    if (asked_at := state.take_flag(TRAIN)) is not None:
        if problem := start_training_here(made, asked_at):
            st.error(problem)
    job = state.training_job()
    running = job is not None and not job.done
    row = st.container(horizontal=True, vertical_alignment="center")
    row.button(
        tr("Train on it"),
        type="primary",
        icon=":material/model_training:",
        disabled=running,
        on_click=state.raise_flag,
        args=(TRAIN,),
    )
    if row.button(tr("Go to Train"), icon=":material/tune:"):
        snapshot_for_training(made)
        train_form.train_on_own_dataset()
    arch = SMALL_SET_ARCHS.get(made.kind)
    if arch:
        says = tr(
            "Train on it trains a small CNN, {arch}, right here, with enough passes over your "
            "examples to learn from a few dozen of them: seconds. Go to Train opens this "
            "dataset on the Train page (**Your own images**), with every setting."
        ).format(arch=architectures.REGISTRY[arch].title)
    else:
        says = tr(
            "Train on it trains a small CNN right here, with enough passes over your examples "
            "to learn from a few dozen of them: seconds. Go to Train opens this dataset on the "
            "Train page (**Your own images**), with every setting."
        )
    st.caption(says)
    if running and made_set_job() is None:
        st.info(
            tr("A training of this session is still running: wait for it, or stop it on Train.")
        )
    if (job := made_set_job()) is not None:
        training_view.live_training_view(builder.DatasetBuilder(job.config.data).classes)


def size_text(n_bytes: int) -> str:
    """Bytes for people: KB below a megabyte, else MB with one decimal."""
    if n_bytes < 1024**2:
        return tr("{size} KB").format(size=i18n.number(n_bytes / 1024, 0))
    return tr("{size} MB").format(size=i18n.number(n_bytes / 1024**2, 1))


def _thumbnail(path: Path) -> np.ndarray:
    return pictures.framed(preprocess.load_image(path), THUMBNAIL_PX)


def examples_ui(made: builder.DatasetBuilder) -> None:
    """Every class with its examples, each with a delete button; a class can be removed."""
    for name, count in made.counts().items():
        row = st.container(horizontal=True, vertical_alignment="center")  # button uncut
        row.markdown(
            trn("**{name}** · {n} example", "**{name}** · {n} examples", count).format(name=name)
        )
        with row.popover(tr("Delete class"), icon=":material/delete:"):
            st.button(
                trn(
                    "Delete '{name}' and its {n} example",
                    "Delete '{name}' and its {n} examples",
                    count,
                ).format(name=name),
                key=f"remove-{name}",
                on_click=made.remove_class,
                args=(name,),
                type="primary",
            )
        columns = st.columns(GRID_COLUMNS)
        for i, path in enumerate(made.examples(name)):
            with columns[i % GRID_COLUMNS]:
                st.image(
                    _thumbnail(path),
                    alt=tr("Example {i} of the class {name}").format(
                        i=i18n.number(i + 1), name=name
                    ),
                )
                st.button(
                    "✕",
                    key=f"delete-{name}-{path.name}",
                    on_click=made.delete,
                    args=(path,),
                    help=tr("Delete this example"),
                )
