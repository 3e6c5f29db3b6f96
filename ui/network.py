"""The whole network at a glance, for any run: CNN Explainer's overview for the student's model.

One plotly figure: the input; each conv/pool layer as a column of its channels, the most
active first; the global-average and dense layers as strips of their units; the softmax as
bars; each column headed by its layer's name, what it does and its output's shape. Every
label is at least FONT_PX on screen, larger in presenter mode. Feature maps are numpy mosaics
placed as layout images (far lighter than a heatmap per map); an invisible marker on every
tile makes it clickable through `st.plotly_chart(on_select=...)`. A clicked channel is shown
enlarged below the figure, with its filter (a conv) or the map it pools (a pool).
"""

from __future__ import annotations

import base64
from typing import Any

import cv2
import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from cnn import describe, i18n
from cnn.explain import MAP_KINDS
from cnn.i18n import N_, tr
from ui import a11y, arch_diagram, charts, pictures, presenter

FIGURE_KEY = "network-figure"  # the plotly chart's selection event
SELECTED_KEY = "network-selected"  # (layer, channel) the student clicked last
SHOWN_KEY = "network-shown"  # channels shown per column
TILE_STEP = (pictures.TILE_PX + pictures.TILE_GAP_PX) / pictures.TILE_PX  # tile + gap, tile = 1
COLUMN_STEP = 2.1  # centre to centre of neighbouring columns, in tiles
INPUT_SIDE = 1.6  # the input image's side, in tiles
FONT_PX = 13  # every label of the figure, before presenter mode enlarges it (a projector)
LINE_HEIGHT = 1.3  # a line of a header, in font sizes
CHAR_WIDTH = 0.6  # a character of a label, in font sizes (about)
BRIGHT_SHARE = 0.05  # a column's strongest values that get the top colour (yellow)
STRIP_WIDTH = 0.5  # a dense layer's strip of units
BAR_LENGTH = 1.6  # a softmax bar at 100%
MAX_CLASSES = 10  # softmax rows shown (the most probable)
MAX_FILTER_SLICES = 8  # input-channel slices of a filter shown (the largest weights)
ENLARGED_PX = 220
EXPECTED_WIDTH_PX = 820  # the figure's width on a 1280-pixel screen with the sidebar open
HIGHLIGHT = "#dc2626"
# second header line of the vector columns (their names already say dense or flatten)
KIND_LABELS = {"global_avg": N_("mean of<br>each map"), "dense": "", "flatten": ""}


def _png_uri(rgb: np.ndarray) -> str:
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()


def _place_image(fig: go.Figure, rgb: np.ndarray, x: float, y: float, w: float, h: float):
    """An image stretched over the data rectangle with top-left (x, y)."""
    fig.add_layout_image(
        source=_png_uri(rgb),
        xref="x",
        yref="y",
        x=x,
        y=y,
        sizex=w,
        sizey=h,
        sizing="stretch",
        layer="below",
        xanchor="left",
        yanchor="top",
    )


def _label(shape: Any) -> str:
    """A column's second header line: what the layer does."""
    if shape.kind == "conv":
        stride = "<br>" + tr("stride {n}").format(n=shape.stride) if shape.stride > 1 else ""
        return f"{shape.kernel}x{shape.kernel}{stride}"
    if shape.kind == "pool":
        kind = "max" if "Max" in shape.keras_type else "avg"
        return f"{kind} {shape.kernel}x{shape.kernel}"
    if shape.kind == "add":
        return "+ " + tr("shortcut")
    label = KIND_LABELS.get(shape.kind, shape.kind)
    return tr(label) if label else label


def _shape_text(shape: tuple[int, ...]) -> str:
    """A layer's output shape as the header's last line: 28×28×32, or 128 for a vector."""
    return "×".join(map(str, shape))


def colour_scale(maps: np.ndarray) -> tuple[float, float]:
    """The colour scale of the feature maps a column shows (h, w, channels): from their lowest
    value (dark blue) to the value their strongest BRIGHT_SHARE of values reach (yellow).

    One scale for the column, so its channels compare; not their largest value, which a few
    peaks set so high that most maps were all but black (issue 28, 5.5); and not the whole
    layer's, which the most active channels, the ones shown, all but fill with yellow."""
    low = float(maps.min())
    high = float(np.quantile(maps, 1 - BRIGHT_SHARE))
    return low, high if high > low else float(maps.max())


