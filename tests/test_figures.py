"""The pictures the pages draw show the numbers they are made of."""

from __future__ import annotations

import numpy as np
import pytest
from plotly.colors import PLOTLY_SCALES, hex_to_rgb

from ui import pictures

# plotly's own viridis: 17 colours at 0, 1/16, 2/16 ... 1 of the scale
STOPS = np.array([position for position, _ in PLOTLY_SCALES["Viridis"]])
STOP_RGB = np.array([hex_to_rgb(colour) for _, colour in PLOTLY_SCALES["Viridis"]], float)
# between two stops viridis curves a little: a straight line between them is within 5.4 levels
BETWEEN_STOPS = 6


def viridis(scaled: np.ndarray) -> np.ndarray:
    """Plotly's viridis at values in [0, 1], straight between its stops."""
    return np.stack([np.interp(scaled, STOPS, STOP_RGB[:, i]) for i in range(3)], axis=-1)


def test_the_colour_scale_is_viridis_from_dark_blue_to_yellow():
    at_stops = pictures.colorized(STOPS[None] * 255, 0, 255)[0]
    np.testing.assert_array_equal(at_stops, STOP_RGB)


@pytest.mark.parametrize("shared", [True, False])
def test_each_feature_map_tile_is_its_own_channel_in_viridis(shared):
    rng = np.random.default_rng(0)
    activation = rng.normal(size=(7, 5, 12)).astype(np.float32)
    activation[..., 3] = 0.25  # a flat channel: one colour, the scale's bottom when alone
    tile_px, columns, step = 35, 4, 35 + pictures.TILE_GAP_PX
    grid = pictures.feature_map_mosaic(activation, shared, tile_px=tile_px, columns=columns)
    gap = pictures.TILE_GAP_PX
    assert grid.shape == (3 * step - gap, columns * step - gap, 3)
    for c in range(12):
        channel = activation[..., c]
        low, high = (
            (activation.min(), activation.max()) if shared else (channel.min(), channel.max())
        )
        scaled = (channel - low) / (high - low) if high > low else np.zeros_like(channel)
        r, k = divmod(c, columns)
        tile = grid[r * step : r * step + tile_px, k * step : k * step + tile_px]
        # the tile is the 7x5 channel enlarged (nearest neighbour): one pixel per value back
        rows = (np.arange(7) * tile_px // 7) + tile_px // 14
        cols = (np.arange(5) * tile_px // 5) + tile_px // 10
        np.testing.assert_allclose(tile[np.ix_(rows, cols)], viridis(scaled), atol=BETWEEN_STOPS)
    assert (
        len(np.unique(grid[0:tile_px, 3 * step : 3 * step + tile_px].reshape(-1, 3), axis=0)) == 1
    )
