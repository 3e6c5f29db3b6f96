"""A student's own runs, renamed or deleted (never a shipped one, never a folder outside the
user runs folder). A deleted run is first renamed to a temporary name, so a half-deleted run
is never listed (cnn.artifacts leaves such folders out and clears them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from cnn import artifacts
from cnn.errors import ArtifactError
from cnn.i18n import N_, tr
from cnn.record import RunRecord


def rename_run(path: str | Path, title: str, root: str | Path | None = None) -> RunRecord:
    """Give a user run a name (its record's `title`), rewriting run.json atomically.

    Raises:
        ArtifactError: for shipped runs, runs outside `root`, a broken run or a disk error.
    """
    path = Path(path).resolve()
    _check_user_run(path, root, N_("Only run folders in the user runs folder can be renamed."))
    info = artifacts.read_run_info(path)
    if not info.ok:
        raise ArtifactError(artifacts.broken(path, info))
    info.record.title = " ".join(title.split())[: artifacts.MAX_TITLE]
    try:
        artifacts.write_record(path, info.record)
    except OSError as err:
        raise ArtifactError(
            tr("Could not rename {run}: {reason}.").format(
                run=path.name, reason=err.strerror or err
            )
        ) from err
    return info.record


def _check_user_run(path: Path, root: str | Path | None, done: str) -> None:
    """Refuse shipped runs and anything that is not a run folder in the user runs folder
    (`done`: the refusal's sentence, a msgid)."""
    root = Path(root or artifacts.user_runs_dir()).resolve()
    if path.parent == artifacts.shipped_dir().resolve():
        raise ArtifactError(tr("Shipped pretrained runs are read-only."))
    if path.parent != root or not (
        (path / artifacts.RECORD_FILE).exists() or (path / artifacts.MODEL_FILE).exists()
    ):
        raise ArtifactError(tr(done))


def delete_run(path: str | Path, root: str | Path | None = None) -> None:
    """Delete a user run. Shipped runs and anything outside `root` are refused.

    Raises:
        ArtifactError: for shipped runs, paths outside the user runs folder, or disk errors.
    """
    path = Path(path).resolve()
    _check_user_run(path, root, N_("Only run folders in the user runs folder can be deleted."))
    try:
        # rename first so a half-deleted run is never listed
        doomed = path.parent / f"{artifacts.TMP_PREFIX}deleting-{path.name}"
        os.replace(path, doomed)
        shutil.rmtree(doomed)
    except OSError as err:
        raise ArtifactError(
            tr("Could not delete {run}: {reason}.").format(
                run=path.name, reason=err.strerror or err
            )
        ) from err
