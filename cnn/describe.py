"""Pictures in words, made from the numbers behind them (issue 32): the text alternative of a
map, a chart or a confusion matrix says what that picture shows, for a student who cannot
see it (WCAG 2.1 1.1.1). Every sentence goes through the catalogs.

    >>> heatmap(np.eye(4), tr("Where it looked"))   # "Where it looked: strongest ..."
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnn.i18n import N_, number, percent, tr

# a 3x3 grid of places in a picture, read the way a person names them
PLACES = (
    (N_("at the top left"), N_("at the top"), N_("at the top right")),
    (N_("at the left"), N_("in the middle"), N_("at the right")),
    (N_("at the bottom left"), N_("at the bottom"), N_("at the bottom right")),
)


def _grid_means(values: np.ndarray) -> np.ndarray:
    """The mean of each cell of a 3x3 grid over a 2-D map."""
    h, w = values.shape
    rows = np.array_split(np.arange(h), 3)
    cols = np.array_split(np.arange(w), 3)
    return np.array([[values[np.ix_(r, c)].mean() if len(r) and len(c) else 0.0 for c in cols]
                     for r in rows])  # fmt: skip


def heatmap(values: np.ndarray, what: str) -> str:
    """A map (feature map, "Where it looked", filter) in words: where it is strongest, where
    weakest, and how much of it is active.

    Args:
        values: a 2-D array (higher = stronger); NaNs are ignored.
        what: what the map is, already translated ("Feature map 3 of conv1").
    """
    values = np.nan_to_num(np.asarray(values, dtype=float).squeeze())
    if values.ndim != 2 or values.size == 0:
        return what
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-12:
        return tr("{what}: the same everywhere (no pattern).").format(what=what)
    scaled = (values - low) / (high - low)
    grid = _grid_means(scaled)
    strong = np.unravel_index(int(np.argmax(grid)), grid.shape)
    weak = np.unravel_index(int(np.argmin(grid)), grid.shape)
    active = float((scaled > 0.5).mean())
    return tr("{what}: strongest {strong}, weakest {weak}; {active} of it is bright.").format(
        what=what,
        strong=tr(PLACES[strong[0]][strong[1]]),
        weak=tr(PLACES[weak[0]][weak[1]]),
        active=percent(active),
    )


def curve(values: Sequence[float], name: str, as_share: bool = False) -> str:
    """A training curve in words: its trend over the epochs and its last value."""
    points = [float(v) for v in values if v is not None and np.isfinite(v)]
    if not points:
        return tr("{name}: no values yet.").format(name=name)

    def show(v: float) -> str:
        return percent(v, 1) if as_share else number(v, 3)

    if len(points) == 1:
        return tr("{name}: {last} after the first epoch.").format(name=name, last=show(points[0]))
    first, last = points[0], points[-1]
    span = max(abs(first), abs(last), 1e-12)
    if abs(last - first) / span < 0.02:
        trend = tr("stays about the same")
    elif last > first:
        trend = tr("rises")
    else:
        trend = tr("falls")
    return tr("{name} {trend} from {first} to {last} over {epochs} epochs.").format(
        name=name, trend=trend, first=show(first), last=show(last), epochs=number(len(points))
    )


def confusion(matrix: np.ndarray, names: Sequence[str], most: int = 3) -> str:
    """A confusion matrix (rows: true class, columns: answer) by its accuracy and its largest
    confusions."""
    matrix = np.asarray(matrix, dtype=float)
    total = matrix.sum()
    if total <= 0:
        return tr("Confusion matrix: no images yet.")
    right = float(np.trace(matrix) / total)
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:most]
    pairs = []
    for flat in order:
        true, said = np.unravel_index(int(flat), off.shape)
        if off[true, said] <= 0:
            break
        pairs.append(
            tr("{true} read as {said} ({count} times)").format(
                true=names[true], said=names[said], count=number(int(off[true, said]))
            )
        )
    if not pairs:
        return tr("Confusion matrix: {right} right, no confusions.").format(right=percent(right))
    return tr("Confusion matrix: {right} right; most often confused: {pairs}.").format(
        right=percent(right, 1), pairs="; ".join(pairs)
    )


def probabilities(probs: Sequence[float], names: Sequence[str], most: int = 3) -> str:
    """Class probabilities in words: the top answers with their shares."""
    probs = np.asarray(probs, dtype=float)
    top = np.argsort(probs)[::-1][:most]
    return "; ".join(f"{names[i]} {percent(float(probs[i]))}" for i in top)
