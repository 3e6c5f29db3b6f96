"""One feature-map value, every number: the conv arithmetic on the student's own model.

Pick a conv or pool layer, a channel and a position: a click on the map (the
streamlit-image-coordinates component) or the number inputs. Then the position's receptive
field is outlined on the input, and the arithmetic is laid out as small heatmaps with their
numbers (window, filter, products per input channel), the sum, bias, batch norm and
activation, ending at the value, checked against the model's own feature map. A pool shows
its window and the maximum (or mean) taken. Plus the per-layer table.
"""

from __future__ import annotations

from functools import partial

import cv2
import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots
from streamlit_image_coordinates import streamlit_image_coordinates

from cnn import describe, i18n
from cnn.explain import INPUT
from cnn.i18n import N_, tr
from ui import a11y, charts, pictures

LAYER_KEY = "arithmetic-layer"
CHANNEL_KEY = "arithmetic-channel"  # + "-<layer>": each layer keeps its own choice
ROW_KEY, COLUMN_KEY = "arithmetic-y", "arithmetic-x"  # + "-<layer>"
CLICK_KEY = "arithmetic-click"  # + "-<layer>": the clickable map's last click
VIEW_PX = 320  # the clickable map and the input are enlarged to about this side
MAX_INPUT_CHANNELS = 4  # input channels whose window, filter and products are drawn
CHECK_TOLERANCE = 1e-4  # our arithmetic against the feature map's own value
OUTLINE = (220, 38, 38)  # red, RGB
FIELD_DIM = 0.35  # brightness kept outside the receptive field
FORMULAS = {  # translated where shown
    "relu": N_("max(0, x): negatives become 0"),
    "elu": N_("x if x > 0, else e^x - 1"),
    "gelu": N_("x times the chance a normal variable is below x"),
    "tanh": N_("tanh(x), squeezed into -1..1"),
    "sigmoid": N_("1 / (1 + e^-x), squeezed into 0..1"),
    "linear": N_("x: no activation"),
}
POOL_TITLES = {"max": N_("##### The max of the window"),
               "average": N_("##### The average of the window")}  # fmt: skip


def _formula(activation: str) -> str:
    return tr(FORMULAS[activation]) if activation in FORMULAS else activation


def enlarged(rgb: np.ndarray, side: int = VIEW_PX) -> tuple[np.ndarray, int]:
    """The image enlarged by a whole factor (sharp pixels) to at most about `side`."""
    scale = max(1, side // max(rgb.shape[:2]))
    return np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1), scale


