"""A picture for the class wall: any image a student gives, stored as a bounded PNG.

The wall never keeps the file a student sent: it is decoded safely (`cnn.images`: header
size checked before decoding, truncated files refused), made RGB, shrunk to at most MAX_SIDE
pixels a side and written again as PNG. So what the database holds is always an image of a
known size, with no metadata and nothing else inside.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

MAX_SIDE = 640  # pixels: larger pictures are shrunk (models read at most 160 px)


def wall_png(picture: bytes | str | Path | np.ndarray) -> bytes:
    """The PNG the wall stores for an image file's bytes, a path or an array.

    Raises:
        PreprocessError: the data is no image a student could mean (with a sentence).
    """
    from PIL import Image

    from cnn import images

    if isinstance(picture, np.ndarray):
        pixels = images.to_rgb(images.as_image(picture, "The picture"))
    else:
        pixels = images.load_image(picture)
    image = Image.fromarray(pixels)
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def wall_pixels(png: bytes) -> np.ndarray:
    """The RGB pixels (uint8, (h, w, 3)) of a picture the wall stored."""
    from cnn import images

    return images.load_image(png)
