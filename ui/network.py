"""The whole network at a glance, for any run: CNN Explainer's overview for the student's model.

One plotly figure: the input; each conv/pool layer as a column of its channels, the most
active first, with "+N more"; the global-average and dense layers as strips of their units;
the softmax as bars; the shapes written between the columns. Feature maps are numpy mosaics
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

from cnn.explain import MAP_KINDS
from ui import arch_diagram, charts, pictures

FIGURE_KEY = "network-figure"  # the plotly chart's selection event
SELECTED_KEY = "network-selected"  # (layer, channel) the student clicked last
SHOWN_KEY = "network-shown"  # channels shown per column
TILE_STEP = (pictures.TILE_PX + pictures.TILE_GAP_PX) / pictures.TILE_PX  # tile + gap, tile = 1
COLUMN_STEP = 2.1  # centre to centre of neighbouring columns, in tiles
INPUT_SIDE = 1.6  # the input image's side, in tiles
HEADER_LINE_PX = 15  # one line of a column header (font size 11) on screen
STRIP_WIDTH = 0.5  # a dense layer's strip of units
BAR_LENGTH = 1.6  # a softmax bar at 100%
MAX_CLASSES = 10  # softmax rows shown (the most probable)
MAX_FILTER_SLICES = 8  # input-channel slices of a filter shown (the largest weights)
ENLARGED_PX = 220
EXPECTED_WIDTH_PX = 900  # the figure's width on a 1280-pixel screen with the sidebar open
HIGHLIGHT = "#dc2626"
LABEL_CHAR = 0.16  # width of one character of a softmax label, in tiles (about)
# second header line of the vector columns (their names already say dense or flatten)
KIND_LABELS = {"global_avg": "mean of<br>each map", "dense": "", "flatten": ""}


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
        stride = f"<br>stride {shape.stride}" if shape.stride > 1 else ""
        return f"{shape.kernel}x{shape.kernel}{stride}"
    if shape.kind == "pool":
        kind = "max" if "Max" in shape.keras_type else "avg"
        return f"{kind} {shape.kernel}x{shape.kernel}"
    if shape.kind == "add":
        return "+ shortcut"
    return KIND_LABELS.get(shape.kind, shape.kind)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "<br>x".join(["x".join(str(d) for d in shape[:2]), *map(str, shape[2:])])


def _more(fig, x: float, bottom: float, more: int) -> None:
    """ "+N" under a column whose other channels (or classes) are not drawn."""
    fig.add_annotation(
        x=x, y=bottom + 0.05, text=f"+{more}", showarrow=False, yanchor="top", font={"size": 10}
    )


def _map_column(fig, column, x, shown: int, selected) -> float:
    """Tiles of the most active channels, clickable; returns the column's bottom."""
    channels = column.order[:shown]
    strip = pictures.feature_map_mosaic(column.maps[..., channels], True, columns=1)
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
            f"{column.name}, channel {c}<br>mean {column.activity[c]:.3f}, "
            f"max {column.maps[..., c].max():.3f}<extra>click to enlarge</extra>"
            for c in channels
        ],
        showlegend=False,
    )
    if selected and selected[0] == column.name and selected[1] in channels:
        top = list(channels).index(selected[1]) * TILE_STEP
        charts.outline_cell(fig, x, top + 0.5, HIGHLIGHT, 3, half=0.56)  # a little outside the tile
    more = column.maps.shape[-1] - len(channels)
    if more:
        _more(fig, x, height, more)
    return height


def _vector_column(fig, column, x: float, height: float) -> None:
    """A strip of a layer's units (index order), or a note for a flatten."""
    n = len(column.values)
    if column.kind == "flatten":
        fig.add_annotation(
            x=x, y=height / 2, text=f"all maps<br>laid in<br>one row:<br>{n:,}<br>numbers",
            showarrow=False, font={"size": 10, "color": "#555"},
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


def _softmax_column(fig, probabilities, class_names, x: float, height: float) -> None:
    """The most probable classes as bars, the top one highlighted."""
    order = np.argsort(probabilities)[::-1][:MAX_CLASSES]
    step = min(height / max(len(order), 1), TILE_STEP)
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
        textfont={"size": 11},
        constraintext="none",
        cliponaxis=False,
        hoverinfo="skip",
        showlegend=False,
    )
    if len(probabilities) > len(order):
        more = len(probabilities) - len(order)
        _more(fig, x, height, more)


