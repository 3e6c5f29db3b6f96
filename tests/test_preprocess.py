"""Tests for cnn.preprocess: hostile files, odd canvases, photos of digits, any array at all.

Every file is a real image written here with Pillow (or crafted byte by byte where no
encoder would write it), so the loader meets what a student's upload would hand it.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import png_header_only
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from cnn.preprocess import (
    METHODS,
    NothingDrawn,
    PreprocessError,
    Steps,
    digit_from_canvas,
    digit_from_photo,
    load_image,
    photo_to_input,
    prepare_drawing,
    prepare_upload,
)

CANVAS = 280  # side of the drawing canvas on the Predict page
DIGIT = {"method": "digits", "image_size": [28, 28], "channels": 1}
FASHION = {"method": "grayscale", "image_size": [28, 28], "channels": 1}
PHOTO = {"method": "photos", "image_size": [64, 64], "channels": 3}
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def assert_valid(result: Steps, shape: tuple[int, int, int]) -> None:
    """A Steps a page can show and a model can take."""
    assert isinstance(result, Steps)
    x = result.input
    assert x.dtype == np.float32
    assert x.shape == shape
    assert np.isfinite(x).all()
    assert x.min() >= 0 and x.max() <= 1
    assert result.steps
    for title, image in result.steps:
        assert isinstance(title, str) and title
        assert image.dtype == np.uint8
        assert image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)
    assert all(isinstance(note, str) for note in result.notes)


def centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    gray = x[:, :, 0].astype(np.float64)
    rows, cols = np.indices(gray.shape)
    return (rows * gray).sum() / gray.sum(), (cols * gray).sum() / gray.sum()


def white_canvas() -> np.ndarray:
    return np.full((CANVAS, CANVAS, 4), 255, np.uint8)


def draw_seven(canvas: np.ndarray, colour: tuple[int, ...]) -> np.ndarray:
    points = np.array([[80, 60], [200, 60], [120, 230]], np.int32)
    cv2.polylines(canvas, [points], False, colour, 16, cv2.LINE_AA)
    return canvas


# Uploads: every case of the robustness issue, as real files


def test_text_renamed_png_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "homework.png"
    path.write_text("This is my essay, not a picture.\n" * 20)
    with pytest.raises(PreprocessError, match="not an image"):
        load_image(path)


def test_truncated_jpeg_is_refused_not_half_decoded(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), np.uint8)
    full = tmp_path / "full.jpg"
    Image.fromarray(noise).save(full, quality=95)
    data = full.read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) * 6 // 10])
    assert load_image(full).shape == (200, 200, 3)
    with pytest.raises(PreprocessError, match="damaged or incomplete"):
        load_image(path)


def test_zero_byte_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(PreprocessError, match="empty"):
        load_image(path)
    with pytest.raises(PreprocessError, match="empty"):
        load_image(b"")


def test_one_pixel_image_is_too_small(tmp_path: Path) -> None:
    path = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), "black").save(path)
    with pytest.raises(PreprocessError, match="too small"):
        load_image(path)


@pytest.mark.parametrize("side", [30000, 7000])
def test_header_claiming_huge_size_is_refused_before_decoding(
    tmp_path: Path, side: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(side, side))
    assert path.stat().st_size < 200

    def no_decoding(self: Image.Image) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    with pytest.raises(PreprocessError, match="too large"):
        load_image(path)


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "blink.gif"
    frames = [Image.new("RGB", (32, 24), colour) for colour in ("red", "lime", "blue")]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(path).n_frames == 3
    rgb = load_image(path)
    assert rgb.shape == (24, 32, 3)
    np.testing.assert_allclose(rgb.reshape(-1, 3).mean(axis=0), [255, 0, 0], atol=2)


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    rgb = load_image(path)
    assert rgb.shape == (30, 40, 3) and rgb.dtype == np.uint8
    np.testing.assert_allclose(rgb.reshape(-1, 3).mean(axis=0), [255, 0, 0], atol=6)


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "scan16.png"
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (16, 1))
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")
    rgb = load_image(path)
    assert rgb.shape == (16, 64, 3)
    expected = np.rint(ramp / 257).astype(np.uint8)
    np.testing.assert_allclose(rgb[:, :, 0], expected, atol=1)
    assert rgb[0, 32, 0] in range(125, 131)


def test_palette_png_with_transparency_is_composited_on_white(tmp_path: Path) -> None:
    path = tmp_path / "sticker.png"
    indices = np.zeros((20, 20), np.uint8)
    indices[5:15, 5:15] = 1
    img = Image.fromarray(indices, mode="P")
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.save(path, transparency=0)
    assert Image.open(path).mode == "P"
    rgb = load_image(path)
    assert (rgb[0, 0] == [255, 255, 255]).all()
    assert (rgb[10, 10] == [0, 0, 255]).all()


def test_grayscale_with_alpha_is_composited_on_white(tmp_path: Path) -> None:
    path = tmp_path / "la.png"
    gray = np.zeros((16, 16), np.uint8)
    alpha = np.zeros((16, 16), np.uint8)
    alpha[:, 8:] = 255
    Image.merge("LA", [Image.fromarray(gray), Image.fromarray(alpha)]).save(path)
    assert Image.open(path).mode == "LA"
    rgb = load_image(path)
    assert (rgb[:, :8] == 255).all() and (rgb[:, 8:] == 0).all()


def test_exif_rotated_jpeg_is_turned_upright(tmp_path: Path) -> None:
    path = tmp_path / "phone.jpg"
    img = Image.new("RGB", (40, 20), "white")
    img.paste((0, 0, 0), (0, 0, 10, 20))  # black on the left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    img.save(path, exif=exif, quality=95)
    rgb = load_image(path)
    assert rgb.shape == (40, 20, 3)
    assert rgb[:10].mean() < 60 and rgb[-10:].mean() > 200  # the left edge is now on top


def test_other_modes_and_sources_give_rgb(tmp_path: Path) -> None:
    path = tmp_path / "bits.png"
    Image.new("1", (12, 10), 1).save(path)
    assert (load_image(str(path)) == 255).all()
    rgba = tmp_path / "rgba.png"
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(rgba)
    assert (load_image(rgba.read_bytes()) == 255).all()
    with pytest.raises(PreprocessError, match="could not be read"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(PreprocessError):
        load_image(12345)  # type: ignore[arg-type]


@pytest.mark.parametrize("record", [DIGIT, FASHION, PHOTO], ids=lambda r: r["method"])
def test_every_readable_upload_mode_reaches_every_model(tmp_path: Path, record: dict) -> None:
    photo = paper_photo()
    for mode in ("RGB", "RGBA", "LA", "L", "P", "1", "CMYK", "I;16"):
        path = tmp_path / f"upload-{mode.replace(';', '')}.{'jpg' if mode == 'CMYK' else 'png'}"
        image = Image.fromarray(photo).convert("L" if mode == "I;16" else mode)
        if mode == "I;16":
            image = Image.fromarray(np.asarray(image).astype(np.uint16) * 257)
        image.save(path)
        h, w = record["image_size"]
        assert_valid(prepare_upload(load_image(path), record), (h, w, record["channels"]))


# The canvas


def test_empty_canvas_is_nothing_drawn() -> None:
    with pytest.raises(NothingDrawn, match="Nothing drawn"):
        digit_from_canvas(np.zeros((CANVAS, CANVAS, 4), np.uint8))  # transparent
    with pytest.raises(NothingDrawn, match="Nothing drawn"):
        digit_from_canvas(white_canvas())  # opaque white


def test_single_dot_is_not_a_digit() -> None:
    canvas = white_canvas()
    cv2.circle(canvas, (40, 200), 10, (0, 0, 0, 255), -1)  # one click of a 20 px brush
    with pytest.raises(NothingDrawn, match="only a dot"):
        digit_from_canvas(canvas)


def test_small_digit_gives_a_centred_input() -> None:
    canvas = white_canvas()
    cv2.line(canvas, (40, 170), (40, 215), (0, 0, 0, 255), 8)  # a short "1" near a corner
    result = digit_from_canvas(canvas)
    assert_valid(result, (28, 28, 1))
    row, col = centre_of_mass(result.input)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1


def test_ink_touching_the_border_works() -> None:
    canvas = white_canvas()
    cv2.line(canvas, (0, 0), (0, CANVAS - 1), (0, 0, 0, 255), 40)  # 20 px visible
    cv2.line(canvas, (0, CANVAS - 1), (150, CANVAS - 1), (0, 0, 0, 255), 40)
    result = digit_from_canvas(canvas)
    assert_valid(result, (28, 28, 1))
    rows, cols = np.nonzero(result.input[:, :, 0] > 0.5)
    assert np.ptp(rows) + 1 == 20 and np.ptp(cols) + 1 < 20  # the whole "L", taller than wide


def test_full_black_canvas_is_refused_with_a_sentence() -> None:
    black = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    black[:, :, 3] = 255
    with pytest.raises(PreprocessError, match="one flat dark colour") as caught:
        digit_from_canvas(black)
    assert not isinstance(caught.value, NothingDrawn)


def test_polarity_and_transparency_give_the_same_digit() -> None:
    dark_on_light = draw_seven(white_canvas(), (0, 0, 0, 255))
    light_on_dark = draw_seven(np.full((CANVAS, CANVAS, 3), 0, np.uint8), (255, 255, 255))
    on_transparent = draw_seven(np.zeros((CANVAS, CANVAS, 4), np.uint8), (30, 30, 200, 255))
    reference = digit_from_canvas(dark_on_light)
    for other in (light_on_dark, on_transparent):
        result = digit_from_canvas(other)
        assert_valid(result, (28, 28, 1))
        assert np.abs(result.input - reference.input).mean() < 0.02
    assert "inverted" in reference.notes[0]


def test_one_stroke_stays_vertical_and_follows_mnist_geometry() -> None:
    canvas = white_canvas()
    cv2.line(canvas, (140, 40), (150, 240), (0, 0, 0, 255), 14)
    result = digit_from_canvas(canvas)
    assert [title for title, _ in result.steps] == [
        "canvas",
        "ink",
        "thin strokes widened to an even pen",
        "cropped to bounding box",
        "scaled to 20 px",
        "centred 28x28 (centre of mass)",
    ]
    rows, cols = np.nonzero(result.input[:, :, 0] > 0.1)
    assert rows.max() - rows.min() + 1 == 20
    assert cols.max() - cols.min() + 1 <= 6
    row, col = centre_of_mass(result.input)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1


# A photo of a digit on paper


def paper_photo(digit: str = "3") -> np.ndarray:
    """A 480x640 'phone photo': gradient light, a shadow, a dark table round the paper."""
    height, width = 480, 640
    light = np.linspace(235, 150, width)[None, :].repeat(height, axis=0)
    rows, cols = np.indices((height, width))
    shadow = 1 - 0.45 * np.exp(-(((cols - 180) / 120) ** 2) - ((rows - 300) / 200) ** 2)
    paper = light * shadow
    ink = np.zeros((height, width), np.uint8)
    cv2.putText(ink, digit, (250, 350), cv2.FONT_HERSHEY_SIMPLEX, 8, 255, 22, cv2.LINE_AA)
    coverage = ink / 255
    paper = paper * (1 - coverage) + 35 * coverage  # pencil-dark ink, anti-aliased edges
    specks = np.random.default_rng(1).integers(0, height * width, 40)
    paper.reshape(-1)[specks] = 60  # single dark dots of dust
    paper[:30], paper[-30:], paper[:, :30], paper[:, -30:] = 40, 40, 40, 40  # the table
    noise = np.random.default_rng(2).normal(0, 3, paper.shape)
    gray = np.clip(paper + noise, 0, 255).astype(np.uint8)
    return np.repeat(gray[:, :, None], 3, axis=2)


def test_digit_from_photo_finds_the_digit_despite_shadow_and_border() -> None:
    photo = paper_photo()
    result = digit_from_photo(photo)
    assert_valid(result, (28, 28, 1))
    row, col = centre_of_mass(result.input)
    assert abs(row - 14) <= 1.5 and abs(col - 14) <= 1.5

    # Compare with the same digit drawn cleanly on a canvas (the trusted path)
    clean = np.full((480, 640, 3), 255, np.uint8)
    cv2.putText(clean, "3", (250, 350), cv2.FONT_HERSHEY_SIMPLEX, 8, (0, 0, 0), 22, cv2.LINE_AA)
    reference = digit_from_canvas(clean).input > 0.3
    found = result.input > 0.3
    assert (found & reference).sum() / (found | reference).sum() > 0.6
    titles = [title for title, _ in result.steps]
    assert (
        titles[0] == "photo" and "adaptive threshold" in titles and titles[-1].startswith("centred")
    )


def test_blank_paper_has_no_digit() -> None:
    blank = paper_photo(digit=" ")
    with pytest.raises(NothingDrawn, match="No digit found"):
        digit_from_photo(blank)


def test_digit_from_photo_reads_a_white_on_black_mnist_style_image() -> None:
    image = np.zeros((28, 28), np.uint8)
    cv2.line(image, (14, 5), (14, 22), 255, 3)
    result = digit_from_photo(image)
    assert_valid(result, (28, 28, 1))
    assert any("inverted" in note for note in result.notes)
    rows, cols = np.nonzero(result.input[:, :, 0] > 0.3)
    assert np.ptp(rows) > 3 * np.ptp(cols)


# Photos for photo and grayscale models


def test_photo_to_input_centre_crops_then_resizes() -> None:
    image = np.zeros((100, 300, 3), np.uint8)
    image[:, :100] = (255, 0, 0)
    image[:, 100:200] = (0, 255, 0)
    image[:, 200:] = (0, 0, 255)
    result = photo_to_input(image, (32, 32), 3)
    assert_valid(result, (32, 32, 3))
    assert [title for title, _ in result.steps] == ["original", "centre crop", "resized 32x32"]
    np.testing.assert_allclose(result.input.reshape(-1, 3).mean(axis=0), [0, 1, 0])

    tall = photo_to_input(np.zeros((400, 100, 3), np.uint8), (20, 40), channels=1)
    assert_valid(tall, (20, 40, 1))
    assert tall.steps[1][1].shape == (50, 100, 3)


def test_invert_light_background_only_when_the_border_is_lighter() -> None:
    shirt_on_white = np.full((90, 90, 3), 250, np.uint8)
    shirt_on_white[20:70, 25:65] = 60
    result = photo_to_input(shirt_on_white, (28, 28), 1, invert_light_background=True)
    assert result.steps[-1][0] == "inverted" and result.notes
    assert result.input[0, 0, 0] < 0.05 and result.input[14, 14, 0] > 0.7

    shirt_on_black = 255 - shirt_on_white
    kept = photo_to_input(shirt_on_black, (28, 28), 1, invert_light_background=True)
    assert all(title != "inverted" for title, _ in kept.steps)


# Dispatch on a run's preprocessing record


def test_prepare_drawing_for_each_method() -> None:
    drawing = draw_seven(np.zeros((CANVAS, CANVAS, 4), np.uint8), (0, 0, 0, 255))
    digit = prepare_drawing(drawing, DIGIT)
    assert_valid(digit, (28, 28, 1))
    assert digit.steps[-1][0].startswith("centred")

    photo = prepare_drawing(drawing, PHOTO)
    assert_valid(photo, (64, 64, 3))
    assert photo.input.mean() > 0.7  # black ink on white paper
    assert any("photos" in note for note in photo.notes)
    assert photo.steps[0][0] == "canvas" and photo.steps[1][0] == "converted drawing"

    item = prepare_drawing(drawing, FASHION)
    assert_valid(item, (28, 28, 1))
    assert item.input.mean() < 0.3  # white on black

    with pytest.raises(NothingDrawn):
        prepare_drawing(np.zeros((CANVAS, CANVAS, 4), np.uint8), PHOTO)


def test_prepare_upload_for_each_method() -> None:
    digit = prepare_upload(paper_photo(), DIGIT)
    assert_valid(digit, (28, 28, 1))
    assert "adaptive threshold" in [title for title, _ in digit.steps]

    item = prepare_upload(np.full((50, 50, 3), 240, np.uint8), FASHION)
    assert_valid(item, (28, 28, 1))

    photo = prepare_upload(np.full((50, 80, 3), 128, np.uint8), PHOTO)
    assert_valid(photo, (64, 64, 3))


def test_digit_model_at_another_size_gets_a_resized_digit() -> None:
    record = {"method": "digits", "image_size": [32, 32], "channels": 3}
    result = prepare_drawing(draw_seven(white_canvas(), (0, 0, 0, 255)), record)
    assert_valid(result, (32, 32, 3))


@pytest.mark.parametrize(
    "record",
    [
        {"method": "sketch", "image_size": [28, 28], "channels": 1},
        {"method": "photos", "image_size": [0, 28], "channels": 3},
        {"method": "photos", "image_size": 28, "channels": 3},
        {"method": "photos", "image_size": [28, 28], "channels": 2},
        {"method": "photos", "image_size": [28, 28]},
        None,
    ],
)
def test_bad_records_are_refused(record: object) -> None:
    image = np.full((40, 40, 3), 200, np.uint8)
    with pytest.raises(PreprocessError):
        prepare_upload(image, record)  # type: ignore[arg-type]
    with pytest.raises(PreprocessError):
        prepare_drawing(image, record)  # type: ignore[arg-type]


# Properties: any array either becomes a valid input or raises PreprocessError

DTYPES = [
    np.bool_,
    np.uint8,
    np.uint16,
    np.int8,
    np.int32,
    np.int64,
    np.float16,
    np.float32,
    np.float64,
]
SHAPES = st.one_of(
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=64),
    st.tuples(st.integers(1, 64), st.integers(1, 64), st.integers(1, 5)),
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
)
IMAGE_SHAPES = st.one_of(
    st.tuples(st.integers(8, 48), st.integers(8, 48)),
    st.tuples(st.integers(8, 48), st.integers(8, 48), st.integers(1, 4)),
)
ARRAYS = st.sampled_from(DTYPES).flatmap(
    lambda dtype: hnp.arrays(np.dtype(dtype), SHAPES, elements=hnp.from_dtype(np.dtype(dtype)))
)
IMAGES = st.sampled_from(DTYPES).flatmap(  # image-shaped, finite: reach the valid paths more
    lambda dtype: hnp.arrays(
        np.dtype(dtype),
        IMAGE_SHAPES,
        elements=hnp.from_dtype(np.dtype(dtype), allow_nan=False, allow_infinity=False)
        if np.dtype(dtype).kind == "f"
        else hnp.from_dtype(np.dtype(dtype)),
    )
)
NOT_ARRAYS = st.sampled_from(
    [
        None,
        "a picture",
        [[1, 2], [3]],
        object(),
        np.array([["a"] * 9] * 9),
        np.ones((9, 9), complex),
    ]
)
ANYTHING = st.one_of(IMAGES, ARRAYS, NOT_ARRAYS)
RECORDS = st.one_of(
    st.sampled_from([DIGIT, FASHION, PHOTO]),
    st.fixed_dictionaries(
        {
            "method": st.one_of(st.sampled_from(METHODS), st.text(max_size=5)),
            "image_size": st.one_of(
                st.lists(st.integers(-2, 48), min_size=0, max_size=3), st.integers(), st.none()
            ),
            "channels": st.one_of(st.integers(-1, 4), st.none(), st.booleans()),
        }
    ),
)


def check_property(function, *args, shape: tuple[int, int, int] | None = None) -> None:
    try:
        result = function(*args)
    except PreprocessError as error:
        event(f"refused: {type(error).__name__}")
        return
    event("valid input")
    assert_valid(result, shape if shape is not None else result.input.shape)


@PROPERTY_SETTINGS
@given(ANYTHING)
def test_digit_from_canvas_accepts_or_refuses_anything(array: object) -> None:
    check_property(digit_from_canvas, array, shape=(28, 28, 1))


@PROPERTY_SETTINGS
@given(ANYTHING)
def test_digit_from_photo_accepts_or_refuses_anything(array: object) -> None:
    check_property(digit_from_photo, array, shape=(28, 28, 1))


@PROPERTY_SETTINGS
@given(ANYTHING, st.integers(1, 48), st.integers(1, 48), st.sampled_from([1, 3]), st.booleans())
def test_photo_to_input_accepts_or_refuses_anything(
    array: object, height: int, width: int, channels: int, invert: bool
) -> None:
    check_property(
        photo_to_input, array, (height, width), channels, invert, shape=(height, width, channels)
    )


@PROPERTY_SETTINGS
@given(ANYTHING, RECORDS)
def test_prepare_functions_accept_or_refuse_anything(array: object, record: dict) -> None:
    check_property(prepare_drawing, array, record)
    check_property(prepare_upload, array, record)
    if record in (DIGIT, FASHION, PHOTO):
        h, w = record["image_size"]
        check_property(prepare_upload, array, record, shape=(h, w, record["channels"]))


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(-20, CANVAS + 20), st.integers(-20, CANVAS + 20)),
        min_size=1,
        max_size=6,
    ),
    st.integers(1, 40),
    st.booleans(),
)
def test_any_scribble_is_a_digit_or_nothing_drawn(
    points: list[tuple[int, int]], thickness: int, transparent: bool
) -> None:
    canvas = np.zeros((CANVAS, CANVAS, 4), np.uint8) if transparent else white_canvas()
    cv2.polylines(canvas, [np.array(points, np.int32)], False, (0, 0, 0, 255), thickness)
    try:
        result = digit_from_canvas(canvas)
    except NothingDrawn:
        return
    assert_valid(result, (28, 28, 1))
    assert result.input.max() > 0


def small_image_files() -> list[bytes]:
    """A few small valid files in the formats students upload."""
    noise = np.random.default_rng(3).integers(0, 256, (16, 16, 3), np.uint8)
    files = []
    for fmt, mode in [("PNG", "RGB"), ("JPEG", "RGB"), ("GIF", "P"), ("PNG", "LA"), ("BMP", "L")]:
        buffer = io.BytesIO()
        Image.fromarray(noise).convert(mode).save(buffer, fmt)
        files.append(buffer.getvalue())
    return files


@PROPERTY_SETTINGS
@given(
    st.sampled_from(small_image_files()),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 10**6),
)
def test_load_image_on_corrupted_files_returns_rgb_or_refuses(
    data: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    damaged = bytearray(data[: max(0, len(data) - cut % len(data))] or data[:1])
    for position, value in flips:
        damaged[position % len(damaged)] = value
    try:
        rgb = load_image(bytes(damaged))
    except PreprocessError:
        return
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    assert min(rgb.shape[:2]) >= 8
