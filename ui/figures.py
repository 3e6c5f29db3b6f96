"""Figures and images the pages show, built from plain numbers and numpy arrays.

Charts are plotly figures; grids of small images (feature maps, filters, samples) are one
numpy mosaic each, shown with `st.image`, which is far cheaper than dozens of plotly heatmaps.
Nothing here touches Keras: pages pass arrays and lists from cnn/ results.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

SMOOTHING = 0.6  # weight of the past in the smoothed per-batch curve (exponential average)
TILE_PX = 64  # side of one feature-map tile on screen
FILTER_TILE_PX = 48  # side of one learned-filter tile on screen
TILE_GAP_PX = 2  # white gap between feature-map tiles
FILTER_GAP_PX = 8  # wider gaps between filters: 3x3 kernels side by side read as one pattern
STEP_PX = 140  # side of each preprocessing step on Predict
MAX_TILES = 64  # channels shown per layer
DISPLAY_PX = 168  # side of an input image on screen (nearest neighbour, so pixels stay sharp)
FRAME_GREY = 235  # background around images that are not square
GRADCAM_WEIGHT = 0.45  # share of the heat map in the Grad-CAM overlay
COLORS = {"train": "#4f46e5", "val": "#f97316", "raw": "rgba(79, 70, 229, 0.25)"}


def _layout(fig: go.Figure, height: int, legend_below: bool = True) -> go.Figure:
    """Common size and margins; the legend sits below the x-axis title, never on it."""
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.32 if legend_below else 1.1, "yanchor": "top"},
    )
    return fig


def _smoothed(values: Sequence[float]) -> list[float]:
    out, average = [], None
    for value in values:
        average = value if average is None else SMOOTHING * average + (1 - SMOOTHING) * value
        out.append(average)
    return out


def training_curves(events: Sequence) -> go.Figure:
    """Live loss and accuracy: per batch (raw and smoothed) and per epoch (train and val).

    Args:
        events: cnn.training.TrainingEvent objects; only "batch" and "epoch" ones are drawn.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    batches = [e for e in events if e.kind == "batch"]
    epochs = [e for e in events if e.kind == "epoch"]
    x_batch = [e.epoch - 1 + e.step / e.steps for e in batches]
    x_epoch = [e.epoch for e in epochs]
    for col, metric in ((1, "loss"), (2, "accuracy")):
        values = [getattr(e, metric) for e in batches]
        first = col == 1
        per_batch = (
            ("per batch", values, "raw"),
            ("per batch, smoothed", _smoothed(values), "train"),
        )
        for name, ys, color in per_batch:
            fig.add_scatter(
                x=x_batch,
                y=ys,
                name=name,
                line={"color": COLORS[color]},
                row=1,
                col=col,
                showlegend=first,
                legendgroup=name,
            )
        for split, attr in (("train", metric), ("val", f"val_{metric}")):
            fig.add_scatter(
                x=x_epoch,
                y=[getattr(e, attr) for e in epochs],
                name=f"epoch {split}",
                mode="lines+markers",
                line={"color": COLORS[split], "dash": "dot"},
                marker={"size": 9},
                row=1,
                col=col,
                showlegend=first,
                legendgroup=split,
            )
    fig.update_xaxes(title_text="epoch")
    return _layout(fig, 330)