def _map_column(fig, column, x, shown: int, selected) -> float:
    """Tiles of the most active channels, clickable; returns the column's bottom."""
    channels = column.order[:shown]
    maps = column.maps[..., channels]
    tiles = pictures.colorized(np.moveaxis(maps, -1, 0), *colour_scale(maps))
    strip = pictures.mosaic(list(tiles), 1, pictures.TILE_PX)
    height = len(channels) * TILE_STEP - (TILE_STEP - 1)
    _place_image(fig, strip, x - 0.5, 0, 1, height)
    centres = [i * TILE_STEP + 0.5 for i in range(len(channels))]
    fig.add_scatter(
        x=[x] * len(channels),
        y=centres,
        mode="markers",
        marker={"size": 30, "opacity": 0, "symbol": "square"},
        customdata=[[column.name, int(c)] for c in channels],
        hovertemplate=[
            tr("{layer}, channel {channel}<br>mean {mean}, max {max}").format(
                layer=column.name,
                channel=c,
                mean=i18n.number(float(column.activity[c]), 3),
                max=i18n.number(float(column.maps[..., c].max()), 3),
            )
            + "<extra>"
            + tr("click to enlarge")
            + "</extra>"
            for c in channels
        ],
        showlegend=False,
    )
    if selected and selected[0] == column.name and selected[1] in channels:
        top = list(channels).index(selected[1]) * TILE_STEP
        charts.outline_cell(fig, x, top + 0.5, HIGHLIGHT, 3, half=0.56)  # a little outside the tile
    return height


def _vector_column(fig, column, x: float, height: float, font_px: int) -> None:
    """A strip of a layer's units (index order), or a note for a flatten."""
    n = len(column.values)
    if column.kind == "flatten":
        fig.add_annotation(
            x=x, y=height / 2,
            text=tr("all maps<br>laid in<br>one row:<br>{n}<br>numbers").format(n=i18n.number(n)),
            showarrow=False, font={"size": font_px, "color": "#555"},
        )  # fmt: skip
        return
    fig.add_heatmap(
        z=column.values[:, None],
        x0=x,
        dx=STRIP_WIDTH,
        y0=height / n / 2,
        dy=height / n,
        colorscale="Viridis",
        showscale=False,
        hovertemplate=f"{column.name}, unit %{{customdata}}: %{{z:.3f}}<extra></extra>",
        customdata=np.arange(n)[:, None],
    )


def _bar_step(bars: int, height: float, line: float) -> float:
    """The softmax bars' spacing, in tiles: the column's height shared out, at most a tile's
    step, at least a `line` of their labels (presenter mode's larger type needs more)."""
    return max(min(height / max(bars, 1), TILE_STEP), line)


def _softmax_column(fig, probabilities, class_names, x, height, font: tuple) -> None:
    """The most probable classes as bars, the top one highlighted; `font`: (size in pixels,
    a line's height in tiles)."""
    order = np.argsort(probabilities)[::-1][:MAX_CLASSES]
    step = _bar_step(len(order), height, font[1])
    fig.add_bar(
        x=probabilities[order] * BAR_LENGTH,
        y=[step * (i + 0.5) for i in range(len(order))],
        base=x - 0.5,
        orientation="h",
        width=step * 0.7,
        marker_color=[
            charts.COLORS["val"] if i == 0 else charts.COLORS["train"] for i in range(len(order))
        ],
        text=[f"{class_names[c]}: {probabilities[c]:.0%}" for c in order],
        textposition="outside",
        textfont={"size": font[0]},
        constraintext="none",
        cliponaxis=False,
        hoverinfo="skip",
        showlegend=False,
    )


def _column(fig, network, column, x: float, height: float, geometry, shown: int, selected,
            font: tuple) -> str:  # fmt: skip
    """Draw one column (None: the input picture); returns its header: name, what the layer
    does, its output's shape (a softmax: how many of its classes have a bar). `font`: (size
    in pixels, a line's height in tiles)."""
    if column is None:
        image = pictures.to_uint8_rgb(network.image)
        _place_image(fig, image, x - INPUT_SIDE / 2, 0, INPUT_SIDE, INPUT_SIDE)
        shape = _shape_text(network.image.shape)
        return "<b>" + tr("input") + "</b><br>" + tr("the picture") + f"<br>{shape}"
    label = "softmax" if column.kind == "softmax" else _label(geometry[column.name])
    shape = _shape_text(column.shape)
    if column.kind in MAP_KINDS:
        _map_column(fig, column, x, shown, selected)
    elif column.kind == "softmax":
        _softmax_column(fig, column.values, network.class_names, x, height, font)
        classes = len(column.values)
        top = tr("top {shown} of {classes}").format(shown=MAX_CLASSES, classes=classes)
        shape = top if classes > MAX_CLASSES else shape
    else:
        label += column.activation if column.activation != "linear" else ""
        _vector_column(fig, column, x, height, font[0])
    return "<br>".join(part for part in (f"<b>{column.name}</b>", label, shape) if part)


