"""Open the box, "What a filter wants to see": feature visualisation of the active run.

For a layer's channels (a page of them at a time) or the classes, the picture gradient
ascent finds (`cnn.visualize`), beside each channel's three strongest real test images;
pictures are remembered per run, layer and channels, since each page of them costs seconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from cnn import datasets, describe, i18n
from cnn.i18n import N_, tr
from ui import loaders, pictures

KEY = "visualize"
PAGE = 8  # channels (or classes) made at once
REAL_IMAGES = 100  # test images searched for each channel's strongest
REAL_SHOWN = 3  # strongest real images shown per channel
TILE_PX = 112  # side of a picture on screen

EXPLAIN = N_(
    "**Gradient ascent** is training turned around. In training, the picture stays the same "
    "and the filters change to make the answer less wrong. Here the filters stay the same and "
    "the **picture** changes: we start from plain grey and ask the model, pixel by pixel, "
    "'which way should this pixel move to make this channel light up more?' Then we move every "
    "pixel a tiny step that way, and repeat a hundred and sixty times. To keep the picture "
    "from turning into noise, we shift it by a few random pixels before each step (so the "
    "pattern must work anywhere) and blur it a little now and then. What comes out is the "
    "pattern the channel is looking for, drawn by the channel itself."
)


@st.cache_data(max_entries=16, show_spinner=False)
def _pictures(
    path: str, stamp: tuple, layer: str | None, indices: tuple[int, ...], _model: Any
) -> list[Any]:
    from cnn.visualize import visualize

    if layer is None:
        return visualize(_model, classes=list(indices))
    return visualize(_model, layer, channels=list(indices))


@st.cache_data(max_entries=8, show_spinner=False)
def _real(path: str, stamp: tuple, key: str, data: str | None, layer: str, _model: Any):
    """(test images as uint8, each channel's strongest indices, every image's means)."""
    from cnn import geometry
    from cnn.probes.embedding import subset_indices
    from cnn.visualize import strongest

    dataset = loaders.load_dataset(key, data)
    split = dataset.test.take(subset_indices(dataset.test, REAL_IMAGES))
    size = tuple(int(d) for d in _model.inputs[0].shape[1:3])
    channels = int(_model.inputs[0].shape[-1])
    images = np.stack([geometry.fit(split.image(i), size, channels) for i in range(len(split))])
    order, means = strongest(_model, layer, images.astype(np.float32) / 255.0, k=REAL_SHOWN)
    return images, order, means


def _tile(image: np.ndarray) -> np.ndarray:
    return pictures.framed(image, TILE_PX)


def _channel_pickers(model, layers: list[str]) -> tuple[str, list[int]]:
    """The layer (last one first: the most telling) and a page of its channels."""
    left, right = st.columns([2, 3])
    layer = left.selectbox(tr("Layer"), layers[::-1], key=f"{KEY}-layer")
    from cnn.visualize import map_layers

    count = int(model.get_layer(map_layers(model)[layer]).output.shape[-1])
    starts = list(range(0, count, PAGE))
    start = right.selectbox(
        tr("Channels ({n} in all)").format(n=count),
        starts,
        format_func=lambda s: tr("{first} to {last}").format(
            first=s, last=min(s + PAGE, count) - 1
        ),
        key=f"{KEY}-page-{layer}",
    )
    return layer, list(range(start, min(start + PAGE, count)))


def channels_ui(loaded: loaders.LoadedRun) -> None:
    """A page of a layer's channels: each channel's picture above its strongest real images."""
    from cnn.visualize import map_layers

    model = loaded.run.model
    layer, channels = _channel_pickers(model, list(map_layers(model)))
    path = str(loaded.run.info.path)
    with st.spinner(tr("Climbing: changing the pictures step by step...")):
        found = _pictures(path, loaded.stamp, layer, tuple(channels), model)
    record = loaded.run.record
    try:
        with st.spinner(tr("Finding the strongest real test images...")):
            images, order, means = _real(
                path, loaded.stamp, record.dataset.key, record.config.data, layer, model
            )
    except datasets.DatasetError as err:
        images = None
        st.info(tr("No real test images to compare with: {error}").format(error=err))
    columns = st.columns(len(channels))
    for column, result in zip(columns, found, strict=True):
        c = result.index
        with column:
            made = tr("Picture made for channel {c} of {layer}").format(c=c, layer=layer)
            st.image(
                _tile(result.image),
                caption=tr("channel {c}: {value}").format(c=c, value=f"{result.activation:.2f}"),
                alt=describe.heatmap(np.asarray(result.image, float).mean(axis=-1), made),
            )
            if images is None:
                continue
            best = float(means[c].max())
            for i in order[c]:
                real = tr("A real test image that lights up channel {c}").format(c=c)
                st.image(_tile(images[i]), caption=f"{means[c, i]:.2f}", alt=real)
            if result.activation >= best:
                st.caption(tr("beats the best real image"))
            else:
                st.caption(tr("falls short of the best real image"))
    seconds = found[0].seconds
    st.caption(
        tr(
            "Top: the picture made for each channel, with how strongly it lights the channel up "
            "(its feature map's mean). Below: the {shown} of {searched} test images that light "
            "it up most, with theirs. These {n} pictures took {seconds} s."
        ).format(shown=REAL_SHOWN, searched=REAL_IMAGES, n=len(found),
                 seconds=i18n.number(seconds, 1))
    )  # fmt: skip


def classes_ui(loaded: loaders.LoadedRun) -> None:
    """The picture each chosen class's score climbs highest for."""
    names = loaded.class_names
    chosen = st.multiselect(
        tr("Classes"),
        range(len(names)),
        default=list(range(min(PAGE, len(names)))),
        format_func=lambda i: names[i],
        max_selections=PAGE,
        key=f"{KEY}-classes",
        placeholder=tr("Choose classes"),
    )
    if not chosen:
        st.info(tr("Pick at least one class."))
        return
    with st.spinner(tr("Climbing: changing the pictures step by step...")):
        found = _pictures(str(loaded.run.info.path), loaded.stamp, None, tuple(chosen),
                          loaded.run.model)  # fmt: skip
    columns = st.columns(max(len(found), PAGE // 2))
    for column, result in zip(columns, found, strict=False):
        name = names[result.index]
        made = tr("Picture made for the class {name}").format(name=name)
        column.image(
            _tile(result.image),
            caption=tr("{name}: {share} sure").format(
                name=name, share=i18n.percent(result.probability)
            ),
            alt=describe.heatmap(np.asarray(result.image, float).mean(axis=-1), made),
        )
    st.caption(
        tr(
            "Each picture was changed until the model's score for its class was as high as the "
            "climb could make it. How sure the model is of each picture is written under it: a "
            "model can be very sure of a picture no person would call by that name."
        )
    )


def visualize_ui(loaded: loaders.LoadedRun) -> None:
    """The explanation, then channels or classes."""
    st.markdown(tr(EXPLAIN))
    what = st.radio(
        tr("What to look at"),
        [N_("A layer's channels"), N_("The classes")],
        format_func=tr,
        horizontal=True,
        key=f"{KEY}-what",
    )
    if what == "The classes":
        classes_ui(loaded)
    else:
        channels_ui(loaded)
