"""Turn drawings, uploads and photos into exactly what a model receives, keeping every step.

The Predict page and the CLI both call these functions, so what a student sees is what the
model got. Every function returns a `Steps`: the intermediate images (for display), the
final float32 input in [0, 1], and notes saying what was decided on the way (for example
"the colours were inverted"). Anything a user can feed in that cannot become an input
raises `PreprocessError` with a sentence a student understands; an empty canvas raises
its subclass `NothingDrawn`.

Three methods, named in a run's preprocessing record:
- "digits": the MNIST method (ink, crop, longer side to 20 px, centre of mass in 28x28);
- "grayscale": centre crop and resize to one channel, light item on black (Fashion-MNIST);
- "photos": centre crop and resize, RGB.
They are the kinds of images of `cnn.datasets.KINDS`; records written before the two
vocabularies were one ("mnist_digit", "grayscale_item", "photo") are read with
`cnn.datasets.info.RENAMED_METHODS`.

Arrays passed in may be any numeric dtype: bool becomes 0/255, uint8 is used as is, uint16
is scaled by 1/257, floats that lie within [0, 1] are scaled by 255, and any other integer or
float values are clipped to [0, 255]. Shapes (h, w), (h, w, 1) gray, (h, w, 2) gray + alpha,
(h, w, 3) RGB and (h, w, 4) RGBA are accepted.

Example:
    >>> steps = prepare_upload(load_image("seven.jpg"), run.preprocessing)
    >>> probabilities = model(steps.input[None])

Uses numpy, OpenCV and Pillow only (never TensorFlow), so it is cheap to import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from cnn import geometry, strokes
from cnn.errors import NothingDrawn, PreprocessError
from cnn.i18n import N_, tr
from cnn.images import MAX_FILE_BYTES, MAX_PIXELS, MIN_SIDE, as_image, load_image, to_rgb
from cnn.preprocess_record import METHODS, check_channels, check_image_size, check_record

__all__ = [
    "MAX_FILE_BYTES", "MAX_PIXELS", "METHODS", "MIN_SIDE", "NothingDrawn", "PreprocessError",
    "Steps", "digit_from_canvas", "digit_from_photo", "load_image", "photo_to_input",
    "prepare_drawing", "prepare_upload",
]  # fmt: skip

# The MNIST method
MNIST_SIZE = 28  # side of an MNIST image
MNIST_BOX = 20  # the digit's longer side after scaling, as in the original MNIST
INK_THRESHOLD = 40  # an ink value (0..255) above this counts as drawn
MIN_INK_PIXELS = 4  # fewer inked pixels than this is "nothing drawn" (a stray click)
MIN_DIGIT_FRACTION = 0.1  # ink spanning less of the canvas side is a dot, not a digit
FLAT_TOLERANCE = 8  # a canvas whose gray values span less than this is one flat colour
TRANSPARENT_ALPHA = 128  # a border alpha below this means the canvas background is transparent
LIGHT = 128  # gray values at or above this count as light (background or ink polarity)
# step titles of a drawing (words that fit any drawn symbol, not only digits)
REDRAWN_STEP = N_("strokes redrawn with an even pen")
WIDENED_STEP = N_("thin strokes widened to an even pen")

# A photo of a digit on paper
PHOTO_WORK_SIDE = 512  # photos are scaled to this longer side before thresholding
BLUR_KERNEL = 5  # Gaussian blur before thresholding, in pixels (odd)
BLOCK_FRACTION = 1 / 8  # adaptive-threshold neighbourhood, as a fraction of the longer side
THRESHOLD_OFFSET = 10  # a pixel this much darker than its neighbourhood is ink
OPENING_KERNEL = 3  # the opening removes specks thinner than this, in pixels
POLARITY_MARGIN = 2  # mean above median by this much: light ink is the minority (dark paper)
MIN_COMPONENT_FRACTION = 0.0005  # ink blobs smaller than this share of the photo are noise
KEEP_FRACTION = 0.15  # blobs this large relative to the main one are kept (broken strokes)

# Model inputs


@dataclass
class Steps:
    """Every image on the way from what the user gave to what the model gets.

    Attributes:
        steps: (title, uint8 image of shape (h, w) or (h, w, 3)) in the order they happened.
        input: float32 array (h, w, c) in [0, 1]: exactly what the model receives.
        notes: sentences about decisions taken (inversions, conversions).
    """

    steps: list[tuple[str, np.ndarray]]
    input: np.ndarray
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        titles = " -> ".join(title for title, _ in self.steps)
        shape = self.input.shape
        return f"Steps({titles}; input {self.input.dtype} {shape}; notes {self.notes})"


def digit_from_canvas(rgba: np.ndarray, paths: Sequence[strokes.Path] | None = None) -> Steps:
    """Turn a drawing into a 28x28 MNIST-style digit (white on black), keeping every step.

    The ink is the alpha channel when the canvas background is transparent, otherwise the
    difference from the background colour (dark ink on light or light ink on dark, decided
    by the canvas border). Then: crop to the ink's bounding box, scale the longer side to
    20 px keeping the aspect ratio (anti-aliased), and place it in 28x28 so that its centre
    of mass is in the middle, as the MNIST creators did.

    A canvas of one flat colour has no digit shape: a light or transparent one is
    `NothingDrawn`, a dark one (for example painted all black) is a `PreprocessError`.

    Before the crop, the strokes get MNIST's width: with `paths` (the canvas's own record of
    each stroke) they are redrawn from their paths with a pen `cnn.strokes.STROKE_FRACTION` of
    the digit's size (`cnn.strokes.redraw`: a thick brush's filled loops open again); without,
    strokes thinner than that are widened (`even_strokes`) and thicker ones left as drawn.

    Args:
        rgba: the canvas, (h, w, 4) RGBA, or (h, w), (h, w, 1), (h, w, 2), (h, w, 3).
        paths: the strokes drawn on it, in its pixels (`cnn.strokes.check` reads them).

    Returns:
        Steps with input of shape (28, 28, 1).

    Raises:
        NothingDrawn: the canvas is empty or holds only a few stray pixels.
        PreprocessError: the array is not an image or the canvas is all ink.
    """
    canvas, ink, notes = _canvas_ink(rgba)
    steps = [(tr("canvas"), canvas), (tr("ink"), ink)]
    if paths:
        ink = strokes.redraw(paths, ink.shape)
        steps.append((tr(REDRAWN_STEP), ink))
        notes.append(
            tr(
                "Your strokes were drawn again along their paths with an even pen about a ninth of "
                "the drawing's size (as MNIST's writers' pens were): the brush width you pick does "
                "not change what the model sees."
            )
        )
    else:
        ink = even_strokes(ink)
        steps.append((tr(WIDENED_STEP), ink))
    digit = _mnist_centre(ink, steps)
    return Steps(steps, _to_input(digit), notes)


def digit_from_photo(rgb: np.ndarray) -> Steps:
    """Find a handwritten digit in a photo of paper and make it a 28x28 MNIST-style digit.

    Steps: grayscale (scaled to a working size), blur, adaptive threshold (copes with
    shadows and uneven light), invert so ink is white, morphological opening to drop specks,
    keep the largest ink blob near the centre (plus nearby large pieces of it) and drop blobs
    touching the photo's border (paper edges), then the same crop, 20 px scaling and centre
    of mass as `digit_from_canvas`. An image that is mostly dark with light ink (such as an
    MNIST sample) is inverted first, with a note.

    Args:
        rgb: the photo, (h, w, 3) RGB or any shape accepted by the module.

    Returns:
        Steps with input of shape (28, 28, 1).

    Raises:
        NothingDrawn: no digit-sized ink was found away from the border.
        PreprocessError: the array is not an image.
    """
    photo = to_rgb(as_image(rgb, tr("The photo")))
    steps: list[tuple[str, np.ndarray]] = [(tr("photo"), photo)]
    notes: list[str] = []

    # Gray at a fixed working size, so kernel sizes mean the same for every photo
    gray = _resize_longer(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY), PHOTO_WORK_SIDE)
    steps.append((tr("grayscale"), gray))
    if gray.mean() > np.median(gray) + POLARITY_MARGIN:
        gray = 255 - gray
        steps.append((tr("flipped to dark ink on light"), gray))
        notes.append(tr("The picture is light ink on a dark background, so it was inverted first."))

    # Local threshold: ink is darker than its own neighbourhood, whatever the lighting
    blurred = cv2.GaussianBlur(gray, (BLUR_KERNEL, BLUR_KERNEL), 0)
    steps.append((tr("blurred"), blurred))
    block = max(3, int(max(gray.shape) * BLOCK_FRACTION) | 1)
    binary = cv2.adaptiveThreshold(
        blurred, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, THRESHOLD_OFFSET
    )
    steps.append((tr("adaptive threshold"), binary))
    ink = 255 - binary
    steps.append((tr("ink made white, as in MNIST"), ink))

    # Drop specks, then everything that is not the digit
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (OPENING_KERNEL, OPENING_KERNEL))
    opened = cv2.morphologyEx(ink, cv2.MORPH_OPEN, kernel)
    steps.append((tr("opened (specks removed)"), opened))
    digit_mask = _digit_components(opened)
    steps.append((tr("digit (border and small blobs dropped)"), digit_mask))
    digit_mask = even_strokes(digit_mask)
    steps.append((tr("thin strokes widened to MNIST's"), digit_mask))

    digit = _mnist_centre(digit_mask, steps)
    return Steps(steps, _to_input(digit), notes)


def photo_to_input(
    rgb: np.ndarray,
    image_size: tuple[int, int],
    channels: int = 3,
    invert_light_background: bool = False,
) -> Steps:
    """Centre-crop a picture to the model's aspect ratio and resize it, as in training.

        The same `cnn.geometry` functions prepare training images, so a picture becomes the same
    pixels here as in training: area averaging when shrinking, bilinear when enlarging.

        Args:
            rgb: the picture, (h, w, 3) RGB or any shape accepted by the module.
            image_size: the model's (height, width).
            channels: 3 for RGB models, 1 for grayscale ones.
            invert_light_background: invert when the border is lighter than the centre, for
                models trained on light items on black (Fashion-MNIST); a note says so.

        Returns:
            Steps with input of shape (height, width, channels).

        Raises:
            PreprocessError: the array is not an image, or the size or channels are invalid.
    """
    height, width = check_image_size(image_size)
    channels = check_channels(channels)
    original = to_rgb(as_image(rgb, tr("The picture")))
    steps: list[tuple[str, np.ndarray]] = [(tr("original"), original)]
    notes: list[str] = []

    # the geometry the training pipeline uses too (cnn.geometry): crop, resize, channels
    crop = geometry.centre_crop(original, width / height)
    steps.append((tr("centre crop"), crop))
    resized = geometry.resize(crop, (height, width))
    if channels == 1:
        colour = not (
            np.array_equal(original[..., 0], original[..., 1])
            and np.array_equal(original[..., 1], original[..., 2])
        )
        resized = geometry.to_channels(resized, 1)[:, :, 0]
        if colour:
            notes.append(tr("Converted to grayscale because this model takes one channel."))
    steps.append((tr("resized {height}x{width}").format(height=height, width=width), resized))

    if invert_light_background:
        gray = resized if channels == 1 else cv2.cvtColor(resized, cv2.COLOR_RGB2GRAY)
        centre = gray[height // 4 : height - height // 4, width // 4 : width - width // 4]
        if _border(gray).mean() > centre.mean():
            resized = 255 - resized
            steps.append((tr("inverted"), resized))
            notes.append(
                tr(
                    "The background was lighter than the object, so the picture was inverted: "
                    "this model was trained on light items on a black background."
                )
            )
    return Steps(steps, _to_input(resized), notes)


def prepare_drawing(
    rgba: np.ndarray, preprocessing: dict, paths: Sequence[strokes.Path] | None = None
) -> Steps:
    """Prepare a canvas drawing for a model, following the run's preprocessing record.

    Digit models get the MNIST method. Other models get the drawing converted to a picture
    first (black ink on white for photo models, white on black for grayscale-item models),
    with a note saying so.

    Args:
        rgba: the canvas, (h, w, 4) RGBA or any shape accepted by the module.
        preprocessing: {"method": ..., "image_size": [h, w], "channels": c} from run.json.
        paths: the canvas's strokes, for digit models (see `digit_from_canvas`).

    Returns:
        Steps whose input fits the model.

    Raises:
        NothingDrawn: the canvas is empty.
        PreprocessError: the drawing or the record cannot be used.
    """
    method, image_size, channels = check_record(preprocessing)
    if method == "digits":
        return _fit_digit(digit_from_canvas(rgba, paths), image_size, channels)

    canvas, ink, notes = _canvas_ink(rgba)
    if method == "photos":
        picture = 255 - ink
        notes.append(
            tr(
                "The drawing was turned into black ink on white paper because this model was "
                "trained on photos."
            )
        )
    else:
        picture = ink
        notes.append(
            tr(
                "The drawing was turned into a white shape on black because this model was "
                "trained on light items on a black background."
            )
        )
    result = photo_to_input(picture, image_size, channels)
    steps = [
        (tr("canvas"), canvas),
        (tr("converted drawing"), result.steps[0][1]),
        *result.steps[1:],
    ]
    return Steps(steps, result.input, notes + result.notes)


def prepare_upload(rgb: np.ndarray, preprocessing: dict) -> Steps:
    """Prepare an uploaded picture for a model, following the run's preprocessing record.

    Digit models get `digit_from_photo`; grayscale-item models get one channel with light
    backgrounds inverted; photo models get a centre crop and resize.

    Args:
        rgb: the picture, (h, w, 3) RGB (from `load_image`) or any shape accepted.
        preprocessing: {"method": ..., "image_size": [h, w], "channels": c} from run.json.

    Returns:
        Steps whose input fits the model.

    Raises:
        NothingDrawn: a digit model found no digit in the picture.
        PreprocessError: the picture or the record cannot be used.
    """
    method, image_size, channels = check_record(preprocessing)
    if method == "digits":
        return _fit_digit(digit_from_photo(rgb), image_size, channels)
    if method == "grayscale":
        return photo_to_input(rgb, image_size, channels, invert_light_background=True)
    return photo_to_input(rgb, image_size, channels)


def _border(image: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels of a 2-D image, flattened."""
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def _canvas_ink(rgba: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The canvas for display (RGB) and its ink (uint8, white on black, strongest = 255)."""
    image = as_image(rgba, tr("The drawing"))
    transparent = image.shape[2] in (2, 4) and np.median(_border(image[:, :, -1])) < (
        TRANSPARENT_ALPHA
    )
    if transparent:
        # Transparent background: the alpha channel is the ink, whatever its colour
        raw = image[:, :, -1]
        colour = cv2.cvtColor(to_rgb(image[:, :, :-1]), cv2.COLOR_RGB2GRAY)
        inked = raw > INK_THRESHOLD
        light_ink = inked.any() and colour[inked].mean() >= LIGHT
        canvas = to_rgb(image, background=0 if light_ink else 255)
        notes = [tr("The ink was read from the canvas's transparency.")]
    else:
        # Opaque background: ink is whatever differs from the border's colour
        canvas = to_rgb(image)
        gray = cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY)
        if int(gray.max()) - int(gray.min()) < FLAT_TOLERANCE:
            if gray.mean() >= LIGHT:
                raise NothingDrawn(tr("Nothing drawn yet: draw a digit on the canvas."))
            raise PreprocessError(
                tr(
                    "The canvas is one flat dark colour, so there is no digit shape to read: "
                    "clear it and draw a single digit."
                )
            )
        if np.median(_border(gray)) >= LIGHT:
            raw = 255 - gray
            notes = [tr("Dark ink on a light background: inverted to white on black, like MNIST.")]
        else:
            raw = gray
            notes = [tr("Light ink on a dark background: already white on black, like MNIST.")]

    # Background to 0, strongest ink to 255, so every pen and background look alike
    ink = np.clip(raw.astype(np.int16) - int(np.median(_border(raw))), 0, 255)
    inked = ink > INK_THRESHOLD
    if np.count_nonzero(inked) < MIN_INK_PIXELS:
        raise NothingDrawn(tr("Nothing drawn yet: draw a digit on the canvas."))
    rows, cols = np.nonzero(inked)
    extent = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    if extent < MIN_DIGIT_FRACTION * min(ink.shape):
        raise NothingDrawn(
            tr("That is only a dot: draw a whole digit, using a good part of the canvas.")
        )
    ink = np.rint(ink * (255 / ink.max())).astype(np.uint8)
    return canvas, ink, notes


def even_strokes(ink: np.ndarray) -> np.ndarray:
    """Strokes thinner than MNIST's pens wrote, thickened to that width; others left as drawn.

    A thin brush on a large digit ends up far thinner than MNIST's 2-3 px strokes once the
    digit is scaled to 20 px. The ink's skeleton (OpenCV's thinning: its centre lines) is
    traced again with a round brush `cnn.strokes.STROKE_FRACTION` of the digit's longer side
    wide, and the original ink is kept where it was wider. Thick strokes are not thinned: a
    thick brush on a small digit fills its loops, and the centre line of a filled 0 is a 1
    (only the strokes' paths can open them again: `cnn.strokes.redraw`).

    Args:
        ink: uint8 (h, w), white ink on black.

    Returns:
        uint8 (h, w), white on black.
    """
    binary = np.where(ink > ink.max() // 2, 255, 0).astype(np.uint8)
    rows, cols = np.nonzero(binary)
    extent = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    radius = max(1, round(strokes.STROKE_FRACTION * extent / 2))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return np.maximum(ink, cv2.dilate(cv2.ximgproc.thinning(binary), disc))


def _mnist_centre(ink: np.ndarray, steps: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """The MNIST method on an ink image (white on black): crop, 20 px, centre of mass
    (`cnn.strokes.mnist_centre`). Appends the intermediate images to `steps` and returns the
    28x28 uint8 digit."""
    crop, box, digit = strokes.mnist_centre(ink, MNIST_BOX, MNIST_SIZE, INK_THRESHOLD)
    steps.append((tr("cropped to bounding box"), crop))
    steps.append((tr("scaled to {side} px").format(side=MNIST_BOX), box))
    steps.append((tr("centred {side}x{side} (centre of mass)").format(side=MNIST_SIZE), digit))
    return digit


def _digit_components(binary: np.ndarray) -> np.ndarray:
    """Keep the digit's blobs: the largest central one and large pieces near it."""
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(binary, connectivity=8)
    height, width = binary.shape
    left, top, box_width, box_height, area = (stats[1:, i] for i in range(5))
    touches_border = (left == 0) | (top == 0) | (left + box_width == width)
    touches_border |= top + box_height == height
    candidate = ~touches_border & (
        area >= max(MIN_INK_PIXELS, MIN_COMPONENT_FRACTION * binary.size)
    )
    if count <= 1 or not candidate.any():
        raise NothingDrawn(
            tr(
                "No digit found in the picture: write one dark digit on light paper and keep it "
                "away from the edges of the photo."
            )
        )

    # The main blob: large and near the centre (distance 0 at the centre, about 0.7 at a corner)
    offset = (centroids[1:] - [(width - 1) / 2, (height - 1) / 2]) / [width, height]
    score = np.where(candidate, area * (1 - np.hypot(offset[:, 0], offset[:, 1])), -1)
    main = int(np.argmax(score))

    # Other large blobs whose boxes overlap the main box grown by half its size
    margin_x, margin_y = box_width[main] / 2, box_height[main] / 2
    near = (
        (left <= left[main] + box_width[main] + margin_x)
        & (left + box_width >= left[main] - margin_x)
        & (top <= top[main] + box_height[main] + margin_y)
        & (top + box_height >= top[main] - margin_y)
    )
    keep = candidate & near & (area >= KEEP_FRACTION * area[main])
    return np.where(np.isin(labels, np.flatnonzero(keep) + 1), 255, 0).astype(np.uint8)


def _resize_longer(image: np.ndarray, side: int) -> np.ndarray:
    """Resize so the longer side is `side` px, aspect kept (area down, bilinear up)."""
    height, width = image.shape[:2]
    scale = side / max(height, width)
    return geometry.resize(image, (max(1, round(height * scale)), max(1, round(width * scale))))


def _to_input(image: np.ndarray) -> np.ndarray:
    """uint8 (h, w) or (h, w, c) as the model's float32 (h, w, c) in [0, 1]."""
    scaled = image.astype(np.float32) / 255
    return scaled[:, :, None] if scaled.ndim == 2 else scaled


def _fit_digit(result: Steps, image_size: tuple[int, int], channels: int) -> Steps:
    """Adapt a 28x28x1 digit to a digit model trained at another size or with RGB input."""
    digit = result.steps[-1][1]
    height, width = image_size
    if (height, width) != (MNIST_SIZE, MNIST_SIZE):
        digit = geometry.resize(digit, (height, width))
        result.steps.append(
            (tr("resized {height}x{width}").format(height=height, width=width), digit)
        )
        result.notes.append(
            tr("Resized to {height}x{width} because this model was trained at it.").format(
                height=height, width=width
            )
        )
    if channels == 3:
        digit = np.repeat(digit[:, :, None], 3, axis=2)
        result.notes.append(tr("The gray digit was repeated in 3 channels for this RGB model."))
    result.input = _to_input(digit)
    return result