def _column(fig, network, column, x: float, height: float, geometry, shown: int, selected):
    """Draw one column (None: the input picture); returns its (name, header label, shape)."""
    if column is None:
        image = pictures.to_uint8_rgb(network.image)
        _place_image(fig, image, x - INPUT_SIDE / 2, 0, INPUT_SIDE, INPUT_SIDE)
        return "input", "the picture", network.image.shape
    label = "softmax" if column.kind == "softmax" else _label(geometry[column.name])
    if column.kind in MAP_KINDS:
        _map_column(fig, column, x, shown, selected)
    elif column.kind == "softmax":
        _softmax_column(fig, column.values, network.class_names, x, height)
    else:
        label += column.activation if column.activation != "linear" else ""
        _vector_column(fig, column, x, height)
    return column.name, label, column.shape


def _headers(fig, headers: list[tuple[float, str]], tile_px: float, crowded: bool) -> float:
    """The column headers above the columns; returns one row of headers' height, in tiles.

    Headers are sized in screen pixels, not tiles: a long network has smaller tiles, and its
    headers (staggered on two rows past arch_diagram.CROWDED columns) still need their lines.
    """
    lines = max(text.count("<br>") + 1 for _, text in headers)
    row = (lines * HEADER_LINE_PX + 4) / tile_px  # one row of headers, in tiles
    for i, (x, text) in enumerate(headers):
        fig.add_annotation(
            x=x, y=-0.15 - (row if crowded and i % 2 else 0), text=text,
            showarrow=False, yanchor="bottom", font={"size": 11},
        )  # fmt: skip
    return row


def network_figure(network, geometry: dict[str, Any], shown: int, selected) -> go.Figure:
    """The overview figure of a `cnn.explain.Network`.

    Args:
        network: the forward pass, column by column.
        geometry: layer name -> LayerShape (for the headers).
        shown: channels shown per conv/pool column.
        selected: (layer, channel) to outline, or None.
    """
    fig = go.Figure()
    maps = [c for c in network.columns if c.kind in MAP_KINDS]
    largest = max((c.maps.shape[-1] for c in maps), default=1)
    height = max(min(shown, largest) * TILE_STEP - (TILE_STEP - 1), INPUT_SIDE)
    columns = [None, *network.columns]  # None: the input
    # room on the right for the softmax bars and their class names
    longest = max(len(f"{name}: 100%") for name in network.class_names)
    right = (len(columns) - 1) * COLUMN_STEP - 0.5 + BAR_LENGTH + LABEL_CHAR * longest
    tile_px = EXPECTED_WIDTH_PX / (right + 1.1)  # a tile's side on screen, about (fewer when long)
    crowded = len(columns) > arch_diagram.CROWDED  # headers on two rows, smaller shape labels
    headers = []
    for i, column in enumerate(columns):
        x = i * COLUMN_STEP
        name, label, shape = _column(fig, network, column, x, height, geometry, shown, selected)
        headers.append((x, f"<b>{name}</b><br>{label}"))
        if i + 1 < len(columns):
            fig.add_annotation(
                x=x + COLUMN_STEP / 2, y=height / 2, text=f"→<br>{_shape_text(shape)}",
                showarrow=False, font={"size": 8 if crowded else 10, "color": "#555"},
                bgcolor="rgba(255, 255, 255, 0.85)" if crowded else None,
            )  # fmt: skip
    row = _headers(fig, headers, tile_px, crowded)
    left = -max(1.1, 36 / tile_px)  # half of "the picture" under the input, whatever the scale
    fig.update_xaxes(visible=False, range=[left, right])
    top = -0.15 - row * (2 if crowded else 1)
    bottom = height + max(0.6, 2 * HEADER_LINE_PX / tile_px)  # the "+26" line under the maps
    fig.update_yaxes(visible=False, range=[bottom, top], scaleanchor="x", constrain="domain")
    # square tiles: the height a figure of the usual width needs (wider pages add margins)
    fig.update_layout(
        height=int((bottom - top) * EXPECTED_WIDTH_PX / (right - left)),
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
        ("the block's convs", map_layer.input_layer),
        ("the shortcut", map_layer.shortcut),
    ):
        if name not in shown:
            continue
        source = network.column(shown[name])
        right.image(
            _enlarged(source.maps, channel),
            width=ENLARGED_PX // 2,
            caption=f"{what}: {source.name}",
        )
    right.caption(
        f"{map_layer.name} adds the block's input (the shortcut) to what the block's convs "
        "worked out, number by number, then applies the activation: the block learns a "
        "correction to its input rather than a whole new picture."
    )


