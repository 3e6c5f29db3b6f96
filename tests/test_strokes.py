"""cnn.strokes: a drawing's paths, redrawn with MNIST's pen (issue 15: thick brushes)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cnn import preprocess, strokes
from cnn.preprocess import digit_from_canvas

CANVAS = 280


def ring(radius: float, centre=(140, 140), points: int = 40) -> list[list[tuple[float, float]]]:
    """One closed stroke round a circle: a drawn 0."""
    angles = np.linspace(0, 2 * np.pi, points)
    return [[(centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a)) for a in angles]]


def painted(paths, width: int) -> np.ndarray:
    """The canvas picture of the paths with a round brush `width` wide (white on black)."""
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    for path in paths:
        points = np.round(np.asarray(path)).astype(np.int32)
        cv2.polylines(canvas, [points], False, 255, width, cv2.LINE_AA)
    return np.dstack([canvas, canvas, canvas, np.full_like(canvas, 255)])


def test_a_thick_brush_fills_a_small_zero_and_its_path_opens_it_again():
    zero = ring(30)  # a 60 px 0 drawn with the slider's widest brush: its hole is gone
    from_picture = digit_from_canvas(painted(zero, 40)).input[..., 0]
    from_paths = digit_from_canvas(painted(zero, 40), zero).input[..., 0]
    middle = (slice(10, 18), slice(10, 18))
    assert from_picture[middle].mean() > 0.7  # the middle of the 0 is ink
    assert from_paths[middle].mean() < 0.1  # and with the paths it is a hole again
    assert from_paths.max() > 0.9


def test_with_its_paths_a_drawing_is_the_same_input_whatever_the_brush():
    seven = [[(80, 60), (200, 60), (120, 230)]]
    inputs = [digit_from_canvas(painted(seven, w), seven) for w in (8, 20, 40)]
    for result in inputs[1:]:
        np.testing.assert_array_equal(result.input, inputs[0].input)
    assert preprocess.REDRAWN_STEP in [name for name, _ in inputs[0].steps]
    assert any("brush width" in note for note in inputs[0].notes)


def stroke_width(image: np.ndarray) -> float:
    """Mean stroke width in pixels of a white-on-black digit: its ink (in whole pixels) over
    the length of its centre line (the thinned ink)."""
    ink = image.astype(np.float64) / image.max()
    centre_line = cv2.ximgproc.thinning((ink > 0.5).astype(np.uint8) * 255) > 0
    return float(ink.sum() / centre_line.sum())


DRAWN = {  # digits as the canvas sends their paths (canvas pixels)
    "0": ring(30),
    "1": [[(140, 50), (140, 230)]],
    "4": [[(170, 230), (170, 50), (80, 170), (210, 170)]],
    "7": [[(80, 60), (200, 60), (120, 230)]],
}


def test_drawn_digits_get_the_stroke_width_of_mnist_digits_whatever_the_brush():
    """The pen is measured against MNIST itself: the strokes of drawings redrawn from their
    paths are as wide as real MNIST digits' (the embedded subset's), within a fifth, for a
    thin and a thick brush; the thick brush's own picture is far wider (the measure tells)."""
    mnist = np.median([stroke_width(digit[..., 0]) for digit in embedded_digits(300)])
    assert 2 < mnist < 4  # MNIST's writers: a stroke of 2-4 px in a 28 px image

    def widths(brush: int, with_paths: bool) -> list[float]:
        drawn = [(painted(paths, brush), paths if with_paths else None) for paths in DRAWN.values()]
        return [stroke_width(digit_from_canvas(*one).input[..., 0]) for one in drawn]

    for brush in (8, 40):
        assert np.median(widths(brush, with_paths=True)) == pytest.approx(mnist, rel=0.2)
    assert np.median(widths(40, with_paths=False)) > 1.5 * mnist


