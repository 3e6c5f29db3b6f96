"""The three inputs of the Predict page: draw, upload, samples. Each returns `Steps` or None.

Every input goes through `cnn.preprocess`, so the steps shown are exactly what the model
gets. Errors (`PreprocessError`, `NothingDrawn`) are left to the page to show.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnn import datasets, preprocess
from cnn.preprocess import Steps
from ui import loaders, state

CANVAS_PX = 280  # side of the drawing canvas (10x an MNIST digit)
INKS = {  # label -> (stroke colour, background colour)
    "White on black": ("#FFFFFF", "#000000"),
    "Black on white": ("#000000", "#FFFFFF"),
}
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]
BACKGROUND_TOLERANCE = 8  # a pixel this close to the background colour is not ink


def drawing_input_ui(preprocessing: dict) -> Steps | None:
    """A canvas with ink colour, stroke width and clear; None until something is drawn."""
    from streamlit_drawable_canvas import st_canvas

    canvas_col, controls = st.columns([3, 2])
    ink = controls.radio("Ink", list(INKS), horizontal=True, on_change=state.clear_canvas)
    stroke_width = controls.slider("Stroke width", 5, 40, 20)
    controls.button("Clear", on_click=state.clear_canvas, icon=":material/delete:")
    stroke, background = INKS[ink]
    with canvas_col:
        st.caption("Draw here:")
        result = st_canvas(
            stroke_width=stroke_width,
            stroke_color=stroke,
            background_color=background,
            height=CANVAS_PX,
            width=CANVAS_PX,
            return_image_data=True,
            key=state.canvas_key(),
        )
    image = result.image_data
    if image is None or _only_background(image, background):
        return None
    return preprocess.prepare_drawing(image, preprocessing)


def _only_background(image: np.ndarray, background: str) -> bool:
    """True when every pixel has the canvas's background colour (nothing drawn, or all undone).

    A white-on-black canvas with nothing on it is all black; without this check it would be
    refused as "painted all black" instead of being an empty canvas.
    """
    colour = np.array([int(background[i : i + 2], 16) for i in (1, 3, 5)])
    return bool(np.all(np.abs(image[:, :, :3].astype(np.int16) - colour) <= BACKGROUND_TOLERANCE))


def upload_input_ui(preprocessing: dict) -> Steps | None:
    """A file uploader for one picture; None until a file is given."""
    upload = st.file_uploader("A picture", type=UPLOAD_TYPES)
    if upload is None:
        return None
    return preprocess.prepare_upload(preprocess.load_image(upload.getvalue()), preprocessing)


def sample_input_ui(dataset_key: str, preprocessing: dict) -> Steps | None:
    """A random test image of the model's dataset, or one of the bundled example photos."""
    kind = st.radio("Sample", ["Random test image", "Bundled example"], horizontal=True)
    if kind == "Bundled example":
        photos = loaders.bundled_samples(dataset_key)
        if not photos:
            st.info("No example images are bundled with this installation.")
            return None
        photo = st.selectbox(
            "Example (from test sets no shipped model trained on)",
            photos,
            format_func=lambda p: f"{p.parent.name} / {p.stem.replace('__', ' #')}",
        )
        return preprocess.prepare_upload(preprocess.load_image(photo), preprocessing)
    try:
        data = loaders.load_dataset(dataset_key)
    except datasets.DatasetError as err:
        st.info(f"Test images of this model's dataset are not available offline: {err}")
        return None
    st.button("Another one", on_click=state.new_sample, icon=":material/casino:")
    rng = np.random.default_rng(st.session_state.get(state.SAMPLE_SEED, 0))
    index = int(rng.integers(len(data.test)))
    st.caption(
        f"Test image {index} of {data.info.title}: true class "
        f"**{data.class_names[data.test.labels[index]]}**"
    )
    size, channels = preprocessing["image_size"], preprocessing["channels"]
    return preprocess.photo_to_input(data.test.image(index), tuple(size), channels)
