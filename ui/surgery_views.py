"""Open the box, "Weight surgery": knock out channels or set a first-layer filter on a copy.

The form collects changes (`cnn.surgery.Change`); "Operate on a copy" saves the edited run
as a new run (`cnn.surgery.operate`, measured on TEST_IMAGES test images) and remembers it
in the session. Then: test accuracy before and after, per class; and, for the picture
Predict prepared, the changed layer's feature maps and "Where it looked" for both models.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from cnn import artifacts, describe, i18n
from cnn.errors import CnnError
from cnn.i18n import N_, tr
from ui import loaders, pictures, state

KEY = "surgery"
RESULT_KEY = "surgery-result"  # session state: (original path, the result's document)
TEST_IMAGES = 500  # test images measured before and after
MAP_PX = 150  # side of a feature map or a "where it looked" picture
PRESET_WORDS = {  # translated where shown
    "sobel_x": N_("Sobel x: lights up where the picture goes from dark (left) to bright (right)"),
    "sobel_y": N_("Sobel y: the same from top to bottom"),
    "blur": N_("blur: the average of the window, heavier in the middle"),
    "sharpen": N_("sharpen: the pixel twice, minus the blurred window"),
    "identity": N_("identity: only the middle pixel, so the picture passes unchanged"),
    "(leave it)": N_("(leave it)"),
    "numbers I type": N_("numbers I type"),
}
INTRO = N_(
    "A surgeon changes a body on purpose to learn what a part does. Here you change a "
    "**copy** of the model: switch off channels (every number of their filter becomes 0, so "
    "their feature map goes dark) or give a first-layer filter numbers you choose, like an "
    "edge finder. Then you see what the model lost: how many test pictures it still gets "
    "right, class by class, and what it now sees in your picture. The original model is "
    "never touched; the copy is saved as a new model you can find on Models."
)


def _conv_names(model) -> list[str]:
    import keras

    return [lay.name for lay in model.layers if isinstance(lay, keras.layers.Conv2D)]


def _filter_ui(model, first: str) -> list:
    """The 'set a first-layer filter' part of the form: the changes it asks for."""
    from cnn.surgery import PRESETS, Change, preset_kernel

    kh, kw, _, count = (int(d) for d in model.get_layer(first).kernel.shape)
    left, right = st.columns([1, 3])
    channel = left.number_input(
        tr("Filter of {layer}").format(layer=first), 0, count - 1, 0, key=f"{KEY}-filter"
    )
    choice = right.selectbox(
        tr("Set it to"),
        ["(leave it)", *PRESETS, "numbers I type"],
        format_func=lambda p: tr(PRESET_WORDS[p]) if p in PRESET_WORDS else p,
        key=f"{KEY}-preset",
    )
    if choice == "(leave it)":
        return []
    if choice != "numbers I type":
        st.dataframe(pd.DataFrame(preset_kernel(choice, kh).round(3)), hide_index=True)
        return [Change("set_filter", first, int(channel), preset=choice)]
    start = np.asarray(model.get_layer(first).kernel)[..., int(channel)].mean(axis=-1)
    grid = st.data_editor(
        pd.DataFrame(start.round(3)), hide_index=True, key=f"{KEY}-grid-{channel}"
    )
    values = tuple(float(v) for v in np.asarray(grid, np.float64).ravel())
    return [Change("set_filter", first, int(channel), values=values)]


def _form_ui(model) -> list:
    """Every change the form asks for."""
    from cnn.surgery import Change

    convs = _conv_names(model)
    st.markdown(tr("##### Knock out channels"))
    left, right = st.columns([1, 3])
    layer = left.selectbox(tr("Conv layer"), convs, key=f"{KEY}-layer")
    count = int(model.get_layer(layer).kernel.shape[-1])
    channels = right.multiselect(
        tr("Channels to switch off ({n} in {layer})").format(n=count, layer=layer),
        range(count),
        key=f"{KEY}-zero-{layer}",
        placeholder=tr("Choose channels"),
    )
    changes = [Change("zero", layer, int(c)) for c in channels]
    st.markdown(
        tr("##### Set a filter of the first layer ({layer}) by hand").format(layer=convs[0])
    )
    return changes + _filter_ui(model, convs[0])


def _operate(path: Path, changes: list) -> None:
    from cnn.surgery import operate

    with st.spinner(
        tr("Operating on a copy and testing both on {n} test pictures...").format(n=TEST_IMAGES)
    ):
        result = operate(path, changes, limit=TEST_IMAGES)
    st.session_state[RESULT_KEY] = (str(path), result.to_dict())


def _accuracy_ui(doc: dict) -> None:
    before, after = doc["test_accuracy_before"], doc["test_accuracy_after"]
    left, right = st.columns(2)
    left.metric(tr("Test accuracy before"), i18n.percent(before, 1))
    points = (after - before) * 100
    right.metric(
        tr("After the surgery"),
        i18n.percent(after, 1),
        tr("{points} points").format(points=("+" if points >= 0 else "") + i18n.number(points, 1)),
    )
    rows = pd.DataFrame(doc["per_class"])
    rows["change"] = (rows["after"] - rows["before"]) * 100
    st.dataframe(
        rows,
        hide_index=True,
        column_order=["name", "n", "before", "after", "change"],
        column_config={
            "name": tr("class"),
            "n": st.column_config.NumberColumn(tr("pictures")),
            "before": st.column_config.NumberColumn(tr("before"), format="percent"),
            "after": st.column_config.NumberColumn(tr("after"), format="percent"),
            "change": st.column_config.NumberColumn(tr("change (points)"), format="%+.1f"),
        },
    )
    st.caption(
        tr(
            "Measured on the same {n} test pictures (the same share of every class) before and "
            "after: a class that drops a lot needed what you switched off."
        ).format(n=doc["test_images"])
    )


def _maps_ui(original, edited, image: np.ndarray, doc: dict) -> None:
    """The changed layer's maps, and where each model looked, for the picture from Predict."""
    from cnn.explain.checks import method_parameters

    changed = doc["changes"][0]
    layer, channel = changed["layer"], changed["channel"]
    tiles, captions, alts = [], [], []
    for name, loaded in (("before", original), ("after", edited)):
        seen = loaders.inspect_image(loaded, image, None)
        array = next(a.array for a in seen.activations if a.name == layer)[..., channel]
        tiles.append(pictures.framed(pictures.colorized(array, 0.0, max(float(array.max()), 1e-6)),
                                     MAP_PX))  # fmt: skip
        label = loaded.class_names[seen.predicted_class]
        caption = _map_caption(name).format(layer=layer, channel=channel, label=label)
        captions.append(caption)
        alts.append(describe.heatmap(array, caption))
    kind = _kind(original)
    method = method_parameters(kind, None)[0]
    for name, loaded in (("before", original), ("after", edited)):
        looked = loaders.where_it_looked(loaded, image, method, None)
        if looked.map is not None:
            tiles.append(pictures.heat_overlay(image, looked.map, MAP_PX))
            caption = (
                tr("where it looked, before") if name == "before" else tr("where it looked, after")
            )
            captions.append(caption)
            alts.append(describe.heatmap(looked.map, caption))
    columns = st.columns(4)
    for column, tile, caption, alt in zip(columns, tiles, captions, alts, strict=False):
        column.image(tile, caption=caption, alt=alt)
    st.caption(
        tr(
            "Your picture from Predict, read by the original and by the copy: the first changed "
            "channel's feature map (bright = strong), then where each looked ({method})."
        ).format(method=method)
    )  # fmt: skip


