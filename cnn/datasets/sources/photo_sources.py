"""Sources of photo datasets: a folder in the data directory, or a public archive to download."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cnn.datasets import download as fetch
from cnn.datasets.archives import extract
from cnn.datasets.download import Progress, report, staging
from cnn.datasets.said import Said
from cnn.datasets.sources import Loaded, shown
from cnn.i18n import N_, tr


@dataclass
class PhotoFolder:
    """Photos already in the data directory, in the dataset's own layout."""

    folder: Path
    is_complete: Callable[[Path], bool]  # the layout check (cheap, no decoding)
    scan: Callable[[Path], Loaded]  # reads the layout into splits
    detail: str = ""
    network: bool = False

    def describe(self) -> str:
        return Said(N_("data directory {path}"), path=shown(self.folder))

    def ready(self) -> bool:
        return self.is_complete(self.folder)

    def load(self, progress: Progress | None, timeout: float) -> Loaded:
        report(
            progress, None, tr("Checking the images in {folder}/").format(folder=self.folder.name)
        )
        loaded = self.scan(self.folder)
        loaded.source = self.describe()
        return loaded


@dataclass
class ArchiveDownload:
    """A public archive, downloaded and arranged into the data directory, then read there.

    Args:
        into: the PhotoFolder that reads the arranged files.
        url_key: key of `download.URLS`.
        arrange: (extracted folder, staging folder) -> the folder to move to `into.folder`.
    """

    into: PhotoFolder
    url_key: str
    arrange: Callable[[Path, Path], Path]
    detail: str = ""
    network: bool = True

    def describe(self) -> str:
        return Said(N_("download from {url} (needs internet)"), url=fetch.URLS[self.url_key])

    def ready(self) -> bool:
        return False

    def load(self, progress: Progress | None, timeout: float) -> Loaded:
        url = fetch.URLS[self.url_key]
        name = url.rsplit("/", 1)[-1]
        target = self.into.folder
        with staging(target) as folder:
            archive = fetch.download(
                url,
                folder / name,
                timeout=timeout,
                progress=progress,
                verify=lambda path: extract_check(path),
            )
            report(progress, None, tr("Extracting {file}").format(file=name))
            arranged = self.arrange(extract(archive, folder / "extracted"), folder)
            os.replace(arranged, target)
        loaded = self.into.load(progress, timeout)
        loaded.source = Said(N_("downloaded from {url} into {path}"), url=url, path=shown(target))
        return loaded


def photo_sources(where_folder: Path, url_key: str, complete, scan, arrange) -> list:
    """A photo dataset's two sources: its folder in the data directory, then its archive.

    Args:
        where_folder: the dataset's folder in the data directory.
        url_key: key of `download.URLS`.
        complete, scan: the folder's layout check and reader (see PhotoFolder).
        arrange: how the extracted archive becomes that layout (see ArchiveDownload).
    """
    folder = PhotoFolder(where_folder, complete, scan)
    return [folder, ArchiveDownload(folder, url_key, arrange)]


def extract_check(path: Path) -> None:
    """Refuse a download that is no readable archive (before it is kept)."""
    import tarfile
    import zipfile

    from cnn.errors import DatasetError

    if zipfile.is_zipfile(path):
        return
    try:
        with tarfile.open(path) as archive:
            archive.getmembers()
    except (tarfile.TarError, EOFError, OSError) as e:
        invalid = (
            tr("The downloaded file {file} is not a valid zip archive.")
            if path.suffix == ".zip"
            else tr("The downloaded file {file} is not a valid tar archive.")
        )
        raise DatasetError(invalid.format(file=path.name)) from e