def _headers(fig, headers: list[tuple[float, str]], tile_px: float, crowded: bool,
             font_px: int) -> float:  # fmt: skip
    """The column headers above the columns; returns one row of headers' height, in tiles.

    Headers are sized in screen pixels, not tiles: a long network has smaller tiles, and its
    headers (staggered on two rows past arch_diagram.CROWDED columns) still need their lines.
    """
    lines = max(text.count("<br>") + 1 for _, text in headers)
    row = (lines * LINE_HEIGHT * font_px + 4) / tile_px  # one row of headers, in tiles
    for i, (x, text) in enumerate(headers):
        fig.add_annotation(
            x=x, y=-0.15 - (row if crowded and i % 2 else 0), text=text,
            showarrow=False, yanchor="bottom", font={"size": font_px},
        )  # fmt: skip
    return row


def network_figure(network, geometry: dict[str, Any], shown: int, selected,
                   font_px: int = FONT_PX) -> go.Figure:  # fmt: skip
    """The overview figure of a `cnn.explain.Network`.

    Args:
        network: the forward pass, column by column.
        geometry: layer name -> LayerShape (for the headers).
        shown: channels shown per conv/pool column.
        selected: (layer, channel) to outline, or None.
        font_px: the size of every label on screen (`presenter.px(FONT_PX)` on a projector).
    """
    fig = go.Figure()
    maps = [c for c in network.columns if c.kind in MAP_KINDS]
    largest = max((c.maps.shape[-1] for c in maps), default=1)
    height = max(min(shown, largest) * TILE_STEP - (TILE_STEP - 1), INPUT_SIDE)
    columns = [None, *network.columns]  # None: the input
    # room on the right for the softmax bars and their class names, which are sized in pixels:
    # with `label` (a share of the figure's width) right = bars + label * (right + 1.1)
    longest = max(len(f"{name}: 100%") for name in network.class_names)
    label = min(0.4, longest * CHAR_WIDTH * font_px / EXPECTED_WIDTH_PX)
    bars = (len(columns) - 1) * COLUMN_STEP - 0.5 + BAR_LENGTH
    right = (bars + label * 1.1) / (1 - label)
    tile_px = EXPECTED_WIDTH_PX / (right + 1.1)  # a tile's side on screen, about (fewer when long)
    crowded = len(columns) > arch_diagram.CROWDED  # headers on two rows
    font = (font_px, LINE_HEIGHT * font_px / tile_px)  # its size, and a line's height in tiles
    headers = []
    for i, column in enumerate(columns):
        x = i * COLUMN_STEP
        headers.append((x, _column(fig, network, column, x, height, geometry, shown, selected,
                                   font)))  # fmt: skip
        if i + 1 < len(columns):
            fig.add_annotation(
                x=x + COLUMN_STEP / 2, y=height / 2, text="→", showarrow=False,
                font={"size": font_px, "color": "#555"},
            )  # fmt: skip
    row = _headers(fig, headers, tile_px, crowded, font_px)
    # half of the input's header ("the picture") left of the input, whatever the scale
    left = -max(1.1, 5.5 * CHAR_WIDTH * font_px / tile_px)
    fig.update_xaxes(visible=False, range=[left, right])
    top = -0.15 - row * (2 if crowded else 1)
    rows = min(len(network.class_names), MAX_CLASSES)  # the softmax's bars
    bottom = max(height, rows * _bar_step(rows, height, font[1])) + 0.3
    fig.update_yaxes(visible=False, range=[bottom, top], scaleanchor="x", constrain="domain")
    # square tiles: the height a figure of the usual width needs (wider pages add margins)
    fig.update_layout(
        height=int((bottom - top) * EXPECTED_WIDTH_PX / (right - left)),
        font={"color": charts.TEXT},
        margin={"l": 0, "r": 40, "t": 24, "b": 0},
        clickmode="event+select",
        dragmode=False,
        plot_bgcolor="white",
    )
    return fig


def _remember_click() -> None:
    """Keep the clicked tile's (layer, channel): the selection is lost when the figure changes."""
    event = st.session_state.get(FIGURE_KEY)
    points = event.selection.points if event else []
    if points and points[0].get("customdata"):
        layer, channel = points[0]["customdata"]
        st.session_state[SELECTED_KEY] = (layer, int(channel))


