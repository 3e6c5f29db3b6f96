"""A training time-lapse: snapshots of a model taken while it trained, saved with its run.

While `train` runs, `cnn.training.recorder.TimelapseRecorder` takes a few snapshots during the
first epoch (when most of the change happens) and one after every epoch. A snapshot ("frame")
holds, for a fixed set of probe inputs (one test image per class, at most 10, plus the
student's drawing when there is one): the probabilities, the feature maps of every conv layer,
Grad-CAM for the true class; and for the model: the first conv layer's filters, the loss and
accuracy at that point and a confusion matrix on a fixed validation subset.

Everything is stored compactly in `timelapse.npz` beside `model.keras`: feature maps as uint8
(at most MAP_SIDE pixels a side, the MAP_CHANNELS channels most active at the end, with
each frame's value range), Grad-CAM as uint8, filters as float16. This module
reads and writes that file and needs no TensorFlow.

Example:
    >>> lapse = load(run_dir)
    >>> lapse.frame_epochs, lapse.probabilities.shape   # (frames,), (frames, probes, classes)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FILE = "timelapse.npz"
EPOCH_ONE_FRACTIONS = (0.1, 0.25, 0.5, 0.75)  # snapshots inside epoch 1 (plus before and after)
MAX_EPOCH_FRAMES = 24  # longer trainings snapshot every k-th epoch (always the last)
MAX_PROBES = 10  # one test image per class, for at most this many classes
MAP_SIDE = 24  # feature maps are stored at most this many pixels a side
MAP_CHANNELS = 12  # channels kept per conv layer (the most active at the end)
CAM_SIDE = 32  # Grad-CAM maps are stored at most this many pixels a side
VALIDATION_SUBSET = 256  # images in the fixed subset the confusion matrices are counted on


def frame_steps(steps_per_epoch: int, epochs: int) -> dict[int, float]:
    """The global steps (batches done) at which snapshots are taken, with their epoch position.

    Step 0 (before training), a few points inside epoch 1, then the end of every epoch, or of
    every k-th epoch when there are more than MAX_EPOCH_FRAMES (the last is always kept).

    Returns:
        {global step: epoch as a float (e.g. 0.25)}, in training order.
    """
    steps = {0: 0.0}
    for fraction in EPOCH_ONE_FRACTIONS:
        step = round(fraction * steps_per_epoch)
        if 0 < step < steps_per_epoch:
            steps.setdefault(step, step / steps_per_epoch)
    every = max(1, math.ceil(epochs / MAX_EPOCH_FRAMES))
    for epoch in range(1, epochs + 1):
        if epoch % every == 0 or epoch == epochs or epoch == 1:
            steps[epoch * steps_per_epoch] = float(epoch)
    return dict(sorted(steps.items()))


@dataclass
class TimelapseInfo:
    """What run.json says about a run's time-lapse (the arrays are in timelapse.npz).

    Attributes:
        frames: how many snapshots.
        probes: one {"label": class name or "your drawing", "class": index or -1, "index":
            test-split index or -1} per probe input.
        layers: the conv layers whose maps were kept, in model order.
        validation: what the confusion matrices count ("validation subset of 256 images").
        bytes: size of timelapse.npz.
        seconds: time spent taking snapshots during training.
    """

    frames: int = 0
    probes: list[dict[str, Any]] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    validation: str = ""
    bytes: int = 0
    seconds: float = 0.0


@dataclass
class Timelapse:
    """A loaded time-lapse: one row per frame, in training order.

    Attributes:
        frame_epochs: float (F,): where in training each frame was taken (0.25 = a quarter
            into epoch 1).
        frame_steps: int (F,): batches done.
        loss, accuracy: float (F,): training loss and accuracy at that point (running means
            within the epoch, as Keras reports them; NaN before training).
        val_loss, val_accuracy: float (F,): NaN when there is no validation split or mid-epoch.
        probe_images: uint8 (P, h, w, c): the probe inputs as the model got them.
        probe_classes: int (P,): true class, -1 for the drawing.
        probabilities: float32 (F, P, k).
        filters: float16 (F, kh, kw, c_in, c_out): the first conv layer's kernels.
        gradcam: uint8 (F, P, gh, gw): Grad-CAM for each probe's true class (its top class
            for the drawing), 255 = most important.
        confusion: int (F, k, k) on the fixed validation subset.
        maps: conv layer name -> uint8 (F, P, mh, mw, channels kept).
        map_channels: conv layer name -> int (channels kept,) indices into the layer's channels.
        map_scales: conv layer name -> float (F, 2): the values 0 and 255 stand for in that
            frame (low, high), so the maps' growth over training stays visible.
    """

    frame_epochs: np.ndarray
    frame_steps: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    probe_images: np.ndarray
    probe_classes: np.ndarray
    probabilities: np.ndarray
    filters: np.ndarray
    gradcam: np.ndarray
    confusion: np.ndarray
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    map_channels: dict[str, np.ndarray] = field(default_factory=dict)
    map_scales: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame_epochs)

    def __repr__(self) -> str:
        return (
            f"Timelapse(frames={len(self)}, probes={len(self.probe_images)}, "
            f"epochs={self.frame_epochs[-1] if len(self) else 0:g}, layers={list(self.maps)})"
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays as `np.savez` takes them (maps flattened into prefixed keys)."""
        arrays = {
            name: getattr(self, name)
            for name in (
                "frame_epochs", "frame_steps", "loss", "accuracy", "val_loss", "val_accuracy",
                "probe_images", "probe_classes", "probabilities", "filters", "gradcam", "confusion",
            )
        }  # fmt: skip
        arrays["map_layers"] = np.array(list(self.maps), dtype=str)
        for i, name in enumerate(self.maps):
            arrays[f"maps_{i}"] = self.maps[name]
            arrays[f"map_channels_{i}"] = self.map_channels[name]
            arrays[f"map_scales_{i}"] = self.map_scales[name]
        return arrays

    def to_json(self, info: TimelapseInfo, class_names: list[str]) -> dict[str, Any]:
        """The CLI's document: probes, and per frame epoch, step, loss, accuracy, probabilities."""

        def number(value: float) -> float | None:
            return None if not math.isfinite(value) else round(float(value), 6)

        return {
            "probes": [
                {
                    **probe,
                    "class_name": class_names[probe["class"]] if probe["class"] >= 0 else None,
                }
                for probe in info.probes
            ],
            "frames": [
                {
                    "epoch": round(float(self.frame_epochs[f]), 4),
                    "step": int(self.frame_steps[f]),
                    "loss": number(self.loss[f]),
                    "accuracy": number(self.accuracy[f]),
                    "val_loss": number(self.val_loss[f]),
                    "val_accuracy": number(self.val_accuracy[f]),
                    "probabilities": self.probabilities[f].round(6).tolist(),
                }
                for f in range(len(self))
            ],
        }


def save(lapse: Timelapse, folder: Path) -> int:
    """Write timelapse.npz (compressed) into `folder`; returns its size in bytes."""
    path = Path(folder) / FILE
    np.savez_compressed(path, **lapse.to_arrays())
    return path.stat().st_size


def load(folder: str | Path) -> Timelapse | None:
    """The time-lapse of a run folder, or None when it has none or the file is broken."""
    path = Path(folder) / FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError):
        return None
    layers = [str(name) for name in arrays.pop("map_layers", [])]
    maps = {name: arrays.pop(f"maps_{i}") for i, name in enumerate(layers)}
    channels = {name: arrays.pop(f"map_channels_{i}") for i, name in enumerate(layers)}
    scales = {name: arrays.pop(f"map_scales_{i}") for i, name in enumerate(layers)}
    try:
        return Timelapse(**arrays, maps=maps, map_channels=channels, map_scales=scales)
    except TypeError:
        return None
