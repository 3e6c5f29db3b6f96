"""Downloads: one HTTP fetch with a per-request timeout, progress, a checked atomic rename.

Nothing here changes process-wide state: the timeout is given to each request (never
`socket.setdefaulttimeout`), and a file appears at its final path only once it is complete
and verified. MNIST and Fashion-MNIST are fetched from the files Keras' own loaders use, into
Keras' cache layout, so `keras.datasets` and CNN Lab share one copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from cnn.datasets.info import data_dir
from cnn.errors import DatasetError
from cnn.i18n import number, tr
from cnn.settings import DATA_DIR_ENV

DOWNLOAD_CHUNK = 1 << 18  # bytes read per network call (256 KiB)
KERAS_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

# Public archives and files; tests point these at a local server.
URLS: dict[str, str] = {
    "cats_vs_dogs": "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",
    "flowers17": "https://www.robots.ox.ac.uk/~vgg/data/flowers/17/17flowers.tgz",
    "mnist": KERAS_BASE + "mnist.npz",
    "fashion_mnist": KERAS_BASE,  # + each IDX file name
}
# sha256 of mnist.npz as keras.datasets.mnist.load_data pins it
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

Progress = Callable[[float | None, str], None]  # (fraction done or None, message)


def report(progress: Progress | None, fraction: float | None, message: str) -> None:
    """Call `progress` when there is one."""
    if progress is not None:
        progress(fraction, message)


def download(
    url: str,
    dest: Path,
    *,
    timeout: float,
    progress: Progress | None = None,
    verify: Callable[[Path], None] | None = None,
    sha256: str | None = None,
) -> Path:
    """Download `url` to `dest` through a temporary file that is checked before the rename.

    Args:
        url: What to fetch.
        dest: Final file; it only appears once the download is complete and checked.
        timeout: Seconds any single network wait may take before giving up.
        progress: Callback receiving (fraction or None, message).
        verify: Called with the temporary file; raises DatasetError if it does not open.
        sha256: When given, the file's SHA-256 must match.

    Raises:
        DatasetError: The network failed, the download stopped early or the file is broken.
    """
    part = dest.with_name(dest.name + ".part")
    name = url.rsplit("/", 1)[-1]
    digest = hashlib.sha256()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        request = urllib.request.Request(url, headers={"User-Agent": "cnn-lab"})
        with urllib.request.urlopen(request, timeout=timeout) as response, open(part, "wb") as f:
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            while chunk := response.read(DOWNLOAD_CHUNK):
                f.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                fraction = min(done / total, 1.0) if total else None
                report(
                    progress,
                    fraction,
                    tr("Downloading {name}: {size} MB").format(
                        name=name, size=number(done / 1e6, 1)
                    ),
                )
        if total is not None and done != total:
            raise DatasetError(
                tr(
                    "The download of {name} stopped after {done} of {total} bytes; try again."
                ).format(name=name, done=number(done), total=number(total))
            )
        if sha256 is not None and digest.hexdigest() != sha256:
            raise DatasetError(
                tr("The downloaded {name} is not the expected file (its checksum).").format(
                    name=name
                )
            )
        if verify is not None:
            verify(part)
        os.replace(part, dest)
    except DatasetError:
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise DatasetError(
            tr(
                "Could not download {name} ({reason}); check the internet connection or put the "
                "data in the data folder ({folder}, set {variable})."
            ).format(name=name, reason=reason, folder=data_dir().name, variable=DATA_DIR_ENV)
        ) from e
    finally:
        part.unlink(missing_ok=True)
    return dest


@contextlib.contextmanager
def staging(final: Path) -> Iterator[Path]:
    """A temporary folder beside `final`, removed afterwards; move results into `final` inside.

    Raises:
        DatasetError: the parent folder cannot be written.
    """
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    except OSError as e:
        raise DatasetError(
            tr("Cannot write to the folder {folder} ({reason}).").format(
                folder=final.parent.name, reason=e.strerror
            )
        ) from e
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
