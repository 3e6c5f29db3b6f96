"""Safe extraction of zip and tar archives: everything is checked before anything is written.

No absolute paths or `..`, no links, at most MAX_ARCHIVE_FILES entries, at most
MAX_ARCHIVE_BYTES uncompressed, and no entry (or whole) expanding more than
MAX_COMPRESSION_RATIO times (a zip bomb).
"""

from __future__ import annotations

import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cnn.errors import DatasetError
from cnn.i18n import number, tr

MAX_ARCHIVE_FILES = 20_000  # more entries than this is refused
MAX_ARCHIVE_BYTES = 2 * 1024**3  # total uncompressed size limit (2 GiB)
MAX_COMPRESSION_RATIO = 100  # uncompressed/compressed above this looks like a zip bomb
RATIO_CHECK_MIN_BYTES = 1024**2  # entries smaller than 1 MiB are not ratio-checked


@dataclass(frozen=True)
class Entry:
    """One archive member as the checks see it."""

    name: str
    size: int  # uncompressed bytes
    packed: int  # compressed bytes (estimated for tar members)
    is_link: bool


def check_entries(entries: list[Entry], archive: Path) -> None:
    """Refuse an archive before extraction if any entry or the whole looks unsafe.

    Raises:
        DatasetError: naming the archive and the rule it breaks.
    """
    if len(entries) > MAX_ARCHIVE_FILES:
        raise DatasetError(
            tr("{archive} holds {count} files; at most {most} are allowed.").format(
                archive=archive.name, count=number(len(entries)), most=number(MAX_ARCHIVE_FILES)
            )
        )
    total = compressed = 0
    for entry in entries:
        name = entry.name
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or (parts and ":" in parts[0]) or ".." in parts:
            raise DatasetError(
                tr("{archive} contains an unsafe path '{name}'; refused.").format(
                    archive=archive.name, name=name
                )
            )
        if entry.is_link:
            raise DatasetError(
                tr("{archive} contains a link '{name}'; links are refused.").format(
                    archive=archive.name, name=name
                )
            )
        if entry.size > RATIO_CHECK_MIN_BYTES and entry.size > MAX_COMPRESSION_RATIO * max(
            entry.packed, 1
        ):
            raise DatasetError(
                tr(
                    "{archive} looks like a zip bomb: '{name}' expands over {ratio} times; refused."
                ).format(archive=archive.name, name=name, ratio=number(MAX_COMPRESSION_RATIO))
            )
        total += entry.size
        compressed += entry.packed
    if total > MAX_ARCHIVE_BYTES:
        raise DatasetError(
            tr("{archive} would expand to {size} GB; the limit is {limit} GB.").format(
                archive=archive.name,
                size=number(total / 1024**3, 1),
                limit=number(MAX_ARCHIVE_BYTES / 1024**3, 0),
            )
        )
    if total > RATIO_CHECK_MIN_BYTES and total > MAX_COMPRESSION_RATIO * max(compressed, 1):
        raise DatasetError(
            tr("{archive} looks like a zip bomb: it expands over {ratio} times; refused.").format(
                archive=archive.name, ratio=number(MAX_COMPRESSION_RATIO)
            )
        )


def _zip_entries(archive: zipfile.ZipFile) -> list[Entry]:
    return [
        Entry(i.filename, i.file_size, i.compress_size, stat.S_ISLNK(i.external_attr >> 16))
        for i in archive.infolist()
    ]


def _tar_entries(archive: tarfile.TarFile, packed: int) -> list[Entry]:
    members = archive.getmembers()
    total = sum(m.size for m in members) or 1
    # a tar is compressed as a whole: share the compressed size out by member size
    return [
        Entry(m.name, m.size, packed * m.size // total, m.issym() or m.islnk()) for m in members
    ]


def extract(archive_path: str | Path, target: str | Path) -> Path:
    """Extract a .zip or a (compressed) tar archive safely into `target`.

    Args:
        archive_path: The archive; zip or tar is told from its content, not its name.
        target: Folder to extract into (created if needed).

    Returns:
        `target` as a Path.

    Raises:
        DatasetError: The file is not a readable archive or it breaks one of the rules.
    """
    archive_path, target = Path(archive_path), Path(target)
    if zipfile.is_zipfile(archive_path):
        try:
            with zipfile.ZipFile(archive_path) as zf:
                check_entries(_zip_entries(zf), archive_path)
                target.mkdir(parents=True, exist_ok=True)
                zf.extractall(target)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as e:
            raise DatasetError(
                tr("{archive} is not a readable zip archive ({reason}).").format(
                    archive=archive_path.name, reason=e
                )
            ) from e
        return target
    try:
        with tarfile.open(archive_path) as tf_:
            check_entries(_tar_entries(tf_, archive_path.stat().st_size), archive_path)
            target.mkdir(parents=True, exist_ok=True)
            tf_.extractall(target, filter="data")
    except (tarfile.TarError, EOFError, OSError) as e:
        unreadable = (
            tr("{archive} is not a readable zip archive ({reason}).")
            if archive_path.suffix.lower() == ".zip"
            else tr("{archive} is not a readable tar archive ({reason}).")
        )
        raise DatasetError(unreadable.format(archive=archive_path.name, reason=e)) from e
    return target


def extract_zip(zip_path: str | Path, target: str | Path) -> Path:
    """Extract a zip archive safely (see `extract`); anything else is refused."""
    zip_path = Path(zip_path)
    if not zipfile.is_zipfile(zip_path):
        raise DatasetError(
            tr("{archive} is not a readable zip archive.").format(archive=zip_path.name)
        )
    return extract(zip_path, target)


def extract_tar(tar_path: str | Path, target: str | Path) -> Path:
    """Extract a tar archive safely (see `extract`); anything else is refused."""
    tar_path = Path(tar_path)
    if zipfile.is_zipfile(tar_path):
        raise DatasetError(
            tr("{archive} is not a readable tar archive.").format(archive=tar_path.name)
        )
    return extract(tar_path, target)
