"""Reading any image file or array a user can give into uint8 pixels, safely.

The size in a file's header is checked before any pixel is decoded (decompression bombs);
truncated files raise instead of half-decoding; EXIF orientation is applied; animated images
give their first frame; transparency is composited; 16-bit images are scaled, not clipped.
Every problem is a `PreprocessError` with a sentence a student understands.

Arrays may be any numeric dtype: bool becomes 0/255, uint8 is used as is, uint16 is scaled
by 1/257, floats that lie within [0, 1] are scaled by 255, and any other integer or float
values are clipped to [0, 255]. Shapes (h, w), (h, w, 1) gray, (h, w, 2) gray + alpha,
(h, w, 3) RGB and (h, w, 4) RGBA are accepted.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from cnn.errors import PreprocessError
from cnn.i18n import tr

MAX_FILE_BYTES = 200 * 1024 * 1024  # largest file read (Streamlit's default upload limit)
MAX_PIXELS = 40_000_000  # largest image accepted (width x height), checked before decoding
MIN_SIDE = 8  # smallest width or height accepted, in pixels
SIXTEEN_BIT_DIVISOR = 257  # 65535 / 255: maps 16-bit samples onto 0..255 without clipping

_TRUNCATION_LOCK = threading.Lock()  # guards Pillow's global LOAD_TRUNCATED_IMAGES switch


def load_image(data: bytes | str | Path) -> np.ndarray:
    """Read an image file into a uint8 RGB array, refusing anything unsafe or broken.

    The size in the header is checked before any pixel is decoded (decompression bombs);
    truncated files raise instead of half-decoding. EXIF orientation is applied, animated
    images give their first frame, transparency is composited on white, and 16-bit images
    are scaled (not clipped) to 8 bit.

    Args:
        data: the file's bytes, or a path to it.

    Returns:
        uint8 array of shape (h, w, 3).

    Raises:
        PreprocessError: the file is empty, not an image, damaged, too large or too small.
    """
    raw = _read_bytes(data)
    try:
        with Image.open(io.BytesIO(raw)) as img:
            _check_dimensions(*img.size)
            with _TRUNCATION_LOCK:
                allowed = ImageFile.LOAD_TRUNCATED_IMAGES
                ImageFile.LOAD_TRUNCATED_IMAGES = False
                try:
                    img.load()
                finally:
                    ImageFile.LOAD_TRUNCATED_IMAGES = allowed
            oriented = ImageOps.exif_transpose(img)
            return to_rgb(as_image(_pil_pixels(oriented), tr("The image")))
    except PreprocessError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise PreprocessError(
            tr("The image is too large to open safely (the limit is {limit} megapixels).").format(
                limit=MAX_PIXELS // 1_000_000
            )
        ) from err
    except UnidentifiedImageError as err:
        raise PreprocessError(
            tr(
                "This file is not an image that can be read: use a PNG, JPEG, GIF, BMP, WebP "
                "or TIFF picture."
            )
        ) from err
    except Exception as err:  # decoders raise many kinds of errors on damaged files
        raise PreprocessError(
            tr(
                "The image file is damaged or incomplete (for example a download that stopped "
                "early), so it cannot be read."
            )
        ) from err


def _read_bytes(data: Any) -> bytes:
    """The bytes of a file given as bytes or a path; refuses empty and oversized files."""
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    elif isinstance(data, str | Path):
        path = Path(data)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise PreprocessError(_too_big_file_message())
            raw = path.read_bytes()
        except OSError as err:
            raise PreprocessError(
                tr("The file {name} could not be read.").format(name=path.name)
            ) from err
    else:
        raise PreprocessError(tr("An image must be given as a file's bytes or a path to a file."))
    if not raw:
        raise PreprocessError(tr("The file is empty (0 bytes), so there is no image in it."))
    if len(raw) > MAX_FILE_BYTES:
        raise PreprocessError(_too_big_file_message())
    return raw


def _too_big_file_message() -> str:
    return tr("The file is larger than {limit} MB; use a smaller image.").format(
        limit=MAX_FILE_BYTES // (1024 * 1024)
    )


def _check_dimensions(width: int, height: int) -> None:
    """Refuse images too large to decode safely or too small to show anything."""
    if width * height > MAX_PIXELS:
        raise PreprocessError(
            tr(
                "The image is too large ({width}x{height} pixels): the limit is {limit} megapixels."
            ).format(width=width, height=height, limit=MAX_PIXELS // 1_000_000)
        )
    if min(width, height) < MIN_SIDE:
        raise PreprocessError(
            tr(
                "The image is too small ({width}x{height} pixels): it must be at least "
                "{side}x{side}."
            ).format(width=width, height=height, side=MIN_SIDE)
        )


def _pil_pixels(img: Image.Image) -> np.ndarray:
    """Pixels of a decoded Pillow image as RGB, RGBA, 16-bit gray or float gray."""
    if img.mode.startswith("I"):
        # 16-bit (and 32-bit integer) gray: kept as 16 bit so _as_image scales it by 1/257
        return np.clip(np.asarray(img), 0, 65535).astype(np.uint16)
    if img.mode == "F":
        return np.asarray(img)
    if img.has_transparency_data:
        return np.asarray(img.convert("RGBA"))
    return np.asarray(img.convert("RGB"))


def as_image(array: Any, what: str) -> np.ndarray:
    """Any numeric array as uint8 (h, w, c), c in 1..4, following the module's dtype rules."""
    try:
        image = np.asarray(array)
    except (ValueError, TypeError) as err:
        raise PreprocessError(
            tr("{what} is not an image (it is not a grid of pixels).").format(what=what)
        ) from err
    if image.dtype.kind not in "buif":
        raise PreprocessError(
            tr("{what} is not an image (it holds {dtype} values).").format(
                what=what, dtype=image.dtype
            )
        )
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or not 1 <= image.shape[2] <= 4:
        raise PreprocessError(
            tr(
                "{what} is not an image: expected height x width with 1 to 4 colour channels, "
                "got shape {shape}."
            ).format(what=what, shape=image.shape)
        )
    _check_dimensions(image.shape[1], image.shape[0])

    if image.dtype == np.uint8:
        return image
    if image.dtype.kind == "b":
        return image.astype(np.uint8) * 255
    if image.dtype.kind == "u" and image.dtype.itemsize == 2:
        return ((image.astype(np.uint32) + SIXTEEN_BIT_DIVISOR // 2) // SIXTEEN_BIT_DIVISOR).astype(
            np.uint8
        )
    if image.dtype.kind == "f":
        if not np.isfinite(image).all():
            raise PreprocessError(
                tr("{what} contains missing or infinite values.").format(what=what)
            )
        if image.min() >= 0 and image.max() <= 1:
            return np.rint(image.astype(np.float32) * 255).astype(np.uint8)
    return np.rint(np.clip(image.astype(np.float64), 0, 255)).astype(np.uint8)


def to_rgb(image: np.ndarray, background: int = 255) -> np.ndarray:
    """uint8 (h, w, c) as RGB (h, w, 3); an alpha channel is composited on `background`."""
    has_alpha = image.shape[2] in (2, 4)
    colour = image[:, :, :-1] if has_alpha else image
    if colour.shape[2] == 1:
        colour = np.repeat(colour, 3, axis=2)
    if not has_alpha:
        return np.ascontiguousarray(colour)
    alpha = image[:, :, -1:].astype(np.float32) / 255
    blended = colour.astype(np.float32) * alpha + background * (1 - alpha)
    return np.rint(blended).astype(np.uint8)
