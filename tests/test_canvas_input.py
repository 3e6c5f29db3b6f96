"""The drawing's short cuts on Predict's per-stroke path give what the long way gave.

`ui.canvas.opaque_as_rgb` drops the alpha channel of a canvas with no transparent pixel, so
that preprocessing has no alpha to blend at every stroke: every step, note and the model's
input must be the same as from the RGBA picture, white ink on black and black on white, with
and without the strokes' paths; a canvas with transparency is left as it is.
`ui.inputs._only_background` reads each channel's lowest and highest value instead of a
difference per pixel: it must agree with the per-pixel test on canvases at and around the
tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import SYMBOL_STROKES, symbol_canvas

# artifacts first: cnn.record imported first fails on a circular import (cnn.training.distill)
from cnn import artifacts, preprocess, strokes  # noqa: F401
from ui import canvas, inputs

DIGITS = {"method": "digits", "image_size": [28, 28], "channels": 1}
PHOTOS = {"method": "photos", "image_size": [32, 32], "channels": 3}


def per_pixel_background(image: np.ndarray, background: str) -> bool:
    """Every pixel within the tolerance of the colour, tested pixel by pixel."""
    colour = np.array([int(background[i : i + 2], 16) for i in (1, 3, 5)])
    difference = np.abs(image[:, :, :3].astype(np.int16) - colour)
    return bool(np.all(difference <= inputs.BACKGROUND_TOLERANCE))


def same_steps(a: preprocess.Steps, b: preprocess.Steps) -> bool:
    return (
        [title for title, _ in a.steps] == [title for title, _ in b.steps]
        and all(np.array_equal(x, y) for (_, x), (_, y) in zip(a.steps, b.steps, strict=True))
        and np.array_equal(a.input, b.input)
        and a.notes == b.notes
    )


@pytest.mark.parametrize("symbol", sorted(SYMBOL_STROKES))
@pytest.mark.parametrize("black_ink", [False, True])
def test_an_opaque_canvas_prepares_the_same_without_its_alpha(symbol, black_ink):
    rgba = symbol_canvas(symbol, seed=3).copy()
    if black_ink:
        rgba[:, :, :3] = 255 - rgba[:, :, :3]
    rgb = canvas.opaque_as_rgb(rgba)
    assert rgb.shape == (280, 280, 3) and np.array_equal(rgb, rgba[:, :, :3])
    paths = strokes.check([[list(p) for p in s] for s in SYMBOL_STROKES[symbol]], 280)
    for preprocessing in (DIGITS, PHOTOS):
        for given in (paths, None):
            expected = preprocess.prepare_drawing(rgba, preprocessing, given)
            assert same_steps(preprocess.prepare_drawing(rgb, preprocessing, given), expected)


def test_a_canvas_with_transparency_keeps_its_alpha():
    rgba = symbol_canvas("cross", seed=1).copy()
    rgba[0, 0, 3] = 254
    assert canvas.opaque_as_rgb(rgba) is rgba


@pytest.mark.parametrize("background", ["#000000", "#FFFFFF"])
def test_only_background_agrees_with_the_per_pixel_test(background):
    tolerance = inputs.BACKGROUND_TOLERANCE
    drawn = symbol_canvas("ring", seed=2)
    images = [drawn, 255 - drawn]
    for level in (0, tolerance, tolerance + 1, 255 - tolerance, 255 - tolerance - 1, 255):
        flat = np.full((280, 280, 4), 255, np.uint8)
        flat[:, :, :3] = level
        images.append(flat)
        speck = flat.copy()
        speck[139, 7, 1] = 128  # one channel of one pixel far from any background
        images.append(speck)
    answers = [inputs._only_background(image, background) for image in images]
    assert answers == [per_pixel_background(image, background) for image in images]
    assert any(answers) and not all(answers)