def run_curves(histories: dict[str, dict[str, list[float]]]) -> go.Figure:
    """Per-epoch curves of several runs overlaid: train solid, validation dashed.

    Args:
        histories: run label -> Keras history dict (loss, accuracy, val_loss, val_accuracy).
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    palette = ["#4f46e5", "#f97316", "#16a34a", "#dc2626", "#0891b2", "#9333ea", "#ca8a04"]
    for i, (label, history) in enumerate(histories.items()):
        color = palette[i % len(palette)]
        for col, metric in ((1, "loss"), (2, "accuracy")):
            for key, dash in ((metric, "solid"), (f"val_{metric}", "dash")):
                values = history.get(key) or []
                fig.add_scatter(
                    x=list(range(1, len(values) + 1)),
                    y=values,
                    mode="lines+markers",
                    name=f"{label} ({'val' if dash == 'dash' else 'train'})",
                    line={"color": color, "dash": dash},
                    row=1,
                    col=col,
                    showlegend=col == 1,
                )
    fig.update_xaxes(title_text="epoch")
    return _layout(fig, 380)


def percent(p: float) -> str:
    """A probability in whole percent that never claims certainty: "over 99%" rather than a
    rounded "100%" (and "under 1%" rather than "0%")."""
    if p >= 0.995:
        return "over 99%"
    if p < 0.005:
        return "under 1%"
    return f"{p:.0%}"


def probability_bars(
    probabilities: np.ndarray, class_names: Sequence[str], most: int | None = None
) -> go.Figure:
    """Horizontal bars of the class probabilities, the most likely class on top.

    With `most`, only that many classes get a bar of their own and the rest one "others" bar.
    """
    order = np.argsort(probabilities)[::-1]
    names = [class_names[i] for i in order]
    values = probabilities[order]
    if most is not None and len(values) > most:
        names = [*names[: most - 1], f"{len(values) - most + 1} others"]
        values = np.append(values[: most - 1], values[most - 1 :].sum())
    fig = go.Figure(
        go.Bar(
            x=values[::-1],
            y=names[::-1],
            orientation="h",
            marker_color=[COLORS["train"]] * (len(values) - 1) + [COLORS["val"]],
            text=[f"{p:.1%}" for p in values[::-1]],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.update_xaxes(range=[0, 1.18], tickformat=".0%")
    fig.update_yaxes(type="category")
    return _layout(fig, 50 + 24 * len(values))


def confusion_heatmap(
    confusion: np.ndarray, class_names: Sequence[str], selected: tuple[str, str] | None = None
) -> go.Figure:
    """Confusion matrix (rows true, columns predicted) with counts; cells can be clicked, and
    the `selected` (true, predicted) cell is outlined.

    An invisible marker sits on every cell so that `st.plotly_chart(on_select="rerun")`
    reports the clicked cell as a point (heatmaps themselves send no selection events).
    """
    names = list(class_names)
    confusion = np.asarray(confusion)
    fig = go.Figure(
        go.Heatmap(
            z=confusion,
            x=names,
            y=names,
            colorscale="Blues",
            text=confusion,
            texttemplate="%{text}",
            hoverinfo="skip",
            showscale=False,
        )
    )
    rows, cols = np.indices(confusion.shape)
    fig.add_scatter(
        x=[names[c] for c in cols.ravel()],
        y=[names[r] for r in rows.ravel()],
        mode="markers",
        customdata=confusion.ravel(),
        marker={"size": 28, "opacity": 0, "symbol": "square"},
        hovertemplate="true %{y}, predicted %{x}: %{customdata}<extra></extra>",
        showlegend=False,
    )
    fig.update_xaxes(title_text="predicted", type="category")
    fig.update_yaxes(title_text="true", type="category", autorange="reversed")
    if selected is not None:  # outline the chosen (true, predicted) cell
        row, col = names.index(selected[0]), names.index(selected[1])
        fig.add_shape(
            type="rect",
            x0=col - 0.5,
            x1=col + 0.5,
            y0=row - 0.5,
            y1=row + 0.5,
            line={"color": COLORS["val"], "width": 3},
        )
    fig.update_layout(clickmode="event+select")  # a click selects the cell's marker
    return _layout(fig, 120 + 32 * len(names))


def per_class_accuracy(per_class: Sequence[dict]) -> go.Figure:
    """Each class's test accuracy as a horizontal bar, class names readable however many."""
    names = [c["name"] for c in per_class][::-1]
    values = [c["accuracy"] for c in per_class][::-1]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            marker_color=COLORS["train"],
            text=[f"{v:.0%}" if v is not None else "no images" for v in values],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.update_xaxes(range=[0, 1.15], tickformat=".0%", title_text="test accuracy")
    fig.update_yaxes(type="category")
    return _layout(fig, 70 + 22 * len(names))


def _filled_bins(table: dict) -> tuple[list, list, list]:
    """(confidence, accuracy, count) lists of a reliability table's bins that hold images."""
    columns = (table["confidence"], table["accuracy"], table["counts"])
    kept = [row for row in zip(*columns, strict=True) if row[2]]
    return [r[0] for r in kept], [r[1] for r in kept], [r[2] for r in kept]


