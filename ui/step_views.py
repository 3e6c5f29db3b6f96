"""Train, "One step at a time": a Step button that trains one batch and shows what changed.

The page's current settings make a `cnn.training.stepper.Stepper` (kept in session state, one
per session); each Step runs one batch at the learning rate in the box, which may change
between steps. Shown: the loss on that batch before and after, a chosen filter before and
after and its change, each layer's gradient size, and the loss of every step so far with the
steps where the learning rate changed marked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from cnn import describe, i18n
from cnn.errors import CnnError
from cnn.i18n import N_, tr
from ui import a11y, charts

KEY = "stepper"  # session state: the Stepper; widget keys start with it
RESULT_KEY = "stepper-result"  # session state: the last StepResult

EXPLAIN = N_(
    "Training is the same small move repeated thousands of times. Here you make the moves "
    "yourself. Each **Step** takes the next batch of training pictures, measures how wrong the "
    "model is on them (the loss), works out for every weight which way would make it less "
    "wrong (the gradient), and moves every weight a little that way. The **learning rate** is "
    "how big that move is: change it between steps and watch what happens. Too small and "
    "nothing changes; too big and the loss jumps around."
)


def _filter_figure(result) -> go.Figure:
    """The watched filter before, after, and the change (averaged over input channels)."""
    before = result.filter_before.mean(axis=-1)
    after = result.filter_after.mean(axis=-1)
    change = after - before
    fig = make_subplots(1, 3, subplot_titles=[tr("before"), tr("after"), tr("change")],
                        horizontal_spacing=0.06)  # fmt: skip
    top = float(max(np.abs(before).max(), np.abs(after).max())) or 1.0
    moved = float(np.abs(change).max()) or 1.0
    for col, (values, limit, decimals) in enumerate(
        [(before, top, 3), (after, top, 3), (change, moved, 5)], start=1
    ):
        fig.add_heatmap(
            z=values,
            text=np.vectorize(lambda v, d=decimals: f"{v:.{d}f}")(values),
            texttemplate="%{text}",
            colorscale="RdBu_r",
            zmin=-limit,
            zmax=limit,
            showscale=False,
            hoverinfo="skip",
            row=1,
            col=col,
        )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    k = before.shape[0]
    fig.update_layout(height=80 + 55 * k, width=3 * (60 * k + 40),
                      margin={"l": 5, "r": 5, "t": 30, "b": 5})  # fmt: skip
    return fig


def _norms_figure(result) -> go.Figure:
    names = list(result.gradient_norms)
    fig = go.Figure(go.Bar(x=names, y=[result.gradient_norms[n] for n in names]))
    fig.update_layout(height=240, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      title=tr("How big each layer's gradient was"))  # fmt: skip
    return fig


def losses_figure(history: list[dict], changes: list[tuple[int, float]]) -> go.Figure:
    """The loss of every step so far, a dotted line where the learning rate changed."""
    fig = go.Figure(
        go.Scatter(
            x=[h["step"] for h in history],
            y=[h["loss"] for h in history],
            mode="lines+markers",
            name=tr("loss"),
        )  # fmt: skip
    )
    charts.mark_rate_changes(fig, [(step - 0.5, lr) for step, lr in changes], subplots=False)
    fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      title=tr("Loss of each step's batch"), xaxis_title=tr("step"))  # fmt: skip
    fig.update_xaxes(dtick=1)  # steps are whole numbers
    return fig


def _controls(stepper) -> tuple[float, str, int]:
    lr_col, layer_col, filter_col = st.columns([2, 2, 1])
    lr = lr_col.number_input(
        tr("Learning rate"), 0.00001, 10.0, float(stepper.config.learning_rate), format="%.5f",
        key=f"{KEY}-lr", help=tr("Used by the next step; change it whenever you like."),
    )  # fmt: skip
    layers = stepper.conv_layers()
    layer = layer_col.selectbox(tr("Watch a filter of"), layers, key=f"{KEY}-layer")
    count = int(stepper.model.get_layer(layer).kernel.shape[-1])
    index = filter_col.number_input(tr("Filter"), 0, count - 1, 0, key=f"{KEY}-filter")
    return float(lr), layer, int(index)


def _result_ui(stepper, result) -> None:
    before, after = st.columns(2)
    before.metric(
        tr("Loss on step {step}'s {n} pictures").format(step=result.step, n=result.batch_size),
        i18n.number(result.loss, 4),
    )
    change = result.loss_after - result.loss
    after.metric(tr("The same pictures after the step"), i18n.number(result.loss_after, 4),
                 ("+" if change >= 0 else "") + i18n.number(change, 4),
                 delta_color="inverse")  # fmt: skip
    left, right = st.columns(2)
    with left:
        st.markdown(tr("**{layer}, filter {f}**").format(layer=result.layer, f=result.filter_index))
        st.plotly_chart(_filter_figure(result), key=f"{KEY}-filter-fig", width="content")
        change = result.filter_after.mean(axis=-1) - result.filter_before.mean(axis=-1)
        a11y.described_ui(describe.heatmap(np.abs(change), tr("How much each number moved")))
    with right:
        st.plotly_chart(_norms_figure(result), key=f"{KEY}-norms")
    st.plotly_chart(losses_figure(stepper.history, stepper.lr_changes()), key=f"{KEY}-losses")
    a11y.described_ui(describe.curve([h["loss"] for h in stepper.history], tr("loss")))
    st.caption(
        tr(
            "Each step uses a new batch, so the loss goes up and down from step to step; what "
            "matters is the trend. Dotted lines: where you changed the learning rate."
        )
    )


def step_ui(config: Any) -> None:
    """Start stepping with the page's settings, then Step and see what changed."""
    from cnn.training.stepper import Stepper

    st.markdown(tr(EXPLAIN))
    stepper = st.session_state.get(KEY)
    fresh = stepper is None or stepper.config != config
    label = tr("Start stepping with these settings") if fresh else tr("Start over")
    if st.button(label, key=f"{KEY}-start"):
        try:
            with st.spinner(tr("Loading the pictures and building the model...")):
                st.session_state[KEY] = stepper = Stepper(config)
            st.session_state.pop(RESULT_KEY, None)
        except CnnError as err:
            st.error(str(err))
            return
    if stepper is None:
        return
    if stepper.config != config:
        st.caption(tr("The settings above changed since you started: Start over to use them."))
    lr, layer, index = _controls(stepper)
    if st.button(tr("Step"), type="primary", key=f"{KEY}-step"):
        try:
            st.session_state[RESULT_KEY] = stepper.step(lr, layer, index)
        except CnnError as err:
            st.error(str(err))
    result = st.session_state.get(RESULT_KEY)
    if result is not None:
        _result_ui(stepper, result)
