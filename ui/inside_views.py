"""What the Look inside page's views share: the cached explainer and forward pass, the glossary.

`explainer(loaded)` checks a run's model against its recorded architecture once per model
(`cnn.explain.Explainer`); `forward(loaded, explainer, image)` is one compiled pass over
every layer, remembered per input, so a click on a map or a channel costs no model call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from cnn.i18n import N_, tr
from ui import loaders

MAX_FORWARDS = 16  # inputs whose every layer output is remembered (a few MB each)

# The words of the page in plain language, for a 15-year-old, one click away.
GLOSSARY = {
    N_("Convolution"): N_(
        "A small window slides over the picture. At each spot it multiplies the "
        "pixels under it by a set of numbers and adds everything up into one number. Doing this "
        "at every spot makes a new picture."
    ),
    N_("Filter (kernel)"): N_(
        "The set of numbers the window multiplies by. The model learned them "
        "while training. A filter that is positive on one side and negative on the other, for "
        "example, gives big numbers where the picture goes from dark to bright: an edge."
    ),
    N_("Feature map (channel)"): N_(
        "The new picture one filter makes. Bright spots show where the "
        "filter found its pattern. A layer with 32 filters makes 32 feature maps."
    ),
    N_("Receptive field"): N_(
        "The part of the input picture one number of a feature map depends on. "
        "Deeper layers look through earlier layers, so they see bigger parts of the picture."
    ),
    N_("Stride"): N_(
        "How far the window jumps between spots. A stride of 2 skips every other spot, "
        "so the feature map is half as wide and half as tall."
    ),
    N_("Padding"): N_(
        "'same' padding puts a border of zeros around the picture so the window can "
        "also sit on the edges and the map keeps its size. 'valid' means no border, so the map "
        "shrinks a little."
    ),
    N_("Pooling"): N_(
        "Shrinks a feature map: max pooling keeps only the largest number of each "
        "small window (usually 2 x 2), average pooling keeps their average. The strongest "
        "signals survive and the map gets 4 times smaller."
    ),
    N_("ReLU"): N_(
        "An activation function: negative numbers become 0, positive ones stay. So a "
        "feature map only shows where a pattern IS, not where it is not."
    ),
    N_("Batch norm"): N_(
        "Batch normalisation shifts and scales each channel's numbers with four "
        "numbers learned in training (mean, variance, gamma, beta) so they stay in a handy "
        "range. It helps the network learn faster."
    ),
    N_("Dense layer and softmax"): N_(
        "A dense layer mixes every number it gets into each of its "
        "outputs. The last one has one output per class, and softmax turns those into "
        "percentages that add up to 100%."
    ),
}


@st.cache_resource(max_entries=loaders.MAX_LOADED_RUNS, show_spinner=False)
def _explainer(path: str, stamp: tuple, _loaded: Any) -> Any:
    from cnn.explain import Explainer

    return Explainer.for_run(_loaded.run, _loaded.inspector)


def explainer(loaded: loaders.LoadedRun) -> Any:
    """The run's `cnn.explain.Explainer`, made once per model.

    Raises:
        ExplainError: the model does not match its recorded architecture.
    """
    return _explainer(str(loaded.run.info.path), loaded.stamp, loaded)


@st.cache_resource(max_entries=MAX_FORWARDS, show_spinner=False)
def _forward(path: str, stamp: tuple, image: np.ndarray, _explainer: Any) -> Any:
    return _explainer.forward(image)


def forward(loaded: loaders.LoadedRun, explainer: Any, image: np.ndarray) -> Any:
    """Every layer's output for one model input, remembered per (model, input)."""
    with st.spinner(tr("Looking inside the network...")):  # shown after half a second only
        return _forward(str(loaded.run.info.path), loaded.stamp, image, explainer)


def glossary_ui() -> None:
    """The page's words explained in plain language, in a closed expander."""
    with st.expander(tr("What is this? The words on this page in plain language")):
        left, right = st.columns(2)
        for i, (word, meaning) in enumerate(GLOSSARY.items()):
            (left if i % 2 == 0 else right).markdown(f"**{tr(word)}.** {tr(meaning)}")
