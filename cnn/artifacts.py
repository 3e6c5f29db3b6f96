"""Runs on disk: a folder holding `model.keras` and `run.json`, written atomically, loaded safely.

A run is written into a hidden temporary folder next to its final place and renamed into
place only when both files are complete, so a crash never leaves half a run. Listing reads
only run.json (no TensorFlow); a folder whose files are missing or broken is listed as
broken with the reason, and the good runs still list. Models are loaded with Keras'
`safe_mode=True`, so a model carrying Python code (a Lambda layer) or unknown custom
objects is refused with a sentence.

Example:
    >>> runs = list_runs([shipped_dir(), user_runs_dir()])
    >>> run = load_run(runs[0].path)
    >>> run.model, run.class_names
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import platform
import re
import shutil
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnn import i18n, settings, timelapse
from cnn.errors import ArtifactError
from cnn.i18n import N_, tr, trn
from cnn.record import RunRecord

MODEL_FILE = "model.keras"
RECORD_FILE = "run.json"
OOD_FILE = "familiarity.npz"  # the unfamiliar-input check's means and precision matrices
ERRORS_FILE = "errors.npz"  # kept test images as the model saw them: its mistakes, a few right
MAX_TITLE = 60  # characters in a run's name
TMP_PREFIX = ".tmp-"  # folders being written; never listed
SAMPLES_FOLDER = "samples"  # bundled example images inside artifacts/, not a run
MAX_RECORD_BYTES = 5 * 1024**2  # a run.json larger than this is not a run of ours
MAX_MODEL_BYTES = 200 * 1024**2  # refuse to load a model file larger than this
STALE_TMP_S = 3600  # a .tmp- folder this old is what an interrupted save left behind


def shipped_dir() -> Path:
    """The read-only pretrained runs that ship with the project (artifacts/)."""
    return Path(__file__).resolve().parent.parent / "artifacts"


def user_runs_dir() -> Path:
    """Where new runs go: $CNN_RUNS_DIR, else ~/.cnn_lab/runs."""
    return settings.current().runs_dir


@dataclass
class RunInfo:
    """A run folder as listed: its run.json, or the reason it is broken."""

    path: Path
    record: RunRecord | None = None  # None when the folder is broken
    error: str | None = None  # set when the folder is broken
    shipped: bool = False  # shipped runs are read-only

    @property
    def name(self) -> str:
        """Folder name (unique id of the run)."""
        return self.path.name

    @property
    def ok(self) -> bool:
        """False for broken folders."""
        return self.error is None

    @property
    def title(self) -> str:
        """A short label that tells runs apart: its given title (or dataset and architecture),
        test accuracy, epochs and when it was saved (server time) or "shipped", e.g.
        "mnist · mnist_98 · 91.0% · 2 epochs · 7 Dec 14:05"."""
        if self.record is None:
            return tr("{name} (broken)").format(name=self.name)
        record = self.record
        parts = [record.label]
        if isinstance(record.test.accuracy, float):
            parts.append(i18n.percent(record.test.accuracy, 1))
        if record.epochs_run:
            parts.append(trn("{n} epoch", "{n} epochs", record.epochs_run))
        # a shipped run is told apart by its dataset; others by their time (else folder)
        parts.append(tr("shipped") if self.shipped else self.saved or self.name)
        return " · ".join(parts)

    @property
    def saved(self) -> str:
        """When the run was saved, short, in server time ("7 Dec 14:05", "7 dic 14:05",
        "12月7日 14:05"); "" when unknown."""
        try:
            saved = dt.datetime.fromisoformat(self.created).astimezone()
        except ValueError:
            return ""
        if i18n.language() == "en":
            return f"{saved.day} {saved:%b %H:%M}"
        from babel.dates import format_skeleton

        return f"{format_skeleton('MMMd', saved, locale=i18n.locale())} {saved:%H:%M}"

    @property
    def created(self) -> str:
        """ISO time the run was saved ("" for broken runs)."""
        return self.record.created if self.record is not None else ""

    def __repr__(self) -> str:
        return f"RunInfo({self.name!r}, ok={self.ok}, shipped={self.shipped})"


@dataclass
class Run:
    """A loaded run: its Keras model and run.json."""

    info: RunInfo
    model: Any

    @functools.cached_property
    def gaussian(self):
        """The unfamiliar-input check's `cnn.ood.Layers` or `cnn.ood.Gaussian`, or None
        (read once; `load_gaussian`)."""
        return load_gaussian(self.info.path)

    @property
    def record(self) -> RunRecord:
        """The run.json content."""
        return self.info.record

    @property
    def class_names(self) -> list[str]:
        """Class names in output order."""
        return list(self.record.class_names)

    @property
    def preprocessing(self) -> dict[str, Any]:
        """The preprocessing record that `cnn.preprocess.prepare_*` re-applies."""
        return self.record.preprocessing.to_dict()


def _versions() -> dict[str, str]:
    import keras
    import numpy
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
    }


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-")[:40] or "run"


def save_run(
    model,
    record: RunRecord,
    root: str | Path,
    errors: dict | None = None,
    lapse: timelapse.Timelapse | None = None,
    gaussian: Any = None,
) -> Path:
    """Write a run folder atomically under `root` and return its path.

    Args:
        model: the trained Keras model.
        record: the run record; its `name`, `created` and `versions` are set here.
        root: the folder that holds runs.
        errors: optional arrays (images, true, predicted, index) of misclassified test images.
        lapse: the training time-lapse (its size goes into `record.timelapse.bytes`).
        gaussian: the `cnn.ood.Layers` or `cnn.ood.Gaussian` the unfamiliar-input check needs.

    Raises:
        ArtifactError: when the disk is full or read-only; nothing partial is left.
    """
    root = Path(root)
    created = dt.datetime.now(dt.UTC)
    name = f"{created:%Y%m%d-%H%M%S}-{_slug(record.dataset.key)}-{_slug(record.arch_name)}"
    name = f"{name}-{uuid.uuid4().hex[:6]}"
    record.name, record.created = name, created.isoformat(timespec="seconds")
    tmp = root / f"{TMP_PREFIX}{name}"
    try:
        record.versions = _versions()
        root.mkdir(parents=True, exist_ok=True)
        clean_temporary(root)
        tmp.mkdir()
        save_model_without_optimizer(model, tmp / MODEL_FILE)
        if errors is not None:
            import numpy as np

            np.savez_compressed(tmp / ERRORS_FILE, **errors)
        if gaussian is not None:
            save_gaussian(tmp, gaussian)
        if lapse is not None and record.timelapse is not None:
            record.timelapse.bytes = timelapse.save(lapse, tmp)
        write_record(tmp, record)
        os.replace(tmp, root / name)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ArtifactError(
            tr(
                "Could not save the run in {folder}: {reason}. "
                "The trained model is still available for download."
            ).format(folder=root, reason=err.strerror or err)
        ) from err
    return root / name


def save_model_without_optimizer(model, path: Path) -> None:
    """Save the model's layers and weights only: the optimizer's moments (and a weight
    average) would triple the file, and no part of CNN Lab resumes a training from them."""
    optimizer = getattr(model, "optimizer", None)
    model.optimizer = None
    try:
        model.save(path)
    finally:
        model.optimizer = optimizer


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_record(folder: Path, record: RunRecord) -> None:
    """Write run.json into `folder` through a temporary file (never half a record)."""
    part = folder / f"{RECORD_FILE}.part"
    with open(part, "w", encoding="utf-8") as fh:
        json.dump(record.to_dict(), fh, indent=1, default=_json_default)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(part, folder / RECORD_FILE)


def read_run_info(path: str | Path, shipped: bool | None = None) -> RunInfo:
    """Read a run folder's run.json; problems become `RunInfo.error`, never exceptions.
    `shipped` defaults to whether the folder lies in `shipped_dir()`."""
    path = Path(path)
    if shipped is None:
        shipped = path.resolve().parent == shipped_dir().resolve()
    info = RunInfo(path=path, shipped=shipped)
    record_path, model_path = path / RECORD_FILE, path / MODEL_FILE
    try:
        if not record_path.is_file():
            info.error = tr("run.json is missing.")
        elif record_path.stat().st_size > MAX_RECORD_BYTES:
            info.error = tr("run.json is too large to be a run record.")
        elif not model_path.is_file():
            info.error = tr("model.keras is missing.")
        else:
            info.record = RunRecord.from_dict(json.loads(record_path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        info.error = tr("run.json cannot be read ({error}).").format(error=type(err).__name__)
    except ArtifactError as err:
        info.error = str(err)
    return info


def list_runs(roots: list[str | Path] | None = None) -> list[RunInfo]:
    """All run folders under the given roots (default: shipped + user), newest first.

    Broken folders are included with `error` set, so a page can show them as broken.
    """
    if roots is None:
        roots = [shipped_dir(), user_runs_dir()]
    shipped_root = shipped_dir().resolve()
    runs: list[RunInfo] = []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        shipped = root.resolve() == shipped_root
        for child in sorted(root.iterdir()):
            if child.name.startswith(".") or not child.is_dir() or child.is_symlink():
                continue
            if shipped and child.name == SAMPLES_FOLDER:
                continue
            runs.append(read_run_info(child, shipped=shipped))
    # shipped runs first, then the user's newest first
    runs.sort(key=lambda r: r.created, reverse=True)
    runs.sort(key=lambda r: not r.shipped)
    return runs


def load_model_file(path: str | Path):
    """Load a `.keras` file with safe_mode=True, refusing anything else with a sentence.

    Raises:
        ArtifactError: wrong extension, too large, truncated, or carrying code/custom objects.
    """
    import keras

    path = Path(path)
    if path.suffix != ".keras":
        raise ArtifactError(tr("Only .keras model files can be loaded."))
    if not path.is_file():
        raise ArtifactError(tr("{file} does not exist.").format(file=path.name))
    if path.stat().st_size > MAX_MODEL_BYTES:
        raise ArtifactError(
            tr("{file} is larger than {most} MB.").format(
                file=path.name, most=i18n.number(MAX_MODEL_BYTES // 1024**2)
            )
        )
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # noqa: BLE001 - any failure to load is one sentence for the user
        text = str(err)
        code = "Lambda" in text or "safe_mode" in text
        custom = "custom" in text.lower() or "Could not locate" in text
        reason = REFUSED["code" if code else "custom" if custom else "damaged"]
        raise ArtifactError(tr(reason).format(file=path.name, error=type(err).__name__)) from err


REFUSED = {  # why a model file is not loaded
    "code": N_(
        "Refused to load {file}: it contains Python code (a Lambda layer), which is never loaded."
    ),
    "custom": N_(
        "Refused to load {file}: it uses custom layers or objects this app does not know."
    ),
    "damaged": N_("Refused to load {file}: the file is damaged or not a Keras model ({error})."),
}


def load_run(path: str | Path) -> Run:
    """Load a run folder: run.json checked, model.keras loaded safely, shapes cross-checked.

    Raises:
        ArtifactError: with a sentence when the folder is broken or its model does not fit it.
    """
    path = Path(path)
    info = read_run_info(path)
    if not info.ok:
        raise ArtifactError(broken(path, info))
    model = load_model_file(path / MODEL_FILE)
    pre = info.record.preprocessing
    expected = (*pre.image_size, pre.channels)
    got = tuple(model.input_shape[1:])
    if got != tuple(expected):
        raise ArtifactError(
            tr(
                "Run {run}: the model expects inputs of shape {got}, but run.json says {expected}."
            ).format(run=path.name, got=got, expected=expected)
        )
    outputs = model.output_shape[-1]
    if outputs != len(info.record.class_names):
        raise ArtifactError(
            tr("Run {run}: the model has {outputs} outputs for {names} class names.").format(
                run=path.name, outputs=outputs, names=len(info.record.class_names)
            )
        )
    return Run(info=info, model=model)


def broken(path: Path, info: RunInfo) -> str:
    """The sentence for a run folder that cannot be used, with why."""
    return tr("Run {run} is broken: {reason}").format(run=path.name, reason=info.error)


def sample_images(dataset_key: str) -> list[Path]:
    """The bundled example images of a dataset (artifacts/samples/<key>/), sorted by name.

    File names are `<class>__<n>.<ext>`; they come from test splits no shipped model trained on.
    """
    folder = shipped_dir() / SAMPLES_FOLDER / dataset_key
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))


def load_errors(path: str | Path) -> dict[str, Any] | None:
    """The test images kept with a run (its mistakes and a few right answers per class), or
    None when it has none or they are broken.

    Returns:
        {"images": uint8 (n,h,w,c), "true": int (n,), "predicted": int (n,), "index": int (n,),
        "confidence": float (n,) the probability of the answer, or None in a file without it}.
    """
    import numpy as np

    file = Path(path) / ERRORS_FILE
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as data:
            kept = {k: data[k] for k in ("images", "true", "predicted", "index")}
            kept["confidence"] = data["confidence"] if "confidence" in data.files else None
            return kept
    except (OSError, ValueError, KeyError):
        return None


def save_errors(folder: Path, errors: dict) -> None:
    """Write the kept test images (errors.npz: images, true, predicted, index) into a run
    folder, as `save_run` does."""
    import numpy as np

    np.savez_compressed(Path(folder) / ERRORS_FILE, **errors)


def save_gaussian(folder: Path, gaussian) -> None:
    """Write the unfamiliar-input check's arrays (`arrays()` of a `cnn.ood.Layers` or
    `cnn.ood.Gaussian`) into a run folder; None removes an earlier check's file."""
    import numpy as np

    file = Path(folder) / OOD_FILE
    if gaussian is None:
        file.unlink(missing_ok=True)
        return
    np.savez_compressed(file, **gaussian.arrays())


