"""Cached loaders the pages share: a run with its Inspector and filters, a dataset, samples.

`st.cache_resource` keeps one copy per server (never mutate what it returns): a loaded model
with its compiled `cnn.inspect.Inspector`, keyed by the run path and its stamp (`run_stamp`:
the modification time and size of every file the load reads, so a run rewritten on disk, by
`python -m cnn calibrate` for example, is loaded again), and loaded datasets (large uint8
arrays or file lists, not copied per session). Streamlit hashes no argument whose name starts
with "_": such an argument is always an object that a hashed argument beside it identifies.
TensorFlow is imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from cnn import artifacts, datasets, i18n
from cnn.i18n import N_, tr
from ui import runtime

MAX_LOADED_RUNS = 6  # models kept in memory at once (about 1-20 MB each)
MAX_LOADED_DATASETS = 3
MAX_INSPECTIONS = 64  # inspected inputs remembered, so reruns with the same input skip the model
# what loading a run reads: its model, its record and its unfamiliar-input check
RUN_FILES = (artifacts.MODEL_FILE, artifacts.RECORD_FILE, artifacts.OOD_FILE)
# English (cached for every session), translated where shown
MAP_FAILED = N_("This map could not be computed for this model (the error is in the server log).")
GRADCAM_FAILED = N_(
    "Grad-CAM could not be computed for this model (the error is in the server log)."
)

log = logging.getLogger(__name__)


@dataclass
class LoadedRun:
    """A run ready for interactive use: model, record, Inspector and filter images."""

    run: artifacts.Run
    inspector: Any  # cnn.inspect.Inspector
    stamp: tuple  # `run_stamp` when loaded: part of every cache key derived from this run
    filter_images: dict[str, np.ndarray]  # conv layer name -> (filters, kh, kw[, 3]) in [0, 1]

    @property
    def class_names(self) -> list[str]:
        """Class names in output order."""
        return self.run.class_names


def file_stamp(path: Path) -> tuple[int, int] | None:
    """(modification time in ns, size) of a file, or None without one: a rewritten file
    gets another stamp."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def run_stamp(path: str | Path) -> tuple:
    """The stamps of the files a loaded run is made of (`RUN_FILES`), as they are now."""
    return tuple(file_stamp(Path(path) / name) for name in RUN_FILES)


@st.cache_resource(max_entries=MAX_LOADED_RUNS, show_spinner=False)
def _load_run(path: str, stamp: tuple) -> LoadedRun:
    from cnn import filters, inspect

    run = artifacts.load_run(path)
    run.gaussian  # noqa: B018 (read now: the cached object is never changed afterwards)
    filter_images = {
        name: filters.filter_images(kernel) for name, kernel in filters.filters(run.model)
    }
    mirror = run.record.config.mirror  # a run read with its mirror images too
    return LoadedRun(run, inspect.Inspector(run.model, mirror=mirror), stamp, filter_images)


def load_run(path: str | Path) -> LoadedRun:
    """The run at `path`, loaded once per server until one of its files changes (`calibrate`
    rewrites run.json and familiarity.npz alone: the run is loaded again then too).

    Raises:
        ArtifactError: the folder is broken or the model is refused.
    """
    stamp = run_stamp(path)
    if stamp[0] is None:
        raise artifacts.ArtifactError(
            tr("Run {name} has no readable model.keras.").format(name=Path(path).name)
        )
    with st.spinner(tr("Loading the model...")):  # shown after half a second only
        loaded = _load_run(str(path), stamp)
    runtime.light_keras_clear_session()
    return loaded


@st.cache_resource(max_entries=MAX_INSPECTIONS, show_spinner=False)
def _inspection(
    path: str, stamp: tuple, image: np.ndarray, gradcam_class: int | None, _inspector: Any
) -> Any:
    try:
        return _inspector.run(image, gradcam_class=gradcam_class)
    except ValueError:
        log.exception("Grad-CAM failed for %s", path)
        inspection = _inspector.run(image, gradcam=False)
        inspection.gradcam_reason = GRADCAM_FAILED
        return inspection


def inspect_image(loaded: LoadedRun, image: np.ndarray, gradcam_class: int | None) -> Any:
    """`Inspector.run` for one model input, remembered per (model, input, class).

    A rerun that does not change the input (a layer picker, a colour scale) costs no model
    call at all. Never mutate the returned Inspection: it is shared.
    """
    return _inspection(
        str(loaded.run.info.path), loaded.stamp, image, gradcam_class, loaded.inspector
    )


@dataclass
class Looked:
    """`where_it_looked`'s answer: the input's check (`cnn.explain.checks.InputCheck`
    fields), or the sentence saying why there is none."""

    map: np.ndarray | None = None
    target: int = 0
    fractions: np.ndarray | None = None
    curve: np.ndarray | None = None
    random_curve: np.ndarray | None = None
    problem: str = ""


@st.cache_resource(max_entries=MAX_INSPECTIONS, show_spinner=False)
def _looked(
    path: str, stamp: tuple, image: np.ndarray, method: str, target: int | None, _run: Any
) -> Looked:
    from cnn.errors import ExplainError
    from cnn.explain import checks

    kind = _run.record.preprocessing.kind
    try:
        found = checks.check_input(_run.model, image, kind, method, target)
    except ExplainError as err:
        return Looked(problem=str(err))
    except Exception:  # a model the method cannot read (a TensorFlow error): say so, log it
        log.exception("The %s map failed for %s", method, path)
        return Looked(problem=MAP_FAILED)
    return Looked(found.map, found.target, found.fractions, found.curve, found.random_curve)