def _added_ui(explainer, network, map_layer, channel: int, right) -> None:
    """A residual add's channel: the main path's map and the shortcut's, which it sums."""
    shown = {m.shown_by: m.name for m in explainer.map_layers}
    for what, name in (
        (tr("the block's convs"), map_layer.input_layer),
        (tr("the shortcut"), map_layer.shortcut),
    ):
        if name not in shown:
            continue
        source = network.column(shown[name])
        caption = f"{what}: {source.name}"
        right.image(
            _enlarged(source.maps, channel),
            width=ENLARGED_PX // 2,
            caption=caption,
            alt=describe.heatmap(source.maps[..., channel], caption),
        )
    right.caption(
        tr(
            "{layer} adds the block's input (the shortcut) to what the block's convs worked "
            "out, number by number, then applies the activation: the block learns a "
            "correction to its input rather than a whole new picture."
        ).format(layer=map_layer.name)
    )


def _filter_figure(kernel: np.ndarray, slices: np.ndarray, rgb: bool) -> go.Figure:
    """Chosen input-channel slices of one filter, red positive, blue negative, with numbers.

    `rgb`: the filter reads a colour picture (its slices are named red, green, blue)."""
    cols = min(len(slices), 4)
    rows = -(-len(slices) // cols)
    limit = float(np.abs(kernel).max()) or 1.0
    names = (
        (tr("from red"), tr("from green"), tr("from blue"))
        if rgb
        else [tr("from channel {n}").format(n=s) for s in range(kernel.shape[-1])]
    )
    fig = make_subplots(rows, cols, subplot_titles=[names[s] for s in slices])
    k = kernel.shape[0]
    for i, s in enumerate(slices):
        fig.add_heatmap(
            z=kernel[..., s],
            zmin=-limit,
            zmax=limit,
            colorscale="RdBu_r",
            showscale=False,
            text=kernel[..., s],
            texttemplate="%{text:.2f}" if k <= 5 else None,
            hovertemplate="%{z:.4f}<extra></extra>",
            row=i // cols + 1,
            col=i % cols + 1,
        )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(height=40 + 150 * rows, margin={"l": 5, "r": 5, "t": 25, "b": 5},
                      font={"color": charts.TEXT})  # fmt: skip
    fig.update_annotations(font_size=11)
    return fig


def _enlarged(maps: np.ndarray, channel: int) -> np.ndarray:
    values = maps[..., channel]
    return pictures.framed(
        pictures.colorized(values, float(values.min()), float(values.max())), ENLARGED_PX
    )


def channel_detail_ui(explainer, network, layer: str, channel: int) -> None:
    """One channel enlarged, with its filter (conv) or the map it pools (pool)."""
    column = network.column(layer)
    values = column.maps[..., channel]
    title = tr("{layer}, channel {channel}").format(layer=layer, channel=channel)
    st.markdown(
        f"**{title}**: "
        + tr("mean {mean}, max {max}").format(
            mean=i18n.number(float(column.activity[channel]), 3),
            max=i18n.number(float(values.max()), 3),
        )
    )
    left, right = st.columns([1, 2])
    left.image(_enlarged(column.maps, channel), caption=tr("enlarged (each pixel one number)"),
               alt=describe.heatmap(values, title))  # fmt: skip
    map_layer = explainer.map_layer(layer)
    if column.kind == "pool":
        source = network.column(explainer.source_map(layer).name)
        g = map_layer.geometry
        pooled = tr("{layer}, channel {channel}").format(layer=source.name, channel=channel)
        right.image(_enlarged(source.maps, channel), width=ENLARGED_PX,
                    alt=describe.heatmap(source.maps[..., channel], pooled))  # fmt: skip
        kept = (
            tr("It is {layer}'s channel {channel} (above) with only the largest number of every "
               "{k} x {k} window kept: {times} times fewer numbers.")
            if "Max" in g.keras_type
            else tr("It is {layer}'s channel {channel} (above) with only the average number of "
                    "every {k} x {k} window kept: {times} times fewer numbers.")
        )  # fmt: skip
        right.caption(kept.format(layer=source.name, channel=channel, k=g.kernel,
                                  times=g.kernel * g.kernel))  # fmt: skip
        return
    if column.kind == "add":
        _added_ui(explainer, network, map_layer, channel, right)
        return
    _filter_ui(explainer, layer, channel, right)


def _filter_ui(explainer, layer: str, channel: int, right) -> None:
    """A conv channel's filter: its largest input-channel slices, with numbers, in words too."""
    kernel, bias = explainer.filter(layer, channel)
    weight = np.abs(kernel).sum(axis=(0, 1))
    slices = np.argsort(-weight, kind="stable")[:MAX_FILTER_SLICES]
    rgb = explainer.source_map(layer) is None and kernel.shape[-1] == 3
    figure = _filter_figure(kernel, slices, rgb)
    right.plotly_chart(figure, key="network-filter")
    with right:
        a11y.described_ui(" ".join(
            describe.heatmap(kernel[..., s], title.text)
            for s, title in zip(slices, figure.layout.annotations, strict=False)
        ))  # fmt: skip
    cin = kernel.shape[-1]
    text = (
        tr("Its filter: one {k} x {k} slice per input channel, {cin} in all; red = positive "
           "weight, blue = negative; {bias}. The 'One value' tab shows every number of one "
           "position.")
        if cin <= len(slices)
        else tr("Its filter: one {k} x {k} slice per input channel, {cin} in all (shown: the "
                "{shown} with the largest weights); red = positive weight, blue = negative; "
                "{bias}. The 'One value' tab shows every number of one position.")
    )  # fmt: skip
    bias_text = tr("bias {bias}").format(bias=i18n.number(float(bias), 3)) if bias else ""
    bias_text = bias_text or tr("no bias (batch norm follows)")
    right.caption(text.format(k=kernel.shape[0], cin=cin, shown=len(slices), bias=bias_text))


def network_ui(explainer, forward, class_names: list[str], calibration=None,
               answered=None) -> None:  # fmt: skip
    """The overview of the forward pass and the channel clicked in it. `calibration` and
    `answered`: the run's `cnn.record.Calibration` and the calibrated probabilities the
    answer shows, to say why the softmax bars (the raw output) differ from them."""
    network = explainer.network(forward, class_names)
    maps = [c for c in network.columns if c.kind in MAP_KINDS]
    explained, shown_col = st.columns([3, 1])
    shown = shown_col.slider(tr("Channels shown per layer"), 2, 16, 6, key=SHOWN_KEY)
    if maps and st.session_state.get(SELECTED_KEY, ("", 0))[0] not in {c.name for c in maps}:
        st.session_state[SELECTED_KEY] = (maps[0].name, int(maps[0].order[0]))
    selected = st.session_state.get(SELECTED_KEY)
    explained.caption(
        tr(
            "Each column is a layer, headed by its name, what it does and the size of its "
            "output (height × width × channels). It shows up to {shown} of its channels, those "
            "that respond most to this input (mean value), the strongest on top. Colour scale: "
            "one per column, so its channels compare: dark blue = the lowest value shown, "
            "yellow = the strongest {share} of the values shown. Click a channel to enlarge it."
        ).format(shown=shown, share=i18n.percent(BRIGHT_SHARE))
    )
    geometry = {s.name: s for s in explainer.shapes}
    st.plotly_chart(
        network_figure(network, geometry, shown, selected, presenter.px(FONT_PX)),
        key=FIGURE_KEY,
        on_select=_remember_click,
        selection_mode="points",
        config={"displayModeBar": False},
    )
    a11y.described_ui(network_in_words(network, maps))
    st.caption(softmax_note(network, calibration, answered))
    if selected:
        channel_detail_ui(explainer, network, *selected)


def softmax_note(network, calibration=None, shown: np.ndarray | None = None) -> str:
    """What the softmax bars show (the network's raw output) and, for a calibrated run, why
    the answer's number (`shown`, the calibrated probabilities) differs from it."""
    p = network.probabilities
    top = int(np.argmax(p))
    name = network.class_names[top]
    raw = tr("The bars on the right are the network's raw output: '{name}' gets {p}.").format(
        name=name, p=charts.percent(p[top])
    )
    if calibration is None or shown is None:
        return raw + " " + tr("This model was not calibrated, so the answer above says the same.")
    why = (
        tr("The answer above gives '{name}' {p}: this network's raw percentages turned out too "
           "modest on images it never trained on, so the app corrects them to match how often "
           "it is really right.")
        if calibration.temperature < 1
        else tr("The answer above gives '{name}' {p}: this network's raw percentages turned out "
                "too sure of themselves on images it never trained on, so the app corrects them "
                "to match how often it is really right.")
    )  # fmt: skip
    return raw + " " + why.format(name=name, p=charts.percent(shown[top]))


def network_in_words(network, maps) -> str:
    """The overview for a screen reader: each map layer's most active channel, where it is
    strongest, then the softmax's top answers."""
    what = tr("{layer}, its most active channel {channel}")
    parts = [describe.heatmap(c.maps[..., int(c.order[0])],
                              what.format(layer=c.name, channel=int(c.order[0])))
             for c in maps]  # fmt: skip
    answers = describe.probabilities(network.probabilities, network.class_names)
    return " ".join([*parts, tr("Softmax output: {answers}.").format(answers=answers)])
