"""The training time-lapse as one animated plotly figure, and the Train page's live snapshot.

The animation plays in the browser (plotly frames, a play button and a slider): no rerun per
frame, so it is smooth on a projector. Every picture in it is a small PNG (data URI), which
keeps a 25-frame time-lapse to a few hundred kB.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import cv2
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnn import i18n
from cnn.filters import filter_images
from cnn.i18n import N_, tr
from cnn.timelapse import Timelapse
from ui import charts, pictures

PANEL_PX = 240  # side of each picture panel
FRAME_MS = 700  # time per frame while playing
# Frames replace each other with no transition: plotly.js tweens a frame change for 500 ms by
# default, and image and heatmap traces cannot be tweened, so they were blank for 500 of
# every 700 ms while the time-lapse played (issue 28, 5.6)
NO_TRANSITION = {"duration": 0}
SLIDER_X = 0.17  # the slider starts right of the Play and Pause buttons (English's)
LABEL_SHARE = 0.01  # the figure's width a character of those buttons takes, about
# Grad-CAM at the last conv layer did not pass the deletion test on digits (issue 28): the
# panel says what it computes, not that it is where the model looked
TITLES = (
    N_("Grad-CAM at the last conv layer"),
    N_("What it answered"),
    N_("First-layer filters"),
    N_("Feature maps of {layer}"),
    N_("Mistakes on {n} images (confusion matrix)"),
    N_("Loss and accuracy"),
)


def _png(image: np.ndarray) -> str:
    """A uint8 RGB image as a PNG data URI."""
    ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return "data:image/png;base64," + base64.b64encode(data.tobytes()).decode()


def _probe_picture(lapse: Timelapse, frame: int, probe: int) -> np.ndarray:
    """The probe input with that frame's Grad-CAM (at the last conv layer) blended over it."""
    image = lapse.probe_images[probe]
    cam = lapse.gradcam[frame, probe].astype(np.float32) / 255
    if cam.shape[:2] != image.shape[:2]:
        cam = cv2.resize(cam, image.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    return pictures.gradcam_overlay(image, cam, PANEL_PX)


def _filters_picture(lapse: Timelapse, frame: int) -> np.ndarray:
    if lapse.filters.size == 0:
        return np.full((PANEL_PX, PANEL_PX, 3), pictures.FRAME_GREY, np.uint8)
    tiles = filter_images(lapse.filters[frame].astype(np.float32))
    return pictures.framed(pictures.filter_mosaic(tiles), PANEL_PX)


def _maps_picture(lapse: Timelapse, frame: int, probe: int, layer: str) -> np.ndarray:
    maps = lapse.maps[layer][frame, probe].astype(np.float32)  # (h, w, kept), 0..255
    tiles = pictures.colorized(np.moveaxis(maps, -1, 0), 0, 255)
    return pictures.framed(pictures.mosaic(list(tiles), 4, 48), PANEL_PX)


def _frame_data(lapse: Timelapse, frame: int, probe: int, layer: str | None) -> list:
    """The traces that change from frame to frame, in the order `timelapse_figure` adds them."""
    pictures = [_probe_picture(lapse, frame, probe), _filters_picture(lapse, frame)]
    if layer is not None:
        pictures.append(_maps_picture(lapse, frame, probe, layer))
    probabilities = lapse.probabilities[frame, probe]
    return [
        *(go.Image(source=_png(p), hoverinfo="skip") for p in pictures),
        go.Bar(y=probabilities, text=[f"{p:.0%}" for p in probabilities], showlegend=False),
        go.Heatmap(z=lapse.confusion[frame], showlegend=False),
        go.Scatter(x=[lapse.frame_epochs[frame]] * 2, y=[0, 1], showlegend=False),
    ]


def timelapse_figure(
    lapse: Timelapse,
    class_names: Sequence[str],
    probe: int,
    layer: str | None,
    probe_label: str,
) -> go.Figure:
    """Six panels that replay how a model formed, with a play button and a frame slider.

    Args:
        lapse: the run's time-lapse.
        class_names: the model's classes.
        probe: which probe input to follow.
        layer: which conv layer's feature maps to show (None: the model has none).
        probe_label: what the probe is, for the titles ("a 7", "your drawing").
    """
    n = int(lapse.confusion[0].sum())
    titles = [tr(t).format(layer=layer, n=i18n.number(n)) for t in TITLES]
    fig = make_subplots(rows=2, cols=3, subplot_titles=titles, vertical_spacing=0.12,
                        horizontal_spacing=0.06)  # fmt: skip
    first = _frame_data(lapse, 0, probe, layer)
    cells = [(1, 1), (1, 3)] + ([(2, 1)] if layer is not None else [])
    for trace, (row, col) in zip(first, cells, strict=False):
        fig.add_trace(trace, row=row, col=col)
    names = list(class_names)
    bar, heat, marker = first[-3:]
    bar.update(x=names, marker_color=charts.COLORS["train"], textposition="outside")
    fig.add_trace(bar, row=1, col=2)
    heat.update(x=names, y=names, colorscale="Blues", showscale=False)
    fig.add_trace(heat, row=2, col=2)
    epochs = lapse.frame_epochs
    fig.add_scatter(x=epochs, y=_normalised_loss(lapse.loss), name=tr("loss (scaled)"),
                    line={"color": charts.COLORS["val"]}, row=2, col=3)  # fmt: skip
    fig.add_scatter(x=epochs, y=lapse.accuracy, name=tr("training accuracy"),
                    line={"color": charts.COLORS["train"]}, row=2, col=3)  # fmt: skip
    marker.update(mode="lines", line={"color": "#111", "dash": "dot"}, showlegend=False)
    fig.add_trace(marker, row=2, col=3)
    changing = [0, 1, 2] if layer is not None else [0, 1]
    changing = [*changing, len(changing), len(changing) + 1, len(changing) + 4]
    fig.frames = [
        go.Frame(data=_frame_data(lapse, f, probe, layer), traces=changing, name=str(f))
        for f in range(len(lapse))
    ]
    _axes_and_controls(fig, lapse, probe_label, len(names))
    return charts.legible_axes(fig)


def at_frame(fig: go.Figure, index: int) -> go.Figure:
    """A copy of the time-lapse `fig` showing its snapshot `index` (its slider there too): the
    keyboard's way through it, since plotly's Play button and slider take no keyboard focus."""
    shown = go.Figure(fig)
    frame = fig.frames[index]
    for trace, data in zip(frame.traces, frame.data, strict=True):
        shown.data[trace].update(data.to_plotly_json())
    shown.layout.sliders[0].active = index
    return shown


def _normalised_loss(loss: np.ndarray) -> np.ndarray:
    """Loss scaled to [0, 1] by its largest finite value, to share the accuracy axis."""
    finite = loss[np.isfinite(loss)]
    return loss / finite.max() if finite.size and finite.max() > 0 else loss


def _slider_steps(lapse: Timelapse) -> list[dict]:
    """One slider step per frame: jump to it at once (no transition: pictures cannot be
    animated, they showed blank for the transition's length)."""
    return [
        {
            "args": [
                [str(f)],
                {
                    "frame": {"duration": 0, "redraw": True},
                    "mode": "immediate",
                    "transition": NO_TRANSITION,
                },
            ],
            "label": f"{lapse.frame_epochs[f]:.2g}",
            "method": "animate",
        }
        for f in range(len(lapse))
    ]


def _axes_and_controls(fig: go.Figure, lapse: Timelapse, probe_label: str, classes: int):
    for axis in ("xaxis", "yaxis", "xaxis3", "yaxis3", "xaxis4", "yaxis4"):
        fig.layout[axis].update(visible=False)
    fig.update_yaxes(range=[0, 1.15], tickformat=".0%", row=1, col=2)
    fig.update_xaxes(type="category", tickangle=-45 if classes > 6 else 0, row=1, col=2)
    fig.update_xaxes(type="category", title_text=tr("predicted"), row=2, col=2)
    fig.update_yaxes(type="category", title_text=tr("true"), autorange="reversed", row=2, col=2)
    fig.update_xaxes(title_text=tr("epoch"), row=2, col=3)
    fig.update_yaxes(range=[0, 1.05], row=2, col=3)
    steps = _slider_steps(lapse)
    labels = ("▶ " + tr("Play"), "❚❚ " + tr("Pause"))  # longer words move the slider right
    slider_x = max(SLIDER_X, 0.03 + LABEL_SHARE * sum(len(label) for label in labels))
    play = {
        "frame": {"duration": FRAME_MS, "redraw": True},
        "fromcurrent": True,
        "transition": NO_TRANSITION,
    }
    fig.update_layout(
        height=640,
        font={"color": charts.TEXT},
        margin={"l": 10, "r": 10, "t": 60, "b": 70},
        legend={"orientation": "h", "x": 0.7, "y": -0.1},
        title={"text": tr("How it learned to read {probe}").format(probe=probe_label), "x": 0.01},
        updatemenus=[
            {
                # left of the slider, level with its rail (they covered its first steps)
                "type": "buttons",
                "direction": "left",
                "x": 0.0,
                "y": -0.02,
                "xanchor": "left",
                "yanchor": "top",
                "pad": {"t": 34},
                "buttons": [
                    {"label": labels[0], "method": "animate", "args": [None, play]},
                    {
                        "label": labels[1],
                        "method": "animate",
                        "args": [[None], {"mode": "immediate", "frame": {"duration": 0}}],
                    },
                ],  # fmt: skip
            }
        ],
        sliders=[
            {
                "active": 0,
                "steps": steps,
                "x": slider_x,
                "y": -0.02,
                "len": 0.66 - slider_x,
                "currentvalue": {"prefix": tr("epoch") + " ", "font": {"size": 16}},
                "transition": NO_TRANSITION,
            }
        ],
    )


def snapshot_picture(snapshot: dict, probe_images: np.ndarray, class_names: Sequence[str]):
    """The Train page's live view of the latest snapshot: each probe with what it is read as.

    Returns:
        (one framed uint8 image per probe, a caption per probe).
    """
    probabilities = snapshot["probabilities"]
    images, captions = [], []
    for image, p, probe in zip(probe_images, probabilities, snapshot["probes"], strict=True):
        top = int(np.argmax(p))
        images.append(pictures.framed(image, 96))
        verdict = "✓" if top == probe["class"] else "✗" if probe["class"] >= 0 else "→"
        captions.append(f"{probe['label']} {verdict} {class_names[top]} {i18n.percent(p[top])}")
    return images, captions