def outlined(rgb: np.ndarray, box, scale: int, dim: bool = False) -> np.ndarray:
    """`rgb` (already enlarged by `scale`) with a box of original pixels outlined in red.

    Args:
        box: (top, left, bottom, right), inclusive, in the original pixels.
        dim: darken everything outside the box.
    """
    top, left, bottom, right = box
    y0, x0, y1, x1 = top * scale, left * scale, (bottom + 1) * scale - 1, (right + 1) * scale - 1
    out = rgb.copy()
    if dim:
        out = (out * FIELD_DIM).astype(np.uint8)
        out[y0 : y1 + 1, x0 : x1 + 1] = rgb[y0 : y1 + 1, x0 : x1 + 1]
    cv2.rectangle(out, (x0, y0), (x1, y1), OUTLINE, max(1, min(3, scale // 3 + 1)))
    return out


def _click_to_position(layer: str, h: int, w: int) -> None:
    """Turn the last click on the map (display pixels) into its row and column."""
    click = st.session_state.get(f"{CLICK_KEY}-{layer}")
    if click:
        st.session_state[f"{ROW_KEY}-{layer}"] = min(int(click["y"] * h / click["height"]), h - 1)
        st.session_state[f"{COLUMN_KEY}-{layer}"] = min(int(click["x"] * w / click["width"]), w - 1)


def _pickers(explainer, forward):
    """Layer, channel (most active first) and position widgets: the chosen MapLayer, c, y, x."""
    names = [layer.name for layer in explainer.map_layers]
    pick_layer, pick_channel, pick_y, pick_x = st.columns([2, 2, 1, 1])
    name = pick_layer.selectbox(
        tr("Layer"),
        names,
        key=LAYER_KEY,
        format_func=lambda n: (
            f"{n} ({explainer.map_layer(n).kind}, "
            + " x ".join(map(str, explainer.map_layer(n).shape))
            + ")"
        ),
    )
    layer = explainer.map_layer(name)
    h, w, _ = layer.shape
    maps = forward.output(layer.shown_by)
    activity = np.abs(maps).mean(axis=(0, 1))
    order = np.argsort(-activity, kind="stable").tolist()
    channel = pick_channel.selectbox(
        tr("Channel (most active first)"),
        order,
        key=f"{CHANNEL_KEY}-{name}",
        format_func=lambda c: tr("channel {c} (mean {mean})").format(
            c=c, mean=i18n.number(activity[c], 3)
        ),
    )
    # start on the strongest value of the most active channel: a number worth explaining (set
    # in session state, as a click on the map sets it, rather than as the widgets' default)
    start = np.unravel_index(np.argmax(maps[..., order[0]]), (h, w))
    for key, value in zip((ROW_KEY, COLUMN_KEY), start, strict=True):
        st.session_state.setdefault(f"{key}-{name}", int(value))
    y = pick_y.number_input(tr("Row y"), 0, h - 1, key=f"{ROW_KEY}-{name}")
    x = pick_x.number_input(tr("Column x"), 0, w - 1, key=f"{COLUMN_KEY}-{name}")
    return layer, int(channel), int(y), int(x), maps


def _views_ui(explainer, forward, layer, arithmetic, maps) -> None:
    """The clickable map with the position outlined, and the input with the field outlined."""
    h, w, _ = layer.shape
    y, x = arithmetic.at
    values = maps[..., arithmetic.channel]
    big, scale = enlarged(pictures.colorized(values, float(values.min()), float(values.max())))
    on_map, on_input = st.columns(2)
    with on_map:
        streamlit_image_coordinates(
            outlined(big, (y, x, y, x), scale),
            key=f"{CLICK_KEY}-{layer.name}",
            on_click=partial(_click_to_position, layer.name, h, w),
            cursor="crosshair",
        )
        what = tr("Feature map of {layer}, channel {channel}").format(
            layer=layer.name, channel=arithmetic.channel
        )
        a11y.described_ui(describe.heatmap(values, what))
        st.caption(
            tr(
                "{layer}, channel {channel} ({h} x {w}): click a position. "
                "Outlined: y {y}, x {x}, value {value}."
            ).format(
                layer=layer.name, channel=arithmetic.channel, h=h, w=w, y=y, x=x,
                value=i18n.number(arithmetic.keras_value, 4),
            )
        )  # fmt: skip
    field = arithmetic.receptive_field
    image, scale = enlarged(pictures.to_uint8_rgb(forward.image))
    full = layer.geometry.rf
    if field.height == field.width == full:
        caption = tr(
            "Its receptive field: input rows {top}-{bottom}, columns {left}-{right} "
            "({height} x {width} pixels). Nothing outside it can change this value."
        )
    else:
        caption = tr(
            "Its receptive field: input rows {top}-{bottom}, columns {left}-{right} "
            "({height} x {width} pixels, cut at the edge of the {full} x {full} it would be). "
            "Nothing outside it can change this value."
        )
    caption = caption.format(
        top=field.top, bottom=field.bottom, left=field.left, right=field.right,
        height=field.height, width=field.width, full=full,
    )  # fmt: skip
    on_input.image(
        outlined(image, (field.top, field.left, field.bottom, field.right), scale, dim=True),
        width=image.shape[1],
        caption=caption,
        alt=tr("The model's input, with this value's receptive field outlined in red."),
    )


def _heatmap(fig, z, text, colorscale, scale: tuple[float, float], row, col) -> None:
    """One small heatmap with its numbers written in, coloured from scale[0] to scale[1]."""
    fig.add_heatmap(
        z=z,
        text=text,
        texttemplate="%{text}",
        colorscale=colorscale,
        zmin=scale[0],
        zmax=scale[1],
        showscale=False,
        hoverinfo="skip",
        row=row,
        col=col,
    )


def _texts(values: np.ndarray, decimals: int) -> np.ndarray:
    """Each number as text with `decimals` decimals (a heatmap's cell labels; no "-0.00")."""
    return np.vectorize(
        lambda v: (
            f"{v:.{decimals}f}".removeprefix("-")
            if round(v, decimals) == 0
            else f"{v:.{decimals}f}"
        )
    )(values)


def products_figure(arithmetic, channels: list[int], names: list[str]) -> go.Figure:
    """Per input channel: the window (with "pad"), the filter slice and their products.

    Args:
        channels: the input channels to draw; names: what to call every input channel.
    """
    a = arithmetic
    titles = []
    for c in channels:
        titles += [
            tr("{name}: window").format(name=names[c]),
            tr("x filter"),
            tr("= products (sum {sum})").format(sum=i18n.number(a.channel_sums[c], 3)),
        ]
    fig = make_subplots(
        len(channels),
        3,
        subplot_titles=titles,
        horizontal_spacing=0.04,
        vertical_spacing=0.25 / len(channels),
    )
    windows = a.window[..., channels]
    low = min(float(windows.min()), 0.0)
    shade = (low, max(float(windows.max()), low + 1e-6))  # 0 is black
    weights = float(np.abs(a.kernel).max()) or 1.0
    products = float(np.abs(a.products[..., channels]).max()) or 1.0
    for row, c in enumerate(channels, start=1):
        window = np.where(a.inside, _texts(a.window[..., c], 2), tr("pad"))
        _heatmap(fig, a.window[..., c], window, "Greys_r", shade, row, 1)
        kernel = _texts(a.kernel[..., c], 2)
        _heatmap(fig, a.kernel[..., c], kernel, "RdBu_r", (-weights, weights), row, 2)
        product = _texts(a.products[..., c], 3)
        _heatmap(fig, a.products[..., c], product, "RdBu_r", (-products, products), row, 3)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    k = a.kernel.shape[0]
    fig.update_layout(
        height=60 + len(channels) * (40 + 50 * k),
        width=3 * (60 * k + 40),
        margin={"l": 5, "r": 5, "t": 30, "b": 5},
    )
    fig.update_annotations(font_size=12)
    return fig


def _steps_table(a) -> str:
    """The additions after the products as a markdown table: step, how, value."""
    rows = [
        (tr("sum"), tr("all {n} products added up").format(n=a.products.size), a.sum),
        (
            tr("+ bias"),
            f"{a.bias:+.4f}" if a.bias else tr("0 (no bias: batch norm follows)"),
            a.sum + a.bias,
        ),
    ]
    if a.batch_norm is not None:
        bn = a.batch_norm
        rows.append(
            (
                tr("batch norm"),
                tr(
                    "gamma x (x - mean) / sqrt(variance + epsilon) + beta, with mean {mean}, "
                    "variance {variance}, epsilon {epsilon}, gamma {gamma}, beta {beta}"
                ).format(
                    mean=f"{bn.mean:.4f}", variance=f"{bn.variance:.4f}",
                    epsilon=f"{bn.epsilon:g}", gamma=f"{bn.gamma:.4f}", beta=f"{bn.beta:.4f}",
                ),
                bn.output,
            )
        )  # fmt: skip
    rows.append((a.activation, _formula(a.activation), a.value))
    lines = [_table_head(), "| --- | --- | ---: |"]
    lines += [f"| {step} | {how} | {value:.6f} |" for step, how, value in rows]
    return "\n".join(lines)


def _table_head() -> str:
    return "| {} | {} | {} |".format(tr("step"), tr("how"), tr("value"))


def _conv_ui(a, layer) -> None:
    cin = a.window.shape[-1]
    names = [tr("input channel {c}").format(c=c) for c in range(cin)]
    if layer.input_layer == INPUT and cin == 3:
        names = [tr("red"), tr("green"), tr("blue")]
    shown = sorted(range(cin), key=lambda c: -abs(a.channel_sums[c]))[:MAX_INPUT_CHANNELS]
    st.markdown(tr("##### 1. Multiply the window by the filter, number by number"))
    if cin <= len(shown):
        text = tr(
            "The window is the {h} x {w} patch of the layer's input under this position, in "
            "each of its {cin} channels (all of them below). 'pad' cells lie outside the map: "
            "padding, counted as 0."
        )
    else:
        text = tr(
            "The window is the {h} x {w} patch of the layer's input under this position, in "
            "each of its {cin} channels (the {n} that add the most below). 'pad' cells lie "
            "outside the map: padding, counted as 0."
        )
    st.caption(text.format(h=a.window.shape[0], w=a.window.shape[1], cin=cin, n=len(shown)))
    st.plotly_chart(
        products_figure(a, sorted(shown), names), key="arithmetic-products", width="content"
    )
    if cin > len(shown):
        bars = go.Figure(
            go.Bar(x=list(range(cin)), y=a.channel_sums, marker_color=charts.COLORS["train"])
        )
        bars.update_layout(
            height=200,
            margin={"l": 10, "r": 10, "t": 30, "b": 10},
            title=tr("Sum of each input channel's products"),
        )
        bars.update_xaxes(title_text=tr("input channel"))
        st.plotly_chart(bars, key="arithmetic-channel-sums")
    st.markdown(tr("##### 2. Add it all up, then the layer's last steps"))
    st.markdown(_steps_table(a))


def _pool_ui(a, source) -> None:
    st.markdown(tr(POOL_TITLES.get(a.operation, POOL_TITLES["average"])))
    k = a.window.shape[0]
    st.caption(
        tr("The window is the {k} x {k} patch of {source}'s channel {channel} under this "
           "position.").format(k=k, source=source, channel=a.channel)
    )  # fmt: skip
    text = np.where(a.inside, _texts(a.window, 3), tr("pad"))
    fig = go.Figure(
        go.Heatmap(
            z=a.window,
            text=text,
            texttemplate="%{text}",
            colorscale="Viridis",
            showscale=False,
            hoverinfo="skip",
        )
    )
    if a.picked is not None:
        r, c = a.picked
        charts.outline_cell(fig, c, r, "#dc2626", 4)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(
        height=80 + 50 * a.window.shape[0],
        width=80 + 70 * a.window.shape[1],
        margin={"l": 5, "r": 5, "t": 5, "b": 5},
    )
    st.plotly_chart(fig, key="arithmetic-pool", width="content")
    n = int(a.inside.sum())
    if a.operation == "max":
        st.markdown(
            tr(
                "The largest of these {n} numbers (outlined) is **{value}**: pooling keeps "
                "only the strongest signal."
            ).format(n=n, value=i18n.number(a.value, 6))
        )
    else:
        st.markdown(
            tr("The average of these {n} numbers is **{value}**.").format(
                n=n, value=i18n.number(a.value, 6)
            )
        )


def _add_ui(a) -> None:
    """A residual add: the main path's number plus the shortcut's, then the activation."""
    st.markdown(tr("##### A shortcut: add the block's input back"))
    st.caption(
        tr(
            "{layer} ends a residual block. The block's convs ({main}) work out a correction, "
            "and the shortcut ({shortcut}) carries the block's input around them. The two maps "
            "are added, number by number, so a block only has to learn what to change, and the "
            "training signal reaches early layers through the shortcut."
        ).format(layer=a.layer, main=a.main_layer, shortcut=a.shortcut_layer)
    )
    rows = [
        (tr("main path"), tr("{layer} at this position and channel").format(layer=a.main_layer),
         a.main),
        (tr("+ shortcut"), tr("{layer} at the same place").format(layer=a.shortcut_layer),
         a.shortcut),
        (tr("sum"), tr("main path + shortcut"), a.sum),
        (a.activation, _formula(a.activation), a.value),
    ]  # fmt: skip
    lines = [_table_head(), "| --- | --- | ---: |"]
    st.markdown("\n".join(lines + [f"| {s} | {h} | {v:.6f} |" for s, h, v in rows]))


def check_ui(a) -> None:
    """Our number against the feature map's own, in plain sight."""
    gap = abs(a.value - a.keras_value)
    if gap <= CHECK_TOLERANCE:
        st.success(
            tr(
                "✓ {value}: the same number the feature map shows for {layer}, channel "
                "{channel}, at y {y}, x {x} ({keras}; difference {gap})."
            ).format(
                value=f"{a.value:.6f}", layer=a.layer, channel=a.channel, y=a.at[0], x=a.at[1],
                keras=f"{a.keras_value:.6f}", gap=f"{gap:.1e}",
            )
        )  # fmt: skip
    else:
        st.error(
            tr(
                "Worked out here: {value}, but the feature map shows {keras}: this layer does "
                "something this page does not know."
            ).format(value=f"{a.value:.6f}", keras=f"{a.keras_value:.6f}")
        )


def arithmetic_ui(explainer, forward) -> None:
    """Pickers, the map and the receptive field, the arithmetic, the check."""
    layer, channel, y, x, maps = _pickers(explainer, forward)
    a = explainer.position(forward, layer.name, channel, y, x)
    _views_ui(explainer, forward, layer, a, maps)
    if a.kind == "conv":
        _conv_ui(a, layer)
    elif a.kind == "add":
        _add_ui(a)
    else:
        _pool_ui(a, explainer.source_map(layer.name).name)
    check_ui(a)


def layer_table_ui(explainer) -> None:
    """The per-layer table with the totals and what the columns mean."""
    rows = explainer.table()
    shown = [
        {**r, "receptive field": tr("whole image")}
        if r["receptive field"] == "whole image" else r
        for r in rows
    ]  # fmt: skip
    config = {"layer": tr("layer"), "type": tr("type"), "output shape": tr("output shape"),
              "receptive field": tr("receptive field")}  # fmt: skip
    number = st.column_config.NumberColumn
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            **config,
            "parameters": number(tr("parameters"), format="localized"),
            "multiply-adds": number(tr("multiply-adds"), format="localized"),
            "jump": number(tr("jump")),
        },
    )
    params = sum(r["parameters"] for r in rows)
    macs = sum(r["multiply-adds"] for r in rows)
    st.caption(
        tr(
            "In all {params} parameters (numbers learned in training) and {macs} multiply-adds "
            "for one image. Receptive field: how many input pixels across one value of the "
            "layer can see. Jump: how many input pixels apart two neighbouring values of the "
            "map are."
        ).format(params=i18n.number(params), macs=i18n.number(macs))
    )
