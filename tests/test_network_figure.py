"""Look inside's network figure on a real trained model: its feature maps' colour scale."""

from __future__ import annotations

import numpy as np

from cnn import artifacts
from cnn.explain import MAP_KINDS, Explainer
from cnn.inspect import Inspector
from ui import network


def test_the_colour_scale_shows_the_maps_not_only_their_peaks(tiny_run):
    """Issue 28, 5.5: on the min-to-max scale a few peaks left most maps all but black; the
    column's scale ends where its strongest BRIGHT_SHARE of values begin, so at least that
    share shows at the top colour and the other values get brighter colours than before."""
    run = artifacts.load_run(tiny_run)
    explainer = Explainer.for_run(run, Inspector(run.model))
    digit = np.zeros((28, 28, 1), np.float32)
    digit[4:24, 12:16] = 1.0  # a "1"
    columns = explainer.network(explainer.forward(digit), run.record.class_names).columns
    checked = 0
    for column in (c for c in columns if c.kind in MAP_KINDS):
        maps = column.maps[..., column.order[:6]]
        low, high = network.colour_scale(maps)
        if maps.max() <= maps.min():
            continue  # a dead column has nothing to show
        assert low == maps.min() and low < high <= maps.max()
        assert (maps >= high).mean() >= network.BRIGHT_SHARE  # yellow: the strongest 5%
        lit = maps > low
        new = np.clip((maps[lit] - low) / (high - low), 0, 1).mean()
        old = ((maps[lit] - low) / (maps.max() - low)).mean()
        assert new > old
        checked += 1
    assert checked >= 2
