"""The widgets of the "Make a dataset" page: this session's made dataset, ways to add
examples (draw, camera, upload), the examples per class with delete buttons.

The dataset lives in this browser session's private folder (`state.UPLOADS_ROOT/<session
id>/`, the folder uploads use), so no other session ever sees it. `cnn.datasets.builder`
stores and bounds it; this module only draws.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import streamlit as st

from cnn import preprocess
from cnn.datasets import builder
from cnn.errors import CnnError, NothingDrawn
from ui import inputs, pictures, state

KIND_TITLES = {
    "digits": "Drawings (symbols you draw: stored 28 x 28, like MNIST)",
    "photos": "Photos (camera snapshots or pictures, in colour)",
}
SOURCES = ("Draw", "Camera", "Upload")
THUMBNAIL_PX = 64
GRID_COLUMNS = 10


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


def training_copy_is_current(made: builder.DatasetBuilder) -> bool:
    """Whether the Train page's copy (from "Train on it") holds the dataset as it is now."""
    copy = state.own_dataset()
    if copy is None or copy.parent != state.session_folder() / "snapshots":
        return False
    return copy.name == made.fingerprint()


def _show(error: CnnError) -> None:
    st.error(str(error))


def draw_example_ui(made: builder.DatasetBuilder, target: str) -> None:
    """The canvas; once something is drawn, what will be stored and an Add button."""
    try:
        picked = inputs.drawing_input_ui(made.preprocessing)
        steps = None if picked is None else picked.steps
    except NothingDrawn:
        steps = None
    except CnnError as err:
        _show(err)
        return
    if steps is None:
        st.caption("Draw one example, then add it.")
        return
    left, right = st.columns([1, 4], vertical_alignment="center")
    left.image(pictures.framed(steps.input, 96), caption="What is stored")
    if right.button(f"Add to '{target}'", type="primary", icon=":material/add:"):
        try:
            made.add(target, steps.input)
        except CnnError as err:
            _show(err)
            return
        state.clear_canvas()
        st.rerun()


def picture_example_ui(made: builder.DatasetBuilder, target: str, camera: bool) -> None:
    """A camera snapshot, or uploaded files, added through Predict's upload preprocessing."""
    if camera:
        shot = st.camera_input("Take a picture", key="make-camera")
        files = [shot] if shot is not None else []
    else:
        files = st.file_uploader(
            "Pictures", type=inputs.UPLOAD_TYPES, accept_multiple_files=True, key="make-upload"
        )
    if not files:
        return
    if made.kind == "digits":
        st.caption("Each picture should show one symbol drawn dark on light paper.")
    label = "this picture" if len(files) == 1 else f"{len(files)} pictures"
    if not st.button(f"Add {label} to '{target}'", type="primary", icon=":material/add:"):
        return
    added = 0
    for file in files:
        try:
            made.add_picture(target, file.getvalue())
            added += 1
        except preprocess.PreprocessError as err:
            st.warning(f"{file.name}: {err}")
        except CnnError as err:
            _show(err)
            break
    st.success(f"Added {added} of {len(files)} to '{target}'.")


def add_examples_ui(made: builder.DatasetBuilder) -> None:
    """Which class, which way (draw, camera, upload), then that way's widgets."""
    target = st.segmented_control(
        "Add examples to", made.classes, default=made.classes[0], required=True
    )
    default = "Draw" if made.kind == "digits" else "Camera"
    source = st.segmented_control("By", SOURCES, default=default, required=True, key="make-source")
    if source == "Draw":
        draw_example_ui(made, target)
    else:
        picture_example_ui(made, target, camera=source == "Camera")


def size_text(n_bytes: int) -> str:
    """Bytes for people: KB below a megabyte, else MB with one decimal."""
    return f"{n_bytes / 1024:.0f} KB" if n_bytes < 1024**2 else f"{n_bytes / 1024**2:.1f} MB"


def _thumbnail(path: Path) -> np.ndarray:
    return pictures.framed(preprocess.load_image(path), THUMBNAIL_PX)


def examples_ui(made: builder.DatasetBuilder) -> None:
    """Every class with its examples, each with a delete button; a class can be removed."""
    for name, count in made.counts().items():
        row = st.container(horizontal=True, vertical_alignment="center")  # button uncut
        row.markdown(f"**{name}** · {count} example{'s' if count != 1 else ''}")
        with row.popover("Delete class", icon=":material/delete:"):
            st.button(
                f"Delete '{name}' and its {count} examples",
                key=f"remove-{name}",
                on_click=made.remove_class,
                args=(name,),
                type="primary",
            )
        columns = st.columns(GRID_COLUMNS)
        for i, path in enumerate(made.examples(name)):
            with columns[i % GRID_COLUMNS]:
                st.image(_thumbnail(path))
                st.button(
                    "✕",
                    key=f"delete-{name}-{path.name}",
                    on_click=made.delete,
                    args=(path,),
                    help="Delete this example",
                )