def reliability_diagram(before: dict, after: dict | None) -> go.Figure:
    """How sure the model was against how often it was right, per confidence bin, with the
    number of test images in each bin under it (a bin of 3 images says little).

    Args:
        before, after: `cnn.calibration.Reliability` as dicts, before and after temperature
            scaling (after may be None).
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3],
                        vertical_spacing=0.08)  # fmt: skip
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly honest",
                    line={"color": "#94a3b8", "dash": "dot"}, row=1, col=1)  # fmt: skip
    for label, table, color in (
        ("the model's own", before, COLORS["val"]),
        ("calibrated", after, COLORS["train"]),
    ):
        if not table:
            continue
        xs, ys, ns = _filled_bins(table)
        fig.add_scatter(
            x=xs, y=ys, mode="lines+markers", name=label, line={"color": color}, customdata=ns,
            hovertemplate="sure %{x:.0%}, right %{y:.0%} (%{customdata} images)<extra></extra>",
            row=1, col=1,
        )  # fmt: skip
    # the images per bin of the calibrated table when there is one
    table, color = (after, COLORS["train"]) if after else (before, COLORS["val"])
    xs, _, ns = _filled_bins(table)
    fig.add_bar(
        x=xs, y=ns, marker_color=color, opacity=0.75, text=[f"{n:,}" for n in ns],
        textposition="outside", textfont={"size": 10}, cliponaxis=False, width=0.03,
        showlegend=False, row=2, col=1,
        hovertemplate="%{y:,} test images sure about %{x:.0%}<extra></extra>",
    )  # fmt: skip
    fig.update_xaxes(range=[0, 1.02], tickformat=".0%")
    fig.update_xaxes(title_text="how sure it was", row=2, col=1)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", title_text="how often it was right",
                     row=1, col=1)  # fmt: skip
    # counts span 1 to thousands: a log scale keeps the small bins visible
    title = "images (calibrated)" if after else "images"
    fig.update_yaxes(type="log", title_text=title, row=2, col=1, range=[0, 4.9])
    return _layout(fig, 440)


def class_counts(counts: dict[str, Sequence[int]], class_names: Sequence[str]) -> go.Figure:
    """Grouped bars of images per class for each split (split name -> count per class)."""
    fig = go.Figure(
        [
            go.Bar(x=list(class_names), y=list(values), name=split)
            for split, values in counts.items()
        ]
    )
    fig.update_xaxes(type="category")
    return _layout(fig, 300)


def to_uint8_rgb(image: np.ndarray) -> np.ndarray:
    """Any (h, w), (h, w, 1) or (h, w, 3) image, uint8 or float in [0, 1], as uint8 RGB."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (np.clip(image, 0.0, 1.0) * 255).round().astype(np.uint8)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return np.stack([image] * 3, axis=-1) if image.ndim == 2 else image


def framed(image: np.ndarray, side: int = DISPLAY_PX) -> np.ndarray:
    """The image as a uint8 RGB square of `side` pixels: scaled to fit, keeping its aspect
    ratio (sharp pixels when enlarged), on a light grey frame."""
    rgb = to_uint8_rgb(image)
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_NEAREST if scale >= 1 else cv2.INTER_AREA
    fitted = cv2.resize(rgb, size, interpolation=interpolation)
    frame = np.full((side, side, 3), FRAME_GREY, np.uint8)
    top, left = (side - size[1]) // 2, (side - size[0]) // 2
    frame[top : top + size[1], left : left + size[0]] = fitted
    return frame


