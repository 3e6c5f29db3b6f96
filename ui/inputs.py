"""The three inputs of the Predict page: draw, upload, samples. Each returns a `Picked` or None.

Every input goes through `cnn.preprocess`, so the steps shown are exactly what the model
gets. Errors (`PreprocessError`, `NothingDrawn`) are left to the page to show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from cnn import datasets, i18n, preprocess, strokes
from cnn.i18n import N_, tr
from cnn.preprocess import Steps
from cnn.record import RunRecord
from ui import loaders, state

CANVAS_PX = 280  # side of the drawing canvas (10x an MNIST digit)
INKS = {  # black ink? -> (stroke colour, background colour)
    False: ("#FFFFFF", "#000000"),
    True: ("#000000", "#FFFFFF"),
}
BLACK_INK = "black-ink"  # widget key of the ink switch
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]
BACKGROUND_TOLERANCE = 8  # a pixel this close to the background colour is not ink
SOURCES = (N_("Draw"), N_("Upload"), N_("Samples"))  # English keys (links); shown with tr
SHOWN_CLASSES = 6  # class names the drawing prompt lists at most
RANDOM, BUNDLED = N_("Random test image"), N_("Bundled example")  # the samples' kinds


@dataclass
class Picked:
    """An input ready for the model: its steps, and its true class when it is known."""

    steps: Steps
    label: int | None = None


def sources_for(record: RunRecord, asked: str | None = None) -> list[str]:
    """The input sources in the order a page offers them: models of drawn symbols (digits,
    a class's own drawings) open on the canvas, others on their samples; photo models offer
    no canvas (a drawing is not what they know) unless a lesson link asks for it (`asked`)."""
    if record.preprocessing.method == "digits":
        return list(SOURCES)
    if record.preprocessing.method == "photos" and asked != "Draw":
        return ["Samples", "Upload"]
    return ["Samples", "Upload", "Draw"]


def drawn_thing(record: RunRecord) -> str:
    """What to draw for this model, in words: "one digit" for MNIST, else one of its classes."""
    if record.dataset.key == "mnist":
        return tr("one digit")
    names = [str(n) for n in record.class_names]
    if len(names) <= SHOWN_CLASSES:
        return tr("one of: {names}").format(names=", ".join(names))
    return tr("one of its {n} classes ({names}, ...)").format(
        n=i18n.number(len(names)), names=", ".join(names[:SHOWN_CLASSES])
    )


def draw_prompt(record: RunRecord) -> str:
    """The sentence asking for a drawing, in the model's own terms."""
    return tr("Draw {thing} on the canvas").format(thing=drawn_thing(record))


def drawing_input_ui(
    preprocessing: dict, record: RunRecord | None = None, thing: str | None = None
) -> Picked | None:
    """A canvas, then ink colour, stroke width and clear below it; None until something is
    drawn. `record`: the model the drawing is for; without one, `thing` says what to draw
    (a new dataset's class, e.g. "one 'cross'")."""
    from ui import canvas

    stroke, background = INKS[bool(st.session_state.get(BLACK_INK, False))]
    if record is not None:
        thing = drawn_thing(record)
    st.caption(
        tr("Draw {thing}, as large as the square:").format(thing=thing)
        if thing
        else tr("Draw it, as large as the square:")
    )
    key = state.canvas_key()
    restore = _restored_drawing(key)
    value = canvas.drawing_canvas(
        size=CANVAS_PX,
        stroke_width=st.session_state.get("stroke-width", 20),
        stroke_color=stroke,
        background_color=background,
        restore=restore,
        key=key,
    )
    ink_col, width_col, clear_col = st.columns([3, 3, 2], vertical_alignment="bottom")
    # off: white ink on black, like MNIST; on: black ink on white paper
    ink_col.toggle(tr("Black ink"), on_change=state.clear_canvas, key=BLACK_INK)
    width_col.slider(tr("Stroke"), 5, 40, 20, key="stroke-width")
    # no icon: in presenter mode's larger type an icon left room for "C..." only
    clear_col.button(tr("Clear"), on_click=state.clear_canvas, width="stretch")
    saved = st.session_state.get(state.SAVED_DRAWING)
    if value is None and restore is not None and saved is not None:
        value = saved  # restored on the canvas; it sends its picture at the next stroke
    image = canvas.decode(value["data"]) if value else None
    if image is None or _only_background(image, background):
        return None
    st.session_state[state.SAVED_DRAWING] = value
    paths = strokes.check(value.get("paths"), max(image.shape[:2]))
    return Picked(preprocess.prepare_drawing(canvas.opaque_as_rgb(image), preprocessing, paths))


def _restored_drawing(key: str) -> dict | None:
    """The drawing (the canvas's value) to put back on a canvas that is being mounted afresh
    (Predict was left for another page or input and came back to), kept the same for as
    long as it stays mounted: the canvas repaints, and forgets its undo history, whenever
    this changes."""
    saved = st.session_state.get(state.SAVED_DRAWING)
    if key not in st.session_state and saved is not None:
        st.session_state[state.RESTORED_DRAWING] = (key, saved)
    restored = st.session_state.get(state.RESTORED_DRAWING)
    return restored[1] if restored is not None and restored[0] == key else None


def _only_background(image: np.ndarray, background: str) -> bool:
    """True when every pixel has the canvas's background colour (nothing drawn, or all undone).

    A white-on-black canvas with nothing on it is all black; without this check it would be
    refused as "painted all black" instead of being an empty canvas.
    """
    colour = np.array([int(background[i : i + 2], 16) for i in (1, 3, 5)])
    # each channel's lowest and highest value near the colour is every pixel near it, found
    # without a difference image per stroke (about 1 ms -> 0.06 ms on the 280 px canvas)
    return all(
        int(image[:, :, c].min()) >= colour[c] - BACKGROUND_TOLERANCE
        and int(image[:, :, c].max()) <= colour[c] + BACKGROUND_TOLERANCE
        for c in range(3)
    )


def upload_input_ui(preprocessing: dict) -> Picked | None:
    """A file uploader for one picture; None until a file is given."""
    upload = st.file_uploader(tr("A picture"), type=UPLOAD_TYPES)
    if upload is None:
        return None
    image = preprocess.load_image(upload.getvalue())
    _show(image)
    return Picked(preprocess.prepare_upload(image, preprocessing))


def _show(image: np.ndarray, alt: str | None = None) -> None:
    """The picture as given, beside the answer (the model's own input is shown further down)."""
    from ui import pictures, presenter

    st.image(
        pictures.framed(image, presenter.px(CANVAS_PX)),
        width=presenter.px(CANVAS_PX),
        alt=alt or tr("The picture given to the model"),
    )


def _test_split(record: RunRecord) -> datasets.Dataset | None:
    """The run's dataset when this machine has it offline (an own-images run: its upload)."""
    key = record.dataset.key
    data = record.config.data if key == "folder" else None
    if key == "folder" and not data:
        return None
    try:
        return loaders.load_dataset(key, data)
    except datasets.DatasetError:
        return None


def sample_input_ui(record: RunRecord, preprocessing: dict) -> Picked | None:
    """A random test image of the model's dataset, or one of the bundled example images.

    Without the dataset on this machine it offers the bundled examples only, never a dead end.
    """
    data = _test_split(record)
    kinds = [RANDOM, BUNDLED] if data is not None else [BUNDLED]
    kind = st.radio(
        tr("Sample"), kinds, format_func=tr, horizontal=True, key=f"sample-kind-{len(kinds)}"
    )
    if kind == BUNDLED:
        return _bundled_ui(record, preprocessing)
    st.button(tr("Another one"), on_click=state.new_sample, icon=":material/casino:")
    rng = np.random.default_rng(st.session_state.get(state.SAMPLE_SEED, 0))
    index = int(rng.integers(len(data.test)))
    label = int(data.test.labels[index])
    said = tr("Test image {index} of {dataset}: it is **{name}**").format(
        index=index, dataset=data.info.title, name=data.class_names[label]
    )
    st.caption(said)
    size, channels = preprocessing["image_size"], preprocessing["channels"]
    image = data.test.image(index)
    _show(image, said.replace("**", ""))
    return Picked(preprocess.photo_to_input(image, tuple(size), channels), label)


def _bundled_ui(record: RunRecord, preprocessing: dict) -> Picked | None:
    photos = loaders.bundled_samples(record.dataset.key)
    if not photos:
        st.info(tr("No example images are bundled with this installation: upload one instead."))
        return None
    photo = st.selectbox(
        tr("Example (from test sets no shipped model trained on)"),
        photos,
        format_func=lambda p: f"{p.parent.name} / {p.stem.replace('__', ' #')}",
    )
    name = photo.stem.split("__")[0]
    label = record.class_names.index(name) if name in record.class_names else None
    image = preprocess.load_image(photo)
    _show(image, tr("Example image: {name}").format(name=photo.stem.replace("__", " #")))
    return Picked(preprocess.prepare_upload(image, preprocessing), label)


def input_ui(source: str, record: RunRecord, preprocessing: dict) -> Picked | None:
    """The chosen source's widgets; the prepared input, or None until there is one."""
    if source == "Draw":
        return drawing_input_ui(preprocessing, record)
    if source == "Upload":
        return upload_input_ui(preprocessing)
    return sample_input_ui(record, preprocessing)
