"""The Predict page's views of one inspection: feature maps, learned filters; and links to the
pages that look further into the input ("Where it looked" is `ui.saliency_views`)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnn.record import RunRecord
from ui import pictures, presenter
from ui.glossary import explain_ui


def feature_maps_ui(inspection, record: RunRecord) -> None:
    """Every channel of a chosen conv or pooling layer, on a shared or per-channel scale."""
    if not inspection.activations:
        st.info("This model has no convolution or pooling layer, so it makes no feature maps.")
        return
    # two columns, the explanation under the colour scale (as the Grad-CAM tab's controls):
    # a third column cut "What is a feature map?" short at 1280x720, in presenter mode
    layer_col, scale_col = st.columns([1, 1])
    layers = {
        f"{a.name} ({a.kind}, {' x '.join(map(str, a.array.shape))})": a
        for a in inspection.activations
    }
    activation = layers[layer_col.selectbox("Layer", list(layers))]
    # photo maps on one scale are mostly dark (a few channels dominate): per channel for them
    default = 0 if record.preprocessing.method == "digits" else 1
    shared = scale_col.radio("Colour scale", ["shared", "per channel"], default, horizontal=True)
    with scale_col:
        explain_ui("feature map")
    st.image(
        pictures.feature_map_mosaic(activation.array, shared == "shared", presenter.px(64)),
        caption=f"{activation.array.shape[-1]} channels of {activation.name} "
        "(yellow = strong, dark blue = weak)",
    )


def filters_ui(filter_images: dict[str, np.ndarray]) -> None:
    """The learned kernels of a chosen conv layer (a photo model's first layer in colour)."""
    if not filter_images:
        st.info("This model has no convolution layer, so it has no filters.")
        return
    name_col, help_col = st.columns([3, 2], vertical_alignment="bottom")
    conv_name = name_col.selectbox("Conv layer", list(filter_images))
    with help_col:
        explain_ui("filter")
    tiles = filter_images[conv_name]
    colour = " in colour (red, green, blue)" if tiles.ndim == 4 else ""
    st.image(
        pictures.filter_mosaic(tiles, tile_px=presenter.px(pictures.FILTER_TILE_PX)),
        caption=f"The {len(tiles)} learned kernels of {conv_name}{colour}, each scaled on its own",
    )


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