def mosaic(
    tiles: Sequence[np.ndarray], columns: int, tile_px: int = TILE_PX, gap: int = TILE_GAP_PX
) -> np.ndarray:
    """Lay uint8 RGB tiles out in a grid, each resized to `tile_px` (nearest neighbour)."""
    rows = -(-len(tiles) // columns)
    step = tile_px + gap
    grid = np.full((rows * step - gap, columns * step - gap, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        resized = cv2.resize(tile, (tile_px, tile_px), interpolation=cv2.INTER_NEAREST)
        grid[r * step : r * step + tile_px, c * step : c * step + tile_px] = resized
    return grid


def colorized(values: np.ndarray, low, high) -> np.ndarray:
    """A 2-D array as a uint8 RGB viridis image, `low` dark blue and `high` yellow; or a
    stack of them (n, h, w) as (n, h, w, 3), with `low` and `high` each one number or one per
    image ((n, 1, 1)). An image whose `high` is not above its `low` is all dark blue. A stack
    takes one colour-map call: a call per feature map cost ~3 ms of each Predict rerun."""
    if np.ndim(low) == 0 and np.ndim(high) == 0:
        scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    else:
        flat = np.asarray(high) <= np.asarray(low)
        scaled = np.where(flat, 0.0, (values - low) / np.where(flat, 1, high - low))
    gray = (np.clip(scaled, 0, 1) * 255).astype(np.uint8)
    coloured = cv2.applyColorMap(gray.reshape(-1, gray.shape[-1]), cv2.COLORMAP_VIRIDIS)
    return cv2.cvtColor(coloured, cv2.COLOR_BGR2RGB).reshape(*gray.shape, 3)


def feature_map_mosaic(
    activation: np.ndarray, shared_scale: bool, tile_px: int = TILE_PX, columns: int = 8
) -> np.ndarray:
    """One viridis tile per channel of a (h, w, channels) activation (at most MAX_TILES).

    Args:
        activation: a layer's output for one image.
        shared_scale: one colour scale for all channels (compare channels) or one per channel
            (see the pattern inside weak channels).
        tile_px: side of a tile on screen.
        columns: tiles per row.
    """
    channels = np.moveaxis(np.asarray(activation, np.float32), -1, 0)[:MAX_TILES]
    if shared_scale:
        tiles = colorized(channels, float(channels.min()), float(channels.max()))
    else:
        per_channel = {"axis": (1, 2), "keepdims": True}
        tiles = colorized(channels, channels.min(**per_channel), channels.max(**per_channel))
    return mosaic(list(tiles), min(columns, len(tiles)), tile_px)


def filter_mosaic(
    filter_images: np.ndarray, columns: int = 8, tile_px: int = FILTER_TILE_PX
) -> np.ndarray:
    """Tiles of learned filters from `cnn.filters.filter_images` (values in [0, 1])."""
    images = filter_images[:MAX_TILES]
    tiles = [to_uint8_rgb(image) for image in images]
    return mosaic(tiles, min(columns, len(tiles)), tile_px, FILTER_GAP_PX)


def gradcam_overlay(image: np.ndarray, cam: np.ndarray, side: int = DISPLAY_PX) -> np.ndarray:
    """The Grad-CAM heat map (jet colours) blended over the model input, enlarged."""
    base = to_uint8_rgb(image)
    heat = cv2.applyColorMap((np.clip(cam, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)
    heat = cv2.cvtColor(heat, cv2.COLOR_BGR2RGB)
    blended = cv2.addWeighted(base, 1 - GRADCAM_WEIGHT, heat, GRADCAM_WEIGHT, 0)
    return framed(blended, side)


def thumbnail(image: np.ndarray, side: int) -> np.ndarray:
    """A square uint8 RGB thumbnail: centre crop, then area resize (for photo grids)."""
    rgb = to_uint8_rgb(image)
    h, w = rgb.shape[:2]
    crop = min(h, w)
    top, left = (h - crop) // 2, (w - crop) // 2
    square = rgb[top : top + crop, left : left + crop]
    interpolation = cv2.INTER_AREA if crop > side else cv2.INTER_NEAREST
    return cv2.resize(square, (side, side), interpolation=interpolation)


KIND_COLOURS = {  # block colours of the architecture diagram
    "input": "#64748b",
    "conv": "#4f46e5",
    "pool": "#f97316",
    "flatten": "#94a3b8",
    "global_avg": "#94a3b8",
    "dense": "#16a34a",
    "output": "#dc2626",
    "add": "#0891b2",
}


CROWDED = 12  # blocks or columns in a row beyond which their labels take two rows


def _diagram_blocks(layers: Sequence) -> list[dict]:
    """Layers grouped as a student reads them: a conv with its batch norm and activation is
    one block; dropout is a note on the block before it. A residual block's shortcut is no
    block of the row: its add's block notes where it starts ("from", a block index) and what
    is on it ("via": a 1x1 conv and its batch norm, or nothing)."""
    blocks: list[dict] = []
    owner: dict[str, int] = {}  # layer name -> index of the block it is drawn in
    on_shortcut: dict[str, list[str]] = {}  # shortcut layer -> what is on its shortcut
    starts: dict[str, str] = {}  # shortcut layer -> the layer its shortcut starts from
    before = None
    for layer in layers:
        reads = layer.source or (before.name if before is not None else "")
        if layer.kind == "conv" and layer.source:  # a shortcut's 1x1 projection
            on_shortcut[layer.name] = [f"{layer.name} {layer.kernel}x{layer.kernel} conv"]
            starts[layer.name] = layer.source
        elif reads in on_shortcut and layer.kind == "batch_norm":
            on_shortcut[layer.name] = on_shortcut[reads] + ["BN"]
            starts[layer.name] = starts[reads]
        elif layer.kind in ("batch_norm", "activation", "dropout") and reads in owner:
            index = owner[reads]
            note = {"batch_norm": "BN", "activation": "ReLU"}.get(layer.kind, "dropout")
            blocks[index]["extra"].append(note)
            owner[layer.name] = index
        else:
            kind = "output" if layer.name == "predictions" else layer.kind
            blocks.append({"layer": layer, "kind": kind, "extra": []})
            owner[layer.name] = len(blocks) - 1
            if layer.kind == "add":
                start = starts.get(layer.shortcut, layer.shortcut)
                blocks[-1]["from"] = owner.get(start, 0)
                blocks[-1]["via"] = on_shortcut.get(layer.shortcut, [])
        before = layer
    return blocks


def architecture_diagram(layers: Sequence) -> go.Figure:
    """The network as a row of blocks (`cnn.architectures.ArchSpec.shapes` output): a block's
    height follows its map's side, its width its channels; its output shape is written under it."""
    blocks = _diagram_blocks(layers)
    crowded = len(blocks) > CROWDED
    side = max(layers[0].shape[0], 1)
    fig = go.Figure()
    for i, block in enumerate(blocks):
        layer = block["layer"]
        shape = layer.shape
        if len(shape) == 3:
            height = 0.25 + 0.75 * shape[0] / side
            width = min(0.85, 0.2 + 0.12 * np.log2(max(shape[2], 1)))
        else:
            height, width = 0.25 + 0.75 * min(1.0, shape[0] / 512), 0.18
        fig.add_shape(
            type="rect",
            x0=i - width / 2,
            x1=i + width / 2,
            y0=-height / 2,
            y1=height / 2,
            fillcolor=KIND_COLOURS.get(block["kind"], "#94a3b8"),
            line={"width": 0},
        )
        what = layer.name if layer.kind != "conv" else f"{layer.name} {layer.kernel}x{layer.kernel}"
        if layer.kind == "add":
            what = f"{layer.name} +"
        if layer.kind == "conv" and layer.stride > 1:
            what += f" /{layer.stride}"
        extra = f"<br>+{' +'.join(block['extra'])}" if block["extra"] else ""
        if "from" in block:
            # the shortcut: an arrow over the blocks from the block's input to the add
            fig.add_annotation(
                x=i - 0.15, y=0.6, ax=block["from"] + 0.15, ay=0.6, xref="x", yref="y",
                axref="x", ayref="y", text="", showarrow=True, arrowhead=2, arrowwidth=2,
                arrowcolor=KIND_COLOURS["add"],
            )  # fmt: skip
            via = " + ".join(block["via"]) or "the input as it is"
            fig.add_annotation(
                x=(i + block["from"]) / 2, y=0.62, text=f"shortcut: {via}", showarrow=False,
                font={"size": 10, "color": KIND_COLOURS["add"]}, yanchor="bottom",
            )  # fmt: skip
        fig.add_annotation(
            x=i,
            # a long network staggers its labels on two rows so they do not overlap
            y=-0.62 - (0.5 if crowded and i % 2 else 0.0),
            text=f"<b>{what}</b>{extra}<br>{'×'.join(map(str, shape))}",
            showarrow=False,
            font={"size": 11},
            yanchor="top",
        )
    fig.update_xaxes(visible=False, range=[-0.6, len(blocks) - 0.4])
    top = 0.9 if any("from" in block for block in blocks) else 0.6
    bottom = -1.75 if crowded else -1.25
    fig.update_yaxes(visible=False, range=[bottom, top])
    fig.update_layout(
        height=190 + (40 if crowded else 0) + (30 if top > 0.6 else 0),
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        showlegend=False,
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return fig
