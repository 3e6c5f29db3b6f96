"""The pictures the pages draw show the numbers they are made of."""

from __future__ import annotations

import numpy as np
import pytest

from ui import figures


@pytest.mark.parametrize("shared", [True, False])
def test_each_feature_map_tile_is_its_own_channel_in_viridis(shared):
    rng = np.random.default_rng(0)
    activation = rng.normal(size=(7, 5, 12)).astype(np.float32)
    activation[..., 3] = 0.25  # a flat channel: one colour, the scale's bottom when alone
    tile_px, columns, step = 35, 4, 35 + figures.TILE_GAP_PX
    grid = figures.feature_map_mosaic(activation, shared, tile_px=tile_px, columns=columns)
    assert grid.shape == (3 * step - figures.TILE_GAP_PX, columns * step - figures.TILE_GAP_PX, 3)
    for c in range(12):
        channel = activation[..., c]
        low, high = (
            (activation.min(), activation.max()) if shared else (channel.min(), channel.max())
        )
        expected = figures.colorized(channel, float(low), float(high))
        r, k = divmod(c, columns)
        tile = grid[r * step : r * step + tile_px, k * step : k * step + tile_px]
        # the tile is the 7x5 channel enlarged (nearest neighbour): one pixel per value back
        rows = (np.arange(7) * tile_px // 7) + tile_px // 14
        cols = (np.arange(5) * tile_px // 5) + tile_px // 10
        np.testing.assert_array_equal(tile[np.ix_(rows, cols)], expected)
    assert (
        len(np.unique(grid[0:tile_px, 3 * step : 3 * step + tile_px].reshape(-1, 3), axis=0)) == 1
    )
