"""The architecture editor: a spec's conv blocks and dense layers as editable tables, its
head, and the one-line caption under the architecture picker."""

from __future__ import annotations

import math
from dataclasses import asdict, fields
from typing import Any

import pandas as pd
import streamlit as st

from cnn import architectures, i18n
from cnn.architectures import ArchSpec, ConvBlock, DenseLayer
from cnn.i18n import N_, tr

# Short headers (Keras' own argument names, kept in every language), narrow columns (pixels)
# and a tooltip each (translated where shown), so a conv block's 11 settings
# fit the editor's width on a 1280 px projector without scrolling sideways
COLUMNS = {  # field -> (header, width, what it means)
    "filters": ("filters", 70, N_("How many filters (output channels) each conv layer learns.")),
    "kernel": ("kernel", 72, N_("Side of each square filter, in pixels (3 means 3x3).")),
    "stride": ("stride", 68, N_("How far the filter jumps between positions (2 halves the map).")),
    "padding": ("padding", 80, N_("'same' keeps the map's size, 'valid' shrinks it by kernel-1.")),
    "activation": (
        "activation",
        92,
        N_("The function after each conv layer (relu: negatives to 0)."),
    ),
    "convs": ("convs", 66, N_("How many conv layers the block has, one after another.")),
    "batch_norm": ("BN", 50, N_("Batch normalisation between each conv layer and its activation.")),
    "pool": ("pool", 62, N_("Pooling after the block: max, avg (average) or none.")),
    "pool_size": ("size", 52, N_("Side of the pooling window, in pixels (2 halves the map).")),
    "dropout": (
        "dropout",
        80,
        N_("Share of the block's outputs switched off at random in training."),
    ),
    "residual": ("skip", 52, N_("Add the block's input to its output (a ResNet shortcut).")),
    "units": ("units", None, N_("How many numbers (neurons) the dense layer outputs.")),
}


def _column(name: str, default: Any, choices: dict[str, tuple] | None = None):
    """A data-editor column for one dataclass field, typed from its default value."""
    header, width, meaning = COLUMNS.get(name, (name, None, None))
    shown = {"width": width, "help": tr(meaning) if meaning else None}
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
    st.markdown(tr("**Conv blocks** (each: `convs` conv layers, then pooling and dropout)"))
    conv_choices = {
        "padding": architectures.PADDINGS,
        "activation": architectures.ACTIVATIONS,
        "pool": architectures.POOLS,
    }
    blocks = _layer_editor(ConvBlock, base.conv_blocks, f"{key}-conv", conv_choices)
    head = st.radio(
        tr("Head"),
        architectures.HEADS,
        index=architectures.HEADS.index(base.head),
        horizontal=True,
        key=f"{key}-head",
        help=tr("flatten keeps where things are; global_avg averages each channel."),
    )
    st.markdown(tr("**Dense layers** (before the softmax output)"))
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
    known = base.name in architectures.REGISTRY
    title = tr(architectures.REGISTRY[base.name].title) if known else ""
    if spec.name != "custom":
        what = title
    else:  # a link's spec= has no base of the registry: say "Custom" alone, not "from )"
        what = tr("Custom (edited from {title})").format(title=title) if title else tr("Custom")
    shape = " x ".join(map(str, layers[0].shape))
    about = tr(architectures.REGISTRY[base.name].description) if title else ""
    size = tr("input {shape} · {params} parameters · {classes} classes").format(
        shape=shape, params=i18n.number(params), classes=i18n.number(num_classes)
    )
    st.caption(tr("**{name}** · {size}. {about}").format(name=what, size=size, about=about))
