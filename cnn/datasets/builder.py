"""A dataset a student makes in the browser: class folders of examples, private and bounded.

A made dataset is an ordinary folder of class subfolders (what "Your own images" reads)
plus a `dataset.json` manifest saying what kind of images it holds. Every example is stored
exactly as a model of that kind receives it, prepared by `cnn.preprocess` as Predict
prepares its inputs:

- "digits" (drawings, the default): a drawing, or a photo of a symbol drawn on paper, is
  turned into the 28 x 28 MNIST-style image Predict gives a digit model (ink white on black,
  cropped, scaled to 20 px, centred by mass) and stored as a grayscale PNG. Loaded back,
  the folder is a digits-kind dataset (28 x 28 x 1, preprocessing "digits"), so a model
  trained on it reads new drawings on Predict through the very same steps.
- "photos": a camera snapshot or upload is centre-cropped to a square of PHOTO_SIDE pixels
  (a drawing becomes black ink on white, as Predict shows a photo model) and stored as JPEG;
  training crops and resizes it to the chosen image size.

File names are the content's hash, so no user text becomes a path and adding the same
example twice stores it once. Class names are checked to be safe folder names. A made set
is bounded (MAX_EXAMPLES examples, MAX_BYTES bytes); adding past that is refused with a
sentence. Where the folder lives (one per browser session) is the caller's choice.

Example:
    >>> made = DatasetBuilder(folder, kind="digits")
    >>> made.add_class("arrow"); made.add_class("smiley")
    >>> made.add("arrow", preprocess.prepare_drawing(canvas, made.preprocessing).input)
    >>> datasets.load("folder", made.snapshot(snapshots)).info.kind
    'digits'
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np

from cnn.datasets.info import DatasetInfo
from cnn.errors import DatasetError
from cnn.i18n import N_, number, tr

MANIFEST = "dataset.json"  # {"kind": ...} beside the class folders
KINDS_MADE = ("digits", "photos")  # kinds a made dataset can hold
MIN_CLASSES, MAX_CLASSES = 2, 10
MIN_PER_CLASS = 5  # fewer, and a class may have no test or validation image
MAX_EXAMPLES = 400  # all classes together
MAX_BYTES = 25 * 1024**2  # all files together
MAX_NAME = 30  # characters in a class name
PHOTO_SIDE = 160  # photos are stored as squares of this side (training goes up to 160 px)
PHOTO_QUALITY = 92  # JPEG quality of stored photos
DRAWING_SIDE = 28  # a drawing is stored as the 28 x 28 MNIST-style digit Predict makes
KEEP_SNAPSHOTS = 3  # snapshots kept per made dataset (a training may still read an older one)
RESERVED_NAMES = ("train", "test", "validation")  # folder names that mean splits, not classes
NAME_PATTERN = re.compile(r"^\w[\w \-]*$")  # letters, digits, _, then also spaces and -

# What a "digits"-kind made folder is when loaded (cnn.datasets.sources.folder reads MANIFEST)
DRAWINGS_INFO = DatasetInfo(
    "folder",
    N_("Your own drawings"),
    N_("Drawings made in the browser, stored as 28 x 28 MNIST-style images."),
    (),
    (DRAWING_SIDE, DRAWING_SIDE),
    1,
    "digits",
)


def manifest_kind(root: Path) -> str | None:
    """The kind a folder's manifest declares, or None without a readable manifest."""
    try:
        kind = json.loads((root / MANIFEST).read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        return None
    return kind if kind in KINDS_MADE else None


def content_name(data: bytes) -> str:
    """A file or folder name from content: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(data).hexdigest()[:16]


def check_class_name(name: str) -> str:
    """The name, stripped, or a sentence saying why it cannot name a class folder."""
    name = name.strip()
    if not name:
        raise DatasetError(tr("Give the class a name."))
    if len(name) > MAX_NAME:
        raise DatasetError(
            tr("Class names have at most {most} characters.").format(most=number(MAX_NAME))
        )
    if not NAME_PATTERN.match(name):
        raise DatasetError(
            tr(
                "A class name uses letters, digits, spaces, - and _ only, and starts with a "
                "letter or digit."
            )
        )
    if name.lower() in RESERVED_NAMES:
        raise DatasetError(
            tr("'{name}' names a split of a dataset: choose another class name.").format(name=name)
        )
    return name


class DatasetBuilder:
    """A made dataset in `folder`: its classes, its examples, its limits.

    Args:
        folder: where the class folders go (made when missing). An existing made dataset
            there is opened with its own kind.
        kind: "digits" or "photos", for a new dataset.
    """

    def __init__(self, folder: str | Path, kind: str = "digits"):
        if kind not in KINDS_MADE:
            raise DatasetError(f"A made dataset holds {' or '.join(KINDS_MADE)}, not {kind!r}.")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        existing = manifest_kind(self.folder)
        if existing is None:
            (self.folder / MANIFEST).write_text(json.dumps({"kind": kind}), encoding="utf-8")
        self.kind = existing or kind

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}: {v}" for k, v in self.counts().items())
        return f"DatasetBuilder({self.kind}, {{{counts}}})"

    @property
    def preprocessing(self) -> dict:
        """The record `cnn.preprocess.prepare_drawing/prepare_upload` use for new examples."""
        side = DRAWING_SIDE if self.kind == "digits" else PHOTO_SIDE
        channels = 1 if self.kind == "digits" else 3
        return {"method": self.kind, "image_size": [side, side], "channels": channels}

    @property
    def classes(self) -> list[str]:
        """Class names, sorted as the folder dataset sorts them (its label order)."""
        return sorted(p.name for p in self.folder.iterdir() if p.is_dir())

    def add_class(self, name: str) -> str:
        """Make an empty class; returns its checked name.

        Raises:
            DatasetError: a bad or taken name, or MAX_CLASSES classes already.
        """
        name = check_class_name(name)
        if name.lower() in (c.lower() for c in self.classes):
            raise DatasetError(tr("There is a class '{name}' already.").format(name=name))
        if len(self.classes) >= MAX_CLASSES:
            raise DatasetError(
                tr("A dataset here has at most {most} classes.").format(most=number(MAX_CLASSES))
            )
        (self.folder / name).mkdir()
        return name

    def remove_class(self, name: str) -> None:
        """Delete a class with all its examples."""
        shutil.rmtree(self._class_dir(name))

    def examples(self, name: str) -> list[Path]:
        """A class's example files, oldest first."""
        files = [p for p in self._class_dir(name).iterdir() if p.is_file()]
        return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))

    def counts(self) -> dict[str, int]:
        """Examples per class."""
        return {name: len(self.examples(name)) for name in self.classes}

    def used_bytes(self) -> int:
        """Bytes of all example files."""
        return sum(p.stat().st_size for name in self.classes for p in self.examples(name))

    def add(self, name: str, model_input: np.ndarray) -> Path:
        """Store one example, given as the model input `preprocessing` prepared.

        Args:
            name: the class.
            model_input: float32 (h, w, c) in [0, 1], `Steps.input` of `cnn.preprocess`.

        Returns:
            The example's file (the existing one when the same example was added before).

        Raises:
            DatasetError: an unknown class, or the dataset is full.
        """
        folder = self._class_dir(name)
        data = self._encoded(model_input)
        path = folder / f"{content_name(data)}{self._suffix}"
        if path.exists():
            return path
        total = sum(self.counts().values())
        if total >= MAX_EXAMPLES or self.used_bytes() + len(data) > MAX_BYTES:
            raise DatasetError(
                tr(
                    "This dataset is full ({total} examples, at most {most} and {limit} MB): "
                    "delete some before adding more."
                ).format(
                    total=number(total),
                    most=number(MAX_EXAMPLES),
                    limit=number(MAX_BYTES // 1024**2),
                )
            )
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return path

    def add_picture(self, name: str, data: bytes) -> Path:
        """Store a camera snapshot or uploaded file, prepared as Predict prepares uploads.

        Raises:
            PreprocessError: the file is no image (or, for drawings, holds no symbol).
            DatasetError: as for `add`.
        """
        from cnn import preprocess

        steps = preprocess.prepare_upload(preprocess.load_image(data), self.preprocessing)
        return self.add(name, steps.input)

    def delete(self, path: str | Path) -> None:
        """Delete one example (only a file of this dataset's class folders)."""
        path = Path(path)
        if path.parent.parent != self.folder or path.parent.name not in self.classes:
            raise DatasetError(tr("That file is not an example of this dataset."))
        path.unlink(missing_ok=True)

    def problems(self) -> list[str]:
        """Why it cannot train yet, as sentences (empty when it can)."""
        counts = self.counts()
        if len(counts) < MIN_CLASSES:
            return [tr("Name at least {least} classes.").format(least=number(MIN_CLASSES))]
        few = [name for name, n in counts.items() if n < MIN_PER_CLASS]
        if few:
            return [
                tr("Give every class at least {least} examples ({names}).").format(
                    least=number(MIN_PER_CLASS), names=", ".join(few)
                )
            ]
        return []

    def balance_note(self) -> str | None:
        """A sentence when one class has far fewer examples than another, else None."""
        counts = {name: n for name, n in self.counts().items() if n}
        if len(counts) < 2:
            return None
        most, least = max(counts, key=counts.get), min(counts, key=counts.get)
        if counts[most] < 2 * counts[least]:
            return None
        ratio = counts[most] / counts[least]
        return tr(
            "'{least}' has {ratio}x fewer examples than '{most}': the model may lean "
            "towards '{most}'. Add more to '{least}'."
        ).format(least=least, most=most, ratio=number(ratio, 0))

    def zip_bytes(self) -> bytes:
        """The dataset as a .zip of class folders plus the manifest ("Your own images" reads it)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(self.folder / MANIFEST, MANIFEST)
            for name in self.classes:
                for path in self.examples(name):
                    archive.write(path, f"{name}/{path.name}")
        return buffer.getvalue()

    def fingerprint(self) -> str:
        """A name for the dataset's content: its classes and their example files (content-named)."""
        listing = "\n".join(f"{n}/{p.name}" for n in self.classes for p in self.examples(n))
        return content_name(f"{self.kind}\n{listing}".encode())

    def snapshot(self, root: str | Path) -> Path:
        """A frozen copy of the dataset under `root`, in a folder named by its fingerprint.

        Training reads the copy, so examples added or deleted meanwhile never change a
        running training, and a changed dataset gets a new path (no stale cached load).
        Older copies beyond KEEP_SNAPSHOTS are deleted.
        """
        root = Path(root)
        target = root / self.fingerprint()
        if not target.is_dir():
            staging = root / f".tmp-{target.name}"
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(self.folder, staging, ignore=shutil.ignore_patterns("*.tmp"))
            os.replace(staging, target)
        os.utime(target)
        copies = sorted(
            (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime_ns,
        )
        for old in copies[:-KEEP_SNAPSHOTS]:
            shutil.rmtree(old, ignore_errors=True)
        return target

    @property
    def _suffix(self) -> str:
        return ".png" if self.kind == "digits" else ".jpg"

    def _encoded(self, model_input: np.ndarray) -> bytes:
        """The model input as the file stored: grayscale PNG (drawings) or JPEG (photos)."""
        from PIL import Image

        pixels = np.clip(np.rint(np.asarray(model_input, np.float32) * 255), 0, 255)
        pixels = pixels.astype(np.uint8)
        image = Image.fromarray(pixels[:, :, 0] if pixels.shape[-1] == 1 else pixels)
        buffer = io.BytesIO()
        if self.kind == "digits":
            image.save(buffer, "PNG")
        else:
            image.save(buffer, "JPEG", quality=PHOTO_QUALITY)
        return buffer.getvalue()

    def _class_dir(self, name: str) -> Path:
        if name not in self.classes:
            raise DatasetError(tr("There is no class '{name}' in this dataset.").format(name=name))
        return self.folder / name