def _filter_figure(kernel: np.ndarray, slices: np.ndarray, rgb: bool) -> go.Figure:
    """Chosen input-channel slices of one filter, red positive, blue negative, with numbers.

    `rgb`: the filter reads a colour picture (its slices are named red, green, blue)."""
    cols = min(len(slices), 4)
    rows = -(-len(slices) // cols)
    limit = float(np.abs(kernel).max()) or 1.0
    names = ("red", "green", "blue") if rgb else [f"channel {s}" for s in range(kernel.shape[-1])]
    fig = make_subplots(rows, cols, subplot_titles=[f"from {names[s]}" for s in slices])
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
    fig.update_layout(height=40 + 150 * rows, margin={"l": 5, "r": 5, "t": 25, "b": 5})
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
    st.markdown(
        f"**{layer}, channel {channel}**: mean {column.activity[channel]:.3f}, "
        f"max {values.max():.3f}"
    )
    left, right = st.columns([1, 2])
    left.image(_enlarged(column.maps, channel), caption="enlarged (each pixel one number)")
    map_layer = explainer.map_layer(layer)
    if column.kind == "pool":
        source = network.column(explainer.source_map(layer).name)
        g = map_layer.geometry
        right.image(_enlarged(source.maps, channel), width=ENLARGED_PX)
        what = "largest" if "Max" in g.keras_type else "average"
        right.caption(
            f"It is {source.name}'s channel {channel} (above) with only the {what} number of every "
            f"{g.kernel} x {g.kernel} window kept: {g.kernel * g.kernel} times fewer numbers."
        )
        return
    if column.kind == "add":
        _added_ui(explainer, network, map_layer, channel, right)
        return
    kernel, bias = explainer.filter(layer, channel)
    weight = np.abs(kernel).sum(axis=(0, 1))
    slices = np.argsort(-weight, kind="stable")[:MAX_FILTER_SLICES]
    rgb = explainer.source_map(layer) is None and kernel.shape[-1] == 3
    right.plotly_chart(_filter_figure(kernel, slices, rgb), key="network-filter")
    cin = kernel.shape[-1]
    shown = "" if cin <= len(slices) else f" (shown: the {len(slices)} with the largest weights)"
    bias_text = f"bias {bias:.3f}" if bias else "no bias (batch norm follows)"
    right.caption(
        f"Its filter: one {kernel.shape[0]} x {kernel.shape[1]} slice per input channel, "
        f"{cin} in all{shown}; red = positive weight, blue = negative; {bias_text}. "
        "The 'One value' tab shows every number of one position."
    )


def network_ui(explainer, forward, class_names: list[str], calibration=None,
               answered=None) -> None:  # fmt: skip
    """The overview of the forward pass and the channel clicked in it. `calibration` and
    `answered`: the run's `cnn.record.Calibration` and the calibrated probabilities the
    answer shows, to say why the softmax bars (the raw output) differ from them."""
    network = explainer.network(forward, class_names)
    maps = [c for c in network.columns if c.kind in MAP_KINDS]
    explained, shown_col = st.columns([3, 1])
    shown = shown_col.slider("Channels shown per layer", 2, 16, 6, key=SHOWN_KEY)
    if maps and st.session_state.get(SELECTED_KEY, ("", 0))[0] not in {c.name for c in maps}:
        st.session_state[SELECTED_KEY] = (maps[0].name, int(maps[0].order[0]))
    selected = st.session_state.get(SELECTED_KEY)
    explained.caption(
        "Each column is a layer; its channels are sorted by how strongly they respond to this "
        "input (mean value), the strongest on top. Colours are per layer: dark blue = weak, "
        "yellow = strong. Click a channel to enlarge it."
    )
    st.plotly_chart(
        network_figure(network, {s.name: s for s in explainer.shapes}, shown, selected),
        key=FIGURE_KEY,
        on_select=_remember_click,
        selection_mode="points",
        config={"displayModeBar": False},
    )
    st.caption(softmax_note(network, calibration, answered))
    if selected:
        channel_detail_ui(explainer, network, *selected)


def softmax_note(network, calibration=None, shown: np.ndarray | None = None) -> str:
    """What the softmax bars show (the network's raw output) and, for a calibrated run, why
    the answer's number (`shown`, the calibrated probabilities) differs from it."""
    p = network.probabilities
    top = int(np.argmax(p))
    name = network.class_names[top]
    raw = f"The bars on the right are the network's raw output: '{name}' gets "
    raw += f"{charts.percent(p[top])}."
    if calibration is None or shown is None:
        return raw + " This model was not calibrated, so the answer above says the same."
    how = "too modest" if calibration.temperature < 1 else "too sure of themselves"
    return (
        f"{raw} The answer above gives '{name}' {charts.percent(shown[top])}: this network's "
        f"raw percentages turned out {how} on images it never trained on, so the app corrects "
        "them to match how often it is really right."
    )
