"""Your own images: a folder of class subfolders, or a .zip of one (extracted safely, once).

Such a folder holds photos, unless its `dataset.json` manifest says it holds drawings made
on the "Make a dataset" page (`cnn.datasets.builder`): then it loads as a digits-kind
dataset of 28 x 28 MNIST-style images, and a model trained on it reads drawings on Predict.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cnn.datasets.archives import extract_zip
from cnn.datasets.builder import DRAWINGS_INFO, manifest_kind
from cnn.datasets.download import Progress, report, staging
from cnn.datasets.folders import (
    check_class_count,
    folder_class_names,
    image_folder_root,
    load_image_folder,
)
from cnn.datasets.info import DatasetInfo
from cnn.datasets.said import Said
from cnn.datasets.sources import Loaded, Where
from cnn.errors import DatasetError
from cnn.i18n import N_, tr

UPLOAD_DIR = Path(tempfile.gettempdir()) / "cnn_lab_uploads"  # extracted .zip uploads

INFO = DatasetInfo(
    "folder",
    N_("Your own images"),
    N_("A folder (or .zip) with one subfolder of images per class."),
    (),
    (128, 128),
    3,
    "photos",
)


def checked_path(data: str | Path | None) -> Path:
    """The user's folder or .zip, refused with a sentence when it cannot be one."""
    if data is None:
        raise DatasetError(tr("Choose a folder of class subfolders (or a .zip of one) first."))
    path = Path(data).expanduser()
    if not path.exists():
        raise DatasetError(tr("{name} does not exist.").format(name=path.name))
    if path.is_file() and path.suffix.lower() != ".zip":
        raise DatasetError(
            tr("{name} is neither a folder nor a .zip archive.").format(name=path.name)
        )
    return path


@dataclass
class ImageFolder:
    """A folder of class subfolders, with or without train/ and test/ (or validation/)."""

    path: Path | None
    network: bool = False

    @property
    def detail(self) -> str:
        if self.path is not None and self.path.is_file():
            return Said(N_("Checked and extracted on load."))
        count = class_count(Where(Path(), self.path))
        return Said(N_("{n} class folder."), N_("{n} class folders."), n=count)

    def describe(self) -> str:
        if self.path is not None and self.path.is_file():
            return Said(N_("uploaded archive {name}"), name=self.path.name)
        return Said(N_("image folder {name}"), name=self.path.name if self.path else "")

    def ready(self) -> bool:
        """A .zip is checked when loaded; a folder needs two class folders (else a sentence)."""
        if checked_path(self.path).is_file():
            return True
        check_class_count(class_count(Where(Path(), self.path)))
        return True

    def load(self, progress: Progress | None, timeout: float) -> Loaded:
        path = checked_path(self.path)
        if path.is_file():
            report(progress, None, tr("Extracting {file}").format(file=path.name))
            path = extracted_upload(path)
        report(progress, None, tr("Checking the images"))
        class_names, train, test, skipped, detail = load_image_folder(path)
        # a dataset made in the browser says in its manifest when it holds drawings
        made = manifest_kind(image_folder_root(path)) == "digits"
        info = DRAWINGS_INFO if made else None
        return Loaded(train, test, self.describe(), detail, skipped, class_names, info)


def extracted_upload(archive: Path) -> Path:
    """Extract an uploaded .zip once into a folder named after its content hash."""
    digest = hashlib.sha256()
    with open(archive, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    final = UPLOAD_DIR / digest.hexdigest()[:16]
    if not final.is_dir():
        with staging(final) as folder:
            extract_zip(archive, folder / "x")
            os.replace(folder / "x", final)
    return final


def class_count(where: Where) -> int:
    """Class folders in the user's folder (0 for a .zip until it is extracted, or no data)."""
    if where.data is None or not where.data.is_dir():
        return 0
    return len(folder_class_names(where.data))


def sources(where: Where) -> list:
    """Only the user's own folder or .zip."""
    return [ImageFolder(where.data)]


def how_to_get(where: Where) -> str:
    """What a person does."""
    return "choose a folder of class subfolders or a .zip of one"