@pytest.mark.parametrize(
    "value",
    [
        None,
        "paths",
        [],
        [[]],
        [["a", "b"]],
        [[[1, 2, 3]]],
        [[[float("nan"), 1]]],
        [[[1e9, 1]]],
        [[[0, 0]]] * (strokes.MAX_STROKES + 1),
        [[[0, 0]] * (strokes.MAX_POINTS + 1)],
    ],
)
def test_what_is_not_a_list_of_strokes_is_refused(value):
    assert strokes.check(value, CANVAS) is None


def test_checked_strokes_are_clipped_to_the_canvas():
    paths = strokes.check([[[10, 20], [300, -5]], [[5.5, 6]]], CANVAS)
    assert paths == [[(10.0, 20.0), (279.0, 0.0)], [(5.5, 6.0)]]
    assert strokes.redraw(paths, (CANVAS, CANVAS)).max() == 255  # a one-point stroke: a dot


def embedded_digits(n: int = 40) -> np.ndarray:
    """Real MNIST digits: the embedded subset (no network, no shared data)."""
    from cnn import datasets

    return datasets.load("mnist", download=False).test.images[:n]


def test_redrawn_training_digits_have_one_pen_width_whatever_their_writer_used():
    """A training digit written thick and the same digit as written come back with nearly the
    same ink (one pen), centred as MNIST is; thick and thin differ by far more as they are."""
    digits = embedded_digits()
    thick = np.stack([cv2.dilate(d, np.ones((3, 3), np.uint8)) for d in digits])[..., None]
    plain, bold = strokes.redrawn_digits(digits), strokes.redrawn_digits(thick)
    assert plain.shape == digits.shape and plain.dtype == np.uint8
    as_written = thick.sum(axis=(1, 2, 3)) / digits.sum(axis=(1, 2, 3))
    redrawn = bold.sum(axis=(1, 2, 3)) / plain.sum(axis=(1, 2, 3))
    assert np.median(as_written) > 1.6 and np.median(redrawn) < 1.15
    for digit in plain[..., 0]:
        rows, cols = np.nonzero(digit > 40)
        assert max(np.ptp(rows), np.ptp(cols)) + 1 in (19, 20, 21)  # MNIST's 20 px box
        mass = digit.astype(float) / digit.sum()
        centre = (mass.sum(1) @ np.arange(28), mass.sum(0) @ np.arange(28))
        assert np.allclose(centre, 14, atol=1.0)


def test_an_empty_digit_is_left_as_it_is():
    blank = np.zeros((28, 28), np.uint8)
    assert strokes.redrawn_digit(blank) is blank


@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_training_batches_take_the_redrawn_digits_in_the_share_asked(share):
    """make_pipeline's alternates: each image is its redrawn copy `share` of the time."""
    from cnn import datasets

    digits = embedded_digits(400)
    split = datasets.Split(labels=np.zeros(len(digits), np.int64), images=digits)
    redrawn = strokes.redrawn_digits(digits)
    batches = datasets.make_pipeline(split, (28, 28), 1, 50, alternates=redrawn,
                                     alternate_share=share)  # fmt: skip
    images = np.concatenate([np.rint(x.numpy() * 255).astype(np.uint8) for x, _ in batches])
    differs = (redrawn != digits).any(axis=(1, 2, 3))
    took = (images == redrawn).all(axis=(1, 2, 3)) & differs
    kept = (images == digits).all(axis=(1, 2, 3)) & differs
    assert (took | kept)[differs].all()
    assert took[differs].mean() == pytest.approx(share, abs=0.1)


@pytest.mark.parametrize(
    ("settings", "words"),
    [({"dataset": "fashion_mnist", "redraw_strokes": 0.5}, "handwritten digits"),
     ({"redraw_strokes": 1.5}, "from 0 to 1")],
)  # fmt: skip
def test_redrawn_strokes_are_refused_where_they_cannot_work(settings, words):
    from cnn.errors import TrainingError
    from cnn.training import TrainConfig

    with pytest.raises(TrainingError, match=words):
        TrainConfig(**settings).validate()