def load_gaussian(path: str | Path):
    """The run folder's unfamiliar-input arrays: a `cnn.ood.Neighbours` (a "neighbours"
    check), a `cnn.ood.Layers` (a "layers" check) or a `cnn.ood.Gaussian` (a "mahalanobis"
    check, and every file written before "layers"), or None when it has none or it is broken."""
    import numpy as np

    from cnn.ood import Gaussian, Layers, Neighbours

    file = Path(path) / OOD_FILE
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as data:
            if "bank" in data.files:
                return Neighbours.from_arrays(data)
            if "centres" in data.files:
                return Layers.from_arrays(data)
            means, precision = data["means"], data["precision"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if means.ndim != 2 or precision.shape != (means.shape[1], means.shape[1]):
        return None
    return Gaussian(means, precision)


def clean_temporary(root: str | Path, older_than_s: float = STALE_TMP_S) -> int:
    """Remove what interrupted saves left under `root` (called by every save).

    Only folders older than `older_than_s` go: a younger one may be another session's save
    in progress.

    Returns:
        How many folders were removed.
    """
    root = Path(root)
    removed = 0
    if root.is_dir():
        cutoff = time.time() - older_than_s
        for child in root.iterdir():
            if child.name.startswith(TMP_PREFIX) and child.is_dir():
                if child.stat().st_mtime <= cutoff:
                    shutil.rmtree(child, ignore_errors=True)
                    removed += 1
    return removed
