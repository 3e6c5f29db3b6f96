"""Look inside, "One weight learns": the backward pass of one conv weight, number by number.

The forward view ("One value, every number") shows how a filter's numbers make one value of
its map; this view shows how one of those numbers changes when the model learns from the
current picture: the loss, the gradient that comes back to the filter's map, the weight's
gradient as a sum of products over every position of the map, the step `w - lr x g` and the
loss afterwards (`cnn.backprop.weight_step`; remembered per input and choice).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from cnn import i18n
from cnn.i18n import N_, tr
from ui import loaders

KEY = "backprop"  # widget keys start with it
MAX_NUMBERED = 12  # maps up to this side get their numbers written in
TOP_PRODUCTS = 8  # positions listed when a map is too big to number
CHECK_RELATIVE = 1e-4  # our sum against TensorFlow's GradientTape, relative to the terms

INTRO = N_(
    "Training changes every number of every filter a tiny bit after each picture, so that "
    "the model's answer gets a little less wrong. Here you follow **one** of those numbers "
    "(one weight) through one such change. First the model reads the picture and we measure "
    "how wrong it is (the **loss**). Then we ask, for every value of the filter's feature map: "
    "if this value were a bit bigger, would the loss go up or down, and by how much? That is "
    "the **gradient** coming back to the map. The weight was multiplied by one input pixel at "
    "every position of the map, so its own gradient is the sum, over all positions, of "
    "(gradient there x the pixel it sat on). Finally the weight takes a small step against its "
    "gradient, downhill: **new weight = weight - learning rate x gradient**."
)


@st.cache_data(max_entries=32, show_spinner=False)
def _step(
    path: str,
    stamp: tuple,
    image: np.ndarray,
    label: int,
    layer: str,
    filter_index: int,
    weight: tuple[int, int, int],
    learning_rate: float,
    _model: Any,
) -> Any:
    from cnn.backprop import weight_step

    return weight_step(_model, image, label, layer, filter_index, weight, learning_rate)


def _number(v: float) -> str:
    """A gradient-sized number: 3 significant digits (gradients are often 0.00001)."""
    return "0" if v == 0 else f"{v:.3g}"


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st ... (in English; the catalog's
    "{n}th" in another language)."""
    if i18n.language() != "en":
        return tr("{n}th").format(n=n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _pickers(model, class_names: list[str], answer: int):
    """Layer, filter, weight (row, column, channel), true label and learning rate."""
    from cnn.backprop import conv_layers

    names = conv_layers(model)
    top = st.columns([2, 1, 1, 1, 1])
    layer = top[0].selectbox(tr("Conv layer"), names, key=f"{KEY}-layer")
    kh, kw, cin, cout = (int(d) for d in model.get_layer(layer).kernel.shape)
    filter_index = top[1].number_input(tr("Filter"), 0, cout - 1, 0, key=f"{KEY}-filter-{layer}")
    row = top[2].number_input(tr("Weight row"), 0, kh - 1, kh // 2, key=f"{KEY}-row-{layer}")
    col = top[3].number_input(tr("Weight column"), 0, kw - 1, kw // 2, key=f"{KEY}-col-{layer}")
    channel = top[4].number_input(tr("Input channel"), 0, cin - 1, 0, key=f"{KEY}-channel-{layer}")
    left, right = st.columns([3, 2])
    label = left.selectbox(
        tr("What the picture really is (the true label)"),
        range(len(class_names)),
        index=answer,
        format_func=lambda i: class_names[i],
        key=f"{KEY}-label",
        help=tr(
            "The loss measures how far the model's answer is from this. Pick another class "
            "to see how the model would learn if the picture were that."
        ),
    )
    lr = right.number_input(
        tr("Learning rate"),
        min_value=0.0001,
        max_value=10.0,
        value=0.01,
        step=0.01,
        format="%.4f",
        key=f"{KEY}-lr",
        help=tr("How big a step the weight takes against its gradient."),
    )
    return layer, int(filter_index), (int(row), int(col), int(channel)), int(label), float(lr)


def _heat(fig, z, text, colorscale, limit: tuple[float, float], col: int) -> None:
    fig.add_heatmap(
        z=z,
        text=text,
        texttemplate="%{text}" if text is not None else None,
        colorscale=colorscale,
        zmin=limit[0],
        zmax=limit[1],
        showscale=False,
        hovertemplate="y %{y}, x %{x}: %{z:.3g}<extra></extra>",
        row=1,
        col=col,
    )


def maps_figure(step) -> go.Figure:
    """Gradient reaching the map x input under the weight = products, position by position."""
    h, w = step.products.shape
    numbered = max(h, w) <= MAX_NUMBERED
    fig = make_subplots(
        1,
        3,
        subplot_titles=[
            tr("gradient reaching the map"),
            tr("x input under the weight"),
            tr("= products (sum {sum})").format(sum=_number(step.gradient)),
        ],
        horizontal_spacing=0.04,
    )

    def text(values):
        return np.vectorize(_number)(values) if numbered else None

    up = float(np.abs(step.upstream).max()) or 1.0
    _heat(fig, step.upstream, text(step.upstream), "RdBu_r", (-up, up), 1)
    under = np.where(step.inside, text(step.under), tr("pad")) if numbered else None
    low = min(float(step.under.min()), 0.0)
    _heat(fig, step.under, under, "Greys_r", (low, max(float(step.under.max()), low + 1e-6)), 2)
    prod = float(np.abs(step.products).max()) or 1.0
    _heat(fig, step.products, text(step.products), "RdBu_r", (-prod, prod), 3)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    cell = 44 if numbered else max(3, 260 // max(h, w))
    fig.update_layout(
        height=60 + cell * h,
        width=3 * (cell * w + 30),
        margin={"l": 5, "r": 5, "t": 30, "b": 5},
    )
    fig.update_annotations(font_size=12)
    return fig


def _top_products(step) -> str:
    """The positions that add the most, as a markdown table, and what the rest add."""
    flat = np.argsort(-np.abs(step.products), axis=None)[:TOP_PRODUCTS]
    lines = [
        "| {} | {} | {} | {} |".format(
            tr("position (y, x)"), tr("gradient there"), tr("x input"), tr("= product")
        ),
        "| --- | ---: | ---: | ---: |",
    ]
    for i in flat:
        y, x = np.unravel_index(i, step.products.shape)
        lines.append(
            f"| {y}, {x} | {_number(step.upstream[y, x])} | {step.under[y, x]:.3f} "
            f"| {_number(step.products[y, x])} |"
        )
    rest = step.gradient - float(step.products.flat[flat].sum())
    other = tr("the other {n}").format(n=step.products.size - len(flat))
    lines.append(f"| {other} | | | {_number(rest)} |")
    return "\n".join(lines)


def _step_table(step, class_names: list[str]) -> str:
    r, c, ch = step.weight
    rows = [
        (tr("gradient"), tr("sum of the {n} products").format(n=step.products.size),
         _number(step.gradient)),
        (
            tr("weight now"),
            tr("row {r}, column {c}, input channel {ch} of filter {f}").format(
                r=r, c=c, ch=ch, f=step.filter_index),
            f"{step.weight_before:.6f}",
        ),
        (
            tr("new weight"),
            f"{step.weight_before:.6f} - {step.learning_rate:g} x {_number(step.gradient)}",
            f"{step.weight_after:.6f}",
        ),
        (
            tr("loss before"),
            tr("-log(probability of {name}, {p})").format(
                name=class_names[step.label], p=f"{step.probability:.4f}"),
            f"{step.loss:.6f}",
        ),
        (
            tr("loss, only this weight moved"),
            tr("about {change} lower (learning rate x gradient²)").format(
                change=_number(-step.predicted_change)),
            f"{step.loss_after_weight:.6f}",
        ),
        (
            tr("loss, every weight moved"),
            tr("each weight took its own step, as training does"),
            f"{step.loss_after:.6f}",
        ),
    ]  # fmt: skip
    lines = [
        "| {} | {} | {} |".format(tr("step"), tr("how"), tr("value")),
        "| --- | --- | ---: |",
    ]
    return "\n".join(lines + [f"| {a} | {b} | {v} |" for a, b, v in rows])


def _gradient_reaches(step) -> None:
    after = ", ".join(step.followed_by) or tr("the next layers")
    st.markdown(tr("##### 1. How wrong is the answer, and what comes back to the filter"))
    st.caption(
        tr(
            "The loss is {loss}: it is 0 when the model is 100% sure of the true label and "
            "grows as that probability shrinks (the network's own probability, as training "
            "sees it: the answer above may be corrected or read twice). Going backwards from "
            "the loss through every layer after {layer} ({after}, ...), each value of filter "
            "{f}'s map gets a gradient: red means 'a bigger value here would raise the loss', "
            "blue 'would lower it'."
        ).format(loss=i18n.number(step.loss, 4), layer=step.layer, after=after,
                 f=step.filter_index)
    )  # fmt: skip


def backprop_ui(loaded: loaders.LoadedRun, image: np.ndarray, answer: int) -> None:
    """Pickers, the loss, the three maps, the sum, the step, and the check against TF."""
    from cnn.backprop import BackpropError

    st.markdown(tr(INTRO))
    model = loaded.run.model
    layer, f, weight, label, lr = _pickers(model, loaded.class_names, answer)
    try:
        with st.spinner(tr("Working out the backward pass...")):
            step = _step(str(loaded.run.info.path), loaded.stamp, image, label, layer, f,
                         weight, lr, model)  # fmt: skip
    except BackpropError as err:
        st.error(str(err))
        return
    _gradient_reaches(step)
    st.markdown(tr("##### 2. The weight's gradient: a product at every position, added up"))
    st.caption(
        tr(
            "At each position of the map the weight sat on one input value ('pad': the border "
            "of zeros). Its gradient is the sum of (gradient there x that input value)."
        )
    )
    st.plotly_chart(maps_figure(step), key=f"{KEY}-maps", width="content")
    if max(step.products.shape) > MAX_NUMBERED:
        st.markdown(_top_products(step))
    st.markdown(tr("##### 3. The step"))
    st.markdown(_step_table(step, loaded.class_names))
    sizes = np.abs(step.filter_gradient).ravel()
    rank = int((sizes > abs(step.tape_gradient)).sum()) + 1
    st.caption(
        tr(
            "Of the {n} weights of filter {f}, this one has the {rank} largest gradient (the "
            "largest is {largest})."
        ).format(n=sizes.size, f=step.filter_index, rank=_ordinal(rank),
                 largest=_number(float(sizes.max())))
    )  # fmt: skip
    st.caption(
        tr(
            "One weight moves so little that the loss barely changes (often not in the 6th "
            "decimal). Training moves all the weights at once, which is why the last line "
            "drops more. Too big a learning rate can overshoot and make the loss go up."
        )
    )
    _check_ui(step)


def _check_ui(step) -> None:
    scale = max(float(np.abs(step.products).sum()), 1e-12)
    gap = abs(step.gradient - step.tape_gradient)
    if gap <= CHECK_RELATIVE * scale:
        st.success(
            tr(
                "✓ {value}: the same gradient TensorFlow's own GradientTape gives for this "
                "weight ({tape}; difference {gap})."
            ).format(value=_number(step.gradient), tape=_number(step.tape_gradient),
                     gap=f"{gap:.1e}")
        )  # fmt: skip
    else:
        st.error(
            tr(
                "Worked out here: {value}, but TensorFlow says {tape}: this layer does "
                "something this page does not know."
            ).format(value=_number(step.gradient), tape=_number(step.tape_gradient))
        )