def _map_caption(name: str) -> str:
    """A feature map's caption before or after the surgery (whole sentences to translate)."""
    if name == "before":
        return tr("{layer}, channel {channel}, before: says {label}")
    return tr("{layer}, channel {channel}, after: says {label}")


def _kind(loaded) -> str:
    return loaded.run.record.preprocessing.kind


def surgery_ui(loaded: loaders.LoadedRun) -> None:
    """The form, the operation, and what it did."""
    st.markdown(tr(INTRO))
    changes = _form_ui(loaded.run.model)
    path = Path(loaded.run.info.path)
    if st.button(tr("Operate on a copy"), type="primary", disabled=not changes, key=f"{KEY}-go"):
        try:
            _operate(path, changes)
        except CnnError as err:
            st.error(str(err))
    kept = st.session_state.get(RESULT_KEY)
    if not kept or kept[0] != str(path):
        st.caption(
            tr("Choose at least one change, then operate: the copy is saved as a new model.")
        )
        return
    doc = kept[1]
    st.success(
        tr("Saved as a new model: {title}. Models lists it beside the original.").format(
            title=artifacts.read_run_info(doc["run_dir"]).title
        )
    )
    _accuracy_ui(doc)
    current = state.current_input(path)
    if current is None:
        st.info(tr("Give the model a picture on Predict to see what the surgery changed in it."))
    else:
        _maps_ui(loaded, loaders.load_run(doc["run_dir"]), current.steps.input, doc)
    if st.button(tr("Use the copy as the active model"), key=f"{KEY}-use"):
        state.set_active_run(doc["run_dir"])
        st.rerun()
