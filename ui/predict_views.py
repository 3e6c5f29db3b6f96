"""The Predict page's views of one inspection: feature maps, learned filters; and links to the
pages that look further into the input ("Where it looked" is `ui.saliency_views`)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnn import describe, i18n
from cnn.i18n import N_, tr
from cnn.record import RunRecord
from ui import pictures, presenter
from ui.glossary import explain_ui

SCALES = ("shared", "per channel")  # the feature maps' colour scales (values)
# as the radio shows them ("shared" alone is another page's msgid, a class's shared runs)
SCALE_NAMES = {"shared": N_("shared scale"), "per channel": N_("per channel")}
KINDS = {"conv": N_("conv"), "pool": N_("pool"), "add": N_("add")}  # a layer's kind, shown


def feature_maps_ui(inspection, record: RunRecord) -> None:
    """Every channel of a chosen conv or pooling layer, on a shared or per-channel scale."""
    if not inspection.activations:
        st.info(tr("This model has no convolution or pooling layer, so it makes no feature maps."))
        return
    # two columns, the explanation under the colour scale (as the Grad-CAM tab's controls):
    # a third column cut "What is a feature map?" short at 1280x720, in presenter mode
    layer_col, scale_col = st.columns([1, 1])
    layers = {
        f"{a.name} ({tr(KINDS.get(a.kind, a.kind))}, {' x '.join(map(str, a.array.shape))})": a
        for a in inspection.activations
    }
    activation = layers[layer_col.selectbox(tr("Layer"), list(layers))]
    # photo maps on one scale are mostly dark (a few channels dominate): per channel for them
    default = 0 if record.preprocessing.method == "digits" else 1
    shared = scale_col.radio(
        tr("Colour scale"),
        SCALES,
        default,
        format_func=lambda scale: tr(SCALE_NAMES[scale]),
        horizontal=True,
    )
    with scale_col:
        explain_ui("feature map")
    maps = activation.array
    st.image(
        pictures.feature_map_mosaic(maps, shared == SCALES[0], presenter.px(64)),
        caption=tr("{n} channels of {layer} (yellow = strong, dark blue = weak)").format(
            n=i18n.number(maps.shape[-1]), layer=activation.name
        ),
        alt=describe.heatmap(
            maps.mean(axis=-1),
            tr("The {n} feature maps of {layer}, averaged").format(
                n=i18n.number(maps.shape[-1]), layer=activation.name
            ),
        ),
    )


def filters_ui(filter_images: dict[str, np.ndarray]) -> None:
    """The learned kernels of a chosen conv layer (a photo model's first layer in colour)."""
    if not filter_images:
        st.info(tr("This model has no convolution layer, so it has no filters."))
        return
    name_col, help_col = st.columns([3, 2], vertical_alignment="bottom")
    conv_name = name_col.selectbox(tr("Conv layer"), list(filter_images))
    with help_col:
        explain_ui("filter")
    tiles = filter_images[conv_name]
    caption = (
        tr(
            "The {n} learned kernels of {layer} in colour (red, green, blue), each scaled on "
            "its own"
        )
        if tiles.ndim == 4
        else tr("The {n} learned kernels of {layer}, each scaled on its own")
    ).format(n=i18n.number(len(tiles)), layer=conv_name)
    grey = tiles.mean(axis=-1) if tiles.ndim == 4 else tiles
    st.image(
        pictures.filter_mosaic(tiles, tile_px=presenter.px(pictures.FILTER_TILE_PX)),
        caption=caption,
        alt=describe.heatmap(
            grey.mean(axis=0),
            tr("The {n} learned kernels of {layer}, averaged").format(
                n=i18n.number(len(tiles)), layer=conv_name
            ),
        ),
    )


def more_on_this_input_ui() -> None:
    """Links to the pages that look further into the input Predict shows."""
    st.page_link(
        page="app_pages/inside.py",
        label=tr("Look inside: the whole network and every number of a convolution"),
        icon=":material/visibility:",
    )
    st.page_link(
        page="app_pages/probe.py",
        label=tr("Probe it: shift, rotate or cover the input, find look-alikes, fool it"),
        icon=":material/science:",
    )
    st.page_link(
        page="app_pages/models.py",
        label=tr("Watch how this model learned (time-lapse)"),
        icon=":material/movie:",
    )
