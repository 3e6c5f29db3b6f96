"""Pictures the pages show, as numpy uint8 RGB arrays (OpenCV resizes and colour maps).

Grids of small images (feature maps, filters, samples) are one numpy mosaic each, shown with
`st.image`, which is far cheaper than dozens of plotly heatmaps. Nothing here touches Keras:
pages pass arrays from cnn/ results.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

TILE_PX = 64  # side of one feature-map tile on screen
FILTER_TILE_PX = 48  # side of one learned-filter tile on screen
TILE_GAP_PX = 2  # white gap between feature-map tiles
FILTER_GAP_PX = 8  # wider gaps between filters: 3x3 kernels side by side read as one pattern
STEP_PX = 140  # side of each preprocessing step on Predict
MAX_TILES = 64  # channels shown per layer
DISPLAY_PX = 168  # side of an input image on screen (nearest neighbour, so pixels stay sharp)
FRAME_GREY = 235  # background around images that are not square
HEAT_LEAST, HEAT_MOST = 0.1, 0.8  # share of a saliency map's colour where it is 0 and 1
HEAT_FROM = 0.5  # a saliency map's lower half (by rank) is left uncoloured
# The heat scale of "Where it looked" and Grad-CAM: pale yellow, orange, red (ColorBrewer's
# YlOrRd without its darkest browns), darker at every step, so it reads as "more" to every
# eye, colour-blind ones included (issue 32; jet's blue-green-yellow-red did not, and its
# greens and reds look alike to one boy in twelve). Red is still the top: the pages say so.
HEAT_STOPS = ((0.0, (254, 217, 118)), (0.5, (253, 141, 60)), (1.0, (227, 26, 28)))


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


def heat_colours(level: np.ndarray) -> np.ndarray:
    """Levels in [0, 1] as float RGB on the heat scale (HEAT_STOPS)."""
    positions = [p for p, _ in HEAT_STOPS]
    level = np.clip(np.asarray(level, np.float32), 0, 1)
    return np.stack(
        [np.interp(level, positions, [c[i] for _, c in HEAT_STOPS]) for i in range(3)], axis=-1
    ).astype(np.float32)


def gradcam_overlay(image: np.ndarray, cam: np.ndarray, side: int = DISPLAY_PX) -> np.ndarray:
    """The Grad-CAM heat map over the model input, enlarged: the heat scale (yellow to red)
    covering the input in proportion to the map (HEAT_MOST at its top), so where the map is
    low the picture shows as it is."""
    base = to_uint8_rgb(image).astype(np.float32)
    level = np.clip(np.asarray(cam, np.float32), 0, 1)
    alpha = (HEAT_MOST * level)[..., None]
    return framed((base * (1 - alpha) + heat_colours(level) * alpha).astype(np.uint8), side)


def ranked(heat: np.ndarray) -> np.ndarray:
    """A map's values replaced by their rank, 0 (lowest) to 1 (highest): the same order (the
    order the deletion test removes pixels in), with every colour of the scale used equally,
    so a map whose values crowd together (SmoothGrad's) still shows where its top lies."""
    from scipy.stats import rankdata

    flat = np.asarray(heat, np.float64).ravel()
    ranks = (rankdata(flat, method="average") - 1) / max(flat.size - 1, 1)
    return ranks.reshape(np.shape(heat)).astype(np.float32)


def heat_overlay(image: np.ndarray, heat: np.ndarray, side: int = DISPLAY_PX) -> np.ndarray:
    """A saliency map over the model input, enlarged: each pixel coloured by its rank in the
    map, the lower half (HEAT_FROM) left as the picture, then yellow to red (the heat scale)
    up to the highest pixels, the colour covering the input more the higher the rank
    (HEAT_LEAST to HEAT_MOST)."""
    base = to_uint8_rgb(image).astype(np.float32)
    level = np.clip((ranked(heat) - HEAT_FROM) / (1 - HEAT_FROM), 0, 1) ** 2
    colours = heat_colours(level)
    alpha = (HEAT_LEAST + (HEAT_MOST - HEAT_LEAST) * level)[..., None]
    return framed((base * (1 - alpha) + colours * alpha).astype(np.uint8), side)


def thumbnail(image: np.ndarray, side: int) -> np.ndarray:
    """A square uint8 RGB thumbnail: centre crop, then area resize (for photo grids)."""
    rgb = to_uint8_rgb(image)
    h, w = rgb.shape[:2]
    crop = min(h, w)
    top, left = (h - crop) // 2, (w - crop) // 2
    square = rgb[top : top + crop, left : left + crop]
    interpolation = cv2.INTER_AREA if crop > side else cv2.INTER_NEAREST
    return cv2.resize(square, (side, side), interpolation=interpolation)
