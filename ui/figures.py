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
FILTER_TILE_PX = 40  # side of one learned-filter tile on screen
TILE_GAP_PX = 2  # white gap between tiles
MAX_TILES = 64  # channels shown per layer
DISPLAY_PX = 168  # side of an input image on screen (nearest neighbour, so pixels stay sharp)
FRAME_GREY = 235  # background around images that are not square
GRADCAM_WEIGHT = 0.45  # share of the heat map in the Grad-CAM overlay
COLORS = {"train": "#4f46e5", "val": "#f97316", "raw": "rgba(79, 70, 229, 0.25)"}


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.15},
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


def probability_bars(probabilities: np.ndarray, class_names: Sequence[str]) -> go.Figure:
    """Horizontal bars of every class probability, the most likely class on top."""
    order = np.argsort(probabilities)
    fig = go.Figure(
        go.Bar(
            x=probabilities[order],
            y=[class_names[i] for i in order],
            orientation="h",
            marker_color=[COLORS["val"] if i == order[-1] else COLORS["train"] for i in order],
            text=[f"{p:.1%}" for p in probabilities[order]],
            textposition="outside",
        )
    )
    fig.update_xaxes(range=[0, 1.15], tickformat=".0%")
    fig.update_yaxes(type="category")
    return _layout(fig, 60 + 22 * len(class_names))


def confusion_heatmap(confusion: np.ndarray, class_names: Sequence[str]) -> go.Figure:
    """Confusion matrix (rows true, columns predicted) with counts; cells can be clicked.

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
    fig.update_layout(clickmode="event+select")  # a click selects the cell's marker
    return _layout(fig, 120 + 32 * len(names))


def per_class_accuracy(per_class: Sequence[dict]) -> go.Figure:
    """Bar chart of each class's test accuracy (from `Evaluation.per_class`)."""
    fig = go.Figure(
        go.Bar(
            x=[c["name"] for c in per_class],
            y=[c["accuracy"] for c in per_class],
            marker_color=COLORS["train"],
            text=[f"{c['accuracy']:.0%}" if c["accuracy"] is not None else "" for c in per_class],
        )
    )
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", title_text="test accuracy")
    fig.update_xaxes(type="category")
    return _layout(fig, 300)


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


def mosaic(tiles: Sequence[np.ndarray], columns: int, tile_px: int = TILE_PX) -> np.ndarray:
    """Lay uint8 RGB tiles out in a grid, each resized to `tile_px` (nearest neighbour)."""
    rows = -(-len(tiles) // columns)
    step = tile_px + TILE_GAP_PX
    grid = np.full((rows * step - TILE_GAP_PX, columns * step - TILE_GAP_PX, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        resized = cv2.resize(tile, (tile_px, tile_px), interpolation=cv2.INTER_NEAREST)
        grid[r * step : r * step + tile_px, c * step : c * step + tile_px] = resized
    return grid


def colorized(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """A 2-D array as uint8 RGB viridis, `low` dark blue and `high` yellow (clipped)."""
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    gray = (np.clip(scaled, 0, 1) * 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(gray, cv2.COLORMAP_VIRIDIS), cv2.COLOR_BGR2RGB)


def feature_map_mosaic(activation: np.ndarray, shared_scale: bool, columns: int = 8) -> np.ndarray:
    """One viridis tile per channel of a (h, w, channels) activation (at most MAX_TILES).

    Args:
        activation: a layer's output for one image.
        shared_scale: one colour scale for all channels (compare channels) or one per channel
            (see the pattern inside weak channels).
    """
    channels = np.moveaxis(np.asarray(activation, np.float32), -1, 0)[:MAX_TILES]
    low, high = float(channels.min()), float(channels.max())
    tiles = [
        colorized(ch, low, high) if shared_scale else colorized(ch, ch.min(), ch.max())
        for ch in channels
    ]
    return mosaic(tiles, min(columns, len(tiles)))


def filter_mosaic(filter_images: np.ndarray, columns: int = 8) -> np.ndarray:
    """Tiles of learned filters from `cnn.inspect.filter_images` (values in [0, 1])."""
    images = filter_images[:MAX_TILES]
    tiles = [to_uint8_rgb(image) for image in images]
    return mosaic(tiles, min(columns, len(tiles)), tile_px=FILTER_TILE_PX)


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