def where_it_looked(
    loaded: LoadedRun, image: np.ndarray, method: str, target: int | None
) -> Looked:
    """The map of one input by one method with its deletion test, remembered per (model,
    input, method, class): a rerun with the same input costs nothing (RISE costs about a
    second per input on a 2-core machine). Never mutate the result: it is shared."""
    return _looked(str(loaded.run.info.path), loaded.stamp, image, method, target, loaded.run)


@st.cache_resource(max_entries=MAX_LOADED_DATASETS, show_spinner=False)
def _load_dataset(key: str, data: str | None, download: bool) -> datasets.Dataset:
    return datasets.load(key, data, download=download)


def load_dataset(key: str, data: str | None = None, download: bool = False) -> datasets.Dataset:
    """A dataset as `cnn.datasets.load` gives it; offline by default (no network wait).

    Args:
        key: registry key.
        data: for "folder", the uploaded .zip (a path from `state.save_upload`).
        download: whether a download may be tried.

    Raises:
        DatasetError: the dataset is not available (the message says how to get it).
    """
    with st.spinner(tr("Loading the dataset...")):  # shown after half a second only
        return _load_dataset(key, data, download)


def train_size(key: str) -> int | None:
    """Images in a shipped dataset's training split as this machine has it offline (the
    embedded 5,000 MNIST digits or all 60,000), or None when it is not here."""
    try:
        return len(load_dataset(key).train)
    except datasets.DatasetError:
        return None


@st.cache_data(max_entries=8, show_spinner=False)
def class_samples(
    key: str, per_class: int, seed: int, data_path: str | None = None
) -> dict[str, list[np.ndarray]]:
    """Up to `per_class` random training images of every class of a loaded dataset."""
    data = load_dataset(key, data_path)
    rng = np.random.default_rng(seed)
    samples = {}
    for index, name in enumerate(data.class_names):
        members = np.flatnonzero(data.train.labels == index)
        chosen = rng.choice(members, size=min(per_class, len(members)), replace=False)
        samples[name] = [data.train.image(int(i)) for i in chosen]
    return samples


def bundled_samples(dataset_key: str) -> list[Path]:
    """Bundled example images: the model's own dataset first, then the other datasets'."""
    keys = [dataset_key, *(k for k in datasets.REGISTRY if k != dataset_key)]
    return [path for key in keys for path in artifacts.sample_images(key)]


@st.cache_data(max_entries=8, show_spinner=False)
def image_sizes(key: str, data_path: str | None = None, limit: int = 200) -> str:
    """The range of image sizes in a dataset's training split ("28 x 28", "97-500 x 80-500")."""
    data = load_dataset(key, data_path)
    if data.train.images is not None:
        h, w = data.train.images.shape[1:3]
        return f"{h} x {w}"
    from PIL import Image

    shapes = []
    for path in data.train.paths[:limit]:
        with Image.open(str(path)) as img:
            shapes.append(img.size[::-1])
    heights, widths = zip(*shapes, strict=True) if shapes else ((0,), (0,))

    def span(values) -> str:
        return f"{min(values)}" if min(values) == max(values) else f"{min(values)}-{max(values)}"

    return f"{span(heights)} x {span(widths)}"


@st.cache_resource(max_entries=len(datasets.KINDS) * 3, show_spinner=False)
def _augmenter(kind: str) -> Any:
    """The training augmentation of a kind of image, built once per server and traced into a
    graph: built and run eagerly at every rerun it was most of the Data page's time
    (bench/README.md, "Streamlit reruns"; ui/runtime.py keeps TensorFlow's kernel cache between
    runs)."""
    import tensorflow as tf

    from cnn.training.recipe import augmentation

    augment = augmentation(kind)
    return tf.function(lambda batch: augment(batch, training=True), reduce_retracing=True)


def augmented_copies(kind: str, image: np.ndarray, count: int) -> list[np.ndarray]:
    """`count` random training augmentations of one model input (float32 (h, w, c)); new
    random ones at every call. `kind` as `cnn.training.recipe.augmentation` takes it."""
    batch = np.repeat(image[None], count, axis=0).astype(np.float32)
    return list(_augmenter(kind)(batch).numpy())


@st.cache_resource(max_entries=MAX_LOADED_RUNS, show_spinner=False)
def _timelapse(path: str, stamp: tuple[int, int]) -> Any:
    from cnn import timelapse

    return timelapse.load(path)


def load_timelapse(path: str | Path) -> Any:
    """A run's `cnn.timelapse.Timelapse` (loaded once per server), or None without one."""
    from cnn import timelapse

    stamp = file_stamp(Path(path) / timelapse.FILE)
    return None if stamp is None else _timelapse(str(path), stamp)


@st.cache_resource(max_entries=16, show_spinner=False)
def _timelapse_figure(path: str, stamp: tuple[int, int] | None, probe: int, layer: str | None,
                      label: str, lang: str, _lapse: Any,
                      class_names: tuple[str, ...]) -> Any:  # fmt: skip
    from ui.timelapse import timelapse_figure as build

    return build(_lapse, class_names, probe, layer, label)


def timelapse_figure(path: str, probe: int, layer: str | None, label: str, lapse: Any,
                     class_names: tuple[str, ...]) -> Any:  # fmt: skip
    """The animated time-lapse figure of a run (`lapse`, from `load_timelapse`), built once
    per (run, time-lapse file, probe, layer, language: its words are in it)."""
    from cnn import timelapse

    stamp = file_stamp(Path(path) / timelapse.FILE)
    with st.spinner(tr("Building the time-lapse...")):  # shown after half a second only
        return _timelapse_figure(
            path, stamp, probe, layer, label, i18n.language(), lapse, class_names
        )
