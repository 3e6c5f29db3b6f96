"""A run stored in the class database, back as a run folder that Predict and the board load.

A shared run is kept whole in the database (run.json, model.keras and, since migration 0002,
familiarity.npz: the unfamiliar-input check's arrays, read with numpy's allow_pickle=False). To
use it, its files are written to a folder of the cache (CNN_CACHE_DIR/class_runs/<digest>),
named by the SHA-256 of their content, never by anything a person typed, written in a hidden
temporary folder and renamed into place, so a half-written run is never seen. The bytes are
checked against their digest first, and the folder is then loaded by `cnn.artifacts.load_run`
like any untrusted run: the record's size and fields checked, the model loaded with Keras'
`safe_mode=True` (no Lambda layers, no unknown custom objects) and its input and output shapes
checked against the record.

Example:
    >>> folder = cached_run(*store.run_files(board, run_id))
    >>> artifacts.load_run(folder).model
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

from cnn import artifacts, settings
from cnn.classroom.errors import ClassError
from cnn.i18n import tr

FOLDER = "class_runs"  # under CNN_CACHE_DIR
DIGEST_CHARS = 32  # of the SHA-256's 64 hex digits, in a folder's name


def cache_root() -> Path:
    """Where stored runs are unpacked: CNN_CACHE_DIR/class_runs."""
    return settings.current().cache_dir / FOLDER


def folder_for(digest: str, root: Path | None = None) -> Path:
    """The folder a stored run of this digest is (or will be) unpacked to."""
    return Path(root or cache_root()) / digest[:DIGEST_CHARS]


def unpacked(digest: str, root: Path | None = None) -> Path | None:
    """The folder of a run of this digest already unpacked on this server (a model picker
    then needs no bytes from the database), or None."""
    folder = folder_for(digest, root)
    return folder if (folder / artifacts.RECORD_FILE).is_file() else None


def is_unpacked_run(path: str | Path, root: Path | None = None) -> bool:
    """Whether `path` is a folder of this cache (a stored run, not one of the server's)."""
    return Path(path).parent == Path(root or cache_root())


def run_digest(record: bytes, model: bytes, familiarity: bytes | None = None) -> str:
    """The stamp of a stored run: SHA-256 of run.json and model.keras, and of familiarity.npz
    when it has one (runs shared before it was kept have the first form)."""
    parts = record + b"\0" + model
    return hashlib.sha256(parts if familiarity is None else parts + b"\0" + familiarity).hexdigest()


def cached_run(
    record_json: str,
    model: bytes,
    digest: str,
    familiarity: bytes | None = None,
    root: Path | None = None,
) -> Path:
    """The run folder of a stored run, written once per content (familiarity.npz too, when
    the run was stored with it: Predict's unfamiliar-input check reads it).

    Raises:
        ClassError: the bytes do not match their digest, are too large, or the folder is
            not a readable run (its reason in the sentence).
    """
    record = record_json.encode("utf-8")
    if run_digest(record, model, familiarity) != digest:
        raise ClassError(tr("This stored run is damaged (its files do not match their digest)."))
    sizes = (len(record), len(model), len(familiarity or b""))
    most = (artifacts.MAX_RECORD_BYTES, artifacts.MAX_MODEL_BYTES, artifacts.MAX_MODEL_BYTES)
    if any(size > limit for size, limit in zip(sizes, most, strict=True)):
        raise ClassError(tr("This stored run is larger than a run this app loads."))
    root = Path(root or cache_root())
    folder = folder_for(digest, root)
    if not (folder / artifacts.RECORD_FILE).is_file():
        tmp = root / f"{artifacts.TMP_PREFIX}{uuid.uuid4().hex}"
        try:
            tmp.mkdir(parents=True)
            (tmp / artifacts.MODEL_FILE).write_bytes(model)
            (tmp / artifacts.RECORD_FILE).write_bytes(record)
            if familiarity is not None:
                (tmp / artifacts.OOD_FILE).write_bytes(familiarity)
            os.replace(tmp, folder)
        except OSError as err:
            shutil.rmtree(tmp, ignore_errors=True)
            if not (folder / artifacts.RECORD_FILE).is_file():  # another thread's copy is fine
                raise ClassError(
                    tr("The run could not be unpacked: {reason}.").format(
                        reason=err.strerror or err
                    )
                ) from err
    info = artifacts.read_run_info(folder, shipped=False)
    if not info.ok:
        raise ClassError(tr("This stored run is broken: {reason}").format(reason=info.error))
    return folder


def load_cached_run(
    record_json: str, model: bytes, digest: str, familiarity: bytes | None = None
) -> artifacts.Run:
    """`cached_run`, then loaded as `cnn.artifacts.load_run` loads any run (safe_mode).

    Raises:
        ClassError: as `cached_run`, or the model is refused (its sentence).
    """
    folder = cached_run(record_json, model, digest, familiarity)
    try:
        return artifacts.load_run(folder)
    except artifacts.ArtifactError as err:
        raise ClassError(str(err)) from err
