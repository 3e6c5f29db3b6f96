"""The drawing canvas: a small Streamlit component of our own (ui/canvas.js).

streamlit-drawable-canvas (Fabric.js) served until issue 11's latency target: it waits a
fixed 200 ms after each change before sending the drawing (a trailing debounce in its
built frontend, with no option to change it), which is two thirds of the 300 ms a finished
stroke may take to become a Prediction, and its floating toolbar took the pointer over the
canvas's top-right corner. Drawing a digit needs one pen, Undo, a PNG back and the strokes'
paths (Predict redraws them with MNIST's pen width: `cnn.strokes`), which ~150 lines of
plain JavaScript on Streamlit's components v2 give: the stroke is sent on pointer up, pen
and touch draw too, and nothing covers the drawing area.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import streamlit as st

from cnn.i18n import tr

_ASSETS = Path(__file__).parent
MAX_SIDE = 2048  # pixels: larger than any canvas this app mounts
CSS = """
.cnn-canvas { display: flex; align-items: flex-end; gap: 0.5rem; }
.drawing-canvas { touch-action: none; cursor: crosshair; display: block;
  border: 1px solid rgba(49, 51, 63, 0.25); border-radius: 0.25rem; }
.undo { font: inherit; font-size: 0.875rem; padding: 0.25rem 0.6rem; cursor: pointer;
  border: 1px solid rgba(49, 51, 63, 0.25); border-radius: 0.5rem; background: white;
  color: rgb(49, 51, 63); white-space: nowrap; }
.undo:hover:enabled { border-color: #4f46e5; color: #4f46e5; }
.undo:focus-visible { outline: 3px solid #4f46e5; outline-offset: 2px; }
.undo:disabled { opacity: 0.45; cursor: default; }
"""
_COMPONENT = st.components.v2.component(
    "cnn_lab_canvas",
    html='<div class="canvas-root"></div>',
    css=CSS,
    js=(_ASSETS / "canvas.js").read_text(encoding="utf-8"),
)


def drawing_canvas(
    *,
    size: int,
    stroke_width: int,
    stroke_color: str,
    background_color: str,
    key: str,
    restore: dict | None = None,
) -> dict | None:
    """Mount the canvas; its last value, or None before the first stroke.

    The value is {"data": PNG data URL, "paths": [[[x, y], ...], ...]}: the picture and each
    stroke's path in canvas pixels, as the browser sent them (`decode` and
    `cnn.strokes.check` read them; a tampered browser could send anything).

    Args:
        size: side of the square canvas in pixels (what the data URL holds, too).
        stroke_width: brush diameter in canvas pixels.
        stroke_color, background_color: CSS colours ("#FFFFFF").
        key: widget key; a new key gives a new, empty canvas.
        restore: a value of this canvas to paint when it changes (a drawing kept while the
            canvas was off the page); Undo starts afresh from it.
    """
    data = {
        "size": size,
        "strokeWidth": stroke_width,
        "strokeColor": stroke_color,
        "backgroundColor": background_color,
        "restore": restore,
        # the canvas is a picture to the keyboard and to screen readers (WCAG 2.1.1): its name
        # says how to draw and where a keyboard gets a picture instead
        "label": tr(
            "Drawing area: draw with the mouse, a pen or a finger. With a keyboard, choose "
            "another input instead (Samples or Upload) where the page offers one."
        ),
        "undo": tr("Undo"),
        "undoTitle": tr("Take back the last stroke"),
    }
    result = _COMPONENT(
        data=data,
        key=key,
        default={"drawing": None},
        on_drawing_change=lambda: None,
        width="content",
        height="content",
    )
    drawing = result.get("drawing")
    return drawing if isinstance(drawing, dict) and isinstance(drawing.get("data"), str) else None


def decode(data_url: str) -> np.ndarray | None:
    """The RGBA pixels of a canvas data URL ("data:image/png;base64,..."); None when it is
    not a PNG the canvas could have sent (the value comes from the browser)."""
    from PIL import Image

    try:
        _, encoded = data_url.split(";base64,", 1)
        with Image.open(io.BytesIO(base64.b64decode(encoded, validate=True))) as image:
            if image.format != "PNG" or max(image.size) > MAX_SIDE:
                return None
            return np.asarray(image.convert("RGBA"))
    except (ValueError, OSError):
        return None


def opaque_as_rgb(rgba: np.ndarray) -> np.ndarray:
    """The canvas's RGB channels alone when every pixel is opaque (it paints its background),
    which is the same picture: preprocessing then has no alpha to blend, per stroke; RGBA
    with any transparency is returned as it is."""
    alpha = rgba[:, :, 3]
    return rgba[:, :, :3] if int(alpha.min()) == 255 else rgba
